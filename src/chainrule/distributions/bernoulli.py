"""The Bernoulli distribution: 1 with probability ``probs``, else 0."""

from __future__ import annotations

from typing import Any

import numpy as np

from .._tensor import Tensor, wrap
from ..ops import softplus
from ..random import rng
from . import constraints
from .distribution import NOT_NAN, _ProbsOrLogits
from .exp_family import ExponentialFamily

__all__ = ["Bernoulli", "probs_to_logits", "clamp_probs"]


def clamp_probs(probs: Tensor) -> Tensor:
    """Keep probabilities inside (0, 1) by the dtype's epsilon, so logs stay finite."""
    eps = float(np.finfo(probs._data.dtype).eps)
    return probs.clamp(eps, 1 - eps)


def probs_to_logits(probs: Tensor, is_binary: bool = False) -> Tensor:
    """log-odds ``log p - log(1 - p)`` (binary) or ``log p`` (categorical), with clamped probs."""
    p = clamp_probs(probs)
    return p.log() - (-p).log1p() if is_binary else p.log()


class Bernoulli(_ProbsOrLogits, ExponentialFamily):
    """``Bernoulli(probs=None, logits=None)``: give exactly one of them.

    Samples are float tensors of 0s and 1s, like PyTorch's.
    """

    arg_constraints = {
        "probs": (lambda a: (a >= 0) & (a <= 1), "probabilities in [0, 1]"),
        "logits": NOT_NAN,
    }
    support = constraints.boolean
    has_enumerate_support = True
    _mean_carrier_measure = 0

    def __init__(self, probs: Any = None, logits: Any = None,
                 validate_args: bool | None = None) -> None:
        given, self._param = self._given(probs, logits)
        setattr(self, given, self._param)
        super().__init__(self._param.shape, (), validate_args)

    def _probs_from(self, logits: Tensor) -> Tensor:
        return logits.sigmoid()

    def _logits_from(self, probs: Tensor) -> Tensor:
        return probs_to_logits(probs, is_binary=True)

    @property
    def mean(self) -> Tensor:
        return self.probs

    @property
    def mode(self) -> Tensor:
        p = self.probs._data
        m = (p >= 0.5).astype(p.dtype)
        m[p == 0.5] = np.nan
        return wrap(m)

    @property
    def variance(self) -> Tensor:
        return self.probs * (1 - self.probs)

    def sample(self, sample_shape: Any = ()) -> Tensor:
        shape = self._extended_shape(sample_shape)
        p = self.probs._data
        draws = rng().random(shape) < np.broadcast_to(p, shape)
        return wrap(draws.astype(p.dtype))

    def log_prob(self, value: Any) -> Tensor:
        value = self._value(value)
        self._check_support((value._data == 0) | (value._data == 1), "0 or 1")
        logits = self.logits
        return value * logits - softplus(logits)  # = -BCEWithLogits(logits, value)

    @property
    def _natural_params(self) -> tuple[Tensor]:
        p = self.probs
        return (p.log() - (-p).log1p(),)  # logit

    def _log_normalizer(self, x: Tensor) -> Tensor:
        return x.exp().log1p()

    def entropy(self) -> Tensor:
        logits = self.logits
        return softplus(logits) - self.probs * logits

    def enumerate_support(self, expand: bool = True) -> Tensor:
        """``[0., 1.]`` shaped ``(2,) + (1,) * len(batch_shape)`` (expanded if ``expand``)."""
        values = np.arange(2, dtype=self._param._data.dtype).reshape((2,) + (1,) * len(self.batch_shape))
        if expand:
            values = np.broadcast_to(values, (2,) + tuple(self.batch_shape)).copy()
        return wrap(values)
