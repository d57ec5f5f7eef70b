"""Shape ops: reshape, permute, broadcast, repeat, concatenation, flip (pad: ``padding.py``).

All of them are linear, so each VJP is another shape op (the "transpose"):
reshape <-> reshape back, permute <-> inverse permutation, broadcast_to <->
sum_to, cat <-> slices, pad <-> crop.  Ops that return NumPy views are marked
``view=True`` so the result shares its base's version counter.
"""

from __future__ import annotations

import math
from typing import Any, Sequence

import numpy as np

from .._tensor import Tensor
from ._core import Primitive, apply, fail
from ._dims import norm_dim, norm_dims, pick, sizes_arg


def _shape(x: Any) -> tuple[int, ...]:
    return x._data.shape if isinstance(x, Tensor) else np.shape(x)


def _ndim(x: Any) -> int:
    return len(_shape(x))


# ===================================================================== reshape
def _reshape_forward(x: np.ndarray, *, shape: tuple[int, ...]) -> np.ndarray:
    return np.reshape(x, shape)


RESHAPE = Primitive("View", _reshape_forward, public="reshape", view=True)
RESHAPE.defvjp(lambda g, x_shape: reshape(g, x_shape))
RESHAPE.defjvp(lambda t, shape: reshape(t, shape))


def _infer_shape(shape: tuple[int, ...], numel: int, op: str) -> tuple[int, ...]:
    if shape.count(-1) > 1:
        raise fail(f"{op}(): only one dimension can be inferred (-1), got {shape}", RuntimeError)
    known = math.prod(s for s in shape if s != -1)
    if -1 in shape:
        if known == 0 or numel % known:
            raise fail(f"{op}(): shape {shape} is invalid for input of size {numel}")
        shape = tuple(numel // known if s == -1 else s for s in shape)
    elif known != numel:
        raise fail(f"{op}(): shape {shape} is invalid for input of size {numel}")
    return shape


def reshape(x: Any, *shape: Any) -> Any:
    """A tensor with the same values in a new shape (``-1`` infers one size)."""
    new = sizes_arg(shape, "reshape")
    old = _shape(x)
    if new == old:
        return x if not isinstance(x, Tensor) else apply(RESHAPE, (x,), {"shape": new})
    new = _infer_shape(new, math.prod(old), "reshape")
    return apply(RESHAPE, (x,), {"shape": new})


def view(x: Any, *shape: Any) -> Any:
    """``reshape`` that never copies: refused, as in PyTorch, when the strides of ``x`` cannot
    express the new shape (``x.t().view(-1)``); ``reshape`` copies then."""
    if len(shape) == 1 and not isinstance(shape[0], (int, tuple, list, np.integer)):
        from .elementwise import cast

        return cast(x, shape[0])  # x.view(dtype) spelled as a cast for numeric dtypes
    if isinstance(x, Tensor) and x._base is not None:
        new = _infer_shape(sizes_arg(shape, "view"), math.prod(_shape(x)), "view")
        _check_viewable(x, new)
    return reshape(x, *shape)


def _check_viewable(x: Tensor, new: tuple[int, ...]) -> None:
    """A view's NumPy strides are PyTorch's when its base is C-contiguous (every view op maps
    strides the same way in both); other tensors are contiguous in PyTorch, where any view works."""
    base = x._base._data
    if not base.flags.c_contiguous or base.dtype != x._data.dtype:
        return
    item = x._data.itemsize
    if view_strides(x._data.shape, tuple(s // item for s in x._data.strides), new) is None:
        raise fail(
            f"view(): view size is not compatible with input tensor's size and stride (at least one "
            f"dimension spans across two contiguous subspaces): shape {tuple(x._data.shape)} with "
            f"strides {tuple(s // item for s in x._data.strides)} cannot be viewed as {new}. "
            "Use .reshape(...) instead."
        )


def view_strides(old: tuple, strides: tuple, new: tuple) -> tuple | None:
    """The strides (in elements) of ``new`` over the memory of a tensor of shape ``old`` with
    ``strides``, or None when there are none.  Each group of new dims must cover a run of old
    dims that are contiguous with each other (dim i's stride = dim i+1's stride x its size;
    size-1 dims join any run).  PyTorch's rule (``computeStride``)."""
    if math.prod(old) == 0 or not old:  # an empty or 0-d tensor: any layout will do
        return tuple(int(math.prod(new[i + 1 :])) for i in range(len(new)))
    out = [0] * len(new)
    vd = len(new) - 1
    base = strides[-1]
    old_numel = view_numel = 1
    for d in range(len(old) - 1, -1, -1):
        old_numel *= old[d]
        if d == 0 or (old[d - 1] != 1 and strides[d - 1] != old_numel * base):  # a run ends at d
            while vd >= 0 and (view_numel < old_numel or new[vd] == 1):
                out[vd] = view_numel * base
                view_numel *= new[vd]
                vd -= 1
            if view_numel != old_numel:
                return None
            if d > 0:
                base = strides[d - 1]
                old_numel = view_numel = 1
    return tuple(out) if vd == -1 else None


def flatten(x: Any, start_dim: int = 0, end_dim: int = -1) -> Any:
    shape = _shape(x)
    if not shape:
        norm_dim(start_dim, 0, "flatten")
        norm_dim(end_dim, 0, "flatten")
        return reshape(x, (1,))
    s = norm_dim(start_dim, len(shape), "flatten")
    e = norm_dim(end_dim, len(shape), "flatten")
    if s > e:
        raise fail("flatten(): start_dim cannot come after end_dim", RuntimeError)
    return reshape(x, shape[:s] + (math.prod(shape[s : e + 1]),) + shape[e + 1 :])


def unflatten(x: Any, dim: int, sizes: Sequence[int]) -> Any:
    shape = _shape(x)
    d = norm_dim(dim, len(shape), "unflatten")
    sizes = _infer_shape(tuple(sizes), shape[d], "unflatten")
    return reshape(x, shape[:d] + tuple(sizes) + shape[d + 1 :])


# Reshapes under PyTorch's node names (the forward and rules are View's).
SQUEEZE = RESHAPE.variant("Squeeze")
SQUEEZE_DIM = RESHAPE.variant("SqueezeDim", "SqueezeBackward1")
SQUEEZE_DIMS = RESHAPE.variant("SqueezeDims", "SqueezeBackward2")
UNSQUEEZE = RESHAPE.variant("Unsqueeze")


def squeeze(x: Any, dim: Any = None) -> Any:
    """Remove size-1 dimensions (all of them, or those in ``dim``; others are left alone)."""
    shape = _shape(x)
    if dim is None:
        dims = tuple(i for i, s in enumerate(shape) if s == 1)
        op = SQUEEZE
    else:
        dims = tuple(d for d in norm_dims(dim, len(shape), "squeeze") if shape[d] == 1)
        op = SQUEEZE_DIMS if isinstance(dim, (tuple, list)) else SQUEEZE_DIM
    return apply(op, (x,), {"shape": tuple(s for i, s in enumerate(shape) if i not in dims)})


def unsqueeze(x: Any, dim: int) -> Any:
    """Insert a size-1 dimension at ``dim`` (negative counts from the end of the result)."""
    shape = _shape(x)
    d = norm_dim(dim, len(shape) + 1, "unsqueeze")
    return apply(UNSQUEEZE, (x,), {"shape": shape[:d] + (1,) + shape[d:]})


# ===================================================================== permute
def _permute_forward(x: np.ndarray, *, dims: tuple[int, ...]) -> np.ndarray:
    return np.transpose(x, dims)


PERMUTE = Primitive("Permute", _permute_forward, view=True)
PERMUTE.defvjp(lambda g, dims: permute(g, tuple(np.argsort(dims))))
PERMUTE.defjvp(lambda t, dims: permute(t, dims))
TRANSPOSE = PERMUTE.variant("Transpose")  # PyTorch's names for the same op
T_2D = PERMUTE.variant("T")


def _need_dims(x: Any, k: int, op: str) -> None:
    """PyTorch's RuntimeError for an input with fewer than ``k`` dimensions."""
    if _ndim(x) < k:
        raise fail(f"{op}(): expects at least a {k}-dimensional tensor, got shape {_shape(x)}", RuntimeError)


def permute(x: Any, *dims: Any) -> Any:
    n = _ndim(x)
    dims = sizes_arg(dims, "permute")
    if len(dims) != n:
        raise fail(f"permute(): {len(dims)} dims {tuple(dims)} for an input of shape {_shape(x)} "
                   f"({n} dimensions); give one per dimension", RuntimeError)
    d = tuple(norm_dim(i, n, "permute") for i in dims)
    if sorted(d) != list(range(n)):
        raise fail(f"permute(): dims {d} are not a permutation of the {n} dimensions", RuntimeError)
    return apply(PERMUTE, (x,), {"dims": d})


def transpose(x: Any, dim0: int, dim1: int) -> Any:
    n = _ndim(x)
    if n == 0:
        return x if not isinstance(x, Tensor) else apply(RESHAPE, (x,), {"shape": ()})
    a, b = norm_dim(dim0, n, "transpose"), norm_dim(dim1, n, "transpose")
    order = list(range(n))
    order[a], order[b] = order[b], order[a]
    return apply(TRANSPOSE, (x,), {"dims": tuple(order)})


swapaxes = swapdims = transpose


def t(x: Any) -> Any:
    """Transpose of a tensor with at most 2 dimensions."""
    n = _ndim(x)
    if n > 2:
        raise fail(f"t(): expects a tensor with <= 2 dimensions, got {n}; use transpose()")
    return apply(T_2D, (x,), {"dims": (1, 0) if n == 2 else tuple(range(n))})


def T(x: Any) -> Any:
    """All dimensions reversed."""
    n = _ndim(x)
    return x if n < 2 else apply(PERMUTE, (x,), {"dims": tuple(range(n - 1, -1, -1))})


def mT(x: Any) -> Any:
    return transpose(x, -2, -1)


def movedim(x: Any, source: Any, destination: Any) -> Any:
    n = _ndim(x)
    def listed(v: Any) -> list:
        return list(v) if isinstance(v, (list, tuple)) else [v]

    src = [norm_dim(s, n, "movedim") for s in listed(source)]
    dst = [norm_dim(s, n, "movedim") for s in listed(destination)]
    order = [i for i in range(n) if i not in src]
    for d, s in sorted(zip(dst, src)):
        order.insert(d, s)
    return apply(PERMUTE, (x,), {"dims": tuple(order) if n else ()})  # 0-d: dims 0/-1 name no axis


# =================================================================== broadcast
def _broadcast_forward(x: np.ndarray, *, shape: tuple[int, ...]) -> np.ndarray:
    return np.broadcast_to(x, shape)


BROADCAST_TO = Primitive("Expand", _broadcast_forward, public="expand", view=True)
BROADCAST_TO.defvjp(lambda g, x_shape: sum_to(g, x_shape))
BROADCAST_TO.defjvp(lambda t, shape: broadcast_to(t, shape))


def broadcast_to(x: Any, shape: Sequence[int]) -> Any:
    shape = tuple(int(s) for s in shape)
    if _shape(x) == shape:  # a new view, never x itself (PyTorch; matters under no_grad)
        return x if not isinstance(x, Tensor) else apply(RESHAPE, (x,), {"shape": shape})
    old = _shape(x)
    if len(old) > len(shape) or any(
        o != s and o != 1 for o, s in zip(old[::-1], shape[::-1])
    ):
        raise fail(
            f"expand(): the shape {old} cannot be expanded to {shape} (sizes must match or be 1, "
            "and new dimensions go in front)"
        )
    return apply(BROADCAST_TO, (x,), {"shape": shape})


def expand(x: Any, *sizes: Any) -> Any:
    """Broadcast to ``sizes`` without copying; -1 keeps a dimension's size."""
    sizes = sizes_arg(sizes, "expand")
    old = _shape(x)
    lead = len(sizes) - len(old)
    if lead < 0:
        raise fail(f"expand(): the number of sizes {len(sizes)} is less than the tensor's "
                   f"{len(old)} dimensions")
    shape = tuple(old[i - lead] if s == -1 and i >= lead else s for i, s in enumerate(sizes))
    return broadcast_to(x, shape)


def expand_as(x: Any, other: Any) -> Any:
    return broadcast_to(x, _shape(other))


def broadcast_shapes(*shapes: Sequence[int]) -> tuple[int, ...]:
    try:
        return tuple(np.broadcast_shapes(*[tuple(s) for s in shapes]))
    except ValueError:
        raise fail(f"broadcast_shapes(): shapes {shapes} are not broadcastable") from None


def broadcast_tensors(*tensors: Any) -> tuple:
    shape = broadcast_shapes(*[_shape(t) for t in tensors])
    return tuple(broadcast_to(t, shape) for t in tensors)


def sum_to(g: Any, shape: tuple[int, ...]) -> Any:
    """Sum ``g`` over the dimensions that broadcasting added or stretched, back to ``shape``.

    The one place where broadcasting is undone for every op's gradient.
    """
    gshape = _shape(g)
    if gshape == shape:
        return g
    lead = len(gshape) - len(shape)
    axes = tuple(range(lead)) + tuple(
        lead + i for i, s in enumerate(shape) if s == 1 and gshape[lead + i] != 1
    )
    from .reduce import sum as _sum

    out = _sum(g, axes, keepdim=True) if axes else g
    return reshape(out, shape) if _shape(out) != shape else out


# ====================================================================== repeat
def _repeat_forward(x: np.ndarray, *, repeats: tuple[int, ...]) -> np.ndarray:
    return np.tile(x, repeats)


def _repeat_vjp(g: Any, x_shape: tuple[int, ...], repeats: tuple[int, ...]) -> Any:
    base = (1,) * (len(repeats) - len(x_shape)) + tuple(x_shape)
    split = []
    for r, s in zip(repeats, base):
        split += [r, s]
    from .reduce import sum as _sum

    summed = _sum(reshape(g, tuple(split)), tuple(range(0, 2 * len(base), 2)))
    return reshape(summed, x_shape)


REPEAT = Primitive("Repeat", _repeat_forward).defvjp(_repeat_vjp)
REPEAT.defjvp(lambda t, repeats: repeat(t, *repeats))


def repeat(x: Any, *repeats: Any) -> Any:
    """Tile ``x``: ``repeats`` has one count per dimension (at least ``x.ndim`` of them)."""
    reps = sizes_arg(repeats, "repeat")
    if len(reps) < _ndim(x):
        raise fail(
            f"repeat(): number of repeat counts ({len(reps)}) cannot be smaller than the number "
            f"of dimensions ({_ndim(x)})"
        )
    return apply(REPEAT, (x,), {"repeats": reps})


def tile(x: Any, dims: Sequence[int]) -> Any:
    dims = tuple(dims)
    return repeat(x, (1,) * (_ndim(x) - len(dims)) + dims)


def repeat_interleave(x: Any, repeats: int, dim: int | None = None) -> Any:
    if dim is None:
        x, dim = reshape(x, (-1,)), 0
    n = _ndim(x)
    d = norm_dim(dim, n, "repeat_interleave")
    shape = _shape(x)
    y = unsqueeze(x, d + 1)
    y = expand(y, *(shape[: d + 1] + (int(repeats),) + shape[d + 1 :]))
    return reshape(y, shape[:d] + (shape[d] * int(repeats),) + shape[d + 1 :])


# ========================================================================= cat
def _cat_forward(*xs: np.ndarray, dim: int) -> np.ndarray:
    return np.concatenate(xs, axis=dim)


def _cat_vjp(g: Any, xs_shape: tuple, dim: int) -> tuple:
    out = []
    start = 0
    lead = (slice(None),) * dim
    from .index import getitem

    for s in xs_shape:
        stop = start + s[dim]
        out.append(getitem(g, lead + (slice(start, stop),)))
        start = stop
    return tuple(out)


CAT = Primitive("Cat", _cat_forward).defvjp_all(_cat_vjp)


def _cat_jvp(ts: tuple, xs: tuple, dim: int) -> Any:
    from .elementwise import zeros_like_any

    return cat([t if t is not None else zeros_like_any(x) for t, x in zip(ts, xs)], dim)


CAT.defjvp_all(_cat_jvp)


def cat(tensors: Sequence[Any], dim: int = 0, *, axis: int | None = None) -> Any:
    """Join tensors along an existing dimension (empty 1-d tensors are skipped, as in PyTorch)."""
    tensors = list(tensors)
    if not tensors:
        raise fail("cat(): expected a non-empty list of tensors", ValueError)
    dim = pick(dim if axis is None else None, axis, 0)
    keep = [t for t in tensors if _shape(t) != (0,)] or tensors[:1]
    n = _ndim(keep[0])
    if n == 0:
        raise fail("cat(): zero-dimensional tensors cannot be concatenated; use stack()")
    d = norm_dim(dim, n, "cat")
    ref = _shape(keep[0])
    for i, t in enumerate(keep):
        s = _shape(t)
        if len(s) != n or any(a != b for j, (a, b) in enumerate(zip(s, ref)) if j != d):
            raise fail(
                f"cat(): sizes of tensors must match except in dimension {d}; tensor 0 has shape "
                f"{ref} and tensor {i} has shape {s}"
            )
    if len(keep) > 1:
        from .. import dtypes as _dt
        from .elementwise import cast

        dts = {np.dtype(t._data.dtype if isinstance(t, Tensor) else np.asarray(t).dtype) for t in keep}
        if len(dts) > 1:
            target = _dt.result_type(*[t._data if isinstance(t, Tensor) else np.asarray(t) for t in keep])
            keep = [cast(t, target) for t in keep]
    out = apply(CAT, tuple(keep), {"dim": d})
    dropped = [t for t in tensors if _shape(t) == (0,) and isinstance(t, Tensor) and t.requires_grad]
    if dropped and not out.requires_grad:  # a skipped empty input still makes the result need grad
        out = out + dropped[0].sum() * 0
    return out


concat = concatenate = cat


def stack(tensors: Sequence[Any], dim: int = 0, *, axis: int | None = None) -> Any:
    """Join same-shaped tensors along a new dimension."""
    tensors = list(tensors)
    if not tensors:
        raise fail("stack(): expected a non-empty list of tensors", ValueError)
    dim = pick(dim if axis is None else None, axis, 0)
    ref = _shape(tensors[0])
    for i, t in enumerate(tensors):
        if _shape(t) != ref:
            raise fail(
                f"stack(): expects each tensor to be equal size, but got {ref} at entry 0 and "
                f"{_shape(t)} at entry {i}"
            )
    d = norm_dim(dim, len(ref) + 1, "stack")
    return cat([unsqueeze(t, d) for t in tensors], d)


def hstack(tensors: Sequence[Any]) -> Any:
    tensors = [reshape(t, (1,)) if _ndim(t) == 0 else t for t in tensors]  # atleast_1d
    return cat(tensors, 0 if _ndim(tensors[0]) == 1 else 1)


def vstack(tensors: Sequence[Any]) -> Any:
    return cat([reshape(t, (1, -1)) if _ndim(t) <= 1 else t for t in tensors], 0)


def _slice_dim(x: Any, dim: int, start: int, stop: int) -> Any:
    from .index import getitem

    return getitem(x, (slice(None),) * dim + (slice(start, stop),))


def split(x: Any, split_size_or_sections: Any, dim: int = 0) -> tuple:
    """Split into chunks of a given size, or into the given list of sizes."""
    _need_dims(x, 1, "split")
    shape = _shape(x)
    d = norm_dim(dim, len(shape), "split")
    n = shape[d]
    if isinstance(split_size_or_sections, (list, tuple)):
        sizes = [int(s) for s in split_size_or_sections]
        if sum(sizes) != n:
            raise fail(f"split(): sizes {sizes} do not add up to {n} (dimension {d})")
    else:
        step = int(split_size_or_sections)
        if step <= 0:
            raise fail(f"split(): split size must be positive, got {step}", ValueError)
        sizes = [min(step, n - i) for i in range(0, n, step)] or [0]
    from .index import SPLIT, SPLIT_WITH_SIZES, pieces

    op = SPLIT_WITH_SIZES if isinstance(split_size_or_sections, (list, tuple)) else SPLIT
    lead = (slice(None),) * d
    starts = np.cumsum([0] + sizes[:-1])
    return pieces(x, op, [lead + (slice(int(a), int(a) + s),) for a, s in zip(starts, sizes)])


def chunk(x: Any, chunks: int, dim: int = 0) -> tuple:
    _need_dims(x, 1, "chunk")
    n = _shape(x)[norm_dim(dim, _ndim(x), "chunk")]
    if chunks <= 0:
        raise fail(f"chunk(): chunks must be positive, got {chunks}", ValueError)
    if n == 0:  # like PyTorch: `chunks` empty pieces
        return tuple(_slice_dim(x, norm_dim(dim, _ndim(x), "chunk"), 0, 0) for _ in range(chunks))
    return split(x, max(1, -(-n // chunks)), dim)


def unbind(x: Any, dim: int = 0) -> tuple:
    from .index import UNBIND, pieces

    d = norm_dim(dim, _ndim(x), "unbind")
    return pieces(x, UNBIND, [(slice(None),) * d + (i, Ellipsis) for i in range(_shape(x)[d])])


def narrow(x: Any, dim: int, start: int, length: int) -> Any:
    _need_dims(x, 1, "narrow")
    d = norm_dim(dim, _ndim(x), "narrow")
    size = _shape(x)[d]
    start = int(start) + size if start < 0 else int(start)
    if not 0 <= start <= size or length < 0 or start + int(length) > size:
        raise fail(f"narrow(): start {start} and length {length} exceed dimension {d} of size {size}",
                   IndexError)
    return _slice_dim(x, d, start, start + int(length))


# ======================================================================== flip
def _flip_forward(x: np.ndarray, *, dims: tuple[int, ...]) -> np.ndarray:
    return np.flip(x, dims).copy()  # a copy, as in PyTorch: writing to it must not change x


FLIP = Primitive("Flip", _flip_forward)
FLIP.defvjp(lambda g, dims: flip(g, dims))
FLIP.defjvp(lambda t, dims: flip(t, dims))


def flip(x: Any, dims: Any) -> Any:
    d = norm_dims(dims, _ndim(x), "flip")
    return apply(FLIP, (x,), {"dims": d})


def fliplr(x: Any) -> Any:
    return flip(x, (1,))


def flipud(x: Any) -> Any:
    return flip(x, (0,))


def roll(x: Any, shifts: Any, dims: Any = None) -> Any:
    if dims is None:
        return reshape(roll(reshape(x, (-1,)), shifts, 0), _shape(x))
    shifts = shifts if isinstance(shifts, (list, tuple)) else (shifts,)
    dims = dims if isinstance(dims, (list, tuple)) else (dims,)
    out = x
    for s, d in zip(shifts, dims):
        d = norm_dim(d, _ndim(x), "roll")
        n = _shape(x)[d]
        if n == 0:
            continue
        s = int(s) % n
        if s:
            out = cat([_slice_dim(out, d, n - s, n), _slice_dim(out, d, 0, n - s)], d)
    return clone(out) if out is x else out  # a new tensor even for a zero shift, as in PyTorch


# ====================================================================== clone
CLONE = Primitive("Clone", lambda x: np.array(x, copy=True)).defvjp(lambda g: g)
CLONE.defjvp(lambda t: t)


def clone(x: Any, *, memory_format: Any = None) -> Any:
    return apply(CLONE, (x,))


def contiguous(x: Any, memory_format: Any = None) -> Any:
    d = x._data if isinstance(x, Tensor) else np.asarray(x)
    return x if d.flags.c_contiguous else apply(CLONE, (x,))


def view_as(x: Any, other: Any) -> Any:
    return view(x, _shape(other))


def reshape_as(x: Any, other: Any) -> Any:
    return reshape(x, _shape(other))


def atleast_1d(x: Any) -> Any:
    return reshape(x, (1,)) if _ndim(x) == 0 else x


def atleast_2d(x: Any) -> Any:
    n = _ndim(x)
    return reshape(x, (1,) * (2 - n) + _shape(x)) if n < 2 else x


def meshgrid(*tensors: Any, indexing: str = "ij") -> tuple:
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        tensors = tuple(tensors[0])
    if indexing not in ("ij", "xy"):
        raise fail(f"meshgrid(): indexing must be 'ij' or 'xy', got {indexing!r}", ValueError)
    ts = list(tensors)
    if indexing == "xy" and len(ts) >= 2:
        ts[0], ts[1] = ts[1], ts[0]
    sizes = tuple(_shape(t)[0] if _ndim(t) else 1 for t in ts)
    out = []
    for i, t in enumerate(ts):
        shape = [1] * len(ts)
        shape[i] = sizes[i]
        out.append(broadcast_to(reshape(t, tuple(shape)), sizes))
    if indexing == "xy" and len(out) >= 2:
        out[0], out[1] = out[1], out[0]
    return tuple(out)


from .padding import PAD, pad, pad_  # noqa: E402,F401  (re-exported: ops.shape.pad)
