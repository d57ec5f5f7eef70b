"""Grad mode: whether ops record a graph. Thread-local, like PyTorch.

All mutable autograd state lives here, in one ``threading.local`` object, so two
threads can train separate models without seeing each other's modes.
"""

from __future__ import annotations

import functools
import threading
from typing import Any, Callable, TypeVar

from . import _inference

__all__ = [
    "no_grad",
    "enable_grad",
    "set_grad_enabled",
    "inference_mode",
    "is_grad_enabled",
    "is_inference_mode_enabled",
]

F = TypeVar("F", bound=Callable[..., Any])


class _State(threading.local):
    """Per-thread flags; class attributes are each thread's starting values."""

    grad_enabled = True
    inference = False
    anomaly = False
    anomaly_check_nan = True
    retain_graph = True  # inside backward: whether this backward keeps saved values


state = _State()


def is_grad_enabled() -> bool:
    """True when ops record a graph for tensors that require grad."""
    return state.grad_enabled


def is_inference_mode_enabled() -> bool:
    return state.inference


class _Mode:
    """Context manager and decorator that sets grad mode for a block or function."""

    _enabled: bool

    def __enter__(self) -> None:
        self._prev = state.grad_enabled
        state.grad_enabled = self._enabled

    def __exit__(self, *exc: object) -> None:
        state.grad_enabled = self._prev

    def __call__(self, fn: F) -> F:
        mode = type(self)
        args = self._args()

        @functools.wraps(fn)
        def wrapper(*a: Any, **k: Any) -> Any:
            with mode(*args):
                return fn(*a, **k)

        return wrapper  # type: ignore[return-value]

    def _args(self) -> tuple:
        return ()

    def clone(self) -> _Mode:
        return type(self)(*self._args())


class no_grad(_Mode):
    """Disable graph recording: ``with chainrule.no_grad(): ...`` or ``@chainrule.no_grad()``.

    ``backward()`` still works inside it for graphs recorded outside.
    """

    _enabled = False

    def __init__(self, orig_func: Callable | None = None) -> None:
        # Allow the bare decorator form ``@no_grad`` as well as ``@no_grad()``.
        self._orig = orig_func

    def __new__(cls, orig_func: Callable | None = None):  # type: ignore[misc]
        if orig_func is not None and callable(orig_func):
            return cls()(orig_func)
        return super().__new__(cls)


class enable_grad(_Mode):
    """Re-enable graph recording inside a ``no_grad`` block."""

    _enabled = True

    def __new__(cls, orig_func: Callable | None = None):  # type: ignore[misc]
        if orig_func is not None and callable(orig_func):
            return cls()(orig_func)
        return super().__new__(cls)

    def __init__(self, orig_func: Callable | None = None) -> None:
        pass


class set_grad_enabled(_Mode):
    """Set grad mode to ``mode``; works as a function call, context manager or decorator."""

    def __init__(self, mode: bool) -> None:
        self._enabled = bool(mode)
        self._prev = state.grad_enabled
        state.grad_enabled = self._enabled  # the plain call form takes effect at once

    def __enter__(self) -> None:
        pass  # already applied in __init__

    def __call__(self, fn: F) -> F:
        state.grad_enabled = self._prev  # used as a decorator: undo the eager switch
        return super().__call__(fn)

    def _args(self) -> tuple:
        return (self._enabled,)


class inference_mode(_Mode):
    """Like ``no_grad`` (tensors made inside never record a graph)."""

    def __init__(self, mode: bool = True) -> None:
        self._enabled = not mode
        self._inference = bool(mode)

    def __new__(cls, mode: Any = True):  # type: ignore[misc]
        if callable(mode):
            return cls(True)(mode)
        return super().__new__(cls)

    def __enter__(self) -> None:
        self._prev = state.grad_enabled
        self._prev_inf = state.inference
        state.grad_enabled = self._enabled
        state.inference = self._inference
        if self._inference:
            _inference.switch.on()  # ops' results become inference tensors (autograd/_inference)

    def __exit__(self, *exc: object) -> None:
        state.grad_enabled = self._prev
        state.inference = self._prev_inf
        if self._inference:
            _inference.switch.off()

    def _args(self) -> tuple:
        return (self._inference,)
