"""``chainrule.fx``: PyTorch FX's names at PyTorch's path (the code is ``compile/fx.py``)."""

from __future__ import annotations

from .compile.fx import FxGraph as Graph
from .compile.fx import GraphModule, primitive, symbolic_trace
from .compile.ir import Node

__all__ = ["symbolic_trace", "GraphModule", "Graph", "Node", "primitive"]
