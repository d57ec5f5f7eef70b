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
from .ops.shape import _ndim, _shape, clone, roll

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


def _wrap(name: str, d: int, nd: int, shape: tuple) -> int:
    """``d`` checked against ``nd`` dims and made negative, with PyTorch's IndexError."""
    if nd == 0:
        raise fail(
            f"{name}(): Dimension specified as {d} but tensor has no dimensions (input shape ()); "
            "transform a tensor with at least one dimension, e.g. x.reshape(1)",
            IndexError,
        )
    if not -nd <= d < nd:
        raise fail(
            f"{name}(): Dimension out of range (expected to be in range of [{-nd}, {nd - 1}], "
            f"but got {d}) for an input of shape {shape}",
            IndexError,
        )
    return d % nd - nd


def _dims(name: str, x: Any, s: Any, dim: Any, some: bool = True) -> tuple[tuple, tuple | None]:
    """PyTorch's rules: ``dim`` defaults to the last len(s) dims (all dims without ``s``); ``s``
    gives a size per dim (-1: keep).  Dims come back negative, sizes as given (or None).
    ``some``: at least one dim (the real transforms; a complex one over no dims is a copy)."""
    nd, shape = _ndim(x), tuple(_shape(x))
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
    out = [_wrap(name, d, nd, shape) for d in dim]
    if len(set(out)) != len(out):
        raise fail(f"{name}(): dims must be unique, got {list(dim)}", RuntimeError)
    if some and not out:
        raise fail(
            f"{name}() must transform at least one axis, got dim={list(dim)} for an input of "
            f"shape {shape}; pass dim= (and a tensor with at least one dimension)",
            RuntimeError,
        )
    return tuple(out), s


def _sizes(name: str, x: Any, dims: tuple, s: Any, half: bool = False) -> tuple:
    """The length of each transformed dim: s[i] unless -1 or None, else the input's size; with
    ``half`` (the one-sided inverses) the last one defaults to 2 (m - 1) for m input bins."""
    shape = tuple(_shape(x))
    sizes = [shape[d] if s is None or s[i] == -1 else s[i] for i, d in enumerate(dims)]
    default_last = half and (s is None or s[-1] == -1)
    if default_last:
        sizes[-1] = 2 * (shape[dims[-1]] - 1)
    for i, (d, n) in enumerate(zip(dims, sizes)):
        if n < 1:
            if default_last and i == len(dims) - 1:
                how = f"dim {d} has size {shape[d]}, and m one-sided bins give 2 * (m - 1) points"
            elif s is None or s[i] == -1:
                how = f"dim {d} has size {shape[d]}"
            else:
                how = f"asked for along dim {d} (of size {shape[d]})"
            raise fail(
                f"{name}(): Invalid number of data points ({n}) specified: {how} (input shape "
                f"{shape}); every transformed length must be >= 1: pass n= (or s=) >= 1",
                RuntimeError,
            )
    return tuple(sizes)


# ------------------------------------------------------------------------- n-d forms
def _nd_input(name: str, input: Any, s: Any, dim: Any, norm: Any, kind: Any) -> tuple:  # noqa: A002
    """The checked input of an n-d transform, cut or zero-padded to ``s``: (x, dims, norm)."""
    norm = check_norm(name, norm)
    dims, s = _dims(name, input, s, dim, kind is _real)
    x = kind(input, name)
    return resize(x, dims, _sizes(name, x, dims, s)), dims, norm


def _c2c(name: str, input: Any, s: Any, dim: Any, norm: Any, forward: bool) -> Any:  # noqa: A002
    x, dims, norm = _nd_input(name, input, s, dim, norm, _float)  # C2C takes real x as it is
    return c2c(x, dims, norm, forward) if dims else clone(_complex(x, name))  # no dims: a copy


def _r2c(name: str, input: Any, s: Any, dim: Any, norm: Any) -> Any:  # noqa: A002
    x, dims, norm = _nd_input(name, input, s, dim, norm, _real)
    return r2c(x, dims, norm)


def _c2r(name: str, input: Any, s: Any, dim: Any, norm: Any) -> Any:  # noqa: A002
    norm = check_norm(name, norm)
    dims, s = _dims(name, input, s, dim)
    x = _complex(input, name)
    sizes = _sizes(name, x, dims, s, half=True)
    n = sizes[-1]
    return c2r(resize(x, dims, sizes[:-1] + (n // 2 + 1,)), dims, norm, n)


def fftn(input: Any, s: Sequence[int] | None = None, dim: Any = None, norm: str | None = None) -> Any:  # noqa: A002
    """The n-d DFT over ``dim`` (all dims by default); shapes kept except ``s``-sized dims."""
    return _c2c("fftn", input, s, dim, norm, True)


def ifftn(input: Any, s: Sequence[int] | None = None, dim: Any = None, norm: str | None = None) -> Any:  # noqa: A002
    """The n-d inverse DFT (``ifftn(fftn(x)) == x``)."""
    return _c2c("ifftn", input, s, dim, norm, False)


def rfftn(input: Any, s: Sequence[int] | None = None, dim: Any = None, norm: str | None = None) -> Any:  # noqa: A002
    """The n-d DFT of a real input, last dim one-sided: (..., n) -> (..., n // 2 + 1) complex."""
    return _r2c("rfftn", input, s, dim, norm)


def irfftn(input: Any, s: Sequence[int] | None = None, dim: Any = None, norm: str | None = None) -> Any:  # noqa: A002
    """The inverse of ``rfftn``: a one-sided spectrum (..., m) -> real (..., n), n = 2 (m - 1)
    unless ``s`` says otherwise.  Only the first n // 2 + 1 bins of the last dim are read."""
    return _c2r("irfftn", input, s, dim, norm)


def _one(s_or_n: Any) -> Any:
    return None if s_or_n is None else (s_or_n,)


def fft(input: Any, n: int | None = None, dim: int = -1, norm: str | None = None) -> Any:  # noqa: A002
    """The 1-d DFT along ``dim``, input trimmed or zero-padded to ``n`` first if given."""
    return _c2c("fft", input, _one(n), (dim,), norm, True)


def ifft(input: Any, n: int | None = None, dim: int = -1, norm: str | None = None) -> Any:  # noqa: A002
    return _c2c("ifft", input, _one(n), (dim,), norm, False)


def rfft(input: Any, n: int | None = None, dim: int = -1, norm: str | None = None) -> Any:  # noqa: A002
    """The 1-d DFT of a real input: n // 2 + 1 complex bins (the rest mirror them)."""
    return _r2c("rfft", input, _one(n), (dim,), norm)


def irfft(input: Any, n: int | None = None, dim: int = -1, norm: str | None = None) -> Any:  # noqa: A002
    """Real output of length ``n`` (default 2 (m - 1)) from m one-sided bins."""
    return _c2r("irfft", input, _one(n), (dim,), norm)


def fft2(input: Any, s: Sequence[int] | None = None, dim: Any = (-2, -1), norm: str | None = None) -> Any:  # noqa: A002
    return _c2c("fft2", input, s, dim, norm, True)


def ifft2(input: Any, s: Sequence[int] | None = None, dim: Any = (-2, -1), norm: str | None = None) -> Any:  # noqa: A002
    return _c2c("ifft2", input, s, dim, norm, False)


def rfft2(input: Any, s: Sequence[int] | None = None, dim: Any = (-2, -1), norm: str | None = None) -> Any:  # noqa: A002
    return _r2c("rfft2", input, s, dim, norm)


def irfft2(input: Any, s: Sequence[int] | None = None, dim: Any = (-2, -1), norm: str | None = None) -> Any:  # noqa: A002
    return _c2r("irfft2", input, s, dim, norm)


def hfft(input: Any, n: int | None = None, dim: int = -1, norm: str | None = None) -> Any:  # noqa: A002
    """The DFT of a Hermitian-symmetric signal given by its first half: real output of length
    ``n`` (default 2 (m - 1)); ``irfft`` of the conjugate with the opposite scaling."""
    norm = check_norm("hfft", norm)
    return _c2r("hfft", conj(_complex(input, "hfft")), _one(n), (dim,), DUAL[norm])


def ihfft(input: Any, n: int | None = None, dim: int = -1, norm: str | None = None) -> Any:  # noqa: A002
    """The inverse of ``hfft``: the conjugate of ``rfft`` with the opposite scaling."""
    norm = check_norm("ihfft", norm)
    return conj(_r2c("ihfft", _real(input, "ihfft"), _one(n), (dim,), DUAL[norm]))


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


def _shift(name: str, x: Any, dim: Any, sign: int) -> Any:
    nd, shape = _ndim(x), tuple(_shape(x))
    dims = tuple(range(nd)) if dim is None else ((dim,) if isinstance(dim, int) else tuple(dim))
    if not dims:  # PyTorch's roll refuses empty shifts
        raise fail(
            f"{name}(): `shifts` required, but there is no dim to shift (dim={dim!r}, input shape "
            f"{shape}); pass a tensor with at least one dimension, or a non-empty dim",
            RuntimeError,
        )
    dims = tuple(_wrap(name, d, nd, shape) for d in dims)
    shifts = tuple((shape[d] // 2) if sign > 0 else -(shape[d] // 2) for d in dims)
    return roll(x, shifts, dims)


def fftshift(input: Any, dim: Any = None) -> Any:  # noqa: A002
    """Move the zero frequency to the centre (a roll by n // 2 along each dim)."""
    return _shift("fftshift", input, dim, 1)


def ifftshift(input: Any, dim: Any = None) -> Any:  # noqa: A002
    """Undo ``fftshift`` (a roll by -(n // 2))."""
    return _shift("ifftshift", input, dim, -1)


from ._fft_hermitian import hfft2, hfftn, ihfft2, ihfftn  # noqa: E402,F401  (built on the helpers above)
