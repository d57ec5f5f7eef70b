"""Algebraic simplification: ``x*1``, ``x+0``, ``x-0``, ``x/1``, a reshape to the same
shape, a transpose of a transpose.  A node is replaced by its input only when shape and
dtype agree (``x*1`` that broadcasts or promotes is kept) and it is not itself returned
(the result must not share memory with an input where eager's would not)."""

from __future__ import annotations

from typing import Any

from ..ir import Graph, Node, Ref

__all__ = ["simplify"]

_IDENTITY = {"Mul": 1, "Add": 0, "Sub": 0, "Div": 1}


def _is(a: Any, v: float) -> bool:
    return isinstance(a, (int, float)) and not isinstance(a, bool) and a == v


def _same(graph: Graph, n: Node, a: Any) -> bool:
    if not isinstance(a, Ref):
        return False
    src = graph.nodes[a.i]
    return src is not None and tuple(src.shape) == tuple(n.shape) and src.dtype == n.dtype


def _simpler(graph: Graph, n: Node) -> Ref | None:
    name, args = n.prim.name, n.args
    if name in _IDENTITY and len(args) == 2 and not n.params:
        unit = _IDENTITY[name]
        if _is(args[1], unit) and _same(graph, n, args[0]):
            return args[0]
        if name in ("Mul", "Add") and _is(args[0], unit) and _same(graph, n, args[1]):
            return args[1]
    if name in ("View", "Reshape") and _same(graph, n, args[0]):
        return args[0]
    if name == "Transpose" and isinstance(args[0], Ref):
        src = graph.nodes[args[0].i]
        if (
            src is not None
            and src.kind == "op"
            and src.prim.name == "Transpose"
            and _dims(src) == _dims(n)
            and _same(graph, n, src.args[0])
        ):
            return src.args[0]
    return None


def _dims(n: Node) -> Any:
    return tuple(sorted(n.params.values(), key=repr))


def simplify(graph: Graph) -> Graph:
    keep = {a.i for a in graph.outputs if isinstance(a, Ref)} | {
        g.i for g in graph.grads if isinstance(g, Ref)
    }
    for n in graph.nodes:
        if n is None or n.kind != "op" or n.i in keep:
            continue
        r = _simpler(graph, n)
        if r is not None:
            graph.replace_uses(n.i, r)
            graph.nodes[n.i] = None
    return graph
