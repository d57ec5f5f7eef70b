"""The Gumbel (type-I extreme value) distribution: ``loc - scale * log(-log U)``."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .._tensor import Tensor, wrap
from . import constraints
from .distribution import broadcast_all
from .transformed_distribution import TransformedDistribution
from .transforms import AffineTransform, ExpTransform
from .uniform import Uniform

__all__ = ["Gumbel"]

_EULER = 0.57721566490153286060


class Gumbel(TransformedDistribution):
    """``Gumbel(loc, scale)``: density ``exp(-(z + exp(-z))) / scale``, ``z = (x - loc) / scale``."""

    arg_constraints = {"loc": constraints.real, "scale": constraints.positive}
    support = constraints.real

    def __init__(self, loc: Any, scale: Any, validate_args: bool | None = None) -> None:
        self.loc, self.scale = broadcast_all(loc, scale)
        self._param = self.loc
        finfo = np.finfo(self.loc._data.dtype)
        shape, dtype = tuple(self.loc.shape), self.loc._data.dtype
        base = Uniform(
            wrap(np.full(shape, finfo.tiny, dtype)),
            wrap(np.full(shape, 1 - finfo.eps, dtype)),
            validate_args=validate_args,
        )
        parts = [
            ExpTransform().inv,
            AffineTransform(0, -(self.scale * 0 + 1)),
            ExpTransform().inv,
            AffineTransform(self.loc, -self.scale),
        ]
        super().__init__(base, parts, validate_args=validate_args)

    def log_prob(self, value: Any) -> Tensor:
        value = self._checked(value)
        y = (self.loc - value) / self.scale
        return y - y.exp() - self.scale.log()

    @property
    def mean(self) -> Tensor:
        return self.loc + self.scale * _EULER

    @property
    def mode(self) -> Tensor:
        return self.loc

    @property
    def stddev(self) -> Tensor:
        return math.pi / math.sqrt(6) * self.scale

    @property
    def variance(self) -> Tensor:
        return self.stddev.pow(2)

    def entropy(self) -> Tensor:
        return self.scale.log() + (1 + _EULER)
