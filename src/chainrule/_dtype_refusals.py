"""What PyTorch refuses by dtype, with its exception class and its advice (for ``dtypes``,
which re-exports these names: ops call ``_dt.check_binary`` and friends).

These run only on the paths that promote or handle non-float tensors, never on the float fast
path.
"""

from __future__ import annotations

import builtins

import numpy as np

from .dtypes import _BY_NP, kind, result_type

_ONE_BOOL = (
    "Subtraction, the `-` operator, with a bool tensor is not supported. If you are "
    "trying to invert a mask, use the `~` or `logical_not()` operator instead."
)
_TWO_BOOLS = (
    "Subtraction, the `-` operator, with two bool tensors is not supported. Use the "
    "`^` or `logical_xor()` operator instead."
)
_NEG_BOOL = (
    "Negation, the `-` operator, on a bool tensor is not supported. If you are trying "
    "to invert a mask, use the `~` or `logical_not()` operator instead."
)
_BOOL_UNARY = ("abs", "floor", "ceil", "round", "trunc", "frac")
_BITWISE = ("bitwise_and", "bitwise_or", "bitwise_xor")
_ORDERED = ("lt", "le", "gt", "ge")
_NO_ORDER = (  # complex numbers have no order: comparisons, maximum/minimum, clamp, relu
    "complex numbers have no order: compare the magnitudes or the real parts, e.g. x.abs() or x.real, "
    "or convert first"
)
# PyTorch's refusals of complex inputs to unary ops. Its '"<kernel>" not implemented for
# <dtype>' ones (op -> the fix), then those with a message of their own (op -> class, text)
_PARTS = "apply it to the parts, e.g. torch.complex(x.real.{0}(), x.imag.{0}()); or convert first"
_COMPLEX_KERNELS = {
    "round": _PARTS.format("round"),
    "frac": _PARTS.format("frac"),
    "erf": "erf takes real values: convert first, e.g. x.real",
    "bitwise_not": "bitwise ops take integer or bool tensors: convert first, e.g. x.real.long()",
}
_COMPLEX_UNARY = {
    "floor": (NotImplementedError, "floor is not supported for complex inputs; " + _PARTS.format("floor")),
    "ceil": (NotImplementedError, "ceil is not supported for complex inputs; " + _PARTS.format("ceil")),
    "trunc": (NotImplementedError, "trunc is not supported for complex inputs; " + _PARTS.format("trunc")),
    "invert": (
        TypeError,
        "~ (operator.invert) is only implemented on integer and Boolean-type "
        "tensors; use logical_not() or convert first, e.g. x.real.long()",
    ),
    "relu": (NotImplementedError, "clamp is not supported for complex types; " + _NO_ORDER),
    "clamp": (NotImplementedError, "clamp is not supported for complex types; " + _NO_ORDER),
    "sign": (
        NotImplementedError,
        "unlike NumPy, sign is not intended to support complex numbers; "
        "use sgn() (z / |z|), or convert first",
    ),
}


def describe(a: object) -> str:
    """``(2,) int64 tensor`` or ``Python int 3``: an operand as error messages name it."""
    if isinstance(a, np.ndarray):
        name = _BY_NP[a.dtype].name if a.dtype in _BY_NP else str(a.dtype)
        return f"{tuple(a.shape)} {name} tensor"
    return f"Python {type(a).__name__} {a!r}"


def _refuse(cls: type[Exception], op: str, text: str, operands: tuple) -> Exception:
    exc = cls(f"{op}(): {text} (got {' and '.join(describe(a) for a in operands)})")
    exc._chainrule = True  # type: ignore[attr-defined]  (ops pass it on unchanged)
    return exc


def _is_bool(a: object) -> builtins.bool:
    return a.dtype.kind == "b" if isinstance(a, np.ndarray) else isinstance(a, builtins.bool)


def _not_for(op: str, npd: np.dtype, fix: str, operands: tuple) -> Exception:
    name = _BY_NP[npd].name if npd in _BY_NP else str(npd)
    return _refuse(NotImplementedError, op, f"not implemented for {name} tensors; {fix}", operands)


def check_binary(op: str, x: object, y: object) -> None:
    """Raise what PyTorch raises for ``op(x, y)`` on raw operands (arrays or numbers), if anything."""
    if op == "sub":
        bx, by = _is_bool(x), _is_bool(y)
        if bx and by:
            raise _refuse(RuntimeError, op, _TWO_BOOLS, (x, y))
        if bx or by:
            raise _refuse(RuntimeError, op, _ONE_BOOL, (x, y))
    elif op in ("maximum", "minimum"):
        for a, arg, pos in ((x, "input", 1), (y, "other", 2)):
            if not isinstance(a, np.ndarray):
                raise _refuse(
                    TypeError,
                    op,
                    f"argument '{arg}' (position {pos}) must be Tensor, "
                    f"not {type(a).__name__}; wrap the number, e.g. torch.tensor(0.0), "
                    "or use clamp(min=...)/clamp(max=...)",
                    (x, y),
                )
        if x.dtype.kind == "c" or y.dtype.kind == "c":
            raise _refuse(RuntimeError, op, f"{op} not implemented for complex tensors; {_NO_ORDER}", (x, y))
    elif op in _ORDERED:
        d = result_type(x, y)
        if d.kind == "c":
            raise _not_for(op, d, _NO_ORDER, (x, y))
    elif op in ("floor_divide", "remainder"):
        d = result_type(x, y)
        if d.kind == "b":
            raise _not_for(op, d, "convert the bools first, e.g. x.long()", (x, y))
        if d.kind == "c":
            raise _not_for(
                op, d, "floor division has no meaning for complex numbers; convert first, e.g. x.real", (x, y)
            )
        if d.kind in "iu" and np.any(np.asarray(y) == 0):
            raise _refuse(
                RuntimeError,
                op,
                "ZeroDivisionError: integer division by zero; mask "
                "the zero divisors first or divide as floats (x.float())",
                (x, y),
            )
    elif op == "pow":
        if _is_bool(x) and isinstance(y, np.ndarray) and y.dtype.kind == "b":
            raise _not_for(op, y.dtype, "convert first, e.g. x.long() ** y.long()", (x, y))
    elif op in _BITWISE:
        d = result_type(x, y)
        if kind(d) in "fc":
            raise _not_for(
                op,
                d,
                "bitwise ops take integer or bool tensors; use logical_and/"
                "logical_or/logical_xor on masks, or convert, e.g. x.long()",
                (x, y),
            )


_NO_UNSIGNED_KERNEL = frozenset(("kthvalue", "median", "nanmedian", "mode", "cummax", "cummin"))


def check_ordered(op: str, x: object, kernel: builtins.bool = True) -> None:
    """Raise PyTorch's refusal of a complex tensor (or its array) for an op that needs an order
    (max, sort, median, ...): NotImplementedError where PyTorch's kernel is missing, else
    RuntimeError ('does not support complex input'); and uint16/32/64 where that kernel lacks them."""
    a = getattr(x, "_data", x)
    if (
        op in _NO_UNSIGNED_KERNEL
        and isinstance(a, np.ndarray)
        and a.dtype.kind == "u"
        and a.dtype.itemsize > 1
    ):
        raise _not_for(
            op,
            a.dtype,
            "PyTorch supports uint16, uint32 and uint64 in few ops; convert first, e.g. x.long()",
            (a,),
        )
    if isinstance(a, np.ndarray) and a.dtype.kind == "c":
        if kernel:
            raise _not_for(op, a.dtype, _NO_ORDER, (a,))
        raise _refuse(RuntimeError, op, f"does not support complex input; {_NO_ORDER}", (a,))


def check_unary(op: str, x: np.ndarray) -> None:
    """Raise what PyTorch raises for ``op(x)`` on a non-float array, if anything."""
    k = kind(x.dtype)
    if k == "c":
        if op in _COMPLEX_KERNELS:
            raise _not_for(op, x.dtype, _COMPLEX_KERNELS[op], (x,))
        if op in _COMPLEX_UNARY:
            cls, text = _COMPLEX_UNARY[op]
            raise _refuse(cls, op, text, (x,))
    elif k == "b":
        if op in _BOOL_UNARY:
            raise _not_for(op, x.dtype, "convert first, e.g. x.long() or x.float()", (x,))
        if op == "neg":
            raise _refuse(RuntimeError, op, _NEG_BOOL, (x,))
        if op == "relu":
            raise _refuse(
                RuntimeError, op, "Boolean inputs not supported for relu; convert first, e.g. x.float()", (x,)
            )
    elif k == "f":
        if op == "bitwise_not":
            raise _not_for(
                op,
                x.dtype,
                "bitwise ops take integer or bool tensors; use "
                "logical_not() on a mask, or convert, e.g. x.long()",
                (x,),
            )
        if op == "invert":
            raise _refuse(
                TypeError,
                op,
                "~ (operator.invert) is only implemented on integer and "
                "Boolean-type tensors; use logical_not() or convert, e.g. x.long()",
                (x,),
            )
    elif op == "frac":
        raise _not_for(op, x.dtype, "frac() of an integer is 0: convert first, e.g. x.float()", (x,))


def sub_forward(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """``x - y``; bool - bool (same dtype, so never promoted) refused as PyTorch does."""
    try:
        return x - y
    except TypeError:
        check_binary("sub", x, y)
        raise


def neg_forward(x: np.ndarray) -> np.ndarray:
    """``-x``; a bool array refused as PyTorch does."""
    try:
        return -x
    except TypeError:
        check_unary("neg", x)
        raise
