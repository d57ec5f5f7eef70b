"""``nn.utils`` against PyTorch: gradient clipping, parameter/vector conversion, pad_sequence."""

from __future__ import annotations

import math

import numpy as np
import pytest
from nn_helpers import need_torch, np_of
from reference import torch

import chainrule as cr
from chainrule import nn


def with_grads(T, seed: int = 0, scale: float = 1.0):
    rng = np.random.default_rng(seed)
    params = []
    for shape in [(3, 4), (4,), (2, 2, 3)]:
        p = (T.nn.Parameter(T.tensor(rng.standard_normal(shape).astype(np.float32))))
        p.grad = T.tensor((rng.standard_normal(shape) * scale).astype(np.float32))
        params.append(p)
    params.append(T.nn.Parameter(T.zeros(2)))  # no gradient: skipped
    return params


@pytest.mark.parametrize("norm_type", [2.0, 1, 3.5, math.inf, "inf"])
@pytest.mark.parametrize("max_norm", [0.5, 100.0])
def test_clip_grad_norm_matches_torch(norm_type, max_norm: float) -> None:
    need_torch()
    nt = float(norm_type)
    ours, ref = with_grads(cr), with_grads(torch)
    total = nn.utils.clip_grad_norm_(ours, max_norm, nt)
    total_ref = torch.nn.utils.clip_grad_norm_(ref, max_norm, nt)
    assert isinstance(total, cr.Tensor) and total.dtype == cr.float32 and total.shape == ()
    np.testing.assert_allclose(total.item(), total_ref.item(), rtol=1e-5)
    for o, r in zip(ours, ref):
        if r.grad is None:
            assert o.grad is None
        else:
            np.testing.assert_allclose(np_of(o.grad), np_of(r.grad), rtol=1e-5, atol=1e-7)


def test_clip_grad_norm_single_tensor_and_nonfinite() -> None:
    p = nn.Parameter(cr.ones(4))
    p.grad = cr.full((4,), 3.0)
    assert nn.utils.clip_grad_norm_(p, 1.0).item() == pytest.approx(6.0)
    np.testing.assert_allclose(np_of(p.grad), 0.5, rtol=1e-5)
    p.grad = cr.tensor([1.0, math.inf, 0.0, 0.0])
    with pytest.raises(RuntimeError, match="non-finite"):
        nn.utils.clip_grad_norm_([p], 1.0, error_if_nonfinite=True)
    assert nn.utils.clip_grad_norm_([nn.Parameter(cr.ones(1))], 1.0).item() == 0.0


def test_clip_grad_value_matches_torch() -> None:
    need_torch()
    ours, ref = with_grads(cr, 1, 3.0), with_grads(torch, 1, 3.0)
    assert nn.utils.clip_grad_value_(ours, 0.7) is None
    torch.nn.utils.clip_grad_value_(ref, 0.7)
    for o, r in zip(ours[:3], ref[:3]):
        np.testing.assert_array_equal(np_of(o.grad), np_of(r.grad))


def test_parameters_to_vector_and_back() -> None:
    need_torch()
    ours, ref = with_grads(cr), with_grads(torch)
    v = nn.utils.parameters_to_vector(ours)
    np.testing.assert_array_equal(np_of(v), np_of(torch.nn.utils.parameters_to_vector(ref)))
    assert v.requires_grad  # a differentiable concatenation
    new = cr.arange(float(v.numel()))
    nn.utils.vector_to_parameters(new, ours)
    torch.nn.utils.vector_to_parameters(torch.arange(float(v.numel())), ref)
    for o, r in zip(ours, ref):
        np.testing.assert_array_equal(np_of(o), np_of(r))
    assert np.shares_memory(ours[0]._data, new._data)
    with pytest.raises(TypeError, match="expected chainrule.Tensor"):
        nn.utils.vector_to_parameters([1.0], ours)
    with pytest.raises(RuntimeError, match="does not hold the"):
        nn.utils.vector_to_parameters(cr.zeros(3), ours)


@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("side", ["right", "left"])
def test_pad_sequence_matches_torch(batch_first: bool, side: str) -> None:
    need_torch()
    rng = np.random.default_rng(0)
    seqs = [rng.standard_normal((n, 2)) for n in (3, 5, 1)]
    ours = nn.utils.rnn.pad_sequence([cr.tensor(s) for s in seqs], batch_first, -1.0, side)
    ref = torch.nn.utils.rnn.pad_sequence([torch.from_numpy(s) for s in seqs], batch_first, -1.0, side)
    np.testing.assert_array_equal(np_of(ours), ref.numpy())
