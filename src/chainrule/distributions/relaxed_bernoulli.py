"""The relaxed (concrete) Bernoulli: a reparameterisable stand-in for 0/1 draws on (0, 1).

``LogitRelaxedBernoulli`` lives on the reals (logistic noise plus logits, over the
temperature); ``RelaxedBernoulli`` is its sigmoid.  Low temperatures approach
Bernoulli draws.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._tensor import Tensor, wrap
from ..random import rng
from . import constraints
from .bernoulli import clamp_probs, probs_to_logits
from .distribution import _ProbsOrLogits, broadcast_all
from .transformed_distribution import TransformedDistribution
from .transforms import SigmoidTransform

__all__ = ["LogitRelaxedBernoulli", "RelaxedBernoulli"]


class LogitRelaxedBernoulli(_ProbsOrLogits):
    """``LogitRelaxedBernoulli(temperature, probs=None, logits=None)`` on the real line."""

    arg_constraints = {"probs": constraints.unit_interval, "logits": constraints.real}
    support = constraints.real
    has_rsample = False  # as PyTorch's, although rsample is reparameterised

    def __init__(
        self, temperature: Any, probs: Any = None, logits: Any = None, validate_args: bool | None = None
    ) -> None:
        given, self._param = self._given(probs, logits)
        setattr(self, given, self._param)
        (self.temperature,) = broadcast_all(temperature)
        super().__init__(self._param.shape, (), validate_args)

    def _probs_from(self, logits: Tensor) -> Tensor:
        return logits.sigmoid()

    def _logits_from(self, probs: Tensor) -> Tensor:
        return probs_to_logits(probs, is_binary=True)

    @property
    def param_shape(self) -> Any:
        return self._param.shape

    def _noise(self, shape: Any) -> np.ndarray:
        """``U[0, 1)`` draws: their logit is the logistic noise of ``rsample``."""
        return rng().random(tuple(shape)).astype(self._param._data.dtype)

    def rsample(self, sample_shape: Any = ()) -> Tensor:
        shape = tuple(self._extended_shape(sample_shape))
        probs = clamp_probs(self.probs.expand(*shape))
        u = clamp_probs(wrap(self._noise(shape)))
        return (u.log() - (-u).log1p() + probs.log() - (-probs).log1p()) / self.temperature

    def log_prob(self, value: Any) -> Tensor:
        value = self._checked(value)
        diff = self.logits - value * self.temperature
        return self.temperature.log() + diff - 2 * diff.exp().log1p()


class RelaxedBernoulli(TransformedDistribution):
    """``RelaxedBernoulli(temperature, probs=None, logits=None)``: values in (0, 1)."""

    arg_constraints = {"probs": constraints.unit_interval, "logits": constraints.real}
    support = constraints.unit_interval
    has_rsample = True

    def __init__(
        self, temperature: Any, probs: Any = None, logits: Any = None, validate_args: bool | None = None
    ) -> None:
        base = LogitRelaxedBernoulli(temperature, probs, logits)
        self._param = base._param
        super().__init__(base, SigmoidTransform(), validate_args=validate_args)

    @property
    def temperature(self) -> Tensor:
        return self.base_dist.temperature

    @property
    def logits(self) -> Tensor:
        return self.base_dist.logits

    @property
    def probs(self) -> Tensor:
        return self.base_dist.probs
