"""The distributions of the math issue against PyTorch 2.13: densities, CDFs, moments,
entropies, shapes, expand, validation, sample moments and transforms."""

from __future__ import annotations

import numpy as np
import pytest
from distribution_cases import NAMES, make
from reference import HAVE_TORCH, REQUIRE_TORCH, torch

import chainrule
import chainrule.distributions as D
from chainrule.distributions import constraints, transforms


@pytest.fixture(autouse=True)
def need_torch():
    if not HAVE_TORCH:
        assert not REQUIRE_TORCH, "PyTorch 2.13 must be installed in CI (extra 'reference')"
        pytest.skip("PyTorch not installed")


def _np(t):
    return t.detach().numpy()


def _call(d, method, value, lib):
    attr = getattr(d, method)
    if not callable(attr):
        return attr
    if method == "entropy":
        return attr()
    if method == "icdf":
        return attr(lib.full_like(value, 0.3))
    return attr(value)


METHODS = ["log_prob", "cdf", "icdf", "entropy", "mean", "variance", "mode", "stddev"]
# PyTorch's Multinomial.entropy takes lgamma of an int64 tensor, which it computes in float32
# PyTorch's VonMises normaliser is a polynomial approximation of log I0 (error ~1e-7); ours
# is SciPy's Bessel function
RTOL = {
    ("Multinomial", "entropy"): 1e-6,
    ("VonMises", "log_prob"): 1e-6,
    ("VonMises", "variance"): 2e-5,
    ("VonMises", "stddev"): 2e-5,
    "GeneralizedPareto": 2e-6,  # float32 (see distribution_cases)
}


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("method", METHODS)
def test_values_match_pytorch(name, method):
    ours, value = make(chainrule, name)
    ref, ref_value = make(torch, name)
    assert tuple(ours.batch_shape) == tuple(ref.batch_shape)
    assert tuple(ours.event_shape) == tuple(ref.event_shape)
    try:
        want = _call(ref, method, ref_value, torch)
    except NotImplementedError:  # PyTorch has none: neither do we
        with pytest.raises(NotImplementedError):
            _call(ours, method, value, chainrule)
        return
    got = _call(ours, method, value, chainrule)
    assert tuple(got.shape) == tuple(want.shape)
    rtol = RTOL.get((name, method), RTOL.get(name, 1e-9))
    np.testing.assert_allclose(_np(got), _np(want), rtol=rtol, atol=1e-12, equal_nan=True)


@pytest.mark.parametrize("name", NAMES)
def test_log_prob_gradients_match_pytorch(name):
    ours, value = make(chainrule, name)
    ref, ref_value = make(torch, name)
    params = [
        k
        for k in (
            "loc",
            "scale",
            "rate",
            "concentration",
            "df",
            "low",
            "high",
            "probs",
            "logits",
            "concentration1",
            "concentration0",
        )
        if isinstance(ours.__dict__.get(k), chainrule.Tensor)
    ]
    if not params:
        pytest.skip(f"{name} keeps its parameters in a nested distribution")
    for k in params:
        ours.__dict__[k].requires_grad_(True)
        ref.__dict__[k].requires_grad_(True)
    lp, ref_lp = ours.log_prob(value), ref.log_prob(ref_value)
    assert lp.requires_grad == ref_lp.requires_grad  # False: made from copies taken at init
    if not ref_lp.requires_grad:
        return
    lp.sum().backward()
    ref_lp.sum().backward()
    for k in params:
        a, b = ours.__dict__[k].grad, ref.__dict__[k].grad
        assert (a is None) == (b is None), k  # derived tensors made before requires_grad_
        if b is not None:
            rtol = RTOL.get((name, "log_prob"), RTOL.get(name, 1e-9)) * 10
            np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=rtol, atol=1e-12, err_msg=k)


@pytest.mark.parametrize("name", NAMES)
def test_sample_shapes_and_support(name):
    ours, _ = make(chainrule, name)
    ref, _ = make(torch, name)
    chainrule.manual_seed(0)
    for shape in [(), (7,), (2, 3)]:
        s = ours.sample(shape)
        assert tuple(s.shape) == tuple(ref.sample(shape).shape)
        assert not s.requires_grad
        assert bool(ref.support.check(torch.tensor(s.numpy())).all()), f"{name} left its support"
        assert bool(ours.support.check(s).all())
    assert ours.has_rsample == ref.has_rsample
    if ours.has_rsample:
        assert tuple(ours.rsample((3,)).shape) == tuple(ref.rsample((3,)).shape)
    elif type(ref).rsample is torch.distributions.Distribution.rsample:
        with pytest.raises(NotImplementedError):
            ours.rsample()


@pytest.mark.parametrize("name", NAMES)
def test_expand_matches_pytorch(name):
    ours, value = make(chainrule, name)
    ref, ref_value = make(torch, name)
    shape = (5,) + tuple(ref.batch_shape)
    ours_e, ref_e = ours.expand(shape), ref.expand(shape)
    assert tuple(ours_e.batch_shape) == tuple(ref_e.batch_shape) == shape
    assert tuple(ours_e.event_shape) == tuple(ref_e.event_shape)
    v = value.unsqueeze(1) if value.ndim > len(ref.event_shape) else value
    rv = ref_value.unsqueeze(1) if ref_value.ndim > len(ref.event_shape) else ref_value
    rtol = RTOL.get((name, "log_prob"), RTOL.get(name, 1e-9))
    np.testing.assert_allclose(_np(ours_e.log_prob(v)), _np(ref_e.log_prob(rv)), rtol=rtol)
    assert tuple(ours_e.sample((2,)).shape) == tuple(ref_e.sample((2,)).shape)
    if ref.batch_shape:
        bad = tuple(b + 1 for b in ref.batch_shape)
        with pytest.raises(RuntimeError):
            ref.expand(bad)
        with pytest.raises(RuntimeError):
            ours.expand(bad)


# Sample moments: |mean - E| within 4 standard errors over 1e5 draws, and the same for the
# variance (its standard error estimated from the sample's fourth central moment).
def _has_mean(name):
    try:
        return make(torch, name)[0].mean is not None
    except NotImplementedError:
        return False


MOMENT_CASES = [
    n for n in NAMES if n not in ("Cauchy", "HalfCauchy", "StudentT", "VonMises") and _has_mean(n)
]


def test_von_mises_circular_moments_within_4_standard_errors():
    ours, _ = make(chainrule, "VonMises")
    chainrule.manual_seed(2)
    n = 100_000
    x = _np(ours.sample((n,)))
    assert np.all((x >= -np.pi) & (x < np.pi))
    c = np.cos(x - _np(ours.loc))
    want = 1 - _np(ours.variance)  # E cos(x - loc) = I1(k) / I0(k)
    assert np.all(np.abs(c.mean(0) - want) <= 4 * c.std(0) / np.sqrt(n) + 1e-12)
    s = np.sin(x - _np(ours.loc))
    assert np.all(np.abs(s.mean(0)) <= 4 * s.std(0) / np.sqrt(n) + 1e-12)


@pytest.mark.parametrize("name", MOMENT_CASES + ["StudentT-df>4"])
@pytest.mark.parametrize("how", ["sample", "rsample"])
def test_sample_moments_within_4_standard_errors(name, how):
    if name == "StudentT-df>4":
        ours = D.StudentT(
            chainrule.tensor([4.5, 9.0]), chainrule.tensor([0.5, -1.0]), chainrule.tensor([1.0, 2.0])
        )
    else:
        ours, _ = make(chainrule, name)
    if how == "rsample" and not ours.has_rsample:
        pytest.skip(f"{name} has no rsample")
    chainrule.manual_seed(1)
    n = 100_000
    x = _np(getattr(ours, how)((n,)))
    mean, var = _np(ours.mean), _np(ours.variance)
    se_mean = np.sqrt(var / n)
    assert np.all(np.abs(x.mean(0) - mean) <= 4 * se_mean), (x.mean(0), mean)
    centred = x - x.mean(0)
    m4 = (centred**4).mean(0)
    se_var = np.sqrt(np.maximum(m4 - var**2, 0) / n)
    assert np.all(np.abs(x.var(0) - var) <= 4 * se_var + 1e-12), (x.var(0), var)


def test_validate_args_parameters_and_support():
    with pytest.raises(ValueError, match="rate"):
        D.Exponential(chainrule.tensor([1.0, -1.0]))
    with pytest.raises(ValueError):
        torch.distributions.Exponential(torch.tensor([1.0, -1.0]))
    with pytest.raises(ValueError, match="concentration"):
        D.Dirichlet(chainrule.tensor([1.0, 0.0]))
    with pytest.raises(ValueError, match="df"):
        D.Chi2(chainrule.tensor([-1.0]))
    with pytest.raises(ValueError, match="low"):
        D.Uniform(chainrule.tensor([2.0]), chainrule.tensor([1.0]))
    with pytest.raises(ValueError, match="support"):
        D.Gamma(1.0, 1.0).log_prob(chainrule.tensor(-1.0))
    with pytest.raises(ValueError, match="support"):
        D.Poisson(2.0).log_prob(chainrule.tensor(1.5))
    with pytest.raises(ValueError, match="support"):
        D.Beta(2.0, 2.0).log_prob(chainrule.tensor(1.5))
    with pytest.raises(ValueError, match="positive"):
        D.Geometric(chainrule.tensor([0.0, 0.5]))
    lp = D.Gamma(1.0, 1.0, validate_args=False).log_prob(chainrule.tensor(-1.0))
    assert lp.shape == ()
    D.Exponential(chainrule.tensor([-1.0]), validate_args=False)  # not checked
    with pytest.raises(ValueError):
        D.Dirichlet(chainrule.tensor(1.0))
    with pytest.raises(ValueError, match="probs"):
        D.Binomial(3)


@pytest.mark.parametrize(
    "pair",
    [
        ("positive", [1.0, 0.0, -1.0]),
        ("nonnegative", [1.0, 0.0, -1.0]),
        ("unit_interval", [0.0, 1.0, 1.5]),
        ("nonnegative_integer", [0.0, 2.0, 2.5, -1.0]),
        ("real", [0.0, float("nan")]),
        ("boolean", [0.0, 1.0, 0.5]),
        ("simplex", [[0.2, 0.8], [0.5, 0.6]]),
        ("one_hot", [[0.0, 1.0], [1.0, 1.0]]),
        ("real_vector", [[0.0, float("nan")], [1.0, 2.0]]),
        ("lower_cholesky", [[[1.0, 0.0], [2.0, 3.0]], [[1.0, 1.0], [0.0, 1.0]]]),
        ("positive_definite", [[[2.0, 1.0], [1.0, 2.0]], [[1.0, 2.0], [2.0, 1.0]]]),
    ],
    ids=lambda p: p[0],
)
def test_constraints_match_pytorch(pair):
    name, values = pair
    ours = getattr(constraints, name).check(chainrule.tensor(values))
    ref = getattr(torch.distributions.constraints, name).check(torch.tensor(values))
    assert ours.tolist() == ref.tolist()
    assert getattr(constraints, name).event_dim == getattr(torch.distributions.constraints, name).event_dim
    interval = constraints.interval(0.0, 2.0).check(chainrule.tensor([-1.0, 1.0, 2.0]))
    assert interval.tolist() == [False, True, True]


def _transforms(lib):
    tr = lib.distributions.transforms
    loc = lib.tensor([0.5, -1.0, 2.0], dtype=lib.float64)
    scale = lib.tensor([2.0, -0.5, 1.5], dtype=lib.float64)
    return {
        "affine": tr.AffineTransform(loc, scale),
        "affine-event": tr.AffineTransform(loc, scale, event_dim=1),
        "affine-number": tr.AffineTransform(1.0, -3.0),
        "exp": tr.ExpTransform(),
        "sigmoid": tr.SigmoidTransform(),
        "tanh": tr.TanhTransform(),
        "power": tr.PowerTransform(lib.tensor(2.5, dtype=lib.float64)),
        "compose": tr.ComposeTransform(
            [tr.AffineTransform(loc, scale), tr.TanhTransform(), tr.AffineTransform(1.0, 2.0, event_dim=1)]
        ),
        "inverse": tr.ExpTransform().inv,
        "softmax": tr.SoftmaxTransform(),
        "softplus": tr.SoftplusTransform(),
        "stick-breaking": tr.StickBreakingTransform(),
        "cat": tr.CatTransform([tr.ExpTransform(), tr.AffineTransform(1.0, 2.0)], -1, [1, 2]),
        "stack": tr.StackTransform([tr.ExpTransform(), tr.SigmoidTransform(), tr.TanhTransform()], -1),
        "corr-cholesky": tr.CorrCholeskyTransform(),
        "cdf": tr.CumulativeDistributionTransform(lib.distributions.Normal(loc[0], scale[0])),
    }


@pytest.mark.parametrize("key", list(_transforms(chainrule)))
def test_transforms_match_pytorch(key):
    ours, ref = _transforms(chainrule)[key], _transforms(torch)[key]
    rng = np.random.default_rng(3)
    x = rng.standard_normal((4, 3)) * 0.8
    if key in ("power", "inverse"):
        x = np.exp(x)
    if key == "stick-breaking":
        assert ours.forward_shape((4, 3)) == tuple(ref.forward_shape((4, 3)))
    xc = chainrule.tensor(x, requires_grad=True)
    xt = torch.tensor(x, requires_grad=True)
    y, yt = ours(xc), ref(xt)
    np.testing.assert_allclose(_np(y), _np(yt), rtol=1e-12)
    assert ours.domain.event_dim == ref.domain.event_dim
    assert ours.codomain.event_dim == ref.codomain.event_dim
    if key != "softmax":
        np.testing.assert_allclose(_np(ours.inv(y)), _np(ref.inv(yt)), rtol=1e-9, atol=1e-12)
        ladj, ladj_t = ours.log_abs_det_jacobian(xc, y), ref.log_abs_det_jacobian(xt, yt)
        np.testing.assert_allclose(_np(ladj), _np(ladj_t), rtol=1e-9, atol=1e-12)
        (ladj.sum() + y.sum()).backward()
        (ladj_t.sum() + yt.sum()).backward()
        np.testing.assert_allclose(xc.grad.numpy(), xt.grad.numpy(), rtol=1e-9, atol=1e-12)
        assert ours.inv.inv is ours and ours.bijective == ref.bijective
    if key not in ("power", "compose", "affine", "affine-event", "inverse", "cat", "stack", "cdf"):
        assert ours == _transforms(chainrule)[key]  # equal by class


def test_transform_cache_returns_the_same_tensor():
    t = transforms.ExpTransform().with_cache(1)
    x = chainrule.tensor([0.5, 1.0])
    y = t(x)
    assert t(x) is y and t.inv(y) is x
    with pytest.raises(ValueError):
        transforms.ExpTransform(cache_size=2)


def test_normal_icdf_and_multinomial_entropy_gradients():
    loc = chainrule.tensor([0.3, -1.0], requires_grad=True)
    loc_t = torch.tensor([0.3, -1.0], requires_grad=True)
    p = np.array([0.05, 0.5])
    ours = D.Normal(loc, 2.0).icdf(chainrule.tensor(p))
    ref = torch.distributions.Normal(loc_t, 2.0).icdf(torch.tensor(p))
    np.testing.assert_allclose(_np(ours), _np(ref), rtol=1e-12)
    probs = chainrule.tensor([[0.2, 0.3, 0.5]], dtype=chainrule.float64, requires_grad=True)
    probs_t = torch.tensor([[0.2, 0.3, 0.5]], dtype=torch.float64, requires_grad=True)
    D.Multinomial(5, probs).entropy().sum().backward()
    torch.distributions.Multinomial(5, probs_t).entropy().sum().backward()
    np.testing.assert_allclose(probs.grad.numpy(), probs_t.grad.numpy(), rtol=1e-7)


def test_enumerate_support_matches_pytorch():
    for name in ("Binomial", "OneHotCategorical", "Bernoulli"):
        if name == "Bernoulli":
            p = [[0.3, 0.6, 0.1], [0.5, 0.5, 0.9]]
            ours, ref = D.Bernoulli(chainrule.tensor(p)), torch.distributions.Bernoulli(torch.tensor(p))
        else:
            ours, _ = make(chainrule, name)
            ref, _ = make(torch, name)
        assert ours.has_enumerate_support == ref.has_enumerate_support
        if name == "Binomial":
            ours, ref = D.Binomial(4, ours.probs), torch.distributions.Binomial(4, ref.probs)
        for expand in (True, False):
            np.testing.assert_array_equal(
                ours.enumerate_support(expand).numpy(), ref.enumerate_support(expand).numpy()
            )


@pytest.mark.parametrize("name", NAMES + ["Bernoulli", "Categorical"])
def test_arg_constraints_and_support_are_pytorchs(name):
    if name in ("Bernoulli", "Categorical"):
        p = [[0.2, 0.8], [0.5, 0.5]]
        ours = getattr(D, name)(chainrule.tensor(p, dtype=chainrule.float64))
        ref = getattr(torch.distributions, name)(torch.tensor(p, dtype=torch.float64))
    else:
        ours, ref = make(chainrule, name)[0], make(torch, name)[0]
    assert set(ours.arg_constraints) == set(ref.arg_constraints)
    for key, constraint in ours.arg_constraints.items():
        assert isinstance(constraint, constraints.Constraint), key
        if key in ours.__dict__ and not constraints.is_dependent(constraint):
            assert bool(constraint.check(ours.__dict__[key]).all())
    assert ours.support.event_dim == ref.support.event_dim
    assert ours.support.is_discrete == ref.support.is_discrete


@pytest.mark.parametrize("key", ["lower-cholesky", "positive-definite"])
def test_matrix_transforms_match_pytorch(key):
    x = np.random.default_rng(1).standard_normal((2, 3, 3))
    ours = getattr(
        transforms, "LowerCholeskyTransform" if key == "lower-cholesky" else "PositiveDefiniteTransform"
    )()
    ref = getattr(torch.distributions.transforms, type(ours).__name__)()
    xc, xt = chainrule.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    y, yt = ours(xc), ref(xt)
    np.testing.assert_allclose(_np(y), _np(yt), rtol=1e-12)
    np.testing.assert_allclose(_np(ours.inv(y)), _np(ref.inv(yt)), rtol=1e-9, atol=1e-12)
    y.sum().backward()
    yt.sum().backward()
    np.testing.assert_allclose(xc.grad.numpy(), xt.grad.numpy(), rtol=1e-12)


def _constraints(lib):
    c = lib.distributions.constraints
    return {
        "real": c.real, "positive": c.positive, "nonnegative": c.nonnegative,
        "greater_than": c.greater_than(1.5), "less_than": c.less_than(-0.5),
        "unit_interval": c.unit_interval, "interval": c.interval(-1.0, 3.0),
        "simplex": c.simplex, "real_vector": c.real_vector,
        "independent-positive": c.independent(c.positive, 1),
        "cat": c.cat([c.positive, c.real], -1, [1, 2]),
        "stack": c.stack([c.positive, c.unit_interval, c.real], -1),
    }  # fmt: skip


@pytest.mark.parametrize("key", list(_constraints(torch)))
@pytest.mark.parametrize("registry", ["biject_to", "transform_to"])
def test_constraint_registry_matches_pytorch(key, registry):
    ours = getattr(D, registry)(_constraints(chainrule)[key])
    ref = getattr(torch.distributions, registry)(_constraints(torch)[key])
    x = np.random.default_rng(2).standard_normal((4, 3))
    y, yt = ours(chainrule.tensor(x)), ref(torch.tensor(x))
    np.testing.assert_allclose(_np(y), _np(yt), rtol=1e-12, atol=1e-14)
    assert bool(_constraints(chainrule)[key].check(y).all())
    if registry == "biject_to":
        ladj = ours.log_abs_det_jacobian(chainrule.tensor(x), y)
        np.testing.assert_allclose(
            _np(ladj), _np(ref.log_abs_det_jacobian(torch.tensor(x), yt)), rtol=1e-9, atol=1e-12
        )
        np.testing.assert_allclose(_np(ours.inv(y)), x, rtol=1e-9, atol=1e-9)
    with pytest.raises(NotImplementedError):
        D.biject_to(constraints.lower_triangular)


def test_utils_match_pytorch():
    from chainrule.distributions import utils

    tu = torch.distributions.utils
    x = np.random.default_rng(4).standard_normal((3, 4))
    for binary in (True, False):
        np.testing.assert_allclose(
            _np(utils.logits_to_probs(chainrule.tensor(x), binary)),
            _np(tu.logits_to_probs(torch.tensor(x), binary)),
            rtol=1e-12,
        )
    m = chainrule.tensor(np.arange(16.0).reshape(4, 4))
    for diag in (-1, 0, 1):
        v = utils.tril_matrix_to_vec(m, diag)
        assert v.tolist() == tu.tril_matrix_to_vec(torch.arange(16.0).reshape(4, 4), diag).tolist()
        back = utils.vec_to_tril_matrix(v, diag)
        assert back.tolist() == tu.vec_to_tril_matrix(torch.tensor(v.numpy()), diag).tolist()
    assert utils.euler_constant == tu.euler_constant

    class Thing:
        calls = 0

        @utils.lazy_property
        def value(self):
            Thing.calls += 1
            return 42

    t = Thing()
    assert t.value == 42 and t.value == 42 and Thing.calls == 1


def test_every_public_torch_distributions_name_is_provided():
    for ref_module, ours in [
        (torch.distributions, D),
        (torch.distributions.transforms, transforms),
        (torch.distributions.constraints, constraints),
    ]:
        missing = [n for n in ref_module.__all__ if not hasattr(ours, n)]
        assert not missing, f"{ref_module.__name__} names not provided: {missing}"


@pytest.mark.parametrize("name", NAMES)
def test_empty_batches(name):
    ours, _ = make(chainrule, name)
    shape = (0,) + tuple(ours.batch_shape)
    empty = ours.expand(shape)
    s = empty.sample((2,))
    assert tuple(s.shape) == (2,) + shape + tuple(ours.event_shape)
    assert tuple(empty.log_prob(s).shape) == (2,) + shape
    if empty.has_rsample:
        assert tuple(empty.rsample((2,)).shape) == tuple(s.shape)
    try:
        assert tuple(empty.entropy().shape) == shape
    except NotImplementedError:
        pass


@pytest.mark.parametrize("name", NAMES)
def test_float32_keeps_its_dtype_and_matches_pytorch(name):
    ours, value = make(chainrule, name, dtype=np.float32)
    ref, ref_value = make(torch, name, dtype=np.float32)
    for method in METHODS:
        try:
            want = _call(ref, method, ref_value, torch)
        except (NotImplementedError, RuntimeError):  # RuntimeError: PyTorch's own float32 limits
            continue
        got = _call(ours, method, value, chainrule)
        assert _np(got).dtype == _np(want).dtype, method
        # float32 rounding, with cancellation in e.g. ContinuousBernoulli's variance
        np.testing.assert_allclose(_np(got), _np(want), rtol=1e-4, atol=1e-6, equal_nan=True, err_msg=method)
    assert _np(ours.sample((3,))).dtype == _np(ref.sample((3,))).dtype
