"""``chainrule.onnx``: importable, so that code which imports it runs; export is not built yet.

ONNX export needs the compiler's traced graph and the ``onnx`` package; until it exists,
``export`` says so instead of writing a file that would not match the model.
"""

from __future__ import annotations

from typing import Any

__all__ = ["export", "is_in_onnx_export"]


def export(model: Any, args: Any = (), f: Any = None, **kwargs: Any) -> None:
    raise RuntimeError(
        "chainrule.onnx.export(): ONNX export is not available in this version of chainrule; "
        "save the weights with chainrule.save(model.state_dict(), path) and load them into the "
        "exporting framework instead"
    )


def is_in_onnx_export() -> bool:
    return False
