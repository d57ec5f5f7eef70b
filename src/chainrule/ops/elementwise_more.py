"""More elementwise ops: inverse hyperbolic functions, atan2, hypot, copysign, logaddexp(2), fmod.

Same pattern as ``elementwise``: one derivative per input, written with ops so it
differentiates again; NumPy's ufuncs are the forwards (stable where a composite would not be:
``hypot`` and ``logaddexp`` do not overflow, ``asinh`` keeps precision for large |x|).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .. import _kernel_dtypes as _kd
from ._core import Primitive, apply, elementwise
from .compare import eq
from .elementwise import _to_float, div, mul, promote, rsqrt, sigmoid, sub, where
from .special_functions import _binary_float, _broadcast_rule, _same_rule

_LN2 = math.log(2.0)

ASINH = elementwise("Asinh", np.arcsinh, lambda x: rsqrt(x * x + 1))
ACOSH = elementwise("Acosh", np.arccosh, lambda x: rsqrt(x * x - 1))
ATANH = elementwise("Atanh", np.arctanh, lambda x: 1 / (1 - x * x))
for _op in (ASINH, ACOSH, ATANH):
    _same_rule(_op)


def _unary(op: Primitive) -> Any:
    def fn(x: Any) -> Any:
        return apply(op, (_to_float(x),))

    fn.__name__ = op.public
    fn.__doc__ = f"Elementwise {op.public}; integer inputs become the default float dtype."
    return fn


asinh, acosh, atanh = map(_unary, (ASINH, ACOSH, ATANH))
arcsinh, arccosh, arctanh = asinh, acosh, atanh

ATAN2 = Primitive("Atan2", np.arctan2, broadcasts=True)  # inputs (y, x) as np.arctan2's x, y
ATAN2.defvjp(lambda g, x, y: g * y / (x * x + y * y), lambda g, x, y: -g * x / (x * x + y * y))
ATAN2.defjvp(lambda t, x, y: t * y / (x * x + y * y), lambda t, x, y: -t * x / (x * x + y * y))
HYPOT = Primitive("Hypot", np.hypot, broadcasts=True)
HYPOT.defvjp(lambda g, x, ans: g * x / ans, lambda g, y, ans: g * y / ans)
HYPOT.defjvp(lambda t, x, ans: t * x / ans, lambda t, y, ans: t * y / ans)
# d/dx log(e^x + e^y) = sigmoid(x - y): from the inputs, as PyTorch's node (which keeps self and
# other, not the result)
LOGADDEXP = Primitive("Logaddexp", np.logaddexp, broadcasts=True)
LOGADDEXP.defvjp(lambda g, x, y: g * sigmoid(x - y), lambda g, x, y: g * sigmoid(y - x))
LOGADDEXP.defjvp(lambda t, x, y: t * sigmoid(x - y), lambda t, x, y: t * sigmoid(y - x))
LOGADDEXP2 = Primitive("Logaddexp2", np.logaddexp2, broadcasts=True)
LOGADDEXP2.defvjp(lambda g, x, y: g * sigmoid((x - y) * _LN2), lambda g, x, y: g * sigmoid((y - x) * _LN2))
LOGADDEXP2.defjvp(lambda t, x, y: t * sigmoid((x - y) * _LN2), lambda t, x, y: t * sigmoid((y - x) * _LN2))


def _copysign_grad(g: Any, x: Any, ans: Any) -> Any:
    """d/dx copysign(x, y) = ans / x: +-1, and 0 at x == 0 (PyTorch's choice)."""
    zero = eq(x, 0)
    return where(zero, 0.0, g * ans / where(zero, 1.0, x))


COPYSIGN = Primitive("Copysign", np.copysign, broadcasts=True)
COPYSIGN.defvjp(_copysign_grad, lambda g: g * 0)
COPYSIGN.defjvp(_copysign_grad, lambda t: t * 0)
for _op in (ATAN2, HYPOT, LOGADDEXP, LOGADDEXP2, COPYSIGN):
    _broadcast_rule(_op)


def atan2(input: Any, other: Any) -> Any:  # noqa: A002
    """The angle of the point (other, input), in (-pi, pi]: ``atan2(y, x)``."""
    return apply(ATAN2, _binary_float(input, other, "atan2"))


arctan2 = atan2


def hypot(input: Any, other: Any) -> Any:  # noqa: A002
    """sqrt(input^2 + other^2) without overflow."""
    return apply(HYPOT, _binary_float(input, other, "hypot"))


def logaddexp(input: Any, other: Any) -> Any:  # noqa: A002
    """log(exp(input) + exp(other)) without overflow."""
    return apply(LOGADDEXP, _binary_float(input, other, "logaddexp"))


def logaddexp2(input: Any, other: Any) -> Any:  # noqa: A002
    """log2(2^input + 2^other) without overflow."""
    return apply(LOGADDEXP2, _binary_float(input, other, "logaddexp2"))


def copysign(input: Any, other: Any) -> Any:  # noqa: A002
    """|input| with the sign of ``other`` (a float result)."""
    return apply(COPYSIGN, _binary_float(input, other, "copysign"))


def fmod(input: Any, other: Any) -> Any:  # noqa: A002
    """C-style remainder (the sign of the dividend): input - trunc(input / other) * other, so the
    gradient is 1 for input and -trunc(input / other) for other, as in PyTorch."""
    _kd.check_binary("fmod", input, other)
    x, y = promote(input, other)
    return sub(x, mul(div(x, y, rounding_mode="trunc"), y))
