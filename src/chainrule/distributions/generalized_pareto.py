"""The generalised Pareto distribution (peaks over a threshold), reparameterised by its CDF."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .._tensor import Tensor, wrap
from ..ops import where
from ..random import rng
from . import constraints
from .distribution import Distribution, broadcast_all

__all__ = ["GeneralizedPareto"]


def _is_zero(c: Tensor) -> Tensor:
    """``isclose(c, 0)`` with PyTorch's default tolerances (``atol=1e-8``)."""
    return wrap(np.isclose(c._data, 0.0))


class GeneralizedPareto(Distribution):
    """``GeneralizedPareto(loc, scale, concentration)``; ``concentration = 0`` is the
    exponential tail, ``> 0`` a heavy tail, ``< 0`` a bounded support."""

    arg_constraints = {
        "loc": constraints.real,
        "scale": constraints.positive,
        "concentration": constraints.real,
    }
    has_rsample = True

    def __init__(self, loc: Any, scale: Any, concentration: Any, validate_args: bool | None = None) -> None:
        self.loc, self.scale, self.concentration = broadcast_all(loc, scale, concentration)
        self._param = self.loc
        super().__init__(self.loc.shape, (), validate_args)

    def _safe(self) -> tuple[Tensor, Tensor]:
        zero = _is_zero(self.concentration)
        return zero, where(zero, 1.0, self.concentration)

    def _noise(self, shape: Any) -> np.ndarray:
        """``U[0, 1)`` draws: ``rsample`` is ``icdf`` at them."""
        return rng().random(tuple(shape)).astype(self.loc._data.dtype)

    def rsample(self, sample_shape: Any = ()) -> Tensor:
        return self.icdf(wrap(self._noise(self._extended_shape(sample_shape))))

    def log_prob(self, value: Any) -> Tensor:
        value = self._checked(value)
        z = (value - self.loc) / self.scale
        zero, safe = self._safe()
        y = 1 / safe + 1
        nonzero = where(y == 0, y, y * (safe * z).log1p())
        return -self.scale.log() - where(zero, z, nonzero)

    def log_survival_function(self, value: Any) -> Tensor:
        value = self._checked(value)
        z = (value - self.loc) / self.scale
        zero, safe = self._safe()
        return where(zero, -z, -(safe * z).log1p() / safe)

    def log_cdf(self, value: Any) -> Tensor:
        return (-self.log_survival_function(value).exp()).log1p()

    def cdf(self, value: Any) -> Tensor:
        return self.log_cdf(value).exp()

    def icdf(self, value: Any) -> Tensor:
        zero, safe = self._safe()
        logu = (-value).log1p()
        nonzero = self.loc + self.scale / safe * (-safe * logu).expm1()
        return where(zero, self.loc - self.scale * logu, nonzero)

    @property
    def mean(self) -> Tensor:
        valid = self.concentration < 1
        safe = where(valid, self.concentration, 0.5)
        return where(valid, self.loc + self.scale / (1 - safe), math.nan)

    @property
    def variance(self) -> Tensor:
        valid = self.concentration < 0.5
        safe = where(valid, self.concentration, 0.25)
        return where(valid, self.scale**2 / ((1 - safe) ** 2 * (1 - 2 * safe)), math.nan)

    def entropy(self) -> Tensor:
        return (self.scale.log() + self.concentration + 1).expand(*self._batch_shape)

    @property
    def mode(self) -> Tensor:
        return self.loc

    @constraints.dependent_property(is_discrete=False, event_dim=0)
    def support(self) -> Any:
        upper = where(self.concentration < 0, self.loc - self.scale / self.concentration, math.inf)
        return constraints.interval(self.loc, upper)
