"""A training step inside a compiled function: ``backward()``, ``autograd.grad()``,
``zero_grad()``, ``.grad = ...`` and ``optimizer.step()`` while a trace runs.

``loss.backward()`` is traced the way the compiled backward is (``artefact._trace_backward``):
the derivative rules run with ``create_graph=True`` under the tracer, so their ops become
nodes -- here of the forward program, since the function itself asks for them.  What lands
in ``.grad`` is an *ordered effect*: ``("grad", leaf, value)`` (a new ``.grad``, or None) or
``("grad_into", leaf, value)`` (written into the ``.grad`` the leaf had when the call began,
as eager accumulation does).  ``optimizer.step()`` and ``lr_scheduler.step()`` are one
``("call", (object, "step"), ())`` effect each: the optimizer's own NumPy update runs at its
place in the effect order on every call, reading the ``.grad`` values set before it -- so
state it creates on its first step and learning-rate changes need no retrace.  A tensor the
step wrote (parameters, their gradients, its state) cannot be read later in the same
function (the code would read it before the step ran): that call runs eagerly instead.

Gradients of leaves the compiled function does not know (tensors made inside it with
``requires_grad=True``) and backward into a graph built before the call are not replayed:
such calls run eagerly, with the reason in ``chainrule.compiler.explain``.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from .. import autograd
from .._tensor import Tensor, wrap
from ..autograd import _as_list, _fresh, _roots, _seed
from ..autograd.grad_mode import no_grad
from .ir import Ref
from .tracer import Tracer, current, quiet

__all__ = ["patches", "flush"]

_ORIG_AG_BACKWARD = autograd.backward
_ORIG_AG_GRAD = autograd.grad
_GRAD_PROP = Tensor.__dict__["grad"]


def _seeds(tr: Tracer, outs: list, gs: list, op: str) -> list:
    """The starting gradients: the user's tensors, or ones (a constant of the trace)."""
    seeds = []
    for i, (t, g) in enumerate(zip(outs, gs)):
        seed = _seed(t, g, i, len(outs), op)  # eager's checks and messages
        if g is None:
            g = wrap(seed)  # ones, marked structural: a constant of the trace
        elif not isinstance(g, Tensor):
            g = wrap(np.asarray(g, dtype=t._data.dtype))
            tr.constants.add(id(g))
            tr.keep.append(g)
        tr.node_of(g)  # bound now: the engine may rewrap its array
        seeds.append(g)
    return seeds


def _walk(tr: Tracer, outs: list) -> list[Tensor]:
    """The leaves that require grad behind ``outs``."""
    leaves: dict[int, Tensor] = {}
    seen: set[int] = set()
    stack = []
    for t in outs:
        if t.grad_fn is None:
            leaves.setdefault(id(t), t)
        else:
            stack.append(t.grad_fn)
    while stack:
        n = stack.pop()
        if id(n) in seen:
            continue
        seen.add(id(n))
        if n.seq < tr.first_seq:
            tr.problem(
                "backward() reaches a graph built before the compiled function was called (an "
                "argument's history); detach the argument, or compile the code that built it too"
            )
            return list(leaves.values())
        for p in reversed(n.parents):
            if isinstance(p, Tensor):
                leaves.setdefault(id(p), p)
            elif p is not None:
                stack.append(p)
    return list(leaves.values())


def _grads(
    tr: Tracer,
    outs: list,
    gs: list,
    sources: list,
    op: str,
    allow_unused: Any,
    retain_graph: Any,
    **kw: Any,
) -> tuple:
    """Run the derivative rules under the tracer (their ops become forward nodes)."""
    seeds = _seeds(tr, outs, gs, op)
    return _ORIG_AG_GRAD(  # (the engine frees what it ran unless retain_graph, as eager)
        outs,
        sources,
        grad_outputs=seeds,
        retain_graph=bool(retain_graph),
        create_graph=True,
        allow_unused=allow_unused,
        **kw,
    )


def _unknown_leaves(tr: Tracer, leaves: list) -> bool:
    for leaf in leaves:
        if id(leaf) not in tr.grad_start:
            tr.problem(
                f"backward() into a tensor of shape {tuple(leaf._data.shape)} that requires grad "
                "but was made inside the compiled function (its .grad is not replayed); create it "
                "outside and pass it in, or make it a module's parameter"
            )
            return True
        meta = leaf._meta or {}
        if meta.get("post_hooks"):
            tr.problem("backward() into a tensor with a post-accumulate-grad hook (the hook runs Python)")
            return True
        tr.reached[id(leaf)] = leaf  # (a hook registered after the trace: Artefact.run retraces)
    return False


def _backward(
    tensors: Any,
    grad_tensors: Any = None,
    retain_graph: bool | None = None,
    create_graph: bool = False,
    grad_variables: Any = None,
    inputs: Any = None,
) -> None:
    tr = current()
    if tr is None or tr.quiet or create_graph or tr.phase != "fwd":
        if tr is not None and not tr.quiet:
            tr.problem(
                "backward(create_graph=True) inside the compiled function"
                if create_graph
                else "backward() inside a derivative rule"
            )
            with quiet(tr):
                return _ORIG_AG_BACKWARD(
                    tensors, grad_tensors, retain_graph, create_graph, grad_variables, inputs
                )
        return _ORIG_AG_BACKWARD(tensors, grad_tensors, retain_graph, create_graph, grad_variables, inputs)
    outs, gs = _roots(tensors, grad_tensors if grad_tensors is not None else grad_variables)
    leaves = _walk(tr, outs)
    only = _as_list(inputs)
    if only:
        for t in only:
            if not t._rg:
                raise RuntimeError("backward(): every tensor in inputs= must require grad")
            if t.grad_fn is not None:
                tr.problem("backward(inputs=...) with a non-leaf input inside the compiled function")
        leaves = only
    tr.stepped = True  # the outputs' graph is consumed (compiled or not)
    if tr.problems or _unknown_leaves(tr, leaves):
        with quiet(tr):
            return _ORIG_AG_BACKWARD(outs, gs, retain_graph, False, None, inputs)
    grads = _grads(tr, outs, gs, leaves, "backward", True, retain_graph)
    for leaf, g in zip(leaves, grads):
        if g is not None:
            _accumulate(tr, leaf, g)


def _accumulate(tr: Tracer, leaf: Tensor, g: Tensor) -> None:
    """Eager's ``engine._accumulate``, with ops: a new ``.grad``, or added into the old one."""
    g = g.detach()
    dtype = leaf._data.dtype
    with no_grad():
        if g._data.dtype != dtype:
            g = g.to(dtype)
        if g._data.shape != leaf._data.shape:
            g = g.expand(leaf._data.shape).clone()
    old = leaf._grad
    tr.grad_touch(leaf, old)
    if old is None:
        new = wrap(np.array(g._data, copy=True, order="C"))  # eager stores an array of its own
        tr.bind(new, tr.graph.nodes[tr.node_of(g)])
        leaf._grad = new
        return
    if old._rg:
        tr.problem("backward() accumulating into a .grad that carries a graph")
        return
    tr.node_of(old)
    with no_grad():
        total = old + g
    old._data[...] = total._data
    old._vc[0] += 1
    tr.rebind(old, total)


def _grad(
    outputs: Any,
    inputs: Any,
    grad_outputs: Any = None,
    retain_graph: bool | None = None,
    create_graph: bool = False,
    only_inputs: bool = True,
    allow_unused: bool | None = None,
    is_grads_batched: bool = False,
    materialize_grads: bool = False,
) -> tuple:
    args = (
        outputs,
        inputs,
        grad_outputs,
        retain_graph,
        create_graph,
        only_inputs,
        allow_unused,
        is_grads_batched,
        materialize_grads,
    )
    tr = current()
    if tr is None or tr.quiet:
        return _ORIG_AG_GRAD(*args)
    if create_graph or is_grads_batched or tr.phase != "fwd":
        tr.problem("autograd.grad(create_graph=True) inside the compiled function")
        with quiet(tr):
            return _ORIG_AG_GRAD(*args)
    outs = _fresh(_as_list(outputs))
    gs = _as_list(grad_outputs) or [None] * len(outs)
    if len(gs) != len(outs) or not all(t._rg for t in outs):
        with quiet(tr):  # eager's error (or its skipping of outputs that need no grad)
            tr.problem("autograd.grad() of outputs that do not all require grad")
            return _ORIG_AG_GRAD(*args)
    _walk(tr, outs)  # (a graph built before the call is a problem)
    tr.stepped = True
    grads = _grads(
        tr,
        outs,
        gs,
        _as_list(inputs),
        "grad",
        allow_unused,
        retain_graph,
        materialize_grads=materialize_grads,
    )
    return tuple(None if g is None else g.detach() for g in grads)


def _zero_grad(orig: Callable, params: Callable[[Any], list]) -> Callable:
    def zero_grad(self: Any, set_to_none: bool = True) -> None:
        tr = current()
        if tr is None or tr.quiet:
            return orig(self, set_to_none)
        for p in params(self):
            g = p._grad
            if set_to_none:
                tr.grad_touch(p, g, dont_care=True)
                _cleared(tr, p)
                p._grad = None
            elif g is not None:
                tr.grad_touch(p, g)
                tr.dirty.discard(id(g))  # overwritten whole: later reads see the zeros
                tr.dirty.discard(id(g._data))
                if g._rg:
                    tr.problem("zero_grad(set_to_none=False) of a .grad that carries a graph")
                zeros = wrap(np.zeros_like(g._data))
                tr.constants.add(id(zeros))
                tr.rebind(g, zeros)
                g._data.fill(0)

    zero_grad.__doc__ = orig.__doc__
    return zero_grad


def _set_grad(self: Tensor, value: Tensor | None) -> None:
    tr = current()
    if tr is not None and not tr.quiet and id(self) in tr.grad_start:
        tr.grad_touch(self, self._grad, dont_care=True)
        if value is None:
            _cleared(tr, self)
    _GRAD_PROP.fset(self, value)


def _cleared(tr: Tracer, leaf: Tensor) -> None:
    """``leaf.grad = None`` before the first optimizer step: if the compiled program raises,
    ``Artefact.run`` applies it (eager's error came after it, most likely)."""
    if not any(e[0] == "call" for e in tr.graph.effects):
        tr.cleared.setdefault(id(leaf), tr.leaf_spec(leaf))


def _opaque_step(orig: Callable, what: str, writes: Callable[[Any], list] | None) -> Callable:
    """``obj.step()`` run as is and replayed as a call on every run (see the module doc)."""

    def step(self: Any, *args: Any, **kw: Any) -> Any:
        tr = current()
        if tr is None or tr.quiet:
            return orig(self, *args, **kw)
        if args or kw:
            tr.problem(f"{what}.step() with arguments inside the compiled function (a closure or a metric)")
            with quiet(tr):
                return orig(self, *args, **kw)
        flush(tr)  # every .grad and write before the step, in order
        with quiet(tr):
            out = orig(self)
        tr.graph.effects.append(("call", (self, "step"), ()))
        for t in writes(self) if writes is not None else ():
            tr.dirty.add(id(t))
            tr.dirty.add(id(t._data))  # aliases (.detach(), .data) share the array
        return out

    step.__doc__ = orig.__doc__
    return step


def _optimizer_writes(opt: Any) -> list:
    out = []
    for group in opt.param_groups:
        for p in group["params"]:
            out.append(p)
            if p._grad is not None:
                out.append(p._grad)
    for state in opt.state.values():
        out += [v for v in state.values() if isinstance(v, Tensor)]
    return out


def flush(tr: Tracer) -> None:
    """Effects for every write so far whose value the code has not replayed yet, in order:
    writes into inputs and outside tensors (their latest value), then each leaf's ``.grad``."""
    for key, (t, first) in list(tr.origins.items()):
        if key in tr.grad_owner:
            continue  # a .grad from before the call: its leaf's effect below
        now = tr.env.get(key)
        if now is None or now == tr.emitted.get(key, first):
            continue
        tr.graph.effects.append(("assign", t, (Ref(now),)))
        tr.emitted[key] = now
    for key, (leaf, start) in tr.grad_start.items():
        g = leaf._grad
        if g is None:
            state: tuple = (0, None)
        else:
            now = tr.env.get(id(g))
            if g is start and (now is None or now == tr.origins.get(id(g), (None, None))[1]):
                now = None  # the start value, unchanged
            state = (id(g), now)
        if state == tr.grad_emitted.get(key, (id(start) if start is not None else 0, None)):
            continue
        tr.grad_emitted[key] = state
        spec = tr.leaf_spec(leaf)
        if g is None:
            tr.graph.effects.append(("grad", spec, ()))
        else:
            ref = Ref(tr.node_of(g))
            tr.graph.effects.append(("grad_into" if g is start else "grad", spec, (ref,)))


def patches() -> list[tuple[Any, str, Any]]:
    from ..nn.module import Module
    from ..optim.lbfgs import LBFGS
    from ..optim.lr_scheduler import LRScheduler, ReduceLROnPlateau
    from ..optim.optimizer import Optimizer

    def opt_params(opt: Any) -> list:
        return [p for g in opt.param_groups for p in g["params"]]

    def mod_params(mod: Any) -> list:
        return list(mod.parameters())

    return [
        (autograd, "backward", _backward),  # (Tensor.backward calls it)
        (autograd, "grad", _grad),
        (Tensor, "grad", property(_GRAD_PROP.fget, _set_grad, None, _GRAD_PROP.__doc__)),
        (Optimizer, "zero_grad", _zero_grad(Optimizer.zero_grad, opt_params)),
        (Module, "zero_grad", _zero_grad(Module.zero_grad, mod_params)),
        (Optimizer, "step", _opaque_step(Optimizer.step, "optimizer", _optimizer_writes)),
        (LBFGS, "step", _opaque_step(LBFGS.step, "optimizer", _optimizer_writes)),
        (LRScheduler, "step", _opaque_step(LRScheduler.step, "lr_scheduler", None)),
        (ReduceLROnPlateau, "step", _opaque_step(ReduceLROnPlateau.step, "lr_scheduler", None)),
    ]
