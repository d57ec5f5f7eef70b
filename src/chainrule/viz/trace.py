"""``trace_backward``: backprop one node at a time, as the engine runs it.

The engine calls an observer after each node with the gradient that flowed in
and the gradient it sent to each input; this module records those calls as
``Step``s (with copies of the gradients, since the engine may later add into
the same buffers in place) so a learner can walk through them, or a debugger
can find the first step where a gradient goes wrong.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

import numpy as np

from .._tensor import Tensor, wrap
from ..autograd import _seed, _why_no_grad
from ..autograd.engine import run_backward
from ..autograd.graph import Node
from ._walk import names_by_id

__all__ = ["Step", "BackwardTrace", "trace_backward"]


def _copy(g: Any) -> Tensor:
    data = g._data if isinstance(g, Tensor) else g
    return wrap(np.array(data, copy=True))


def _short(t: Tensor, width: int = 60) -> str:
    a = t._data
    if a.size == 1:
        return f"{a.item():.4g}"
    text = np.array2string(a, precision=4, separator=", ", threshold=8, edgeitems=2,
                           max_line_width=10**6).replace("\n", "")
    return text if len(text) <= width else text[: width - 1] + "…"


@dataclass
class Step:
    """One node of backward: ``grad_in`` flowed into ``node``; ``grads_out`` went to its inputs.

    ``grads_out`` pairs each input (its ``Node``, or the leaf ``Tensor`` whose
    ``.grad`` receives it) with the gradient sent to it, in input order;
    inputs that need no gradient are not listed.
    """

    index: int
    node: Node
    grad_in: Tensor
    grads_out: tuple[tuple[Any, Tensor], ...]
    names: Mapping[str, Tensor] | None = field(default=None, repr=False, compare=False)

    @property
    def name(self) -> str:
        return self.node.name()

    def describe(self, names: Mapping[str, Tensor] | None = None) -> str:
        """Readable lines; ``names`` (``{name: tensor}``, default: those given to
        ``trace_backward``) labels leaves and results."""
        leaf, node = names_by_id(names if names is not None else self.names)
        who = node.get(id(self.node))
        head = f"step {self.index}: {self.name}{f' ({who})' if who else ''}"
        lines = [f"{head}  in {tuple(self.grad_in.shape)}: {_short(self.grad_in)}"]
        for target, g in self.grads_out:
            if isinstance(target, Node):
                tname = target.name() + (f" ({node[id(target)]})" if id(target) in node else "")
            else:
                tname = f"leaf {leaf.get(id(target), tuple(target.shape))}"
            lines.append(f"    -> {tname}: {tuple(g.shape)} {_short(g)}")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.describe()


class BackwardTrace(list):
    """The steps of one backward pass, in the engine's order (a list of ``Step``)."""

    names: Mapping[str, Tensor] | None = None

    def __str__(self) -> str:
        return "\n".join(s.describe(self.names) for s in self)

    def order(self) -> list[str]:
        """The node names in the order they ran."""
        return [s.name for s in self]


def trace_backward(
    loss: Tensor,
    gradient: Any = None,
    retain_graph: bool = False,
    inputs: Any = None,
    names: Mapping[str, Tensor] | None = None,
) -> BackwardTrace:
    """Run ``loss.backward(gradient)`` and return its steps, in the order the engine ran them.

    Leaves get their ``.grad`` exactly as with ``backward()``.  Iterate over
    the result to walk backprop one node at a time; pass it to ``draw(...,
    steps=...)`` to colour the graph by step.  ``names`` labels the printout.

    >>> for step in trace_backward(z): print(step)
    """
    if not isinstance(loss, Tensor):
        raise TypeError(f"trace_backward() takes a Tensor, got {type(loss).__name__}")
    if not loss._rg:
        raise _why_no_grad(loss, 0, 1)
    seed = _seed(loss, gradient, 0, 1, "backward")
    steps = BackwardTrace()
    steps.names = names

    def observe(node: Node, g: Any, outs: list) -> None:
        steps.append(Step(len(steps), node, _copy(g), tuple((p, _copy(gi)) for p, gi in outs),
                          names))

    only = None
    if inputs is not None:
        only = [inputs] if isinstance(inputs, Tensor) else list(inputs)
    run_backward([loss], [seed], bool(retain_graph), False, inputs=only, observer=observe)
    return steps

