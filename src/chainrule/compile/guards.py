"""Guards: what a compiled artefact assumed when it was traced, checked before every reuse.

A trace bakes in everything Python decided while it ran: the shapes and dtypes of the
tensors (they chose broadcasting, reductions, the branch of ``if x.dim() == 2``), which
tensors required grad and the grad mode (they decided whether there is a backward), each
module's ``training`` flag and Python attributes (dropout on or off, ``self.scale``), the
Python scalars passed as arguments, the parameters' identity, and the globals and closure
values the function read.  ``key(...)`` turns all of that into one hashable value; an
artefact is reused only for calls whose key is equal.
"""

from __future__ import annotations

import types
from typing import Any, Callable

import numpy as np

from .._tensor import Tensor
from ..autograd.grad_mode import is_grad_enabled
from ..func._pytree import tree_flatten

__all__ = ["Guards", "describe"]

_SCALARS = (bool, int, float, str, type(None), complex)


def _tensor_key(t: Tensor) -> tuple:
    d = t._data
    return ("T", d.shape, d.dtype.str, bool(t._rg))


def _value_key(v: Any) -> Any:
    if isinstance(v, Tensor):
        return _tensor_key(v)
    if isinstance(v, _SCALARS):
        return (type(v).__name__, v)
    if isinstance(v, np.ndarray):
        return ("ndarray", id(v), v.shape, v.dtype.str)
    if isinstance(v, np.generic):
        return (type(v).__name__, v.item())
    if isinstance(v, (types.FunctionType, types.BuiltinFunctionType, type, types.ModuleType)):
        return ("obj", id(v))
    from ..nn.module import Module

    if isinstance(v, Module):
        return ("module", id(v))
    return ("obj", type(v).__name__, id(v))


_SCALAR_TYPES = frozenset(_SCALARS)
_EMPTY = object()  # an empty closure cell


def _module_state(m: Any) -> tuple:
    """One module tree's Python attributes (``training`` among them), parameter and buffer
    identities, ``requires_grad`` flags and hook counts, in a fixed order.  Run on every call:
    kept lean (shapes are checked when an artefact runs, see ``Artefact.run``)."""
    out = []
    stack = [m]
    while stack:
        mod = stack.pop()
        d = mod.__dict__
        attrs = tuple((k, v) for k, v in d.items() if type(v) in _SCALAR_TYPES)
        params = tuple(None if p is None else (id(p), p._rg) for p in d["_parameters"].values())
        bufs = tuple(map(id, d["_buffers"].values()))
        out.append((id(mod), attrs, params, bufs, len(d["_forward_pre_hooks"]), len(d["_forward_hooks"])))
        stack.extend(c for c in d["_modules"].values() if c is not None)
    return tuple(out)


class Guards:
    """The guard set of one compiled callable: which values its key reads."""

    def __init__(self, fn: Callable, module: Any = None) -> None:
        self.fn = fn
        self.module = module
        code = getattr(fn, "__code__", None)
        globs = getattr(fn, "__globals__", {})
        self.global_names = tuple(n for n in (code.co_names if code else ()) if n in globs)
        self.globs = globs
        self.cells = tuple(getattr(fn, "__closure__", None) or ())

    def key(self, args: tuple, kwargs: dict) -> tuple:
        return self.key_and_leaves(args, kwargs)[0]

    def key_and_leaves(self, args: tuple, kwargs: dict) -> tuple[tuple, Any]:
        """The key, and the flattened arguments (the call's tensors are among them).  Tensors
        passed positionally (the usual call) skip the pytree flattening."""
        flat = not kwargs and all(isinstance(a, Tensor) for a in args)
        if flat:
            leaves: Any = args
            spec: Any = len(args)
        else:
            leaves, tree = tree_flatten((args, kwargs))
            spec = repr(tree)
        globs = [self.globs.get(n) for n in self.global_names]
        cells = []
        for c in self.cells:
            try:
                cells.append(c.cell_contents)
            except ValueError:  # an empty cell
                cells.append(_EMPTY)
        parts: list = [
            spec,
            is_grad_enabled(),
            tuple(map(_value_key, leaves)),
            tuple(map(_value_key, globs)),
            tuple(None if v is _EMPTY else _value_key(v) for v in cells),
        ]
        from ..nn.module import Module

        modules = [self.module] if self.module is not None else []
        if not flat:
            modules += [v for v in leaves if isinstance(v, Module)]
        modules += [v for v in globs if isinstance(v, Module)]
        modules += [v for v in cells if isinstance(v, Module)]
        # once per tree (a compiled module's call also holds it in its closure)
        parts.append(tuple(_module_state(m) for m in {id(m): m for m in modules}.values()))
        return tuple(parts), leaves

    def known_tensors(self, args: tuple, kwargs: dict) -> dict[int, Tensor]:
        """Tensors that exist outside the call: parameters, buffers, closure and global tensors.

        Writes into them inside the function are effects replayed on every call; a tensor
        made inside the function is the function's own and is a constant of the trace."""
        found: dict[int, Tensor] = {}
        values = [self.module] if self.module is not None else []
        values += tree_flatten((args, kwargs))[0]
        values += [self.globs.get(n) for n in self.global_names]
        for c in self.cells:
            try:
                values.append(c.cell_contents)
            except ValueError:
                pass
        from ..nn.module import Module

        values = _reachable(values)
        for v in values:
            if isinstance(v, Tensor):
                found[id(v)] = v
            elif isinstance(v, Module):
                for t in list(v.parameters()) + list(v.buffers()):
                    found[id(t)] = t
                for m in v.modules():  # plain tensor attributes (a fixed positional table, say)
                    for t in m.__dict__.values():
                        if isinstance(t, Tensor):
                            found[id(t)] = t
        return found


def _reachable(values: list, depth: int = 3) -> list:
    """Values inside containers, and the closures and globals of functions the function reads
    (helpers defined next to it), a few levels deep."""
    out: list = []
    seen: set[int] = set()
    todo = [(v, 0) for v in values]
    while todo:
        v, d = todo.pop()
        if id(v) in seen:
            continue
        seen.add(id(v))
        if isinstance(v, (list, tuple, dict)):
            todo += [(leaf, d) for leaf in tree_flatten(v)[0]]
        elif isinstance(v, types.FunctionType) and d < depth:
            for c in v.__closure__ or ():
                try:
                    todo.append((c.cell_contents, d + 1))
                except ValueError:
                    pass
            g = v.__globals__
            todo += [(g[n], d + 1) for n in v.__code__.co_names if n in g]
        else:
            out.append(v)
    return out


def describe(key: tuple) -> list[str]:
    """The guards of one key as readable lines (what ``compiler.explain`` prints)."""
    spec, grad_mode, leaves, globs, cells, modules = key
    structure = f"{spec} tensors, positionally" if isinstance(spec, int) else spec
    lines = [f"argument structure {structure}", f"grad mode is {'on' if grad_mode else 'off'}"]
    for k, v in enumerate(leaves):
        if v[0] == "T":
            lines.append(f"argument {k}: shape {tuple(v[1])}, dtype {np.dtype(v[2])}, requires_grad={v[3]}")
        else:
            lines.append(f"argument {k}: {v[0]} == {v[1]!r}" if len(v) == 2 else f"argument {k}: {v[0]}")
    for v in globs:
        lines.append(f"a global: {v[0]} {v[1] if len(v) == 2 else ''}".rstrip())
    for state in modules:
        n_params = sum(len(m[2]) for m in state)
        flags = sorted({dict(m[1]).get("training") for m in state} - {None})
        lines.append(
            f"module tree of {len(state)} modules, {n_params} parameters by identity, training in {flags}"
        )
    return lines
