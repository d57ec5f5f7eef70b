"""``torch.backends.cpu``."""

from __future__ import annotations


def get_cpu_capability() -> str:
    """The instruction set chainrule's own kernels target: none (NumPy decides at run time)."""
    return "DEFAULT"
