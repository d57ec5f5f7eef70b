"""Common-subexpression elimination: the same primitive on the same inputs and parameters
is computed once.  Random nodes are never merged (each is its own draw)."""

from __future__ import annotations

from typing import Any

from ..ir import Graph, Ref

__all__ = ["cse"]


def _key(a: Any) -> Any:
    if isinstance(a, Ref):
        return ("ref", a.i)
    if isinstance(a, (int, float, bool, str, type(None))):
        return (type(a).__name__, a)
    if isinstance(a, tuple):
        return tuple(_key(x) for x in a)
    return ("id", id(a))


def cse(graph: Graph) -> Graph:
    seen: dict[Any, int] = {}
    for n in graph.nodes:
        if n is None or n.kind != "op":
            continue
        key = (
            n.prim.name,
            tuple(_key(a) for a in n.args),
            tuple((k, _key(v)) for k, v in sorted(n.params.items())),
            n.phase == "fwd",
        )
        first = seen.get(key)
        if first is None:
            seen[key] = n.i
        else:
            graph.replace_uses(n.i, Ref(first))
            graph.nodes[n.i] = None
    return graph
