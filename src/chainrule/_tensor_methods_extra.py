"""Tensor methods (and ``_`` in-place forms) of the functions in ``_tensor_functions_extra``,
``_tensor_functions_shape``, ``linalg._extra`` and ``_stft``, the in-place forms PyTorch also
offers at the top level (``torch.abs_(x)``), and the remaining tensor queries (``stride()``,
``storage_offset()``, ``is_cpu``, ...).

In-place forms go through ``_inplace.inplace`` like every other one: computed out of place,
written into the storage, recorded for autograd (tensor arguments are passed along so that
their gradients are recorded too).
"""

from __future__ import annotations

import math
import warnings
from typing import Any, Callable

import numpy as np

from . import _creation, _stft, ops
from . import _tensor_functions_extra as fx
from . import _tensor_functions_shape as fs
from . import _torch_nn_functions as fnn
from . import random as _random
from ._inplace import _check_leaf, inplace, inplace_view
from ._tensor import Tensor, wrap
from ._tensor_methods import inplace_method
from .linalg import _extra as lx
from .ops._core import fail, structural


def _install(functions: dict[str, Callable], inplace_names: tuple | list = ()) -> None:
    for name, fn in functions.items():
        setattr(Tensor, name, fn)
    for name in inplace_names:
        setattr(Tensor, name + "_", inplace_method(name + "_", functions.get(name) or getattr(Tensor, name)))


def _mH(self: Tensor) -> Any:
    return fx.adjoint(self)


def _H(self: Tensor) -> Any:
    if self._data.ndim not in (0, 2):
        raise fail(
            f"tensor.H is only supported on matrices (2-D tensors). Got {self._data.ndim}-D tensor.",
            RuntimeError,
        )
    return fx.adjoint(self) if self._data.ndim == 2 else self


def _lu(self: Tensor, pivot: bool = True, get_infos: bool = False) -> Any:
    from .linalg import lu_factor_ex

    LU, pivots, info = lu_factor_ex(self, pivot=pivot)
    return (LU, pivots, info) if get_infos else (LU, pivots)


_install(
    {
        # elementwise and predicates
        "arccos": ops.acos,
        "arcsin": ops.asin,
        "arctan": ops.atan,
        "positive": fx.positive,
        "fix": fx.fix,
        "deg2rad": fx.deg2rad,
        "rad2deg": fx.rad2deg,
        "isposinf": fx.isposinf,
        "isneginf": fx.isneginf,
        "isreal": fx.isreal,
        "signbit": fx.signbit,
        "heaviside": fx.heaviside,
        "fmax": fx.fmax,
        "fmin": fx.fmin,
        "float_power": fx.float_power,
        "ldexp": fx.ldexp,
        "frexp": fx.frexp,
        "gcd": fx.gcd,
        "lcm": fx.lcm,
        "nextafter": fx.nextafter,
        "igamma": fx.igamma,
        "igammac": fx.igammac,
        "hardshrink": fx.hardshrink,
        "clamp_min": fx.clamp_min,
        "clamp_max": fx.clamp_max,
        "bitwise_and": ops.bitwise_and,
        "bitwise_or": ops.bitwise_or,
        "bitwise_xor": ops.bitwise_xor,
        "bitwise_left_shift": fx.bitwise_left_shift,
        "bitwise_right_shift": fx.bitwise_right_shift,
        "prelu": fnn.prelu,
        # statistics, matrices
        "nanmean": fx.nanmean,
        "aminmax": fx.aminmax,
        "adjoint": fx.adjoint,
        "cov": fx.cov,
        "corrcoef": fx.corrcoef,
        "dist": fx.dist,
        "addr": fx.addr,
        "renorm": fx.renorm,
        "ger": ops.outer,
        "vdot": ops.vdot,
        "geqrf": lx.geqrf,
        "orgqr": lx.orgqr,
        "ormqr": lx.ormqr,
        "lu": _lu,
        "lu_solve": lx.lu_solve_,
        "triangular_solve": lx.triangular_solve,
        "stft": _stft.stft,
        "istft": _stft.istft,
        # shapes and indexing
        "moveaxis": fs.moveaxis,
        "ravel": fs.ravel,
        "tensor_split": fs.tensor_split,
        "hsplit": fs.hsplit,
        "vsplit": fs.vsplit,
        "dsplit": fs.dsplit,
        "split_with_sizes": fs.split_with_sizes,
        "unsafe_split": fs.unsafe_split,
        "unsafe_chunk": fs.unsafe_chunk,
        "unsafe_split_with_sizes": fs.unsafe_split_with_sizes,
        "slice_scatter": fs.slice_scatter,
        "select_scatter": fs.select_scatter,
        "diagonal_scatter": fs.diagonal_scatter,
        "as_strided_scatter": fs.as_strided_scatter,
        "put": fs.put,
        "index_reduce": fs.index_reduce,
        "nonzero_static": fs.nonzero_static,
        "is_nonzero": lambda self: _settings().is_nonzero(self),
        "is_same_size": lambda self, other: _settings().is_same_size(self, other),
        "is_signed": lambda self: _settings().is_signed(self),
        "narrow_copy": fs.narrow_copy,  # type: ignore[attr-defined]
        "bernoulli": lambda self, p=None, *, generator=None: _creation.bernoulli(
            self, p, generator=generator
        ),
        "multinomial": _creation.multinomial,
    },
    [
        "fix",
        "deg2rad",
        "rad2deg",
        "heaviside",
        "ldexp",
        "gcd",
        "lcm",
        "nextafter",
        "igamma",
        "igammac",
        "clamp_min",
        "clamp_max",
        "bitwise_and",
        "bitwise_or",
        "bitwise_xor",
        "bitwise_left_shift",
        "bitwise_right_shift",
        "addr",
        "renorm",
        "put",
        "index_reduce",
        "arccos",
        "arcsin",
        "arctan",
    ],
)
_install(
    {},
    [
        "acos",
        "asin",
        "atan",
        "cosh",
        "sinh",
        "tan",
        "log2",
        "log10",
        "absolute",
        "negative",
        "true_divide",
        "sgn",
        "bitwise_not",
        "logical_not",
        "logical_and",
        "logical_or",
        "logical_xor",
        "eq",
        "ne",
        "lt",
        "le",
        "gt",
        "ge",
        "greater",
        "greater_equal",
        "less",
        "less_equal",
        "not_equal",
        "cumsum",
        "conj_physical",
    ],
)
Tensor.mH = property(_mH)  # type: ignore[attr-defined]
Tensor.H = property(_H)  # type: ignore[attr-defined]
Tensor.__lshift__ = fx.bitwise_left_shift  # type: ignore[attr-defined]
Tensor.__rshift__ = fx.bitwise_right_shift  # type: ignore[attr-defined]
Tensor.__rlshift__ = lambda self, other: fx.bitwise_left_shift(other, self)  # type: ignore[attr-defined]
Tensor.__rrshift__ = lambda self, other: fx.bitwise_right_shift(other, self)  # type: ignore[attr-defined]
Tensor.__ilshift__ = Tensor.bitwise_left_shift_  # type: ignore[attr-defined]
Tensor.__irshift__ = Tensor.bitwise_right_shift_  # type: ignore[attr-defined]


def _settings() -> Any:
    from . import _settings as s

    return s


def _float_power_(self: Tensor, exponent: Any) -> Tensor:
    if self._data.dtype not in (np.float64, np.complex128):
        raise fail(
            f"float_power_(): the base given to float_power_ has dtype {self.dtype} but the "
            "operation's result requires dtype Double; convert it first, e.g. x = x.double()",
            RuntimeError,
        )
    return inplace(self, "float_power_", lambda t, *a: fx.float_power(t, *a), exponent)


Tensor.float_power_ = _float_power_  # type: ignore[attr-defined]


# -------------------------------------------------------------- in-place fills
def _fill_diagonal_(self: Tensor, fill_value: Any, wrap: bool = False) -> Tensor:
    """Write ``fill_value`` on the main diagonal (of all dims at once for more than 2; with
    ``wrap``, tall matrices restart the diagonal every n + 1 rows)."""
    s = self._data.shape
    if self._data.ndim < 2 or (self._data.ndim > 2 and len(set(s)) != 1):
        raise fail(
            f"fill_diagonal_(): dimensions must larger than 1 and all of equal length for more "
            f"than 2 dims, got shape {tuple(s)}",
            RuntimeError,
        )
    mask = np.zeros(s, dtype=bool)
    np.fill_diagonal(mask, True, wrap=wrap)
    m = structural(mask)
    return inplace(self, "fill_diagonal_", lambda t: ops.where(m, fill_value, t))


def _random_fill(name: str, draw: Callable) -> Callable:
    def method(self: Tensor, *args: Any, generator: Any = None, **kwargs: Any) -> Tensor:
        _check_leaf(self, name)
        self._data[...] = draw(_random.rng(generator), self._data.shape, *args, **kwargs)
        self._vc[0] += 1
        return self

    method.__name__ = name
    return method


def _geometric(r: Any, s: tuple, p: float) -> np.ndarray:
    if not 0 < p <= 1:
        raise fail(f"geometric_(): geometric_ expects p to be in (0, 1], but got p={p}", RuntimeError)
    return r.geometric(p, s)


Tensor.fill_diagonal_ = _fill_diagonal_  # type: ignore[attr-defined]
Tensor.cauchy_ = _random_fill(  # type: ignore[attr-defined]
    "cauchy_", lambda r, s, median=0.0, sigma=1.0: median + sigma * np.tan(math.pi * (r.random(s) - 0.5))
)
Tensor.geometric_ = _random_fill("geometric_", _geometric)  # type: ignore[attr-defined]
Tensor.log_normal_ = _random_fill(  # type: ignore[attr-defined]
    "log_normal_", lambda r, s, mean=1.0, std=2.0: r.lognormal(mean, std, s)
)


def _map_each(self: Tensor, others: tuple, callable: Callable) -> Tensor:  # noqa: A002
    """``self[i] = callable(self[i], *(o[i] for o in others))`` for every element (``others``
    broadcast to self's shape)."""
    flats = [np.broadcast_to(o._data, self._data.shape).reshape(-1) for o in others]
    flat = self._data.reshape(-1)
    for i in range(flat.size):
        flat[i] = callable(flat[i].item(), *(f[i].item() for f in flats))
    self._vc[0] += 1
    return self


def _map_(self: Tensor, tensor: Tensor, callable: Callable) -> Tensor:  # noqa: A002
    """``self[i] = callable(self[i], tensor[i])`` for every element (``tensor`` broadcast)."""
    return _map_each(self, (tensor,), callable)


def _map2_(self: Tensor, x: Tensor, y: Tensor, callable: Callable) -> Tensor:  # noqa: A002
    """``self[i] = callable(self[i], x[i], y[i])`` for every element (``x``, ``y`` broadcast)."""
    return _map_each(self, (x, y), callable)


Tensor.map_ = _map_  # type: ignore[attr-defined]
Tensor.map2_ = _map2_  # type: ignore[attr-defined]


# ---------------------------------------------------------------------- resizing
def _resize_(self: Tensor, *sizes: Any, memory_format: Any = None) -> Tensor:
    """Give the tensor a new shape in place, keeping its first elements in memory order (the new
    ones, if it grows, are uninitialised)."""
    from .ops._dims import sizes_arg

    shape = sizes_arg(sizes, "resize_")
    if self._rg:
        raise fail("resize_(): cannot resize variables that require grad", RuntimeError)
    if self._base is not None and tuple(shape) != self._data.shape:
        raise fail(
            f"resize_(): cannot resize a view (shape {tuple(self._data.shape)}); resize the tensor it "
            "views, or a .clone()",
            RuntimeError,
        )
    n = math.prod(shape)
    flat = self._data.reshape(-1)
    if n <= flat.size:
        self._data = flat[:n].reshape(shape)
    else:
        new = np.empty(n, dtype=self._data.dtype)
        new[: flat.size] = flat
        self._data = new.reshape(shape)
    self._vc[0] += 1
    return self


def _resize(self: Tensor, *sizes: Any) -> Any:
    from .ops._dims import sizes_arg

    warnings.warn("non-inplace resize is deprecated", UserWarning, stacklevel=2)
    shape = sizes_arg(sizes, "resize")
    if math.prod(shape) != self._data.size:
        raise fail(
            f"resize(): requested resize to {'x'.join(map(str, shape))} ({math.prod(shape)} elements in "
            f"total), but the given tensor has a size of {'x'.join(map(str, self._data.shape))} "
            f"({self._data.size} elements). autograd's resize can only change the shape of a given "
            "tensor, while preserving the number of elements.",
            RuntimeError,
        )
    return ops.reshape(ops.contiguous(self), shape)


Tensor.resize_ = _resize_  # type: ignore[attr-defined]
Tensor.resize_as_ = lambda self, tensor, memory_format=None: _resize_(self, tuple(tensor._data.shape))  # type: ignore[attr-defined]
Tensor.resize = _resize  # type: ignore[attr-defined]
Tensor.resize_as = lambda self, tensor: _resize(self, tuple(tensor._data.shape))  # type: ignore[attr-defined]


# ------------------------------------------------------------------------ queries
def _stride(self: Tensor, dim: int | None = None) -> Any:
    """Elements to step in memory per index of each dim."""
    st = tuple(s // self._data.itemsize for s in self._data.strides)
    if dim is None:
        return st
    from .ops._dims import norm_dim

    return st[norm_dim(dim, self._data.ndim, "stride")]


def _storage_offset(self: Tensor) -> int:
    """Elements between the start of the base tensor's memory and this view's first element."""
    if self._base is None:
        return 0
    start = self._base._data.__array_interface__["data"][0]
    return (self._data.__array_interface__["data"][0] - start) // self._data.itemsize


def _dim_order(self: Tensor, *, ambiguity_check: Any = False) -> tuple:
    """The dims from outermost to innermost in memory.  Built innermost first: a dim moves inward
    past another when its stride is smaller (or equal with a smaller size); a stride of 0 (an
    expanded dim) orders nothing, so such a dim keeps its logical place."""
    st, shape = _stride(self), self._data.shape

    def inner(a: int, b: int) -> int:  # 1: a lies inside b, -1: outside, 0: undecided
        if st[a] == 0 or st[b] == 0:
            return 0
        if st[a] != st[b]:
            return 1 if st[a] < st[b] else -1
        return 1 if shape[a] < shape[b] else 0

    order = list(range(self._data.ndim - 1, -1, -1))  # innermost first
    for i in range(1, len(order)):
        j = i
        for k in range(i - 1, -1, -1):
            c = inner(order[j], order[k])
            if c > 0:
                order[k], order[j] = order[j], order[k]
                j = k
            elif c < 0:
                break
    return tuple(reversed(order))


def _new(
    self: Tensor, *args: Any, dtype: Any = None, device: Any = None, requires_grad: bool = False
) -> Tensor:
    """The legacy constructor: ``x.new(2, 3)`` is uninitialised of that shape, ``x.new(data)`` a copy
    of ``data``, both with x's dtype."""
    npd = self._data.dtype if dtype is None else _creation._dtype(dtype)
    if len(args) == 1 and not isinstance(args[0], int):
        return _creation.tensor(args[0], dtype=npd, requires_grad=requires_grad)
    shape = tuple(int(a) for a in args) if args else (0,)
    return wrap(np.empty(shape, dtype=npd)).requires_grad_(requires_grad)


def _new_empty_strided(
    self: Tensor,
    size: Any,
    stride: Any,
    *,
    dtype: Any = None,
    device: Any = None,
    requires_grad: bool = False,
    **kwargs: Any,
) -> Tensor:
    """An uninitialised tensor of ``size`` laid out with ``stride`` (elements), x's dtype by default."""
    shape, steps = tuple(int(n) for n in size), tuple(int(s) for s in stride)
    if len(shape) != len(steps) or any(s < 0 for s in steps):
        raise fail(
            f"new_empty_strided(): mismatch in length of strides and shape, or a negative stride: size "
            f"{shape}, stride {steps}",
            RuntimeError,
        )
    npd = self._data.dtype if dtype is None else _creation._dtype(dtype)
    need = 1 + sum((n - 1) * s for n, s in zip(shape, steps)) if all(shape) else 0
    buf = np.empty(max(need, 0), dtype=npd)
    data = np.lib.stride_tricks.as_strided(buf, shape, tuple(s * buf.itemsize for s in steps))
    return wrap(data).requires_grad_(requires_grad)


def _sum_to_size(self: Tensor, *size: Any) -> Any:
    """Sum over the dims that ``size`` broadcasts from, down to ``size``."""
    from .ops._dims import sizes_arg

    shape = sizes_arg(size, "sum_to_size")
    try:
        ok = np.broadcast_shapes(shape, self._data.shape) == self._data.shape
    except ValueError:
        ok = False
    if not ok:
        raise fail(
            f"sum_to_size(): size {list(shape)} is not expandable to size {list(self._data.shape)}",
            RuntimeError,
        )
    return ops.sum_to(self, tuple(shape))


def _module_load(self: Tensor, other: Tensor, assign: bool = False) -> Tensor:
    """How ``load_state_dict`` turns ``other`` into a replacement for ``self``."""
    if assign:
        return other.detach()
    from .autograd.grad_mode import no_grad

    with no_grad():
        return self.copy_(other).detach()


Tensor.stride = _stride  # type: ignore[attr-defined]
Tensor.storage_offset = _storage_offset  # type: ignore[attr-defined]
Tensor.dim_order = _dim_order  # type: ignore[attr-defined]
Tensor.ndimension = lambda self: self._data.ndim  # type: ignore[attr-defined]
Tensor.const_data_ptr = Tensor.data_ptr  # type: ignore[attr-defined]
Tensor.get_device = lambda self: -1  # type: ignore[attr-defined]
Tensor.is_cpu = property(lambda self: True)  # type: ignore[attr-defined]
Tensor.layout = property(lambda self: _creation.strided)  # type: ignore[attr-defined]
Tensor.to_dense = lambda self, dtype=None, *, masked_grad=None: self if dtype is None else self.to(dtype)  # type: ignore[attr-defined]
Tensor.new = _new  # type: ignore[attr-defined]
Tensor.new_empty_strided = _new_empty_strided  # type: ignore[attr-defined]
Tensor.sum_to_size = _sum_to_size  # type: ignore[attr-defined]
Tensor.module_load = _module_load  # type: ignore[attr-defined]


# ------------------------------------ in-place view ops: the tensor itself becomes the view
def _inplace_view_of(name: str, fn: Callable) -> Callable:
    def method(self: Tensor, *args: Any, **kwargs: Any) -> Tensor:
        return inplace_view(self, name, lambda t, *a: fn(t, *a, **kwargs), *args)

    method.__name__ = name
    method.__doc__ = f"``x.{name[:-1]}(...)`` in place: same storage, new shape and strides; returns x."
    return method


for _name in ("squeeze", "unsqueeze", "t", "transpose", "swapaxes", "swapdims", "as_strided"):
    setattr(Tensor, _name + "_", _inplace_view_of(_name + "_", getattr(Tensor, _name)))


# ------------------------------------------- torch.<name>_(x, ...): the in-place forms
_TOP_INPLACE = (
    "abs acos acosh addmv arccos arccosh arcsin arcsinh arctan arctanh asin asinh atan atanh ceil clamp "
    "clamp_max clamp_min clip conj_physical cos cosh deg2rad erf erfc exp2 exp expm1 fix floor frac gcd "
    "i0 lcm ldexp log10 log1p log2 log logit nan_to_num neg negative rad2deg reciprocal round rsqrt "
    "sigmoid sin sinc sinh sqrt square tan tanh trunc xlogy zero fill detach resize_as as_strided"
).split()


def _top_inplace(name: str) -> Callable:
    def fn(input: Tensor, *args: Any, **kwargs: Any) -> Tensor:  # noqa: A002
        return getattr(input, name)(*args, **kwargs)

    fn.__name__ = name
    fn.__doc__ = f"``input.{name}(...)``: in place."
    return fn


__all__ = [n + "_" for n in _TOP_INPLACE]
globals().update({n: _top_inplace(n) for n in __all__})
