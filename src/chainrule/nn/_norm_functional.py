"""Normalisation functions of ``chainrule.nn.functional``: batch_norm, layer_norm, group_norm.

All three are x_hat = (x - mean) / sqrt(var + eps) over different axes,
followed by an optional per-feature affine map; they differ only in which
axes the statistics are taken over:

  batch_norm   (N, C, *)  statistics per channel over N and *  (running averages for eval)
  layer_norm   (*, D...)  statistics per sample over the trailing ``normalized_shape``
  group_norm   (N, C, *)  statistics per sample over each group of C/G channels and *

The variance is the biased one (divide by n), as in the papers and PyTorch; the
running variance of batch norm stores the unbiased estimate n/(n-1) * var.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from .. import ops
from .._tensor import Tensor

__all__ = ["batch_norm", "layer_norm", "group_norm", "instance_norm"]


def _moments(x: Tensor, dims: tuple[int, ...]) -> tuple[Tensor, Tensor, Tensor]:
    """mean, x - mean and the biased variance over ``dims`` (kept for broadcasting)."""
    mean = ops.mean(x, dims, keepdim=True)
    xc = x - mean
    return mean, xc, ops.mean(xc * xc, dims, keepdim=True)


def _stats(x: Tensor, dims: tuple[int, ...], eps: float) -> Tensor:
    """(x - mean) / sqrt(var + eps) over ``dims``."""
    _, xc, var = _moments(x, dims)
    return xc * ops.rsqrt(var + eps)


def _update(running: Tensor, batch_value: np.ndarray, momentum: float) -> None:
    """running <- (1 - momentum) * running + momentum * batch_value, in place, no graph."""
    d = running._data
    d *= 1.0 - momentum
    d += (momentum * batch_value).astype(d.dtype, copy=False)
    running._vc[0] += 1


def batch_norm(input: Tensor, running_mean: Tensor | None, running_var: Tensor | None,  # noqa: A002
               weight: Tensor | None = None, bias: Tensor | None = None, training: bool = False,
               momentum: float = 0.1, eps: float = 1e-5) -> Tensor:
    """Normalise each channel (dim 1) of (N, C, *) with batch statistics (training) or running ones.

    In training the running statistics (when given) move towards the batch's by ``momentum``.
    """
    xs = input._data.shape
    if len(xs) < 2:
        raise ValueError(f"batch_norm(): expected an input of shape (N, C, *), got {tuple(xs)}")
    c = xs[1]
    for name, t in (("running_mean", running_mean), ("running_var", running_var),
                    ("weight", weight), ("bias", bias)):
        if t is not None and t._data.shape != (c,):
            raise RuntimeError(f"batch_norm(): {name} should have shape ({c},) for an input with "
                               f"{c} channels (shape {tuple(xs)}), got {tuple(t._data.shape)}")
    bshape = (1, c) + (1,) * (len(xs) - 2)
    if training:
        dims = (0,) + tuple(range(2, len(xs)))
        n = input._data.size // max(c, 1)
        if n <= 1:
            raise ValueError(f"Expected more than 1 value per channel when training, got input "
                             f"size {input.shape}")
        mean, xc, var = _moments(input, dims)
        if running_mean is not None:
            _update(running_mean, mean._data.reshape(c), momentum)
        if running_var is not None:
            _update(running_var, var._data.reshape(c) * (n / (n - 1)), momentum)
        out = xc * ops.rsqrt(var + eps)
        if weight is not None:
            out = out * ops.reshape(weight, bshape)
        return out + ops.reshape(bias, bshape) if bias is not None else out
    if running_mean is None or running_var is None:
        raise RuntimeError("batch_norm(): running_mean and running_var must be given when "
                           "training=False (or pass training=True to use batch statistics)")
    # Evaluation is affine in x: fold everything into one scale and one shift per channel.
    scale = ops.rsqrt(running_var + eps)
    if weight is not None:
        scale = scale * weight
    shift = -(running_mean * scale)
    if bias is not None:
        shift = shift + bias
    return input * ops.reshape(scale, bshape) + ops.reshape(shift, bshape)


def layer_norm(input: Tensor, normalized_shape: Sequence[int] | int,  # noqa: A002
               weight: Tensor | None = None, bias: Tensor | None = None,
               eps: float = 1e-5) -> Tensor:
    """Normalise over the trailing ``normalized_shape`` dims of each sample."""
    ns = (int(normalized_shape),) if isinstance(normalized_shape, int) else tuple(normalized_shape)
    xs = tuple(input._data.shape)
    if not ns or xs[len(xs) - len(ns):] != ns or len(ns) > len(xs):
        raise RuntimeError(
            f"Given normalized_shape={list(ns)}, expected input with shape "
            f"[*, {', '.join(str(s) for s in ns)}], but got input of size{list(xs)}")
    out = _stats(input, tuple(range(len(xs) - len(ns), len(xs))), eps)
    if weight is not None:
        out = out * weight
    return out + bias if bias is not None else out


def group_norm(input: Tensor, num_groups: int, weight: Tensor | None = None,  # noqa: A002
               bias: Tensor | None = None, eps: float = 1e-5) -> Tensor:
    """Normalise each sample over groups of ``C / num_groups`` channels (and all spatial dims)."""
    xs = tuple(input._data.shape)
    if len(xs) < 2 or xs[1] % num_groups:
        raise RuntimeError(
            "Expected number of channels in input to be divisible by num_groups, but got input "
            f"of shape {list(xs)} and num_groups={num_groups}")
    n, c = xs[:2]
    out = ops.reshape(_stats(ops.reshape(input, (n, num_groups, -1)), (2,), eps), xs)
    bshape = (1, c) + (1,) * (len(xs) - 2)
    if weight is not None:
        out = out * ops.reshape(weight, bshape)
    return out + ops.reshape(bias, bshape) if bias is not None else out


def instance_norm(input: Tensor, running_mean: Tensor | None = None,  # noqa: A002
                  running_var: Tensor | None = None, weight: Tensor | None = None,
                  bias: Tensor | None = None, use_input_stats: bool = True,
                  momentum: float = 0.1, eps: float = 1e-5) -> Tensor:
    """Normalise each (sample, channel) over its spatial dims (group norm with C groups)."""
    if not use_input_stats or running_mean is not None or running_var is not None:
        raise NotImplementedError("instance_norm(): running statistics are not supported; "
                                  "use use_input_stats=True without running_mean/running_var")
    return group_norm(input, input._data.shape[1], weight, bias, eps)

