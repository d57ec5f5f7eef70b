"""In-place operations: same object, same storage, new values, bumped version.

When no graph is being recorded (grad mode off, or nothing requires grad) an
in-place op writes straight into the array (``np.add(a, b, out=a)``): this is
what optimizer steps and ``w.data[:] -= lr * w.grad`` use.

When a graph *is* being recorded, the op is computed out of place from an
alias that carries the tensor's current history, the result is copied into
the tensor's storage, and the tensor's ``grad_fn`` moves to the new node
("rebasing").  If the new node saved the alias, the alias keeps a snapshot of
the old values.  Tensors saved earlier see the version bump and refuse to be
used in backward.

Views share storage and version counter with their base (``ops._views``).
Writing through a view rewrites the base's history (``CopySlices``) and
regenerates the view's; other views of the base regenerate theirs when next
used.  As in PyTorch, refused: writing a leaf that requires grad (or a view of
one) while recording, and writing one of several views returned together
(``unbind``, ``split``, ``chunk``) while recording.

Under a transform (a forward-mode ``dual_level`` or ``vmap``) a tensor carrying a
tangent or a batch takes the out-of-place result whole: its data, history and
transform payloads are rebound to the result's (its storage is not written, so
views taken earlier keep the old values; transformed code is functional anyway).

Observers (the compiler's tracer) register with ``add_inplace_hook``: while one
is installed every in-place op takes the recorded path, so it runs as ops.
"""

from __future__ import annotations

import sys
from typing import Any, Callable

import numpy as np

from ._tensor import Tensor, wrap
from .autograd import _levels
from .autograd._inference import inference_error
from .autograd.grad_mode import state as _grad_state
from .autograd.graph import next_seq

__all__ = ["inplace", "inplace_ufunc", "setitem", "tracked", "add_inplace_hook", "notify", "refresh"]


class _Notify:
    """The in-place hooks: ``hook(t, src)`` says "tensor ``t`` now stands for ``src``'s value
    and history" -- after an in-place write to ``t``, after a write through a view rewrote
    its base ``t``, after a view ``t`` was regenerated, and when an alias ``t`` of ``src``
    is made to carry its old history."""

    def __init__(self) -> None:
        self.hooks: list[Callable[[Tensor, Tensor], None]] = []

    def active(self) -> bool:
        return bool(self.hooks)

    def __call__(self, t: Tensor, src: Tensor) -> None:
        for hook in list(self.hooks):
            hook(t, src)


notify = _Notify()


def add_inplace_hook(hook: Callable[[Tensor, Tensor], None]) -> Callable[[], None]:
    """Call ``hook(t, src)`` on every in-place rebinding (see ``_Notify``); returns a remover.

    While a hook is installed, in-place ops always run as recorded ops (out of place, then
    copied into the storage), also under ``no_grad``, so an op wrapper sees them."""
    notify.hooks.append(hook)

    def remove() -> None:
        for i, h in enumerate(notify.hooks):
            if h is hook:
                del notify.hooks[i]
                break

    return remove


def refresh(t: Tensor) -> None:
    """Regenerate a view's history if its base was written since it was made (else nothing)."""
    if t._base is not None and t._vfn[1] != t._vc[0]:
        from .ops._core import refresh as _refresh

        _refresh(t)


def _check_leaf(t: Tensor, name: str) -> None:
    if t._rg and t.grad_fn is None and _grad_state.grad_enabled:
        raise RuntimeError(
            f"{name}(): in-place operation on a leaf tensor that requires grad (shape "
            f"{tuple(t._data.shape)}); it would change a value autograd needs. Do it inside "
            "`with chainrule.no_grad():` (e.g. for a parameter update), or use an out-of-place op."
        )


def _check_view(t: Tensor, name: str) -> None:
    """The writes through a view that PyTorch refuses while recording."""
    multi = t._get_meta("multi_view")
    if multi is not None:
        raise RuntimeError(
            f"{name}(): output of {multi} is a view and is being modified in place. This view is one "
            f"of several returned together by {multi}, and such views cannot be modified in place "
            "while autograd records; use an out-of-place op, or .clone() the piece first."
        )
    base = t._base
    if base._rg and base.grad_fn is None:
        raise RuntimeError(
            f"{name}(): a view of a leaf tensor that requires grad (view shape "
            f"{tuple(t._data.shape)}, leaf shape {tuple(base._data.shape)}) is being used in an "
            "in-place operation. Do it inside `with chainrule.no_grad():`, or clone the leaf first "
            "(x = leaf.clone()) and write into the clone."
        )


def _records(t: Tensor, args: tuple) -> bool:
    if type(t._vc) is not list and not _grad_state.inference:
        raise inference_error("Inplace update to")
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
    if notify.hooks:
        notify(a, t)
    return a


def _transformed(t: Tensor, args: tuple) -> bool:
    """True when a transform level is active and ``t`` or an argument carries its payload."""
    if not _levels.state.stack:
        return False
    return _levels.has_levels(t) or any(_levels.has_levels(a) for a in args if isinstance(a, Tensor))


def _rebind(t: Tensor, name: str, compute: Callable[..., Any], args: tuple) -> Tensor:
    """In-place under a transform: ``t`` becomes the out-of-place result (data, history, payloads).

    A view also rebinds its base to CopySlices(base, result), so that writes through views reach
    the base's value, tangent and batch as they do its storage outside transforms."""
    res = compute(_payload_alias(t), *args)
    if res._data.shape != t._data.shape:
        raise _shape_error(name, t, res._data.shape)
    take(t, res)
    if t._base is not None:
        from .ops._views import copy_slices

        base = t._base
        take(base, copy_slices(_payload_alias(base), t._vfn[0], res, traced=True))
    _bump(t)
    if t._base is not None:
        t._vfn = (t._vfn[0], t._vc[0])
    return t


def _payload_alias(t: Tensor) -> Tensor:
    """An alias of ``t`` that also carries its transform payloads (tangent, batch)."""
    alias = _alias(t)  # stands for the old value, in case the new node saved it
    if t._meta and "tx" in t._meta:
        alias._set_meta("tx", dict(t._meta["tx"]))
    return alias


def take(t: Tensor, res: Tensor) -> None:
    """Rebind ``t`` to ``res``: its data, history and transform payloads (not its storage)."""
    t._data = res._data.astype(t._data.dtype, copy=False)
    t.grad_fn = res.grad_fn
    t._rg = res._rg
    tx = res._meta.get("tx") if res._meta else None
    if tx:
        t._set_meta("tx", dict(tx))
    elif t._meta and "tx" in t._meta:
        del t._meta["tx"]


def tracked(t: Tensor, args: tuple) -> bool:
    """Must an in-place op on ``t`` with ``args`` go through ``inplace`` (graph, transform, hook)?

    False means it may write straight into the array (the optimizer-step fast path)."""
    if t._base is not None:
        refresh(t)  # a stale view may require grad by now
    return _records(t, args) or _transformed(t, args) or bool(notify.hooks)


def inplace(t: Tensor, name: str, compute: Callable[..., Any], *args: Any) -> Tensor:
    """Apply ``compute(t, *args)`` (an out-of-place op) to ``t`` in place; returns ``t``."""
    _check_leaf(t, name)
    if t._base is not None:
        refresh(t)
    if _transformed(t, args):
        return _rebind(t, name, compute, args)
    hooked = bool(notify.hooks)
    recording = _records(t, args)
    if not hooked and not recording:
        from .autograd.grad_mode import no_grad

        with no_grad():
            res = compute(t, *args)
        _write(t, res._data if isinstance(res, Tensor) else np.asarray(res), name)
        _bump(t)
        return t
    if t._base is not None and _grad_state.grad_enabled:
        _check_view(t, name)
    alias = _alias(t)
    first = next_seq()
    res = compute(alias, *args)
    if not isinstance(res, Tensor):
        res = wrap(np.asarray(res))
    if _saves(res.grad_fn, alias._vc, first):
        alias._data = alias._data.copy()  # a node needs the old values: keep a snapshot
    if t._base is not None:
        _write_view(t, res, name, recording, hooked)
        return t
    _write(t, res._data, name)
    _bump(t)
    if recording:
        t.grad_fn = res.grad_fn
        t._rg = res._rg
    if hooked:
        notify(t, res)
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


def _write_view(view: Tensor, res: Tensor, name: str, recording: bool, hooked: bool) -> None:
    """``view`` got new values ``res``: the base's history becomes CopySlices(old base, res) and
    the view's is regenerated from it (PyTorch's semantics)."""
    from .ops._views import copy_slices, replay

    base = view._base
    chain = view._vfn[0]
    if hooked:  # the new base computed by ops, so that an op wrapper sees it
        new_base = copy_slices(_alias(base), chain, res, traced=True)
        _write(base, new_base._data, name)
    else:
        _write(view, res._data, name)
        new_base = copy_slices(_alias(base), chain, res, traced=False) if recording else None
    _bump(base)
    if recording:
        base.grad_fn = new_base.grad_fn
        base._rg = new_base._rg
    if hooked:
        notify(base, new_base)
    if recording or hooked:
        new_view = replay(base, chain, view._data, traced=hooked)
        if recording:
            view.grad_fn = new_view.grad_fn
            view._rg = new_view._rg
        if hooked:
            notify(view, new_view)
    view._vfn = (chain, view._vc[0])


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
    except (ValueError, IndexError) as exc:  # a bad index stays an IndexError, as in PyTorch
        cls = IndexError if isinstance(exc, IndexError) else RuntimeError
        raise cls(f"setitem: {exc} (tensor shape {tuple(t._data.shape)})") from None
    _bump(t)


# ======================================================= in-place view ops
# PyTorch names the nodes of the in-place forms apart (``y.t_()`` -> TBackward1).
_VIEW_NODE_NAMES = {
    "SqueezeBackward0": "SqueezeBackward3",
    "SqueezeBackward1": "SqueezeBackward4",
    "SqueezeBackward2": "SqueezeBackward5",
    "UnsqueezeBackward0": "UnsqueezeBackward1",
    "TBackward0": "TBackward1",
    "TransposeBackward0": "TransposeBackward1",
    "AsStridedBackward0": "AsStridedBackward1",
}
_renamed: dict[type, type] = {}


def _renamed_node(node: Any) -> Any:
    cls = type(node)
    name = _VIEW_NODE_NAMES.get(cls.__name__)
    if name is not None:
        sub = _renamed.get(cls)
        if sub is None:  # same layout (no slots), so the node can change class
            sub = _renamed[cls] = type(name, (cls,), {"__slots__": ()})
        node.__class__ = sub
    return node


def _check_view_op(t: Tensor, name: str) -> None:
    """PyTorch's refusals for an in-place view op while grad mode is on (its words first)."""
    shape = tuple(t._data.shape)
    if t._base is None:
        if t._rg and t.grad_fn is None:
            raise RuntimeError(
                f"a leaf Variable that requires grad is being used in an in-place operation. "
                f"{name}() on a leaf of shape {shape}: do it inside `with chainrule.no_grad():`, "
                "or on a copy (x.clone()) or x.detach()"
            )
        return
    multi = t._get_meta("multi_view")
    if multi is not None:
        _check_view(t, name)
    if t._base._rg and t._base.grad_fn is None:
        raise RuntimeError(
            f"a view of a leaf Variable that requires grad is being used in an in-place operation. "
            f"{name}() on a view of shape {shape} of a leaf of shape {tuple(t._base._data.shape)}: "
            "do it inside `with chainrule.no_grad():`, or use the out-of-place op"
        )


def inplace_view(t: Tensor, name: str, compute: Callable[..., Any], *args: Any) -> Tensor:
    """``t`` becomes the view ``compute(t, *args)`` of itself (``squeeze_``, ``t_``, ...).

    Same storage and version counter, new shape and strides; the version is bumped (PyTorch
    bumps it too) and, in grad mode, the history is the view op on the old one.  A view's
    chain grows by the op; views taken earlier of a base ``t`` are re-expressed in its new
    layout, since view chains count positions in the base's own shape."""
    if t._base is not None:
        refresh(t)
    views = t._base is None and _vc_refs(t) > _VC_ALONE  # (a base whose counter no view shares)
    grad = _grad_state.grad_enabled
    if grad:
        _check_view_op(t, name)
    res = compute(_payload_alias(t), *args)
    if res._data.size and not np.may_share_memory(res._data, t._data):
        raise RuntimeError(
            f"{name}(): chainrule counts strides over a tensor's own elements in C order, and this "
            f"tensor (shape {tuple(t._data.shape)}) is not contiguous, so the result would be a copy, "
            "not a view; call .contiguous() first"
        )
    step = res._vfn[0] if res._base is not None else ()
    old_shape = t._data.shape
    if views and step:
        _relink_views(t, old_shape, step, name)
    t._data = res._data
    if _transformed(t, args):
        take(t, res)
    elif grad:
        t.grad_fn = None if res.grad_fn is None else _renamed_node(res.grad_fn)
        t._rg = res._rg
    _bump(t)
    if t._base is not None:  # under no_grad a view's history stays stale, regenerated later
        t._vfn = (t._vfn[0] + step, t._vc[0] if grad else t._vfn[1])
    if notify.hooks:
        notify(t, res)
    return t


def _vc_refs(t: Tensor) -> int:
    """References to ``t``'s version counter: every view of ``t`` (and alias) holds one."""
    return sys.getrefcount(t._vc)


_VC_ALONE = _vc_refs(wrap(np.empty(0)))  # a tensor nothing shares its counter with


def _relink_views(t: Tensor, old_shape: tuple, step: tuple, name: str) -> None:
    """Views of ``t`` made earlier count positions in ``t``'s old shape: give each the single
    step that gathers its elements from ``t``'s new layout.  (No registry of views exists, so
    they are found through the garbage collector's referrers: only called when something else
    holds ``t``'s version counter, as every view does.)"""
    import gc

    from .ops._views import REPLAY, positions

    views = [o for o in gc.get_referrers(t) if isinstance(o, Tensor) and o._base is t]
    if not views:
        return
    moved = positions(old_shape, step).reshape(-1)  # old position of each new element
    where = np.full(int(np.prod(old_shape)), -1, dtype=np.int64)
    where[moved] = np.arange(moved.size)
    for v in views:
        pos = where[positions(old_shape, v._vfn[0])]
        if (pos < 0).any() or np.unique(moved).size != moved.size:
            raise RuntimeError(
                f"{name}(): a view of shape {tuple(v._data.shape)} taken earlier of this tensor "
                f"(shape {tuple(old_shape)}) reads elements the new layout (shape "
                f"{tuple(positions(old_shape, step).shape)}) does not hold once each; chainrule "
                "cannot follow it. Take the view after the in-place op, or use the out-of-place op"
            )
        v._vfn = (((REPLAY, {"pos": pos}),), v._vfn[1])
