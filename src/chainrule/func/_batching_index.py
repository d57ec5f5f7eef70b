"""Batching rules for indexing (``x[idx]``, its transpose ``index_add``, and ``index_put``).

The batch becomes one more index.  With a shared index, a leading ``slice(None)``
does it; with batched index tensors (each example has its own indices) a leading
``arange(B)`` array pairs example b with its own indices.  NumPy places the dims
of advanced indices first when they are not adjacent, so ``plan`` also returns
the permutation from NumPy's result layout to ``(B, *per-example result)``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._tensor import Tensor
from ..autograd import _levels
from ..ops import _core
from ..ops import shape as sh
from ._vmap import with_logicals
from .batching import _shape, align, expand

apply = _core.apply
_P = _core.PRIMITIVES


def _is_array(i: Any) -> bool:
    return isinstance(i, (np.ndarray, Tensor))


def _adv_positions(entries: list) -> list[int]:
    """Positions NumPy treats as advanced: arrays, and integers when any array is present."""
    if not any(_is_array(i) for i in entries):
        return []
    return [k for k, i in enumerate(entries) if _is_array(i) or isinstance(i, (int, np.integer))]


def _contiguous(pos: list[int]) -> bool:
    return all(b == a + 1 for a, b in zip(pos, pos[1:]))


def _result_shape(shape: tuple, idx: tuple) -> tuple:
    """The shape of ``x[idx]`` for an ``x`` of ``shape``, without touching any data."""
    return np.broadcast_to(np.empty((), dtype=bool), shape)[idx].shape


def _move_to_front(n: int, axis: int) -> tuple:
    return (axis,) + tuple(i for i in range(n) if i != axis)


def _inverse(perm: tuple) -> tuple:
    return tuple(int(i) for i in np.argsort(perm))


def plan(lvl: Any, shape: tuple, idx: tuple) -> tuple[tuple, tuple | None]:
    """``(physical index, permutation or None)`` to index a ``(B, *shape)`` payload like ``idx``
    indexes each example.  ``idx`` entries that are Tensors are batched index tensors."""
    size = lvl.size
    if not any(isinstance(i, Tensor) for i in idx):
        pidx = (slice(None),) + idx
        adv = _adv_positions(list(idx))
        if not adv or _contiguous(adv):
            return pidx, None
        dims = _result_shape(shape, idx)
        n_adv = max(np.ndim(i) if np.asarray(i).dtype != bool else 1 for i in idx if _is_array(i))
        return pidx, _move_to_front(len(dims) + 1, n_adv)
    entries: list = []
    batched: list[bool] = []
    for i in idx:
        if isinstance(i, Tensor):
            p = _levels.payload(i, lvl)
            arr = p._data if p is not None else np.broadcast_to(i._data, (size,) + i._data.shape)
            if arr.dtype == bool:
                raise data_dependent("indexing with a batched boolean mask")
            entries.append(arr)
            batched.append(True)
        elif isinstance(i, np.ndarray) and i.dtype == bool:
            entries.extend(np.nonzero(i))
            batched.extend([False] * i.ndim)
        else:
            entries.append(i)
            batched.append(False)
    shapes = [e.shape[1:] if b else np.shape(e) for e, b in zip(entries, batched) if _is_array(e)]
    common = np.broadcast_shapes(*shapes)
    new: list = [np.arange(size).reshape((size,) + (1,) * len(common))]
    for e, b in zip(entries, batched):
        if b:
            e = e.reshape((size,) + (1,) * (len(common) - (e.ndim - 1)) + e.shape[1:])
        new.append(e)
    adv = _adv_positions(entries)
    if not _contiguous(adv) or adv[0] == 0:
        return tuple(new), None  # NumPy's layout is already (B, *common, *rest)
    before = _dims_before(entries[: adv[0]], entries, len(shape))
    n = len(_result_shape(shape, tuple(_example(e, b) for e, b in zip(entries, batched))))
    c = len(common)  # NumPy: (B, *common, *before, *after); wanted: (B, *before, *common, *after)
    order = [0] + [1 + c + j for j in range(before)] + [1 + j for j in range(c)]
    order += list(range(1 + c + before, 1 + n))
    return tuple(new), tuple(order)


def data_dependent(what: str) -> RuntimeError:
    """vmap's refusal for ops whose output shape depends on the data (each example's differs)."""
    return RuntimeError(f"vmap: {what}: the output shape depends on the data (each example may "
                        "select a different number of elements), so it cannot be batched; keep "
                        "the shape fixed with where() or masked_fill(), or loop over the examples")


def _nonzero(lvl: Any, args: list, batched: list, params: dict) -> Any:
    raise data_dependent("nonzero()/argwhere() of a batched tensor")


def _example(e: Any, batched: bool) -> Any:
    return e[0] if batched else e


def _dims_before(head: list, entries: list, ndim: int) -> int:
    """How many result dims the index entries before the first advanced one produce."""
    consumed = sum(1 for e in entries if e is not None and e is not Ellipsis)
    n = 0
    for e in head:
        if e is None or isinstance(e, slice):
            n += 1
        elif e is Ellipsis:
            n += ndim - consumed
    return n


def _logical_shape(a: Any, batched: bool) -> tuple:
    s = tuple(_shape(a))
    return s[1:] if batched else s


def _getitem(lvl: Any, args: list, batched: list, params: dict) -> Any:
    x = args[0]
    shape = _logical_shape(x, batched[0])
    if not batched[0]:
        x = expand(x, lvl.size)
    pidx, perm = plan(lvl, shape, params["idx"])
    basic = not any(isinstance(i, np.ndarray) for i in pidx)
    out = apply(_P["Index"] if basic else _P["IndexCopy"], (x,), {"idx": pidx})
    return sh.permute(out, perm) if perm is not None else out


def _index_add(lvl: Any, args: list, batched: list, params: dict) -> Any:
    g = args[0] if batched[0] else expand(args[0], lvl.size)
    pidx, perm = plan(lvl, tuple(params["shape"]), params["idx"])
    if perm is not None:
        g = sh.permute(g, _inverse(perm))
    return apply(_P["IndexAdd"], (g,), {"shape": (lvl.size,) + tuple(params["shape"]), "idx": pidx})


def _index_put(lvl: Any, args: list, batched: list, params: dict) -> Any:
    x, v = args
    shape = _logical_shape(x, batched[0])
    if not batched[0]:
        x = expand(x, lvl.size)
    pidx, perm = plan(lvl, shape, params["idx"])
    if isinstance(v, (Tensor, np.ndarray)):
        dest = _result_shape((lvl.size,) + shape, pidx)
        want = tuple(dest[i] for i in perm) if perm is not None else dest
        v = align(v, len(want) - 1) if batched[1] else v
        v = sh.broadcast_to(v, want)
        if perm is not None:
            v = sh.permute(v, _inverse(perm))
    return apply(_P["IndexPut"], (x, v), {"idx": pidx})


def register_index_rules() -> None:
    for name, rule in (("Index", _getitem), ("IndexCopy", _getitem), ("IndexAdd", _index_add),
                       ("IndexPut", _index_put)):
        _P[name].extra["batch"] = rule
        _P[name].extra["batch_arrays"] = _arrays_in_idx
    _P["Nonzero"].extra["batch"] = _nonzero


def _arrays_in_idx(args: tuple, params: dict, top: Any) -> tuple:
    """Index tensors of a batch arrive as arrays inside ``idx``: put the logical tensors back."""
    idx = params.get("idx")
    if not isinstance(idx, tuple):
        return args, params, top
    new, top = with_logicals(idx, top)
    return args, (params if new is None else dict(params, idx=tuple(new))), top
