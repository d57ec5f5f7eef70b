"""``chainrule.utils``: ``data`` (datasets, DataLoader), ``checkpoint``, ``hooks`` (handles), ``dlpack``."""

from . import checkpoint, data, dlpack, hooks  # noqa: F401

__all__ = ["checkpoint", "data", "dlpack", "hooks"]
