"""The geometric distribution: failures before the first success, ``0, 1, 2, ...``."""

from __future__ import annotations

from typing import Any

import numpy as np

from .._tensor import Tensor, wrap
from ..autograd.grad_mode import no_grad
from ..ops import softplus
from ..random import rng
from . import constraints
from .bernoulli import probs_to_logits
from .distribution import _ProbsOrLogits

__all__ = ["Geometric"]


class Geometric(_ProbsOrLogits):
    """``Geometric(probs=None, logits=None)``: ``P(k) = (1 - p)^k p``, with ``p > 0``."""

    arg_constraints = {"probs": constraints.unit_interval, "logits": constraints.real}
    support = constraints.nonnegative_integer

    def __init__(self, probs: Any = None, logits: Any = None, validate_args: bool | None = None) -> None:
        given, self._param = self._given(probs, logits)
        setattr(self, given, self._param)
        super().__init__(self._param.shape, (), validate_args)
        if self._validate_args and given == "probs" and not np.all(self._param._data > 0):
            bad = self._param._data[~(self._param._data > 0)]
            raise ValueError(
                f"Expected parameter probs (Tensor of shape {tuple(self._param.shape)}) of "
                f"distribution {self!r} to be positive but found invalid values:\n{bad}"
            )

    def _probs_from(self, logits: Tensor) -> Tensor:
        return logits.sigmoid()

    def _logits_from(self, probs: Tensor) -> Tensor:
        return probs_to_logits(probs, is_binary=True)

    @property
    def mean(self) -> Tensor:
        return 1.0 / self.probs - 1.0

    @property
    def mode(self) -> Tensor:
        return self.probs * 0

    @property
    def variance(self) -> Tensor:
        return (1.0 / self.probs - 1.0) / self.probs

    def sample(self, sample_shape: Any = ()) -> Tensor:
        shape = tuple(self._extended_shape(sample_shape))
        with no_grad():
            p = self.probs._data
            tiny = float(np.finfo(p.dtype).tiny)
            u = rng().uniform(tiny, 1, shape).astype(p.dtype)
            return wrap(np.floor(np.log(u) / np.log1p(-p)).astype(p.dtype))

    def log_prob(self, value: Any) -> Tensor:
        value = self._checked(value)
        probs = self.probs
        certain = (probs._data == 1) & (value._data == 0)
        if certain.any():  # 0 * log(0) counts as 0
            probs = probs.expand(*certain.shape).masked_fill(wrap(certain), 0.0)
        return value * (-probs).log1p() + self.probs.log()

    def entropy(self) -> Tensor:
        return (softplus(self.logits) - self.probs * self.logits) / self.probs
