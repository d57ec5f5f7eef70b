"""Algebraic simplification: ``x*1``, ``x+0``, ``x-0``, ``x/1``, a reshape to the same
shape, a permutation of dimensions undone by the next
(``x.t().t()``, ``x.permute(p).permute(q)``).  A node is replaced by its input only when shape and
dtype agree (``x*1`` that broadcasts or promotes is kept) and it is not itself returned
(the result must not share memory with an input where eager's would not).

An operand of a broadcasting elementwise op that is a 0-d value reshaped and expanded
(``sum``'s backward: ``g.view(1).expand(n)``) is read as the 0-d value itself where the other
operands already give the result's shape: broadcasting gives the same elements, and the
expand (and a fused loop's copy of it) is gone."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..ir import Graph, Node, Ref

__all__ = ["simplify"]

_IDENTITY = {"Mul": 1, "Add": 0, "Sub": 0, "Div": 1}
_PERMUTES = ("Permute", "Transpose", "T")  # one forward (np.transpose with dims), three names


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
    if name in _PERMUTES:  # a permutation undone by the next: p[q[i]] == i
        src = _op(graph, args[0], _PERMUTES)
        if src is not None and _same(graph, n, src.args[0]):
            p, q = src.params["dims"], n.params["dims"]
            if all(p[j] == i for i, j in enumerate(q)):
                return src.args[0]
    return None


def _op(graph: Graph, a: Any, names: tuple) -> Node | None:
    """The op node ``a`` refers to, if its primitive is one of ``names``."""
    n = graph.nodes[a.i] if isinstance(a, Ref) else None
    return n if n is not None and n.kind == "op" and getattr(n.prim, "name", None) in names else None


def _scalar_source(graph: Graph, a: Any) -> Ref | None:
    """The 0-d value that ``a`` expands (through views and reshapes), if it is one."""
    n = _op(graph, a, ("Expand",))
    if n is None:
        return None
    src = n.args[0]
    while (v := _op(graph, src, ("View", "Reshape"))) is not None:
        src = v.args[0]
    if isinstance(src, Ref) and graph.nodes[src.i] is not None and tuple(graph.nodes[src.i].shape) == ():
        return src
    return None


def _unexpand(graph: Graph, n: Node) -> None:
    """Read expanded 0-d operands of a broadcasting elementwise ``n`` as 0-d (module docstring)."""
    for k, a in enumerate(n.args):
        src = _scalar_source(graph, a)
        if src is None:
            continue
        others = [
            tuple(graph.nodes[b.i].shape) for j, b in enumerate(n.args) if j != k and isinstance(b, Ref)
        ]
        if others and np.broadcast_shapes(*others) == tuple(n.shape):
            n.args = n.args[:k] + (src,) + n.args[k + 1 :]


def simplify(graph: Graph) -> Graph:
    keep = {a.i for a in graph.outputs if isinstance(a, Ref)} | {
        g.i for g in graph.grads if isinstance(g, Ref)
    }
    for n in graph.nodes:
        if n is None or n.kind != "op":
            continue
        if getattr(n.prim, "broadcasts", False):
            _unexpand(graph, n)
        if n.i in keep:
            continue
        r = _simpler(graph, n)
        if r is not None:
            graph.replace_uses(n.i, r)
            graph.nodes[n.i] = None
    return graph
