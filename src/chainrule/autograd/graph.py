"""Graph nodes: what an op leaves behind so that backward can run.

A ``Node`` is the ``grad_fn`` of the tensor an op produced.  Every op has one
output, so a node holds exactly one gradient during backward.  Edges point
*towards the inputs*: ``parents[i]`` is the node that made input ``i``, the leaf
tensor itself (gradient goes to its ``.grad``), or ``None`` when input ``i``
needs no gradient.  Nodes never reference their output tensor (that would be a
reference cycle); a saved output is kept as a bare array.

Each op gets its own Node subclass named like PyTorch's (``MulBackward0``) so
``type(y.grad_fn).__name__`` and ``repr(y)`` read the same as in PyTorch.
"""

from __future__ import annotations

import itertools
import threading
from typing import Any, Callable

import numpy as np

from ._switch import Switch

__all__ = ["Node", "AccumulateGrad", "saved_tensors_hooks", "disable_saved_tensors_hooks"]

_sequence = itertools.count()


class Node:
    """Base class of every ``grad_fn``.

    Slots:
      parents  -- per input: the input's Node, a leaf Tensor, or None.
      reduce   -- None, or per input the shape its cotangent is summed back to (broadcasting).
      saved    -- values the op's VJP rules asked for (see ``ops._core``); None once freed.
      versions -- ``((version_cell, version_at_save), ...)`` for saved tensors, or None.
      hooks    -- gradient hooks of the output tensor (``register_hook``/``retain_grad``).
      seq      -- creation order; later nodes run first when both are ready.
      out_shape, out_dtype -- of the output, for checking gradients handed to this node.
      meta     -- None, or a dict for rarely used extras (anomaly trace, saved-tensor hooks).
    """

    __slots__ = (
        "parents",
        "reduce",
        "saved",
        "versions",
        "hooks",
        "seq",
        "out_shape",
        "out_dtype",
        "meta",
        "__weakref__",
    )
    op: Any = None  # the Primitive, set on each op's subclass

    def name(self) -> str:
        return type(self).__name__

    @property
    def next_functions(self) -> tuple:
        """``((node_or_AccumulateGrad_or_None, 0), ...)``, one pair per input, like PyTorch."""
        out = []
        for p in self.parents:
            if p is None or isinstance(p, Node):
                out.append((p, 0))
            else:
                out.append((AccumulateGrad(p), 0))
        return tuple(out)

    @property
    def saved_values(self) -> dict[str, Any]:
        """The values kept for backward, by the name the VJP rules use (empty once freed).

        Only those that the rules of the inputs requiring grad read are kept (and listed)."""
        if self.saved is None:
            return {}
        return {k: v for k, v in zip(self.op.save_names, self.saved) if v is not None}

    def register_hook(self, fn: Callable) -> Any:
        """Hook on the gradient flowing *into* this node (the output's gradient)."""
        from ..utils.hooks import RemovableHandle

        if self.hooks is None:
            self.hooks = []
        self.hooks.append(fn)
        return RemovableHandle(self.hooks, fn)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} object at {id(self):#x}>"


class AccumulateGrad:
    """Stands for a leaf in ``next_functions``: gradient arriving here goes into ``variable.grad``."""

    __slots__ = ("variable",)

    def __init__(self, variable: Any) -> None:
        self.variable = variable

    def name(self) -> str:
        return "AccumulateGrad"

    @property
    def next_functions(self) -> tuple:
        return ()

    def __eq__(self, other: object) -> bool:
        return isinstance(other, AccumulateGrad) and other.variable is self.variable

    def __hash__(self) -> int:
        return id(self.variable)

    def __repr__(self) -> str:
        return f"<AccumulateGrad object at {id(self):#x}>"


def new_node_class(op_name: str) -> type:
    """A Node subclass named ``<Op>Backward0`` (no extra slots, so no per-node cost)."""
    return type(f"{op_name}Backward0", (Node,), {"__slots__": ()})


def next_seq() -> int:
    return next(_sequence)


# ------------------------------------------------------------ saved-tensor hooks
class _HooksState(threading.local):
    """Per thread: the stack of active (pack, unpack) pairs, and a disabling message."""

    def __init__(self) -> None:
        self.stack: list[tuple[Callable, Callable]] = []
        self.disabled: str | None = None


_hooks = _HooksState()


class saved_tensors_hooks:
    """Transform every value a node saves for backward: ``pack`` when saved, ``unpack`` when used.

    ``pack(tensor) -> anything`` runs as each op records its node; ``unpack(packed)
    -> tensor`` runs when backward needs the value.  Saved inputs are passed as
    the input tensor, a saved output (or array constant) as a detached tensor
    sharing its data.  Hooks nest (the innermost pair applies) and are per
    thread.  Checkpointing is built on them; so is offloading (pack copies the
    data away, unpack brings it back).  Nodes of custom ``Function``s keep
    their context as it is.

    >>> pack = lambda t: t.detach().numpy().copy()
    >>> with saved_tensors_hooks(pack, chainrule.from_numpy):
    ...     y = (x * x).sum()
    """

    def __init__(self, pack_hook: Callable[[Any], Any], unpack_hook: Callable[[Any], Any]) -> None:
        self.pack_hook = pack_hook
        self.unpack_hook = unpack_hook

    def __enter__(self) -> saved_tensors_hooks:
        if _hooks.disabled is not None:
            raise RuntimeError(_hooks.disabled)
        _hooks.stack.append((self.pack_hook, self.unpack_hook))
        _hooks_switch.on()  # counts threads x nesting levels
        return self

    def __exit__(self, *exc: object) -> None:
        _hooks.stack.pop()
        _hooks_switch.off()


class disable_saved_tensors_hooks:
    """Inside this block, entering ``saved_tensors_hooks`` raises ``RuntimeError(error_message)``."""

    def __init__(self, error_message: str) -> None:
        self.error_message = error_message

    def __enter__(self) -> None:
        self._prev = _hooks.disabled
        _hooks.disabled = self.error_message

    def __exit__(self, *exc: object) -> None:
        _hooks.disabled = self._prev


def _pack_wrapper(op: Any, args: tuple, params: dict, inner: Callable) -> Any:
    out = inner(op, args, params)
    stack = _hooks.stack
    if stack:
        node = getattr(out, "grad_fn", None)
        if (node is not None and node.op is op and op.frees and node.saved
                and (node.meta is None or "unpack" not in node.meta)):
            _pack_node(node, op, *stack[-1])
    return out


class _Packed:
    """Marks a packed saved value (so unpack knows which entries to transform)."""

    __slots__ = ("obj",)

    def __init__(self, obj: Any) -> None:
        self.obj = obj


class _Ghost:
    """Stands for a saved tensor in ``node.versions``: its shape and dtype, but no data.

    Without it the version entries would keep every saved tensor alive, which
    would defeat hooks that pack to save memory (checkpointing, offloading).
    """

    __slots__ = ("_data",)

    def __init__(self, data: Any) -> None:
        self._data = np.broadcast_to(np.zeros((), data.dtype), data.shape)


def _pack_node(node: Node, op: Any, pack: Callable, unpack: Callable) -> None:
    from .._tensor import Tensor, wrap
    from ..ops._core import _ANS, _IN, _INS

    def one(a: Any) -> Any:  # arrays (constants such as a dropout mask) are packed as tensors
        if isinstance(a, Tensor):
            return _Packed(pack(a))
        if isinstance(a, np.ndarray):
            return _Packed(pack(wrap(a)))
        return a

    saved = list(node.saved)
    for i, (kind, _) in enumerate(op.save_sources):
        v = saved[i]
        if kind == _IN:
            saved[i] = one(v)
        elif kind == _ANS:
            saved[i] = _Packed(pack(wrap(v)))
        elif kind == _INS:
            saved[i] = tuple(one(a) for a in v)
    node.saved = tuple(saved)
    if node.versions is not None:
        node.versions = tuple((cell, ver, t if t is None else _Ghost(t._data))
                              for cell, ver, t in node.versions)
    if node.meta is None:
        node.meta = {}
    node.meta["unpack"] = _Unpacker(op, unpack)


class _Unpacker:
    """``node.meta['unpack']``: turns the packed saved values back into what the rules read."""

    __slots__ = ("op", "unpack")

    def __init__(self, op: Any, unpack: Callable) -> None:
        self.op = op
        self.unpack = unpack

    def __call__(self, vals: tuple) -> tuple:
        from ..ops._core import _ANS

        out = list(vals)
        for i, (kind, _) in enumerate(self.op.save_sources):
            v = out[i]
            if isinstance(v, _Packed):
                t = self._tensor(v.obj)
                out[i] = t._data if kind == _ANS else t
            elif isinstance(v, tuple) and any(isinstance(a, _Packed) for a in v):
                out[i] = tuple(self._tensor(a.obj) if isinstance(a, _Packed) else a for a in v)
        return tuple(out)

    def _tensor(self, packed: Any) -> Any:
        from .._tensor import Tensor, wrap

        t = self.unpack(packed)
        if isinstance(t, Tensor):
            return t
        if isinstance(t, np.ndarray):
            return wrap(t)
        raise TypeError(
            f"a saved-tensor unpack hook returned {type(t).__name__} for {self.op.name}; it must "
            "return a Tensor (or an ndarray)"
        )


_hooks_switch = Switch(_pack_wrapper)  # the packing wrapper exists while some thread has hooks
