"""``chainrule.accelerator``: the device-agnostic queries (``torch.accelerator``).

chainrule runs on the CPU only, so there is no accelerator: code written as
``device = torch.accelerator.current_accelerator() if torch.accelerator.is_available() else "cpu"``
picks the CPU, as PyTorch does on a machine without one.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "is_available",
    "current_accelerator",
    "device_count",
    "synchronize",
    "empty_cache",
    "memory_allocated",
    "max_memory_allocated",
]


def is_available() -> bool:
    return False


def current_accelerator(check_available: bool = False) -> None:
    """None: there is no accelerator (PyTorch returns None on a CPU-only machine too)."""
    return None


def device_count() -> int:
    return 0


def _none() -> RuntimeError:
    return RuntimeError(
        "chainrule has no accelerator (it runs on the CPU with NumPy); check "
        "torch.accelerator.is_available() before using accelerator functions"
    )


def current_device_index() -> int:
    raise _none()


current_device_idx = current_device_index


def set_device_index(device: Any) -> None:
    raise _none()


set_device_idx = set_device_index


def synchronize(device: Any = None) -> None:
    """Nothing runs asynchronously: nothing to wait for."""


def empty_cache() -> None:
    """No device memory is cached."""


def memory_allocated(device: Any = None) -> int:
    return 0


def max_memory_allocated(device: Any = None) -> int:
    return 0
