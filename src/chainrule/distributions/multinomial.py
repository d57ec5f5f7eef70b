"""The multinomial distribution: counts per category after ``total_count`` categorical draws.

``Multinomial(10, probs).sample((5,))`` is a float tensor of shape ``(5, k)``
whose rows sum to 10 (float, like PyTorch's).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .._tensor import Tensor, wrap
from ..random import rng
from .categorical import Categorical
from .distribution import Distribution

__all__ = ["Multinomial"]

_lgamma = np.frompyfunc(math.lgamma, 1, 1)


def _log_factorial(x: np.ndarray) -> np.ndarray:
    return np.asarray(_lgamma(x + 1.0), dtype=np.float64)


class Multinomial(Distribution):
    """``Multinomial(total_count=1, probs=None, logits=None)``; ``probs`` is normalised.

    >>> fair = chainrule.ones(6) / 6
    >>> Multinomial(10, fair).sample((5,)).sum(1)
    tensor([10., 10., 10., 10., 10.])
    """

    arg_constraints = Categorical.arg_constraints

    def __init__(self, total_count: int = 1, probs: Any = None, logits: Any = None,
                 validate_args: bool | None = None) -> None:
        if isinstance(total_count, Tensor) and total_count.numel() == 1:
            total_count = total_count.item()
        if isinstance(total_count, (float, np.floating)) and float(total_count).is_integer():
            total_count = int(total_count)
        if not isinstance(total_count, (int, np.integer)) or isinstance(total_count, bool):
            raise NotImplementedError(
                f"Multinomial needs one integer total_count (the number of draws), got "
                f"{total_count!r}; inhomogeneous total_count is not supported"
            )
        if total_count < 0:
            raise ValueError(f"Multinomial total_count must be >= 0, got {total_count}")
        self.total_count = int(total_count)
        self._categorical = Categorical(probs=probs, logits=logits, validate_args=validate_args)
        super().__init__(self._categorical.batch_shape, self._categorical.param_shape[-1:],
                         validate_args=validate_args)

    def __repr__(self) -> str:
        return f"Multinomial(total_count: {self.total_count}, probs: {self.probs.shape})"

    @property
    def probs(self) -> Tensor:
        return self._categorical.probs

    @property
    def logits(self) -> Tensor:
        return self._categorical.logits

    @property
    def param_shape(self) -> Any:
        return self._categorical.param_shape

    @property
    def _param(self) -> Tensor:
        return self._categorical._param

    @property
    def mean(self) -> Tensor:
        return self.probs * self.total_count

    @property
    def variance(self) -> Tensor:
        return self.total_count * self.probs * (1 - self.probs)

    @property
    def support(self) -> Any:
        from . import constraints

        return constraints.multinomial(self.total_count)

    def expand(self, batch_shape: Any, _instance: Any = None) -> Multinomial:
        new = super().expand(batch_shape, _instance)
        new._categorical = self._categorical.expand(batch_shape)
        return new

    def entropy(self) -> Tensor:
        """``n H(cat) - log n! + sum_k E[log x_k!]``, each count ``x_k ~ Binomial(n, p_k)``."""
        from .binomial import Binomial

        n = self.total_count
        binomial = Binomial(n, self.probs, validate_args=False)
        support = binomial.enumerate_support(expand=False)[1:]
        binomial_probs = binomial.log_prob(support).exp()
        weights = wrap(np.asarray(_log_factorial(support._data), dtype=support._data.dtype))
        term2 = (binomial_probs * weights).sum(0).sum(-1)
        return n * self._categorical.entropy() - math.lgamma(n + 1) + term2

    def sample(self, sample_shape: Any = ()) -> Tensor:
        shape = tuple(self._extended_shape(sample_shape))
        probs = self.probs._data
        p = np.asarray(probs, dtype=np.float64)
        p = p / p.sum(-1, keepdims=True)
        counts = rng().multinomial(self.total_count, np.broadcast_to(p, shape))
        return wrap(counts.astype(probs.dtype))

    def log_prob(self, value: Any) -> Tensor:
        value = self._value(value)
        v = value._data
        if self._validate_args:
            ok = np.all((v >= 0) & (v == np.floor(v))) and np.all(v.sum(-1) <= self.total_count)
            self._check_support(ok, f"non-negative integer counts summing to at most {self.total_count}")
        logits = self.logits
        zero = (v == 0) & np.isneginf(np.broadcast_to(logits._data, np.broadcast_shapes(
            v.shape, logits._data.shape)))
        if zero.any():  # 0 * log(0) counts as 0
            logits = logits.expand(*zero.shape).masked_fill(wrap(zero), 0.0)
        log_powers = (logits * value).sum(-1)
        const = _log_factorial(v.sum(-1)) - _log_factorial(v).sum(-1)
        return log_powers + wrap(const.astype(logits._data.dtype))
