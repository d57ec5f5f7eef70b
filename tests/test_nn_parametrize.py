"""``nn.utils.parametrize`` and ``parametrizations.weight_norm`` against PyTorch 2.13: state_dict keys,
values and gradients of the originals, caching, removal and errors."""

from __future__ import annotations

import numpy as np
import pytest
from nn_helpers import need_torch, np_of
from reference import torch

import chainrule as cr


def _pair(T):
    class Sym(T.nn.Module):
        def forward(self, x):
            return (x + x.transpose(0, 1)) * 0.5

    return Sym


def _linear_pair(seed=0):
    need_torch()
    torch.manual_seed(seed)
    ref = torch.nn.Linear(4, 4).double()
    ours = cr.nn.Linear(4, 4).double()
    ours.load_state_dict({k: cr.tensor(v.detach().numpy()) for k, v in ref.state_dict().items()})
    return ref, ours


def _grads(m):
    return {k: np_of(p.grad) for k, p in m.named_parameters()}


def _check_same(ref, ours, x):
    assert list(ours.state_dict()) == list(ref.state_dict())
    for k, v in ref.state_dict().items():
        np.testing.assert_allclose(np_of(ours.state_dict()[k]), v.detach().numpy(), rtol=1e-12)
    out_r = (ref(torch.from_numpy(x)) ** 2).sum()
    out_o = (ours(cr.tensor(x)) ** 2).sum()
    out_r.backward()
    out_o.backward()
    np.testing.assert_allclose(float(out_o), out_r.item(), rtol=1e-12)
    gr, go = _grads(ref), _grads(ours)
    assert list(go) == list(gr)
    for k in gr:
        np.testing.assert_allclose(go[k], gr[k], rtol=1e-10, atol=1e-12)


def test_custom_parametrization_matches_torch():
    ref, ours = _linear_pair()
    torch.nn.utils.parametrize.register_parametrization(ref, "weight", _pair(torch)())
    cr.nn.utils.parametrize.register_parametrization(ours, "weight", _pair(cr)())
    assert cr.nn.utils.parametrize.is_parametrized(ours)
    assert cr.nn.utils.parametrize.is_parametrized(ours, "weight")
    assert not cr.nn.utils.parametrize.is_parametrized(ours, "bias")
    assert type(ours).__name__ == type(ref).__name__ == "ParametrizedLinear"
    np.testing.assert_allclose(np_of(ours.weight), ref.weight.detach().numpy(), rtol=1e-12)
    _check_same(ref, ours, np.random.default_rng(0).standard_normal((3, 4)))


@pytest.mark.parametrize("dim", [0, 1, None])
def test_weight_norm_matches_torch(dim):
    ref, ours = _linear_pair(1)
    torch.nn.utils.parametrizations.weight_norm(ref, dim=dim)
    cr.nn.utils.parametrizations.weight_norm(ours, dim=dim)
    np.testing.assert_allclose(np_of(ours.weight), ref.weight.detach().numpy(), rtol=1e-12)
    _check_same(ref, ours, np.random.default_rng(1).standard_normal((5, 4)))


@pytest.mark.parametrize("leave", [True, False])
def test_remove_parametrizations_matches_torch(leave):
    ref, ours = _linear_pair(2)
    torch.nn.utils.parametrize.register_parametrization(ref, "weight", _pair(torch)())
    cr.nn.utils.parametrize.register_parametrization(ours, "weight", _pair(cr)())
    torch.nn.utils.parametrize.remove_parametrizations(ref, "weight", leave_parametrized=leave)
    cr.nn.utils.parametrize.remove_parametrizations(ours, "weight", leave_parametrized=leave)
    assert type(ours) is cr.nn.Linear and not cr.nn.utils.parametrize.is_parametrized(ours)
    _check_same(ref, ours, np.random.default_rng(2).standard_normal((3, 4)))


def test_assignment_goes_through_right_inverse_and_cached_computes_once():
    _, ours = _linear_pair(3)
    cr.nn.utils.parametrizations.weight_norm(ours)
    target = np.random.default_rng(3).standard_normal((4, 4))
    ours.weight = cr.tensor(target)
    np.testing.assert_allclose(np_of(ours.weight), target, rtol=1e-12)
    with cr.nn.utils.parametrize.cached():
        assert ours.weight is ours.weight
    assert ours.weight is not ours.weight


def test_errors_name_the_problem():
    _, ours = _linear_pair()
    with pytest.raises(ValueError, match="does not have a parameter"):
        cr.nn.utils.parametrize.register_parametrization(ours, "nope", _pair(cr)())

    class Shrink(cr.nn.Module):
        def forward(self, x):
            return x[:2]

    with pytest.raises(ValueError, match="may not change the shape"):
        cr.nn.utils.parametrize.register_parametrization(ours, "weight", Shrink())
    with pytest.raises(ValueError, match="does not have a parametrization"):
        cr.nn.utils.parametrize.remove_parametrizations(ours, "weight")


@pytest.mark.parametrize("make", ["linear", "conv"])
def test_spectral_norm_matches_torch_with_copied_vectors(make):
    need_torch()
    torch.manual_seed(4)
    if make == "linear":
        ref, ours, x = torch.nn.Linear(5, 3).double(), cr.nn.Linear(5, 3).double(), (4, 5)
    else:
        ref, ours, x = torch.nn.Conv2d(2, 3, 3).double(), cr.nn.Conv2d(2, 3, 3).double(), (2, 2, 5, 5)
    torch.nn.utils.parametrizations.spectral_norm(ref)
    cr.nn.utils.parametrizations.spectral_norm(ours)
    ours.load_state_dict({k: cr.tensor(v.detach().numpy()) for k, v in ref.state_dict().items()})
    data = np.random.default_rng(4).standard_normal(x)
    for _ in range(2):  # training: each weight access runs one power iteration and moves _u, _v
        ref.zero_grad()
        ours.zero_grad()
        # cached(): one access per forward in both libraries (Conv2d.forward here reads .weight twice)
        with torch.nn.utils.parametrize.cached(), cr.nn.utils.parametrize.cached():
            _check_same(ref, ours, data)
    ref.eval()
    ours.eval()
    _check_same(ref, ours, data)
