"""Fusion of elementwise chains: consecutive elementwise nodes of one shape become one group,
run by a backend as a single loop over memory instead of one NumPy pass per op.

A group is a run of *consecutive* nodes of a program body (so nothing outside the group
reads a member before the group has run) that each apply a primitive of ``SCALAR`` to
inputs of the group's shape or 0-d values and Python numbers, in floating point.  Its
inputs are the values it reads from outside; its outputs are the members something after
it reads (a later node, the returns, a check, an effect).  Members nobody else reads are
never materialised: that is the memory saved.

``SCALAR`` gives each fusable primitive as an expression over its arguments' scalars
(``{0}``, ``{1}``); ``ONE``/``ZERO`` are constants of the element type, and the ``_sigmoid``
helper is the op table's formula.  The backend (``backends/numba.py``) turns a group into
a compiled loop; ``before/after`` tables of a graph show which nodes were grouped.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..ir import Node, Ref

__all__ = ["SCALAR", "Group", "fuse_body"]

SCALAR: dict[str, str] = {
    "Add": "({0} + {1})",
    "Sub": "({0} - {1})",
    "Mul": "({0} * {1})",
    "Div": "({0} / {1})",
    "Pow": "({0} ** {1})",
    "Neg": "(-{0})",
    "Abs": "np.abs({0})",
    "Exp": "np.exp({0})",
    "Expm1": "np.expm1({0})",
    "Log": "np.log({0})",
    "Log1p": "np.log1p({0})",
    "Sqrt": "np.sqrt({0})",
    "Rsqrt": "(ONE / np.sqrt({0}))",
    "Reciprocal": "(ONE / {0})",
    "Sin": "np.sin({0})",
    "Cos": "np.cos({0})",
    "Tan": "np.tan({0})",
    "Sinh": "np.sinh({0})",
    "Cosh": "np.cosh({0})",
    "Tanh": "np.tanh({0})",
    "Sigmoid": "_sigmoid({0})",
    "Relu": "np.maximum({0}, ZERO)",
}
_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))


@dataclass
class Group:
    """A fused chain: ``members`` in order, ``inputs`` (Refs and 0-d refs read from outside),
    ``outputs`` (member ids read after the group)."""

    members: list[Node]
    shape: tuple
    inputs: list[int] = field(default_factory=list)
    outputs: list[int] = field(default_factory=list)
    name: str = ""  # the compiled loop's name in the generated program

    @property
    def i(self) -> int:  # the position of its last member (where it runs)
        return self.members[-1].i


def _fusable(n: Node, nodes: dict[int, Node]) -> bool:
    if n.kind != "op" or n.params or getattr(n.prim, "name", None) not in SCALAR:
        return False
    if np.dtype(n.dtype) not in _FLOATS or not n.shape:
        return False
    for a in n.args:
        if isinstance(a, Ref):
            src = nodes.get(a.i)
            if src is None or np.dtype(src.dtype) not in _FLOATS:
                return False
            if tuple(src.shape) not in (tuple(n.shape), ()):
                return False
        elif type(a) not in (int, float, bool):
            return False
    return True


def fuse_body(body: list[Node], known: dict[int, Node], keep: set[int]) -> list[Any]:
    """``body`` with each run of two or more fusable nodes of one shape replaced by a
    ``Group``.  ``known``: every node the body can read (for shapes and dtypes); ``keep``:
    values read after the body (returns, checks, effects)."""
    out: list[Any] = []
    run: list[Node] = []

    def close() -> None:
        if len(run) >= 2:
            out.append(Group(list(run), tuple(run[0].shape)))
        else:
            out.extend(run)
        run.clear()

    for n in body:
        if _fusable(n, known) and (not run or tuple(n.shape) == tuple(run[0].shape)):
            run.append(n)
        else:
            close()
            if _fusable(n, known):
                run.append(n)
            else:
                out.append(n)
    close()
    _wire(out, keep)
    return out


def _wire(items: list[Any], keep: set[int]) -> None:
    """Each group's inputs (read from outside it) and outputs (read after it)."""
    read_after: set[int] = set(keep)
    for item in reversed(items):
        if isinstance(item, Group):
            ids = {m.i for m in item.members}
            item.outputs = [m.i for m in item.members if m.i in read_after]
            seen: list[int] = []
            for m in item.members:
                for r in m.refs():
                    if r not in ids and r not in seen:
                        seen.append(r)
            item.inputs = seen
            read_after.update(seen)
        else:
            read_after.update(item.refs())
