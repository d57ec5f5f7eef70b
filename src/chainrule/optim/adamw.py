"""``torch.optim.adamw``: AdamW lives with Adam (``adam.py``); this is PyTorch's module path."""

from .adam import AdamW

__all__ = ["AdamW"]
