"""``chainrule.cpu.amp``: PyTorch's older spelling of CPU autocast (``torch.amp.autocast("cpu")``)."""

from __future__ import annotations

import warnings
from typing import Any

from .. import dtypes as _dt
from ..amp import GradScaler
from ..amp import autocast as _autocast

__all__ = ["autocast", "GradScaler"]


class autocast(_autocast):  # noqa: N801 - PyTorch's name
    """``chainrule.cpu.amp.autocast(dtype=...)`` is ``chainrule.autocast("cpu", dtype=...)`` (deprecated)."""

    def __init__(self, enabled: bool = True, dtype: Any = _dt.bfloat16, cache_enabled: bool = True) -> None:
        warnings.warn(
            "`chainrule.cpu.amp.autocast(args...)` is deprecated. "
            "Please use `chainrule.amp.autocast('cpu', args...)` instead.",
            FutureWarning,
            stacklevel=2,
        )
        super().__init__("cpu", dtype=dtype, enabled=enabled, cache_enabled=cache_enabled)
