"""A pocket computer algebra for ``explain``: textbook formulas for Jacobians and gradients.

Gradients are row vectors (the textbook's convention: dz/dw has shape (1, n)),
vectors are columns, so a chain of local Jacobians is an ordinary matrix
product read left to right: ``dz/dw = dz/db · db/da · da/dw``.  ``S`` is an
expression tree; ``mul`` and ``T`` simplify as they build (drop identities,
pull numbers to the front, ``1ᵀ diag(d) = dᵀ``), ``render`` prints with the
fewest parentheses, and ``evaluate`` computes the value with NumPy so that a
formula is only shown once it has been checked against autograd's numbers.

Only scalars and vectors (and matrices as constant factors, such as X in Xw)
get formulas; anything else becomes an opaque Jacobian symbol, which keeps the
chain correct but is not evaluated.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

ADD, SUB, NEG, MUL, HAD, DIV = "add", "sub", "neg", "mul", "had", "div"
POW, T_, NAME, NUM, FN, DOT, SUM, IND, DIAG = "pow", "T", "name", "num", "fn", "dot", "sum", "ind", "diag"
ONES_ROW, ONES_COL, EYE, JAC, CALL = "1T", "1", "I", "jac", "call"

_PREC = {ADD: 1, SUB: 1, NEG: 2, MUL: 3, HAD: 3, DIV: 3, POW: 5, T_: 5}
_SUP = str.maketrans("0123456789-", "⁰¹²³⁴⁵⁶⁷⁸⁹⁻")


class Unsupported(Exception):
    """The expression holds something that cannot be evaluated (an opaque Jacobian)."""


class S:
    """One node of a formula: ``kind`` and its operands ``args`` (sub-expressions or literals)."""

    __slots__ = ("kind", "args")

    def __init__(self, kind: str, *args: Any) -> None:
        self.kind = kind
        self.args = args

    def __repr__(self) -> str:
        return render(self)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, S) and render(self) == render(other)

    def __hash__(self) -> int:
        return hash(render(self))


def name(text: str) -> S:
    return S(NAME, text)


def num(v: float) -> S:
    return S(NUM, float(v))


ONE = num(1)
IDENTITY = S(EYE)


def is_num(s: S, v: float | None = None) -> bool:
    return s.kind == NUM and (v is None or s.args[0] == v)


# ------------------------------------------------------------------ building with simplification
def mul(*factors: S) -> S:
    """Product (matrix product, or scaling by a scalar), simplified."""
    flat: list[S] = []
    coef, sign = 1.0, 1
    stack = list(reversed(factors))
    while stack:
        f = stack.pop()
        if f.kind == MUL:
            stack.extend(reversed(f.args))
        elif f.kind == NEG:
            sign = -sign
            stack.append(f.args[0])
        elif f.kind == NUM:
            coef *= f.args[0]
        elif f.kind == EYE:
            continue
        elif flat and flat[-1].kind == ONES_ROW and f.kind == DIAG:
            flat[-1] = T(f.args[0])  # 1ᵀ diag(d) = dᵀ
            if flat[-1].kind in (MUL, NEG, NUM):  # T pulled a number out: re-simplify
                stack.append(flat.pop())
        else:
            flat.append(f)
    coef *= sign
    if coef == 0:
        return num(0)
    if not flat:
        return num(coef)
    lead = [num(abs(coef))] if abs(coef) != 1 else []
    body = flat[0] if len(flat) == 1 and not lead else S(MUL, *(lead + flat))
    return S(NEG, body) if coef < 0 else body


def T(a: S) -> S:
    """Transpose, pushed inside where the textbook would."""
    k = a.kind
    if k == T_:
        return a.args[0]
    if k in (NUM, DIAG, EYE, DOT, SUM):
        return a
    if k == ONES_ROW:
        return S(ONES_COL, *a.args)
    if k == ONES_COL:
        return S(ONES_ROW, *a.args)
    if k == NEG:
        return S(NEG, T(a.args[0]))
    if k == MUL:
        rest = [f for f in a.args if f.kind != NUM]
        if len(rest) == 1:
            return mul(*[f for f in a.args if f.kind == NUM], T(rest[0]))
        return mul(*[T(f) for f in reversed(a.args)])
    return S(T_, a)


def add(a: S | None, b: S) -> S:
    if a is None or is_num(a, 0):
        return b
    if is_num(b, 0):
        return a
    if a == b:
        return mul(num(2), a)
    if b.kind == NEG:
        return S(SUB, a, b.args[0])
    return S(ADD, a, b)


def sub(a: S, b: S) -> S:
    return S(SUB, a, b)


def neg(a: S) -> S:
    return a.args[0] if a.kind == NEG else mul(num(-1), a)


def power(a: S, k: float) -> S:
    if k == 1:
        return a
    if k == 0:
        return ONE
    return S(POW, a, float(k))


def fn(fname: str, a: S) -> S:
    return S(FN, fname, a)


def call(fname: str, *args: S) -> S:
    return S(CALL, fname, *args)


def substitute(s: S, defs: dict[str, S], depth: int = 0) -> S:
    """Replace each defined name by its definition, until only inputs are left."""
    if depth > 100:
        raise RecursionError("definitions refer to each other")
    if s.kind == NAME:
        d = defs.get(s.args[0])
        return s if d is None else substitute(d, defs, depth + 1)
    if s.kind in (NUM, ONES_ROW, ONES_COL, EYE):
        return s
    args = tuple(substitute(a, defs, depth) if isinstance(a, S) else a for a in s.args)
    return S(s.kind, *args)


# ------------------------------------------------------------------ printing
def _num_text(v: float) -> str:
    if v == int(v) and abs(v) < 1e15:
        return str(int(v))
    return f"{v:.4g}"


def _tight(text: str) -> bool:
    """A single letter (maybe with a transpose or power mark): can be juxtaposed."""
    core = text.rstrip("ᵀ⁰¹²³⁴⁵⁶⁷⁸⁹⁻")
    return len(core) == 1 and core.isalpha()


def _prec(s: S) -> int:
    if s.kind == NUM and s.args[0] < 0:
        return 2
    return _PREC.get(s.kind, 6)


def render(s: S) -> str:
    """The formula as the textbook prints it: ``2(⟨x, w⟩ − y)xᵀ``."""
    k, a = s.kind, s.args

    def r(x: S, p: int) -> str:
        text = render(x)
        return f"({text})" if _prec(x) < p else text

    if k == NAME:
        return a[0]
    if k == NUM:
        return _num_text(a[0]) if a[0] >= 0 else "−" + _num_text(-a[0])
    if k == ADD:
        return f"{r(a[0], 1)} + {r(a[1], 2)}"
    if k == SUB:
        return f"{r(a[0], 1)} − {r(a[1], 2)}"
    if k == NEG:
        return "−" + r(a[0], 3)
    if k == MUL:
        parts = [r(f, 4) for f in a]
        out = parts[0]
        for prev, cur in zip(parts, parts[1:]):
            glue = not cur[0].isdigit() and (
                prev[-1] in ")⟩ᵀ]" or prev.replace(".", "").isdigit() or cur[0] in "(⟨["
                or (_tight(prev) and _tight(cur)))
            out += ("" if glue else "·") + cur
        return out
    if k == HAD:
        return f"{r(a[0], 4)} ⊙ {r(a[1], 4)}"
    if k == DIV:
        return f"{r(a[0], 3)}/{r(a[1], 5)}"
    if k == POW:
        e = a[1]
        sup = _num_text(e).translate(_SUP) if e == int(e) else f"^{_num_text(e)}"
        return r(a[0], 6) + sup
    if k == T_:
        return r(a[0], 6) + "ᵀ"
    if k == FN:
        return f"{a[0]}({render(a[1])})"
    if k == DOT:
        return f"⟨{render(a[0])}, {render(a[1])}⟩"
    if k == SUM:
        return f"sum({render(a[0])})"
    if k == IND:
        return f"[{render(a[0])} > 0]"
    if k == DIAG:
        return f"diag({render(a[0])})"
    if k == ONES_ROW:
        return "1ᵀ"
    if k == ONES_COL:
        return "1"
    if k == EYE:
        return "I"
    if k == JAC:
        return f"∂{a[0]}/∂{a[1]}"
    if k == CALL:
        return f"{a[0]}({', '.join(render(x) for x in a[1:])})"
    raise ValueError(f"unknown formula node {k!r}")


# ------------------------------------------------------------------ evaluation (for checking)
_FUNCS: dict[str, Callable] = {
    "exp": np.exp, "log": np.log, "tanh": np.tanh, "sin": np.sin, "cos": np.cos,
    "sqrt": np.sqrt, "sign": np.sign, "σ": lambda v: 1 / (1 + np.exp(-v)),
}


def _as2d(v: Any) -> np.ndarray:
    v = np.asarray(v, dtype=np.float64)
    if v.ndim == 0:
        return v.reshape(1, 1)
    if v.ndim == 1:
        return v.reshape(-1, 1)
    if v.ndim == 2:
        return v
    raise Unsupported("tensors with more than 2 dimensions")


def _scalar(v: np.ndarray) -> bool:
    return v.shape == (1, 1)


def evaluate(s: S, env: dict[str, Any]) -> np.ndarray:
    """The value of ``s`` (vectors as columns, gradients as rows) with names from ``env``."""
    k, a = s.kind, s.args
    ev = lambda x: evaluate(x, env)  # noqa: E731
    if k == NAME:
        if a[0] not in env:
            raise Unsupported(f"unknown name {a[0]}")
        return _as2d(env[a[0]])
    if k == NUM:
        return np.array([[a[0]]])
    if k in (ADD, SUB):
        x, y = ev(a[0]), ev(a[1])
        return x + y if k == ADD else x - y
    if k == NEG:
        return -ev(a[0])
    if k == MUL:
        out = ev(a[0])
        for f in a[1:]:
            v = ev(f)
            out = out * v if _scalar(out) or _scalar(v) else out @ v
        return out
    if k == HAD:
        return ev(a[0]) * ev(a[1])
    if k == DIV:
        return ev(a[0]) / ev(a[1])
    if k == POW:
        return ev(a[0]) ** a[1]
    if k == T_:
        return ev(a[0]).T
    if k == FN:
        if a[0] not in _FUNCS:
            raise Unsupported(a[0])
        return _FUNCS[a[0]](ev(a[1]))
    if k == DOT:
        return ev(a[0]).T @ ev(a[1])
    if k == SUM:
        return np.array([[ev(a[0]).sum()]])
    if k == IND:
        return (ev(a[0]) > 0).astype(np.float64)
    if k == DIAG:
        return np.diag(ev(a[0]).ravel())
    if k == ONES_ROW:
        return np.ones((1, a[0]))
    if k == ONES_COL:
        return np.ones((a[0], 1))
    raise Unsupported(f"{render(s)} cannot be evaluated")
