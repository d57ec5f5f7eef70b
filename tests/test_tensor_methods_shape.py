"""Tensor methods against PyTorch 2.13: ``tril``/``triu`` (and in place), the dims of shape methods
as varargs or one sequence, and ``view``'s refusal when the strides cannot express the new shape."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from reference import need_torch, torch

import chainrule as cr
from chainrule.autograd import gradcheck

need_torch()


def _pair(arr: np.ndarray, grad: bool = False) -> tuple:
    return cr.tensor(arr, requires_grad=grad), torch.tensor(arr, requires_grad=grad)


# ------------------------------------------------------------------ tril / triu
@pytest.mark.parametrize("name", ["tril", "triu"])
@pytest.mark.parametrize("shape", [(3, 3), (2, 4), (5, 2), (2, 3, 4)])
@pytest.mark.parametrize("k", [-2, -1, 0, 1, 3])
def test_tril_triu_methods_values_and_gradients(name: str, shape: tuple, k: int) -> None:
    rng = np.random.default_rng(abs(hash((name, shape, k))) % 2**32)
    arr = rng.standard_normal(shape)
    (x, xt), w = _pair(arr, True), rng.standard_normal(shape)
    out, ref = getattr(x, name)(k), getattr(xt, name)(k)
    np.testing.assert_array_equal(out.detach().numpy(), ref.detach().numpy())
    assert np.array_equal(getattr(x, name)(diagonal=k).detach().numpy(), ref.detach().numpy())
    (out * cr.tensor(w)).sum().backward()
    (ref * torch.tensor(w)).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), xt.grad.numpy())
    assert gradcheck(lambda v: getattr(v, name)(k), (cr.tensor(arr, requires_grad=True),))


def test_tril_triu_zero_outside_even_inf_and_nan_and_keep_dtype() -> None:
    arr = np.array([[1.0, np.inf, np.nan], [-np.inf, 3.0, 4.0]])
    for name in ("tril", "triu"):
        x, xt = _pair(arr)
        np.testing.assert_array_equal(getattr(x, name)().numpy(), getattr(xt, name)().numpy())
    for dtype in ("int64", "bool", "float32"):
        a = np.arange(1, 7).reshape(2, 3).astype(dtype)
        x, xt = _pair(a)
        assert str(x.triu(1).dtype) == str(xt.triu(1).dtype).replace("torch", "chainrule")
        np.testing.assert_array_equal(x.tril(-1).numpy(), xt.tril(-1).numpy())


@pytest.mark.parametrize("name", ["tril_", "triu_"])
def test_in_place_tril_triu_on_a_non_leaf(name: str) -> None:
    """Same object, version bumped, the gradient through the write (and the earlier use) right;
    a value saved for backward and then written is refused at backward, in both libraries."""
    rng = np.random.default_rng(1)
    arr, w = rng.standard_normal((3, 4)), rng.standard_normal((3, 4))
    results = []
    for lib in (cr, torch):
        x = lib.tensor(arr, requires_grad=True)
        y = x * 2
        first = y.exp().sum()  # reads y before the write (exp saves its output, not y)
        v0 = y._version
        r = getattr(y, name)(1)
        assert r is y and y._version == v0 + 1
        loss = (y * lib.tensor(w)).sum() + first
        loss.backward()
        results.append((y.detach().numpy(), x.grad.numpy(), type(y.grad_fn).__name__))
    (yo, go, _), (yr, gr, _) = results
    np.testing.assert_array_equal(yo, yr)
    np.testing.assert_allclose(go, gr, rtol=1e-12)
    for lib in (cr, torch):
        x = lib.tensor(arr, requires_grad=True)
        y = x * 2
        loss = (y * y).sum()  # saves y
        getattr(y, name)()
        with pytest.raises(RuntimeError, match="modified by an inplace operation|modified by an in-place"):
            loss.backward()


def test_in_place_tril_refusals_and_views() -> None:
    """A leaf that requires grad is refused (as PyTorch); a write through a view reaches the base."""
    x = cr.ones(3, 3, requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf"):
        x.tril_()
    with pytest.raises(RuntimeError):
        torch.ones(3, 3, requires_grad=True).tril_()
    for lib in (cr, torch):
        base = lib.ones(2, 3, 3)
        base[1].triu_(1)
        assert base.numpy()[1].tolist() == [[0, 1, 1], [0, 0, 1], [0, 0, 0]]
        assert base.numpy()[0].sum() == 9
    with cr.no_grad():
        w = cr.ones(3, 3, requires_grad=True)
        w.tril_(-1)
    np.testing.assert_array_equal(w.detach().numpy(), np.tri(3, 3, -1))


# ------------------------------------------------------------------ dims as varargs or one sequence
CALLS = [
    ("flip", (-2, -1)),
    ("flip", ((0, 1),)),
    ("flip", ([0, 2],)),
    ("flip", (0,)),
    ("flip", ((),)),
    ("permute", (2, 0, 1)),
    ("permute", ((2, 0, 1),)),
    ("permute", ([1, 2, 0],)),
    ("repeat", (2, 1, 1)),
    ("repeat", ((1, 2, 1, 1),)),
    ("repeat", ([2, 1, 2],)),
    ("view", (4, 6)),
    ("view", ((4, 6),)),
    ("view", ([-1],)),
    ("view", (-1, 2)),
    ("reshape", (4, 6)),
    ("reshape", ((6, 4),)),
    ("reshape", ([24],)),
    ("expand", (3, 2, 3, 4)),
    ("expand", ((3, 2, 3, 4),)),
    ("expand", ([2, -1, 4],)),
    ("tile", (2,)),
    ("tile", (2, 1)),
    ("tile", ((2, 1),)),
    ("tile", ([1, 2, 1, 1],)),
    ("roll", (1, 0)),
    ("roll", ((1, 2), (0, 2))),
    ("roll", (1,)),
    ("roll", ([1, -1], [1, 2])),
]


@pytest.mark.parametrize("name,args", CALLS, ids=[f"{n}{a}" for n, a in CALLS])
def test_shape_methods_take_varargs_and_sequences(name: str, args: tuple) -> None:
    arr = np.arange(24.0).reshape(2, 3, 4)
    x, xt = _pair(arr, True)
    out, ref = getattr(x, name)(*args), getattr(xt, name)(*args)
    assert tuple(out.shape) == tuple(ref.shape)
    np.testing.assert_array_equal(out.detach().numpy(), ref.detach().numpy())
    out.sum().backward()
    ref.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), xt.grad.numpy())


def test_flip_and_tile_keywords_and_refusals() -> None:
    arr = np.arange(6.0).reshape(2, 3)
    x, xt = _pair(arr)
    np.testing.assert_array_equal(x.flip(dims=(0,)).numpy(), xt.flip(dims=(0,)).numpy())
    np.testing.assert_array_equal(x.tile(dims=(2,)).numpy(), xt.tile(dims=(2,)).numpy())
    np.testing.assert_array_equal(x.flip(cr.Size([1])).numpy(), xt.flip(torch.Size([1])).numpy())
    for call in (lambda t: t.flip(), lambda t: t.tile()):
        with pytest.raises(TypeError):
            call(xt)
        with pytest.raises(TypeError, match=r"missing the"):
            call(x)
    with pytest.raises(RuntimeError):
        xt.flip(0, 0)
    with pytest.raises(RuntimeError, match="flip"):
        x.flip(0, 0)


# ------------------------------------------------------------------ view and strides
def _random_view(lib: Any, x: Any, ops: list) -> Any:
    """A chain of view ops drawn from ``ops``: permute, strided slice, unsqueeze, select, expand."""
    for kind, seed in ops:
        r = np.random.default_rng(seed)
        if x.dim() == 0:
            break
        if kind == 0:
            x = x.permute(*[int(i) for i in r.permutation(x.dim())])
        elif kind == 1:
            d = int(r.integers(0, x.dim()))
            a = int(r.integers(0, x.shape[d]))
            idx = [slice(None)] * x.dim()
            idx[d] = slice(a, int(r.integers(a + 1, x.shape[d] + 1)), int(r.integers(1, 3)))
            x = x[tuple(idx)]
        elif kind == 2:
            x = x.unsqueeze(int(r.integers(0, x.dim() + 1)))
        elif kind == 3 and x.dim() > 1:
            d = int(r.integers(0, x.dim()))
            x = x.select(d, int(r.integers(0, x.shape[d])))
        elif kind == 4:
            ones = [i for i in range(x.dim()) if x.shape[i] == 1]
            if ones:
                size = list(x.shape)
                size[ones[0]] = int(r.integers(2, 4))
                x = x.expand(*size)
    return x


def _random_shape(n: int, r: np.random.Generator) -> tuple:
    """A random factorisation of n, with a unit dim sometimes."""
    shape, m = [], n
    while m > 1:
        d = int(r.choice([k for k in range(2, m + 1) if m % k == 0]))
        shape.append(d)
        m //= d
    if r.random() < 0.3:
        shape.insert(int(r.integers(0, len(shape) + 1)), 1)
    r.shuffle(shape)
    return tuple(shape) or (1,)


def test_view_refuses_exactly_when_pytorch_does_and_shares_storage_otherwise() -> None:
    refused = shared = 0
    for trial in range(600):
        r = np.random.default_rng(trial)
        shape = tuple(int(v) for v in r.integers(1, 5, int(r.integers(1, 5))))
        arr = np.arange(float(np.prod(shape))).reshape(shape)
        ops = [(int(r.integers(0, 5)), int(r.integers(0, 10**6))) for _ in range(int(r.integers(1, 4)))]
        x, xt = _pair(arr)
        v, vt = _random_view(cr, x, ops), _random_view(torch, xt, ops)
        new = _random_shape(int(np.prod(vt.shape)), r)
        try:
            wt = vt.view(new)
        except RuntimeError as exc:
            assert "view size is not compatible" in str(exc)
            with pytest.raises(
                RuntimeError,
                match=r"^view\(\): view size is not compatible with input "
                r"tensor's size and stride .*Use \.reshape\(\.\.\.\) instead\.$",
            ):
                v.view(new)
            np.testing.assert_array_equal(v.reshape(new).numpy(), vt.reshape(new).numpy())
            refused += 1
            continue
        w = v.view(new)
        np.testing.assert_array_equal(w.numpy(), wt.numpy())
        if all(kind != 4 for kind, _ in ops):  # (no writes into expanded memory)
            first = (0,) * len(new)
            w[first], wt[first] = -1.0, -1.0
            np.testing.assert_array_equal(x.numpy(), xt.numpy())
            shared += 1
    assert refused > 50 and shared > 200, (refused, shared)  # both outcomes are well covered


def test_view_examples() -> None:
    x = cr.arange(24.0).reshape(2, 3, 4)
    with pytest.raises(RuntimeError, match=r"Use \.reshape\(\.\.\.\) instead"):
        x.transpose(0, 2).view(24)
    with pytest.raises(RuntimeError, match=r"cannot be viewed as \(6, 4\)"):
        x.permute(1, 0, 2).view(6, 4)
    y = x.permute(1, 0, 2).view(3, 2, 2, 2)  # splits a dim: always possible
    y[0, 0, 0, 0] = 100.0
    assert x[0, 0, 0].item() == 100.0
    with pytest.raises(RuntimeError, match="view size is not compatible"):
        x.transpose(1, 2).view_as(cr.zeros(24))
    assert x.transpose(1, 2).reshape_as(cr.zeros(24)).shape == (24,)
    assert x[:, 1:].view(2, 8).shape == (2, 8)  # the slice keeps rows contiguous
    e = cr.zeros(3, 1).expand(3, 4)
    with pytest.raises(RuntimeError, match="view size is not compatible"):
        e.view(12)
    assert e.view(3, 2, 2).shape == (3, 2, 2)  # splitting an expanded dim is fine
    assert cr.zeros(0, 3).t().view(3, 0).shape == (3, 0)  # empty: any layout
