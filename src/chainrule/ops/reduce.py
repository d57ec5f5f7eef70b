"""Reductions: sum, mean, prod, max/min, arg-reductions, var/std, norm, logsumexp, cumsum.

Every public reduction takes PyTorch's ``dim``/``keepdim`` and NumPy's
``axis``/``keepdims``, a single dim or a list of dims.  ``sum`` is the linear
primitive (its VJP broadcasts back); ``mean``, ``var``, ``std`` and most norms
are composed from it.  ``amax``, ``logsumexp`` and ``norm`` (p=2) are
primitives for stability: ties share the gradient, and the 2-norm of zeros
has gradient zero, as in PyTorch.
"""

from __future__ import annotations

import builtins
import math
from collections import namedtuple
from typing import Any

import numpy as np

from .. import _kernel_dtypes as _kd
from .. import dtypes as _dt
from .._tensor import Tensor, wrap
from . import compare as cmp
from . import elementwise as ew
from ._core import Primitive, apply, fail
from ._dims import kept_shape, norm_dim, norm_dims, pick
from .shape import broadcast_to, flip, reshape


def _shape(x: Any) -> tuple[int, ...]:
    return x._data.shape if isinstance(x, Tensor) else np.shape(x)


def _dtype(x: Any) -> np.dtype:
    return x._data.dtype if isinstance(x, Tensor) else np.asarray(x).dtype


def _unreduce(g: Any, x_shape: tuple[int, ...], dim: tuple[int, ...], keepdim: bool) -> Any:
    """Cotangent of a reduction, broadcast back over the reduced dims."""
    if not keepdim:
        g = reshape(g, kept_shape(x_shape, dim))
    return broadcast_to(g, x_shape)


def _args(x: Any, dim: Any, axis: Any, keepdim: Any, keepdims: Any, op: str):
    d = pick(dim, axis)
    dims = norm_dims(d, len(_shape(x)), op)
    return dims, bool(pick(keepdim, keepdims, False))


# ========================================================================= sum
def _sum_forward(x: np.ndarray, *, dim: tuple[int, ...], keepdim: bool) -> np.ndarray:
    if x.dtype.kind == "f":  # see _float_reduce_note
        return np.add.reduce(x, axis=dim, keepdims=keepdim)
    if x.dtype.kind == "V":  # bfloat16 adds in float32 and rounds once, as PyTorch does
        return np.add.reduce(x, axis=dim, keepdims=keepdim, dtype=np.float32).astype(x.dtype)
    return np.sum(x, axis=dim, keepdims=keepdim)


# _float_reduce_note: float reductions call the ufunc method (np.add.reduce) rather than
# np.sum, whose Python wrapper would make NumPy's "invalid value" warning (inf - inf)
# come from a NumPy module; from chainrule's own frame it is filtered (see __init__), so
# NaN/Inf propagate silently as in PyTorch.


SUM = Primitive("Sum", _sum_forward).defvjp(_unreduce)
SUM.defjvp(lambda t, dim, keepdim: sum(t, dim, keepdim))


def sum(  # noqa: A001 - PyTorch's name
    x: Any,
    dim: Any = None,
    keepdim: bool | None = None,
    *,
    dtype: Any = None,
    axis: Any = None,
    keepdims: bool | None = None,
) -> Any:
    """Sum over ``dim`` (all dims if None); bool/int inputs give int64, as in PyTorch."""
    dims, keep = _args(x, dim, axis, keepdim, keepdims, "sum")
    if dtype is not None:
        x = ew.cast(x, dtype)
    elif _dtype(x).kind in "biu":
        x = ew.cast(x, np.int64)
    return apply(SUM, (x,), {"dim": dims, "keepdim": keep})


def mean(x: Any, dim: Any = None, keepdim: bool | None = None, *, dtype: Any = None,
         axis: Any = None, keepdims: bool | None = None) -> Any:
    """Arithmetic mean over ``dim``; needs a floating dtype, like PyTorch."""
    if dtype is not None:
        x = ew.cast(x, dtype)
    if _dt.kind(_dtype(x)) not in "fc":
        raise fail(
            f"mean(): input dtype must be floating point, got {_dt.from_numpy(_dtype(x))}; "
            "convert first, e.g. x.float().mean()",
            RuntimeError,
        )
    if _dtype(x).kind == "V":  # bfloat16: the float32 sum's mean, rounded once (PyTorch's)
        return ew.cast(mean(ew.cast(x, np.float32), dim, keepdim, axis=axis, keepdims=keepdims), _dtype(x))
    dims, keep = _args(x, dim, axis, keepdim, keepdims, "mean")
    n = math.prod(_shape(x)[d] for d in dims)
    return ew.div(apply(SUM, (x,), {"dim": dims, "keepdim": keep}), float(n) if n else math.nan)


def nansum(x: Any, dim: Any = None, keepdim: bool = False) -> Any:
    floats = _dt.kind(_dtype(_kd.check("nansum", x))) in "fc"  # integers have no NaN to skip
    return sum(ew.where(cmp.isnan(x), 0.0, x) if floats else x, dim, keepdim)


# ======================================================================== prod
def _prod_forward(x: np.ndarray, *, dim: tuple[int, ...], keepdim: bool) -> np.ndarray:
    if x.dtype.kind == "f":  # see _float_reduce_note
        return np.multiply.reduce(x, axis=dim, keepdims=keepdim)
    return np.prod(x, axis=dim, keepdims=keepdim)


def _prod_others(x: Any, dim: tuple[int, ...]) -> Any:
    """For each element, the product of the *other* elements in its reduction group.

    Exact with zeros: uses exclusive prefix/suffix products along the flattened
    reduction axes (arrays), or, when building a graph, products over a masked
    copy (each element replaced by 1 in turn), which stays differentiable.
    """
    shape = _shape(x)
    if 0 in shape:  # empty: no element, no gradient (avoids reshaping 0 elements with -1)
        return ew.mul(x, 0.0)
    rest = [i for i in range(len(shape)) if i not in dim]
    order = rest + list(dim)
    n = math.prod(shape[d] for d in dim)
    from .shape import permute

    xt = reshape(permute(x, order), tuple(shape[i] for i in rest) + (n,))
    if isinstance(xt, Tensor):
        eye = wrap(np.eye(n, dtype=bool))
        expanded = ew.where(eye, 1.0, reshape(xt, _shape(xt)[:-1] + (1, n)))
        others = prod(expanded, -1)
    else:
        ones = np.ones(xt.shape[:-1] + (1,), dtype=xt.dtype)
        with np.errstate(invalid="ignore"):  # inf * 0 is NaN, silently as in PyTorch
            left = np.cumprod(np.concatenate([ones, xt[..., :-1]], -1), -1)
            right = np.flip(np.cumprod(np.flip(np.concatenate([xt[..., 1:], ones], -1), -1), -1), -1)
            others = left * right
    inv = list(np.argsort(order))
    return permute(reshape(others, tuple(shape[i] for i in order)), inv)


def _prod_vjp(g: Any, x: Any, dim: tuple[int, ...], keepdim: bool) -> Any:
    if not dim:
        return g
    return _unreduce(g, _shape(x), dim, keepdim) * _prod_others(x, dim)


PROD = Primitive("Prod", _prod_forward).defvjp(_prod_vjp)
PROD.defjvp(lambda t, x, dim, keepdim: sum(t * _prod_others(x, dim), dim, keepdim))


def prod(x: Any, dim: Any = None, keepdim: bool | None = None, *, dtype: Any = None,
         axis: Any = None, keepdims: bool | None = None) -> Any:
    dims, keep = _args(x, dim, axis, keepdim, keepdims, "prod")
    if dtype is not None:
        x = ew.cast(x, dtype)
    elif _dtype(x).kind in "biu":
        x = ew.cast(x, np.int64)
    return apply(PROD, (x,), {"dim": dims, "keepdim": keep})


# ================================================================= amax / amin
def _tie_weights(x: Any, ans: Any, dim: tuple[int, ...], keepdim: bool) -> Any:
    """d(max)/dx: split evenly among the elements equal to the result (as PyTorch does)."""
    full = _unreduce(ans, _shape(x), dim, keepdim)
    mask = ew.cast(cmp.eq(x, full), _dtype(x))
    return mask / sum(mask, dim, keepdim=True)


def _weighted_vjp(weights: Any):
    """VJP ``g * W`` and JVP ``sum(t * W)`` of a reduction whose local derivative is W."""

    def vjp(g: Any, x: Any, ans: Any, dim: tuple[int, ...], keepdim: bool) -> Any:
        return _unreduce(g, _shape(x), dim, keepdim) * weights(x, ans, dim, keepdim)

    def jvp(t: Any, x: Any, ans: Any, dim: tuple[int, ...], keepdim: bool) -> Any:
        return sum(t * weights(x, ans, dim, keepdim), dim, keepdim)

    return vjp, jvp


def _amax_forward(x: np.ndarray, *, dim: tuple[int, ...], keepdim: bool) -> np.ndarray:
    return np.amax(x, axis=dim, keepdims=keepdim)


def _amin_forward(x: np.ndarray, *, dim: tuple[int, ...], keepdim: bool) -> np.ndarray:
    return np.amin(x, axis=dim, keepdims=keepdim)


_TIE_VJP, _TIE_JVP = _weighted_vjp(_tie_weights)
AMAX = Primitive("Amax", _amax_forward).defvjp(_TIE_VJP)
AMIN = Primitive("Amin", _amin_forward).defvjp(_TIE_VJP)
AMAX.defjvp(_TIE_JVP)
AMIN.defjvp(_TIE_JVP)


def _even_weights(x: Any, ans: Any, dim: tuple[int, ...], keepdim: bool) -> Any:
    """max()/min() of all elements: split among the elements equal to the result, or among
    the NaNs when it is NaN (PyTorch's MaxBackward1; amax's NaN result gives NaN instead)."""
    full = _unreduce(ans, _shape(x), dim, keepdim)
    mask = ew.cast(ew.where(cmp.isnan(full), cmp.isnan(x), cmp.eq(x, full)), _dtype(x))
    return mask / sum(mask, dim, keepdim=True)


MAX_ALL, MIN_ALL = AMAX.variant("Max", "MaxBackward1"), AMIN.variant("Min", "MinBackward1")
for _p in (MAX_ALL, MIN_ALL):
    _p.defvjp(_weighted_vjp(_even_weights)[0]).defjvp(_weighted_vjp(_even_weights)[1])


def _check_nonempty(x: Any, dims: tuple[int, ...], op: str, cls: type = IndexError, fix: str = "") -> None:
    shape = _shape(x)
    if builtins.any(shape[d] == 0 for d in dims) or (not dims and 0 in shape):
        empty = next(d for d in (dims or range(len(shape))) if shape[d] == 0)
        raise fail(
            f"{op}(): cannot reduce over dim {empty}, a zero-size dimension of a tensor with shape {shape} "
            f"(there is no identity for max/min){fix}",
            cls,
        )


# PyTorch's class and advice for a reduction over all elements of an empty tensor
_WHOLE = (RuntimeError, "; specify the reduction dim with the 'dim' argument")


def amax(x: Any, dim: Any = (), keepdim: bool = False, *, axis: Any = None,
         keepdims: bool | None = None) -> Any:
    _dt.check_ordered("amax", x)
    d = pick(None if dim == () else dim, axis)
    dims = norm_dims(d, len(_shape(x)), "amax")
    _check_nonempty(x, dims, "amax", *_WHOLE if d is None else ())
    return apply(AMAX, (x,), {"dim": dims, "keepdim": bool(pick(keepdims, None, keepdim))})


def amin(x: Any, dim: Any = (), keepdim: bool = False, *, axis: Any = None,
         keepdims: bool | None = None) -> Any:
    _dt.check_ordered("amin", x)
    d = pick(None if dim == () else dim, axis)
    dims = norm_dims(d, len(_shape(x)), "amin")
    _check_nonempty(x, dims, "amin", *_WHOLE if d is None else ())
    return apply(AMIN, (x,), {"dim": dims, "keepdim": bool(pick(keepdims, None, keepdim))})


class return_types:
    """Named results like ``torch.return_types.max(values=..., indices=...)``."""

    max = namedtuple("max", ["values", "indices"])
    min = namedtuple("min", ["values", "indices"])
    sort = namedtuple("sort", ["values", "indices"])
    topk = namedtuple("topk", ["values", "indices"])
    mode = namedtuple("mode", ["values", "indices"])
    median = namedtuple("median", ["values", "indices"])


def _minmax(x: Any, dim: Any, keepdim: bool, which: str, other: Any, axis: Any, keepdims: Any):
    if isinstance(dim, (Tensor, np.ndarray)) and other is None:
        other = dim
        dim = None
    if other is not None:
        return ew.maximum(x, other) if which == "max" else ew.minimum(x, other)
    d = pick(dim, axis)
    keep = bool(pick(keepdims, None, keepdim))
    _dt.check_ordered(which, x, kernel=d is None)  # (PyTorch: max_all's kernel, or max(dim)'s check)
    if d is None:  # PyTorch asks for a dim here (RuntimeError), amax/amin for a non-empty one
        _check_nonempty(x, (), which, *_WHOLE)
        if _dtype(x).kind != "f":
            return amax(x) if which == "max" else amin(x)
        dims = norm_dims(None, len(_shape(x)), which)
        return apply(MAX_ALL if which == "max" else MIN_ALL, (x,), {"dim": dims, "keepdim": False})
    n = len(_shape(x))
    dd = norm_dim(d, n, which)
    if n == 0:  # a 0-d tensor: its one value, at index 0
        idx = apply(ARGMAX, (x,), {"dim": None, "keepdim": False})
        cls = return_types.max if which == "max" else return_types.min
        return cls(amax(x) if which == "max" else amin(x), idx)
    _check_nonempty(x, (dd,), which)
    idx = (argmax if which == "max" else argmin)(x, dd, keepdim=True)
    from .index import gather

    values = gather(x, dd, idx)
    if not keep:
        from .shape import squeeze

        values, idx = squeeze(values, dd), squeeze(idx, dd)
    cls = return_types.max if which == "max" else return_types.min
    return cls(values, idx)


def max(x: Any, dim: Any = None, keepdim: bool = False, *, other: Any = None,  # noqa: A001
        axis: Any = None, keepdims: Any = None) -> Any:
    """``max(x)`` (all elements), ``max(x, dim)`` -> (values, indices), or ``max(x, y)`` elementwise."""
    return _minmax(x, dim, keepdim, "max", other, axis, keepdims)


def min(x: Any, dim: Any = None, keepdim: bool = False, *, other: Any = None,  # noqa: A001
        axis: Any = None, keepdims: Any = None) -> Any:
    return _minmax(x, dim, keepdim, "min", other, axis, keepdims)


def _arg_forward(fn: Any):
    def forward(x: np.ndarray, *, dim: int | None, keepdim: bool) -> np.ndarray:
        out = fn(x, axis=dim, keepdims=keepdim)
        return out.astype(np.int64, copy=False)

    return forward


ARGMAX = Primitive("Argmax", _arg_forward(np.argmax), differentiable=False)
ARGMIN = Primitive("Argmin", _arg_forward(np.argmin), differentiable=False)


def _argreduce(op: Primitive, x: Any, dim: Any, keepdim: bool, axis: Any, keepdims: Any) -> Any:
    _dt.check_ordered(op.public, x, kernel=False)
    d = pick(dim, axis)
    keep = bool(pick(keepdims, None, keepdim))
    if d is None:
        _check_nonempty(x, (), op.public)
        out = apply(op, (x,), {"dim": None, "keepdim": False})
        return reshape(out, (1,) * len(_shape(x))) if keep else out
    dd = norm_dim(d, len(_shape(x)), op.public)
    if not _shape(x):  # 0-d: dim 0/-1 names no axis
        return apply(op, (x,), {"dim": None, "keepdim": False})
    _check_nonempty(x, (dd,), op.public)
    return apply(op, (x,), {"dim": dd, "keepdim": keep})


def argmax(x: Any, dim: Any = None, keepdim: bool = False, *, axis: Any = None,
           keepdims: Any = None) -> Any:
    return _argreduce(ARGMAX, _kd.check("argmax", x), dim, keepdim, axis, keepdims)


def argmin(x: Any, dim: Any = None, keepdim: bool = False, *, axis: Any = None,
           keepdims: Any = None) -> Any:
    return _argreduce(ARGMIN, _kd.check("argmin", x), dim, keepdim, axis, keepdims)


# ============================================================= var, std, norm
def var(x: Any, dim: Any = None, unbiased: Any = None, keepdim: bool | None = None, *,
        correction: Any = None, axis: Any = None, keepdims: Any = None) -> Any:
    """Variance with Bessel's correction by default (``correction=1``/``unbiased=True``)."""
    if isinstance(dim, bool) and unbiased is None:  # var(x, False): positional unbiased
        dim, unbiased = None, dim
    if correction is None:
        correction = 1 if unbiased is None or unbiased else 0
    dims, keep = _args(x, dim, axis, keepdim, keepdims, "var")
    n = math.prod(_shape(x)[d] for d in dims)
    centred = ew.sub(x, mean(x, dims, keepdim=True))
    if _dtype(x).kind == "c":  # |z - mean|², a real variance (as PyTorch's)
        centred = ew.abs(centred)
    ss = sum(ew.mul(centred, centred), dims, keep)
    return ew.div(ss, float(n - correction) if n - correction > 0 else math.nan)


def std(x: Any, dim: Any = None, unbiased: Any = None, keepdim: bool | None = None, *,
        correction: Any = None, axis: Any = None, keepdims: Any = None) -> Any:
    v = var(x, dim, unbiased, keepdim, correction=correction, axis=axis, keepdims=keepdims)
    zero = cmp.eq(v, 0)  # a zero std gets a zero gradient, not 0 * inf = NaN (as in PyTorch)
    return ew.where(zero, 0.0, ew.sqrt(ew.where(zero, 1.0, v)))


def var_mean(x: Any, dim: Any = None, unbiased: Any = None, keepdim: bool = False, *,
             correction: Any = None) -> tuple:
    return var(x, dim, unbiased, keepdim, correction=correction), mean(x, dim, keepdim)


def std_mean(x: Any, dim: Any = None, unbiased: Any = None, keepdim: bool = False, *,
             correction: Any = None) -> tuple:
    return std(x, dim, unbiased, keepdim, correction=correction), mean(x, dim, keepdim)


def _norm2_forward(x: np.ndarray, *, dim: tuple[int, ...], keepdim: bool) -> np.ndarray:
    return np.sqrt(np.add.reduce(x * x, axis=dim, keepdims=keepdim))


def _norm2_weights(x: Any, ans: Any, dim: tuple[int, ...], keepdim: bool) -> Any:
    n = _unreduce(ans, _shape(x), dim, keepdim)
    zero = cmp.eq(n, 0)
    safe = ew.where(zero, 1.0, n)  # keeps the unused branch finite for higher derivatives
    return ew.where(zero, 0.0, x / safe)


NORM2 = Primitive("Norm", _dt.opmath(_norm2_forward)).defvjp(_weighted_vjp(_norm2_weights)[0])
NORM2.defjvp(_weighted_vjp(_norm2_weights)[1])


def norm(x: Any, p: Any = "fro", dim: Any = None, keepdim: bool = False, *,
         dtype: Any = None, axis: Any = None, keepdims: Any = None) -> Any:
    """Vector p-norm over ``dim`` (all elements by default): p = 'fro', 2, 1, inf, -inf, 0 or any number."""
    if dtype is not None:
        x = ew.cast(x, dtype)
    if _dtype(x).kind == "c":  # every norm here depends on the magnitudes only
        x = ew.abs(x)
    if _dt.kind(_dtype(x)) != "f":
        raise fail(f"norm(): input dtype must be floating point, got {_dt.from_numpy(_dtype(x))}")
    dims, keep = _args(x, dim, axis, keepdim, keepdims, "norm")
    if p in ("fro", 2, 2.0, None):
        return apply(NORM2, (x,), {"dim": dims, "keepdim": keep})
    if p == "nuc":
        raise fail("norm(): the nuclear norm is not supported", NotImplementedError)
    if p in (math.inf, -math.inf, "inf"):
        _check_nonempty(x, dims, "norm", RuntimeError, f": the {p} norm needs non-empty reduction dims")
        return (amin if p == -math.inf else amax)(ew.abs(x), dims, keep)
    if p == 0:
        return sum(ew.cast(cmp.ne(x, 0), _dtype(x)), dims, keep)
    if p == 1:
        return sum(ew.abs(x), dims, keep)
    p = float(p)
    return ew.pow(sum(ew.pow(ew.abs(x), p), dims, keep), 1.0 / p)


# ==================================================================== logsumexp
def _logsumexp_forward(x: np.ndarray, *, dim: tuple[int, ...], keepdim: bool) -> np.ndarray:
    if x.size == 0:
        return np.log(np.add.reduce(np.exp(x), axis=dim, keepdims=keepdim))
    m = np.amax(x, axis=dim, keepdims=True)
    m = np.where(np.isfinite(m), m, 0)
    out = np.log(np.add.reduce(np.exp(x - m), axis=dim, keepdims=True)) + m
    return out if keepdim else np.squeeze(out, axis=dim)


def _logsumexp_weights(x: Any, ans: Any, dim: tuple[int, ...], keepdim: bool) -> Any:
    return ew.exp(x - _unreduce(ans, _shape(x), dim, keepdim))


LOGSUMEXP = Primitive("Logsumexp", _dt.opmath(_logsumexp_forward))
LOGSUMEXP.defvjp(_weighted_vjp(_logsumexp_weights)[0])
LOGSUMEXP.defjvp(_weighted_vjp(_logsumexp_weights)[1])


def logsumexp(x: Any, dim: Any = None, keepdim: bool = False, *, axis: Any = None,
              keepdims: Any = None) -> Any:
    """log(sum(exp(x))) over ``dim``, computed without overflow."""
    x = ew._to_float(x)
    dims, keep = _args(x, dim, axis, keepdim, keepdims, "logsumexp")
    return apply(LOGSUMEXP, (x,), {"dim": dims, "keepdim": keep})


# ======================================================================= cumsum
def _cumsum_forward(x: np.ndarray, *, dim: int) -> np.ndarray:
    return np.cumsum(x, axis=dim)


CUMSUM = Primitive("Cumsum", _dt.opmath(_cumsum_forward))  # (bfloat16 in float32, as PyTorch)
CUMSUM.defvjp(lambda g, dim: flip(cumsum(flip(g, (dim,)), dim), (dim,)))
CUMSUM.defjvp(lambda t, dim: cumsum(t, dim))


def cumsum(x: Any, dim: Any = None, *, dtype: Any = None, axis: Any = None) -> Any:
    d = pick(dim, axis)
    if d is None:
        raise fail("cumsum(): dim is required", TypeError)
    if dtype is not None:
        x = ew.cast(x, dtype)
    elif _dtype(x).kind in "biu":
        x = ew.cast(x, np.int64)
    n = len(_shape(x))
    dd = norm_dim(d, n, "cumsum")
    if n == 0:
        return ew.add(x, 0)
    return apply(CUMSUM, (x,), {"dim": dd})


def cumprod(x: Any, dim: Any = None, *, axis: Any = None) -> Any:
    """Cumulative product, composed from log-free prefix products (exact with zeros)."""
    d = norm_dim(pick(dim, axis), len(_shape(x)), "cumprod")
    x = ew.cast(x, np.int64) if _dt.kind(_dtype(x)) in "biu" else x  # (integers multiply as int64)
    if not _shape(x):  # a 0-d tensor is its own cumulative product
        return ew.mul(x, 1)
    from .shape import stack, unbind

    parts = unbind(x, d)
    out = [parts[0]] if parts else []
    for p in parts[1:]:
        out.append(ew.mul(out[-1], p))
    return stack(out, d) if out else ew.mul(x, 1)  # empty along d: a new (empty) tensor, not x


def count_nonzero(x: Any, dim: Any = None) -> Any:
    return sum(cmp.ne(x, 0), dim)


def all(x: Any, dim: Any = None, keepdim: bool = False) -> Any:  # noqa: A001
    dims = norm_dims(dim, len(_shape(x)), "all")
    return apply(ALL, (x,), {"dim": dims, "keepdim": keepdim})


def any(x: Any, dim: Any = None, keepdim: bool = False) -> Any:  # noqa: A001
    dims = norm_dims(dim, len(_shape(x)), "any")
    return apply(ANY, (x,), {"dim": dims, "keepdim": keepdim})


def _all_forward(x: np.ndarray, *, dim: tuple[int, ...], keepdim: bool) -> np.ndarray:
    out = np.all(x, axis=dim, keepdims=keepdim)
    return out.astype(np.uint8) if x.dtype == np.uint8 else out  # (PyTorch keeps uint8)


def _any_forward(x: np.ndarray, *, dim: tuple[int, ...], keepdim: bool) -> np.ndarray:
    out = np.any(x, axis=dim, keepdims=keepdim)
    return out.astype(np.uint8) if x.dtype == np.uint8 else out  # (PyTorch keeps uint8)


ALL = Primitive("All", _all_forward, differentiable=False)
ANY = Primitive("Any", _any_forward, differentiable=False)
