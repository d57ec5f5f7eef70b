"""Solvers and factorizations: inv, slogdet, solve, solve_triangular, cholesky, lu_factor.

Each is one primitive over LAPACK (NumPy, SciPy) that batches over the leading dims; the
rules are the matrix-calculus formulas written with ops, so they differentiate again::

    X = A⁻¹:          dX = -X dA X                  Ā = -Xᴴ X̄ Xᴴ
    X = A⁻¹B:         dX = A⁻¹(dB - dA X)           B̄ = A⁻ᴴX̄,  Ā = -B̄ Xᴴ
    L = chol(A):      dL = L Φ(L⁻¹ dA L⁻ᴴ)          Ā = sym(L⁻ᴴ Φ(Lᴴ L̄) L⁻¹)
    log|det A|:       d = re tr(A⁻¹ dA)             Ā = c A⁻ᴴ,  c = ḡ - i im(conj(s̄) s)

(Φ keeps the lower triangle and halves the diagonal; ᴴ, the conjugate transpose, gives complex
input PyTorch's gradients.)  An op with several results packs
them into one array, each flattened over the last axis (``pack``); the public functions in
``chainrule.linalg`` take them apart again as views.  Singular or indefinite input raises
``LinAlgError`` naming the batch element, as PyTorch does.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.linalg as sla

from .. import _lapack
from .._lapack import matrices as _matrices  # ``a (*batch, m, n)`` as ``(prod(batch), m, n)``
from .._tensor import Tensor
from ._core import Primitive, apply, conj_if_complex, fail, structural
from ._views import diagonal
from .complex import _is_c, imag, real
from .elementwise import add, cast, mul, neg, sub
from .index import gather
from .linalg import matmul
from .reduce import sum as _sum
from .shape import broadcast_to, cat, reshape, sum_to, transpose, unsqueeze

__all__ = [
    "LinAlgError",
    "pack",
    "unpack",
    "inv",
    "slogdet",
    "solve",
    "solve_triangular",
    "cholesky",
    "lu_factor",
    "lu_permutation",
]


class LinAlgError(RuntimeError):
    """Singular or not positive-definite input (``torch.linalg.LinAlgError``)."""


def _arr(x: Any) -> Any:
    return x._data if isinstance(x, Tensor) else np.asarray(x)


def _shape(x: Any) -> tuple:
    return tuple(x._data.shape) if isinstance(x, Tensor) else tuple(np.shape(x))


def mT(a: Any) -> Any:
    return transpose(a, -1, -2)


def mH(a: Any) -> Any:
    """The conjugate transpose (``mT`` for real dtypes: no copy)."""
    return conj_if_complex(transpose(a, -1, -2))


def sym(a: Any) -> Any:
    return mul(add(a, mH(a)), 0.5)


# ------------------------------------------------------------------ packing
def pack(batch: tuple, *arrays: np.ndarray) -> np.ndarray:
    """Several results with the same batch dims as one array ``(*batch, total)`` (sizes
    counted, not inferred with -1, so that an empty batch keeps its trailing length)."""
    k = len(batch)
    return np.concatenate([a.reshape(batch + (int(np.prod(a.shape[k:])),)) for a in arrays], axis=-1)


def unpack(out: Any, shapes: list[tuple]) -> list:
    """The results ``pack`` joined, as views of ``out`` with trailing shapes ``shapes``."""
    batch = _shape(out)[:-1]
    parts, start = [], 0
    for s in shapes:
        size = int(np.prod(s, dtype=np.int64))
        piece = out[..., start : start + size]
        parts.append(reshape(piece, batch + tuple(s)))
        start += size
    return parts


# ------------------------------------------------------------------ errors
def _prefix(k: int, batch: tuple) -> str:
    return f"(Batch element {k}): " if batch else ""


def failures(a: np.ndarray, routine: str) -> np.ndarray:
    """LAPACK's ``info`` per matrix of the batch for ``getrf`` (singular: the zero pivot's
    1-based index) or ``potrf`` (indefinite: the order of the failing leading minor)."""
    flat = _matrices(np.asarray(a))
    if not flat.size:
        return np.zeros(flat.shape[0], np.int32)
    f = sla.get_lapack_funcs(routine, (flat,))
    infos = [f(m, lower=1)[-1] if routine == "potrf" else f(m)[-1] for m in flat]
    return np.asarray(infos, np.int32).reshape(a.shape[:-2])


def _first(infos: np.ndarray) -> tuple[int, int]:
    flat = infos.reshape(-1)
    k = int(np.flatnonzero(flat > 0)[0]) if np.any(flat > 0) else 0
    return k, int(flat[k])


def not_converged(op: str, a: np.ndarray, values: str) -> Exception:
    """PyTorch's LinAlgError where LAPACK's iteration does not converge: NaN or inf input as a
    rule (the first such batch element is named), else an ill-conditioned matrix."""
    bad = np.flatnonzero(~np.isfinite(_matrices(a)).all(axis=(-2, -1)))
    if not bad.size:
        why = f"the input matrix is ill-conditioned or has too many repeated {values}"
        return fail(f"{op}: The algorithm failed to converge because {why}.", LinAlgError)
    return fail(
        f"{op}: {_prefix(int(bad[0]), a.shape[:-2])}The algorithm failed to converge because the input "
        f"matrix contained non-finite values (shape {a.shape}); check it first, e.g. "
        "torch.isfinite(A).all(), or replace them with torch.nan_to_num(A)",
        LinAlgError,
    )


def _singular(op: str, a: np.ndarray, what: str) -> Exception:
    k, info = _first(failures(a, "getrf"))
    return fail(f"{op}: {_prefix(k, a.shape[:-2])}" + what.format(info=info), LinAlgError)


def _batched(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    batch = np.broadcast_shapes(a.shape[:-2], b.shape[:-2])
    return np.broadcast_to(a, batch + a.shape[-2:]), np.broadcast_to(b, batch + b.shape[-2:])


def _rule_batch(op: Primitive) -> Primitive:
    """vmap: the batch is one more leading dim; operands are lined up to the same logical rank
    (unit dims after the batch) so that their batch dims broadcast as without vmap."""

    def rule(lvl: Any, args: list, batched: list, params: dict) -> Any:
        ranks = [len(_shape(a)) - (1 if b else 0) for a, b in zip(args, batched)]
        r = max(ranks)
        lined = []
        for a, b, k in zip(args, batched, ranks):
            if b and k < r:
                s = _shape(a)
                a = reshape(a, (s[0],) + (1,) * (r - k) + s[1:])
            lined.append(a)
        return apply(op, tuple(lined), params)

    op.extra["batch"] = rule
    return op


# ------------------------------------------------------------------ inv
def _inv_forward(x: np.ndarray) -> np.ndarray:
    try:
        return np.linalg.inv(x)
    except np.linalg.LinAlgError:
        raise _singular(
            "linalg.inv",
            x,
            "The diagonal element {info} is zero, the inversion "
            "could not be completed because the input matrix is singular.",
        ) from None


INV = _rule_batch(Primitive("LinalgInv", _inv_forward, public="linalg.inv"))
INV.defvjp(lambda g, ans: neg(matmul(mH(ans), matmul(g, mH(ans)))))
INV.defjvp(lambda t, ans: neg(matmul(ans, matmul(t, ans))))


def inv(a: Any) -> Any:
    return apply(INV, (a,))


# ------------------------------------------------------------------ slogdet
def _slogdet_forward(x: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore"):  # NaN/inf input: NaN out, quietly (as PyTorch)
        sign, logabs = np.linalg.slogdet(x)
    # PyTorch's real sign is the product of the signs of LU's diagonal, 0 where a NaN is among
    # them; a complex one is NaN there, and so is its log|det|
    if sign.dtype.kind == "c":
        return np.stack([sign, np.where(np.isnan(sign), np.nan, logabs)], -1)
    return np.stack([np.where(np.isnan(logabs), 0.0, sign).astype(sign.dtype), logabs], -1)


def _slogdet_vjp(g: Any, x: Any, ans: Any) -> Any:
    c = g[..., 1]
    if _is_c(x):  # the sign moves too: d sign = i sign im tr(A⁻¹dA)
        c = sub(real(c), mul(imag(mul(conj_if_complex(g[..., 0]), ans[..., 0])), 1j))
    return mul(unsqueeze(unsqueeze(c, -1), -1), mH(inv(x)))


def _slogdet_jvp(t: Any, x: Any, ans: Any) -> Any:
    d = _sum(diagonal(solve(x, t), 0, -2, -1), -1)
    # a real sign does not move; a complex one by i sign im tr(A⁻¹dA)
    ds = mul(ans[..., 0], mul(imag(d), 1j)) if _is_c(x) else mul(d, 0.0)
    return cat([unsqueeze(ds, -1), unsqueeze(real(d), -1)], -1)


SLOGDET = _rule_batch(Primitive("LinalgSlogdet", _slogdet_forward, public="linalg.slogdet"))
SLOGDET.defvjp(_slogdet_vjp)
SLOGDET.defjvp(_slogdet_jvp)


def slogdet(a: Any) -> tuple[Any, Any]:
    """(sign, log|det|); a real sign carries no gradient, a complex one does (its phase)."""
    out = apply(SLOGDET, (a,))
    return out[..., 0], real(out[..., 1]) if _is_c(out) else out[..., 1]


# ------------------------------------------------------------------ solve
def _solve_forward(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``A⁻¹B``; a single large system keeps its LU factors behind X for the backward, whose
    ``A⁻ᵀX̄`` is then two triangular solves instead of a second factorization."""
    if a.ndim == 2 and b.ndim == 2 and a.shape[0] >= _lapack.LU_MIN and a.dtype == b.dtype:
        x, info = _lapack.solve_keep_lu(a, b)
        if info > 0:
            raise _singular(
                "torch.linalg.solve", a, "The solver failed because the input matrix is singular."
            )
        return x
    try:
        return np.linalg.solve(a, b)
    except np.linalg.LinAlgError:
        raise _singular(
            "torch.linalg.solve", _batched(a, b)[0], "The solver failed because the input matrix is singular."
        ) from None


def _solve_vjp(g: Any, a: Any, ans: Any, a_shape: tuple, b_shape: tuple) -> tuple:
    """Both cotangents from one ``A⁻ᵀX̄`` (the two inputs usually both require grad)."""
    if not isinstance(g, Tensor) and not isinstance(ans, Tensor) and not isinstance(a, Tensor):
        ga, gb = _lapack.solve_vjp(g, a, ans)  # the same on arrays: the forward's LU, one n×n
        return sum_to(ga, a_shape), sum_to(gb, b_shape)
    gb = solve(mH(a), g)
    return sum_to(neg(matmul(gb, mH(ans))), a_shape), sum_to(gb, b_shape)


def _solve_jvp(ts: tuple, a: Any, ans: Any) -> Any:
    ta, tb = ts
    rhs = tb if ta is None else (neg(matmul(ta, ans)) if tb is None else sub(tb, matmul(ta, ans)))
    return solve(a, rhs)


SOLVE = _rule_batch(Primitive("LinalgSolve", _solve_forward, public="linalg.solve"))
SOLVE.defvjp_all(_solve_vjp)
SOLVE.defjvp_all(_solve_jvp)


def solve(a: Any, b: Any) -> Any:
    """``A⁻¹B`` for ``A (*, n, n)``, ``B (*, n, k)`` with broadcast batch dims."""
    return apply(SOLVE, (a, b))


# ------------------------------------------------------------------ triangular solve
def _trsm_forward(a: np.ndarray, b: np.ndarray, *, upper: bool, unitriangular: bool) -> np.ndarray:
    """BLAS trsm per matrix: like PyTorch, a zero on the diagonal gives inf/nan, not an error."""
    a, b = _batched(a, b)
    dtype = np.result_type(a, b)
    out = np.empty(b.shape, dtype)
    fa, fb, fo = _matrices(a), _matrices(b), _matrices(out)
    if fb.size:
        trsm = sla.get_blas_funcs("trsm", (fa, fb))
        for i in range(fa.shape[0]):
            fo[i] = trsm(1.0, fa[i], fb[i], lower=int(not upper), diag=int(unitriangular))
    return out


def _trsm_vjp_b(g: Any, a: Any, b_shape: tuple, upper: bool, unitriangular: bool) -> Any:
    return sum_to(solve_triangular(mH(a), g, upper=not upper, unitriangular=unitriangular), b_shape)


def _trsm_vjp_a(
    g: Any, a: Any, ans: Any, a_shape: tuple, b_shape: tuple, upper: bool, unitriangular: bool
) -> Any:
    gb = solve_triangular(mH(a), g, upper=not upper, unitriangular=unitriangular)
    mask = _part(a_shape[-1], upper, unitriangular)
    return sum_to(mul(neg(matmul(gb, mH(ans))), mask), a_shape)


def _part(n: int, upper: bool, unit: bool) -> np.ndarray:
    """The entries a triangular solve reads: one triangle, without the diagonal if unit."""
    d = 1 if unit else 0
    return structural(~np.tri(n, n, d - 1, dtype=bool) if upper else np.tri(n, n, -d, dtype=bool))


def _trsm_jvp(ts: tuple, a: Any, ans: Any, upper: bool, unitriangular: bool) -> Any:
    ta, tb = ts
    if ta is not None:
        ta = matmul(mul(ta, _part(_shape(a)[-1], upper, unitriangular)), ans)
    rhs = tb if ta is None else (neg(ta) if tb is None else sub(tb, ta))
    return solve_triangular(a, rhs, upper=upper, unitriangular=unitriangular)


TRSM = _rule_batch(Primitive("LinalgSolveTriangular", _trsm_forward, public="linalg.solve_triangular"))
TRSM.defvjp(_trsm_vjp_a, _trsm_vjp_b)
TRSM.defjvp_all(_trsm_jvp)


def solve_triangular(a: Any, b: Any, *, upper: bool, unitriangular: bool = False) -> Any:
    """``A⁻¹B`` reading only A's upper (or lower) triangle."""
    return apply(TRSM, (a, b), {"upper": bool(upper), "unitriangular": bool(unitriangular)})


# ------------------------------------------------------------------ cholesky
def _cholesky_forward(x: np.ndarray) -> np.ndarray:
    try:
        if x.ndim > 2 or x.shape[0] < _lapack.LU_MIN:
            return np.linalg.cholesky(x)
        lower, info = _lapack.cholesky(x)
        if info > 0:
            raise np.linalg.LinAlgError
        return lower
    except np.linalg.LinAlgError:
        k, info = _first(failures(x, "potrf"))
        raise fail(
            f"linalg.cholesky: {_prefix(k, x.shape[:-2])}The factorization could not be "
            "completed because the input is not positive-definite (the leading minor of "
            f"order {info} is not positive-definite).",
            LinAlgError,
        ) from None


def _phi(n: int) -> np.ndarray:
    return structural(np.tri(n, n) - 0.5 * np.eye(n))


def _cholesky_vjp(g: Any, ans: Any) -> Any:
    if not isinstance(g, Tensor) and not isinstance(ans, Tensor) and not _is_c(ans):
        return _lapack.cholesky_vjp(g, ans)  # the same, in place with BLAS
    n = _shape(ans)[-1]
    p = matmul(mH(ans), g)  # P = Lᴴ L̄, then sym(Φ(P)) = ½(tril P + (tril₋₁ P)ᴴ), as PyTorch
    low, strict = (structural(np.tri(n, n, k, dtype=bool)) for k in (0, -1))
    p = mul(add(mul(p, low), mH(mul(p, strict))), 0.5)  # (Hermitian, so the result is too)
    z = solve_triangular(mH(ans), p, upper=True)  # L⁻ᴴ sym(Φ)
    return mH(solve_triangular(mH(ans), mH(z), upper=True))  # (L⁻ᴴ sym(Φ)) L⁻¹


def _cholesky_jvp(t: Any, ans: Any) -> Any:
    w = solve_triangular(ans, sym(t), upper=False)  # L⁻¹ dA
    x = solve_triangular(ans, mH(w), upper=False)  # L⁻¹ dA L⁻ᴴ (Hermitian)
    return matmul(ans, mul(x, _phi(_shape(ans)[-1])))


CHOLESKY = _rule_batch(Primitive("LinalgCholesky", _cholesky_forward, public="linalg.cholesky"))
CHOLESKY.defvjp(_cholesky_vjp)
CHOLESKY.defjvp(_cholesky_jvp)


def cholesky(a: Any) -> Any:
    return apply(CHOLESKY, (a,))


# ------------------------------------------------------------------ LU
def _lu_forward(x: np.ndarray, *, check: bool = True) -> np.ndarray:
    """LU with partial pivoting, packed as (LU, pivots, info); pivots are 1-based (LAPACK's)."""
    m, n = x.shape[-2:]
    k = min(m, n)
    flat = _matrices(x)
    lus = np.empty(flat.shape, x.dtype)
    pivs = np.empty((flat.shape[0], k), x.dtype)
    infos = np.zeros((flat.shape[0], 1), x.dtype)
    if flat.size:
        getrf = sla.get_lapack_funcs("getrf", (flat,))
        for i, mat in enumerate(flat):
            lus[i], piv, infos[i, 0] = getrf(mat)
            pivs[i] = piv[:k] + 1
    batch = x.shape[:-2]
    if check and np.any(infos > 0):
        j = int(np.flatnonzero(infos[:, 0] > 0)[0])
        d = int(infos[j, 0])  # PyTorch prints LAPACK's (1-based) info as the index
        raise fail(
            f"torch.linalg.lu_factor: {_prefix(j, batch)}U[{d},{d}] is zero and using it on "
            "lu_solve would result in a division by zero. If you still want to perform the "
            "factorization, consider calling linalg.lu(A, pivot) or "
            "linalg.lu_factor_ex(A, pivot)"
        )
    return pack(batch, lus.reshape(x.shape), pivs.reshape(batch + (k,)), infos.reshape(batch + (1,)))


def _lu_pieces(lu: Any) -> tuple:
    n = _shape(lu)[-1]
    eye = structural(np.eye(n, dtype=_arr(lu).dtype))
    lower = add(mul(lu, structural(np.tri(n, n, -1, dtype=bool))), eye)
    upper = mul(lu, structural(~np.tri(n, n, -1, dtype=bool)))
    return lower, upper


def rows(x: Any, perm: Any) -> Any:
    """``x[..., perm, :]`` for a batch of permutations ``perm (*, n)`` (``gather`` on the rows)."""
    batch = tuple(np.broadcast_shapes(_shape(perm)[:-1], _shape(x)[:-2]))
    n, cols = _shape(x)[-2:]
    idx = broadcast_to(unsqueeze(perm, -1), batch + (n, cols))
    if _shape(x)[:-2] != batch:
        x = broadcast_to(x, batch + (n, cols))
    return gather(x, -2, idx)


def _square_only(shape: tuple) -> None:
    if shape[-1] != shape[-2]:
        raise fail(
            f"linalg.lu_factor: derivatives are implemented for square matrices only, got shape {shape}",
            NotImplementedError,
        )


def _lu_vjp(g: Any, ans: Any, x_shape: tuple) -> Any:
    _square_only(x_shape)
    n = x_shape[-1]
    lu, piv, _ = unpack(ans, [(n, n), (n,), (1,)])
    lower, upper = _lu_pieces(lu)
    gl = unpack(g, [(n, n)])[0]
    nmat = add(
        mul(matmul(mH(lower), gl), structural(np.tri(n, n, -1, dtype=bool))),
        mul(matmul(gl, mH(upper)), structural(~np.tri(n, n, -1, dtype=bool))),
    )
    z = solve_triangular(mH(lower), nmat, upper=True, unitriangular=True)  # L⁻ᴴ N
    z = mH(solve_triangular(upper, mH(z), upper=True))  # (L⁻ᴴ N) U⁻ᴴ
    return rows(z, lu_permutation(piv, n, inverse=True))  # P Z


def _lu_jvp(t: Any, ans: Any, x_shape: tuple) -> Any:
    _square_only(x_shape)
    n = x_shape[-1]
    lu, piv, _ = unpack(ans, [(n, n), (n,), (1,)])
    lower, upper = _lu_pieces(lu)
    pt = rows(t, lu_permutation(piv, n))  # Pᵀ dA
    w = solve_triangular(lower, pt, upper=False, unitriangular=True)
    xx = mT(solve_triangular(mT(upper), mT(w), upper=False))  # L⁻¹ Pᵀ dA U⁻¹
    dlu = add(
        matmul(lower, mul(xx, structural(np.tri(n, n, -1, dtype=bool)))),
        matmul(mul(xx, structural(~np.tri(n, n, -1, dtype=bool))), upper),
    )
    batch = _shape(dlu)[:-2]
    return cat([reshape(dlu, batch + (-1,)), structural(np.zeros(batch + (n + 1,), _arr(dlu).dtype))], -1)


LU = _rule_batch(Primitive("LinalgLuFactor", _lu_forward, public="linalg.lu_factor"))
LU.defvjp(_lu_vjp)
LU.defjvp(_lu_jvp)


def lu_factor(a: Any, check: bool = True) -> tuple[Any, Any, Any]:
    """(LU, pivots, info) of ``A = P L U``: pivots and info int32, pivots 1-based (LAPACK's)."""
    from .. import dtypes as _dt

    m, n = _shape(a)[-2:]
    lu, piv, info = unpack(apply(LU, (a,), {"check": bool(check)}), [(m, n), (min(m, n),), ()])
    return lu, cast(real(piv), _dt.int32), cast(real(info), _dt.int32)


def _perm_forward(pivots: np.ndarray, *, n: int, inverse: bool) -> np.ndarray:
    """The row order ``perm`` with ``Pᵀ A = A[perm]`` from LAPACK's sequential row swaps."""
    k = pivots.shape[-1]
    batch = pivots.shape[:-1]
    count = int(np.prod(batch))
    perm = np.broadcast_to(np.arange(n), batch + (n,)).reshape(count, n).copy()
    piv = np.real(pivots).reshape(count, k).astype(np.int64) - 1
    at = np.arange(perm.shape[0])
    for i in range(k):
        j = piv[:, i]
        tmp = perm[at, i].copy()
        perm[at, i] = perm[at, j]
        perm[at, j] = tmp
    if inverse:
        perm = np.argsort(perm, axis=-1)
    return perm.reshape(batch + (n,))


PERM = Primitive("LuPivotsToPermutation", _perm_forward, public="linalg.lu_factor", differentiable=False)
PERM.extra["batch"] = lambda lvl, args, batched, params: apply(PERM, tuple(args), params)


def lu_permutation(pivots: Any, n: int, inverse: bool = False) -> Any:
    """The row order of ``Pᵀ A = A[perm]`` (or its inverse) from 1-based LAPACK pivots."""
    return apply(PERM, (pivots,), {"n": int(n), "inverse": bool(inverse)})
