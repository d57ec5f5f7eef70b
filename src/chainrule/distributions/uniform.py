"""The continuous uniform distribution on ``[low, high)``, reparameterisable."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .._tensor import Tensor, wrap
from ..random import rng
from . import constraints
from .distribution import Distribution, broadcast_all

__all__ = ["Uniform"]


class Uniform(Distribution):
    """``Uniform(low, high)``: ``rsample`` is ``low + u * (high - low)`` with ``u ~ U[0, 1)``."""

    has_rsample = True

    def __init__(self, low: Any, high: Any, validate_args: bool | None = None) -> None:
        self.low, self.high = broadcast_all(low, high)
        self._param = self.low
        super().__init__(self.low.shape, (), validate_args)

    @property
    def arg_constraints(self) -> dict:  # type: ignore[override]
        return {"low": constraints.less_than(self.high), "high": constraints.greater_than(self.low)}

    @constraints.dependent_property(is_discrete=False, event_dim=0)
    def support(self) -> Any:
        return constraints.interval(self.low, self.high)

    @property
    def mean(self) -> Tensor:
        return (self.high + self.low) / 2

    @property
    def mode(self) -> Tensor:
        return math.nan * self.high

    @property
    def stddev(self) -> Tensor:
        return (self.high - self.low) / 12**0.5

    @property
    def variance(self) -> Tensor:
        return (self.high - self.low).pow(2) / 12

    def _noise(self, shape: Any) -> np.ndarray:
        """The parameter-free randomness of ``rsample``: ``U[0, 1)`` draws."""
        return rng().random(tuple(shape)).astype(self.low._data.dtype)

    def rsample(self, sample_shape: Any = ()) -> Tensor:
        u = wrap(self._noise(self._extended_shape(sample_shape)))
        return self.low + u * (self.high - self.low)

    def log_prob(self, value: Any) -> Tensor:
        value = self._checked(value)
        inside = (self.low <= value) & (self.high > value)
        return inside.to(self.low.dtype).log() - (self.high - self.low).log()

    def cdf(self, value: Any) -> Tensor:
        value = self._checked(value)
        return ((value - self.low) / (self.high - self.low)).clamp(0, 1)

    def icdf(self, value: Any) -> Tensor:
        return value * (self.high - self.low) + self.low

    def entropy(self) -> Tensor:
        return (self.high - self.low).log()
