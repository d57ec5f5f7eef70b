"""bfloat16 (through ml_dtypes) against PyTorch 2.13's torch.bfloat16.

What is bit for bit and what is within one bfloat16 rounding, and why:

* casts, creation, tensor-with-tensor arithmetic, one-ufunc unary ops (exp, log, tanh, sqrt,
  sin, ...), sigmoid, softmax, sum and mean: bit for bit.  Both compute in float32 and round
  once; casts into bfloat16 round through float32 as PyTorch's ``static_cast`` does.
* a Python number times or divided into a bfloat16 tensor, and composed ops (silu, rsqrt,
  x ** 3, log_softmax, var, std): one rounding; log2 and log10 (log, then a division): two.
  PyTorch keeps the number in float32 ("opmath") where NumPy rounds it to bfloat16 first, and
  composed ops round each step where PyTorch's kernels round once; the last bit differs for
  some elements (chainrule's float16 does the same).
  "One rounding" is one bfloat16 step: 2**-7 relative at worst.
* matmul and Linear: one rounding; both sum in float32, in different orders.
* gradients of a small model: a few roundings (each op of the backward rounds once).
"""

from __future__ import annotations

import pickle
import subprocess
import sys

import numpy as np
import pytest
from reference import DTYPE_NAMES, REQUIRE_TORCH, need_torch

import chainrule as cr

torch = need_torch()
try:  # the `test` extra installs it, as `bfloat16` does; CI never skips (like the reference)
    import ml_dtypes
except ImportError:  # pragma: no cover
    if REQUIRE_TORCH:
        raise
    pytest.skip('ml_dtypes not installed (extra "bfloat16")', allow_module_level=True)
BF = np.dtype(ml_dtypes.bfloat16)
ULP = 2.0**-7  # one bfloat16 step, relative, at worst (just above a power of two: 7 stored bits)

NAMES = DTYPE_NAMES


# ------------------------------------------------------------------ conversions
def to_torch(a: object) -> object:
    """A chainrule tensor (or array) as a torch tensor with the same bits."""
    arr = np.array(a.detach().numpy() if isinstance(a, cr.Tensor) else a, order="C")  # (0-d stays 0-d)
    if arr.dtype == BF:
        return torch.from_numpy(arr.view(np.int16)).view(torch.bfloat16)
    return torch.from_numpy(arr)


def to_numpy(t: object) -> np.ndarray:
    """A torch tensor's values as NumPy (bfloat16 as ml_dtypes' bfloat16, bits unchanged)."""
    t = t.detach()
    if t.dtype == torch.bfloat16:
        return t.view(torch.int16).numpy().view(BF)
    return t.numpy()


def bits_equal(a: object, ref: object) -> bool:
    """Same dtype and the same values (NaNs equal), bit for bit."""
    x, y = to_numpy(to_torch(a)), to_numpy(ref)
    return x.dtype == y.dtype and x.shape == y.shape and bool(np.array_equal(x, y, equal_nan=True))


def close(a: object, ref: object, rtol: float, atol: float = 0.0) -> None:
    x, y = to_numpy(to_torch(a)), to_numpy(ref)
    assert x.dtype == y.dtype, (x.dtype, y.dtype)
    assert x.shape == y.shape
    wide = np.complex128 if x.dtype.kind == "c" else np.float64
    np.testing.assert_allclose(x.astype(wide), y.astype(wide), rtol=rtol, atol=atol, equal_nan=True)


def bf16_values(n: int, seed: int = 0, low: float = -4.0, high: float = 4.0) -> np.ndarray:
    return np.random.default_rng(seed).uniform(low, high, n).astype(np.float32).astype(BF)


# ------------------------------------------------------------------ the dtype object
def test_the_dtype_object() -> None:
    d = cr.bfloat16
    assert repr(d) == "chainrule.bfloat16" and d.name == "bfloat16"
    assert d.is_floating_point and d.is_signed and not d.is_complex and d.itemsize == 2
    assert d == cr.bfloat16 and d != cr.float16 and d != cr.float32 and cr.float32 != d
    assert d == BF and d == "bfloat16" and hash(d) == hash(BF)
    assert d.to_real() is d and d.to_complex() is cr.complex64
    assert pickle.loads(pickle.dumps(d)) is d
    x = cr.tensor([1.5, -2.0])
    for y in (
        x.bfloat16(),
        x.to(cr.bfloat16),
        x.to(dtype=cr.bfloat16),
        x.type(cr.bfloat16),
        x.type("chainrule.BFloat16Tensor"),
    ):
        assert y.dtype == cr.bfloat16 and y.dtype is cr.bfloat16
        assert y.is_floating_point() and cr.is_floating_point(y)
        assert y.element_size() == 2
    assert x.bfloat16().type() == "chainrule.BFloat16Tensor"
    assert cr.tensor(np.zeros(2, BF)).dtype is cr.bfloat16  # an ml_dtypes array keeps its dtype


@pytest.mark.parametrize("name", ["bfloat16", "float16", "float32", "float64", "complex64", "complex128"])
def test_finfo_as_pytorchs(name: str) -> None:
    ours, ref = cr.finfo(getattr(cr, name)), torch.finfo(getattr(torch, name))
    for field in ("bits", "eps", "max", "min", "tiny", "smallest_normal", "resolution", "dtype"):
        assert getattr(ours, field) == getattr(ref, field), field
    assert repr(ours) == repr(ref)


def test_finfo_refuses_integers_and_defaults_to_the_default_dtype() -> None:
    with pytest.raises(TypeError, match="not a floating point dtype"):
        cr.finfo(cr.int64)
    assert cr.finfo().dtype == "float32"


def test_default_dtype_bfloat16_as_pytorch() -> None:
    try:
        cr.set_default_dtype(cr.bfloat16)
        torch.set_default_dtype(torch.bfloat16)
        pairs = [
            (cr.tensor([1.5, 2.3]), torch.tensor([1.5, 2.3])),
            (cr.arange(3.0), torch.arange(3.0)),
            (cr.ones(2, dtype=cr.int64) * 2.5, torch.ones(2, dtype=torch.int64) * 2.5),
            (cr.zeros(2), torch.zeros(2)),
            (cr.tensor([1, 2]) / 3, torch.tensor([1, 2]) / 3),
        ]
        for ours, ref in pairs:
            assert bits_equal(ours, ref)
        assert repr(cr.tensor([1.5, 2.0])) == "tensor([1.5000, 2.0000])"  # the default: no dtype=
        assert cr.get_default_dtype() is cr.bfloat16
    finally:
        cr.set_default_dtype(cr.float32)
        torch.set_default_dtype(torch.float32)


# ------------------------------------------------------------------ creation and casts
# values where rounding through float32 matters (float64 1 + 2**-8 + 2**-30: 1.0 in PyTorch,
# 1.0078125 if rounded directly), ties, overflow past bfloat16's max, subnormals, inf, NaN
EDGE = [
    0.0,
    -0.0,
    1.0,
    1 + 2**-8,
    1 + 2**-8 + 2**-30,
    1 + 3 * 2**-8,
    3.3e38,
    3.3895314e38,
    3.4e38,
    1e39,
    -1e39,
    1e-39,
    1e-41,
    9.2e-41,
    65504.0,
    0.1,
    1 / 3,
    float("inf"),
    float("-inf"),
    float("nan"),
]


def test_creation_as_pytorch() -> None:
    vals = EDGE + list(np.random.default_rng(1).normal(0, 100, 50))
    assert bits_equal(cr.tensor(vals, dtype=cr.bfloat16), torch.tensor(vals, dtype=torch.bfloat16))
    ints = [0, 1, 257, 2**24 + 2**16 + 1, 2**31 + 2**23 + 1, -(2**40) - 1]
    assert bits_equal(cr.tensor(ints, dtype=cr.bfloat16), torch.tensor(ints, dtype=torch.bfloat16))
    b = dict(dtype=cr.bfloat16)
    t = dict(dtype=torch.bfloat16)
    pairs = [
        (cr.zeros(2, 3, **b), torch.zeros(2, 3, **t)),
        (cr.ones(4, **b), torch.ones(4, **t)),
        (cr.full((3,), 1 + 2**-8 + 2**-30, **b), torch.full((3,), 1 + 2**-8 + 2**-30, **t)),
        (cr.full((2,), 0.1, **b), torch.full((2,), 0.1, **t)),
        (cr.arange(0, 3, 0.25, **b), torch.arange(0, 3, 0.25, **t)),
        (cr.arange(5, **b), torch.arange(5, **t)),
        (cr.linspace(-1, 1, 9, **b), torch.linspace(-1, 1, 9, **t)),
        (cr.eye(3, **b), torch.eye(3, **t)),
        (cr.zeros_like(cr.ones(2, **b)), torch.zeros_like(torch.ones(2, **t))),
        (cr.ones(2, **b).new_zeros(3), torch.ones(2, **t).new_zeros(3)),
        (cr.scalar_tensor(2.5, **b), torch.scalar_tensor(2.5, **t)),
    ]
    for ours, ref in pairs:
        assert bits_equal(ours, ref), (ours, ref)
    for make in (cr.empty, cr.rand, cr.randn):
        x = make(2, 3, **b)
        assert x.dtype is cr.bfloat16 and x.shape == (2, 3)
    x = cr.randn(3, **b, requires_grad=True)
    assert x.requires_grad and x.is_leaf


def _source(name: str, rng: np.random.Generator) -> np.ndarray:
    """Values of dtype `name` whose cast PyTorch defines (no out-of-range float -> int)."""
    if name == "bool":
        return np.array([True, False, True])
    if name == "uint8":
        return np.array([0, 1, 200, 255], np.uint8)
    if name.startswith("int"):
        info = np.iinfo(name)
        extra = [257, info.max, info.min, info.max // 3 + 1] if info.bits > 8 else [127, -128]
        return np.array([0, 1, -7, *extra], name)
    if name == "bfloat16":
        return np.array(EDGE, np.float32).astype(BF)
    if name.startswith("complex"):
        v = rng.normal(0, 10, 8) + 1j * rng.normal(0, 10, 8)
        return np.concatenate([v, [1 + 2**-8 + 2**-30 + 1j]]).astype(name)
    with np.errstate(over="ignore"):
        return np.concatenate([EDGE, rng.normal(0, 100, 40)]).astype(name)


@pytest.mark.parametrize("name", NAMES)
def test_casts_into_bfloat16_round_as_pytorch(name: str) -> None:
    src = _source(name, np.random.default_rng(2))
    ours, ref = cr.tensor(src), to_torch(src)
    with np.errstate(all="ignore"):
        assert bits_equal(ours.to(cr.bfloat16), ref.to(torch.bfloat16))
        assert bits_equal(ours.bfloat16(), ref.bfloat16())


@pytest.mark.parametrize("name", NAMES)
def test_casts_out_of_bfloat16_as_pytorch(name: str) -> None:
    vals = bf16_values(64, 3, -300, 300)
    if name in ("bool", "float16", "float32", "float64", "complex64", "complex128"):
        with np.errstate(over="ignore"):
            vals = np.concatenate([vals, np.array(EDGE, np.float32).astype(BF)])
    elif name == "uint8":
        vals = np.abs(vals)[np.abs(vals).astype(np.float32) < 256]
    elif name in ("int8", "int16"):
        lim = np.iinfo(name).max
        vals = vals[np.abs(vals.astype(np.float32)) < lim]
    x = cr.tensor(vals)
    with np.errstate(all="ignore"):
        assert bits_equal(x.to(getattr(cr, name)), to_torch(vals).to(getattr(torch, name)))


# ------------------------------------------------------------------ the promotion grid
def _operand(name: str, form: str, rng: np.random.Generator, positive: bool) -> tuple:
    """(chainrule operand, torch operand) of dtype `name` as a tensor, a 0-d tensor or a number."""
    if form == "number":
        v = {"bool": True, "int64": 3, "float64": 1.7, "complex128": 1.5 - 0.5j}[name]
        return v, v
    shape = (5,) if form == "tensor" else ()
    n = int(np.prod(shape))
    if name == "bool":
        a = np.array([True, False, True, True, False][:n]).reshape(shape)
    elif name.startswith(("int", "uint")):
        a = rng.integers(1, 6, n).astype(name).reshape(shape)
    elif name.startswith("complex"):
        a = (rng.uniform(0.5, 3, n) + 1j * rng.uniform(-1, 1, n)).astype(name).reshape(shape)
    else:
        a = (
            rng.uniform(0.5 if positive else -3, 3, n)
            .astype(np.float32)
            .astype(BF if name == "bfloat16" else name)
            .reshape(shape)
        )
    return cr.tensor(a), to_torch(a)


BINARY = {
    "add": lambda x, y: x + y,
    "sub": lambda x, y: x - y,
    "mul": lambda x, y: x * y,
    "div": lambda x, y: x / y,
    "pow": lambda x, y: x**y,
    "eq": lambda x, y: x == y,
    "lt": lambda x, y: x < y,
}
GRID = [
    (op, other, form, bf_first)
    for op in list(BINARY) + ["where"]
    for other in NAMES
    for form in ("tensor", "0-d", "number")
    for bf_first in (True, False)
    if form != "number" or other in ("bool", "int64", "float64", "complex128")
]
GRID = [g for g in GRID if not (g[0] == "lt" and g[1].startswith("complex"))]  # (no order: refused)
GRID_ULPS = {"float16": 2.0**-10, "bfloat16": ULP, "float32": 1e-6, "complex64": 1e-6}


@pytest.mark.parametrize(
    "op,other,form,bf_first",
    GRID,
    ids=[f"{o}-{n}-{f}-{'bf16 first' if b else 'bf16 second'}" for o, n, f, b in GRID],
)
def test_promotion_grid_as_pytorch(op: str, other: str, form: str, bf_first: bool) -> None:
    """bfloat16 tensors with every dtype as a tensor, a 0-d tensor and a Python number: PyTorch's
    result dtype, and its values (to one rounding of the result's dtype, see the module doc)."""
    rng = np.random.default_rng(len(op) * 31 + NAMES.index(other))
    bx, bt = _operand("bfloat16", "tensor", rng, positive=True)
    ox, ot = _operand(other, form, rng, positive=op == "pow")
    (x, y), (tx, ty) = ((bx, ox), (bt, ot)) if bf_first else ((ox, bx), (ot, bt))
    cond = np.array([True, False, False, True, False])
    fn = (
        (lambda T, a, b: T.where(T.tensor(cond), a, b))
        if op == "where"
        else (lambda T, a, b: BINARY[op](a, b))
    )
    try:
        ref = fn(torch, tx, ty)
    except RuntimeError as e:  # (bool - anything): refused alike
        with pytest.raises(RuntimeError, match=str(e)[:40]):
            fn(cr, x, y)
        return
    with np.errstate(divide="ignore", invalid="ignore"):  # (x / False is inf, as in PyTorch)
        ours = fn(cr, x, y)
    d = str(ref.dtype).split(".")[1]
    assert ours.dtype == getattr(cr, d), f"{ours.dtype} where PyTorch gives {ref.dtype}"
    close(ours, ref, rtol=GRID_ULPS.get(d, 1e-12))


@pytest.mark.parametrize("op", ["add", "sub", "mul", "div"])
def test_bfloat16_tensor_arithmetic_is_bit_for_bit(op: str) -> None:
    x, y = bf16_values(4096, 4), bf16_values(4096, 5, 0.1, 8.0)
    assert bits_equal(BINARY[op](cr.tensor(x), cr.tensor(y)), BINARY[op](to_torch(x), to_torch(y)))
    # a Python number added or subtracted is rounded to bfloat16 first by both
    assert bits_equal(
        BINARY[op](cr.tensor(x), 3) if op in ("mul", "div") else BINARY[op](cr.tensor(x), 0.1),
        BINARY[op](to_torch(x), 3) if op in ("mul", "div") else BINARY[op](to_torch(x), 0.1),
    )


# ------------------------------------------------------------------ unary ops and reductions
EXACT = {
    "exp": lambda T, x: T.exp(x),
    "log": lambda T, x: T.log(x.abs() + 0.01),
    "tanh": lambda T, x: T.tanh(x),
    "sigmoid": lambda T, x: T.sigmoid(x),
    "relu": lambda T, x: T.relu(x),
    "sqrt": lambda T, x: T.sqrt(x.abs()),
    "abs": lambda T, x: T.abs(x),
    "neg": lambda T, x: -x,
    "sin": lambda T, x: T.sin(x),
    "cos": lambda T, x: T.cos(x),
    "atan": lambda T, x: T.atan(x),
    "sinh": lambda T, x: T.sinh(x),
    "expm1": lambda T, x: T.expm1(x),
    "log1p": lambda T, x: T.log1p(x.abs()),
    "reciprocal": lambda T, x: T.reciprocal(x),
    "square": lambda T, x: T.square(x),
    "floor": lambda T, x: T.floor(x),
    "round": lambda T, x: T.round(x),
    "sign": lambda T, x: T.sign(x),
    "clamp": lambda T, x: T.clamp(x, -1, 0.5),
    "softplus": lambda T, x: T.nn.functional.softplus(x),
    "softmax": lambda T, x: T.softmax(x.reshape(32, 64), -1),
    "sum": lambda T, x: x.sum(),
    "sum(0)": lambda T, x: x.reshape(32, 64).sum(0),
    "sum(1)": lambda T, x: x.reshape(32, 64).sum(1, keepdim=True),
    "mean": lambda T, x: x.mean(),
    "mean(1)": lambda T, x: x.reshape(32, 64).mean(1),
    "amax": lambda T, x: x.amax(),
    "sort": lambda T, x: x.sort().values,
    "cumsum": lambda T, x: x.cumsum(0),
    "norm": lambda T, x: x.norm(),
}
ONE_ROUNDING = {
    "rsqrt": lambda T, x: T.rsqrt(x.abs() + 0.01),
    "silu": lambda T, x: T.nn.functional.silu(x),
    "log_softmax": lambda T, x: T.log_softmax(x.reshape(32, 64), -1),
    "logsumexp": lambda T, x: T.logsumexp(x.reshape(32, 64), 1),
    "pow3": lambda T, x: x**3,
    "x*0.1": lambda T, x: x * 0.1,
    "x/0.3": lambda T, x: x / 0.3,
    "2.7/x": lambda T, x: 2.7 / x,
    "std(1)": lambda T, x: x.reshape(32, 64).std(1),
    "var": lambda T, x: x.var(),
    # PyTorch's float32 gelu loses digits to 1 + erf(x) for x < -3 (ours is computed in float64)
    "gelu": lambda T, x: T.nn.functional.gelu(x.clamp(-3, 4)),
}


TWO_ROUNDINGS = {  # log(x), rounded, then divided by log(2) or log(10), rounded again
    "log2": lambda T, x: T.log2(x.abs() + 0.01),
    "log10": lambda T, x: T.log10(x.abs() + 0.01),
}


@pytest.mark.parametrize("name", list(EXACT) + list(ONE_ROUNDING) + list(TWO_ROUNDINGS))
def test_unary_ops_and_reductions_as_pytorch(name: str) -> None:
    x = bf16_values(2048, 6)
    fn = EXACT.get(name) or ONE_ROUNDING.get(name) or TWO_ROUNDINGS[name]
    ours, ref = fn(cr, cr.tensor(x)), fn(torch, to_torch(x))
    if name in EXACT:
        assert bits_equal(ours, ref)
    else:
        close(ours, ref, rtol=ULP if name in ONE_ROUNDING else 2 * ULP, atol=1e-30)


@pytest.mark.parametrize(
    "shape", [((5, 7), (7, 3)), ((64, 300), (300, 48)), ((2, 9, 33), (33, 4)), ((33,), (33,))]
)
def test_matmul_and_linear_as_pytorch(shape: tuple) -> None:
    """PyTorch sums bfloat16 products in float32 and rounds once, as ml_dtypes' matmul does; the
    order of the float32 sum differs, so the result may differ by one rounding."""
    a, b = bf16_values(int(np.prod(shape[0])), 7).reshape(shape[0]), bf16_values(int(np.prod(shape[1])), 8)
    b = b.reshape(shape[1])
    ours, ref = cr.tensor(a) @ cr.tensor(b), to_torch(a) @ to_torch(b)
    close(ours, ref, rtol=ULP, atol=1e-6)
    if len(shape[1]) == 2:
        w, bias = b.T.copy(), bf16_values(shape[1][1], 9)
        ours = cr.nn.functional.linear(cr.tensor(a), cr.tensor(w), cr.tensor(bias))
        close(ours, torch.nn.functional.linear(to_torch(a), to_torch(w), to_torch(bias)), rtol=ULP, atol=1e-6)


def test_a_small_model_trains_in_bfloat16_as_pytorch() -> None:
    """Forward, loss and every gradient of a 2-layer MLP in bfloat16 equal PyTorch's to a few
    bfloat16 roundings (each op of the backward rounds; the sums inside matmul are ordered
    differently), and a step of SGD keeps the parameters in bfloat16."""
    cr.manual_seed(0)
    ours = cr.nn.Sequential(cr.nn.Linear(12, 16), cr.nn.Tanh(), cr.nn.Linear(16, 3)).bfloat16()
    ref = torch.nn.Sequential(torch.nn.Linear(12, 16), torch.nn.Tanh(), torch.nn.Linear(16, 3)).bfloat16()
    with torch.no_grad():
        for p, q in zip(ours.parameters(), ref.parameters()):
            assert p.dtype is cr.bfloat16
            q.copy_(to_torch(p))
    x, target = bf16_values(8 * 12, 10).reshape(8, 12), np.random.default_rng(11).integers(0, 3, 8)
    out, tout = ours(cr.tensor(x)), ref(to_torch(x))
    close(out, tout, rtol=2 * ULP, atol=2 * ULP)
    loss = cr.nn.functional.cross_entropy(out, cr.tensor(target))
    tloss = torch.nn.functional.cross_entropy(tout, torch.from_numpy(target))
    assert loss.dtype is cr.bfloat16
    close(loss, tloss, rtol=2 * ULP)
    loss.backward()
    tloss.backward()
    for p, q in zip(ours.parameters(), ref.parameters()):
        assert p.grad.dtype is cr.bfloat16
        scale = float(np.abs(q.grad.float().numpy()).max())
        close(p.grad, q.grad, rtol=4 * ULP, atol=4 * ULP * scale)
    cr.optim.SGD(ours.parameters(), lr=0.5).step()
    assert all(p.dtype is cr.bfloat16 for p in ours.parameters())
    torch.optim.SGD(ref.parameters(), lr=0.5).step()  # the step's values too, not only the dtype
    for p, q in zip(ours.parameters(), ref.parameters()):
        close(p, q, rtol=4 * ULP, atol=4 * ULP * float(np.abs(q.detach().float().numpy()).max()))


def test_backward_of_bfloat16_ops_gives_bfloat16_gradients_as_pytorch() -> None:
    x = bf16_values(64, 12, 0.2, 3.0)
    xs = cr.tensor(x, requires_grad=True)
    xt = to_torch(x).requires_grad_()
    for T, v in ((cr, xs), (torch, xt)):
        (T.exp(v) * 2 + v.sqrt() * v - v / 3).sum().backward()
    assert xs.grad.dtype is cr.bfloat16
    close(xs.grad, xt.grad, rtol=3 * ULP)
    ys = cr.tensor(x, requires_grad=True)
    ys.float().pow(2).sum().backward()  # through a cast: the gradient comes back in bfloat16
    assert ys.grad.dtype is cr.bfloat16 and bits_equal(ys.grad, to_torch(2 * x.astype(np.float32)).bfloat16())


# ------------------------------------------------------------------ printing
@pytest.mark.parametrize(
    "values",
    [
        [1.5, 2.0],
        [1.5, 2.3, -0.7],
        [1e10, 1.0],
        [3.0],
        [float("nan"), 1.25],
        list(range(1500)),
        [[0.001, 2.5], [3.25, -4.0]],
        7.0,
    ],
)
def test_printing_as_pytorch(values: object) -> None:
    ours = repr(cr.tensor(values, dtype=cr.bfloat16))
    assert ours == repr(torch.tensor(values, dtype=torch.bfloat16)).replace("torch.", "chainrule.")


def test_printing_with_grad_as_pytorch() -> None:
    x = cr.tensor([1.5, 2.0], dtype=cr.bfloat16, requires_grad=True)
    assert repr(x) == "tensor([1.5000, 2.0000], dtype=chainrule.bfloat16, requires_grad=True)"
    assert repr(x * 2) == "tensor([3., 4.], dtype=chainrule.bfloat16, grad_fn=<MulBackward0>)"
    assert repr(torch.tensor([1.5, 2.0], dtype=torch.bfloat16, requires_grad=True) * 2) == (
        "tensor([3., 4.], dtype=torch.bfloat16, grad_fn=<MulBackward0>)"
    )
    tx = torch.tensor([1.5, 2.0], dtype=torch.bfloat16, requires_grad=True)
    for ours, ref in ((x, tx), (x * 2, tx * 2)):  # ours against PyTorch's, not only the literals
        assert repr(ours) == repr(ref).replace("torch.", "chainrule.")


# ------------------------------------------------------------------ nn.Module and saving
def test_module_bfloat16_and_to() -> None:
    m = cr.nn.Linear(3, 2)
    assert m.bfloat16() is m and m.weight.dtype is cr.bfloat16 and m.weight.requires_grad
    m.to(cr.float32)
    assert m.bias.dtype is cr.float32
    m.to(cr.bfloat16)
    assert m.bias.dtype is cr.bfloat16


def test_save_and_load_keep_bfloat16(tmp_path) -> None:
    x = cr.tensor(bf16_values(6, 13), requires_grad=True)
    cr.save({"x": x, "y": [x.detach() * 2]}, tmp_path / "a.npz")
    back = cr.load(tmp_path / "a.npz")
    assert back["x"].dtype is cr.bfloat16 and bits_equal(back["x"], to_torch(x))
    assert back["y"][0].dtype is cr.bfloat16


def test_save_refuses_other_void_arrays(tmp_path) -> None:
    """bfloat16 is NumPy's kind "V"; a raw or structured void array is not floating all the same."""
    for arr in (np.zeros(2, "V2"), np.zeros(2, [("a", np.float32)])):
        with pytest.raises(TypeError, match="only bool, integer, float and complex arrays"):
            cr.save({"x": arr}, tmp_path / "v.npz")


def test_torch_format_writer_gives_pytorch_bfloat16(tmp_path) -> None:
    x = cr.tensor(bf16_values(6, 14))
    cr.save({"x": x}, tmp_path / "a.pt")
    back = torch.load(tmp_path / "a.pt", weights_only=True)
    assert back["x"].dtype == torch.bfloat16 and bits_equal(x, back["x"])


def test_safetensors_writer_gives_bf16() -> None:
    st_torch = pytest.importorskip("safetensors.torch")  # (the `io` extra, installed in CI)
    import chainrule.safetensors  # noqa: F401  (a submodule chainrule does not import)

    x = cr.tensor(bf16_values(6, 15))
    back = st_torch.load(cr.safetensors.save({"x": x}))
    assert back["x"].dtype == torch.bfloat16 and bits_equal(x, back["x"])
    assert bits_equal(cr.safetensors.load(st_torch.save({"x": back["x"]}))["x"], back["x"].float())  # widened


# ------------------------------------------------------------------ without ml_dtypes
def test_importing_chainrule_does_not_import_ml_dtypes() -> None:
    code = (
        "import sys, chainrule; b = chainrule.bfloat16; print(repr(b), chainrule.float32 == b, "
        "chainrule.finfo(b).eps, 'ml_dtypes' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["chainrule.bfloat16", "False", "0.0078125", "False"]


def test_a_clear_error_without_ml_dtypes(monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "ml_dtypes", None)  # `import ml_dtypes` now raises ImportError
    monkeypatch.setattr(cr.bfloat16, "_np", None)  # as if never loaded
    assert cr.bfloat16 != cr.float32 and repr(cr.bfloat16) == "chainrule.bfloat16"
    for make in (
        lambda: cr.zeros(2, dtype=cr.bfloat16),
        lambda: cr.tensor([1.0]).bfloat16(),
        lambda: cr.tensor([1.0], dtype=cr.bfloat16),
    ):
        with pytest.raises(ImportError, match=r'pip install "chainrule\[bfloat16\]"'):
            make()
