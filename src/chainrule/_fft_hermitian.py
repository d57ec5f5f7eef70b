"""The n-dimensional Hermitian transforms of ``torch.fft`` (``hfft2``, ``hfftn``, ``ihfft2``,
``ihfftn``), composed as ``hfft``/``ihfft`` are: ``hfftn(x) = irfftn(conj(x))`` and
``ihfftn(x) = conj(rfftn(x))`` with the opposite scaling, so their gradients are those of the
real transforms.  ``fft.py`` imports them (at its end: they use its helpers).
"""

from __future__ import annotations

from typing import Any, Sequence

from .ops.complex import conj
from .ops.fourier import DUAL, check_norm


def _hfft(op: str, input: Any, s: Any, dim: Any, norm: str | None) -> Any:  # noqa: A002
    from . import fft

    norm = check_norm(op, norm)
    return fft._c2r(op, conj(fft._complex(input, op)), s, dim, DUAL[norm])


def _ihfft(op: str, input: Any, s: Any, dim: Any, norm: str | None) -> Any:  # noqa: A002
    from . import fft

    norm = check_norm(op, norm)
    return conj(fft._r2c(op, fft._real(input, op), s, dim, DUAL[norm]))


def hfftn(input: Any, s: Sequence[int] | None = None, dim: Any = None, norm: str | None = None) -> Any:  # noqa: A002
    """The n-d DFT of a Hermitian-symmetric signal given by its half (the last of ``dim`` is the
    halved one): a real result, of size ``s`` (default 2 (m - 1) in the last dim)."""
    return _hfft("hfftn", input, s, dim, norm)


def hfft2(input: Any, s: Sequence[int] | None = None, dim: Any = (-2, -1), norm: str | None = None) -> Any:  # noqa: A002
    """``hfftn`` over two dims."""
    return _hfft("hfft2", input, s, dim, norm)


def ihfftn(input: Any, s: Sequence[int] | None = None, dim: Any = None, norm: str | None = None) -> Any:  # noqa: A002
    """The inverse of ``hfftn`` for a real signal: the non-redundant half of the last of ``dim``."""
    return _ihfft("ihfftn", input, s, dim, norm)


def ihfft2(input: Any, s: Sequence[int] | None = None, dim: Any = (-2, -1), norm: str | None = None) -> Any:  # noqa: A002
    """``ihfftn`` over two dims."""
    return _ihfft("ihfft2", input, s, dim, norm)
