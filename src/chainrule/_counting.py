"""Counting and bucketing: unique, unique_consecutive, bincount, histc, histogram, searchsorted,
bucketize, isin.

Their results are integers, counts or bin edges, so they have no gradient (PyTorch gives
none either): they run on the arrays and return plain tensors, off the op table.  Their
output sizes depend on the values, so they cannot run under ``vmap`` (nor can PyTorch's).
"""

from __future__ import annotations

from collections import namedtuple
from typing import Any

import numpy as np

from . import _kernel_dtypes as _kd
from ._tensor import Tensor, wrap
from .ops._core import fail
from .ops._dims import norm_dim
from .ops.reduce import return_types

return_types.histogram = namedtuple("histogram", ["hist", "bin_edges"])  # type: ignore[attr-defined]

__all__ = [
    "unique",
    "unique_consecutive",
    "bincount",
    "histc",
    "histogram",
    "searchsorted",
    "bucketize",
    "isin",
]


def _arr(x: Any) -> np.ndarray:
    return x._data if isinstance(x, Tensor) else np.asarray(x)


def _results(out: np.ndarray, inverse: np.ndarray | None, counts: np.ndarray | None) -> Any:
    res = [wrap(np.ascontiguousarray(out))]
    if inverse is not None:
        res.append(wrap(inverse.astype(np.int64)))
    if counts is not None:
        res.append(wrap(counts.astype(np.int64)))
    return res[0] if len(res) == 1 else tuple(res)


def unique(
    x: Any,
    sorted: bool = True,
    return_inverse: bool = False,  # noqa: A002
    return_counts: bool = False,
    dim: int | None = None,
) -> Any:
    """The distinct values of ``x`` (or distinct slices along ``dim``), sorted, with the index
    of each element's value (``return_inverse``) and each value's count (``return_counts``)."""
    a = _arr(_kd.check("unique", x))
    if dim is None:
        out, inv, cnt = np.unique(a.reshape(-1), return_inverse=True, return_counts=True)
        inv = inv.reshape(a.shape)
    else:
        d = norm_dim(dim, a.ndim, "unique")
        out, inv, cnt = np.unique(a, return_inverse=True, return_counts=True, axis=d)
        inv = inv.reshape(-1)
    return _results(out, inv if return_inverse else None, cnt if return_counts else None)


def unique_consecutive(
    x: Any, return_inverse: bool = False, return_counts: bool = False, dim: int | None = None
) -> Any:
    """``x`` with runs of equal consecutive values (or slices along ``dim``) collapsed to one."""
    a = _arr(x)
    if dim is None:
        flat = a.reshape(-1)
        change = flat[1:] != flat[:-1]
        moved = flat
    else:
        d = norm_dim(dim, a.ndim, "unique_consecutive")
        moved = np.moveaxis(a, d, 0)
        change = np.any((moved[1:] != moved[:-1]).reshape(max(len(moved) - 1, 0), -1), axis=1)
    starts = np.concatenate([[True], change]) if len(moved) else np.zeros(0, bool)
    out = moved[starts]
    if dim is not None:
        out = np.moveaxis(out, 0, d)
    run = np.cumsum(starts) - 1
    inv = run.reshape(a.shape) if dim is None else run
    cnt = np.diff(np.append(np.flatnonzero(starts), len(moved)))
    return _results(out, inv if return_inverse else None, cnt if return_counts else None)


def bincount(x: Any, weights: Any = None, minlength: int = 0) -> Tensor:
    """Counts of each non-negative integer in the 1-D ``x`` (summed ``weights`` if given)."""
    a = _arr(x)
    if a.ndim != 1 or a.dtype.kind not in "iub":
        raise fail(
            f"bincount(): only 1-d integer tensors are supported, got {a.ndim}-d {a.dtype}", RuntimeError
        )
    if a.size and a.min() < 0:
        raise fail("bincount(): input must be non-negative", RuntimeError)
    if minlength < 0:
        raise fail("bincount(): minlength should be >= 0", RuntimeError)
    if weights is None:
        return wrap(np.bincount(a, minlength=minlength).astype(np.int64))
    w = _arr(weights)
    if w.shape != a.shape:
        raise fail(
            f"bincount(): weights should be 1-d and have the same length as input "
            f"({tuple(w.shape)} vs {tuple(a.shape)})",
            RuntimeError,
        )
    dtype = w.dtype if w.dtype.kind == "f" else np.float64
    return wrap(np.bincount(a, weights=w, minlength=minlength).astype(dtype))


def histc(x: Any, bins: int = 100, min: float = 0, max: float = 0) -> Tensor:  # noqa: A002
    """Histogram of ``x`` in ``bins`` equal bins over [min, max] (the data's range if both are
    0); elements outside are ignored."""
    a = _arr(_kd.check("histc", x))
    if bins <= 0:
        raise fail(f"histc(): bins must be > 0, got {bins}", RuntimeError)
    lo, hi = float(min), float(max)
    if lo == hi and a.size:
        lo, hi = float(a.min()), float(a.max())
    if lo == hi:
        lo, hi = lo - 1, hi + 1
    if lo > hi:
        raise fail(f"histc(): max must be larger than min (min={lo}, max={hi})", RuntimeError)
    keep = a[(a >= lo) & (a <= hi)].astype(np.float64)
    idx = np.minimum(((keep - lo) * bins / (hi - lo)).astype(np.int64), bins - 1)
    return wrap(np.bincount(idx, minlength=bins).astype(a.dtype))


def histogram(
    x: Any,
    bins: Any = 100,
    *,
    range: Any = None,
    weight: Any = None,  # noqa: A002
    density: bool = False,
) -> Any:
    """(hist, bin_edges) of ``x``: ``bins`` equal bins over ``range`` (default the data's), or
    the given edges; the last bin includes its right edge."""
    a = _arr(x)
    if a.dtype.kind != "f":
        raise fail(f"histogram(): input must be a floating point tensor, got {a.dtype}", RuntimeError)
    edges = _arr(bins) if isinstance(bins, Tensor) else int(bins)
    rng = None if range is None else (float(range[0]), float(range[1]))
    w = None if weight is None else _arr(weight).reshape(-1)
    hist, edges = np.histogram(a.reshape(-1), edges, range=rng, weights=w, density=density)
    return return_types.histogram(wrap(hist.astype(a.dtype)), wrap(edges.astype(a.dtype)))


def searchsorted(
    sorted_sequence: Any,
    input: Any,
    *,
    out_int32: bool = False,  # noqa: A002
    right: bool = False,
    side: str | None = None,
    sorter: Any = None,
) -> Tensor:
    """Indices where ``input`` would be inserted to keep each (last-dim) row of
    ``sorted_sequence`` sorted; ``right``/``side='right'`` puts equal values after."""
    seq, vals = _arr(sorted_sequence), _arr(input)
    if side is not None:
        if side not in ("left", "right"):
            raise fail(f"searchsorted(): side can only be 'left' or 'right', got {side!r}", RuntimeError)
        if right and side == "left":
            raise fail("searchsorted(): side and right can't be set to opposites", RuntimeError)
        right = side == "right"
    how = "right" if right else "left"
    if sorter is not None:
        seq = np.take_along_axis(seq, _arr(sorter), -1)
    dtype = np.int32 if out_int32 else np.int64
    if seq.ndim <= 1:
        return wrap(np.asarray(np.searchsorted(seq, vals, side=how)).astype(dtype))
    if seq.shape[:-1] != vals.shape[:-1]:
        raise fail(
            f"searchsorted(): boundaries {tuple(seq.shape)} and input {tuple(vals.shape)} must "
            "have the same leading dimensions",
            RuntimeError,
        )
    rows_s, rows_v = seq.reshape(-1, seq.shape[-1]), vals.reshape(-1, vals.shape[-1])
    out = (
        np.stack([np.searchsorted(s, v, side=how) for s, v in zip(rows_s, rows_v)])
        if len(rows_s)
        else np.zeros(rows_v.shape, np.int64)
    )
    return wrap(out.reshape(vals.shape).astype(dtype))


def bucketize(
    input: Any,
    boundaries: Any,
    *,
    out_int32: bool = False,  # noqa: A002
    right: bool = False,
) -> Tensor:
    """The bucket of each element among the 1-D ``boundaries`` (``right``: b[i-1] <= x < b[i])."""
    b = _arr(boundaries)
    if b.ndim != 1:
        raise fail(f"bucketize(): boundaries tensor must be 1 dimension, but got dim({b.ndim})", RuntimeError)
    return searchsorted(b, input, out_int32=out_int32, right=right)


def isin(elements: Any, test_elements: Any, *, assume_unique: bool = False, invert: bool = False) -> Tensor:
    """Whether each element of ``elements`` is in ``test_elements`` (a bool tensor)."""
    e, t = _arr(elements), _arr(test_elements)
    return wrap(np.asarray(np.isin(e, t, assume_unique=assume_unique, invert=invert)))
