"""Textbook formulas per primitive: the forward expression and each input's local VJP.

``forward(op, xs, shapes, out_shape)`` writes an op's output in terms of its
operands' formulas ``xs`` (``a − y``, ``⟨x, w⟩``, ``b²``).  ``vjp(op, i, g,
...)`` returns the row gradient reaching input ``i`` when ``g`` reaches the
output (``g·xᵀ`` for the second input of a dot product), or None when there
is no textbook formula; ``explain`` then writes an opaque ``∂out/∂in``.
Shapes decide the form: a scalar derivative multiplies, a vector one becomes
``diag(d)``, a scalar broadcast against a vector sums (``g·1``).
"""

from __future__ import annotations

from math import prod
from typing import Callable

from . import _sym as s
from ._sym import S

# d(out)/d(x) for elementwise ops of one input, in terms of the input's formula
_ELEMENTWISE: dict[str, tuple[str | None, Callable[[S], S]]] = {
    "Exp": ("exp", lambda x: s.fn("exp", x)),
    "Log": ("log", lambda x: s.power(x, -1)),
    "Tanh": ("tanh", lambda x: s.sub(s.ONE, s.power(s.fn("tanh", x), 2))),
    "Sigmoid": ("σ", lambda x: s.S(s.HAD, s.fn("σ", x), s.sub(s.ONE, s.fn("σ", x)))),
    "Relu": ("relu", lambda x: s.S(s.IND, x)),
    "Sin": ("sin", lambda x: s.fn("cos", x)),
    "Cos": ("cos", lambda x: s.neg(s.fn("sin", x))),
    "Sqrt": ("sqrt", lambda x: s.S(s.DIV, s.ONE, s.mul(s.num(2), s.fn("sqrt", x)))),
    "Abs": ("abs", lambda x: s.fn("sign", x)),
}


def _scale(g: S, d: S, shape: tuple) -> S:
    """``g`` times an elementwise derivative ``d`` of an input with ``shape``."""
    if len(shape) == 0:
        return s.mul(g, d)
    if len(shape) == 1:
        return s.mul(g, s.S(s.DIAG, d))
    raise LookupError


def forward(op: str, public: str, xs: list[S], shapes: list[tuple], out: tuple) -> S:
    """The formula of an op's output."""
    if op in ("Add", "Sub"):
        return (s.S(s.ADD, *xs) if op == "Add" else s.sub(*xs))
    if op == "Mul":
        x, y = xs
        if y.kind == s.NUM and x.kind != s.NUM:
            x, y = y, x  # numbers first: 2b
        if len(shapes[0]) == len(shapes[1]) == 1:
            return s.S(s.HAD, x, y)
        return s.S(s.MUL, x, y)
    if op == "Div":
        return s.S(s.DIV, *xs)
    if op == "Neg":
        return s.S(s.NEG, xs[0])
    if op == "Pow" and xs[1].kind == s.NUM:
        return s.S(s.POW, xs[0], xs[1].args[0])
    if op == "Dot" or (op == "Matmul" and len(shapes[0]) == len(shapes[1]) == 1):
        return s.S(s.DOT, *xs)
    if op in ("Mv", "Mm", "Matmul"):
        if op == "Matmul" and len(shapes[0]) == 1:  # v @ M is the column Mᵀv
            return s.S(s.MUL, s.T(xs[1]), xs[0])
        return s.S(s.MUL, *xs)
    if op == "Sum" and out == ():
        return s.S(s.SUM, xs[0])
    if op == "Permute" and len(shapes[0]) == 2:
        return s.T(xs[0])
    if op in ("Clone", "To"):
        return xs[0]
    if op in _ELEMENTWISE:
        return s.fn(_ELEMENTWISE[op][0] or public, xs[0])
    return s.call(public, *xs)


def vjp(op: str, i: int, g: S, xs: list[S], shapes: list[tuple], out: tuple) -> S | None:
    """The row gradient reaching input ``i``, or None when there is no formula."""
    try:
        return _matrix_operand(op, i, g, xs, shapes) or _vjp(op, i, g, xs, shapes, out)
    except LookupError:
        return None


def _vjp(op: str, i: int, g: S, xs: list[S], shapes: list[tuple], out: tuple) -> S | None:
    mine = shapes[i]
    if len(out) > 1 or len(mine) > 1:
        return None  # matrices: no textbook formula here
    if op == "Sum" and out == ():
        return g if mine == () else s.mul(g, s.S(s.ONES_ROW, mine[0]))
    if op == "Dot" or (op == "Matmul" and len(shapes[0]) == len(shapes[1]) == 1):
        return s.mul(g, s.T(xs[1 - i]))
    broadcast = mine != out  # elementwise ops from here on
    if broadcast and mine != ():
        return None
    if op in ("Add", "Sub", "Clone", "To", "Neg"):
        sign = -1 if (op == "Sub" and i == 1) or op == "Neg" else 1
        gi = s.mul(g, s.S(s.ONES_COL, prod(out))) if broadcast else g
        return s.neg(gi) if sign < 0 else gi
    if op == "Mul":
        other, oshape = xs[1 - i], shapes[1 - i]
        if broadcast:  # a scalar times a vector: dz/dscalar = g·vector
            return s.mul(g, other)
        if len(oshape) == 0:
            return s.mul(g, other)
        return _scale(g, other, mine)
    if op == "Div" and i == 0:
        y = xs[1]
        if broadcast:
            return None
        if y.kind == s.NUM:
            return s.mul(s.num(1 / y.args[0]), g)
        if shapes[1] == ():
            return s.S(s.DIV, g, y)
        return _scale(g, s.power(y, -1), mine)
    if op == "Pow" and i == 0 and xs[1].kind == s.NUM and not broadcast:
        k = xs[1].args[0]
        return _scale(g, s.mul(s.num(k), s.power(xs[0], k - 1)), mine)
    if op in _ELEMENTWISE and not broadcast:
        return _scale(g, _ELEMENTWISE[op][1](xs[0]), mine)
    return None


def _matrix_operand(op: str, i: int, g: S, xs: list[S], shapes: list[tuple]) -> S | None:
    """Matrix-vector products: the vector's gradient is ``g·X`` (X a constant factor)."""
    if op in ("Mv", "Matmul") and len(shapes[0]) == 2 and len(shapes[1]) == 1 and i == 1:
        return s.mul(g, xs[0])
    if op == "Matmul" and len(shapes[0]) == 1 and len(shapes[1]) == 2 and i == 0:
        return s.mul(g, s.T(xs[1]))
    return None
