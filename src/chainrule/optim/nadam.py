"""NAdam: Adam with Nesterov momentum (Dozat, 2016), as PyTorch formulates it.

For each parameter ``p`` with gradient ``g`` at step ``t``::

    mu_t = beta1 * (1 - 0.5 * 0.96 ** (t * momentum_decay))      momentum schedule
    mu_product = mu_product * mu_t                                  (kept in the state)
    m = m + (1 - beta1) * (g - m);  v = beta2 * v + (1 - beta2) * g * g
    denom = sqrt(v / (1 - beta2**t)) + eps
    p = p - lr * (1 - mu_t) / (1 - mu_product) * g / denom
          - lr * mu_{t+1} / (1 - mu_product * mu_{t+1}) * m / denom
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._tensor import wrap
from .optimizer import (
    Optimizer,
    _check_betas,
    _check_nonnegative,
    _count_step,
    _grad_with_decay,
    _state_tensor,
    _step_tensor,
)

__all__ = ["NAdam"]


class NAdam(Optimizer):
    """``NAdam(params, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
    momentum_decay=4e-3, decoupled_weight_decay=False)``.

    >>> opt = chainrule.optim.NAdam(model.parameters(), lr=2e-3)
    """

    def __init__(
        self,
        params: Any,
        lr: float = 2e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0,
        momentum_decay: float = 4e-3,
        decoupled_weight_decay: bool = False,
        *,
        foreach: bool | None = None,
        maximize: bool = False,
        capturable: bool = False,
        differentiable: bool = False,
    ) -> None:
        _check_nonnegative(lr=lr, eps=eps)
        _check_betas(betas)
        _check_nonnegative(weight_decay=weight_decay, momentum_decay=momentum_decay)
        defaults = dict(
            lr=lr,
            betas=betas,
            eps=eps,
            weight_decay=weight_decay,
            momentum_decay=momentum_decay,
            decoupled_weight_decay=decoupled_weight_decay,
            maximize=maximize,
            foreach=foreach,
            capturable=capturable,
            differentiable=differentiable,
        )
        super().__init__(params, defaults)

    def _update_group(self, group: dict[str, Any]) -> None:
        lr = float(group["lr"])
        beta1, beta2 = group["betas"]
        eps = group["eps"]
        wd = group["weight_decay"]
        decay = group["momentum_decay"]
        decoupled = group["decoupled_weight_decay"]
        for p, g in self._params_with_grad(group):
            d = p._data
            state = self.state[p]
            if not state:
                state["step"] = _step_tensor()
                state["mu_product"] = wrap(np.ones((), dtype=np.float32))
                state["exp_avg"] = _state_tensor(d)
                state["exp_avg_sq"] = _state_tensor(d)
            step = _count_step(state)
            if decoupled and wd != 0:
                d *= 1 - lr * wd
            g = _grad_with_decay(g, d, group["maximize"], 0 if decoupled else wd)
            mu = beta1 * (1.0 - 0.5 * 0.96 ** (step * decay))
            mu_next = beta1 * (1.0 - 0.5 * 0.96 ** ((step + 1) * decay))
            mu_product = state["mu_product"]._data
            mu_product *= mu  # a float32 scalar, as PyTorch keeps it
            mu_product_next = float(mu_product) * mu_next
            m = state["exp_avg"]._data
            v = state["exp_avg_sq"]._data
            tmp = np.subtract(g, m, out=np.empty_like(m))
            tmp *= 1 - beta1
            m += tmp
            v *= beta2
            np.multiply(g, 1 - beta2, out=tmp)
            tmp *= g
            v += tmp
            denom = np.divide(v, 1 - beta2**step, out=tmp)
            np.sqrt(denom, out=denom)
            denom += eps
            # both addcdiv terms of PyTorch's update over one shared denominator
            upd = np.multiply(g, -lr * (1.0 - mu) / (1.0 - float(mu_product)), out=np.empty_like(d))
            upd += m * (-lr * mu_next / (1.0 - mu_product_next))
            upd /= denom
            d += upd
