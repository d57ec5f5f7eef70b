"""``torch.linalg``'s inverses, determinants, solvers and factorizations (real and complex).

The differentiable cores are primitives in ``ops/decompositions.py``; here are PyTorch's
signatures, its input checks and the composites (``det = sign · exp(log|det|)``,
``lu_solve`` and ``cholesky_solve`` as two triangular solves, ``matrix_power`` by
repeated squaring, ``multi_dot`` as a chain of matmuls, ``cross`` from slices).
"""

from __future__ import annotations

from collections import namedtuple
from typing import Any, Sequence

import numpy as np

from .. import ops
from .._tensor import Tensor, wrap
from ..ops import decompositions as dec
from ..ops._core import conj_if_complex, fail, structural
from ..ops.decompositions import LinAlgError, mH, mT

__all__ = [
    "LinAlgError",
    "inv",
    "inv_ex",
    "det",
    "slogdet",
    "logdet",
    "solve",
    "solve_ex",
    "solve_triangular",
    "cholesky",
    "cholesky_ex",
    "cholesky_solve",
    "cholesky_inverse",
    "lu_factor",
    "lu_factor_ex",
    "lu",
    "lu_solve",
    "matrix_power",
    "multi_dot",
    "cross",
    "vecdot",
    "diagonal",
    "matmul",
    "vander",
]

linalg_slogdet = namedtuple("linalg_slogdet", ["sign", "logabsdet"])
linalg_inv_ex = namedtuple("linalg_inv_ex", ["inverse", "info"])
linalg_solve_ex = namedtuple("linalg_solve_ex", ["result", "info"])
linalg_cholesky_ex = namedtuple("linalg_cholesky_ex", ["L", "info"])
linalg_lu_factor = namedtuple("linalg_lu_factor", ["LU", "pivots"])
linalg_lu_factor_ex = namedtuple("linalg_lu_factor_ex", ["LU", "pivots", "info"])
linalg_lu = namedtuple("linalg_lu", ["P", "L", "U"])

_TORCH_DTYPE = {
    "int64": "Long",
    "int32": "Int",
    "int16": "Short",
    "int8": "Char",
    "uint8": "Byte",
    "bool": "Bool",
    "float16": "Half",
}


def _arr(x: Any) -> np.ndarray:
    return x._data if isinstance(x, Tensor) else np.asarray(x)


def check(x: Any, op: str, square: bool = True, name: str = "A") -> None:
    """PyTorch's checks (and messages) for a batch of matrices: a float or complex tensor, 2+
    dims, square."""
    if not isinstance(x, (Tensor, np.ndarray)):
        raise fail(f"{op}(): argument '{name}' must be Tensor, not {type(x).__name__}", TypeError)
    a = _arr(x)
    if a.dtype.kind not in "fc" or a.dtype == np.float16:
        kind = (
            "Low precision dtypes not supported"
            if a.dtype == np.float16
            else "Expected a floating point or complex tensor as input"
        )
        raise fail(f"{op}: {kind}. Got {_TORCH_DTYPE.get(a.dtype.name, a.dtype.name)}")
    if a.ndim < 2:
        raise fail(f"{op}: The input tensor {name} must have at least 2 dimensions.")
    if square and a.shape[-1] != a.shape[-2]:
        raise fail(
            f"{op}: {name} must be batches of square matrices, but they are "
            f"{a.shape[-2]} by {a.shape[-1]} matrices"
        )


def _same_dtype(a: Any, b: Any, op: str, names: tuple = ("A", "B"), end: str = "") -> None:
    if _arr(a).dtype != _arr(b).dtype:
        x, y = names
        raise fail(
            f"{op}: Expected {x} and {y} to have the same dtype, but found {x} of type "
            f"{_arr(a).dtype} and {y} of type {_arr(b).dtype} instead{end}"
        )


def _info(x: Any, routine: str) -> Tensor:
    return wrap(dec.failures(_arr(x), routine))


def _fixed(x: Any, infos: Tensor) -> Tensor:
    """A constant copy of ``x`` with the failing matrices replaced by the identity, so the
    ``_ex`` variants return a result for the others (the failing ones are unspecified)."""
    a = np.array(_arr(x))
    a[infos._data > 0] = np.eye(a.shape[-1], dtype=a.dtype)
    return wrap(a)


# ------------------------------------------------------------------ inverse, determinant
def inv(A: Any, *, out: Any = None) -> Any:
    """``A⁻¹`` for ``A (*, n, n)``; singular input raises ``LinAlgError`` naming the batch element."""
    check(A, "linalg.inv")
    return dec.inv(A)


def inv_ex(A: Any, *, check_errors: bool = False, out: Any = None) -> Any:
    """(inverse, info): info > 0 marks a singular matrix (its inverse is then unspecified)."""
    check(A, "linalg.inv_ex")
    try:
        return linalg_inv_ex(dec.inv(A), wrap(np.zeros(_arr(A).shape[:-2], np.int32)))
    except LinAlgError:
        if check_errors:
            raise
        infos = _info(A, "getrf")
        return linalg_inv_ex(dec.inv(_fixed(A, infos)), infos)


def slogdet(A: Any, *, out: Any = None) -> Any:
    """(sign, log|det A|): stable where ``det`` under- or overflows; the gradient is A⁻ᵀ."""
    check(A, "linalg.slogdet")
    return linalg_slogdet(*dec.slogdet(A))


def det(A: Any, *, out: Any = None) -> Any:
    """``det A = sign · exp(log|det A|)``; its gradient ``det(A) A⁻ᵀ`` needs A invertible."""
    check(A, "linalg.det")
    sign, logabs = dec.slogdet(A)
    return ops.mul(sign, ops.exp(logabs))


def logdet(A: Any) -> Any:
    """``log det A``: nan for a negative determinant, -inf for a singular matrix (as PyTorch);
    complex A: ``log|det A| + i arg det A``."""
    check(A, "logdet")
    sign, logabs = dec.slogdet(A)
    if _arr(A).dtype.kind == "c":
        return ops.add(logabs, ops.log(sign))
    with np.errstate(divide="ignore", invalid="ignore"):
        return ops.add(logabs, ops.log(sign.detach()))


# ------------------------------------------------------------------ solve
def _is_vector(A: Any, B: Any) -> bool:
    a, b = _arr(A).shape, _arr(B).shape
    return len(b) == 1 or (len(b) == len(a) - 1 and b == a[:-1])


def solve(A: Any, B: Any, *, left: bool = True, out: Any = None) -> Any:
    """X with ``AX = B`` (``XA = B`` if not left); B is ``(*, n)`` (vectors) or ``(*, n, k)``."""
    check(A, "linalg.solve")
    _same_dtype(A, B, "linalg.solve")
    vector = _is_vector(A, B)
    if _arr(B).ndim == 0:
        raise fail(
            f"linalg.solve: The input tensor B must have at least 1 dimension (a vector) or 2 "
            f"dimensions (a batch of columns); got shape () with A of shape {tuple(_arr(A).shape)}"
        )
    if not vector and _arr(B).ndim < 2:
        raise fail(
            f"linalg.solve: Incompatible shapes of A and B for the equation AX = B "
            f"({tuple(_arr(A).shape)} and {tuple(_arr(B).shape)})"
        )
    if not left:
        A = mT(A)
        B = B if vector else mT(B)
    n = _arr(A).shape[-1]
    b = ops.unsqueeze(B, -1) if vector else B
    if _arr(b).shape[-2] != n:
        raise fail(
            f"linalg.solve: Incompatible shapes of A and B for the equation "
            f"{'AX = B' if left else 'XA = B'} ({tuple(_arr(A).shape)} and "
            f"{tuple(_arr(B).shape)})"
        )
    x = dec.solve(A, b)
    if vector:
        return ops.squeeze(x, -1)
    return x if left else mT(x)


def solve_ex(A: Any, B: Any, *, left: bool = True, check_errors: bool = False, out: Any = None) -> Any:
    check(A, "linalg.solve_ex")
    try:
        x = solve(A, B, left=left)
        return linalg_solve_ex(x, wrap(np.zeros(_arr(A).shape[:-2], np.int32)))
    except LinAlgError:
        if check_errors:
            raise
        infos = _info(A, "getrf")
        return linalg_solve_ex(solve(_fixed(A, infos), B, left=left), infos)


def solve_triangular(
    A: Any, B: Any, *, upper: bool, left: bool = True, unitriangular: bool = False, out: Any = None
) -> Any:
    """X with ``AX = B`` (or ``XA = B``), reading one triangle of A; zeros on its diagonal give
    inf/nan, not an error, as in PyTorch."""
    check(A, "linalg.solve_triangular")
    check(B, "linalg.solve_triangular", square=False, name="B")
    _same_dtype(A, B, "linalg.solve_triangular")
    if left:
        return dec.solve_triangular(A, B, upper=upper, unitriangular=unitriangular)
    x = dec.solve_triangular(mT(A), mT(B), upper=not upper, unitriangular=unitriangular)
    return mT(x)


# ------------------------------------------------------------------ cholesky
def cholesky(A: Any, *, upper: bool = False, out: Any = None) -> Any:
    """L with ``A = L Lᴴ`` (U = Lᴴ if upper) for symmetric (Hermitian) positive-definite A."""
    check(A, "linalg.cholesky")
    L = dec.cholesky(A)
    return mH(L) if upper else L


def cholesky_ex(A: Any, *, upper: bool = False, check_errors: bool = False, out: Any = None) -> Any:
    """(L, info): info > 0 is the order of the leading minor that is not positive-definite."""
    check(A, "linalg.cholesky_ex")
    try:
        return linalg_cholesky_ex(cholesky(A, upper=upper), wrap(np.zeros(_arr(A).shape[:-2], np.int32)))
    except LinAlgError:
        if check_errors:
            raise
        infos = _info(A, "potrf")
        return linalg_cholesky_ex(cholesky(_fixed(A, infos), upper=upper), infos)


def cholesky_solve(B: Any, L: Any, upper: bool = False, *, out: Any = None) -> Any:
    """X with ``(L Lᴴ) X = B`` from the Cholesky factor (``Uᴴ U`` if upper): two triangular solves."""
    check(L, "cholesky_solve", name="L")
    check(B, "cholesky_solve", square=False, name="B")
    _same_dtype(B, L, "cholesky_solve", ("b", "A"), ".")
    if upper:
        y = dec.solve_triangular(mH(L), B, upper=False)
        return dec.solve_triangular(L, y, upper=True)
    y = dec.solve_triangular(L, B, upper=False)
    return dec.solve_triangular(mH(L), y, upper=True)


def cholesky_inverse(L: Any, upper: bool = False, *, out: Any = None) -> Any:
    """``(L Lᴴ)⁻¹`` from the Cholesky factor."""
    check(L, "cholesky_inverse", name="L")
    eye = np.broadcast_to(np.eye(_arr(L).shape[-1], dtype=_arr(L).dtype), _arr(L).shape)
    return cholesky_solve(structural(wrap(np.ascontiguousarray(eye))), L, upper)


# ------------------------------------------------------------------ LU
def lu_factor_ex(A: Any, *, pivot: bool = True, check_errors: bool = False, out: Any = None) -> Any:
    """(LU, pivots, info) of ``A = P L U`` with partial pivoting; pivots are 1-based int32."""
    check(A, "torch.linalg.lu_factor_ex", square=False)
    if not pivot:
        raise fail(
            "linalg.lu_factor: LU without pivoting is not implemented for CPU tensors "
            "(PyTorch's CPU backend refuses it too); call it with pivot=True"
        )
    lu_, piv, info = dec.lu_factor(A, check=check_errors)
    return linalg_lu_factor_ex(lu_, piv, info)


def lu_factor(A: Any, *, pivot: bool = True, out: Any = None) -> Any:
    """(LU, pivots); a zero pivot raises, as PyTorch (``lu_factor_ex`` reports it in ``info``)."""
    check(A, "torch.linalg.lu_factor", square=False)
    if not pivot:
        return lu_factor_ex(A, pivot=False)
    lu_, piv, _ = dec.lu_factor(A, check=True)
    return linalg_lu_factor(lu_, piv)


def lu(A: Any, *, pivot: bool = True, out: Any = None) -> Any:
    """(P, L, U) with ``A = P L U``, L unit lower triangular (square A)."""
    check(A, "linalg.lu")
    lu_, piv, _ = lu_factor_ex(A, pivot=pivot)
    n = _arr(A).shape[-1]
    lower, upper = dec._lu_pieces(lu_)
    perm = dec.lu_permutation(piv, n)  # P[r, c] = 1 where perm[c] = r (Pᵀ A = A[perm])
    p = ops.cast(ops.eq(ops.unsqueeze(perm, -2), structural(np.arange(n)[:, None])), _arr(A).dtype)
    return linalg_lu(p, lower, upper)


def lu_solve(
    LU: Any, pivots: Any, B: Any, *, left: bool = True, adjoint: bool = False, out: Any = None
) -> Any:
    """X with ``AX = B`` from ``lu_factor``'s (LU, pivots) (``AᴴX = B`` if adjoint, X on the
    right if not left): a row permutation and two triangular solves, differentiable in LU and B."""
    check(LU, "linalg.lu_solve", name="LU")
    check(B, "linalg.lu_solve", square=False, name="B")
    _same_dtype(LU, B, "linalg.lu_solve", ("LU", "B"))
    if not left:  # X A = B  <=>  Aᴴ Xᴴ = Bᴴ
        return mH(lu_solve(LU, pivots, mH(B), left=True, adjoint=not adjoint))
    n = _arr(LU).shape[-1]
    lower, upper = dec._lu_pieces(LU)
    if not adjoint:  # A = P L U:  X = U⁻¹ L⁻¹ Pᵀ B
        y = dec.rows(B, dec.lu_permutation(pivots, n))
        y = dec.solve_triangular(lower, y, upper=False, unitriangular=True)
        return dec.solve_triangular(upper, y, upper=True)
    y = dec.solve_triangular(mH(upper), B, upper=False)  # Aᴴ = Uᴴ Lᴴ Pᵀ:  X = P L⁻ᴴ U⁻ᴴ B
    y = dec.solve_triangular(mH(lower), y, upper=True, unitriangular=True)
    return dec.rows(y, dec.lu_permutation(pivots, n, inverse=True))


# ------------------------------------------------------------------ products
def matrix_power(A: Any, n: int, *, out: Any = None) -> Any:
    """``Aⁿ`` by repeated squaring (``n < 0``: of ``A⁻¹``; ``n = 0``: the identity)."""
    check(A, "linalg.matrix_power")
    if not isinstance(n, (int, np.integer)):
        raise fail(f"linalg.matrix_power(): argument 'n' must be int, not {type(n).__name__}", TypeError)
    if n == 0:
        eye = structural(np.eye(_arr(A).shape[-1], dtype=_arr(A).dtype))
        return ops.add(ops.mul(A, 0.0), eye)
    if n < 0:
        A, n = dec.inv(A), -n
    result, base = None, A
    while n:
        if n & 1:
            result = base if result is None else ops.matmul(result, base)
        n >>= 1
        if n:
            base = ops.matmul(base, base)
    return result


def multi_dot(tensors: Sequence[Any], *, out: Any = None) -> Any:
    """The product of a chain of matrices; the first and last may be vectors (row, column)."""
    ts = list(tensors)
    if len(ts) < 2:
        raise fail(f"multi_dot(): expected at least 2 tensors but got {len(ts)}")
    first_vec, last_vec = _arr(ts[0]).ndim == 1, _arr(ts[-1]).ndim == 1
    if first_vec:
        ts[0] = ops.unsqueeze(ts[0], 0)
    if last_vec:
        ts[-1] = ops.unsqueeze(ts[-1], -1)
    for i, t in enumerate(ts):
        if _arr(t).ndim != 2:
            which = "the first" if i == 0 else "the last" if i == len(ts) - 1 else f"tensor {i}"
            ends = i in (0, len(ts) - 1)
            raise fail(
                f"multi_dot(): {which} tensor must be {'1D or 2D' if ends else '2D'} but got "
                f"{_arr(tensors[i]).ndim}D" + ("" if ends else " (only the first and last may be 1D)")
            )
    result = ts[0]
    for i, t in enumerate(ts[1:], 1):  # (PyTorch refuses mixed dtypes, real or complex)
        _same_dtype(ts[0], t, "multi_dot()", ("tensor 0", f"tensor {i}"))
        result = ops.mm(result, t)
    if first_vec:
        result = ops.squeeze(result, 0)
    if last_vec:
        result = ops.squeeze(result, -1)
    return result


def cross(input: Any, other: Any, *, dim: int = -1, out: Any = None) -> Any:  # noqa: A002
    """The cross product of 3-vectors along ``dim`` (inputs broadcast)."""
    x, y = _arr(input).shape, _arr(other).shape
    if not x or not y:
        raise fail(
            f"linalg.cross: Dimension specified as {dim} but tensor has no dimensions (shapes {x} and {y})",
            IndexError,
        )
    if len(x) != len(y):
        raise fail(
            f"linalg.cross: inputs must have the same number of dimensions. Got {len(x)} and "
            f"{len(y)} (shapes {x} and {y}); unsqueeze the smaller one"
        )
    if not -len(x) <= dim < len(x):
        raise fail(
            f"linalg.cross: Dimension out of range (expected to be in range of "
            f"[{-len(x)}, {len(x) - 1}], but got {dim})",
            IndexError,
        )
    d = dim % len(x)
    if x[d] != 3 or y[d] != 3:
        raise fail(f"linalg.cross: inputs dimension {dim} must have length 3. Got {x[d]} and {y[d]}")
    for i, (m, n) in enumerate(zip(x, y)):
        if m != n and 1 not in (m, n):
            raise fail(
                f"linalg.cross: the size of input ({m}) must match the size of other ({n}) at "
                f"non-singleton dimension {i} (shapes {x} and {y} do not broadcast)"
            )
    _same_dtype(input, other, "linalg.cross", ("input", "other"))
    a, b = ops.broadcast_tensors(input, other)
    a0, a1, a2 = (ops.narrow(a, d, i, 1) for i in range(3))
    b0, b1, b2 = (ops.narrow(b, d, i, 1) for i in range(3))
    return ops.cat([a1 * b2 - a2 * b1, a2 * b0 - a0 * b2, a0 * b1 - a1 * b0], d)


def vecdot(x: Any, y: Any, *, dim: int = -1, out: Any = None) -> Any:
    """``Σ conj(x)·y`` along ``dim`` (inputs broadcast)."""
    if isinstance(x, Tensor) and isinstance(y, Tensor):
        _same_dtype(x, y, "linalg.vecdot", ("x", "y"))
    return ops.sum(ops.mul(conj_if_complex(x), y), dim)


def diagonal(A: Any, *, offset: int = 0, dim1: int = -2, dim2: int = -1) -> Any:
    return ops.diagonal(A, offset, dim1, dim2)


def matmul(input: Any, other: Any, *, out: Any = None) -> Any:  # noqa: A002
    return ops.matmul(input, other)


def vander(x: Any, *, N: int | None = None) -> Any:  # noqa: N803
    """``x[..., i] ** j`` for j < N: the Vandermonde matrix with increasing powers."""
    shape = _arr(x).shape
    if not shape:  # a 0-d x is one point, as PyTorch reads it
        x = ops.reshape(x, (1,))
    n = _arr(x).shape[-1] if N is None else int(N)
    if n <= 1:
        raise fail(
            f"linalg.vander(): N must be greater than 1, got N={n} for x of shape {shape}; "
            "pass N= (the number of columns) or give x at least 2 points in its last dim"
        )
    cols = [ops.mul(ops.unsqueeze(x, -1), 0.0) + 1.0]
    for _ in range(1, n):
        cols.append(ops.mul(cols[-1], ops.unsqueeze(x, -1)))
    return ops.cat(cols, -1)
