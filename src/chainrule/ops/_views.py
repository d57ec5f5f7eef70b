"""Views: ops whose result shares its input's memory, and how history follows writes.

A view (``x[0]``, ``x.t()``, ``x.view(...)``, ``x.diagonal()``...) shares its
base's storage and version counter, and remembers the chain of view ops that
makes it from the base (``Tensor._vfn``).  Two things follow, as in PyTorch:

* **Writing through a view** (``v = b[0]; v.mul_(w)``) changes the base, so the
  base's history must change too: its new ``grad_fn`` is ``CopySlices`` --
  "the old base, with the view's elements replaced by the in-place result".
  Its VJP sends the cotangent outside the view to the old base and the
  cotangent inside it to the result.
* **A view whose base was written** (by any in-place op, on the base or on
  another view) still points at the base's old history.  On its next use it is
  regenerated (``refresh`` in ``_core``): a node reading its elements from the
  base's current history, named ``AsStridedBackward0`` as in PyTorch.

Both work on *positions*: running the view chain on ``arange(base.numel())``
gives, for every element of the view, its flat index in the base.  Gathering
and scattering at those positions is exact for any composition of view ops.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .._tensor import Tensor, wrap
from ..autograd.grad_mode import state as _grad_state
from ._core import Primitive, _record, apply, fail
from ._dims import norm_dim
from .index import apply_index_add
from .shape import reshape

__all__ = ["positions", "replay", "copy_slices", "as_strided", "diagonal", "unfold"]


def _arr(a: Any) -> np.ndarray:
    return a._data if isinstance(a, Tensor) else np.asarray(a)


def positions(base_shape: tuple[int, ...], chain: tuple) -> np.ndarray:
    """For each element of the view made by ``chain``, its flat (C-order) index in the base."""
    p = np.arange(math.prod(base_shape), dtype=np.int64).reshape(base_shape)
    for op, params in chain:
        p = op.forward(p, **params)
    return np.asarray(p)


def _take(x: Any, *, pos: np.ndarray) -> np.ndarray:
    return np.reshape(x, (-1,))[pos]


def _take_vjp(g: Any, x_shape: tuple[int, ...], pos: np.ndarray) -> Any:
    """Scatter-add the cotangent back to the positions it was read from (repeats accumulate)."""
    return reshape(apply_index_add(g, (math.prod(x_shape),), (pos,)), x_shape)


# A regenerated view: the elements at ``pos`` of its base's current value.
REPLAY = Primitive("ViewReplay", _take, public="as_strided")
REPLAY.defvjp(_take_vjp)
REPLAY.defjvp(lambda t, pos: apply(REPLAY, (t,), {"pos": pos}))
REPLAY.node_cls.__name__ = REPLAY.node_cls.__qualname__ = "AsStridedBackward0"


def _copy_slices(base: np.ndarray, src: Any, *, pos: np.ndarray) -> np.ndarray:
    out = np.array(base, copy=True, order="C")
    out.reshape(-1)[pos] = src
    return out


COPY_SLICES = Primitive("CopySlices", _copy_slices, broadcasts=True)
COPY_SLICES.defvjp(
    lambda g, pos: apply(COPY_SLICES, (g, 0.0), {"pos": pos}),  # outside the view: the old base
    lambda g, pos: apply(REPLAY, (g,), {"pos": pos}),  # inside it: the written values
)
COPY_SLICES.defjvp(
    lambda t, pos: apply(COPY_SLICES, (t, 0.0), {"pos": pos}),
    lambda t, base_shape, pos: apply(COPY_SLICES, (np.zeros(base_shape, _arr(t).dtype), t), {"pos": pos}),
)
COPY_SLICES.node_cls.__name__ = COPY_SLICES.node_cls.__qualname__ = "CopySlices"


def _history(op: Primitive, args: tuple, params: dict, data: np.ndarray) -> Tensor:
    """A tensor over ``data`` whose node is ``op`` on ``args``, without running the forward.

    In-place writes already put the values in place; only the history is missing."""
    out = wrap(data)
    if any(isinstance(a, Tensor) and a._rg for a in args):
        _record(op, out, args, params, data)
    return out


def replay(base: Tensor, chain: tuple, data: np.ndarray, traced: bool) -> Tensor:
    """The view ``chain`` of ``base``'s current history (``data``: the view's own array)."""
    params = {"pos": positions(base._data.shape, chain)}
    if traced:  # someone watches ops (the compiler): compute it for real
        return apply(REPLAY, (base,), params)
    return _history(REPLAY, (base,), params, data)


def copy_slices(base_alias: Tensor, chain: tuple, res: Tensor, traced: bool) -> Tensor:
    """The base after its view ``chain`` was overwritten with ``res`` (values already written
    unless ``traced``, in which case the new base is computed by the op)."""
    params = {"pos": positions(base_alias._data.shape, chain)}
    if traced:
        return apply(COPY_SLICES, (base_alias, res), params)
    return _history(COPY_SLICES, (base_alias, res), params, base_alias._data)


def refresh_view(view: Tensor) -> None:
    """Regenerate the history of a view whose base was modified in place after it was made.

    Its values are already right (the storage is shared); its ``grad_fn`` still leads to the
    base's old history.  Under grad mode the view gets a new node reading its elements from
    the base's current history (``AsStridedBackward0``, as PyTorch names it); without a
    graph to build, the view is left for later.
    """
    from .._inplace import notify, take
    from ..autograd import _levels

    chain = view._vfn[0]
    base = view._base
    if _levels.state.stack and _levels.has_levels(base):  # under a transform: rebind (see _inplace)
        take(view, replay(base, chain, view._data, traced=True))
        view._vfn = (chain, view._vc[0])
        return
    hooked = notify.active()
    if not (base._rg or view._rg) and not hooked:
        view._vfn = (chain, view._vc[0])  # nothing recorded on either side: nothing to redo
        return
    if not _grad_state.grad_enabled and not hooked:
        return
    multi = view._get_meta("multi_view")
    if multi is not None and _grad_state.grad_enabled:
        raise fail(
            f"a view returned by {multi} (shape {tuple(view._data.shape)}) is used after its base or "
            "another view of its base was modified in place. It is one of several views returned "
            f"together by {multi}, whose history cannot be regenerated; modify a .clone() instead, "
            "or take the pieces again after the in-place op."
        )
    new = replay(base, chain, view._data, traced=hooked)
    if _grad_state.grad_enabled:  # (else the history stays stale until grad mode wants it)
        view.grad_fn = new.grad_fn
        view._rg = new._rg
        view._vfn = (chain, view._vc[0])
    if hooked:
        notify(view, new)


# ======================================================= strided view ops
def _as_strided_forward(x: np.ndarray, *, size: tuple, stride: tuple, offset: int) -> np.ndarray:
    if not x.flags.c_contiguous:  # not a view of x then: gather the same positions
        pos = _as_strided_forward(np.arange(x.size, dtype=np.int64), size=size, stride=stride, offset=offset)
        return np.reshape(x, (-1,))[pos]
    flat = x.reshape(-1)[offset:]
    return np.lib.stride_tricks.as_strided(
        flat, size, tuple(s * x.itemsize for s in stride), writeable=x.flags.writeable
    )


def _diagonal_forward(x: np.ndarray, *, offset: int, dim1: int, dim2: int) -> np.ndarray:
    d = np.diagonal(x, offset, dim1, dim2)  # read-only by NumPy's choice; PyTorch's is writable
    if not d.size or not x.flags.writeable:
        return d
    start = [slice(None)] * x.ndim  # a writable view of x that begins at the first diagonal element
    start[dim2 if offset >= 0 else dim1] = slice(abs(offset), None)
    return np.lib.stride_tricks.as_strided(x[tuple(start)], d.shape, d.strides)


def _unfold_forward(x: np.ndarray, *, dim: int, size: int, step: int) -> np.ndarray:
    w = np.lib.stride_tricks.sliding_window_view(x, size, axis=dim, writeable=x.flags.writeable)
    return w[(slice(None),) * dim + (slice(None, None, step),)]


AS_STRIDED = Primitive("AsStrided", _as_strided_forward, view=True)
DIAGONAL = Primitive("Diagonal", _diagonal_forward, view=True)
UNFOLD = Primitive("Unfold", _unfold_forward, view=True)


def _gathered(op: Primitive, x_shape: tuple, **params: Any) -> np.ndarray:
    return positions(x_shape, ((op, params),))


# Each gathers elements, so each VJP scatter-adds at the gathered positions.
AS_STRIDED.defvjp(
    lambda g, x_shape, size, stride, offset: _take_vjp(
        g, x_shape, _gathered(AS_STRIDED, x_shape, size=size, stride=stride, offset=offset)
    )
)
DIAGONAL.defvjp(
    lambda g, x_shape, offset, dim1, dim2: _take_vjp(
        g, x_shape, _gathered(DIAGONAL, x_shape, offset=offset, dim1=dim1, dim2=dim2)
    )
)
UNFOLD.defvjp(
    lambda g, x_shape, dim, size, step: _take_vjp(
        g, x_shape, _gathered(UNFOLD, x_shape, dim=dim, size=size, step=step)
    )
)
AS_STRIDED.defjvp(
    lambda t, size, stride, offset: apply(AS_STRIDED, (t,), dict(size=size, stride=stride, offset=offset))
)
DIAGONAL.defjvp(
    lambda t, offset, dim1, dim2: apply(DIAGONAL, (t,), dict(offset=offset, dim1=dim1, dim2=dim2))
)
UNFOLD.defjvp(lambda t, dim, size, step: apply(UNFOLD, (t,), dict(dim=dim, size=size, step=step)))


def as_strided(x: Any, size: Any, stride: Any, storage_offset: int = 0) -> Any:
    """A view with the given sizes and strides (in elements) over ``x``'s contiguous layout.

    PyTorch counts from the start of the underlying storage; here the storage is ``x``'s own
    elements in C order, which is the same for a contiguous tensor that starts its storage."""
    size = tuple(int(s) for s in size)
    stride = tuple(int(s) for s in stride)
    offset = int(storage_offset)
    if len(size) != len(stride):
        raise fail(f"as_strided(): mismatch in length of strides and shape ({len(stride)} vs {len(size)})")
    numel = math.prod(_arr(x).shape)
    last = offset + sum((n - 1) * s for n, s in zip(size, stride)) if all(size) else offset - 1
    if offset < 0 or any(s < 0 for s in stride) or last >= numel:
        raise fail(
            f"as_strided(): size {size}, stride {stride} and storage offset {offset} reach element "
            f"{last}, out of bounds for a tensor of {numel} elements"
        )
    return apply(AS_STRIDED, (x,), {"size": size, "stride": stride, "offset": offset})


def diagonal(x: Any, offset: int = 0, dim1: int = 0, dim2: int = 1) -> Any:
    """The diagonal of ``x`` over (dim1, dim2), appended as the last dimension (a view)."""
    n = _arr(x).ndim
    d1, d2 = norm_dim(dim1, n, "diagonal"), norm_dim(dim2, n, "diagonal")
    if d1 == d2:
        raise fail(f"diagonal(): dimensions dim1 and dim2 cannot be identical, got {dim1} and {dim2}")
    return apply(DIAGONAL, (x,), {"offset": int(offset), "dim1": d1, "dim2": d2})


def unfold(x: Any, dimension: int, size: int, step: int) -> Any:
    """All slices of length ``size`` along ``dimension``, ``step`` apart, in a new last dim (a view)."""
    shape = _arr(x).shape
    d = norm_dim(dimension, max(len(shape), 1), "unfold")
    n = shape[d] if shape else 1
    if size < 0 or size > n:
        raise fail(f"unfold(): maximum size for tensor at dimension {d} is {n} but size is {size}")
    if step <= 0:
        raise fail(f"unfold(): step is {step} but must be > 0")
    if not shape:
        return reshape(x, (1,))
    return apply(UNFOLD, (x,), {"dim": d, "size": int(size), "step": int(step)})
