"""Distributions: log_prob/entropy/moments against PyTorch, sample statistics, gradients."""

from __future__ import annotations

import numpy as np
import pytest
from reference import HAVE_TORCH, REQUIRE_TORCH, torch

import chainrule
from chainrule.autograd import gradcheck
from chainrule.distributions import Bernoulli, Categorical, Distribution, Multinomial, Normal

F64 = chainrule.float64


@pytest.fixture
def td():
    if not HAVE_TORCH:
        assert not REQUIRE_TORCH, "PyTorch 2.13 must be installed in CI (extra 'reference')"
        pytest.skip("PyTorch not installed")
    return torch.distributions


def _np(t):
    return t.detach().numpy() if isinstance(t, chainrule.Tensor) else t.detach().cpu().numpy()


def _close(a, b, rtol=1e-5, atol=1e-6):
    np.testing.assert_allclose(_np(a), _np(b), rtol=rtol, atol=atol)


def _pair(arr):
    return chainrule.tensor(arr), torch.tensor(arr)


def test_module_paths():
    import importlib

    mod = importlib.import_module("chainrule.distributions.multinomial")
    assert mod.__file__.endswith("multinomial.py") and mod.Multinomial is Multinomial
    assert all(issubclass(c, Distribution) for c in (Normal, Bernoulli, Categorical, Multinomial))


def test_normal_against_pytorch(td):
    rng = np.random.default_rng(0)
    loc, scale = rng.standard_normal((2, 3)), np.exp(rng.standard_normal(3))
    value = rng.standard_normal((4, 2, 3))
    ours = Normal(chainrule.tensor(loc), chainrule.tensor(scale))
    ref = td.Normal(torch.tensor(loc), torch.tensor(scale))
    assert ours.batch_shape == tuple(ref.batch_shape) and ours.event_shape == ()
    _close(ours.log_prob(chainrule.tensor(value)), ref.log_prob(torch.tensor(value)))
    _close(ours.cdf(chainrule.tensor(value)), ref.cdf(torch.tensor(value)))
    _close(ours.entropy(), ref.entropy())
    for attr in ("mean", "mode", "stddev", "variance"):
        _close(getattr(ours, attr), getattr(ref, attr))
    scalar = Normal(0.0, 1.0)
    assert scalar.loc.dtype == chainrule.float32 and scalar.sample().shape == ()
    _close(scalar.log_prob(0.5), td.Normal(0.0, 1.0).log_prob(torch.tensor(0.5)))


@pytest.mark.parametrize("use_logits", [False, True])
def test_bernoulli_against_pytorch(td, use_logits):
    rng = np.random.default_rng(1)
    p = rng.uniform(0.05, 0.95, (2, 3))
    param = np.log(p / (1 - p)) if use_logits else p
    key = "logits" if use_logits else "probs"
    ours = Bernoulli(**{key: chainrule.tensor(param)})
    ref = td.Bernoulli(**{key: torch.tensor(param)})
    value = (rng.random((5, 2, 3)) < 0.5).astype(np.float64)
    _close(ours.log_prob(chainrule.tensor(value)), ref.log_prob(torch.tensor(value)))
    _close(ours.entropy(), ref.entropy())
    _close(ours.mean, ref.mean)
    _close(ours.variance, ref.variance)
    _close(ours.probs, ref.probs)
    _close(ours.logits, ref.logits)
    edge = Bernoulli(chainrule.tensor([0.0, 1.0, 0.5]))
    ref_edge = td.Bernoulli(torch.tensor([0.0, 1.0, 0.5]))
    _close(edge.log_prob(chainrule.tensor([0.0, 1.0, 1.0])),
           ref_edge.log_prob(torch.tensor([0.0, 1.0, 1.0])))
    np.testing.assert_array_equal(_np(edge.mode), _np(ref_edge.mode))


@pytest.mark.parametrize("use_logits", [False, True])
def test_categorical_against_pytorch(td, use_logits):
    rng = np.random.default_rng(2)
    raw = rng.standard_normal((3, 5)) if use_logits else rng.uniform(0.1, 2.0, (3, 5))
    key = "logits" if use_logits else "probs"
    ours = Categorical(**{key: chainrule.tensor(raw)})
    ref = td.Categorical(**{key: torch.tensor(raw)})
    assert ours.batch_shape == (3,) and ours.event_shape == ()
    value = rng.integers(0, 5, (7, 3))
    _close(ours.log_prob(chainrule.tensor(value)), ref.log_prob(torch.tensor(value)))
    _close(ours.log_prob(chainrule.tensor(2)), ref.log_prob(torch.tensor(2)))  # broadcast
    _close(ours.entropy(), ref.entropy())
    _close(ours.probs, ref.probs)
    _close(ours.logits, ref.logits)
    assert _np(ours.mode).tolist() == _np(ref.mode).tolist()
    assert np.isnan(_np(ours.mean)).all() and ours.mean.shape == (3,)
    np.testing.assert_array_equal(_np(ours.enumerate_support()), _np(ref.enumerate_support()))


def test_multinomial_against_pytorch(td):
    rng = np.random.default_rng(3)
    probs = rng.uniform(0.1, 1.0, (2, 4))
    ours = Multinomial(10, chainrule.tensor(probs))
    ref = td.Multinomial(10, torch.tensor(probs))
    assert ours.batch_shape == (2,) and ours.event_shape == (4,)
    value = rng.multinomial(10, probs[0] / probs[0].sum(), size=(5, 2)).astype(np.float64)
    _close(ours.log_prob(chainrule.tensor(value)), ref.log_prob(torch.tensor(value)))
    _close(ours.mean, ref.mean)
    _close(ours.variance, ref.variance)
    with_zero = Multinomial(3, chainrule.tensor([0.0, 0.5, 0.5]))
    v = [0.0, 1.0, 2.0]
    _close(with_zero.log_prob(chainrule.tensor(v)),
           td.Multinomial(3, torch.tensor([0.0, 0.5, 0.5])).log_prob(torch.tensor(v)))
    lg = Multinomial(4, logits=chainrule.tensor([0.0, 1.0, -1.0]))
    _close(lg.log_prob(chainrule.tensor([1.0, 2.0, 1.0])),
           td.Multinomial(4, logits=torch.tensor([0.0, 1.0, -1.0])).log_prob(
               torch.tensor([1.0, 2.0, 1.0])))


def test_textbook_multinomial_die_rolls():
    chainrule.manual_seed(0)
    fair = chainrule.ones([6]) / 6
    one = Multinomial(1, fair).sample()
    assert one.shape == (6,) and one.dtype == chainrule.float32 and one.sum().item() == 1.0
    counts = Multinomial(10, fair).sample((500,))
    assert counts.shape == (500, 6) and (counts.sum(1) == 10).all()
    freq = Multinomial(100000, fair).sample() / 100000
    np.testing.assert_allclose(freq.numpy(), 1 / 6, atol=0.01)
    batched = Multinomial(7, chainrule.tensor([[0.2, 0.8, 0.0], [1.0, 1.0, 1.0]])).sample((4,))
    assert batched.shape == (4, 2, 3) and (batched.sum(-1) == 7).all()
    assert (batched[:, 0, 2] == 0).all()
    assert "total_count: 7" in repr(Multinomial(7, fair))
    cum = counts.cumsum(dim=0)
    estimates = cum / cum.sum(dim=1, keepdims=True)
    assert estimates.shape == (500, 6)
    np.testing.assert_allclose(estimates.sum(1).numpy(), 1.0, rtol=1e-6)
    np.testing.assert_allclose(estimates[-1].numpy(), 1 / 6, atol=0.02)  # 5000 rolls


def test_sample_statistics_with_fixed_seed():
    chainrule.manual_seed(123)
    n = Normal(chainrule.tensor([1.0, -2.0]), chainrule.tensor([0.5, 3.0])).sample((20000,))
    assert n.shape == (20000, 2)
    np.testing.assert_allclose(n.numpy().mean(0), [1.0, -2.0], atol=0.06)
    np.testing.assert_allclose(n.numpy().std(0), [0.5, 3.0], rtol=0.03)
    b = Bernoulli(chainrule.tensor([0.2, 0.9])).sample((20000,))
    np.testing.assert_allclose(b.numpy().mean(0), [0.2, 0.9], atol=0.015)
    assert set(np.unique(b.numpy())) <= {0.0, 1.0}
    probs = np.array([[0.1, 0.6, 0.3], [0.5, 0.0, 0.5]])
    c = Categorical(chainrule.tensor(probs)).sample((20000,))
    assert c.shape == (20000, 2) and c.dtype == chainrule.int64
    for row in range(2):
        freq = np.bincount(c.numpy()[:, row], minlength=3) / 20000
        np.testing.assert_allclose(freq, probs[row], atol=0.015)
    m = Multinomial(50, chainrule.tensor([0.2, 0.3, 0.5])).sample((4000,))
    np.testing.assert_allclose(m.numpy().mean(0), [10, 15, 25], rtol=0.03)
    np.testing.assert_allclose(m.numpy().var(0), 50 * np.array([0.16, 0.21, 0.25]), rtol=0.1)


def test_manual_seed_makes_samples_reproducible():
    dists = [Normal(0.0, 1.0), Bernoulli(0.4), Categorical(chainrule.ones(4)),
             Multinomial(5, chainrule.ones(3))]
    chainrule.manual_seed(7)
    first = [d.sample((6,)).tolist() for d in dists]
    chainrule.manual_seed(7)
    assert [d.sample((6,)).tolist() for d in dists] == first
    assert [d.sample((6,)).tolist() for d in dists] != first


def test_log_prob_gradients_gradcheck():
    rng = np.random.default_rng(4)
    loc = chainrule.tensor(rng.standard_normal(3), requires_grad=True)
    scale = chainrule.tensor(np.exp(rng.standard_normal(3)), requires_grad=True)
    x = chainrule.tensor(rng.standard_normal((2, 3)))
    assert gradcheck(lambda m, s: Normal(m, s).log_prob(x), (loc, scale))
    assert gradcheck(lambda m, s: Normal(m, s).entropy(), (loc, scale))
    p = chainrule.tensor(rng.uniform(0.1, 0.9, 4), requires_grad=True)
    y = chainrule.tensor([0.0, 1.0, 1.0, 0.0], dtype=F64)
    assert gradcheck(lambda q: Bernoulli(probs=q).log_prob(y), (p,))
    assert gradcheck(lambda q: Bernoulli(logits=q).log_prob(y), (p,))
    logits = chainrule.tensor(rng.standard_normal((2, 4)), requires_grad=True)
    k = chainrule.tensor([[1, 3], [0, 2], [3, 3]])
    assert gradcheck(lambda lg: Categorical(logits=lg).log_prob(k), (logits,))
    assert gradcheck(lambda lg: Categorical(logits=lg).entropy(), (logits,))
    probs = chainrule.tensor(rng.uniform(0.2, 1.0, 4), requires_grad=True)
    assert gradcheck(lambda q: Categorical(probs=q).log_prob(chainrule.tensor([0, 3])), (probs,))
    counts = chainrule.tensor([2.0, 0.0, 1.0, 3.0], dtype=F64)
    assert gradcheck(lambda q: Multinomial(6, probs=q).log_prob(counts), (probs,))


def test_normal_rsample_is_reparameterised():
    loc = chainrule.tensor([1.0, 2.0], requires_grad=True)
    scale = chainrule.tensor([0.5, 2.0], requires_grad=True)
    d = Normal(loc, scale)
    assert d.has_rsample and not Categorical(chainrule.ones(2)).has_rsample
    chainrule.manual_seed(0)
    x = d.rsample((5,))
    x.sum().backward()
    eps = (x.detach() - loc.detach()) / scale.detach()
    np.testing.assert_allclose(loc.grad.numpy(), [5.0, 5.0])
    np.testing.assert_allclose(scale.grad.numpy(), eps.sum(0).numpy(), rtol=1e-5)
    s = d.sample((3,))
    assert not s.requires_grad and s.grad_fn is None
    with pytest.raises(NotImplementedError, match="cannot be reparameterised"):
        Bernoulli(0.5).rsample()


def test_argument_validation():
    with pytest.raises(ValueError, match=r"parameter scale .* to be greater than 0.*\[-1\.0\]"):
        Normal(chainrule.zeros(2), chainrule.tensor([1.0, -1.0]))
    with pytest.raises(ValueError, match="Either `probs` or `logits`"):
        Bernoulli()
    with pytest.raises(ValueError, match="Either `probs` or `logits`"):
        Categorical(probs=chainrule.ones(2), logits=chainrule.ones(2))
    with pytest.raises(ValueError, match=r"probabilities in \[0, 1\]"):
        Bernoulli(chainrule.tensor([1.5]))
    with pytest.raises(ValueError, match="non-negative"):
        Categorical(chainrule.tensor([0.5, -0.1, 0.6]))
    with pytest.raises(ValueError, match="at least one-dimensional"):
        Categorical(chainrule.tensor(0.5))
    with pytest.raises(ValueError, match=r"integer category indices in \[0, 3\)"):
        Categorical(chainrule.ones(3)).log_prob(chainrule.tensor([3]))
    with pytest.raises(ValueError, match="0 or 1"):
        Bernoulli(0.5).log_prob(chainrule.tensor(0.5))
    with pytest.raises(ValueError, match="summing to at most 2"):
        Multinomial(2, chainrule.ones(3)).log_prob(chainrule.tensor([1.0, 1.0, 1.0]))
    with pytest.raises(ValueError, match=r"trailing dimensions \(2,\) must equal the event shape \(3,\)"):
        Multinomial(2, chainrule.ones(3)).log_prob(chainrule.tensor([1.0, 1.0]))
    with pytest.raises(ValueError, match="does not broadcast"):
        Normal(chainrule.zeros(3), 1.0).log_prob(chainrule.zeros(2))
    with pytest.raises(NotImplementedError, match="one integer total_count"):
        Multinomial(chainrule.tensor([1, 2]), chainrule.ones(3))
    lenient = Bernoulli(0.5, validate_args=False)
    assert np.isfinite(lenient.log_prob(chainrule.tensor(0.5)).item())
