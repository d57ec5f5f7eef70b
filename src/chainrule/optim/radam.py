"""RAdam: Adam whose adaptive step is switched on only once its variance is tractable.

For each parameter ``p`` with gradient ``g`` at step ``t`` (PyTorch's formulation)::

    m, v as in Adam;  m_hat = m / (1 - beta1**t)
    rho_inf = 2 / (1 - beta2) - 1;  rho_t = rho_inf - 2 t beta2**t / (1 - beta2**t)
    if rho_t > 5:  p = p - lr * m_hat * sqrt(1 - beta2**t) / (sqrt(v) + eps) * r_t
                   r_t = sqrt((rho_t - 4)(rho_t - 2) rho_inf / ((rho_inf - 4)(rho_inf - 2) rho_t))
    else:          p = p - lr * m_hat                     (SGD with momentum, warm-up)
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

__all__ = ["RAdam"]


class RAdam(Optimizer):
    """``RAdam(params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
    decoupled_weight_decay=False)``.

    >>> opt = chainrule.optim.RAdam(model.parameters(), lr=1e-3)
    """

    def __init__(
        self,
        params: Any,
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0,
        decoupled_weight_decay: bool = False,
        *,
        foreach: bool | None = None,
        maximize: bool = False,
        capturable: bool = False,
        differentiable: bool = False,
    ) -> None:
        _check_nonnegative(lr=lr, eps=eps)
        _check_betas(betas)
        _check_nonnegative(weight_decay=weight_decay)
        defaults = dict(
            lr=lr,
            betas=betas,
            eps=eps,
            weight_decay=weight_decay,
            maximize=maximize,
            foreach=foreach,
            capturable=capturable,
            decoupled_weight_decay=decoupled_weight_decay,
            differentiable=differentiable,
        )
        super().__init__(params, defaults)

    def _update_group(self, group: dict[str, Any]) -> None:
        lr = float(group["lr"])
        beta1, beta2 = group["betas"]
        eps = group["eps"]
        wd = group["weight_decay"]
        decoupled = group["decoupled_weight_decay"]
        rho_inf = 2 / (1 - beta2) - 1
        for p, g in self._params_with_grad(group):
            d = p._data
            state = self.state[p]
            if not state:
                state["step"] = _step_tensor()
                state["exp_avg"] = _state_tensor(d)
                state["exp_avg_sq"] = _state_tensor(d)
            step = _count_step(state)
            if decoupled and wd != 0:
                d *= 1 - lr * wd
            g = _grad_with_decay(g, d, group["maximize"], 0 if decoupled else wd)
            m = state["exp_avg"]._data
            v = state["exp_avg_sq"]._data
            tmp = np.subtract(g, m, out=np.empty_like(m))
            tmp *= 1 - beta1
            m += tmp
            v *= beta2
            np.multiply(g, 1 - beta2, out=tmp)
            tmp *= g
            v += tmp
            bias_correction1 = 1 - beta1**step
            bias_correction2 = 1 - beta2**step
            upd = np.divide(m, bias_correction1, out=np.empty_like(d))
            upd *= lr
            rho_t = rho_inf - 2 * step * (beta2**step) / bias_correction2
            if rho_t > 5.0:
                rect = ((rho_t - 4) * (rho_t - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho_t)) ** 0.5
                np.sqrt(v, out=tmp)
                tmp += eps
                np.divide(bias_correction2**0.5, tmp, out=tmp)  # the adaptive learning rate
                upd *= tmp
                upd *= rect
            d -= upd
