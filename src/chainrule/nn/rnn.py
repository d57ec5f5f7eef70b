"""Recurrent layers: ``RNN`` (tanh/relu), ``LSTM``, ``GRU`` and their single-step ``*Cell`` forms.

Parameters, shapes, gate order and initialisation are PyTorch's, so weights copy
across unchanged.  For layer k (``_reverse`` suffix for the backward direction):

  weight_ih_lk (G*H, input)   weight_hh_lk (G*H, H)   bias_ih_lk, bias_hh_lk (G*H,)
  G = 1 (RNN), 4 (LSTM, gates i, f, g, o), 3 (GRU, gates r, z, n)

One step, with x_t W_ihᵀ + b_ih precomputed for the whole sequence (one matmul):
  RNN   h' = act(x W_ihᵀ + b_ih + h W_hhᵀ + b_hh)
  LSTM  i, f, o = σ(.), g = tanh(.);  c' = f c + i g;  h' = o tanh(c')  (then h' W_hrᵀ if proj_size)
  GRU   r, z = σ(.);  n = tanh(x W_inᵀ + b_in + r (h W_hnᵀ + b_hn));  h' = (1 - z) n + z h

Input (L, N, H_in), or (N, L, H_in) with ``batch_first``, or unbatched (L, H_in); the
output has every step's top-layer h (both directions concatenated); the final
state has shape (num_layers * num_directions, N, H).  Gradients flow through
the unrolled loop (backpropagation through time) with ordinary ops; an LSTM or GRU
layer direction is one ``LstmLayer``/``GruLayer`` op instead (``ops/rnn_layer.py``: the
time loop in NumPy, and its backward one loop back plus one weight GEMM over all steps).
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np

from .. import ops
from .._tensor import Tensor, wrap
from ..ops._core import structural
from ..ops.rnn_cell import lstm_cell_gates
from ..ops.rnn_layer import gru_layer, lstm_layer
from . import functional as F
from . import init
from .linear import _empty_param
from .module import Module

__all__ = ["RNNBase", "RNN", "LSTM", "GRU", "RNNCellBase", "RNNCell", "LSTMCell", "GRUCell"]

_GATES = {"RNN_TANH": 1, "RNN_RELU": 1, "LSTM": 4, "GRU": 3}


def _mm_t(h: Tensor, w_t: Tensor, b: Tensor | None) -> Tensor:
    out = ops.matmul(h, w_t)
    return out if b is None else out + b


def _rnn_step(act: Any):
    def step(xp: Tensor, state: tuple, whh_t: Tensor, b_hh: Tensor | None, whr_t: Any) -> tuple:
        return (act(xp + _mm_t(state[0], whh_t, b_hh)),)
    return step


def _lstm_step(xp: Tensor, state: tuple, whh_t: Tensor, b_hh: Tensor | None, whr_t: Any) -> tuple:
    h, c = state
    h, c = lstm_cell_gates(xp + _mm_t(h, whh_t, b_hh), c)  # one fused node per step
    if whr_t is not None:
        h = ops.matmul(h, whr_t)
    return h, c


def _gru_step(xp: Tensor, state: tuple, whh_t: Tensor, b_hh: Tensor | None, whr_t: Any) -> tuple:
    h = state[0]
    i_r, i_z, i_n = ops.chunk(xp, 3, -1)
    h_r, h_z, h_n = ops.chunk(_mm_t(h, whh_t, b_hh), 3, -1)
    r = ops.sigmoid(i_r + h_r)
    z = ops.sigmoid(i_z + h_z)
    n = ops.tanh(i_n + r * h_n)
    return (n + z * (h - n),)


_STEPS = {"RNN_TANH": _rnn_step(ops.tanh), "RNN_RELU": _rnn_step(ops.relu), "LSTM": _lstm_step,
          "GRU": _gru_step}


def _reset_uniform(module: Module) -> None:
    """Every weight and bias ~ U(-1/sqrt(hidden_size), 1/sqrt(hidden_size)), as in PyTorch."""
    stdv = 1.0 / math.sqrt(module.hidden_size) if module.hidden_size > 0 else 0
    for w in module.parameters():
        init.uniform_(w, -stdv, stdv)


def _no_proj_size(name: str, kwargs: dict) -> None:
    """RNN and GRU take ``**kwargs`` only to reject LSTM's ``proj_size`` with PyTorch's message."""
    if "proj_size" in kwargs:
        raise ValueError("proj_size argument is only supported for LSTM, not RNN or GRU")
    if kwargs:
        raise TypeError(f"{name}() got unexpected keyword arguments {sorted(kwargs)}")


class RNNBase(Module):
    """Shared parameters, checks and the unrolled time loop of RNN, LSTM and GRU."""

    def __init__(self, mode: str, input_size: int, hidden_size: int, num_layers: int = 1,
                 bias: bool = True, batch_first: bool = False, dropout: float = 0.0,
                 bidirectional: bool = False, proj_size: int = 0, device: Any = None,
                 dtype: Any = None) -> None:
        super().__init__()
        name = {"RNN_TANH": "RNN", "RNN_RELU": "RNN"}.get(mode, mode)
        if not isinstance(dropout, (int, float)) or isinstance(dropout, bool) or not 0 <= dropout <= 1:
            raise ValueError("dropout should be a number in range [0, 1] representing the "
                             f"probability of an element being zeroed, got {dropout!r}")
        if dropout > 0 and num_layers == 1:
            warnings.warn("dropout option adds dropout after all but last recurrent layer, so "
                          "non-zero dropout expects num_layers greater than 1, but got "
                          f"dropout={dropout} and num_layers={num_layers}", UserWarning, stacklevel=3)
        for what, v in (("hidden_size", hidden_size), ("num_layers", num_layers)):
            if not isinstance(v, int) or isinstance(v, bool) or v <= 0:
                raise ValueError(f"{name}: {what} must be an integer greater than zero, got {v!r}")
        if proj_size < 0:
            raise ValueError("proj_size should be a positive integer or zero to disable projections")
        if proj_size >= hidden_size:
            raise ValueError("proj_size has to be smaller than hidden_size")
        if proj_size and mode != "LSTM":
            raise ValueError("proj_size argument is only supported for LSTM, not RNN or GRU")
        self.mode = mode
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.bias = bias
        self.batch_first = batch_first
        self.dropout = float(dropout)
        self.bidirectional = bidirectional
        self.proj_size = proj_size
        gate_size = _GATES[mode] * hidden_size
        real_hidden = proj_size if proj_size > 0 else hidden_size
        self._flat_weights_names: list[str] = []
        self._all_weights: list[list[str]] = []
        for layer in range(num_layers):
            for direction in range(2 if bidirectional else 1):
                in_size = input_size if layer == 0 else real_hidden * (2 if bidirectional else 1)
                sfx = f"_l{layer}" + ("_reverse" if direction else "")
                shapes = [("weight_ih", (gate_size, in_size)), ("weight_hh", (gate_size, real_hidden))]
                if bias:
                    shapes += [("bias_ih", (gate_size,)), ("bias_hh", (gate_size,))]
                if proj_size:
                    shapes.append(("weight_hr", (proj_size, hidden_size)))
                names = []
                for base, shape in shapes:
                    setattr(self, base + sfx, _empty_param(shape, dtype))
                    names.append(base + sfx)
                self._flat_weights_names.extend(names)
                self._all_weights.append(names)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        _reset_uniform(self)

    def flatten_parameters(self) -> None:
        """No-op (kept for API compatibility: cuDNN weight packing does not apply here)."""

    @property
    def all_weights(self) -> list[list[Tensor]]:
        return [[getattr(self, n) for n in names] for names in self._all_weights]

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        if self.proj_size != 0:
            s += f", proj_size={self.proj_size}"
        if self.num_layers != 1:
            s += f", num_layers={self.num_layers}"
        if self.bias is not True:
            s += f", bias={self.bias}"
        if self.batch_first is not False:
            s += f", batch_first={self.batch_first}"
        if self.dropout != 0:
            s += f", dropout={self.dropout}"
        if self.bidirectional is not False:
            s += f", bidirectional={self.bidirectional}"
        return s

    # ------------------------------------------------------------------ checks
    def _prepare(self, input: Tensor) -> tuple[Tensor, bool]:  # noqa: A002
        """(L, N, H_in) view of ``input`` and whether it had a batch dimension."""
        name = type(self).__name__
        F._need_tensor(input, name)
        nd = input._data.ndim
        if nd not in (2, 3):
            raise ValueError(f"{name}: Expected input to be 2D or 3D, got {nd}D tensor instead "
                             f"(shape {tuple(input._data.shape)})")
        if input._data.shape[-1] != self.input_size:
            raise RuntimeError(f"{name}: input.size(-1) must be equal to input_size. Expected "
                               f"{self.input_size}, got {input._data.shape[-1]} (input of shape "
                               f"{tuple(input._data.shape)})")
        w = getattr(self, self._flat_weights_names[0])
        if input._data.dtype != w._data.dtype:
            raise ValueError(f"{name}: input must have the type {w.dtype}, got type {input.dtype}; "
                             f"convert with input.to({w.dtype})")
        batched = nd == 3
        if not batched:
            return ops.unsqueeze(input, 1), False
        return (ops.transpose(input, 0, 1) if self.batch_first else input), True

    def _state(self, hx: Any, batched: bool, n: int, size: int, dtype: np.dtype, which: str) -> Tensor:
        d = (2 if self.bidirectional else 1) * self.num_layers
        if hx is None:
            return structural(wrap(np.zeros((d, n, size), dtype=dtype)))
        F._need_tensor(hx, type(self).__name__, "hx")
        want = 3 if batched else 2
        if hx._data.ndim != want:
            kind = "batched 3-D" if batched else "unbatched 2-D"
            raise RuntimeError(f"{type(self).__name__}: For {kind} input, hx{which} should also be "
                               f"{want}-D but got {hx._data.ndim}-D tensor")
        if not batched:
            hx = ops.unsqueeze(hx, 1)
        if tuple(hx._data.shape) != (d, n, size):
            label = f"hidden{which}" if which else "hidden"
            shape = tuple(hx._data.shape)
            raise RuntimeError(f"{type(self).__name__}: Expected {label} size {(d, n, size)}, got "
                               f"{list(shape)} (a state is (num_layers * num_directions, batch, "
                               f"{'proj_size' if size != self.hidden_size else 'hidden_size'}); this one "
                               f"has shape {shape})")
        return hx

    # ------------------------------------------------------------------- loop
    def _run(self, x: Tensor, states: list[tuple]) -> tuple[Tensor, list[tuple]]:
        """Unroll every layer and direction over time; ``states[k]`` is layer/direction k's start."""
        step = _STEPS[self.mode]
        nd = 2 if self.bidirectional else 1
        steps = x._data.shape[0]
        if not steps:
            raise RuntimeError(f"{type(self).__name__}: Expected sequence length to be larger than 0 "
                               f"in RNN, got an input of shape {tuple(x._data.shape)} (L, N, H_in)")
        finals = []
        layer_input = x
        for layer in range(self.num_layers):
            outs_dir = []
            for d in range(nd):
                k = layer * nd + d
                w = [getattr(self, n) for n in self._all_weights[k]]
                self._check_weights(layer, k, w)
                if self.mode == "LSTM":
                    out, h_n, c_n = self._lstm_direction(layer_input, states[k], w, d == 1)
                    outs_dir.append(out)
                    finals.append((h_n, c_n))
                    continue
                if self.mode == "GRU":
                    out, h_n = self._gru_direction(layer_input, states[k], w, d == 1)
                    outs_dir.append(out)
                    finals.append((h_n,))
                    continue
                b_ih, b_hh = (w[2], w[3]) if self.bias else (None, None)
                whr_t = ops.transpose(w[-1], 0, 1) if self.proj_size else None
                xs = ops.unbind(F.linear(layer_input, w[0], b_ih), 0)  # input projection: one matmul
                whh_t = ops.transpose(w[1], 0, 1)
                state = states[k]
                outs: list[Any] = [None] * steps
                for t in (range(steps) if d == 0 else range(steps - 1, -1, -1)):
                    state = step(xs[t], state, whh_t, b_hh, whr_t)
                    outs[t] = state[0]
                outs_dir.append(ops.stack(outs, 0))
                finals.append(state)
            layer_input = ops.cat(outs_dir, 2) if nd == 2 else outs_dir[0]
            if self.dropout and self.training and layer < self.num_layers - 1:
                layer_input = F.dropout(layer_input, self.dropout, True)
        return layer_input, finals

    def _check_weights(self, layer: int, k: int, w: list) -> None:
        """Each weight of layer/direction k has its shape at construction (a replaced parameter,
        e.g. through func.functional_call, may not)."""
        g, hs = _GATES[self.mode] * self.hidden_size, self.hidden_size
        out = self.proj_size or hs
        in_size = self.input_size if layer == 0 else out * (2 if self.bidirectional else 1)
        want = [(g, in_size), (g, out)] + ([(g,), (g,)] if self.bias else [])
        want += [(out, hs)] if self.proj_size else []
        for name, t, shape in zip(self._all_weights[k], w, want):
            got = tuple(t._data.shape)
            if got != shape:
                raise RuntimeError(f"{type(self).__name__}: {name} has shape {got}, expected {shape} "
                                   f"(gate rows = {_GATES[self.mode]} * hidden_size with hidden_size {hs}, "
                                   f"input_size {self.input_size})")

    def _lstm_direction(self, x: Tensor, state: tuple, w: list, reverse: bool) -> tuple:
        """(output, h_n, c_n) of one LSTM layer direction: the input projection of all (L*N) rows
        as one 2-d ``linear`` with both biases (so its backward is one GEMM too), then one
        ``LstmLayer`` op for the recurrence."""
        steps, n, size = x._data.shape
        bias = w[2] + w[3] if self.bias else None
        xp = F.linear(ops.reshape(x, (steps * n, size)), w[0], bias)
        xp = ops.reshape(xp, (steps, n, w[0]._data.shape[0]))
        return lstm_layer(xp, state[0], state[1], w[1], w[-1] if self.proj_size else None,
                          reverse=reverse)

    def _gru_direction(self, x: Tensor, state: tuple, w: list, reverse: bool) -> tuple:
        """(output, h_n) of one GRU layer direction: one 2-d ``linear`` with b_ih and the r, z parts
        of b_hh, then one ``GruLayer`` op (b_hn stays inside it: n's product with r reads it)."""
        steps, n, size = x._data.shape
        hs, dt = self.hidden_size, x._data.dtype
        if self.bias:
            rz = structural(np.concatenate([np.ones(2 * hs, dt), np.zeros(hs, dt)]))
            bias, b_hn = w[2] + w[3] * rz, w[3][2 * hs :]
        else:
            bias, b_hn = None, structural(np.zeros(hs, dt))
        xp = F.linear(ops.reshape(x, (steps * n, size)), w[0], bias)
        xp = ops.reshape(xp, (steps, n, 3 * hs))
        return gru_layer(xp, state[0], w[1], b_hn, reverse=reverse)

    def _finish(self, out: Tensor, batched: bool) -> Tensor:
        if not batched:
            return ops.squeeze(out, 1)
        return ops.transpose(out, 0, 1) if self.batch_first else out

    def forward(self, input: Tensor, hx: Any = None) -> tuple[Tensor, Any]:  # noqa: A002
        x, batched = self._prepare(input)
        n, dt = x._data.shape[1], x._data.dtype
        out_size = self.proj_size if self.proj_size else self.hidden_size
        if self.mode == "LSTM":
            if hx is not None and not (isinstance(hx, (tuple, list)) and len(hx) == 2):
                raise RuntimeError("LSTM: hx must be a tuple (h_0, c_0) of two tensors")
            h0 = self._state(None if hx is None else hx[0], batched, n, out_size, dt, "[0]")
            c0 = self._state(None if hx is None else hx[1], batched, n, self.hidden_size, dt, "[1]")
            states = [(h0[k], c0[k]) for k in range(h0._data.shape[0])]
        else:
            if isinstance(hx, (tuple, list)):
                raise RuntimeError(f"{type(self).__name__}: hx must be a tensor, not a "
                                   f"{type(hx).__name__} (only LSTM takes (h_0, c_0))")
            h0 = self._state(hx, batched, n, out_size, dt, "")
            states = [(h0[k],) for k in range(h0._data.shape[0])]
        out, finals = self._run(x, states)
        h_n = ops.stack([s[0] for s in finals], 0)
        h_n = h_n if batched else ops.squeeze(h_n, 1)
        if self.mode == "LSTM":
            c_n = ops.stack([s[1] for s in finals], 0)
            return self._finish(out, batched), (h_n, c_n if batched else ops.squeeze(c_n, 1))
        return self._finish(out, batched), h_n


class RNN(RNNBase):
    """Elman RNN: h_t = tanh(x_t W_ihᵀ + b_ih + h_{t-1} W_hhᵀ + b_hh) (``nonlinearity='relu'`` too).

    Returns ``(output, h_n)``.
    """

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1,
                 nonlinearity: str = "tanh", bias: bool = True, batch_first: bool = False,
                 dropout: float = 0.0, bidirectional: bool = False, device: Any = None,
                 dtype: Any = None, **kwargs: Any) -> None:
        _no_proj_size("RNN", kwargs)
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"Unknown nonlinearity '{nonlinearity}'. Select from 'tanh' or 'relu'.")
        self.nonlinearity = nonlinearity
        super().__init__("RNN_TANH" if nonlinearity == "tanh" else "RNN_RELU", input_size,
                         hidden_size, num_layers, bias, batch_first, dropout, bidirectional, 0,
                         device, dtype)


class LSTM(RNNBase):
    """Long short-term memory; returns ``(output, (h_n, c_n))``; ``hx`` is ``(h_0, c_0)``."""

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
                 batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False,
                 proj_size: int = 0, device: Any = None, dtype: Any = None) -> None:
        super().__init__("LSTM", input_size, hidden_size, num_layers, bias, batch_first, dropout,
                         bidirectional, proj_size, device, dtype)


class GRU(RNNBase):
    """Gated recurrent unit; returns ``(output, h_n)``."""

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
                 batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False,
                 device: Any = None, dtype: Any = None, **kwargs: Any) -> None:
        _no_proj_size("GRU", kwargs)
        super().__init__("GRU", input_size, hidden_size, num_layers, bias, batch_first, dropout,
                         bidirectional, 0, device, dtype)


class RNNCellBase(Module):
    """One time step: parameters weight_ih (G*H, in), weight_hh (G*H, H), bias_ih, bias_hh."""

    _mode = "RNN_TANH"

    def __init__(self, input_size: int, hidden_size: int, bias: bool, num_chunks: int,
                 device: Any = None, dtype: Any = None) -> None:
        super().__init__()
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.bias = bias
        self.weight_ih = _empty_param((num_chunks * hidden_size, input_size), dtype)
        self.weight_hh = _empty_param((num_chunks * hidden_size, hidden_size), dtype)
        if bias:
            self.bias_ih = _empty_param((num_chunks * hidden_size,), dtype)
            self.bias_hh = _empty_param((num_chunks * hidden_size,), dtype)
        else:
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        _reset_uniform(self)

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        if self.bias is not True:
            s += f", bias={self.bias}"
        if getattr(self, "nonlinearity", "tanh") != "tanh":
            s += f", nonlinearity={self.nonlinearity}"
        return s

    def _cell(self, input: Tensor, hx: Any, n_states: int) -> tuple:  # noqa: A002
        name = type(self).__name__
        F._need_tensor(input, name)
        nd = input._data.ndim
        if nd not in (1, 2):
            raise ValueError(f"{name}: Expected input to be 1D or 2D, got {nd}D instead")
        if input._data.shape[-1] != self.input_size:
            raise RuntimeError(f"{name}: input has {input._data.shape[-1]} features, expected "
                               f"{self.input_size} (input_size)")
        x = input if nd == 2 else ops.unsqueeze(input, 0)
        n = x._data.shape[0]
        if hx is None:
            z = wrap(np.zeros((n, self.hidden_size), dtype=x._data.dtype))
            states = (z,) * n_states
        else:
            states = tuple(hx) if n_states == 2 else (hx,)
            states = tuple(s if nd == 2 else ops.unsqueeze(s, 0) for s in states)
            for s in states:
                if tuple(s._data.shape) != (n, self.hidden_size):
                    raise RuntimeError(f"{name}: hidden state of shape {tuple(s._data.shape)} does "
                                       f"not match (batch, hidden_size) = {(n, self.hidden_size)}")
        xp = F.linear(x, self.weight_ih, self.bias_ih)
        out = _STEPS[self._mode](xp, states, ops.transpose(self.weight_hh, 0, 1), self.bias_hh, None)
        return out if nd == 2 else tuple(ops.squeeze(o, 0) for o in out)


class RNNCell(RNNCellBase):
    """h' = tanh(x W_ihᵀ + b_ih + h W_hhᵀ + b_hh) (or relu)."""

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True,
                 nonlinearity: str = "tanh", device: Any = None, dtype: Any = None) -> None:
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"Unknown nonlinearity: {nonlinearity}")
        self.nonlinearity = nonlinearity
        super().__init__(input_size, hidden_size, bias, 1, device, dtype)
        self._mode = "RNN_TANH" if nonlinearity == "tanh" else "RNN_RELU"

    def forward(self, input: Tensor, hx: Tensor | None = None) -> Tensor:  # noqa: A002
        return self._cell(input, hx, 1)[0]


class LSTMCell(RNNCellBase):
    """One LSTM step: returns ``(h', c')``."""

    _mode = "LSTM"

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, device: Any = None,
                 dtype: Any = None) -> None:
        super().__init__(input_size, hidden_size, bias, 4, device, dtype)

    def forward(self, input: Tensor, hx: Any = None) -> tuple[Tensor, Tensor]:  # noqa: A002
        h, c = self._cell(input, hx, 2)
        return h, c


class GRUCell(RNNCellBase):
    """One GRU step: returns h'."""

    _mode = "GRU"

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, device: Any = None,
                 dtype: Any = None) -> None:
        super().__init__(input_size, hidden_size, bias, 3, device, dtype)

    def forward(self, input: Tensor, hx: Tensor | None = None) -> Tensor:  # noqa: A002
        return self._cell(input, hx, 1)[0]
