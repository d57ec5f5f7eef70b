"""Let chainrule be imported under another name (``sys.modules['torch'] = chainrule``).

Textbook code and its helper libraries import submodules by path
(``from torch.nn import functional as F``, ``import torch.utils.data``).  When
chainrule is registered under the name ``torch``, Python would load those
submodules a second time as new modules (with a second ``Tensor`` class).  This
finder answers ``<alias>.<sub>`` with the already-imported ``chainrule.<sub>``
instead, so both names refer to the same objects.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.util
import sys
from typing import Any

__all__ = ["install"]


class _SameModule(importlib.abc.Loader):
    def __init__(self, real: str) -> None:
        self.real = real

    def create_module(self, spec: Any) -> Any:
        return importlib.import_module(self.real)

    def exec_module(self, module: Any) -> None:
        pass  # already executed under its real name


class _AliasFinder(importlib.abc.MetaPathFinder):
    def find_spec(self, fullname: str, path: Any = None, target: Any = None) -> Any:
        root, dot, rest = fullname.partition(".")
        if not dot or root == "chainrule":
            return None
        mod = sys.modules.get(root)
        if mod is None or getattr(mod, "__name__", None) != "chainrule":
            return None
        return importlib.util.spec_from_loader(fullname, _SameModule("chainrule." + rest))


def install() -> None:
    """Put the finder first on ``sys.meta_path`` (idempotent)."""
    if not any(isinstance(f, _AliasFinder) for f in sys.meta_path):
        sys.meta_path.insert(0, _AliasFinder())
