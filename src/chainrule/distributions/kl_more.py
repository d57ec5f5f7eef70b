"""KL divergences involving Gumbel, HalfNormal, Pareto and ContinuousBernoulli, as PyTorch's."""

from __future__ import annotations

import math
from typing import Any, Callable

import numpy as np

from .._tensor import Tensor, wrap
from ..ops import where
from ..ops.special_functions import lgamma, xlogy
from .beta import Beta
from .continuous_bernoulli import ContinuousBernoulli
from .exponential import Exponential
from .gamma import Gamma
from .gumbel import Gumbel
from .half_normal import HalfNormal
from .laplace import Laplace
from .normal import Normal
from .pareto import Pareto
from .uniform import Uniform

__all__ = ["register_more"]

_EULER = 0.57721566490153286060


def _inf_where(mask: Any, value: Tensor) -> Tensor:
    return where(mask, math.inf, value)


def _kl_cb_cb(p: Any, q: Any) -> Tensor:
    t1 = p.mean * (p.logits - q.logits)
    t2 = p._cont_bern_log_norm() + (-p.probs).log1p()
    return t1 + t2 - q._cont_bern_log_norm() - (-q.probs).log1p()


def _kl_gumbel_gumbel(p: Any, q: Any) -> Tensor:
    ct1, ct2, ct3 = p.scale / q.scale, q.loc / q.scale, p.loc / q.scale
    t3 = (ct2 + lgamma(1 + ct1) - ct3).exp()
    return -ct1.log() - ct2 + ct3 + ct1 * _EULER + t3 - (1 + _EULER)


def _kl_halfnormal_halfnormal(p: Any, q: Any) -> Tensor:
    var_ratio = (p.scale / q.scale).pow(2)
    return 0.5 * (var_ratio - 1 - var_ratio.log())  # the Normal pair with equal (zero) means


def _kl_pareto_pareto(p: Any, q: Any) -> Tensor:
    alpha_ratio = q.alpha / p.alpha
    result = q.alpha * (p.scale / q.scale).log() - alpha_ratio.log() + alpha_ratio - 1
    return _inf_where(p.scale < q.scale, result)


def _kl_beta_cb(p: Any, q: Any) -> Tensor:
    return -p.entropy() - p.mean * q.logits - (-q.probs).log1p() - q._cont_bern_log_norm()


def _kl_cb_exponential(p: Any, q: Any) -> Tensor:
    return -p.entropy() - q.rate.log() + q.rate * p.mean


def _kl_cb_normal(p: Any, q: Any) -> Tensor:
    t2 = 0.5 * (math.log(2.0 * math.pi) + (q.loc / q.scale).square()) + q.scale.log()
    t3 = (p.variance + p.mean.square() - 2.0 * q.loc * p.mean) / (2.0 * q.scale.square())
    return -p.entropy() + t2 + t3


def _kl_cb_uniform(p: Any, q: Any) -> Tensor:
    result = -p.entropy() + (q.high - q.low).log()
    return _inf_where((q.low >= 0.0) | (q.high <= 1.0), result)


def _kl_exponential_gumbel(p: Any, q: Any) -> Tensor:
    prod = p.rate * q.scale
    ratio = q.loc / q.scale
    return prod.log() - 1 - ratio + ratio.exp() * prod / (prod + 1) + prod.reciprocal()


def _kl_gamma_gumbel(p: Any, q: Any) -> Tensor:
    a = p.concentration
    prod = p.rate * q.scale
    ratio = q.loc / q.scale
    t1 = (a - 1) * a.digamma() - lgamma(a) - a
    t3 = ratio.exp() * (1 + prod.reciprocal()).pow(-a) - ratio
    return t1 + prod.log() + a / prod + t3


def _kl_gumbel_normal(p: Any, q: Any) -> Tensor:
    ratio = p.scale / q.scale
    t1 = (ratio / math.sqrt(2 * math.pi)).log()
    t2 = (math.pi * ratio * 0.5).pow(2) / 3
    t3 = ((p.loc + p.scale * _EULER - q.loc) / q.scale).pow(2) * 0.5
    return -t1 + t2 + t3 - (_EULER + 1)


def _kl_normal_gumbel(p: Any, q: Any) -> Tensor:
    mean_ratio = p.loc / q.scale
    var_ratio = (p.scale / q.scale).pow(2)
    loc_ratio = q.loc / q.scale
    t3 = (-mean_ratio + 0.5 * var_ratio + loc_ratio).exp()
    return -0.5 * var_ratio.log() + mean_ratio - loc_ratio + t3 - 0.5 * (1 + math.log(2 * math.pi))


def _kl_pareto_exponential(p: Any, q: Any) -> Tensor:
    prod = p.scale * q.rate
    result = (p.alpha / prod).log() - p.alpha.reciprocal() + p.alpha * prod / (p.alpha - 1) - 1
    return _inf_where(p.alpha <= 1, result)


def _kl_pareto_gamma(p: Any, q: Any) -> Tensor:
    common = p.scale.log() + p.alpha.reciprocal()
    t2 = lgamma(q.concentration) - q.concentration * q.rate.log()
    t4 = q.rate * p.alpha * p.scale / (p.alpha - 1)
    result = p.alpha.log() - common + t2 + (1 - q.concentration) * common + t4 - 1
    return _inf_where(p.alpha <= 1, result)


def _kl_pareto_normal(p: Any, q: Any) -> Tensor:
    var = 2 * q.scale.pow(2)
    common = p.scale / (p.alpha - 1)
    t1 = (math.sqrt(2 * math.pi) * q.scale * p.alpha / p.scale).log()
    t3 = p.alpha * common.pow(2) / (p.alpha - 2)
    t4 = (p.alpha * common - q.loc).pow(2)
    return _inf_where(p.alpha <= 2, t1 - p.alpha.reciprocal() + (t3 + t4) / var - 1)


def _kl_uniform_cb(p: Any, q: Any) -> Tensor:
    result = -p.entropy() - p.mean * q.logits - (-q.probs).log1p() - q._cont_bern_log_norm()
    return _inf_where((p.high >= 1.0) | (p.low <= 0.0), result)


def _kl_uniform_gumbel(p: Any, q: Any) -> Tensor:
    common = q.scale / (p.high - p.low)
    high, low = (p.high - q.loc) / q.scale, (p.low - q.loc) / q.scale
    return common.log() + 0.5 * (high + low) - common * ((-high).exp() - (-low).exp())


def _kl_uniform_pareto(p: Any, q: Any) -> Tensor:
    width = p.high - p.low
    t1 = (q.alpha * q.scale.pow(q.alpha) * width).log()
    t2 = (xlogy(p.high, p.high) - xlogy(p.low, p.low) - width) / width
    return _inf_where(p.low < q.scale, t2 * (q.alpha + 1) - t1)


def _infinite(p: Any, q: Any) -> Tensor:
    shape = np.broadcast_shapes(tuple(p.batch_shape), tuple(q.batch_shape))
    return wrap(np.full(shape, np.inf, dtype=p._param._data.dtype))


def register_more(register_kl: Callable) -> None:
    """Add these pairs to ``kl_divergence``'s registry."""
    CB = ContinuousBernoulli
    rules = {
        (CB, CB): _kl_cb_cb, (Gumbel, Gumbel): _kl_gumbel_gumbel,
        (HalfNormal, HalfNormal): _kl_halfnormal_halfnormal, (Pareto, Pareto): _kl_pareto_pareto,
        (Beta, CB): _kl_beta_cb, (CB, Exponential): _kl_cb_exponential, (CB, Normal): _kl_cb_normal,
        (CB, Uniform): _kl_cb_uniform, (Exponential, Gumbel): _kl_exponential_gumbel,
        (Gamma, Gumbel): _kl_gamma_gumbel, (Gumbel, Normal): _kl_gumbel_normal,
        (Normal, Gumbel): _kl_normal_gumbel, (Pareto, Exponential): _kl_pareto_exponential,
        (Pareto, Gamma): _kl_pareto_gamma, (Pareto, Normal): _kl_pareto_normal,
        (Uniform, CB): _kl_uniform_cb, (Uniform, Gumbel): _kl_uniform_gumbel,
        (Uniform, Pareto): _kl_uniform_pareto,
    }  # fmt: skip
    infinite = [
        (Beta, Pareto), (CB, Pareto), (Exponential, CB), (Exponential, Pareto), (Gamma, CB),
        (Gamma, Pareto), (Gumbel, Beta), (Gumbel, CB), (Gumbel, Exponential), (Gumbel, Gamma),
        (Gumbel, Pareto), (Gumbel, Uniform), (Laplace, CB), (Laplace, Pareto), (Normal, CB),
        (Normal, Pareto), (Pareto, Beta), (Pareto, CB), (Pareto, Uniform),
    ]  # fmt: skip
    for pair, rule in rules.items():
        register_kl(*pair)(rule)
    for pair in infinite:
        register_kl(*pair)(_infinite)
