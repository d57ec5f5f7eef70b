"""The dtypes PyTorch's CPU kernels lack, op by op, refused here as PyTorch refuses them.

NumPy computes almost any function for any dtype (an integer tensor through ``softmax``
would just be cast to float), while each PyTorch kernel is compiled for a fixed set of
dtypes and refuses the rest: ``NotImplementedError: "softmax_lastdim_kernel_impl" not
implemented for 'Long'``.  Code written against chainrule must run on PyTorch too, so the
same inputs are refused here, with the op, the dtype and the fix in the message.

``GAPS`` maps an op (as its messages name it) to the kinds it refuses: ``b`` bool, ``i``
integers (signed or not), ``h`` float16 and bfloat16, ``c`` complex.  ``OWN_WORDS`` holds the
refusals PyTorch words itself (class and text).  Ops call ``check`` on their input before they compute.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from . import dtypes as _dt

__all__ = ["GAPS", "check", "check_binary"]

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
    **dict.fromkeys(("median", "nanmedian", "trace"), "b"),
    "histc": _FLOAT_ONLY,
    "mvlgamma": "bc",
    "hardtanh": "bc",
    "relu6": "bc",
    "argmax": "bc",
    "argmin": "bc",
    "topk": "bc",
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
    "h": "convert first, e.g. x.float()",
    "c": "convert first, e.g. x.real or x.abs()",
}


_F32, _F64 = np.dtype(np.float32), np.dtype(np.float64)


def _code(npd: np.dtype) -> str:
    k = _dt.kind(npd)
    if k in "iu":
        return "i"
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
    if code not in GAPS[op]:
        return x
    name = _dt.from_numpy(npd).name if _dt.known(npd) else str(npd)
    got = f" (got {_dt.describe(np.asarray(data))})"
    if (op, code) in OWN_WORDS:
        cls, text = OWN_WORDS[op, code]
        exc = cls(f"{op}(): {text}{got}")
    else:
        exc = NotImplementedError(f"{op}(): not implemented for {name} tensors; {_FIX[code]}{got}")
    exc._chainrule = True  # type: ignore[attr-defined]  (ops pass it on unchanged)
    raise exc


def check_binary(op: str, x: Any, y: Any) -> None:
    """Raise what PyTorch raises for ``op(x, y)``: a number where it takes only tensors, or a
    result dtype its kernel lacks."""
    for a, arg, pos in ((x, "input", 1), (y, "other", 2))[: TENSOR_ARGS.get(op, 0)]:
        if not isinstance(getattr(a, "_data", a), (np.ndarray, np.generic)):  # (arrays: from ops)
            got = " and ".join(_dt.describe(getattr(v, "_data", v)) for v in (x, y))
            exc = TypeError(
                f"{op}(): argument '{arg}' (position {pos}) must be Tensor, not "
                f"{type(a).__name__}; wrap the number, e.g. torch.tensor({a!r}) (got {got})"
            )
            exc._chainrule = True  # type: ignore[attr-defined]
            raise exc
    xd, yd = getattr(x, "_data", x), getattr(y, "_data", y)
    if (
        op in SAME_DTYPE
        and isinstance(xd, np.ndarray)
        and isinstance(yd, np.ndarray)
        and xd.dtype != yd.dtype
    ):
        a, b = (_dt.from_numpy(d).name if _dt.known(d) else str(d) for d in (xd.dtype, yd.dtype))
        exc = RuntimeError(
            f"{op}(): {SAME_DTYPE[op].format(a=a, b=b)}; convert one first, e.g. "
            f"y.to(x.dtype) (got {_dt.describe(xd)} and {_dt.describe(yd)})"
        )
        exc._chainrule = True  # type: ignore[attr-defined]
        raise exc
    if op in GAPS:
        npd = _dt.result_type(xd, yd)
        code = _code(npd)
        if op == "fmod" and code == "i" and np.any(np.asarray(yd) == 0):
            exc = RuntimeError(
                f"fmod(): ZeroDivisionError: integer division by zero; mask the zero divisors "
                f"first or divide as floats (x.float()) (got {_dt.describe(xd)} and "
                f"{_dt.describe(yd)})"
            )
            exc._chainrule = True  # type: ignore[attr-defined]
            raise exc
        if code in GAPS[op]:
            name = _dt.from_numpy(npd).name if _dt.known(npd) else str(npd)
            got = " and ".join(_dt.describe(a) for a in (xd, yd))
            exc = NotImplementedError(
                f"{op}(): not implemented for {name} tensors (the result dtype); {_FIX[code]} (got {got})"
            )
            exc._chainrule = True  # type: ignore[attr-defined]
            raise exc
