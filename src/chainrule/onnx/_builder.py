"""The ONNX graph under construction: value names, constants, casts and run-time shapes.

The lowering table (``_lower.py``) turns one IR node into ONNX nodes through a ``Builder``.
The builder knows, for every IR node, its ONNX value name, its shape in the export trace
and -- when ``dynamic_axes`` are given -- its shape in a second trace where the dynamic
dimensions had other sizes.  A dimension whose two sizes differ is *dynamic*: wherever a
lowering needs it as a number (a reshape target, the shape of a constant), the builder reads
it at run time with ``Shape`` from a value that has the same pair of sizes.

Values known at export time (parameters, constants, and with constant folding what is
computed from them alone) are kept as arrays and become initializers only when a node reads
them, so parameters that nothing reads are left out, as PyTorch leaves them out.
"""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np

from ..compile.ir import Graph, Node, Ref

__all__ = ["Builder", "ExportError", "INT64_MAX", "INT64_MIN"]

INT64_MAX = np.iinfo(np.int64).max
INT64_MIN = np.iinfo(np.int64).min


class ExportError(RuntimeError):
    """An export that cannot be done, with the reason and the model line."""


def _weak_dtype(v: Any) -> str:
    """Kind of a Python scalar in PyTorch's promotion (scalars do not widen a tensor's type)."""
    if isinstance(v, (bool, np.bool_)):
        return "b"
    if isinstance(v, (int, np.integer)):
        return "i"
    return "f"


class Builder:
    """One export: IR in, ONNX nodes and initializers out (see the module docstring)."""

    def __init__(
        self,
        onnx: Any,
        opset: int,
        graph: Graph,
        twin: dict[int, Node],
        arrays: dict[int, int],
        lines: dict[int, str],
        fold: bool,
    ) -> None:
        self.onnx = onnx
        self.opset = opset
        self.graph = graph
        self.twin = twin  # IR node -> the same node in the second trace (itself when none)
        self.arrays = arrays  # id(ndarray) -> IR node, for index arrays taken from traced values
        self.lines = lines
        self.fold = fold
        self.nodes: list = []
        self.inits: dict[str, Any] = {}
        self.values: dict[int, str] = {}  # IR node -> ONNX name
        self.static: dict[int, np.ndarray] = {}  # IR node -> its value, known at export time
        self.static_names: dict[int, str] = {}  # ... the initializer name to give it
        self.shapes: dict[str, tuple[tuple, tuple]] = {}  # ONNX name -> (shape, shape in trace 2)
        self.graph_inputs: list[str] = []
        self.extra: dict[int, Any] = {}  # what a lowering leaves for a later one (pooled values)
        self._count = itertools.count()
        self._consts: dict[tuple, str] = {}
        self._dims: dict[tuple[str, int], str] = {}
        self._reshaped: dict[str, tuple[str, tuple]] = {}  # a Reshape's output -> (its input, shapes)
        self.node: Node | None = None  # the IR node being lowered (for error messages)

    # ------------------------------------------------------------------ errors
    def line(self, n: Node | None = None) -> str:
        n = n if n is not None else self.node
        return self.lines.get(n.i, "<unknown line>") if n is not None else "<unknown line>"

    def fail(self, what: str, n: Node | None = None) -> ExportError:
        n = n if n is not None else self.node
        prim = n.prim.name if n is not None and n.kind == "op" else "?"
        return ExportError(f"chainrule.onnx.export(): {what} (primitive '{prim}' from {self.line(n)})")

    # ------------------------------------------------------------------ emitting
    def fresh(self, base: str) -> str:
        return f"{base}_{next(self._count)}"

    def op(self, op_type: str, inputs: list[str], n_out: int = 1, **attrs: Any) -> Any:
        """Emit one ONNX node; returns its output name (a list when ``n_out > 1``)."""
        outs = [self.fresh(op_type.lower()) for _ in range(n_out)]
        attrs = {k: v for k, v in attrs.items() if v is not None}
        self.nodes.append(
            self.onnx.helper.make_node(op_type, inputs, outs, name=self.fresh(op_type), **attrs)
        )
        return outs[0] if n_out == 1 else outs

    def init(self, name: str, value: np.ndarray) -> str:
        self.inits[name] = self.onnx.numpy_helper.from_array(np.asarray(value, order="C"), name)
        return name

    def const(self, value: Any, dtype: Any = None) -> str:
        """A constant (an initializer; small ones are shared)."""
        a = np.asarray(value, dtype=dtype)
        if a.dtype == object:
            raise self.fail(f"a constant of Python type {type(value).__name__} has no ONNX type")
        key = None
        if a.size <= 16:
            key = (a.dtype.str, a.shape, a.tobytes())
            if key in self._consts:
                return self._consts[key]
        name = self.init(self.fresh("const"), a)
        if key is not None:
            self._consts[key] = name
        return name

    def ints(self, values: Any) -> str:
        return self.const(np.asarray(list(values), dtype=np.int64).reshape(-1))

    def tensor_type(self, dtype: Any) -> int:
        return self.onnx.helper.np_dtype_to_tensor_dtype(np.dtype(dtype))

    def cast(self, name: str, have: Any, want: Any) -> str:
        if want is None or np.dtype(have) == np.dtype(want):
            return name
        out = self.op("Cast", [name], to=self.tensor_type(want))
        if name in self.shapes:
            self.shapes[out] = self.shapes[name]
        return out

    # ------------------------------------------------------------------ reading IR values
    def ref(self, i: int) -> str:
        """The ONNX name of IR node ``i`` (a static value becomes an initializer now)."""
        name = self.values.get(i)
        if name is None:
            if i not in self.static:
                raise self.fail(f"v{i} is read before it is defined")
            nd = self.graph.nodes[i]
            name = self.static_names.get(i) or f"onnx::{nd.label()}_{i}"
            self.init(name, self.static[i])
            self.values[i] = name
            self.shapes[name] = (tuple(nd.shape), tuple(self.twin[i].shape))
        return name

    def arg_dtype(self, n: Node, k: int) -> np.dtype:
        a = n.args[k]
        if isinstance(a, Ref):
            return np.dtype(self.graph.nodes[a.i].dtype)
        if isinstance(a, np.ndarray):
            return a.dtype
        return np.dtype({"b": np.bool_, "i": np.int64, "f": np.float32}[_weak_dtype(a)])

    def common_dtype(self, n: Node, ks: Any = None) -> np.dtype:
        """The type PyTorch computes a comparison in: tensors' promotion, scalars weakly."""
        ks = range(len(n.args)) if ks is None else ks
        arrays = [self.arg_dtype(n, k) for k in ks if isinstance(n.args[k], (Ref, np.ndarray))]
        scalars = [_weak_dtype(n.args[k]) for k in ks if not isinstance(n.args[k], (Ref, np.ndarray))]
        dt = np.result_type(*arrays) if arrays else np.dtype(np.float32 if "f" in scalars else np.int64)
        if "f" in scalars and dt.kind not in "fc":
            dt = np.dtype(np.float32)
        elif "i" in scalars and dt.kind == "b":
            dt = np.dtype(np.int64)
        return dt

    def shape_of(self, n: Node, k: int) -> tuple[tuple, tuple]:
        a = n.args[k]
        if isinstance(a, Ref):
            return tuple(self.graph.nodes[a.i].shape), tuple(self.twin[a.i].shape)
        s = np.shape(a)
        return s, s

    def out_shapes(self, n: Node) -> tuple[tuple, tuple]:
        return tuple(n.shape), tuple(self.twin[n.i].shape)

    def x(self, n: Node, k: int = 0, dtype: Any = None) -> str:
        """Argument ``k`` of node ``n`` as an ONNX name, cast to ``dtype`` when given."""
        a = n.args[k]
        if isinstance(a, Ref):
            name = self.ref(a.i)
            return self.cast(name, self.graph.nodes[a.i].dtype, dtype)
        other = self.twin[n.i].args[k] if k < len(self.twin[n.i].args) else a
        if isinstance(a, np.ndarray):
            return self.cast(self.array(a, other), a.dtype, dtype)
        want = np.dtype(dtype) if dtype is not None else self.arg_dtype(n, k)
        if _same(a, other):
            return self.const(np.asarray(a, dtype=want))
        return self.scalar_dim(a, other, want)

    def array(self, a: np.ndarray, other: Any) -> str:
        """A constant array of the trace; one whose shape follows a dynamic axis is built at run
        time when it holds one value throughout (the zeros an RNN starts from, say)."""
        if _same(a, other):
            return self.const(a)
        if (
            isinstance(other, np.ndarray)
            and a.ndim == other.ndim
            and a.size
            and other.size
            and np.all(a == a.flat[0])
            and np.all(other == a.flat[0])
        ):
            shape = self.shape_tensor(a.shape, other.shape, [])
            fill = self.onnx.numpy_helper.from_array(np.asarray([a.flat[0]], dtype=a.dtype), "value")
            out = self.op("ConstantOfShape", [shape], value=fill)
            self.shapes[out] = (a.shape, other.shape)
            return out
        raise self.fail(
            f"a constant of shape {a.shape} changes with the dynamic axes (shape {np.shape(other)} "
            "when they have other sizes) and is not one value throughout; make it from the input "
            "(e.g. torch.zeros_like) or leave that axis static"
        )

    def scalar_dim(self, a: Any, other: Any, dtype: np.dtype) -> str:
        """A Python number that is a dynamic size (``x.sum() / x.shape[0]``), read at run time."""
        try:
            pair = (int(a), int(other))
        except (TypeError, ValueError):
            pair = None
        if pair is not None and pair == (a, other):
            d = self.find_dim(pair, [])
            if d is not None:
                out = self.op("Reshape", [self.cast(d, np.int64, dtype), self.ints([])])
                self.shapes[out] = ((), ())
                return out
        raise self.fail(
            f"the number {a!r} in the model changes with the dynamic axes ({other!r} when they have "
            "other sizes) and is not one of their sizes; leave that axis static"
        )

    # ------------------------------------------------------------------ run-time shapes
    def find_dim(self, pair: tuple[int, int], names: list[str]) -> str | None:
        """A 1-element int64 tensor holding a dynamic size, read from a value that has it."""
        for name in self.graph_inputs + list(names):  # the inputs first: one Shape serves all
            s1, s2 = self.shapes.get(name, ((), ()))
            for k, (d1, d2) in enumerate(zip(s1, s2)):
                if (d1, d2) == pair and d1 != d2:
                    key = (name, k)
                    if key not in self._dims:
                        shape = self.op("Shape", [name])
                        self._dims[key] = self.op("Gather", [shape, self.ints([k])], axis=0)
                        self.shapes[self._dims[key]] = ((1,), (1,))
                    return self._dims[key]
        return None

    def shape_tensor(self, s1: tuple, s2: tuple, names: list[str], infer: bool = False) -> str:
        """``s1`` as an int64 tensor; its dynamic dims (where ``s2`` differs) read at run time.

        With ``infer`` (a Reshape target) one dim that no value has may be -1."""
        if tuple(s1) == tuple(s2):
            return self.ints(s1)
        parts: list[Any] = []
        missing = []
        for k, (d1, d2) in enumerate(zip(s1, s2)):
            if d1 == d2:
                parts.append(int(d1))
                continue
            d = self.find_dim((d1, d2), names)
            if d is None:
                missing.append(k)
                parts.append(-1)
            else:
                parts.append(d)
        if len(missing) > (1 if infer else 0):
            raise self.fail(
                f"the shape {tuple(s1)} has sizes that follow the dynamic axes in a way the exporter "
                f"cannot read back (dims {missing}); leave those axes static"
            )
        pieces: list[str] = []
        run: list[int] = []
        for p in parts:
            if isinstance(p, str):
                if run:
                    pieces.append(self.ints(run))
                    run = []
                pieces.append(p)
            else:
                run.append(p)
        if run:
            pieces.append(self.ints(run))
        return pieces[0] if len(pieces) == 1 else self.op("Concat", pieces, axis=0)

    def reshape(self, name: str, s_in: tuple[tuple, tuple], s_out: tuple[tuple, tuple]) -> str:
        """Reshape ``name`` to ``s_out`` (pairs of shapes); Squeeze/Unsqueeze when only size-1
        dims come or go, so dynamic dims pass through without being read."""
        if name in self._reshaped:  # a reshape of a reshape is one reshape of the first input
            name, s_in = self._reshaped[name]
        (i1, i2), (o1, o2) = s_in, s_out
        if tuple(i1) == tuple(o1) and tuple(i2) == tuple(o2):
            return name
        if i1 != i2 or o1 != o2:
            kept_in = [(a, b) for a, b in zip(i1, i2) if (a, b) != (1, 1)]
            kept_out = [(a, b) for a, b in zip(o1, o2) if (a, b) != (1, 1)]
            if kept_in == kept_out:
                cur = name
                drop = [k for k, p in enumerate(zip(i1, i2)) if p == (1, 1)]
                add = [k for k, p in enumerate(zip(o1, o2)) if p == (1, 1)]
                if drop:
                    cur = self.op("Squeeze", [cur, self.ints(drop)])
                if add:
                    cur = self.op("Unsqueeze", [cur, self.ints(add)])
                self.shapes[cur] = (tuple(o1), tuple(o2))
                self._reshaped[cur] = (name, s_in)
                return cur
        target = self.shape_tensor(o1, o2, [name], infer=True)
        out = self.op("Reshape", [name, target])
        self.shapes[out] = (tuple(o1), tuple(o2))
        self._reshaped[out] = (name, s_in)
        return out

    def reduce(self, op_type: str, name: str, axes: Any, keepdims: bool) -> str:
        """ReduceX over ``axes`` (None: all), in the form the opset wants (axes as an input from
        opset 18, from 13 for ReduceSum)."""
        if axes is None:
            return self.op(op_type, [name], keepdims=int(keepdims))
        axes = [int(a) for a in axes]
        if op_type == "ReduceSum" or self.opset >= 18:
            return self.op(op_type, [name, self.ints(axes)], keepdims=int(keepdims))
        return self.op(op_type, [name], axes=axes, keepdims=int(keepdims))

    def slice(self, name: str, axes: list[int], starts: list[int], ends: list[int], steps: Any = None) -> str:
        ins = [name, self.ints(starts), self.ints(ends), self.ints(axes)]
        if steps is not None:
            ins.append(self.ints(steps))
        return self.op("Slice", ins)

    def set_value(self, n: Node, name: str) -> None:
        self.values[n.i] = name
        self.shapes[name] = self.out_shapes(n)


def _same(a: Any, b: Any) -> bool:
    """Equal parameters (arrays by value) -- the test that a trace did not change."""
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return (
            isinstance(a, np.ndarray)
            and isinstance(b, np.ndarray)
            and a.shape == b.shape
            and a.dtype == b.dtype
            and np.array_equal(a, b, equal_nan=a.dtype.kind in "fc")
        )
    if isinstance(a, (tuple, list)) and isinstance(b, (tuple, list)):
        return type(a) is type(b) and len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    if isinstance(a, float) and isinstance(b, float) and a != a and b != b:
        return True
    try:
        return bool(type(a) is type(b) and a == b)
    except (TypeError, ValueError):
        return False
