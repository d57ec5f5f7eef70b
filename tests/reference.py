"""PyTorch as a test reference: imported when installed, required when CI says so.

The one guard for tests that compare with PyTorch: in CI (``CI`` set, e.g. ``CI=true``)
importing this module without PyTorch fails, so every test module that uses the reference
fails at collection instead of skipping silently; elsewhere ``need_torch()`` skips the test.
"""

from __future__ import annotations

import os
from typing import Any

try:
    import torch
except ImportError:  # pragma: no cover - only when the reference extra is not installed
    torch = None

HAVE_TORCH = torch is not None
REQUIRE_TORCH = os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")
# PyTorch's dtypes that chainrule has too (the unsigned uint16/32/64 of limited support aside), in
# PyTorch's promotion order: the shared axis of the dtype tests
DTYPE_NAMES = (
    "bool",
    "uint8",
    "int8",
    "int16",
    "int32",
    "int64",
    "float16",
    "bfloat16",
    "float32",
    "float64",
    "complex64",
    "complex128",
)
MISSING = 'PyTorch 2.13 must be installed in CI: pip install "chainrule[reference]"'

if torch is None and REQUIRE_TORCH:
    raise ImportError(MISSING + " (tests compare with it; CI does not skip them)")

if torch is not None:
    torch.set_num_threads(1)


def need_torch() -> Any:
    """The torch module, for a test that compares with it; skips where PyTorch is missing
    outside CI (in CI the import of this module has already failed)."""
    if torch is None:
        import pytest

        assert not REQUIRE_TORCH, MISSING
        pytest.skip("PyTorch not installed (extra 'reference')")
    return torch


def to_torch(value, requires_grad: bool = False):
    """A torch tensor with the same values (float64 stays float64)."""
    import numpy as np

    t = torch.from_numpy(np.array(value, copy=True))
    if requires_grad:
        t.requires_grad_(True)
    return t
