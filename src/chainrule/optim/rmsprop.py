"""RMSprop: divide the gradient by a running root-mean-square of recent gradients.

For each parameter ``p`` with gradient ``g`` (PyTorch's formulation)::

    g = g + weight_decay * p
    s = alpha * s + (1 - alpha) * g * g
    a = sqrt(s - gbar**2) with gbar = gbar + (1 - alpha) * (g - gbar)   (centered)
        sqrt(s)                                                         (otherwise)
    b = momentum * b + g / (a + eps);  p = p - lr * b                   (momentum > 0)
    p = p - lr * g / (a + eps)                                          (otherwise)
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .optimizer import Optimizer, _check_nonnegative, _grad_with_decay, _state_tensor, _step_tensor

__all__ = ["RMSprop"]


class RMSprop(Optimizer):
    """``RMSprop(params, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0, momentum=0,
    centered=False)``."""

    def __init__(
        self,
        params: Any,
        lr: float = 1e-2,
        alpha: float = 0.99,
        eps: float = 1e-8,
        weight_decay: float = 0,
        momentum: float = 0,
        centered: bool = False,
        capturable: bool = False,
        foreach: bool | None = None,
        maximize: bool = False,
        differentiable: bool = False,
    ) -> None:
        _check_nonnegative(lr=lr, eps=eps, momentum=momentum, weight_decay=weight_decay, alpha=alpha)
        defaults = dict(
            lr=lr,
            momentum=momentum,
            alpha=alpha,
            eps=eps,
            centered=centered,
            weight_decay=weight_decay,
            capturable=capturable,
            foreach=foreach,
            maximize=maximize,
            differentiable=differentiable,
        )
        super().__init__(params, defaults)

    def _update_group(self, group: dict[str, Any]) -> None:
        lr = float(group["lr"])
        alpha = group["alpha"]
        eps = group["eps"]
        wd = group["weight_decay"]
        momentum = group["momentum"]
        centered = group["centered"]
        maximize = group["maximize"]
        for p, g in self._params_with_grad(group):
            d = p._data
            state = self.state[p]
            if not state:
                state["step"] = _step_tensor()
                state["square_avg"] = _state_tensor(d)
                if momentum > 0:
                    state["momentum_buffer"] = _state_tensor(d)
                if centered:
                    state["grad_avg"] = _state_tensor(d)
            state["step"]._data += 1
            g = _grad_with_decay(g, d, maximize, wd)
            s = state["square_avg"]._data
            s *= alpha
            avg = np.multiply(g, 1 - alpha, out=np.empty_like(d))
            avg *= g
            s += avg
            if centered:
                gbar = state["grad_avg"]._data
                np.subtract(g, gbar, out=avg)
                avg *= 1 - alpha
                gbar += avg
                np.multiply(gbar, gbar, out=avg)
                np.subtract(s, avg, out=avg)
                np.sqrt(avg, out=avg)
            else:
                np.sqrt(s, out=avg)
            avg += eps
            if momentum > 0:
                buf = state["momentum_buffer"]._data
                buf *= momentum
                np.divide(g, avg, out=avg)
                buf += avg
                np.multiply(buf, lr, out=avg)
                d -= avg
            else:
                np.divide(g, avg, out=avg)
                avg *= lr
                d -= avg
