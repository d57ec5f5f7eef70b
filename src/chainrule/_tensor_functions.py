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

from . import ops
from ._tensor import Tensor
from .ops._core import fail
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
]


def _shape(x: Any) -> tuple[int, ...]:
    return x._data.shape if isinstance(x, Tensor) else np.shape(x)


def diff(x: Any, n: int = 1, dim: int = -1, prepend: Any = None, append: Any = None) -> Any:
    """The n-th forward difference along ``dim`` (after concatenating ``prepend``/``append``)."""
    d = norm_dim(dim, len(_shape(x)), "diff")
    parts = [p for p in (prepend, x, append) if p is not None]
    if len(parts) > 1:
        x = ops.cat(
            [p if _shape(p) else ops.expand(p, *_shape(x)[:d], 1, *_shape(x)[d + 1 :]) for p in parts], d
        )
    for _ in range(n):
        m = _shape(x)[d]
        if m == 0:
            break
        a, b = ops.narrow(x, d, 1, m - 1), ops.narrow(x, d, 0, m - 1)
        x = ops.logical_xor(a, b) if x._data.dtype.kind == "b" else ops.sub(a, b)
    return x


def diag_embed(x: Any, offset: int = 0, dim1: int = -2, dim2: int = -1) -> Any:
    """Matrices whose ``offset`` diagonal (in dims ``dim1``, ``dim2``) holds the last dim of ``x``."""
    n = _shape(x)[-1]
    out = ops.mul(ops.unsqueeze(x, -1), np.eye(n, dtype=x._data.dtype))  # (..., n, n)
    lo, hi = max(-offset, 0), max(offset, 0)
    out = ops.pad(out, (hi, lo, lo, hi))
    nd = len(_shape(out))
    d1, d2 = norm_dim(dim1, nd, "diag_embed"), norm_dim(dim2, nd, "diag_embed")
    if d1 == d2:
        raise fail(f"diag_embed(): diagonal dimensions cannot be identical {dim1}, {dim2}", RuntimeError)
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


def lerp(start: Any, end: Any, weight: Any) -> Any:
    """start + weight * (end - start)."""
    return ops.add(start, ops.mul(weight, ops.sub(end, start)))


def addcmul(x: Any, t1: Any, t2: Any, *, value: Any = 1) -> Any:
    """x + value * t1 * t2."""
    return ops.add(x, ops.mul(ops.mul(t1, t2), value))


def addcdiv(x: Any, t1: Any, t2: Any, *, value: Any = 1) -> Any:
    """x + value * t1 / t2."""
    return ops.add(x, ops.mul(ops.div(t1, t2), value))


def nan_to_num(x: Any, nan: float = 0.0, posinf: float | None = None, neginf: float | None = None) -> Any:
    """NaN, +inf and -inf replaced by ``nan``, ``posinf`` and ``neginf`` (the dtype's largest and
    lowest finite values by default); the gradient passes through the finite elements."""
    if x._data.dtype.kind != "f":
        return ops.clone(x)
    info = np.finfo(x._data.dtype)
    out = ops.where(ops.isnan(x), nan, x)
    out = ops.where(ops.eq(x, np.inf), info.max if posinf is None else posinf, out)
    return ops.where(ops.eq(x, -np.inf), info.min if neginf is None else neginf, out)


def _scaled(x: Any, product: Any, beta: Any, alpha: Any) -> Any:
    if alpha != 1:
        product = ops.mul(product, alpha)
    if beta == 0:  # PyTorch ignores x then (NaN in x does not propagate)
        return ops.add(product, ops.mul(ops.expand_as(ops.where(ops.isnan(x), 0.0, x), product), 0))
    return ops.add(ops.mul(x, beta) if beta != 1 else x, product)


def addmv(x: Any, mat: Any, vec: Any, *, beta: Any = 1, alpha: Any = 1) -> Any:
    """beta * x + alpha * (mat @ vec)."""
    return _scaled(x, ops.mv(mat, vec), beta, alpha)


def addbmm(x: Any, b1: Any, b2: Any, *, beta: Any = 1, alpha: Any = 1) -> Any:
    """beta * x + alpha * sum_i b1[i] @ b2[i]."""
    return _scaled(x, ops.sum(ops.bmm(b1, b2), 0), beta, alpha)


def baddbmm(x: Any, b1: Any, b2: Any, *, beta: Any = 1, alpha: Any = 1) -> Any:
    """beta * x + alpha * (b1 @ b2), batch by batch."""
    return _scaled(x, ops.bmm(b1, b2), beta, alpha)


def chain_matmul(*matrices: Any) -> Any:
    """The product of 2-d matrices, left to right (deprecated in PyTorch: linalg.multi_dot)."""
    if len(matrices) == 1 and isinstance(matrices[0], (list, tuple)):
        matrices = tuple(matrices[0])
    if not matrices:
        raise fail("chain_matmul(): expected one or more tensors", RuntimeError)
    out = matrices[0]
    for m in matrices[1:]:
        out = ops.mm(out, m)
    return out if len(matrices) > 1 else ops.clone(out)


def cartesian_prod(*tensors: Any) -> Any:
    """All combinations of one element from each 1-d tensor, as rows (one tensor: itself)."""
    if len(tensors) == 1:
        return tensors[0]
    grids = ops.meshgrid(*tensors, indexing="ij")
    return ops.stack([ops.reshape(g, (-1,)) for g in grids], 1)


def combinations(x: Any, r: int = 2, with_replacement: bool = False) -> Any:
    """Length-``r`` combinations of the 1-d ``x`` (as itertools), one per row."""
    n = _shape(x)[0]
    pick = (itertools.combinations_with_replacement if with_replacement else itertools.combinations)(
        range(n), r
    )
    idx = np.array(list(pick), dtype=np.int64).reshape(-1, r)
    if not idx.size:
        return ops.reshape(ops.getitem(x, np.zeros(0, np.int64)), (0,) if r else (0,))
    return ops.getitem(x, idx)


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
    d = ops.sub(ops.unsqueeze(x1, -2), ops.unsqueeze(x2, -3))  # (..., P, R, M)
    return ops.norm(d, p=p, dim=-1)
