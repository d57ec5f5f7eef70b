"""The half-Cauchy distribution: ``|X|`` for ``X ~ Cauchy(0, scale)``."""

from __future__ import annotations

import numpy as np

from .._tensor import Tensor, wrap
from ._folded import Folded
from .cauchy import Cauchy

__all__ = ["HalfCauchy"]


class HalfCauchy(Folded):
    """``HalfCauchy(scale)`` on ``[0, inf)``, reparameterisable (no finite moments)."""

    base_class = Cauchy

    @property
    def mean(self) -> Tensor:
        return wrap(np.full(tuple(self._extended_shape()), np.inf, self.scale._data.dtype))

    @property
    def variance(self) -> Tensor:
        return self.base_dist.variance
