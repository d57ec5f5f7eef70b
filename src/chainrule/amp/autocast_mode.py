"""``autocast``: run matrix products and convolutions in lower precision inside a region.

As PyTorch's CPU autocast: while the CPU autocast state is enabled, ops on the lower-precision
list (matmul, mm, bmm, linear, convolutions, einsum) cast their float16/bfloat16/float32 inputs
(float64 ones are not eligible) to the autocast dtype, so their results (and the gradients flowing
back through them) have that dtype; every other op runs and promotes as usual.

The state is one record per device type and thread (enabled, dtype), plus the weight-cache flag:
``set_autocast_enabled`` / ``set_autocast_dtype`` change it anywhere, and an ``autocast`` region
saves it on entry, sets it, and restores it on exit, as PyTorch's ``__enter__``/``__exit__`` do.
``autocast("cpu")`` validates its dtype as PyTorch does (float16 or bfloat16, else it warns and
is disabled); chainrule's region also refuses bfloat16 (its products run without BLAS in NumPy),
while the setters, like PyTorch's, take any dtype.
"""

from __future__ import annotations

import copy
import functools
import threading
import warnings
from typing import Any, Callable

from .. import dtypes as _dt
from .._device_module import device_type as _device_type
from ..autograd._switch import Switch
from ..ops import elementwise as _ew

__all__ = [
    "autocast",
    "is_autocast_enabled",
    "get_autocast_dtype",
    "set_autocast_enabled",
    "set_autocast_dtype",
    "is_autocast_cpu_enabled",
    "get_autocast_cpu_dtype",
    "set_autocast_cpu_enabled",
    "set_autocast_cpu_dtype",
    "is_autocast_cache_enabled",
    "set_autocast_cache_enabled",
    "autocast_increment_nesting",
    "autocast_decrement_nesting",
    "clear_autocast_cache",
]

# Primitive names on PyTorch's CPU lower-precision list.
LOWER_PRECISION = frozenset({"Matmul", "Mm", "Bmm", "Mv", "Linear", "LinearNoBias", "Convolution", "Einsum"})
# Device types with an autocast state, and their default dtypes (PyTorch 2.13's).
_DEFAULT = {
    "cpu": "bfloat16",
    "hpu": "bfloat16",
    "xla": "bfloat16",
    "maia": "bfloat16",
    "cuda": "float16",
    "xpu": "float16",
    "mps": "float16",
    "mtia": "float16",
    "ipu": "float16",
    "privateuseone": "float16",
}


class _State(threading.local):
    def __init__(self) -> None:
        self.enabled: dict[str, bool] = {}  # device type -> enabled (absent: False)
        self.dtype: dict[str, Any] = {}  # device type -> chainrule dtype (absent: _DEFAULT)
        self.cache = True
        self.nesting = 0
        self.cpu_target: Any = None  # the NumPy dtype CPU ops cast to while enabled, else None
        self.counted = False  # whether this thread counts as a user of _switch


_state = _State()


def _wrapper(op: Any, args: tuple, params: dict, inner: Callable) -> Any:
    target = _state.cpu_target
    if target is not None and op.name in LOWER_PRECISION:
        args = tuple(_ew.cast(a, target) if _eligible(a, target) else a for a in args)
    return inner(op, args, params)


def _eligible(a: Any, target: Any) -> bool:
    dt = getattr(getattr(a, "_data", None), "dtype", None)
    if dt is None or dt == target or dt.name == "float64":
        return False
    return dt.kind == "f" or dt.name == "bfloat16"


_switch = Switch(_wrapper)


def _sync() -> None:
    """Make the op wrapper follow this thread's CPU record."""
    st = _state
    on = st.enabled.get("cpu", False)
    st.cpu_target = _dt.to_numpy(_dtype_of("cpu")) if on else None
    if on != st.counted:
        st.counted = on
        (_switch.on if on else _switch.off)()


def _set(table: dict, device: str, value: Any) -> None:
    """Set one field of a device's record; for "cpu" the op wrapper follows, and where it cannot
    (bfloat16 without ml_dtypes) the record is left as it was."""
    old = table.get(device, _UNSET)
    table[device] = value
    if device != "cpu":
        return
    try:
        _sync()
    except BaseException:
        if old is _UNSET:
            del table[device]
        else:
            table[device] = old
        _sync()
        raise


_UNSET = object()


def _device(device_type: Any, fn: str) -> str:
    if not isinstance(device_type, str):
        raise TypeError(f"{fn}(): argument 'device_type' must be str, not {type(device_type).__name__}")
    name = _device_type(device_type)
    if name not in _DEFAULT:
        raise RuntimeError(
            f"{fn}(): device type {name!r} has no autocast state; use one of {', '.join(_DEFAULT)}"
        )
    return name


def _bool(value: Any, fn: str, what: str = "enabled") -> bool:
    if not isinstance(value, bool):
        raise TypeError(f"{fn}(): argument '{what}' must be bool, not {type(value).__name__}")
    return value


def _dtype_of(device: str) -> Any:
    dt = _state.dtype.get(device)
    return getattr(_dt, _DEFAULT[device]) if dt is None else dt


def is_autocast_enabled(device_type: str = "cuda") -> bool:
    """Whether autocast is on for ``device_type`` (PyTorch's default without one: ``"cuda"``)."""
    return _state.enabled.get(_device(device_type, "is_autocast_enabled"), False)


def set_autocast_enabled(*args: Any) -> None:
    """``set_autocast_enabled(device_type, enabled)``, or ``set_autocast_enabled(enabled)`` for CUDA."""
    if len(args) == 1:
        device, enabled = "cuda", _bool(args[0], "set_autocast_enabled")
    elif len(args) == 2:
        device = _device(args[0], "set_autocast_enabled")
        enabled = _bool(args[1], "set_autocast_enabled")
    else:
        raise TypeError("set_autocast_enabled() takes (device_type: str, enabled: bool) or (enabled: bool)")
    _set(_state.enabled, device, enabled)


def get_autocast_dtype(device_type: str) -> Any:
    """The dtype autocast casts to on ``device_type`` (bfloat16 for "cpu" unless set)."""
    return _dtype_of(_device(device_type, "get_autocast_dtype"))


def set_autocast_dtype(device_type: str, dtype: Any) -> None:
    device = _device(device_type, "set_autocast_dtype")
    if not isinstance(dtype, _dt.dtype) and getattr(dtype, "name", None) != "bfloat16":
        raise TypeError(
            f"set_autocast_dtype(): argument 'dtype' must be chainrule.dtype, not {type(dtype).__name__}"
        )
    _set(_state.dtype, device, dtype)


def _deprecated(old: str, new: str) -> None:
    warnings.warn(
        f"chainrule.{old} is deprecated. Please use chainrule.{new} instead.",
        DeprecationWarning,
        stacklevel=3,
    )


def is_autocast_cpu_enabled() -> bool:
    _deprecated("is_autocast_cpu_enabled()", "is_autocast_enabled('cpu')")
    return is_autocast_enabled("cpu")


def set_autocast_cpu_enabled(enabled: bool) -> None:
    _deprecated("set_autocast_cpu_enabled(enabled)", "set_autocast_enabled('cpu', enabled)")
    set_autocast_enabled("cpu", _bool(enabled, "set_autocast_cpu_enabled"))


def get_autocast_cpu_dtype() -> Any:
    _deprecated("get_autocast_cpu_dtype()", "get_autocast_dtype('cpu')")
    return get_autocast_dtype("cpu")


def set_autocast_cpu_dtype(dtype: Any) -> None:
    _deprecated("set_autocast_cpu_dtype(dtype)", "set_autocast_dtype('cpu', dtype)")
    set_autocast_dtype("cpu", dtype)


def is_autocast_cache_enabled() -> bool:
    return _state.cache


def set_autocast_cache_enabled(enabled: bool) -> None:
    """The weight-cache flag (chainrule keeps no cast cache: the flag is state only)."""
    if not isinstance(enabled, bool):
        raise TypeError(f"enabled must be a bool (got {type(enabled).__name__})")
    _state.cache = enabled


def autocast_increment_nesting() -> int:
    _state.nesting += 1
    return _state.nesting


def autocast_decrement_nesting() -> int:
    _state.nesting -= 1
    return _state.nesting


def clear_autocast_cache() -> None:
    """No cast cache to clear (chainrule casts afresh each time)."""


class autocast:  # noqa: N801 - PyTorch's name
    """``with autocast("cpu", dtype=chainrule.float16): ...`` (also a decorator)."""

    def __init__(
        self, device_type: str, dtype: Any = None, enabled: bool = True, cache_enabled: Any = None
    ) -> None:
        if not isinstance(device_type, str):
            raise ValueError(f"Expected `device_type` of type `str`, got: `{type(device_type)}`")
        self.device = _device(device_type, "autocast")
        self.fast_dtype = get_autocast_dtype(self.device) if dtype is None else dtype
        self._cache_enabled = is_autocast_cache_enabled() if cache_enabled is None else bool(cache_enabled)
        name, dev = getattr(self.fast_dtype, "name", None), self.device.upper()
        if enabled and self.device == "cuda":
            warnings.warn(
                "CUDA is not available (chainrule runs on the CPU). Disabling autocast.", stacklevel=2
            )
            enabled = False
        elif enabled and name not in ("float16", "bfloat16"):
            warnings.warn(
                f"In {dev} autocast, but the target dtype is not supported. Disabling autocast.\n"
                f"{dev} Autocast only supports dtypes of chainrule.bfloat16, chainrule.float16 "
                f"currently (got {self.fast_dtype}).",
                stacklevel=2,
            )
            enabled = False
        elif enabled and self.device == "cpu" and name == "bfloat16":
            warnings.warn(
                "In CPU autocast, but the target dtype is not supported. Disabling autocast.\n"
                "chainrule's CPU autocast regions run float16 only (NumPy has no BLAS for bfloat16 "
                "products): pass dtype=chainrule.float16",
                stacklevel=2,
            )
            enabled = False
        self._enabled = bool(enabled)

    def __enter__(self) -> autocast:
        self.prev_cache_enabled = is_autocast_cache_enabled()
        self.prev = is_autocast_enabled(self.device)
        self.prev_fastdtype = get_autocast_dtype(self.device)
        set_autocast_enabled(self.device, self._enabled)
        set_autocast_dtype(self.device, self.fast_dtype)
        autocast_increment_nesting()
        set_autocast_cache_enabled(self._cache_enabled)
        return self

    def __exit__(self, *exc: object) -> None:
        autocast_decrement_nesting()
        set_autocast_enabled(self.device, self.prev)
        set_autocast_dtype(self.device, self.prev_fastdtype)
        set_autocast_cache_enabled(self.prev_cache_enabled)

    def __call__(self, fn: Callable) -> Callable:
        @functools.wraps(fn)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            # a copy per call: __enter__ keeps the state it restores on the region, so a shared one
            # would leave autocast on after a recursive (or concurrent) call (PyTorch's does)
            with copy.copy(self):
                return fn(*args, **kwargs)

        return wrapped
