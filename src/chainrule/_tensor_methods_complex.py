"""Complex-number methods of Tensor: ``z.real``, ``z.imag`` (properties, sharing memory),
``z.conj()``, ``z.angle()``, ``z.is_complex()``, ``x.cfloat()``, ... (ops in ``ops/complex.py``)."""

from __future__ import annotations

from typing import Any

from . import dtypes as _dt
from ._tensor import Tensor
from .ops import complex as cx
from .ops import elementwise as ew


def _set_real(self: Tensor, value: Any) -> None:
    cx.real(self).copy_(value) if self.is_complex() else self.copy_(value)


def _set_imag(self: Tensor, value: Any) -> None:
    cx.imag(self).copy_(value)


Tensor.real = property(cx.real, _set_real)  # type: ignore[attr-defined]
Tensor.imag = property(cx.imag, _set_imag)  # type: ignore[attr-defined]
for _name in ("conj", "conj_physical", "resolve_conj", "resolve_neg", "angle", "is_complex", "sgn"):
    setattr(Tensor, _name, getattr(cx, _name))
Tensor.is_conj = lambda self: False  # type: ignore[attr-defined]  (conjugation is never lazy here)
Tensor.is_neg = Tensor.is_conj  # type: ignore[attr-defined]
Tensor.cfloat = lambda self, memory_format=None: ew.cast(self, _dt.complex64)  # type: ignore[attr-defined]
Tensor.cdouble = lambda self, memory_format=None: ew.cast(self, _dt.complex128)  # type: ignore[attr-defined]
