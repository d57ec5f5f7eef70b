"""``chainrule.utils``: ``data`` (datasets and DataLoader), ``checkpoint``, ``hooks`` (handles)."""

from . import checkpoint, data, hooks  # noqa: F401

__all__ = ["checkpoint", "data", "hooks"]
