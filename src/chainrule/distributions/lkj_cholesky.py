"""The LKJ distribution over Cholesky factors of correlation matrices (Lewandowski,
Kurowicka and Joe, 2009), sampled by the onion method as PyTorch does."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .._tensor import Tensor, wrap
from ..autograd.grad_mode import no_grad
from ..ops.special_functions import lgamma, mvlgamma
from ..random import rng
from . import constraints
from .beta import Beta
from .distribution import Distribution, broadcast_all

__all__ = ["LKJCholesky"]


class LKJCholesky(Distribution):
    """``LKJCholesky(dim, concentration=1.0)``: ``L`` with ``L L^T`` a ``dim x dim``
    correlation matrix of density proportional to ``det(L L^T) ** (concentration - 1)``."""

    arg_constraints = {"concentration": constraints.positive}
    support = constraints.corr_cholesky

    def __init__(self, dim: int, concentration: Any = 1.0, validate_args: bool | None = None) -> None:
        if dim < 2:
            raise ValueError(f"Expected dim to be an integer greater than or equal to 2. Found dim={dim}.")
        self.dim = dim
        (self.concentration,) = broadcast_all(concentration)
        self._param = self.concentration
        marginal = self.concentration + 0.5 * (dim - 2)
        offset = np.concatenate([[0.0], np.arange(dim - 1)]).astype(self.concentration._data.dtype)
        conc1 = wrap(offset + 0.5)
        conc0 = marginal.unsqueeze(-1) - wrap(0.5 * offset)
        self._beta = Beta(conc1.expand(*conc0.shape), conc0)
        super().__init__(self.concentration.shape, (dim, dim), validate_args)

    def expand(self, batch_shape: Any, _instance: Any = None) -> LKJCholesky:
        new = super().expand(batch_shape, _instance)
        new._beta = self._beta.expand(tuple(batch_shape) + (self.dim,))
        return new

    def sample(self, sample_shape: Any = ()) -> Tensor:
        with no_grad():
            y = self._beta.sample(sample_shape)._data[..., None]
            shape = tuple(self._extended_shape(sample_shape))
            u = np.tril(rng().standard_normal(shape), -1).astype(y.dtype)
            with np.errstate(invalid="ignore"):
                u = u / np.linalg.norm(u, axis=-1, keepdims=True)
            u[..., 0, :] = 0.0
            w = np.sqrt(y) * u
            tiny = np.finfo(w.dtype).tiny
            diag = np.sqrt(np.clip(1 - (w**2).sum(-1), tiny, None))
            idx = np.arange(self.dim)
            w[..., idx, idx] += diag
            return wrap(w)

    def log_prob(self, value: Any) -> Tensor:
        value = self._checked(value)
        diag = value.diagonal(dim1=-1, dim2=-2)[..., 1:]
        order = wrap(np.arange(2, self.dim + 1, dtype=value._data.dtype))
        order = 2 * (self.concentration - 1).unsqueeze(-1) + self.dim - order
        unnormalized = (order * diag.log()).sum(-1)
        dm1 = self.dim - 1
        alpha = self.concentration + 0.5 * dm1
        normalize = 0.5 * dm1 * math.log(math.pi) + mvlgamma(alpha - 0.5, dm1) - lgamma(alpha) * dm1
        return unnormalized - normalize
