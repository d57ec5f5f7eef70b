"""Elementwise ops: arithmetic, unary math, activations, comparisons.

Each primitive states its forward and derivative together.  ``elementwise``
ops give one derivative d(ans)/dx for both modes; binary ops give one rule per
side.  Public functions below the table apply PyTorch's dtype promotion (by
inserting differentiable casts) before calling a primitive.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .. import dtypes as _dt
from .._tensor import Tensor, wrap
from ._core import Primitive, apply, elementwise, fail, structural
from ._core import conj_if_complex as _cj
from .compare import gt, lt, ne
from .complex import abs_jvp, abs_vjp, div_parts, pow_forward, real
from .special import erf_array

_SQRT_HALF = math.sqrt(0.5)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)
_TWO_OVER_SQRT_PI = 2.0 / math.sqrt(math.pi)


def _is_tensorlike(a: Any) -> bool:
    return isinstance(a, (Tensor, np.ndarray))


def zeros_like_any(a: Any) -> Any:
    """Zeros shaped like ``a`` (a Tensor stays a Tensor, an array an array); no graph."""
    if isinstance(a, Tensor):
        return structural(wrap(np.zeros_like(a._data)))
    return structural(np.zeros_like(a))


# ======================================================================= casts
def _cast_forward(x: np.ndarray, *, dtype: np.dtype) -> np.ndarray:
    # complex -> real keeps the real part (PyTorch's cast; also the adjoint of real -> complex)
    return _dt.astype(x.real if x.dtype.kind == "c" and dtype.kind != "c" else x, dtype)


CAST = Primitive("To", _cast_forward, public="to")
CAST.defvjp(lambda g, x_dtype: cast(g, x_dtype))
CAST.defjvp(lambda t, dtype: cast(t, dtype))


def cast(x: Any, dtype: Any) -> Any:
    """``x`` converted to ``dtype`` (differentiable between float dtypes); no-op if equal."""
    npd = _dt.to_numpy(dtype)
    d = x._data.dtype if isinstance(x, Tensor) else getattr(x, "dtype", None)
    if d == npd:
        return x
    if not _is_tensorlike(x):
        return np.asarray(x, dtype=npd)
    return apply(CAST, (x,), {"dtype": npd})


# ================================================================== promotion
def _dtype_of(a: Any) -> np.dtype | None:
    if isinstance(a, Tensor):
        return a._data.dtype
    if isinstance(a, np.ndarray):
        return a.dtype
    return None


def _weak_ok(kind: str, scalar: Any) -> bool:
    """True when a Python number leaves a tensor of this kind's dtype unchanged (PyTorch rules)."""
    if kind == "f":
        return not isinstance(scalar, complex)
    if kind in "iu":
        return isinstance(scalar, int)
    return isinstance(scalar, bool)


def promote(x: Any, y: Any, op: str | None = None) -> tuple[Any, Any]:
    """Cast the tensor operands of a binary op to PyTorch's result dtype (refusing, for ``op``,
    what PyTorch refuses: checked here, off the float fast path)."""
    tx, ty = type(x), type(y)
    if tx is Tensor:  # fast paths: same dtypes, or a float tensor with a Python number
        if ty is Tensor:
            if x._data.dtype == y._data.dtype:
                return x, y
        elif (ty is float or ty is int) and x._data.dtype.kind == "f":
            return x, y
    elif ty is Tensor and (tx is float or tx is int) and y._data.dtype.kind == "f":
        return x, y
    if isinstance(y, np.generic):
        y = y.item()
    if isinstance(x, np.generic):
        x = x.item()
    if op is not None:
        _dt.check_binary(op, _raw(x), _raw(y))
    dx, dy = _dtype_of(x), _dtype_of(y)
    if dx is not None and dy is not None:
        if dx == dy:
            return x, y
    elif dx is not None:
        if _weak_ok(_dt.kind(dx), y):
            return x, y
    elif dy is not None:
        if _weak_ok(_dt.kind(dy), x):
            return x, y
    else:
        return x, y
    target = _dt.result_type(
        x._data if isinstance(x, Tensor) else x, y._data if isinstance(y, Tensor) else y
    )
    if dx is not None:
        x = cast(x, target)
    if dy is not None:
        y = cast(y, target)
    return x, y


def _to_float(x: Any) -> Any:
    """Integer/bool input of a float-valued op becomes the default float dtype, as in PyTorch."""
    d = _dtype_of(x)
    if d is None:
        return x
    if _dt.kind(d) not in "fc":
        return cast(x, _dt.get_default_dtype().np)
    return x


# ================================================================= arithmetic
def _pass(g: Any) -> Any:
    return g


ADD = Primitive("Add", lambda x, y: x + y, broadcasts=True).defvjp(_pass, _pass)
SUB = Primitive("Sub", _dt.sub_forward, broadcasts=True).defvjp(_pass, lambda g: -g)
MUL = Primitive("Mul", lambda x, y: x * y, broadcasts=True).defvjp(
    lambda g, y: g * _cj(y), lambda g, x: g * _cj(x)
)
DIV = Primitive("Div", lambda x, y: x / y, broadcasts=True).defvjp(
    lambda g, y: g / _cj(y), lambda g, x, y: -(g * _cj(x)) / _cj(y * y)
)
NEG = Primitive("Neg", _dt.neg_forward).defvjp(lambda g: -g)
ADD.defjvp(_pass, _pass)
SUB.defjvp(_pass, lambda t: -t)
MUL.defjvp(lambda t, y: t * y, lambda t, x: x * t)
DIV.defjvp(lambda t, y: t / y, lambda t, x, y: -(t * x) / (y * y))
NEG.defjvp(lambda t: -t)


def _pow_exponent_factor(x: Any, y: Any, ans: Any) -> Any:
    """d(x**y)/dy = x**y log x, 0 where x == 0 and re(y) >= 0 (as PyTorch); the VJP conjugates it."""
    if not _is_tensorlike(x) and not isinstance(x, complex) and x > 0:  # a number base: where() of
        return ans * math.log(x)  # two Python numbers would round to float32
    zero = (x == 0) & ((real(y) if np.iscomplexobj(getattr(y, "_data", y)) else y) >= 0)
    return where(zero, 0.0, ans * log(where(zero, 1.0, x)))


POW = Primitive("Pow", pow_forward, broadcasts=True).defvjp(
    lambda g, x, y: zeros_like_any(g) if not _is_tensorlike(y) and y == 0 else g * _cj(y * x ** (y - 1)),
    lambda g, x, y, ans: g * _cj(_pow_exponent_factor(x, y, ans)),
)
POW.defjvp(
    lambda t, x, y: zeros_like_any(t) if not _is_tensorlike(y) and y == 0 else t * (y * x ** (y - 1)),
    lambda t, x, y, ans: t * _pow_exponent_factor(x, y, ans),
)


def add(x: Any, y: Any, *, alpha: Any = None) -> Any:
    """``x + alpha * y`` with broadcasting."""
    if alpha is not None and alpha != 1:
        y = mul(y, alpha)
    x, y = promote(x, y)
    return apply(ADD, (x, y))


def sub(x: Any, y: Any, *, alpha: Any = None) -> Any:
    if alpha is not None and alpha != 1:
        y = mul(y, alpha)
    x, y = promote(x, y, "sub")
    return apply(SUB, (x, y))


def mul(x: Any, y: Any) -> Any:
    x, y = promote(x, y)
    return apply(MUL, (x, y))


def div(x: Any, y: Any, *, rounding_mode: str | None = None) -> Any:
    """True division (int / int gives the default float dtype); ``rounding_mode`` 'floor'/'trunc'."""
    if rounding_mode is not None:
        q = div(x, y)
        if rounding_mode == "floor":
            out = floor(q)
        elif rounding_mode == "trunc":
            out = trunc(q)
        else:
            raise fail(f"div(): rounding_mode must be None, 'floor' or 'trunc', got {rounding_mode!r}",
                       ValueError)
        dx, dy = _dtype_of(x), _dtype_of(y)
        if all(d is None or d.kind in "iub" for d in (dx, dy)):
            out = cast(out, _dt.result_type(_raw(x), _raw(y)))
        return out
    x, y = promote(x, y)
    d = _dtype_of(x) or _dtype_of(y)
    if d is not None and _dt.kind(d) not in "fc":
        x, y = _to_float(x), _to_float(y)
        if _dtype_of(x) is None:
            x = float(x)
        if _dtype_of(y) is None:
            y = float(y)
    return apply(DIV, (x, y))


def _raw(a: Any) -> Any:
    return a._data if isinstance(a, Tensor) else a


def neg(x: Any) -> Any:
    return apply(NEG, (x,))


def pow(x: Any, y: Any) -> Any:  # noqa: A001 - PyTorch's name
    """``x ** y``; a float exponent on an integer tensor gives a float result."""
    x, y = promote(x, y, "pow")
    if type(x) is Tensor and x._data.dtype.kind == "f":
        return apply(POW, (x, y))
    _dt.check_binary("pow", _raw(x), _raw(y))
    if isinstance(y, bool) and _dtype_of(x) == np.bool_:  # bool ** True stays bool (PyTorch)
        return cast(apply(POW, (x, y)), np.bool_)
    return apply(POW, (x, y))


def remainder(x: Any, y: Any) -> Any:
    """Python-style modulo (sign of the divisor); for floats x - floor(x / y) * y, so the
    gradient is 1 w.r.t. x and -floor(x / y) w.r.t. y, as in PyTorch."""
    _dt.check_binary("remainder", _raw(x), _raw(y))
    x, y = promote(x, y)
    d = _dtype_of(x) if _dtype_of(x) is not None else _dtype_of(y)
    if d is not None and _dt.kind(d) == "f":
        return sub(x if _dtype_of(x) is not None else float(x), mul(floor(div(x, y)), y))
    return apply(MOD, (x, y))


MOD = Primitive("Remainder", lambda x, y: np.mod(x, y), differentiable=False)
FLOORDIV = Primitive("FloorDivide", lambda x, y: np.floor_divide(x, y), differentiable=False)


def floor_divide(x: Any, y: Any) -> Any:
    _dt.check_binary("floor_divide", _raw(x), _raw(y))
    return apply(FLOORDIV, promote(x, y))


# ==================================================================== unary math
def _unary(op: Primitive):
    def fn(x: Any) -> Any:
        if type(x) is Tensor and x._data.dtype.kind == "f":
            return apply(op, (x,))
        _not_float(fn.__name__, x)  # (refuses complex input where PyTorch does: erf)
        return apply(op, (_to_float(x),))

    fn.__name__ = op.public
    fn.__doc__ = f"Elementwise {op.public}; integer inputs are converted to the default float dtype."
    return fn


EXP = elementwise("Exp", np.exp, lambda ans: ans)
EXPM1 = elementwise("Expm1", np.expm1, lambda ans: ans + 1)
LOG = elementwise("Log", np.log, lambda x: 1 / x)
LOG1P = elementwise("Log1p", np.log1p, lambda x: 1 / (x + 1))
SQRT = elementwise("Sqrt", np.sqrt, lambda ans: 0.5 / ans)
RSQRT = elementwise("Rsqrt", lambda x: 1 / np.sqrt(x), lambda ans: -0.5 * ans * ans * ans)
RECIPROCAL = elementwise("Reciprocal", lambda x: 1 / x, lambda ans: -(ans * ans))
SIN = elementwise("Sin", np.sin, lambda x: cos(x))
COS = elementwise("Cos", np.cos, lambda x: -sin(x))
TAN = elementwise("Tan", np.tan, lambda ans: 1 + ans * ans)
SINH = elementwise("Sinh", np.sinh, lambda x: cosh(x))
COSH = elementwise("Cosh", np.cosh, lambda x: sinh(x))
TANH = elementwise("Tanh", np.tanh, lambda ans: 1 - ans * ans)
ASIN = elementwise("Asin", np.arcsin, lambda x: rsqrt(1 - x * x))
ACOS = elementwise("Acos", np.arccos, lambda x: -rsqrt(1 - x * x))
ATAN = elementwise("Atan", np.arctan, lambda x: 1 / (1 + x * x))
ABS = Primitive("Abs", np.abs).defvjp(abs_vjp).defjvp(abs_jvp)  # g * sgn(x): complex z gives g z/|z|
ERF = elementwise("Erf", erf_array, lambda x: _TWO_OVER_SQRT_PI * exp(-(x * x)))


def _sigmoid_forward(x: np.ndarray) -> np.ndarray:
    # 1/(1+e) for x >= 0, e/(1+e) below (e = exp(-|x|): no overflow, each exact in its half);
    # the numerator min(e + [x >= 0], 1) selects without np.where (~10x slower on random masks)
    x = np.asarray(x)
    if x.dtype.kind == "c":  # the halves split by sign mean nothing for complex values
        return 1 / (1 + np.exp(-x))
    if not x.ndim:  # NumPy returns scalars for 0-d arrays, which have no out=
        return _sigmoid_forward(x.reshape(1)).reshape(())
    e = np.exp(-np.abs(x))
    num = np.minimum(np.add(e, x >= 0), 1)
    e += 1
    num /= e
    return num.astype(x.dtype, copy=False)


SIGMOID = elementwise("Sigmoid", _dt.opmath(_sigmoid_forward), lambda ans: ans * (1 - ans))


def _relu_vjp(g: Any, ans: Any) -> Any:
    """``where(ans <= 0, 0, g)`` (PyTorch's rule: a NaN input passes its gradient).

    On arrays with a finite ``g`` the same values come from ``g * ~(ans <= 0)``, which
    is about 6x faster than ``np.where`` with a random mask (ReLU is on every MLP's path).
    """
    if isinstance(g, np.ndarray) and np.isfinite(g).all():
        return g * ~(ans <= 0)
    return where(ans <= 0, 0.0, g)


RELU = Primitive("Relu", lambda x: np.maximum(x, 0)).defvjp(_relu_vjp)
RELU.defjvp(lambda t, ans: t * (ans > 0))


def _leaky_forward(x: np.ndarray, *, negative_slope: float = 0.01) -> np.ndarray:
    return np.where(x > 0, x, x * negative_slope)


# Selecting g or g * slope keeps g's precision; a where() of the two numbers 1 and 0.2 would
# make a float32 derivative (PyTorch's rule for Python numbers) even for float64 inputs.
LEAKY_RELU = Primitive("LeakyRelu", _leaky_forward)
LEAKY_RELU.defvjp(lambda g, x, negative_slope: where(x > 0, g, g * negative_slope))
LEAKY_RELU.defjvp(lambda t, x, negative_slope: where(x > 0, t, t * negative_slope))


def _gelu_forward(x: np.ndarray) -> np.ndarray:
    return 0.5 * x * (1 + erf_array(x * _SQRT_HALF))


GELU = elementwise(
    "Gelu",
    _dt.opmath(_gelu_forward),
    lambda x: 0.5 * (1 + erf(x * _SQRT_HALF)) + x * exp(-0.5 * x * x) * _INV_SQRT_2PI,
)


def _softplus_forward(x: np.ndarray, *, beta: float = 1.0, threshold: float = 20.0) -> np.ndarray:
    bx = x * beta
    return np.where(bx > threshold, x, np.logaddexp(0, bx) / beta).astype(x.dtype, copy=False)


SOFTPLUS = elementwise(
    "Softplus",
    _softplus_forward,
    lambda x, beta, threshold: where(x * beta > threshold, 1.0, sigmoid(x * beta)),
)


def _zero_rule(g: Any) -> Any:
    return zeros_like_any(g)


def _zero_grad_op(name: str, fn: Any) -> Primitive:
    """Piecewise-constant ops: gradient zero everywhere (materialised, as PyTorch does)."""
    op = Primitive(name, fn)
    op.defvjp(_zero_rule)
    op.defjvp(_zero_rule)
    return op


def _sign(x: np.ndarray) -> np.ndarray:
    """np.sign, except sign(NaN) = 0 as in PyTorch."""
    if _dt.kind(np.asarray(x).dtype) != "f":
        return np.array(x, copy=True) if np.asarray(x).dtype.kind == "b" else np.sign(x)
    return np.where(x != x, 0.0, np.sign(x)).astype(np.asarray(x).dtype, copy=False)


SIGN = _zero_grad_op("Sign", _sign)
FLOOR = _zero_grad_op("Floor", np.floor)
CEIL = _zero_grad_op("Ceil", np.ceil)
ROUND = _zero_grad_op("Round", np.rint)
TRUNC = _zero_grad_op("Trunc", np.trunc)

exp, expm1, log, log1p = map(_unary, (EXP, EXPM1, LOG, LOG1P))
sqrt, rsqrt, reciprocal = map(_unary, (SQRT, RSQRT, RECIPROCAL))
sin, cos, tan, sinh, cosh, tanh = map(_unary, (SIN, COS, TAN, SINH, COSH, TANH))
asin, acos, atan, erf, sigmoid = map(_unary, (ASIN, ACOS, ATAN, ERF, SIGMOID))


def _not_float(op: str, x: Any) -> bool:
    """True for an integer/bool tensor (after refusing what PyTorch refuses for ``op``)."""
    d = _dtype_of(x)
    if d is None or _dt.kind(d) == "f":
        return False
    _dt.check_unary(op, _raw(x))
    return True


def abs(x: Any) -> Any:  # noqa: A001 - PyTorch's name
    if type(x) is not Tensor or x._data.dtype.kind != "f":
        _not_float("abs", x)
    return apply(ABS, (x,))


def sign(x: Any) -> Any:
    _not_float("sign", x)  # (complex input is refused: sgn() is z / |z|)
    return apply(SIGN, (x,))


def floor(x: Any) -> Any:
    return x if _not_float("floor", x) else apply(FLOOR, (x,))


def ceil(x: Any) -> Any:
    return x if _not_float("ceil", x) else apply(CEIL, (x,))


def round(x: Any, *, decimals: int = 0) -> Any:  # noqa: A001 - PyTorch's name
    if _not_float("round", x):  # integers are already round (PyTorch keeps their dtype)
        return x
    if decimals:
        scale = 10.0**decimals
        return div(apply(ROUND, (mul(x, scale),)), scale)
    return apply(ROUND, (x,))


def trunc(x: Any) -> Any:
    return x if _not_float("trunc", x) else apply(TRUNC, (x,))


def frac(x: Any) -> Any:
    _not_float("frac", x)
    return sub(x, trunc(x))


def square(x: Any) -> Any:
    if type(x) is Tensor and x._data.dtype.kind == "b":  # PyTorch: x ** 2, an int64 result
        x = cast(x, np.int64)
    return mul(x, x)


def log2(x: Any) -> Any:
    return div_parts(log(x), math.log(2.0))


def log10(x: Any) -> Any:
    return div_parts(log(x), math.log(10.0))


def exp2(x: Any) -> Any:
    return pow(2.0, _to_float(x))


def relu(x: Any) -> Any:
    if type(x) is not Tensor or x._data.dtype.kind != "f":
        _not_float("relu", x)
    return apply(RELU, (x,))


def leaky_relu(x: Any, negative_slope: float = 0.01) -> Any:
    return apply(LEAKY_RELU, (x,), {"negative_slope": negative_slope})


def gelu(x: Any, approximate: str = "none") -> Any:
    """GELU, exact (erf) by default; ``approximate='tanh'`` for the tanh formula."""
    if approximate == "none":
        return apply(GELU, (x,))
    if approximate == "tanh":
        inner = mul(add(x, mul(mul(mul(x, x), x), 0.044715)), math.sqrt(2.0 / math.pi))
        return mul(mul(x, 0.5), add(tanh(inner), 1.0))
    raise fail(f"gelu(): approximate must be 'none' or 'tanh', got {approximate!r}", ValueError)


def softplus(x: Any, beta: float = 1.0, threshold: float = 20.0) -> Any:
    return apply(SOFTPLUS, (x,), {"beta": beta, "threshold": threshold})


def silu(x: Any) -> Any:
    return mul(x, sigmoid(x))


def elu(x: Any, alpha: float = 1.0) -> Any:
    return where(gt(x, 0), x, mul(expm1(x), alpha))


def hardtanh(x: Any, min_val: float = -1.0, max_val: float = 1.0) -> Any:
    return clamp(x, min_val, max_val)


def logsigmoid(x: Any) -> Any:
    return neg(softplus(neg(x)))


# ====================================================================== clamp
def _clamp_forward(x: np.ndarray, *, min: Any = None, max: Any = None) -> np.ndarray:  # noqa: A002
    if min is not None:
        x = np.maximum(x, min)
    if max is not None:
        x = np.minimum(x, max)
    return x


def _clamp_mask(x: Any, min: Any, max: Any) -> Any:  # noqa: A002
    inside = None
    if min is not None:
        inside = x >= min
    if max is not None:
        upper = x <= max
        inside = upper if inside is None else inside & upper
    return inside


CLAMP = Primitive("Clamp", _clamp_forward)
# where(), not g * mask: a NaN gradient does not leak through a clamped element (PyTorch)
CLAMP.defvjp(lambda g, x, min, max: where(_clamp_mask(x, min, max), g, 0.0))  # noqa: A002
CLAMP.defjvp(lambda t, x, min, max: t * _clamp_mask(x, min, max))  # noqa: A002


def clamp(x: Any, min: Any = None, max: Any = None) -> Any:  # noqa: A002
    """Limit values to [min, max]; bounds may be numbers or tensors (gradient flows to them)."""
    if min is None and max is None:
        raise fail("clamp(): at least one of min and max must be given", ValueError)
    _not_float("clamp", x)  # (complex input is refused: no order)
    if _is_tensorlike(min) or _is_tensorlike(max):
        out = x
        if min is not None:
            out = where(lt(out, min), min, out)
        if max is not None:
            out = where(gt(out, max), max, out)
        return out
    if isinstance(x, Tensor) and x._data.dtype.kind in "iu":
        if (min is not None and isinstance(min, float)) or (max is not None and isinstance(max, float)):
            x = _to_float(x)
    return apply(CLAMP, (x,), {"min": min, "max": max})


clip = clamp


def _max_weight(a: Any, b: Any) -> Any:
    """1 where a wins, 1/2 on ties, 0 where b wins (ties split the gradient, as in PyTorch)."""
    return where(a > b, 1.0, where(a == b, 0.5, 0.0))


def _max_grad(g: Any, a: Any, b: Any) -> Any:
    """a's share of g in max(a, b), selected as PyTorch does: none if a < b, half on a tie,
    all otherwise (also when a NaN makes both comparisons false); a NaN g does not leak to
    the losing side as NaN * 0 would."""
    return where(a < b, 0.0, where(a == b, g * 0.5, g))


MAXIMUM = Primitive("Maximum", np.maximum, broadcasts=True).defvjp(
    lambda g, x, y: _max_grad(g, x, y), lambda g, x, y: _max_grad(g, y, x)
)
MINIMUM = Primitive("Minimum", np.minimum, broadcasts=True).defvjp(
    lambda g, x, y: _max_grad(g, y, x), lambda g, x, y: _max_grad(g, x, y)
)
MAXIMUM.defjvp(lambda t, x, y: t * _max_weight(x, y), lambda t, x, y: t * _max_weight(y, x))
MINIMUM.defjvp(lambda t, x, y: t * _max_weight(y, x), lambda t, x, y: t * _max_weight(x, y))


def maximum(x: Any, y: Any) -> Any:
    _dt.check_binary("maximum", _raw(x), _raw(y))  # both must be tensors, as in PyTorch
    return apply(MAXIMUM, promote(x, y))


def minimum(x: Any, y: Any) -> Any:
    _dt.check_binary("minimum", _raw(x), _raw(y))
    return apply(MINIMUM, promote(x, y))


# ====================================================================== where
def _where_forward(condition: np.ndarray, x: Any, y: Any) -> np.ndarray:
    return np.where(condition, x, y)


WHERE = Primitive("Where", _where_forward, broadcasts=True)
WHERE.defvjp(None, lambda g, condition: where(condition, g, 0.0),
             lambda g, condition: where(condition, 0.0, g))
WHERE.defjvp(None, lambda t, condition: where(condition, t, 0.0),
             lambda t, condition: where(condition, 0.0, t))


def where(condition: Any, x: Any = None, y: Any = None) -> Any:
    """Elementwise ``x if condition else y`` (numbers allowed); ``where(c)`` gives indices."""
    if x is None and y is None:
        from .index import nonzero

        return nonzero(condition, as_tuple=True)
    if _dtype_of(condition) is not None and _dtype_of(condition).kind != "b":
        condition = ne(condition, 0)
    if _dtype_of(x) is None and _dtype_of(y) is None:
        # a NumPy scalar here is a 0-d result inside a derivative rule: keep its dtype (float64
        # must not become the default float32, as two Python numbers would)
        npd = (np.result_type(x, y) if isinstance(x, np.generic) or isinstance(y, np.generic)
               else _dt.result_type(x, y))
        x, y = np.asarray(x, dtype=npd), np.asarray(y, dtype=npd)
        if not isinstance(condition, Tensor):
            return np.where(condition, x, y)
    else:
        x, y = promote(x, y)
        if _dtype_of(x) is None and _dtype_of(y).kind == "V":  # (np.where(c, 1.0, bf16) is float32)
            x = _dt.astype(np.asarray(x), _dtype_of(y))
    return apply(WHERE, (condition, x, y))
