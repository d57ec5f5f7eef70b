"""The binomial distribution: successes in ``total_count`` Bernoulli trials."""

from __future__ import annotations

from typing import Any

import numpy as np

from .._tensor import Tensor, wrap
from ..autograd.grad_mode import no_grad
from ..ops.special_functions import lgamma
from ..random import rng
from . import constraints
from .bernoulli import probs_to_logits
from .distribution import _ProbsOrLogits, broadcast_all

__all__ = ["Binomial"]


def _clamp_by_zero(x: Tensor) -> Tensor:
    """``max(x, 0)`` with gradient 1/2 at 0 (PyTorch's choice)."""
    return (x.clamp(min=0) + x - x.clamp(max=0)) / 2


class Binomial(_ProbsOrLogits):
    """``Binomial(total_count=1, probs=None, logits=None)``; ``total_count`` may be a tensor."""

    arg_constraints = {
        "total_count": constraints.nonnegative_integer,
        "probs": constraints.unit_interval,
        "logits": constraints.real,
    }
    has_enumerate_support = True

    def __init__(
        self, total_count: Any = 1, probs: Any = None, logits: Any = None, validate_args: bool | None = None
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

    @constraints.dependent_property(is_discrete=True, event_dim=0)
    def support(self) -> Any:
        return constraints.integer_interval(0, self.total_count)

    @property
    def param_shape(self) -> Any:
        return self._param.shape

    @property
    def mean(self) -> Tensor:
        return self.total_count * self.probs

    @property
    def mode(self) -> Tensor:
        return ((self.total_count + 1) * self.probs).floor().clamp(max=self.total_count)

    @property
    def variance(self) -> Tensor:
        return self.total_count * self.probs * (1 - self.probs)

    def sample(self, sample_shape: Any = ()) -> Tensor:
        shape = tuple(self._extended_shape(sample_shape))
        with no_grad():
            n = np.broadcast_to(self.total_count._data, shape).astype(np.int64)
            p = np.broadcast_to(self.probs._data, shape)
            return wrap(rng().binomial(n, p).astype(p.dtype))

    def log_prob(self, value: Any) -> Tensor:
        value = self._checked(value)
        n, logits = self.total_count, self.logits
        normalize = n * _clamp_by_zero(logits) + n * (-logits.abs()).exp().log1p() - lgamma(n + 1)
        return value * logits - lgamma(value + 1) - lgamma(n - value + 1) - normalize

    def _homogeneous_count(self, what: str) -> int:
        counts = self.total_count._data
        total = int(counts.max()) if counts.size else 0
        if counts.size and not counts.min() == total:
            raise NotImplementedError(f"Inhomogeneous total count not supported by `{what}`.")
        return total

    def entropy(self) -> Tensor:
        self._homogeneous_count("entropy")
        log_prob = self.log_prob(self.enumerate_support(False))
        return -(log_prob.exp() * log_prob).sum(0)

    def enumerate_support(self, expand: bool = True) -> Tensor:
        total = self._homogeneous_count("enumerate_support")
        values = np.arange(1 + total, dtype=self._param._data.dtype)
        values = values.reshape((-1,) + (1,) * len(self.batch_shape))
        if expand:
            values = np.broadcast_to(values, (1 + total,) + tuple(self.batch_shape)).copy()
        return wrap(values)
