"""Guards: what a compiled artefact assumed when it was traced, checked before every reuse.

A trace bakes in everything Python decided while it ran: the shapes and dtypes of the
tensors (they chose broadcasting, reductions, the branch of ``if x.dim() == 2``), which
tensors required grad and the grad mode (they decided whether there is a backward), each
module's ``training`` flag and Python attributes (dropout on or off, ``self.scale``), the
Python scalars passed as arguments, the parameters' identity, and the globals and closure
values the function read.  ``key(...)`` turns all of that into one hashable value; an
artefact is reused only for calls whose key is equal.

Globals and closure values are looked into (``_Walk``): lists, tuples and dicts by their
length, keys and items (``data[i]`` with a counter ``i`` kept in a list is guarded by the
counter), tensors by shape, dtype and ``requires_grad``, and the functions, plain objects
and user modules they hold by the names the function's code reads (``cfg.scale``, a helper's
globals).  Which tensor object sits at each place is not part of the key: the walk of the
tracing call records every *place* (``Place``) where an outside tensor was found, and the
artefact reads its outside tensors from those places on every call (``Artefact.outside``),
so a reassigned global, list item, dict value or attribute is read at call time, never baked.
"""

from __future__ import annotations

import functools
import os
import sys
import sysconfig
import types
from typing import Any, Callable

import numpy as np

from .._tensor import Tensor
from ..autograd.grad_mode import is_grad_enabled
from ..func._pytree import tree_flatten

__all__ = ["Guards", "Place", "describe"]

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
_GUARDED = _SCALAR_TYPES | {Tensor}  # module attributes: by value, and plain tensors by identity
_MISSING = object()  # a global not defined (yet), an empty closure cell


# ------------------------------------------------------------------ globals and closures
_PATHS = sysconfig.get_paths()
_LIBRARY = tuple(
    {os.path.dirname(os.path.dirname(os.path.abspath(__file__))), _PATHS["stdlib"], _PATHS["purelib"]}
)


@functools.lru_cache(maxsize=4096)
def _library_file(path: str | None) -> bool:
    """Code of chainrule, the standard library or an installed package: not the user's state.
    (Kept per path: every guard key asks it of each module and class the function reads.)"""
    if not path:
        return True
    path = os.path.abspath(path)
    return path.startswith(_LIBRARY) or "site-packages" in path or "dist-packages" in path


@functools.lru_cache(maxsize=4096)
def _code_names(code: types.CodeType) -> tuple[tuple[str, ...], bool]:
    """The global and attribute names a code object (and the lambdas and functions nested in
    it) reads, and whether it is the user's code."""
    names: dict[str, None] = {}
    todo = [code]
    while todo:
        c = todo.pop()
        names.update(dict.fromkeys(c.co_names))
        todo += [k for k in c.co_consts if isinstance(k, types.CodeType)]
    return tuple(names), not _library_file(code.co_filename)


class Place:
    """Where an outside tensor was found: a root (a function's globals dict, or a closure cell)
    and the steps from it (``("item", k)``: ``v[k]``; ``("attr", name)``: an object's or a
    module's attribute; ``("cell", None)``, ``("glob", name)``, ``("fcell", k)``: into closures
    and a helper function's globals).  ``get()`` reads what is there now."""

    __slots__ = ("root", "steps", "get")

    def __init__(self, root: Any, steps: tuple) -> None:
        self.root, self.steps = root, steps
        op, k = steps[0]
        if len(steps) == 1 and op == "item":  # a global (the usual case): one lookup per call
            self.get = functools.partial(dict.__getitem__, root, k)
        else:
            self.get = self._follow

    def _follow(self) -> Any:
        v = self.root
        for op, k in self.steps:
            if op == "item":
                v = v[k]
            elif op == "cell":
                v = v.cell_contents
            elif op == "attr":
                v = v.__dict__[k]
            elif op == "glob":
                v = v.__globals__[k]
            else:  # "fcell"
                v = v.__closure__[k].cell_contents
        return v

    def __repr__(self) -> str:
        out = "closure" if self.steps[0][0] == "cell" else f"global {self.steps[0][1]}"
        for op, k in self.steps[1:]:
            out += f"[{k!r}]" if op == "item" else f".{k}" if op in ("attr", "glob") else f".<cell {k}>"
        return out


class _Walk:
    """One look into the values a function reads: ``key(v)`` is the value's guard, and (when
    ``places`` is given, on the tracing call) every tensor met is recorded with its place."""

    BUDGET = 512  # items looked into per call; past it, a container is guarded by length only
    DEPTH = 8  # levels of nesting

    def __init__(self, places: dict | None = None) -> None:
        self.left: float = self.BUDGET if places is None else float("inf")  # (tracing: all places)
        self.places = places
        self.modules: list = []
        self.seen: set[int] = set()

    def key(self, v: Any, names: tuple, root: Any, steps: tuple, depth: int = 0) -> Any:
        t = type(v)
        if t in _SCALAR_TYPES:
            return (t.__name__, v)
        kind = _KINDS.get(t) or _kind(t)
        if kind == "tensor":
            if self.places is not None:
                self.places.setdefault(id(v), (v, []))[1].append(Place(root, steps))
            return _tensor_key(v)
        if kind == "module":
            self.modules.append(v)
            return ("module", id(v))
        if kind == "array":
            return _value_key(v)
        if v is _MISSING:
            return ("missing",)
        if kind == "obj" or (kind in ("pymod", "class") and not _user_state(v)):
            return ("obj", t.__name__, id(v))
        if id(v) in self.seen:  # met before in this walk (a rebinding still changes the id)
            return ("seen", id(v))
        self.seen.add(id(v))
        self.left -= 1
        if depth >= self.DEPTH or self.left <= 0:
            return ("deep", t.__name__, id(v), len(v) if kind in ("seq", "dict") else None)
        d = depth + 1
        if kind == "seq":
            if len(v) > self.left:
                return ("big", t.__name__, id(v), len(v))
            return (
                t.__name__,
                *(self.key(x, names, root, (*steps, ("item", k)), d) for k, x in enumerate(v)),
            )
        if kind == "dict":
            if len(v) > self.left:
                return ("big", t.__name__, id(v), len(v))
            items = []
            for k, x in v.items():
                kk = k if type(k) in _SCALAR_TYPES else ("id", id(k))
                items.append((kk, self.key(x, names, root, (*steps, ("item", k)), d)))
            return (t.__name__, *items)
        if kind == "fn":
            fnames, user = _code_names(v.__code__)
            if not user:
                return ("obj", t.__name__, id(v))
            g = v.__globals__
            gl = tuple(self.key(g[n], fnames, root, (*steps, ("glob", n)), d) for n in fnames if n in g)
            cells = enumerate(v.__closure__ or ())
            cl = tuple(self.key(_contents(c), fnames, root, (*steps, ("fcell", k)), d) for k, c in cells)
            return ("fn", id(v), gl, cl)
        # a user module, class or plain object (a config namespace, a dataclass)
        return (kind, t.__name__, id(v), self._attrs(v.__dict__, names, root, steps, d))

    def _attrs(self, dct: dict, names: tuple, root: Any, steps: tuple, depth: int) -> tuple:
        """An object's (or a user module's) attributes that the code names, e.g. ``cfg.lr``."""
        return tuple(
            (n, self.key(dct[n], names, root, (*steps, ("attr", n)), depth)) for n in names if n in dct
        )


_KINDS: dict[type, str] = {list: "seq", tuple: "seq", dict: "dict", types.FunctionType: "fn"}


def _kind(t: type) -> str:
    """How the walk looks into a value of type ``t`` (kept per type)."""
    from ..nn.module import Module

    if issubclass(t, Tensor):
        kind = "tensor"
    elif issubclass(t, Module):
        kind = "module"
    elif issubclass(t, (np.ndarray, np.generic)):
        kind = "array"
    elif issubclass(t, (list, tuple)):
        kind = "seq"
    elif issubclass(t, dict):
        kind = "dict"
    elif issubclass(t, types.ModuleType):
        kind = "pymod"
    elif issubclass(t, type):
        kind = "class"
    elif (
        t.__module__.startswith("chainrule") or "__dict__" not in dir(t) or issubclass(t, types.FunctionType)
    ):
        kind = "obj"  # a library object (an optimizer), or one without attributes of its own
    else:
        kind = "user"
    _KINDS[t] = kind
    return kind


def _user_state(v: Any) -> bool:
    """A user module or class (not the library's): its attributes the code names are guarded."""
    if isinstance(v, types.ModuleType):
        return v.__name__ == "__main__" or not _library_file(getattr(v, "__file__", None))
    mod = sys.modules.get(v.__module__)
    return mod is not None and _user_state(mod)


def _contents(cell: Any) -> Any:
    try:
        return cell.cell_contents
    except ValueError:  # an empty cell
        return _MISSING


def _module_state(m: Any) -> tuple:
    """One module tree's Python attributes (``training`` among them), the identity of its
    parameters, buffers and plain tensor attributes, ``requires_grad`` flags and hook counts,
    in a fixed order.  Run on every call: kept lean (shapes are checked when an artefact runs,
    see ``Artefact.run``)."""
    out = []
    stack = [m]
    while stack:  # (list comprehensions, not generators, inside tuple(): 9.3 -> 6.8 us, 6 modules)
        mod = stack.pop()
        d = mod.__dict__
        attrs = tuple(
            [
                (k, v) if type(v) in _SCALAR_TYPES else (k, None, id(v))
                for k, v in d.items()
                if type(v) in _GUARDED
            ]
        )
        params = tuple([None if p is None else (id(p), p._rg) for p in d["_parameters"].values()])
        bufs = tuple(map(id, d["_buffers"].values()))
        hooks = len(d["_forward_pre_hooks"]), len(d["_forward_hooks"])
        hooks += len(d.get("_backward_hooks") or ()), len(d.get("_backward_pre_hooks") or ())
        out.append((id(mod), attrs, params, bufs, hooks))
        children = d["_modules"]
        if children:
            stack.extend([c for c in children.values() if c is not None])
    return tuple(out)


class Guards:
    """The guard set of one compiled callable: which values its key reads."""

    def __init__(self, fn: Callable, module: Any = None) -> None:
        self.fn = fn
        self.module = module
        code = getattr(fn, "__code__", None)
        self.names = _code_names(code)[0] if code is not None else ()
        self.globs = getattr(fn, "__globals__", {})
        self.cells = tuple(getattr(fn, "__closure__", None) or ())

    def _read(self, walk: _Walk) -> tuple[tuple, tuple]:
        """The globals and closure values the function reads, walked: their guard keys."""
        g, names = self.globs, self.names
        globs = tuple(
            (n, walk.key(g[n], names, g, (("item", n),))) for n in names if n in g
        )  # (a global defined after compile() is guarded from then on)
        cells = tuple(walk.key(_contents(c), names, c, (("cell", None),)) for c in self.cells)
        return globs, cells

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
        walk = _Walk()
        globs, cells = self._read(walk)
        parts: list = [spec, is_grad_enabled(), tuple(map(_value_key, leaves)), globs, cells]
        from ..nn.module import Module

        modules = [self.module] if self.module is not None else []
        if not flat:
            modules += [v for v in leaves if isinstance(v, Module)]
        modules += walk.modules
        # once per tree (a compiled module's call also holds it in its closure)
        parts.append(tuple(_module_state(m) for m in {id(m): m for m in modules}.values()))
        return tuple(parts), leaves

    def known_tensors(self, args: tuple, kwargs: dict, places: dict | None = None) -> dict[int, Tensor]:
        """Tensors that exist outside the call: parameters, buffers and plain tensor attributes of
        the modules met (their identity is guarded), and the tensors among the globals and
        closure values; ``places`` is filled with id(tensor) -> (tensor, its places), where the
        artefact reads them on every call.

        Writes into them inside the function are effects replayed on every call; a tensor
        made inside the function is the function's own and is a constant of the trace."""
        if places is None:
            places = {}
        walk = _Walk(places)
        self._read(walk)
        from ..nn.module import Module

        found: dict[int, Tensor] = {}
        leaves = tree_flatten((args, kwargs))[0]
        modules = [self.module] if self.module is not None else []
        modules += [v for v in leaves if isinstance(v, Module)] + walk.modules
        for v in modules:
            for t in list(v.parameters()) + list(v.buffers()):
                found[id(t)] = t
            for m in v.modules():  # plain tensor attributes (a fixed positional table, say)
                for t in m.__dict__.values():
                    if isinstance(t, Tensor):
                        found[id(t)] = t
        for t, _ in places.values():
            found[id(t)] = t
        return found


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
    for name, v in globs:
        lines.append(f"global {name}: {_show(v)}")
    for k, v in enumerate(cells):
        lines.append(f"closure value {k}: {_show(v)}")
    for state in modules:
        n_params = sum(len(m[2]) for m in state)
        flags = sorted({dict(a[:2] for a in m[1] if len(a) == 2).get("training") for m in state} - {None})
        lines.append(
            f"module tree of {len(state)} modules, {n_params} parameters by identity, training in {flags}"
        )
    return lines


def _show(v: Any) -> str:
    """One guard value, short: scalars by value, tensors by shape and dtype, the rest by kind."""
    kind = v[0]
    if kind == "T":
        return f"tensor of shape {tuple(v[1])}, dtype {np.dtype(v[2])}, requires_grad={v[3]}"
    if kind in ("list", "tuple"):
        return (
            f"{kind} of {len(v) - 1}: ["
            + ", ".join(_show(x) for x in v[1:6])
            + (", ...]" if len(v) > 6 else "]")
        )
    if kind == "dict":
        return (
            "dict {" + ", ".join(f"{k!r}: {_show(x)}" for k, x in v[1:6]) + (", ...}" if len(v) > 6 else "}")
        )
    if kind in ("big", "deep"):
        return f"{v[1]} of {v[3]} (by length)"
    if kind in ("user", "pymod", "class"):
        what = {"user": f"{v[1]} object", "pymod": "module", "class": "class"}[kind]
        return f"{what} (" + ", ".join(f".{n}: {_show(x)}" for n, x in v[3]) + ")"
    if kind in ("fn", "module", "obj", "ndarray", "missing", "seen"):
        return {"fn": "function", "module": "nn.Module", "missing": "not defined"}.get(kind, kind)
    return f"{kind} == {v[1]!r}" if len(v) == 2 else kind
