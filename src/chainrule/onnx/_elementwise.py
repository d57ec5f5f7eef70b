"""ONNX builders for elementwise ops, reductions and products (see ``_lower.py``).

Each builder reads its arguments with ``b.x(n, k, dtype)``, which also casts: an op computes
in the dtype chainrule gave its result (``n.dtype``), so PyTorch's type promotion (an int
tensor divided by 2 is float32) is decided once, by the op table, and not again here.
"""

from __future__ import annotations

import inspect
import math
from typing import Any, Callable

import numpy as np

from ..compile.ir import Node
from ._builder import Builder

Lowering = Callable[[Builder, Node], str]


def _p(n: Node) -> dict:
    """The node's parameters, with the primitive's defaults filled in."""
    out = {k: v for k, v in n.prim.param_defaults.items() if v is not inspect.Parameter.empty}
    out.update(n.params)
    return out


def unary(op_type: str) -> Lowering:
    def lower(b: Builder, n: Node) -> str:
        return b.op(op_type, [b.x(n, 0, n.dtype)])

    return lower


def binary(op_type: str) -> Lowering:
    def lower(b: Builder, n: Node) -> str:
        return b.op(op_type, [b.x(n, 0, n.dtype), b.x(n, 1, n.dtype)])

    return lower


def compare(op_type: str, negate: bool = False) -> Lowering:
    def lower(b: Builder, n: Node) -> str:
        dt = b.common_dtype(n)
        out = b.op(op_type, [b.x(n, 0, dt), b.x(n, 1, dt)])
        return b.op("Not", [out]) if negate else out

    return lower


def logical(op_type: str) -> Lowering:
    def lower(b: Builder, n: Node) -> str:
        return b.op(op_type, [b.x(n, k, np.bool_) for k in range(len(n.args))])

    return lower


def rsqrt(b: Builder, n: Node) -> str:
    return b.op("Reciprocal", [b.op("Sqrt", [b.x(n, 0, n.dtype)])])


def expm1(b: Builder, n: Node) -> str:
    return b.op("Sub", [b.op("Exp", [b.x(n, 0, n.dtype)]), b.const(1, n.dtype)])


def log1p(b: Builder, n: Node) -> str:
    return b.op("Log", [b.op("Add", [b.x(n, 0, n.dtype), b.const(1, n.dtype)])])


def trunc(b: Builder, n: Node) -> str:
    x = b.x(n, 0, n.dtype)
    neg = b.op("Less", [x, b.const(0, n.dtype)])
    return b.op("Where", [neg, b.op("Ceil", [x]), b.op("Floor", [x])])


def gelu(b: Builder, n: Node) -> str:
    # 0.5 x (1 + erf(x / sqrt 2)): the exact GELU (ONNX's Gelu op exists only from opset 20)
    x = b.x(n, 0, n.dtype)
    e = b.op("Erf", [b.op("Mul", [x, b.const(math.sqrt(0.5), n.dtype)])])
    half = b.op("Mul", [x, b.const(0.5, n.dtype)])
    return b.op("Mul", [half, b.op("Add", [e, b.const(1, n.dtype)])])


def leaky_relu(b: Builder, n: Node) -> str:
    return b.op("LeakyRelu", [b.x(n, 0, n.dtype)], alpha=float(_p(n)["negative_slope"]))


def softplus(b: Builder, n: Node) -> str:
    # PyTorch's softplus is x itself above the threshold (ONNX's Softplus has no threshold)
    p = _p(n)
    x = b.x(n, 0, n.dtype)
    bx = b.op("Mul", [x, b.const(p["beta"], n.dtype)])
    soft = b.op("Div", [b.op("Softplus", [bx]), b.const(p["beta"], n.dtype)])
    return b.op("Where", [b.op("Greater", [bx, b.const(p["threshold"], n.dtype)]), x, soft])


def clamp(b: Builder, n: Node) -> str:
    p = _p(n)
    ins = [b.x(n, 0, n.dtype)]
    ins.append("" if p["min"] is None else b.const(p["min"], n.dtype))
    if p["max"] is not None:
        ins.append(b.const(p["max"], n.dtype))
    return b.op("Clip", ins)


def isnan(b: Builder, n: Node) -> str:
    return b.op("IsNaN", [b.x(n, 0, np.float32 if b.arg_dtype(n, 0).kind != "f" else None)])


def isinf(b: Builder, n: Node) -> str:
    return b.op("IsInf", [b.x(n, 0, np.float32 if b.arg_dtype(n, 0).kind != "f" else None)])


def isfinite(b: Builder, n: Node) -> str:
    x = b.x(n, 0, np.float32 if b.arg_dtype(n, 0).kind != "f" else None)
    return b.op("Not", [b.op("Or", [b.op("IsNaN", [x]), b.op("IsInf", [x])])])


def bitwise_not(b: Builder, n: Node) -> str:
    if np.dtype(n.dtype).kind == "b":
        return b.op("Not", [b.x(n, 0)])
    if b.opset < 18:
        raise b.fail("bitwise_not on integers needs opset_version >= 18")
    return b.op("BitwiseNot", [b.x(n, 0)])


def bitwise(op_type: str) -> Lowering:
    def lower(b: Builder, n: Node) -> str:
        if np.dtype(n.dtype).kind == "b":  # &, |, ^ of masks
            return b.op(op_type, [b.x(n, 0, np.bool_), b.x(n, 1, np.bool_)])
        if b.opset < 18:
            raise b.fail("bitwise ops on integers need opset_version >= 18")
        return b.op(f"Bitwise{op_type}", [b.x(n, 0, n.dtype), b.x(n, 1, n.dtype)])

    return lower


def where(b: Builder, n: Node) -> str:
    return b.op("Where", [b.x(n, 0, np.bool_), b.x(n, 1, n.dtype), b.x(n, 2, n.dtype)])


def remainder(b: Builder, n: Node) -> str:
    x, y = b.x(n, 0, n.dtype), b.x(n, 1, n.dtype)
    if np.dtype(n.dtype).kind in "iu":
        return b.op("Mod", [x, y], fmod=0)  # the divisor's sign, as Python's %
    return b.op("Sub", [x, b.op("Mul", [b.op("Floor", [b.op("Div", [x, y])]), y])])


def floor_divide(b: Builder, n: Node) -> str:
    x, y = b.x(n, 0, n.dtype), b.x(n, 1, n.dtype)
    if np.dtype(n.dtype).kind in "iu":  # ONNX's integer Div truncates: divide what Mod leaves
        return b.op("Div", [b.op("Sub", [x, b.op("Mod", [x, y], fmod=0)]), y])
    return b.op("Floor", [b.op("Div", [x, y])])


def logaddexp(b: Builder, n: Node) -> str:
    x, y = b.x(n, 0, n.dtype), b.x(n, 1, n.dtype)
    m = b.op("Max", [x, y])
    d = b.op("Neg", [b.op("Abs", [b.op("Sub", [x, y])])])
    return b.op("Add", [m, b.op("Log", [b.op("Add", [b.op("Exp", [d]), b.const(1, n.dtype)])])])


def xlogy(b: Builder, n: Node) -> str:
    x, y = b.x(n, 0, n.dtype), b.x(n, 1, n.dtype)
    zero = b.const(0, n.dtype)
    return b.op("Where", [b.op("Equal", [x, zero]), zero, b.op("Mul", [x, b.op("Log", [y])])])


def hypot(b: Builder, n: Node) -> str:
    x, y = b.x(n, 0, n.dtype), b.x(n, 1, n.dtype)
    return b.op("Sqrt", [b.op("Add", [b.op("Mul", [x, x]), b.op("Mul", [y, y])])])


def cast(b: Builder, n: Node) -> str:
    x = b.x(n, 0)
    if b.arg_dtype(n, 0) == np.dtype(n.dtype):
        return b.op("Identity", [x])
    return b.op("Cast", [x], to=b.tensor_type(n.dtype))


def _axes(n: Node, ndim: int) -> Any:
    dim = _p(n)["dim"]
    if dim is None:
        return list(range(ndim))
    return [dim] if isinstance(dim, int) else list(dim)


def reduce(op_type: str) -> Lowering:
    def lower(b: Builder, n: Node) -> str:
        x = b.x(n, 0, n.dtype)
        axes = _axes(n, len(b.shape_of(n, 0)[0]))
        if not axes:  # NumPy's axis=() reduces nothing
            return b.op("Identity", [x])
        return b.reduce(op_type, x, axes, _p(n)["keepdim"])

    return lower


def all_any(op_type: str) -> Lowering:
    def lower(b: Builder, n: Node) -> str:
        x = b.op("Cast", [b.x(n, 0, np.bool_)], to=b.tensor_type(np.int32))
        axes = _axes(n, len(b.shape_of(n, 0)[0]))
        out = b.reduce(op_type, x, axes, _p(n)["keepdim"]) if axes else x
        return b.op("Cast", [out], to=b.tensor_type(np.bool_))

    return lower


def arg_reduce(op_type: str) -> Lowering:
    def lower(b: Builder, n: Node) -> str:
        p = _p(n)
        x = b.x(n, 0)
        if p["dim"] is None:  # over the flattened tensor
            flat = b.op("Reshape", [x, b.ints([-1])])
            out = b.op(op_type, [flat], axis=0, keepdims=0)
            return b.reshape(out, ((), ()), b.out_shapes(n)) if n.shape else out
        return b.op(op_type, [x], axis=int(p["dim"]), keepdims=int(p["keepdim"]))

    return lower


def softmax(op_type: str) -> Lowering:
    def lower(b: Builder, n: Node) -> str:
        return b.op(op_type, [b.x(n, 0, n.dtype)], axis=int(_p(n)["dim"]))

    return lower


def cumsum(b: Builder, n: Node) -> str:
    return b.op("CumSum", [b.x(n, 0, n.dtype), b.const(int(_p(n)["dim"]), np.int64)])


def matmul(b: Builder, n: Node) -> str:
    return b.op("MatMul", [b.x(n, 0, n.dtype), b.x(n, 1, n.dtype)])


def linear(b: Builder, n: Node) -> str:
    """x @ wᵀ (+ b): Gemm for a 2-d x, MatMul with a transposed weight otherwise."""
    x, w = b.x(n, 0, n.dtype), b.x(n, 1, n.dtype)
    bias = b.x(n, 2, n.dtype) if len(n.args) > 2 else None
    if len(b.shape_of(n, 0)[0]) == 2:
        return b.op("Gemm", [x, w] + ([bias] if bias else []), transB=1)
    out = b.op("MatMul", [x, b.op("Transpose", [w], perm=[1, 0])])
    return b.op("Add", [out, bias]) if bias else out


def einsum(b: Builder, n: Node) -> str:
    ins = [b.x(n, k, n.dtype) for k in range(len(n.args))]
    return b.op("Einsum", ins, equation=_p(n)["equation"].replace(" ", ""))
