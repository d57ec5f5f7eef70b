"""The LSTM cell as one primitive: the recurrent chapters run it once per time step and layer.

Composed from ops the cell is ~15 nodes per step (four gate slices, three sigmoids, two tanhs,
products); fused, it is one node whose forward is a few NumPy passes over contiguous arrays.
With gates = x W_ihᵀ + b_ih + h W_hhᵀ + b_hh split into (i, f, g, o):

    c' = σ(f) c + σ(i) tanh(g),    h' = σ(o) tanh(c')

The output stacks (h', c') as (2, ..., H).  The rules recompute the activations from the saved
gates (cheap, and nothing else is kept) and are written with ops, so they differentiate again.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._tensor import Tensor
from . import elementwise as ew
from ._core import Primitive, apply, fail
from .elementwise import _sigmoid_forward
from .shape import cat, stack


def _lstm_cell_forward(gates: np.ndarray, c: np.ndarray) -> np.ndarray:
    hs = c.shape[-1]
    s = _sigmoid_forward(gates)
    out = np.empty((2,) + c.shape, dtype=np.result_type(gates, c))
    c_new = out[1]
    np.multiply(s[..., hs : 2 * hs], c, out=c_new)
    c_new += s[..., :hs] * np.tanh(gates[..., 2 * hs : 3 * hs])
    np.tanh(c_new, out=out[0])
    out[0] *= s[..., 3 * hs :]
    return out


def _parts(gates: Any, hs: int) -> tuple:
    """σ(i), σ(f), tanh(g), σ(o) as ops on the gate pre-activations."""

    def q(k: int) -> Any:
        return gates[..., k * hs : (k + 1) * hs]

    return ew.sigmoid(q(0)), ew.sigmoid(q(1)), ew.tanh(q(2)), ew.sigmoid(q(3))


def _vjp_arrays(g: np.ndarray, gates: np.ndarray, c: np.ndarray, ans: np.ndarray) -> tuple:
    """The same rule as ``_vjp`` in a few fused NumPy passes (the engine's no-graph path)."""
    hs = c.shape[-1]
    s = _sigmoid_forward(gates)
    gg = np.tanh(gates[..., 2 * hs : 3 * hs])
    tc = np.tanh(ans[1])
    gh, gc = g[0], g[1]
    dc = 1 - tc * tc
    dc *= gh
    dc *= s[..., 3 * hs :]
    dc += gc
    d = np.empty(np.broadcast_shapes(gates.shape, dc.shape[:-1] + (4 * hs,)), dtype=dc.dtype)
    np.multiply(dc, gg, out=d[..., :hs])
    np.multiply(dc, c, out=d[..., hs : 2 * hs])
    np.multiply(gh, tc, out=d[..., 3 * hs :])
    d *= s
    d *= 1 - s  # sigmoid' on the i, f, o quarters; the g quarter is overwritten next
    np.multiply(dc, s[..., :hs], out=d[..., 2 * hs : 3 * hs])
    d[..., 2 * hs : 3 * hs] *= 1 - gg * gg
    return d, dc * s[..., hs : 2 * hs]


def _vjp(g: Any, gates: Any, c: Any, ans: Any) -> tuple:
    if not any(isinstance(a, Tensor) for a in (g, gates, c, ans)):
        return _vjp_arrays(g, gates, np.asarray(c), ans)
    i, f, gg, o = _parts(gates, c.shape[-1])
    tc = ew.tanh(ans[1])
    gh, gc = g[0], g[1]
    dc = gc + gh * o * (1 - tc * tc)
    dgates = cat([dc * gg * i * (1 - i), dc * c * f * (1 - f), dc * i * (1 - gg * gg),
                  gh * tc * o * (1 - o)], -1)
    return dgates, dc * f


def _jvp(ts: tuple, gates: Any, c: Any, ans: Any) -> Any:
    hs = c.shape[-1]
    i, f, gg, o = _parts(gates, hs)
    tg, tcell = ts
    dc: Any = 0.0  # at least one tangent is given, so dc becomes an array below
    if tg is not None:

        def q(k: int) -> Any:
            return tg[..., k * hs : (k + 1) * hs]

        dc = c * f * (1 - f) * q(1) + gg * i * (1 - i) * q(0) + i * (1 - gg * gg) * q(2)
    if tcell is not None:
        dc = dc + f * tcell
    tc = ew.tanh(ans[1])
    dh = o * (1 - tc * tc) * dc
    if tg is not None:
        dh = dh + tc * o * (1 - o) * tg[..., 3 * hs :]
    return stack([dh, dc], 0)


LSTM_CELL = Primitive("LstmCell", _lstm_cell_forward, public="lstm_cell")
LSTM_CELL.defvjp_all(_vjp)
LSTM_CELL.defjvp_all(_jvp)


def _shape(a: Any) -> tuple:
    return a._data.shape if isinstance(a, Tensor) else np.shape(a)


def lstm_cell_gates(gates: Any, c: Any) -> tuple[Any, Any]:
    """(h', c') from the gate pre-activations (..., 4H) and the cell state (..., H)."""
    gs, cs = _shape(gates), _shape(c)
    if gs[:-1] != cs[:-1] or gs[-1] != 4 * cs[-1]:
        raise fail(f"lstm_cell(): gates of shape {gs} do not match a cell state of shape {cs} "
                   "(gates must be (..., 4 * hidden_size) with the same leading dims)")
    out = apply(LSTM_CELL, (gates, c))
    return out[0], out[1]


def lstm_cell(input: Any, hx: Any, w_ih: Any, w_hh: Any, b_ih: Any = None,  # noqa: A002
              b_hh: Any = None) -> tuple[Any, Any]:
    """One LSTM step, as ``torch.lstm_cell``: ``hx = (h, c)``; returns ``(h', c')``."""
    from .linear import linear

    h, c = hx
    if len(_shape(input)) not in (1, 2):  # PyTorch reads input.size(1): IndexError on 0-d
        raise fail(f"lstm_cell(): expects an input of shape (batch, input_size) or (input_size,), got "
                   f"{_shape(input)}", IndexError if not _shape(input) else RuntimeError)
    gates = linear(input, w_ih, b_ih) + linear(h, w_hh, b_hh)
    return lstm_cell_gates(gates, c)
