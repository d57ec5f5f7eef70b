"""How a planned node's line writes its result into a given buffer ``b`` (``OUT_FORMS``): the
same NumPy call as the primitive's forward, with ``out=``, bit for bit (``codegen.generate``
emits these lines; ``passes/memory.py`` decides which nodes get a buffer)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .ir import Node

_BITS = {2: np.int16, 4: np.int32, 8: np.int64}  # an integer type as wide as each float


def _where_zero(cond: Any, g: np.ndarray, out: np.ndarray, keep_where_true: bool) -> np.ndarray:
    """``where(cond, g, 0)`` (``keep_where_true``) or ``where(cond, 0, g)`` written into ``out``
    with a bit mask: all ones where ``g`` is kept, zeros where the result is 0, ANDed with
    ``g``'s bits.  Bit for bit ``np.where``'s result for every ``g`` (NaN, inf and -0.0 kept, +0.0
    elsewhere: no finiteness condition, unlike ``g * mask``), without ``np.where``'s branch per
    element, which a random mask mispredicts (ReLU's backward: 3.5-5x faster)."""
    bits = out.view(_BITS[out.itemsize])
    np.copyto(bits, cond)  # 0 / 1
    if keep_where_true:
        np.negative(bits, out=bits)  # 1 -> all ones
    else:
        np.subtract(bits, 1, out=bits)  # 0 -> all ones, 1 -> 0
    np.bitwise_and(bits, g.view(bits.dtype), out=bits)
    return out


# ------------------------------------------------------------------ writing into a buffer
class _Form:
    """How a node's line writes its result into a given buffer ``b``: ``kind`` as
    ``memory.plan``'s ``writes``; ``follows``: the result takes its inputs' layout (NumPy's
    ``order="K"``), so it is planned only where that layout is C, as the buffer's is."""

    __slots__ = ("kind", "lines", "follows")

    def __init__(self, kind: str, lines: Any, follows: bool = True) -> None:
        self.kind, self.lines, self.follows = kind, lines, follows


def _ufunc_line(ufunc: str, *fixed: str) -> Any:
    """``vN = xp.<ufunc>(args..., out=b)`` for an op whose forward is that ufunc on its args."""

    def lines(em: Any, n: Node, b: str, inplace: bool) -> list[str]:
        args = [em.arg(a) for a in n.args] + list(fixed)
        return [f"v{n.i} = xp.{ufunc}({', '.join(args)}, out={b})"]

    return lines


def _relu(em: Any, n: Node, b: str, inplace: bool) -> list[str]:
    """The forward's ``np.maximum(x, 0)``, against an array of zeros where ``x`` is large: the
    same bits, but NumPy's vector loop takes only two arrays; a scalar operand runs its scalar
    loop, 4-5x slower (float32 (128, 256): 2.2 against 10 us).  One read-only zeros constant
    per shape and dtype."""
    zero = "0"
    if math.prod(n.shape) >= _VECTOR_MAX_MIN and np.dtype(n.dtype).kind == "f":
        key = (tuple(n.shape), np.dtype(n.dtype))
        zeros = em.zeros.get(key)
        if zeros is None:
            zeros = em.zeros[key] = np.zeros(key[0], key[1])
            zeros.flags.writeable = False
        zero = em.const(zeros, "zeros")
    return [f"v{n.i} = xp.maximum({em.arg(n.args[0])}, {zero}, out={b})"]


def _reciprocal(em: Any, n: Node, b: str, inplace: bool) -> list[str]:
    return [f"v{n.i} = xp.true_divide(1, {em.arg(n.args[0])}, out={b})"]  # the forward's 1 / x


def _same_ufunc(em: Any, n: Node, b: str, inplace: bool) -> list[str]:
    """The primitive's forward is a ufunc: the same call, with ``out=``."""
    em.ns.setdefault(n.prim.name, n.prim.forward)
    return [f"v{n.i} = {n.prim.name}({', '.join([*(em.arg(a) for a in n.args), f'out={b}'])})"]


def _clamp(em: Any, n: Node, b: str, inplace: bool) -> list[str]:
    lo, hi = n.params.get("min"), n.params.get("max")
    x = em.arg(n.args[0])
    out = []
    if lo is not None:
        out.append(f"v{n.i} = xp.maximum({x}, {em.param(lo)}, out={b})")
        x = f"v{n.i}"
    if hi is not None:
        out.append(f"v{n.i} = xp.minimum({x}, {em.param(hi)}, out={b})")
    return out


def _where(em: Any, n: Node, b: str, inplace: bool) -> list[str]:
    cond, x, y = (em.arg(a) for a in n.args)
    out = [] if inplace else [f"xp.copyto({b}, {y}, casting='unsafe')"]
    return out + [f"xp.copyto({b}, {x}, where={cond}, casting='unsafe')", f"v{n.i} = {b}"]


def _zero(a: Any) -> bool:
    """A Python number that is +0 (where's result is then +0.0, which a cleared mask gives)."""
    return type(a) in (int, float) and a == 0 and math.copysign(1.0, a) > 0


def _where_bits(em: Any, n: Node, b: str, inplace: bool) -> list[str]:
    cond, x, y = n.args
    keep_true = _zero(y)
    g = x if keep_true else y
    return [f"v{n.i} = _where_zero({em.arg(cond)}, {em.arg(g)}, {b}, {keep_true})"]


def _cast(em: Any, n: Node, b: str, inplace: bool) -> list[str]:
    return [f"xp.copyto({b}, {em.arg(n.args[0])}, casting='unsafe')", f"v{n.i} = {b}"]


def _copy(em: Any, n: Node, b: str, inplace: bool) -> list[str]:
    return [f"xp.copyto({b}, {em.arg(n.args[0])})", f"v{n.i} = {b}"]


def _sum(em: Any, n: Node, b: str, inplace: bool) -> list[str]:
    x = em.arg(n.args[0])
    return [
        f"v{n.i} = xp.add.reduce({x}, axis={n.params['dim']!r}, keepdims={n.params['keepdim']!r}, out={b})"
    ]


def _linear(em: Any, n: Node, b: str, inplace: bool) -> list[str]:
    x, w = em.arg(n.args[0]), em.arg(n.args[1])
    shape = tuple(n.shape)
    if len(shape) <= 2:
        out = [f"v{n.i} = xp.matmul({x}, {w}.T, out={b})"]
    else:  # the forward's flattening of the leading dims (one GEMM)
        rows = math.prod(shape[:-1])
        out = [
            f"xp.matmul({x}.reshape({rows}, -1), {w}.T, out={b}.reshape({rows}, {shape[-1]}))",
            f"v{n.i} = {b}",
        ]
    if len(n.args) == 3:
        out.append(f"v{n.i} += {em.arg(n.args[2])}")  # the forward adds the bias in place, too
    return out


_MATMUL = _Form("any", _ufunc_line("matmul"))  # its result may not overlap its inputs
# the forward of each primitive here, with the same operands, is the NumPy call its line makes
OUT_FORMS: dict[str, _Form] = {
    "Add": _Form("elementwise", _ufunc_line("add")),  # x + y
    "Sub": _Form("elementwise", _ufunc_line("subtract")),
    "Mul": _Form("elementwise", _ufunc_line("multiply")),
    "Div": _Form("elementwise", _ufunc_line("true_divide")),
    "Neg": _Form("elementwise", _ufunc_line("negative")),
    "Relu": _Form("elementwise", _relu),  # np.maximum(x, 0)
    "Reciprocal": _Form("elementwise", _reciprocal),
    "Clamp": _Form("elementwise", _clamp),
    "Where": _Form("last", _where),  # np.where(c, x, y): y's buffer may take the result
    "To": _Form("any", _cast),  # x.astype(dtype) for real x
    "Sum": _Form("any", _sum, follows=False),
    "Mm": _MATMUL,  # np.matmul(x, y), cast back to x's dtype (where that differs: not planned)
    "Matmul": _MATMUL,
    "Bmm": _MATMUL,
    "Mv": _MATMUL,
    "Linear": _Form("any", _linear, follows=False),
    "LinearNoBias": _Form("any", _linear, follows=False),
}
# where(mask, g, 0) and where(mask, 0, g) of a float g: a bit mask into a buffer no input uses
_WHERE_ZERO = _Form("any", _where_bits)
_UFUNC = _Form("elementwise", _same_ufunc)
_GUFUNC = _Form("any", _same_ufunc)  # a generalized ufunc: its result may not overlap its inputs
_COPY = _Form("any", _copy, follows=False)  # a constant's or a saved input's copy


# from this many elements, maximum against zeros beats the scalar loop (float32: 2.2x at 256,
# 3.3x at 4096, 4x at 16384)
_VECTOR_MAX_MIN = 256
