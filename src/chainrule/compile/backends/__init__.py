"""Backends: what runs a generated program's nodes.  ``numpy`` (the default) calls each
primitive's NumPy forward; ``numba`` also compiles each fused elementwise group
(``passes/fuse.py``) to one machine-code loop (the ``numba`` extra)."""

from __future__ import annotations

__all__ = ["BACKENDS"]

BACKENDS = ("numpy", "numba")
