"""Lowerings of the whole-layer recurrent primitives (``LstmLayer``, ``LstmLayerProj``,
``GruLayer``; see ``ops/rnn_layer.py``): the time loop unrolled into ONNX nodes step by step,
and the primitive's packed output -- its planes (h, c, i, f, g, o for an LSTM; h, r, z, hn, n
for a GRU), each (L, N, H) -- concatenated from the steps, so the slices that read it lower as
they do for any value.  Unrolling needs a static sequence length; a dynamic one is refused.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..compile.ir import Node
from ._builder import Builder

__all__ = ["gru_layer", "lstm_layer"]


def _steps(b: Builder, n: Node) -> range:
    (s1, s2) = b.shape_of(n, 0)
    if s1[0] != s2[0]:
        raise b.fail(
            "the traced graph changes with the size of the dynamic axes: a recurrent layer unrolls "
            "over the sequence length, which dynamic_axes marks; leave that axis static"
        )
    return range(s1[0] - 1, -1, -1) if n.params.get("reverse") else range(s1[0])


def _at(b: Builder, x: str, t: int) -> str:
    """Step ``t`` of an (L, N, K) value, as (N, K)."""
    return b.op("Squeeze", [b.slice(x, [0], [t], [t + 1]), b.ints([0])])


def _part(b: Builder, v: str, k: int, size: int) -> str:
    """Columns [k * size, (k + 1) * size) of an (N, m) value (one gate's block)."""
    return b.slice(v, [-1], [k * size], [(k + 1) * size])


def _stack(b: Builder, parts: list[str], axis: int) -> str:
    axes = b.ints([axis])
    return b.op("Concat", [b.op("Unsqueeze", [p, axes]) for p in parts], axis=axis)


def lstm_layer(b: Builder, n: Node) -> str:
    """(6, L, N, H): per step h (zero-padded to H under a projection), c, i, f, g, o."""
    dt = n.dtype
    xp, h, c, w = (b.x(n, k, dt) for k in range(4))
    hs, p = b.shape_of(n, 2)[0][-1], b.shape_of(n, 1)[0][-1]
    w_t = b.op("Transpose", [w], perm=[1, 0])
    wr_t = b.op("Transpose", [b.x(n, 4, dt)], perm=[1, 0]) if len(n.args) == 5 else None
    steps = _steps(b, n)
    planes: list[Any] = [None] * len(steps)
    for t in steps:
        gates = b.op("Add", [b.op("MatMul", [h, w_t]), _at(b, xp, t)])
        i, f, o = (b.op("Sigmoid", [_part(b, gates, q, hs)]) for q in (0, 1, 3))
        g = b.op("Tanh", [_part(b, gates, 2, hs)])
        c = b.op("Add", [b.op("Mul", [f, c]), b.op("Mul", [i, g])])
        h = plane = b.op("Mul", [o, b.op("Tanh", [c])])
        if wr_t is not None:
            h = b.op("MatMul", [plane, wr_t])
            zeros = b.op("Mul", [_part(b, c, 0, hs - p), b.const(np.zeros((), dt))])
            plane = b.op("Concat", [h, zeros], axis=-1)
        planes[t] = _stack(b, [plane, c, i, f, g, o], 0)
    return _stack(b, planes, 1)


def gru_layer(b: Builder, n: Node) -> str:
    """(5, L, N, H): per step h, r, z, hn = h W_hnᵀ + b_hn and n."""
    dt = n.dtype
    xp, h, w, b_hn = (b.x(n, k, dt) for k in range(4))
    hs = b.shape_of(n, 1)[0][-1]
    w_t = b.op("Transpose", [w], perm=[1, 0])
    steps = _steps(b, n)
    planes: list[Any] = [None] * len(steps)
    for t in steps:
        x_t, rec = _at(b, xp, t), b.op("MatMul", [h, w_t])
        r, z = (b.op("Sigmoid", [b.op("Add", [_part(b, rec, q, hs), _part(b, x_t, q, hs)])]) for q in (0, 1))
        hn = b.op("Add", [_part(b, rec, 2, hs), b_hn])
        nt = b.op("Tanh", [b.op("Add", [_part(b, x_t, 2, hs), b.op("Mul", [r, hn])])])
        h = b.op("Add", [nt, b.op("Mul", [z, b.op("Sub", [h, nt])])])
        planes[t] = _stack(b, [h, r, z, hn, nt], 0)
    return _stack(b, planes, 1)
