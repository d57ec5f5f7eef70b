"""Constant padding (``F.pad``'s constant mode): the VJP crops, the JVP pads the tangent.

``pad`` lists (left, right) pairs from the last dimension backwards, as PyTorch's; negative
widths crop first, then the rest pads.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from .._tensor import Tensor
from ._core import Primitive, apply, fail
from .shape import _ndim, _shape, clone

__all__ = ["PAD", "pad", "pad_"]


def _pad_forward(x: np.ndarray, *, widths: tuple, value: float) -> np.ndarray:
    return np.pad(x, widths, mode="constant", constant_values=value)


def _crop(g: Any, widths: tuple) -> Any:
    from .index import getitem

    return getitem(g, tuple(slice(lo, (-hi if hi else None)) for lo, hi in widths))


PAD = Primitive("ConstantPadNd", _pad_forward, public="pad").defvjp(_crop)
PAD.defjvp(lambda t, widths: apply(PAD, (t,), {"widths": widths, "value": 0.0}))


def pad(x: Any, pad: Sequence[int], mode: str = "constant", value: float = 0.0) -> Any:
    """Constant padding; ``pad`` lists (left, right) pairs from the last dimension backwards."""
    if mode != "constant":
        raise fail(f"pad(): only mode='constant' is supported, got {mode!r}", NotImplementedError)
    pad = [int(p) for p in pad]
    if len(pad) % 2:
        raise fail(f"pad(): padding length must be divisible by 2, got {len(pad)}", RuntimeError)
    n = _ndim(x)
    if len(pad) // 2 > n:
        raise fail(f"pad(): padding length {len(pad)} pads {len(pad) // 2} dimensions but the input of shape "
                   f"{_shape(x)} has {n}; give at most two values per dimension", RuntimeError)
    if any(p < 0 for p in pad):
        out = x
        crops = [slice(None)] * n
        for i in range(len(pad) // 2):
            lo, hi = pad[2 * i], pad[2 * i + 1]
            d = n - 1 - i
            size = _shape(x)[d]
            if max(-lo, 0) + max(-hi, 0) > size or size + lo + hi < 0:
                raise fail(f"pad(): padding ({lo}, {hi}) would crop dimension {d} of size {size} "
                           "below zero", RuntimeError)
            crops[d] = slice(max(-lo, 0), size - max(-hi, 0))
        from .index import getitem

        out = getitem(out, tuple(crops))
        return pad_(out, [max(p, 0) for p in pad], value)
    return pad_(x, pad, value)


def pad_(x: Any, pad: Sequence[int], value: float) -> Any:
    n = _ndim(x)
    widths = [(0, 0)] * n
    for i in range(len(pad) // 2):
        widths[n - 1 - i] = (pad[2 * i], pad[2 * i + 1])
    if not any(lo or hi for lo, hi in widths):
        return clone(x) if isinstance(x, Tensor) else x  # a new tensor, as in PyTorch
    return apply(PAD, (x,), {"widths": tuple(widths), "value": value})
