"""Attach the op table to ``Tensor`` as operators and methods (``x + y``, ``x.sum()``, ``x.add_()``).

Everything here is a one-line forward to a function in ``ops`` or ``_inplace``;
the Tensor class itself holds no op logic.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from . import dtypes as _dt
from . import ops
from . import random as _random
from ._inplace import inplace, inplace_ufunc, setitem, tracked
from ._tensor import Tensor, wrap
from .backend import device as _device
from .ops import elementwise as ew
from .ops._core import structural
from .ops.index import getitem


def _swap(fn: Any) -> Any:
    return lambda self, other: fn(other, self)


def _rtruediv(self: Tensor, other: Any) -> Any:
    """``number / tensor``: PyTorch's ``reciprocal() * number`` for complex tensors (so a complex
    zero gives nan+nanj, not true division's inf) and bfloat16 ones (whose reciprocal's rounding
    shows); other real tensors divide (no double rounding)."""
    if self._data.dtype.kind in "cV":
        return ops.mul(ops.reciprocal(self), other)
    return ops.div(other, self)


# ---------------------------------------------------------------- operators
_OPERATORS = {
    "__add__": ops.add,
    "__radd__": _swap(ops.add),
    "__sub__": ops.sub,
    "__rsub__": _swap(ops.sub),
    "__mul__": ops.mul,
    "__rmul__": _swap(ops.mul),
    "__truediv__": ops.div,
    "__rtruediv__": _rtruediv,
    "__floordiv__": ops.floor_divide,
    "__rfloordiv__": _swap(ops.floor_divide),
    "__mod__": ops.remainder,
    "__rmod__": _swap(ops.remainder),
    "__pow__": ops.pow,
    "__rpow__": _swap(ops.pow),
    "__matmul__": ops.matmul,
    "__rmatmul__": _swap(ops.matmul),
    "__eq__": ops.eq,
    "__ne__": ops.ne,
    "__lt__": ops.lt,
    "__le__": ops.le,
    "__gt__": ops.gt,
    "__ge__": ops.ge,
    "__and__": ops.bitwise_and,
    "__rand__": _swap(ops.bitwise_and),
    "__or__": ops.bitwise_or,
    "__ror__": _swap(ops.bitwise_or),
    "__xor__": ops.bitwise_xor,
    "__rxor__": _swap(ops.bitwise_xor),
    "__getitem__": getitem,
    "__setitem__": setitem,
    "__neg__": ops.neg,
    "__abs__": ops.abs,
    "__invert__": ops.compare.invert,
}
for _name, _fn in _OPERATORS.items():
    setattr(Tensor, _name, _fn)
Tensor.__pos__ = lambda self: self  # type: ignore[attr-defined]


# ---------------------------------------------------------------- methods
_METHODS = [
    # elementwise
    "abs", "acos", "asin", "atan", "ceil", "clamp", "clip", "cos", "cosh", "erf", "exp", "expm1",
    "floor", "frac", "log", "log1p", "log2", "log10", "neg", "reciprocal", "relu", "round", "rsqrt",
    "sigmoid", "sign", "sin", "sinh", "sqrt", "square", "tan", "tanh", "trunc", "isnan", "isinf",
    "isfinite", "logical_not", "logical_and", "logical_or", "logical_xor", "bitwise_not",
    "add", "sub", "mul", "div", "pow", "remainder", "floor_divide", "maximum", "minimum",
    "eq", "ne", "lt", "le", "gt", "ge", "greater", "less", "greater_equal", "less_equal",
    "not_equal", "equal", "allclose", "isclose", "multiply", "subtract", "divide", "true_divide",
    "negative", "absolute", "fmod",
    # reductions
    "sum", "mean", "prod", "amax", "amin", "max", "min", "argmax", "argmin", "var", "std",
    "norm", "logsumexp", "cumsum", "cumprod", "all", "any", "count_nonzero", "nansum",
    # shape
    "reshape", "view", "view_as", "reshape_as", "flatten", "unflatten", "squeeze", "unsqueeze",
    "transpose", "swapaxes", "swapdims", "permute", "t", "expand", "expand_as", "broadcast_to",
    "repeat", "repeat_interleave", "tile", "flip", "fliplr", "flipud", "roll", "split", "chunk",
    "unbind", "narrow", "movedim", "clone", "contiguous", "diagonal", "as_strided",
    # indexing
    "gather", "index_select", "masked_fill", "masked_select", "scatter", "scatter_add",
    "index_add", "take", "take_along_dim", "nonzero", "argwhere", "select",
    # linear algebra, nn
    "matmul", "mm", "mv", "dot", "bmm", "outer", "inner", "softmax", "log_softmax",
]
for _name in _METHODS:
    setattr(Tensor, _name, getattr(ops, _name))

Tensor.unfold = ops._unfold  # type: ignore[attr-defined]
Tensor.T = property(ops.T)  # type: ignore[attr-defined]
Tensor.mT = property(ops.mT)  # type: ignore[attr-defined]


def _where(self: Tensor, condition: Any, y: Any) -> Any:
    return ops.where(condition, self, y)


Tensor.where = _where  # type: ignore[attr-defined]


# ------------------------------------------------------------ dtype changes
def to(self: Tensor, *args: Any, **kwargs: Any) -> Tensor:
    """``to(dtype)``, ``to(device)``, ``to(device, dtype)`` or ``to(other)``; a no-op if nothing changes."""
    dtype = kwargs.pop("dtype", None)
    kwargs.pop("non_blocking", None)
    copy = kwargs.pop("copy", False)
    dev = kwargs.pop("device", None)
    for a in args:
        if isinstance(a, Tensor):
            dtype = a._data.dtype
        elif isinstance(a, (str, _device)):
            dev = a
        elif a is not None:
            dtype = a
    if dev is not None:
        _device(dev)  # validates: only the CPU exists
    out = self if dtype is None else ew.cast(self, dtype)
    return ops.clone(out) if copy and out is self else out


def type_(self: Tensor, dtype: Any = None, non_blocking: bool = False) -> Any:
    if dtype is None:
        names = {"float32": "Float", "float64": "Double", "float16": "Half", "bfloat16": "BFloat16",
                 "int64": "Long", "int32": "Int", "int16": "Short", "int8": "Char", "uint8": "Byte",
                 "uint16": "UInt16", "uint32": "UInt32", "uint64": "UInt64", "bool": "Bool"}
        return f"chainrule.{names[str(self._data.dtype)]}Tensor"
    if isinstance(dtype, str) and dtype.endswith("Tensor"):
        dtype = {"FloatTensor": _dt.float32, "DoubleTensor": _dt.float64, "LongTensor": _dt.int64,
                 "IntTensor": _dt.int32, "BoolTensor": _dt.bool, "ByteTensor": _dt.uint8,
                 "HalfTensor": _dt.float16, "BFloat16Tensor": _dt.bfloat16}[dtype.split(".")[-1]]
    return ew.cast(self, dtype)


Tensor.to = to  # type: ignore[attr-defined]
Tensor.type = type_  # type: ignore[attr-defined]
Tensor.type_as = lambda self, other: ew.cast(self, other._data.dtype)  # type: ignore[attr-defined]
for _name, _d in [("float", _dt.float32), ("double", _dt.float64), ("half", _dt.float16),
                  ("bfloat16", _dt.bfloat16),
                  ("long", _dt.int64), ("int", _dt.int32), ("short", _dt.int16),
                  ("char", _dt.int8), ("byte", _dt.uint8), ("bool", _dt.bool)]:
    setattr(Tensor, _name, (lambda d: lambda self, memory_format=None: ew.cast(self, d))(_d))


# ------------------------------------------------------------------ new_*
def _new(fill: Any):
    def method(self: Tensor, *size: Any, dtype: Any = None, device: Any = None,
               requires_grad: bool = False, fill_value: Any = None) -> Tensor:
        from .ops._dims import sizes_arg

        shape = sizes_arg(size, "new")
        npd = _dt.to_numpy(dtype) if dtype is not None else self._data.dtype
        if fill is None:
            data = np.empty(shape, npd)
        else:
            data = np.full(shape, fill if fill_value is None else fill_value, npd)
        return wrap(data).requires_grad_(requires_grad)

    return method


Tensor.new_zeros = _new(0)  # type: ignore[attr-defined]
Tensor.new_ones = _new(1)  # type: ignore[attr-defined]
Tensor.new_empty = _new(None)  # type: ignore[attr-defined]


def _new_full(self: Tensor, size: Any, fill_value: Any, *, dtype: Any = None, device: Any = None,
              requires_grad: bool = False) -> Tensor:
    return _new(0)(self, size, dtype=dtype, requires_grad=requires_grad, fill_value=fill_value)


def _new_tensor(self: Tensor, data: Any, *, dtype: Any = None, device: Any = None,
                requires_grad: bool = False) -> Tensor:
    from ._creation import tensor

    return tensor(data, dtype=dtype if dtype is not None else self._data.dtype,
                  requires_grad=requires_grad)


Tensor.new_full = _new_full  # type: ignore[attr-defined]
Tensor.new_tensor = _new_tensor  # type: ignore[attr-defined]


# ---------------------------------------------------------------- in place
def _arith(name: str, ufunc: Any, fn: Any):
    def method(self: Tensor, other: Any, *, alpha: Any = None) -> Tensor:
        if alpha is not None and alpha != 1:
            other = ops.mul(other, alpha) if isinstance(other, Tensor) else other * alpha
        return inplace_ufunc(self, name, ufunc, other, fn)

    method.__name__ = name
    return method


Tensor.add_ = _arith("add_", np.add, ops.add)  # type: ignore[attr-defined]
Tensor.sub_ = _arith("sub_", np.subtract, ops.sub)  # type: ignore[attr-defined]
Tensor.mul_ = _arith("mul_", np.multiply, ops.mul)  # type: ignore[attr-defined]
Tensor.div_ = _arith("div_", np.true_divide, ops.div)  # type: ignore[attr-defined]
Tensor.pow_ = _arith("pow_", np.power, ops.pow)  # type: ignore[attr-defined]
Tensor.__iadd__ = Tensor.add_  # type: ignore[attr-defined]
Tensor.__isub__ = Tensor.sub_  # type: ignore[attr-defined]
Tensor.__imul__ = Tensor.mul_  # type: ignore[attr-defined]
Tensor.__itruediv__ = Tensor.div_  # type: ignore[attr-defined]
Tensor.__ipow__ = Tensor.pow_  # type: ignore[attr-defined]
Tensor.multiply_, Tensor.subtract_, Tensor.divide_ = Tensor.mul_, Tensor.sub_, Tensor.div_  # type: ignore[attr-defined]


def inplace_method(name: str, fn: Any):
    """``x.name(*args)``: ``fn(x, *args)`` written into ``x``.  The arguments go to ``inplace``
    itself (keyword ones too), so that one requiring grad is recorded even when ``x`` does not
    (``buf.scatter_add_(0, idx, y)`` must give ``y`` its gradient)."""

    def method(self: Tensor, *args: Any, **kwargs: Any) -> Tensor:
        n, keys = len(args), tuple(kwargs)  # (keyword tensors go to inplace too: clamp_(min=t))
        compute = lambda t, *a: fn(t, *a[:n], **dict(zip(keys, a[n:])))  # noqa: E731
        return inplace(self, name, compute, *args, *kwargs.values())

    method.__name__ = name
    return method


for _name in ["exp", "log", "sqrt", "abs", "neg", "relu", "sigmoid", "tanh", "sin", "cos",
              "floor", "ceil", "round", "clamp", "clip", "reciprocal", "sign", "square", "trunc",
              "masked_fill", "index_add", "scatter", "scatter_add", "log1p", "expm1", "rsqrt",
              "frac"]:
    setattr(Tensor, _name + "_", inplace_method(_name + "_", getattr(ops, _name)))


def zero_(self: Tensor) -> Tensor:
    """Set every element to 0 in place (used on ``.grad`` between steps)."""
    return fill_(self, 0)


def fill_(self: Tensor, value: Any) -> Tensor:
    args = (value,) if isinstance(value, Tensor) else ()
    if tracked(self, args):
        return inplace(self, "fill_", lambda t, *v: _overwrite(t, v[0] if v else value), *args)
    return _fill_direct(self, value.item() if isinstance(value, Tensor) else value)


def _overwrite(t: Tensor, value: Any) -> Tensor:
    """``value`` broadcast to ``t``'s shape, still recorded as a function of ``t`` (gradient 0).

    A ``where`` rather than ``t * 0 + value``: an inf or NaN in ``t`` must not leak through."""
    return ops.where(structural(np.ones(t._data.shape, dtype=bool)), value, t)


def _fill_direct(t: Tensor, value: Any) -> Tensor:
    from ._inplace import _check_leaf

    _check_leaf(t, "fill_")
    t._data[...] = value
    t._vc[0] += 1
    return t


def copy_(self: Tensor, src: Any, non_blocking: bool = False) -> Tensor:
    """Copy ``src``'s values (broadcast to this shape) into this tensor; gradient flows to ``src``."""
    if isinstance(src, Tensor) and tracked(self, (src,)):
        return inplace(self, "copy_", lambda t, s: _overwrite(t, ew.cast(s, t._data.dtype)), src)
    from ._inplace import _check_leaf

    _check_leaf(self, "copy_")
    sd = src._data if isinstance(src, Tensor) else np.asarray(src)
    try:
        np.copyto(self._data, np.broadcast_to(sd, self._data.shape), casting="unsafe")
    except ValueError:
        raise RuntimeError(
            f"copy_(): source of shape {tuple(sd.shape)} cannot be broadcast to {tuple(self._data.shape)}"
        ) from None
    self._vc[0] += 1
    return self


def _random_fill(draw: Any):
    def method(self: Tensor, *args: Any, generator: Any = None, **kwargs: Any) -> Tensor:
        from ._inplace import _check_leaf

        _check_leaf(self, "random fill")
        rng = _random.rng(generator)
        self._data[...] = draw(rng, self._data.shape, *args, **kwargs)
        self._vc[0] += 1
        return self

    return method


Tensor.zero_ = zero_  # type: ignore[attr-defined]
Tensor.fill_ = fill_  # type: ignore[attr-defined]
Tensor.copy_ = copy_  # type: ignore[attr-defined]
Tensor.normal_ = _random_fill(lambda r, s, mean=0.0, std=1.0: r.normal(mean, std, s))  # type: ignore[attr-defined]
Tensor.uniform_ = _random_fill(lambda r, s, a=0.0, b=1.0: r.uniform(a, b, s))  # type: ignore[attr-defined]
Tensor.bernoulli_ = _random_fill(lambda r, s, p=0.5: r.random(s) < p)  # type: ignore[attr-defined]
Tensor.random_ = _random_fill(  # type: ignore[attr-defined]
    lambda r, s, low=0, high=None: r.integers(0 if high is None else low, low if high is None else high, s)
)
Tensor.exponential_ = _random_fill(lambda r, s, lambd=1.0: r.exponential(1.0 / lambd, s))  # type: ignore[attr-defined]


def _apply_(self: Tensor, fn: Any) -> Tensor:
    flat = self._data.reshape(-1)
    for i in range(flat.size):
        flat[i] = fn(flat[i].item())
    self._vc[0] += 1
    return self


Tensor.apply_ = _apply_  # type: ignore[attr-defined]
