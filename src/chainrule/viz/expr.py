"""A safe little expression language for the command line: arithmetic over named tensors.

``chainrule graph "a = dot(x, w); b = a - y; b ** 2" --var x=3 --var w=3 --var y=``

The text is parsed with ``ast`` and *interpreted* node by node (never passed
to ``eval``/``exec``).  Only these are allowed: numbers, the declared
variables, chainrule functions (``dot``, ``exp``, ``cr.relu``, ``F.softmax``),
arithmetic and ``@``, unary minus, calls with keyword arguments, indexing and
slicing, tuples and lists, ``name = expression`` statements, and public tensor
methods that compute something (``.sum()``, ``.T``, ``.reshape(...)``).  Any
other construct is refused with the reason: names starting with ``_`` (so no
``__import__``, ``__class__``, ``__globals__``), imports, lambdas,
comprehensions, strings, unknown names.
"""

from __future__ import annotations

import ast
import inspect
import keyword
import operator
from typing import Any, Callable

import numpy as np

from .._tensor import Tensor

__all__ = ["UnsafeExpression", "parse_var", "run", "functions"]

MAX_ELEMENTS = 10**6  # per declared variable
MAX_INT = 10**9  # Python integers in expressions (keeps 10**10**10 from hanging)

_BINOPS: dict[type, Callable] = {
    ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul,
    ast.Div: operator.truediv, ast.MatMult: operator.matmul, ast.Pow: operator.pow,
    ast.FloorDiv: operator.floordiv, ast.Mod: operator.mod,
}
_UNARY: dict[type, Callable] = {ast.USub: operator.neg, ast.UAdd: operator.pos}
_CREATION = ("ones", "zeros", "eye", "arange", "linspace", "full", "tensor", "ones_like",
             "zeros_like", "randn", "rand", "randn_like", "rand_like")
_TENSOR_EXTRA = ("T", "mT", "shape", "ndim", "size", "numel", "dim", "detach", "float", "double",
                 "item", "softmax", "log_softmax", "relu", "sigmoid", "tanh", "exp", "log")
_WHY_NOT = {
    ast.Import: "imports are not allowed",
    ast.ImportFrom: "imports are not allowed",
    ast.Lambda: "lambda functions are not allowed",
    ast.ListComp: "comprehensions are not allowed",
    ast.SetComp: "comprehensions are not allowed",
    ast.DictComp: "comprehensions are not allowed",
    ast.GeneratorExp: "generator expressions are not allowed",
    ast.FunctionDef: "function definitions are not allowed",
    ast.ClassDef: "class definitions are not allowed",
    ast.NamedExpr: "the walrus operator := is not allowed (write name = expression)",
    ast.Await: "await is not allowed",
    ast.Starred: "* and ** unpacking are not allowed",
    ast.JoinedStr: "strings are not allowed",
    ast.Dict: "dictionaries are not allowed",
    ast.Set: "sets are not allowed",
    ast.IfExp: "conditional expressions are not allowed",
    ast.Compare: "comparisons are not allowed",
    ast.BoolOp: "and/or are not allowed",
}
_HINT = ("allowed: numbers, declared variables (--var), chainrule functions such as dot, exp, "
         "relu, arithmetic + - * / ** @, calls, indexing, tuples, tensor methods like .sum() "
         "and .T, and 'name = expression' statements separated by ';'")


class UnsafeExpression(ValueError):
    """The expression uses something the command-line language does not allow."""


class _Namespace:
    """``cr.``/``chainrule.``/``torch.``/``F.``: only the allowed functions are reachable."""

    def __init__(self, label: str, members: dict[str, Callable]) -> None:
        self.label = label
        self.members = members


def functions() -> dict[str, Callable]:
    """The chainrule functions an expression may call, by name."""
    import chainrule as cr
    from chainrule.nn import functional as F
    from chainrule.ops import __all__ as op_names

    out: dict[str, Callable] = {}
    for n in list(op_names) + list(_CREATION):
        f = getattr(cr, n, None)
        if callable(f) and not n.startswith("_"):
            out[n] = f
    for n in dir(F):
        f = getattr(F, n)
        if not n.startswith("_") and inspect.isroutine(f) and \
                getattr(f, "__module__", "").startswith("chainrule"):
            out.setdefault(n, f)
    return {n: f for n, f in out.items() if inspect.isroutine(f)}  # functions, never classes


def _tensor_attrs(funcs: dict[str, Callable]) -> frozenset[str]:
    names = set(funcs) | set(_TENSOR_EXTRA)
    return frozenset(n for n in names if hasattr(Tensor, n) and not n.endswith("_"))


def parse_var(spec: str, generator: Any = None) -> tuple[str, Tensor]:
    """``NAME=SHAPE[:nograd]`` -> a random float64 tensor (requires grad unless ``:nograd``)."""
    import chainrule as cr

    if "=" not in spec:
        raise ValueError(f"--var {spec!r}: write NAME=SHAPE, e.g. x=3, W=2,3, y= (a scalar) or "
                         "x=3:nograd")
    name, shape_text = spec.split("=", 1)
    name = name.strip()
    if not name.isidentifier() or keyword.iskeyword(name) or name.startswith("_"):
        raise ValueError(f"--var {spec!r}: {name!r} is not a valid variable name (a Python "
                         "identifier that does not start with '_')")
    shape_text, _, flag = shape_text.partition(":")
    if flag not in ("", "nograd", "grad"):
        raise ValueError(f"--var {spec!r}: unknown flag {flag!r}; use :nograd or :grad")
    shape_text = shape_text.strip().strip("()[]").replace("x", ",").replace(" ", "")
    if shape_text in ("", "scalar"):
        shape: tuple[int, ...] = ()
    else:
        try:
            shape = tuple(int(s) for s in shape_text.split(",") if s != "")
        except ValueError:
            raise ValueError(f"--var {spec!r}: the shape must be integers separated by commas, "
                             "e.g. 3 or 2,3") from None
    if any(d < 0 for d in shape) or int(np.prod(shape)) > MAX_ELEMENTS:
        raise ValueError(f"--var {spec!r}: shape {shape} is negative or has more than "
                         f"{MAX_ELEMENTS} elements")
    t = cr.randn(shape, dtype=cr.float64, generator=generator)
    if flag != "nograd":
        t.requires_grad_(True)
    return name, t


def run(source: str, variables: dict[str, Tensor]) -> tuple[Any, dict[str, Any]]:
    """Interpret ``source``; return its value (the last statement) and every named value."""
    try:
        tree = ast.parse(source.strip(), mode="exec")
    except SyntaxError as exc:
        raise UnsafeExpression(f"cannot parse {source!r}: {exc.msg} (column {exc.offset})") from None
    if not tree.body:
        raise UnsafeExpression("the expression is empty")
    interp = _Interpreter(dict(variables))
    value = None
    for stmt in tree.body:
        value = interp.statement(stmt)
    return value, interp.env


class _Interpreter:
    def __init__(self, env: dict[str, Any]) -> None:
        self.env = env
        self.funcs = functions()
        self.attrs = _tensor_attrs(self.funcs)
        ns = _Namespace("chainrule", self.funcs)
        self.modules = {"cr": ns, "chainrule": ns, "torch": ns, "F": _Namespace("F", self.funcs)}

    def refuse(self, node: ast.AST, why: str) -> UnsafeExpression:
        where = f" (column {node.col_offset + 1})" if hasattr(node, "col_offset") else ""
        return UnsafeExpression(f"refused{where}: {why}. {_HINT}")

    def statement(self, stmt: ast.stmt) -> Any:
        if isinstance(stmt, ast.Expr):
            return self.eval(stmt.value)
        if isinstance(stmt, ast.Assign):
            if len(stmt.targets) != 1 or not isinstance(stmt.targets[0], ast.Name):
                raise self.refuse(stmt, "only 'name = expression' assignments are allowed")
            target = stmt.targets[0].id
            if target.startswith("_"):
                raise self.refuse(stmt, f"the name {target!r} starts with '_'")
            value = self.eval(stmt.value)
            self.env[target] = value
            return value
        raise self.refuse(stmt, _WHY_NOT.get(type(stmt), f"{type(stmt).__name__} statements "
                                             "are not allowed"))

    def eval(self, node: ast.AST) -> Any:
        method = getattr(self, f"_{type(node).__name__}", None)
        if method is None:
            raise self.refuse(node, _WHY_NOT.get(type(node), f"{type(node).__name__} is not allowed"))
        return method(node)

    # ---------------------------------------------------------------- node types
    def _Constant(self, node: ast.Constant) -> Any:
        v = node.value
        if isinstance(v, bool) or v is None:
            return v
        if isinstance(v, (int, float)):
            return self._number(node, v)
        raise self.refuse(node, f"{type(v).__name__} constants are not allowed (numbers only)")

    def _number(self, node: ast.AST, v: Any) -> Any:
        if isinstance(v, int) and not isinstance(v, bool) and abs(v) > MAX_INT:
            raise self.refuse(node, f"the integer {v} is larger than {MAX_INT}")
        return v

    def _Name(self, node: ast.Name) -> Any:
        n = node.id
        if n.startswith("_"):
            raise self.refuse(node, f"the name {n!r} starts with '_'; names like __import__ "
                              "reach Python internals")
        if n in self.env:
            return self.env[n]
        if n in self.funcs:
            return self.funcs[n]
        if n in self.modules:
            return self.modules[n]
        raise self.refuse(node, f"unknown name {n!r}: declare it with --var {n}=SHAPE or use a "
                          "chainrule function")

    def _Attribute(self, node: ast.Attribute) -> Any:
        a = node.attr
        if a.startswith("_"):
            raise self.refuse(node, f"attribute access to {a!r} is not allowed: names starting "
                              "with '_' (dunders like __class__) reach Python internals")
        base = self.eval(node.value)
        if isinstance(base, _Namespace):
            if a in base.members:
                return base.members[a]
            raise self.refuse(node, f"{base.label}.{a} is not an allowed chainrule function")
        if isinstance(base, Tensor):
            if a in self.attrs:
                return getattr(base, a)
            raise self.refuse(node, f"the tensor attribute .{a} is not allowed (only methods "
                              "that compute, like .sum(), .T, .reshape())")
        raise self.refuse(node, f"attribute access on {type(base).__name__} is not allowed")

    def _Call(self, node: ast.Call) -> Any:
        func = self.eval(node.func)
        # chainrule functions, or a bound method reached through an allowed tensor attribute
        allowed = any(func is f for f in self.funcs.values()) or (
            not isinstance(func, Tensor) and isinstance(getattr(func, "__self__", None), Tensor)
            and isinstance(node.func, ast.Attribute))
        if not allowed or not callable(func):
            raise self.refuse(node, "only chainrule functions and tensor methods can be called")
        args = [self.eval(a) for a in node.args]
        kwargs = {}
        for kw in node.keywords:
            if kw.arg is None:
                raise self.refuse(kw, "** unpacking is not allowed")
            if kw.arg.startswith("_"):
                raise self.refuse(kw, f"keyword {kw.arg!r} starts with '_'")
            kwargs[kw.arg] = self.eval(kw.value)
        return self._checked(node, func(*args, **kwargs))

    def _checked(self, node: ast.AST, v: Any) -> Any:
        if isinstance(v, Tensor) and v.numel() > 10 * MAX_ELEMENTS:
            raise self.refuse(node, f"a result with {v.numel()} elements is too large")
        if isinstance(v, int) and not isinstance(v, bool):
            return self._number(node, v)
        return v

    def _BinOp(self, node: ast.BinOp) -> Any:
        op = _BINOPS.get(type(node.op))
        if op is None:
            raise self.refuse(node, f"the operator {type(node.op).__name__} is not allowed")
        left, right = self.eval(node.left), self.eval(node.right)
        numbers = all(isinstance(v, (int, float)) for v in (left, right))
        if numbers and op is operator.pow and abs(right) > 64:
            raise self.refuse(node, "a power of a number with an exponent above 64")
        return self._checked(node, op(left, right))

    def _UnaryOp(self, node: ast.UnaryOp) -> Any:
        op = _UNARY.get(type(node.op))
        if op is None:
            raise self.refuse(node, f"the operator {type(node.op).__name__} is not allowed")
        return op(self.eval(node.operand))

    def _Subscript(self, node: ast.Subscript) -> Any:
        base = self.eval(node.value)
        if not isinstance(base, (Tensor, tuple, list)):
            raise self.refuse(node, f"indexing {type(base).__name__} is not allowed")
        return base[self.eval(node.slice)]

    def _Slice(self, node: ast.Slice) -> slice:
        part = lambda n: None if n is None else self.eval(n)  # noqa: E731
        return slice(part(node.lower), part(node.upper), part(node.step))

    def _Tuple(self, node: ast.Tuple) -> tuple:
        return tuple(self.eval(e) for e in node.elts)

    def _List(self, node: ast.List) -> list:
        return [self.eval(e) for e in node.elts]
