"""The Cauchy (Lorentz) distribution, reparameterisable; it has no mean or variance."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .._tensor import Tensor, wrap
from ..random import rng
from . import constraints
from .distribution import Distribution, broadcast_all

__all__ = ["Cauchy"]


class Cauchy(Distribution):
    """``Cauchy(loc, scale)``: ``mean`` is NaN and ``variance`` inf, as in PyTorch."""

    arg_constraints = {"loc": constraints.real, "scale": constraints.positive}
    support = constraints.real
    has_rsample = True

    def __init__(self, loc: Any, scale: Any, validate_args: bool | None = None) -> None:
        self.loc, self.scale = broadcast_all(loc, scale)
        self._param = self.loc
        super().__init__(self.loc.shape, (), validate_args)

    @property
    def mean(self) -> Tensor:
        return wrap(np.full(tuple(self._extended_shape()), np.nan, self.loc._data.dtype))

    @property
    def mode(self) -> Tensor:
        return self.loc

    @property
    def variance(self) -> Tensor:
        return wrap(np.full(tuple(self._extended_shape()), np.inf, self.loc._data.dtype))

    def _noise(self, shape: Any) -> np.ndarray:
        """Standard Cauchy draws: ``rsample`` is ``loc + noise * scale``."""
        return rng().standard_cauchy(tuple(shape)).astype(self.loc._data.dtype)

    def rsample(self, sample_shape: Any = ()) -> Tensor:
        return self.loc + wrap(self._noise(self._extended_shape(sample_shape))) * self.scale

    def log_prob(self, value: Any) -> Tensor:
        value = self._checked(value)
        z = (value - self.loc) / self.scale
        return -math.log(math.pi) - self.scale.log() - (z**2).log1p()

    def cdf(self, value: Any) -> Tensor:
        value = self._checked(value)
        return ((value - self.loc) / self.scale).atan() / math.pi + 0.5

    def icdf(self, value: Any) -> Tensor:
        return (math.pi * (value - 0.5)).tan() * self.scale + self.loc

    def entropy(self) -> Tensor:
        return math.log(4 * math.pi) + self.scale.log()
