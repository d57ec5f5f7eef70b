"""uint16, uint32, uint64 (PyTorch's "limited support" dtypes) and hash_tensor, against PyTorch 2.13.

PyTorch promotes these dtypes only with themselves and the floats, and most of its CPU kernels
lack them: chainrule must give the same results where PyTorch gives one and refuse with the
same exception class where PyTorch refuses.
"""

from __future__ import annotations

import pickle

import numpy as np
import pytest
from reference import DTYPE_NAMES, need_torch

import chainrule as cr

UNSIGNED = ["uint16", "uint32", "uint64"]
OTHERS = list(DTYPE_NAMES)
ALL = OTHERS + UNSIGNED


def _run(T, fn):
    """fn(T) -> ('ok', dtype name, values) or ('err', exception class)."""
    try:
        out = fn(T)
    except (RuntimeError, NotImplementedError, TypeError, IndexError, ValueError, OverflowError) as exc:
        return ("err", type(exc).__name__, str(exc))
    if isinstance(out, tuple):
        out = out[0]
    if isinstance(out, T.dtype):
        return ("ok", "dtype", str(out).split(".")[-1])
    if not hasattr(out, "dtype"):
        return ("ok", type(out).__name__, str(out).split(".")[-1])
    vals = out.double() if out.dtype.is_floating_point else out
    return ("ok", str(out.dtype).split(".")[-1], np.asarray(vals.tolist()))


def _same(fn):
    torch = need_torch()
    want, got = _run(torch, fn), _run(cr, fn)
    assert want[:2] == got[:2], f"PyTorch: {want}, chainrule: {got}"
    if want[0] == "ok" and isinstance(want[2], np.ndarray):
        np.testing.assert_allclose(got[2], want[2], rtol=1e-6)  # (exp: PyTorch's float32 differs in ulps)
    return want, got


# ------------------------------------------------------------------ the dtypes themselves
@pytest.mark.parametrize("name", UNSIGNED)
def test_dtype_attributes_and_iinfo(name):
    torch = need_torch()
    d, td = getattr(cr, name), getattr(torch, name)
    assert (d.itemsize, d.is_signed, d.is_floating_point, d.is_complex) == (
        td.itemsize,
        td.is_signed,
        td.is_floating_point,
        td.is_complex,
    )
    assert repr(d) == f"chainrule.{name}" and str(td) == f"torch.{name}"
    ii, tii = cr.iinfo(d), torch.iinfo(td)
    assert (ii.min, ii.max, ii.bits) == (tii.min, tii.max, tii.bits)
    assert repr(ii) == repr(tii)
    assert pickle.loads(pickle.dumps(d)) is d
    assert d == np.dtype(name) and hash(d) == hash(np.dtype(name))


@pytest.mark.parametrize("name", UNSIGNED)
def test_creation_and_repr(name):
    torch = need_torch()
    big = int(np.iinfo(name).max)
    cases = [
        lambda T: T.tensor([1, 2], dtype=getattr(T, name)),
        lambda T: T.tensor([big // 2 + 1, big], dtype=getattr(T, name)),  # (uint64: both above int64's max)
        lambda T: T.tensor(7, dtype=getattr(T, name)),
        lambda T: T.zeros(2, 3, dtype=getattr(T, name)),
        lambda T: T.ones(2, dtype=getattr(T, name)),
        lambda T: T.full((2,), 3, dtype=getattr(T, name)),
        lambda T: T.tensor([3, 70000, 5]).to(getattr(T, name)),
        lambda T: T.tensor([1.7, 2.2]).to(getattr(T, name)),
        lambda T: T.from_numpy(np.array([4, 5], dtype=name)),
        lambda T: T.tensor(np.array([4, 5], dtype=name)),
    ]
    for fn in cases:
        want, got = _same(fn)
        assert repr(fn(cr)).replace("chainrule.", "") == repr(fn(torch)).replace("torch.", "")
    t = cr.tensor([big // 2 + 1, big], dtype=getattr(cr, name))
    assert t.tolist() == [big // 2 + 1, big] and t[1].item() == big and type(t[1].item()) is int
    assert t.type() == f"chainrule.{torch.tensor([1], dtype=getattr(torch, name)).type().split('.')[1]}"
    assert t.element_size() == np.dtype(name).itemsize and not t.is_signed()
    with pytest.raises(RuntimeError):
        cr.tensor([1], dtype=getattr(cr, name), requires_grad=True)
    with pytest.raises(RuntimeError):
        torch.tensor([1], dtype=getattr(torch, name), requires_grad=True)


def test_printing_large_and_summarised():
    torch = need_torch()
    x = np.arange(2000, dtype=np.uint64) * np.uint64(2**53 + 7) + np.uint64(2**63)
    for data, name in ((x, "uint64"), ([[1, 65535], [3, 4]], "uint16"), ([], "uint32")):
        ours = repr(cr.tensor(data, dtype=getattr(cr, name)))
        assert ours.replace("chainrule.", "") == repr(torch.tensor(data, dtype=getattr(torch, name))).replace(
            "torch.", ""
        )


# ------------------------------------------------------------------ promotion
@pytest.mark.parametrize("a", UNSIGNED)
@pytest.mark.parametrize("b", ALL)
def test_promote_types_and_can_cast(a, b):
    torch = need_torch()
    for x, y in ((a, b), (b, a)):
        try:
            want = str(torch.promote_types(getattr(torch, x), getattr(torch, y))).split(".")[-1]
        except RuntimeError:
            with pytest.raises(RuntimeError, match="Promotion for uint16, uint32, uint64"):
                cr.promote_types(getattr(cr, x), getattr(cr, y))
        else:
            assert cr.promote_types(getattr(cr, x), getattr(cr, y)) == getattr(cr, want)
        assert cr.can_cast(getattr(cr, x), getattr(cr, y)) == torch.can_cast(
            getattr(torch, x), getattr(torch, y)
        )


def _make(T, name, zero_d):
    return T.ones((), dtype=getattr(T, name)) if zero_d else T.ones(2, dtype=getattr(T, name))


@pytest.mark.parametrize("a", UNSIGNED)
@pytest.mark.parametrize("b", ALL)
@pytest.mark.parametrize("op", ["mul", "eq", "add", "lt", "ge", "logical_and", "logical_xor"])
def test_binary_over_the_dtype_grid(a, b, op):
    """Every pairing, each side a tensor with dimensions or 0-d: the same result dtype and
    values, or the same refusal (promotion RuntimeError, missing kernel NotImplementedError)."""
    for za, zb in ((False, False), (False, True), (True, False)):
        for x, y, zx, zy in ((a, b, za, zb), (b, a, zb, za)):
            _same(lambda T: getattr(T, op)(_make(T, x, zx), _make(T, y, zy)))  # noqa: B023


@pytest.mark.parametrize("a", UNSIGNED)
@pytest.mark.parametrize("scalar", [1, True, 2.5, 1j, -1, 2**40])
def test_python_numbers(a, scalar):
    # (an int outside the dtype's range wraps in PyTorch's mul; chainrule refuses it for every
    # integer dtype, uint8 too: a gap of its own, not checked here)
    for op in (
        ("mul", "add", "eq", "result_type") if scalar not in (-1, 2**40) else ("add", "eq", "result_type")
    ):
        _same(lambda T: getattr(T, op)(T.tensor([3, 5], dtype=getattr(T, a)), scalar))  # noqa: B023


# ------------------------------------------------------------------ which ops take them
def _idx(T):
    return T.tensor([1, 0])


OPS = {
    "add": lambda T, a, b: a + b,
    "sub": lambda T, a, b: a - b,
    "mul": lambda T, a, b: a * b,
    "mul_scalar": lambda T, a, b: a * 3,
    "div": lambda T, a, b: a / b,
    "floor_divide": lambda T, a, b: a // b,
    "remainder": lambda T, a, b: a % b,
    "pow": lambda T, a, b: a**b,
    "eq": lambda T, a, b: a == b,
    "ne": lambda T, a, b: a != b,
    "lt": lambda T, a, b: a < b,
    "ge": lambda T, a, b: a >= b,
    "and": lambda T, a, b: a & b,
    "or": lambda T, a, b: a | b,
    "xor": lambda T, a, b: a ^ b,
    "xor_scalar": lambda T, a, b: a ^ 1,
    "invert": lambda T, a, b: ~a,
    "lshift": lambda T, a, b: a << b,
    "rshift": lambda T, a, b: a >> 1,
    "sum": lambda T, a, b: a.sum(),
    "sum_dim": lambda T, a, b: a.sum(0),
    "prod": lambda T, a, b: a.prod(),
    "cumsum": lambda T, a, b: a.cumsum(0),
    "mean": lambda T, a, b: a.mean(),
    "max": lambda T, a, b: a.max(),
    "max_dim": lambda T, a, b: a.max(0),
    "amin": lambda T, a, b: a.amin(),
    "argmax": lambda T, a, b: a.argmax(),
    "maximum": lambda T, a, b: T.maximum(a, b),
    "clamp": lambda T, a, b: a.clamp(0, 4),
    "sort": lambda T, a, b: a.sort(),
    "sort_indices": lambda T, a, b: a.sort()[1],
    "argsort": lambda T, a, b: a.argsort(),
    "unique": lambda T, a, b: T.unique(a),
    "topk": lambda T, a, b: a.topk(1),
    "median": lambda T, a, b: a.median(),
    "nanmedian": lambda T, a, b: a.nanmedian(0),
    "kthvalue": lambda T, a, b: a.kthvalue(1),
    "mode": lambda T, a, b: a.mode(),
    "cummin": lambda T, a, b: a.cummin(0),
    "msort": lambda T, a, b: a.msort(),
    "trace": lambda T, a, b: T.outer(a, b).trace(),
    "nansum": lambda T, a, b: a.nansum(),
    "cat": lambda T, a, b: T.cat([a, b]),
    "cat_mixed": lambda T, a, b: T.cat([a, b.long()]),
    "stack": lambda T, a, b: T.stack([a, b]),
    "index": lambda T, a, b: a[_idx(T)],
    "index_bool": lambda T, a, b: a[T.tensor([True, False, True])],
    "slice": lambda T, a, b: a[1:],
    "setitem": lambda T, a, b: a.clone().__setitem__(0, 9) or a,
    "clone": lambda T, a, b: a.clone(),
    "abs": lambda T, a, b: a.abs(),
    "neg": lambda T, a, b: -a,
    "sign": lambda T, a, b: a.sign(),
    "floor": lambda T, a, b: a.floor(),
    "exp": lambda T, a, b: a.exp(),
    "sqrt": lambda T, a, b: a.sqrt(),
    "flip": lambda T, a, b: a.flip(0),
    "reshape": lambda T, a, b: a.reshape(1, -1).t(),
    "repeat": lambda T, a, b: a.repeat(2),
    "where": lambda T, a, b: T.where(T.tensor([True, False, True]), a, b),
    "nonzero": lambda T, a, b: a.nonzero(),
    "any": lambda T, a, b: a.any(),
    "to_float": lambda T, a, b: a.float(),
    "to_long": lambda T, a, b: a.long(),
    "matmul": lambda T, a, b: a @ b,
    "logical_not": lambda T, a, b: a.logical_not(),
    "relu": lambda T, a, b: a.relu(),
    "isnan": lambda T, a, b: a.isnan(),
    "zeros_like": lambda T, a, b: T.zeros_like(a),
}


@pytest.mark.parametrize("name", UNSIGNED)
@pytest.mark.parametrize("op", sorted(OPS))
def test_ops_take_or_refuse_as_pytorch(name, op):
    def fn(T):
        a = T.tensor([3, 5, 2], dtype=getattr(T, name))
        b = T.tensor([1, 2, 1], dtype=getattr(T, name))
        return OPS[op](T, a, b)

    _same(fn)


def test_refusal_names_the_op_and_the_dtype():
    a = cr.tensor([1, 2], dtype=cr.uint32)
    with pytest.raises(NotImplementedError, match=r"add\(\): not implemented for uint32 .*x\.long\(\)"):
        a + a
    with pytest.raises(RuntimeError, match=r"attempted to promote uint32 and int32"):
        a * cr.tensor([1, 2], dtype=cr.int32)


# ------------------------------------------------------------------ hash_tensor
HASH_DTYPES = [
    "float32",
    "float64",
    "float16",
    "bfloat16",
    "int8",
    "int16",
    "int32",
    "int64",
    "uint8",
    "bool",
]


@pytest.mark.parametrize("name", HASH_DTYPES)
def test_hash_tensor_matches_pytorch(name):
    torch = need_torch()
    rng = np.random.default_rng(0)
    if name in ("int8", "int16", "int32", "int64", "uint8"):  # (in range: no float-to-int cast)
        info = np.iinfo(name)
        x = rng.integers(info.min, info.max, (3, 4, 2), dtype=name, endpoint=True)
    else:
        x = rng.standard_normal((3, 4, 2)) * 100
        x[0, 0, 0], x[1, 1, 1] = -0.0, np.inf
    for kw in (
        {},
        {"dim": 1},
        {"dim": -1, "keepdim": True},
        {"dim": (0, 2)},
        {"dim": ()},
        {"keepdim": True},
        {"dim": [0, 1, 2]},
    ):
        want = torch.hash_tensor(torch.tensor(x).to(getattr(torch, name)), **kw)
        got = cr.hash_tensor(cr.tensor(x).to(getattr(cr, name)), **kw)
        assert got.dtype == cr.uint64 and tuple(got.shape) == tuple(want.shape)
        assert got.tolist() == want.tolist(), kw
    t = cr.tensor(x).to(getattr(cr, name))
    assert t.hash_tensor(1).tolist() == cr.hash_tensor(t, 1).tolist()


def test_hash_tensor_edges_and_refusals():
    torch = need_torch()
    cases = [
        lambda T: T.hash_tensor(T.zeros(0)),
        lambda T: T.hash_tensor(T.zeros(0, 3), 0),
        lambda T: T.hash_tensor(T.zeros(3, 0), 0),
        lambda T: T.hash_tensor(T.tensor(2.5)),
        lambda T: T.hash_tensor(T.ones(2, 3), 2),
        lambda T: T.hash_tensor(T.ones(2, 3), (0, 0)),
        lambda T: T.hash_tensor(T.ones(2, 3), mode=1),
        lambda T: T.hash_tensor(T.ones(2, 3), mode=0.0),
        lambda T: T.hash_tensor(T.ones(2) + 1j),
        lambda T: T.hash_tensor(T.ones(2, dtype=T.uint32)),
        lambda T: T.hash_tensor([1.0, 2.0]),
        lambda T: T.hash_tensor(T.tensor([[1.0, 2.0], [3.0, 4.0]]).t(), 0),
    ]
    for fn in cases:
        _same(fn)
    x = cr.ones(2, 3, requires_grad=True)
    assert not cr.hash_tensor(x).requires_grad
    assert not torch.hash_tensor(torch.ones(2, 3, requires_grad=True)).requires_grad


# ------------------------------------------------------------------ files
@pytest.mark.parametrize("name", UNSIGNED)
def test_save_load_and_safetensors_keep_the_dtype(name, tmp_path):
    torch = need_torch()
    big = int(np.iinfo(name).max)
    t = cr.tensor([big // 2 + 1, big], dtype=getattr(cr, name))
    cr.save({"t": t}, tmp_path / "a.pt")
    back = cr.load(tmp_path / "a.pt")["t"]
    assert back.dtype == t.dtype and back.tolist() == t.tolist()
    pytest.importorskip("safetensors")  # (the 'io' extra)
    from safetensors.torch import load_file

    from chainrule import safetensors as st

    st.save_file({"t": t}, str(tmp_path / "a.safetensors"))
    theirs = load_file(str(tmp_path / "a.safetensors"))["t"]
    assert theirs.dtype == getattr(torch, name) and theirs.tolist() == t.tolist()
    back = st.load_file(str(tmp_path / "a.safetensors"))["t"]
    assert back.dtype == t.dtype and back.tolist() == t.tolist()


INT_DATA = [
    ([0, 2**64 - 1], "uint64"),  # NumPy would read this list as float64 and round it
    ([[1, 2**63 + 5]], "uint64"),
    (2**64 - 1, "uint64"),
    ([2**64], "uint64"),
    ([-1], "uint64"),
    ([300], "uint8"),
    ([-255, 255], "uint8"),
    ([-256], "uint8"),
    ([2**40], "int32"),
    ([-129], "int8"),
    ([65535], "uint16"),
    ([65536], "uint16"),
    ([-(2**32 - 1)], "uint32"),
    ([2**63], "int64"),
    ([1, 2**63], None),
    ([2**70], None),
    ([1e20, 2], None),
    ([1.5, -2.5], "int64"),
    ([0] * 70 + [2**64 - 1], "uint64"),  # (over 64 values: the span is taken by NumPy)
    ([0] * 70 + [2**40], "int32"),
    ([-1] * 70 + [2**64 - 1], None),
    (0.5, None),
]


@pytest.mark.parametrize("data,dtype", INT_DATA, ids=[f"{d}-{t}" for d, t in INT_DATA])
def test_python_ints_are_read_exactly_or_refused(data, dtype) -> None:
    """tensor() of Python ints: exact values where they fit the dtype (PyTorch's range, which for
    unsigned dtypes also takes -max..-1), PyTorch's exception class where they do not."""
    want, got = _same(lambda T: T.tensor(data, dtype=None if dtype is None else getattr(T, dtype)))
    if want[0] == "ok":
        assert got[2].tolist() == want[2].tolist()  # exactly, not to a float tolerance
