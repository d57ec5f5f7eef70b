"""One compiled variant: trace the function once, optimise the joint graph, generate code.

``build(fn, args, kwargs, ...)`` runs ``fn`` eagerly under the tracer (so its results
*are* eager's), then, when an output needs gradients, runs the backward of that first
call with ``create_graph=True`` under the tracer too: the derivative rules are written
with ops, so this records the backward as IR nodes (phase ``bwd``) reading forward values
as explicit edges.  The joint graph goes through the passes and is split in two
programs:

    forward(inputs..., externals...)  -> (outputs..., saved...)
    backward(saved..., output grads...) -> (one gradient per source, or None)

``Artefact.run`` executes them: the forward directly, or inside one autograd node
(``CompiledFunctionBackward``) whose backward runs the generated backward.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from .._inplace import add_inplace_hook
from .._tensor import Tensor, wrap
from ..autograd.function import Function
from ..autograd.grad_mode import is_grad_enabled
from ..autograd.grad_mode import state as _grad_state
from ..func._pytree import tree_flatten, tree_unflatten
from ..ops._core import STRUCTURAL_HOOKS
from .codegen import Mismatch, generate
from .ir import Graph, Ref
from .passes import run_passes
from .tracer import Tracer, tracing

__all__ = ["Artefact", "build", "Mismatch"]


class Artefact:
    """A traced, optimised and generated variant of a function, valid under one guard key."""

    def __init__(self, graph: Graph, tracer: Tracer, out_spec: Any, out_meta: list, passes: list) -> None:
        self.graph = graph
        self.out_spec = out_spec
        self.out_meta = out_meta  # per output leaf: ("t", requires_grad) | ("input", k) | ("c", value)
        self.passes = passes  # (name, table) after each pass, for explain and the docs
        nodes = graph.live()
        self.inputs = [n for n in nodes if n.kind == "input"]
        self.externals = [n for n in nodes if n.kind == "external"]
        self.external_tensors = [n.extra for n in self.externals]
        fwd = [n for n in nodes if n.kind in ("op", "random") and n.phase == "fwd"]
        bwd = [n for n in nodes if n.kind == "op" and n.phase == "bwd"]
        grads_in = [n for n in nodes if n.kind == "grad"]
        bwd_ids = {n.i for n in bwd} | {n.i for n in grads_in}
        needed = set()
        for n in bwd:
            needed.update(r for r in n.refs() if r not in bwd_ids)
        for g in graph.grads:
            if isinstance(g, Ref) and g.i not in bwd_ids:
                needed.add(g.i)
        self.saved = sorted(needed)
        input_ids = {id(t): k for k, t in enumerate(tracer.input_tensors)}
        to_inputs = [e for e in graph.effects if e[0] != "print" and id(e[1]) in input_ids]
        others = [e for e in graph.effects if not any(e is f for f in to_inputs)]
        self.input_effects = [(input_ids[id(e[1])], e[0]) for e in to_inputs]
        self.forward = generate(
            "forward",
            self.inputs + self.externals,
            fwd,
            [list(graph.outputs), [Ref(i) for i in self.saved], [e[2][0] for e in to_inputs]],
            graph.checks,
            others,
        )
        self.backward = None
        tensor_outs = [m for m in out_meta if m[0] == "t"]
        self.diff_positions = [k for k, m in enumerate(tensor_outs) if m[1]]
        if graph.grads:
            params = [graph.nodes[i] for i in self.saved] + grads_in
            self.backward = generate("backward", params, bwd, [list(graph.grads)])
        self.sources = tracer.sources  # ("input", k) | ("external", tensor)

    @property
    def code(self) -> str:
        return self.forward.source + ("\n" + self.backward.source if self.backward else "")

    def run(self, tensors: list[Tensor]) -> Any:
        """Run on this call's input tensors; raises Mismatch if a graph-break check fails."""
        for t, n in zip(self.external_tensors, self.externals):
            if t._data.shape != n.shape or t._data.dtype != n.dtype:
                raise Mismatch
        arrays = [t._data for t in tensors] + [t._data for t in self.external_tensors]
        srcs = [tensors[k] if kind == "input" else k for kind, k in self.sources]
        if self.backward is not None and is_grad_enabled() and any(s._rg for s in srcs):
            box: list = []
            outs = CompiledFunction.apply(self, arrays, box, *srcs)
            outs = list(outs) if isinstance(outs, tuple) else [outs]
            effects = box[0]
        else:
            outs, _, effects = self.forward.fn(arrays)
        for (k, kind), value in zip(self.input_effects, effects):
            t = tensors[k]
            if kind == "add":
                t._data += value
            else:
                t._data[...] = value
            t._vc[0] += 1
        return self._rebuild(list(outs), tensors)

    def _rebuild(self, outs: list, tensors: list) -> Any:
        leaves = []
        it = iter(outs)
        for kind, v in self.out_meta:
            if kind == "input":
                leaves.append(tensors[v])
            elif kind == "c":
                leaves.append(v)
            else:
                o = next(it)
                leaves.append(o if isinstance(o, Tensor) else wrap(np.asarray(o)))
        return tree_unflatten(leaves, self.out_spec)


class CompiledFunction(Function):
    """The whole compiled graph as one autograd node: backward runs the generated backward."""

    @staticmethod
    def forward(ctx: Any, art: Artefact, arrays: list, box: list, *sources: Tensor) -> Any:
        outs, saved, effects = art.forward.fn(list(arrays))
        box.append(effects)
        ctx.art = art
        ctx.saved = saved
        ctx.set_materialize_grads(True)
        res = tuple(wrap(np.asarray(o)) for o in outs)
        for k, (_, needs) in enumerate(m for m in art.out_meta if m[0] == "t"):
            if not needs:
                ctx.mark_non_differentiable(res[k])
        return res

    @staticmethod
    def backward(ctx: Any, *grads: Any) -> Any:
        if is_grad_enabled():
            raise RuntimeError(
                "chainrule.compile does not support double backward: the compiled backward runs "
                "generated NumPy code, not ops; compute higher derivatives eagerly (call the "
                "original function, e.g. model._orig_mod) or with chainrule.func"
            )
        if ctx.saved is None:
            raise RuntimeError(
                "Trying to backward through the graph a second time (or directly access saved "
                "tensors after they have already been freed); specify retain_graph=True"
            )
        art = ctx.art
        gs = [grads[k]._data if isinstance(grads[k], Tensor) else grads[k] for k in art.diff_positions]
        args = [*ctx.saved, *gs]
        if not _grad_state.retain_graph:
            ctx.saved = None  # the program's locals are the last references: freed as it runs
        (res,) = art.backward.fn(args)
        return (None, None, None, *res)


def build(
    fn: Callable, args: tuple, kwargs: dict, known: dict, fullgraph: bool
) -> tuple[Any, Artefact | None, Tracer]:
    """Trace ``fn(*args, **kwargs)`` once; returns (eager result, artefact or None, tracer).

    The artefact is None when the trace met something the compiler cannot replay (the
    tracer's ``problems``): the function then runs eagerly under this guard key."""
    tr = Tracer(fullgraph)
    tr.known = known
    leaves, _ = tree_flatten((args, kwargs))
    tensors = [v for v in leaves if isinstance(v, Tensor)]
    tr.sources = []
    tr.input_tensors = tensors
    remove = add_inplace_hook(tr.rebind)
    STRUCTURAL_HOOKS.append(tr.structural)
    try:
        with tracing(tr):
            for k, t in enumerate(tensors):
                tr.add_input(t, k)
            result = fn(*args, **kwargs)
            out_leaves, out_spec = tree_flatten(result)
            out_meta, outs, out_refs = _outputs(tr, out_leaves, tensors)  # (before the backward
            tr.finish_checks()  # rebinds any view)
            _effects(tr)
            _trace_backward(tr, outs, tensors)
    finally:
        remove()
        STRUCTURAL_HOOKS.remove(tr.structural)
    if tr.problems:
        return result, None, tr
    graph = tr.graph
    graph.outputs = out_refs
    passes: list = [("traced", graph.table())]
    graph = run_passes(graph, passes)
    return result, Artefact(graph, tr, out_spec, out_meta, passes), tr


def _outputs(tr: Tracer, leaves: list, inputs: list) -> tuple[list, list, list]:
    meta, outs, refs = [], [], []
    ids = {id(t): k for k, t in enumerate(inputs)}
    for v in leaves:
        if isinstance(v, Tensor):
            i = tr.node_of(v)  # first: a stale view is regenerated (which may change its flags)
            if id(v) in ids and i == tr.origins[id(v)][1]:
                meta.append(("input", ids[id(v)]))  # returned as is: the same tensor object
                continue
            meta.append(("t", bool(v._rg and v._data.dtype.kind == "f")))
            outs.append(v)
            refs.append(Ref(i))
        elif isinstance(v, (bool, int, float, str, type(None))):
            meta.append(("c", v))
        else:
            tr.problem(f"the function returned a {type(v).__name__}")
    return meta, outs, refs


def _effects(tr: Tracer) -> None:
    """Inputs and outside tensors written in place: replay the write on every call.  (Tensors
    made inside the function are copied constants of the trace, see ``Tracer.node_of``, so
    every rebound origin is an input, an outside tensor or an array shared with the caller.)"""
    for key, (t, first) in list(tr.origins.items()):
        now = tr.env.get(key)
        if now is None or now == first or any(e[1] is t for e in tr.graph.effects):
            continue
        tr.graph.effects.append(("assign", t, (Ref(now),)))


def _trace_backward(tr: Tracer, outs: list, tensors: list) -> None:
    if not is_grad_enabled():
        return
    diff = [o for o in outs if o._rg and o._data.dtype.kind == "f"]
    sources: list = []
    for k, t in enumerate(tensors):
        if t._rg:
            sources.append((("input", k), t))
    for n in list(tr.graph.nodes):
        if n.kind == "external" and isinstance(n.extra, Tensor) and n.extra._rg:
            sources.append((("external", n.extra), n.extra))
    if not diff or not sources:
        return
    from ._patches import _ORIG_AG_GRAD as engine_grad

    tr.phase = "bwd"
    gs = []
    for k, o in enumerate(diff):
        g = wrap(np.ones_like(o._data))
        tr.add_input(g, k, kind="grad")
        gs.append(g)
    grads = engine_grad(diff, [s for _, s in sources], grad_outputs=gs, create_graph=True, allow_unused=True)
    tr.sources = [kind for kind, _ in sources]
    tr.graph.grads = [None if g is None else Ref(tr.node_of(g)) for g in grads]  # (still "bwd")
    tr.phase = "fwd"
