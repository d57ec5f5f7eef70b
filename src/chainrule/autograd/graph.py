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
from typing import Any, Callable

__all__ = ["Node", "AccumulateGrad"]

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
        """The values kept for backward, by the name the VJP rules use (empty once freed)."""
        if self.saved is None:
            return {}
        return dict(zip(self.op.save_names, self.saved))

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
