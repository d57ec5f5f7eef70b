"""``chainrule.mps``: Apple's Metal backend is not part of chainrule; these answer for the CPU."""

from __future__ import annotations

__all__ = ["is_available", "device_count", "synchronize", "empty_cache", "manual_seed", "seed"]


def is_available() -> bool:
    return False


def device_count() -> int:
    return 0


def synchronize() -> None:
    """Nothing to wait for on the CPU."""


def empty_cache() -> None:
    """No device memory is cached."""


def manual_seed(seed: int) -> None:
    """Accepted for compatibility (there is no MPS generator to seed)."""


def seed() -> None:
    """Accepted for compatibility (there is no MPS generator to seed)."""
