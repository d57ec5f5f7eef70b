"""``chainrule.cuda``: there is no GPU backend; these functions report that honestly.

Textbook helpers call ``torch.cuda.is_available()`` / ``device_count()`` to pick a
device; with chainrule they choose the CPU.
"""

from __future__ import annotations

__all__ = ["is_available", "device_count", "manual_seed", "manual_seed_all", "synchronize",
           "is_initialized", "current_device", "get_device_name", "get_device_capability", "set_device",
           "empty_cache", "memory_allocated", "max_memory_allocated", "memory_reserved",
           "is_bf16_supported"]


def is_available() -> bool:
    return False


def device_count() -> int:
    return 0


def manual_seed(seed: object) -> None:
    """Accepted for compatibility (there is no CUDA generator to seed)."""


manual_seed_all = manual_seed


def synchronize(device: object = None) -> None:
    """Nothing to wait for on the CPU."""


def _no_cuda() -> AssertionError:
    return AssertionError("chainrule is not built with CUDA (it runs on the CPU with NumPy); check "
                          "torch.cuda.is_available() before asking for a CUDA device")


def is_initialized() -> bool:
    return False


def current_device() -> int:
    raise _no_cuda()


def get_device_name(device: object = None) -> str:
    raise _no_cuda()


def get_device_capability(device: object = None) -> tuple:
    raise _no_cuda()


def set_device(device: object) -> None:
    raise _no_cuda()


def empty_cache() -> None:
    """No device memory is cached."""


def memory_allocated(device: object = None) -> int:
    return 0


max_memory_allocated = memory_reserved = memory_allocated


def is_bf16_supported(including_emulation: bool = True) -> bool:
    return False
