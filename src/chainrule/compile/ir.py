"""The IR: a graph is a list of nodes, each one primitive call on earlier nodes.

A node reads ``Ref``s to earlier nodes and constants.  Kinds of node:

- ``input``: the k-th tensor argument of the compiled function;
- ``external``: a tensor the function reads but did not receive (a parameter, a buffer,
  a closure); it is read by reference on every call, so parameter updates are seen;
- ``grad``: the cotangent of the k-th output (the backward's input);
- ``random``: a dropout scale drawn from chainrule's generator on every call;
- ``op``: one ``Primitive`` of the op table, ``prim.forward(*args, **params)``.

``phase`` says whether the node was traced in the forward or in the backward (the
derivative rules, traced by running them on tensors), so one joint graph holds both.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = ["Ref", "Node", "Graph", "CONST"]


class _Const:
    """A primitive-like constant node: a tensor made inside the function (a factory's value,
    or the value a function-local buffer started with), copied on every call."""

    name = "Constant"
    public = "constant"

    @staticmethod
    def forward(value: np.ndarray) -> np.ndarray:
        return value.copy()


CONST = _Const()


class Ref:
    """An edge: the value of node ``i``."""

    __slots__ = ("i",)

    def __init__(self, i: int) -> None:
        self.i = i

    def __repr__(self) -> str:
        return f"v{self.i}"


@dataclass
class Node:
    i: int
    kind: str  # input | external | grad | random | op
    prim: Any = None
    args: tuple = ()
    params: dict = field(default_factory=dict)
    shape: tuple = ()
    dtype: Any = None
    phase: str = "fwd"
    line: str = ""
    extra: Any = None  # input/grad position, the external tensor, the dropout p
    c_order: bool | None = None  # the traced value was C-ordered (passes/memory.py); None: unknown

    @property
    def name(self) -> str:
        return f"v{self.i}"

    def refs(self) -> list[int]:
        out = [a.i for a in self.args if isinstance(a, Ref)]
        for v in self.params.values():  # index arrays passed as edges (tracer._index_params)
            for a in v if isinstance(v, tuple) else (v,):
                if isinstance(a, Ref):
                    out.append(a.i)
        return out

    def label(self) -> str:
        if self.kind == "op":
            return self.prim.name
        return self.kind

    # FX's names for the same fields (chainrule.fx): op, target, kwargs
    @property
    def op(self) -> str:
        return _FX_OPS.get(self.kind, self.kind)

    @property
    def target(self) -> Any:
        return self.prim if self.kind == "op" else self.kind

    @target.setter
    def target(self, prim: Any) -> None:
        self.prim = prim

    @property
    def kwargs(self) -> dict:
        return self.params


_FX_OPS = {
    "input": "placeholder",
    "grad": "placeholder",
    "external": "get_attr",
    "op": "call_function",
    "random": "call_function",
}


@dataclass
class Graph:
    """Nodes in execution order plus what the compiled function returns and checks.

    ``outputs``: refs (or constants) of the forward's results, flattened.  ``grads``: per
    differentiable source, the ref of its gradient (None: unused).  ``checks``: value reads
    by Python (graph breaks), ``(node, how, value, line)``.  ``effects``: writes done after
    the forward (running statistics, counters, prints), and, in trace order, ``.grad``
    stores and optimizer/scheduler steps (``("call", (obj, "step"), ())``)."""

    nodes: list[Node] = field(default_factory=list)
    outputs: list = field(default_factory=list)
    grads: list = field(default_factory=list)
    checks: list = field(default_factory=list)
    effects: list = field(default_factory=list)

    def add(self, kind: str, **kw: Any) -> Node:
        n = Node(len(self.nodes), kind, **kw)
        self.nodes.append(n)
        return n

    def live(self) -> list[Node]:
        return [n for n in self.nodes if n is not None]

    def roots(self) -> set[int]:
        """Nodes the outside world reads: outputs, gradients, checked values, effects."""
        out = {a.i for a in self.outputs if isinstance(a, Ref)}
        out |= {g.i for g in self.grads if isinstance(g, Ref)}
        out |= {c[0] for c in self.checks}
        for e in self.effects:
            out |= {a.i for a in e[2] if isinstance(a, Ref)}
        return out

    def replace_uses(self, old: int, new: Any) -> None:
        """Every reader of node ``old`` reads ``new`` (a Ref or constant) instead."""

        def sub(a: Any) -> Any:
            return new if isinstance(a, Ref) and a.i == old else a

        for n in self.live():
            n.args = tuple(sub(a) for a in n.args)
            if n.params:
                n.params = {
                    k: tuple(sub(a) for a in v) if isinstance(v, tuple) else sub(v)
                    for k, v in n.params.items()
                }
        self.outputs = [sub(a) for a in self.outputs]
        self.grads = [sub(a) for a in self.grads]
        self.effects = [(k, t, tuple(sub(a) for a in args)) for k, t, args in self.effects]
        if isinstance(new, Ref):
            self.checks = [(new.i if c[0] == old else c[0], *c[1:]) for c in self.checks]

    def table(self) -> str:
        """The graph as a table: one row per node (what ``print(graph)`` shows)."""
        rows = [("node", "phase", "op", "inputs", "params", "shape", "dtype")]
        for n in self.live():
            ins = ", ".join(_show(a) for a in n.args)
            if n.kind == "input" or n.kind == "grad":
                ins = f"#{n.extra}"
            elif n.kind == "external":
                ins = "by reference"
            params = ", ".join(f"{k}={_show(v)}" for k, v in n.params.items())
            if n.kind == "random":
                params = f"p={n.extra}"
            rows.append((n.name, n.phase, n.label(), ins, params, str(tuple(n.shape)), str(n.dtype)))
        widths = [max(len(r[k]) for r in rows) for k in range(len(rows[0]))]
        lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows]
        lines.insert(1, "  ".join("-" * w for w in widths))
        lines.append(f"outputs: {', '.join(_show(a) for a in self.outputs)}")
        if self.grads:
            lines.append(f"gradients: {', '.join(_show(a) for a in self.grads)}")
        for node, how, value, line in self.checks:
            lines.append(f"graph break: {how}(v{node}) == {value!r}  ({line})")
        for kind, target, args in self.effects:
            lines.append(f"effect: {_effect(kind, target, args)}")
        return "\n".join(lines)

    __str__ = table

    def to_dot(self, digraph: Any) -> Any:
        """The graph as a ``graphviz.Digraph`` (``chainrule.viz.draw(graph)``): forward nodes in
        blue, backward nodes in orange, inputs and gradients as ovals."""
        dot = digraph(graph_attr={"rankdir": "TB"}, node_attr={"fontname": "Helvetica", "fontsize": "10"})
        colour = {"fwd": "#dbeafe", "bwd": "#fde2c8"}
        for n in self.live():
            shape = "oval" if n.kind in ("input", "grad", "external") else "box"
            label = f"{n.name}: {n.label()}\n{tuple(n.shape)}"
            dot.node(n.name, label, shape=shape, style="filled", fillcolor=colour.get(n.phase, "white"))
            for r in n.refs():
                dot.edge(f"v{r}", n.name)
        for k, a in enumerate(self.outputs):
            if isinstance(a, Ref):
                dot.node(f"out{k}", f"output {k}", shape="plaintext")
                dot.edge(a.name if hasattr(a, "name") else repr(a), f"out{k}")
        for k, g in enumerate(self.grads):
            if isinstance(g, Ref):
                dot.node(f"grad{k}", f"gradient {k}", shape="plaintext")
                dot.edge(repr(g), f"grad{k}")
        return dot


def _effect(kind: str, target: Any, args: tuple) -> str:
    values = ", ".join(_show(a) for a in args)
    if kind == "call":
        return f"{type(target[0]).__name__}.{target[1]}()"
    if kind in ("grad", "grad_into"):
        leaf = f"input {target}" if isinstance(target, int) else f"tensor{tuple(target.shape)}"
        how = {"grad": "=", "grad_into": "written with"}[kind]
        return f"{leaf}.grad {how} {values or 'None'}"
    return f"{kind} {target if kind != 'print' else ''} {values}".rstrip()


def _show(a: Any) -> str:
    if isinstance(a, Ref):
        return repr(a)
    if isinstance(a, np.ndarray):
        return f"const{tuple(a.shape)}" if a.size > 4 else f"const({a.tolist()})"
    if isinstance(a, float):
        return repr(a)
    return repr(a) if len(repr(a)) < 30 else type(a).__name__
