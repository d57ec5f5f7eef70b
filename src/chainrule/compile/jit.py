"""``chainrule.jit``: ``script``, ``trace``, ``save`` and ``load`` for code written with them.

``script(module)`` and ``trace(fn, example_inputs)`` return modules whose calls run
through ``chainrule.compile``.  ``.save(path)`` writes the traced forward graph and the
tensors it reads into one zip file (``graph.json`` plus NumPy ``.npy`` records): no pickle,
so ``load`` runs no code from the file.  The loaded module runs the graph op by op through
the op table (autograd records it; its parameters are Parameters under their original
names), for the input shapes it was traced with.
"""

from __future__ import annotations

import io
import json
import math
import os
import zipfile
from typing import Any

import numpy as np

from .._tensor import Tensor, wrap
from ..ops._core import PRIMITIVES
from .api import compile as _compile
from .fx import FxGraph, GraphModule, symbolic_trace
from .ir import CONST, Graph, Node, Ref

__all__ = ["script", "trace", "load", "save", "ScriptModule"]

_FORMAT = "chainrule.jit/1"
_PSEUDO = {"Constant": CONST}


def _wrapper_type() -> type:
    from ..nn.module import Module

    class ScriptModule(Module):
        """A module compiled for ``jit.script``/``jit.trace``: compiled calls, ``save``, ``code``."""

        def __init__(self, mod: Any, example: tuple | None = None) -> None:
            super().__init__()
            self._orig = mod if isinstance(mod, Module) else None
            self.__dict__["_fn"] = mod
            self.__dict__["_compiled"] = _compile(mod)
            self.__dict__["_last"] = example
            if example is not None:
                self(*example)

        def forward(self, *args: Any) -> Any:
            self.__dict__["_last"] = tuple(args)
            return self.__dict__["_compiled"](*args)

        def __call__(self, *args: Any) -> Any:
            return self.forward(*args)

        def __getattr__(self, name: str) -> Any:
            try:
                return super().__getattr__(name)
            except AttributeError:
                orig = self._modules.get("_orig")
                if orig is None:
                    raise
                return getattr(orig, name)

        def graph_module(self) -> Any:
            last = self.__dict__["_last"]
            return symbolic_trace(self.__dict__["_fn"], example_inputs=last)

        @property
        def graph(self) -> FxGraph:
            return self.graph_module().graph

        @property
        def code(self) -> str:
            return self.graph_module().code

        def save(self, path: Any) -> None:
            save(self.graph_module(), path)

    return ScriptModule


_SCRIPT: list = []


def ScriptModule(mod: Any, example: tuple | None = None) -> Any:  # noqa: N802 - a class factory
    if not _SCRIPT:
        _SCRIPT.append(_wrapper_type())
    return _SCRIPT[0](mod, example)


def script(
    obj: Any, optimize: Any = None, _frames_up: int = 0, _rcb: Any = None, example_inputs: Any = None
) -> Any:
    """``torch.jit.script``: the module (or function) compiled; ``.save`` needs one call first
    (or ``example_inputs``) since the graph is traced, not parsed from the source."""
    ex = None
    if example_inputs is not None:
        first = example_inputs[0] if isinstance(example_inputs, list) else example_inputs
        ex = tuple(first) if isinstance(first, (tuple, list)) else (first,)
    return ScriptModule(obj, ex)


def trace(func: Any, example_inputs: Any = None, **kwargs: Any) -> Any:
    """``torch.jit.trace``: compiled and traced now on ``example_inputs``."""
    if example_inputs is None:
        raise TypeError("jit.trace() needs example_inputs (a tensor or a tuple of tensors)")
    ex = example_inputs if isinstance(example_inputs, tuple) else (example_inputs,)
    return ScriptModule(func, ex)


# ------------------------------------------------------------------ the file format
def _encode(v: Any, arrays: dict) -> Any:
    if isinstance(v, Ref):
        return {"t": "ref", "i": v.i}
    if isinstance(v, bool) or v is None or isinstance(v, (int, str)):
        return v
    if isinstance(v, float):
        return v if math.isfinite(v) else {"t": "float", "v": repr(v)}
    if isinstance(v, (tuple, list)):
        return {"t": type(v).__name__, "v": [_encode(a, arrays) for a in v]}
    if isinstance(v, slice):
        return {"t": "slice", "v": [_encode(a, arrays) for a in (v.start, v.stop, v.step)]}
    if v is Ellipsis:
        return {"t": "ellipsis"}
    if isinstance(v, np.dtype) or (isinstance(v, type) and issubclass(v, np.generic)):
        return {"t": "dtype", "v": np.dtype(v).str}
    if isinstance(v, (np.ndarray, np.generic)):
        name = f"c{len(arrays)}"
        arrays[name] = np.asarray(v)
        return {"t": "array", "k": name}
    raise TypeError(f"jit.save: cannot store a {type(v).__name__} in a graph file")


def _decode(v: Any, arrays: dict) -> Any:
    if not isinstance(v, dict):
        return v
    t = v["t"]
    if t == "ref":
        return Ref(int(v["i"]))
    if t == "float":
        return float(v["v"])
    if t in ("tuple", "list"):
        items = [_decode(a, arrays) for a in v["v"]]
        return tuple(items) if t == "tuple" else items
    if t == "slice":
        return slice(*[_decode(a, arrays) for a in v["v"]])
    if t == "ellipsis":
        return Ellipsis
    if t == "dtype":
        return np.dtype(v["v"])
    if t == "array":
        return arrays[v["k"]]
    raise ValueError(f"jit.load: unknown entry {t!r} in the graph file")


def save(m: Any, path: Any) -> None:
    """Write a GraphModule (or a ScriptModule) to ``path``: graph.json + .npy records."""
    if hasattr(m, "graph_module"):
        m = m.graph_module()
    from ..nn.parameter import Parameter

    g: FxGraph = m.graph
    arrays: dict[str, np.ndarray] = {}
    nodes = []
    for n in g.nodes:
        rec: dict[str, Any] = {
            "i": n.i,
            "kind": n.kind,
            "shape": list(n.shape),
            "dtype": np.dtype(n.dtype).str,
        }
        if n.kind == "input":
            rec["index"], rec["name"] = n.extra, g.input_names[n.extra]
        elif n.kind == "external":
            name = g.attr_names.get(n.i)
            if name is None:
                rec["value"] = _encode(np.asarray(n.extra._data), arrays)
            else:
                rec["name"] = name
                rec["parameter"] = isinstance(n.extra, Parameter)
                arrays[f"t:{name}"] = np.asarray(n.extra._data)
        elif n.kind == "random":
            rec["p"] = n.extra
        else:
            rec["prim"] = n.prim.name
            rec["args"] = [_encode(a, arrays) for a in n.args]
            rec["params"] = {k: _encode(v, arrays) for k, v in n.params.items()}
        nodes.append(rec)
    doc = {
        "format": _FORMAT,
        "nodes": nodes,
        "outputs": [_encode(a, arrays) for a in g.ir.outputs],
        "inputs": g.input_names,
        "single": m.__dict__["_out_spec"].kind is None,
    }
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as z:
        z.writestr("graph.json", json.dumps(doc))
        for name, a in arrays.items():
            buf = io.BytesIO()
            np.save(buf, a, allow_pickle=False)
            z.writestr(f"arrays/{name}.npy", buf.getvalue())


def load(path: Any, map_location: Any = None) -> Any:
    """Read a file written by ``save``: a module running the saved graph (no pickle)."""
    from ..func._pytree import tree_flatten
    from ..nn.module import Module
    from ..nn.parameter import Parameter

    if isinstance(path, (str, os.PathLike)) and not os.path.exists(path):
        raise FileNotFoundError(f"jit.load: no such file {path!r}")
    try:
        with zipfile.ZipFile(path) as z:
            doc = json.loads(z.read("graph.json"))
            arrays = {}
            for info in z.infolist():
                if info.filename.startswith("arrays/") and info.filename.endswith(".npy"):
                    arrays[info.filename[7:-4]] = np.load(io.BytesIO(z.read(info)), allow_pickle=False)
    except (zipfile.BadZipFile, KeyError, ValueError) as exc:
        raise RuntimeError(f"jit.load: {path!r} is not a chainrule.jit file ({exc})") from None
    if doc.get("format") != _FORMAT:
        raise RuntimeError(f"jit.load: {path!r} has format {doc.get('format')!r}, expected {_FORMAT!r}")
    root = Module()
    graph = Graph()
    names: dict[int, str] = {}
    size = max((r["i"] for r in doc["nodes"]), default=-1) + 1
    graph.nodes = [None] * size
    for r in doc["nodes"]:
        n = Node(r["i"], r["kind"], shape=tuple(r["shape"]), dtype=np.dtype(r["dtype"]))
        if n.kind == "input":
            n.extra = r["index"]
        elif n.kind == "external":
            if "name" in r:
                t = _attach(root, r["name"], arrays[f"t:{r['name']}"], r.get("parameter", False), Parameter)
                n.extra = t
                names[n.i] = r["name"]
            else:
                n.extra = _wrap(_decode(r["value"], arrays))
        elif n.kind == "random":
            n.extra = r["p"]
        else:
            name = r["prim"]
            prim = PRIMITIVES.get(name) or _PSEUDO.get(name)
            if prim is None:
                raise RuntimeError(
                    f"jit.load: the graph uses op {name!r}, which this chainrule does not have"
                )
            n.prim = prim
            n.args = tuple(_decode(a, arrays) for a in r["args"])
            n.params = {k: _decode(v, arrays) for k, v in r["params"].items()}
        graph.nodes[n.i] = n
    graph.outputs = [_decode(a, arrays) for a in doc["outputs"]]
    _, spec = tree_flatten(graph.outputs[0] if doc["single"] else tuple(graph.outputs))
    return GraphModule(root, FxGraph(graph, names, list(doc["inputs"])), spec, None)


def _wrap(a: np.ndarray) -> Tensor:
    return wrap(np.array(a))


def _attach(root: Any, name: str, value: np.ndarray, is_param: bool, parameter: Any) -> Tensor:
    """Create ``root.<path>`` submodules and register the tensor under its original name."""
    from ..nn.module import Module

    *path, leaf = name.split(".")
    mod = root
    for part in path:
        child = mod._modules.get(part)
        if child is None:
            child = Module()
            mod.add_module(part, child)
        mod = child
    t = _wrap(value)
    if is_param:
        t = parameter(t)
        mod.register_parameter(leaf, t)
    else:
        mod.register_buffer(leaf, t)
    return t
