"""Dead-code elimination: drop op nodes no output, gradient, check or effect depends on.

Random nodes stay even when unused: eager drew from the generator, so the compiled code
must draw too (the stream after the call must be the same)."""

from __future__ import annotations

from ..ir import Graph

__all__ = ["dce"]


def dce(graph: Graph) -> Graph:
    live = graph.roots()
    for n in reversed(graph.nodes):
        if n is None:
            continue
        if n.i in live or n.kind != "op":
            live.add(n.i)
            live.update(n.refs())
    graph.nodes = [n if n is not None and n.i in live else None for n in graph.nodes]
    return graph
