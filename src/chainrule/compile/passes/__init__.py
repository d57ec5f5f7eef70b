"""Optimisation passes over the IR, each a function ``graph -> graph`` in its own module.

They run in ``PIPELINE`` order; ``run_passes(graph, trace=...)`` can record the graph
after each one (what ``docs/compile.md`` and ``chainrule.compiler.explain`` show).
"""

from __future__ import annotations

from typing import Callable

from ..ir import Graph
from .cse import cse
from .dce import dce
from .fold import fold
from .simplify import simplify

__all__ = ["PIPELINE", "run_passes", "dce", "cse", "fold", "simplify"]

PIPELINE: list[tuple[str, Callable[[Graph], Graph]]] = [
    ("constant folding", fold),
    ("algebraic simplification", simplify),
    ("common subexpressions", cse),
    ("dead code", dce),
]


def run_passes(graph: Graph, trace: list | None = None) -> Graph:
    """Apply every pass in order; with ``trace`` a list, append (name, table after it)."""
    for name, p in PIPELINE:
        graph = p(graph)
        if trace is not None:
            trace.append((name, graph.table()))
    return graph
