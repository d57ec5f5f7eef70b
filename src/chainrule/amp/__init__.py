"""``chainrule.amp``: mixed precision (``autocast`` and its state) and loss scaling (``GradScaler``)."""

from __future__ import annotations

from .autocast_mode import *  # noqa: F403
from .autocast_mode import __all__ as _autocast_names
from .grad_scaler import GradScaler

__all__ = [*_autocast_names, "GradScaler"]
