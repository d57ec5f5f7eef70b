"""Channel-wise and self-normalising dropout of ``chainrule.nn.functional`` (re-exported there):
``dropout1d/2d/3d`` with PyTorch's handling of unbatched and odd-rank input, ``alpha_dropout`` and
``feature_alpha_dropout``.

One Bernoulli draw per (sample, channel) is shared over the remaining dims, exactly the mask
shapes PyTorch's ``feature_dropout`` uses, so a 2-d input to ``dropout2d`` drops elementwise (with
PyTorch's deprecation warning) rather than raising.
"""

from __future__ import annotations

import math
import warnings

import numpy as np

from .._inplace import inplace as _inplace
from .._tensor import Tensor, wrap

__all__ = ["dropout1d", "dropout2d", "dropout3d", "alpha_dropout", "feature_alpha_dropout"]

_ALPHA = 1.7580993408473766  # -SELU's negative saturation value, scale * alpha


def _check_p(p: float) -> None:
    if p < 0.0 or p > 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")


def _keep_mask(shape: tuple[int, ...], p: float, dtype: np.dtype) -> np.ndarray:
    from ..random import default_generator

    return (default_generator.numpy().random(shape) >= p).astype(dtype)


def _feature_shape(xs: tuple[int, ...]) -> tuple[int, ...]:
    if len(xs) < 2:
        raise RuntimeError("Feature dropout requires at least 2 dimensions in the input")
    return xs[:2] + (1,) * (len(xs) - 2)


def _dropout_impl(x: Tensor, p: float, training: bool, feature: bool, alpha: bool) -> Tensor:
    if not training or p == 0.0 or x._data.size == 0:
        return x
    xs = tuple(x._data.shape)
    shape = _feature_shape(xs) if feature else xs
    if p == 1.0:
        return x * 0.0
    keep = _keep_mask(shape, p, x._data.dtype)
    if not alpha:
        return x * wrap(keep / (1.0 - p))
    a = 1.0 / math.sqrt((_ALPHA * _ALPHA * p + 1) * (1 - p))
    shift = (keep - 1.0) * (_ALPHA * a) + _ALPHA * a * p
    return x * wrap(keep * a) + wrap(shift.astype(x._data.dtype))


def _run(
    x: Tensor,
    p: float,
    training: bool,
    inplace: bool,
    name: str,
    *,
    feature: bool = True,
    alpha: bool = False,
    unsqueeze: bool = False,
) -> Tensor:
    from .. import ops

    def fn(t: Tensor) -> Tensor:
        if unsqueeze:
            return ops.squeeze(_dropout_impl(ops.unsqueeze(t, 0), p, training, feature, alpha), 0)
        return _dropout_impl(t, p, training, feature, alpha)

    if inplace and training and p:
        return _inplace(x, name + "_", fn)
    return fn(x)


def dropout1d(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:  # noqa: A002
    """Zero whole channels of (N, C, L) or (C, L) input with probability ``p``."""
    _check_p(p)
    nd = input._data.ndim
    if nd not in (2, 3):
        raise RuntimeError(
            f"dropout1d: Expected 2D or 3D input, but received a {nd}D input. Note that dropout1d "
            "exists to provide channel-wise dropout on inputs with 1 spatial dimension, a channel "
            "dimension, and an optional batch dimension (i.e. 2D or 3D inputs)."
        )
    return _run(input, p, training, inplace, "dropout1d", unsqueeze=nd == 2)


def dropout2d(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:  # noqa: A002
    """Zero whole channels of (N, C, H, W) input; other ranks as PyTorch (with its warnings)."""
    _check_p(p)
    nd = input._data.ndim
    if nd not in (3, 4):
        warnings.warn(
            f"dropout2d: Received a {nd}-D input to dropout2d, which is deprecated and will result "
            "in an error in a future release. To retain the behavior and silence this warning, "
            "please use dropout instead. Note that dropout2d exists to provide channel-wise "
            "dropout on inputs with 2 spatial dimensions, a channel dimension, and an optional "
            "batch dimension (i.e. 3D or 4D inputs).",
            stacklevel=2,
        )
    if nd == 3:
        warnings.warn(
            "dropout2d: Received a 3D input to dropout2d and assuming that channel-wise 1D dropout "
            "behavior is desired - input is interpreted as shape (N, C, L), where C is the channel "
            "dim. This behavior will change in a future release to interpret the input as one "
            "without a batch dimension, i.e. shape (C, H, W). To maintain the 1D channel-wise "
            "dropout behavior, please switch to using dropout1d instead.",
            stacklevel=2,
        )
    return _run(input, p, training, inplace, "dropout2d")


def dropout3d(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:  # noqa: A002
    """Zero whole channels of (N, C, D, H, W) or (C, D, H, W) input."""
    _check_p(p)
    nd = input._data.ndim
    if nd not in (4, 5):
        warnings.warn(
            f"dropout3d: Received a {nd}-D input to dropout3d, which is deprecated and will result "
            "in an error in a future release. To retain the behavior and silence this warning, "
            "please use dropout instead. Note that dropout3d exists to provide channel-wise "
            "dropout on inputs with 3 spatial dimensions, a channel dimension, and an optional "
            "batch dimension (i.e. 4D or 5D inputs).",
            stacklevel=2,
        )
    return _run(input, p, training, inplace, "dropout3d", unsqueeze=nd != 5)


def alpha_dropout(input: Tensor, p: float = 0.5, training: bool = False, inplace: bool = False) -> Tensor:  # noqa: A002
    """Dropout that keeps SELU's zero mean and unit variance: dropped units go to SELU's floor."""
    _check_p(p)
    return _run(input, p, training, inplace, "alpha_dropout", feature=False, alpha=True)


def feature_alpha_dropout(
    input: Tensor,
    p: float = 0.5,
    training: bool = False,  # noqa: A002
    inplace: bool = False,
) -> Tensor:
    """Alpha dropout of whole channels."""
    _check_p(p)
    return _run(input, p, training, inplace, "feature_alpha_dropout", alpha=True)
