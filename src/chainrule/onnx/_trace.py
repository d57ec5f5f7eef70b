"""Tracing for export: the forward under the compiler's tracer, the model line of every op,
what a file of ONNX nodes cannot hold, and the second trace that finds the dynamic sizes.

The graph records concrete shapes.  For ``dynamic_axes`` the model is traced again with
those dims at other sizes (each symbol its own); ``twins`` matches the two graphs node by
node, and a dim whose sizes differ is read at run time by the lowering.  Two graphs that
differ in more than sizes (an RNN unrolled over a dynamic sequence length) cannot be one
ONNX graph: that is an error naming the node.
"""

from __future__ import annotations

import linecache
import os
import sys
from typing import Any, Callable

import numpy as np

from .._tensor import Tensor, wrap
from ..autograd.grad_mode import no_grad
from ..compile.artefact import build
from ..compile.guards import Guards
from ..compile.ir import Graph, Node, Ref
from ..compile.tracer import current
from ..func._pytree import tree_flatten, tree_unflatten
from ..ops._core import add_apply_wrapper
from . import state
from ._builder import ExportError, _same

_PKG = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class exporting:
    def __enter__(self) -> None:
        state.depth = getattr(state, "depth", 0) + 1

    def __exit__(self, *exc: Any) -> None:
        state.depth -= 1


def split_args(args: Any, kwargs: dict | None) -> tuple[tuple, dict]:
    if isinstance(args, Tensor):
        args = (args,)
    elif isinstance(args, list):
        args = tuple(args)
    elif not isinstance(args, tuple):
        args = (args,)
    kwargs = dict(kwargs or {})
    if args and isinstance(args[-1], dict) and not kwargs:  # PyTorch's trailing-dict convention
        args, kwargs = args[:-1], dict(args[-1])
    return args, kwargs


def model_fn(model: Any) -> tuple[Callable, Any]:
    from ..nn.module import Module

    if isinstance(model, Module):
        inner = getattr(model, "_orig_mod", None)  # a chainrule.compile(module): export the module
        if isinstance(inner, Module):
            model = inner
        return (lambda *a, **k: Module._call_uncompiled(model, *a, **k)), model
    if not callable(model):
        raise TypeError(
            f"chainrule.onnx.export(): model must be an nn.Module or a function, got {type(model).__name__}"
        )
    return model, None


def _caller() -> str:
    """The innermost frame outside chainrule, as file:line (cheap: no source is read)."""
    fr = sys._getframe(2)
    while fr is not None and os.path.abspath(fr.f_code.co_filename).startswith(_PKG):
        fr = fr.f_back
    if fr is None:
        return "<unknown line>"
    return f"{fr.f_code.co_filename}:{fr.f_lineno}"


def trace(fn: Callable, module: Any, args: tuple, kwargs: dict) -> tuple[Any, Any, dict[int, str]]:
    """Trace the forward once; also note for each op node the model line that called it."""
    where: dict[int, str] = {}

    def wrapper(op: Any, a: tuple, p: dict, inner: Callable) -> Any:
        tr = current()
        if tr is None or tr.quiet:
            return inner(op, a, p)
        at = _caller()
        k = len(tr.graph.nodes)
        out = inner(op, a, p)
        if len(tr.graph.nodes) > k:  # the tracer recorded inside this call
            for i in range(k, len(tr.graph.nodes)):
                where.setdefault(i, at)
        else:  # the tracer records this op's node as soon as we return
            where[k] = at
        return out

    guards = Guards(getattr(type(module), "forward", fn) if module is not None else fn, module)
    known = guards.known_tensors(args, kwargs)
    remove = add_apply_wrapper(wrapper)
    try:
        with no_grad():
            _, art, tr = build(fn, args, kwargs, known, False)
    finally:
        remove()
    if art is None:
        raise ExportError(
            "chainrule.onnx.export(): the model leaves the traced graph: " + "; ".join(tr.problems)
        )
    lines = {}
    for i, at in where.items():
        file, _, no = at.rpartition(":")
        src = linecache.getline(file, int(no)).strip() if no.isdigit() else ""
        lines[i] = f"{at}: {src}" if src else at
    return art, tr, lines


def check_graph(graph: Graph, tr: Any, lines: dict[int, str]) -> None:
    """What a file of ONNX nodes cannot hold: random draws, writes, values read by Python."""
    for n in graph.live():
        if n.kind == "random":
            raise ExportError(
                "chainrule.onnx.export(): the model draws dropout masks (it is in training mode); "
                "call model.eval() before exporting"
            )
    if graph.effects:
        raise ExportError(
            "chainrule.onnx.export(): the model writes to tensors while it runs (BatchNorm's running "
            "statistics in training mode, say); call model.eval() before exporting"
        )
    index_nodes = set()
    for n in graph.live():
        for v in n.params.values():
            for a in v if isinstance(v, tuple) else (v,):
                if isinstance(a, np.ndarray) and id(a) in tr.arrays:
                    index_nodes.add(tr.arrays[id(a)])
    for node, (how, _), _value, line in graph.checks:
        if how == "tolist" and node in index_nodes:
            continue  # an index array taken from a traced value: the lowering reads the value
        raise ExportError(
            f"chainrule.onnx.export(): the model reads a tensor's value in Python ({how}() at {line}), "
            "so the traced graph holds only this input's branch; compute it with tensor ops "
            "(torch.where instead of if, say)"
        )


def resized(args: tuple, kwargs: dict, names_in: list[str], axes: dict) -> tuple[tuple, dict]:
    """The inputs with every dynamic dim at another size (values repeated, so ids stay valid);
    each symbol gets its own new size, so two symbols never look alike."""
    leaves, spec = tree_flatten((args, kwargs))
    symbols: list[str] = []
    k = 0
    new = []
    for v in leaves:
        if isinstance(v, Tensor):
            a = v._data
            for axis, sym in sorted(axes.get(names_in[k], {}).items()):
                if sym not in symbols:
                    symbols.append(sym)
                size = a.shape[axis] + 1 + symbols.index(sym)
                if a.shape[axis]:
                    a = np.take(a, np.arange(size) % a.shape[axis], axis=axis)
                else:
                    a = np.zeros(a.shape[:axis] + (size,) + a.shape[axis + 1 :], a.dtype)
            v = wrap(np.ascontiguousarray(a)) if a is not v._data else v
            k += 1
        new.append(v)
    return tree_unflatten(new, spec)


def twins(art: Any, tr: Any, art2: Any, tr2: Any, lines: dict, lines2: dict) -> dict[int, Node]:
    """Match the two traces node by node; they must differ in sizes only."""
    l1 = [n for n in art.graph.live() if n.phase == "fwd"]
    l2 = [n for n in art2.graph.live() if n.phase == "fwd"]
    pos1 = {n.i: k for k, n in enumerate(l1)}
    pos2 = {n.i: k for k, n in enumerate(l2)}

    def changed(n: Node | None, what: str, where: dict = lines) -> ExportError:
        at = ""
        if n is not None and n.kind == "op":
            at = f" (primitive '{n.prim.name}' from {where.get(n.i, '<unknown line>')})"
        return ExportError(
            f"chainrule.onnx.export(): the traced graph changes with the size of the dynamic axes: "
            f"{what}{at}; the model loops or branches on a size that dynamic_axes marks (an RNN "
            "unrolls over the sequence length, say); leave that axis static"
        )

    if len(l1) != len(l2):
        first = next(
            (k for k, (a, c) in enumerate(zip(l1, l2)) if a.kind != c.kind or a.prim is not c.prim), None
        )
        if first is None:  # one trace goes on where the other stops
            first = min(len(l1), len(l2))
        what = f"{len(l1)} nodes, then {len(l2)}"
        if first < len(l1) and l1[first].kind == "op":
            raise changed(l1[first], what)
        raise changed(l2[first] if first < len(l2) else None, what, lines2)

    def index_pos(a: Any, arrays: dict, pos: dict) -> Any:
        i = arrays.get(id(a))
        return None if i is None else pos.get(i, -1)

    def same_param(x: Any, y: Any) -> bool:
        if isinstance(x, np.ndarray) and isinstance(y, np.ndarray):
            px, py = index_pos(x, tr.arrays, pos1), index_pos(y, tr2.arrays, pos2)
            if px is not None or py is not None:
                return px == py
            return _same(x, y)
        if isinstance(x, (tuple, list)) and isinstance(y, (tuple, list)):
            return len(x) == len(y) and all(same_param(a, c) for a, c in zip(x, y))
        return _same(x, y)

    for a, c in zip(l1, l2):
        if a.kind != c.kind or a.prim is not c.prim or len(a.args) != len(c.args):
            raise changed(a, f"{a.label()} in one trace, {c.label()} in the other")
        if a.kind == "external" and a.extra is not c.extra:
            raise changed(a, "another parameter is read")
        for x, y in zip(a.args, c.args):
            if isinstance(x, Ref) != isinstance(y, Ref) or (isinstance(x, Ref) and pos1[x.i] != pos2[y.i]):
                raise changed(a, "its inputs differ")
        for key in set(a.params) | set(c.params):
            if key in ("shape", "x_shape"):  # sizes: the lowering reads them from both traces
                continue
            if not same_param(a.params.get(key), c.params.get(key)):
                raise changed(a, f"its parameter {key}= differs")
    o1 = [pos1[r.i] for r in art.graph.outputs]
    o2 = [pos2[r.i] for r in art2.graph.outputs]
    if o1 != o2 or [m[0] for m in art.out_meta] != [m[0] for m in art2.out_meta]:
        raise changed(None, "the outputs differ")
    return {a.i: c for a, c in zip(l1, l2)} | {n.i: n for n in art.graph.live() if n.phase != "fwd"}


def state_names(module: Any) -> dict[int, str]:
    if module is None:
        return {}
    names: dict[int, str] = {}
    for name, t in list(module.named_parameters()) + list(module.named_buffers()):
        names.setdefault(id(t), name)
    return names
