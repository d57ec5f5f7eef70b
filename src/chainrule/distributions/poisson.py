"""The Poisson distribution over counts ``0, 1, 2, ...``."""

from __future__ import annotations

from typing import Any

from .._tensor import Tensor, wrap
from ..autograd.grad_mode import no_grad
from ..ops.special_functions import lgamma, xlogy
from ..random import rng
from . import constraints
from .distribution import broadcast_all
from .exp_family import ExponentialFamily

__all__ = ["Poisson"]


class Poisson(ExponentialFamily):
    """``Poisson(rate)``: ``P(k) = rate^k exp(-rate) / k!``; samples are float counts."""

    arg_constraints = {"rate": constraints.nonnegative}
    support = constraints.nonnegative_integer

    def __init__(self, rate: Any, validate_args: bool | None = None) -> None:
        (self.rate,) = broadcast_all(rate)
        self._param = self.rate
        super().__init__(self.rate.shape, (), validate_args)

    @property
    def mean(self) -> Tensor:
        return self.rate

    @property
    def mode(self) -> Tensor:
        return self.rate.floor()

    @property
    def variance(self) -> Tensor:
        return self.rate

    def sample(self, sample_shape: Any = ()) -> Tensor:
        shape = tuple(self._extended_shape(sample_shape))
        with no_grad():
            lam = self.rate._data
            return wrap(rng().poisson(lam, shape).astype(lam.dtype))

    def log_prob(self, value: Any) -> Tensor:
        value = self._checked(value)
        return xlogy(value, self.rate) - self.rate - lgamma(value + 1)

    @property
    def _natural_params(self) -> tuple[Tensor]:
        return (self.rate.log(),)

    def _log_normalizer(self, x: Tensor) -> Tensor:
        return x.exp()
