"""The neural-network functions PyTorch also exposes at the top level (``torch.layer_norm``,
``torch.embedding``, ``torch.kl_div``, ...), with ATen's signatures: argument orders differ
from ``torch.nn.functional`` for some (``batch_norm``, ``embedding``), and losses take
``reduction`` as an int (0 none, 1 mean, 2 sum).  Omitted, it is none: PyTorch 2.13's top-level
losses reduce nothing unless told, whatever their stubs say.  Each forwards to ``nn.functional`` or is
composed from ops, so gradients follow.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from . import linalg as _linalg
from . import ops
from ._embedding_bag_aten import embedding_bag
from ._inplace import inplace
from ._tensor import Tensor
from .nn import functional as F
from .nn._dropout_functional import _run
from .nn._loss_functional import _reduce as _reduce_by_name
from .ops._core import fail, structural

__all__ = [
    "layer_norm",
    "rms_norm",
    "group_norm",
    "batch_norm",
    "instance_norm",
    "embedding",
    "embedding_bag",  # ATen's four-output form, in _embedding_bag_aten.py
    "bilinear",
    "binary_cross_entropy_with_logits",
    "cosine_embedding_loss",
    "hinge_embedding_loss",
    "kl_div",
    "margin_ranking_loss",
    "poisson_nll_loss",
    "triplet_margin_loss",
    "cosine_similarity",
    "pairwise_distance",
    "pdist",
    "pixel_shuffle",
    "pixel_unshuffle",
    "channel_shuffle",
    "prelu",
    "celu",
    "celu_",
    "selu",
    "selu_",
    "rrelu",
    "rrelu_",
    "threshold",
    "threshold_",
    "relu_",
    "conv3d",
    "conv_transpose1d",
    "constant_pad_nd",
    "avg_pool1d",
    "max_pool1d",
    "max_pool1d_with_indices",
    "max_pool3d",
    "adaptive_avg_pool1d",
    "adaptive_max_pool1d",
    "alpha_dropout",
    "alpha_dropout_",
    "feature_alpha_dropout",
    "feature_alpha_dropout_",
    "feature_dropout",
    "feature_dropout_",
    "dropout_",
]

_REDUCTIONS = {0: "none", 1: "mean", 2: "sum"}


def _reduction(r: Any, op: str) -> str:
    if isinstance(r, str) and r in _REDUCTIONS.values():
        return r
    if r not in _REDUCTIONS:
        raise fail(f"{op}(): reduction must be 0 (none), 1 (mean) or 2 (sum), got {r!r}", ValueError)
    return _REDUCTIONS[r]


def _reduce(loss: Any, r: Any, op: str) -> Any:
    return _reduce_by_name(loss, _reduction(r, op))


# ---------------------------------------------------------------- normalisation
def layer_norm(
    input: Any,
    normalized_shape: Sequence[int],
    weight: Any = None,
    bias: Any = None,  # noqa: A002
    eps: float = 1e-5,
    cudnn_enable: bool = True,
) -> Any:
    """Normalise over the last ``len(normalized_shape)`` dims (``F.layer_norm``)."""
    return F.layer_norm(input, normalized_shape, weight, bias, eps)


def rms_norm(input: Any, normalized_shape: Any, weight: Any = None, eps: float | None = None) -> Any:  # noqa: A002
    """x / sqrt(mean(x^2) + eps) over the last ``len(normalized_shape)`` dims, times ``weight``;
    ``eps`` defaults to the dtype's machine epsilon."""
    shape = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
    xs = tuple(input._data.shape)
    if weight is not None and tuple(weight._data.shape) != shape:
        raise fail(
            f"rms_norm(): Expected weight to be of same shape as normalized_shape, but got weight of "
            f"shape {tuple(weight._data.shape)} and normalized_shape = {list(shape)}",
            RuntimeError,
        )
    if not xs:
        raise fail(
            "rms_norm(): Input tensor must have at least 1 dimensions, but got 0 (input shape ())", ValueError
        )
    if xs[len(xs) - len(shape) :] != shape:
        raise fail(
            f"rms_norm(): Given normalized_shape={list(shape)}, expected input with shape "
            f"[*, {', '.join(map(str, shape))}], but got input of shape {xs}",
            RuntimeError,
        )
    if eps is None:
        eps = float(np.finfo(input._data.dtype).eps)
    dims = tuple(range(len(xs) - len(shape), len(xs)))
    out = ops.mul(input, ops.rsqrt(ops.add(ops.mean(ops.mul(input, input), dims, True), eps)))
    return out if weight is None else ops.mul(out, weight)


def group_norm(
    input: Any,
    num_groups: int,
    weight: Any = None,
    bias: Any = None,  # noqa: A002
    eps: float = 1e-5,
    cudnn_enabled: bool = True,
) -> Any:
    """``F.group_norm``."""
    return F.group_norm(input, num_groups, weight, bias, eps)


def batch_norm(
    input: Any,
    weight: Any,
    bias: Any,
    running_mean: Any,
    running_var: Any,  # noqa: A002
    training: bool,
    momentum: float,
    eps: float,
    cudnn_enabled: bool = True,
) -> Any:
    """``F.batch_norm`` with ATen's argument order (weight and bias first)."""
    return F.batch_norm(input, running_mean, running_var, weight, bias, training, momentum, eps)


def instance_norm(
    input: Any,
    weight: Any,
    bias: Any,
    running_mean: Any,
    running_var: Any,  # noqa: A002
    use_input_stats: bool,
    momentum: float,
    eps: float,
    cudnn_enabled: bool = True,
) -> Any:
    """``F.instance_norm`` with ATen's argument order."""
    return F.instance_norm(input, running_mean, running_var, weight, bias, use_input_stats, momentum, eps)


def embedding(
    weight: Any, indices: Any, padding_idx: int = -1, scale_grad_by_freq: bool = False, sparse: bool = False
) -> Any:
    """``F.embedding(indices, weight)``: ATen's order; a negative ``padding_idx`` means none."""
    return F.embedding(
        indices,
        weight,
        None if padding_idx < 0 else padding_idx,
        scale_grad_by_freq=scale_grad_by_freq,
        sparse=sparse,
    )


def bilinear(input1: Any, input2: Any, weight: Any, bias: Any = None) -> Any:
    """``F.bilinear``."""
    return F.bilinear(input1, input2, weight, bias)


# ------------------------------------------------------------------------ losses
def binary_cross_entropy_with_logits(
    input: Any,
    target: Any,
    weight: Any = None,
    pos_weight: Any = None,  # noqa: A002
    reduction: Any = 0,
) -> Any:
    """``F.binary_cross_entropy_with_logits`` with an int reduction."""
    return F.binary_cross_entropy_with_logits(
        input, target, weight, reduction=_reduction(reduction, "bce"), pos_weight=pos_weight
    )


def cosine_embedding_loss(
    input1: Any, input2: Any, target: Any, margin: float = 0.0, reduction: Any = 0
) -> Any:
    """``F.cosine_embedding_loss`` with an int reduction."""
    return F.cosine_embedding_loss(
        input1, input2, target, margin, reduction=_reduction(reduction, "cosine_embedding_loss")
    )


def hinge_embedding_loss(input: Any, target: Any, margin: float = 1.0, reduction: Any = 0) -> Any:  # noqa: A002
    """x where target is 1, max(0, margin - x) where it is -1 (summed where it is neither)."""
    at_margin = ops.where(ops.ne(target, 1), ops.clamp(ops.sub(margin, input), min=0), 0.0)
    at_self = ops.where(ops.ne(target, -1), input, 0.0)
    return _reduce(ops.add(at_margin, at_self), reduction, "hinge_embedding_loss")


def kl_div(input: Any, target: Any, reduction: Any = 0, *, log_target: bool = False) -> Any:  # noqa: A002
    """The pointwise KL divergence of log-probabilities ``input`` from ``target``; mean is over
    all elements (ATen's; ``F.kl_div``'s ``batchmean`` is not among the int reductions)."""
    loss = F.kl_div(input, target, reduction="none", log_target=log_target)
    return _reduce(loss, reduction, "kl_div")


def margin_ranking_loss(
    input1: Any, input2: Any, target: Any, margin: float = 0.0, reduction: Any = 0
) -> Any:
    """max(0, -target * (input1 - input2) + margin)."""
    loss = ops.clamp(ops.add(ops.mul(ops.neg(target), ops.sub(input1, input2)), margin), min=0)
    return _reduce(loss, reduction, "margin_ranking_loss")


def poisson_nll_loss(input: Any, target: Any, log_input: bool, full: bool, eps: float, reduction: Any) -> Any:  # noqa: A002
    """``F.poisson_nll_loss`` with ATen's positional arguments and an int reduction."""
    return F.poisson_nll_loss(
        input, target, log_input, full, eps=eps, reduction=_reduction(reduction, "poisson_nll_loss")
    )


def triplet_margin_loss(
    anchor: Any,
    positive: Any,
    negative: Any,
    margin: float = 1.0,
    p: float = 2.0,
    eps: float = 1e-6,
    swap: bool = False,
    reduction: Any = 0,
) -> Any:
    """``F.triplet_margin_loss`` with an int reduction."""
    return F.triplet_margin_loss(
        anchor,
        positive,
        negative,
        margin,
        p,
        eps,
        swap,
        reduction=_reduction(reduction, "triplet_margin_loss"),
    )


def cosine_similarity(x1: Any, x2: Any, dim: int = 1, eps: float = 1e-8) -> Any:
    """``F.cosine_similarity``."""
    return F.cosine_similarity(x1, x2, dim, eps)


def pairwise_distance(x1: Any, x2: Any, p: float = 2.0, eps: float = 1e-6, keepdim: bool = False) -> Any:
    """``F.pairwise_distance``."""
    return F.pairwise_distance(x1, x2, p, eps, keepdim)


def pdist(input: Any, p: float = 2.0) -> Any:  # noqa: A002
    """The p-norm distances between the rows of an (N, M) input, for each pair i < j in order."""
    if input._data.ndim != 2:
        raise fail(
            f"pdist(): pdist only supports 2D tensors, got: {input._data.ndim}D (input shape "
            f"{tuple(input._data.shape)})",
            RuntimeError,
        )
    i, j = np.triu_indices(input._data.shape[0], 1)
    diff = ops.sub(input[structural(i)], input[structural(j)])
    return _linalg.vector_norm(diff, p, -1)


# -------------------------------------------------------- activations and shuffles
def pixel_shuffle(input: Any, upscale_factor: int) -> Any:  # noqa: A002
    """``F.pixel_shuffle``."""
    return F.pixel_shuffle(input, upscale_factor)


def pixel_unshuffle(input: Any, downscale_factor: int) -> Any:  # noqa: A002
    """``F.pixel_unshuffle``."""
    return F.pixel_unshuffle(input, downscale_factor)


def channel_shuffle(input: Any, groups: int) -> Any:  # noqa: A002
    """Interleave the channels of (N, C, *) input across ``groups`` groups."""
    s = tuple(input._data.shape)
    if len(s) < 3 or groups <= 0 or s[1] % groups:
        raise fail(
            f"channel_shuffle(): expected an input of at least 3 dims whose channels ({s[1:2]}) "
            f"divide into groups={groups}, got shape {s}",
            RuntimeError,
        )
    x = ops.reshape(input, (s[0], groups, s[1] // groups) + s[2:])
    return ops.reshape(ops.transpose(x, 1, 2), s)


def prelu(input: Any, weight: Any) -> Any:  # noqa: A002
    """``F.prelu``."""
    return F.prelu(input, weight)


def celu(input: Any, alpha: float = 1.0) -> Any:  # noqa: A002
    """``F.celu``."""
    return F.celu(input, alpha)


def celu_(input: Tensor, alpha: float = 1.0) -> Tensor:  # noqa: A002
    return F.celu(input, alpha, inplace=True)


def selu(input: Any) -> Any:  # noqa: A002
    """``F.selu``."""
    return F.selu(input)


def selu_(input: Tensor) -> Tensor:  # noqa: A002
    return F.selu(input, inplace=True)


def threshold(input: Any, threshold: float, value: float) -> Any:  # noqa: A002
    """``F.threshold``: x where x > threshold, else value."""
    return F.threshold(input, threshold, value)


def threshold_(input: Tensor, threshold: float, value: float) -> Tensor:  # noqa: A002
    return F.threshold(input, threshold, value, inplace=True)


def relu_(input: Tensor) -> Tensor:  # noqa: A002
    return F.relu(input, inplace=True)


def _rrelu(x: Any, lower: float, upper: float, training: bool, generator: Any) -> Any:
    if not training:
        return ops.leaky_relu(x, (lower + upper) / 2.0)
    from . import random as _random

    slope = _random.rng(generator).uniform(lower, upper, x._data.shape).astype(x._data.dtype)
    return ops.where(ops.ge(x, 0), x, ops.mul(x, slope))


def rrelu(
    input: Any,
    lower: float = 1.0 / 8,
    upper: float = 1.0 / 3,
    training: bool = False,  # noqa: A002
    generator: Any = None,
) -> Any:
    """Leaky ReLU with a random slope in [lower, upper] per element when training, their mean
    otherwise."""
    return _rrelu(input, lower, upper, training, generator)


def rrelu_(
    input: Tensor,
    lower: float = 1.0 / 8,
    upper: float = 1.0 / 3,
    training: bool = False,  # noqa: A002
    generator: Any = None,
) -> Tensor:
    return inplace(input, "rrelu_", lambda t: _rrelu(t, lower, upper, training, generator))


# ----------------------------------------------------------- convolution, pooling
def conv3d(
    input: Any,
    weight: Any,
    bias: Any = None,
    stride: Any = 1,
    padding: Any = 0,  # noqa: A002
    dilation: Any = 1,
    groups: int = 1,
) -> Any:
    """``F.conv3d``."""
    return F.conv3d(input, weight, bias, stride, padding, dilation, groups)


def conv_transpose1d(
    input: Any,
    weight: Any,
    bias: Any = None,
    stride: Any = 1,
    padding: Any = 0,  # noqa: A002
    output_padding: Any = 0,
    groups: int = 1,
    dilation: Any = 1,
) -> Any:
    """``F.conv_transpose1d``."""
    return F.conv_transpose1d(input, weight, bias, stride, padding, output_padding, groups, dilation)


def constant_pad_nd(input: Any, pad: Sequence[int], value: float = 0) -> Any:  # noqa: A002
    """``F.pad(input, pad, value=value)``."""
    return F.pad(input, pad, "constant", value)


def _pool_input(input: Any, op: str) -> Any:
    if input._data.ndim not in (2, 3):
        raise fail(
            f"{op}(): Expected 2 to 3 dimensions, but got {input._data.ndim}-dimensional tensor for argument "
            f"#1 'self' (while checking arguments for {op}) (input shape {tuple(input._data.shape)})",
            RuntimeError,
        )
    return input


def _stride(stride: Any) -> Any:
    return None if stride is None or (isinstance(stride, (list, tuple)) and not len(stride)) else stride


def avg_pool1d(
    input: Any,
    kernel_size: Any,
    stride: Any = None,
    padding: Any = 0,
    ceil_mode: bool = False,  # noqa: A002
    count_include_pad: bool = True,
) -> Any:
    """``F.avg_pool1d``."""
    return F.avg_pool1d(
        _pool_input(input, "avg_pool1d"), kernel_size, _stride(stride), padding, ceil_mode, count_include_pad
    )


def max_pool1d(
    input: Any,
    kernel_size: Any,
    stride: Any = (),
    padding: Any = 0,
    dilation: Any = 1,  # noqa: A002
    ceil_mode: bool = False,
) -> Any:
    """``F.max_pool1d``."""
    return F.max_pool1d(
        _pool_input(input, "max_pool1d"), kernel_size, _stride(stride), padding, dilation, ceil_mode
    )


def max_pool1d_with_indices(
    input: Any,
    kernel_size: Any,
    stride: Any = (),
    padding: Any = 0,  # noqa: A002
    dilation: Any = 1,
    ceil_mode: bool = False,
) -> tuple:
    """``(values, indices)`` of ``F.max_pool1d``."""
    return F.max_pool1d(
        _pool_input(input, "max_pool1d"),
        kernel_size,
        _stride(stride),
        padding,
        dilation,
        ceil_mode,
        return_indices=True,
    )


def max_pool3d(
    input: Any,
    kernel_size: Any,
    stride: Any = (),
    padding: Any = 0,
    dilation: Any = 1,  # noqa: A002
    ceil_mode: bool = False,
) -> Any:
    """``F.max_pool3d``."""
    return F.max_pool3d(input, kernel_size, _stride(stride), padding, dilation, ceil_mode)


def adaptive_avg_pool1d(input: Any, output_size: Any) -> Any:  # noqa: A002
    """``F.adaptive_avg_pool1d``."""
    return F.adaptive_avg_pool1d(_pool_input(input, "adaptive_avg_pool1d"), output_size)


def adaptive_max_pool1d(input: Any, output_size: Any) -> tuple:  # noqa: A002
    """``(values, indices)`` of ``F.adaptive_max_pool1d``."""
    return F.adaptive_max_pool1d(_pool_input(input, "adaptive_max_pool1d"), output_size, return_indices=True)


# ----------------------------------------------------------------------- dropout
def alpha_dropout(input: Any, p: float, train: bool) -> Any:  # noqa: A002
    """``F.alpha_dropout``."""
    return F.alpha_dropout(input, p, train)


def alpha_dropout_(input: Tensor, p: float, train: bool) -> Tensor:  # noqa: A002
    return F.alpha_dropout(input, p, train, inplace=True)


def feature_alpha_dropout(input: Any, p: float, train: bool) -> Any:  # noqa: A002
    """``F.feature_alpha_dropout``."""
    return F.feature_alpha_dropout(input, p, train)


def feature_alpha_dropout_(input: Tensor, p: float, train: bool) -> Tensor:  # noqa: A002
    return F.feature_alpha_dropout(input, p, train, inplace=True)


def _check_features(input: Any, op: str) -> None:
    if input._data.ndim < 2:
        raise fail(
            f"{op}(): Feature dropout requires at least 2 dimensions in the input, got shape "
            f"{tuple(input._data.shape)}",
            RuntimeError,
        )


def feature_dropout(input: Any, p: float, train: bool) -> Any:  # noqa: A002
    """Zero whole channels (dim 1) with probability ``p``, scaling the rest by 1/(1-p)."""
    _check_features(input, "feature_dropout")
    return _run(input, p, train, False, "feature_dropout", feature=True)


def feature_dropout_(input: Tensor, p: float, train: bool) -> Tensor:  # noqa: A002
    _check_features(input, "feature_dropout_")
    return _run(input, p, train, True, "feature_dropout", feature=True)


def dropout_(input: Tensor, p: float, train: bool) -> Tensor:  # noqa: A002
    return F.dropout(input, p, train, inplace=True)


from ._naming import name_all  # noqa: E402

name_all(globals(), __all__)  # their errors name them (cov(): matmul(): ...)
