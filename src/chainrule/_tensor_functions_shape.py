"""More of ``torch``'s shape and indexing functions, composed from the op table: NumPy-style
stacking and splitting, the ``*_copy`` forms of the view ops (a view, then a copy), the
``*_scatter`` inverses of the views (out-of-place writes through them), ``put``,
``index_reduce``, and integer helpers (``unravel_index``, ``tril_indices``, ``nonzero_static``).
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

import numpy as np

from . import _tensor_functions as _functions
from . import ops
from ._tensor import Tensor, wrap
from .ops import complex as _cx
from .ops._core import fail, structural
from .ops._dims import norm_dim
from .ops.elementwise import cast

__all__ = [
    "moveaxis",
    "ravel",
    "column_stack",
    "row_stack",
    "dstack",
    "atleast_1d",
    "atleast_2d",
    "atleast_3d",
    "tensor_split",
    "hsplit",
    "vsplit",
    "dsplit",
    "split_with_sizes",
    "unsafe_split",
    "unsafe_chunk",
    "unsafe_split_with_sizes",
    "slice_scatter",
    "select_scatter",
    "diagonal_scatter",
    "as_strided_scatter",
    "put",
    "index_reduce",
    "fill",
    "unravel_index",
    "tril_indices",
    "triu_indices",
    "nonzero_static",
    "detach",
]


def _shape(x: Any) -> tuple[int, ...]:
    return tuple(x._data.shape)


def moveaxis(input: Any, source: Any, destination: Any) -> Any:  # noqa: A002
    """``movedim``'s NumPy name."""
    return ops.movedim(input, source, destination)


def ravel(input: Any) -> Any:  # noqa: A002
    """The elements in one dimension (a copy only when they are not contiguous)."""
    return ops.reshape(input, (-1,))


def detach(input: Any) -> Any:  # noqa: A002
    """``input.detach()``."""
    return input.detach()


def _tensors(tensors: Any, op: str) -> list:
    if isinstance(tensors, Tensor):
        raise fail(f"{op}(): expected a sequence of tensors, got a single Tensor", TypeError)
    return list(tensors)


def column_stack(tensors: Sequence[Any]) -> Any:
    """Stack as columns: 0-d and 1-d tensors become (n, 1) columns, then ``hstack``."""
    ts = _tensors(tensors, "column_stack")
    return ops.hstack([ops.reshape(t, (-1, 1)) if t._data.ndim <= 1 else t for t in ts])


def row_stack(tensors: Sequence[Any]) -> Any:
    """``vstack``'s other name."""
    return ops.vstack(_tensors(tensors, "row_stack"))


def _3d(t: Any) -> Any:
    n = t._data.ndim
    if n == 0:
        return ops.reshape(t, (1, 1, 1))
    if n == 1:
        return ops.reshape(t, (1, -1, 1))
    return ops.unsqueeze(t, -1) if n == 2 else t


def _atleast(view: Any, tensors: tuple) -> Any:
    """PyTorch's forms: one tensor gives one view, several tensors (or one list/tuple of them)
    a tuple of views."""
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        return tuple(view(t) for t in tensors[0])
    out = tuple(view(t) for t in tensors)
    return out[0] if len(out) == 1 else out


def atleast_1d(*tensors: Any) -> Any:
    """Views with at least one dim: () -> (1,)."""
    return _atleast(ops.atleast_1d, tensors)


def atleast_2d(*tensors: Any) -> Any:
    """Views with at least two dims: () -> (1, 1), (n,) -> (1, n)."""
    return _atleast(ops.atleast_2d, tensors)


def atleast_3d(*tensors: Any) -> Any:
    """Views with at least three dims: () -> (1, 1, 1), (n,) -> (1, n, 1), (m, n) -> (m, n, 1)."""
    return _atleast(_3d, tensors)


def dstack(tensors: Sequence[Any]) -> Any:
    """Stack along the third dim (after ``atleast_3d``)."""
    return ops.cat([_3d(t) for t in _tensors(tensors, "dstack")], 2)


# -------------------------------------------------------------------- splitting
def _piece(x: Any, d: int, a: int, b: int) -> Any:
    return x[(slice(None),) * d + (slice(a, b),)]


def tensor_split(input: Any, indices_or_sections: Any, dim: int = 0) -> tuple:  # noqa: A002
    """Views split along ``dim``: into n nearly equal parts (the first ``size % n`` one longer),
    or at the given indices (as NumPy's ``array_split``)."""
    x = input
    if x._data.ndim == 0:
        raise fail("tensor_split(): expected at least a 1-dimensional tensor, got a 0-d one", RuntimeError)
    d = norm_dim(dim, x._data.ndim, "tensor_split")
    spec = indices_or_sections
    if isinstance(spec, Tensor):
        if spec._data.dtype.kind not in "iu" or spec._data.ndim > 1:
            raise fail(
                "tensor_split(): indices_or_sections must be a 0-d or 1-d long tensor, got "
                f"dtype {spec._data.dtype} and shape {tuple(spec._data.shape)}",
                RuntimeError,
            )
        spec = int(spec) if spec._data.ndim == 0 else [int(i) for i in spec._data]
    n = x._data.shape[d]
    if isinstance(spec, int):
        if spec <= 0:
            raise fail(f"tensor_split(): number of sections must be larger than 0, got {spec}", RuntimeError)
        q, r = divmod(n, spec)
        bounds = np.cumsum([0] + [q + 1] * r + [q] * (spec - r)).tolist()
    else:
        bounds = [0] + [int(i) for i in spec] + [n]
    out = []
    for a, b in zip(bounds[:-1], bounds[1:]):
        a, b = min(max(a + n if a < 0 else a, 0), n), min(max(b + n if b < 0 else b, 0), n)
        out.append(_piece(x, d, a, max(a, b)))
    return tuple(out)


def _dir_split(op: str, dim: int, need: int, x: Any, spec: Any) -> tuple:
    if x._data.ndim < need:
        raise fail(
            f"{op}(): torch.{op} requires a tensor with at least {need} dimension, but got a "
            f"tensor with {x._data.ndim} dimensions!",
            RuntimeError,
        )
    if isinstance(spec, int) and spec > 0 and x._data.shape[dim] % spec:
        raise fail(
            f"{op}(): torch.{op} attempted to split along dimension {dim}, but the size of the "
            f"dimension {x._data.shape[dim]} is not divisible by the split_size {spec}!",
            RuntimeError,
        )
    return tensor_split(x, spec, dim)


def hsplit(input: Any, indices_or_sections: Any) -> tuple:  # noqa: A002
    """Split along dim 1 (dim 0 for 1-D input)."""
    return _dir_split("hsplit", 1 if input._data.ndim > 1 else 0, 1, input, indices_or_sections)


def vsplit(input: Any, indices_or_sections: Any) -> tuple:  # noqa: A002
    """Split along dim 0 of a tensor of at least 2 dims."""
    return _dir_split("vsplit", 0, 2, input, indices_or_sections)


def dsplit(input: Any, indices_or_sections: Any) -> tuple:  # noqa: A002
    """Split along dim 2 of a tensor of at least 3 dims."""
    return _dir_split("dsplit", 2, 3, input, indices_or_sections)


def split_with_sizes(input: Any, split_sizes: Sequence[int], dim: int = 0) -> tuple:  # noqa: A002
    """Views of the given sizes along ``dim`` (they must add up to its length)."""
    _one_dim(input, "split_with_sizes")
    d = norm_dim(dim, input._data.ndim, "split_with_sizes")
    if sum(split_sizes) != input._data.shape[d]:
        raise fail(
            f"split_with_sizes(): split_sizes must add up to {input._data.shape[d]} (the size of "
            f"dim {dim} of the input of shape {_shape(input)}), got {list(split_sizes)}",
            RuntimeError,
        )
    return ops.split(input, list(split_sizes), d)


def _one_dim(x: Any, op: str) -> None:
    if x._data.ndim == 0:
        raise fail(f"{op}(): split expects at least a 1-dimensional tensor, got shape ()", RuntimeError)


def _unsafe(pieces: tuple) -> tuple:
    """``split``'s pieces without their multi-output mark, so that they may be written in place
    while autograd records (each is then an ordinary slice of the input)."""
    for p in pieces:
        if p._meta:
            p._meta.pop("multi_view", None)
    return pieces


def unsafe_split(input: Any, split_size: int, dim: int = 0) -> tuple:  # noqa: A002
    """``split`` whose pieces may be written in place while autograd records."""
    _one_dim(input, "unsafe_split")
    return _unsafe(ops.split(input, int(split_size), dim))


def unsafe_chunk(input: Any, chunks: int, dim: int = 0) -> tuple:  # noqa: A002
    """``chunk`` whose pieces may be written in place while autograd records."""
    _one_dim(input, "unsafe_chunk")
    if chunks <= 0:
        raise fail(
            f"unsafe_chunk(): chunk expects `chunks` to be greater than 0, got: {chunks}", RuntimeError
        )
    return _unsafe(ops.chunk(input, chunks, dim))


def unsafe_split_with_sizes(input: Any, split_sizes: Sequence[int], dim: int = 0) -> tuple:  # noqa: A002
    """``split_with_sizes`` whose pieces may be written in place while autograd records."""
    return _unsafe(split_with_sizes(input, split_sizes, dim))


# --------------------------------------------------- writes through views, out of place
def slice_scatter(
    input: Any, src: Any, dim: int = 0, start: Any = None, end: Any = None, step: int = 1
) -> Any:  # noqa: A002
    """``input`` with ``src`` written into ``input[..., start:end:step, ...]`` (along ``dim``)."""
    _not_0d(input, "slice_scatter", "slice")
    d = norm_dim(dim, input._data.ndim, "slice_scatter")
    return _scatter_into(input, (slice(None),) * d + (slice(start, end, step),), src, "slice_scatter")


def select_scatter(input: Any, src: Any, dim: int, index: int) -> Any:  # noqa: A002
    """``input`` with ``src`` written into ``input.select(dim, index)``."""
    _not_0d(input, "select_scatter", "select")
    d = norm_dim(dim, input._data.ndim, "select_scatter")
    n = input._data.shape[d]
    if not -n <= index < n:
        raise fail(
            f"select_scatter(): index {index} out of range for tensor of size "
            f"{_shape(input)} at dimension {dim}",
            IndexError,
        )
    return _scatter_into(input, (slice(None),) * d + (index,), src, "select_scatter")


def _not_0d(x: Any, op: str, view: str) -> None:
    if x._data.ndim == 0:
        raise fail(f"{op}(): {view}() cannot be applied to a 0-dim tensor (input shape ())", IndexError)


def _scatter_into(x: Any, idx: tuple, src: Any, op: str) -> Any:
    want = np.empty(_shape(x), dtype=bool)[idx].shape
    if _shape(src) != want:
        raise fail(
            f"{op}(): expected src to have a size equal to the slice of self. src size = "
            f"{list(_shape(src))}, slice size = {list(want)} (input shape {_shape(x)}, src shape "
            f"{_shape(src)})",
            RuntimeError,
        )
    return ops.index_put(x, idx, src)


def diagonal_scatter(input: Any, src: Any, offset: int = 0, dim1: int = 0, dim2: int = 1) -> Any:  # noqa: A002
    """``input`` with ``src`` written into ``input.diagonal(offset, dim1, dim2)``."""
    nd = input._data.ndim
    d1, d2 = norm_dim(dim1, nd, "diagonal_scatter"), norm_dim(dim2, nd, "diagonal_scatter")
    y = ops.movedim(input, (d1, d2), (nd - 2, nd - 1))
    rows, cols = y._data.shape[-2:]
    lo, hi = max(-offset, 0), max(offset, 0)
    k = max(min(rows - lo, cols - hi), 0)
    i = structural(np.arange(k) + lo)
    out = _scatter_into(y, (Ellipsis, i, structural(np.arange(k) + hi)), src, "diagonal_scatter")
    return ops.movedim(out, (nd - 2, nd - 1), (d1, d2))


def as_strided_scatter(
    input: Any,
    src: Any,
    size: Sequence[int],
    stride: Sequence[int],  # noqa: A002
    storage_offset: int | None = None,
) -> Any:
    """``input`` (as a contiguous tensor) with ``src`` written into ``input.as_strided(size,
    stride, storage_offset)``."""
    size, stride = tuple(size), tuple(stride)
    pos = np.full(size, storage_offset or 0, dtype=np.int64)
    for k, (n, s) in enumerate(zip(size, stride)):
        shape = [1] * len(size)
        shape[k] = n
        pos = pos + (np.arange(n) * s).reshape(shape)
    n = int(np.prod(_shape(input)))
    if pos.size and (pos.min() < 0 or pos.max() >= n):
        raise fail(
            f"as_strided_scatter(): index {int(pos.max())} is out of bounds for dimension 0 with size "
            f"{n}: size {list(size)}, stride {list(stride)} and storage offset {storage_offset or 0} reach "
            f"outside the input of shape {_shape(input)}",
            IndexError,
        )
    if _shape(src) != size:
        raise fail(
            f"as_strided_scatter(): expected src of shape {size}, got {_shape(src)} (input shape "
            f"{_shape(input)})",
            RuntimeError,
        )
    flat = ops.index_put(ops.reshape(input, (-1,)), (structural(pos.reshape(-1)),), ops.reshape(src, (-1,)))
    return ops.reshape(flat, _shape(input))


def put(input: Any, index: Any, source: Any, accumulate: bool = False) -> Any:  # noqa: A002
    """``input`` with ``source`` written at the flat positions ``index`` (added up with
    ``accumulate``); negative positions count from the end."""
    n = int(np.prod(_shape(input)))
    idx = index._data.reshape(-1)
    if idx.size and (idx.min() < -n or idx.max() >= n):
        bad = int(idx[(idx < -n) | (idx >= n)][0])
        raise fail(
            f"put(): out of range: tried to access index {bad} on a tensor of {n} elements.", IndexError
        )
    if source._data.dtype != input._data.dtype:
        raise fail(
            f"put(): self and source expected to have the same dtype, but got self.dtype = {input.dtype} and "
            f"source.dtype = {source.dtype}",
            RuntimeError,
        )
    if index._data.size != source._data.size:
        raise fail(
            f"put(): Expected source and index to have the same number of elements, but got "
            f"source.numel() = {source._data.size}, index.numel() = {index._data.size}",
            RuntimeError,
        )
    flat = _functions.index_put(
        ops.reshape(input, (-1,)), (ops.reshape(index, (-1,)),), ops.reshape(source, (-1,)), accumulate
    )
    return ops.reshape(flat, _shape(input))


def index_reduce(
    input: Any, dim: int, index: Any, source: Any, reduce: str, *, include_self: bool = True
) -> Any:  # noqa: A002
    """Reduce the slices of ``source`` along ``dim`` into ``input`` at the positions ``index``
    (prod, mean, amax or amin), with or without ``input``'s own values."""
    if reduce not in ("prod", "mean", "amax", "amin"):
        raise fail(
            f"index_reduce(): Expected reduce to be one of prod, mean, amax or amin but got {reduce}.",
            RuntimeError,
        )
    nd = input._data.ndim
    if nd == 0:
        what = (
            f"Dimension specified as {dim} but tensor has no dimensions"
            if dim in (0, -1)
            else f"dimension out of range (expected to be in range of [-1, 0], but got {dim})"
        )
        raise fail(f"index_reduce(): {what} (input shape ())", IndexError)
    d = norm_dim(dim, nd, "index_reduce")
    if index._data.ndim > 1:
        raise fail(
            f"index_reduce(): Index is supposed to be a vector, got shape {tuple(index._data.shape)}",
            IndexError,
        )
    n = source._data.shape[d] if source._data.ndim else 1
    if index._data.size != n:
        raise fail(
            f"index_reduce(): Number of indices ({index._data.size}) should be equal to source.size(dim): "
            f"({n}), for dim: {dim} (source shape {_shape(source)})",
            RuntimeError,
        )
    shape = [1] * nd
    shape[d] = -1
    idx = ops.contiguous(ops.expand(ops.reshape(index, tuple(shape)), *_shape(source)))
    return _functions.scatter_reduce(input, d, idx, source, reduce, include_self=include_self)


def fill(input: Any, value: Any) -> Any:  # noqa: A002
    """A tensor like ``input`` holding ``value`` everywhere (the gradient flows to a tensor value)."""
    if isinstance(value, Tensor):
        if value._data.ndim:
            raise fail(
                f"fill(): fill only supports 0-dimension value tensor but got tensor with "
                f"{value._data.ndim} dimensions.",
                RuntimeError,
            )
        value = cast(value, input._data.dtype)
    return ops.where(structural(np.ones(_shape(input), dtype=bool)), value, input)


# ----------------------------------------------------------------- integer helpers
def unravel_index(indices: Any, shape: Any) -> tuple:
    """The coordinates in ``shape`` of flat ``indices`` (a tuple of int64 tensors); as in PyTorch the
    arithmetic is floor division and modulo, so -1 is the last element and nothing is bounds-checked."""
    if isinstance(shape, int):
        shape = (shape,)
    shape = tuple(int(s) for s in shape)
    a = indices._data if isinstance(indices, Tensor) else np.asarray(indices)
    if a.dtype.kind not in "iu":
        raise fail(f"unravel_index(): expected 'indices' to be integer dtype, but got {a.dtype}", TypeError)
    if any(s < 0 for s in shape):
        raise fail(f"unravel_index(): 'shape' cannot have negative values, but got {shape}", ValueError)
    if a.size and 0 in shape:
        raise fail(f"unravel_index(): cannot unravel into the empty shape {shape}", RuntimeError)
    rem, coords = a.astype(np.int64), []
    for n in reversed(shape):
        coords.append(rem % n if n else rem)
        rem = rem // n if n else rem
    return tuple(wrap(np.asarray(c, dtype=np.int64)) for c in reversed(coords))


def _triangle(op: str, np_fn: Callable, row: int, col: int, offset: int, dtype: Any) -> Tensor:
    from . import dtypes as _dt

    if row < 0 or col < 0:
        raise fail(f"{op}(): row and col must be non-negative, got row={row}, col={col}", RuntimeError)
    npd = _dt.to_numpy(dtype) if dtype is not None else np.dtype(np.int64)
    if npd.kind not in "iu":
        raise fail(f'{op}(): "{op}" not implemented for dtype {npd}; use an integer dtype', RuntimeError)
    return wrap(np.stack(np_fn(row, offset, col)).astype(npd).reshape(2, -1))


def tril_indices(
    row: int, col: int, offset: int = 0, *, dtype: Any = None, device: Any = None, layout: Any = None
) -> Tensor:
    """The (2, N) coordinates of the lower triangle of a row x col matrix (row by row)."""
    return _triangle("tril_indices", np.tril_indices, row, col, offset, dtype)


def triu_indices(
    row: int, col: int, offset: int = 0, *, dtype: Any = None, device: Any = None, layout: Any = None
) -> Tensor:
    """The (2, N) coordinates of the upper triangle of a row x col matrix (row by row)."""
    return _triangle("triu_indices", np.triu_indices, row, col, offset, dtype)


def nonzero_static(input: Any, *, size: int, fill_value: int = -1) -> Tensor:  # noqa: A002
    """``nonzero`` with exactly ``size`` rows: cut off, or padded with ``fill_value``."""
    if size < 0:
        raise fail(f"nonzero_static(): nonzero_static 'size' must be non-negative, got {size}", RuntimeError)
    a = input._data
    found = np.argwhere(a).astype(np.int64)[:size]
    out = np.full((size, a.ndim), fill_value, dtype=np.int64)
    out[: len(found)] = found
    return wrap(out)


# ------------------------------------------------------ the *_copy forms of the views
def _slice_view(input: Any, dim: int = 0, start: Any = None, end: Any = None, step: int = 1) -> Any:  # noqa: A002
    _not_0d(input, "slice_copy", "slice")
    d = norm_dim(dim, input._data.ndim, "slice_copy")
    return input[(slice(None),) * d + (slice(start, end, step),)]


def _narrow_view(input: Any, dim: int, start: int, length: int) -> Any:  # noqa: A002
    if input._data.ndim == 0:
        raise fail(
            "narrow_copy(): narrow() cannot be applied to a 0-dim tensor (input shape ())", RuntimeError
        )
    d = norm_dim(dim, input._data.ndim, "narrow_copy")
    n = input._data.shape[d]
    if not -n <= int(start) <= n:
        raise fail(
            f"narrow_copy(): start out of range (expected to be in range of [{-n}, {n}], but got {start}) "
            f"(input shape {_shape(input)})",
            IndexError,
        )
    start = int(start) + n if int(start) < 0 else int(start)
    if length < 0 or start + length > n:
        raise fail(
            f"narrow_copy(): start ({start}) + length ({length}) exceeds dimension size ({n}). (input shape "
            f"{_shape(input)})",
            RuntimeError,
        )
    return ops.narrow(input, d, start, length)


def _view_any(input: Any, *size: Any) -> Any:  # noqa: A002
    return input.view(*size)


def _copying(name: str, view: Callable) -> Callable:
    def fn(input: Any, *args: Any, **kwargs: Any) -> Any:  # noqa: A002
        out = view(input, *args, **kwargs)
        return tuple(ops.clone(o) for o in out) if isinstance(out, (tuple, list)) else ops.clone(out)

    fn.__name__ = name
    fn.__doc__ = f"A copy of ``{view.__name__}``'s view (its own memory, the same values and gradient)."
    return fn


_VIEWS: dict[str, Callable] = {
    "alias": lambda input: input,
    "as_strided": ops.as_strided,
    "detach": detach,
    "diagonal": ops.diagonal,
    "expand": lambda input, size, *, implicit=False: ops.expand(input, *size),
    "narrow": _narrow_view,
    "permute": lambda input, dims: ops.permute(input, *dims),
    "select": ops.select,
    "slice": _slice_view,
    "split": ops.split,
    "split_with_sizes": split_with_sizes,
    "squeeze": ops.squeeze,
    "t": ops.t,
    "transpose": ops.transpose,
    "unbind": ops.unbind,
    "unfold": ops._unfold,
    "unsqueeze": ops.unsqueeze,
    "view_as_complex": _cx.view_as_complex,
    "view_as_real": _cx.view_as_real,
    "view": _view_any,
}
for _name, _view in _VIEWS.items():
    globals()[_name + "_copy"] = _copying(_name + "_copy", _view)
__all__ += [n + "_copy" for n in _VIEWS]


def histogramdd(
    input: Any, bins: Any, *, range: Any = None, weight: Any = None, density: bool = False
) -> Any:  # noqa: A002
    """The D-dimensional histogram of the points in the last dim of ``input`` (..., D): bins as
    one count, one count per dim or the edges per dim; ``(hist, bin_edges)``."""
    from ._counting import return_types

    a = input._data
    if a.ndim < 1:
        raise fail(
            "histogramdd(): torch.histogramdd: input tensor should have at least 1 dimension", RuntimeError
        )
    dims = a.shape[-1]
    pts = a.reshape(-1, dims)
    if isinstance(bins, int):
        bins = [bins] * dims
    if len(bins) != dims:
        raise fail(
            f"histogramdd(): expected {dims} sequences of bin edges (or bin counts), one per dimension of "
            f"the points, got {len(bins)}",
            RuntimeError,
        )
    edges = []
    for k, b in enumerate(bins):
        if isinstance(b, Tensor):
            edges.append(b._data.astype(a.dtype))
            continue
        if range is not None:
            lo, hi = float(range[2 * k]), float(range[2 * k + 1])
        else:
            lo, hi = (float(pts[:, k].min()), float(pts[:, k].max())) if len(pts) else (0.0, 0.0)
        if lo == hi:
            lo, hi = lo - 0.5, hi + 0.5
        edges.append(np.linspace(lo, hi, int(b) + 1).astype(a.dtype))
    w = None if weight is None else weight._data.reshape(-1)
    hist, _ = np.histogramdd(pts, bins=[e.astype(np.float64) for e in edges], weights=w, density=density)
    if not hasattr(return_types, "histogramdd"):
        from collections import namedtuple

        return_types.histogramdd = namedtuple("histogramdd", ["hist", "bin_edges"])
    return return_types.histogramdd(wrap(hist.astype(a.dtype)), [wrap(e) for e in edges])


__all__ += ["histogramdd"]


from ._naming import name_all  # noqa: E402

name_all(globals(), __all__)  # their errors name them (cov(): matmul(): ...)
