"""Elementwise ops NumPy has and no composition gives exactly: gcd, lcm, bit shifts, nextafter,
frexp.

gcd, lcm and the shifts are integer ops (no gradient).  ``nextafter`` moves by one ulp, so its
derivative is 1 in the input and 0 in the direction (PyTorch's rule); ``frexp``'s mantissa is
x / 2**e, so its derivative is 2**-e while the exponent has none.
"""

from __future__ import annotations

from collections import namedtuple
from typing import Any

import numpy as np

from .._tensor import Tensor
from ._core import Primitive, apply, elementwise, fail
from .elementwise import _dtype_of, cast, exp2, promote
from .reduce import return_types
from .special_functions import _broadcast_rule, _same_rule

return_types.frexp = namedtuple("frexp", ["mantissa", "exponent"])  # type: ignore[attr-defined]

_TORCH_NAMES = {
    "b": "Bool",
    "f2": "Half",
    "f4": "Float",
    "f8": "Double",
    "c8": "ComplexFloat",
    "c16": "ComplexDouble",
}


def _integer_only(op: str, kernel: str, *xs: Any) -> None:
    for x in xs:
        d = _dtype_of(x) if isinstance(x, Tensor) else np.asarray(x).dtype
        if d.kind not in "iu":
            name = _TORCH_NAMES.get(d.kind if d.kind == "b" else f"{d.kind}{d.itemsize}", str(d))
            raise fail(
                f"{op}(): \"{kernel}\" not implemented for '{name}' (an input of dtype {d}); "
                f"{op} takes integer tensors, e.g. x.long()",
                NotImplementedError,
            )


GCD = Primitive("Gcd", np.gcd, broadcasts=True, differentiable=False)
LCM = Primitive("Lcm", np.lcm, broadcasts=True, differentiable=False)
LSHIFT = Primitive("BitwiseLeftShift", np.left_shift, broadcasts=True, differentiable=False)
RSHIFT = Primitive("BitwiseRightShift", np.right_shift, broadcasts=True, differentiable=False)
NEXTAFTER = Primitive("Nextafter", np.nextafter, broadcasts=True)
NEXTAFTER.defvjp(lambda g: g, lambda g: g * 0).defjvp(lambda t: t, lambda t: t * 0)


def _exponent(x: np.ndarray) -> np.ndarray:
    return np.frexp(x)[1].astype(np.int32)


FREXP_EXPONENT = Primitive("FrexpExponent", _exponent, differentiable=False)
FREXP_MANTISSA = elementwise(
    "FrexpMantissa", lambda x: np.frexp(x)[0], lambda x: 1 / exp2(cast(apply(FREXP_EXPONENT, (x,)), x.dtype))
)
for _op in (GCD, LCM, LSHIFT, RSHIFT, NEXTAFTER):
    _broadcast_rule(_op)
for _op in (FREXP_EXPONENT, FREXP_MANTISSA):
    _same_rule(_op)


def _integers(op: str, kernel: str, x: Any, y: Any) -> tuple[Any, Any]:
    _integer_only(op, kernel, x, y)
    return promote(x, y)


def gcd(input: Any, other: Any) -> Any:  # noqa: A002
    """The greatest common divisor of integer tensors, elementwise (non-negative)."""
    return apply(GCD, _integers("gcd", "gcd_cpu", input, other))


def lcm(input: Any, other: Any) -> Any:  # noqa: A002
    """The least common multiple of integer tensors, elementwise (non-negative)."""
    return apply(LCM, _integers("lcm", "lcm_cpu", input, other))


def bitwise_left_shift(input: Any, other: Any) -> Any:  # noqa: A002
    """``input << other`` for integer tensors (0 once the shift reaches the bit width)."""
    return apply(LSHIFT, _integers("bitwise_left_shift", "lshift_cpu", input, other))


def bitwise_right_shift(input: Any, other: Any) -> Any:  # noqa: A002
    """``input >> other``, arithmetic for signed integers."""
    return apply(RSHIFT, _integers("bitwise_right_shift", "rshift_cpu", input, other))


def _floats(op: str, x: Any) -> None:
    d = _dtype_of(x)
    if d is None or d.kind != "f":
        raise fail(
            f"{op}(): expected a floating-point tensor, got {d if d is not None else type(x).__name__}; "
            "convert it first, e.g. x.double()",
            RuntimeError,
        )


def nextafter(input: Any, other: Any) -> Any:  # noqa: A002
    """The next representable float after ``input`` in the direction of ``other``."""
    x, y = promote(input, other)
    _floats("nextafter", x if isinstance(x, Tensor) else y)
    return apply(NEXTAFTER, (x, y))


def frexp(input: Any) -> tuple[Any, Any]:  # noqa: A002
    """``(mantissa, exponent)`` with input = mantissa * 2**exponent and 0.5 <= |mantissa| < 1;
    the exponent is int32."""
    if _dtype_of(input) is None or _dtype_of(input).kind != "f":
        raise fail(
            "frexp(): torch.frexp() only supports floating-point dtypes (got "
            f"{_dtype_of(input)}); convert the input first, e.g. x.double()",
            RuntimeError,
        )
    return return_types.frexp(apply(FREXP_MANTISSA, (input,)), apply(FREXP_EXPONENT, (input,)))
