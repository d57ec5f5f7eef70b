"""Pytrees: nested tuples, lists, dicts (and namedtuples) of tensors, flattened and rebuilt.

Transforms work on flat lists of leaves; ``tree_flatten`` gives the leaves in a
fixed order (dicts in insertion order, like ``torch.utils._pytree``) and a spec
that ``tree_unflatten`` uses to rebuild the same structure around new leaves.
"""

from __future__ import annotations

from typing import Any, Callable

__all__ = ["tree_flatten", "tree_unflatten", "tree_map", "TreeSpec", "broadcast_prefix", "flatten_each",
           "unflatten_each"]


class TreeSpec:
    """The shape of a pytree: node type, keys (dicts) and children specs; ``None`` kind = a leaf."""

    __slots__ = ("kind", "keys", "children", "cls")

    def __init__(self, kind: str | None, keys: Any = None, children: tuple = (), cls: Any = None) -> None:
        self.kind = kind
        self.keys = keys
        self.children = children
        self.cls = cls

    @property
    def num_leaves(self) -> int:
        if self.kind is None:
            return 1
        return sum(c.num_leaves for c in self.children)

    def __eq__(self, other: object) -> bool:
        return (isinstance(other, TreeSpec) and self.kind == other.kind and self.keys == other.keys
                and self.cls is other.cls and self.children == other.children)

    def __repr__(self) -> str:
        if self.kind is None:
            return "*"
        inner = ", ".join(repr(c) for c in self.children)
        if self.kind == "dict":
            inner = ", ".join(f"{k!r}: {c!r}" for k, c in zip(self.keys, self.children))
            return "{" + inner + "}"
        return f"{self.kind}({inner})"


_LEAF = TreeSpec(None)


def _is_namedtuple(x: Any) -> bool:
    return isinstance(x, tuple) and hasattr(type(x), "_fields")


def tree_flatten(tree: Any) -> tuple[list, TreeSpec]:
    """``(leaves, spec)``: leaves in depth-first order (iteratively: deep trees are fine)."""
    leaves: list = []
    root: list = [None]
    stack: list = [(tree, root, 0)]
    while stack:
        node, holder, slot = stack.pop()
        if isinstance(node, (list, tuple, dict)):
            if isinstance(node, dict):
                keys = list(node.keys())
                items = [node[k] for k in keys]
                spec = TreeSpec("dict", tuple(keys), cls=type(node))
            elif _is_namedtuple(node):
                items = list(node)
                spec = TreeSpec("namedtuple", cls=type(node))
            else:
                items = list(node)
                spec = TreeSpec("tuple" if isinstance(node, tuple) else "list")
            kids: list = [None] * len(items)
            spec.children = kids  # filled in below, made a tuple at the end
            holder[slot] = spec
            for i in range(len(items) - 1, -1, -1):
                stack.append((items[i], kids, i))
        else:
            holder[slot] = _LEAF
            leaves.append(node)
    _freeze(root[0])
    return leaves, root[0]


def _freeze(spec: TreeSpec) -> None:
    stack = [spec]
    while stack:
        s = stack.pop()
        if s.kind is not None and isinstance(s.children, list):
            s.children = tuple(s.children)
            stack.extend(s.children)


def tree_unflatten(leaves: Any, spec: TreeSpec) -> Any:
    """Rebuild the structure ``spec`` around ``leaves`` (in ``tree_flatten``'s order)."""
    return _build(spec, iter(leaves))


def _build(s: TreeSpec, it: Any) -> Any:
    # (a function of its own, not a recursive closure: that would be a reference cycle keeping
    # every leaf alive until the garbage collector runs, e.g. a compiled call's outputs)
    if s.kind is None:
        return next(it)
    items = [_build(c, it) for c in s.children]
    if s.kind == "dict":
        return s.cls(zip(s.keys, items)) if s.cls is not dict else dict(zip(s.keys, items))
    if s.kind == "namedtuple":
        return s.cls(*items)
    return tuple(items) if s.kind == "tuple" else items


def flatten_each(trees: Any) -> tuple[list, list]:
    """``(leaves, specs)``: the leaves of every tree in ``trees``, concatenated, and one spec per tree."""
    leaves: list = []
    specs = []
    for tree in trees:
        part, spec = tree_flatten(tree)
        leaves.extend(part)
        specs.append(spec)
    return leaves, specs


def unflatten_each(leaves: Any, specs: list) -> list:
    """The inverse of ``flatten_each``: one tree per spec, from consecutive runs of ``leaves``."""
    out, k = [], 0
    for spec in specs:
        n = spec.num_leaves
        out.append(tree_unflatten(leaves[k:k + n], spec))
        k += n
    return out


def tree_map(fn: Callable, tree: Any) -> Any:
    leaves, spec = tree_flatten(tree)
    return tree_unflatten([fn(x) for x in leaves], spec)


def broadcast_prefix(prefix: Any, tree: Any, what: str) -> list:
    """Expand ``prefix`` (a leaf, or a pytree matching the top of ``tree``) to one value per leaf.

    ``vmap(f, in_dims=(None, 0))``: each entry applies to the whole argument below it.
    """
    out: list = []
    stack = [(prefix, tree)]
    while stack:
        p, t = stack.pop()
        if isinstance(p, (list, tuple, dict)):
            if isinstance(p, dict):
                if not isinstance(t, dict) or set(p) != set(t):
                    raise ValueError(f"{what}: {p!r} does not match the structure of the arguments")
                pairs = [(p[k], t[k]) for k in t]
            else:
                if not isinstance(t, (list, tuple)) or len(p) != len(t):
                    n = f" of length {len(t)}" if isinstance(t, (list, tuple)) else ""
                    raise ValueError(f"{what}: {p!r} has {len(p)} entries but the argument it "
                                     f"describes is {type(t).__name__}{n}")
                pairs = list(zip(p, t))
            stack.extend(reversed(pairs))
        else:
            out.extend([p] * len(tree_flatten(t)[0]))
    return out

