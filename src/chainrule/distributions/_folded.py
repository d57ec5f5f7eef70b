"""``|X|`` for a distribution symmetric about 0 with a ``scale``: the half-Normal and
half-Cauchy distributions share everything but their moments.

Folding doubles the density on ``[0, inf)``: ``log p(v) = log p_X(v) + log 2``,
``F(v) = 2 F_X(v) - 1``, ``F^-1(q) = F_X^-1((q + 1) / 2)``, ``H = H_X - log 2``.
"""

from __future__ import annotations

import math
from typing import Any

from .._tensor import Tensor
from ..ops import where
from . import constraints
from .transformed_distribution import TransformedDistribution
from .transforms import AbsTransform

__all__ = ["Folded"]


class Folded(TransformedDistribution):
    """Base of ``HalfNormal``/``HalfCauchy``: subclasses set ``base_class`` and the moments."""

    arg_constraints = {"scale": constraints.positive}
    support = constraints.nonnegative
    has_rsample = True
    base_class: Any = None

    def __init__(self, scale: Any, validate_args: bool | None = None) -> None:
        base = self.base_class(0, scale, validate_args=False)
        self._param = base.scale
        super().__init__(base, AbsTransform(), validate_args=validate_args)

    @property
    def scale(self) -> Tensor:
        return self.base_dist.scale

    @property
    def mode(self) -> Tensor:
        return self.scale * 0

    def log_prob(self, value: Any) -> Tensor:
        value = self._checked(value)
        return where(value >= 0, self.base_dist.log_prob(value) + math.log(2), -math.inf)

    def cdf(self, value: Any) -> Tensor:
        return 2 * self.base_dist.cdf(self._checked(value)) - 1

    def icdf(self, prob: Any) -> Tensor:
        return self.base_dist.icdf((prob + 1) / 2)

    def entropy(self) -> Tensor:
        return self.base_dist.entropy() - math.log(2)
