"""Op-table cases for ``torch.special`` (appended to ``ops_table.CASES``).

Inputs stay inside each function's domain and away from its poles; functions PyTorch
does not differentiate are forward-only cases (``grad=False``).
"""

from __future__ import annotations

from typing import Any

from ops_table import A, C, K, P, W


def S(T: Any) -> Any:
    return T.special


_NON_DIFF_UNARY = [
    "bessel_j0",
    "bessel_j1",
    "bessel_y0",
    "bessel_y1",
    "modified_bessel_i0",
    "modified_bessel_i1",
    "modified_bessel_k0",
    "modified_bessel_k1",
    "scaled_modified_bessel_k0",
    "scaled_modified_bessel_k1",
    "spherical_bessel_j0",
    "airy_ai",
]
_POLYNOMIALS = [
    "chebyshev_polynomial_t",
    "chebyshev_polynomial_u",
    "chebyshev_polynomial_v",
    "chebyshev_polynomial_w",
    "shifted_chebyshev_polynomial_t",
    "shifted_chebyshev_polynomial_u",
    "shifted_chebyshev_polynomial_v",
    "shifted_chebyshev_polynomial_w",
    "hermite_polynomial_h",
    "hermite_polynomial_he",
    "laguerre_polynomial_l",
    "legendre_polynomial_p",
]

CASES = [
    C("erfc", lambda T, x: T.erfc(x), A((3, 4), -2, 2)),
    C("erfc", lambda T, x: S(T).erfc(x), A((5,), -1, 1)),
    C("erfinv", lambda T, x: T.erfinv(x), A((3, 4), -0.9, 0.9)),
    C("erfcx", lambda T, x: S(T).erfcx(x), A((3, 4), -1, 3)),
    C("lgamma", lambda T, x: T.lgamma(x), A((3, 4), 0.3, 4)),
    C("lgamma", lambda T, x: S(T).gammaln(x), A((5,), -2.9, -2.1)),
    C("digamma", lambda T, x: T.digamma(x), A((3, 4), 0.3, 4)),
    C("digamma", lambda T, x: S(T).psi(x), P(5)),
    C("polygamma", lambda T, x: T.polygamma(2, x), P(3, 4)),
    C("polygamma", lambda T, x: S(T).polygamma(1, x), P(5)),
    C("multigammaln", lambda T, x: S(T).multigammaln(x, 3), A((2, 3), 1.5, 3)),
    C("mvlgamma", lambda T, x: T.mvlgamma(x, 2), A((4,), 1.0, 3)),
    C("expit", lambda T, x: S(T).expit(x), A((3, 4), -3, 3)),
    C("logit", lambda T, x: T.logit(x), A((3, 4), 0.05, 0.95)),
    C("logit", lambda T, x: S(T).logit(x, eps=0.2), A((3, 4), 0.0, 1.0)),
    C("xlogy", lambda T, x, y: T.xlogy(x, y), A((3, 4)), P(4)),
    C(
        "xlogy",
        lambda T, x, y: S(T).xlogy(x * T.tensor([0.0, 1.0, 1.0], dtype=T.float64), y),
        A((2, 3)),
        P(2, 3),
    ),
    C("xlogy", lambda T, y: S(T).xlogy(2.0, y), P(4)),
    C("xlog1py", lambda T, x, y: S(T).xlog1py(x, y), A((3, 4)), A((3, 4), -0.5, 2)),
    C("ndtr", lambda T, x: S(T).ndtr(x), A((3, 4), -3, 3)),
    C("ndtri", lambda T, x: S(T).ndtri(x), A((3, 4), 0.05, 0.95)),
    C("log_ndtr", lambda T, x: S(T).log_ndtr(x), A((3, 4), -5, 3)),
    C("i0", lambda T, x: T.i0(x), A((3, 4), -3, 3)),
    C("i0", lambda T, x: S(T).i0(x), A((5,))),
    C("i0e", lambda T, x: S(T).i0e(x), K(3, 4)),
    C("i1", lambda T, x: S(T).i1(x), K(3, 4)),
    C("i1e", lambda T, x: S(T).i1e(x), K(3, 4)),
    C("sinc", lambda T, x: T.sinc(x), A((3, 4), -2, 2)),
    C("sinc", lambda T, x: S(T).sinc(x), K(5)),
    C("entr", lambda T, x: S(T).entr(x), P(3, 4)),
    C("zeta", lambda T, x, q: S(T).zeta(x, q), A((3, 4), 1.5, 4, grad=False), P(4)),
    C("gammainc", lambda T, a, x: S(T).gammainc(a, x), W(3, 4), P(3, 4)),
    C("gammaincc", lambda T, a, x: S(T).gammaincc(a, x), W(4), P(3, 4)),
    C(
        "special_namespace",
        lambda T, x: (
            S(T).log1p(x),
            S(T).expm1(x),
            S(T).exp2(x),
            S(T).logsumexp(x, 1),
            S(T).softmax(x, 1),
            S(T).log_softmax(x, 0),
            S(T).erf(x),
            S(T).round(x),
        ),
        A((3, 4), -0.9, 0.9),
    ),
]
for _name in _NON_DIFF_UNARY:
    CASES.append(C(_name, (lambda n: lambda T, x: getattr(S(T), n)(x))(_name), A((3, 4), 0.2, 3), grad=False))
for _name in _POLYNOMIALS:
    CASES.append(
        C(
            _name,
            (lambda n: lambda T, x, k: getattr(S(T), n)(x, k))(_name),
            A((2, 5), -1.2, 1.2),
            A((5,), -1.0, 7.0, grad=False),
            grad=False,
        )
    )
