"""Op-table cases for complex numbers and ``torch.fft`` (appended to ``ops_table.CASES``).

The generated tests draw real float64 inputs, so each case enters the complex domain through
``complex``/``view_as_complex`` or a real-input transform and returns real values
(``view_as_real``, ``abs``, ``real``).  Complex inputs that require grad are checked against
PyTorch's ``.grad`` in ``tests/test_complex.py`` and ``tests/test_fft.py``.
"""

from __future__ import annotations

from typing import Any

from ops_table import A, C, K


def Z(T: Any, x: Any, y: Any) -> Any:
    return T.complex(x, y)


def R(T: Any, z: Any) -> Any:
    """Real pairs (PyTorch returns some results with a lazy conjugate bit: resolved first)."""
    return T.view_as_real(z.resolve_conj())


CASES = [
    C("complex", lambda T, x, y: R(T, Z(T, x, y) * Z(T, y, x)), A((3, 4)), A((3, 4))),
    C("complex", lambda T, x, y: Z(T, x, y).abs(), K(2, 3), K(2, 3)),
    C(
        "conj",
        lambda T, x, y: R(T, (Z(T, x, y).conj() / Z(T, y, x))),
        K(
            3,
        ),
        K(
            3,
        ),
    ),
    C("real", lambda T, x, y: Z(T, x, y).real * Z(T, x, y).imag, A((4,)), A((4,))),
    C("angle", lambda T, x, y: Z(T, x, y).angle(), K(2, 3), K(2, 3)),
    C("view_as_complex", lambda T, x: R(T, T.view_as_complex(x).exp()), A((3, 2))),
    C("fft", lambda T, x: R(T, T.fft.fft(x)), A((3, 5))),
    C("fft", lambda T, x: R(T, T.fft.ifft(x, n=6, dim=0, norm="ortho")), A((4, 3))),
    C("fft", lambda T, x: R(T, T.fft.fft2(x, s=(2, 5), norm="forward")), A((3, 4))),
    C("rfft", lambda T, x: R(T, T.fft.rfft(x)), A((2, 6))),
    C("rfft", lambda T, x: T.fft.rfft(x, n=7, norm="ortho").abs(), A((5,), 0.5, 1.0)),
    C("rfft", lambda T, x: R(T, T.fft.rfftn(x, norm="forward")), A((2, 3, 4))),
    C("irfft", lambda T, x: T.fft.irfft(T.view_as_complex(x)), A((3, 4, 2))),
    C("irfft", lambda T, x: T.fft.irfft(T.view_as_complex(x), n=5, norm="ortho"), A((4, 2))),
    C("irfft", lambda T, x: T.fft.irfft2(T.view_as_complex(x), s=(3, 6)), A((2, 4, 2))),
    C("hfft", lambda T, x: T.fft.hfft(T.view_as_complex(x), n=6), A((4, 2))),
    C("ihfft", lambda T, x: R(T, T.fft.ihfft(x, norm="ortho")), A((6,))),
    C("fftshift", lambda T, x: T.fft.fftshift(x) * T.fft.ifftshift(x, dim=0), A((3, 4))),
]
