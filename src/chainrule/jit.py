"""``chainrule.jit``: TorchScript's names at PyTorch's path (the code is ``compile/jit.py``)."""

from __future__ import annotations

from .compile.jit import ScriptModule, load, save, script, trace

__all__ = ["script", "trace", "save", "load", "ScriptModule"]
