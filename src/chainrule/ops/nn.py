"""Neural-network primitives: softmax, log_softmax, cross_entropy, pooling, dropout.

softmax / log_softmax / cross_entropy are primitives (not compositions) for
numerical stability and speed; their VJPs are written with ops, so they stay
differentiable.  Max pooling is a gather at each window's argmax, average
pooling a depthwise convolution (or a reshape-mean for plain 2x2 windows), so
both get their derivatives from those primitives.  Convolution is in ``conv``.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .. import _kernel_dtypes as _kd
from .. import dtypes as _dt
from .._tensor import Tensor, wrap
from ..autograd import _levels
from ..random import default_generator
from . import _core
from . import elementwise as ew
from ._core import Primitive, apply, fail, structural
from ._dims import norm_dim
from .conv import _conv, _conv_forward, _pair
from .reduce import mean, sum
from .shape import pad, reshape


def _shape(x: Any) -> tuple[int, ...]:
    return x._data.shape if isinstance(x, Tensor) else np.shape(x)


# ==================================================================== softmax
def _softmax_forward(x: np.ndarray, *, dim: int) -> np.ndarray:
    if x.size == 0:  # no max of an empty axis
        return np.exp(x)
    e = np.exp(x - np.maximum.reduce(x, axis=dim, keepdims=True))  # (np.amax, unwrapped)
    return e / np.add.reduce(e, axis=dim, keepdims=True)  # not np.sum: see reduce._float_reduce_note


def _log_softmax_forward(x: np.ndarray, *, dim: int) -> np.ndarray:
    if x.size == 0:
        return x.copy()
    shifted = x - np.maximum.reduce(x, axis=dim, keepdims=True)
    return shifted - np.log(np.add.reduce(np.exp(shifted), axis=dim, keepdims=True))


SOFTMAX = Primitive("Softmax", _dt.opmath(_softmax_forward))  # (bfloat16 in float32, as PyTorch)
SOFTMAX.defvjp(lambda g, ans, dim: ans * (g - sum(g * ans, dim, keepdim=True)))
SOFTMAX.defjvp(lambda t, ans, dim: ans * (t - sum(t * ans, dim, keepdim=True)))
LOG_SOFTMAX = Primitive("LogSoftmax", _dt.opmath(_log_softmax_forward))
LOG_SOFTMAX.defvjp(lambda g, ans, dim: g - ew.exp(ans) * sum(g, dim, keepdim=True))
LOG_SOFTMAX.defjvp(lambda t, ans, dim: t - sum(ew.exp(ans) * t, dim, keepdim=True))


def _softmax_dim(x: Any, dim: Any, op: str) -> int:
    n = len(_shape(x))
    if dim is None:  # PyTorch's legacy implicit choice
        dim = 0 if n in (0, 1, 3) else 1
    return norm_dim(dim, n, op)


def softmax(x: Any, dim: Any = None, *, dtype: Any = None) -> Any:
    """exp(x) / sum(exp(x)) along ``dim``, computed stably."""
    if dtype is not None:
        x = ew.cast(x, dtype)
    x = ew._to_float(_kd.check("softmax", x))
    return apply(SOFTMAX, (x,), {"dim": _softmax_dim(x, dim, "softmax")})


def log_softmax(x: Any, dim: Any = None, *, dtype: Any = None) -> Any:
    """log(softmax(x)) along ``dim`` without forming softmax (no underflow to -inf)."""
    if dtype is not None:
        x = ew.cast(x, dtype)
    x = ew._to_float(_kd.check("log_softmax", x))
    return apply(LOG_SOFTMAX, (x,), {"dim": _softmax_dim(x, dim, "log_softmax")})


# ============================================================== cross entropy
def _ce_parts(x: np.ndarray, target: np.ndarray, ignore_index: int):
    """Per-sample losses (classes on dim 1) and the mask of counted samples."""
    valid = target != ignore_index
    every = valid.all()  # the usual batch: no ignored sample, no masking
    safe_t = target if every else np.where(valid, target, 0)
    shifted = x - np.maximum.reduce(x, axis=1, keepdims=True)
    lse = np.log(np.add.reduce(np.exp(shifted), axis=1))
    if x.ndim == 2:  # (N, C): one fancy index (take_along_axis builds its index in Python)
        picked = shifted[np.arange(len(x)), safe_t]
    else:
        picked = np.take_along_axis(shifted, safe_t[:, None], 1)[:, 0]
    return (lse - picked if every else np.where(valid, lse - picked, 0)).astype(x.dtype, copy=False), valid


def _ce_forward(x: np.ndarray, target: np.ndarray, *, reduction: str, ignore_index: int) -> np.ndarray:
    losses, valid = _ce_parts(x, target, ignore_index)
    if reduction == "none":
        return losses
    total = np.add.reduce(losses, axis=None)
    if reduction == "sum":
        return total
    return (total / np.count_nonzero(valid)).astype(x.dtype)


def _ce_local(x: Any, target: Any, ignore_index: int) -> tuple[Any, np.ndarray]:
    """d(per-sample loss)/d(logits) = softmax - onehot (zero rows for ignored samples), and the mask."""
    if isinstance(target, Tensor):  # with ops: vmap batches per-example targets, forward mode too
        from .compare import eq, ne
        from .shape import unsqueeze

        xs = _shape(x)
        classes = structural(np.arange(xs[1]).reshape((1, -1) + (1,) * (len(xs) - 2)))
        valid_t = ew.cast(ne(target, ignore_index), _dtype(x))
        onehot = ew.cast(eq(unsqueeze(target, 1), classes), _dtype(x))  # (float - bool is refused)
        return (softmax(x, 1) - onehot) * unsqueeze(valid_t, 1), valid_t
    t = target
    valid = t != ignore_index
    onehot = np.zeros(_shape(x), dtype=bool)
    np.put_along_axis(onehot, np.expand_dims(np.where(valid, t, 0), 1), True, 1)
    mask = np.expand_dims(valid, 1).astype(_dtype(x))
    return (softmax(x, 1) - onehot) * mask, valid


def _ce_scale(reduction: str, valid: Any) -> Any:
    if reduction != "mean":
        return 1.0
    if isinstance(valid, Tensor):
        return ew.reciprocal(ew.clamp(sum(valid), min=1.0))  # valid: 0/1 in x's dtype
    return 1.0 / max(int(np.count_nonzero(valid)), 1)


def _ce_vjp(g: Any, x: Any, target: Any, reduction: str, ignore_index: int) -> Any:
    local, valid = _ce_local(x, target, ignore_index)
    if reduction == "none":
        from .shape import unsqueeze

        return local * unsqueeze(g, 1)
    return local * (g * _ce_scale(reduction, valid))


def _ce_jvp(t: Any, x: Any, target: Any, reduction: str, ignore_index: int) -> Any:
    local, valid = _ce_local(x, target, ignore_index)
    per = sum(local * t, 1)
    return per if reduction == "none" else sum(per) * _ce_scale(reduction, valid)


def _dtype(x: Any) -> np.dtype:
    return x._data.dtype if isinstance(x, Tensor) else np.asarray(x).dtype


CROSS_ENTROPY = Primitive("NllLoss", _ce_forward, public="cross_entropy")
CROSS_ENTROPY.defvjp(_ce_vjp, None)
CROSS_ENTROPY.defjvp(_ce_jvp, None)


def _check_targets(x: Any, target: Any, op: str) -> np.ndarray:
    xs = _shape(x)
    t = target._data if isinstance(target, Tensor) else np.asarray(target)
    if t.dtype.kind not in "iu":
        raise fail(
            f"{op}(): expected integer class indices as target (int64), got dtype {t.dtype}; "
            "for class probabilities pass a float target with the same shape as the input",
            RuntimeError,
        )
    expected = (xs[0],) + xs[2:] if len(xs) > 1 else ()
    if t.shape != expected:
        raise fail(f"{op}(): input of shape {xs} needs a target of shape {expected}, got {t.shape}")
    return t


def cross_entropy(
    input: Any,  # noqa: A002 - PyTorch's name
    target: Any,
    weight: Any = None,
    size_average: Any = None,
    ignore_index: int = -100,
    reduce: Any = None,
    reduction: str = "mean",
    label_smoothing: float = 0.0,
) -> Any:
    """Softmax cross-entropy of logits (classes on dim 1) against class indices or probabilities."""
    if reduction not in ("mean", "sum", "none"):
        raise fail(f"cross_entropy(): reduction must be 'mean', 'sum' or 'none', got {reduction!r}",
                   ValueError)
    xs = _shape(input)
    tgt = target._data if isinstance(target, Tensor) else np.asarray(target)
    if not xs:  # PyTorch's classes: IndexError (no dim 1) with probabilities, else RuntimeError
        raise fail(f"cross_entropy(): input of shape () has no class dimension (target dtype {tgt.dtype}); "
                   "expects logits of shape (C,) or (N, C, ...)",
                   IndexError if tgt.dtype.kind == "f" else RuntimeError)
    if tgt.dtype.kind == "f":
        if tgt.shape != xs:
            raise fail(
                f"cross_entropy(): expected integer class indices as target (int64, shape "
                f"{(xs[0],) + xs[2:] if len(xs) > 1 else ()}) or class probabilities (float, shape "
                f"{xs}), got dtype {tgt.dtype} and shape {tgt.shape}"
            )
        return _soft_cross_entropy(input, target, weight, reduction, label_smoothing)
    if len(xs) == 1:  # a single sample without batch dimension
        from .shape import unsqueeze

        out = cross_entropy(unsqueeze(input, 0), reshape(target, (1,)), weight, None, ignore_index,
                            None, reduction, label_smoothing)
        return reshape(out, ()) if reduction == "none" else out
    t = _check_targets(input, target, "cross_entropy")
    c = xs[1]
    bad = (t != ignore_index) & ((t < 0) | (t >= c))
    if bad.any():
        raise fail(
            f"cross_entropy(): target {int(t[bad].reshape(-1)[0])} is out of bounds for {c} classes",
            IndexError,
        )
    if weight is None and not label_smoothing:
        keep = isinstance(target, Tensor) and target._data is t and t.dtype == np.int64
        if not keep:
            target = ew.cast(target, np.int64) if _batched(target, None) else t.astype(np.int64)
        return apply(CROSS_ENTROPY, (ew._to_float(input), target),
                     {"reduction": reduction, "ignore_index": int(ignore_index)})
    if _batched(target, weight):
        return _ce_ops(input, target, weight, ignore_index, reduction, float(label_smoothing))
    logp = log_softmax(input, 1)
    loss = nll_loss(logp, t, weight, ignore_index=ignore_index, reduction=reduction)
    if not label_smoothing:
        return loss
    eps = float(label_smoothing)
    valid = t != ignore_index
    per_class = logp if weight is None else logp * reshape(weight, (1, c) + (1,) * (len(xs) - 2))
    smooth = ew.neg(sum(per_class, 1)) * wrap(valid.astype(_dtype(input)))
    if reduction == "sum":
        smooth = sum(smooth)
    elif reduction == "mean":
        if weight is None:
            denom = float(max(int(valid.sum()), 1))
        else:
            w = weight._data if isinstance(weight, Tensor) else np.asarray(weight)
            denom = float(np.add.reduce(w[np.where(valid, t, 0)][valid], axis=None))
        smooth = sum(smooth) / denom
    return loss * (1 - eps) + smooth * (eps / c)


def _soft_cross_entropy(x: Any, target: Any, weight: Any, reduction: str, eps: float) -> Any:
    c = _shape(x)[1]
    if eps:
        target = target * (1 - eps) + eps / c
    logp = log_softmax(x, 1)
    if weight is not None:
        logp = logp * reshape(weight, (1, c) + (1,) * (len(_shape(x)) - 2))
    per = ew.neg(sum(logp * target, 1))
    if reduction == "none":
        return per
    if reduction == "sum":
        return sum(per)
    return sum(per) / float(math.prod(_shape(per)))  # an empty batch gives NaN, as in PyTorch


def nll_loss(input: Any, target: Any, weight: Any = None, size_average: Any = None,  # noqa: A002
             ignore_index: int = -100, reduce: Any = None, reduction: str = "mean") -> Any:
    """Negative log-likelihood of log-probabilities (classes on dim 1) at integer targets."""
    from .index import gather
    from .shape import squeeze, unsqueeze

    xs = _shape(input)
    if not xs:
        raise fail("nll_loss(): expected 1 or more dimensions, got an input of shape (); expects "
                   "log-probabilities of shape (C,) or (N, C, ...)", ValueError)
    if len(xs) == 1:
        out = nll_loss(unsqueeze(input, 0), reshape(target, (1,)), weight, None, ignore_index,
                       None, reduction)
        return reshape(out, ()) if reduction == "none" else out
    t = _check_targets(input, target, "nll_loss")
    if _batched(target, weight):
        return _nll_ops(input, target, weight, ignore_index, reduction)
    valid = t != ignore_index
    safe = np.where(valid, t, 0).astype(np.int64)
    if (safe < 0).any() or (safe >= xs[1]).any():
        raise fail(f"nll_loss(): target out of bounds for {xs[1]} classes", IndexError)
    picked = ew.neg(squeeze(gather(input, 1, np.expand_dims(safe, 1)), 1))
    w = valid.astype(_dtype(input))  # per-sample weight: 0 where ignored, else the class weight
    if weight is not None:
        w = w * (weight._data if isinstance(weight, Tensor) else np.asarray(weight))[safe]
    picked = picked * w
    if reduction == "none":
        return picked
    if reduction == "sum":
        return sum(picked)
    return sum(picked) / float(np.add.reduce(w, axis=None))  # not w.sum(): NaN-safe, no warning


def _batched(target: Any, weight: Any) -> bool:
    """Targets (or class weights) that vmap batches: the NumPy paths would see one example only."""
    if not isinstance(target, Tensor):
        return False
    # an op wrapper (a compiler's tracer) must see the targets flow through ops, too
    return bool(_core._WRAPPERS) or _levels.has_levels(target) or _levels.has_levels(weight)


def _nll_ops(x: Any, target: Tensor, weight: Any, ignore_index: int, reduction: str) -> Any:
    """nll_loss written with ops only, so that per-example targets stay per-example under vmap."""
    from .compare import ne
    from .index import gather, getitem
    from .shape import squeeze, unsqueeze

    counted = ne(target, ignore_index)
    safe = ew.where(counted, target, 0)
    w = ew.cast(counted, _dtype(x))
    if weight is not None:
        w = w * getitem(weight, safe)
    picked = ew.neg(squeeze(gather(x, 1, unsqueeze(safe, 1)), 1)) * w
    if reduction == "none":
        return picked
    if reduction == "sum":
        return sum(picked)
    return sum(picked) / sum(w)


def _ce_ops(x: Any, target: Tensor, weight: Any, ignore_index: int, reduction: str,
            eps: float) -> Any:
    """cross_entropy with class weights or label smoothing, with ops only (see ``_nll_ops``)."""
    from .compare import ne
    from .index import getitem

    c = _shape(x)[1]
    logp = log_softmax(x, 1)
    loss = _nll_ops(logp, target, weight, ignore_index, reduction)
    if not eps:
        return loss
    counted = ne(target, ignore_index)
    valid = ew.cast(counted, _dtype(x))
    shape_w = (1, c) + (1,) * (len(_shape(x)) - 2)
    per_class = logp if weight is None else logp * reshape(weight, shape_w)
    smooth = ew.neg(sum(per_class, 1)) * valid
    if reduction == "sum":
        smooth = sum(smooth)
    elif reduction == "mean":
        if weight is None:
            denom = ew.clamp(sum(valid), min=1.0)
        else:
            denom = sum(getitem(weight, ew.where(counted, target, 0)) * valid)
        smooth = sum(smooth) / denom
    return loss * (1 - eps) + smooth * (eps / c)


# ==================================================================== pooling
def _pool_geometry(x: Any, kernel_size: Any, stride: Any, padding: Any, dilation: Any,
                   ceil_mode: bool, op: str):
    xs = _shape(x)
    if len(xs) not in (3, 4):
        raise fail(f"{op}(): expects a 3-d or 4-d input, got shape {xs}")
    if min(xs[-3:]) < 1:
        raise fail(f"{op}(): expects non-zero channels, height and width (only the batch may be "
                   f"empty), got shape {xs}")
    k = _pair(kernel_size, "kernel_size")
    s = _pair(stride, "stride") if stride is not None and stride != [] else k
    p, d = _pair(padding, "padding"), _pair(dilation, "dilation")
    if any(p[i] > k[i] // 2 for i in range(2)):
        raise fail(f"{op}(): padding {p} should be at most half of the kernel size {k}", ValueError)
    out = []
    for i in range(2):
        size = xs[-2 + i] + 2 * p[i] - d[i] * (k[i] - 1) - 1
        o = (-(-size // s[i]) if ceil_mode else size // s[i]) + 1
        if ceil_mode and (o - 1) * s[i] >= xs[-2 + i] + p[i]:
            o -= 1  # the last window must start inside the input or left padding
        if o <= 0:
            raise fail(f"{op}(): input of shape {xs} is too small for kernel {k} (output size {o})")
        out.append(o)
    return k, s, p, d, tuple(out)


def _maxpool_indices(xp: np.ndarray, k, s, d, out_hw) -> np.ndarray:
    """Flat index (into each padded H*W plane) of every window's first maximum.

    The kh*kw kernel offsets are strided slices of the input (never a loop over
    pixels), copied into contiguous planes and reduced pairwise in a knockout tournament
    (``_tournament``, once more with NaN handling where a maximum is NaN): the later candidate wins
    only if strictly greater, so ties go to the first maximum as in PyTorch.
    With NaNs present, NaN counts as the maximum.
    """
    n, c, hp, wp = xp.shape
    oh, ow = out_hw
    offsets, cands = [], []
    for i in range(k[0]):
        for j in range(k[1]):
            r0, c0 = i * d[0], j * d[1]
            cands.append(xp[:, :, r0 : r0 + s[0] * (oh - 1) + 1 : s[0], c0 : c0 + s[1] * (ow - 1) + 1 : s[1]])
            offsets.append(r0 * wp + c0)
    planes = np.empty((len(cands), n, c, oh, ow), xp.dtype)  # contiguous copies: the vector loops
    for i, v in enumerate(cands):  # compare them (strided views: 10x slower; 2x2 pool: 2x overall)
        np.copyto(planes[i], v)
    arg, top = _tournament(list(planes), False)
    if xp.dtype.kind == "f" and np.isnan(top).any():  # a window with a NaN (max propagates it)
        arg, top = _tournament(list(planes), True)
    if not isinstance(arg, np.ndarray):  # a 1x1 window
        arg = np.full((n, c, oh, ow), arg, dtype=np.int8)
    base = (np.arange(oh).reshape(-1, 1) * (s[0] * wp) + np.arange(ow) * s[1]).astype(np.int64)
    return (np.take(np.asarray(offsets, dtype=np.int64), arg) + base).reshape(n, c, oh * ow)


def _tournament(cands: list, nan: bool) -> tuple:
    """The index of each window's first maximum among ``cands``, and the maxima."""
    itype = np.int8 if len(cands) < 2**7 else np.int64
    pool = [(v, i) for i, v in enumerate(cands)]  # (values, index of the offset they came from)
    while len(pool) > 1:
        nxt = []
        for (a, ia), (b, ib) in zip(pool[0::2], pool[1::2]):
            better = b > a
            if nan:
                better |= np.isnan(b) & ~np.isnan(a)
            idx = better.astype(itype)  # arithmetic select: much faster than np.where on a
            idx *= ib - ia  # random mask (and in itype: bool * int would make int64 first)
            idx += ia
            nxt.append((np.maximum(a, b), idx))
        if len(pool) % 2:
            nxt.append(pool[-1])
        pool = nxt
    return pool[0][1], pool[0][0]


def _maxpool_index_forward(x: np.ndarray, *, widths: tuple, k: tuple, s: tuple, d: tuple,
                           out_hw: tuple) -> np.ndarray:
    if any(widths):
        x = np.pad(x, ((0, 0), (0, 0), (widths[2], widths[3]), (widths[0], widths[1])),
                   constant_values=-np.inf)
    return _maxpool_indices(x, k, s, d, out_hw)


# The argmax of each window, as an op (not NumPy on x's data) so that transforms see it: vmap
# batches it like any op.  No gradient: the values flow through the gather below.
MAXPOOL_INDEX = Primitive("MaxPoolIndex", _maxpool_index_forward, public="max_pool2d",
                          differentiable=False)


def max_pool2d(input: Any, kernel_size: Any, stride: Any = None, padding: Any = 0,  # noqa: A002
               dilation: Any = 1, ceil_mode: bool = False, return_indices: bool = False) -> Any:
    """Max over each window; the gradient goes to the (first) maximum of each window."""
    from .index import gather

    x = input
    unbatched = len(_shape(x)) == 3
    if unbatched:
        x = reshape(x, (1,) + _shape(x))
    k, s, p, d, out_hw = _pool_geometry(x, kernel_size, stride, padding, dilation, ceil_mode,
                                         "max_pool2d")
    n, c, h, w = _shape(x)
    # Pad with -inf: left/top by p, right/bottom enough for ceil_mode's partial windows.
    need = [(out_hw[i] - 1) * s[i] + d[i] * (k[i] - 1) + 1 - ((h, w)[i] + p[i]) for i in range(2)]
    widths = [p[1], max(need[1], 0), p[0], max(need[0], 0)]
    idx = apply(MAXPOOL_INDEX, (x,), {"widths": tuple(widths), "k": k, "s": s, "d": d,
                                      "out_hw": out_hw})
    xp = pad(x, widths, value=-math.inf) if any(widths) else x
    hp, wp = h + widths[2] + widths[3], w + widths[0] + widths[1]
    out = reshape(gather(reshape(xp, (n, c, hp * wp)), 2, idx), (n, c) + out_hw)
    if unbatched:
        out = reshape(out, _shape(out)[1:])
    if return_indices:
        idx = idx._data if isinstance(idx, Tensor) else idx
        rows, cols = np.divmod(idx, wp)
        orig = ((rows - widths[2]) * w + (cols - widths[0])).reshape((n, c) + out_hw)
        return out, wrap(orig[0] if unbatched else orig)
    return out


def avg_pool2d(input: Any, kernel_size: Any, stride: Any = None, padding: Any = 0,  # noqa: A002
               ceil_mode: bool = False, count_include_pad: bool = True,
               divisor_override: Any = None) -> Any:
    """Mean over each window (zero padding counts toward the mean unless count_include_pad=False)."""
    x = input
    unbatched = len(_shape(x)) == 3
    if unbatched:
        x = reshape(x, (1,) + _shape(x))
    k, s, p, _, out_hw = _pool_geometry(x, kernel_size, stride, padding, 1, ceil_mode, "avg_pool2d")
    n, c, h, w = _shape(x)
    if p == (0, 0) and s == k and h == out_hw[0] * k[0] and w == out_hw[1] * k[1] and not divisor_override:
        out = mean(reshape(x, (n, c, out_hw[0], k[0], out_hw[1], k[1])), (3, 5))
    else:
        xs = x
        extra = [max((out_hw[i] - 1) * s[i] + k[i] - ((h, w)[i] + 2 * p[i]), 0) for i in range(2)]
        if any(extra):  # ceil_mode windows running past the end: pad with zeros, never counted
            xs = pad(xs, [0, extra[1], 0, extra[0]])
        ones_w = structural(np.ones((c, 1) + k, dtype=_dtype(x)))
        summed = _conv(xs, ones_w, stride=s, padding=p, dilation=(1, 1), groups=c)
        if divisor_override:
            out = summed / float(divisor_override)
        else:
            # Divisor: window positions inside the input (and, with count_include_pad, inside
            # the zero padding too); ceil_mode overhang beyond the padding never counts.
            inner = (h + 2 * p[0], w + 2 * p[1]) if count_include_pad else (h, w)
            cover = np.ones((1, 1) + inner, _dtype(x))
            margin = (0, 0) if count_include_pad else p
            cover = np.pad(cover, ((0, 0), (0, 0), (margin[0], margin[0] + extra[0]),
                                   (margin[1], margin[1] + extra[1])))
            cnt = _conv_forward(cover, np.ones((1, 1) + k, _dtype(x)), stride=s, padding=(0, 0),
                                dilation=(1, 1), groups=1)
            out = summed / structural(cnt)
    return reshape(out, _shape(out)[1:]) if unbatched else out


# ==================================================================== dropout
def dropout(input: Any, p: float = 0.5, training: bool = True, inplace: bool = False) -> Any:  # noqa: A002
    """Zero each element with probability ``p`` and scale the rest by 1/(1-p) (identity in eval)."""
    if not 0.0 <= p <= 1.0:
        raise fail(f"dropout(): probability has to be between 0 and 1, but got {p}", ValueError)
    if not training or p == 0.0:
        return input
    xs = _shape(input)
    if p == 1.0:
        return ew.mul(input, 0.0)
    keep = default_generator.numpy().random(xs) >= p
    scale = (keep / (1.0 - p)).astype(_dtype(input))
    return ew.mul(input, scale)
