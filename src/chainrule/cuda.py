"""``chainrule.cuda``: there is no GPU backend; these functions report that honestly.

Textbook helpers call ``torch.cuda.is_available()`` / ``device_count()`` to pick a
device; with chainrule they choose the CPU.
"""

from __future__ import annotations

__all__ = ["is_available", "device_count", "manual_seed", "manual_seed_all", "synchronize"]


def is_available() -> bool:
    return False


def device_count() -> int:
    return 0


def manual_seed(seed: object) -> None:
    """Accepted for compatibility (there is no CUDA generator to seed)."""


manual_seed_all = manual_seed


def synchronize(device: object = None) -> None:
    """Nothing to wait for on the CPU."""
