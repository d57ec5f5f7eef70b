"""Student's t distribution with ``df`` degrees of freedom, location and scale."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .._tensor import Tensor, wrap
from ..ops import where
from ..ops.special_functions import digamma, lgamma
from ..random import rng
from . import constraints
from .chi2 import Chi2
from .distribution import Distribution, broadcast_all

__all__ = ["StudentT"]


class StudentT(Distribution):
    """``StudentT(df, loc=0.0, scale=1.0)``; ``rsample`` is ``loc + scale * X / sqrt(Z / df)``
    with ``X`` standard normal and ``Z ~ Chi2(df)`` (reparameterised through both)."""

    arg_constraints = {
        "df": constraints.positive,
        "loc": constraints.real,
        "scale": constraints.positive,
    }
    support = constraints.real
    has_rsample = True

    def __init__(self, df: Any, loc: Any = 0.0, scale: Any = 1.0, validate_args: bool | None = None) -> None:
        self.df, self.loc, self.scale = broadcast_all(df, loc, scale)
        self._param = self.df
        self._chi2 = Chi2(self.df)
        super().__init__(self.df.shape, (), validate_args)

    def expand(self, batch_shape: Any, _instance: Any = None) -> StudentT:
        new = super().expand(batch_shape, _instance)
        new._chi2 = self._chi2.expand(batch_shape)
        return new

    @property
    def mean(self) -> Tensor:
        return where(self.df > 1, self.loc, math.nan)

    @property
    def mode(self) -> Tensor:
        return self.loc

    @property
    def variance(self) -> Tensor:
        df = self.df
        safe = where(df > 2, df, 3.0)
        var = self.scale.pow(2) * safe / (safe - 2)
        return where(df > 2, var, where(df > 1, math.inf, math.nan))

    def _noise(self, shape: Any) -> tuple[np.ndarray, np.ndarray]:
        """``(X, G)``: standard normals and standard-Gamma(df / 2) draws; ``Z = 2 G``."""
        dtype = self.df._data.dtype
        x = rng().standard_normal(tuple(shape)).astype(dtype)
        return x, self._chi2._noise(shape)

    def rsample(self, sample_shape: Any = ()) -> Tensor:
        from ._implicit import gamma_sample

        shape = tuple(self._extended_shape(sample_shape))
        x, g = self._noise(shape)
        z = gamma_sample(self._chi2.concentration.expand(*shape), g) / 0.5
        return self.loc + self.scale * (wrap(x) * (z / self.df).rsqrt())

    def log_prob(self, value: Any) -> Tensor:
        value = self._checked(value)
        df = self.df
        y = (value - self.loc) / self.scale
        z = (
            self.scale.log()
            + 0.5 * df.log()
            + 0.5 * math.log(math.pi)
            + lgamma(0.5 * df)
            - lgamma(0.5 * (df + 1.0))
        )
        return -0.5 * (df + 1.0) * (y**2.0 / df).log1p() - z

    def entropy(self) -> Tensor:
        df = self.df
        lbeta = lgamma(0.5 * df) + math.lgamma(0.5) - lgamma(0.5 * (df + 1))
        return (
            self.scale.log()
            + 0.5 * (df + 1) * (digamma(0.5 * (df + 1)) - digamma(0.5 * df))
            + 0.5 * df.log()
            + lbeta
        )
