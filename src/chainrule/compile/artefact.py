"""One compiled variant: trace the function once, optimise the joint graph, generate code.

``build(fn, args, kwargs, ...)`` runs ``fn`` eagerly under the tracer (so its results
*are* eager's), then, when an output needs gradients, runs the backward of that first
call with ``create_graph=True`` under the tracer too: the derivative rules are written
with ops, so this records the backward as IR nodes (phase ``bwd``) reading forward values
as explicit edges.  The joint graph goes through the passes and is split in two
programs:

    forward(inputs..., externals...)  -> (outputs, saved, input writes, late values)
    backward(saved..., output grads...) -> (one gradient per source, or None)

``Artefact.run`` executes them: the forward directly, or inside one autograd node
(``CompiledFunctionBackward``) whose backward runs the generated backward.  A function
that runs ``backward()`` and ``opt.step()`` itself (``_step``) has no backward program:
its gradients are forward values, stored into ``.grad`` by the *late* effects that
``run`` applies in order, with the optimizer steps between them.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from .._inplace import add_inplace_hook
from .._tensor import Tensor, wrap
from ..autograd.function import Function
from ..autograd.grad_mode import is_grad_enabled
from ..autograd.grad_mode import state as _grad_state
from ..autograd.graph import next_seq
from ..func._pytree import tree_flatten, tree_unflatten
from ..ops._core import STRUCTURAL_HOOKS
from ._step import _optimizer_writes, flush
from .codegen import Mismatch, generate
from .ir import CONST, Graph, Ref
from .passes import run_passes
from .tracer import GradOf, Tracer, tracing

__all__ = ["Artefact", "build", "Mismatch"]


class Artefact:
    """A traced, optimised and generated variant of a function, valid under one guard key."""

    def __init__(
        self,
        graph: Graph,
        tracer: Tracer,
        out_spec: Any,
        out_meta: list,
        passes: list,
        backend: str = "numpy",
    ) -> None:
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
        to_inputs = [e for e in graph.effects if e[0] in ("assign", "add") and id(e[1]) in input_ids]
        # .grad effects and optimizer steps run after the program, in their order (``_step``)
        # .grad stores, optimizer steps and writes into inputs, in trace order (a write into an
        # argument before opt.step() must land before the step reads it)
        late = [e for e in graph.effects if e[0] in _LATE or any(e is f for f in to_inputs)]
        self.late = [
            (e[0], input_ids[id(e[1])] if e[0] in ("assign", "add") else e[1], bool(e[2])) for e in late
        ]
        late_values = [e[2][0] for e in late if e[2]]
        others = [e for e in graph.effects if e[0] not in _LATE and not any(e is f for f in to_inputs)]
        self.grad_checks = [(spec, none) for spec, none in tracer.grad_first.values() if none is not None]
        self.grad_externals = [k for k, t in enumerate(self.external_tensors) if isinstance(t, GradOf)]
        self.watch = _watch(tracer, self.external_tensors, graph.effects)
        self.spent = tracer.stepped  # backward() ran inside: outputs' graphs are consumed
        self.cleared = list(tracer.cleared.values())
        self.hook_leaves = [tracer.leaf_spec(t) for t in tracer.reached.values()]  # (hookless then)
        leaves = [tracer.leaf_spec(t) for t, _ in tracer.grad_start.values()]
        self.anchor = leaves[0] if leaves else None  # a leaf that requires grad, for _Spent
        returns = [
            list(graph.outputs),
            _saved_refs(graph, tracer, self.saved, fwd),
            [],  # (writes into inputs are late values)
            late_values,
        ]
        self.adopt = _adoptable(graph, returns)
        backend = "numba" if backend == "numba" else "numpy"
        self.forward = generate(
            "forward", self.inputs + self.externals, fwd, returns, graph.checks, others, backend=backend
        )
        self.owners = _grad_owners(self.forward, late, late_values, self.adopt, graph)
        self.backward = None
        tensor_outs = [m for m in out_meta if m[0] == "t"]
        self.diff_positions = [k for k, m in enumerate(tensor_outs) if m[1]]
        if graph.grads:
            params = [graph.nodes[i] for i in self.saved] + grads_in
            self.backward = generate("backward", params, bwd, [list(graph.grads)], backend=backend)
        for prog, body in ((self.forward, fwd), (self.backward, bwd)):
            if prog is not None and prog.plan is not None:
                passes.append((f"memory planning: {prog.name}", prog.plan.table(body, prog.name)))
        self.sources = tracer.sources  # ("input", k) | ("external", tensor)

    @property
    def code(self) -> str:
        return self.forward.source + ("\n" + self.backward.source if self.backward else "")

    def run(self, tensors: list[Tensor]) -> Any:
        """Run on this call's input tensors; raises Mismatch if a graph-break check fails."""
        externals = self.external_tensors
        for spec in self.hook_leaves:  # a hook a backward() inside would run: retrace (eager)
            meta = (tensors[spec] if isinstance(spec, int) else spec)._meta
            if meta and (meta.get("hooks") or meta.get("post_hooks")):
                raise Mismatch
        if self.grad_externals or self.grad_checks:
            externals = self._resolve(tensors)
        if self.watch:
            externals = self._outside(externals, tensors)
        for t, n in zip(externals, self.externals):
            if t._data.shape != n.shape or t._data.dtype != n.dtype:
                raise Mismatch
        arrays = [t._data for t in tensors] + [t._data for t in externals]
        srcs = [tensors[k] if kind == "input" else k for kind, k in self.sources]
        try:
            if self.backward is not None and is_grad_enabled() and any(s._rg for s in srcs):
                box: list = []
                outs = CompiledFunction.apply(self, arrays, box, *srcs)
                outs = list(outs) if isinstance(outs, tuple) else [outs]
                _, late = box[0]
            else:
                outs, _, _, late = self.forward.run(arrays, self._owners(tensors))
        except BaseException:
            self._cleared(tensors)
            raise
        if self.late:
            self._late(tensors, late)
        return self._rebuild(list(outs), tensors)

    def _owners(self, tensors: list) -> dict | None:
        """Pool slot -> the leaf whose ``.grad`` this call replaces with that slot's value."""
        if not self.owners:
            return None
        return {s: tensors[spec] if isinstance(spec, int) else spec for s, spec in self.owners.items()}

    def _resolve(self, tensors: list) -> list:
        """This call's outside tensors: a leaf's ``.grad`` is read now (``tracer.GradOf``); the
        artefact applies only where each ``.grad`` it depends on is None exactly as traced."""
        for spec, none in self.grad_checks:
            leaf = tensors[spec] if isinstance(spec, int) else spec
            if (leaf._grad is None) != none:
                raise Mismatch
        out = list(self.external_tensors)
        for k in self.grad_externals:
            g = out[k].resolve(tensors)
            if g is None:
                raise Mismatch
            out[k] = g
        return out

    def _outside(self, externals: list, tensors: list) -> list:
        """This call's outside tensors read where the function found them (globals, closure
        values, the lists, dicts and attributes in them: ``guards.Place``).  A tensor only read
        that was replaced there is read now, as an input; one written, or whose ``.grad`` or
        gradient the call sets, must be the traced one (otherwise: Mismatch, a retrace)."""
        out = externals
        for k, t, places, sub in self.watch:
            try:
                v = places[0].get()
                if v is t and (len(places) == 1 or all(p.get() is t for p in places)):
                    continue
                now = [p.get() for p in places]
            except (LookupError, AttributeError, ValueError, TypeError):
                raise Mismatch from None
            ok = sub and isinstance(v, Tensor) and all(u is v for u in now)
            if not ok or v._rg or v._base is not None or self._aliased(v._data, tensors):
                raise Mismatch
            if out is externals:
                out = list(externals)
            out[k] = v
        return out

    def _aliased(self, a: np.ndarray, tensors: list) -> bool:
        """Does ``a`` share memory with an array this call writes in place (an outside tensor
        or argument an effect writes, a ``.grad`` written into, what an optimizer step writes)?"""
        written = [e[1] for e in self.graph.effects if e[0] in ("assign", "add") and isinstance(e[1], Tensor)]
        for kind, target, _ in self.late:
            if kind in ("assign", "add"):
                written.append(tensors[target])
            elif kind == "grad_into":
                leaf = tensors[target] if isinstance(target, int) else target
                written.append(leaf._grad)
            elif kind == "call" and hasattr(target[0], "param_groups"):
                written += _optimizer_writes(target[0])
        return any(w is not None and np.may_share_memory(a, w._data) for w in written)

    def _cleared(self, tensors: list) -> None:
        """The program raised: the ``.grad = None`` stores made before the first optimizer step
        (``zero_grad()``) are applied, as eager had made them before its error (eager's state
        unless the error came before them: the program's order is not kept per line)."""
        for spec in self.cleared:
            (tensors[spec] if isinstance(spec, int) else spec)._grad = None

    def _late(self, tensors: list, values: Any) -> None:
        """The ordered effects: ``.grad`` set (a new tensor, or written into the one the call
        began with), and optimizer/scheduler steps (their own update, run here)."""
        it = iter(zip(values, self.adopt))
        for kind, target, has_value in self.late:
            if kind == "call":
                getattr(target[0], target[1])()
                continue
            if kind in ("assign", "add"):  # a write into the input at position ``target``
                t = tensors[target]
                v = next(it)[0]
                if kind == "add":
                    t._data += v
                else:
                    t._data[...] = v
                t._vc[0] += 1
                continue
            leaf = tensors[target] if isinstance(target, int) else target
            if not has_value:
                leaf._grad = None
                continue
            v, own = next(it)
            if kind == "grad_into":
                g = leaf._grad
                g._data[...] = v
                g._vc[0] += 1
            else:
                d = leaf._data
                ok = own and type(v) is np.ndarray and v.flags.owndata and v.flags.c_contiguous
                ok = ok and v.dtype == d.dtype and v.shape == d.shape and v.flags.writeable
                leaf._grad = wrap(v if ok else np.array(v, dtype=d.dtype, copy=True, order="C"))

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
                o = o if isinstance(o, Tensor) else wrap(np.asarray(o))
                if v and self.spent and self.anchor is not None and is_grad_enabled():
                    anchor = tensors[self.anchor] if isinstance(self.anchor, int) else self.anchor
                    o = _Spent.apply(o, anchor)
                leaves.append(o)
        return tree_unflatten(leaves, self.out_spec)


_LATE = ("grad", "grad_into", "call")


def _watch(tracer: Tracer, externals: list, effects: list) -> list:
    """The outside tensors the artefact holds that were found among the globals and closure
    values (``tracer.places``), with their places: ``(position among the externals or None,
    tensor, places, may another tensor found there be read instead)``.  Only a tensor the code
    just reads may (not one written, a leaf whose ``.grad`` is set, one that requires grad,
    a view); module parameters, buffers and attributes are guarded by identity in the key."""
    places = tracer.places
    if not places:
        return []
    fixed: dict[int, Tensor] = {}
    for _, target, _ in effects:
        if isinstance(target, Tensor):
            fixed[id(target)] = target
    for spec, _ in tracer.grad_first.values():
        if isinstance(spec, Tensor):
            fixed[id(spec)] = spec
    for t in externals:
        if isinstance(t, GradOf) and isinstance(t.leaf, Tensor):
            fixed[id(t.leaf)] = t.leaf
    out: list = []
    for k, t in enumerate(externals):
        if isinstance(t, Tensor) and id(t) in places:
            sub = id(t) not in fixed and not t._rg and t._base is None
            out.append((k, t, tuple(places[id(t)][1]), sub))
    held = {id(e[1]) for e in out}
    out += [(None, t, tuple(places[i][1]), False) for i, t in fixed.items() if i in places and i not in held]
    return out


def _saved_refs(graph: Graph, tracer: Tracer, saved: list[int], fwd: list) -> list[Ref]:
    """What the forward hands the backward.  An input or outside tensor that an effect writes
    after the forward (``x.detach().mul_(...)`` on an argument, a buffer update) is saved as
    a copy taken before the write, as eager's snapshot of a value an in-place op overwrote."""
    written = {
        tracer.origins[id(e[1])][1]
        for e in graph.effects
        if e[0] in ("assign", "add") and id(e[1]) in tracer.origins
    }
    refs = []
    for i in saved:
        if i in written:
            n = graph.nodes[i]
            copy = graph.add("op", prim=CONST, args=(Ref(i),), shape=n.shape, dtype=n.dtype, c_order=True)
            fwd.append(copy)
            i = copy.i
        refs.append(Ref(i))
    return refs


def _grad_owners(prog: Any, late: list, values: list, adopt: list, graph: Graph) -> dict:
    """The pool slots a ``.grad`` store of this call may reuse while the leaf's old ``.grad``
    (last call's value, that slot) still holds them (``memory.Pool``): a new ``.grad`` the leaf
    keeps as is (``adopt``), set before any optimizer step of the call could read the old one,
    in a program no check can abandon half-way (the eager rerun would see the old ``.grad``)."""
    if prog.plan is None or graph.checks:
        return {}
    out: dict = {}
    k = 0
    for kind, target, args in late:
        if kind == "call":
            break
        if not args:
            continue
        v = values[k]
        if kind == "grad" and adopt[k] and isinstance(v, Ref) and v.i in prog.plan.buffer:
            out[prog.plan.buffer[v.i]] = target
        k += 1
    return out


def _adoptable(graph: Graph, returns: list) -> list[bool]:
    """Per late value: may ``.grad`` keep the program's array (an op's own result that
    nothing else returns), or must it copy (eager's rule: a stored gradient owns its array)?"""
    count: dict[int, int] = {}
    for group in returns:
        for a in group:
            if isinstance(a, Ref):
                count[a.i] = count.get(a.i, 0) + 1
    return [isinstance(a, Ref) and count[a.i] == 1 and graph.nodes[a.i].kind == "op" for a in returns[-1]]


class _Spent(Function):
    """An output whose graph the backward() inside the compiled function consumed: it
    requires grad, as in eager, and backpropagating through it again is refused."""

    @staticmethod
    def forward(ctx: Any, x: Tensor, anchor: Tensor) -> Tensor:
        return wrap(x._data)

    @staticmethod
    def backward(ctx: Any, grad: Any) -> Any:
        raise RuntimeError(
            "Trying to backward through the graph a second time: the compiled function already "
            "ran backward() on this output's graph (compiled code keeps no graph after it); "
            "compute what you need inside the function, or call it uncompiled"
        )


class CompiledFunction(Function):
    """The whole compiled graph as one autograd node: backward runs the generated backward."""

    @staticmethod
    def forward(ctx: Any, art: Artefact, arrays: list, box: list, *sources: Tensor) -> Any:
        outs, saved, effects, late = art.forward.run(list(arrays))
        box.append((effects, late))
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
        (res,) = art.backward.run(args)
        return (None, None, None, *res)


def build(
    fn: Callable,
    args: tuple,
    kwargs: dict,
    known: dict,
    fullgraph: bool,
    backend: str = "numpy",
    dynamic_index: bool = False,
    places: dict | None = None,
) -> tuple[Any, Artefact | None, Tracer]:
    """Trace ``fn(*args, **kwargs)`` once; returns (eager result, artefact or None, tracer).

    The artefact is None when the trace met something the compiler cannot replay (the
    tracer's ``problems``): the function then runs eagerly under this guard key.  ``places``
    (``Guards.known_tensors``): where the outside tensors are, read there on every call."""
    tr = Tracer(fullgraph)
    tr.known = known
    tr.places = places
    tr.dynamic_index = dynamic_index
    leaves, _ = tree_flatten((args, kwargs))
    tensors = [v for v in leaves if isinstance(v, Tensor)]
    tr.sources = []
    tr.input_tensors = tensors
    _leaves_and_grads(tr, known, tensors)
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
            flush(tr)
            if not tr.stepped and not tr.problems:  # (eager from here on otherwise)
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
    return result, Artefact(graph, tr, out_spec, out_meta, passes, backend), tr


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


def _leaves_and_grads(tr: Tracer, known: dict, tensors: list) -> None:
    """The leaves a backward() inside the function may fill (inputs and outside tensors that
    require grad) and their ``.grad`` at the start; those grads are outside tensors too."""
    tr.first_seq = next_seq()
    tr.input_index = {id(t): k for k, t in enumerate(tensors)}
    for t in [*tensors, *known.values()]:
        if t._rg and t.grad_fn is None and id(t) not in tr.grad_start:
            tr.grad_start[id(t)] = (t, t._grad)
            if t._grad is not None:
                tr.grad_owner[id(t._grad)] = tr.leaf_spec(t)
                known.setdefault(id(t._grad), t._grad)


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
    held = _hold_hooks([s for _, s in sources])
    try:
        grads = engine_grad(
            diff, [s for _, s in sources], grad_outputs=gs, create_graph=True, allow_unused=True
        )
    finally:
        for owner, key, hooks in held:
            if key is None:
                owner.hooks = hooks
            else:
                owner[key] = hooks
    tr.sources = [kind for kind, _ in sources]
    tr.graph.grads = [None if g is None else Ref(tr.node_of(g)) for g in grads]  # (still "bwd")
    tr.phase = "fwd"


def _hold_hooks(sources: list) -> list:
    """Hooks on the compiled backward's sources are not traced: the engine runs them on every
    call, after the compiled backward hands it the sources' gradients (traced too, a hook
    would run twice on the tracing call and its ops twice on every later one)."""
    held = []
    for t in sources:
        if t.grad_fn is None:
            meta = t._meta
            if meta and meta.get("hooks"):
                held.append((meta, "hooks", meta["hooks"]))
                meta["hooks"] = None
        elif t.grad_fn.hooks:
            held.append((t.grad_fn, None, t.grad_fn.hooks))
            t.grad_fn.hooks = None
    return held
