"""The von Mises distribution: a normal-like distribution on the circle ``[-pi, pi)``.

The normaliser ``2 pi I0(concentration)`` uses SciPy's exponentially scaled Bessel
functions (``log I0(k) = log i0e(k) + k``), exact to double precision; PyTorch uses a
polynomial approximation (relative error about 1e-7), so values agree with PyTorch's to
that accuracy.  Samples come from Best and Fisher's (1979) rejection sampler, in float64.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .._tensor import Tensor, wrap
from ..autograd.grad_mode import no_grad
from ..ops.special_functions import i0e, i1e
from ..random import rng
from . import constraints
from .distribution import Distribution, broadcast_all

__all__ = ["VonMises"]


def _log_i0(k: Tensor) -> Tensor:
    return i0e(k).log() + k


class VonMises(Distribution):
    """``VonMises(loc, concentration)``: density ``exp(k cos(x - loc)) / (2 pi I0(k))``."""

    arg_constraints = {"loc": constraints.real, "concentration": constraints.positive}
    support = constraints.real
    has_rsample = False

    def __init__(self, loc: Any, concentration: Any, validate_args: bool | None = None) -> None:
        self.loc, self.concentration = broadcast_all(loc, concentration)
        self._param = self.loc
        super().__init__(self.loc.shape, (), validate_args)

    def log_prob(self, value: Any) -> Tensor:
        value = self._checked(value)
        k = self.concentration
        return k * (value - self.loc).cos() - math.log(2 * math.pi) - _log_i0(k)

    @property
    def mean(self) -> Tensor:
        return self.loc

    @property
    def mode(self) -> Tensor:
        return self.loc

    @property
    def variance(self) -> Tensor:
        """The circular variance ``1 - I1(k) / I0(k)``."""
        k = self.concentration
        return 1 - i1e(k) / i0e(k)

    def sample(self, sample_shape: Any = ()) -> Tensor:
        shape = tuple(self._extended_shape(sample_shape))
        with no_grad():
            loc = np.broadcast_to(np.asarray(self.loc._data, np.float64), shape)
            kappa = np.broadcast_to(np.asarray(self.concentration._data, np.float64), shape)
            tau = 1 + np.sqrt(1 + 4 * kappa**2)
            with np.errstate(divide="ignore", invalid="ignore"):
                rho = (tau - np.sqrt(2 * tau)) / (2 * kappa)
                r = np.where(kappa < 1e-5, 1 / kappa + kappa, (1 + rho**2) / (2 * rho))
            x = np.zeros(shape)
            done = np.zeros(shape, dtype=bool)
            gen = rng()
            while not done.all():
                u1, u2, u3 = gen.random((3,) + shape)
                z = np.cos(math.pi * u1)
                f = (1 + r * z) / (r + z)
                c = kappa * (r - f)
                with np.errstate(divide="ignore", invalid="ignore"):
                    accept = ((c * (2 - c) - u2) > 0) | (np.log(c / u2) + 1 - c >= 0)
                accept &= ~done
                x = np.where(accept, np.sign(u3 - 0.5) * np.arccos(np.clip(f, -1, 1)), x)
                done |= accept
            out = np.mod(x + math.pi + loc, 2 * math.pi) - math.pi
            return wrap(out.astype(self.loc._data.dtype))
