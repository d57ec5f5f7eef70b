"""Spectral decompositions and the matrix exponential: eigh, svd, qr, matrix_exp.

The rules are the standard perturbation formulas, written with ops (so they differentiate
again).  With ``F_ij = 1/(λ_j − λ_i)`` off the diagonal (0 on it)::

    A = V diag(λ) Vᵀ:   dλ = diag(Vᵀ dA V),  dV = V (F ∘ Vᵀ dA V)
                        Ā = V (diag(λ̄) + F ∘ skew(Vᵀ V̄)) Vᵀ
    A = U diag(s) Vᵀ:   the same with F_ij = 1/(s_j² − s_i²), plus the parts of Ū, V̄
                        outside the span of U, V when A is not square
    A = QR (m ≥ n):     C = Qᵀ dA R⁻¹, Ω = tril(C,−1) − tril(C,−1)ᵀ, dR = (C − Ω) R
    A V = V diag(λ):    dλ = diag(V⁻¹ dA V), Ā = V⁻ᴴ (diag(λ̄) + F̄ ∘ (VᴴV̄ − VᴴV Re diag(VᴴV̄))) Vᴴ

Complex input takes the same formulas with ᴴ for ᵀ (``mH``; real input pays one dtype check),
plus the diagonal phase terms (``i Im diag(·)``: Ω of QR, the SVD's ``(Im UᴴŪ − Im VᴴV̄)/2S``).
Vectors are then defined up to a phase e^{iφ}; a loss that depends on it is refused as in
PyTorch (``_gauge``).

As in PyTorch, the eigenvector and singular-vector derivatives are undefined where
eigenvalues (singular values) repeat: F is then infinite and the gradient is inf/nan, while
gradients of eigenvalues and singular values alone stay finite.  Losses must not depend on
the sign (gauge) of each vector for the gradient to mean anything.  Results are packed into
one array per call (``decompositions.pack``).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.linalg as sla

from .. import _lapack
from .._tensor import Tensor, wrap
from ._core import Primitive, apply, fail, structural
from .compare import eq
from .complex import conj, imag, real
from .decompositions import _arr, _rule_batch, _shape, mH, mT, not_converged, pack, solve_triangular, unpack
from .elementwise import add, mul, reciprocal, sub, where
from .linalg import matmul
from .shape import cat, reshape, unsqueeze

__all__ = ["eigh", "eig", "svd", "qr", "matrix_exp"]


def _cx(a: Any) -> bool:
    return _arr(a).dtype.kind == "c"


def _gauge(x: Any, y: Any, op: str, what: str) -> None:
    """PyTorch's refusal of a loss that moves with the vectors' phases: ``Im diag`` of
    ``VᴴV̄`` must vanish, for the SVD equal −Im diag ``UᴴŪ`` (its allclose, 1e-2 both)."""
    d = np.imag(np.diagonal(_arr(x), 0, -2, -1))
    e = 0.0 if y is None else -np.imag(np.diagonal(_arr(y), 0, -2, -1))
    if not np.allclose(d, e, rtol=1e-2, atol=1e-2):
        why = "this phase term, making it" if y is not None else "this quantity, so it is"
        raise fail(
            f"{op}: The {what} in the complex case are specified up to multiplication by "
            f"e^{{i phi}}. The specified loss function depends on {why} ill-defined."
        )


def _diag_embed(v: Any) -> Any:
    n = _shape(v)[-1]
    return mul(unsqueeze(v, -2), structural(np.eye(n, dtype=_arr(v).dtype)))


def _diag(m: Any) -> Any:
    from ._views import diagonal

    return diagonal(m, 0, -2, -1)


def _gaps(w: Any) -> Any:
    """``F_ij = 1/(w_j − w_i)`` off the diagonal, 0 on it (inf where values repeat)."""
    n = _shape(w)[-1]
    eye = structural(np.eye(n, dtype=_arr(w).dtype))
    e = add(sub(unsqueeze(w, -2), unsqueeze(w, -1)), eye)
    with np.errstate(divide="ignore"):
        return mul(reciprocal(e), structural(1 - eye))


def _times(f: Any, k: Any) -> Any:
    """``F ∘ K``.  Building a graph (or under vmap), entries where K is exactly 0 give 0, so
    that a zero cotangent for the vectors leaves the eigenvalue gradients finite on repeated
    eigenvalues; on arrays the product is plain (inf·0 = nan, as PyTorch)."""
    if not isinstance(k, Tensor) and not isinstance(f, Tensor):
        with np.errstate(invalid="ignore"):
            return f * k
    with np.errstate(invalid="ignore"):
        return where(eq(k, 0), 0.0, mul(f, k))


def _unused(*gs: Any) -> bool:
    """Cotangents known to be zero (arrays only): PyTorch skips the vectors' term then."""
    return all(not isinstance(g, Tensor) and not np.any(g) for g in gs)


def _flat(x: Any) -> Any:
    return reshape(x, _shape(x)[:-2] + (-1,))


# ------------------------------------------------------------------ eigh
def _eigh_forward(x: np.ndarray, *, upper: bool) -> np.ndarray:
    try:
        w, v = np.linalg.eigh(x, UPLO="U" if upper else "L")
    except np.linalg.LinAlgError:
        raise not_converged("linalg.eigh", x, "eigenvalues") from None
    return pack(x.shape[:-2], w, v)


def _eigh_vjp(g: Any, ans: Any, x_shape: tuple) -> Any:
    n = x_shape[-1]
    w, v = unpack(ans, [(n,), (n, n)])
    gw, gv = unpack(g, [(n,), (n, n)])
    w, gw, vh = real(w), real(gw), mH(v)
    if _unused(gv):
        return matmul(mul(v, unsqueeze(gw, -2)), vh)
    vtgv = matmul(vh, gv)
    if _cx(vtgv):
        _gauge(vtgv, None, "linalg_eigh_backward", "eigenvectors")
    inner = add(_diag_embed(gw), _times(_gaps(w), mul(sub(vtgv, mH(vtgv)), 0.5)))
    return matmul(v, matmul(inner, vh))


def _eigh_jvp(t: Any, ans: Any, x_shape: tuple) -> Any:
    n = x_shape[-1]
    w, v = unpack(ans, [(n,), (n, n)])
    w = real(w)
    p = matmul(mH(v), matmul(mul(add(t, mH(t)), 0.5), v))
    dv = matmul(v, _times(_gaps(w), p))
    return cat([_diag(p), _flat(dv)], -1)


EIGH = _rule_batch(Primitive("LinalgEigh", _eigh_forward, public="linalg.eigh"))
EIGH.defvjp(_eigh_vjp)
EIGH.defjvp(_eigh_jvp)


def eigh(a: Any, upper: bool = False) -> tuple[Any, Any]:
    n = _shape(a)[-1]
    w, v = unpack(apply(EIGH, (a,), {"upper": bool(upper)}), [(n,), (n, n)])
    return real(w), v


# ------------------------------------------------------------------ eig
def _eig_forward(x: np.ndarray) -> np.ndarray:
    if not np.isfinite(x).all():  # PyTorch checks before LAPACK (a RuntimeError, not LinAlgError)
        raise fail(f"torch.linalg.eig: input tensor should not contain infs or NaNs {x.shape}", RuntimeError)
    try:
        w, v = np.linalg.eig(x)
    except np.linalg.LinAlgError:
        raise not_converged("linalg.eig", x, "eigenvalues") from None
    c = np.result_type(x.dtype, np.complex64)  # complex even where all eigenvalues are real
    return pack(x.shape[:-2], w.astype(c, copy=False), v.astype(c, copy=False))


def _eig_vjp(g: Any, ans: Any, x_shape: tuple, x_dtype: Any) -> Any:
    from .decompositions import solve

    n = x_shape[-1]
    w, v = unpack(ans, [(n,), (n, n)])
    gw, gv = unpack(g, [(n,), (n, n)])
    vh = mH(v)
    inner = _diag_embed(gw)
    if not _unused(gv):
        vhgv = matmul(vh, gv)
        _gauge(vhgv, None, "linalg_eig_backward", "eigenvectors")
        vhgv = sub(vhgv, matmul(vh, mul(v, unsqueeze(real(_diag(vhgv)), -2))))  # unit-norm columns
        inner = add(inner, _times(conj(_gaps(w)), vhgv))
    ga = solve(vh, matmul(inner, vh))
    return ga if np.dtype(x_dtype).kind == "c" else real(ga)


def _eig_jvp(t: Any, ans: Any, x_shape: tuple) -> Any:
    from .decompositions import solve

    n = x_shape[-1]
    w, v = unpack(ans, [(n,), (n, n)])
    p = solve(v, matmul(t, v))  # V⁻¹ dA V
    dv = matmul(v, _times(_gaps(w), p))
    dv = sub(dv, mul(v, unsqueeze(real(_diag(matmul(mH(v), dv))), -2)))
    return cat([_diag(p), _flat(dv)], -1)


EIG = _rule_batch(Primitive("LinalgEig", _eig_forward, public="linalg.eig"))
EIG.defvjp(_eig_vjp)
EIG.defjvp(_eig_jvp)


def eig(a: Any) -> tuple[Any, Any]:
    n = _shape(a)[-1]
    w, v = unpack(apply(EIG, (a,)), [(n,), (n, n)])
    return w, v


# ------------------------------------------------------------------ svd
def _svd_shapes(m: int, n: int, full: bool) -> list[tuple]:
    k = min(m, n)
    return [(m, m if full else k), (k,), (n if full else k, n)]


def _svd_forward(x: np.ndarray, *, full_matrices: bool) -> np.ndarray:
    """By gesdd (``_lapack``: one matrix by SciPy's, a batch by NumPy's loop in C)."""
    if x.size:
        out, info = _lapack.svd_packed(x, full_matrices)
        if info != 0:
            raise not_converged("linalg.svd", x, "singular values")
        return out
    try:
        u, s, vh = np.linalg.svd(x, full_matrices=full_matrices)
    except np.linalg.LinAlgError:
        raise not_converged("linalg.svd", x, "singular values") from None
    return pack(x.shape[:-2], u, s, vh)


def _svd_vjp(g: Any, ans: Any, x_shape: tuple, full_matrices: bool) -> Any:
    m, n = x_shape[-2:]
    k = min(m, n)
    u, s, vh = unpack(ans, _svd_shapes(m, n, full_matrices))
    gu, gs, gvh = unpack(g, _svd_shapes(m, n, full_matrices))
    if full_matrices:  # the extra columns are arbitrary: the reduced SVD's rule, as PyTorch
        u, gu, vh, gvh = u[..., :k], gu[..., :k], vh[..., :k, :], gvh[..., :k, :]
    cx = _cx(ans)
    s, gs = real(s), real(gs)
    if _unused(gu, gvh):
        return matmul(mul(u, unsqueeze(gs, -2)), vh)
    if m == n and not cx and not isinstance(g, Tensor) and not isinstance(ans, Tensor):
        return _lapack.svd_vjp_square(u, s, vh, gu, gs, gvh)  # the same on arrays, in place
    v, gv = mH(vh), mH(gvh)
    f = _gaps(mul(s, s))
    utgu, vtgv = matmul(mH(u), gu), matmul(mH(v), gv)
    su = unsqueeze(s, -2)  # right-multiplying by diag(s) scales columns
    inner = add(
        mul(_times(f, sub(utgu, mH(utgu))), su), mul(unsqueeze(s, -1), _times(f, sub(vtgv, mH(vtgv))))
    )
    inner = add(inner, _diag_embed(gs))
    if cx:  # the phases: i (Im diag UᴴŪ − Im diag VᴴV̄) / 2S
        _gauge(utgu, vtgv, "svd_backward", "singular vectors")
        ph = mul(sub(imag(_diag(utgu)), imag(_diag(vtgv))), mul(reciprocal(s), 0.5j))
        inner = add(inner, _diag_embed(ph))
    ga = matmul(u, matmul(inner, vh))
    sinv = reciprocal(s)
    if m > k:  # (I − UUᵀ) Ū S⁻¹ Vᵀ
        proj = sub(gu, matmul(u, utgu))
        ga = add(ga, matmul(mul(proj, unsqueeze(sinv, -2)), vh))
    if n > k:  # U S⁻¹ V̄ᵀ (I − VVᵀ)
        proj = sub(gv, matmul(v, vtgv))
        ga = add(ga, matmul(mul(u, unsqueeze(sinv, -2)), mH(proj)))
    return ga


def _svd_jvp(t: Any, ans: Any, x_shape: tuple, full_matrices: bool) -> Any:
    m, n = x_shape[-2:]
    k = min(m, n)
    u, s, vh = unpack(ans, _svd_shapes(m, n, full_matrices))
    extra = full_matrices and m != n  # the columns beyond k are arbitrary: zero tangent,
    if extra:  # matching the VJP, which ignores them
        u, vh = u[..., :k], vh[..., :k, :]
    s, v = real(s), mH(vh)
    dp = matmul(mH(u), matmul(t, v))
    f = _gaps(mul(s, s))
    sr, sc = unsqueeze(s, -2), unsqueeze(s, -1)
    du = matmul(u, _times(f, add(mul(dp, sr), mul(sc, mH(dp)))))
    dv = matmul(v, _times(f, add(mul(sc, dp), mul(mH(dp), sr))))
    sinv = unsqueeze(reciprocal(s), -2)
    if _cx(dp):  # the phase of dU, dV: ±i Im diag(dP) / 2S (the VJP's choice)
        ph = mul(unsqueeze(imag(_diag(dp)), -2), mul(sinv, 0.5j))
        du, dv = add(du, mul(u, ph)), sub(dv, mul(v, ph))
    if m > k:
        tv = matmul(t, v)
        du = add(du, mul(sub(tv, matmul(u, matmul(mH(u), tv))), sinv))
    if n > k:
        tu = matmul(mH(t), u)
        dv = add(dv, mul(sub(tu, matmul(v, matmul(mH(v), tu))), sinv))
    dvh = mH(dv)
    if extra:
        batch = _shape(du)[:-2]
        du = cat([du, structural(np.zeros(batch + (m, m - k), _arr(du).dtype))], -1)
        dvh = cat([dvh, structural(np.zeros(batch + (n - k, n), _arr(du).dtype))], -2)
    return cat([_flat(du), _diag(dp), _flat(dvh)], -1)


SVD = _rule_batch(Primitive("LinalgSvd", _svd_forward, public="linalg.svd"))
SVD.defvjp(_svd_vjp)
SVD.defjvp(_svd_jvp)


def svd(a: Any, full_matrices: bool = True) -> tuple[Any, Any, Any]:
    m, n = _shape(a)[-2:]
    out = apply(SVD, (a,), {"full_matrices": bool(full_matrices)})
    u, s, vh = unpack(out, _svd_shapes(m, n, full_matrices))
    return u, real(s), vh


# ------------------------------------------------------------------ qr
def _qr_shapes(m: int, n: int, mode: str) -> list[tuple]:
    k = min(m, n)
    if mode == "r":
        return [(k, n)]
    return [(m, m), (m, n)] if mode == "complete" else [(m, k), (k, n)]


def _qr_forward(x: np.ndarray, *, mode: str) -> np.ndarray:
    if mode == "r":
        return pack(x.shape[:-2], np.linalg.qr(x, mode="r"))
    q, r = np.linalg.qr(x, mode=mode)
    return pack(x.shape[:-2], q, r)


def _qr_check(x_shape: tuple, mode: str) -> None:
    m, n = x_shape[-2:]
    if mode == "r":
        raise fail(
            "The derivative of linalg.qr depends on Q, which is not computed when mode='r'. "
            "Please use linalg.qr(A, mode='reduced') if you are going to differentiate "
            "through linalg.qr."
        )
    if mode == "complete" and m > n:
        raise fail("The QR decomposition is not differentiable when mode='complete' and nrows > ncols.")
    if m < n:
        raise fail("linalg.qr: the rule covers m >= n; wide input is split by linalg.qr", NotImplementedError)


def _qr_vjp(g: Any, ans: Any, x_shape: tuple, mode: str) -> Any:
    _qr_check(x_shape, mode)
    m, n = x_shape[-2:]
    q, r = unpack(ans, _qr_shapes(m, n, mode))
    gq, gr = unpack(g, _qr_shapes(m, n, mode))
    mm = sub(matmul(gr, mH(r)), matmul(mH(q), gq))
    upper = structural(~np.tri(n, n, -1, dtype=bool))
    nmat = add(mul(mm, upper), mH(mul(mm, structural(np.tri(n, n, -1, dtype=bool).T))))
    if _cx(nmat):  # R's diagonal is real: its imaginary part is Ω's (the phase), not R's
        nmat = sub(nmat, _diag_embed(mul(imag(_diag(nmat)), 1j)))
    b = add(gq, matmul(q, nmat))  # Ā Rᴴ = Q̄ + Q N
    return mH(solve_triangular(r, mH(b), upper=True))


def _qr_jvp(t: Any, ans: Any, x_shape: tuple, mode: str) -> Any:
    _qr_check(x_shape, mode)
    m, n = x_shape[-2:]
    q, r = unpack(ans, _qr_shapes(m, n, mode))
    x = mT(solve_triangular(mT(r), mT(t), upper=False))  # dA R⁻¹
    c = matmul(mH(q), x)
    low = mul(c, structural(np.tri(n, n, -1, dtype=bool)))
    upper_part = sub(c, sub(low, mH(low)))  # C − Ω
    if _cx(c):  # Ω's diagonal: i Im diag(C)
        upper_part = sub(upper_part, _diag_embed(mul(imag(_diag(c)), 1j)))
    dr = matmul(upper_part, r)
    dq = sub(x, matmul(q, upper_part))
    return cat([_flat(dq), _flat(dr)], -1)


QR = _rule_batch(Primitive("LinalgQr", _qr_forward, public="linalg.qr"))
QR.defvjp(_qr_vjp)
QR.defjvp(_qr_jvp)


def qr(a: Any, mode: str = "reduced") -> tuple[Any, Any]:
    """(Q, R); wide reduced input A = [X | Y] as X = QRₓ and R = [Rₓ | QᵀY], so the square
    rule serves it (Householder QR of A reduces the columns of X the same way)."""
    m, n = _shape(a)[-2:]
    if m < n and mode != "r":
        q, rx = qr(a[..., :m], "reduced")
        return q, cat([rx, matmul(mH(q), a[..., m:])], -1)
    parts = unpack(apply(QR, (a,), {"mode": mode}), _qr_shapes(m, n, mode))
    if mode == "r":
        return wrap(np.zeros((0,), _arr(a).dtype)), parts[0]
    return parts[0], parts[1]


# ------------------------------------------------------------------ matrix_exp
def _expm_forward(x: np.ndarray) -> np.ndarray:
    if x.size == 0:
        return x.copy()
    return sla.expm(x)


def _block(a: Any, b: Any) -> Any:
    """exp([[A, B], [0, A]])'s top-right block: the Fréchet derivative of exp at A along B."""
    n = _shape(a)[-1]
    zero = mul(a, 0.0)
    top = cat([a, b], -1)
    bottom = cat([zero, a], -1)
    return matrix_exp(cat([top, bottom], -2))[..., :n, n:]


MATRIX_EXP = _rule_batch(Primitive("LinalgMatrixExp", _expm_forward, public="linalg.matrix_exp"))
MATRIX_EXP.defvjp(lambda g, x: _block(mH(x), g))
MATRIX_EXP.defjvp(lambda t, x: _block(x, t))


def matrix_exp(a: Any) -> Any:
    return apply(MATRIX_EXP, (a,))
