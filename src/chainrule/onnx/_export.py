"""``chainrule.onnx.export`` itself: arguments, names, the lowering loop, the finished model."""

from __future__ import annotations

import inspect
import os
from typing import Any

import numpy as np

from .._tensor import Tensor
from ..compile.ir import CONST, Node, Ref
from ..func._pytree import tree_flatten
from . import _trace as T
from ._builder import Builder, ExportError, _same
from ._lower import LOWERINGS

__all__ = ["export", "supported_primitives"]

DEFAULT_OPSET = 20  # PyTorch 2.13's default
MIN_OPSET = 13  # Squeeze/Unsqueeze/ReduceSum take axes as inputs from here on

# PyTorch options that concern its own exporters' machinery: accepted and without effect here
_IGNORED = {
    "dynamo", "external_data", "report", "optimize", "verify", "profile", "dump_exported_program",
    "artifacts_dir", "autograd_inlining", "operator_export_type",
}  # fmt: skip
_UNSUPPORTED = {"dynamic_shapes", "custom_translation_table", "custom_opsets", "export_modules_as_functions"}


def supported_primitives() -> list[str]:
    """The op-table primitives the exporter lowers to ONNX (sorted)."""
    return sorted(LOWERINGS)


def export(
    model: Any,
    args: Any = (),
    f: Any = None,
    *,
    kwargs: dict | None = None,
    input_names: list[str] | None = None,
    output_names: list[str] | None = None,
    dynamic_axes: dict | None = None,
    opset_version: int | None = None,
    do_constant_folding: bool = True,
    export_params: bool = True,
    keep_initializers_as_inputs: bool = False,
    verbose: bool | None = False,
    training: Any = None,
    **options: Any,
) -> Any:
    """Export ``model(*args)`` to ONNX; ``f`` is a path or a binary file object (or None).

    As ``torch.onnx.export``: ``input_names``/``output_names`` name the graph's tensors (by
    default the forward's argument names and ``output``/``output_0, output_1, ...``);
    ``dynamic_axes`` maps a name to ``{axis: "symbol"}`` or ``[axis, ...]`` to make those dims
    symbolic (a batch size other than the traced one then runs); parameters become initializers
    (``export_params=False``: graph inputs named like the ``state_dict``); ``do_constant_folding``
    computes at export time what depends on parameters and constants alone.  Returns the
    ``onnx.ModelProto`` that was written.

    >>> chainrule.onnx.export(model.eval(), (torch.randn(1, 64),), "mlp.onnx",
    ...                       input_names=["x"], dynamic_axes={"x": {0: "batch"}})
    """
    onnx = _need_onnx()
    for key in options:
        if key not in _IGNORED | _UNSUPPORTED:
            raise TypeError(f"chainrule.onnx.export() got an unexpected keyword argument {key!r}")
        if key in _UNSUPPORTED and options[key] not in (None, False):
            raise ValueError(
                f"chainrule.onnx.export(): {key}= is not supported; the exporter lowers the traced "
                "graph through its own table (use dynamic_axes= for symbolic dims)"
            )
    mode = str(training).upper()
    if training is not None and "EVAL" not in mode and "PRESERVE" not in mode:
        raise ValueError(
            f"chainrule.onnx.export(): training={training!r} is not supported; the model is exported "
            "in the mode it is in (call model.eval() first)"
        )
    opset = DEFAULT_OPSET if opset_version is None else int(opset_version)
    top = min(onnx.defs.onnx_opset_version(), 23)
    if not MIN_OPSET <= opset <= top:
        raise ValueError(
            f"chainrule.onnx.export(): opset_version={opset_version} is outside the supported range "
            f"{MIN_OPSET}..{top}; pass opset_version={DEFAULT_OPSET}"
        )
    args, kwargs = T.split_args(args, kwargs)
    fn, module = T.model_fn(model)
    names_in = _names_of_inputs(model, args, kwargs)
    tensors = [t for t in tree_flatten((args, kwargs))[0] if isinstance(t, Tensor)]
    if input_names is not None:
        if len(input_names) > len(tensors):
            raise ValueError(
                f"chainrule.onnx.export(): {len(input_names)} input_names for {len(tensors)} tensor inputs"
            )
        names_in[: len(input_names)] = list(input_names)

    with T.exporting():
        art, tr, lines = T.trace(fn, module, args, kwargs)
    graph = art.graph
    T.check_graph(graph, tr, lines)
    out_meta = [m for m in art.out_meta if m[0] != "c"]
    names_out = ["output"] if len(out_meta) == 1 else [f"output_{k}" for k in range(len(out_meta))]
    if output_names is not None:
        if len(output_names) > len(out_meta):
            raise ValueError(
                f"chainrule.onnx.export(): {len(output_names)} output_names for {len(out_meta)} "
                "tensor outputs"
            )
        names_out[: len(output_names)] = list(output_names)
    axes = _dynamic_axes(dynamic_axes, names_in, names_out, tensors)

    twin = {n.i: n for n in graph.live()}
    if any(axes.get(name) for name in names_in):
        args2, kwargs2 = T.resized(args, kwargs, names_in, axes)
        with T.exporting():
            art2, tr2, lines2 = T.trace(fn, module, args2, kwargs2)
        twin = T.twins(art, tr, art2, tr2, lines, lines2)

    b = Builder(onnx, opset, graph, twin, tr.arrays, lines, do_constant_folding and export_params)
    inputs, param_inputs, symbols = _lower_graph(b, names_in, axes, T.state_names(module), export_params)
    outputs = _outputs(b, art.out_meta, names_in, names_out, axes, symbols)
    _dce(b, names_out)
    inits = list(b.inits.values())
    if keep_initializers_as_inputs:
        param_inputs += [onnx.helper.make_tensor_value_info(t.name, t.data_type, list(t.dims)) for t in inits]
    g = onnx.helper.make_graph(b.nodes, _graph_name(model), inputs + param_inputs, outputs, inits)
    opsets = [onnx.helper.make_opsetid("", opset)]
    from ..version import __version__

    m = onnx.helper.make_model(
        g, opset_imports=opsets, producer_name="chainrule", producer_version=__version__
    )
    m.ir_version = min(onnx.IR_VERSION, onnx.helper.find_min_ir_version_for(opsets))
    onnx.checker.check_model(m)
    if verbose:
        printer = getattr(onnx, "printer", None)
        print(printer.to_text(m.graph) if printer is not None else onnx.helper.printable_graph(m.graph))
    _write(m, f)
    return m


def _lower_graph(b: Builder, names_in: list[str], axes: dict, state: dict, export_params: bool) -> tuple:
    """Every forward node of the IR to ONNX, in order: inputs become graph inputs (their dynamic
    dims named), parameters initializers (or graph inputs), constants initializers, ops go
    through the table.  Returns (graph inputs, parameter inputs, {(size, size 2): symbol})."""
    onnx, graph, twin = b.onnx, b.graph, b.twin
    symbols: dict[tuple[int, int], str] = {}
    inputs, param_inputs = [], []
    for n in graph.live():
        if n.phase != "fwd":
            continue
        b.node = n
        if n.kind == "input":
            name = names_in[n.extra]
            s1, s2 = tuple(n.shape), tuple(twin[n.i].shape)
            dims: list[Any] = list(s1)
            for axis, sym in axes.get(name, {}).items():
                dims[axis] = sym
                symbols.setdefault((s1[axis], s2[axis]), sym)
            inputs.append(onnx.helper.make_tensor_value_info(name, b.tensor_type(n.dtype), dims))
            b.graph_inputs.append(name)
            b.set_value(n, name)
        elif n.kind == "external":
            name = state.get(id(n.extra))
            if name is not None and not export_params:
                vi = onnx.helper.make_tensor_value_info(name, b.tensor_type(n.dtype), list(n.shape))
                param_inputs.append(vi)
                b.set_value(n, name)
            else:
                b.static[n.i] = np.array(n.extra._data, copy=True)
                b.static_names[n.i] = name or f"_tensor_constant{n.i}"
        elif n.kind == "op" and n.prim is CONST:
            other = twin[n.i].args[0]
            if _same(n.args[0], other):
                b.static[n.i] = np.asarray(n.args[0])
            else:
                b.set_value(n, b.array(np.asarray(n.args[0]), other))
        elif n.kind == "op":
            if b.fold and _fold(b, n):
                continue
            lower = LOWERINGS.get(n.prim.name)
            if lower is None:
                raise ExportError(
                    f"chainrule.onnx.export(): no ONNX lowering for primitive '{n.prim.name}' (from "
                    f"{b.line(n)}); write that part with ops the exporter covers "
                    "(chainrule.onnx.supported_primitives() lists them) or compute it outside the model"
                )
            b.set_value(n, lower(b, n))
        else:
            raise ExportError(f"chainrule.onnx.export(): a {n.kind!r} node has no ONNX form ({b.line(n)})")
    b.node = None
    return inputs, param_inputs, symbols


def _outputs(
    b: Builder, out_meta: list, names_in: list[str], names_out: list[str], axes: dict, symbols: dict
):
    """The graph outputs' value infos: each tensor output named, its dynamic dims named after
    the input dim they follow (or ``dynamic_axes``), else left unnamed."""
    graph, twin = b.graph, b.twin
    infos, values = [], []
    refs = iter(graph.outputs)
    for meta, name in zip([m for m in out_meta if m[0] != "c"], names_out):
        if meta[0] == "input":  # the model returns an input as it is
            nd = next(n for n in graph.live() if n.kind == "input" and n.extra == meta[1])
            value = names_in[meta[1]]
        else:
            nd = graph.nodes[next(refs).i]
            value = b.ref(nd.i)
        s1, s2 = tuple(nd.shape), tuple(twin[nd.i].shape)
        dims: list[Any] = [d1 if d1 == d2 else symbols.get((d1, d2)) for d1, d2 in zip(s1, s2)]
        for axis, sym in axes.get(name, {}).items():
            if not -len(dims) <= axis < len(dims):
                raise ValueError(
                    f"chainrule.onnx.export(): dynamic_axes[{name!r}] has axis {axis}, but the output "
                    f"has {len(dims)} dims"
                )
            dims[axis] = sym
        infos.append(b.onnx.helper.make_tensor_value_info(name, b.tensor_type(nd.dtype), dims))
        values.append(value)
    _name_outputs(b, values, names_out)
    return infos


def _write(m: Any, f: Any) -> None:
    if f is None:
        return
    if isinstance(f, (str, os.PathLike)):
        with open(f, "wb") as fh:
            fh.write(m.SerializeToString())
    elif hasattr(f, "write"):
        f.write(m.SerializeToString())
    else:
        raise TypeError(
            f"chainrule.onnx.export(): f must be a path or a binary file object, got {type(f).__name__}"
        )


def _need_onnx() -> Any:
    try:
        import onnx
        import onnx.checker
        import onnx.helper
        import onnx.numpy_helper
    except ImportError as e:
        raise ImportError(
            'chainrule.onnx.export() needs the onnx package: pip install "chainrule[onnx]"'
        ) from e
    try:
        import onnx.printer  # noqa: F401 - for verbose=True (onnx >= 1.14)
    except ImportError:
        pass
    return onnx


def _names_of_inputs(model: Any, args: tuple, kwargs: dict) -> list[str]:
    """Default input names: the forward's argument names (``name_0``, ... inside containers)."""
    fn = getattr(model, "forward", model)
    try:
        params = [
            p.name
            for p in inspect.signature(fn).parameters.values()
            if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
        ]
    except (TypeError, ValueError):
        params = []
    names: list[str] = []

    def walk(v: Any, base: str) -> None:
        if isinstance(v, Tensor):
            names.append(base)
        elif isinstance(v, dict):
            for k, x in v.items():
                walk(x, f"{base}_{k}")
        elif isinstance(v, (tuple, list)):
            for j, x in enumerate(v):
                walk(x, f"{base}_{j}")

    for k, a in enumerate(args):
        walk(a, params[k] if k < len(params) else f"input_{k}")
    for key, a in kwargs.items():
        walk(a, key)
    seen: set[str] = set()
    for k, name in enumerate(names):  # unique, as ONNX needs
        while name in seen:
            name = f"{name}_{k}"
        names[k] = name
        seen.add(name)
    return names


def _dynamic_axes(spec: Any, names_in: list[str], names_out: list[str], tensors: list) -> dict:
    out: dict[str, dict[int, str]] = {}
    if not spec:
        return out
    for name, axes in spec.items():
        if name not in names_in and name not in names_out:
            raise ValueError(
                f"chainrule.onnx.export(): dynamic_axes names {name!r}, which is neither an input "
                f"({names_in}) nor an output ({names_out}); name them with input_names=/output_names="
            )
        if isinstance(axes, dict):
            pairs = {int(k): str(v) for k, v in axes.items()}
        elif isinstance(axes, (list, tuple)):
            pairs = {int(k): f"{name}_dynamic_axes_{j + 1}" for j, k in enumerate(axes)}
        else:
            raise TypeError(
                f"chainrule.onnx.export(): dynamic_axes[{name!r}] must be a dict {{axis: name}} or a "
                f"list of axes, got {type(axes).__name__}"
            )
        if name in names_in:
            nd = tensors[names_in.index(name)]._data.ndim
            for k in list(pairs):
                if not -nd <= k < nd:
                    raise ValueError(
                        f"chainrule.onnx.export(): dynamic_axes[{name!r}] has axis {k}, but the input "
                        f"has {nd} dims"
                    )
                if k < 0:
                    pairs[k + nd] = pairs.pop(k)
        out[name] = pairs
    return out


def _graph_name(model: Any) -> str:
    return type(model).__name__ if not inspect.isfunction(model) else model.__name__


def _fold(b: Builder, n: Node) -> bool:
    """Compute ``n`` now when it reads only values known at export time (not for views, which
    keep the parameter's name, nor when the result is larger than what it reads)."""
    if n.prim.view:
        return False
    vals, size = [], 1
    for a in n.args:
        if isinstance(a, Ref):
            if a.i not in b.static:
                return False
            vals.append(b.static[a.i])
            size = max(size, b.static[a.i].size)
        else:
            vals.append(a)
            size = max(size, np.size(a))
    if not any(isinstance(a, Ref) for a in n.args):
        return False
    for v in n.params.values():  # an index taken from a traced value (embedding ids) is not known
        for a in v if isinstance(v, tuple) else (v,):
            if isinstance(a, np.ndarray) and id(a) in b.arrays:
                return False
    if int(np.prod(n.shape, dtype=np.int64)) > size:
        return False
    try:
        out = np.asarray(n.prim.forward(*vals, **n.params))
    except Exception:  # noqa: BLE001 - then it is lowered as usual
        return False
    if out.shape != tuple(n.shape) or out.dtype != np.dtype(n.dtype):
        return False
    b.static[n.i] = np.array(out, copy=True)
    return True


def _name_outputs(b: Builder, values: list[str], names: list[str]) -> None:
    """Give each output its name: rename the value where it is made, else an Identity."""
    produced = {o for nd in b.nodes for o in nd.output}
    taken = set(b.graph_inputs) | set(b.inits) | produced
    for k, (value, name) in enumerate(zip(values, names)):
        if value == name:
            continue
        if name in taken:
            raise ValueError(
                f"chainrule.onnx.export(): the output name {name!r} is already a name in the graph"
            )
        if value in produced and value not in values[:k] and value not in values[k + 1 :]:
            for nd in b.nodes:
                for lst in (nd.input, nd.output):
                    for j, v in enumerate(lst):
                        if v == value:
                            lst[j] = name
            produced.discard(value)
        else:
            b.nodes.append(b.onnx.helper.make_node("Identity", [value], [name], name=b.fresh("Identity")))
        produced.add(name)
        taken.add(name)


def _dce(b: Builder, outputs: list[str]) -> None:
    """Drop ONNX nodes and initializers no output needs (and MaxPool's unused index output)."""
    need = set(outputs)
    kept = []
    for nd in reversed(b.nodes):
        if any(o in need for o in nd.output):
            kept.append(nd)
            need.update(i for i in nd.input if i)
    kept.reverse()
    for nd in kept:
        if nd.op_type == "MaxPool" and len(nd.output) == 2 and nd.output[1] not in need:
            del nd.output[1]
    b.nodes = kept
    b.inits = {k: v for k, v in b.inits.items() if k in need}
