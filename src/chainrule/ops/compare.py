"""Comparisons and logic: elementwise ops with no gradient (their outputs are bool or integer).

``equal``/``allclose``/``isclose`` compare whole tensors and return Python values or a
bool tensor.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import _kernel_dtypes as _kd
from .. import dtypes as _dt
from .._tensor import Tensor, wrap
from ._core import Primitive, apply


def _raw(a: Any) -> Any:
    return a._data if isinstance(a, Tensor) else a


def _nondiff(name: str, fn: Any) -> Primitive:
    return Primitive(name, fn, differentiable=False)


EQ = _nondiff("Eq", np.equal)
NE = _nondiff("Ne", np.not_equal)
LT = _nondiff("Lt", np.less)
LE = _nondiff("Le", np.less_equal)
GT = _nondiff("Gt", np.greater)
GE = _nondiff("Ge", np.greater_equal)
LOGICAL_AND = _nondiff("LogicalAnd", np.logical_and)
LOGICAL_OR = _nondiff("LogicalOr", np.logical_or)
LOGICAL_XOR = _nondiff("LogicalXor", np.logical_xor)
LOGICAL_NOT = _nondiff("LogicalNot", np.logical_not)
BITWISE_AND = _nondiff("BitwiseAnd", np.bitwise_and)
BITWISE_OR = _nondiff("BitwiseOr", np.bitwise_or)
BITWISE_XOR = _nondiff("BitwiseXor", np.bitwise_xor)
BITWISE_NOT = _nondiff("BitwiseNot", np.invert)
ISNAN = _nondiff("Isnan", np.isnan)
ISINF = _nondiff("Isinf", np.isinf)
ISFINITE = _nondiff("Isfinite", np.isfinite)


def _compare(op: Primitive):
    def fn(x: Any, y: Any) -> Any:
        return apply(op, (x, y))

    fn.__name__ = op.public
    fn.__doc__ = f"Elementwise {op.public}, a bool tensor."
    return fn


def _is_c(a: Any) -> bool:
    t = type(a)
    if t is float or t is int:
        return False
    if t is Tensor or isinstance(a, Tensor):
        return a._data.dtype.kind == "c"
    return isinstance(a, (complex, np.complexfloating)) or (isinstance(a, np.ndarray) and a.dtype.kind == "c")


def _ordered(op: Primitive):
    """A comparison that needs an order: complex values are refused, as PyTorch does."""

    def fn(x: Any, y: Any) -> Any:
        if _is_c(x) or _is_c(y):
            _dt.check_binary(fn.__name__, _raw(x), _raw(y))
        return apply(op, (x, y))

    fn.__name__ = op.public
    fn.__doc__ = f"Elementwise {op.public} of real tensors, a bool tensor."
    return fn


eq = _compare(EQ)
ne = _compare(NE)
lt = _ordered(LT)
le = _ordered(LE)
gt = _ordered(GT)
ge = _ordered(GE)
def _tensors_only(op: Primitive) -> Any:
    fn, name = _compare(op), op.public.replace("logical", "logical_")

    def both(x: Any, y: Any) -> Any:
        _kd.check_binary(name, x, y)  # PyTorch takes no Python number here
        return fn(x, y)

    both.__name__, both.__doc__ = name, fn.__doc__
    return both


logical_and, logical_or, logical_xor = map(_tensors_only, (LOGICAL_AND, LOGICAL_OR, LOGICAL_XOR))


def _bitwise(op: Primitive):
    def fn(x: Any, y: Any) -> Any:
        if type(x) is Tensor and type(y) is Tensor:
            d = x._data.dtype
            if d == y._data.dtype and d.kind in "biu":
                return apply(op, (x, y))
        _dt.check_binary(fn.__name__, _raw(x), _raw(y))  # PyTorch refuses float and complex
        from .elementwise import promote  # (elementwise imports this module)

        return apply(op, promote(x, y))

    fn.__name__ = op.public.replace("bitwise", "bitwise_")
    fn.__doc__ = f"Elementwise {fn.__name__} of integer or bool tensors (PyTorch's promotion)."
    return fn


bitwise_and = _bitwise(BITWISE_AND)
bitwise_or = _bitwise(BITWISE_OR)
bitwise_xor = _bitwise(BITWISE_XOR)
greater, greater_equal, less, less_equal, not_equal = gt, ge, lt, le, ne


def logical_not(x: Any) -> Any:
    return apply(LOGICAL_NOT, (x,))


def bitwise_not(x: Any) -> Any:
    if isinstance(x, Tensor) and x._data.dtype.kind not in "biu":  # (bfloat16's kind is 'V')
        _dt.check_unary("bitwise_not", x._data)
    return apply(BITWISE_NOT, (x,))


def invert(x: Any) -> Any:
    """``~x``: as bitwise_not, but a float or complex tensor gives PyTorch's TypeError."""
    if isinstance(x, Tensor) and x._data.dtype.kind not in "biu":  # (bfloat16's kind is 'V')
        _dt.check_unary("invert", x._data)
    return apply(BITWISE_NOT, (x,))


def isnan(x: Any) -> Any:
    return apply(ISNAN, (x,))


def isinf(x: Any) -> Any:
    return apply(ISINF, (x,))


def isfinite(x: Any) -> Any:
    return apply(ISFINITE, (x,))


def equal(x: Any, y: Any) -> bool:
    """True when both tensors have the same shape and values."""
    a, b = _raw(x), _raw(y)
    return bool(np.shape(a) == np.shape(b) and np.array_equal(a, b))


def allclose(x: Any, y: Any, rtol: float = 1e-5, atol: float = 1e-8, equal_nan: bool = False) -> bool:
    return bool(np.allclose(_raw(x), _raw(y), rtol=rtol, atol=atol, equal_nan=equal_nan))


def isclose(x: Any, y: Any, rtol: float = 1e-5, atol: float = 1e-8, equal_nan: bool = False) -> Any:
    _kd.check_binary("isclose", x, y)
    return wrap(np.isclose(_raw(x), _raw(y), rtol=rtol, atol=atol, equal_nan=equal_nan))
