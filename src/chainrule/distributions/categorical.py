"""The categorical distribution: one of ``k`` categories, with probabilities ``probs[..., k]``."""

from __future__ import annotations

from typing import Any

import numpy as np

from .._tensor import Tensor, wrap
from ..random import rng
from .bernoulli import probs_to_logits
from .distribution import NOT_NAN, _ProbsOrLogits

__all__ = ["Categorical"]


def _nonnegative(a: np.ndarray) -> Any:
    return (a >= 0) & np.isfinite(a)


class Categorical(_ProbsOrLogits):
    """``Categorical(probs=None, logits=None)``: the last dimension indexes the categories.

    ``probs`` need not sum to 1 (they are normalised); ``logits`` are unnormalised
    log-probabilities.  Samples are int64 category indices of shape
    ``sample_shape + batch_shape``.
    """

    arg_constraints = {
        "probs": (_nonnegative, "non-negative finite numbers (normalised along the last dim)"),
        "logits": NOT_NAN,
    }

    def __init__(self, probs: Any = None, logits: Any = None,
                 validate_args: bool | None = None) -> None:
        given, param = self._given(probs, logits)
        if param.ndim < 1:
            raise ValueError(
                f"`{given}` parameter must be at least one-dimensional (the last dimension "
                f"indexes the categories), got a 0-d tensor; use e.g. {given}=tensor([0.3, 0.7])"
            )
        if given == "probs":
            self.probs = param / param.sum(-1, keepdim=True)
        else:
            self.logits = param - param.logsumexp(-1, keepdim=True)
        self._param = param
        self._num_events = param.shape[-1]
        if self._validating(validate_args):
            self._check_arg(given, param)  # as given: normalisation would hide negative entries
        super().__init__(param.shape[:-1], (), validate_args)

    has_enumerate_support = True

    @property
    def support(self) -> Any:
        from . import constraints

        return constraints.integer_interval(0, self._num_events - 1)

    def _probs_from(self, logits: Tensor) -> Tensor:
        return logits.softmax(-1)

    def _logits_from(self, probs: Tensor) -> Tensor:
        return probs_to_logits(probs)

    @property
    def param_shape(self) -> Any:
        return self._param.shape

    @property
    def mean(self) -> Tensor:
        return wrap(np.full(tuple(self.batch_shape), np.nan, dtype=self._param._data.dtype))

    variance = mean

    @property
    def mode(self) -> Tensor:
        return self.probs.argmax(-1)

    def sample(self, sample_shape: Any = ()) -> Tensor:
        shape = tuple(self._extended_shape(sample_shape))
        n = self._num_events
        p = np.asarray(self.probs._data, dtype=np.float64).reshape(-1, n)
        cdf = np.cumsum(p, axis=-1)
        cdf /= cdf[:, -1:]
        batch = p.shape[0]
        count = int(np.prod(shape)) // max(batch, 1) if batch else 0
        u = rng().random((count, batch))
        out = np.empty((count, batch), dtype=np.int64)
        for b in range(batch):  # inverse-CDF sampling, one searchsorted per distribution
            out[:, b] = np.searchsorted(cdf[b], u[:, b], side="right")
        np.minimum(out, n - 1, out=out)
        return wrap(out.reshape(shape))

    def _index(self, value: Any) -> np.ndarray:
        value = self._value(value)
        v = value._data
        if self._validate_args:
            ok = (v >= 0) & (v < self._num_events) & (v == np.floor(v))
            self._check_support(ok, f"integer category indices in [0, {self._num_events})")
        return v.astype(np.int64)

    def log_prob(self, value: Any) -> Tensor:
        v = self._index(value)
        shape = np.broadcast_shapes(v.shape, tuple(self.batch_shape))
        logits = self.logits.expand(*shape, self._num_events)
        idx = np.broadcast_to(v, shape)[..., None]
        return logits.gather(-1, wrap(np.ascontiguousarray(idx))).squeeze(-1)

    def entropy(self) -> Tensor:
        min_real = float(np.finfo(self.logits._data.dtype).min)
        logits = self.logits.clamp(min=min_real)
        return -(logits * self.probs).sum(-1)

    def enumerate_support(self, expand: bool = True) -> Tensor:
        """All categories, shaped ``(k,) + (1,) * len(batch_shape)`` (expanded if ``expand``)."""
        k = self._num_events
        values = np.arange(k, dtype=np.int64).reshape((k,) + (1,) * len(self.batch_shape))
        if expand:
            values = np.broadcast_to(values, (k,) + tuple(self.batch_shape)).copy()
        return wrap(values)
