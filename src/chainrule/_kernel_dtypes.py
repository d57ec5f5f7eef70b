"""The dtypes PyTorch's CPU kernels lack, op by op, refused here as PyTorch refuses them.

NumPy computes almost any function for any dtype (an integer tensor through ``softmax``
would just be cast to float), while each PyTorch kernel is compiled for a fixed set of
dtypes and refuses the rest: ``NotImplementedError: "softmax_lastdim_kernel_impl" not
implemented for 'Long'``.  Code written against chainrule must run on PyTorch too, so the
same inputs are refused here, with the op, the dtype and the fix in the message.

``GAPS`` maps an op (as its messages name it) to the kinds it refuses: ``b`` bool, ``i``
integers (signed or not), ``U`` uint16/32/64 only (``i`` includes them), ``h`` float16 and
bfloat16, ``c`` complex.  ``OWN_WORDS`` holds the refusals PyTorch words itself (class and
text).  Ops call ``check`` on their input before they compute.  ``UNSIGNED_GAPS`` (at the end)
lists the primitives whose kernels lack uint16/32/64, refused from their first use on.
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np

from . import dtypes as _dt

__all__ = ["GAPS", "UNSIGNED_GAPS", "check", "check_binary", "limit_unsigned"]

_FLOAT_ONLY = "bic"  # activations and normalisers: floating point only
_REAL_FLOAT = "bi"  # ... which also take complex
GAPS = {
    **dict.fromkeys(
        (
            "softmax",
            "log_softmax",
            "gelu",
            "leaky_relu",
            "mish",
            "softplus",
            "logsigmoid",
            "elu",
            "celu",
            "selu",
            "hardsigmoid",
            "hardswish",
        ),
        _FLOAT_ONLY,
    ),
    **dict.fromkeys(("silu", "logcumsumexp"), _REAL_FLOAT),
    # real-valued special functions (SciPy has complex versions of some; PyTorch has none)
    **dict.fromkeys(
        (
            "digamma",
            "polygamma",
            "erfc",
            "erfinv",
            "lgamma",
            "logit",
            "i0",
            "special.i0e",
            "special.i1",
            "special.i1e",
            "special.entr",
            "special.ndtr",
            "unique",
        ),
        "c",
    ),
    **dict.fromkeys(("special.erfcx", "special.log_ndtr", "special.ndtri"), "hc"),
    **dict.fromkeys(("median", "nanmedian", "trace"), "bU"),
    "histc": _FLOAT_ONLY,
    "mvlgamma": "bc",
    "hardtanh": "bc",
    "relu6": "bc",
    "argmax": "bcU",
    "argmin": "bcU",
    "topk": "bcU",
    "nansum": "c",
}
# binary ops: the kinds of the *result* dtype refused, and the arguments that must be tensors
# (PyTorch has no overload taking a Python number there)
GAPS.update(
    {
        "logaddexp": "bi",
        "logaddexp2": "bic",
        "hypot": "bic",
        "atan2": "c",
        "copysign": "c",
        "xlogy": "c",
        "special.xlog1py": "c",
        "special.zeta": "hc",
        "fmod": "bc",
        "lerp": "bi",
    }
)
TENSOR_ARGS = {
    **dict.fromkeys(
        ("atan2", "hypot", "logaddexp", "logaddexp2", "isclose", "logical_and", "logical_or", "logical_xor"),
        2,
    ),
    "copysign": 1,
    "fmod": 1,
    "lerp": 2,
}
SAME_DTYPE = {"isclose": "{a} did not match {b}", "lerp": "expected dtype {a} for `end` but got dtype {b}"}
OWN_WORDS = {  # (op, kind) -> PyTorch's class and words, and the fix
    ("hardtanh", "b"): (
        RuntimeError,
        "Bool inputs not supported for hardtanh; convert first, e.g. x.float()",
    ),
    ("relu6", "b"): (RuntimeError, "Bool inputs not supported for hardtanh; convert first, e.g. x.float()"),
    **{
        (op, k): (RuntimeError, f"{op}(): does not support {word} input; convert first, e.g. {fix}")
        for op in ("argmax", "argmin")
        for k, word, fix in (("b", "bool", "x.long()"), ("c", "complex", "x.abs()"))
    },
    ("topk", "b"): (RuntimeError, "topk does not support bool dtypes on CPU; convert first, e.g. x.long()"),
    ("topk", "c"): (RuntimeError, "topk does not support complex dtypes on CPU; convert first, e.g. x.abs()"),
    **{
        (op, "c"): (
            NotImplementedError,
            "clamp is not supported for complex types; complex numbers have no "
            "order: convert first, e.g. x.real or x.abs()",
        )
        for op in ("hardtanh", "relu6")
    },
    ("nansum", "c"): (
        RuntimeError,
        "nansum on CPU does not support complex inputs; sum the parts, e.g. "
        "torch.complex(x.real.nansum(), x.imag.nansum()), or convert first",
    ),
    ("mvlgamma", "b"): (
        RuntimeError,
        "The input tensor may not be a boolean tensor; convert first, e.g. x.float()",
    ),
}
_FIX = {
    "b": "convert first, e.g. x.float()",
    "i": "convert first, e.g. x.float()",
    "U": "convert first, e.g. x.long() or x.float()",
    "h": "convert first, e.g. x.float()",
    "c": "convert first, e.g. x.real or x.abs()",
}


_F32, _F64 = np.dtype(np.float32), np.dtype(np.float64)


def _code(npd: np.dtype) -> str:
    k = _dt.kind(npd)
    if k in "iu":
        return "U" if npd.itemsize > 1 and k == "u" else "i"
    if k == "f" and npd.itemsize == 2:
        return "h"
    return k


def check(op: str, x: Any) -> Any:
    """``x``, after raising what PyTorch raises for ``op`` on its dtype if its kernel lacks it."""
    data = getattr(x, "_data", x)
    npd = getattr(data, "dtype", None)
    if npd is _F32 or npd is _F64:  # (every op here takes these: the common case first)
        return x
    npd = npd if isinstance(data, np.ndarray) else np.asarray(data).dtype
    code = _code(npd)
    if code not in GAPS[op] and not (code == "U" and "i" in GAPS[op]):
        return x
    name = _dt.from_numpy(npd).name if _dt.known(npd) else str(npd)
    got = f" (got {_dt.describe(np.asarray(data))})"
    if (op, code) in OWN_WORDS:
        cls, text = OWN_WORDS[op, code]
        raise _refusal(cls, f"{op}(): {text}{got}")
    raise _refusal(NotImplementedError, f"{op}(): not implemented for {name} tensors; {_FIX[code]}{got}")


def _refusal(cls: type, message: str) -> Exception:
    """An exception ops pass on unchanged (its message already names the op and the fix)."""
    exc = cls(message)
    exc._chainrule = True  # type: ignore[attr-defined]
    return exc


def check_binary(op: str, x: Any, y: Any) -> None:
    """Raise what PyTorch raises for ``op(x, y)``: a number where it takes only tensors, or a
    result dtype its kernel lacks."""
    for a, arg, pos in ((x, "input", 1), (y, "other", 2))[: TENSOR_ARGS.get(op, 0)]:
        if not isinstance(getattr(a, "_data", a), (np.ndarray, np.generic)):  # (arrays: from ops)
            got = " and ".join(_dt.describe(getattr(v, "_data", v)) for v in (x, y))
            raise _refusal(
                TypeError,
                f"{op}(): argument '{arg}' (position {pos}) must be Tensor, not "
                f"{type(a).__name__}; wrap the number, e.g. torch.tensor({a!r}) (got {got})",
            )
    xd, yd = getattr(x, "_data", x), getattr(y, "_data", y)
    if (
        op in SAME_DTYPE
        and isinstance(xd, np.ndarray)
        and isinstance(yd, np.ndarray)
        and xd.dtype != yd.dtype
    ):
        a, b = (_dt.from_numpy(d).name if _dt.known(d) else str(d) for d in (xd.dtype, yd.dtype))
        raise _refusal(
            RuntimeError,
            f"{op}(): {SAME_DTYPE[op].format(a=a, b=b)}; convert one first, e.g. "
            f"y.to(x.dtype) (got {_dt.describe(xd)} and {_dt.describe(yd)})",
        )
    if op in GAPS:
        npd = _dt.result_type(xd, yd)
        code = _code(npd)
        if op == "fmod" and code in "iU" and np.any(np.asarray(yd) == 0):
            raise _refusal(
                RuntimeError,
                f"fmod(): ZeroDivisionError: integer division by zero; mask the zero divisors "
                f"first or divide as floats (x.float()) (got {_dt.describe(xd)} and "
                f"{_dt.describe(yd)})",
            )
        if code in GAPS[op] or (code == "U" and "i" in GAPS[op]):
            name = _dt.from_numpy(npd).name if _dt.known(npd) else str(npd)
            got = " and ".join(_dt.describe(a) for a in (xd, yd))
            raise _refusal(
                NotImplementedError,
                f"{op}(): not implemented for {name} tensors (the result dtype); {_FIX[code]} (got {got})",
            )


# uint16, uint32, uint64: PyTorch's "limited support" dtypes.  Its CPU kernels for these ops
# lack them (``"add_stub" not implemented for 'UInt16'``); a * b, bitwise and/or/xor, eq/ne,
# sum/prod/cumsum, sort, cat, indexing, views and casts take them.  Primitive -> the op's name.
UNSIGNED_GAPS = {
    **{
        p: p.lower()
        for p in ("Add", "Sub", "Pow", "Lt", "Le", "Gt", "Ge", "Abs", "Neg", "Sign", "Max", "Min")
    },
    **{p: p.lower() for p in ("Amax", "Amin", "Argmax", "Argmin", "Maximum", "Minimum", "Flip", "Clamp")},
    **{p: p.lower() for p in ("Nonzero", "Cummax", "Gcd", "Lcm", "Mode", "Dot", "Mm", "Mv", "Bmm")},
    **{p: p.lower() for p in ("Remainder", "Relu", "Matmul", "Einsum")},
    "FloorDivide": "floor_divide",
    "ScatterAdd": "scatter_add",
    "IndexAdd": "index_add",
    "IndexPut": "index_put",
    "BitwiseNot": "bitwise_not",
    "BitwiseLeftShift": "bitwise_left_shift",
    "BitwiseRightShift": "bitwise_right_shift",
    **{f"Logical{w}": f"logical_{w.lower()}" for w in ("Not", "And", "Or", "Xor")},
}


# ... and these take them, but mix them only as PyTorch promotes (their forwards see the
# operands unpromoted): primitive -> the position of the first operand that is promoted
UNSIGNED_PROMOTES = {"Eq": 0, "Ne": 0, "Where": 1, "Cat": 0}


_WIDE_NP = frozenset(np.dtype(t) for t in ("uint16", "uint32", "uint64"))


def _wide(a: Any) -> bool:
    return getattr(a, "dtype", None) in _WIDE_NP


def _refusing_unsigned(fn: Any, op: str) -> Any:
    def run(*arrays: Any, **params: Any) -> Any:
        for a in arrays:
            if getattr(a, "dtype", None) in _WIDE_NP:  # (inlined: once armed, every add pays it)
                raise _refusal(
                    NotImplementedError,
                    f"{op}(): not implemented for {_dt.from_numpy(a.dtype).name} tensors (PyTorch supports "
                    f"uint16, uint32 and uint64 in few ops); convert first, e.g. x.long() (got "
                    f"{' and '.join(_dt.describe(b) for b in arrays if isinstance(b, np.ndarray))})",
                )
        return fn(*arrays, **params)

    return functools.update_wrapper(run, fn)  # (the op table reads fn's parameter names)


# ... of which these see their operands unpromoted and run in the common dtype: a wide unsigned
# operand is refused only when that is one too (uint16 < float32 compares as float32)
_BY_COMMON = frozenset(("Lt", "Le", "Gt", "Ge", "LogicalAnd", "LogicalOr", "LogicalXor"))


def _refusing_common_unsigned(fn: Any, op: str) -> Any:
    refuse = _refusing_unsigned(fn, op)

    def run(*arrays: Any, **params: Any) -> Any:
        if any(_wide(a) for a in arrays) and _dt.is_wide_unsigned(_dt.result_type(*arrays)):
            return refuse(*arrays, **params)  # (result_type raises PyTorch's promotion error first)
        return fn(*arrays, **params)

    return functools.update_wrapper(run, fn)


def _promoting_unsigned(fn: Any, first: int) -> Any:
    def run(*arrays: Any, **params: Any) -> Any:
        operands = arrays[first:]
        if any(_wide(a) for a in operands):
            _dt.result_type(*operands)  # (raises PyTorch's RuntimeError for uint16 with int32, ...)
        return fn(*arrays, **params)

    return functools.update_wrapper(run, fn)


def limit_unsigned() -> None:
    """uint16/32/64 have just been used (``dtypes`` calls this once): the primitives in
    ``UNSIGNED_GAPS`` get a forward that refuses them (those in ``UNSIGNED_PROMOTES`` one that
    refuses mixing them as PyTorch's promotion does), so no op pays for the check before."""
    from .ops._core import PRIMITIVES

    wrappers = {
        name: (_refusing_common_unsigned if name in _BY_COMMON else _refusing_unsigned, op)
        for name, op in UNSIGNED_GAPS.items()
    }
    wrappers.update({name: (_promoting_unsigned, first) for name, first in UNSIGNED_PROMOTES.items()})
    for name, (wrapper, arg) in wrappers.items():
        prim = PRIMITIVES[name]
        run = wrapper(prim.forward, arg)
        if prim.forward in _dt._OPMATH:  # (bfloat16's wrapper, when it comes, wraps this one)
            _dt._OPMATH.discard(prim.forward)
            _dt._OPMATH.add(run)
        prim.forward = run
