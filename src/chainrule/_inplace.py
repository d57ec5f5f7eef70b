"""In-place operations: same object, same storage, new values, bumped version.

When no graph is being recorded (grad mode off, or nothing requires grad) an
in-place op writes straight into the array (``np.add(a, b, out=a)``): this is
what optimizer steps and ``w.data[:] -= lr * w.grad`` use.

When a graph *is* being recorded, the op is computed out of place from an
alias that carries the tensor's current history, the result is copied into
the tensor's storage, and the tensor's ``grad_fn`` moves to the new node
("rebasing").  If the new node saved the alias, the alias keeps a snapshot of
the old values.  Tensors saved earlier see the version bump and refuse to be
used in backward.  A tensor made by basic indexing (``x[0]``) rebases its base
too: ``base = index_put(base, idx, new_view_values)``.

Under a transform (a forward-mode ``dual_level`` or ``vmap``) a tensor carrying a
tangent or a batch takes the out-of-place result whole: its data, history and
transform payloads are rebound to the result's (its storage is not written, so
views taken earlier keep the old values; transformed code is functional anyway).
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from ._tensor import Tensor, wrap
from .autograd import _levels
from .autograd.grad_mode import state as _grad_state
from .autograd.graph import next_seq

__all__ = ["inplace", "inplace_ufunc", "setitem", "tracked"]


def _check_leaf(t: Tensor, name: str) -> None:
    if t._rg and t.grad_fn is None and _grad_state.grad_enabled:
        raise RuntimeError(
            f"{name}(): in-place operation on a leaf tensor that requires grad (shape "
            f"{tuple(t._data.shape)}); it would change a value autograd needs. Do it inside "
            "`with chainrule.no_grad():` (e.g. for a parameter update), or use an out-of-place op."
        )


def _records(t: Tensor, args: tuple) -> bool:
    if not _grad_state.grad_enabled:
        return False
    if t._rg:
        return True
    return any(isinstance(a, Tensor) and a._rg for a in args)


def _bump(t: Tensor) -> None:
    t._vc[0] += 1


def _shape_error(name: str, t: Tensor, shape: tuple) -> RuntimeError:
    return RuntimeError(
        f"{name}(): output with shape {tuple(t._data.shape)} doesn't match the broadcast "
        f"shape {tuple(shape)}; in-place ops cannot change a tensor's shape"
    )


def _write(t: Tensor, values: np.ndarray, name: str) -> None:
    if values.shape != t._data.shape:
        try:
            values = np.broadcast_to(values, t._data.shape)
        except ValueError:
            raise _shape_error(name, t, values.shape) from None
    if values.dtype != t._data.dtype and not np.can_cast(values.dtype, t._data.dtype, "same_kind"):
        raise RuntimeError(
            f"{name}(): result type {values.dtype} can't be cast to the tensor's dtype "
            f"{t._data.dtype} in place; use an out-of-place op or convert the tensor first"
        )
    if not t._data.flags.writeable:
        raise RuntimeError(
            f"{name}(): the tensor's memory is read-only (it is an expanded view or made from a "
            "read-only array); call .clone() first"
        )
    np.copyto(t._data, values, casting="unsafe")


def _alias(t: Tensor) -> Tensor:
    """A new tensor object standing for ``t``'s current value and history."""
    a = wrap(t._data)
    a._rg = t._rg
    a.grad_fn = t.grad_fn
    return a


def _transformed(t: Tensor, args: tuple) -> bool:
    """True when a transform level is active and ``t`` or an argument carries its payload."""
    if not _levels.state.stack:
        return False
    return _levels.has_levels(t) or any(_levels.has_levels(a) for a in args if isinstance(a, Tensor))


def _rebind(t: Tensor, name: str, compute: Callable[..., Any], args: tuple) -> Tensor:
    """In-place under a transform: ``t`` becomes the out-of-place result (data, history, payloads)."""
    alias = _alias(t)  # stands for the old value, in case the new node saved it
    if t._meta and "tx" in t._meta:
        alias._set_meta("tx", dict(t._meta["tx"]))
    res = compute(alias, *args)
    if res._data.shape != t._data.shape:
        raise _shape_error(name, t, res._data.shape)
    t._data = res._data.astype(t._data.dtype, copy=False)
    t.grad_fn = res.grad_fn
    t._rg = res._rg
    tx = res._meta.get("tx") if res._meta else None
    if tx:
        t._set_meta("tx", dict(tx))
    elif t._meta and "tx" in t._meta:
        del t._meta["tx"]
    _bump(t)
    return t


def tracked(t: Tensor, args: tuple) -> bool:
    """Must an in-place op on ``t`` with ``args`` go through ``inplace`` (graph or transform)?

    False means it may write straight into the array (the optimizer-step fast path)."""
    return _records(t, args) or _transformed(t, args)


def inplace(t: Tensor, name: str, compute: Callable[..., Any], *args: Any) -> Tensor:
    """Apply ``compute(t, *args)`` (an out-of-place op) to ``t`` in place; returns ``t``."""
    _check_leaf(t, name)
    if _transformed(t, args):
        return _rebind(t, name, compute, args)
    if not _records(t, args):
        from .autograd.grad_mode import no_grad

        with no_grad():
            res = compute(t, *args)
        _write(t, res._data if isinstance(res, Tensor) else np.asarray(res), name)
        _bump(t)
        return t
    view = t._get_meta("view_idx") if t._base is not None else None
    if t._base is not None and view is None:
        raise RuntimeError(
            f"{name}(): in-place operation on a view (made by reshape/transpose/expand...) while "
            "autograd is recording; apply it to the base tensor, or .clone() the view first"
        )
    if t._base is not None and t.grad_fn is not None:
        from .ops._core import check_view

        check_view(t)
    alias = _alias(t)
    first = next_seq()
    res = compute(alias, *args)
    if not isinstance(res, Tensor):
        res = wrap(np.asarray(res))
    if _saves(res.grad_fn, alias._vc, first):
        alias._data = alias._data.copy()  # a node needs the old values: keep a snapshot
    if view is not None:
        _rebase_base(t, view, res, name)
        return t
    _write(t, res._data, name)
    _bump(t)
    t.grad_fn = res.grad_fn
    t._rg = res._rg
    return t


def _saves(node: Any, cell: list, first: int) -> bool:
    """Did a node made by ``compute`` (seq > first) save the alias?  Found by its version
    cell, which stays in ``node.versions`` even when saved-tensor hooks packed the value."""
    stack = [node] if node is not None else []
    while stack:
        n = stack.pop()
        if n.seq <= first:
            continue
        if n.versions and any(c is cell for c, _, _ in n.versions):
            return True
        stack.extend(p for p in n.parents if p is not None and not isinstance(p, Tensor))
    return False


def _rebase_base(view: Tensor, idx: tuple, res: Tensor, name: str) -> None:
    """``view`` (= base[idx]) got new values ``res``: record ``base[idx] = res`` on the base."""
    from .ops._core import apply
    from .ops.index import GETITEM, INDEX_PUT

    base = view._base
    _check_leaf(base, name)
    new_base = apply(INDEX_PUT, (_alias(base), res), {"idx": idx})
    _write(base, new_base._data, name)
    _bump(base)
    base.grad_fn = new_base.grad_fn
    base._rg = new_base._rg
    view.grad_fn = apply(GETITEM, (base,), {"idx": idx}).grad_fn
    view._rg = base._rg


_UFUNC_ERRORS = (ValueError, TypeError)


def inplace_ufunc(t: Tensor, name: str, ufunc: Any, other: Any, compute: Callable[..., Any]) -> Tensor:
    """Arithmetic in place: a direct ``ufunc(t, other, out=t)`` when nothing is recorded."""
    if isinstance(other, np.generic):
        other = other.item()
    if tracked(t, (other,)):
        return inplace(t, name, compute, other)
    od = other._data if isinstance(other, Tensor) else other
    d = t._data
    if isinstance(od, float) and d.dtype.kind != "f":
        raise RuntimeError(
            f"{name}(): result type float can't be cast to the tensor's dtype {d.dtype} in place; "
            "convert the tensor first, e.g. x = x.float()"
        )
    try:
        ufunc(d, od, out=d)
    except _UFUNC_ERRORS as exc:
        oshape = np.shape(od)
        raise RuntimeError(
            f"{name}(): cannot apply in place to a tensor of shape {tuple(d.shape)} and dtype "
            f"{d.dtype} with an operand of shape {tuple(oshape)} ({exc}); the result must keep the "
            "tensor's shape and dtype"
        ) from None
    _bump(t)
    return t


def setitem(t: Tensor, idx: Any, value: Any) -> None:
    """``t[idx] = value``, recorded as ``index_put`` when autograd is recording."""
    from .ops.index import index_put, normalize_index

    if tracked(t, (value,)):
        inplace(t, "setitem", lambda a, v: index_put(a, idx, v), value)
        return
    _check_leaf(t, "setitem")
    nidx = normalize_index(idx)
    vd = value._data if isinstance(value, Tensor) else value
    try:
        t._data[nidx] = vd
    except ValueError as exc:
        raise RuntimeError(f"setitem: {exc} (tensor shape {tuple(t._data.shape)})") from None
    _bump(t)
