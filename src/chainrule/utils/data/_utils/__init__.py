"""DataLoader internals (as ``torch.utils.data._utils``): ``collate`` and ``worker``."""

from . import collate, worker  # noqa: F401
