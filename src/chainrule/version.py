"""``chainrule.version`` (``torch.version``): what this build is."""

from __future__ import annotations

__version__ = "0.1.0"
cuda = None  # built without CUDA
hip = None
git_version = "unknown"
debug = False
