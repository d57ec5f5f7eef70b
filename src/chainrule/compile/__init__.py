"""The compiler: trace a function at the op table's one ``apply`` hook, optimise the IR,
generate Python over an array module, and reuse it while its guards hold.

Layout: ``ir`` (the graph), ``tracer`` (+ ``_patches``: where values leave the op table),
``guards``, ``passes/`` (one file per pass), ``codegen``, ``artefact`` (one compiled
variant: forward and backward programs), ``api`` (``chainrule.compile``).  See
docs/compile.md.
"""

from __future__ import annotations

import sys
import types
from typing import Any

from .api import Compiled, compile, config, reset

__all__ = ["compile", "Compiled", "config", "reset"]


class _CallablePackage(types.ModuleType):
    """``chainrule.compile`` is both this package and PyTorch's function: calling the package
    calls ``api.compile``, so ``chainrule.compile(model)`` and ``import chainrule.compile.ir``
    both work."""

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return compile(*args, **kwargs)


sys.modules[__name__].__class__ = _CallablePackage
