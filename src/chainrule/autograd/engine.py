"""The backward engine: walk the graph from the outputs to the leaves, once per node.

1. Start from the roots with their seed gradients, in a max-heap keyed by each
   node's creation number (``seq``).  An op's node is always created after the
   nodes of its inputs, so running the largest ``seq`` first is a topological
   order: when a node comes off the heap, every consumer that could send it a
   gradient has already run.  No dependency-counting pass, no recursion (10^5-
   node chains are fine), and each node runs once.
2. Running a node = sum of incoming gradients -> tensor hooks -> each input's
   VJP rule -> cotangent summed back to the input's shape if the op broadcasts.
   A node enters the heap when its first gradient arrives.
3. When the heap is empty, each leaf's summed gradient goes through the leaf's
   hooks into ``.grad`` (or, for ``autograd.grad``, is captured).
4. Saved values are dropped after a node runs unless ``retain_graph``.

With ``create_graph=False`` rules run on bare ndarrays in no-grad mode; with
``create_graph=True`` they run on Tensors with grad mode on, so the backward
pass is itself recorded and can be differentiated again.

When a hook, a rule or a custom backward raises, the exception propagates out
of ``backward()`` unchanged and the engine stops at once.  What was written
before that point stays written, and nothing else is touched:
  * leaves' ``.grad`` are written only after every node has run, each exactly
    once and in one step; so when a node, a rule or a non-leaf hook fails, every
    leaf keeps its old ``.grad`` (None, or the previous value).  If a *leaf* hook
    fails, the leaves finished before it (in the order their first gradient
    arrived) hold their complete new ``.grad`` and the others are untouched --
    a ``.grad`` is never left half-accumulated;
  * nodes that already ran have freed their saved values (unless
    ``retain_graph``), so calling backward() again on the same graph raises the
    "second time" error; the failing node and the ones after it keep theirs;
  * grad mode is restored to what it was before backward().

Profiler, anomaly detection and memory accounting observe backward through
*taps* (``add_backward_tap``): the list is checked once per backward call, so
they cost nothing per node when none is installed.
"""

from __future__ import annotations

import heapq
from typing import Any

import numpy as np

from .._tensor import Tensor, _RetainGrad, wrap
from ..ops import _core  # module reference: ops imports autograd while loading
from . import _grad_dtype
from .grad_mode import state as _state
from .graph import Node

__all__ = ["run_backward", "add_backward_tap", "queue_callback"]

_TAPS: list = []  # factories installed by the profiler, anomaly mode, memory accounting
_CALLBACKS: list = []  # run once when the current backward has written every .grad


def queue_callback(fn: Any) -> None:
    """Run ``fn()`` at the end of the backward now running, after every leaf's ``.grad`` is
    written (DistributedDataParallel waits for its all-reduces there)."""
    _CALLBACKS.append(fn)


def add_backward_tap(factory: Any) -> Any:
    """Call ``factory()`` once at the start of every backward; returns a remover.

    The factory returns None (not interested in this backward, e.g. another
    thread's) or an observer ``obs(node, grad_in, [(parent, grad_out), ...])``
    called after each node; an observer may also have ``check_grad(node, i,
    parent, grad)`` (called before that gradient is passed on, may raise) and
    ``close()`` (called when the backward ends, also on error).
    """
    _TAPS.append(factory)

    def remove() -> None:
        for i, f in enumerate(_TAPS):
            if f is factory:
                del _TAPS[i]
                break

    return remove


class _Taps:
    """The observers of one backward call, merged into the one ``observer`` slot."""

    def __init__(self, observers: list) -> None:
        self.observers = observers
        checks = [o.check_grad for o in observers if getattr(o, "check_grad", None) is not None]
        if checks:
            def check_grad(node: Node, i: int, p: Any, gi: Any) -> None:
                for c in checks:
                    c(node, i, p, gi)

            self.check_grad = check_grad

    def __call__(self, node: Node, g: Any, seen: list) -> None:
        for o in self.observers:
            o(node, g, seen)

    def close(self) -> None:
        for o in self.observers:
            close = getattr(o, "close", None)
            if close is not None:
                close()


def _open_taps(observer: Any) -> Any:
    found = [o for o in (f() for f in list(_TAPS)) if o is not None]
    if not found:
        return None
    if observer is not None:
        found.insert(0, observer)
    return _Taps(found)


def _freed_error(node: Node) -> RuntimeError:
    return RuntimeError(
        f"backward through {node.name()} a second time: its saved values were freed after the "
        "first backward(). Pass retain_graph=True to the first backward() (or autograd.grad()) "
        "if you need to backpropagate through the same graph twice."
    )


def _check_versions(node: Node) -> None:
    for cell, version, tensor in node.versions:
        if cell[0] != version:
            what = "its output" if tensor is None else "an input"
            shape = node.out_shape if tensor is None else tuple(tensor._data.shape)
            dtype = node.out_dtype if tensor is None else tensor._data.dtype
            raise RuntimeError(
                f"a tensor saved for backward by {node.name()} ({what}, shape {tuple(shape)}, "
                f"{dtype}) was modified by an in-place operation: it was saved at version "
                f"{version} and is now at version {cell[0]}. Use an out-of-place op (x = x + 1 "
                "instead of x += 1) or .clone() the tensor before changing it."
            )


def _shape(a: Any) -> tuple:
    return a._data.shape if isinstance(a, Tensor) else np.shape(a)


def _as_tensor_grad(g: Any) -> Tensor:
    return g if isinstance(g, Tensor) else wrap(g)


def _run_hooks(hooks: list, g: Any, create_graph: bool, owner: str, shape: tuple, dtype: Any) -> Any:
    """Tensor hooks see and may replace the gradient; retain_grad runs last, on the final value."""
    retain = []
    for hook in list(hooks):
        if isinstance(hook, _RetainGrad):
            retain.append(hook)
            continue
        out = hook(_as_tensor_grad(g))
        if out is None:
            continue
        if not isinstance(out, Tensor):
            raise TypeError(
                f"a hook on {owner} returned {type(out).__name__}; it must return a Tensor or None"
            )
        if tuple(out._data.shape) != tuple(shape) or out._data.dtype != dtype:
            raise RuntimeError(
                f"a hook on {owner} returned a gradient of shape {tuple(out._data.shape)} and dtype "
                f"{out._data.dtype}, but the gradient must have shape {tuple(shape)} and dtype {dtype}"
            )
        g = out if create_graph else out._data
    for hook in retain:
        hook(_as_tensor_grad(g))
    return g


def _prune(roots: list[Node], targets: set) -> set:
    """Nodes from which some target is reachable: only they need to run."""
    reach, stack = set(roots), list(roots)
    while stack:
        for p in stack.pop().parents:
            if isinstance(p, Node) and p not in reach:
                reach.add(p)
                stack.append(p)
    needed: set = set()
    for node in sorted(reach, key=lambda n: n.seq):  # a node's inputs' nodes come first
        if node in targets or any(p in needed or (p is not None and p in targets) for p in node.parents):
            needed.add(node)
    return needed


def run_backward(
    roots: list[Tensor],
    grads: list[Any],
    retain_graph: bool,
    create_graph: bool,
    inputs: list[Tensor] | None = None,
    capture: bool = False,
    observer: Any = None,
) -> list | None:
    """Backpropagate ``grads`` (already checked to match ``roots``) through the graph.

    ``inputs``: restrict the work to gradients for these tensors.  ``capture``:
    return their gradients (``autograd.grad``) instead of accumulating into
    ``.grad``.  Gradients are ndarrays, or Tensors when ``create_graph``.
    Without ``capture``, returns the leaves whose new ``.grad`` carries a graph
    (``create_graph``), which ``backward()`` checks for reference cycles.
    ``observer(node, grad_in, [(parent, grad_out), ...])`` is called after each
    node runs, in execution order (used to step through backward).
    """
    targets: dict = {}
    if inputs is not None:
        for t in inputs:
            targets.setdefault(t.grad_fn if t.grad_fn is not None else t, t)
    captured: dict = {}
    shared: set = set()  # ids of arrays that must be copied before being stored in .grad
    pending: dict = {}
    root_nodes: list[Node] = []
    for t, g in zip(roots, grads):
        shared.add(id(g))
        key = t.grad_fn if t.grad_fn is not None else t
        pending[key] = g if key not in pending else pending[key] + g
        if t.grad_fn is not None and t.grad_fn not in root_nodes:
            root_nodes.append(t.grad_fn)
    needed = _prune(root_nodes, set(targets)) if inputs is not None else None
    ready = [(-n.seq, id(n), n) for n in root_nodes]
    heapq.heapify(ready)

    taps = _open_taps(observer) if _TAPS else None  # once per backward, not per node
    if taps is not None:
        observer = taps
    prev_mode, prev_retain = _state.grad_enabled, _state.retain_graph
    _state.grad_enabled = create_graph
    _state.retain_graph = retain_graph  # read by nodes that free their own buffers (compile)
    try:
        _drain(ready, pending, create_graph, retain_graph, needed, targets, captured, shared, observer)
        with_graph = []
        for leaf, g in list(pending.items()):  # only leaves are left: all their gradient is in
            del pending[leaf]
            if _finish_leaf(leaf, g, create_graph, targets, capture, captured, shared):
                with_graph.append(leaf)
        while _CALLBACKS:
            _CALLBACKS.pop(0)()
    finally:
        _CALLBACKS.clear()
        _state.grad_enabled = prev_mode
        _state.retain_graph = prev_retain
        if taps is not None:
            taps.close()
    if capture:
        return [captured.get(t.grad_fn if t.grad_fn is not None else t) for t in inputs or []]
    return with_graph


def _drain(ready: list, pending: dict, create_graph: bool, retain_graph: bool, needed: Any,
           targets: dict, captured: dict, shared: set, observer: Any) -> None:
    """The main loop: run nodes, latest-created first, until none is left (the hot path)."""
    heappop, heappush = heapq.heappop, heapq.heappush
    saved_values = _core.saved_values
    check = getattr(observer, "check_grad", None) if observer is not None else None
    # Arrays the engine allocated itself and no one else has seen: gradients may be added into
    # them in place.  By identity (the dict keeps them alive, so an id cannot be reused).
    owned: dict[int, np.ndarray] = {}
    into_ok = not create_graph and observer is None
    while ready:
        node = heappop(ready)[2]
        g = pending.pop(node)
        owned.pop(id(g), None)  # handed to rules now: it may travel on as some input's gradient
        if node.hooks:
            g = _run_hooks(node.hooks, g, create_graph, node.name(), node.out_shape, node.out_dtype)
        if targets and node in targets:
            captured[node] = g
            if needed is not None and not any(
                p in needed or (p is not None and p in targets) for p in node.parents
            ):
                continue
        op = node.op
        if op.save_sources:
            if node.saved is None:
                raise _freed_error(node)
            if node.versions is not None:
                _check_versions(node)
            vals = saved_values(node, create_graph)
        else:
            vals = ()
        if create_graph and not isinstance(g, Tensor):
            g = wrap(np.asarray(g))
        outs = None
        if op.vjp_all is not None:
            r = op.vjp_all
            outs = r.fn(g, *[vals[k] for k in r.slots])
        rules = op.vjps
        reduce = node.reduce
        seen = [] if observer is not None else None
        i = -1
        for p in node.parents:
            i += 1
            if p is None or (needed is not None and p not in needed and p not in targets):
                continue
            if i == 0 and into_ok and getattr(op, "vjp_into", None) is not None:
                _add_into(op.vjp_into, p, g, vals, pending, owned, ready)
                continue
            if outs is not None:
                gi = outs[i]
                if i and any(gi is o for o in outs[:i]):  # one array for two inputs (a compiled
                    shared.add(id(gi))  # backward's common subexpression): each .grad gets its own
            else:
                r = rules[i]
                k = r.slots
                if not k:
                    gi = r.fn(g)
                elif len(k) == 1:
                    gi = r.fn(g, vals[k[0]])
                else:
                    gi = r.fn(g, *[vals[j] for j in k])
            if gi is None:  # a zero gradient: nothing to send
                continue
            if gi is g:
                shared.add(id(g))
            if reduce is not None and reduce[i] is not None and _shape(gi) != reduce[i]:
                gi = _sum_to(gi, reduce[i])
            if create_graph and not isinstance(gi, Tensor):
                gi = wrap(np.asarray(gi))
            if seen is not None:
                if check is not None:
                    check(node, i, p, gi)
                seen.append((p, gi))
            if p in pending:
                acc = pending[p]
                if (owned.get(id(acc)) is acc and type(gi) is np.ndarray and gi.shape == acc.shape
                        and gi.dtype == acc.dtype):
                    np.add(acc, gi, out=acc)
                else:
                    pending[p] = acc + gi
            else:
                pending[p] = gi
                if not isinstance(p, Tensor):  # a leaf waits in pending until the end
                    heappush(ready, (-p.seq, id(p), p))
        if seen is not None:
            observer(node, g, seen)
        if not retain_graph and op.frees:
            node.saved = None
            node.versions = None


def _add_into(rule: Any, p: Any, g: Any, vals: Any, pending: dict, owned: dict, ready: list) -> None:
    """Add input 0's cotangent into its accumulator in place (``Primitive.defvjp_into``)."""
    acc = pending.get(p)
    if acc is None:
        shape = p.out_shape if isinstance(p, Node) else p._data.shape
        acc = np.zeros(shape, dtype=g.dtype)
        if isinstance(p, Node):
            heapq.heappush(ready, (-p.seq, id(p), p))
    elif owned.get(id(acc)) is not acc:
        acc = np.array(acc, dtype=np.result_type(acc, g), copy=True)
    rule.fn(acc, g, *[vals[k] for k in rule.slots])
    pending[p] = acc
    owned[id(acc)] = acc


def _sum_to(g: Any, shape: tuple) -> Any:
    from ..ops.shape import sum_to

    return sum_to(g, shape)


def _finish_leaf(leaf: Tensor, g: Any, create_graph: bool, targets: dict, capture: bool,
                 captured: dict, shared: set) -> bool:
    """All gradient for this leaf has arrived: run its hooks, then capture or accumulate.

    True when the leaf's new ``.grad`` carries a graph."""
    meta = leaf._meta
    if meta and "grad_dtype" in meta:  # Tensor.grad_dtype: hooks, autograd.grad and .grad see it cast
        g = _grad_dtype.cast_grad(g, meta["grad_dtype"])
    if meta and meta.get("hooks"):
        g = _run_hooks(meta["hooks"], g, create_graph, "a leaf tensor", leaf._data.shape, leaf._data.dtype)
    if capture:
        if leaf in targets:
            captured[leaf] = g
        return False
    if targets and leaf not in targets:
        return False
    _accumulate(leaf, g, create_graph, shared)
    if meta and meta.get("post_hooks"):  # register_post_accumulate_grad_hook
        for hook in list(meta["post_hooks"]):
            hook(leaf)
    return create_graph and leaf._grad._rg


def _accumulate(leaf: Tensor, g: Any, create_graph: bool, shared: set) -> None:
    dtype = leaf._data.dtype if not leaf._meta else _grad_dtype.grad_np_dtype(leaf, g)
    if create_graph:
        gt = _as_tensor_grad(g)
        if gt._data.dtype != dtype:
            from ..ops.elementwise import cast

            gt = cast(gt, dtype)
        if leaf._grad is None:
            leaf._grad = gt if id(g) not in shared else gt.clone()
        else:
            leaf._grad = leaf._grad + gt
        return
    if isinstance(g, Tensor):
        g = g._data
    old = leaf._grad
    if old is None:
        if (
            type(g) is not np.ndarray
            or id(g) in shared
            or not g.flags.owndata
            or not g.flags.writeable
            or g.dtype != dtype
            or not g.flags.c_contiguous
        ):
            g = np.array(g, dtype=dtype, copy=True, order="C")
        if g.shape != leaf._data.shape:
            g = np.broadcast_to(g, leaf._data.shape).copy()
        leaf._grad = wrap(g)
    elif old._rg:  # a gradient with history (from create_graph) is not modified in place
        leaf._grad = wrap(old._data + g)
    else:
        od = old._data
        if od.flags.writeable:
            np.add(od, g, out=od, casting="unsafe")
        else:
            old._data = od + g
        old._vc[0] += 1
