"""The dtype grid: every dtype pair (tensors, 0-d tensors, Python numbers) through every binary
and unary elementwise op, and ours must do what PyTorch 2.13 does: the same refusal (exception
class and the facts of its message) or the same result dtype, shape and values.  The count of
combinations that changed behaviour when this grid was introduced is in the history of issue 14.
"""

from __future__ import annotations

import collections
import itertools
import re
from typing import Any

import numpy as np
import pytest
from reference import DTYPE_NAMES, torch

import chainrule as cr

# ------------------------------------------------------------ dtype promotion and refusals
DTYPES = DTYPE_NAMES
KINDS = [
    ("dim", "dim"),
    ("dim", "0-d"),
    ("0-d", "dim"),
    ("0-d", "0-d"),
    ("dim", "scalar"),
    ("0-d", "scalar"),
    ("scalar", "dim"),
]
# op name as chainrule's messages say it -> the call (operators where PyTorch code uses them)
BINARY = {
    "add": lambda T, a, b: a + b,
    "sub": lambda T, a, b: a - b,
    "mul": lambda T, a, b: a * b,
    "div": lambda T, a, b: a / b,
    "pow": lambda T, a, b: a**b,
    "floor_divide": lambda T, a, b: a // b,
    "remainder": lambda T, a, b: a % b,
    "maximum": lambda T, a, b: T.maximum(a, b),
    "minimum": lambda T, a, b: T.minimum(a, b),
    "lt": lambda T, a, b: a < b,
    "le": lambda T, a, b: a <= b,
    "gt": lambda T, a, b: a > b,
    "ge": lambda T, a, b: a >= b,
    "eq": lambda T, a, b: a == b,
    "ne": lambda T, a, b: a != b,
    "where": lambda T, a, b: T.where(T.tensor([True, False]), a, b),
    "bitwise_and": lambda T, a, b: a & b,
    "bitwise_or": lambda T, a, b: a | b,
    "bitwise_xor": lambda T, a, b: a ^ b,
}
UNARY = {
    name: (lambda n: lambda T, a: getattr(T, n)(a))(name)
    for name in [
        "abs",
        "sign",
        "exp",
        "expm1",
        "log",
        "log1p",
        "log2",
        "log10",
        "sqrt",
        "rsqrt",
        "reciprocal",
        "sin",
        "cos",
        "tan",
        "sinh",
        "cosh",
        "tanh",
        "asin",
        "acos",
        "atan",
        "erf",
        "floor",
        "ceil",
        "round",
        "trunc",
        "frac",
        "sigmoid",
        "relu",
        "logical_not",
        "bitwise_not",
        "isnan",
        "isinf",
        "isfinite",
        "square",
        "exp2",
        "neg",
    ]
}
UNARY["-x"] = lambda T, a: -a
UNARY["invert"] = lambda T, a: ~a
# functions whose PyTorch kernels lack some dtypes (chainrule/_kernel_dtypes.py), by the name
# their messages use
BINARY.update(
    {
        name: (lambda n: lambda T, a, b: _fn(T, n)(a, b))(name)
        for name in [
            "atan2",
            "hypot",
            "logaddexp",
            "logaddexp2",
            "copysign",
            "xlogy",
            "special.xlog1py",
            "special.zeta",
            "fmod",
            "isclose",
            "logical_and",
            "logical_or",
            "logical_xor",
        ]
    }
)
BINARY["lerp"] = lambda T, a, b: T.lerp(a, b, 0.5)
UNARY.update(
    {
        name: (lambda n: lambda T, a: _fn(T, n)(a))(name)
        for name in [
            "erfc",
            "erfinv",
            "lgamma",
            "digamma",
            "logit",
            "i0",
            "special.i0e",
            "special.i1",
            "special.i1e",
            "special.entr",
            "special.ndtr",
            "special.ndtri",
            "special.log_ndtr",
            "special.erfcx",
            "median",
            "nanmedian",
            "argmax",
            "argmin",
            "nansum",
            "cumprod",
            "all",
            "any",
            "unique",
            "histc",
            "trace_",
        ]
    }
)
UNARY.update(
    {
        name: (lambda n: lambda T, a: getattr(T.nn.functional, n)(a))(name)
        for name in [
            "gelu",
            "leaky_relu",
            "elu",
            "celu",
            "selu",
            "silu",
            "mish",
            "softplus",
            "hardsigmoid",
            "hardswish",
            "logsigmoid",
            "hardtanh",
            "relu6",
        ]
    }
)
UNARY.update(
    {
        "softmax": lambda T, a: T.softmax(a, 0),
        "log_softmax": lambda T, a: T.log_softmax(a, 0),
        "logcumsumexp": lambda T, a: T.logcumsumexp(a, 0),
        "polygamma": lambda T, a: T.polygamma(1, a),
        "mvlgamma": lambda T, a: T.mvlgamma(a, 1),
        "topk": lambda T, a: T.topk(a.reshape(-1), 1)[0],
        "cumprod": lambda T, a: T.cumprod(a, 0),
        "trace": lambda T, a: T.trace(a.reshape(1, -1)[:, :1]),
    }
)
del UNARY["trace_"]
# (op, operand dtype [and kind]) where chainrule deliberately differs, each with why: checked to
# differ still (strict), so a change on either side shows up
GRID_GAPS = {
    **{
        ("logaddexp", d): "PyTorch's logaddexp takes complex inputs; ours is real only (NumPy's ufunc)"
        for d in ("complex64", "complex128")
    },
    **{
        ("logcumsumexp", d): "PyTorch's logcumsumexp takes complex inputs; ours is real only"
        for d in ("complex64", "complex128")
    },
    ("log_softmax", "bfloat16"): "PyTorch subtracts log(sum(exp)) in float32 and rounds once; ours rounds "
    "that sum to bfloat16 first, which near 0 (x = max) is off by several steps",
    ("histc", "uint8 0-d"): "PyTorch fails to convert a uint8 0-d tensor's range (an overflow in its own "
    "bounds); ours refuses uint8 as it does for every integer dtype",
}


def _gap_or_same(op: str, f: Any, where: str, operands: list, ours_args: tuple, ref_args: tuple) -> str:
    """``_same_as_torch``, except where a GRID_GAPS entry covers an operand: there a difference
    from PyTorch is 'gap' (and each entry must show one somewhere in its grid: see _gaps_seen)."""
    gaps = [(op, o) for o in operands if (op, o) in GRID_GAPS]
    if not gaps:
        return _same_as_torch(op, f, where, ours_args, ref_args)
    try:
        return _same_as_torch(op, f, where, ours_args, ref_args)
    except (AssertionError, TypeError, NotImplementedError, RuntimeError):
        _GAPS_SEEN.update(gaps)
        return "gap"


_GAPS_SEEN: set = set()


def _gaps_seen(op: str) -> None:
    """Every GRID_GAPS entry of ``op`` still differs from PyTorch somewhere (strict)."""
    missing = [k for k in GRID_GAPS if k[0] == op and k not in _GAPS_SEEN]
    assert not missing, f"these documented differences no longer differ: {missing}"


def _fn(T: Any, name: str) -> Any:
    for part in name.split("."):
        T = getattr(T, part)
    return T


MIRRORED = {"lt": "gt", "le": "ge", "gt": "lt", "ge": "le"}
SCALARS = {"bool": True, "int64": 3, "float64": 2.5, "complex128": 1.5 - 2j}
VALUES = ([1, 2], [2, 1]), ([0, 3], [3, 0])  # the second has zero divisors
TORCH_NAME = {
    "Bool": "bool",
    "Byte": "uint8",
    "Char": "int8",
    "Short": "int16",
    "Int": "int32",
    "Long": "int64",
    "Half": "float16",
    "BFloat16": "bfloat16",
    "Float": "float32",
    "Double": "float64",
    "ComplexFloat": "complex64",
    "ComplexDouble": "complex128",
}
# PyTorch's refusal (by its message) -> the facts our message must state besides the op name
REFUSALS = [
    (r"with two bool tensors", lambda m: ["two bool tensors", "`^` or `logical_xor()`"]),
    (
        r"^(\w+) is not supported for complex (inputs|types)$",
        lambda m: [f"{m[1]} is not supported for complex {m[2]}", "x.real"],
    ),
    (
        r"^(\w+) not implemented for complex tensors",
        lambda m: [f"{m[1]} not implemented for complex tensors", "abs()"],
    ),
    (
        r"torch.sign is not intended to support complex",
        lambda m: ["not intended to support complex", "sgn()"],
    ),
    (r"with a bool tensor", lambda m: ["a bool tensor", "`~` or `logical_not()`"]),
    (r"Negation, the `-` operator, on a bool", lambda m: ["on a bool tensor", "`~` or `logical_not()`"]),
    (r"^ZeroDivisionError$", lambda m: ["ZeroDivisionError", "divide as floats"]),
    (
        r"not implemented for '(\w+)'",
        lambda m: [f"not implemented for {TORCH_NAME[m[1]]} tensors", "convert"],
    ),
    (r"must be Tensor, not (\w+)", lambda m: [f"must be Tensor, not {m[1]}", "tensor("]),
    (r"Boolean inputs not supported for relu", lambda m: ["Boolean inputs not supported", "convert"]),
    (
        r"received an invalid combination of arguments - got \((\w+), Tensor(?:, float)?\)|"
        r"received an invalid combination of arguments - got \(Tensor, (\w+), float\)",
        lambda m: [f"must be Tensor, not {m[1] or m[2]}", "tensor("],
    ),
    (
        r"^(\w+) did not match (\w+)$",
        lambda m: [f"{TORCH_NAME[m[1]]} did not match {TORCH_NAME[m[2]]}", "convert"],
    ),
    (r"expected dtype .* for `end`", lambda m: ["expected dtype", "for `end`", "convert"]),
    (
        r"does not support (bool|complex) (input|dtypes)",
        lambda m: [f"does not support {m[1]} {m[2]}", "convert"],
    ),
    (
        r"Bool inputs not supported for hardtanh",
        lambda m: ["Bool inputs not supported for hardtanh", "convert"],
    ),
    (r"may not be a boolean tensor", lambda m: ["may not be a boolean tensor", "convert"]),
    (r"does not support complex inputs", lambda m: ["does not support complex inputs", "sum the parts"]),
    (r"unsigned type with negative limits", lambda m: ["unsigned type with negative limits", "convert"]),
    (
        r"only implemented on integer and Boolean",
        lambda m: ["only implemented on integer and Boolean", "convert"],
    ),
]


def _values(t: Any) -> np.ndarray:
    """A result's values as complex128 (bfloat16 through float32: NumPy cannot convert PyTorch's)."""
    if t.dtype in (torch.bfloat16, cr.bfloat16):
        t = t.float()
    return np.asarray(t.resolve_conj().numpy() if isinstance(t, torch.Tensor) else t.numpy(), complex)


def _operand(T: Any, dtype: str, kind: str, vals: list) -> Any:
    if kind == "scalar":
        return SCALARS[dtype]
    v = [True, False] if dtype == "bool" else vals
    if dtype.startswith("complex"):  # non-zero imaginary parts; the zero divisors stay zero
        v = [complex(x, x - 1.5) if x else 0j for x in vals]
    return T.tensor(v[0] if kind == "0-d" else v, dtype=getattr(T, dtype))


def _facts(ref_exc: Exception) -> list[str]:
    text = str(ref_exc)
    for pattern, facts in REFUSALS:
        m = re.search(pattern, text)
        if m:
            return facts(m)
    raise AssertionError(f"no expectation for PyTorch's refusal {type(ref_exc).__name__}: {text}")


def _same_as_torch(op: str, f: Any, where: str, ours_args: tuple, ref_args: tuple) -> str:
    """'accept' or 'refuse', after checking ours does exactly what PyTorch does ('complex32' for
    the documented difference of _complex_half)."""
    try:
        ref = f(torch, *ref_args)
    except Exception as exc:  # noqa: BLE001 - a refusal: ours must refuse the same way
        if "'ComplexHalf'" in str(exc):
            return _complex_half(op, f, where, ours_args, ref_args)
        with pytest.raises(type(exc)) as info:
            f(cr, *ours_args)
        msg = str(info.value)
        assert type(info.value) is type(exc), (where, info.value, exc)
        name = "neg" if op == "-x" else op
        if not isinstance(ours_args[0], cr.Tensor):  # `2 < x` runs as `x > 2`: PyTorch names gt
            name = MIRRORED.get(name, name)
        assert msg.startswith(f"{name}(): "), (where, msg)
        for fact in _facts(exc) + [a.dtype.name for a in ours_args if isinstance(a, cr.Tensor)]:
            assert fact in msg, (where, fact, msg)
        return "refuse"
    if ref.dtype == torch.complex32:
        return _complex_half(op, f, where, ours_args, ref_args)
    ours = f(cr, *ours_args)
    assert str(ours.dtype).split(".")[-1] == str(ref.dtype).split(".")[-1], where
    assert tuple(ours.shape) == tuple(ref.shape), where
    for part in ("real", "imag"):  # apart: a NaN in either makes a whole complex number NaN
        np.testing.assert_allclose(
            getattr(_values(ours), part),
            getattr(_values(ref), part),
            rtol=2**-6 if ref.dtype == torch.bfloat16 else 1e-3,  # (2 bfloat16 steps:
            # PyTorch rounds once from float32 where composed ops round each step)
            equal_nan=True,
            err_msg=f"{where} ({part} parts)",
        )
    return "accept"


def _complex_half(op: str, f: Any, where: str, ours_args: tuple, ref_args: tuple) -> str:
    """A float16 tensor with a complex 0-d tensor or Python complex: PyTorch computes in complex32
    (ComplexHalf, whose CPU kernels it lacks for div and pow: those it refuses); chainrule has no
    complex32 and computes in complex64, so it must do what PyTorch does with the float16 tensor
    made float32 (the grid's float16 values are exact in both)."""
    assert any(isinstance(a, torch.Tensor) and a.dtype == torch.float16 for a in ref_args), where
    up = [a.float() if isinstance(a, torch.Tensor) and a.dtype == torch.float16 else a for a in ref_args]
    _same_as_torch(op, f, where, ours_args, tuple(up))
    return "complex32"


@pytest.mark.parametrize("op", sorted(BINARY))
def test_binary_dtype_grid_matches_torch(op: str) -> None:
    """Every dtype pair, with tensors, 0-d tensors and Python scalars on either side (the 0-d
    and scalar ones are 'weak', as in PyTorch): the same refusal (class and facts of the
    message) or the same dtype, shape and values."""
    seen = collections.Counter()
    for (va, vb), (da, db), (ka, kb) in itertools.product(VALUES, itertools.product(DTYPES, DTYPES), KINDS):
        if (ka == "scalar" and da not in SCALARS) or (kb == "scalar" and db not in SCALARS):
            continue
        where = f"{op}({da} {ka}, {db} {kb}) on {va}, {vb}"
        seen[
            _gap_or_same(
                op,
                BINARY[op],
                where,
                [da, db],
                (_operand(cr, da, ka, va), _operand(cr, db, kb, vb)),
                (_operand(torch, da, ka, va), _operand(torch, db, kb, vb)),
            )
        ] += 1
    assert seen["accept"] > 20, seen  # (the grid is not all refusals)
    _gaps_seen(op)


@pytest.mark.parametrize("op", sorted(UNARY))
def test_unary_dtype_grid_matches_torch(op: str) -> None:
    for dtype, kind, vals in itertools.product(DTYPES, ("dim", "0-d"), ([1, 2], [0, 3])):
        _gap_or_same(
            op,
            UNARY[op],
            f"{op}({dtype} {kind}) on {vals}",
            [dtype, f"{dtype} {kind}"],
            (_operand(cr, dtype, kind, vals),),
            (_operand(torch, dtype, kind, vals),),
        )
    _gaps_seen(op)


@pytest.mark.parametrize(
    "call,cls,facts",
    [
        (lambda T: T.tensor([True, False]) - T.tensor([1, 2]), RuntimeError, "`~` or `logical_not()`"),
        (lambda T: T.tensor([True]) - T.tensor([False]), RuntimeError, "`^` or `logical_xor()`"),
        (lambda T: 1 - T.tensor([True]), RuntimeError, "`~` or `logical_not()`"),
        (lambda T: T.tensor([4, 5]) // T.tensor([1, 0]), RuntimeError, "ZeroDivisionError"),
        (lambda T: T.tensor([4, 5]) % False, RuntimeError, "ZeroDivisionError"),
        (lambda T: T.tensor([4, 5], dtype=T.uint8) // T.tensor(False), RuntimeError, "ZeroDivisionError"),
    ],
    ids=["bool-int", "bool-bool", "number-bool", "int//0", "int%False", "uint8//False"],
)
def test_refusals_named_in_the_issue(call, cls, facts) -> None:
    """The cases that used to give silent wrong answers (``bool - uint8`` was ``[0, 254]``)."""
    with pytest.raises(cls, match=re.escape(facts)):
        call(torch)
    with pytest.raises(cls, match=re.escape(facts)):
        call(cr)
    # the float versions stay accepted: x / 0 is inf, a float mask difference is fine
    assert (cr.tensor([4.0]) // 0).isinf().all() and (cr.tensor([1.0]) - 1.0).item() == 0
