"""Complex numbers: conj, real, imag, angle, complex, polar, view_as_real, view_as_complex.

Gradients follow PyTorch's convention: for a real loss ``L`` of a complex ``z = a + ib`` the
gradient is ``dL/da + i dL/db`` (the conjugate Wirtinger derivative, times 2), so gradient
descent on ``z`` works as on the pair ``(a, b)``.  With it a holomorphic op's VJP is
``g * conj(f'(z))`` (``_core.conj_if_complex``), while the JVP stays ``t * f'(z)``.
For the non-holomorphic ops here, with ``g`` the (real or complex) cotangent::

    real(z): g            imag(z): i g          conj(z): conj(g)
    abs(z):  g z/|z|      angle(z): i g z/|z|²  complex(a, b): (re g, im g)

``real``/``imag``/``view_as_real``/``view_as_complex`` share memory with their input (as in
PyTorch) and its version counter, so a write through them makes saved values of the input
stale (an error at backward, never a silent wrong gradient); the history of the input is not
rebuilt after such a write (PyTorch's CopySlices covers only index-style views here).
"""

from __future__ import annotations

import builtins
from typing import Any

import numpy as np

from .. import dtypes as _dt
from .._tensor import Tensor
from ._core import Primitive, apply, fail

__all__ = [
    "conj",
    "conj_physical",
    "resolve_conj",
    "resolve_neg",
    "real",
    "imag",
    "angle",
    "complex",
    "polar",
    "view_as_real",
    "view_as_complex",
    "is_complex",
    "sgn",
]


def _arr(a: Any) -> np.ndarray:
    return a._data if isinstance(a, Tensor) else np.asarray(a)


def _is_c(a: Any) -> bool:
    return _arr(a).dtype.kind == "c"


def _ew() -> Any:
    from . import elementwise  # (elementwise imports this module)

    return elementwise


def _shared(out: Any, x: Any) -> Any:
    """A result sharing ``x``'s memory also shares its version counter (writes are seen)."""
    if isinstance(out, Tensor) and isinstance(x, Tensor):
        out._vc = x._vc
    return out


# ----------------------------------------------------------------- conj, real, imag
CONJ = Primitive("Conj", np.conj)
CONJ.defvjp(lambda g: conj(g))
CONJ.defjvp(lambda t: conj(t))


def conj(x: Any) -> Any:
    """The complex conjugate; a real tensor is returned as it is (as PyTorch does).

    Unlike PyTorch's lazy conjugate view, the result is a new array (``is_conj()`` is False)."""
    if not _is_c(x):
        return x
    return apply(CONJ, (x,))


conj_physical = conj


def resolve_conj(x: Any) -> Any:
    """Conjugation is never lazy here, so there is nothing to resolve."""
    return x


resolve_neg = resolve_conj


def _real_forward(x: np.ndarray) -> np.ndarray:
    return x.real


def _imag_forward(x: np.ndarray) -> np.ndarray:
    return x.imag


REAL = Primitive("Real", _real_forward)
REAL.defvjp(lambda g, x_dtype: _ew().cast(g, x_dtype))  # g + 0i
REAL.defjvp(lambda t: real(t))
IMAG = Primitive("Imag", _imag_forward)
IMAG.defvjp(lambda g, x_dtype: _ew().mul(_ew().cast(g, x_dtype), 1j))  # d im(a+ib)/db = 1 -> i g
IMAG.defjvp(lambda t: imag(t))


def real(x: Any) -> Any:
    """The real part, sharing memory with ``x`` (a real tensor is returned as it is). Shape kept."""
    if not _is_c(x):
        return x
    return _shared(apply(REAL, (x,)), x)


def imag(x: Any) -> Any:
    """The imaginary part, sharing memory with ``x``; real tensors have none (as in PyTorch)."""
    if not _is_c(x):
        raise fail(
            "imag(): imag is not implemented for tensors with non-complex dtypes "
            f"(got {_dt.from_numpy(_arr(x).dtype)}); make it complex first, e.g. "
            "torch.complex(x, torch.zeros_like(x))",
            RuntimeError,
        )
    return _shared(apply(IMAG, (x,)), x)


# ------------------------------------------------------------ PyTorch's complex values
def pow_forward(x: Any, y: Any) -> Any:
    """``x ** y``; a complex zero base gives PyTorch's values (C's cpow, exp(y log 0)): 0 where
    re(y) > 0, inf+nanj where re(y) < 0, NaN where re(y) = 0, also for 0 ** 0 unless ``y`` is a
    Python number (PyTorch's scalar exponent 0 gives ones). NumPy gives 1 and NaN there."""
    ans = x**y
    if getattr(ans, "dtype", None) is None or ans.dtype.kind != "c":
        return ans
    if not isinstance(y, np.ndarray) and y == 0:
        return ans
    zero = np.asarray(x) == 0
    if not zero.any():
        return ans
    re = np.real(y)
    fix = np.where(re < 0, builtins.complex(np.inf, np.nan), builtins.complex(np.nan, np.nan))
    return np.where(zero & (re <= 0), fix, ans).astype(ans.dtype)


def div_parts(y: Any, d: float) -> Any:
    """``y / d`` for a real number ``d``, a complex ``y`` part by part: NumPy's complex division
    turns log(0) = -inf+0j into -inf+nanj, where PyTorch's log2/log10 keep -inf+0j."""
    ew = _ew()
    if not _is_c(y):
        return ew.div(y, d)
    return complex(ew.div(real(y), d), ew.div(imag(y), d))


# ------------------------------------------------------------------ abs, angle, sgn
def sgn(x: Any) -> Any:
    """``z / |z|`` (0 at 0) for complex, ``sign`` for real tensors; written with ops."""
    ew = _ew()
    if not _is_c(x):
        return ew.sign(x)
    a = ew.abs(x)
    return ew.div(x, ew.where(a == 0, 1.0, a))


def abs_vjp(g: Any, x: Any) -> Any:
    """``g * sgn(x)``: the real path is ``g * sign(x)`` as before; complex gets ``g z/|z|``."""
    if _arr(x).dtype.kind == "c" and isinstance(g, np.ndarray) and isinstance(x, np.ndarray):
        a = np.asarray(np.abs(x))  # (a 0-d x gives a NumPy scalar)
        a[a == 0] = 1.0
        np.divide(g, a, out=a)
        return np.multiply(x, a)
    return g * (_ew().sign(x) if _arr(x).dtype.kind != "c" else sgn(x))


def abs_jvp(t: Any, x: Any) -> Any:
    """``t * sign(x)``, or ``re(conj(sgn z) t)`` for complex ``z`` (|z| is real)."""
    if _arr(x).dtype.kind != "c":
        return t * _ew().sign(x)
    return real(_ew().mul(conj(sgn(x)), t))


def _angle_forward(x: np.ndarray) -> np.ndarray:
    if x.dtype.kind == "c":
        return np.angle(x)
    return np.where(x < 0, np.pi, np.where(x != x, x, 0.0)).astype(x.dtype)  # PyTorch: pi, 0 or nan


def _angle_vjp(g: Any, x: Any) -> Any:
    ew = _ew()
    if not _is_c(x):
        return ew.zeros_like_any(g)
    a2 = real(ew.mul(x, conj(x)))
    return ew.mul(ew.div(ew.mul(g, x), ew.where(a2 == 0, 1.0, a2)), 1j)


def _angle_jvp(t: Any, x: Any) -> Any:
    ew = _ew()
    if not _is_c(x):
        return ew.zeros_like_any(t)
    # d angle = im(conj(z) dz) / |z|^2
    a2 = real(ew.mul(x, conj(x)))
    return ew.div(imag(ew.mul(conj(x), t)), ew.where(a2 == 0, 1.0, a2))


ANGLE = Primitive("Angle", _angle_forward).defvjp(_angle_vjp)
ANGLE.defjvp(_angle_jvp)


def angle(x: Any) -> Any:
    """The argument of each element in (-pi, pi]; for real tensors 0 or pi (gradient 0)."""
    return apply(ANGLE, (_ew()._to_float(x),))


# ---------------------------------------------------------------------- construction
def _complex_forward(real: np.ndarray, imag: np.ndarray) -> np.ndarray:
    out = np.empty(np.broadcast_shapes(real.shape, imag.shape), dtype=_dt.complex_of(real.dtype))
    out.real = real
    out.imag = imag
    return out


COMPLEX = Primitive("Complex", _complex_forward, broadcasts=True)
COMPLEX.defvjp(lambda g: real(g), lambda g: imag(g))
COMPLEX.defjvp(
    lambda t, real_dtype: _ew().cast(t, _dt.complex_of(real_dtype)),
    lambda t, imag_dtype: _ew().mul(_ew().cast(t, _dt.complex_of(imag_dtype)), 1j),
)


def complex(real: Any, imag: Any) -> Any:  # noqa: A001 - PyTorch's name
    """``real + i imag`` from two float tensors of one dtype (float32 -> complex64), broadcast."""
    dr, di = _arr(real).dtype, _arr(imag).dtype
    if dr.kind != "f" or di.kind != "f" or dr != di or dr == np.float16:
        raise fail(
            f"complex(): expected both inputs to be float32 or float64 tensors of the same dtype, "
            f"got {_dt.describe(_arr(real))} and {_dt.describe(_arr(imag))}; convert them first, "
            "e.g. torch.complex(a.float(), b.float())",
            RuntimeError,
        )
    return apply(COMPLEX, (real, imag))


def polar(abs: Any, angle: Any) -> Any:  # noqa: A002 - PyTorch's names
    """``abs * (cos(angle) + i sin(angle))`` from two float tensors of one dtype."""
    ew = _ew()
    return complex(ew.mul(abs, ew.cos(angle)), ew.mul(abs, ew.sin(angle)))


# ------------------------------------------------------------------- real views
def _view_as_real_forward(x: np.ndarray) -> np.ndarray:
    return x[..., None].view(x.real.dtype)  # (..., 1) complex -> (..., 2) real, no copy


def _view_as_complex_forward(x: np.ndarray) -> np.ndarray:
    if x.ndim == 0 or x.shape[-1] != 2 or (x.strides[-1] != x.itemsize and x.size):
        raise fail(
            f"view_as_complex(): the last dimension must have size 2 and stride 1, got shape "
            f"{tuple(x.shape)} with strides {tuple(s // max(x.itemsize, 1) for s in x.strides)}; "
            "call .contiguous() first",
            RuntimeError,
        )
    return x.view(_dt.complex_of(x.dtype))[..., 0]


def _pair_to_complex(g: Any) -> Any:
    """``g[..., 0] + i g[..., 1]`` with ops (any strides)."""
    from .index import select

    return complex(select(g, -1, 0), select(g, -1, 1))


VIEW_AS_REAL = Primitive("ViewAsReal", _view_as_real_forward)
VIEW_AS_REAL.defvjp(lambda g: _pair_to_complex(g))
VIEW_AS_REAL.defjvp(lambda t: view_as_real(t))
VIEW_AS_COMPLEX = Primitive("ViewAsComplex", _view_as_complex_forward)
VIEW_AS_COMPLEX.defvjp(lambda g: view_as_real(g))
VIEW_AS_COMPLEX.defjvp(lambda t: _pair_to_complex(t))


def view_as_real(x: Any) -> Any:
    """A complex tensor of shape (...) seen as real pairs of shape (..., 2), sharing memory."""
    if not _is_c(x):
        raise fail(
            f"view_as_real(): is only supported for complex tensors, got {_dt.describe(_arr(x))}",
            RuntimeError,
        )
    return _shared(apply(VIEW_AS_REAL, (x,)), x)


def view_as_complex(x: Any) -> Any:
    """Real pairs of shape (..., 2) (float32/float64, last stride 1) seen as a complex tensor (...)."""
    d = _arr(x).dtype
    if d not in (np.float32, np.float64):
        raise fail(
            f"view_as_complex(): is only supported for float64 and float32 tensors, got "
            f"{_dt.describe(_arr(x))}",
            RuntimeError,
        )
    return _shared(apply(VIEW_AS_COMPLEX, (x,)), x)


def is_complex(x: Any) -> bool:
    """True for complex64/complex128 tensors."""
    return _is_c(x)


# vmap: elementwise ops and the real views act on trailing dims, so a leading batch dim passes;
# complex() broadcasts, so the unbatched side gets the batch dim's place first.
def _batch_same(op: Primitive) -> Any:
    return lambda lvl, args, batched, params: apply(op, tuple(args), params)


def _batch_complex(lvl: Any, args: list, batched: list, params: dict) -> Any:
    from .shape import reshape

    ranks = [_arr(a).ndim - (1 if b else 0) for a, b in zip(args, batched)]
    r = max(ranks)
    out = []
    for a, b, k in zip(args, batched, ranks):
        if b and k < r:
            shape = _arr(a).shape
            a = reshape(a, (shape[0],) + (1,) * (r - k) + tuple(shape[1:]))
        out.append(a)
    return apply(COMPLEX, tuple(out), params)


for _op in (CONJ, REAL, IMAG, ANGLE, VIEW_AS_REAL, VIEW_AS_COMPLEX):
    _op.extra["batch"] = _batch_same(_op)
COMPLEX.extra["batch"] = _batch_complex
