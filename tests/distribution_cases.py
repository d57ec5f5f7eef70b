"""Shared distribution cases for the distribution tests: the same parameters built in
chainrule and in PyTorch, with values inside each support to evaluate densities at."""

from __future__ import annotations

import numpy as np


def _pos(rng, *shape):
    return np.exp(rng.standard_normal(shape) * 0.5)


def _probs(rng, *shape):
    return 1 / (1 + np.exp(-rng.standard_normal(shape)))


def _simplex(rng, *shape):
    p = _pos(rng, *shape)
    return p / p.sum(-1, keepdims=True)


def make(lib, name, seed=0, dtype=np.float64):
    """``(distribution, value)`` for case ``name`` built with ``lib`` (chainrule or torch)."""
    rng = np.random.default_rng(seed)
    D, T = lib.distributions, lib.tensor
    t = lambda a: T(np.asarray(a, dtype=dtype))  # noqa: E731
    tr = D.transforms if hasattr(D, "transforms") else D
    if name == "Uniform":
        lo = rng.standard_normal((2, 3))
        hi = lo + _pos(rng, 2, 3)
        return D.Uniform(t(lo), t(hi)), t(lo + (hi - lo) * rng.random((4, 2, 3)))
    if name == "Exponential":
        return D.Exponential(t(_pos(rng, 2, 3))), t(_pos(rng, 4, 2, 3))
    if name == "Laplace":
        return D.Laplace(t(rng.standard_normal(3)), t(_pos(rng, 2, 3))), t(rng.standard_normal((4, 2, 3)))
    if name == "Cauchy":
        return D.Cauchy(t(rng.standard_normal(3)), t(_pos(rng, 2, 3))), t(rng.standard_normal((4, 2, 3)))
    if name == "Normal":
        return D.Normal(t(rng.standard_normal(3)), t(_pos(rng, 2, 3))), t(rng.standard_normal((4, 2, 3)))
    if name == "Gamma":
        return D.Gamma(t(_pos(rng, 2, 3) * 2), t(_pos(rng, 2, 3))), t(_pos(rng, 4, 2, 3))
    if name == "Chi2":
        return D.Chi2(t(_pos(rng, 2, 3) * 3)), t(_pos(rng, 4, 2, 3))
    if name == "Beta":
        return D.Beta(t(_pos(rng, 2, 3) * 2), t(_pos(rng, 2, 3) * 2)), t(_probs(rng, 4, 2, 3))
    if name == "Dirichlet":
        return D.Dirichlet(t(_pos(rng, 2, 4) * 2)), t(_simplex(rng, 3, 2, 4))
    if name == "StudentT":  # df below 1, between 1 and 2, and above 2: NaN/inf moments
        df = np.array([0.7, 1.5, 3.0, 6.0, 12.0, 2.5])
        return D.StudentT(t(df), t(rng.standard_normal(6)), t(_pos(rng, 6))), t(rng.standard_normal((4, 6)))
    if name == "LogNormal":
        return D.LogNormal(t(rng.standard_normal(3)), t(_pos(rng, 2, 3) * 0.5)), t(_pos(rng, 4, 2, 3))
    if name == "Poisson":
        return D.Poisson(t(_pos(rng, 2, 3) * 3)), t(rng.integers(0, 8, (4, 2, 3)))
    if name == "Binomial":
        n = rng.integers(1, 10, (2, 3)).astype(float)
        return D.Binomial(t(n), probs=t(_probs(rng, 2, 3))), t(np.floor(n * rng.random((4, 2, 3))))
    if name == "Binomial-logits":
        return D.Binomial(8, logits=t(rng.standard_normal((2, 3)))), t(rng.integers(0, 9, (4, 2, 3)))
    if name == "Geometric":
        return D.Geometric(t(_probs(rng, 2, 3))), t(rng.integers(0, 6, (4, 2, 3)))
    if name == "Geometric-logits":
        return D.Geometric(logits=t(rng.standard_normal((2, 3)))), t(rng.integers(0, 6, (4, 2, 3)))
    if name == "OneHotCategorical":
        idx = rng.integers(0, 4, (3, 2))
        return D.OneHotCategorical(t(_simplex(rng, 2, 4))), t(np.eye(4)[idx])
    if name == "RelaxedBernoulli":
        return D.RelaxedBernoulli(t(0.7), probs=t(_probs(rng, 2, 3))), t(_probs(rng, 4, 2, 3))
    if name == "LogitRelaxedBernoulli":
        return D.relaxed_bernoulli.LogitRelaxedBernoulli(t(1.3), logits=t(rng.standard_normal((2, 3)))), t(
            rng.standard_normal((4, 2, 3))
        )
    if name == "Multinomial":
        probs = _simplex(rng, 2, 4)
        return D.Multinomial(6, t(probs)), t(rng.multinomial(6, probs[0], (3, 2)))
    if name == "Independent":
        base = D.Normal(t(rng.standard_normal((2, 3))), t(_pos(rng, 2, 3)))
        return D.Independent(base, 1), t(rng.standard_normal((4, 2, 3)))
    if name == "MixtureSameFamily":
        mix = D.Categorical(t(_simplex(rng, 2, 5)))
        comp = D.Normal(t(rng.standard_normal((2, 5))), t(_pos(rng, 2, 5)))
        return D.MixtureSameFamily(mix, comp), t(rng.standard_normal((4, 2)))
    if name == "MixtureSameFamily-Independent":
        mix = D.Categorical(t(_simplex(rng, 3)))
        comp = D.Independent(D.Normal(t(rng.standard_normal((3, 2))), t(_pos(rng, 3, 2))), 1)
        return D.MixtureSameFamily(mix, comp), t(rng.standard_normal((4, 2)))
    if name == "Transformed-affine-tanh":
        base = D.Normal(t(rng.standard_normal(3)), t(_pos(rng, 3)))
        parts = [tr.AffineTransform(t(rng.standard_normal(3)), t(_pos(rng, 3))), tr.TanhTransform()]
        return D.TransformedDistribution(base, parts), t(np.tanh(rng.standard_normal((4, 3))))
    if name == "Transformed-compose-sigmoid":
        base = D.Laplace(t(rng.standard_normal((2, 3))), t(_pos(rng, 2, 3)))
        parts = tr.ComposeTransform([tr.AffineTransform(0.5, -2.0), tr.SigmoidTransform()])
        return D.TransformedDistribution(base, parts), t(_probs(rng, 4, 2, 3))
    if name == "Transformed-event":  # an affine map over vectors: event_dim 1
        base = D.Normal(t(rng.standard_normal((2, 3))), t(_pos(rng, 2, 3)))
        parts = [
            tr.AffineTransform(t(rng.standard_normal(3)), t(_pos(rng, 3)), event_dim=1),
            tr.ExpTransform(),
        ]
        return D.TransformedDistribution(base, parts), t(_pos(rng, 4, 2, 3))
    if name in ("HalfNormal", "HalfCauchy"):
        return getattr(D, name)(t(_pos(rng, 2, 3))), t(_pos(rng, 4, 2, 3))
    if name == "Gumbel":
        return D.Gumbel(t(rng.standard_normal(3)), t(_pos(rng, 2, 3))), t(rng.standard_normal((4, 2, 3)))
    if name == "Pareto":
        scale = _pos(rng, 2, 3)
        return D.Pareto(t(scale), t(4.5 + _pos(rng, 2, 3) * 2)), t(scale + _pos(rng, 4, 2, 3))
    if name == "Weibull":
        return D.Weibull(t(_pos(rng, 2, 3)), t(_pos(rng, 2, 3) * 2)), t(_pos(rng, 4, 2, 3))
    if name == "InverseGamma":
        return D.InverseGamma(t(_pos(rng, 2, 3) * 4), t(_pos(rng, 2, 3))), t(_pos(rng, 4, 2, 3))
    if name == "NegativeBinomial":
        return D.NegativeBinomial(t(_pos(rng, 2, 3) * 3), t(_probs(rng, 2, 3) * 0.8)), t(
            rng.integers(0, 9, (4, 2, 3))
        )
    if name == "NegativeBinomial-logits":
        return D.NegativeBinomial(4.0, logits=t(rng.standard_normal((2, 3)) * 0.5)), t(
            rng.integers(0, 9, (4, 2, 3))
        )
    if name == "RelaxedOneHotCategorical":
        return D.RelaxedOneHotCategorical(t(0.6), t(_simplex(rng, 2, 4))), t(_simplex(rng, 3, 2, 4))
    if name == "Kumaraswamy":
        return D.Kumaraswamy(t(_pos(rng, 2, 3) * 2), t(_pos(rng, 2, 3) * 2)), t(_probs(rng, 4, 2, 3))
    if name == "LogisticNormal":
        return D.LogisticNormal(t(rng.standard_normal((2, 3))), t(_pos(rng, 2, 3))), t(_simplex(rng, 5, 2, 4))
    if name == "FisherSnedecor":
        return D.FisherSnedecor(t(_pos(rng, 2, 3) * 5), t(9 + _pos(rng, 2, 3) * 5)), t(_pos(rng, 4, 2, 3))
    if name == "ContinuousBernoulli":  # one entry inside the Taylor region around 1/2
        probs = _probs(rng, 2, 3)
        probs[0, 0] = 0.4995
        return D.ContinuousBernoulli(t(probs)), t(_probs(rng, 4, 2, 3))
    if name == "ContinuousBernoulli-logits":
        return D.ContinuousBernoulli(logits=t(rng.standard_normal((2, 3)))), t(_probs(rng, 4, 2, 3))
    if name == "VonMises":
        kappa = np.array([0.3, 1.0, 4.0, 20.0, 1e-6, 2.5])
        return D.VonMises(t(rng.standard_normal(6)), t(kappa)), t(rng.uniform(-3, 3, (4, 6)))
    if name == "GeneralizedPareto":  # heavy, exponential (0) and bounded tails
        conc = np.array([[0.2, 0.0, -0.3], [0.1, -0.1, 0.3]])
        scale = _pos(rng, 2, 3)
        loc = rng.standard_normal(3)
        value = loc + 0.5 * scale * _probs(rng, 4, 2, 3)  # inside every support
        f = lambda a: lib.tensor(np.asarray(a, dtype=np.float32))  # noqa: E731
        # float32: PyTorch 2.13's log_prob fails on float64 (isclose against a float32 zero)
        return D.GeneralizedPareto(f(loc), f(scale), f(conc)), f(value)
    if name == "LKJCholesky":
        A = rng.standard_normal((4, 2, 3, 3))
        cov = A @ np.swapaxes(A, -1, -2) + 0.3 * np.eye(3)
        d = np.sqrt(np.diagonal(cov, axis1=-2, axis2=-1))
        L = np.linalg.cholesky(cov / d[..., :, None] / d[..., None, :])
        return D.LKJCholesky(3, t(np.array([0.5, 2.0]))), t(L)
    if name.startswith("Wishart"):
        A, B = rng.standard_normal((2, 3, 3)), rng.standard_normal((4, 2, 3, 3))
        cov = A @ np.swapaxes(A, -1, -2) + 0.5 * np.eye(3)
        value = t(B @ np.swapaxes(B, -1, -2) + 0.5 * np.eye(3))
        df = t(np.array([3.5, 7.0]))
        if name.endswith("precision"):
            return D.Wishart(df, precision_matrix=t(np.linalg.inv(cov))), value
        return D.Wishart(df, covariance_matrix=t(cov)), value
    if name.startswith("MultivariateNormal"):
        A = rng.standard_normal((2, 3, 3))
        cov = A @ np.swapaxes(A, -1, -2) + 0.5 * np.eye(3)
        loc, value = t(rng.standard_normal((4, 1, 3))), t(rng.standard_normal((5, 4, 2, 3)))
        if name.endswith("cov"):
            return D.MultivariateNormal(loc, covariance_matrix=t(cov)), value
        if name.endswith("precision"):
            return D.MultivariateNormal(loc, precision_matrix=t(np.linalg.inv(cov))), value
        return D.MultivariateNormal(loc, scale_tril=t(np.linalg.cholesky(cov))), value
    if name == "LowRankMultivariateNormal":
        W, d = rng.standard_normal((2, 4, 2)), _pos(rng, 4)
        value = t(rng.standard_normal((3, 2, 4)))
        return D.LowRankMultivariateNormal(t(rng.standard_normal(4)), t(W), t(d)), value
    raise KeyError(name)


NAMES = [
    "Uniform", "Exponential", "Laplace", "Cauchy", "Normal", "Gamma", "Chi2", "Beta",
    "Dirichlet", "StudentT", "LogNormal", "Poisson", "Binomial", "Binomial-logits", "Geometric",
    "Geometric-logits", "OneHotCategorical", "RelaxedBernoulli", "LogitRelaxedBernoulli",
    "Multinomial", "Independent", "MixtureSameFamily", "MixtureSameFamily-Independent",
    "Transformed-affine-tanh", "Transformed-compose-sigmoid", "Transformed-event",
    "MultivariateNormal-cov", "MultivariateNormal-precision", "MultivariateNormal-tril",
    "LowRankMultivariateNormal", "HalfNormal", "HalfCauchy", "Gumbel", "Pareto", "Weibull",
    "InverseGamma", "NegativeBinomial", "NegativeBinomial-logits", "RelaxedOneHotCategorical",
    "Kumaraswamy", "LogisticNormal", "FisherSnedecor", "ContinuousBernoulli",
    "ContinuousBernoulli-logits", "VonMises", "GeneralizedPareto", "LKJCholesky",
    "Wishart", "Wishart-precision",
]  # fmt: skip


def make_for_kl(lib, cls_name, seed, leaves=None):
    """A distribution of class ``cls_name`` with batch shape (5,) for the KL tests.

    Uniforms and Betas sit inside [0, 1] so that pairs with bounded supports are finite.
    With a list ``leaves``, parameters require grad and are appended to it.
    """
    rng = np.random.default_rng(seed)
    D = lib.distributions

    def t(a):
        leaf = lib.tensor(np.asarray(a, dtype=np.float64), requires_grad=leaves is not None)
        if leaves is not None:
            leaves.append(leaf)
        return leaf

    n = 5
    if cls_name == "Uniform":
        lo = rng.random(n) * 0.4
        return D.Uniform(t(lo), t(lo + 0.1 + rng.random(n) * 0.4))
    if cls_name in ("Normal", "Laplace", "Cauchy"):
        return getattr(D, cls_name)(t(rng.standard_normal(n)), t(_pos(rng, n)))
    if cls_name in ("Exponential", "Poisson"):
        return getattr(D, cls_name)(t(_pos(rng, n)))
    if cls_name in ("Gamma", "Beta"):
        return getattr(D, cls_name)(t(_pos(rng, n) * 2), t(_pos(rng, n)))
    if cls_name == "Dirichlet":
        return D.Dirichlet(t(_pos(rng, n, 3) * 2))
    if cls_name in ("Bernoulli", "Geometric"):
        return getattr(D, cls_name)(t(_probs(rng, n)))
    if cls_name == "Binomial":
        return D.Binomial(t(np.full(n, 7.0)), t(_probs(rng, n)))
    if cls_name in ("Categorical", "OneHotCategorical"):
        return getattr(D, cls_name)(t(_simplex(rng, n, 4)))
    if cls_name == "Independent":
        return D.Independent(D.Normal(t(rng.standard_normal((n, 3))), t(_pos(rng, n, 3))), 1)
    if cls_name == "Gumbel":
        return D.Gumbel(t(rng.standard_normal(n)), t(_pos(rng, n)))
    if cls_name == "HalfNormal":
        return D.HalfNormal(t(_pos(rng, n)))
    if cls_name == "Pareto":
        return D.Pareto(t(_pos(rng, n) * 0.5), t(2.5 + _pos(rng, n)))
    if cls_name == "ContinuousBernoulli":
        return D.ContinuousBernoulli(t(_probs(rng, n)))
    if cls_name == "MultivariateNormal":
        A = rng.standard_normal((n, 3, 3))
        return D.MultivariateNormal(
            t(rng.standard_normal((n, 3))), t(A @ np.swapaxes(A, -1, -2) + 0.5 * np.eye(3))
        )
    if cls_name == "LowRankMultivariateNormal":
        return D.LowRankMultivariateNormal(
            t(rng.standard_normal((n, 3))), t(rng.standard_normal((n, 3, 2))), t(_pos(rng, n, 3))
        )
    if cls_name == "TransformedDistribution":
        return D.LogNormal(t(rng.standard_normal(n)), t(_pos(rng, n)))
    raise KeyError(cls_name)
