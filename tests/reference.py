"""PyTorch as a test reference: imported when installed, required when CI says so."""

from __future__ import annotations

import os

try:
    import torch
except ImportError:  # pragma: no cover - only when the reference extra is not installed
    torch = None

HAVE_TORCH = torch is not None
REQUIRE_TORCH = bool(os.environ.get("CI"))

if torch is not None:
    torch.set_num_threads(1)


def to_torch(value, requires_grad: bool = False):
    """A torch tensor with the same values (float64 stays float64)."""
    import numpy as np

    t = torch.from_numpy(np.array(value, copy=True))
    if requires_grad:
        t.requires_grad_(True)
    return t
