"""The linear-algebra cases of ``ops_table`` (``torch.linalg`` and its top-level names).

Inputs are made well-conditioned inside each case, so that the finite differences of
gradcheck and the comparison with PyTorch are meaningful: ``wc`` adds 3·I (a diagonally
dominant matrix), ``spd`` makes ``x xᵀ + n·I``, ``sep`` a symmetric matrix with eigenvalues
well apart, ``tall`` a matrix with separated singular values.  Eigenvectors and singular
vectors are compared through quantities that do not depend on their signs (``V * V``,
``U @ Vh``), since LAPACK builds may choose different signs.
"""

from __future__ import annotations

import math
from typing import Any

from ops_table import A, C, I


def _eye(T: Any, n: int, like: Any = None) -> Any:
    return T.eye(n, dtype=T.float64 if like is None else like.dtype)


def wc(T: Any, x: Any) -> Any:
    return x + 3 * _eye(T, x.shape[-1], x)


def spd(T: Any, x: Any) -> Any:
    return x @ x.mT + x.shape[-1] * _eye(T, x.shape[-1], x)


def sep(T: Any, x: Any) -> Any:
    n = x.shape[-1]
    return x + x.mT + T.diag(T.arange(n, dtype=x.dtype) * 3.0)


def tall(T: Any, x: Any) -> Any:
    m, n = x.shape[-2:]
    d = T.zeros(m, n, dtype=x.dtype)
    for i in range(min(m, n)):
        d[i, i] = 2.0 * (min(m, n) - i)
    return 0.3 * x + d


def _la(T: Any) -> Any:
    return T.linalg


def _lu_solve(T: Any, x: Any, b: Any, **kw: Any) -> Any:
    lu, piv = T.linalg.lu_factor(wc(T, x))
    return T.linalg.lu_solve(lu, piv, b, **kw)


def _svd_invariants(T: Any, x: Any, full: bool) -> Any:
    u, s, vh = T.linalg.svd(tall(T, x), full_matrices=full)
    k = s.shape[-1]
    return s, u[..., :k] @ vh[..., :k, :], u[..., :k] * u[..., :k]


LINALG_CASES = [
    C("linalg.inv", lambda T, x: T.linalg.inv(wc(T, x)), A((3, 3))),
    C("linalg.inv", lambda T, x: T.linalg.inv(wc(T, x)), A((2, 3, 3))),
    C("linalg.inv", lambda T, x: T.linalg.inv(wc(T, x)), A((0, 3, 3))),
    C("linalg.inv_ex", lambda T, x: T.linalg.inv_ex(wc(T, x)), A((2, 3, 3))),
    C("inverse", lambda T, x: T.inverse(wc(T, x)), A((3, 3))),
    C("linalg.det", lambda T, x: T.linalg.det(wc(T, x)), A((3, 3))),
    C("linalg.det", lambda T, x: T.det(wc(T, x) * T.tensor([-1.0, 1, 1], dtype=T.float64)), A((2, 3, 3))),
    C(
        "linalg.slogdet",
        lambda T, x: T.linalg.slogdet(wc(T, x) * T.tensor([-1.0, 1, 1], dtype=T.float64)),
        A((2, 3, 3)),
    ),
    C("slogdet", lambda T, x: T.slogdet(spd(T, x)), A((3, 3))),
    C("logdet", lambda T, x: T.logdet(spd(T, x)), A((2, 3, 3))),
    C("linalg.solve", lambda T, a, b: T.linalg.solve(wc(T, a), b), A((3, 3)), A((3,))),
    C("linalg.solve", lambda T, a, b: T.linalg.solve(wc(T, a), b), A((2, 3, 3)), A((3, 2))),
    C("linalg.solve", lambda T, a, b: T.linalg.solve(wc(T, a), b), A((3, 3)), A((2, 3, 2))),
    C("linalg.solve", lambda T, a, b: T.linalg.solve(wc(T, a), b, left=False), A((2, 3, 3)), A((2, 4, 3))),
    C(
        "linalg.solve",
        lambda T, a, b: T.linalg.solve(a + 8 * _eye(T, 64, a), b),
        A((64, 64)),
        A((64, 1)),
        gradgrad=False,
    ),
    C("linalg.solve_ex", lambda T, a, b: T.linalg.solve_ex(wc(T, a), b), A((2, 3, 3)), A((2, 3))),
    C(
        "linalg.solve_triangular",
        lambda T, a, b: T.linalg.solve_triangular(wc(T, a), b, upper=True),
        A((3, 3)),
        A((3, 2)),
    ),
    C(
        "linalg.solve_triangular",
        lambda T, a, b: T.linalg.solve_triangular(wc(T, a), b, upper=False, unitriangular=True),
        A((2, 3, 3)),
        A((3, 2)),
    ),
    C(
        "linalg.solve_triangular",
        lambda T, a, b: T.linalg.solve_triangular(wc(T, a), b, upper=False, left=False),
        A((3, 3)),
        A((2, 2, 3)),
    ),
    C("linalg.cholesky", lambda T, x: T.linalg.cholesky(spd(T, x)), A((3, 3))),
    C("linalg.cholesky", lambda T, x: T.linalg.cholesky(spd(T, x), upper=True), A((2, 3, 3))),
    C("linalg.cholesky_ex", lambda T, x: T.linalg.cholesky_ex(spd(T, x)), A((2, 3, 3))),
    C(
        "cholesky_solve",
        lambda T, x, b: T.cholesky_solve(b, T.linalg.cholesky(spd(T, x))),
        A((3, 3)),
        A((3, 2)),
    ),
    C(
        "cholesky_solve",
        lambda T, x, b: T.cholesky_solve(b, T.linalg.cholesky(spd(T, x), upper=True), upper=True),
        A((2, 3, 3)),
        A((3, 1)),
    ),
    C("cholesky_inverse", lambda T, x: T.cholesky_inverse(T.linalg.cholesky(spd(T, x))), A((3, 3))),
    C("linalg.lu_factor", lambda T, x: T.linalg.lu_factor(wc(T, x) @ wc(T, x).flip(-1)), A((3, 3))),
    C("linalg.lu_factor", lambda T, x: T.linalg.lu_factor(x), A((2, 4, 4), 0.5, 1.0)),
    C("linalg.lu_factor_ex", lambda T, x: T.linalg.lu_factor_ex(x), A((3, 3), 0.5, 1.0)),
    C("linalg.lu", lambda T, x: T.linalg.lu(x), A((2, 3, 3), 0.5, 1.0)),
    C("linalg.lu_solve", lambda T, x, b: _lu_solve(T, x.flip(-2), b), A((3, 3)), A((3, 2))),
    C("linalg.lu_solve", lambda T, x, b: _lu_solve(T, x, b, adjoint=True), A((2, 3, 3)), A((2, 3, 2))),
    C("linalg.lu_solve", lambda T, x, b: _lu_solve(T, x, b, left=False), A((3, 3)), A((2, 3))),
    C("linalg.qr", lambda T, x: T.linalg.qr(tall(T, x)), A((4, 3))),
    C("linalg.qr", lambda T, x: T.linalg.qr(tall(T, x)), A((2, 3, 3))),
    C("linalg.qr", lambda T, x: T.linalg.qr(tall(T, x), mode="complete"), A((3, 4))),
    C("linalg.qr", lambda T, x: T.linalg.qr(tall(T, x), mode="r")[1].detach(), A((4, 3)), grad=False),
    C("linalg.qr", lambda T, x: T.linalg.qr(tall(T, x), mode="complete")[0].detach(), A((4, 3)), grad=False),
    C("linalg.eigh", lambda T, x: (lambda w, v: (w, v * v))(*T.linalg.eigh(sep(T, x))), A((4, 4))),
    C(
        "linalg.eigh",
        lambda T, x: (lambda w, v: (w, v @ v.mT * w.unsqueeze(-1)))(*T.linalg.eigh(sep(T, x), UPLO="U")),
        A((2, 3, 3)),
    ),
    C("linalg.eigvalsh", lambda T, x: T.linalg.eigvalsh(sep(T, x)), A((2, 3, 3))),
    C("linalg.svd", lambda T, x: _svd_invariants(T, x, False), A((4, 3))),
    C("linalg.svd", lambda T, x: _svd_invariants(T, x, False), A((2, 3, 4))),
    C("linalg.svd", lambda T, x: _svd_invariants(T, x, True), A((4, 3))),
    C("linalg.svd", lambda T, x: _svd_invariants(T, x, True), A((3, 3))),
    C("svd", lambda T, x: (lambda u, s, v: (s, u @ v.mT))(*T.svd(tall(T, x))), A((4, 3))),
    C("linalg.svdvals", lambda T, x: T.linalg.svdvals(tall(T, x)), A((2, 4, 3))),
    C("linalg.pinv", lambda T, x: T.linalg.pinv(tall(T, x)), A((4, 3))),
    C("linalg.pinv", lambda T, x: T.linalg.pinv(sep(T, x), hermitian=True), A((3, 3))),
    C("pinverse", lambda T, x: T.pinverse(tall(T, x)), A((2, 3, 4))),
    C("linalg.lstsq", lambda T, x, b: T.linalg.lstsq(tall(T, x), b), A((4, 3)), A((4, 2))),
    C(
        "linalg.lstsq",
        lambda T, x, b: T.linalg.lstsq(tall(T, x), b, driver="gelsd")[:2],
        A((2, 4, 3)),
        A((2, 4, 2)),
    ),
    C(
        "linalg.matrix_rank",
        lambda T, x: T.linalg.matrix_rank(x[..., :1] @ x[..., :1, :]),
        A((2, 3, 3)),
        grad=False,
    ),
    C(
        "linalg.matrix_rank",
        lambda T, x: T.linalg.matrix_rank(tall(T, x), hermitian=False),
        A((4, 3)),
        grad=False,
    ),
    C("linalg.matrix_exp", lambda T, x: T.linalg.matrix_exp(x), A((3, 3))),
    C("linalg.matrix_exp", lambda T, x: T.matrix_exp(2 * x), A((2, 3, 3))),
    C("linalg.matrix_power", lambda T, x: T.linalg.matrix_power(x, 3), A((2, 3, 3))),
    C("linalg.matrix_power", lambda T, x: T.matrix_power(wc(T, x), -2), A((3, 3))),
    C("linalg.matrix_power", lambda T, x: T.linalg.matrix_power(x, 0), A((3, 3))),
    C("linalg.cross", lambda T, x, y: T.linalg.cross(x, y), A((4, 3)), A((4, 3))),
    C("linalg.cross", lambda T, x, y: T.linalg.cross(x, y, dim=0), A((3, 1)), A((3, 2))),
    C("cross", lambda T, x, y: T.cross(x, y, dim=1), A((2, 3)), A((2, 3))),
    C("linalg.vecdot", lambda T, x, y: T.linalg.vecdot(x, y), A((2, 3)), A((3,))),
    C("linalg.multi_dot", lambda T, x, y, z: T.linalg.multi_dot([x, y, z]), A((3,)), A((3, 4)), A((4,))),
    C("linalg.multi_dot", lambda T, x, y, z: T.linalg.multi_dot([x, y, z]), A((2, 3)), A((3, 4)), A((4, 2))),
    C("linalg.diagonal", lambda T, x: T.linalg.diagonal(x, offset=1), A((2, 3, 4))),
    C("linalg.vander", lambda T, x: T.linalg.vander(x), A((2, 3))),
    C("linalg.matrix_norm", lambda T, x: T.linalg.matrix_norm(tall(T, x), "nuc"), A((2, 4, 3))),
    C("linalg.matrix_norm", lambda T, x: T.linalg.matrix_norm(tall(T, x), 2), A((4, 3))),
    C("linalg.matrix_norm", lambda T, x: T.linalg.matrix_norm(tall(T, x), -2, keepdim=True), A((2, 4, 3))),
    C("linalg.matrix_norm", lambda T, x: T.linalg.matrix_norm(x, 1, dim=(0, 2)), A((5, 2, 4), away=0.05)),
    C("linalg.matrix_norm", lambda T, x: T.linalg.matrix_norm(x, -math.inf), A((3, 4), away=0.05)),
    C("linalg.norm", lambda T, x: T.linalg.norm(x, math.inf), A((3, 4), away=0.05)),
    C("linalg.norm", lambda T, x: T.linalg.norm(x, dim=(0, 1)), A((3, 4, 2))),
    C("linalg.cond", lambda T, x: T.linalg.cond(tall(T, x)), A((4, 3))),
    C("linalg.cond", lambda T, x: T.linalg.cond(wc(T, x), "nuc"), A((3, 3))),
    # complex input (entered through complex(x, y), results as real pairs)
    C(
        "linalg.solve",
        lambda T, x, y, b: _re(T, T.linalg.solve(wc(T, T.complex(x, y)), T.complex(b, b))),
        A((2, 3, 3)),
        A((2, 3, 3)),
        A((3, 2)),
    ),
    C(
        "linalg.cholesky",
        lambda T, x, y: _re(T, T.linalg.cholesky(_hpd(T, T.complex(x, y)))),
        A((3, 3)),
        A((3, 3)),
    ),
    C(
        "linalg.slogdet",
        lambda T, x, y: _re(T, T.linalg.slogdet(wc(T, T.complex(x, y)))[0]),
        A((3, 3)),
        A((3, 3)),
    ),
    # eig of a real matrix: complex results (eigenvalues 0, 3, 6 moved a little; |vectors| do not
    # depend on their phases)
    C("linalg.eigvals", lambda T, x: T.view_as_real(T.linalg.eigvals(_apart(T, x))), A((2, 3, 3))),
    C("linalg.eig", lambda T, x: T.linalg.eig(_apart(T, x)).eigenvectors.abs(), A((3, 3))),
]
_ = I


def _apart(T: Any, x: Any) -> Any:
    return 0.3 * x + T.diag(T.arange(x.shape[-1], dtype=x.dtype) * 3.0)


def _re(T: Any, z: Any) -> Any:
    return T.view_as_real(z.resolve_conj())


def _hpd(T: Any, z: Any) -> Any:
    return z @ z.mH + z.shape[-1] * T.eye(z.shape[-1], dtype=z.dtype)
