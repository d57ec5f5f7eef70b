"""More losses of ``chainrule.nn.functional``: Gaussian / Poisson likelihoods and the margin losses
(re-exported there), each a per-element loss from ops and then the usual reduction."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .. import ops
from .._tensor import Tensor, wrap
from ._loss_functional import _check_reduction, _legacy, _reduce

__all__ = [
    "gaussian_nll_loss",
    "poisson_nll_loss",
    "multi_margin_loss",
    "triplet_margin_loss",
    "cosine_embedding_loss",
]


def _shape(x: Any) -> tuple[int, ...]:
    return tuple(x._data.shape) if isinstance(x, Tensor) else tuple(np.shape(x))


# ================================================================ losses
def gaussian_nll_loss(
    input: Tensor,
    target: Tensor,
    var: Any,
    full: bool = False,  # noqa: A002
    eps: float = 1e-6,
    reduction: str = "mean",
) -> Tensor:
    """0.5 * (log(max(var, eps)) + (input - target)² / max(var, eps)) (+ 0.5 log 2π if ``full``)."""
    _check_reduction(reduction, "gaussian_nll_loss")
    if not isinstance(var, Tensor):
        var = wrap(np.full(_shape(input), float(var), dtype=input._data.dtype))
    xs, vs = _shape(input), _shape(var)
    if vs != xs:
        if xs[:-1] == vs:
            var = ops.unsqueeze(var, -1)
        elif xs[:-1] == vs[:-1] and vs[-1:] == (1,):
            pass
        else:
            raise ValueError("var is of incorrect size")
    if np.any(var._data < 0):
        raise ValueError("var has negative entry/entries")
    # Clamped without a gradient through the clamp, as PyTorch does.
    var = var + wrap(np.maximum(var._data, eps) - var._data)
    loss = (ops.log(var) + (input - target) ** 2 / var) * 0.5
    if full:
        loss = loss + 0.5 * math.log(2 * math.pi)
    return _reduce(loss, reduction)


def poisson_nll_loss(
    input: Tensor,
    target: Tensor,
    log_input: bool = True,
    full: bool = False,  # noqa: A002
    size_average: Any = None,
    eps: float = 1e-8,
    reduce: Any = None,
    reduction: str = "mean",
) -> Tensor:
    """exp(input) - target * input (``log_input``) or input - target * log(input + eps)."""
    reduction = _legacy(size_average, reduce, reduction)
    _check_reduction(reduction, "poisson_nll_loss")
    if log_input:
        loss = ops.exp(input) - target * input
    else:
        loss = input - target * ops.log(input + eps)
    if full:
        big = ops.gt(target, 1)  # Stirling's term only where target > 1, as PyTorch masks it
        with np.errstate(divide="ignore", invalid="ignore"):  # 0 * log(0) is masked out below
            st = target * ops.log(target) - target + ops.log(target * (2 * math.pi)) * 0.5
        loss = loss + ops.where(big, st, 0.0)
    return _reduce(loss, reduction)


def multi_margin_loss(
    input: Tensor,
    target: Tensor,
    p: int = 1,
    margin: float = 1.0,  # noqa: A002
    weight: Tensor | None = None,
    size_average: Any = None,
    reduce: Any = None,
    reduction: str = "mean",
) -> Tensor:
    """sum over j != y of max(0, margin - x[y] + x[j])^p (times weight[y]), divided by C."""
    reduction = _legacy(size_average, reduce, reduction)
    _check_reduction(reduction, "multi_margin_loss")
    if p not in (1, 2):
        raise ValueError("only p == 1 and p == 2 supported")
    xs = _shape(input)
    x = ops.unsqueeze(input, 0) if len(xs) == 1 else input
    if len(xs) not in (1, 2):
        raise RuntimeError(f"multi_margin_loss(): expected a 1-d (C) or 2-d (N, C) input, got {xs}")
    n, c = _shape(x)
    y = target._data.reshape(-1).astype(np.int64)
    if y.shape[0] != n:
        raise RuntimeError(
            "multi_margin_loss: target tensor should be 1-D with size equal to the number of input "
            f"samples (batch size). Expected target size [{n}], but got {list(target._data.shape)}. "
            f"Input has shape {list(xs)}."
        )
    if y.size and (y.min() < 0 or y.max() >= c):
        raise IndexError(f"multi_margin_loss(): target {int(y.max())} is out of bounds for {c} classes")
    xy = ops.gather(x, 1, wrap(y[:, None]))
    h = ops.clamp(x - xy + margin, min=0.0)
    if p == 2:
        h = h * h
    if weight is not None:
        h = h * ops.reshape(ops.index_select(weight, 0, wrap(y)), (n, 1))
    others = wrap(np.arange(c)[None, :] != y[:, None])
    loss = ops.sum(ops.where(others, h, 0.0), 1) / c
    if len(xs) == 1:
        loss = ops.squeeze(loss, 0)
    return _reduce(loss, reduction)


def triplet_margin_loss(
    anchor: Tensor,
    positive: Tensor,
    negative: Tensor,
    margin: float = 1.0,
    p: float = 2,
    eps: float = 1e-6,
    swap: bool = False,
    size_average: Any = None,
    reduce: Any = None,
    reduction: str = "mean",
) -> Tensor:
    """max(d(a, p) - d(a, n) + margin, 0) with d the p-norm distance (``swap``: min with d(p, n))."""
    from .functional import pairwise_distance

    reduction = _legacy(size_average, reduce, reduction)
    _check_reduction(reduction, "triplet_margin_loss")
    dims = {len(_shape(t)) for t in (anchor, positive, negative)}
    if len(dims) != 1 or dims.pop() not in (1, 2):
        raise RuntimeError(
            f"The anchor, positive, and negative tensors are expected to have the same "
            f"number of dimensions (1 or 2), but got: anchor {len(_shape(anchor))}D, "
            f"positive {len(_shape(positive))}D, and negative "
            f"{len(_shape(negative))}D inputs"
        )
    d_ap = pairwise_distance(anchor, positive, p, eps)
    d_an = pairwise_distance(anchor, negative, p, eps)
    if swap:
        d_an = ops.minimum(d_an, pairwise_distance(positive, negative, p, eps))
    return _reduce(ops.clamp(d_ap - d_an + margin, min=0.0), reduction)


def cosine_embedding_loss(
    input1: Tensor,
    input2: Tensor,
    target: Tensor,
    margin: float = 0.0,
    size_average: Any = None,
    reduce: Any = None,
    reduction: str = "mean",
) -> Tensor:
    """1 - cos(x1, x2) where target is 1, max(0, cos(x1, x2) - margin) where it is -1."""
    reduction = _legacy(size_average, reduce, reduction)
    _check_reduction(reduction, "cosine_embedding_loss")
    s1, s2 = _shape(input1), _shape(input2)
    if s1 != s2 or len(s1) not in (1, 2):
        raise RuntimeError(
            f"cosine_embedding_loss(): inputs must be 1-d or 2-d of the same shape, got {s1} and {s2}"
        )
    dim = len(s1) - 1
    eps = 1e-12
    prod = ops.sum(input1 * input2, dim)
    m1 = ops.sum(input1 * input1, dim) + eps
    m2 = ops.sum(input2 * input2, dim) + eps
    cos = prod / ops.sqrt(m1 * m2)
    loss = ops.where(ops.eq(target, 1), 1 - cos, 0.0) + ops.where(
        ops.eq(target, -1), ops.clamp(cos - margin, min=0.0), 0.0
    )
    return _reduce(loss, reduction)
