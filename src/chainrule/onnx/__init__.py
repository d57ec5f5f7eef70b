"""``chainrule.onnx``: export a model to ONNX from the graph the compiler's tracer records.

``export(model, args, f)`` runs the model once on ``args`` under the tracer (the forward
only, in whatever mode the model is in: call ``model.eval()`` first, as in PyTorch), and
lowers each primitive of the recorded graph to ONNX nodes through one table
(``_lower.LOWERINGS``).  Parameters and buffers become initializers named by their
``state_dict`` names.  The graph records concrete shapes; for ``dynamic_axes`` the model is
traced a second time with those dims at other sizes, and every size that differs between
the two traces is read at run time (``Shape``) instead of being written into the file.

Layout: ``_export`` (the function), ``_trace`` (the traces), ``_builder`` (the ONNX graph
being built), ``_lower`` (the table), ``_elementwise`` and ``_shape`` (its builders), all
imported on first use.  The ``onnx`` package is an extra (``pip install "chainrule[onnx]"``),
imported only when exporting.
"""

from __future__ import annotations

import threading
from typing import Any

__all__ = ["export", "is_in_onnx_export", "supported_primitives", "ExportError"]

state = threading.local()  # depth > 0 while this thread's model runs for an export


def is_in_onnx_export() -> bool:
    """True while ``chainrule.onnx.export`` runs the model (in the exporting thread)."""
    return bool(getattr(state, "depth", 0))


def __getattr__(name: str) -> Any:
    """The exporter is imported on first use: ``import chainrule`` does not pay for it."""
    if name in ("export", "supported_primitives"):
        from . import _export

        return getattr(_export, name)
    if name == "ExportError":
        from ._builder import ExportError

        return ExportError
    raise AttributeError(f"module 'chainrule.onnx' has no attribute {name!r}")
