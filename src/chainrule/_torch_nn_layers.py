"""The recurrent cells and layers and the generic convolutions PyTorch exposes at the top level
with ATen's signatures (``torch.gru_cell``, ``torch.lstm``, ``torch.convolution``,
``torch.conv_transpose3d``), composed from ops so that gradients follow.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from . import ops
from .nn import functional as F
from .nn.conv import _ntuple
from .nn.rnn import _STEPS
from .ops._core import fail, structural

__all__ = ["gru_cell", "rnn_tanh_cell", "rnn_relu_cell"]


# ------------------------------------------------------------------ recurrent cells
def _cell(mode: str, input: Any, hx: Any, w_ih: Any, w_hh: Any, b_ih: Any, b_hh: Any) -> Any:  # noqa: A002
    """One step of ``nn.rnn``'s ``mode`` (its step functions take the input projection)."""
    if input._data.ndim == 0:
        raise fail(
            "Dimension specified as 1 but tensor has no dimensions: a cell's input is (N, H_in) or (H_in), "
            "got shape ()",
            IndexError,
        )
    xp = ops.matmul(input, ops.t(w_ih))
    xp = xp if b_ih is None else ops.add(xp, b_ih)
    return _STEPS[mode](xp, (hx,), ops.t(w_hh), b_hh, None)[0]


def gru_cell(input: Any, hx: Any, w_ih: Any, w_hh: Any, b_ih: Any = None, b_hh: Any = None) -> Any:  # noqa: A002
    """One GRU step: reset and update gates, then (1 - z) * n + z * hx."""
    return _cell("GRU", input, hx, w_ih, w_hh, b_ih, b_hh)


def rnn_tanh_cell(input: Any, hx: Any, w_ih: Any, w_hh: Any, b_ih: Any = None, b_hh: Any = None) -> Any:  # noqa: A002
    """One Elman step, tanh(input W_ih^T + b_ih + hx W_hh^T + b_hh)."""
    return _cell("RNN_TANH", input, hx, w_ih, w_hh, b_ih, b_hh)


def rnn_relu_cell(input: Any, hx: Any, w_ih: Any, w_hh: Any, b_ih: Any = None, b_hh: Any = None) -> Any:  # noqa: A002
    """One Elman step with ReLU."""
    return _cell("RNN_RELU", input, hx, w_ih, w_hh, b_ih, b_hh)


def conv_transpose3d(
    input: Any,
    weight: Any,
    bias: Any = None,
    stride: Any = 1,
    padding: Any = 0,  # noqa: A002
    output_padding: Any = 0,
    groups: int = 1,
    dilation: Any = 1,
) -> Any:
    """3-d transposed convolution (the gradient of conv3d), weight (C_in, C_out/groups, kd, kh, kw):
    a 2-d one per kernel depth offset, each added into the output depths it reaches."""
    unbatched = input._data.ndim == 4
    x = ops.unsqueeze(input, 0) if unbatched else input
    xs, ws = tuple(x._data.shape), tuple(weight._data.shape)
    if len(xs) != 5 or len(ws) != 5:
        raise fail(
            f"conv_transpose3d(): expected a 4-d (C, D, H, W) or 5-d (N, C, D, H, W) input and a 5-d "
            f"weight, got shapes {tuple(input._data.shape)} and {ws}",
            RuntimeError,
        )
    s, p, d = _ntuple(stride, 3, "stride"), _ntuple(padding, 3, "padding"), _ntuple(dilation, 3, "dilation")
    op_ = _ntuple(output_padding, 3, "output_padding")
    if min(xs[2:]) == 0 or min(ws) == 0:
        raise fail(
            f"conv_transpose3d(): weight of shape {ws} and input of shape {xs} need non-zero channels, "
            "kernel and spatial sizes (only the batch may be empty)",
            RuntimeError,
        )
    n, _, depth, h, w = xs
    full = (depth - 1) * s[0] + d[0] * (ws[2] - 1) + 1 + op_[0]
    flat = ops.reshape(ops.movedim(x, 2, 1), (n * depth,) + (xs[1], h, w))
    out = None
    for k in range(ws[2]):
        y = ops.conv_transpose2d(flat, weight[:, :, k], None, s[1:], p[1:], op_[1:], groups, d[1:])
        y = ops.movedim(ops.reshape(y, (n, depth) + tuple(y._data.shape[1:])), 1, 2)  # (N, C_out, D, H', W')
        if out is None:
            out = structural(np.zeros(y._data.shape[:2] + (full,) + y._data.shape[3:], dtype=y._data.dtype))
        out = ops.index_add(out, 2, structural(np.arange(depth) * s[0] + k * d[0]), y)
    out = out[:, :, p[0] : full - p[0]]
    if bias is not None:
        out = ops.add(out, ops.reshape(bias, (1, -1, 1, 1, 1)))
    return ops.squeeze(out, 0) if unbatched else out


def convolution(
    input: Any,
    weight: Any,
    bias: Any,
    stride: Any,
    padding: Any,
    dilation: Any,  # noqa: A002
    transposed: bool,
    output_padding: Any,
    groups: int,
) -> Any:
    """ATen's one convolution: ``conv{1,2,3}d`` or ``conv_transpose{1,2,3}d`` by the input's rank."""
    spatial = input._data.ndim - 2
    if spatial not in (1, 2, 3):
        raise fail(
            f"convolution(): expected a 3-, 4- or 5-d (batched) input, got shape {tuple(input._data.shape)}",
            RuntimeError,
        )
    if transposed:
        fn = (F.conv_transpose1d, ops.conv_transpose2d, conv_transpose3d)[spatial - 1]
        return fn(input, weight, bias, stride, padding, output_padding, groups, dilation)
    fn = (F.conv1d, F.conv2d, F.conv3d)[spatial - 1]
    return fn(input, weight, bias, stride, padding, dilation, groups)


__all__ += ["conv_transpose3d", "convolution"]


# ----------------------------------------------- whole recurrent layers, ATen's form
def _direction(kind: str, x: Any, w: Sequence[Any], has_biases: bool, h: Any, c: Any, reverse: bool) -> tuple:
    """One layer and direction unrolled over time: ``(outputs stacked over time, h_n, c_n)``."""
    w_ih, w_hh = w[0], w[1]
    b_ih, b_hh = (w[2], w[3]) if has_biases else (None, None)
    lstm = kind == "lstm"
    w_hr = w[-1] if lstm and len(w) in (3, 5) else None
    size, state = w_ih._data.shape[0] // (4 if lstm else 3 if kind == "gru" else 1), c if lstm else h
    if state._data.shape[-1] != size:
        raise fail(
            f"The size of tensor a ({size}) must match the size of tensor b "
            f"({state._data.shape[-1]}) at non-singleton dimension 1: the weights are for a hidden "
            f"size of {size}, the state has shape {tuple(state._data.shape)}",
            RuntimeError,
        )
    n = x._data.shape[0]
    seq = [None] * n
    for t in range(n - 1, -1, -1) if reverse else range(n):
        if lstm:
            h, c = ops.lstm_cell(x[t], (h, c), w_ih, w_hh, b_ih, b_hh)
            if w_hr is not None:
                h = ops.matmul(h, ops.t(w_hr))
        else:
            h = _CELLS[kind](x[t], h, w_ih, w_hh, b_ih, b_hh)
        seq[t] = h
    return ops.stack(seq, 0), h, c


_CELLS = {"gru": gru_cell, "rnn_tanh": rnn_tanh_cell, "rnn_relu": rnn_relu_cell}


def _layer(kind: str, doc: str) -> Any:
    """ATen's public form of a whole recurrent layer of ``kind``: the same nine arguments for all four.
    Every layer and direction is unrolled over time with the cell of ``kind``; ``params`` holds
    w_ih, w_hh (b_ih, b_hh) (w_hr) per layer and direction, as ``nn.LSTM._flat_weights``."""
    lstm = kind == "lstm"

    def run(
        input: Any,
        hx: Any,
        params: Sequence[Any],
        has_biases: bool,
        num_layers: int,  # noqa: A002
        dropout: float,
        train: bool,
        bidirectional: bool,
        batch_first: bool,
    ) -> tuple:
        dirs = 2 if bidirectional else 1
        if input._data.ndim == 0:
            raise fail(
                "dimension out of range (expected to be in range of [-1, 0], but got "
                f"{int(batch_first)}): the input has no dimensions (shape ())",
                IndexError,
            )
        h0, c0 = (hx[0], hx[1]) if lstm else (hx, None)
        if h0._data.ndim and h0._data.shape[0] < num_layers * dirs:
            raise fail(
                f"Expected more hidden states in stacked_rnn: {num_layers * dirs} layers and directions, got "
                f"hidden states of shape {tuple(h0._data.shape)}",
                RuntimeError,
            )
        if input._data.ndim == 3 and input._data.shape[1 if batch_first else 0] == 0:
            raise fail(
                "Expected sequence length to be larger than 0 in RNN (input shape "
                f"{tuple(input._data.shape)})",
                RuntimeError,
            )
        per = len(params) // (num_layers * dirs)
        if input._data.ndim != 3 or per * num_layers * dirs != len(params):
            raise fail(
                f"{kind}(): expected a 3-d input and {num_layers * dirs} groups of weights, got input "
                f"shape {tuple(input._data.shape)} and {len(params)} weights",
                RuntimeError,
            )
        x = ops.transpose(input, 0, 1) if batch_first else input
        finals_h, finals_c = [], []
        for layer in range(num_layers):
            outs = []
            for d in range(dirs):
                k = layer * dirs + d
                w = params[k * per : (k + 1) * per]
                out, h, c = _direction(kind, x, w, has_biases, h0[k], c0[k] if lstm else None, bool(d))
                outs.append(out)
                finals_h.append(h)
                finals_c.append(c)
            x = ops.cat(outs, -1) if dirs == 2 else outs[0]
            if dropout and train and layer < num_layers - 1:
                x = F.dropout(x, dropout, True)
        out = ops.transpose(x, 0, 1) if batch_first else x
        if lstm:
            return out, ops.stack(finals_h, 0), ops.stack(finals_c, 0)
        return out, ops.stack(finals_h, 0)

    run.__name__ = run.__qualname__ = kind
    run.__doc__ = doc
    return run


lstm = _layer(
    "lstm", "``(output, h_n, c_n)`` of a whole LSTM (``hx`` = [h_0, c_0]), ATen's form of ``nn.LSTM``."
)
gru = _layer("gru", "``(output, h_n)`` of a whole GRU, ATen's form of ``nn.GRU``.")
rnn_tanh = _layer("rnn_tanh", "``(output, h_n)`` of a whole Elman RNN with tanh.")
rnn_relu = _layer("rnn_relu", "``(output, h_n)`` of a whole Elman RNN with ReLU.")

__all__ += ["lstm", "gru", "rnn_tanh", "rnn_relu"]


from ._naming import name_all  # noqa: E402

name_all(globals(), __all__)  # their errors name them (lstm(): lstm_cell(): ...)
