"""compile codegen: ``where(mask, g, 0)`` and ``where(mask, 0, g)`` as a bit mask (``_where_zero``).

ReLU's backward, and where's own, are a ``Where`` with a Python zero on one side.  A planned
line writes it by clearing the bits of ``g`` where the result is 0: that must be
``np.where``'s result bit for bit for every ``g`` -- NaN, infinities and -0.0 kept where
they pass, +0.0 where they do not (``g * mask`` would give NaN for ``inf * 0`` and -0.0 for a
negative ``g``) -- and gradients must be eager's and PyTorch's.
"""

from __future__ import annotations

import numpy as np
import pytest
from reference import need_torch

import chainrule as cr
from chainrule import nn

_BITS = {2: np.int16, 4: np.int32, 8: np.int64}


def _specials(rng: np.random.Generator, shape: tuple, dtype: str) -> np.ndarray:
    g = rng.standard_normal(shape).astype(dtype)
    flat = g.reshape(-1)
    for v in (np.nan, np.inf, -np.inf, -0.0, 0.0):
        flat[rng.choice(flat.size, 40, replace=False)] = v
    return g


def _bits(a: np.ndarray) -> np.ndarray:
    return a.view(_BITS[a.itemsize])


@pytest.mark.parametrize("dtype", ["float16", "float32", "float64"])
@pytest.mark.parametrize("zero_first", [True, False])
@pytest.mark.parametrize("cond_shape", [(40, 50), (1, 50)])
def test_where_with_a_zero_is_np_where_bit_for_bit(dtype: str, zero_first: bool, cond_shape: tuple) -> None:
    def f(c: cr.Tensor, g: cr.Tensor) -> cr.Tensor:
        mask = c > 0
        return cr.where(mask, 0.0, g) if zero_first else cr.where(mask, g, 0.0)

    compiled = cr.compile(f)
    rng = np.random.default_rng(0)
    for _ in range(3):  # the first call traces; the others run the planned line
        c = rng.standard_normal(cond_shape)
        g = _specials(rng, (40, 50), dtype)
        got = compiled(cr.from_numpy(c), cr.from_numpy(g)).numpy()
        want = np.where(c > 0, 0.0, g) if zero_first else np.where(c > 0, g, 0.0)
        assert got.dtype == want.dtype == np.dtype(dtype)
        np.testing.assert_array_equal(_bits(got), _bits(want))
    assert "_where_zero(" in compiled.code and compiled.traces == 1


def test_where_with_a_negative_zero_keeps_np_where() -> None:
    """-0.0 is not what a cleared mask gives: that line stays a masked copy."""
    c = cr.randn(40, 50)
    g = cr.randn(40, 50, dtype=cr.float64)
    neg = cr.compile(lambda c, g: cr.where(c > 0, -0.0, g))
    for _ in range(2):
        np.testing.assert_array_equal(
            _bits(neg(c, g).numpy()), _bits(np.where(c.numpy() > 0, -0.0, g.numpy()))
        )
    assert "_where_zero(" not in neg.code and "out=b" in neg.code


def test_relu_backward_with_non_finite_gradients_is_pytorchs() -> None:
    """An upstream gradient with inf/NaN where ReLU's input is negative gives 0 there (PyTorch's
    threshold_backward), compiled as eager; finite elsewhere as eager."""
    torch = need_torch()
    rng = np.random.default_rng(1)
    x = rng.standard_normal((64, 32))
    w = _specials(rng, (64, 32), "float64")

    def f(x: cr.Tensor, w: cr.Tensor) -> cr.Tensor:
        return (x.relu() * w).nansum()

    compiled = cr.compile(f)
    xt = torch.tensor(x, requires_grad=True)
    (xt.relu() * torch.tensor(w)).nansum().backward()
    for _ in range(3):
        a = cr.tensor(x, requires_grad=True)
        compiled(a, cr.tensor(w)).backward()
        b = cr.tensor(x, requires_grad=True)
        f(b, cr.tensor(w)).backward()
        np.testing.assert_array_equal(a.grad.numpy(), xt.grad.numpy())
        np.testing.assert_array_equal(a.grad.numpy(), b.grad.numpy())
    assert "_where_zero(" in compiled.code


def test_mlp_step_uses_the_mask_and_gives_eagers_parameters() -> None:
    def run(compile_it: bool) -> list:
        cr.manual_seed(0)
        model = nn.Sequential(nn.Linear(20, 64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 3))
        opt = cr.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
        rng = np.random.default_rng(2)

        def step(x: cr.Tensor, y: cr.Tensor) -> cr.Tensor:
            opt.zero_grad()
            loss = nn.functional.cross_entropy(model(x), y)
            loss.backward()
            opt.step()
            return loss

        fn = cr.compile(step) if compile_it else step
        for _ in range(6):
            fn(
                cr.from_numpy(rng.standard_normal((32, 20), dtype=np.float32)),
                cr.from_numpy(rng.integers(0, 3, 32)),
            )
        if compile_it:
            assert fn.code.count("_where_zero(") == 2  # the two ReLUs' backward
        return [p.detach().numpy().copy() for p in model.parameters()]

    for got, want in zip(run(True), run(False)):
        np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("dtype", ["float16", "float32", "float64"])
@pytest.mark.parametrize("shape", [(40, 50), (7,)])
def test_planned_relu_against_zeros_is_eagers_bit_for_bit(dtype: str, shape: tuple) -> None:
    """A planned ReLU runs ``np.maximum(x, zeros)`` (NumPy's vector loop) from 256 elements and
    ``np.maximum(x, 0)`` below: both eager's bits for NaN, infinities and -0.0; the zeros
    constant stays zeros after calls that write the result in place."""

    def f(x: cr.Tensor) -> cr.Tensor:
        return (x * 2).relu() + 1  # the relu writes into the product's buffer

    compiled = cr.compile(f)
    rng = np.random.default_rng(2)
    size = int(np.prod(shape))
    for _ in range(3):
        x = rng.standard_normal(shape).astype(dtype)
        flat = x.reshape(-1)
        for v in (np.nan, np.inf, -np.inf, -0.0, 0.0):
            flat[rng.choice(size, min(5, size), replace=False)] = v
        got = compiled(cr.from_numpy(x)).numpy()
        want = f(cr.from_numpy(x)).numpy()
        np.testing.assert_array_equal(_bits(got), _bits(want))
    big = size * np.dtype(dtype).itemsize >= 1024 and size >= 256  # planned, and past the threshold
    assert ("xp.maximum(v" in compiled.code and ", zeros" in compiled.code) == big, compiled.code
    for art in compiled.artefacts():
        for name, v in art.forward.fn.__globals__.items():
            if name.startswith("zeros"):
                assert not v.flags.writeable and not v.any()
