"""``ExponentialFamily``: densities ``p(x) = h(x) exp(<t(x), theta> - F(theta))``.

Subclasses give their natural parameters ``theta`` (``_natural_params``), the log
normaliser ``F`` (``_log_normalizer``) and ``E[log h(x)]`` (``_mean_carrier_measure``);
the generic entropy and KL divergence then follow from ``F`` and its gradient (a
Bregman divergence), computed with chainrule's autograd as in PyTorch.
"""

from __future__ import annotations

from typing import Any

from .._tensor import Tensor
from ..autograd import grad
from ..autograd.grad_mode import enable_grad
from .distribution import Distribution

__all__ = ["ExponentialFamily"]


class ExponentialFamily(Distribution):
    """Base class of the exponential-family distributions (Normal, Gamma, Beta, ...)."""

    @property
    def _natural_params(self) -> tuple[Tensor, ...]:
        raise NotImplementedError(f"{type(self).__name__} does not give its natural parameters")

    def _log_normalizer(self, *natural_params: Tensor) -> Tensor:
        raise NotImplementedError(f"{type(self).__name__} does not give its log normalizer")

    @property
    def _mean_carrier_measure(self) -> Any:
        raise NotImplementedError(
            f"{type(self).__name__} does not give its expected carrier measure, which the "
            "generic entropy needs"
        )

    def entropy(self) -> Tensor:
        """``F(theta) - <theta, grad F(theta)> - E[log h(x)]``, differentiable."""
        result: Any = -self._mean_carrier_measure
        nparams = [p.detach().requires_grad_() for p in self._natural_params]
        with enable_grad():
            lg_normal = self._log_normalizer(*nparams)
            gradients = grad(lg_normal.sum(), nparams, create_graph=True)
        result = result + lg_normal
        for p, g in zip(nparams, gradients, strict=True):
            pg = p * g
            extra = tuple(range(len(self._batch_shape), pg.ndim))  # the event dims, summed
            result = result - (pg.sum(extra) if extra else pg)
        return result
