"""``draw``: a Graphviz picture of the graph behind some tensors.

The backward picture (default) shows what ``backward()`` walks: each op node
named like its ``grad_fn`` (``MulBackward0``), arrows along ``next_functions``
from the outputs down to the leaves, each arrow labelled with the shape of the
gradient it carries.  ``forward=True`` shows the same DAG the other way up, as
the computation ran: inputs -> ops -> outputs, with inputs that need no
gradient drawn as grey constants when the graph still knows them.

``graphviz`` (the ``viz`` extra) is imported only when ``draw`` is called; the
``dot`` program is needed only to render, so ``draw`` works without it and
``.source`` gives the DOT text.
"""

from __future__ import annotations

import warnings
from typing import Any, Iterable, Mapping

import numpy as np

from .._tensor import Tensor
from ..autograd.graph import Node
from . import _collapse
from ._walk import CONST, LEAF, OP, Vertex, names_by_id, walk

__all__ = ["draw", "GraphvizNotFound", "INSTALL_HINT"]

INSTALL_HINT = (
    "Install Graphviz (the program, not only the Python package): `apt-get install graphviz` "
    "on Debian/Ubuntu, `brew install graphviz` on macOS, `conda install graphviz`, or see "
    "https://graphviz.org/download/. The DOT source is still available as `.source`."
)

# Fill colours: leaves that require grad, outputs, op nodes, constants.
LEAF_COLOR, ROOT_COLOR, OP_COLOR, CONST_COLOR = "lightblue", "darkolivegreen1", "lightgrey", "white"
# Backward steps, first to last (a light-to-dark yellow/orange/red ramp that keeps black text legible).
STEP_COLORS = ("#ffffcc", "#ffeda0", "#fed976", "#feb24c", "#fd8d3c", "#fc4e2a")
LARGE = 2000  # above this many vertices, suggest collapse=True


class GraphvizNotFound(RuntimeError):
    """Rendering needs the Graphviz ``dot`` program and it is not installed."""


def _graphviz() -> Any:
    try:
        import graphviz
    except ImportError as exc:
        raise ImportError(
            'chainrule.viz.draw needs the graphviz Python package: pip install "chainrule[viz]" '
            "(and the Graphviz program itself: apt-get install graphviz / brew install graphviz)"
        ) from exc
    return graphviz


_DIGRAPH: type | None = None


def _digraph_class() -> type:
    """A ``graphviz.Digraph`` whose rendering errors say how to install Graphviz."""
    global _DIGRAPH
    if _DIGRAPH is not None:
        return _DIGRAPH
    graphviz = _graphviz()

    class Digraph(graphviz.Digraph):
        def _explain(self, exc: Exception) -> GraphvizNotFound:
            return GraphvizNotFound(f"rendering failed: the Graphviz program `dot` was not "
                                    f"found ({exc}). {INSTALL_HINT}")

        def pipe(self, *args: Any, **kwargs: Any) -> Any:
            try:
                return super().pipe(*args, **kwargs)
            except graphviz.ExecutableNotFound as exc:
                raise self._explain(exc) from exc

        def render(self, *args: Any, **kwargs: Any) -> Any:
            try:
                return super().render(*args, **kwargs)
            except graphviz.ExecutableNotFound as exc:
                raise self._explain(exc) from exc

    Digraph.__name__ = Digraph.__qualname__ = "Digraph"
    _DIGRAPH = Digraph
    return Digraph


def _fmt_shape(shape: Any) -> str:
    return "(?)" if shape is None else str(tuple(shape))


def _fmt_dtype(dtype: Any) -> str:
    return "" if dtype is None else str(np.dtype(dtype))


def _fmt_value(v: Any) -> str:
    """A saved value or constant in a few characters."""
    if isinstance(v, Tensor):
        v = v._data
    if isinstance(v, np.ndarray):
        if v.size == 1:
            return f"{v.item():.4g}"
        return f"{tuple(v.shape)} {v.dtype}"
    if isinstance(v, float):
        return f"{v:.4g}"
    return str(v)


def _step_numbers(steps: Any) -> dict[int, int]:
    """``{id(node or leaf): step}``: when each node ran and when each leaf got its last gradient."""
    if steps is None:
        return {}
    if isinstance(steps, Mapping):
        return {id(k): int(v) for k, v in steps.items()}
    out: dict[int, int] = {}
    for k, step in enumerate(steps):
        out[id(step.node)] = k
        for target, _ in step.grads_out:
            if not isinstance(target, Node):
                out[id(target)] = k
    return out


def _step_color(k: int, last: int) -> str:
    i = 0 if last <= 0 else round(k * (len(STEP_COLORS) - 1) / last)
    return STEP_COLORS[i]


def _saved_lines(node: Node, leaf_names: dict[int, str], node_names: dict[int, str]) -> list[str]:
    """``name: value`` per saved value; a saved tensor that has a name is shown by its name."""
    if node.saved is None:
        return ["(saved values freed by backward)"]
    lines = []
    for k, v in node.saved_values.items():
        who = None
        if isinstance(v, Tensor):
            who = node_names.get(id(v.grad_fn)) if v.grad_fn is not None else leaf_names.get(id(v))
        lines.append(f"{k} ({who}): {_fmt_value(v)}" if who else f"{k}: {_fmt_value(v)}")
    return lines


def draw(
    *tensors: Tensor,
    params: Mapping[str, Tensor] | Iterable[tuple[str, Tensor]] | None = None,
    show_saved: bool = False,
    forward: bool = False,
    collapse: bool = False,
    steps: Any = None,
    graph_attr: Mapping[str, str] | None = None,
) -> Any:
    """A ``graphviz.Digraph`` of the graph behind ``tensors``.

    ``params``: ``{name: tensor}`` (e.g. ``dict(model.named_parameters())`` or
    your variables) to label leaves and intermediate results.  ``show_saved``:
    list what each op kept for backward.  ``forward``: draw the forward
    computation instead.  ``collapse``: fold repeated blocks into clusters
    (for 10^4+ node graphs).  ``steps``: the result of ``trace_backward``, to
    colour nodes by the backward step at which they ran.

    >>> z = (chainrule.dot(x, w) - y) ** 2
    >>> draw(z, params={"w": w}).render("graph", format="svg")
    """
    Digraph = _digraph_class()
    if len(tensors) == 1 and hasattr(tensors[0], "to_dot"):  # a compiled graph (chainrule.compile's IR)
        return tensors[0].to_dot(Digraph)
    w = walk(tensors, constants=forward)
    vs = w.vertices
    if len(vs) > LARGE and not collapse:
        warnings.warn(f"draw(): the graph has {len(vs)} nodes and may take Graphviz a long time "
                      "to lay out; pass collapse=True to fold repeated structure", stacklevel=2)
    leaf_names, node_names = names_by_id(params)
    step_of = _step_numbers(steps)
    last_step = max(step_of.values(), default=0)
    fold = _plan(vs, w.roots) if collapse else _collapse.Plan()
    rep = fold.rep

    attrs = {"rankdir": "TB", "fontname": "Helvetica", "nodesep": "0.3", "ranksep": "0.35"}
    attrs.update(graph_attr or {})
    dot = Digraph(graph_attr=attrs,
                  node_attr={"fontname": "Helvetica", "fontsize": "11", "style": "filled",
                             "shape": "box", "height": "0.2"},
                  edge_attr={"fontname": "Helvetica", "fontsize": "9", "arrowsize": "0.7"})

    def vid(i: int) -> str:
        return f"v{i}"

    def vertex_attrs(v: Vertex) -> dict[str, str]:
        step = step_of.get(id(v.obj))
        if v.kind == OP:
            name = node_names.get(id(v.obj))
            title = v.obj.op.public if forward and v.obj.op is not None else v.obj.name()
            lines = [f"{name} = {title}" if forward and name else title]
            if name and not forward:
                lines.append(f"({name})")
            if show_saved:
                lines += _saved_lines(v.obj, leaf_names, node_names)
            a = {"fillcolor": OP_COLOR, "shape": "ellipse" if forward else "box"}
        elif v.kind == LEAF:
            name = leaf_names.get(id(v.obj))
            lines = ([name] if name else []) + [f"{_fmt_shape(v.shape)} {_fmt_dtype(v.dtype)}"]
            a = {"fillcolor": LEAF_COLOR}
        else:
            name = leaf_names.get(id(v.obj)) if isinstance(v.obj, Tensor) else None
            if name:
                lines = [name, f"{_fmt_shape(v.shape)} {_fmt_dtype(v.dtype)}"]
            elif v.obj is not None and not isinstance(v.obj, Tensor):
                lines = [f"constant {_fmt_value(v.obj)}"]
            else:
                lines = ["constant", _fmt_shape(v.shape)] if v.shape is not None else ["constant"]
            a = {"fillcolor": CONST_COLOR, "style": "filled,dashed", "fontcolor": "gray30"}
        if step is not None:
            lines.append(f"step {step}")
            a["fillcolor"] = _step_color(step, last_step)
        a["label"] = "\n".join(lines).strip()
        return a

    # clusters for folded runs, then every vertex that is drawn
    in_run: set[int] = set()
    for r_id, run in enumerate(fold.runs):
        with dot.subgraph(name=f"cluster_{r_id}") as c:
            c.attr(label=_run_label(run, vs, leaf_names, node_names), style="rounded,dashed",
                   color="gray40", fontname="Helvetica", fontsize="10")
            for i in run.shown:
                in_run.add(i)
                c.node(vid(i), **vertex_attrs(vs[i]))
    for i, v in enumerate(vs):
        if i not in rep and i not in in_run:
            dot.node(vid(i), **vertex_attrs(v))

    seen: set[tuple[int, int, int]] = set()
    for i, v in enumerate(vs):
        for slot, j in v.parents:
            ci, pj = rep.get(i, i), rep.get(j, j)
            key = (ci, slot, pj)
            if key in seen:
                continue
            seen.add(key)
            label = _fmt_shape(vs[j].shape) if vs[j].shape is not None else ""
            e: dict[str, str] = {"label": f" {label}" if label else ""}
            bi, bj = fold.block.get(i), fold.block.get(j)
            if bi and bj and bi[0] == bj[0] and bi[1] != bj[1]:  # wraps around a folded run
                e.update(style="dashed", color="gray40",
                         label=f" {label} ×{fold.runs[bi[0]].repeats}", constraint="false")
            if forward:
                dot.edge(vid(pj), vid(ci), **e)
            else:
                dot.edge(vid(ci), vid(pj), **e)
    for k, (t, i) in enumerate(w.roots):
        name = node_names.get(id(t.grad_fn)) if t.grad_fn is not None else leaf_names.get(id(t))
        if t.grad_fn is None and i is not None:
            continue  # the output is itself a leaf: its box is already there
        label = f"{name or 'output'}\n{_fmt_shape(t._data.shape)} {_fmt_dtype(t._data.dtype)}"
        if i is None:
            label += "\n(no graph: needs no grad)"
        dot.node(f"out{k}", label=label, fillcolor=ROOT_COLOR, style="filled,bold")
        if i is None:
            continue
        j = rep.get(i, i)
        edge_label = f" {_fmt_shape(t._data.shape)}"
        if forward:
            dot.edge(vid(j), f"out{k}", label=edge_label)
        else:
            dot.edge(f"out{k}", vid(j), label=edge_label)
    return dot


def _plan(vs: list[Vertex], roots: list[tuple[Tensor, int | None]]) -> _collapse.Plan:
    parents = [[j for _, j in v.parents] for v in vs]
    tokens = [
        (v.kind, type(v.obj).__name__ if v.kind == OP else
         _fmt_value(v.obj) if v.kind == CONST and not isinstance(v.obj, Tensor) else None,
         v.shape, v.dtype, tuple(s for s, _ in v.parents))
        for v in vs
    ]
    return _collapse.plan(parents, tokens, [i for _, i in roots if i is not None])


def _block_name(block: list[int], vs: list[Vertex], leaf_names: dict, node_names: dict) -> str:
    """The module path of the first named parameter in a block (``layers.3.weight`` -> ``layers.3``)."""
    for i in block:
        obj = vs[i].obj
        name = node_names.get(id(obj)) if vs[i].kind == OP else leaf_names.get(id(obj))
        if name:
            return name.rsplit(".", 1)[0] if "." in name else name
    return ""


def _run_label(run: _collapse.Run, vs: list[Vertex], leaf_names: dict, node_names: dict) -> str:
    ops = sum(1 for i in run.shown if vs[i].kind == OP)
    first = _block_name(run.shown, vs, leaf_names, node_names)  # the copy nearest the inputs
    last = _block_name(run.first_block, vs, leaf_names, node_names)
    where = f"{first} … {last}: " if first and last and first != last else ""
    return f"{where}block of {ops} op{'s' if ops != 1 else ''} repeated ×{run.repeats}"
