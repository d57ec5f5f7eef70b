"""Indexing: reading (``x[idx]``, gather) and writing (index_put, scatter) as a transpose pair.

``GETITEM`` reads; its VJP ``INDEX_ADD`` adds the cotangent into zeros at the
same positions.  Repeated integer indices therefore *accumulate* (scatter-add),
which is the correct gradient of reading an element twice.  ``INDEX_ADD``'s own
VJP is ``GETITEM`` again, so the pair is closed under differentiation.  The
same holds for ``GATHER`` / ``SCATTER_ADD``.  ``INDEX_PUT`` (out-of-place
``x[idx] = v``) is what ``__setitem__`` records.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .._tensor import Tensor, as_array
from ._core import Primitive, apply, fail
from ._dims import norm_dim
from .shape import sum_to


def _shape(x: Any) -> tuple[int, ...]:
    return x._data.shape if isinstance(x, Tensor) else np.shape(x)


# ============================================================ index normalising
def normalize_index(idx: Any) -> tuple:
    """A NumPy index tuple from a PyTorch-style one (tensors, lists, ranges become arrays)."""
    if not isinstance(idx, tuple):
        idx = (idx,)
    out = []
    for i in idx:
        if isinstance(i, Tensor):
            if i._data.ndim == 0 and i._data.dtype.kind in "iu":
                i = int(i)  # through the tensor: a compiler tracing this sees the read
            else:
                i = i._data
        elif isinstance(i, (list, range)):
            i = np.asarray(as_array(list(i)))
            if i.dtype.kind == "f":
                raise fail("getitem(): tensors used as indices must be long, int or bool", IndexError)
            if i.size == 0:
                i = i.astype(np.int64)
        elif isinstance(i, np.integer):
            i = int(i)
        elif isinstance(i, np.ndarray) and i.ndim == 0 and i.dtype.kind in "iu":
            i = int(i)
        if isinstance(i, np.ndarray) and i.dtype.kind not in "iub":
            raise fail(
                f"getitem(): tensors used as indices must be long, int or bool, got {i.dtype}",
                IndexError,
            )
        out.append(i)
    if all(isinstance(i, (int, bool)) and not isinstance(i, bool) for i in out):
        out.append(Ellipsis)  # all-integer index: a 0-d view rather than a NumPy scalar copy
    return tuple(out)


def _has_int_array(idx: tuple) -> bool:
    return any(isinstance(i, np.ndarray) and i.dtype.kind in "iu" for i in idx)


def _bools_to_ints(idx: tuple) -> tuple:
    out = []
    for i in idx:
        if isinstance(i, np.ndarray) and i.dtype.kind == "b":
            out.extend(np.nonzero(i))
        else:
            out.append(i)
    return tuple(out)


def _is_basic(idx: tuple) -> bool:
    return not any(isinstance(i, np.ndarray) for i in idx)


# ================================================================== getitem
def _getitem_forward(x: np.ndarray, *, idx: tuple) -> np.ndarray:
    return x[idx]


def _index_add_forward(g: np.ndarray, *, shape: tuple[int, ...], idx: tuple) -> np.ndarray:
    out = np.zeros(shape, dtype=g.dtype)
    if _has_int_array(idx):
        np.add.at(out, _bools_to_ints(idx), g)  # repeated indices accumulate
    else:
        out[idx] = g
    return out


GETITEM = Primitive("Index", _getitem_forward, public="getitem", view=True)
INDEX_ADD = Primitive("IndexAdd", _index_add_forward, public="index_add")
def _index_add_into(acc: np.ndarray, g: np.ndarray, idx: tuple) -> None:
    if _has_int_array(idx):
        np.add.at(acc, _bools_to_ints(idx), g)
    else:
        acc[idx] += g


GETITEM.defvjp(lambda g, x_shape, idx: apply_index_add(g, x_shape, idx))
GETITEM.defvjp_into(_index_add_into)
GETITEM.defjvp(lambda t, idx: getitem(t, idx))
INDEX_ADD.defvjp(lambda g, idx: getitem(g, idx))
INDEX_ADD.defjvp(lambda t, shape, idx: apply_index_add(t, shape, idx))


def apply_index_add(g: Any, shape: tuple[int, ...], idx: tuple) -> Any:
    return apply(INDEX_ADD, (g,), {"shape": tuple(shape), "idx": idx})


def getitem(x: Any, idx: Any) -> Any:
    """``x[idx]`` for ints, slices, None, Ellipsis, integer/bool tensors and lists."""
    nidx = normalize_index(idx)  # (``idx`` stays bound: under vmap its tensors must stay alive)
    if not _is_basic(nidx):
        return apply(GETITEM_COPY, (x,), {"idx": nidx})
    return apply(_basic_variant(nidx), (x,), {"idx": nidx})


# Basic indexing is a view; its node is named after the last indexing step, as PyTorch's.
SELECT = GETITEM.variant("Select")
SLICE = GETITEM  # "Index": named SliceBackward0 below
INDEX_UNSQUEEZE = GETITEM.variant("IndexUnsqueeze", "UnsqueezeBackward0")
ALIAS = GETITEM.variant("Alias")
_FULL = slice(None)


# Pieces returned together (split, chunk, unbind): views that may not be written while recording.
SPLIT = GETITEM.variant("Split")
SPLIT_WITH_SIZES = GETITEM.variant("SplitWithSizes")
UNBIND = GETITEM.variant("Unbind")


def pieces(x: Any, op: Primitive, idxs: list) -> tuple:
    out = tuple(apply(op, (x,), {"idx": idx}) for idx in idxs)
    for p in out:
        if isinstance(p, Tensor) and p._base is not None:
            p._set_meta("multi_view", op.node_cls.__name__)
    return out


def _basic_variant(idx: tuple) -> Primitive:
    steps = [i for i in idx if i is not Ellipsis]
    if not steps:
        return ALIAS
    if all(type(i) is slice and i == _FULL for i in steps):
        return SLICE
    while type(steps[-1]) is slice and steps[-1] == _FULL:  # x[0, :] is a select
        steps.pop()
    last = steps[-1]
    return SELECT if type(last) is int else SLICE if type(last) is slice else INDEX_UNSQUEEZE


# Advanced indexing copies, so it is a separate (non-view) entry sharing the rules.
GETITEM_COPY = Primitive("IndexCopy", _getitem_forward, public="getitem")
GETITEM_COPY.defvjp(lambda g, x_shape, idx: apply_index_add(g, x_shape, idx))
GETITEM_COPY.defvjp_into(_index_add_into)
GETITEM_COPY.defjvp(lambda t, idx: getitem(t, idx))
GETITEM_COPY.node_cls.__name__ = GETITEM_COPY.node_cls.__qualname__ = "IndexBackward0"  # PyTorch's name
GETITEM.node_cls.__name__ = GETITEM.node_cls.__qualname__ = "SliceBackward0"


def select(x: Any, dim: int, index: int) -> Any:
    if not _shape(x):
        raise fail("select(): cannot be applied to a 0-dim tensor (shape ()); use x.item()", IndexError)
    d = norm_dim(dim, len(_shape(x)), "select")
    if not -_shape(x)[d] <= int(index) < _shape(x)[d]:
        raise fail(f"select(): index {int(index)} out of range for tensor of shape {_shape(x)} at "
                   f"dimension {d}", IndexError)
    return getitem(x, (slice(None),) * d + (int(index),))


def index_select(x: Any, dim: int, index: Any) -> Any:
    d = norm_dim(dim, len(_shape(x)), "index_select")
    idx = index._data if isinstance(index, Tensor) else np.asarray(index)
    if idx.ndim > 1:
        raise fail(f"index_select(): index must be 1-d, got shape {idx.shape}", IndexError)
    error = "IndexError" if d == 0 and _shape(x)[d] else "RuntimeError"  # (negative too; PyTorch's class)
    return getitem(x, (slice(None),) * d + (_int64_index(index, idx, "index_select", d, _shape(x), error),))


def _int64_index(index: Any, idx: np.ndarray, op: str, dim: int, shape: tuple, error: str) -> np.ndarray:
    """``idx`` as a 1-d int64 array, in ``[0, shape[dim])`` (else ``error``).  From a tensor, that
    is an op's result (never a NumPy copy), so a compiler tracing the call passes (and checks)
    the current index values."""
    if isinstance(index, Tensor):
        from . import elementwise as ew
        from .shape import reshape

        t = index if idx.dtype == np.int64 else ew.cast(index, np.int64)
        return checked_index(t if t._data.ndim == 1 else reshape(t, (-1,)), op, dim, shape, 0, error)._data
    return checked_index(idx.reshape(-1).astype(np.int64), op, dim, shape, 0, error)


def masked_select(x: Any, mask: Any) -> Any:
    from .shape import broadcast_tensors

    xb, mb = broadcast_tensors(x, mask)
    return getitem(xb, mb)


def index_add(x: Any, dim: int, index: Any, source: Any, *, alpha: float = 1) -> Any:
    """``x`` with ``alpha * source`` added at ``index`` along ``dim`` (repeats accumulate)."""
    from .elementwise import add, mul

    d = norm_dim(dim, len(_shape(x)), "index_add")
    idx = index._data if isinstance(index, Tensor) else np.asarray(index)
    if idx.ndim > 1 or idx.size != (_shape(source)[d] if _shape(source) else 1):
        raise fail(f"index_add(): the number of indices ({idx.size}) must equal source.size({d}), "
                   f"got source of shape {_shape(source)} for an input of shape {_shape(x)}")
    full = (slice(None),) * d + (_int64_index(index, idx, "index_add", d, _shape(x), "RuntimeError"),)
    src = mul(source, alpha) if alpha != 1 else source
    return add(x, apply_index_add(src, _shape(x), normalize_index(full)))


# ================================================================== index_put
def _index_put_forward(x: np.ndarray, v: Any, *, idx: tuple) -> np.ndarray:
    out = np.array(x, copy=True)
    out[idx] = v
    return out


def _index_put_grad_x(g: Any, idx: tuple) -> Any:
    return apply(INDEX_PUT, (g, 0.0), {"idx": idx})


def _index_put_grad_v(g: Any, v_shape: tuple[int, ...], idx: tuple) -> Any:
    return sum_to(getitem(g, idx), v_shape)


INDEX_PUT = Primitive("IndexPut", _index_put_forward, public="index_put")
INDEX_PUT.defvjp(_index_put_grad_x, _index_put_grad_v)
INDEX_PUT.defjvp(
    lambda t, idx: _index_put_grad_x(t, idx),
    lambda t, x, idx: apply(INDEX_PUT, (x * 0, t), {"idx": idx}),
)


def index_put(x: Any, idx: Any, value: Any) -> Any:
    """Out-of-place ``x[idx] = value`` (value broadcasts to ``x[idx]``)."""
    from .elementwise import cast

    index = normalize_index(idx)  # (``idx`` stays bound: see getitem)
    if isinstance(value, (Tensor, np.ndarray)):
        target = x._data.dtype if isinstance(x, Tensor) else x.dtype
        value = cast(value, target)
        vshape = _shape(value)
        try:
            dest = np.empty(_shape(x), dtype=bool)[index].shape
            np.broadcast_shapes(vshape, dest)
        except IndexError as exc:
            raise fail(f"index_put(): {exc} (input shape {_shape(x)})", IndexError) from None
        except ValueError:
            raise fail(
                f"setitem: shape mismatch: value tensor of shape {vshape} cannot be broadcast to "
                f"indexing result of shape {dest}"
            ) from None
    return apply(INDEX_PUT, (x, value), {"idx": index})


def masked_fill(x: Any, mask: Any, value: Any) -> Any:
    """``x`` with ``value`` wherever ``mask`` is True (mask broadcasts)."""
    from .elementwise import where

    if isinstance(value, Tensor) and value._data.ndim:
        raise fail(
            f"masked_fill(): value must be a number or a 0-d tensor, got shape {value._data.shape}"
        )
    return where(mask, value, x)


# ============================================================= gather/scatter
def _along_dim_index(index: np.ndarray, dim: int) -> tuple:
    """Full index tuple addressing ``out[..., index, ...]`` along ``dim`` (open mesh elsewhere)."""
    grids = list(np.ogrid[tuple(slice(s) for s in index.shape)])
    grids[dim] = index
    return tuple(grids)


def _in_bounds(idx: np.ndarray, dim: int, shape: tuple, op: str, low: int = 0, error: str = "RuntimeError"):
    """Every index in ``[low, shape[dim])`` (a 0-d input: one element), else PyTorch's ``error``.
    In the forwards too: compiled code calls them on index values no eager check has seen."""
    n = shape[dim] if shape else 1
    if idx.size and (idx.min() < low or idx.max() >= n):  # negative ones too, as PyTorch
        raise fail(
            f"{op}(): index {int(idx.max() if idx.max() >= n else idx.min())} is out of bounds "
            f"for dimension {dim} with size {n} (input shape {shape}); indices must lie in [{low}, {n})",
            IndexError if error == "IndexError" else RuntimeError,
        )


def _bounds_forward(idx: np.ndarray, *, op: str, dim: int, shape: tuple, low: int, error: str) -> np.ndarray:
    _in_bounds(idx, dim, shape, op, low, error)
    return idx


# An index tensor's range check as an op (it returns the index): compiled code, which replays
# ops only, checks every call's index values as eager does.  vmap checks every example's.
INDEX_BOUNDS = Primitive("IndexBounds", _bounds_forward, differentiable=False)
INDEX_BOUNDS.extra["batch"] = lambda lvl, args, batched, params: apply(INDEX_BOUNDS, tuple(args), params)


def checked_index(index: Any, op: str, dim: int, shape: tuple, low: int = 0, error: str = "IndexError"):
    """``index`` (a 1-d int64 tensor, or an array) with its values checked to lie in
    ``[low, shape[dim])`` by ``IndexBounds``, which a compiled caller runs on every call."""
    if not isinstance(index, Tensor):
        _in_bounds(np.asarray(index), dim, shape, op, low, error)
        return index
    params = {"op": op, "dim": dim, "shape": tuple(shape), "low": low, "error": error}
    return apply(INDEX_BOUNDS, (index,), params)


def _gather_forward(x: np.ndarray, index: np.ndarray, *, dim: int) -> np.ndarray:
    _in_bounds(index, dim, x.shape, "gather")
    if index.shape[:dim] + index.shape[dim + 1 :] == x.shape[:dim] + x.shape[dim + 1 :]:
        if x.ndim and x.flags.c_contiguous:  # one flat take: 4x faster than take_along_axis
            return np.take(x.reshape(-1), _flat_index(index, dim, x.shape))
        return np.take_along_axis(x, index, dim)
    return x[_along_dim_index(index, dim)]


def _flat_index(index: np.ndarray, dim: int, shape: tuple) -> np.ndarray:
    """Flat C-order offsets into an array of ``shape`` for ``out[..., index, ...]`` along ``dim``:
    one pass over ``index``, plus the other dims' offsets (a smaller broadcast array)."""
    strides = [math.prod(shape[i + 1 :]) for i in range(len(shape))]
    rest: Any = 0
    for i, size in enumerate(index.shape):
        if i != dim and size > 1:
            along = [size if j == i else 1 for j in range(index.ndim)]
            rest = rest + (np.arange(size) * strides[i]).reshape(along)
    return (index * strides[dim] if strides[dim] != 1 else index) + rest


def _scatter_add_forward(g: np.ndarray, index: np.ndarray, *, dim: int, shape: tuple) -> np.ndarray:
    _in_bounds(index, dim, shape, "scatter_add")
    out = np.zeros(math.prod(shape), dtype=g.dtype)
    np.add.at(out, _flat_index(index, dim, shape).ravel(), g.ravel())  # repeats add up
    return out.reshape(shape)


GATHER = Primitive("Gather", _gather_forward)
SCATTER_ADD = Primitive("ScatterAdd", _scatter_add_forward, public="scatter_add")
GATHER.defvjp(lambda g, index, x_shape, dim: _scatter(g, index, dim, x_shape), None)
GATHER.defjvp(lambda t, index, dim: apply(GATHER, (t, index), {"dim": dim}), None)
SCATTER_ADD.defvjp(lambda g, index, dim: apply(GATHER, (g, index), {"dim": dim}), None)
SCATTER_ADD.defjvp(lambda t, index, dim, shape: _scatter(t, index, dim, shape), None)


def _scatter(g: Any, index: Any, dim: int, shape: tuple) -> Any:
    return apply(SCATTER_ADD, (g, index), {"dim": dim, "shape": tuple(shape)})


def _index_array(index: Any, op: str) -> np.ndarray:
    idx = index._data if isinstance(index, Tensor) else np.asarray(index)
    if idx.dtype.kind not in "iu":
        raise fail(f"{op}(): index must be an integer tensor, got dtype {idx.dtype}", RuntimeError)
    return idx.astype(np.int64, copy=False)


def _check_gather(x: Any, dim: int, idx: np.ndarray, op: str, src: tuple = (), bounds: bool = True) -> int:
    """PyTorch's checks for gather and the scatters (whose index must fit ``src`` too); the
    index values' (``bounds``) where the op's forward does not check them itself."""
    xs = _shape(x)
    d = norm_dim(dim, len(xs), op)
    if idx.ndim != len(xs):
        raise fail(
            f"{op}(): Index tensor must have the same number of dimensions as self tensor, got "
            f"index of shape {idx.shape} for an input of shape {xs}; reshape the index"
        )
    big = any(a > b for i, (a, b) in enumerate(zip(idx.shape, xs)) if i != d)
    if big or any(a > b for a, b in zip(idx.shape, src)) or 0 < len(src) < idx.ndim:
        also = f" and to be no larger size than src {src}" if src else ""
        raise fail(
            f"{op}(): Expected index {idx.shape} to be no larger than self {xs} apart from "
            f"dimension {d}{also}; cut the index to fit"
        )
    if bounds:
        _in_bounds(idx, d, tuple(xs), op)
    return d


def gather(x: Any, dim: int, index: Any) -> Any:
    """``out[i][j] = x[i][index[i][j]]`` along ``dim`` (index may be smaller than x elsewhere)."""
    idx = _index_array(index, "gather")
    d = _check_gather(x, dim, idx, "gather", bounds=False)  # (GATHER's forward checks them)
    if isinstance(index, Tensor) and index._data is idx:
        idx = index  # keep the Tensor: vmap batches index tensors (chainrule/func/batching.py)
    xs = _shape(x)
    if any(a != b for i, (a, b) in enumerate(zip(idx.shape, xs)) if i != d):
        x = getitem(x, tuple(slice(0, s) if i != d else slice(None) for i, s in enumerate(idx.shape)))
    return apply(GATHER, (x, idx), {"dim": d})


def scatter_add(x: Any, dim: int, index: Any, src: Any) -> Any:
    """``x`` plus ``src`` added at ``index`` along ``dim`` (repeats accumulate)."""
    from .elementwise import add

    idx = _index_array(index, "scatter_add")
    d = _check_gather(x, dim, idx, "scatter_add", _shape(src), bounds=False)
    if _shape(src) != idx.shape:
        src = getitem(src, tuple(slice(0, s) for s in idx.shape))
    return add(x, _scatter(src, idx, d, _shape(x)))


def scatter(x: Any, dim: int, index: Any, src: Any = None, *, value: Any = None) -> Any:
    """``x`` with ``src`` (or ``value``) written at ``index`` along ``dim``."""
    idx = _index_array(index, "scatter")
    if src is None:
        src = value
    d = _check_gather(x, dim, idx, "scatter", _shape(src))
    full = _along_dim_index(idx, d)
    if isinstance(src, (Tensor, np.ndarray)) and _shape(src) != idx.shape:
        src = getitem(src, tuple(slice(0, s) for s in idx.shape))
    return index_put(x, full, src)


def take_along_dim(x: Any, indices: Any, dim: int | None = None) -> Any:
    from .shape import broadcast_to, reshape

    if dim is None:
        return getitem(reshape(x, (-1,)), _index_array(indices, "take_along_dim").reshape(-1))
    idx = _index_array(indices, "take_along_dim")
    d = norm_dim(dim, len(_shape(x)), "take_along_dim")
    xs = list(_shape(x))
    xs[d] = 1
    ishape = list(idx.shape)
    ishape[d] = 1
    b = np.broadcast_shapes(tuple(xs), tuple(ishape))
    xb = broadcast_to(x, b[:d] + (_shape(x)[d],) + b[d + 1 :])
    shape = b[:d] + (idx.shape[d],) + b[d + 1 :]
    if idx.size and idx.min() < 0:  # counted from the end, as PyTorch's take_along_dim
        if idx.min() < -_shape(x)[d]:
            raise fail(f"take_along_dim(): index {int(idx.min())} is out of bounds for dimension {d} "
                       f"with size {_shape(x)[d]}", RuntimeError)
        idx = np.where(idx < 0, idx + _shape(x)[d], idx)
    elif isinstance(indices, Tensor) and indices._data is idx:  # keep the Tensor (vmap batches it)
        return gather(xb, d, broadcast_to(indices, shape))
    return gather(xb, d, np.broadcast_to(idx, shape))


def take(x: Any, index: Any) -> Any:
    from .shape import reshape

    idx, n = _index_array(index, "take"), math.prod(_shape(x))
    if idx.size and (idx.min() < -n or idx.max() >= n):
        raise fail(f"take(): index {int(idx.max() if idx.max() >= n else idx.min())} is out of range for a "
                   f"tensor of shape {_shape(x)} ({n} elements)", IndexError)
    return getitem(reshape(x, (-1,)), idx)


# ================================================================ no gradient
NONZERO = Primitive("Nonzero", lambda x: np.argwhere(x).astype(np.int64), differentiable=False)


def nonzero(x: Any, *, as_tuple: bool = False) -> Any:
    out = apply(NONZERO, (x,))
    if as_tuple:
        from .shape import unbind

        n = _shape(x)
        if not n:
            return (getitem(out, (slice(None), 0)),) if _shape(out)[1:] else (out,)
        return unbind(out, 1) if len(n) else (out,)
    return out


def argwhere(x: Any) -> Any:
    return nonzero(x)
