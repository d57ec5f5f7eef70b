"""``chainrule.viz``: see the computational graph.

- ``draw(*tensors, ...)``: a Graphviz picture of the backward (or forward) graph.
- ``explain(f, *inputs)``: the chain-rule decomposition of ``f``, checked by finite differences.
- ``trace_backward(loss)``: the backward pass one node at a time.

Only NumPy is imported here; ``graphviz`` (the ``viz`` extra) is imported when
``draw`` is called.
"""

from __future__ import annotations

from .explain import Explanation, explain
from .graph import INSTALL_HINT, GraphvizNotFound, draw
from .trace import BackwardTrace, Step, trace_backward

__all__ = [
    "draw",
    "GraphvizNotFound",
    "INSTALL_HINT",
    "explain",
    "Explanation",
    "trace_backward",
    "Step",
    "BackwardTrace",
]
