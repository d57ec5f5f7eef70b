"""Custom differentiable functions: ``chainrule.autograd.Function``, like PyTorch's.

>>> class Cube(chainrule.autograd.Function):
...     @staticmethod
...     def forward(ctx, x):
...         ctx.save_for_backward(x)
...         return x ** 3
...     @staticmethod
...     def backward(ctx, g):
...         (x,) = ctx.saved_tensors
...         return g * 3 * x ** 2
...     @staticmethod
...     def jvp(ctx, t):                       # optional: forward mode
...         return t * 3 * ctx.x ** 2          # (set ctx.x = x in forward)
>>> y = Cube.apply(x)

``apply`` runs ``forward`` in no-grad mode and records *one node* in the same
graph as the built-in ops: the node's "op" is a small object per Function class
whose VJP calls ``backward`` with the context, which the node keeps as its only
saved value (so the engine frees it after backward like any saved tensor).
Several differentiable outputs each get a small selection node that hands its
gradient to the shared node, which calls ``backward`` once with all of them.
"""

from __future__ import annotations

import functools
import weakref
from typing import Any, Callable

import numpy as np

from .._tensor import Tensor, wrap
from . import _levels
from .forward_ad import _set_tangent
from .grad_mode import is_grad_enabled, no_grad
from .graph import Node, next_seq

__all__ = ["Function", "FunctionCtx", "once_differentiable"]

_new = object.__new__


class FunctionCtx:
    """The ``ctx`` passed to ``forward``/``backward``/``jvp``; any attribute may be stored on it."""

    def __init__(self) -> None:
        self.needs_input_grad: tuple = ()
        self.materialize_grads = True
        self.to_save: tuple = ()
        self.saved_for_forward: tuple = ()
        self._non_differentiable: set = set()
        self._dirty: set = set()
        self._saved: list | None = None

    def save_for_backward(self, *tensors: Any) -> None:
        """Keep tensors (or None) for ``backward``; read them back with ``saved_tensors``."""
        for t in tensors:
            if t is not None and not isinstance(t, Tensor):
                raise TypeError(f"save_for_backward() takes Tensors or None, got {type(t).__name__}; "
                                "store other values as attributes of ctx")
        self.to_save = tensors

    def save_for_forward(self, *tensors: Any) -> None:
        """Keep tensors for ``jvp`` (read back as ``ctx.saved_for_forward``... or as attributes)."""
        self.saved_for_forward = tensors

    @property
    def saved_tensors(self) -> tuple:
        if self._saved is None:  # not recorded (no input requires grad): what was saved, as is
            return tuple(self.to_save)
        out = []
        create = is_grad_enabled()
        for entry in self._saved:
            if entry[0] == "out":  # an output: kept as data to avoid a cycle, re-wrapped here
                _, k, data, vc = entry
                t = wrap(data)
                t._vc = vc
                node = self._out_nodes[k]() if self._out_nodes[k] is not None else None
                if create and node is not None:
                    t.grad_fn = node
                    t._rg = True
                out.append(t)
            else:
                out.append(entry[1])
        return tuple(out)

    def mark_non_differentiable(self, *outputs: Any) -> None:
        """These outputs get no gradient (e.g. indices): they never require grad."""
        self._non_differentiable.update(id(o) for o in outputs)

    def mark_dirty(self, *tensors: Any) -> None:
        """These inputs were modified in place by ``forward`` (and must be returned)."""
        self._dirty.update(id(t) for t in tensors)

    def set_materialize_grads(self, value: bool) -> None:
        """False: ``backward`` gets None (not zeros) for outputs that received no gradient."""
        self.materialize_grads = bool(value)


class _FunctionOp:
    """What the engine reads from a node's ``op``, for one Function class (or output selection)."""

    __slots__ = ("name", "public", "save_sources", "save_names", "vjp_all", "vjps", "frees",
                 "ans_slot", "tensor_slots", "extra", "differentiable", "broadcasts", "view",
                 "node_cls", "__weakref__")
    vjp_into = None  # no in-place accumulation rule (see Primitive.defvjp_into)

    def __init__(self, name: str, vjp: Callable, saved_name: str, frees: bool) -> None:
        from ..ops._core import _PARAM, Rule  # (ops imports autograd while loading)

        self.name = self.public = name
        self.save_sources = ((_PARAM, saved_name),)
        self.save_names = (saved_name,)
        self.vjp_all = Rule(vjp, (saved_name,))
        self.vjp_all.slots = (0,)
        self.vjps = None
        self.frees = frees
        self.ans_slot = None
        self.tensor_slots = ()
        self.extra: dict = {}
        self.differentiable = True
        self.broadcasts = False
        self.view = False
        self.node_cls = type(f"{name}Backward", (Node,), {"__slots__": ()})
        self.node_cls.op = self

    def __repr__(self) -> str:
        return f"<custom Function {self.name}>"


class _MultiGrad(Tensor):
    """Gradients of several outputs of one Function, on their way to its node (summed by ``+``)."""

    __slots__ = ("parts",)

    @staticmethod
    def make(parts: dict) -> _MultiGrad:
        g = _new(_MultiGrad)
        g._data = np.zeros(())
        g._rg = False
        g._grad = None
        g.grad_fn = None
        g._vc = [0]
        g._base = None
        g._meta = None
        g.parts = parts
        return g

    def __add__(self, other: Any) -> _MultiGrad:  # type: ignore[override]
        parts = dict(self.parts)
        for k, v in other.parts.items():
            parts[k] = parts[k] + v if k in parts else v
        return _MultiGrad.make(parts)


def _select_vjp(g: Any, k: int) -> tuple:
    return (_MultiGrad.make({k: g}),)


_OPS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _ops_for(cls: type) -> tuple[_FunctionOp, _FunctionOp]:
    ops = _OPS.get(cls)
    if ops is None:
        ops = (_FunctionOp(cls.__name__, _run_backward, "ctx", True),
               _FunctionOp(cls.__name__, _select_vjp, "output", False))
        _OPS[cls] = ops
    return ops


def _overrides(cls: type, name: str) -> bool:
    return getattr(cls, name) is not getattr(Function, name)


class Function:
    """Base class of custom differentiable functions: subclass and define static methods
    ``forward(ctx, *args)`` and ``backward(ctx, *grads)`` (and optionally ``jvp(ctx, *tangents)``),
    then call ``YourFunction.apply(*args)``.  The PyTorch 2 style ``forward(*args)`` plus
    ``setup_context(ctx, inputs, output)`` works too.

    ``generate_vmap_rule = True`` lets ``vmap`` run ``forward``/``backward`` on batched
    tensors directly (they must be written with chainrule ops).
    """

    generate_vmap_rule = False

    @staticmethod
    def forward(ctx: Any, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError("a custom Function must define a static forward()")

    @staticmethod
    def setup_context(ctx: Any, inputs: tuple, output: Any) -> None:
        raise NotImplementedError

    @staticmethod
    def backward(ctx: Any, *grad_outputs: Any) -> Any:
        raise NotImplementedError("a custom Function must define a static backward() (or vjp()) to "
                                  "be differentiated in reverse mode")

    vjp = backward

    @staticmethod
    def jvp(ctx: Any, *tangents: Any) -> Any:
        raise NotImplementedError("a custom Function must define a static jvp() to be used with "
                                  "forward-mode AD")

    @classmethod
    def apply(cls, *args: Any, **kwargs: Any) -> Any:
        outs, _, single = _dispatch(cls, args, kwargs)
        return outs[0] if single else outs


def _dispatch(cls: type, args: tuple, kwargs: dict) -> tuple:
    """Run ``cls`` at the innermost transform level among ``args`` (or plainly)."""
    top = _levels.top_level(args) if _levels.state.stack else None
    if top is None:
        return _run(cls, args, kwargs)
    if top.kind == "vmap":
        if not cls.generate_vmap_rule:
            raise RuntimeError(
                f"vmap: custom Function {cls.__name__} got batched inputs; set "
                f"{cls.__name__}.generate_vmap_rule = True (forward and backward written with "
                "chainrule ops then run on the batch directly)"
            )
        return _run(cls, args, kwargs)
    # a forward level (``top`` came from an input's tangent): the primal below it, then jvp()
    with _levels.hidden(top):
        outs, ctx, single = _dispatch(cls, args, kwargs)
        if not _overrides(cls, "jvp"):
            raise RuntimeError(f"custom Function {cls.__name__} has no jvp() staticmethod, so it "
                               "cannot be used with forward-mode AD (jvp, jacfwd, hessian)")
        tangents = []
        for a in args:
            t = _levels.payload(a, top)
            if t is None and isinstance(a, Tensor) and a._data.dtype.kind == "f":
                t = wrap(np.zeros_like(a._data))
            tangents.append(t)
        res = cls.jvp(ctx, *tangents)
    for o, t in zip(outs, res if isinstance(res, tuple) else (res,)):
        if isinstance(o, Tensor) and t is not None and o._data.dtype.kind == "f":
            if not isinstance(t, Tensor):
                t = wrap(np.asarray(t, dtype=o._data.dtype))
            if t._data.shape != o._data.shape:
                raise RuntimeError(f"custom Function {cls.__name__}.jvp returned a tangent of shape "
                                   f"{tuple(t._data.shape)} for an output of shape "
                                   f"{tuple(o._data.shape)}")
            _set_tangent(o, top, t)
    return outs, ctx, single


def _run(cls: type, args: tuple, kwargs: dict) -> tuple:
    ctx = FunctionCtx()
    ctx._cls = cls
    grad_on = is_grad_enabled()
    ctx.needs_input_grad = tuple(bool(grad_on and isinstance(a, Tensor) and a._rg) for a in args)
    with no_grad():
        if _overrides(cls, "setup_context"):
            raw = cls.forward(*args, **kwargs)
            cls.setup_context(ctx, args, raw)
        else:
            raw = cls.forward(ctx, *args, **kwargs)
    single = not isinstance(raw, tuple)
    outs = [raw] if single else list(raw)
    by_id = {id(a): a for a in args if isinstance(a, Tensor)}
    seen: set = set()
    for k, o in enumerate(outs):
        if isinstance(o, Tensor) and (id(o) in by_id or id(o) in seen) and id(o) not in ctx._dirty:
            alias = wrap(o._data)  # an input returned as is: a new tensor sharing its storage
            alias._vc = o._vc
            if id(o) in ctx._non_differentiable:
                ctx._non_differentiable.add(id(alias))
            outs[k] = alias
        seen.add(id(outs[k]))
    diff = [k for k, o in enumerate(outs) if isinstance(o, Tensor) and o._data.dtype.kind == "f"
            and id(o) not in ctx._non_differentiable]
    if any(ctx.needs_input_grad) and diff:
        _record(cls, ctx, args, outs, diff, raw)
    return tuple(outs), ctx, single


def _node(op: _FunctionOp, parents: tuple, saved: tuple, out: Tensor) -> Node:
    node = _new(op.node_cls)
    node.parents = parents
    node.reduce = None
    node.saved = saved
    node.versions = None
    node.hooks = None
    node.seq = next_seq()
    node.meta = None
    node.out_shape = out._data.shape
    node.out_dtype = out._data.dtype
    return node


def _record(cls: type, ctx: FunctionCtx, args: tuple, outs: list, diff: list, raw: Any) -> None:
    core_op, select_op = _ops_for(cls)
    parents = tuple((a.grad_fn or a) if isinstance(a, Tensor) and a._rg else None for a in args)
    node = _node(core_op, parents, (ctx,), outs[diff[0]])
    ctx._node = weakref.ref(node)
    ctx._n_out = len(outs)
    ctx._direct = diff[0] if len(diff) == 1 else None
    ctx._out_meta = [(o._data.shape, o._data.dtype) if isinstance(o, Tensor) else None for o in outs]
    ctx._arg_meta = [(a._data.shape, a._data.dtype) if isinstance(a, Tensor) else None for a in args]
    out_nodes: list = [None] * len(outs)
    for k in diff:
        o = outs[k]
        if id(o) in ctx._dirty:  # modified in place: the input itself now has this history
            if o.grad_fn is None and o._rg:
                raise RuntimeError(f"custom Function {cls.__name__}: a leaf tensor that requires grad "
                                   "was modified in place (mark_dirty); clone it first")
            o._vc[0] += 1
        o.grad_fn = node if ctx._direct is not None else _node(select_op, (node,), (k,), o)
        o._rg = True
        out_nodes[k] = weakref.ref(o.grad_fn)
    ctx._out_nodes = out_nodes
    saved, versions = [], []
    pos = {id(o): k for k, o in enumerate(outs) if isinstance(o, Tensor)}
    raw_outs = raw if isinstance(raw, tuple) else (raw,)
    for k, o in enumerate(raw_outs):  # outputs saved before they were aliased count as outputs
        if isinstance(o, Tensor) and id(o) not in pos and k < len(outs):
            pos[id(o)] = k
    inputs = {id(a) for a in args if isinstance(a, Tensor)}
    for t in ctx.to_save:
        if t is None:
            saved.append(("value", None))
        elif id(t) in pos and id(t) not in inputs:
            k = pos[id(t)]
            saved.append(("out", k, outs[k]._data, outs[k]._vc))
            versions.append((outs[k]._vc, outs[k]._vc[0], None))
        else:
            saved.append(("value", t))
            versions.append((t._vc, t._vc[0], t))
    ctx._saved = saved
    ctx.to_save = ()
    node.versions = tuple(versions) if versions else None


def _run_backward(g: Any, ctx: FunctionCtx) -> tuple:
    """The node's VJP: call the user's ``backward`` and check what it returns."""
    cls = ctx._cls
    create = is_grad_enabled()
    parts = g.parts if isinstance(g, _MultiGrad) else {ctx._direct: g}
    grads = []
    for k in range(ctx._n_out):
        gk = parts.get(k)
        meta = ctx._out_meta[k]
        if gk is None:
            if ctx.materialize_grads and meta is not None:
                gk = wrap(np.zeros(meta[0], dtype=meta[1]))
        elif not isinstance(gk, Tensor):
            gk = wrap(np.asarray(gk))
        grads.append(gk)
    fn = cls.backward if _overrides(cls, "backward") else cls.vjp
    res = fn(ctx, *grads)
    res = res if isinstance(res, tuple) else (res,)
    n = len(ctx._arg_meta)
    if len(res) < n or any(r is not None for r in res[n:]):
        raise RuntimeError(f"function {cls.__name__}Backward returned an incorrect number of "
                           f"gradients (expected {n}, got {len(res)})")
    out = []
    for i in range(n):
        r, meta = res[i], ctx._arg_meta[i]
        if r is None or not ctx.needs_input_grad[i]:
            out.append(None)
            continue
        if meta is None:
            raise RuntimeError(f"function {cls.__name__}Backward returned a gradient different than "
                               f"None at position {i}, but the corresponding forward input was not a "
                               "Tensor")
        out.append(_check_grad(cls, i, r, meta, create))
    return tuple(out)


def _check_grad(cls: type, i: int, r: Any, meta: tuple, create: bool) -> Any:
    shape, dtype = meta
    if not isinstance(r, Tensor):
        r = wrap(np.asarray(r))
    if r._data.shape != shape:
        try:
            ok = np.broadcast_shapes(r._data.shape, shape) == r._data.shape  # summable back
        except ValueError:
            ok = False
        if not ok:
            raise RuntimeError(f"function {cls.__name__}Backward returned an invalid gradient at "
                               f"index {i} - got {list(r._data.shape)} but expected shape compatible "
                               f"with {list(shape)}")
        from ..ops.shape import sum_to

        r = sum_to(r, shape)
    if r._data.dtype != dtype:
        from ..ops.elementwise import cast

        r = cast(r, dtype)
    return r if create else r._data


# ---------------------------------------------------------- once_differentiable
class _DelayedError(Function):
    """Stands in for a backward that cannot be differentiated again: raises if it is."""

    @staticmethod
    def forward(ctx: Any, out: Any, *inputs: Any) -> Any:
        return out

    @staticmethod
    def backward(ctx: Any, *grads: Any) -> Any:
        raise RuntimeError("trying to differentiate twice a function that was marked with "
                           "@once_differentiable")


def once_differentiable(fn: Callable) -> Callable:
    """Decorate ``backward``: it runs without recording, and differentiating its result (double
    backward) raises instead of silently giving zero."""

    @functools.wraps(fn)
    def wrapper(ctx: Any, *args: Any) -> Any:
        with no_grad():
            outs = fn(ctx, *args)
        if not is_grad_enabled():
            return outs
        needing = tuple(a for a in args if isinstance(a, Tensor) and a._rg)
        if not needing:
            return outs
        single = not isinstance(outs, tuple)
        res = tuple(_DelayedError.apply(o, *needing) if isinstance(o, Tensor) else o
                    for o in ((outs,) if single else outs))
        return res[0] if single else res

    return wrapper
