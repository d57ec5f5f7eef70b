"""The Dirichlet distribution over the probability simplex, reparameterisable (implicitly)."""

from __future__ import annotations

from typing import Any

import numpy as np

from .._tensor import Tensor, wrap
from ..ops.special_functions import digamma, lgamma, xlogy
from ..random import rng
from . import constraints
from ._implicit import dirichlet_sample
from .distribution import _as_tensor
from .exp_family import ExponentialFamily

__all__ = ["Dirichlet"]


class Dirichlet(ExponentialFamily):
    """``Dirichlet(concentration)``: ``concentration[..., k]`` > 0; events are k-vectors.

    ``rsample`` normalises Gamma draws and carries PyTorch's implicit gradient.
    """

    arg_constraints = {"concentration": constraints.independent(constraints.positive, 1)}
    support = constraints.simplex
    has_rsample = True

    def __init__(self, concentration: Any, validate_args: bool | None = None) -> None:
        concentration = _as_tensor(concentration, None)
        if concentration.ndim < 1:
            raise ValueError(
                "`concentration` parameter must be at least one-dimensional (the last "
                "dimension indexes the categories), got a 0-d tensor"
            )
        self.concentration = self._param = concentration
        super().__init__(concentration.shape[:-1], concentration.shape[-1:], validate_args)

    def _noise(self, shape: Any) -> np.ndarray:
        """Dirichlet draws (normalised Gamma draws) for ``concentration`` broadcast to ``shape``."""
        a = np.broadcast_to(self.concentration._data, tuple(shape))
        g = rng().standard_gamma(a)
        tiny = np.finfo(a.dtype).tiny
        x = g / np.maximum(g.sum(-1, keepdims=True), tiny)
        return np.clip(x, tiny, 1 - np.finfo(a.dtype).eps).astype(a.dtype)

    def rsample(self, sample_shape: Any = ()) -> Tensor:
        shape = tuple(self._extended_shape(sample_shape))
        return dirichlet_sample(self.concentration.expand(*shape), self._noise(shape))

    def log_prob(self, value: Any) -> Tensor:
        value = self._checked(value)
        a = self.concentration
        return xlogy(a - 1.0, value).sum(-1) + lgamma(a.sum(-1)) - lgamma(a).sum(-1)

    @property
    def mean(self) -> Tensor:
        return self.concentration / self.concentration.sum(-1, keepdim=True)

    @property
    def mode(self) -> Tensor:
        a = self.concentration._data
        am1 = np.clip(a - 1, 0, None)
        with np.errstate(invalid="ignore", divide="ignore"):
            mode = am1 / am1.sum(-1, keepdims=True)
        below = (a < 1).all(-1)  # every concentration < 1: the mode is a vertex
        if below.any():
            vertex = np.eye(a.shape[-1], dtype=a.dtype)[np.argmax(mode, -1)]
            mode = np.where(below[..., None], vertex, mode)
        return wrap(mode.astype(a.dtype))

    @property
    def variance(self) -> Tensor:
        a = self.concentration
        a0 = a.sum(-1, keepdim=True)
        return a * (a0 - a) / (a0.pow(2) * (a0 + 1))

    def entropy(self) -> Tensor:
        a = self.concentration
        k = a.shape[-1]
        a0 = a.sum(-1)
        return lgamma(a).sum(-1) - lgamma(a0) - (k - a0) * digamma(a0) - ((a - 1.0) * digamma(a)).sum(-1)

    @property
    def _natural_params(self) -> tuple[Tensor]:
        return (self.concentration,)

    def _log_normalizer(self, x: Tensor) -> Tensor:
        return lgamma(x).sum(-1) - lgamma(x.sum(-1))
