"""Adamax: Adam with the infinity norm in place of the second moment.

For each parameter ``p`` with gradient ``g`` at step ``t`` (PyTorch's formulation)::

    m = m + (1 - beta1) * (g - m)
    u = max(beta2 * u, |g| + eps)
    p = p - lr / (1 - beta1**t) * m / u
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .optimizer import (
    Optimizer,
    _check_betas,
    _check_nonnegative,
    _count_step,
    _grad_with_decay,
    _state_tensor,
    _step_tensor,
)

__all__ = ["Adamax"]


class Adamax(Optimizer):
    """``Adamax(params, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0)``.

    >>> opt = chainrule.optim.Adamax(model.parameters(), lr=2e-3)
    """

    def __init__(
        self,
        params: Any,
        lr: float = 2e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0,
        foreach: bool | None = None,
        *,
        maximize: bool = False,
        differentiable: bool = False,
        capturable: bool = False,
    ) -> None:
        _check_nonnegative(lr=lr, eps=eps)
        _check_betas(betas)
        _check_nonnegative(weight_decay=weight_decay)
        defaults = dict(
            lr=lr,
            betas=betas,
            eps=eps,
            weight_decay=weight_decay,
            foreach=foreach,
            maximize=maximize,
            differentiable=differentiable,
            capturable=capturable,
        )
        super().__init__(params, defaults)

    def _update_group(self, group: dict[str, Any]) -> None:
        lr = float(group["lr"])
        beta1, beta2 = group["betas"]
        eps = group["eps"]
        for p, g in self._params_with_grad(group):
            d = p._data
            state = self.state[p]
            if not state:
                state["step"] = _step_tensor()
                state["exp_avg"] = _state_tensor(d)
                state["exp_inf"] = _state_tensor(d)
            step = _count_step(state)
            g = _grad_with_decay(g, d, group["maximize"], group["weight_decay"])
            m = state["exp_avg"]._data
            u = state["exp_inf"]._data
            tmp = np.subtract(g, m, out=np.empty_like(m))
            tmp *= 1 - beta1
            m += tmp
            u *= beta2
            np.abs(g, out=tmp)
            tmp += eps
            np.maximum(u, tmp, out=u)
            np.divide(m, u, out=tmp)
            tmp *= lr / (1 - beta1**step)
            d -= tmp
