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
    "uint16",
    "uint32",
    "uint64",
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


class _WideUnsigned(dtype):
    """uint16, uint32, uint64: PyTorch's "limited support" dtypes. Most of its CPU kernels lack
    them (``a + b`` raises NotImplementedError, ``a * b`` works), and it promotes them with no
    dtype but themselves and the floats.  The first use of one (its ``.np``, or a NumPy array of
    one reaching a tensor) arms ``_kernel_dtypes.limit_unsigned``, which makes the ops whose
    kernels lack them refuse them; until then no op pays for the check."""

    __slots__ = ("_np",)

    def __init__(self, name: str, np_dtype: type) -> None:  # (no dtype.__init__: it sets .np)
        self.name = name
        self._np = np.dtype(np_dtype)
        self.is_floating_point = False
        self.is_signed = False
        self.itemsize = self._np.itemsize

    @property
    def np(self) -> np.dtype:  # type: ignore[override]
        if not _UNSIGNED_ARMED:
            _arm_unsigned()
        return self._np

    is_complex = False  # type: ignore[assignment]

    def to_real(self) -> dtype:
        return self

    def __eq__(self, other: object) -> builtins.bool:  # (compares without arming)
        if isinstance(other, dtype):
            return other is self
        try:
            return self._np == np.dtype(other)  # type: ignore[arg-type]
        except TypeError:
            return False

    def __hash__(self) -> int:
        return hash(self._np)


_UNSIGNED_ARMED = False


def _arm_unsigned() -> None:
    """uint16/32/64 are in use: register their NumPy dtypes and let the op table refuse them
    where PyTorch's kernels do (retried while the op table is not loaded yet)."""
    global _UNSIGNED_ARMED
    if "chainrule.ops._core" not in sys.modules:
        return
    _UNSIGNED_ARMED = True
    _BY_NP.update({d._np: d for d in _WIDE_UNSIGNED})
    from . import _kernel_dtypes

    _kernel_dtypes.limit_unsigned()


def is_wide_unsigned(npd: np.dtype) -> builtins.bool:
    """uint16, uint32 or uint64 (the unsigned dtypes PyTorch supports only in part)."""
    return npd.kind == "u" and npd.itemsize > 1


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
uint16 = _WideUnsigned("uint16", np.uint16)
uint32 = _WideUnsigned("uint32", np.uint32)
uint64 = _WideUnsigned("uint64", np.uint64)
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
_WIDE_UNSIGNED = (uint16, uint32, uint64)
_BY_NAME.update({d.name: d for d in _WIDE_UNSIGNED})  # (in _BY_NP once one is used)
_BY_NAME.update(
    half=float16,
    float=float32,
    double=float64,
    short=int16,
    int=int32,
    long=int64,
    cfloat=complex64,
    cdouble=complex128,
)

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
        names = ", ".join(x.name for x in (*_ALL, bfloat16, *_WIDE_UNSIGNED))
        raise TypeError(f"dtype {npd} is not supported; use one of {names}")
    return _BY_NP[npd]


def to_numpy(d: object) -> np.dtype:
    """Any dtype spelling -> the NumPy dtype chainrule stores."""
    if isinstance(d, dtype):
        return d.np
    return to_chainrule(d).np


def known(npd: np.dtype) -> builtins.bool:
    """Whether a tensor may hold arrays of this NumPy dtype (bfloat16's is loaded on first sight)."""
    if npd not in _BY_NP:
        if npd.name == "bfloat16":
            bfloat16.np  # noqa: B018  (registers it when it is ml_dtypes')
        elif is_wide_unsigned(npd):
            _arm_unsigned()
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
        return (
            f"finfo(resolution={self.resolution:.6g}, min={self.min:.6g}, max={self.max:.6g}, "
            f"eps={self.eps:.6g}, smallest_normal={self.smallest_normal:.6g}, tiny={self.tiny:.6g}, "
            f"dtype={self.dtype})"
        )


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


def _unsigned_refusal(a: np.dtype, b: np.dtype) -> Exception:
    na, nb = (_BY_NAME[d.name].name if d.name in _BY_NAME else str(d) for d in (a, b))
    exc = RuntimeError(
        f"promote_types(): Promotion for uint16, uint32, uint64 types is not supported, attempted to "
        f"promote {na} and {nb}; convert one first, e.g. x.long() or x.to(y.dtype)"
    )
    exc._chainrule = True  # type: ignore[attr-defined]  (ops pass it on unchanged)
    return exc


def promote_types(a: np.dtype, b: np.dtype) -> np.dtype:
    """PyTorch's pairwise promotion: like NumPy, except int with float gives the float (and
    int with complex the complex), while float with complex keeps the wider precision."""
    if a == b:
        return a
    ca, cb = _category(a), _category(b)
    if (a.kind == "u" and a.itemsize > 1) or (b.kind == "u" and b.itemsize > 1):
        if ca != 2 and cb != 2:  # uint16/32/64 promote only with floats, as in PyTorch
            raise _unsigned_refusal(a, b)
        return a if ca == 2 else b
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
        if cl == 3:  # (an integer higher group takes the complex as it is: no promotion)
            return complex_of(higher) if ch == 2 else lower
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


# What PyTorch refuses by dtype lives in _dtype_refusals (its names are read here, as before).
from ._dtype_refusals import (  # noqa: E402, F401  (it reads this module's promotion rules)
    check_binary,
    check_ordered,
    check_unary,
    describe,
    neg_forward,
    sub_forward,
)
