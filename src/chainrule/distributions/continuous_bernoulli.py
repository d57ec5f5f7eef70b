"""The continuous Bernoulli distribution on [0, 1] (Loaiza-Ganem and Cunningham, 2019).

``p(x) = C(lambda) lambda^x (1 - lambda)^(1 - x)``.  Near ``lambda = 1/2`` the closed
forms are 0/0, so inside ``lims`` (default ``(0.499, 0.501)``) second-order Taylor
expansions are used instead, as PyTorch does.  ``rsample`` inverts the CDF.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .._tensor import Tensor, wrap
from ..ops import softplus, where
from ..random import rng
from . import constraints
from .bernoulli import clamp_probs, probs_to_logits
from .distribution import _ProbsOrLogits
from .exp_family import ExponentialFamily

__all__ = ["ContinuousBernoulli"]


class ContinuousBernoulli(_ProbsOrLogits, ExponentialFamily):
    """``ContinuousBernoulli(probs=None, logits=None, lims=(0.499, 0.501))``."""

    arg_constraints = {"probs": constraints.unit_interval, "logits": constraints.real}
    support = constraints.unit_interval
    _mean_carrier_measure = 0
    has_rsample = True

    def __init__(
        self,
        probs: Any = None,
        logits: Any = None,
        lims: tuple[float, float] = (0.499, 0.501),
        validate_args: bool | None = None,
    ) -> None:
        given, param = self._given(probs, logits)
        if given == "probs":
            if validate_args is not None and not np.all((param._data >= 0) & (param._data <= 1)):
                raise ValueError("The parameter probs has invalid values")
            param = clamp_probs(param)
        setattr(self, given, param)
        self._param = param
        self._lims = lims
        super().__init__(param.shape, (), validate_args)

    def _probs_from(self, logits: Tensor) -> Tensor:
        return clamp_probs(logits.sigmoid())

    def _logits_from(self, probs: Tensor) -> Tensor:
        return probs_to_logits(probs, is_binary=True)

    @property
    def param_shape(self) -> Any:
        return self._param.shape

    def _outside_unstable_region(self) -> Tensor:
        return (self.probs <= self._lims[0]) | (self.probs > self._lims[1])

    def _cut_probs(self) -> Tensor:
        return where(self._outside_unstable_region(), self.probs, self._lims[0])

    def _cont_bern_log_norm(self) -> Tensor:
        cut = self._cut_probs()
        below = where(cut <= 0.5, cut, 0.0)
        above = where(cut >= 0.5, cut, 1.0)
        log_norm = ((-cut).log1p() - cut.log()).abs().log() - where(
            cut <= 0.5, (-2.0 * below).log1p(), (2.0 * above - 1.0).log()
        )
        x = (self.probs - 0.5).pow(2)
        taylor = math.log(2.0) + (4.0 / 3.0 + 104.0 / 45.0 * x) * x
        return where(self._outside_unstable_region(), log_norm, taylor)

    @property
    def mean(self) -> Tensor:
        cut = self._cut_probs()
        mus = cut / (2.0 * cut - 1.0) + 1.0 / ((-cut).log1p() - cut.log())
        x = self.probs - 0.5
        taylor = 0.5 + (1.0 / 3.0 + 16.0 / 45.0 * x.pow(2)) * x
        return where(self._outside_unstable_region(), mus, taylor)

    @property
    def stddev(self) -> Tensor:
        return self.variance.sqrt()

    @property
    def variance(self) -> Tensor:
        cut = self._cut_probs()
        var = cut * (cut - 1.0) / (1.0 - 2.0 * cut).pow(2) + 1.0 / ((-cut).log1p() - cut.log()).pow(2)
        x = (self.probs - 0.5).pow(2)
        taylor = 1.0 / 12.0 - (1.0 / 15.0 - 128.0 / 945.0 * x) * x
        return where(self._outside_unstable_region(), var, taylor)

    def _noise(self, shape: Any) -> np.ndarray:
        """``U[0, 1)`` draws: ``rsample`` is ``icdf`` at them."""
        return rng().random(tuple(shape)).astype(self.probs._data.dtype)

    def rsample(self, sample_shape: Any = ()) -> Tensor:
        return self.icdf(wrap(self._noise(self._extended_shape(sample_shape))))

    def log_prob(self, value: Any) -> Tensor:
        value = self._checked(value)
        logits = self.logits
        bce = softplus(logits) - logits * value  # binary cross-entropy with logits
        return -bce + self._cont_bern_log_norm()

    def cdf(self, value: Any) -> Tensor:
        value = self._checked(value)
        cut = self._cut_probs()
        cdfs = (cut.pow(value) * (1.0 - cut).pow(1.0 - value) + cut - 1.0) / (2.0 * cut - 1.0)
        unbounded = where(self._outside_unstable_region(), cdfs, value)
        return where(value <= 0.0, 0.0, where(value >= 1.0, 1.0, unbounded))

    def icdf(self, value: Any) -> Tensor:
        cut = self._cut_probs()
        inv = ((-cut + value * (2.0 * cut - 1.0)).log1p() - (-cut).log1p()) / (cut.log() - (-cut).log1p())
        return where(self._outside_unstable_region(), inv, value)

    def entropy(self) -> Tensor:
        log_probs0, log_probs1 = (-self.probs).log1p(), self.probs.log()
        return self.mean * (log_probs0 - log_probs1) - self._cont_bern_log_norm() - log_probs0

    @property
    def _natural_params(self) -> tuple[Tensor]:
        return (self.logits,)

    def _log_normalizer(self, x: Tensor) -> Tensor:
        outside = (x <= self._lims[0] - 0.5) | (x > self._lims[1] - 0.5)
        cut = where(outside, x, self._lims[0] - 0.5)
        log_norm = cut.expm1().abs().log() - cut.abs().log()
        taylor = 0.5 * x + x.pow(2) / 24.0 - x.pow(4) / 2880.0
        return where(outside, log_norm, taylor)
