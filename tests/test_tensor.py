"""The Tensor object: creation, dtypes and promotion, printing, conversions (against PyTorch)."""

from __future__ import annotations

import inspect
import math

import numpy as np
import pytest
from reference import HAVE_TORCH, REQUIRE_TORCH, torch

import chainrule as cr

needs_torch = pytest.mark.skipif(not HAVE_TORCH and not REQUIRE_TORCH, reason="PyTorch not installed")


def _same_repr(make) -> None:
    ours = repr(make(cr))
    ref = repr(make(torch)).replace("torch.", "chainrule.")
    assert ours == ref, f"\nchainrule: {ours}\ntorch:     {ref}"


REPRS = [
    lambda T: T.arange(4.0),
    lambda T: T.arange(4.0) * 4,
    lambda T: T.tensor([0.1, 2.5, -3.25]),
    lambda T: T.tensor([[1, 2], [3, 40]]),
    lambda T: T.tensor([True, False]),
    lambda T: T.tensor(3.5),
    lambda T: T.tensor([1e-5, 1.0]),
    lambda T: T.tensor([1e10, 1.0]),
    lambda T: T.tensor([1.0, 2.0], dtype=T.float64, requires_grad=True),
    lambda T: T.tensor([1, 2], dtype=T.int32),
    lambda T: T.tensor([float("nan"), 1.0, -float("inf")]),
    lambda T: T.zeros(2, 3, 4),
    lambda T: T.arange(2000.0),
    lambda T: T.arange(3000).reshape(30, 100),
    lambda T: T.linspace(-1, 1, 30).reshape(3, 10) ** 3,
    lambda T: T.tensor([]),
    lambda T: T.zeros(0, 3),
    lambda T: T.ones(2, requires_grad=True) * 2,
    lambda T: T.tensor([123456.789, 0.5]),
    lambda T: T.arange(12.0).reshape(3, 4).T,
    lambda T: T.ones(3, 2, dtype=T.float16),
    lambda T: T.tensor([[0.0, -0.0, 1.5]]),
    lambda T: T.eye(3, dtype=T.uint8),
]


@needs_torch
@pytest.mark.parametrize("make", REPRS)
def test_repr_matches_torch(make) -> None:
    _same_repr(make)


def test_size_and_shape_behaviour() -> None:
    x = cr.zeros(2, 3, 4)
    assert isinstance(x.shape, tuple) and x.shape == (2, 3, 4)
    assert repr(x.shape) == "chainrule.Size([2, 3, 4])"
    assert (1, 1) + x.shape == (1, 1, 2, 3, 4)
    assert isinstance(x.shape[1:], cr.Size) and x.shape[1:] == (3, 4)
    h, w = x.shape[1:]
    assert (h, w) == (3, 4) and x.size(1) == 3 and x.size() == (2, 3, 4)
    assert x.numel() == 24 and x.ndim == 3 and x.dim() == 3 and len(x) == 2


@needs_torch
@pytest.mark.parametrize(
    "make",
    [
        lambda T: T.tensor(1.5),
        lambda T: T.tensor(2),
        lambda T: T.tensor([True]),
        lambda T: T.tensor(np.zeros(2, dtype=np.float64)),
        lambda T: T.tensor(np.zeros(2, dtype=np.uint8)),
        lambda T: T.tensor([1, 2.5]),
        lambda T: T.arange(5),
        lambda T: T.arange(0, 1, 0.25),
        lambda T: T.linspace(0, 1, 5),
        lambda T: T.full((2,), 3),
        lambda T: T.full((2,), 3.0),
        lambda T: T.zeros(2, dtype=T.int32),
        lambda T: T.randn(2, 3),
        lambda T: T.randint(0, 5, (3,)),
        lambda T: T.ones_like(T.tensor([1, 2])),
        lambda T: T.FloatTensor([1, 2]),
        lambda T: T.eye(2),
        lambda T: T.eye(2, 3, dtype=T.int64),
        lambda T: T.arange(5, -3, -2.5),
        lambda T: T.arange(1, 2, 0.1, dtype=T.float64),
        lambda T: T.linspace(-1, 1, 1),
        lambda T: T.linspace(2, -3, 7, dtype=T.float64),
        lambda T: T.logspace(0, 2, 5),
        lambda T: T.logspace(-1, 1, 3, base=2),
        lambda T: T.full((2, 2), True),
        lambda T: T.full_like(T.zeros(3, dtype=T.float64), -1.25),
        lambda T: T.zeros_like(T.ones(2, 2), dtype=T.int64),
        lambda T: T.ones(2, 3, dtype=T.bool),
        lambda T: T.tensor([[1, 2], [3, 4]], dtype=T.float16),
        lambda T: T.rand(4, 5),
    ],
)
def test_creation_dtypes_shapes_and_values_match_torch(make) -> None:
    """Shape, dtype and values as PyTorch's (random ones: their range and spread)."""
    a, b = make(cr), make(torch)
    assert tuple(a.shape) == tuple(b.shape)
    assert str(a.dtype).split(".")[-1] == str(b.dtype).split(".")[-1]
    src = inspect.getsource(make)
    if "randn" in src:
        assert np.isfinite(a.numpy()).all() and a.numpy().std() > 0
    elif "randint" in src:
        assert ((a.numpy() >= 0) & (a.numpy() < 5)).all()
    elif "rand(" in src:
        assert ((a.numpy() >= 0) & (a.numpy() < 1)).all() and a.numpy().std() > 0
    else:
        np.testing.assert_allclose(a.numpy().astype(float), b.numpy().astype(float), rtol=1e-6,
                                   atol=1e-7)


DTYPES = ["bool", "uint8", "int32", "int64", "float16", "float32", "float64"]


@needs_torch
@pytest.mark.parametrize("da", DTYPES)
@pytest.mark.parametrize("db", DTYPES)
@pytest.mark.parametrize("kind", ["tensor-tensor", "tensor-0d", "0d-tensor"])
def test_promotion_matches_torch(da: str, db: str, kind: str) -> None:
    def make(T, name: str, zero_d: bool):
        d = getattr(T, name)
        return T.ones((), dtype=d) if zero_d else T.ones(3, dtype=d)

    za, zb = kind == "0d-tensor", kind == "tensor-0d"
    ours = make(cr, da, za) * make(cr, db, zb)
    ref = make(torch, da, za) * make(torch, db, zb)
    assert str(ours.dtype).split(".")[-1] == str(ref.dtype).split(".")[-1]


@needs_torch
@pytest.mark.parametrize("d", DTYPES)
@pytest.mark.parametrize("scalar", [2, 2.5, True])
@pytest.mark.parametrize("op", ["add", "mul", "div"])
def test_scalar_promotion_matches_torch(d: str, scalar, op: str) -> None:
    ours = getattr(cr, op)(cr.ones(3, dtype=getattr(cr, d)), scalar)
    ref = getattr(torch, op)(torch.ones(3, dtype=getattr(torch, d)), scalar)
    assert str(ours.dtype).split(".")[-1] == str(ref.dtype).split(".")[-1]


def test_conversions() -> None:
    x = cr.tensor([[1.5, 2.0]])
    assert x.tolist() == [[1.5, 2.0]] and x.sum().item() == 3.5
    assert float(cr.tensor(2.5)) == 2.5 and int(cr.tensor(3.7)) == 3 and bool(cr.tensor([1.0]))
    assert f"{cr.tensor(3.14159):.2f}" == "3.14"
    assert np.asarray(x).shape == (1, 2)
    a = x.numpy()
    a[0, 0] = 9
    assert x[0, 0].item() == 9  # numpy() shares memory
    assert x.long().dtype == cr.int64 and x.double().dtype == cr.float64 and x.int().dtype == cr.int32
    assert x.bool().dtype == cr.bool and x.half().dtype == cr.float16 and x.float().dtype == cr.float32
    assert x.to(cr.float64).dtype == cr.float64 and x.to("cpu") is x and x.type(cr.int64).dtype == cr.int64
    assert x.cpu() is x and x.device == cr.device("cpu") and str(x.device) == "cpu"
    assert not cr.cuda.is_available() and cr.cuda.device_count() == 0
    assert [t.tolist() for t in cr.tensor([[1, 2], [3, 4]])] == [[1, 2], [3, 4]]
    with pytest.raises(RuntimeError, match="one element"):
        cr.ones(2).item()
    with pytest.raises(RuntimeError, match="ambiguous"):
        bool(cr.ones(2))
    with pytest.raises(RuntimeError, match="not available"):
        cr.ones(2).to("cuda")


def test_from_numpy_shares_memory() -> None:
    a = np.arange(3.0)
    t = cr.from_numpy(a)
    a[0] = 7
    assert t[0].item() == 7 and t.dtype == cr.float64
    t[1] = 5
    assert a[1] == 5


def test_manual_seed_reproduces_random_numbers() -> None:
    cr.manual_seed(42)
    a = (cr.rand(3), cr.randn(2, 2), cr.randint(0, 10, (4,)), cr.normal(0.0, 1.0, size=(2,)))
    cr.manual_seed(42)
    b = (cr.rand(3), cr.randn(2, 2), cr.randint(0, 10, (4,)), cr.normal(0.0, 1.0, size=(2,)))
    assert all(cr.equal(x, y) for x, y in zip(a, b))
    g = cr.Generator().manual_seed(1)
    assert cr.equal(cr.rand(2, generator=g), cr.rand(2, generator=cr.Generator().manual_seed(1)))
    assert cr.randn(size=()).shape == () and cr.randn((2, 3)).shape == (2, 3)


def test_random_distributions_look_right() -> None:
    cr.manual_seed(0)
    x = cr.randn(200_000)
    assert abs(x.mean().item()) < 0.01 and abs(x.std().item() - 1) < 0.01
    u = cr.rand(200_000)
    assert 0 <= u.min().item() and u.max().item() < 1 and abs(u.mean().item() - 0.5) < 0.01
    n = cr.normal(cr.full((100_000,), 3.0), 2.0)
    assert abs(n.mean().item() - 3) < 0.05 and abs(n.std().item() - 2) < 0.05
    r = cr.randint(0, 5, (100_000,))
    assert r.min().item() == 0 and r.max().item() == 4


def test_requires_grad_keyword_on_creation_functions() -> None:
    for t in (cr.zeros(2, requires_grad=True), cr.ones(2, requires_grad=True),
              cr.randn(2, requires_grad=True), cr.tensor([1.0], requires_grad=True),
              cr.arange(3.0, requires_grad=True), cr.full((2,), 1.0, requires_grad=True)):
        assert t.requires_grad and t.is_leaf


def test_bool_and_comparison_results() -> None:
    x = cr.tensor([1.0, 2.0, 3.0])
    assert (x == 2).tolist() == [False, True, False] and (x > 1).dtype == cr.bool
    assert (x > 1).sum().item() == 2 and (x > 1).sum().dtype == cr.int64
    assert math.isclose((x / 2).sum().item(), 3.0)
    assert (cr.tensor([3]) / cr.tensor([2])).dtype == cr.float32  # int / int -> float
    assert cr.max(x, cr.tensor([2.0, 2.0, 2.0])).tolist() == [2.0, 2.0, 3.0]
