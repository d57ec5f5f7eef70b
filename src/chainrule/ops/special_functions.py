"""Special functions (``torch.special`` and the top-level names): SciPy's forwards, our rules.

Each differentiable function is an ``elementwise`` entry stating d(ans)/dx once, written
with these same functions so that higher derivatives follow (d lgamma = digamma,
d digamma = polygamma(1), d polygamma(n) = polygamma(n + 1), d i0 = i1, ...).  Functions
PyTorch does not differentiate (the Bessel functions of the first kind J0/J1, Y0/Y1, K0/K1,
the orthogonal polynomials, ...) are ``differentiable=False`` primitives: their outputs do
not require grad, as in PyTorch.  ``zeta`` is differentiable in ``q`` only; asking for the
gradient in ``x`` raises ``NotImplementedError`` as PyTorch does.
"""

from __future__ import annotations

import math
from typing import Any, Callable

import numpy as np
import scipy.special as sc

from .. import _kernel_dtypes as _kd
from .. import dtypes as _dt
from .._tensor import Tensor
from ._core import Primitive, apply, elementwise, fail
from .compare import eq
from .elementwise import _dtype_of, _to_float, cast, cos, exp, log, promote, sign, sin, where

_TWO_OVER_SQRT_PI = 2.0 / math.sqrt(math.pi)
_SQRT_PI_OVER_2 = math.sqrt(math.pi) / 2.0
_SQRT_2PI = math.sqrt(2.0 * math.pi)
_PI = math.pi


def _same_dtype(f: Callable) -> Callable:
    """A SciPy ufunc whose result keeps the input's float dtype (SciPy may widen float16)."""

    def fwd(x: np.ndarray) -> np.ndarray:
        return np.asarray(f(x)).astype(np.asarray(x).dtype, copy=False)

    return fwd


def _same_rule(op: Primitive) -> None:
    """Batching rule of an elementwise op: the batch dim is one more elementwise dim."""
    op.extra["batch"] = lambda lvl, args, batched, params: apply(op, tuple(args), params)


def _broadcast_rule(op: Primitive) -> None:
    """Batching rule of a broadcasting op: unit dims after the batch line the ranks up."""
    from .shape import reshape

    def rule(lvl: Any, args: list, batched: list, params: dict) -> Any:
        ranks = [len(np.shape(a._data if isinstance(a, Tensor) else a)) - b for a, b in zip(args, batched)]
        r = max(ranks)
        out = []
        for a, b, k in zip(args, batched, ranks):
            if b and k < r:
                s = a._data.shape if isinstance(a, Tensor) else np.shape(a)
                a = reshape(a, (s[0],) + (1,) * (r - k) + tuple(s[1:]))
            out.append(a)
        return apply(op, tuple(out), params)

    op.extra["batch"] = rule


# ============================================================ differentiable, one input
def _polygamma_forward(x: np.ndarray, *, n: int) -> np.ndarray:
    if n == 0:
        return np.asarray(sc.psi(x)).astype(x.dtype, copy=False)
    return np.asarray(sc.polygamma(n, x)).astype(x.dtype, copy=False)


def _i1_deriv(x: Any, ans: Any) -> Any:
    zero = eq(x, 0)
    return where(zero, 0.5, i0(x) - ans / where(zero, 1.0, x))


def _i1e_deriv(x: Any, ans: Any) -> Any:
    zero = eq(x, 0)
    return where(zero, 0.5, i0e(x) - ans * (sign(x) + 1 / where(zero, 1.0, x)))


def _sinc_forward(x: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore"):  # sinc(+-inf) is nan, as in PyTorch, without a warning
        return np.sinc(x).astype(x.dtype, copy=False)


def _sinc_deriv(x: Any) -> Any:
    zero = eq(x, 0)
    px = where(zero, 1.0, x) * _PI
    return where(zero, 0.0, (cos(px) * px - sin(px)) / (px * where(zero, 1.0, x)))


ERFC = elementwise("Erfc", _same_dtype(sc.erfc), lambda x: -_TWO_OVER_SQRT_PI * exp(-(x * x)))
# from x, not ans, as PyTorch (ErfinvBackward0 keeps self): the output stays free for in-place use
ERFINV = elementwise("Erfinv", _same_dtype(sc.erfinv), lambda x: _SQRT_PI_OVER_2 * exp(erfinv(x) ** 2))
ERFCX = elementwise("SpecialErfcx", _same_dtype(sc.erfcx), lambda x, ans: 2 * x * ans - _TWO_OVER_SQRT_PI)
LGAMMA = elementwise("Lgamma", _same_dtype(sc.gammaln), lambda x: digamma(x))
POLYGAMMA = elementwise("Polygamma", _polygamma_forward, lambda x, n: polygamma(n + 1, x))
NDTR = elementwise("SpecialNdtr", _same_dtype(sc.ndtr), lambda x: exp(-0.5 * x * x) / _SQRT_2PI)
NDTRI = elementwise("SpecialNdtri", _same_dtype(sc.ndtri), lambda ans: _SQRT_2PI * exp(0.5 * ans * ans))
LOG_NDTR = elementwise(
    "SpecialLogNdtr", _same_dtype(sc.log_ndtr), lambda x, ans: exp(-0.5 * x * x - ans) / _SQRT_2PI
)
I0 = elementwise("I0", _same_dtype(sc.i0), lambda x: i1(x))
I0E = elementwise("SpecialI0E", _same_dtype(sc.i0e), lambda x, ans: i1e(x) - sign(x) * ans)
I1 = elementwise("SpecialI1", _same_dtype(sc.i1), _i1_deriv)
I1E = elementwise("SpecialI1E", _same_dtype(sc.i1e), _i1e_deriv)
SINC = elementwise("Sinc", _sinc_forward, _sinc_deriv)
ENTR = elementwise("SpecialEntr", _same_dtype(sc.entr), lambda x: -(1 + log(x)))
_GAP_NAMES = {"Erfc": "erfc", "Erfinv": "erfinv", "Lgamma": "lgamma", "SpecialNdtr": "special.ndtr",
              "SpecialNdtri": "special.ndtri", "SpecialLogNdtr": "special.log_ndtr", "I0": "i0",
              "SpecialErfcx": "special.erfcx", "SpecialI0E": "special.i0e", "SpecialI1": "special.i1",
              "SpecialI1E": "special.i1e", "SpecialEntr": "special.entr"}  # (the names _kernel_dtypes knows)
for _op in (ERFC, ERFINV, ERFCX, LGAMMA, POLYGAMMA, NDTR, NDTRI, LOG_NDTR, I0, I0E, I1, I1E, SINC, ENTR):
    _same_rule(_op)


def _unary(op: Primitive) -> Callable:
    name = _GAP_NAMES.get(op.name)

    def fn(x: Any) -> Any:
        return apply(op, (_to_float(x if name is None else _kd.check(name, x)),))

    fn.__name__ = op.public
    fn.__doc__ = f"Elementwise {op.public} (SciPy's forward); integer inputs become the default float."
    return fn


erfc, erfinv, gammaln, ndtr, ndtri, log_ndtr = map(_unary, (ERFC, ERFINV, LGAMMA, NDTR, NDTRI, LOG_NDTR))
erfcx, i0, i0e, i1, i1e, sinc, entr = map(_unary, (ERFCX, I0, I0E, I1, I1E, SINC, ENTR))
lgamma = gammaln


DIGAMMA = POLYGAMMA.variant("Digamma")  # polygamma(0, x), named as PyTorch's node


def digamma(x: Any) -> Any:
    """d/dx log Γ(x); ``digamma(0) = -inf`` as in PyTorch."""
    return apply(DIGAMMA, (_to_float(_kd.check("digamma", x)),), {"n": 0})


psi = digamma


def polygamma(n: int, x: Any) -> Any:
    """The n-th derivative of digamma (``n >= 0``)."""
    if int(n) != n or n < 0:
        raise fail(f"polygamma(): n must be a non-negative integer, got {n!r}", RuntimeError)
    return apply(POLYGAMMA, (_to_float(_kd.check("polygamma", x)),), {"n": int(n)})


def multigammaln(x: Any, p: int) -> Any:
    """log of the multivariate gamma function of dimension ``p``:
    ``p(p-1)/4 log(pi) + sum_j lgamma(x - j/2)`` over j < p (every x must exceed (p-1)/2)."""
    from .reduce import sum as _sum
    from .shape import unsqueeze

    if p < 1:
        raise fail(f"multigammaln(): p has to be greater than or equal to 1, got {p}", RuntimeError)
    x = _to_float(_kd.check("mvlgamma", x))
    xd = x._data if isinstance(x, Tensor) else np.asarray(x)  # (outside x > (p-1)/2: inf or NaN, as PyTorch)
    shifts = (-np.arange(p) / 2.0).astype(xd.dtype)
    terms = gammaln(unsqueeze(x, -1) + shifts)
    return _sum(terms, -1) + p * (p - 1) / 4.0 * math.log(math.pi)


mvlgamma = multigammaln


def expit(x: Any) -> Any:
    from .elementwise import sigmoid

    return sigmoid(x)


def _logit_forward(x: np.ndarray, *, eps: float | None) -> np.ndarray:
    if eps is not None:
        x = np.clip(x, eps, 1.0 - eps)
    return np.asarray(sc.logit(x)).astype(x.dtype, copy=False)


def _logit_deriv(x: Any, eps: float | None) -> Any:
    """1 / (x (1 - x)); outside [0, 1] NaN (the input is not a probability), or with ``eps``
    0 outside [eps, 1 - eps] (the clamp's), as PyTorch's rule."""
    from .compare import gt, logical_or, lt

    lo, hi, outside = (0.0, 1.0, math.nan) if eps is None else (eps, 1.0 - eps, 0.0)
    return where(logical_or(lt(x, lo), gt(x, hi)), outside, 1 / (x * (1 - x)))


LOGIT = elementwise("Logit", _logit_forward, _logit_deriv)
_same_rule(LOGIT)


def logit(x: Any, eps: float | None = None) -> Any:
    """log(x / (1 - x)); with ``eps`` the input is clamped to [eps, 1 - eps] first (its gradient
    is then zero outside, as in PyTorch).  One node that keeps x, like PyTorch's."""
    return apply(LOGIT, (_to_float(_kd.check("logit", x)),), {"eps": None if eps is None else float(eps)})


# =========================================================== differentiable, two inputs
def _xlogy_forward(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    return np.asarray(sc.xlogy(x, y)).astype(_dt.result_type(x, y), copy=False)  # (PyTorch promotion)


def _xlog1py_forward(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    return np.asarray(sc.xlog1py(x, y)).astype(_dt.result_type(x, y), copy=False)


def _nonzero(x: Any) -> Any:
    from .compare import ne

    return cast(ne(x, 0), _dtype_of(x) if _dtype_of(x) is not None else np.float64)


XLOGY = Primitive("Xlogy", _xlogy_forward, broadcasts=True)
XLOGY.defvjp(lambda g, x, y: g * xlogy(_nonzero(x), y), lambda g, x, y: g * x / y)
XLOGY.defjvp(lambda t, x, y: t * xlogy(_nonzero(x), y), lambda t, x, y: t * x / y)
XLOG1PY = Primitive("SpecialXlog1py", _xlog1py_forward, broadcasts=True)
XLOG1PY.defvjp(lambda g, x, y: g * xlog1py(_nonzero(x), y), lambda g, x, y: g * x / (y + 1))
XLOG1PY.defjvp(lambda t, x, y: t * xlog1py(_nonzero(x), y), lambda t, x, y: t * x / (y + 1))


def _zeta_forward(x: np.ndarray, q: np.ndarray) -> np.ndarray:
    return np.asarray(sc.zeta(x, q)).astype(np.result_type(x, q), copy=False)


def _zeta_x(g: Any) -> Any:
    raise fail("the derivative for 'zeta' is not implemented.", NotImplementedError)


ZETA = Primitive("SpecialZeta", _zeta_forward, broadcasts=True)
ZETA.defvjp(_zeta_x, lambda g, x, q: -g * x * zeta(x + 1, q))
ZETA.defjvp(_zeta_x, lambda t, x, q: -t * x * zeta(x + 1, q))
for _op in (XLOGY, XLOG1PY, ZETA):
    _broadcast_rule(_op)


def _binary_float(x: Any, y: Any, op: str | None = None) -> tuple[Any, Any]:
    """PyTorch's promotion for the binary special functions: a float result dtype (refusing
    the dtypes and numbers PyTorch's kernel for ``op`` refuses)."""
    if op is not None:
        _kd.check_binary(op, x, y)
    x, y = promote(x, y)
    x, y = (float(a) if type(a) in (bool, int) else _to_float(a) for a in (x, y))  # (numbers stay weak)
    if _dtype_of(x) is None and _dtype_of(y) is not None:
        x = float(x)
    if _dtype_of(y) is None and _dtype_of(x) is not None:
        y = float(y)
    if _dtype_of(x) is not None and _dtype_of(y) is not None and _dtype_of(x) != _dtype_of(y):
        x, y = promote(x, y)
    return x, y


def xlogy(x: Any, y: Any) -> Any:
    """``x * log(y)``, 0 where x == 0 (unless y is NaN)."""
    return apply(XLOGY, _binary_float(x, y, "xlogy"))


def xlog1py(x: Any, y: Any) -> Any:
    """``x * log1p(y)``, 0 where x == 0 (unless y is NaN)."""
    return apply(XLOG1PY, _binary_float(x, y, "special.xlog1py"))


def zeta(x: Any, q: Any) -> Any:
    """The Hurwitz zeta function sum_k (k + q)^-x; differentiable in ``q``."""
    return apply(ZETA, _binary_float(x, q, "special.zeta"))


# ================================================ not differentiable (as in PyTorch)
def _chebyshev_vw(n: np.ndarray, x: np.ndarray, first: int) -> np.ndarray:
    """Chebyshev V (first = -1) and W (first = +1) polynomials by their three-term recurrence."""
    n = np.broadcast_to(n, np.broadcast_shapes(n.shape, x.shape))
    prev, cur = np.ones_like(x * 1.0), 2 * x + first
    out = np.where(n <= 0, prev, cur)
    for k in range(2, int(n.max(initial=0)) + 1):
        prev, cur = cur, 2 * x * cur - prev
        out = np.where(n == k, cur, out)
    return out


_POLYNOMIALS: dict[str, Callable] = {
    "chebyshev_polynomial_t": lambda n, x: sc.eval_chebyt(n, x),
    "chebyshev_polynomial_u": lambda n, x: sc.eval_chebyu(n, x),
    "chebyshev_polynomial_v": lambda n, x: _chebyshev_vw(n, x, -1),
    "chebyshev_polynomial_w": lambda n, x: _chebyshev_vw(n, x, 1),
    "shifted_chebyshev_polynomial_t": lambda n, x: sc.eval_chebyt(n, 2 * x - 1),
    "shifted_chebyshev_polynomial_u": lambda n, x: sc.eval_chebyu(n, 2 * x - 1),
    "shifted_chebyshev_polynomial_v": lambda n, x: _chebyshev_vw(n, 2 * x - 1, -1),
    "shifted_chebyshev_polynomial_w": lambda n, x: _chebyshev_vw(n, 2 * x - 1, 1),
    "hermite_polynomial_h": lambda n, x: sc.eval_hermite(n, x),
    "hermite_polynomial_he": lambda n, x: sc.eval_hermitenorm(n, x),
    "laguerre_polynomial_l": lambda n, x: sc.eval_laguerre(n, x),
    "legendre_polynomial_p": lambda n, x: sc.eval_legendre(n, x),
}
_UNARY_ND: dict[str, Callable] = {
    "bessel_j0": sc.j0,
    "bessel_j1": sc.j1,
    "bessel_y0": sc.y0,
    "bessel_y1": sc.y1,
    "modified_bessel_i0": sc.i0,
    "modified_bessel_i1": sc.i1,
    "modified_bessel_k0": sc.k0,
    "modified_bessel_k1": sc.k1,
    "scaled_modified_bessel_k0": sc.k0e,
    "scaled_modified_bessel_k1": sc.k1e,
    "spherical_bessel_j0": lambda x: sc.spherical_jn(0, x),
    "airy_ai": lambda x: sc.airy(x)[0],
}


def _unary_nd_forward(x: np.ndarray, *, kind: str) -> np.ndarray:
    return np.asarray(_UNARY_ND[kind](x)).astype(x.dtype, copy=False)


def _polynomial_forward(x: np.ndarray, n: np.ndarray, *, kind: str) -> np.ndarray:
    dtype = np.result_type(x, n)
    nn = np.maximum(np.trunc(np.asarray(n, dtype=np.float64)), -1).astype(np.int64)
    out = np.asarray(_POLYNOMIALS[kind](np.maximum(nn, 0), np.asarray(x, dtype=np.float64)))
    return np.where(nn < 0, 0.0, out).astype(dtype, copy=False)


def _gammainc_forward(a: np.ndarray, x: np.ndarray, *, upper: bool) -> np.ndarray:
    return np.asarray((sc.gammaincc if upper else sc.gammainc)(a, x)).astype(np.result_type(a, x))


SPECIAL_UNARY = Primitive("SpecialUnary", _unary_nd_forward, differentiable=False)
POLYNOMIAL = Primitive("SpecialPolynomial", _polynomial_forward, differentiable=False, broadcasts=True)
_same_rule(SPECIAL_UNARY)
_broadcast_rule(POLYNOMIAL)


def _gammainc_x(g: Any, a: Any, x: Any, upper: bool) -> Any:
    d = exp((a - 1) * log(x) - x - gammaln(a))
    return -g * d if upper else g * d


def _gammainc_a(g: Any) -> Any:
    raise fail("the derivative for 'igamma: input' is not implemented.", NotImplementedError)


GAMMAINC = Primitive("Igamma", _gammainc_forward, broadcasts=True)
GAMMAINC.defvjp(_gammainc_a, _gammainc_x)
GAMMAINC.defjvp(_gammainc_a, lambda t, a, x, upper: _gammainc_x(t, a, x, upper))
_broadcast_rule(GAMMAINC)


def gammainc(a: Any, x: Any) -> Any:
    """The regularised lower incomplete gamma function P(a, x); differentiable in ``x``."""
    return apply(GAMMAINC, _binary_float(a, x), {"upper": False})


def gammaincc(a: Any, x: Any) -> Any:
    """The regularised upper incomplete gamma function Q(a, x) = 1 - P(a, x)."""
    return apply(GAMMAINC, _binary_float(a, x), {"upper": True})


def _make_unary_nd(kind: str) -> Callable:
    def fn(x: Any) -> Any:
        return apply(SPECIAL_UNARY, (_to_float(x),), {"kind": kind})

    fn.__name__ = kind
    fn.__doc__ = f"torch.special.{kind} (SciPy's forward; PyTorch gives it no derivative)."
    return fn


def _make_polynomial(kind: str) -> Callable:
    def fn(x: Any, n: Any) -> Any:
        x, n = promote(x, n)
        if _dtype_of(x) is None:
            x = np.asarray(float(x), dtype=_dtype_of(n) if _dtype_of(n).kind == "f" else np.float64)
        x = _to_float(x)
        return apply(POLYNOMIAL, (x, n), {"kind": kind})

    fn.__name__ = kind
    fn.__doc__ = f"torch.special.{kind}(x, n): the degree-n polynomial at x (n truncated to an integer)."
    return fn


_ND = {k: _make_unary_nd(k) for k in _UNARY_ND} | {k: _make_polynomial(k) for k in _POLYNOMIALS}
globals().update(_ND)
NON_DIFFERENTIABLE = tuple(_ND)
