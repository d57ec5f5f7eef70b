"""``add_graph``: the compiler's trace of a model as a TensorBoard ``GraphDef``.

The model runs once under ``chainrule.fx.symbolic_trace``; each IR node becomes one
``NodeDef``: its ``op`` is the primitive's name (``Linear``, ``Relu``, ``Mul``), its
``input``s are the nodes it reads, its output shape goes in ``_output_shapes`` (what the
graph view writes on the edges) and its dtype and non-tensor arguments in ``attr``.  Names are
scoped by the module that ran the op, as PyTorch's graph does (``Net/Linear[fc1]/Linear_v3``;
``v3`` is the node in ``symbolic_trace(model).graph``), so TensorBoard folds each submodule
into one box.  Inputs and outputs are ``IO Node``s named ``input/<argument>`` and
``output/output.<k>``.
"""

from __future__ import annotations

import bisect
from typing import Any

import numpy as np

from ..._tensor import Tensor, wrap
from ...compile.ir import Ref

__all__ = ["graph_def"]

_DT = {
    "float16": "DT_HALF",
    "float32": "DT_FLOAT",
    "float64": "DT_DOUBLE",
    "int8": "DT_INT8",
    "int16": "DT_INT16",
    "int32": "DT_INT32",
    "int64": "DT_INT64",
    "uint8": "DT_UINT8",
    "bool": "DT_BOOL",
    "complex64": "DT_COMPLEX64",
    "complex128": "DT_COMPLEX128",
}


def _inputs(input_to_model: Any) -> tuple | None:
    if input_to_model is None:
        return None
    items = list(input_to_model) if isinstance(input_to_model, (list, tuple)) else [input_to_model]
    out = []
    for k, x in enumerate(items):
        if isinstance(x, np.ndarray):
            x = wrap(x)
        if not isinstance(x, Tensor):
            raise TypeError(
                f"add_graph: input_to_model must be a tensor or a tuple of tensors, got a "
                f"{type(x).__name__} at position {k}"
            )
        out.append(x)
    return tuple(out)


def _scopes(model: Any) -> dict[int, str]:
    """id(module) -> its scope: the root's class name, then ``Class[attribute]`` per level."""
    root = type(model).__name__
    by_name = {"": root}
    out = {}
    for name, mod in model.named_modules():
        if name:
            parent, _, last = name.rpartition(".")
            by_name[name] = f"{by_name[parent]}/{type(mod).__name__}[{last}]"
        out[id(mod)] = by_name[name]
    return out


def graph_def(model: Any, input_to_model: Any, verbose: bool) -> Any:
    """The ``GraphDef`` (tensorboardX's proto class) of one traced call of ``model``."""
    from tensorboardX.proto.attr_value_pb2 import AttrValue
    from tensorboardX.proto.graph_pb2 import GraphDef
    from tensorboardX.proto.node_def_pb2 import NodeDef
    from tensorboardX.proto.tensor_shape_pb2 import TensorShapeProto
    from tensorboardX.proto.types_pb2 import DataType
    from tensorboardX.proto.versions_pb2 import VersionDef

    from ...compile import tracer
    from ...fx import symbolic_trace
    from ...nn.module import Module

    if not callable(model):
        raise TypeError(f"add_graph: model must be a Module or a function, got {type(model).__name__}")
    inputs = _inputs(input_to_model)
    if inputs is None and not isinstance(model, Module):
        raise TypeError("add_graph: a function needs input_to_model=(tensor, ...) (the graph records shapes)")
    root = type(model).__name__ if isinstance(model, Module) else getattr(model, "__name__", "function")
    # Which module ran each node: hooks note (number of nodes so far, innermost scope) at
    # every module entry and exit; node i belongs to the last note made at or before i.
    marks: list[tuple[int, str]] = []
    stack = [root]
    handles = []

    def mark() -> None:
        tr = tracer.current()
        if tr is not None:
            marks.append((len(tr.graph.nodes), stack[-1]))

    if isinstance(model, Module):
        scopes = _scopes(model)

        def enter(m: Any, args: Any) -> None:
            stack.append(scopes[id(m)])
            mark()

        def leave(m: Any, args: Any, out: Any) -> None:
            stack.pop()
            mark()

        for mod in model.modules():
            handles.append(mod.register_forward_pre_hook(enter))
            handles.append(mod.register_forward_hook(leave))
    else:
        scopes = {}
    try:
        gm = symbolic_trace(model, example_inputs=inputs)
    except RuntimeError as e:  # the tracer's refusals (and the model's own runtime errors)
        raise RuntimeError(f"add_graph: could not trace {root}: {e}") from e
    finally:
        for h in handles:
            h.remove()
    fx = gm.graph
    if verbose:
        print(fx)
    starts = [i for i, _ in marks]

    def scope_of(i: int) -> str:
        k = bisect.bisect_right(starts, i) - 1
        return marks[k][1] if k >= 0 else root

    owners, buffers = {}, set()
    if isinstance(model, Module):
        owners = {name: scopes[id(mod)] for name, mod in model.named_modules()}
        buffers = {name for name, _ in model.named_buffers()}
    names: dict[int, str] = {}
    nodes = []
    for n in fx.nodes:
        if n.kind == "input":
            name, op = f"input/{fx.input_names[n.extra]}", "IO Node"
        elif n.kind == "external":
            attr = fx.attr_names.get(n.i)
            if attr is not None:
                owner, _, leaf = attr.rpartition(".")
                name = f"{owners.get(owner, root)}/{leaf}"
                op = "Buffer" if attr in buffers else "Parameter"
            else:
                name, op = f"{scope_of(n.i)}/constant_v{n.i}", "Constant"
        elif n.kind == "random":
            name, op = f"{scope_of(n.i)}/DropoutScale_v{n.i}", "DropoutScale"
        else:
            name, op = f"{scope_of(n.i)}/{n.prim.name}_v{n.i}", n.prim.name
        names[n.i] = name
        attrs = {"_output_shapes": _shapes(AttrValue, TensorShapeProto, n.shape)}
        dt = _DT.get(np.dtype(n.dtype).name) if n.dtype is not None else None
        if dt is not None:
            attrs["dtype"] = AttrValue(type=DataType.Value(dt))
        text = _describe(n)
        if text:
            attrs["attr"] = AttrValue(s=text.encode("utf-8"))
        nodes.append(NodeDef(name=name, op=op, input=[names[r] for r in n.refs()], attr=attrs))
    for k, out in enumerate(fx.ir.outputs):
        if isinstance(out, Ref) and out.i in names:
            src = fx.ir.nodes[out.i]
            attrs = {"_output_shapes": _shapes(AttrValue, TensorShapeProto, src.shape)}
            nodes.append(NodeDef(name=f"output/output.{k}", op="IO Node", input=[names[out.i]], attr=attrs))
    return GraphDef(node=nodes, versions=VersionDef(producer=22))


def _shapes(attr: Any, proto: Any, shape: tuple) -> Any:
    """The ``_output_shapes`` attribute: a list holding the one output's shape."""
    return attr(list=attr.ListValue(shape=[proto(dim=[proto.Dim(size=int(d)) for d in shape])]))


def _describe(n: Any) -> str:
    """The node's non-tensor arguments and parameters, as the graph view's ``attr`` text."""
    parts = [f"{k}={_short(v)}" for k, v in n.params.items()]
    if n.kind == "random":
        parts.append(f"p={n.extra}")
    parts += [f"arg{j}={_short(a)}" for j, a in enumerate(n.args) if not isinstance(a, Ref)]
    return "{ " + ", ".join(parts) + " }" if parts else ""


def _short(v: Any) -> str:
    if isinstance(v, np.ndarray):
        return f"array{tuple(v.shape)}" if v.size > 4 else repr(v.tolist())
    r = repr(v)
    return r if len(r) <= 60 else type(v).__name__
