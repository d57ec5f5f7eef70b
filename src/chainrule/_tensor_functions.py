"""Everyday tensor functions composed from the op table (no derivative code of their own):
diff, diag_embed, diagflat, kron, rot90, lerp, addcmul, addcdiv, nan_to_num, addmv, addbmm,
baddbmm, chain_matmul, cartesian_prod, combinations, block_diag, cdist.

Each is a few differentiable ops, so gradients (of any order), forward mode and ``vmap``
come from the primitives they use.
"""

from __future__ import annotations

import itertools
from typing import Any, Sequence

import numpy as np

from . import _kernel_dtypes as _kd
from . import dtypes as _dt
from . import ops
from ._tensor import Tensor
from .ops._core import fail, structural
from .ops._dims import norm_dim

__all__ = [
    "diff",
    "diag_embed",
    "diagflat",
    "kron",
    "rot90",
    "lerp",
    "addcmul",
    "addcdiv",
    "nan_to_num",
    "addmv",
    "addbmm",
    "baddbmm",
    "chain_matmul",
    "cartesian_prod",
    "combinations",
    "block_diag",
    "cdist",
    "index_copy",
    "index_fill",
    "masked_scatter",
    "scatter_reduce",
    "index_put_",
]


def _shape(x: Any) -> tuple[int, ...]:
    return x._data.shape if isinstance(x, Tensor) else np.shape(x)


def diff(x: Any, n: int = 1, dim: int = -1, prepend: Any = None, append: Any = None) -> Any:
    """The n-th forward difference along ``dim`` (after concatenating ``prepend``/``append``,
    which have x's number of dims and its sizes except along ``dim``)."""
    shape = tuple(_shape(x))
    if not shape:
        raise fail(
            "diff(): expects input to be at least one-dimensional, got a 0-d tensor (shape ()); "
            "use x.reshape(1) or x.unsqueeze(0)",
            RuntimeError,
        )
    if n < 0:
        raise fail(f"diff(): order must be non-negative but got {n}", RuntimeError)
    d = norm_dim(dim, len(shape), "diff")
    for name, p in (("prepend", prepend), ("append", append)):
        if p is not None and len(_shape(p)) != len(shape):
            raise fail(
                f"diff(): expects prepend or append to be the same dimension as input, got {name} of "
                f"shape {tuple(_shape(p))} for an input of shape {shape}; reshape it to {len(shape)}-d",
                RuntimeError,
            )
    parts = [p for p in (prepend, x, append) if p is not None]
    if len(parts) > 1:
        x = ops.cat(parts, d)
    for _ in range(n):
        m = _shape(x)[d]
        if m == 0:
            break
        a, b = ops.narrow(x, d, 1, m - 1), ops.narrow(x, d, 0, m - 1)
        x = ops.logical_xor(a, b) if x._data.dtype.kind == "b" else ops.sub(a, b)
    return x


def diag_embed(x: Any, offset: int = 0, dim1: int = -2, dim2: int = -1) -> Any:
    """Matrices whose ``offset`` diagonal (in dims ``dim1``, ``dim2``) holds the last dim of ``x``."""
    nd = len(_shape(x)) + 1  # the result's dims (a 0-d x has none to embed, so it fails here)
    d1, d2 = norm_dim(dim1, nd, "diag_embed"), norm_dim(dim2, nd, "diag_embed")
    if d1 == d2:
        raise fail(f"diag_embed(): diagonal dimensions cannot be identical {dim1}, {dim2}", RuntimeError)
    n = _shape(x)[-1]
    out = ops.mul(ops.unsqueeze(x, -1), structural(np.eye(n, dtype=x._data.dtype)))  # (..., n, n)
    lo, hi = max(-offset, 0), max(offset, 0)
    out = ops.pad(out, (hi, lo, lo, hi))
    return ops.movedim(out, (nd - 2, nd - 1), (d1, d2))


def diagflat(x: Any, offset: int = 0) -> Any:
    """A 2-d matrix with the flattened ``x`` on its ``offset`` diagonal."""
    return diag_embed(ops.reshape(x, (-1,)), offset)


def kron(a: Any, b: Any) -> Any:
    """The Kronecker product: block (i, j, ...) is a[i, j, ...] * b."""
    r = max(len(_shape(a)), len(_shape(b)))
    sa = (1,) * (r - len(_shape(a))) + tuple(_shape(a))
    sb = (1,) * (r - len(_shape(b))) + tuple(_shape(b))
    a2 = ops.reshape(a, tuple(itertools.chain.from_iterable((s, 1) for s in sa)))
    b2 = ops.reshape(b, tuple(itertools.chain.from_iterable((1, s) for s in sb)))
    return ops.reshape(ops.mul(a2, b2), tuple(p * q for p, q in zip(sa, sb)))


def rot90(x: Any, k: int = 1, dims: Sequence[int] = (0, 1)) -> Any:
    """Rotate by 90 degrees ``k`` times in the plane ``dims`` (from the first towards the second)."""
    if len(dims) != 2:
        raise fail(f"rot90(): expected total rotation dims == 2, but got dims = {len(dims)}", RuntimeError)
    nd = len(_shape(x))
    if nd < 2:
        raise fail(
            f"rot90(): expected total dims >= 2, but got total dims = {nd} (input shape "
            f"{tuple(_shape(x))}); rotate a tensor of at least 2 dims, e.g. x.reshape(1, -1)",
            RuntimeError,
        )
    d0, d1 = norm_dim(dims[0], nd, "rot90"), norm_dim(dims[1], nd, "rot90")
    if d0 == d1:
        raise fail(
            f"rot90(): expected rotation dims to be different, but got dim0 = {d0} and dim1 = {d1}",
            RuntimeError,
        )
    k %= 4
    if k == 1:
        return ops.transpose(ops.flip(x, (d1,)), d0, d1)
    if k == 2:
        return ops.flip(x, (d0, d1))
    if k == 3:
        return ops.flip(ops.transpose(x, d0, d1), (d1,))
    return ops.clone(x)


def _broadcast(op: str, *tensors: Any) -> None:
    """PyTorch's refusal when the inputs of a fused elementwise op do not broadcast together
    (called after the op failed, so that success costs nothing)."""
    shapes = [tuple(_shape(t)) for t in tensors]
    out: tuple = ()
    for s in shapes:
        n = max(len(out), len(s))
        a, b = (1,) * (n - len(out)) + out, (1,) * (n - len(s)) + s
        for i, (p, q) in enumerate(zip(a, b)):
            if p != q and 1 not in (p, q):
                raise fail(
                    f"{op}(): The size of tensor a ({p}) must match the size of tensor b ({q}) at "
                    f"non-singleton dimension {i}: shapes {', '.join(map(str, shapes))} do not "
                    "broadcast together; reshape one, e.g. with .unsqueeze() or .reshape()",
                    RuntimeError,
                ) from None
        out = tuple(q if p == 1 else p for p, q in zip(a, b))


def lerp(start: Any, end: Any, weight: Any) -> Any:
    """start + weight * (end - start)."""
    _kd.check_binary("lerp", start, end)
    try:
        return ops.add(start, ops.mul(weight, ops.sub(end, start)))
    except RuntimeError:
        _broadcast("lerp", start, end, weight)
        raise


def addcmul(x: Any, t1: Any, t2: Any, *, value: Any = 1) -> Any:
    """x + value * t1 * t2."""
    try:
        return ops.add(x, ops.mul(ops.mul(t1, t2), value))
    except RuntimeError:
        _broadcast("addcmul", x, t1, t2)
        raise


def addcdiv(x: Any, t1: Any, t2: Any, *, value: Any = 1) -> Any:
    """x + value * t1 / t2."""
    try:
        return ops.add(x, ops.mul(ops.div(t1, t2), value))
    except RuntimeError:
        _broadcast("addcdiv", x, t1, t2)
        raise


def nan_to_num(x: Any, nan: float = 0.0, posinf: float | None = None, neginf: float | None = None) -> Any:
    """NaN, +inf and -inf replaced by ``nan``, ``posinf`` and ``neginf`` (the dtype's largest and
    lowest finite values by default); the gradient passes through the finite elements."""
    kind = _dt.kind(x._data.dtype)
    if kind == "c":  # each part on its own, as PyTorch (the limits are the real dtype's)
        from .ops import complex as _c

        return _c.complex(*(nan_to_num(part, nan, posinf, neginf) for part in (_c.real(x), _c.imag(x))))
    if kind != "f":
        return ops.clone(x)
    info = _dt.finfo(_dt.from_numpy(x._data.dtype))  # (bfloat16's too, which NumPy's finfo lacks)
    out = ops.where(ops.isnan(x), nan, x)
    out = ops.where(ops.eq(x, np.inf), info.max if posinf is None else posinf, out)
    return ops.where(ops.eq(x, -np.inf), info.min if neginf is None else neginf, out)


def _scaled(op: str, x: Any, product: Any, beta: Any, alpha: Any) -> Any:
    xs, shape = tuple(_shape(x)), tuple(_shape(product))
    if len(xs) > len(shape) or any(a not in (1, b) for a, b in zip(xs[::-1], shape[::-1])):
        raise fail(
            f"{op}(): the input of shape {xs} cannot be expanded to the result's shape {shape}; "
            "give it that shape (or one that broadcasts to it)",
            RuntimeError,
        )
    if alpha != 1:
        product = ops.mul(product, alpha)
    if beta == 0:  # PyTorch ignores x then (NaN in x does not propagate)
        return ops.add(product, ops.mul(ops.expand_as(ops.where(ops.isnan(x), 0.0, x), product), 0))
    return ops.add(ops.mul(x, beta) if beta != 1 else x, product)


def addmv(x: Any, mat: Any, vec: Any, *, beta: Any = 1, alpha: Any = 1) -> Any:
    """beta * x + alpha * (mat @ vec)."""
    xs, ms, vs = tuple(_shape(x)), tuple(_shape(mat)), tuple(_shape(vec))
    if len(ms) != 2 or len(vs) != 1 or len(xs) > 1:
        raise fail(
            f"addmv(): vector + matrix @ vector expected, got {len(xs)}, {len(ms)}, {len(vs)} dims "
            f"(shapes {xs}, {ms} and {vs}); pass a 1-d input, a 2-d matrix and a 1-d vector",
            RuntimeError,
        )
    if ms[1] != vs[0]:
        raise fail(
            f"addmv(): size mismatch, got input {xs}, mat {ms[0]}x{ms[1]}, vec {vs}; the vector's "
            f"length must be the matrix's {ms[1]} columns",
            RuntimeError,
        )
    return _scaled("addmv", x, ops.mv(mat, vec), beta, alpha)


def _batches(op: str, b1: Any, b2: Any) -> None:
    """PyTorch's checks of the batched products (IndexError below 3 dims: it reads size(2))."""
    s1, s2 = tuple(_shape(b1)), tuple(_shape(b2))
    for name, s in (("batch1", s1), ("batch2", s2)):
        if len(s) != 3:
            raise fail(
                f"{op}(): {name} must be a 3-d tensor (batch, rows, columns), got shape {s}; "
                "add a batch dim with .unsqueeze(0) or use addmm() for single matrices",
                IndexError if len(s) < 3 else RuntimeError,
            )
    if s1[0] != s2[0]:
        raise fail(
            f"{op}(): batch1 and batch2 must have same number of batches, got {s1[0]} and {s2[0]} "
            f"(shapes {s1} and {s2})",
            RuntimeError,
        )
    if s1[2] != s2[1]:
        raise fail(
            f"{op}(): Incompatible matrix sizes for bmm ({s1[1]}x{s1[2]} and {s2[1]}x{s2[2]}): "
            f"batch1's columns must equal batch2's rows (shapes {s1} and {s2})",
            RuntimeError,
        )


def addbmm(x: Any, b1: Any, b2: Any, *, beta: Any = 1, alpha: Any = 1) -> Any:
    """beta * x + alpha * sum_i b1[i] @ b2[i]."""
    _batches("addbmm", b1, b2)
    return _scaled("addbmm", x, ops.sum(ops.bmm(b1, b2), 0), beta, alpha)


def baddbmm(x: Any, b1: Any, b2: Any, *, beta: Any = 1, alpha: Any = 1) -> Any:
    """beta * x + alpha * (b1 @ b2), batch by batch."""
    _batches("baddbmm", b1, b2)
    return _scaled("baddbmm", x, ops.bmm(b1, b2), beta, alpha)


def chain_matmul(*matrices: Any) -> Any:
    """The product of 2-d matrices, left to right (deprecated in PyTorch: linalg.multi_dot)."""
    if len(matrices) == 1 and isinstance(matrices[0], (list, tuple)):
        matrices = tuple(matrices[0])
    if not matrices:
        raise fail("chain_matmul(): expected one or more tensors", RuntimeError)
    for i, m in enumerate(matrices):
        if len(m.shape) != 2:
            raise fail(
                f"chain_matmul(): tensor {i} has {len(m.shape)} dimensions (shape "
                f"{tuple(m.shape)}), expected 2: every argument must be a matrix"
            )
    out = matrices[0]
    for m in matrices[1:]:
        out = ops.mm(out, m)
    return out if len(matrices) > 1 else ops.clone(out)


def cartesian_prod(*tensors: Any) -> Any:
    """All combinations of one element from each 1-d tensor, as rows (one tensor: itself)."""
    for t in tensors:
        _vector(t, "cartesian_prod")
    if len(tensors) == 1:
        return tensors[0]
    grids = ops.meshgrid(*tensors, indexing="ij")
    return ops.stack([ops.reshape(g, (-1,)) for g in grids], 1)


def combinations(x: Any, r: int = 2, with_replacement: bool = False) -> Any:
    """Length-``r`` combinations of the 1-d ``x`` (as itertools), one per row: shape
    ``(count, r)``, also when there are none; ``r = 0`` gives an empty 1-d tensor (PyTorch's)."""
    _vector(x, "combinations")
    if r < 0:
        raise fail(f"combinations(): Expect a non-negative number, but got r={r}", RuntimeError)
    n = _shape(x)[0]
    pick = (itertools.combinations_with_replacement if with_replacement else itertools.combinations)(
        range(n), r
    )
    idx = np.array(list(pick), dtype=np.int64).reshape(-1, r) if r else np.zeros(0, np.int64)
    return ops.getitem(x, idx)


def _vector(t: Any, op: str) -> None:
    if len(_shape(t)) != 1:
        raise fail(
            f"{op}(): Expect a 1D vector, but got shape {list(_shape(t))}; flatten it first (t.reshape(-1))",
            RuntimeError,
        )


def block_diag(*tensors: Any) -> Any:
    """A block-diagonal matrix of the given 0-, 1- or 2-d tensors."""
    mats = [ops.reshape(t, (1, -1)) if len(_shape(t)) < 2 else t for t in tensors]
    for t in mats:
        if len(_shape(t)) != 2:
            raise fail(
                f"block_diag(): input tensors must have 2 or fewer dimensions, got {len(_shape(t))}",
                RuntimeError,
            )
    cols = sum(_shape(m)[1] for m in mats)
    rows, left = [], 0
    for m in mats:
        w = _shape(m)[1]
        rows.append(ops.pad(m, (left, cols - left - w)))
        left += w
    return ops.cat(rows, 0)


def cdist(x1: Any, x2: Any, p: float = 2.0, compute_mode: str = "use_mm_for_euclid_dist_if_necessary") -> Any:
    """Pairwise p-norm distances between the rows of ``x1`` (..., P, M) and ``x2`` (..., R, M)."""
    for name, x in (("X1", x1), ("X2", x2)):
        if len(x.shape) < 2:
            raise fail(
                f"cdist(): only supports at least 2D tensors (a batch of rows), {name} got: "
                f"{len(x.shape)}D, shape {tuple(x.shape)}"
            )
    d = ops.sub(ops.unsqueeze(x1, -2), ops.unsqueeze(x2, -3))  # (..., P, R, M)
    return ops.norm(d, p=p, dim=-1)


# ------------------------------------------------------------------ indexed writes
def _along(index: Any, dim: int, shape: tuple) -> np.ndarray:
    """A 1-d ``index`` along ``dim`` spread to ``shape`` (scatter's index for a whole slice)."""
    idx = index._data if isinstance(index, Tensor) else np.asarray(index)
    if idx.ndim > 1 or idx.dtype.kind not in "iu":
        raise fail(f"index must be a 1-d integer tensor, got {idx.ndim}-d {idx.dtype}", IndexError)
    along = [-1 if i == dim else 1 for i in range(len(shape))]
    full = shape[:dim] + (idx.size,) + shape[dim + 1 :]
    if isinstance(index, Tensor):  # with ops, so that a compiled caller passes the current index
        t = ops.reshape(index, (-1,))
        t = ops.where(ops.lt(t, 0), ops.add(t, shape[dim]), t)
        return ops.broadcast_to(ops.reshape(t, along), full)
    idx = np.where(idx < 0, idx + shape[dim], idx).reshape(-1)
    return structural(np.broadcast_to(idx.reshape(along), full))  # from Python values


def _slices(op: str, x: Any, dim: int, index: Any, negative: bool = True) -> tuple[int, np.ndarray, Any]:
    """The dim, the index array and the index, checked (a 0-d x is one slice): a tensor's
    check is an op (``ops.index.checked_index``), which compiled code runs on every call;
    ``negative``: indices may count from the end (index_fill's do, index_copy's not, as PyTorch)."""
    from .ops.index import checked_index

    shape = tuple(_shape(x))
    d = norm_dim(dim, len(shape), op)
    size = shape[d] if shape else 1
    index = checked_index(index, op, d, shape, -size if negative else 0)
    return d, (index._data if isinstance(index, Tensor) else np.asarray(index)), index


def index_copy(x: Any, dim: int, index: Any, source: Any) -> Any:
    """``x`` with the slices ``index`` along ``dim`` replaced by ``source``'s."""
    shape = tuple(_shape(x))
    d, idx, index = _slices("index_copy", x, dim, index, negative=False)
    src = tuple(_shape(source))
    if not src and idx.size != 1:
        raise fail(
            f"index_copy(): When source is scalar, index should have one element (got {idx.size})",
            IndexError,
        )
    if src and shape and len(src) != len(shape):
        raise fail(
            "index_copy(): When source and destination are not scalars, their dimensionality must "
            f"match. Source dimensionality ({len(src)}), destination dimensionality ({len(shape)})",
            IndexError,
        )
    if src and idx.size != src[d]:
        raise fail(
            f"index_copy(): Number of indices ({idx.size}) should be equal to source.size(dim) "
            f"({src[d]}), got source of shape {src} for an input of shape {shape}",
            IndexError,
        )
    if not shape:
        return ops.clone(ops.reshape(ops.reshape(source, (-1,))[-1], ()))
    if not src and len(shape) == 1:  # one 0-d slice of a 1-d x
        source = ops.reshape(source, (1,))
    return ops.scatter(x, d, _along(index, d, shape), source)


def index_fill(x: Any, dim: int, index: Any, value: Any) -> Any:
    """``x`` with the slices ``index`` along ``dim`` set to ``value`` (a number or a 0-d tensor)."""
    d, _, index = _slices("index_fill", x, dim, index)
    shape = tuple(_shape(x)) or (1,)
    idx = _along(index, d, shape)
    xx = ops.reshape(x, shape)
    if isinstance(value, Tensor):
        if value.ndim:
            raise fail(
                f"index_fill(): only supports a 0-dimensional value tensor, got {value.ndim}-d", IndexError
            )
        out = ops.scatter(xx, d, idx, ops.expand(ops.cast(value, x._data.dtype), *idx.shape))
    else:
        out = ops.scatter(xx, d, idx, value=value)
    return ops.reshape(out, _shape(x))


def masked_scatter(x: Any, mask: Any, source: Any) -> Any:
    """``x`` with the positions where ``mask`` (broadcast to x) is True filled, in order, by
    the first elements of ``source``."""
    m = np.broadcast_to(mask._data if isinstance(mask, Tensor) else np.asarray(mask), _shape(x))
    if m.dtype != np.bool_:
        raise fail(f"masked_scatter(): expected a bool mask, got {m.dtype}", RuntimeError)
    count, size = int(m.sum()), int(np.prod(_shape(source)))
    if count > size:
        raise fail(
            f"masked_scatter(): Number of elements of source < number of ones in mask: source has {size} "
            f"elements (shape {tuple(_shape(source))}) but the mask (shape {tuple(_shape(mask))}, "
            f"broadcast to {tuple(_shape(x))}) has {count} ones; pass a source of at least {count} elements",
            RuntimeError,
        )
    mb = ops.broadcast_to(mask, _shape(x)) if isinstance(mask, Tensor) else m
    pos = ops.cumsum(ops.reshape(mb, (-1,)), 0) - 1  # the k-th True takes source's k-th element
    pos = ops.where(ops.lt(pos, 0), 0, pos)
    vals = ops.gather(ops.reshape(source, (-1,)), 0, pos)
    return ops.where(mb, ops.reshape(vals, _shape(x)), x)


def index_put(x: Any, indices: Any, values: Any, accumulate: bool = False) -> Any:
    """Out-of-place ``x[indices] = values`` (``accumulate``: ``x[indices] += values``, with
    repeated indices adding up)."""
    from .ops.index import apply_index_add, normalize_index

    idx = normalize_index(tuple(indices))
    if not accumulate:
        return ops.index_put(x, tuple(indices), values)
    target = _shape(ops.getitem(x, idx))
    v = ops.broadcast_to(
        ops.cast(values, x._data.dtype)
        if isinstance(values, Tensor)
        else np.asarray(values, dtype=x._data.dtype),
        target,
    )
    return ops.add(x, apply_index_add(v, tuple(_shape(x)), idx))


_REDUCES = ("sum", "prod", "mean", "amax", "amin")


def scatter_reduce(x: Any, dim: int, index: Any, src: Any, reduce: str, *, include_self: bool = True) -> Any:
    """Reduce ``src`` into ``x`` at ``index`` along ``dim`` (sum, prod, mean, amax, amin), with
    or without ``x``'s own values.  amax/amin share the gradient evenly among tied elements,
    as PyTorch does."""
    if reduce not in _REDUCES:
        raise fail(
            f"scatter_reduce(): reduce argument must be one of {', '.join(_REDUCES)}, got {reduce!r}",
            RuntimeError,
        )
    from .ops.index import _check_gather, _index_array

    idx = _index_array(index, "scatter_reduce")
    d = _check_gather(x, dim, idx, "scatter_reduce", tuple(_shape(src)))
    src = ops.getitem(src, tuple(slice(0, s) for s in idx.shape))
    count = np.zeros(_shape(x), x._data.dtype)  # contributions per output element
    np.add.at(count, _scatter_target(idx, d), 1)
    touched = count > 0
    base = x if include_self else ops.where(touched, 0.0 if reduce != "prod" else 1.0, x)
    if include_self:
        count = count + 1
    if reduce == "sum":
        return ops.scatter_add(base, d, idx, src)
    if reduce == "mean":
        total = ops.scatter_add(base, d, idx, src)
        out = ops.div(total, np.where(count > 0, count, 1.0).astype(x._data.dtype))
        return out if x._data.dtype.kind == "f" else ops.cast(ops.floor(out), x._data.dtype)
    from .autograd.grad_mode import no_grad

    if reduce == "prod":
        logs = ops.scatter_add(ops.log(ops.abs(base)), d, idx, ops.log(ops.abs(src)))
        neg = ops.scatter_add(
            ops.cast(ops.lt(base, 0), x._data.dtype), d, idx, ops.cast(ops.lt(src, 0), x._data.dtype)
        )
        value = ops.mul(ops.exp(logs), 1 - 2 * ops.remainder(neg, 2))
        with no_grad():  # exact values (zeros too) from the grid, the log-sum's gradient
            exact = ops.mul(_grid(ops.prod, src, idx, d, _shape(x), 1), base).detach()  # (no tangent)
        return ops.add(ops.sub(value, value.detach()), exact)
    # amax/amin: the grid's values, given PyTorch's gradient by ``_shares``
    fill = -np.inf if reduce == "amax" else np.inf
    with no_grad():
        best = _grid(ops.amax if reduce == "amax" else ops.amin, src, idx, d, _shape(x), fill)
        if include_self:
            best = (ops.maximum if reduce == "amax" else ops.minimum)(best, x)
        result = ops.where(touched, best, x)
        frozen = _shares(x, src, idx, d, result, touched, include_self)
    return ops.add(result, ops.sub(_shares(x, src, idx, d, result, touched, include_self), frozen))


def _grid(reduce: Any, src: Any, idx: np.ndarray, d: int, shape: tuple, fill: float) -> Any:
    """Per output position, ``reduce`` of the sources scattered to it (``fill`` where none):
    every source a candidate for every position along dim (a one-hot grid).  Ops, not raw
    arrays, so that vmap batches it; called without a graph (no_grad)."""
    onehot = np.expand_dims(idx, -1) == np.arange(shape[d])
    out = ops.movedim(reduce(ops.where(onehot, ops.unsqueeze(src, -1), fill), d), -1, d)
    widths: list[int] = []
    for i in reversed(range(len(shape))):
        widths += [0, shape[i] - _shape(out)[i]]
    return ops.pad(out, widths, value=fill)


def _shares(
    x: Any, src: Any, idx: np.ndarray, d: int, result: Any, touched: np.ndarray, include_self: bool
) -> Any:
    """Linear in x and src with PyTorch's amax/amin gradient: shared evenly by the elements equal
    to the result, x's own value counted among them (even without include_self, where x itself
    then gets none)."""
    hit_self = ops.eq(x, result)
    hit_src = ops.eq(src, ops.gather(result, d, idx))
    n = ops.scatter_add(ops.cast(hit_self, x._data.dtype), d, idx, ops.cast(hit_src, x._data.dtype))
    own = hit_self if include_self else ops.logical_and(hit_self, ~touched)
    total = ops.scatter_add(ops.where(own, x, 0.0), d, idx, ops.where(hit_src, src, 0.0))
    return ops.div(total, ops.where(ops.gt(n, 0), n, 1.0))


def _scatter_target(idx: np.ndarray, dim: int) -> tuple:
    grids = list(np.indices(idx.shape, sparse=True))
    grids[dim] = idx
    return tuple(grids)


def index_put_(x: Tensor, indices: Any, values: Any, accumulate: bool = False) -> Tensor:
    """In-place ``index_put``: ``x[indices] = values`` (or ``+=`` with ``accumulate``)."""
    return x.index_put_(indices, values, accumulate)  # type: ignore[attr-defined]
