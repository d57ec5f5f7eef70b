"""The linear-algebra names PyTorch also has at the top level and as Tensor methods
(``torch.det``, ``torch.logdet``, ``A.inverse()``, ``torch.svd``'s older (U, S, V) form, ...)."""

from __future__ import annotations

from collections import namedtuple
from typing import Any

from .. import ops
from .._tensor import Tensor
from ..ops._core import fail
from ..ops.decompositions import mH
from . import _solvers as _sv
from . import _spectral as _sp

__all__ = [
    "det",
    "logdet",
    "slogdet",
    "inverse",
    "pinverse",
    "matrix_exp",
    "matrix_power",
    "cholesky",
    "cholesky_solve",
    "cholesky_inverse",
    "svd",
    "qr",
    "cross",
]

_slogdet = namedtuple("slogdet", ["sign", "logabsdet"])
_svd = namedtuple("svd", ["U", "S", "V"])
_qr = namedtuple("qr", ["Q", "R"])

det = _sv.det
logdet = _sv.logdet
inverse = _sv.inv
matrix_exp = _sp.matrix_exp
matrix_power = _sv.matrix_power
cholesky_solve = _sv.cholesky_solve
cholesky_inverse = _sv.cholesky_inverse


def slogdet(A: Any, *, out: Any = None) -> Any:
    return _slogdet(*_sv.slogdet(A))


def pinverse(input: Any, rcond: float = 1e-15) -> Any:  # noqa: A002
    return _sp.pinv(input, rtol=rcond)


def cholesky(input: Any, upper: bool = False, *, out: Any = None) -> Any:  # noqa: A002
    return _sv.cholesky(input, upper=upper)


def svd(input: Any, some: bool = True, compute_uv: bool = True, *, out: Any = None) -> Any:  # noqa: A002
    """The older API: (U, S, V) with V (not Vh), reduced unless ``some=False``."""
    u, s, vh = _sp.svd(input, full_matrices=not some)
    if not compute_uv:
        return _svd(ops.mul(u, 0.0).detach(), s, ops.mul(mH(vh), 0.0).detach())
    return _svd(u, s, mH(vh))  # (V = Vhᴴ: complex input's V is conjugated too)


def qr(input: Any, some: bool = True, *, out: Any = None) -> Any:  # noqa: A002
    return _qr(*_sp.qr(input, "reduced" if some else "complete"))


def cross(input: Any, other: Any, dim: int | None = None, *, out: Any = None) -> Any:  # noqa: A002
    """``linalg.cross``; with ``dim=None`` the first dim of size 3 (PyTorch's older default)."""
    if dim is None:
        shape = ops.broadcast_shapes(tuple(input.shape), tuple(other.shape))
        dim = next((i for i, s in enumerate(shape) if s == 3), None)
        if dim is None:
            raise fail(
                f"no dimension of size 3 in input (shapes {tuple(input.shape)} and {tuple(other.shape)})"
            )
    return _sv.cross(input, other, dim=dim)


_METHODS = {
    "det": det,
    "logdet": logdet,
    "slogdet": slogdet,
    "inverse": inverse,
    "pinverse": pinverse,
    "matrix_exp": matrix_exp,
    "matrix_power": matrix_power,
    "cholesky": cholesky,
    "cholesky_solve": cholesky_solve,
    "cholesky_inverse": cholesky_inverse,
    "svd": svd,
    "qr": qr,
    "cross": cross,
}
for _name, _fn in _METHODS.items():
    if not hasattr(Tensor, _name):
        setattr(Tensor, _name, _fn)
