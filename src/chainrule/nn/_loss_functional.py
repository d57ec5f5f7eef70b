"""Loss functions of ``chainrule.nn.functional`` (re-exported there).

Each loss computes a per-element loss from ops and then reduces it
('mean' | 'sum' | 'none'), so gradients with respect to input *and* target
come from the op table.  Stability is built into the formulas:
``binary_cross_entropy_with_logits`` uses softplus (never exp of a large
number), ``binary_cross_entropy`` clamps log at -100 like PyTorch, and
cross-entropy is the fused primitive from ``chainrule.ops``.
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np

from .. import ops
from .._tensor import Tensor

__all__ = [
    "l1_loss", "mse_loss", "smooth_l1_loss", "huber_loss", "cross_entropy", "nll_loss",
    "binary_cross_entropy", "binary_cross_entropy_with_logits", "kl_div",
]

_REDUCTIONS = ("mean", "sum", "none")


def _legacy(size_average: Any, reduce: Any, reduction: str) -> str:
    """Map the deprecated ``size_average``/``reduce`` flags onto ``reduction`` (as PyTorch does)."""
    if size_average is None and reduce is None:
        return reduction
    warnings.warn("size_average and reduce args will be deprecated, please use reduction='{}' "
                  "instead.".format("mean" if size_average in (None, True) and reduce in (None, True)
                                    else "sum" if reduce in (None, True) else "none"),
                  stacklevel=3)
    if reduce is False:
        return "none"
    return "sum" if size_average is False else "mean"


def _check_reduction(reduction: str, fn: str, extra: tuple[str, ...] = ()) -> None:
    if reduction not in _REDUCTIONS + extra:
        valid = ", ".join(repr(r) for r in _REDUCTIONS + extra)
        raise ValueError(f"{fn}(): {reduction!r} is not a valid value for reduction; use one of {valid}")


def _reduce(loss: Tensor, reduction: str) -> Tensor:
    if reduction == "mean":
        return ops.mean(loss)
    if reduction == "sum":
        return ops.sum(loss)
    return loss


def _shape(x: Any) -> tuple[int, ...]:
    return tuple(x._data.shape) if isinstance(x, Tensor) else tuple(np.shape(x))


def _size(x: Any) -> Any:
    return x.shape if isinstance(x, Tensor) else _shape(x)


def _warn_size(input: Any, target: Any) -> None:  # noqa: A002
    if _shape(input) != _shape(target):
        warnings.warn(
            f"Using a target size ({_size(target)}) that is different to the input size "
            f"({_size(input)}). This will likely lead to incorrect results due to broadcasting. "
            "Please ensure they have the same size.", UserWarning, stacklevel=3)


def _weighted(loss: Tensor, weight: Any, reduction: str, mean_by_weight: bool, fn: str,
              input: Any) -> Tensor:  # noqa: A002
    """PyTorch's optional per-element ``weight`` of the regression losses."""
    if weight is None:
        return _reduce(loss, reduction)
    if _shape(weight) != _shape(input):
        raise ValueError(f"{fn}(): weights of shape {_shape(weight)} and input of shape "
                         f"{_shape(input)} must have the same size.")
    loss = loss * weight
    if reduction == "mean" and mean_by_weight:
        return ops.sum(loss) / ops.sum(weight)
    return _reduce(loss, reduction)


def l1_loss(input: Tensor, target: Tensor, size_average: Any = None, reduce: Any = None,  # noqa: A002
            reduction: str = "mean", weight: Tensor | None = None) -> Tensor:
    """|input - target|, reduced."""
    reduction = _legacy(size_average, reduce, reduction)
    _check_reduction(reduction, "l1_loss")
    _warn_size(input, target)
    return _weighted(ops.abs(input - target), weight, reduction, True, "l1_loss", input)


def mse_loss(input: Tensor, target: Tensor, size_average: Any = None, reduce: Any = None,  # noqa: A002
             reduction: str = "mean", weight: Tensor | None = None) -> Tensor:
    """(input - target)^2, reduced."""
    reduction = _legacy(size_average, reduce, reduction)
    _check_reduction(reduction, "mse_loss")
    _warn_size(input, target)
    d = input - target
    return _weighted(d * d, weight, reduction, True, "mse_loss", input)


def smooth_l1_loss(input: Tensor, target: Tensor, size_average: Any = None, reduce: Any = None,  # noqa: A002
                   reduction: str = "mean", beta: float = 1.0) -> Tensor:
    """0.5 d^2 / beta where |d| < beta, |d| - 0.5 beta elsewhere (d = input - target)."""
    reduction = _legacy(size_average, reduce, reduction)
    _check_reduction(reduction, "smooth_l1_loss")
    if beta < 0:
        raise RuntimeError(f"smooth_l1_loss does not support negative values for beta, got {beta}")
    _warn_size(input, target)
    d = ops.abs(input - target)
    if beta == 0:
        return _reduce(d, reduction)
    return _reduce(ops.where(d < beta, d * d * (0.5 / beta), d - 0.5 * beta), reduction)


def huber_loss(input: Tensor, target: Tensor, reduction: str = "mean", delta: float = 1.0,  # noqa: A002
               weight: Tensor | None = None) -> Tensor:
    """0.5 d^2 where |d| < delta, delta (|d| - 0.5 delta) elsewhere (= delta * smooth_l1 with beta=delta)."""
    _check_reduction(reduction, "huber_loss")
    if delta <= 0:
        raise RuntimeError(f"huber_loss does not support non-positive values for delta, got {delta}")
    _warn_size(input, target)
    d = ops.abs(input - target)
    loss = ops.where(d < delta, d * d * 0.5, (d - 0.5 * delta) * delta)
    return _weighted(loss, weight, reduction, False, "huber_loss", input)


def cross_entropy(input: Tensor, target: Tensor, weight: Tensor | None = None,  # noqa: A002
                  size_average: Any = None, ignore_index: int = -100, reduce: Any = None,
                  reduction: str = "mean", label_smoothing: float = 0.0) -> Tensor:
    """Softmax cross-entropy of logits (classes on dim 1) with class indices or probabilities."""
    reduction = _legacy(size_average, reduce, reduction)
    _check_reduction(reduction, "cross_entropy")
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"cross_entropy(): label_smoothing must be in [0, 1], got {label_smoothing}")
    return ops.cross_entropy(input, target, weight, None, ignore_index, None, reduction,
                             label_smoothing)


def nll_loss(input: Tensor, target: Tensor, weight: Tensor | None = None,  # noqa: A002
             size_average: Any = None, ignore_index: int = -100, reduce: Any = None,
             reduction: str = "mean") -> Tensor:
    """-input[n, target[n]] (input holds log-probabilities, classes on dim 1), reduced."""
    reduction = _legacy(size_average, reduce, reduction)
    _check_reduction(reduction, "nll_loss")
    return ops.nll_loss(input, target, weight, None, ignore_index, None, reduction)


def _clamped_log(x: Tensor) -> Tensor:
    """log(x) clamped at -100 like PyTorch; where x == 0 the gradient is 0, never inf * 0 = nan."""
    pos = x > 0
    return ops.where(pos, ops.clamp(ops.log(ops.where(pos, x, 1.0)), min=-100.0), -100.0)


def binary_cross_entropy(input: Tensor, target: Tensor, weight: Tensor | None = None,  # noqa: A002
                         size_average: Any = None, reduce: Any = None,
                         reduction: str = "mean") -> Tensor:
    """-(t log p + (1 - t) log(1 - p)) for probabilities ``input`` in [0, 1]."""
    reduction = _legacy(size_average, reduce, reduction)
    _check_reduction(reduction, "binary_cross_entropy")
    if _shape(target) != _shape(input):
        raise ValueError(
            f"Using a target size ({_size(target)}) that is different to the input size "
            f"({_size(input)}) is deprecated. Please ensure they have the same size.")
    p = input._data
    if p.size and (np.nanmin(p) < 0 or np.nanmax(p) > 1):
        raise RuntimeError(
            "binary_cross_entropy(): all elements of input should be between 0 and 1 (got values in "
            f"[{np.nanmin(p):.4g}, {np.nanmax(p):.4g}]); apply sigmoid first, or use "
            "binary_cross_entropy_with_logits on the raw scores (more stable)")
    loss = -(target * _clamped_log(input) + (1 - target) * _clamped_log(1 - input))
    flat = input.detach()
    edge = flat * (1 - flat) <= 1e-12
    if bool(ops.any(edge)):  # PyTorch's gradient there: (p - t) / 1e-12 (the target's: the
        # clamped logs' +-100 at exactly 0 or 1, where PyTorch's is +-inf)
        slope = ((flat - target) / ops.clamp(flat * (1 - flat), min=1e-12)).detach()
        held = -(target * _clamped_log(flat) + (1 - target) * _clamped_log(1 - flat))
        loss = ops.where(edge, held + (input - flat) * slope, loss)
    if weight is not None:
        loss = loss * weight
    return _reduce(loss, reduction)


def binary_cross_entropy_with_logits(input: Tensor, target: Tensor, weight: Tensor | None = None,  # noqa: A002
                                     size_average: Any = None, reduce: Any = None,
                                     reduction: str = "mean",
                                     pos_weight: Tensor | None = None) -> Tensor:
    """BCE of sigmoid(input) computed from the logits: (1 - t) x + (1 + (pw - 1) t) softplus(-x).

    softplus(-x) = -log(sigmoid(x)) is evaluated as log(1 + exp(-|x|)) + max(-x, 0), which never
    overflows, so logits of any size give finite losses and gradients (sigmoid(x) - t).
    """
    reduction = _legacy(size_average, reduce, reduction)
    _check_reduction(reduction, "binary_cross_entropy_with_logits")
    if _shape(target) != _shape(input):
        raise ValueError(f"Target size ({_size(target)}) must be the same as input size "
                         f"({_size(input)})")
    sp = ops.softplus(-input, 1.0, math.inf)  # exact everywhere: no linear cut-off
    if pos_weight is None:
        loss = (1 - target) * input + sp
    else:
        loss = (1 - target) * input + (1 + (pos_weight - 1) * target) * sp
    if weight is not None:
        loss = loss * weight
    return _reduce(loss, reduction)


def kl_div(input: Tensor, target: Tensor, size_average: Any = None, reduce: Any = None,  # noqa: A002
           reduction: str = "mean", log_target: bool = False) -> Tensor:
    """KL(target || exp(input)) pointwise: t (log t - input); ``input`` holds log-probabilities.

    reduction='batchmean' (sum / batch size) is the mathematical KL divergence; 'mean' also
    divides by the number of classes (PyTorch warns about it, and so do we).
    """
    if size_average is not None or reduce is not None:
        reduction = _legacy(size_average, reduce, reduction)
    elif reduction == "mean":
        warnings.warn(
            "reduction: 'mean' divides the total loss by both the batch size and the support size."
            "'batchmean' divides only by the batch size, and aligns with the KL div math definition."
            "'mean' will be changed to behave the same as 'batchmean' in the next major release.",
            UserWarning, stacklevel=2)
    _check_reduction(reduction, "kl_div", ("batchmean",))
    if log_target:
        loss = ops.exp(target) * (target - input)
    else:
        pos = target > 0
        loss = ops.where(pos, target * ops.log(ops.where(pos, target, 1.0)), 0.0) - target * input
    if reduction == "batchmean":
        total = ops.sum(loss)
        return total / _shape(input)[0] if _shape(input) else total
    return _reduce(loss, reduction)
