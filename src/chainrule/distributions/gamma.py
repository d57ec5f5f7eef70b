"""The Gamma distribution, reparameterisable through implicit differentiation of its CDF."""

from __future__ import annotations

from typing import Any

import numpy as np

from .._tensor import Tensor
from ..ops.special_functions import digamma, gammainc, lgamma, xlogy
from ..random import rng
from . import constraints
from ._implicit import gamma_sample
from .distribution import broadcast_all
from .exp_family import ExponentialFamily

__all__ = ["Gamma"]


class Gamma(ExponentialFamily):
    """``Gamma(concentration, rate)``: density ``rate^a x^(a-1) exp(-rate x) / Gamma(a)``.

    ``rsample`` draws standard-Gamma samples and differentiates them with respect
    to ``concentration`` implicitly (see ``_implicit``), then divides by ``rate``.
    """

    arg_constraints = {"concentration": constraints.positive, "rate": constraints.positive}
    support = constraints.nonnegative
    has_rsample = True
    _mean_carrier_measure = 0

    def __init__(self, concentration: Any, rate: Any, validate_args: bool | None = None) -> None:
        self.concentration, self.rate = broadcast_all(concentration, rate)
        self._param = self.concentration
        super().__init__(self.concentration.shape, (), validate_args)

    @property
    def mean(self) -> Tensor:
        return self.concentration / self.rate

    @property
    def mode(self) -> Tensor:
        return ((self.concentration - 1) / self.rate).clamp(min=0)

    @property
    def variance(self) -> Tensor:
        return self.concentration / self.rate.pow(2)

    def _noise(self, shape: Any) -> np.ndarray:
        """Standard-Gamma draws for ``concentration`` broadcast to ``shape`` (clamped > 0)."""
        a = np.broadcast_to(self.concentration._data, tuple(shape))
        x = rng().standard_gamma(a).astype(a.dtype)
        return np.maximum(x, np.finfo(a.dtype).tiny)

    def rsample(self, sample_shape: Any = ()) -> Tensor:
        shape = tuple(self._extended_shape(sample_shape))
        a = self.concentration.expand(*shape)
        return gamma_sample(a, self._noise(shape)) / self.rate.expand(*shape)

    def log_prob(self, value: Any) -> Tensor:
        value = self._checked(value)
        a = self.concentration
        return xlogy(a, self.rate) + xlogy(a - 1, value) - self.rate * value - lgamma(a)

    def cdf(self, value: Any) -> Tensor:
        value = self._checked(value)
        return gammainc(self.concentration, self.rate * value)

    def entropy(self) -> Tensor:
        a = self.concentration
        return a - self.rate.log() + lgamma(a) + (1.0 - a) * digamma(a)

    @property
    def _natural_params(self) -> tuple[Tensor, Tensor]:
        return (self.concentration - 1, -self.rate)

    def _log_normalizer(self, x: Tensor, y: Tensor) -> Tensor:
        return lgamma(x + 1) + (x + 1) * (-y.reciprocal()).log()
