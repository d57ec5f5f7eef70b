"""The rest of ``torch.linalg`` and the older top-level linear-algebra names: Householder
products (``householder_product``/``orgqr``, ``ormqr``) composed from ops so they
differentiate, ``tensorinv``/``tensorsolve`` as reshaped ``inv``/``solve``, the LU helpers
(``lu_unpack``, ``lu_solve``, ``triangular_solve``), and LAPACK's ``geqrf`` and Bunch-Kaufman
``ldl_factor``/``ldl_solve`` (SciPy's LAPACK; PyTorch has no derivative for these either).
"""

from __future__ import annotations

import math
from collections import namedtuple
from typing import Any

import numpy as np
import scipy.linalg.lapack as _lapack

from .. import ops
from .._tensor import wrap
from ..ops._core import fail, structural
from ..ops.complex import conj
from ..ops.decompositions import lu_permutation
from ..ops.reduce import return_types
from ._solvers import inv, lu_solve, solve, solve_triangular

for _name, _fields in (
    ("geqrf", ["a", "tau"]),
    ("lu_unpack", ["P", "L", "U"]),
    ("triangular_solve", ["solution", "cloned_coefficient"]),
    ("linalg_ldl_factor", ["LD", "pivots"]),
    ("linalg_ldl_factor_ex", ["LD", "pivots", "info"]),
):
    setattr(return_types, _name, namedtuple(_name, _fields))

__all__ = ["householder_product", "ldl_factor", "ldl_factor_ex", "ldl_solve", "tensorinv", "tensorsolve"]


def _shape(x: Any) -> tuple:
    return tuple(x._data.shape)


def _need_matrix(op: str, x: Any, what: str = "A") -> None:
    if x._data.ndim < 2:
        raise fail(f"{op}(): {what} must have at least 2 dimensions, got shape {_shape(x)}", RuntimeError)


# ------------------------------------------------------------------ Householder
def _reflector(A: Any, i: int) -> Any:
    """The i-th Householder vector of a geqrf result: 1 at row i, A's column i below it, 0 above."""
    m = A._data.shape[-2]
    below = structural((np.arange(m) > i).astype(A._data.dtype))
    one = structural((np.arange(m) == i).astype(A._data.dtype))
    return ops.add(ops.mul(A[..., :, i], below), one)


def _conj(x: Any) -> Any:
    return conj(x) if x._data.dtype.kind == "c" else x


def _apply_reflections(A: Any, tau: Any, C: Any, left: bool, transpose: bool) -> Any:
    """Q C, Q^H C, C Q or C Q^H for Q = H_0 H_1 ... H_(k-1), H_i = I - tau_i v_i v_i^H."""
    k = tau._data.shape[-1]
    order = range(k) if left == transpose else range(k - 1, -1, -1)
    for i in order:
        v = _reflector(A, i)
        t = tau[..., i]
        t = _conj(t) if transpose else t
        if left:  # C - t v (v^H C)
            w = ops.matmul(ops.unsqueeze(_conj(v), -2), C)
            C = ops.sub(C, ops.mul(ops.unsqueeze(ops.unsqueeze(t, -1), -1), ops.mul(ops.unsqueeze(v, -1), w)))
        else:  # C - t (C v) v^H
            w = ops.matmul(C, ops.unsqueeze(v, -1))
            C = ops.sub(
                C, ops.mul(ops.unsqueeze(ops.unsqueeze(t, -1), -1), ops.mul(w, ops.unsqueeze(_conj(v), -2)))
            )
    return C


def _check_tau(op: str, A: Any, tau: Any, k_max: int) -> None:
    if tau._data.ndim != A._data.ndim - 1 or _shape(tau)[:-1] != _shape(A)[:-2]:
        raise fail(
            f"{op}(): tau must have one dimension less than the input and the same batch "
            f"dimensions, got input {_shape(A)} and tau {_shape(tau)}",
            RuntimeError,
        )
    if tau._data.dtype != A._data.dtype:
        raise fail(
            f"{op}(): tau dtype {tau._data.dtype} does not match input dtype {A._data.dtype}", RuntimeError
        )
    if tau._data.shape[-1] > k_max:
        raise fail(
            f"{op}(): tau.shape[-1] ({tau._data.shape[-1]}) must be less than or equal to "
            f"{k_max} for an input of shape {_shape(A)}",
            RuntimeError,
        )


def householder_product(A: Any, tau: Any, *, out: Any = None) -> Any:
    """The first n columns of H_0 ... H_(k-1) for the Householder vectors stored below the
    diagonal of A (m, n), m >= n >= k: the Q of a ``geqrf`` factorisation."""
    _need_matrix("linalg.householder_product", A, "input")
    m, n = A._data.shape[-2:]
    if m < n:
        raise fail(
            f"linalg.householder_product(): input.shape[-2] must be greater than or equal to "
            f"input.shape[-1], got shape {_shape(A)}",
            RuntimeError,
        )
    _check_tau("linalg.householder_product", A, tau, n)
    eye = np.broadcast_to(np.eye(m, n, dtype=np.result_type(A._data.dtype, tau._data.dtype)), _shape(A))
    # (the product starts from A * 0, not a constant: with no reflections Q is still a function of
    # A and tau, with zero gradients, as in PyTorch)
    start = ops.add(structural(np.ascontiguousarray(eye)), ops.mul(A, 0.0))
    if tau._data.size == 0:
        start = ops.add(start, ops.mul(ops.sum(tau), 0.0))
    Q = _apply_reflections(A, tau, start, True, False)
    if out is not None:
        out.copy_(Q)
        return out
    return Q


def orgqr(input: Any, tau: Any) -> Any:  # noqa: A002
    """``linalg.householder_product``'s LAPACK name."""
    return householder_product(input, tau)


def ormqr(input: Any, input2: Any, input3: Any, left: bool = True, transpose: bool = False) -> Any:  # noqa: A002
    """``Q @ C`` (or ``C @ Q``, with ``transpose`` Q^H) for the Q that ``geqrf``'s ``(input,
    input2)`` represent, without forming Q."""
    A, tau, C = input, input2, input3
    _need_matrix("ormqr", A, "input")
    _need_matrix("ormqr", C, "other")
    mn = C._data.shape[-2] if left else C._data.shape[-1]
    if A._data.shape[-2] != mn:
        raise fail(
            f"ormqr(): input.shape[-2] must be equal to other.shape[{-2 if left else -1}] "
            f"({mn}), got input {_shape(A)} and other {_shape(C)}",
            RuntimeError,
        )
    _check_tau("ormqr", A, tau, mn)
    return _apply_reflections(A, tau, C, left, transpose)


def geqrf(input: Any) -> Any:  # noqa: A002
    """LAPACK's QR in compact form: R on and above the diagonal, the Householder vectors below
    it, and their scales ``tau`` (no gradient, as in PyTorch)."""
    _need_matrix("geqrf", input, "input")
    a = input._data
    m, n = a.shape[-2:]
    flat = a.reshape((math.prod(a.shape[:-2]), m, n))
    qr_out = np.empty_like(flat)
    tau_out = np.empty((flat.shape[0], min(m, n)), dtype=a.dtype)
    for b in range(flat.shape[0]):
        if m and n:
            (qr, tau), _ = _qr_raw(flat[b])
            qr_out[b], tau_out[b] = qr, tau
    return return_types.geqrf(
        wrap(qr_out.reshape(a.shape)), wrap(tau_out.reshape(a.shape[:-2] + (min(m, n),)))
    )


def _qr_raw(a: np.ndarray) -> Any:
    import scipy.linalg as sl

    return sl.qr(a, mode="raw")


# --------------------------------------------------------------------------- LU
def lu_unpack(LU_data: Any, LU_pivots: Any, unpack_data: bool = True, unpack_pivots: bool = True) -> Any:
    """``(P, L, U)`` with A = P L U from ``lu_factor``'s compact result (L has a unit diagonal);
    an unrequested part is an empty tensor."""
    _need_matrix("lu_unpack", LU_data, "LU_data")
    m, n = LU_data._data.shape[-2:]
    k = min(m, n)
    dt = LU_data._data.dtype
    if unpack_data:
        eye = structural(np.eye(m, k, dtype=dt))
        L = ops.add(ops.mul(LU_data[..., :, :k], structural(np.tri(m, k, -1, dtype=bool).astype(dt))), eye)
        U = ops.mul(LU_data[..., :k, :], structural(np.triu(np.ones((k, n), dtype=dt))))
    else:
        L = U = wrap(np.empty(0, dtype=dt))
    if unpack_pivots:  # P[r, c] = 1 where perm[c] = r, as in linalg.lu
        perm = lu_permutation(LU_pivots, m)
        Pt = ops.cast(ops.eq(ops.unsqueeze(perm, -2), structural(np.arange(m)[:, None])), dt)
    else:
        Pt = wrap(np.empty(0, dtype=dt))
    return return_types.lu_unpack(Pt, L, U)


def lu_solve_(b: Any, LU_data: Any, LU_pivots: Any) -> Any:
    """The solution X of A X = b from ``lu_factor``'s result (the old argument order of
    ``torch.lu_solve``; ``linalg.lu_solve`` takes (LU, pivots, B))."""
    return lu_solve(LU_data, LU_pivots, b)


def triangular_solve(
    b: Any, A: Any, upper: bool = True, transpose: bool = False, unitriangular: bool = False
) -> Any:
    """``(X, A.clone())`` with A X = b (A^T X = b with ``transpose``) for triangular A."""
    M = ops.transpose(A, -2, -1) if transpose else A
    X = solve_triangular(M, b, upper=upper != transpose, unitriangular=unitriangular)
    return return_types.triangular_solve(X, ops.clone(A))


# ------------------------------------------------------------------ tensor inverses
def tensorinv(A: Any, ind: int = 2, *, out: Any = None) -> Any:
    """The inverse of A for ``tensordot(A, X, ind)``: A's first ``ind`` dims (product n) against
    the rest (product n) as an n x n matrix, inverted, and reshaped to rest + first."""
    if ind <= 0:
        raise fail(
            f"linalg.tensorinv(): Expected a strictly positive integer for 'ind', but got {ind}", RuntimeError
        )
    s = _shape(A)
    if ind > len(s):
        raise fail(
            f"linalg.tensorinv(): ind={ind} is more than the {len(s)} dims of the input of shape {s}",
            RuntimeError,
        )
    rows, cols = math.prod(s[:ind]), math.prod(s[ind:])
    if rows != cols:
        raise fail(
            f"linalg.tensorinv(): Expected self to satisfy the requirement prod(self.shape[ind:]) == "
            f"prod(self.shape[:ind]), but got {cols} != {rows} (shape {s}, ind={ind})",
            RuntimeError,
        )
    res = ops.reshape(inv(ops.reshape(A, (rows, cols))), s[ind:] + s[:ind])
    if out is not None:
        out.copy_(res)
        return out
    return res


def tensorsolve(A: Any, B: Any, dims: Any = None, *, out: Any = None) -> Any:
    """X with ``tensordot(A, X, X.ndim) == B``: A (its ``dims`` moved last) as a matrix of
    B.numel() rows, solved against B flattened."""
    if dims is not None:
        nd = A._data.ndim
        dims = [d % nd for d in dims]
        A = ops.permute(A, tuple(d for d in range(nd) if d not in dims) + tuple(dims))
    bs, s = _shape(B), _shape(A)
    rows = math.prod(bs)
    rest = s[len(bs) :]
    if math.prod(rest) != rows:
        raise fail(
            f"linalg.tensorsolve(): Expected self to satisfy the requirement prod(result_shape) == "
            f"other.numel() with result_shape = self.shape[other.ndim:], got self {s} and "
            f"other {bs}",
            RuntimeError,
        )
    x = solve(ops.reshape(A, (rows, rows)), ops.reshape(B, (rows,)))
    res = ops.reshape(x, rest)
    if out is not None:
        out.copy_(res)
        return out
    return res


# --------------------------------------------------------------------------- LDL
def _lapack_fn(name: str, a: np.ndarray, hermitian: bool) -> Any:
    if a.dtype.kind == "c" and hermitian:
        name = name.replace("sy", "he")
    a = a if a.dtype in (np.float32, np.float64, np.complex64, np.complex128) else a.astype(np.float64)
    return _lapack.get_lapack_funcs((name,), (a,))[0]


def ldl_factor_ex(A: Any, *, hermitian: bool = False, check_errors: bool = False, out: Any = None) -> Any:
    """``(LD, pivots, info)``: the Bunch-Kaufman factorisation A = P L D L^H P^T of a symmetric
    (Hermitian) matrix from its lower triangle, in LAPACK's compact form (1x1 and 2x2 blocks of
    D on the diagonal, L below it, pivots 1-based, negative for a 2x2 block)."""
    _need_matrix("linalg.ldl_factor_ex", A)
    a = A._data
    n = a.shape[-1]
    if a.shape[-2] != n:
        raise fail(
            f"linalg.ldl_factor_ex(): A must be batches of square matrices, but they are "
            f"{a.shape[-2]} by {n} matrices",
            RuntimeError,
        )
    if a.dtype.kind not in "fc":
        raise fail(f"linalg.ldl_factor_ex(): Low precision dtypes not supported. Got {a.dtype}", RuntimeError)
    flat = a.reshape((math.prod(a.shape[:-2]), n, n))
    ld, piv = np.zeros_like(flat), np.zeros((flat.shape[0], n), dtype=np.int32)
    info = np.zeros(flat.shape[0], dtype=np.int32)
    if n:
        sytrf = _lapack_fn("sytrf", flat, hermitian)
        for b in range(flat.shape[0]):
            out_ld, ipiv, inf = sytrf(flat[b], lower=1)[:3]
            ld[b], piv[b], info[b] = np.tril(out_ld), ipiv, inf
    if check_errors and info.any():
        b = int(np.nonzero(info)[0][0])
        raise fail(
            f"linalg.ldl_factor(): (Batch element {b}): The factorization could not be completed "
            f"because the input is not invertible: D[{int(info[b]) - 1}, {int(info[b]) - 1}] is 0",
            RuntimeError,
        )
    return return_types.linalg_ldl_factor_ex(
        wrap(ld.reshape(a.shape)), wrap(piv.reshape(a.shape[:-1])), wrap(info.reshape(a.shape[:-2]))
    )


def ldl_factor(A: Any, *, hermitian: bool = False, out: Any = None) -> Any:
    """``(LD, pivots)`` of ``ldl_factor_ex``, raising if the factorisation hits a zero pivot."""
    LD, pivots, _ = ldl_factor_ex(A, hermitian=hermitian, check_errors=True)
    return return_types.linalg_ldl_factor(LD, pivots)


def ldl_solve(LD: Any, pivots: Any, B: Any, *, hermitian: bool = False, out: Any = None) -> Any:
    """The solution X of A X = B from ``ldl_factor``'s result."""
    ld, pv, b = LD._data, pivots._data, B._data
    n = ld.shape[-1]
    if b.ndim < 2 or b.shape[-2] != n:
        raise fail(
            f"linalg.ldl_solve(): B must have at least 2 dimensions with B.shape[-2] == {n}, "
            f"got shape {b.shape}",
            RuntimeError,
        )
    dt = np.result_type(ld.dtype, b.dtype)
    batch = np.broadcast_shapes(ld.shape[:-2], b.shape[:-2])
    nb = math.prod(batch)
    lds = np.broadcast_to(ld, batch + ld.shape[-2:]).reshape((nb, n, n))
    pvs = np.broadcast_to(pv, batch + pv.shape[-1:]).reshape((nb, n))
    bs = np.broadcast_to(b, batch + b.shape[-2:]).reshape((nb,) + b.shape[-2:]).astype(dt)
    x = np.empty_like(bs)
    if n and bs.shape[-1]:
        sytrs = _lapack_fn("sytrs", lds.astype(dt), hermitian)
        for i in range(bs.shape[0]):
            x[i] = sytrs(lds[i].astype(dt), pvs[i], bs[i], lower=1)[0]
    res = wrap(x.reshape(batch + b.shape[-2:]))
    if out is not None:
        out.copy_(res)
        return out
    return res


from .._naming import named  # noqa: E402

# their errors name them (linalg.tensorinv(): reshape(): ...)
for _name in __all__:
    globals()[_name] = named(f"linalg.{_name}", globals()[_name])
for _name in ("geqrf", "orgqr", "ormqr", "lu_unpack", "triangular_solve"):
    globals()[_name] = named(_name, globals()[_name])
lu_solve_ = named("lu_solve", lu_solve_)
