"""Hypothesis-drawn shapes: broadcasting binary ops and reductions over random dims, against
finite differences and PyTorch."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from reference import need_torch

import chainrule as cr
from chainrule.autograd import gradcheck

BINARY = {
    "add": lambda T, a, b: a + b,
    "sub": lambda T, a, b: a - b,
    "mul": lambda T, a, b: a * b,
    "div": lambda T, a, b: a / (b * b + 1),
    "maximum": lambda T, a, b: T.maximum(a, b),
    "where": lambda T, a, b: T.where(a > b, a, b * 2),
    "pow": lambda T, a, b: (a * a + 1) ** b,
}

REDUCE = {
    "sum": lambda T, x, d, k: x.sum(d, keepdim=k),
    "mean": lambda T, x, d, k: x.mean(d, keepdim=k),
    "amax": lambda T, x, d, k: T.amax(x, d, keepdim=k),
    "logsumexp": lambda T, x, d, k: T.logsumexp(x, d, keepdim=k),
    "var": lambda T, x, d, k: T.var(x, d, keepdim=k),
    "norm": lambda T, x, d, k: T.linalg.vector_norm(x, dim=d, keepdim=k),
    "prod": lambda T, x, d, k: T.prod(x, d[0], keepdim=k) if len(d) == 1 else T.prod(x),
}


def _check(fn, arrays) -> None:
    ins = [cr.tensor(a, requires_grad=True) for a in arrays]
    assert gradcheck(lambda *t: fn(cr, *t), ins)
    torch = need_torch()
    tin = [torch.tensor(a, requires_grad=True) for a in arrays]
    ours, ref = fn(cr, *ins), fn(torch, *tin)
    np.testing.assert_allclose(ours.detach().numpy(), ref.detach().numpy(), rtol=1e-7, atol=1e-10)
    v = np.random.default_rng(0).standard_normal(ref.shape)
    (ours * cr.tensor(v)).sum().backward()
    (ref * torch.tensor(v)).sum().backward()
    for a, b in zip(ins, tin):
        np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=1e-7, atol=1e-10)


elements = st.floats(-2, 2, allow_nan=False, width=64).filter(lambda v: abs(v) > 1e-3)


@pytest.mark.parametrize("name", list(BINARY))
@settings(max_examples=15, deadline=None)
@given(data=st.data())
def test_broadcasting_binary_ops(name: str, data) -> None:
    shapes = data.draw(hnp.mutually_broadcastable_shapes(num_shapes=2, max_dims=3, max_side=3))
    arrays = [data.draw(hnp.arrays(np.float64, s, elements=elements, unique=name == "maximum"))
              for s in shapes.input_shapes]
    # stay away from the kink, where finite differences are meaningless (a rejected example
    # is replaced by another one, so every run checks max_examples of them)
    assume(name not in ("maximum", "where")
           or not np.any(np.abs(np.subtract.outer(arrays[0], arrays[1])) < 1e-3))
    _check(BINARY[name], arrays)


@pytest.mark.parametrize("name", list(REDUCE))
@settings(max_examples=15, deadline=None)
@given(data=st.data())
def test_reductions_over_random_dims(name: str, data) -> None:
    shape = data.draw(hnp.array_shapes(min_dims=1, max_dims=3, min_side=2, max_side=3))
    x = data.draw(hnp.arrays(np.float64, shape, elements=elements, unique=name == "amax"))
    dims = tuple(sorted(data.draw(st.sets(st.integers(0, len(shape) - 1), min_size=1))))
    signed = tuple(d - len(shape) if data.draw(st.booleans()) else d for d in dims)
    keep = data.draw(st.booleans())
    _check(lambda T, t: REDUCE[name](T, t, signed, keep), [x])
