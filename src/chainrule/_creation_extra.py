"""More factories at ``torch``'s names: the signal windows, ``frombuffer``/``from_file`` (tensors
over existing memory), ``empty_permuted``, the deprecated inclusive ``range``, the remaining
legacy typed-tensor constructors, and small aliases (``vmap``, ``cond``, ``GradScaler``, the
device error classes, ``default_generator``).
"""

from __future__ import annotations

import builtins
import math
import warnings
from typing import Any, Callable

import numpy as np

from . import dtypes as _dt
from ._creation import _dtype, _finish, _typed
from ._tensor import Tensor, wrap
from .amp import GradScaler  # noqa: F401  (torch.GradScaler is torch.amp.GradScaler)
from .func import vmap  # noqa: F401
from .ops._core import fail
from .ops._dims import sizes_arg
from .random import default_generator  # noqa: F401

__all__ = [
    "hann_window",
    "hamming_window",
    "blackman_window",
    "bartlett_window",
    "kaiser_window",
    "frombuffer",
    "from_file",
    "empty_permuted",
    "range",
    "CharTensor",
    "ShortTensor",
    "vmap",
    "cond",
    "GradScaler",
    "OutOfMemoryError",
    "AcceleratorError",
    "default_generator",
]

CharTensor = _typed("CharTensor", _dt.int8)
ShortTensor = _typed("ShortTensor", _dt.int16)


class OutOfMemoryError(RuntimeError):
    """Raised by PyTorch when a device allocation fails (chainrule has no device memory; NumPy
    raises ``MemoryError`` for host memory)."""


class AcceleratorError(RuntimeError):
    """Raised by PyTorch for errors reported by an accelerator (chainrule has none)."""


# -------------------------------------------------------------------------- windows
def _window(name: str, fn: Callable[[np.ndarray, int], np.ndarray]):
    def make(
        window_length: int,
        periodic: bool = True,
        *args: Any,
        dtype: Any = None,
        layout: Any = None,
        device: Any = None,
        requires_grad: bool = False,
        pin_memory: bool = False,
        **params: Any,
    ) -> Tensor:
        if window_length < 0:
            raise fail(
                f"{name}(): {name} requires non-negative window_length, got window_length={window_length}",
                RuntimeError,
            )
        npd = _dtype(dtype)
        if _dt.kind(npd) != "f":
            raise fail(
                f"{name}(): {name} expects floating point dtypes, got: {_dt.from_numpy(npd)}", RuntimeError
            )
        if window_length <= 1:
            data = np.ones(window_length, dtype=np.float64)
        else:
            n = window_length + 1 if periodic else window_length
            data = fn(np.arange(n, dtype=np.float64), n, *args, **params)[:window_length]
        return _finish(data.astype(npd), requires_grad, device, layout=layout, name=name)

    make.__name__ = name
    return make


def _cosines(*coeffs: float) -> Callable:
    def fn(k: np.ndarray, n: int) -> np.ndarray:
        return sum((-1) ** j * c * np.cos(2 * math.pi * j * k / (n - 1)) for j, c in enumerate(coeffs))

    return fn


def _hamming(k: np.ndarray, n: int, alpha: float = 0.54, beta: float = 0.46) -> np.ndarray:
    return alpha - beta * np.cos(2 * math.pi * k / (n - 1))


def _kaiser(k: np.ndarray, n: int, beta: float = 12.0) -> np.ndarray:
    half = (n - 1) / 2
    return np.i0(beta * np.sqrt(np.clip(1 - ((k - half) / half) ** 2, 0, None))) / np.i0(beta)


hann_window = _window("hann_window", _cosines(0.5, 0.5))
hann_window.__doc__ = "0.5 - 0.5 cos(2 pi k / (N - 1)); ``periodic`` drops the last point of N + 1."
hamming_window = _window("hamming_window", _hamming)
hamming_window.__doc__ = "alpha - beta cos(2 pi k / (N - 1)) (alpha=0.54, beta=0.46)."
blackman_window = _window("blackman_window", _cosines(0.42, 0.5, 0.08))
blackman_window.__doc__ = "0.42 - 0.5 cos(2 pi k / (N - 1)) + 0.08 cos(4 pi k / (N - 1))."
bartlett_window = _window("bartlett_window", lambda k, n: 1 - np.abs(2 * k / (n - 1) - 1))
bartlett_window.__doc__ = "The triangle 1 - |2k / (N - 1) - 1|."
kaiser_window = _window("kaiser_window", _kaiser)
kaiser_window.__doc__ = "I0(beta sqrt(1 - (2k / (N - 1) - 1)^2)) / I0(beta) (beta=12)."


# ------------------------------------------------------------- tensors over memory
def frombuffer(
    buffer: Any, *, dtype: Any, count: int = -1, offset: int = 0, requires_grad: bool = False
) -> Tensor:
    """A 1-D tensor sharing the memory of an object with the buffer protocol (bytes, bytearray,
    array.array, ...); a read-only buffer gives a tensor that refuses in-place writes."""
    npd = _dt.to_numpy(dtype)
    try:
        arr = np.frombuffer(buffer, dtype=npd, count=count, offset=offset)
    except (ValueError, TypeError) as exc:
        raise fail(
            f"frombuffer(): {exc} (buffer of {len(memoryview(buffer).cast('B'))} bytes, "
            f"dtype {_dt.from_numpy(npd)}, count={count}, offset={offset})",
            ValueError,
        ) from None
    return _finish(arr, requires_grad, None, name="frombuffer")


def from_file(
    filename: str,
    shared: bool | None = None,
    size: int = 0,
    *,
    dtype: Any = None,
    layout: Any = None,
    device: Any = None,
    pin_memory: bool = False,
    requires_grad: bool = False,
) -> Tensor:
    """``size`` elements read from a file through a memory map: with ``shared`` writes to the
    tensor go to the file, otherwise they stay private (copy-on-write)."""
    npd = _dtype(dtype)
    if size == 0:
        return _finish(np.empty(0, dtype=npd), requires_grad, device, layout=layout, name="from_file")
    try:
        arr = np.memmap(filename, dtype=npd, mode="r+" if shared else "c", shape=(int(size),))
    except (ValueError, OSError) as exc:
        raise fail(
            f"from_file(): cannot map {size} elements of {_dt.from_numpy(npd)} from {filename!r}: {exc}",
            RuntimeError,
        ) from None
    return _finish(np.asarray(arr), requires_grad, device, layout=layout, name="from_file")


def empty_permuted(
    size: Any,
    physical_layout: Any,
    *,
    dtype: Any = None,
    layout: Any = None,
    device: Any = None,
    requires_grad: bool = False,
    pin_memory: bool = False,
) -> Tensor:
    """An uninitialised tensor of shape ``size`` whose dims lie in memory in the order
    ``physical_layout`` (outermost first): (0, 2, 3, 1) is channels-last."""
    shape, order = sizes_arg((size,), "empty_permuted"), tuple(int(d) for d in physical_layout)
    if sorted(order) != list(builtins.range(len(shape))):
        raise fail(
            f"empty_permuted(): physical_layout {order} must be a permutation of the {len(shape)} "
            f"dims of size {shape}",
            RuntimeError,
        )
    npd = _dtype(dtype)
    data = np.empty([shape[d] for d in order], dtype=npd).transpose(np.argsort(order))
    return _finish(data, requires_grad, device, layout=layout, name="empty_permuted")


def range(
    start: Any,
    end: Any,
    step: Any = 1,
    *,
    dtype: Any = None,
    layout: Any = None,  # noqa: A001
    device: Any = None,
    requires_grad: bool = False,
    out: Any = None,
) -> Tensor:
    """Deprecated: values from ``start`` to ``end`` *inclusive* (default float dtype); use
    ``arange``, whose end is excluded."""
    warnings.warn(
        "torch.range is deprecated and will be removed in a future release because its behavior "
        "is inconsistent with Python's range builtin. Instead, use torch.arange, which produces "
        "values in [start, end).",
        UserWarning,
        stacklevel=2,
    )
    if step == 0:
        raise fail("range(): step must be nonzero", RuntimeError)
    n = int(math.floor((end - start) / step)) + 1
    npd = _dtype(dtype)
    data = (start + np.arange(max(n, 0), dtype=np.float64) * step).astype(npd)
    return _finish(data, requires_grad, device, out=out, layout=layout, name="range")


def cond(pred: Any, true_fn: Callable, false_fn: Callable, operands: Any = ()) -> Any:
    """``true_fn(*operands)`` if ``pred`` (a bool or one-element tensor) else ``false_fn(*operands)``:
    PyTorch's structured control flow, run eagerly."""
    if isinstance(pred, Tensor):
        if pred._data.size != 1:
            raise fail(
                f"cond(): Expected pred to be bool or single-element tensor, but got a tensor of "
                f"shape {tuple(pred._data.shape)}",
                RuntimeError,
            )
        pred = bool(pred._data.reshape(-1)[0])
    return true_fn(*operands) if pred else false_fn(*operands)


# -------------------------------------------------------------------- sampling
def poisson(input: Tensor, generator: Any = None) -> Tensor:  # noqa: A002
    """A Poisson sample per element with the element as its rate (same dtype, no gradient)."""
    from . import random as _random

    rates = input._data
    if rates.size and (rates.min() < 0 or np.isnan(rates).any()):
        raise fail("poisson(): invalid Poisson rate, expected rate to be non-negative", RuntimeError)
    return wrap(_random.rng(generator).poisson(rates).astype(rates.dtype))


def binomial(count: Tensor, prob: Tensor, generator: Any = None) -> Tensor:
    """A Binomial(count, prob) sample per element (the dtype of ``count``, no gradient)."""
    from . import random as _random

    n, p = np.broadcast_arrays(count._data, prob._data)
    if n.size and ((p < 0).any() or (p > 1).any() or (n < 0).any()):
        raise fail("binomial(): expected 0 <= prob <= 1 and count >= 0", RuntimeError)
    draws = _random.rng(generator).binomial(n.astype(np.int64), p)
    return wrap(draws.astype(count._data.dtype))


# -------------------------------------------------------------- legacy switches
def set_default_tensor_type(t: Any) -> None:
    """Deprecated: ``set_default_tensor_type(torch.DoubleTensor)`` sets the default float dtype
    (use ``set_default_dtype``)."""
    warnings.warn(
        "torch.set_default_tensor_type() is deprecated as of PyTorch 2.1, please use "
        "torch.set_default_dtype() and torch.set_default_device() as alternatives.",
        UserWarning,
        stacklevel=2,
    )
    if isinstance(t, str):
        from . import _creation

        t = getattr(_creation, t.split(".")[-1], None) or t
    d = getattr(t, "_dtype", None)
    if d is None or not d.is_floating_point:
        raise fail(
            f"set_default_tensor_type(): only floating-point types are supported as the default type, "
            f"got {t!r}",
            TypeError,
        )
    _dt.set_default_dtype(d)


def thread_safe_generator() -> Any:
    """The generator of a DataLoader thread worker; None elsewhere (chainrule's workers are
    processes, whose seeds ``get_worker_info`` gives, so always None)."""
    from .utils.data import get_worker_info

    info = get_worker_info()
    return getattr(info, "generator", None) if getattr(info, "worker_method", "process") == "thread" else None


def get_autocast_cpu_dtype() -> Any:
    """``amp.get_autocast_dtype("cpu")``."""
    from .amp import get_autocast_dtype

    return get_autocast_dtype("cpu")


def is_autocast_cpu_enabled() -> bool:
    """``amp.is_autocast_enabled("cpu")``."""
    from .amp import is_autocast_enabled

    return is_autocast_enabled("cpu")


__all__ += [
    "poisson",
    "binomial",
    "set_default_tensor_type",
    "thread_safe_generator",
    "get_autocast_cpu_dtype",
    "is_autocast_cpu_enabled",
]
