"""The negative binomial distribution: failures before ``total_count`` successes."""

from __future__ import annotations

from typing import Any

from .._tensor import Tensor, wrap
from ..autograd.grad_mode import no_grad
from ..ops import logsigmoid
from ..ops.special_functions import lgamma
from ..random import rng
from . import constraints
from .bernoulli import probs_to_logits
from .distribution import _ProbsOrLogits, broadcast_all
from .gamma import Gamma

__all__ = ["NegativeBinomial"]


class NegativeBinomial(_ProbsOrLogits):
    """``NegativeBinomial(total_count, probs=None, logits=None)``; ``probs`` is the success
    probability of each Bernoulli trial, as in PyTorch.  Samples are drawn as Poisson counts
    with a Gamma-distributed rate."""

    arg_constraints = {
        "total_count": constraints.greater_than_eq(0),
        "probs": constraints.half_open_interval(0.0, 1.0),
        "logits": constraints.real,
    }
    support = constraints.nonnegative_integer

    def __init__(
        self, total_count: Any, probs: Any = None, logits: Any = None, validate_args: bool | None = None
    ) -> None:
        given, param = self._given(probs, logits)
        total, param = broadcast_all(total_count, param)
        self.total_count = total.to(param.dtype)
        setattr(self, given, param)
        self._param = param
        super().__init__(param.shape, (), validate_args)

    def _probs_from(self, logits: Tensor) -> Tensor:
        return logits.sigmoid()

    def _logits_from(self, probs: Tensor) -> Tensor:
        return probs_to_logits(probs, is_binary=True)

    @property
    def param_shape(self) -> Any:
        return self._param.shape

    @property
    def mean(self) -> Tensor:
        return self.total_count * self.logits.exp()

    @property
    def mode(self) -> Tensor:
        return ((self.total_count - 1) * self.logits.exp()).floor().clamp(min=0.0)

    @property
    def variance(self) -> Tensor:
        return self.mean / (-self.logits).sigmoid()

    @property
    def _gamma(self) -> Gamma:
        return Gamma(self.total_count, (-self.logits).exp(), validate_args=False)

    def sample(self, sample_shape: Any = ()) -> Tensor:
        with no_grad():
            rate = self._gamma.sample(sample_shape)._data
            return wrap(rng().poisson(rate).astype(rate.dtype))

    def log_prob(self, value: Any) -> Tensor:
        value = self._checked(value)
        n, logits = self.total_count, self.logits
        log_unnormalized = n * logsigmoid(-logits) + value * logsigmoid(logits)
        log_normalization = -lgamma(n + value) + lgamma(1.0 + value) + lgamma(n)
        log_normalization = log_normalization.masked_fill(n + value == 0.0, 0.0)
        return log_unnormalized - log_normalization
