"""The graph behind some tensors, as plain lists: what ``draw`` and ``collapse`` work on.

Vertices are op nodes (``grad_fn``s), leaf tensors that require grad, and, for
the forward picture, inputs that need no gradient ("constants"), found in the
values an op saved for backward.  Everything is walked iteratively (graphs of
10^5 nodes are normal) and in a fixed order, so the same graph always gives the
same picture.  Detached parts are not reachable from the outputs' ``grad_fn``,
so they never appear.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

import numpy as np

from .._tensor import Tensor
from ..autograd.graph import Node
from ..ops._core import _IN, _SHAPE

# vertex kinds
OP, LEAF, CONST = "op", "leaf", "const"


@dataclass
class Vertex:
    """One box in the picture: an op node, a leaf tensor, or a constant input."""

    kind: str
    obj: Any  # the Node, the leaf Tensor, or the constant (Tensor, array, number, or None)
    shape: tuple | None
    dtype: Any = None
    parents: list[tuple[int, int]] = field(default_factory=list)  # (slot, vertex index)


@dataclass
class Walk:
    vertices: list[Vertex]
    roots: list[tuple[Tensor, int | None]]  # each output tensor and its vertex (None: no graph)


def names_by_id(names: Any) -> tuple[dict[int, str], dict[int, str]]:
    """``{id(leaf): name}`` and ``{id(grad_fn): name}`` from ``{name: tensor}`` (or name/tensor pairs).

    A result is known by its ``grad_fn``, which is what the graph holds; the
    first name given to a tensor wins.
    """
    leaves: dict[int, str] = {}
    nodes: dict[int, str] = {}
    items = names.items() if isinstance(names, Mapping) else names or ()
    for name, t in items:
        if isinstance(t, Tensor):
            if t.grad_fn is not None:
                nodes.setdefault(id(t.grad_fn), str(name))
            else:
                leaves.setdefault(id(t), str(name))
    return leaves, nodes


def shape_of(value: Any) -> tuple | None:
    if isinstance(value, Tensor):
        return tuple(value._data.shape)
    if isinstance(value, (np.ndarray, np.generic, int, float, bool)):
        return tuple(np.shape(value))
    return None


def _constant(node: Node, slot: int) -> tuple[Any, tuple | None, bool]:
    """What is known of input ``slot`` of ``node`` when it needs no gradient.

    Returns (value or None, shape or None, known): the value when the op saved
    the input itself, else its shape when the op saved that (broadcasting ops do).
    """
    op = node.op
    if op is None or node.saved is None:
        return None, None, False
    shape = None
    for (kind, key), value in zip(op.save_sources, node.saved):
        if key != slot or value is None:  # None: not saved (no rule of an input with grad reads it)
            continue
        if kind == _IN:
            return value, shape_of(value), True
        if kind == _SHAPE:
            shape = tuple(value)
    return None, shape, False


def walk(tensors: tuple[Tensor, ...], constants: bool = False) -> Walk:
    """The vertices behind ``tensors`` in depth-first order from the outputs (outputs first)."""
    vertices: list[Vertex] = []
    index: dict[int, int] = {}
    keep: list[Any] = []  # keeps every keyed object alive, so ids stay unique during the walk

    def add(key: Any, vertex: Vertex) -> tuple[int, bool]:
        k = id(key)
        if k in index:
            return index[k], False
        index[k] = len(vertices)
        keep.append(key)
        vertices.append(vertex)
        return index[k], True

    def make(obj: Any) -> Vertex:
        if isinstance(obj, Node):
            return Vertex(OP, obj, tuple(obj.out_shape), obj.out_dtype)
        return Vertex(LEAF, obj, tuple(obj._data.shape), obj._data.dtype)

    roots: list[tuple[Tensor, int | None]] = []
    stack: list[int] = []
    for t in tensors:
        if not isinstance(t, Tensor):
            raise TypeError(f"draw() takes tensors, got {type(t).__name__}")
        start = t.grad_fn if t.grad_fn is not None else (t if t._rg else None)
        if start is None:
            roots.append((t, None))
            continue
        i, new = add(start, make(start))
        roots.append((t, i))
        if new:
            stack.append(i)
    # Depth-first, parents visited in slot order: push them in reverse.
    while stack:
        i = stack.pop()
        v = vertices[i]
        if v.kind != OP:
            continue
        found: list[int] = []
        for slot, p in enumerate(v.obj.parents):
            if p is None:
                if not constants:
                    continue
                value, shape, known = _constant(v.obj, slot)
                if known and isinstance(value, Tensor):
                    j, _ = add(value, Vertex(CONST, value, shape, value._data.dtype))
                else:  # a number or an unsaved input: one box per use
                    marker = object()
                    j, _ = add(marker, Vertex(CONST, value if known else None, shape))
                v.parents.append((slot, j))
                continue
            j, new = add(p, make(p))
            v.parents.append((slot, j))
            if new:
                found.append(j)
        stack.extend(reversed(found))
    return Walk(vertices, roots)
