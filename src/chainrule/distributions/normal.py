"""The normal (Gaussian) distribution, reparameterisable: ``x = loc + scale * eps``."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .._tensor import Tensor, wrap
from ..ops import erf
from ..ops.special_functions import erfinv
from ..random import rng
from . import constraints
from .distribution import broadcast_all
from .exp_family import ExponentialFamily

__all__ = ["Normal"]


class Normal(ExponentialFamily):
    """``Normal(loc, scale)``: mean ``loc``, standard deviation ``scale`` (> 0).

    >>> d = Normal(chainrule.tensor([0.0, 1.0]), 2.0)
    >>> d.sample((3,)).shape
    chainrule.Size([3, 2])
    """

    arg_constraints = {
        "loc": (np.isfinite, "finite real numbers"),
        "scale": (lambda a: a > 0, "greater than 0"),
    }
    has_rsample = True
    _mean_carrier_measure = 0
    support = constraints.real

    def __init__(self, loc: Any, scale: Any, validate_args: bool | None = None) -> None:
        self.loc, self.scale = broadcast_all(loc, scale)
        self._param = self.loc
        super().__init__(self.loc.shape, (), validate_args)

    @property
    def mean(self) -> Tensor:
        return self.loc

    @property
    def mode(self) -> Tensor:
        return self.loc

    @property
    def stddev(self) -> Tensor:
        return self.scale

    @property
    def variance(self) -> Tensor:
        return self.scale**2

    def _noise(self, shape: Any) -> np.ndarray:
        """Standard normal draws: ``rsample`` is ``loc + noise * scale``."""
        return rng().standard_normal(tuple(shape)).astype(self.loc._data.dtype, copy=False)

    def rsample(self, sample_shape: Any = ()) -> Tensor:
        eps = wrap(self._noise(self._extended_shape(sample_shape)))
        return self.loc + eps * self.scale

    def log_prob(self, value: Any) -> Tensor:
        value = self._value(value)
        var = self.scale**2
        return -((value - self.loc) ** 2) / (2 * var) - self.scale.log() - math.log(
            math.sqrt(2 * math.pi)
        )

    def cdf(self, value: Any) -> Tensor:
        value = self._value(value)
        return 0.5 * (1 + erf((value - self.loc) / (self.scale * math.sqrt(2))))

    def icdf(self, value: Any) -> Tensor:
        return self.loc + self.scale * erfinv(2 * value - 1) * math.sqrt(2)

    @property
    def _natural_params(self) -> tuple[Tensor, Tensor]:
        return (self.loc / self.scale.pow(2), -0.5 * self.scale.pow(2).reciprocal())

    def _log_normalizer(self, x: Tensor, y: Tensor) -> Tensor:
        return -0.25 * x.pow(2) / y + 0.5 * (-math.pi / y).log()

    def entropy(self) -> Tensor:
        return 0.5 + 0.5 * math.log(2 * math.pi) + self.scale.log()
