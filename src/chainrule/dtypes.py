"""Dtypes and PyTorch's type-promotion rules.

A chainrule ``dtype`` is a thin named wrapper over a NumPy dtype, so that
``x.dtype`` prints ``chainrule.float32`` and compares equal to both the
chainrule object and the NumPy dtype.  Promotion follows PyTorch, which differs
from NumPy in two places that matter for learners: an integer tensor combined
with a float (tensor or Python number) takes the float's dtype (``int64 *
float32 -> float32``), and zero-dimensional tensors and Python numbers only
change the result's *category* (bool < int < float), never its width.

``bfloat16`` is ml_dtypes' NumPy dtype (the one JAX uses), imported at its first use;
NumPy gives it kind ``"V"`` and ``np.issubdtype`` does not call it floating, so code that
asks an array's kind calls ``kind()`` here, which says ``"f"`` for it.
"""

from __future__ import annotations

import builtins
import functools
import math
import sys
from typing import Callable

import numpy as np

__all__ = [
    "dtype",
    "float16",
    "bfloat16",
    "float32",
    "float64",
    "uint8",
    "int8",
    "int16",
    "int32",
    "int64",
    "bool",
    "complex64",
    "complex128",
    "get_default_dtype",
    "set_default_dtype",
    "promote_types",
    "result_type",
    "to_numpy",
    "from_numpy",
    "finfo",
    "kind",
]


class dtype:
    """A tensor element type; ``.np`` is the NumPy dtype it stands for."""

    __slots__ = ("name", "np", "is_floating_point", "is_signed", "itemsize")

    def __init__(self, name: str, np_dtype: np.dtype) -> None:
        self.name = name
        self.np = np.dtype(np_dtype)
        self.is_floating_point = self.np.kind == "f"
        self.is_signed = self.np.kind in "fic"  # (complex too, as PyTorch)
        self.itemsize = self.np.itemsize

    @property
    def is_complex(self) -> builtins.bool:
        return self.np.kind == "c"

    def to_real(self) -> dtype:
        """The real dtype of the same precision (complex64 -> float32); real dtypes map to themselves."""
        return _BY_NP[np.dtype(self.np.char.lower())] if self.np.kind == "c" else self

    def to_complex(self) -> dtype:
        """The complex dtype of the same precision (float64 -> complex128), as PyTorch's."""
        if self.np.kind == "c":
            return self
        if self.np.kind != "f":
            raise TypeError(f"to_complex(): {self} has no complex counterpart; use a floating dtype")
        return complex128 if self.np == np.float64 else complex64

    def __repr__(self) -> str:
        return f"chainrule.{self.name}"

    def __eq__(self, other: object) -> builtins.bool:
        if isinstance(other, dtype):
            return self.np == other.np
        try:
            return self.np == np.dtype(other)  # type: ignore[arg-type]
        except TypeError:
            return False

    def __hash__(self) -> int:
        return hash(self.np)

    def __reduce__(self):  # dtypes pickle as the module-level singleton
        return (to_chainrule, (self.name,))


class _LazyDtype(dtype):
    """bfloat16: a dtype that exists without ml_dtypes; its NumPy dtype (``.np``) imports it."""

    __slots__ = ("_np",)

    def __init__(self, name: str) -> None:  # (no dtype.__init__: that would read .np)
        self.name = name
        self._np: np.dtype | None = None
        self.is_floating_point = True
        self.is_signed = True
        self.itemsize = 2

    @property
    def np(self) -> np.dtype:  # type: ignore[override]
        if self._np is None:
            self._np = _load_ml_dtype(self.name)
        return self._np

    is_complex = False  # type: ignore[assignment]

    def to_real(self) -> dtype:
        return self

    def to_complex(self) -> dtype:
        return complex64  # as PyTorch's (there is no complex bfloat16)

    def __eq__(self, other: object) -> builtins.bool:
        if isinstance(other, dtype):
            return other is self
        if isinstance(other, str):  # np.dtype("bfloat16") works only once ml_dtypes is imported
            return other == self.name
        try:
            return self.np == np.dtype(other)  # type: ignore[arg-type]
        except (TypeError, ImportError):
            return False

    def __hash__(self) -> int:
        try:
            return hash(self.np)  # equal to its NumPy dtype, so hashed alike
        except ImportError:
            return hash(self.name)


def _load_ml_dtype(name: str) -> np.dtype:
    try:
        import ml_dtypes
    except ImportError:
        raise ImportError(
            f"chainrule.{name} needs the ml_dtypes package (NumPy's {name} dtype): "
            'pip install "chainrule[bfloat16]"'
        ) from None
    npd = np.dtype(getattr(ml_dtypes, name))
    _BY_NP[npd] = _BY_NAME[name]
    _BY_NAME[name]._np = npd  # (set before the ops that ask for it are wrapped)
    _wrap_opmath()
    return npd


float16 = dtype("float16", np.float16)
bfloat16 = _LazyDtype("bfloat16")
float32 = dtype("float32", np.float32)
float64 = dtype("float64", np.float64)
uint8 = dtype("uint8", np.uint8)
int8 = dtype("int8", np.int8)
int16 = dtype("int16", np.int16)
int32 = dtype("int32", np.int32)
int64 = dtype("int64", np.int64)
bool = dtype("bool", np.bool_)  # noqa: A001  (PyTorch's name)
complex64 = dtype("complex64", np.complex64)
complex128 = dtype("complex128", np.complex128)

_ALL = (float16, float32, float64, uint8, int8, int16, int32, int64, bool, complex64, complex128)
_BY_NP: dict[np.dtype, dtype] = {d.np: d for d in _ALL}
_BY_NAME: dict[str, dtype] = {d.name: d for d in _ALL}
_BY_NAME["bfloat16"] = bfloat16  # (in _BY_NP once ml_dtypes is loaded)
_BY_NAME.update(half=float16, float=float32, double=float64, short=int16, int=int32, long=int64,
                cfloat=complex64, cdouble=complex128)

_default_float = float32


def get_default_dtype() -> dtype:
    """The dtype of tensors made from Python floats (float32 unless changed)."""
    return _default_float


def set_default_dtype(d: object) -> None:
    """Set the dtype used for Python floats (float32, float64, float16 or bfloat16)."""
    global _default_float
    new = to_chainrule(d)
    if not new.is_floating_point:
        raise TypeError(f"set_default_dtype(): only floating dtypes are allowed, got {new}")
    _default_float = new


def to_chainrule(d: object) -> dtype:
    """Any dtype spelling (chainrule, NumPy, Python type, string) -> chainrule dtype."""
    if isinstance(d, dtype):
        return d
    if d is builtins.float:
        return float64
    if d is builtins.int:
        return int64
    if d is builtins.bool:
        return bool
    if isinstance(d, str) and d in _BY_NAME:
        return _BY_NAME[d]
    try:
        npd = np.dtype(d)  # type: ignore[call-overload]
    except TypeError:
        raise TypeError(f"{d!r} is not a dtype chainrule knows") from None
    if not known(npd):
        names = ", ".join(x.name for x in (*_ALL, bfloat16))
        raise TypeError(f"dtype {npd} is not supported; use one of {names}")
    return _BY_NP[npd]


def to_numpy(d: object) -> np.dtype:
    """Any dtype spelling -> the NumPy dtype chainrule stores."""
    if isinstance(d, dtype):
        return d.np
    return to_chainrule(d).np


def known(npd: np.dtype) -> builtins.bool:
    """Whether a tensor may hold arrays of this NumPy dtype (bfloat16's is loaded on first sight)."""
    if npd not in _BY_NP and npd.name == "bfloat16":
        bfloat16.np  # noqa: B018  (registers it when it is ml_dtypes')
    return npd in _BY_NP


def from_numpy(npd: np.dtype) -> dtype:
    """The chainrule dtype of a NumPy dtype (for ``Tensor.dtype``)."""
    try:
        return _BY_NP[npd]
    except KeyError:
        if known(npd):  # bfloat16, made by ml_dtypes before chainrule asked for it
            return _BY_NP[npd]
        raise TypeError(f"NumPy dtype {npd} has no chainrule equivalent") from None


class finfo:
    """Machine limits of a floating dtype, as ``torch.finfo``: ``finfo(chainrule.bfloat16).eps``.

    Complex dtypes give their real part's; ``finfo()`` is the default dtype's."""

    def __init__(self, type: object = None) -> None:  # noqa: A002  (PyTorch's name)
        d = get_default_dtype() if type is None else to_chainrule(type).to_real()
        if not d.is_floating_point:
            raise TypeError(f"finfo(): {d} is not a floating point dtype; use iinfo for integers")
        if d.name == "bfloat16":  # float32's exponent, 7 stored mantissa bits (no ml_dtypes needed)
            self.eps, self.max, self.tiny = 2.0**-7, float.fromhex("0x1.fep127"), 2.0**-126
        else:
            info = np.finfo(d.np)
            self.eps, self.max, self.tiny = float(info.eps), float(info.max), float(info.smallest_normal)
        self.bits = 8 * d.itemsize
        self.min = -self.max
        self.smallest_normal = self.tiny
        self.resolution = 10.0 ** -math.floor(-math.log10(self.eps))
        self.dtype = d.name

    def __repr__(self) -> str:
        return (f"finfo(resolution={self.resolution:.6g}, min={self.min:.6g}, max={self.max:.6g}, "
                f"eps={self.eps:.6g}, smallest_normal={self.smallest_normal:.6g}, tiny={self.tiny:.6g}, "
                f"dtype={self.dtype})")


def kind(npd: np.dtype) -> str:
    """``npd.kind``, but ``"f"`` for bfloat16 (NumPy's kind ``"V"``: the only such dtype a
    tensor can hold), so that ``kind(a.dtype) == "f"`` asks "is it floating?" for all floats."""
    k = npd.kind
    return "f" if k == "V" and npd.name == "bfloat16" else k  # (not a raw or structured void)


def astype(a: np.ndarray, npd: np.dtype) -> np.ndarray:  # (copies, as a.astype does)
    """``a.astype(npd)``, rounding into bfloat16 through float32 as PyTorch does (a float64 or
    int64 value is rounded twice: 1 + 2**-8 + 2**-30 gives 1.0, not 1.0078125)."""
    if npd.kind == "V" and a.dtype != npd and a.dtype != np.float32:
        a = (a.real if a.dtype.kind == "c" else a).astype(np.float32)
    return a.astype(npd)


_OPMATH: set[Callable] = set()  # forwards opmath() marked, wrapped once bfloat16 is loaded


def opmath(fn: Callable) -> Callable:
    """Mark ``fn`` (an op's forward) to compute a bfloat16 first input in float32 and round once,
    as PyTorch's CPU kernels do (each step of softmax or a sum rounded to bfloat16 loses digits).

    Other dtypes pay nothing: the op keeps ``fn`` itself until bfloat16 is first used (ml_dtypes
    loaded), when ``_wrap_opmath`` puts the dtype-checking wrapper in its place."""
    if bfloat16._np is not None:
        return _in_float32(fn)
    _OPMATH.add(fn)
    return fn


def _in_float32(fn: Callable) -> Callable:
    def run(x: np.ndarray, *args: object, **params: object) -> np.ndarray:
        d = getattr(x, "dtype", None)  # (rules may pass a number)
        if d is not None and d.kind == "V":
            return fn(x.astype(np.float32), *args, **params).astype(x.dtype)
        return fn(x, *args, **params)

    return functools.update_wrapper(run, fn)  # (the op table reads fn's parameter names)


def _wrap_opmath() -> None:
    """bfloat16 has just been loaded: every op whose forward opmath() marked gets the wrapper."""
    core = sys.modules.get("chainrule.ops._core")  # (not imported yet: opmath wraps from now on)
    for op in core.PRIMITIVES.values() if core else ():
        if op.forward in _OPMATH:
            op.forward = _in_float32(op.forward)
    _OPMATH.clear()


_CATEGORY = {"b": 0, "i": 1, "u": 1, "f": 2, "c": 3, "V": 2}


def _category(npd: np.dtype) -> int:
    """0 = bool, 1 = integer, 2 = floating (bfloat16 too), 3 = complex (other kinds rank as
    integers)."""
    return _CATEGORY.get(npd.kind, 1)


_TO_COMPLEX = {np.dtype(np.float64): np.dtype(np.complex128)}


def complex_of(npd: np.dtype) -> np.dtype:
    """The complex NumPy dtype holding a float dtype's values (float16/32 -> complex64)."""
    return npd if npd.kind == "c" else _TO_COMPLEX.get(npd, np.dtype(np.complex64))


def promote_types(a: np.dtype, b: np.dtype) -> np.dtype:
    """PyTorch's pairwise promotion: like NumPy, except int with float gives the float (and
    int with complex the complex), while float with complex keeps the wider precision."""
    if a == b:
        return a
    ca, cb = _category(a), _category(b)
    if ca != cb:
        if ca + cb == 5:  # float and complex: float64 + complex64 is complex128, as in NumPy
            return np.promote_types(a, b)
        return a if ca > cb else b
    return np.promote_types(a, b)


def _combine(higher: np.dtype | None, lower: np.dtype | None) -> np.dtype | None:
    """Let a lower-priority group (0-d tensors, Python numbers) raise the category only.

    A complex lower group on a float higher one gives the float's complex counterpart
    (float32 tensor + complex128 0-d tensor is complex64), as PyTorch does."""
    if higher is None:
        return lower
    if lower is None:
        return higher
    cl, ch = _category(lower), _category(higher)
    if cl > ch:
        if cl == 3 and ch == 2:
            return complex_of(higher)
        return promote_types(higher, lower)
    return higher


_PY_INT = np.dtype(np.int64)
_PY_BOOL = np.dtype(np.bool_)


def result_type(*operands: object) -> np.dtype:
    """The NumPy dtype PyTorch would give ``op(*operands)``.

    Operands are arrays (the data of tensors) or Python numbers.  Tensors with
    dimensions decide the width; 0-d tensors and Python numbers can only lift the
    category (an int tensor times 2.5 is float32, a float32 tensor times a
    float64 0-d tensor stays float32).
    """
    dims = zeros = scalars = None
    for x in operands:
        if isinstance(x, np.ndarray):
            if x.ndim:
                dims = x.dtype if dims is None else promote_types(dims, x.dtype)
            else:
                zeros = x.dtype if zeros is None else promote_types(zeros, x.dtype)
        else:
            if isinstance(x, builtins.bool):
                d = _PY_BOOL
            elif isinstance(x, (builtins.int, np.integer)):
                d = _PY_INT
            elif isinstance(x, (builtins.complex, np.complexfloating)):
                d = complex_of(_default_float.np)
            else:
                d = _default_float.np
            scalars = d if scalars is None else promote_types(scalars, d)
    out = _combine(dims, _combine(zeros, scalars))
    assert out is not None, "result_type() needs at least one operand"
    return out


# ------------------------------------------------------------------ refusals
# What PyTorch refuses by dtype, with its exception class and its advice.  These run only
# on the paths that promote or handle non-float tensors, never on the float fast path.
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
    "invert": (TypeError, "~ (operator.invert) is only implemented on integer and Boolean-type "
                          "tensors; use logical_not() or convert first, e.g. x.real.long()"),
    "relu": (NotImplementedError, "clamp is not supported for complex types; " + _NO_ORDER),
    "clamp": (NotImplementedError, "clamp is not supported for complex types; " + _NO_ORDER),
    "sign": (NotImplementedError, "unlike NumPy, sign is not intended to support complex numbers; "
                                  "use sgn() (z / |z|), or convert first"),
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
            raise _not_for(op, d, "floor division has no meaning for complex numbers; convert first, "
                                  "e.g. x.real", (x, y))
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


def check_ordered(op: str, x: object, kernel: builtins.bool = True) -> None:
    """Raise PyTorch's refusal of a complex tensor (or its array) for an op that needs an order
    (max, sort, median, ...): NotImplementedError where PyTorch's kernel is missing, else
    RuntimeError ('does not support complex input')."""
    a = getattr(x, "_data", x)
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
