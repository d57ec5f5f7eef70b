"""``chainrule.cpu``: the CPU's device module (PyTorch's ``torch.cpu``), for device-agnostic code.

``torch.get_device_module()`` returns it on a machine without an accelerator, so code written as
``mod = torch.get_device_module(); mod.synchronize(); with mod.stream(mod.Stream()): ...`` runs
unchanged.  The CPU is one synchronous device: streams and events exist and do nothing.
"""

from __future__ import annotations

import threading
from typing import Any

from . import amp

__all__ = [
    "Event",
    "Stream",
    "StreamContext",
    "amp",
    "current_device",
    "current_stream",
    "device_count",
    "is_available",
    "is_initialized",
    "set_device",
    "stream",
    "synchronize",
]


class Stream:
    """The CPU's (only) stream: work runs when it is called, so there is nothing to order."""

    def __init__(self, priority: int = -1) -> None:
        self.priority = priority

    def wait_stream(self, stream: Stream) -> None:
        pass

    def record_event(self) -> None:
        pass

    def wait_event(self, event: Event) -> None:
        pass


class Event:
    """An event on the CPU is complete as soon as it exists."""

    def query(self) -> bool:
        return True

    def record(self, stream: Stream | None = None) -> None:
        pass

    def synchronize(self) -> None:
        pass

    def wait(self, stream: Stream | None = None) -> None:
        pass


_default = Stream()
_current = threading.local()


def current_stream(device: Any = None) -> Stream:
    """The stream selected by the innermost ``stream(...)`` block (the default stream outside one)."""
    return getattr(_current, "stream", _default)


class StreamContext:
    """``with StreamContext(s):`` makes ``s`` the current stream; ``None`` leaves it unchanged."""

    def __init__(self, stream: Stream | None) -> None:
        self.stream = stream
        self.prev_stream = _default

    def __enter__(self) -> None:
        if self.stream is not None:
            self.prev_stream = current_stream()
            _current.stream = self.stream

    def __exit__(self, *exc: object) -> None:
        if self.stream is not None:
            _current.stream = self.prev_stream


def stream(stream: Stream | None) -> StreamContext:
    return StreamContext(stream)


def is_available() -> bool:
    return True


def is_initialized() -> bool:
    return True


def device_count() -> int:
    """The number of CPU devices (not cores): always 1."""
    return 1


def current_device() -> str:
    return "cpu"


def set_device(device: Any) -> None:
    """There is one CPU device: nothing to select."""


def synchronize(device: Any = None) -> None:
    """Every op has finished when it returns: nothing to wait for."""
