"""Errors raised inside a composed function name that function: ``cov(): matmul(): ...``.

A function written from other ops fails in one of them; the message then names the op the user
called, keeps the inner op's facts and adds the shapes of the tensor arguments, with the same
exception class.
"""

from __future__ import annotations

import functools
from typing import Any, Callable

from ._tensor import Tensor
from .ops._core import fail

_WRAPPED = (RuntimeError, IndexError, ValueError, TypeError, NotImplementedError)


def _shapes(args: tuple, kwargs: dict) -> str:
    seen = []
    for a in list(args) + list(kwargs.values()):
        items = a if isinstance(a, (list, tuple)) else (a,)
        seen.extend(str(tuple(t._data.shape)) for t in items if isinstance(t, Tensor))
    return ", ".join(seen)


def named(op: str, fn: Callable) -> Callable:
    """``fn`` whose errors start with ``op(): ``."""

    @functools.wraps(fn)
    def run(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except _WRAPPED as exc:
            msg = str(exc)
            if msg.startswith(f"{op}("):
                raise
            shapes = _shapes(args, kwargs)
            try:
                new = fail(f"{op}(): {msg}" + (f" (input shapes {shapes})" if shapes else ""), type(exc))
            except Exception:  # noqa: BLE001 - an exception class with its own constructor
                raise exc from None
            raise new from None

    return run


def name_all(namespace: dict, names: list[str]) -> None:
    """Wrap each function of ``names`` in ``namespace`` (a module's globals) with ``named``."""
    for name in names:
        fn = namespace.get(name)
        if (
            callable(fn)
            and not isinstance(fn, type)
            and getattr(fn, "__module__", None) == namespace["__name__"]
        ):
            namespace[name] = named(name, fn)
