"""Discrete Fourier transforms: three primitives, computed by ``scipy.fft`` (pocketfft).

``C2C`` (complex to complex), ``R2C`` (real to the one-sided half spectrum) and ``C2R``
(half spectrum to real) transform over ``dim`` (negative indices, so a leading batch
dimension changes nothing) with PyTorch's ``norm`` modes: ``"backward"`` scales the inverse
by 1/n, ``"forward"`` the forward transform, ``"ortho"`` both by 1/sqrt(n).  Sizes ``n``/``s``
are applied before a primitive by zero-padding or trimming the input (differentiable ops).

All three are linear, so the JVP is the same transform of the tangent and the VJP is the
adjoint (PyTorch's convention for complex gradients, see ``ops/complex.py``):

    C2C(norm)  adjoint: the opposite direction with the dual norm (backward <-> forward);
               its real part for a real input (which C2C takes as it is, without a cast)
    R2C        adjoint: real part of the dual C2C of the spectrum zero-padded to n bins
    C2R        adjoint: R2C of g with the dual norm, bins 1 .. n - (n//2 + 1) doubled
               (each of them stands for itself and its mirror image in the full spectrum)
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.fft as _sf  # (2-4x numpy.fft's speed here: a real-input path, no upcast of float32)

from .. import _lapack
from .. import dtypes as _dt
from .._tensor import Tensor
from ._core import Primitive, apply, fail, structural

__all__ = ["c2c", "r2c", "c2r", "resize"]

DUAL = {"backward": "forward", "forward": "backward", "ortho": "ortho"}


# NaN/inf propagate silently, as in PyTorch (pocketfft's ufunc loops would warn)
def _c2c_forward(x: np.ndarray, *, dim: tuple, norm: str, forward: bool) -> np.ndarray:
    f = _sf.fftn if forward else _sf.ifftn  # a real x: pocketfft's r2c, mirrored (no upcast)
    with np.errstate(all="ignore"):
        return f(x, axes=dim, norm=norm).astype(_dt.complex_of(x.dtype), copy=False)


def _c2c_vjp(g: Any, x_dtype: np.dtype, dim: tuple, norm: str, forward: bool) -> Any:
    if x_dtype.kind == "c":
        return c2c(g, dim, DUAL[norm], not forward)
    if not isinstance(g, Tensor):  # a real input's cotangent: the real part, by a half-size c2r
        return _lapack.real_c2c(g, dim, DUAL[norm], not forward)
    from .complex import real

    return real(c2c(g, dim, DUAL[norm], not forward))


def _r2c_forward(x: np.ndarray, *, dim: tuple, norm: str) -> np.ndarray:
    with np.errstate(all="ignore"):
        return _sf.rfftn(x, axes=dim, norm=norm).astype(_dt.complex_of(x.dtype), copy=False)


def _c2r_forward(x: np.ndarray, *, dim: tuple, norm: str, n: int) -> np.ndarray:
    s = [x.shape[d] for d in dim[:-1]] + [n]
    with np.errstate(all="ignore"):
        return _sf.irfftn(x, s=s, axes=dim, norm=norm).astype(x.real.dtype, copy=False)


def _shape(a: Any) -> tuple:
    return tuple(a._data.shape) if isinstance(a, Tensor) else np.shape(a)


def _r2c_vjp(g: Any, x_shape: tuple, dim: tuple, norm: str) -> Any:
    from .complex import real

    full = resize(g, dim[-1:], (x_shape[dim[-1]],))
    return real(c2c(full, dim, DUAL[norm], False))


def _c2r_vjp(g: Any, dim: tuple, norm: str, n: int) -> Any:
    from .elementwise import mul

    half = r2c(g, dim, DUAL[norm])
    m = n // 2 + 1
    if n - m <= 0:
        return half
    w = np.ones(m, dtype=_dt.complex_of(np.asarray(getattr(g, "_data", g)).real.dtype))
    w[1 : n - m + 1] = 2
    return mul(half, structural(w.reshape((m,) + (1,) * (-1 - dim[-1]))))


C2C = Primitive("FftC2C", _c2c_forward, public="fft")
C2C.defvjp(_c2c_vjp)
C2C.defjvp(lambda t, dim, norm, forward: c2c(t, dim, norm, forward))
R2C = Primitive("FftR2C", _r2c_forward, public="rfft")
R2C.defvjp(_r2c_vjp)
R2C.defjvp(lambda t, dim, norm: r2c(t, dim, norm))
C2R = Primitive("FftC2R", _c2r_forward, public="irfft")
C2R.defvjp(_c2r_vjp)
C2R.defjvp(lambda t, dim, norm, n: c2r(t, dim, norm, n))


def _batch(op: Primitive) -> Any:
    # dims are negative: the batch dimension in front changes nothing (vmap's rule)
    return lambda lvl, args, batched, params: apply(op, tuple(args), params)


for _op in (C2C, R2C, C2R):
    _op.extra["batch"] = _batch(_op)


def c2c(x: Any, dim: tuple, norm: str, forward: bool) -> Any:
    return apply(C2C, (x,), {"dim": dim, "norm": norm, "forward": forward})


def r2c(x: Any, dim: tuple, norm: str) -> Any:
    return apply(R2C, (x,), {"dim": dim, "norm": norm})


def c2r(x: Any, dim: tuple, norm: str, n: int) -> Any:
    return apply(C2R, (x,), {"dim": dim, "norm": norm, "n": n})


def resize(x: Any, dims: tuple, sizes: tuple) -> Any:
    """Trim or zero-pad ``x`` along ``dims`` to ``sizes`` (what an FFT's ``n``/``s`` does)."""
    from .padding import pad
    from .shape import narrow

    shape = _shape(x)
    for d, n in zip(dims, sizes):
        have = shape[d]
        if n < have:
            x = narrow(x, d, 0, n)
        elif n > have:
            widths = [0, 0] * (-d - 1) + [0, n - have]  # F.pad order: last dim first
            x = pad(x, tuple(widths))
        shape = _shape(x)
    return x


def check_norm(name: str, norm: Any) -> str:
    if norm is None:
        return "backward"
    if norm not in DUAL:
        raise fail(
            f"{name}(): Invalid normalization mode: {norm!r}; use 'backward', 'ortho' or 'forward'",
            ValueError,
        )
    return norm
