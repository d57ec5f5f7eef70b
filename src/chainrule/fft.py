"""``chainrule.fft``: PyTorch's ``torch.fft`` names, differentiable in both modes.

>>> import chainrule as torch
>>> torch.fft.rfft(torch.tensor([1.0, 2.0, 3.0, 4.0]))
tensor([10.+0.j, -2.+2.j, -2.+0.j])

Every transform is one of three primitives of ``ops/fourier.py`` (complex-to-complex,
real-to-half-spectrum, half-spectrum-to-real) after ``n``/``s`` have trimmed or zero-padded
the input; ``hfft``/``ihfft`` are those with a conjugate, the shifts are ``roll``.  Integer
inputs become the default float dtype, real inputs of complex transforms complex64/128.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from . import dtypes as _dt
from ._creation import arange
from ._tensor import Tensor
from .ops import elementwise as _ew
from .ops._core import fail
from .ops.complex import conj
from .ops.fourier import DUAL, c2c, c2r, check_norm, r2c, resize
from .ops.shape import _ndim, _shape, roll

__all__ = [
    "fft",
    "ifft",
    "rfft",
    "irfft",
    "hfft",
    "ihfft",
    "fft2",
    "ifft2",
    "rfft2",
    "irfft2",
    "fftn",
    "ifftn",
    "rfftn",
    "irfftn",
    "fftfreq",
    "rfftfreq",
    "fftshift",
    "ifftshift",
]


def _float(x: Any, name: str) -> Any:
    if not isinstance(x, Tensor):
        raise fail(f"{name}(): expected a Tensor input, got {type(x).__name__}", TypeError)
    d = x._data.dtype
    if d.kind == "c" or d == np.float32 or d == np.float64:
        return x
    if d == np.float16:
        raise fail(
            f"{name}(): float16 transforms are not supported on the CPU; convert first, e.g. x.float()",
            RuntimeError,
        )
    return _ew.cast(x, _dt.get_default_dtype().np)  # integers and bools: default float


def _complex(x: Any, name: str) -> Any:
    x = _float(x, name)
    return x if x._data.dtype.kind == "c" else _ew.cast(x, _dt.complex_of(x._data.dtype))


def _real(x: Any, name: str) -> Any:
    x = _float(x, name)
    if x._data.dtype.kind == "c":
        raise fail(
            f"{name}(): expects a real input tensor, but got {x.dtype}; use fft() for complex "
            "inputs, or take .real / .abs() first",
            RuntimeError,
        )
    return x


def _dims(name: str, x: Any, s: Any, dim: Any) -> tuple[tuple, tuple | None]:
    """PyTorch's rules: ``dim`` defaults to the last len(s) dims (all dims without ``s``); ``s``
    gives a size per dim (-1: keep).  Dims come back negative, sizes as given (or None)."""
    nd = _ndim(x)
    if isinstance(dim, int):
        dim = (dim,)
    if s is not None:
        s = tuple(int(v) for v in s)
        if dim is None:
            dim = tuple(range(nd - len(s), nd))
        elif len(dim) != len(s):
            raise fail(
                f"{name}(): When given, dim and shape arguments must have the same length, got "
                f"s={list(s)} and dim={list(dim)}",
                RuntimeError,
            )
    elif dim is None:
        dim = tuple(range(nd))
    out = []
    for d in dim:
        if not -nd <= d < nd:
            raise fail(
                f"{name}(): Dimension out of range (expected to be in range of [{-nd}, {nd - 1}], "
                f"but got {d}) for an input of shape {tuple(_shape(x))}",
                IndexError,
            )
        out.append(d % nd - nd)
    if len(set(out)) != len(out):
        raise fail(f"{name}(): dims must be unique, got {list(dim)}", RuntimeError)
    if not out:
        raise fail(
            f"{name}(): needs at least one dimension to transform, got dim={list(dim)} for "
            f"an input of shape {tuple(_shape(x))}",
            RuntimeError,
        )
    return tuple(out), s


def _sizes(name: str, x: Any, dims: tuple, s: Any) -> tuple:
    shape = _shape(x)
    sizes = tuple(shape[d] if s is None or s[i] == -1 else s[i] for i, d in enumerate(dims))
    for n in sizes:
        if n < 1:
            raise fail(
                f"{name}(): Invalid number of data points ({n}) specified; each size must be "
                f">= 1 (input shape {tuple(shape)})",
                RuntimeError,
            )
    return sizes


# ------------------------------------------------------------------------- n-d forms
def _nd_input(name: str, input: Any, s: Any, dim: Any, norm: Any, kind: Any) -> tuple:  # noqa: A002
    """The checked input of an n-d transform, cut or zero-padded to ``s``: (x, dims, norm)."""
    norm = check_norm(name, norm)
    dims, s = _dims(name, input, s, dim)
    x = kind(input, name)
    return resize(x, dims, _sizes(name, x, dims, s)), dims, norm


def fftn(input: Any, s: Sequence[int] | None = None, dim: Any = None, norm: str | None = None) -> Any:  # noqa: A002
    """The n-d DFT over ``dim`` (all dims by default); shapes kept except ``s``-sized dims."""
    x, dims, norm = _nd_input("fftn", input, s, dim, norm, _complex)
    return c2c(x, dims, norm, True)


def ifftn(input: Any, s: Sequence[int] | None = None, dim: Any = None, norm: str | None = None) -> Any:  # noqa: A002
    """The n-d inverse DFT (``ifftn(fftn(x)) == x``)."""
    x, dims, norm = _nd_input("ifftn", input, s, dim, norm, _complex)
    return c2c(x, dims, norm, False)


def rfftn(input: Any, s: Sequence[int] | None = None, dim: Any = None, norm: str | None = None) -> Any:  # noqa: A002
    """The n-d DFT of a real input, last dim one-sided: (..., n) -> (..., n // 2 + 1) complex."""
    x, dims, norm = _nd_input("rfftn", input, s, dim, norm, _real)
    return r2c(x, dims, norm)


def irfftn(input: Any, s: Sequence[int] | None = None, dim: Any = None, norm: str | None = None) -> Any:  # noqa: A002
    """The inverse of ``rfftn``: a one-sided spectrum (..., m) -> real (..., n), n = 2 (m - 1)
    unless ``s`` says otherwise.  Only the first n // 2 + 1 bins of the last dim are read."""
    norm = check_norm("irfftn", norm)
    dims, s = _dims("irfftn", input, s, dim)
    x = _complex(input, "irfftn")
    shape = _shape(x)
    sizes = list(_sizes("irfftn", x, dims, s))
    if s is None or s[-1] == -1:
        sizes[-1] = 2 * (shape[dims[-1]] - 1)
    n = sizes[-1]
    if n < 1:
        raise fail(
            f"irfftn(): Invalid number of data points ({n}) specified; a one-sided input of "
            f"{shape[dims[-1]]} bins needs n >= 1 (input shape {tuple(shape)})",
            RuntimeError,
        )
    x = resize(x, dims, tuple(sizes[:-1]) + (n // 2 + 1,))
    return c2r(x, dims, norm, n)


def _one(s_or_n: Any) -> Any:
    return None if s_or_n is None else (s_or_n,)


def fft(input: Any, n: int | None = None, dim: int = -1, norm: str | None = None) -> Any:  # noqa: A002
    """The 1-d DFT along ``dim``, input trimmed or zero-padded to ``n`` first if given."""
    return fftn(input, _one(n), (dim,), norm)


def ifft(input: Any, n: int | None = None, dim: int = -1, norm: str | None = None) -> Any:  # noqa: A002
    return ifftn(input, _one(n), (dim,), norm)


def rfft(input: Any, n: int | None = None, dim: int = -1, norm: str | None = None) -> Any:  # noqa: A002
    """The 1-d DFT of a real input: n // 2 + 1 complex bins (the rest mirror them)."""
    return rfftn(input, _one(n), (dim,), norm)


def irfft(input: Any, n: int | None = None, dim: int = -1, norm: str | None = None) -> Any:  # noqa: A002
    """Real output of length ``n`` (default 2 (m - 1)) from m one-sided bins."""
    return irfftn(input, _one(n), (dim,), norm)


def fft2(input: Any, s: Sequence[int] | None = None, dim: Any = (-2, -1), norm: str | None = None) -> Any:  # noqa: A002
    return fftn(input, s, dim, norm)


def ifft2(input: Any, s: Sequence[int] | None = None, dim: Any = (-2, -1), norm: str | None = None) -> Any:  # noqa: A002
    return ifftn(input, s, dim, norm)


def rfft2(input: Any, s: Sequence[int] | None = None, dim: Any = (-2, -1), norm: str | None = None) -> Any:  # noqa: A002
    return rfftn(input, s, dim, norm)


def irfft2(input: Any, s: Sequence[int] | None = None, dim: Any = (-2, -1), norm: str | None = None) -> Any:  # noqa: A002
    return irfftn(input, s, dim, norm)


def hfft(input: Any, n: int | None = None, dim: int = -1, norm: str | None = None) -> Any:  # noqa: A002
    """The DFT of a Hermitian-symmetric signal given by its first half: real output of length
    ``n`` (default 2 (m - 1)); ``irfft`` of the conjugate with the opposite scaling."""
    norm = check_norm("hfft", norm)
    return irfft(conj(_complex(input, "hfft")), n, dim, DUAL[norm])


def ihfft(input: Any, n: int | None = None, dim: int = -1, norm: str | None = None) -> Any:  # noqa: A002
    """The inverse of ``hfft``: the conjugate of ``rfft`` with the opposite scaling."""
    norm = check_norm("ihfft", norm)
    return conj(rfft(_real(input, "ihfft"), n, dim, DUAL[norm]))


# ------------------------------------------------------------------ helpers
def fftfreq(n: int, d: float = 1.0, *, dtype: Any = None, requires_grad: bool = False, **_: Any) -> Tensor:
    """Sample frequencies of an n-point DFT: [0, 1, ..., n/2 - 1, -n/2, ..., -1] / (d n)."""
    k = arange(n, dtype=dtype or _dt.get_default_dtype())
    k._data[(n + 1) // 2 :] -= n
    k._data /= d * n
    return k.requires_grad_(requires_grad)


def rfftfreq(n: int, d: float = 1.0, *, dtype: Any = None, requires_grad: bool = False, **_: Any) -> Tensor:
    """The non-negative frequencies of ``rfft``: [0, 1, ..., n // 2] / (d n)."""
    k = arange(n // 2 + 1, dtype=dtype or _dt.get_default_dtype())
    k._data /= d * n
    return k.requires_grad_(requires_grad)


def _shift(x: Any, dim: Any, sign: int) -> Any:
    nd = _ndim(x)
    dims = tuple(range(nd)) if dim is None else ((dim,) if isinstance(dim, int) else tuple(dim))
    shape = _shape(x)
    if not dims:
        return x
    shifts = tuple((shape[d] // 2) if sign > 0 else -(shape[d] // 2) for d in dims)
    return roll(x, shifts, dims)


def fftshift(input: Any, dim: Any = None) -> Any:  # noqa: A002
    """Move the zero frequency to the centre (a roll by n // 2 along each dim)."""
    return _shift(input, dim, 1)


def ifftshift(input: Any, dim: Any = None) -> Any:  # noqa: A002
    """Undo ``fftshift`` (a roll by -(n // 2))."""
    return _shift(input, dim, -1)
