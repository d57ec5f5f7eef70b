"""``chainrule.fx``: the traced graph as an editable ``GraphModule``, PyTorch FX's way.

``symbolic_trace(module_or_fn)`` records the forward into the compiler's IR and wraps it
in a ``GraphModule``.  Its ``graph`` iterates over nodes with FX's fields (``op`` is
``placeholder``, ``get_attr``, ``call_function`` or ``output``; ``target``, ``args``,
``kwargs``, ``name``, ``users``) and can be edited (change a node's ``target`` to another
primitive, rewire ``args``, ``erase_node``); ``recompile()`` regenerates ``code``.  Running
a GraphModule calls every node through the op table's ``apply``, so autograd records it
like eager code: gradients flow through an edited graph too.

The trace needs concrete inputs (the IR records shapes): pass ``example_inputs``; for a
module without them, an input is made from its first layer (``Linear.in_features``,
``Conv*.in_channels``, ``Embedding``), batch 2.  Calls with other shapes retrace from
the Python code while the graph is unedited.
"""

from __future__ import annotations

from typing import Any, Callable, Iterator

import numpy as np

from .._tensor import Tensor, wrap
from ..autograd.grad_mode import no_grad
from ..func._pytree import tree_flatten, tree_unflatten
from ..ops._core import PRIMITIVES, apply
from .artefact import build
from .codegen import _Emitter
from .ir import Graph, Node, Ref

__all__ = ["symbolic_trace", "GraphModule", "FxGraph"]

_FX_OP = {"input": "placeholder", "external": "get_attr", "op": "call_function", "random": "call_function"}


class FxGraph:
    """An FX-style view of the forward IR: iterable, printable, editable."""

    def __init__(self, graph: Graph, attr_names: dict[int, str], input_names: list[str]) -> None:
        self.ir = graph
        self.attr_names = attr_names  # node index -> qualified attribute name
        self.input_names = input_names

    @property
    def nodes(self) -> list[Node]:
        return [n for n in self.ir.live() if n.kind != "grad" and n.phase == "fwd"]

    def __iter__(self) -> Iterator[Node]:
        return iter(self.nodes)

    def __len__(self) -> int:
        return len(self.nodes) + 1

    def users(self, node: Node) -> list[Node]:
        return [n for n in self.nodes if node.i in n.refs()]

    def erase_node(self, node: Node) -> None:
        """Remove a node no other node reads (FX's rule)."""
        if self.users(node) or any(isinstance(a, Ref) and a.i == node.i for a in self.ir.outputs):
            raise RuntimeError(f"Tried to erase Node {node.name} but it still had users in the graph")
        self.ir.nodes[node.i] = None

    def replace_all_uses_with(self, old: Node, new: Node) -> None:
        self.ir.replace_uses(old.i, Ref(new.i))

    def op_name(self, n: Node) -> str:
        return _FX_OP.get(n.kind, n.kind)

    def target_of(self, n: Node) -> str:
        if n.kind == "input":
            return self.input_names[n.extra]
        if n.kind == "external":
            return self.attr_names.get(n.i, f"_tensor_constant{n.i}")
        if n.kind == "random":
            return "dropout_scale"
        return n.prim.public

    def lint(self) -> None:
        """Every node reads only earlier, live nodes."""
        seen: set[int] = set()
        for n in self.nodes:
            for r in n.refs():
                if r not in seen:
                    raise RuntimeError(f"node {n.name} reads v{r}, which is not defined before it")
            seen.add(n.i)

    def __str__(self) -> str:
        lines = ["graph():"]
        for n in self.nodes:
            args = ", ".join(repr(a) if isinstance(a, Ref) else _short(a) for a in n.args)
            kw = ", ".join(f"{k}: {_short(v)}" for k, v in n.params.items())
            tgt = self.target_of(n)
            lines.append(
                f"    %{n.name} : [num_users={len(self.users(n))}] = "
                f"{self.op_name(n)}[target={tgt}](args = ({args}), kwargs = {{{kw}}})"
            )
        outs = ", ".join(repr(a) if isinstance(a, Ref) else _short(a) for a in self.ir.outputs)
        lines.append(f"    return ({outs})")
        return "\n".join(lines)

    __repr__ = __str__

    def print_tabular(self) -> None:
        print(self.ir.table())


def _short(v: Any) -> str:
    if isinstance(v, np.ndarray):
        return f"array{tuple(v.shape)}"
    r = repr(v)
    return r if len(r) <= 40 else type(v).__name__


def _source(g: FxGraph) -> tuple[str, dict]:
    """Python over ``apply``: one line per node, so autograd records every op."""
    em = _Emitter()
    em.ns["apply"] = apply
    em.ns["_random"] = _random_scale
    params = ", ".join(["self"] + g.input_names)
    lines = [f"def forward({params}):"]
    for n in g.nodes:
        if n.kind == "input":
            lines.append(f"    {n.name} = {g.input_names[n.extra]}")
        elif n.kind == "external":
            lines.append(f"    {n.name} = self._attr({g.target_of(n)!r})")
        elif n.kind == "random":
            lines.append(f"    {n.name} = _random({n.shape!r}, {n.extra!r}, {em.const(n.dtype, 'dt')})")
        else:
            prim = em.const(n.prim, "prim_")
            args = "".join(f"{em.arg(a)}, " for a in n.args)
            kw = ", ".join(f"{k!r}: {em.const(v)}" for k, v in n.params.items())
            lines.append(f"    {n.name} = apply({prim}, ({args}), {{{kw}}})  # {n.prim.public}")
    outs = "".join(f"{em.arg(a)}, " for a in g.ir.outputs)
    lines.append(f"    return ({outs})")
    return "\n".join(lines) + "\n", em.ns


def _random_scale(shape: tuple, p: float, dtype: Any) -> np.ndarray:
    from .codegen import _dropout_scale

    return _dropout_scale(np, shape, p, dtype)


def _module_type() -> type:
    from ..nn.module import Module

    class GraphModule(Module):
        """A module whose forward is generated from ``graph`` (see the module docstring)."""

        def __init__(self, root: Any, graph: FxGraph, out_spec: Any, retrace: Callable | None) -> None:
            super().__init__()
            if isinstance(root, Module):
                for name, child in root.named_children():
                    self.add_module(name, child)
                for name, p in root._parameters.items():
                    self._parameters[name] = p
                for name, b in root._buffers.items():
                    self._buffers[name] = b
            self.__dict__["_root"] = root
            self.__dict__["graph"] = graph
            self.__dict__["_out_spec"] = out_spec
            self.__dict__["_retrace"] = retrace
            self.__dict__["_signature"] = None
            self.recompile()

        def _attr(self, name: str) -> Tensor:
            ext = self.__dict__["_consts"].get(name)
            if ext is not None:
                return ext
            obj: Any = self
            for part in name.split("."):
                obj = getattr(obj, part)
            return obj

        def recompile(self) -> str:
            g = self.__dict__["graph"]
            g.lint()
            src, ns = _source(g)
            exec(compile(src, "<chainrule.fx GraphModule>", "exec"), ns)  # noqa: S102 - our source
            self.__dict__["_fn"] = ns["forward"]
            self.__dict__["_code"] = src
            self.__dict__["_edits"] = _fingerprint(g)
            self.__dict__["_consts"] = {
                g.target_of(n): n.extra for n in g.nodes if n.kind == "external" and n.i not in g.attr_names
            }
            return src

        @property
        def code(self) -> str:
            return self.__dict__["_code"]

        def forward(self, *args: Any) -> Any:
            g = self.__dict__["graph"]
            if _fingerprint(g) != self.__dict__["_edits"]:
                self.recompile()
            sig = [(tuple(a._data.shape), a._data.dtype) for a in args if isinstance(a, Tensor)]
            traced = [(tuple(n.shape), n.dtype) for n in g.nodes if n.kind == "input"]
            if sig != traced:
                retrace = self.__dict__["_retrace"]
                if retrace is None or self.__dict__["_edits"] != self.__dict__.get("_traced_fp"):
                    raise RuntimeError(
                        f"GraphModule: traced for inputs {traced}, called with {sig}; the graph "
                        "records shapes, so trace again with example inputs of the new shape"
                    )
                fresh = retrace(*args)
                self.__dict__.update(
                    {
                        k: fresh.__dict__[k]
                        for k in ("graph", "_fn", "_code", "_edits", "_consts", "_out_spec", "_traced_fp")
                    }
                )
            outs = self.__dict__["_fn"](self, *args)
            return tree_unflatten(list(outs), self.__dict__["_out_spec"])

    return GraphModule


def _fingerprint(g: FxGraph) -> tuple:
    return tuple((n.i, id(n.prim), tuple(repr(a) for a in n.args)) for n in g.nodes) + (
        tuple(repr(a) for a in g.ir.outputs),
    )


_GM: list = []


def GraphModule(root: Any, graph: FxGraph, out_spec: Any = None, retrace: Callable | None = None) -> Any:  # noqa: N802
    if not _GM:
        _GM.append(_module_type())
    gm = _GM[0](root, graph, out_spec, retrace)
    gm.__dict__["_traced_fp"] = gm.__dict__["_edits"]
    return gm


def _example_input(module: Any) -> tuple:
    from ..nn import Conv1d, Conv2d, Conv3d, Embedding, Linear

    for m in module.modules():
        if isinstance(m, Linear):
            return (wrap(np.zeros((2, m.in_features), dtype=m.weight._data.dtype)),)
        if isinstance(m, (Conv1d, Conv2d, Conv3d)):
            spatial = {Conv1d: 1, Conv2d: 2, Conv3d: 3}[type(m)]
            return (wrap(np.zeros((2, m.in_channels) + (32,) * spatial, dtype=m.weight._data.dtype)),)
        if isinstance(m, Embedding):
            return (wrap(np.zeros((2, 8), dtype=np.int64)),)
    raise TypeError(
        f"symbolic_trace: cannot guess an input for {type(module).__name__}; pass "
        "example_inputs=(tensor, ...) (the graph records shapes)"
    )


def symbolic_trace(root: Any, concrete_args: dict | None = None, example_inputs: Any = None) -> Any:
    """Trace ``root`` (a module or function) into a ``GraphModule`` (see the module docstring)."""
    from ..nn.module import Module

    if example_inputs is None:
        if not isinstance(root, Module):
            raise TypeError("symbolic_trace of a function needs example_inputs=(tensor, ...)")
        example_inputs = _example_input(root)
    if not isinstance(example_inputs, tuple):
        example_inputs = (example_inputs,)
    fn = root if not isinstance(root, Module) else (lambda *a: Module._call_uncompiled(root, *a))
    with no_grad():
        result, art, tr = build(fn, example_inputs, dict(concrete_args or {}), _known(root), False)
    if art is None:
        raise RuntimeError("symbolic_trace: the function leaves the graph: " + "; ".join(tr.problems))
    names: dict[int, str] = {}
    if isinstance(root, Module):
        by_id = {id(t): k for k, t in list(root.named_parameters()) + list(root.named_buffers())}
        names = {n.i: by_id[id(n.extra)] for n in art.externals if id(n.extra) in by_id}
    code = getattr(root, "__code__", None) or getattr(type(root).forward, "__code__", None)
    argnames = list(code.co_varnames[: code.co_argcount]) if code else []
    if isinstance(root, Module) or (argnames and argnames[0] == "self"):
        argnames = argnames[1:]  # the module itself
    inputs = [argnames[k] if k < len(argnames) else f"arg{k}" for k in range(len(art.inputs))]
    g = FxGraph(art.graph, names, inputs)
    _, out_spec = tree_flatten(result)
    return GraphModule(root, g, out_spec, lambda *a: symbolic_trace(root, concrete_args, a))


def _known(root: Any) -> dict:
    from ..nn.module import Module

    if isinstance(root, Module):
        return {id(t): t for t in list(root.parameters()) + list(root.buffers())}
    return {}


def primitive(name: str) -> Any:
    """A primitive by name, to retarget a node: ``node.prim = chainrule.fx.primitive('Sigmoid')``."""
    return PRIMITIVES[name]
