"""``chainrule.utils.tensorboard``: ``torch.utils.tensorboard``'s ``SummaryWriter`` (extra
``tensorboard``: ``pip install "chainrule[tensorboard]"``; tensorboardX is imported when a
writer is made, not here)."""

from .writer import SummaryWriter

__all__ = ["SummaryWriter"]
