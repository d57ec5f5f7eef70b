"""Adadelta: step sizes from the ratio of running RMS of updates and of gradients.

For each parameter ``p`` with gradient ``g`` (PyTorch's formulation)::

    v = rho * v + (1 - rho) * g * g                         square_avg
    delta = sqrt(u + eps) / sqrt(v + eps) * g
    u = rho * u + (1 - rho) * delta * delta                 acc_delta
    p = p - lr * delta
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .optimizer import (
    Optimizer,
    _check,
    _check_nonnegative,
    _count_step,
    _grad_with_decay,
    _state_tensor,
    _step_tensor,
)

__all__ = ["Adadelta"]


class Adadelta(Optimizer):
    """``Adadelta(params, lr=1.0, rho=0.9, eps=1e-6, weight_decay=0)``.

    >>> opt = chainrule.optim.Adadelta(model.parameters())
    """

    def __init__(
        self,
        params: Any,
        lr: float = 1.0,
        rho: float = 0.9,
        eps: float = 1e-6,
        weight_decay: float = 0,
        foreach: bool | None = None,
        *,
        capturable: bool = False,
        maximize: bool = False,
        differentiable: bool = False,
    ) -> None:
        _check_nonnegative(lr=lr)
        _check(0.0 <= rho <= 1.0, f"Invalid rho value: {rho} (must be in [0, 1])")
        _check_nonnegative(eps=eps, weight_decay=weight_decay)
        defaults = dict(
            lr=lr,
            rho=rho,
            eps=eps,
            weight_decay=weight_decay,
            maximize=maximize,
            capturable=capturable,
            foreach=foreach,
            differentiable=differentiable,
        )
        super().__init__(params, defaults)

    def _update_group(self, group: dict[str, Any]) -> None:
        lr = float(group["lr"])
        rho = group["rho"]
        eps = group["eps"]
        for p, g in self._params_with_grad(group):
            d = p._data
            state = self.state[p]
            if not state:
                state["step"] = _step_tensor()
                state["square_avg"] = _state_tensor(d)
                state["acc_delta"] = _state_tensor(d)
            _count_step(state)
            g = _grad_with_decay(g, d, group["maximize"], group["weight_decay"])
            v = state["square_avg"]._data
            u = state["acc_delta"]._data
            v *= rho
            tmp = np.multiply(g, 1 - rho, out=np.empty_like(d))
            tmp *= g
            v += tmp
            std = np.add(v, eps, out=tmp)
            np.sqrt(std, out=std)
            delta = np.add(u, eps, out=np.empty_like(d))
            np.sqrt(delta, out=delta)
            delta /= std
            delta *= g
            u *= rho
            np.multiply(delta, 1 - rho, out=tmp)
            tmp *= delta
            u += tmp
            delta *= lr
            d -= delta
