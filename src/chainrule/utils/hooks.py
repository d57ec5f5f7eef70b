"""Handles returned by ``register_hook``-style calls."""

from __future__ import annotations

from typing import Any

__all__ = ["RemovableHandle"]


class RemovableHandle:
    """``handle.remove()`` takes the hook out again (safe to call twice); also a context manager."""

    __slots__ = ("_hooks", "_hook")

    def __init__(self, hooks: Any, hook: Any) -> None:
        self._hooks = hooks
        self._hook = hook

    def remove(self) -> None:
        hooks, self._hooks = self._hooks, None
        if hooks is None:
            return
        if isinstance(hooks, dict):
            hooks.pop(self._hook, None)
        else:
            for i, h in enumerate(hooks):
                if h is self._hook:
                    del hooks[i]
                    break

    def __enter__(self) -> RemovableHandle:
        return self

    def __exit__(self, *exc: object) -> None:
        self.remove()
