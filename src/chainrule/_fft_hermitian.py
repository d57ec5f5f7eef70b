"""The n-dimensional Hermitian transforms of ``torch.fft`` (``hfft2``, ``hfftn``, ``ihfft2``,
``ihfftn``), composed as ``hfft``/``ihfft`` are: ``hfftn(x) = irfftn(conj(x))`` and
``ihfftn(x) = conj(rfftn(x))`` with the opposite scaling, so their gradients are those of the
real transforms.  ``fft.py`` imports them (at its end: they use its helpers).
"""

from __future__ import annotations

from typing import Any, Sequence

from .ops.complex import conj
from .ops.fourier import DUAL, check_norm


def hfftn(input: Any, s: Sequence[int] | None = None, dim: Any = None, norm: str | None = None) -> Any:  # noqa: A002
    """The n-d DFT of a Hermitian-symmetric signal given by its half (the last of ``dim`` is the
    halved one): a real result, of size ``s`` (default 2 (m - 1) in the last dim)."""
    from . import fft

    norm = check_norm("hfftn", norm)
    return fft._c2r("hfftn", conj(fft._complex(input, "hfftn")), s, dim, DUAL[norm])


def hfft2(input: Any, s: Sequence[int] | None = None, dim: Any = (-2, -1), norm: str | None = None) -> Any:  # noqa: A002
    """``hfftn`` over two dims."""
    from . import fft

    norm = check_norm("hfft2", norm)
    return fft._c2r("hfft2", conj(fft._complex(input, "hfft2")), s, dim, DUAL[norm])


def ihfftn(input: Any, s: Sequence[int] | None = None, dim: Any = None, norm: str | None = None) -> Any:  # noqa: A002
    """The inverse of ``hfftn`` for a real signal: the non-redundant half of the last of ``dim``."""
    from . import fft

    norm = check_norm("ihfftn", norm)
    return conj(fft._r2c("ihfftn", fft._real(input, "ihfftn"), s, dim, DUAL[norm]))


def ihfft2(input: Any, s: Sequence[int] | None = None, dim: Any = (-2, -1), norm: str | None = None) -> Any:  # noqa: A002
    """``ihfftn`` over two dims."""
    from . import fft

    norm = check_norm("ihfft2", norm)
    return conj(fft._r2c("ihfft2", fft._real(input, "ihfft2"), s, dim, DUAL[norm]))
