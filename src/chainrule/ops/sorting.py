"""Sorting and selection: sort, topk, kthvalue, median, mode, quantile, cummax/cummin, logcumsumexp.

The primitives here compute *indices* only (``Sort``, ``Cummax``, ``Mode``: integer outputs,
no derivative); every value is then ``gather(x, dim, indices)``, so the gradient of sorted
values, of the top k, of a median or a quantile is gather's (a scatter-add of the cotangent
to the chosen elements), of any order, with no rule of its own.  NaN sorts as the largest
value (first when descending), as in PyTorch; ties keep their original order.
``logcumsumexp`` is the one differentiable primitive.
"""

from __future__ import annotations

import math
from collections import namedtuple
from typing import Any

import numpy as np

from .. import _kernel_dtypes as _kd
from .. import dtypes as _dt
from .._tensor import Tensor
from ._core import Primitive, apply, fail
from ._dims import norm_dim
from .compare import isnan, ne
from .elementwise import _to_float, cast, exp, floor, where
from .index import gather
from .reduce import amax, cumsum, return_types
from .reduce import sum as _sum
from .shape import flip, movedim, narrow, reshape, squeeze, stack

for _name, _fields in [
    ("kthvalue", "values indices"),
    ("cummax", "values indices"),
    ("cummin", "values indices"),
    ("nanmedian", "values indices"),
]:
    setattr(return_types, _name, namedtuple(_name, _fields.split()))


def _shape(x: Any) -> tuple[int, ...]:
    return x._data.shape if isinstance(x, Tensor) else np.shape(x)


def _dtype(x: Any) -> np.dtype:
    return x._data.dtype if isinstance(x, Tensor) else np.asarray(x).dtype


def _shift_dim_rule(op: Primitive) -> None:
    """Batching rule: the batch is dim 0, so the op's (non-negative) ``dim`` moves up by one."""
    op.extra["batch"] = lambda lvl, args, batched, params: apply(
        op, (args[0],), dict(params, dim=params["dim"] + 1)
    )


# ===================================================================== primitives
def _sort_forward(x: np.ndarray, *, dim: int, descending: bool) -> np.ndarray:
    """Stable argsort; descending sorts the reversed array ascending and maps back, so ties keep
    their order and NaN (last ascending) comes first."""
    if x.ndim == 0:
        return np.zeros((), np.int64)
    if not descending:
        return np.argsort(x, axis=dim, kind="stable").astype(np.int64, copy=False)
    idx = np.flip(np.argsort(np.flip(x, dim), axis=dim, kind="stable"), dim)
    return (x.shape[dim] - 1 - idx).astype(np.int64, copy=False)


def _cummax_forward(x: np.ndarray, *, dim: int, minimum: bool) -> np.ndarray:
    """Index of the running max (min) along ``dim``: the latest of equal values; a NaN wins (the
    latest NaN, as in PyTorch) and stays."""
    if x.ndim == 0:
        return np.zeros((), np.int64)
    xm = np.moveaxis(x, dim, 0)
    out = np.zeros(xm.shape, np.int64)
    if xm.shape[0]:
        best, at = xm[0].copy(), np.zeros(xm.shape[1:], np.int64)
        floating = x.dtype.kind == "f"
        for i in range(1, xm.shape[0]):
            v = xm[i]
            take = (v <= best) if minimum else (v >= best)
            if floating:
                take |= np.isnan(v)
            best = np.where(take, v, best)
            at = np.where(take, i, at)
            out[i] = at
    return np.moveaxis(out, 0, dim)


def _mode_forward(x: np.ndarray, *, dim: int) -> np.ndarray:
    """Index of the most frequent value (the smallest on ties), its last occurrence (PyTorch's)."""
    if x.ndim == 0:
        return np.zeros((), np.int64)
    xm = np.moveaxis(x, dim, -1)
    lead, n = xm.shape[:-1], xm.shape[-1]
    rows = xm.reshape(-1, n)
    order = np.argsort(rows, axis=1, kind="stable")
    sv = np.take_along_axis(rows, order, 1)
    start = np.ones(sv.shape, bool)
    start[:, 1:] = sv[:, 1:] != sv[:, :-1]
    run = np.cumsum(start, axis=1) - 1 + (np.arange(len(rows)) * n)[:, None]
    length = np.bincount(run.ravel(), minlength=run.size)[run]
    best = np.argmax(length, axis=1)  # first position of the first longest run
    last = best + length[np.arange(len(rows)), best] - 1
    return order[np.arange(len(rows)), last].reshape(lead).astype(np.int64, copy=False)


SORT = Primitive("Sort", _sort_forward, differentiable=False)
CUMMAX = Primitive("Cummax", _cummax_forward, differentiable=False)
MODE = Primitive("Mode", _mode_forward, differentiable=False)


def _logcumsumexp_forward(x: np.ndarray, *, dim: int) -> np.ndarray:
    return x.copy() if x.ndim == 0 else np.logaddexp.accumulate(x, axis=dim)


def _const(a: Any) -> Any:
    return a.detach() if isinstance(a, Tensor) else a


def _row_max(x: Any, dim: int) -> Any:
    """The shift for logcumsumexp's rules: the max along ``dim`` (none for an empty x)."""
    return 0.0 if 0 in _shape(x) else _const(amax(x, dim, True))


def _lcse_vjp(g: Any, x: Any, ans: Any, dim: int) -> Any:
    """d/dx_i = sum_{j >= i} g_j exp(x_i - ans_j), shifted by the row max c (a constant: the
    formula does not depend on it) so exp(x - c) <= 1 cannot overflow."""
    c = _row_max(x, dim)
    inner = g * exp(c - ans)
    return exp(x - c) * flip(cumsum(flip(inner, (dim,)), dim), (dim,))


def _lcse_jvp(t: Any, x: Any, ans: Any, dim: int) -> Any:
    c = _row_max(x, dim)
    return cumsum(t * exp(x - c), dim) * exp(c - ans)


LOGCUMSUMEXP = Primitive("Logcumsumexp", _logcumsumexp_forward)
LOGCUMSUMEXP.defvjp(_lcse_vjp)
LOGCUMSUMEXP.defjvp(_lcse_jvp)
for _op in (SORT, CUMMAX, MODE, LOGCUMSUMEXP):
    _shift_dim_rule(_op)


# ======================================================================= sorting
def _dim(x: Any, dim: Any, op: str) -> int:
    return norm_dim(dim, len(_shape(x)), op)


def argsort(x: Any, dim: int = -1, descending: bool = False, *, stable: bool = False) -> Any:
    """Indices that sort ``x`` along ``dim`` (stable in every case)."""
    _dt.check_ordered("argsort", x, kernel=False)
    return apply(SORT, (x,), {"dim": _dim(x, dim, "argsort"), "descending": bool(descending)})


def sort(x: Any, dim: int = -1, descending: bool = False, *, stable: bool = False) -> Any:
    """(values, indices) of ``x`` sorted along ``dim``; values = gather(x, dim, indices)."""
    _dt.check_ordered("sort", x, kernel=False)
    idx = argsort(x, dim, descending)
    if not _shape(x):
        return return_types.sort(x * 1 if _dtype(x).kind != "b" else x, idx)
    return return_types.sort(gather(x, _dim(x, dim, "sort"), idx), idx)


def msort(x: Any) -> Any:
    """``x`` sorted along its first dimension."""
    return sort(x, 0).values


def topk(x: Any, k: int, dim: int = -1, largest: bool = True, sorted: bool = True) -> Any:  # noqa: A002
    """The ``k`` largest (smallest) elements along ``dim``, in order, with their indices."""
    _dt.check_ordered("topk", _kd.check("topk", x), kernel=False)
    d = _dim(x, dim, "topk")
    n = _shape(x)[d] if _shape(x) else 1
    if not 0 <= k <= n:
        raise fail(f"topk(): selected index k out of range (k = {k}, size of dim {d} = {n})", RuntimeError)
    idx = argsort(x, d, largest)
    if _shape(x):
        idx = narrow(idx, d, 0, k)
        return return_types.topk(gather(x, d, idx), idx)
    return return_types.topk(x * 1, idx)


def _select_keep(x: Any, idx: Any, d: int, keepdim: bool, cls: Any) -> Any:
    """Values at ``idx`` (keepdim-shaped along ``d``), squeezed unless ``keepdim``."""
    vals = gather(x, d, idx)
    if not keepdim:
        vals, idx = squeeze(vals, d), squeeze(idx, d)
    return cls(vals, idx)


def kthvalue(x: Any, k: int, dim: int = -1, keepdim: bool = False) -> Any:
    """The k-th smallest element along ``dim`` (1-based ``k``) and its index."""
    _dt.check_ordered("kthvalue", x)
    d = _dim(x, dim, "kthvalue")
    n = _shape(x)[d] if _shape(x) else 1
    if n == 0:
        raise fail(
            f"kthvalue(): expected reduction dim {d} to have non-zero size (input shape {_shape(x)})",
            IndexError,
        )
    if not 1 <= k <= n:
        raise fail(
            f"kthvalue(): selected number k out of range for dimension {d} (k = {k}, size {n})", RuntimeError
        )
    if not _shape(x):
        return return_types.kthvalue(x * 1, argsort(x))
    idx = narrow(argsort(x, d), d, k - 1, 1)
    return _select_keep(x, idx, d, keepdim, return_types.kthvalue)


def _median(x: Any, dim: Any, keepdim: bool, ignore_nan: bool) -> Any:
    op = "nanmedian" if ignore_nan else "median"
    cls = return_types.nanmedian if ignore_nan else return_types.median
    _dt.check_ordered(op, x)
    whole = dim is None
    if whole:
        x = reshape(x, (-1,))
        dim = 0
    d = _dim(x, dim, op)  # first: a 0-d input takes dim 0 or -1 only
    if whole and _shape(x) == (0,):  # the median of no element is NaN, as in PyTorch
        return reshape(_sum(x) * math.nan, ())
    if not _shape(x):
        return x * 1 if whole else cls(x * 1, argsort(x))
    n = _shape(x)[d]
    if n == 0:
        raise fail(
            f"{op}(): cannot compute {op} of an empty dimension ({tuple(_shape(x))}, dim {d})", IndexError
        )
    order = argsort(x, d)
    if _dtype(x).kind == "f":
        nans = _sum(isnan(x), d, keepdim=True)  # NaNs sort last, in their original order
        if ignore_nan:
            valid = n - nans
            pos = where(ne(valid, 0), (valid - 1) // 2, 0)
        else:
            pos = where(ne(nans, 0), n - nans, (n - 1) // 2)
        idx = gather(order, d, pos)
    else:
        idx = narrow(order, d, (n - 1) // 2, 1)
    out = _select_keep(x, idx, d, keepdim or whole, cls)
    return reshape(out.values, ()) if whole else out


def median(x: Any, dim: Any = None, keepdim: bool = False) -> Any:
    """The lower median (of all elements, or (values, indices) along ``dim``); NaN if any is NaN."""
    return _median(_kd.check("median", x), dim, keepdim, False)


def nanmedian(x: Any, dim: Any = None, keepdim: bool = False) -> Any:
    """``median`` ignoring NaNs (NaN only where a row holds nothing else)."""
    return _median(_kd.check("nanmedian", x), dim, keepdim, True)


def mode(x: Any, dim: int = -1, keepdim: bool = False) -> Any:
    """The most frequent value along ``dim`` (the smallest of equally frequent ones) and the
    index of its last occurrence."""
    _dt.check_ordered("mode", x)
    d = _dim(x, dim, "mode")
    if _shape(x) and _shape(x)[d] == 0:
        raise fail(
            f"mode(): expected reduction dim {d} to have non-zero size (input shape {_shape(x)})", IndexError
        )
    if not _shape(x):
        return return_types.mode(x * 1, apply(MODE, (x,), {"dim": 0}))
    idx = reshape(apply(MODE, (x,), {"dim": d}), tuple(1 if i == d else s for i, s in enumerate(_shape(x))))
    return _select_keep(x, idx, d, keepdim, return_types.mode)


# ====================================================================== quantile
_INTERPOLATIONS = ("linear", "lower", "higher", "midpoint", "nearest")


def _quantile(x: Any, q: Any, dim: Any, keepdim: bool, interpolation: str, ignore_nan: bool) -> Any:
    op = "nanquantile" if ignore_nan else "quantile"
    if _dtype(x).kind != "f":
        raise fail(
            f"{op}(): input tensor must be either float or double dtype, got {_dtype(x)}", RuntimeError
        )
    if interpolation not in _INTERPOLATIONS:
        raise fail(
            f"{op}() interpolation must be one of linear, lower, higher, midpoint or nearest, "
            f"but got {interpolation}",
            RuntimeError,
        )
    qs = q._data if isinstance(q, Tensor) else np.asarray(q, dtype=np.float64)
    if isinstance(q, Tensor) and qs.dtype != _dtype(x):
        raise fail(
            f"{op}(): q tensor must be same dtype as the input tensor ({qs.dtype} vs {_dtype(x)})",
            RuntimeError,
        )
    if qs.ndim > 1:
        raise fail(f"{op}(): q must be a scalar or 1D tensor, got {qs.ndim} dimensions", RuntimeError)
    if np.any((qs < 0) | (qs > 1)):
        raise fail(f"{op}(): q values must be in the range [0, 1]", RuntimeError)
    shape = _shape(x)
    if 0 in shape:  # PyTorch refuses any empty input, whatever dim
        raise fail(f"{op}(): input tensor must be non-empty, got shape {shape}", RuntimeError)
    if dim is None:
        x, d = reshape(x, (-1,)), 0
    else:
        d = _dim(x, dim, op)
    if not _shape(x):
        x = reshape(x, (1,))
    x = movedim(x, d, -1)
    n = _shape(x)[-1]
    if n == 0:
        raise fail(f"{op}(): input tensor must be non-empty", RuntimeError)
    sv = sort(x, -1).values  # NaNs last
    nans = _sum(isnan(x), -1, keepdim=True)
    valid = cast(n - nans, _dtype(x)) if ignore_nan else None
    results = []
    for qk in np.atleast_1d(qs).tolist():
        rank = (valid - 1) * qk if ignore_nan else np.asarray((n - 1) * qk, dtype=_dtype(x))
        if interpolation == "nearest":
            rank = np.round(rank) if not ignore_nan else _round_half_even(rank)
        lo = floor(rank) if ignore_nan else np.floor(rank)
        hi = lo + (rank > lo)
        lo_i, hi_i = (_index(lo, x), _index(hi, x))
        lo_v, hi_v = gather(sv, -1, lo_i), gather(sv, -1, hi_i)
        if interpolation in ("lower", "nearest"):
            v = lo_v
        elif interpolation == "higher":
            v = hi_v
        elif interpolation == "midpoint":
            v = lo_v + (hi_v - lo_v) * 0.5
        else:
            v = lo_v + (hi_v - lo_v) * (rank - lo)
        results.append(where(ne(nans, n) if ignore_nan else ~ne(nans, 0), v, math.nan))
    out = stack(results, 0)  # (len(q), ..., 1)
    if keepdim and shape:  # a 0-d x has no dim to keep (PyTorch's result is 0-d for a scalar q)
        out = (
            movedim(out, -1, d + 1) if dim is not None else reshape(out, (len(results),) + (1,) * len(shape))
        )
    else:
        out = squeeze(out, -1)
    return out if qs.ndim else squeeze(out, 0)


def _round_half_even(a: Any) -> Any:
    from .elementwise import round as _round

    return _round(a)


def _index(pos: Any, x: Any) -> Any:
    """Positions as int64 gather indices, shaped (..., 1) like a keepdim reduction of ``x``."""
    if isinstance(pos, np.ndarray) or np.isscalar(pos):
        k = int(max(np.asarray(pos).item(), 0))
        return np.full(_shape(x)[:-1] + (1,), k, np.int64)
    return cast(where(pos < 0, 0.0, pos), np.int64)


def quantile(x: Any, q: Any, dim: Any = None, keepdim: bool = False, *, interpolation: str = "linear") -> Any:
    """The q-th quantiles of ``x`` along ``dim`` (all elements by default); a 1-D ``q`` adds a
    leading dimension.  Any NaN in a row makes its quantiles NaN."""
    return _quantile(x, q, dim, keepdim, interpolation, False)


def nanquantile(
    x: Any, q: Any, dim: Any = None, keepdim: bool = False, *, interpolation: str = "linear"
) -> Any:
    """``quantile`` ignoring NaNs (NaN only for rows of NaNs)."""
    return _quantile(x, q, dim, keepdim, interpolation, True)


# ============================================================= cumulative selections
def _cum(x: Any, dim: int, minimum: bool) -> Any:
    op = "cummin" if minimum else "cummax"
    cls = return_types.cummin if minimum else return_types.cummax
    _dt.check_ordered(op, x)
    d = _dim(x, dim, op)
    idx = apply(CUMMAX, (x,), {"dim": d, "minimum": minimum})
    if not _shape(x):
        return cls(x * 1, idx)
    return cls(gather(x, d, idx), idx)


def cummax(x: Any, dim: int) -> Any:
    """Running maximum along ``dim`` and the index where each was reached."""
    return _cum(x, dim, False)


def cummin(x: Any, dim: int) -> Any:
    """Running minimum along ``dim`` and the index where each was reached."""
    return _cum(x, dim, True)


def logcumsumexp(x: Any, dim: int) -> Any:
    """log(cumsum(exp(x))) along ``dim``, without overflow."""
    x = _to_float(_kd.check("logcumsumexp", x))
    return apply(LOGCUMSUMEXP, (x,), {"dim": _dim(x, dim, "logcumsumexp")})
