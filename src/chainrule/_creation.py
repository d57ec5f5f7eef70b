"""Creation functions: ``tensor``, ``zeros``, ``arange``, ``randn``, ... with PyTorch's dtype defaults.

Python floats become the default float dtype (float32), Python ints int64,
bools bool; a NumPy array keeps its dtype.  Sizes are varargs or one sequence.
Every function accepts ``dtype=``, ``requires_grad=`` and ``device=`` ('cpu').
"""

from __future__ import annotations

from typing import Any

import numpy as np

from . import _kernel_dtypes as _kd
from . import dtypes as _dt
from . import random as _random
from ._tensor import Tensor, as_array, wrap
from .backend import device as _device
from .ops._core import fail
from .ops._dims import sizes_arg

__all__ = [
    "tensor", "as_tensor", "asarray", "from_numpy", "zeros", "ones", "full", "empty", "eye",
    "arange", "linspace", "logspace", "zeros_like", "ones_like", "full_like", "empty_like",
    "rand", "randn", "randint", "normal", "rand_like", "randn_like", "randint_like", "randperm",
    "bernoulli", "multinomial", "scalar_tensor", "is_tensor", "is_floating_point", "numel",
    "FloatTensor", "DoubleTensor", "LongTensor", "IntTensor", "BoolTensor", "ByteTensor",
    "tril", "triu", "diag", "trace", "memory_format", "contiguous_format", "channels_last",
    "channels_last_3d", "preserve_format", "layout", "strided", "sparse_coo", "empty_strided",
]


def _finish(data: np.ndarray, requires_grad: bool, device: Any, *, out: Any = None, layout: Any = None,
            name: str = "") -> Tensor:
    """Wrap a new array; check ``device``/``layout`` and write into ``out=`` as PyTorch's factories do.

    ``pin_memory`` is accepted by every factory and ignored: there is no device memory to pin.
    """
    if device is not None:
        _device(device)
    if layout is not None and layout is not strided:
        raise fail(f"{name}(): layout {layout!r} is not supported; chainrule tensors are dense "
                   "(layout=chainrule.strided)", RuntimeError)
    t = wrap(data)
    if out is not None:
        if not isinstance(out, Tensor) or tuple(out.shape) != data.shape:
            got = tuple(out.shape) if isinstance(out, Tensor) else type(out).__name__
            raise fail(f"{name}(): out= must be a tensor of shape {data.shape}, got {got}", RuntimeError)
        out.copy_(t)
        return out
    if requires_grad:
        t.requires_grad_(True)
    return t


def _infer_dtype(arr: np.ndarray) -> np.dtype:
    """PyTorch's inference for Python data: float -> default float, int -> int64, bool -> bool."""
    k = arr.dtype.kind
    if k == "f":
        return _dt.get_default_dtype().np
    if k in "iu":
        return np.dtype(np.int64)
    if k == "b":
        return np.dtype(np.bool_)
    if k == "c":  # Python complex -> the default float's complex counterpart (complex64)
        return _dt.complex_of(_dt.get_default_dtype().np)
    raise fail(f"tensor(): could not infer a dtype from data of NumPy dtype {arr.dtype}", TypeError)


def tensor(data: Any, *, dtype: Any = None, device: Any = None, requires_grad: bool = False,
           pin_memory: bool = False) -> Tensor:
    """A new tensor (always a copy) from a number, a nested list, an ndarray or a tensor."""
    if isinstance(data, Tensor):
        arr = np.array(data._data, copy=True)
    elif isinstance(data, (np.ndarray, np.generic)):  # NumPy data keeps its dtype
        arr = np.array(data, copy=True)
    else:
        try:
            arr = np.array(as_array(data))
        except ValueError as exc:
            raise fail(f"tensor(): could not build a tensor from the data: {exc}", ValueError) from None
        arr = _python_ints(data, arr, None if dtype is None else _dt.to_numpy(dtype))
        if dtype is None:
            arr = arr.astype(_infer_dtype(arr), copy=False)
    if _dt.kind(arr.dtype) not in "fiubc":
        raise fail(f"tensor(): unsupported data of dtype {arr.dtype}", TypeError)
    if dtype is not None:
        arr = _dt.astype(arr, _dt.to_numpy(dtype))
    elif not _dt.known(arr.dtype):
        arr = arr.astype(_infer_dtype(arr), copy=False)
    return _finish(arr, requires_grad, device)


def _span(arr: np.ndarray) -> tuple:
    """(min, max) of a non-empty array; in Python for a few elements (two NumPy reductions cost
    more than the whole tensor() of a short list)."""
    if arr.size <= 64:
        flat = arr.ravel().tolist()
        return min(flat), max(flat)
    return arr.min(), arr.max()


def _python_ints(data: Any, arr: np.ndarray, target: np.dtype | None) -> np.ndarray:
    """Python ints read exactly, and refused where they do not fit the dtype, as PyTorch does:
    NumPy reads ints beyond int64 as float64 (rounded) and a cast wraps out-of-range values."""
    if (target is not None and target.kind not in "iu") or type(data) is float or not arr.size:
        return arr  # (the cheap cases first: tensor(0.5) is called in loops)
    big = 2.0**63 if target is None else 2.0**53
    if arr.dtype.kind == "f" and max(map(abs, _span(arr))) >= big:  # maybe rounded big ints
        values = np.array(as_array(data), dtype=object)
        if all(isinstance(v, int) for v in values.flat):
            arr = values
    if arr.dtype.kind not in "iuO" or (arr.dtype == np.int64 and target in (None, np.int64)):
        return arr
    lo, hi = map(int, _span(arr))
    if target is None or target == np.int64:
        if lo < -(2**63) or hi >= 2**63:
            raise fail("tensor(): a Python int does not fit int64 (Overflow when unpacking long long); "
                       "pass dtype=torch.uint64 for values up to 2**64 - 1", ValueError)
        return arr.astype(np.int64) if arr.dtype.kind == "O" else arr
    info = np.iinfo(target)
    if target == np.uint64:
        if lo < 0 or hi > info.max:
            raise fail("tensor(): " + ("can't convert negative int to unsigned" if lo < 0 else
                                      "int too big to convert") + " (uint64)", OverflowError)
        return arr.astype(np.uint64)
    # PyTorch's range: a signed type's own; an unsigned one's also takes -max..-1 (two's complement)
    if hi > info.max or lo < (info.min if target.kind == "i" else -int(info.max)):
        raise fail(f"tensor(): value cannot be converted to type {target.name} without overflow "
                   f"(the data spans {lo}..{hi})", RuntimeError)
    return arr.astype(np.int64) if arr.dtype.kind == "O" else arr


def as_tensor(data: Any, dtype: Any = None, device: Any = None) -> Tensor:
    """Like ``tensor`` but shares memory with a tensor or ndarray of the right dtype."""
    if isinstance(data, Tensor):
        return data if dtype is None else data.to(dtype)
    if isinstance(data, np.ndarray) and (dtype is None or _dt.to_numpy(dtype) == data.dtype):
        if _dt.known(data.dtype):
            return wrap(data)
    return tensor(data, dtype=dtype, device=device)


asarray = as_tensor


def from_numpy(arr: np.ndarray) -> Tensor:
    """A tensor sharing memory with ``arr`` (writes through either are seen by both)."""
    if not isinstance(arr, np.ndarray):
        raise fail(f"from_numpy(): expected an np.ndarray, got {type(arr).__name__}", TypeError)
    _dt.from_numpy(arr.dtype)
    return wrap(arr)


def _dtype(dtype: Any, default: Any = None) -> np.dtype:
    if dtype is not None:
        return _dt.to_numpy(dtype)
    return default if default is not None else _dt.get_default_dtype().np


class memory_format:  # noqa: N801 - PyTorch's name
    """A memory layout name (chainrule's arrays are C-ordered; the names are accepted)."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return f"chainrule.{self.name}"


class layout:  # noqa: N801 - PyTorch's name
    """A tensor layout name; chainrule tensors are dense, so only ``strided`` is accepted."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return f"chainrule.{self.name}"


strided = layout("strided")
sparse_coo = layout("sparse_coo")
contiguous_format = memory_format("contiguous_format")
channels_last = memory_format("channels_last")
channels_last_3d = memory_format("channels_last_3d")
preserve_format = memory_format("preserve_format")


def _filled(fill: Any):
    def make(*size: Any, dtype: Any = None, device: Any = None, requires_grad: bool = False,
             out: Any = None, layout: Any = None, pin_memory: bool = False,
             memory_format: Any = None) -> Tensor:
        if memory_format is not None and fill is not None:
            raise TypeError(f"{make.__name__}() got an unexpected keyword argument 'memory_format'")
        shape = sizes_arg(size, make.__name__)
        npd = _dtype(dtype)
        data = np.empty(shape, npd) if fill is None else np.full(shape, fill, npd)
        return _finish(data, requires_grad, device, out=out, layout=layout, name=make.__name__)

    return make


zeros = _filled(0)
zeros.__name__ = "zeros"
ones = _filled(1)
ones.__name__ = "ones"
empty = _filled(None)
empty.__name__ = "empty"


def _size_kw(size: tuple, kwargs: dict) -> tuple:
    if "size" in kwargs:
        return (kwargs.pop("size"),)
    return size


def empty_strided(size: Any, stride: Any, *, dtype: Any = None, layout: Any = None, device: Any = None,
                  requires_grad: bool = False, pin_memory: bool = False) -> Tensor:
    """An uninitialised tensor of ``size``; the strides are accepted (arrays are C-ordered)."""
    shape = sizes_arg((tuple(size),), "empty_strided")
    if len(tuple(stride)) != len(shape):
        raise fail(f"empty_strided(): dimensionality of sizes ({len(shape)}) must match dimensionality of "
                   f"strides ({len(tuple(stride))})", RuntimeError)
    return _finish(np.empty(shape, _dtype(dtype)), requires_grad, device, layout=layout, name="empty_strided")


def full(size: Any, fill_value: Any, *, out: Any = None, dtype: Any = None, layout: Any = None,
         device: Any = None, pin_memory: bool = False, requires_grad: bool = False) -> Tensor:
    """A tensor of ``size`` filled with ``fill_value`` (dtype inferred from it, as in PyTorch)."""
    if dtype is None:
        dtype = _infer_dtype(np.asarray(fill_value.item() if isinstance(fill_value, Tensor) else fill_value))
    shape = sizes_arg((size,) if not isinstance(size, (list, tuple)) else (tuple(size),), "full")
    npd = _dt.to_numpy(dtype)
    return _finish(np.full(shape, _dt.astype(np.asarray(as_array(fill_value)), npd), npd), requires_grad,
                   device, out=out, layout=layout, name="full")


def eye(n: int, m: int | None = None, *, out: Any = None, dtype: Any = None, layout: Any = None,
        device: Any = None, pin_memory: bool = False, requires_grad: bool = False) -> Tensor:
    data = np.eye(n, m, dtype=_dtype(dtype))
    return _finish(data, requires_grad, device, out=out, layout=layout, name="eye")


def arange(start: Any, end: Any = None, step: Any = 1, *, out: Any = None, dtype: Any = None,
           layout: Any = None, device: Any = None, pin_memory: bool = False,
           requires_grad: bool = False) -> Tensor:
    """Values from ``start`` to ``end`` (exclusive) by ``step``; int64 unless a bound is a float."""
    if end is None:
        start, end = 0, start
    vals = [as_array(v) for v in (start, end, step)]
    vals = [v.item() if isinstance(v, np.ndarray) else v for v in vals]
    if vals[2] == 0:
        raise fail("arange(): step must be nonzero", RuntimeError)
    is_float = any(isinstance(v, float) for v in vals)
    npd = _dtype(dtype, _dt.get_default_dtype().np if is_float else np.dtype(np.int64))
    if is_float:
        n = max(int(np.ceil((vals[1] - vals[0]) / vals[2])), 0)
        data = _dt.astype(vals[0] + np.arange(n, dtype=np.float64) * vals[2], npd)
    else:
        data = _dt.astype(np.arange(vals[0], vals[1], vals[2]), npd)
    return _finish(data, requires_grad, device, out=out, layout=layout, name="arange")


def linspace(start: Any, end: Any, steps: int, *, out: Any = None, dtype: Any = None, layout: Any = None,
             device: Any = None, pin_memory: bool = False, requires_grad: bool = False) -> Tensor:
    data = _dt.astype(np.linspace(float(start), float(end), int(steps)), _dtype(dtype))
    return _finish(data, requires_grad, device, out=out, layout=layout, name="linspace")


def logspace(start: Any, end: Any, steps: int, base: float = 10.0, *, out: Any = None, dtype: Any = None,
             layout: Any = None, device: Any = None, pin_memory: bool = False,
             requires_grad: bool = False) -> Tensor:
    data = _dt.astype(np.logspace(float(start), float(end), int(steps), base=base), _dtype(dtype))
    return _finish(data, requires_grad, device, out=out, layout=layout, name="logspace")


def _like(fill: Any):
    def make(input: Any, *, dtype: Any = None, layout: Any = None, device: Any = None,  # noqa: A002
             pin_memory: bool = False, requires_grad: bool = False, memory_format: Any = None) -> Tensor:
        src = input._data if isinstance(input, Tensor) else np.asarray(input)
        npd = _dt.to_numpy(dtype) if dtype is not None else src.dtype
        data = np.empty(src.shape, npd) if fill is None else np.full(src.shape, fill, npd)
        return _finish(data, requires_grad, device, layout=layout, name="zeros_like")

    return make


zeros_like = _like(0)
ones_like = _like(1)
empty_like = _like(None)


def full_like(input: Any, fill_value: Any, *, dtype: Any = None, layout: Any = None,  # noqa: A002
              device: Any = None, pin_memory: bool = False, requires_grad: bool = False,
              memory_format: Any = None) -> Tensor:
    src = input._data if isinstance(input, Tensor) else np.asarray(input)
    npd = _dt.to_numpy(dtype) if dtype is not None else src.dtype
    return _finish(np.full(src.shape, as_array(fill_value), npd), requires_grad, device, layout=layout,
                   name="full_like")


# ------------------------------------------------------------------- random
def _random_float(draw: Any, name: str):
    def make(*size: Any, generator: Any = None, out: Any = None, dtype: Any = None, layout: Any = None,
             device: Any = None, pin_memory: bool = False, requires_grad: bool = False,
             **kwargs: Any) -> Tensor:
        size = _size_kw(size, kwargs)
        if kwargs:
            raise fail(f"{name}() got an unexpected keyword argument {next(iter(kwargs))!r}", TypeError)
        shape = sizes_arg(size, name)
        npd = _dtype(dtype)
        if _dt.kind(npd) not in "fc":
            raise fail(f"{name}(): dtype must be floating point or complex, got {npd}", TypeError)
        rng = _random.rng(generator)
        if npd.kind == "c":  # real and imaginary parts drawn apart; randn's have variance 1/2 each
            part = np.float64 if npd == np.complex128 else np.float32
            scale = np.sqrt(0.5) if name == "randn" else 1.0
            re, im = draw(rng, shape + (2,), part).T * scale
            data = re.T + 1j * im.T
        else:
            data = draw(rng, shape, npd if npd in (np.float32, np.float64) else np.float64)
        return _finish(_dt.astype(data, npd), requires_grad, device, out=out, layout=layout, name=name)

    make.__name__ = name
    return make


rand = _random_float(lambda r, s, d: r.random(s, dtype=d), "rand")
randn = _random_float(lambda r, s, d: r.standard_normal(s, dtype=d), "randn")


def randint(low: int, high: Any = None, size: Any = None, *, generator: Any = None, out: Any = None,
            dtype: Any = None, layout: Any = None, device: Any = None, pin_memory: bool = False,
            requires_grad: bool = False) -> Tensor:
    """Integers in [low, high) of the given size (``randint(high, size)`` also works)."""
    if size is None:
        if isinstance(high, (tuple, list)):
            low, high, size = 0, low, high
        else:
            raise fail("randint(): size is required, e.g. randint(10, (3,)) or randint(0, 10, size=(3,))",
                       TypeError)
    elif high is None:  # randint(high, size=...)
        low, high = 0, low
    shape = sizes_arg((size,) if isinstance(size, (tuple, list)) else (size,), "randint")
    if int(low) >= int(high):
        raise fail(f"randint(): random_ expects 'from' to be less than 'to', but got from={int(low)} >= "
                   f"to={int(high)}", RuntimeError)
    data = _random.rng(generator).integers(int(low), int(high), shape)
    return _finish(data.astype(_dtype(dtype, np.dtype(np.int64))), requires_grad, device, out=out,
                   layout=layout, name="randint")


def normal(mean: Any = 0.0, std: Any = 1.0, size: Any = None, *, generator: Any = None,
           dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
    """Samples of N(mean, std²); mean/std may be tensors (broadcast) or numbers with ``size``."""
    m, s = as_array(mean), as_array(std)
    if isinstance(m, np.ndarray) or isinstance(s, np.ndarray):
        shape = np.broadcast_shapes(np.shape(m), np.shape(s))
        ref = m if isinstance(m, np.ndarray) else s
        npd = _dtype(dtype, ref.dtype if _dt.kind(ref.dtype) == "f" else None)
    else:
        if size is None:
            raise fail("normal(): size is required when mean and std are numbers", TypeError)
        shape = sizes_arg((size,) if isinstance(size, (tuple, list)) else (size,), "normal")
        npd = _dtype(dtype)
    data = _random.rng(generator).normal(m, s, shape)
    return _finish(np.asarray(data).astype(npd), requires_grad, device)


def rand_like(input: Any, *, dtype: Any = None, memory_format: Any = None, **kw: Any) -> Tensor:  # noqa: A002
    return rand(tuple(input.shape), dtype=dtype or input._data.dtype, **kw)


def randn_like(input: Any, *, dtype: Any = None, memory_format: Any = None, **kw: Any) -> Tensor:  # noqa: A002
    return randn(tuple(input.shape), dtype=dtype or input._data.dtype, **kw)


def randint_like(input: Any, low: int, high: Any = None, *, dtype: Any = None,  # noqa: A002
                 memory_format: Any = None, **kw: Any) -> Tensor:
    if high is None:
        low, high = 0, low
    return randint(low, high, tuple(input.shape), dtype=dtype or input._data.dtype, **kw)


def randperm(n: int, *, generator: Any = None, out: Any = None, dtype: Any = None, layout: Any = None,
             device: Any = None, pin_memory: bool = False, requires_grad: bool = False) -> Tensor:
    data = _random.rng(generator).permutation(int(n))
    return _finish(data.astype(_dtype(dtype, np.dtype(np.int64))), requires_grad, device, out=out,
                   layout=layout, name="randperm")


def bernoulli(input: Any, p: Any = None, *, generator: Any = None) -> Tensor:  # noqa: A002
    probs = input._data if isinstance(input, Tensor) else np.asarray(input)
    if p is not None:
        probs = np.full(probs.shape, p)
    draws = _random.rng(generator).random(probs.shape) < probs
    return wrap(draws.astype(probs.dtype if _dt.kind(probs.dtype) == "f" else _dt.get_default_dtype().np))


def multinomial(input: Any, num_samples: int, replacement: bool = False, *,  # noqa: A002
                generator: Any = None) -> Tensor:
    """Draw category indices from (unnormalised) rows of probabilities."""
    probs = np.asarray(input._data if isinstance(input, Tensor) else input, dtype=np.float64)
    if (probs < 0).any() or not np.isfinite(probs).all():
        raise fail("multinomial(): probabilities must be finite and non-negative", RuntimeError)
    rows = probs.reshape(-1, probs.shape[-1])
    rng = _random.rng(generator)
    out = np.empty((rows.shape[0], num_samples), dtype=np.int64)
    for i, row in enumerate(rows):
        total = row.sum()
        if total <= 0:
            raise fail("multinomial(): each row needs a positive sum", RuntimeError)
        if not replacement and num_samples > np.count_nonzero(row):
            raise fail("multinomial(): cannot draw more samples than categories without replacement")
        out[i] = rng.choice(row.size, size=num_samples, replace=replacement, p=row / total)
    return wrap(out.reshape(probs.shape[:-1] + (num_samples,)))


def scalar_tensor(value: Any, *, dtype: Any = None, **kw: Any) -> Tensor:
    return tensor(float(value), dtype=dtype, **kw)


def is_tensor(obj: Any) -> bool:
    return isinstance(obj, Tensor)


def is_floating_point(t: Tensor) -> bool:
    return _dt.kind(t._data.dtype) == "f"


def numel(t: Tensor) -> int:
    return int(t._data.size)


# ------------------------------------------------ legacy typed constructors
class _TypedTensor(type):
    """``chainrule.FloatTensor([1, 2])``: a constructor whose result is a Tensor of one dtype."""

    def __instancecheck__(cls, obj: Any) -> bool:
        return isinstance(obj, Tensor) and obj._data.dtype == cls._dtype.np

    def __call__(cls, *args: Any) -> Tensor:  # type: ignore[override]
        return Tensor(*args, dtype=cls._dtype)


def _typed(name: str, d: Any) -> type:
    return _TypedTensor(name, (), {"_dtype": d})


FloatTensor = _typed("FloatTensor", _dt.float32)
DoubleTensor = _typed("DoubleTensor", _dt.float64)
LongTensor = _typed("LongTensor", _dt.int64)
IntTensor = _typed("IntTensor", _dt.int32)
BoolTensor = _typed("BoolTensor", _dt.bool)
ByteTensor = _typed("ByteTensor", _dt.uint8)


# ---------------------------------------------- triangular / diagonal parts
def tril(x: Any, diagonal: int = 0) -> Any:
    """Lower triangle of the last two dims (others zeroed); gradient passes through the kept part."""
    from .ops._core import structural

    _matrix_dims(x, "tril")
    n, m = x.shape[-2], x.shape[-1]
    return _keep(x, structural(wrap(np.tri(n, m, diagonal, dtype=bool))))


def triu(x: Any, diagonal: int = 0) -> Any:
    """Upper triangle of the last two dims (others zeroed); gradient passes through the kept part."""
    from .ops._core import structural

    _matrix_dims(x, "triu")
    n, m = x.shape[-2], x.shape[-1]
    return _keep(x, structural(wrap(~np.tri(n, m, diagonal - 1, dtype=bool))))


def _keep(x: Any, mask: Any) -> Any:
    """``x`` where ``mask``, else 0 in x's dtype: a select, so an inf or NaN outside the triangle
    gives 0 (x * mask would give NaN), as in PyTorch."""
    from .ops import where
    from .ops._core import structural

    return where(mask, x, structural(np.zeros((), x._data.dtype)))


def diag(x: Any, diagonal: int = 0) -> Any:
    """The diagonal of a matrix, or a matrix with a vector on its diagonal."""
    from .ops import getitem, index_put, mul

    if x.ndim == 1:
        n = x.shape[0] + abs(diagonal)
        base = mul(zeros(n, n, dtype=x._data.dtype), 0)
        i = np.arange(x.shape[0])
        return index_put(base, (i + max(-diagonal, 0), i + max(diagonal, 0)), x)
    if x.ndim != 2:
        raise fail(f"diag(): expects a 1-d or 2-d tensor, got {x.ndim} dimensions")
    n = min(x.shape[0] - max(-diagonal, 0), x.shape[1] - max(diagonal, 0))
    i = np.arange(max(n, 0))
    return getitem(x, (i + max(-diagonal, 0), i + max(diagonal, 0)))


def _matrix_dims(x: Any, op: str) -> None:
    if x.ndim < 2:
        raise fail(f"{op}(): input tensor must have at least 2 dimensions, got shape {tuple(x.shape)}")


def trace(x: Any) -> Any:
    from .ops import sum as _sum

    _kd.check("trace", x)
    if x.ndim != 2:
        raise fail(f"trace(): expected a matrix, got a tensor of shape {tuple(x.shape)} "
                   f"({x.ndim} dimensions)")

    return _sum(diag(x))
