"""``autocast``: run matrix products and convolutions in lower precision inside a region.

As PyTorch's CPU autocast: ops on the lower-precision list (matmul, mm, bmm, linear,
convolutions, einsum) cast their floating inputs to the autocast dtype, so their results (and
the gradients flowing back through them) have that dtype; every other op runs as usual and
promotes as usual (``float16 + float32 -> float32``).  The CPU dtypes are float16 and bfloat16;
chainrule has no bfloat16, so ``autocast("cpu")`` (whose default is bfloat16) warns and is
disabled, exactly as PyTorch does for a dtype its CPU autocast does not support.
"""

from __future__ import annotations

import functools
import threading
import warnings
from typing import Any, Callable

from .. import dtypes as _dt
from ..autograd._switch import Switch
from ..ops import elementwise as _ew

__all__ = ["autocast", "is_autocast_enabled", "get_autocast_dtype"]

# Primitive names on PyTorch's CPU lower-precision list.
LOWER_PRECISION = frozenset({"Matmul", "Mm", "Bmm", "Mv", "Linear", "LinearNoBias", "Convolution", "Einsum"})
_SUPPORTED = {"cpu": ("float16", "bfloat16")}


class _State(threading.local):
    def __init__(self) -> None:
        self.stack: list[Any] = []  # (enabled, numpy dtype) per nested region, innermost last


_state = _State()


def _wrapper(op: Any, args: tuple, params: dict, inner: Callable) -> Any:
    st = _state.stack
    if st and st[-1][0] and op.name in LOWER_PRECISION:
        target = st[-1][1]
        args = tuple(
            _ew.cast(a, target)
            if getattr(getattr(a, "_data", None), "dtype", None) is not None
            and a._data.dtype.kind == "f"
            and a._data.dtype != target
            else a
            for a in args
        )
    return inner(op, args, params)


_switch = Switch(_wrapper)


def is_autocast_enabled(device_type: str = "cpu") -> bool:
    st = _state.stack
    return bool(st and st[-1][0]) and device_type == "cpu"


def get_autocast_dtype(device_type: str = "cpu") -> Any:
    st = _state.stack
    if st and st[-1][1] is not None:
        return _dt.from_numpy(st[-1][1])
    return _dt.float16 if device_type == "cpu" else None


class autocast:  # noqa: N801 - PyTorch's name
    """``with autocast("cpu", dtype=chainrule.float16): ...`` (also a decorator)."""

    def __init__(
        self, device_type: str = "cpu", dtype: Any = None, enabled: bool = True, cache_enabled: Any = None
    ) -> None:
        if device_type not in ("cpu", "cuda", "mps", "xpu"):
            raise RuntimeError(
                f"autocast(): unsupported device_type {device_type!r}; chainrule runs on 'cpu'"
            )
        name = getattr(dtype, "name", None) if dtype is not None else "bfloat16"
        self.enabled = bool(enabled)
        self.device_type = device_type
        self.dtype = dtype
        self._np = None
        if self.enabled and device_type != "cpu":
            warnings.warn(
                f"autocast(): device_type {device_type!r} is not available (chainrule runs on "
                "the CPU); disabling autocast",
                UserWarning,
                stacklevel=2,
            )
            self.enabled = False
        elif self.enabled and (name not in _SUPPORTED["cpu"] or name == "bfloat16"):
            warnings.warn(
                "In CPU autocast, but the target dtype is not supported. Disabling autocast.\n"
                f"chainrule's CPU autocast supports float16 (got {name}; chainrule has no bfloat16): "
                "pass dtype=chainrule.float16",
                UserWarning,
                stacklevel=2,
            )
            self.enabled = False
        if self.enabled:
            self._np = _dt.to_numpy(dtype)

    def __enter__(self) -> autocast:
        _state.stack.append((self.enabled, self._np))
        _switch.on()
        return self

    def __exit__(self, *exc: object) -> None:
        _state.stack.pop()
        _switch.off()

    def __call__(self, fn: Callable) -> Callable:
        @functools.wraps(fn)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            with autocast(self.device_type, self.dtype, self.enabled and self._np is not None):
                return fn(*args, **kwargs)

        return wrapped
