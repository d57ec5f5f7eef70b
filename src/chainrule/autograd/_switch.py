"""Switch: keep an op wrapper (and a backward tap) installed while some user needs it.

Forward mode and vmap, saved-tensor hooks, anomaly detection and the profiler
each see every op through ``ops._core.add_apply_wrapper`` and every backward
through ``engine.add_backward_tap``.  Installed only while in use, they cost
nothing otherwise.  Users are counted across threads (the hooks check their own
thread-local state inside), so one thread switching off never removes them
under another thread's feet.
"""

from __future__ import annotations

import threading
from typing import Callable

__all__ = ["Switch"]


class Switch:
    """``on()`` / ``off()`` count users; the wrapper and tap exist while the count is positive."""

    def __init__(self, wrapper: Callable, tap: Callable | None = None) -> None:
        self.wrapper = wrapper
        self.tap = tap
        self.users = 0
        self._removers: list[Callable[[], None]] = []
        self._lock = threading.Lock()

    def on(self) -> None:
        from ..ops._core import add_apply_wrapper
        from .engine import add_backward_tap

        with self._lock:
            self.users += 1
            if self.users == 1:
                self._removers.append(add_apply_wrapper(self.wrapper))
                if self.tap is not None:
                    self._removers.append(add_backward_tap(self.tap))

    def off(self) -> None:
        with self._lock:
            self.users -= 1
            if self.users == 0:
                for remove in self._removers:
                    remove()
                self._removers.clear()

    def __repr__(self) -> str:
        return f"<Switch {getattr(self.wrapper, '__name__', '?')}: {self.users} users>"


