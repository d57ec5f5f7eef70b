"""More of ``torch``'s math, composed from the op table: elementwise aliases and predicates,
statistics (cov, corrcoef, nanmean, aminmax), integration (trapezoid, gradient) and small
matrix helpers (addr, adjoint, dist, renorm).

Every function here is written with differentiable ops, so gradients, vmap and the compiler
follow from the primitives; the integer ops with no composition (gcd, lcm, the shifts,
nextafter, frexp) are primitives in ``ops/elementwise_extra.py``.
"""

from __future__ import annotations

import math
from collections import namedtuple
from typing import Any, Sequence

import numpy as np

from . import linalg as _linalg
from . import ops
from ._tensor import Tensor
from .ops import complex as _cx
from .ops._core import fail, structural
from .ops._dims import norm_dim
from .ops.elementwise import _dtype_of, _to_float, cast, promote
from .ops.elementwise_extra import (  # noqa: F401  (re-exported)
    bitwise_left_shift,
    bitwise_right_shift,
    frexp,
    gcd,
    lcm,
    nextafter,
)
from .ops.reduce import return_types
from .ops.special_functions import gammainc as igamma
from .ops.special_functions import gammaincc as igammac

return_types.aminmax = namedtuple("aminmax", ["min", "max"])  # type: ignore[attr-defined]

__all__ = [
    "positive",
    "fix",
    "deg2rad",
    "rad2deg",
    "isposinf",
    "isneginf",
    "isreal",
    "signbit",
    "heaviside",
    "fmax",
    "fmin",
    "float_power",
    "ldexp",
    "frexp",
    "gcd",
    "lcm",
    "nextafter",
    "igamma",
    "igammac",
    "bitwise_left_shift",
    "bitwise_right_shift",
    "hardshrink",
    "clamp_min",
    "clamp_max",
    "rsub",
    "nanmean",
    "aminmax",
    "adjoint",
    "cov",
    "corrcoef",
    "dist",
    "addr",
    "renorm",
    "frobenius_norm",
    "nuclear_norm",
    "vander",
]


def _shape(x: Any) -> tuple[int, ...]:
    return tuple(x._data.shape) if isinstance(x, Tensor) else np.shape(x)


def _tensor(x: Any) -> Tensor:
    if isinstance(x, Tensor):
        return x
    from ._creation import tensor

    return tensor(x)


# ---------------------------------------------------------------- elementwise
def positive(input: Any) -> Any:  # noqa: A002
    """``+input``: the tensor itself (refused for bool, as PyTorch's unary plus is)."""
    if _dtype_of(input) is not None and _dtype_of(input).kind == "b":
        raise fail("positive(): The `+` operator, on a bool tensor is not supported.", RuntimeError)
    return input


def fix(input: Any) -> Any:  # noqa: A002
    """Round towards zero: ``trunc``'s other name."""
    return ops.trunc(input)


def deg2rad(input: Any) -> Any:  # noqa: A002
    """Degrees to radians (integer input gives the default float dtype)."""
    return ops.mul(_to_float(input), math.pi / 180.0)


def rad2deg(input: Any) -> Any:  # noqa: A002
    """Radians to degrees (integer input gives the default float dtype)."""
    return ops.mul(_to_float(input), 180.0 / math.pi)


def isposinf(input: Any) -> Any:  # noqa: A002
    """True where ``input`` is +inf."""
    return ops.eq(input, math.inf)


def isneginf(input: Any) -> Any:  # noqa: A002
    """True where ``input`` is -inf."""
    return ops.eq(input, -math.inf)


def isreal(input: Any) -> Any:  # noqa: A002
    """True where the value has no imaginary part (everywhere for a real dtype)."""
    x = _tensor(input)
    if x._data.dtype.kind == "c":
        return ops.eq(_cx.imag(x), 0)
    return ops.eq(ops.isnan(x), ops.isnan(x))  # all True, shaped like x and recorded from it


def signbit(input: Any) -> Any:  # noqa: A002
    """True where the sign bit is set (so for -0.0 and a negative NaN too)."""
    x = _tensor(input)
    if x._data.dtype.kind == "c":
        raise fail("signbit(): signbit is not implemented for complex tensors.", RuntimeError)
    if x._data.dtype.kind in "bu":
        return ops.ne(x, x)
    from ._creation import ones_like

    one = ones_like(x, dtype=x._data.dtype if x._data.dtype.kind == "f" else np.float64)
    return ops.lt(ops.copysign(one, x), 0)


def heaviside(input: Any, values: Any) -> Any:  # noqa: A002
    """The step function: 0 below zero, ``values`` at zero, 1 above (no gradient, as in PyTorch)."""
    x, v = _tensor(input), _tensor(values)
    if x._data.dtype != v._data.dtype:
        raise fail(
            f"heaviside is not yet implemented for tensors with different dtypes ({x._data.dtype} "
            f"and {v._data.dtype}); convert values first, e.g. values.to(input.dtype)",
            RuntimeError,
        )
    x, v = x.detach(), v.detach()
    return ops.where(ops.eq(x, 0), v, cast(ops.gt(x, 0), x._data.dtype))


def _nan_aware(op: str, input: Any, other: Any, keep: Any) -> Any:
    for a in (input, other):
        if _dtype_of(a) is not None and _dtype_of(a).kind == "c":
            raise fail(f"{op}(): complex tensors are not supported (got {_dtype_of(a)})", RuntimeError)
    x, y = promote(input, other)
    x = _tensor(x)
    return ops.where(ops.logical_or(keep(x, y), ops.isnan(_tensor(y))), x, y)


def fmax(input: Any, other: Any) -> Any:  # noqa: A002
    """Elementwise maximum that ignores NaN (NaN only where both are); ties give the gradient to
    ``input``, as PyTorch's rule does."""
    return _nan_aware("fmax", input, other, ops.ge)


def fmin(input: Any, other: Any) -> Any:  # noqa: A002
    """Elementwise minimum that ignores NaN (NaN only where both are)."""
    return _nan_aware("fmin", input, other, ops.le)


def _double(a: Any) -> Any:
    d = _dtype_of(a)
    if d is None:
        return complex(a) if isinstance(a, complex) else float(a)
    return cast(a, np.complex128 if d.kind == "c" else np.float64)


def float_power(input: Any, exponent: Any) -> Any:  # noqa: A002
    """``input ** exponent`` computed in double precision (complex128 for complex operands)."""
    cplx = any(
        isinstance(a, complex) or (_dtype_of(a) is not None and _dtype_of(a).kind == "c")
        for a in (input, exponent)
    )
    x, y = _double(input), _double(exponent)
    if cplx:
        x = cast(x, np.complex128) if isinstance(x, Tensor) else complex(x)
        y = cast(y, np.complex128) if isinstance(y, Tensor) else complex(y)
    return ops.pow(x, y)


def ldexp(input: Any, other: Any) -> Any:  # noqa: A002
    """``input * 2 ** other``."""
    return ops.mul(input, ops.pow(2.0, other))


def hardshrink(input: Any, lambd: float = 0.5) -> Any:  # noqa: A002
    """``input`` where ``|input| > lambd``, else 0."""
    return ops.where(ops.gt(ops.abs(input), lambd), input, 0.0)


def clamp_min(input: Any, min: Any) -> Any:  # noqa: A002
    """``clamp(input, min=min)``."""
    return ops.clamp(input, min=min)


def clamp_max(input: Any, max: Any) -> Any:  # noqa: A002
    """``clamp(input, max=max)``."""
    return ops.clamp(input, max=max)


def rsub(input: Any, other: Any, *, alpha: Any = 1) -> Any:  # noqa: A002
    """``other - alpha * input``."""
    return ops.sub(other, input if alpha == 1 else ops.mul(input, alpha))


# ------------------------------------------------------------------ statistics
def nanmean(input: Any, dim: Any = None, keepdim: bool = False, *, dtype: Any = None) -> Any:  # noqa: A002
    """The mean of the non-NaN values (NaN where there are none)."""
    x = _tensor(input)
    if x._data.dtype.kind not in "fc":
        raise fail(
            f"nanmean(): expected a float or complex input, got {x._data.dtype}; convert it first, "
            "e.g. x.float()",
            RuntimeError,
        )
    if dtype is not None:
        x = cast(x, dtype)
    count = ops.sum(ops.logical_not(ops.isnan(x)), dim, keepdim)
    return ops.div(ops.nansum(x, dim, keepdim), count)


def aminmax(input: Any, *, dim: int | None = None, keepdim: bool = False) -> Any:  # noqa: A002
    """``(amin, amax)`` over ``dim`` (all elements when None), as ``return_types.aminmax``."""
    x = _tensor(input)
    if x._data.size == 0 and (dim is None or x._data.ndim == 0):
        raise fail(
            "aminmax(): cannot compute aminmax over an empty dimension as the operation has no "
            f"identity (input shape {tuple(x._data.shape)}); pass a dim of non-zero size",
            RuntimeError,
        )
    d: Any = None if dim is None else norm_dim(dim, x._data.ndim, "aminmax")
    if d is None and keepdim:
        d = tuple(range(x._data.ndim))
    lo, hi = (ops.amin(x), ops.amax(x)) if d is None else (ops.amin(x, d, keepdim), ops.amax(x, d, keepdim))
    return return_types.aminmax(lo, hi)


def adjoint(input: Any) -> Any:  # noqa: A002
    """The conjugate transpose of the last two dims (a view for real tensors)."""
    x = _tensor(input)
    if x._data.ndim == 0:
        return _cx.conj(x) if x._data.dtype.kind == "c" else x
    if x._data.ndim < 2:
        raise fail(
            f"adjoint(): tensor.adjoint() is only supported on matrices or batches of matrices. Got "
            f"{x._data.ndim}-D tensor; add a dimension first, e.g. x.unsqueeze(0)",
            RuntimeError,
        )
    out = ops.transpose(x, -2, -1)
    return _cx.conj(out) if x._data.dtype.kind == "c" else out


def cov(input: Any, *, correction: int = 1, fweights: Any = None, aweights: Any = None) -> Any:  # noqa: A002
    """The covariance matrix of the variables in the rows of ``input`` (observations in columns),
    with frequency and importance weights, as ``numpy.cov``."""
    x = _tensor(input)
    if x._data.ndim > 2:
        raise fail(
            f"cov(): expected input to have two or fewer dimensions but got an input with "
            f"{x._data.ndim} dimensions",
            RuntimeError,
        )
    if x._data.ndim < 2:
        x = ops.reshape(x, (1, -1))
    x = _to_float(x)
    n_obs = x._data.shape[1]
    w = None
    for name, wt in (("fweights", fweights), ("aweights", aweights)):
        if wt is None:
            continue
        if len(_shape(wt)) > 1 or int(np.prod(_shape(wt))) != n_obs:
            raise fail(
                f"cov(): expected {name} to have at most one dimension and {n_obs} elements (one "
                f"per observation), got shape {_shape(wt)}",
                RuntimeError,
            )
        wt = ops.reshape(wt, (n_obs,))
        w = wt if w is None else ops.mul(w, wt)
    if w is None:
        avg, w_sum = ops.mean(x, 1), n_obs
    else:
        w_sum = ops.sum(w)
        if float(w_sum._data) == 0:
            raise fail(
                f"cov(): weights sum to zero, can't be normalized (input shape {_shape(input)})", RuntimeError
            )
        avg = ops.div(ops.sum(ops.mul(x, w), 1), w_sum)
    if w is None or correction == 0:
        norm = ops.sub(w_sum, correction) if correction else w_sum
    elif aweights is None:
        norm = ops.sub(w_sum, correction)
    else:
        norm = ops.sub(w_sum, ops.div(ops.mul(ops.sum(ops.mul(w, aweights)), correction), w_sum))
    norm = ops.clamp(_tensor(norm), min=0)
    xm = ops.sub(x, ops.unsqueeze(avg, 1))
    xw = xm if w is None else ops.mul(xm, w)
    xt = ops.transpose(xm, 0, 1)
    c = ops.matmul(xw, _cx.conj(xt) if xm._data.dtype.kind == "c" else xt)
    return ops.squeeze(ops.div(c, cast(norm, c._data.dtype)))


def corrcoef(input: Any) -> Any:  # noqa: A002
    """Pearson correlation coefficients of the variables in the rows of ``input``."""
    c = cov(input)
    if c._data.ndim == 0:
        return ops.div(c, c)
    d = ops.diagonal(c)
    std = ops.sqrt(_cx.real(d) if d._data.dtype.kind == "c" else d)
    c = ops.div(ops.div(c, ops.unsqueeze(std, 1)), ops.unsqueeze(std, 0))
    if c._data.dtype.kind == "c":
        return _cx.complex(ops.clamp(_cx.real(c), -1, 1), ops.clamp(_cx.imag(c), -1, 1))
    return ops.clamp(c, -1, 1)


# --------------------------------------------------------------- matrix helpers
def dist(input: Any, other: Any, p: float = 2) -> Any:  # noqa: A002
    """The p-norm of ``input - other`` over all elements."""
    return _linalg.vector_norm(ops.sub(input, other), p)


def addr(input: Any, vec1: Any, vec2: Any, *, beta: Any = 1, alpha: Any = 1) -> Any:  # noqa: A002
    """``beta * input + alpha * outer(vec1, vec2)`` (``input`` ignored when beta == 0)."""
    s1, s2 = _shape(vec1), _shape(vec2)
    if len(s1) != 1 or len(s2) != 1:
        raise fail(
            f"addr(): expected 1-D vectors, got vec1 of shape {s1} and vec2 of shape {s2}", RuntimeError
        )
    prod = ops.outer(vec1, vec2)
    if not np.broadcast_shapes(_shape(input), prod._data.shape) == prod._data.shape:
        raise fail(
            f"addr(): the input of shape {_shape(input)} cannot be expanded to the outer "
            f"product's shape {prod._data.shape}",
            RuntimeError,
        )
    if alpha != 1:
        prod = ops.mul(prod, alpha)
    if beta == 0:
        return ops.add(prod, ops.mul(ops.where(ops.isnan(_tensor(input)), 0.0, input), 0))
    return ops.add(ops.mul(input, beta) if beta != 1 else input, prod)


def renorm(input: Any, p: float, dim: int, maxnorm: float) -> Any:  # noqa: A002
    """Each slice along ``dim`` whose p-norm exceeds ``maxnorm`` scaled down to norm ``maxnorm``."""
    x = _tensor(input)
    if p <= 0:
        raise fail(f"renorm(): non-positive-norm not supported (p={p})", RuntimeError)
    if maxnorm < 0:
        raise fail(f"renorm(): non-negative-norm not supported (maxnorm={maxnorm})", RuntimeError)
    if x._data.ndim < 2:
        raise fail(
            f"renorm(): input needs at least 2 dimensions, got {x._data.ndim} dimensions (shape "
            f"{tuple(x._data.shape)})",
            RuntimeError,
        )
    d = norm_dim(dim, x._data.ndim, "renorm")
    others = tuple(i for i in range(x._data.ndim) if i != d)
    norm = _linalg.vector_norm(x, p, others, True)
    factor = ops.where(ops.gt(norm, maxnorm), ops.div(maxnorm, ops.add(norm, 1e-7)), 1.0)
    return ops.mul(x, factor)


def frobenius_norm(input: Any, dim: Sequence[int] = (), keepdim: bool = False) -> Any:  # noqa: A002
    """The 2-norm over ``dim`` (at most two dims)."""
    if len(tuple(dim)) > 2:
        raise fail(
            f"frobenius_norm(): Expected at most 2 dimensions, but got {len(tuple(dim))} dimensions instead.",
            RuntimeError,
        )
    return _linalg.vector_norm(input, 2, tuple(dim) or None, keepdim)


def nuclear_norm(input: Any, dim: Any = None, keepdim: bool = False) -> Any:  # noqa: A002
    """The sum of the singular values (of the matrix in ``dim``, (0, 1) by default)."""
    if isinstance(dim, bool):
        dim, keepdim = None, dim
    if dim is None:
        if len(_shape(input)) != 2:
            raise fail(
                f"nuclear_norm(): Expected a tensor with 2 dimensions, but got a tensor with "
                f"{len(_shape(input))} dimensions instead.",
                RuntimeError,
            )
        dim = (0, 1)
    return _linalg.matrix_norm(input, "nuc", tuple(dim), keepdim)


def vander(x: Any, N: int | None = None, increasing: bool = False) -> Any:
    """The Vandermonde matrix of a 1-D ``x``: columns x**(N-1), ..., x, 1 (reversed with
    ``increasing``); integer input gives int64, as PyTorch's."""
    x = _tensor(x)
    if x._data.ndim != 1:
        raise fail(
            f"vander(): x must be a one-dimensional tensor, got shape {tuple(x._data.shape)}", RuntimeError
        )
    n = x._data.shape[0]
    N = n if N is None else int(N)
    if N < 0:
        raise fail(f"vander(): N must be non-negative, got {N}", RuntimeError)
    if x._data.dtype.kind in "biu":
        x = cast(x, np.int64)
    if N == 0:
        return ops.reshape(ops.mul(x, 0), (n, 0)) if n == 0 else ops.mul(ops.unsqueeze(x, 1), 0)[:, :0]
    ones = structural(np.ones((n, 1), dtype=x._data.dtype))
    cols = ops.cat([ones, ops.expand(ops.unsqueeze(x, 1), n, N - 1)], 1)
    out = ops.cumprod(cols, 1)
    return out if increasing else ops.flip(out, (-1,))


from ._naming import name_all  # noqa: E402

name_all(globals(), __all__)  # their errors name them (cov(): matmul(): ...)
