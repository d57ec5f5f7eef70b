"""Process settings and queries at ``torch``'s names: threads, determinism, the default device,
matmul precision, anomaly mode, dtype queries (``iinfo``, ``can_cast``, ``result_type``), tensor
predicates and the math constants.

chainrule runs ops one after another in the calling thread; the only thread pool is the
BLAS/LAPACK one NumPy and SciPy call, so ``set_num_threads`` sizes that pool (through
``threadpoolctl``).  Its ops are deterministic on the CPU, so ``use_deterministic_algorithms``
has nothing to refuse: the flags are kept for code that reads them.
"""

from __future__ import annotations

import math
import os
import threading
from typing import Any

import numpy as np

from . import dtypes as _dt
from ._tensor import Tensor
from .backend import device as _device
from .ops._core import fail

__all__ = [
    "pi",
    "e",
    "inf",
    "nan",
    "newaxis",
    "iinfo",
    "can_cast",
    "promote_types",
    "result_type",
    "is_signed",
    "is_nonzero",
    "is_same_size",
    "is_conj",
    "is_neg",
    "get_device",
    "set_num_threads",
    "get_num_threads",
    "set_num_interop_threads",
    "get_num_interop_threads",
    "init_num_threads",
    "use_deterministic_algorithms",
    "are_deterministic_algorithms_enabled",
    "is_deterministic_algorithms_warn_only_enabled",
    "set_deterministic_debug_mode",
    "get_deterministic_debug_mode",
    "set_default_device",
    "get_default_device",
    "set_float32_matmul_precision",
    "get_float32_matmul_precision",
    "set_flush_denormal",
    "set_warn_always",
    "is_warn_always_enabled",
    "set_anomaly_enabled",
    "is_anomaly_enabled",
    "is_anomaly_check_nan_enabled",
    "has_lapack",
    "has_spectral",
    "has_mkl",
    "has_openmp",
]

pi, e, inf, nan = math.pi, math.e, math.inf, math.nan
newaxis = None
has_lapack = True  # SciPy's LAPACK
has_spectral = True  # NumPy's FFT
has_mkl = False
has_openmp = False


# ------------------------------------------------------------------- dtype queries
class iinfo:  # noqa: N801 - PyTorch's name
    """Machine limits of an integer dtype, as ``torch.iinfo``: ``iinfo(chainrule.int32).max``."""

    def __init__(self, type: Any) -> None:  # noqa: A002
        d = _dt.to_chainrule(type)
        npd = d.np
        if npd.kind not in "iub":
            raise TypeError(
                f"torch.iinfo() requires an integer input type (got {d}). Use "
                "torch.finfo to handle floating types"
            )
        info = np.iinfo(np.uint8 if npd.kind == "b" else npd)
        self.bits, self.min, self.max = info.bits, int(info.min), int(info.max)
        self.dtype = d.name

    def __repr__(self) -> str:
        return f"iinfo(min={self.min:g}, max={self.max:g}, dtype={self.dtype})"


def _np(d: Any) -> np.dtype:
    return _dt.to_numpy(d)


def can_cast(from_: Any, to: Any) -> bool:
    """Whether PyTorch's casting rules allow ``from_`` -> ``to`` in an op with an ``out=``: never
    to a lower category (complex > float > integer > bool); any width within one."""
    a, b = _np(from_), _np(to)
    return _dt._category(a) <= _dt._category(b)


def promote_types(type1: Any, type2: Any) -> Any:
    """The smallest dtype both promote to, as PyTorch's promotion table."""
    return _dt.from_numpy(_dt.promote_types(_np(type1), _np(type2)))


def result_type(tensor1: Any, tensor2: Any) -> Any:
    """The dtype an arithmetic op on these two operands (tensors or numbers) returns."""
    ops = [a._data if isinstance(a, Tensor) else a for a in (tensor1, tensor2)]
    return _dt.from_numpy(_dt.result_type(*ops))


# ---------------------------------------------------------------- tensor predicates
def is_signed(input: Tensor) -> bool:  # noqa: A002
    """Whether the dtype can hold negative values (floats, complex, signed integers)."""
    return input.dtype.is_signed


def is_nonzero(input: Tensor) -> bool:  # noqa: A002
    """``bool(input)`` for a tensor of exactly one element."""
    n = input._data.size
    if n != 1:
        raise fail(
            f"is_nonzero(): Boolean value of Tensor with {'no values' if n == 0 else 'more than one value'}"
            f" is ambiguous (shape {tuple(input._data.shape)})",
            RuntimeError,
        )
    return bool(input._data.reshape(-1)[0] != 0)


def is_same_size(input: Tensor, other: Tensor) -> bool:  # noqa: A002
    """Whether the two shapes are equal."""
    return tuple(input._data.shape) == tuple(other._data.shape)


def is_conj(input: Tensor) -> bool:  # noqa: A002
    """Whether the tensor is a lazily conjugated view: never here (conj computes the values)."""
    return input.is_conj()


def is_neg(input: Tensor) -> bool:  # noqa: A002
    """Whether the tensor is a lazily negated view: never here."""
    return input.is_neg()


def get_device(input: Tensor) -> int:  # noqa: A002
    """The device index: -1 for the CPU, as PyTorch."""
    return -1


# ------------------------------------------------------------------------- threads
_lock = threading.Lock()
_threads: dict[str, int | None] = {"intra": None, "inter": None}


def _blas_pool() -> Any:
    try:
        import threadpoolctl
    except ImportError:
        return None
    return threadpoolctl


def set_num_threads(int: int) -> None:  # noqa: A002
    """Use at most ``int`` threads for an op: the size of the BLAS/LAPACK pool NumPy and SciPy
    call (chainrule's own code runs in the calling thread).  Needs the ``threads`` extra
    (threadpoolctl)."""
    n = _positive(int, "set_num_threads")
    pool = _blas_pool()
    if pool is None:
        raise fail(
            "set_num_threads(): sizing NumPy's BLAS thread pool needs threadpoolctl: "
            'pip install "chainrule[threads]" (or set OMP_NUM_THREADS before starting Python)',
            RuntimeError,
        )
    pool.threadpool_limits(n)  # a global setting, as torch.set_num_threads is
    with _lock:
        _threads["intra"] = n


def get_num_threads() -> int:
    """The threads an op may use: the last ``set_num_threads``, else the BLAS pool's size."""
    if _threads["intra"] is not None:
        return _threads["intra"]
    pool = _blas_pool()
    sizes = [p["num_threads"] for p in pool.threadpool_info()] if pool is not None else []
    return max(sizes) if sizes else (os.cpu_count() or 1)


def init_num_threads() -> None:
    """Apply the thread setting to the calling thread's pools (they are process-wide here)."""
    if _threads["intra"] is not None:
        set_num_threads(_threads["intra"])


def set_num_interop_threads(int: int) -> None:  # noqa: A002
    """The threads used to run independent ops in parallel.  chainrule runs ops one after
    another, so any number is honoured; as in PyTorch it may be set once."""
    n = _positive(int, "set_num_interop_threads")
    with _lock:
        if _threads["inter"] is not None:
            raise fail(
                "set_num_interop_threads(): Error: cannot set number of interop threads after "
                "parallel work has started or set_num_interop_threads called",
                RuntimeError,
            )
        _threads["inter"] = n


def get_num_interop_threads() -> int:
    return _threads["inter"] if _threads["inter"] is not None else (os.cpu_count() or 1)


def _positive(n: Any, op: str) -> int:
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n <= 0:
        raise fail(f"{op}(): {op} expects a positive integer, got {n!r}", RuntimeError)
    return int(n)


# -------------------------------------------------------- determinism and precision
_flags: dict[str, Any] = {
    "deterministic": False,
    "warn_only": False,
    "precision": "highest",
    "warn_always": False,
}


def use_deterministic_algorithms(mode: bool, *, warn_only: bool = False) -> None:
    """Ask for deterministic algorithms: chainrule's ops (NumPy on the CPU) all are."""
    _flags["deterministic"], _flags["warn_only"] = bool(mode), bool(warn_only)


def are_deterministic_algorithms_enabled() -> bool:
    return _flags["deterministic"]


def is_deterministic_algorithms_warn_only_enabled() -> bool:
    return _flags["warn_only"]


_DEBUG_MODES = {"default": 0, "warn": 1, "error": 2}


def set_deterministic_debug_mode(debug_mode: Any) -> None:
    """0/'default' (off), 1/'warn' (deterministic, warn only), 2/'error' (deterministic)."""
    if isinstance(debug_mode, str):
        if debug_mode not in _DEBUG_MODES:
            raise fail(
                f"set_deterministic_debug_mode(): invalid value of debug_mode, expected one of "
                f"default, warn, error, but got {debug_mode}",
                RuntimeError,
            )
        debug_mode = _DEBUG_MODES[debug_mode]
    if debug_mode not in (0, 1, 2):
        raise fail(
            f"set_deterministic_debug_mode(): invalid value of debug_mode, expected 0, 1, or 2, "
            f"but got {debug_mode}",
            RuntimeError,
        )
    use_deterministic_algorithms(debug_mode != 0, warn_only=debug_mode == 1)


def get_deterministic_debug_mode() -> int:
    if not _flags["deterministic"]:
        return 0
    return 1 if _flags["warn_only"] else 2


def set_float32_matmul_precision(precision: str) -> None:
    """'highest', 'high' or 'medium': the lowest internal precision float32 matmuls may use.
    NumPy's BLAS always computes in float32 ('highest'), which every setting allows."""
    if precision not in ("highest", "high", "medium"):
        raise fail(
            f"set_float32_matmul_precision(): Invalid precision: {precision!r}; use 'highest', "
            "'high' or 'medium'",
            RuntimeError,
        )
    _flags["precision"] = precision


def get_float32_matmul_precision() -> str:
    return _flags["precision"]


def set_flush_denormal(mode: bool) -> bool:
    """Flushing denormals to zero is not available through NumPy: returns False (unsupported),
    as PyTorch does on a CPU without the control."""
    return False


def set_warn_always(b: bool) -> None:
    """Repeat warnings that are otherwise given once (the vmap fallback's)."""
    _flags["warn_always"] = bool(b)


def is_warn_always_enabled() -> bool:
    return _flags["warn_always"]


# -------------------------------------------------------------- devices, anomaly mode
def set_default_device(device: Any) -> None:
    """Only the CPU exists: 'cpu' (or None) is accepted, anything else refused."""
    if device is not None:
        _device(device)


def get_default_device() -> Any:
    return _device("cpu")


def set_anomaly_enabled(enabled: bool, check_nan: bool = True) -> None:
    """Switch anomaly detection on or off for this thread (``autograd.set_detect_anomaly``)."""
    from .autograd import anomaly

    anomaly._set(bool(enabled), check_nan)


def is_anomaly_enabled() -> bool:
    from .autograd import anomaly

    return anomaly.is_anomaly_enabled()


def is_anomaly_check_nan_enabled() -> bool:
    from .autograd import anomaly

    return anomaly.is_anomaly_check_nan_enabled()
