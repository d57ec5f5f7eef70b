"""Stochastic gradient descent, with momentum, dampening, Nesterov and weight decay.

For each parameter ``p`` with gradient ``g`` (PyTorch's formulation)::

    g = -g                        if maximize
    g = g + weight_decay * p      if weight_decay
    b = g (first step) or momentum * b + (1 - dampening) * g
    g = g + momentum * b  if nesterov else b          (when momentum != 0)
    p = p - lr * g
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._tensor import wrap
from .optimizer import Optimizer, _check_nonnegative, _grad_with_decay

__all__ = ["SGD"]


class SGD(Optimizer):
    """``SGD(params, lr=1e-3, momentum=0, dampening=0, weight_decay=0, nesterov=False)``.

    >>> opt = chainrule.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    >>> opt.zero_grad(); loss.backward(); opt.step()
    """

    def __init__(
        self,
        params: Any,
        lr: float = 1e-3,
        momentum: float = 0,
        dampening: float = 0,
        weight_decay: float = 0,
        nesterov: bool = False,
        *,
        maximize: bool = False,
        foreach: bool | None = None,
        differentiable: bool = False,
        fused: bool | None = None,
    ) -> None:
        _check_nonnegative(lr=lr, momentum=momentum, weight_decay=weight_decay)
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError(
                f"Nesterov momentum requires a momentum and zero dampening, got momentum="
                f"{momentum}, dampening={dampening}"
            )
        defaults = dict(
            lr=lr,
            momentum=momentum,
            dampening=dampening,
            weight_decay=weight_decay,
            nesterov=nesterov,
            maximize=maximize,
            foreach=foreach,
            differentiable=differentiable,
            fused=fused,
        )
        super().__init__(params, defaults)

    def _update_group(self, group: dict[str, Any]) -> None:
        lr = float(group["lr"])
        momentum = group["momentum"]
        dampening = group["dampening"]
        wd = group["weight_decay"]
        nesterov = group["nesterov"]
        maximize = group["maximize"]
        for p, grad in self._params_with_grad(group):
            d = p._data
            g = _grad_with_decay(grad, d, maximize, wd)
            owned = g is not grad  # a temporary we may overwrite
            if momentum != 0:
                state = self.state[p]
                buf = state.get("momentum_buffer")
                if buf is None:  # the buffer starts as g: a temporary is kept, not copied
                    buf = state["momentum_buffer"] = wrap(g if owned else np.array(g, copy=True))
                else:
                    b = buf._data
                    b *= momentum
                    if dampening == 0:
                        b += g
                    else:
                        b += (1 - dampening) * g
                if nesterov:
                    ahead = np.multiply(buf._data, momentum, out=np.empty_like(d))
                    ahead += g
                    g, owned = ahead, True
                else:
                    g, owned = buf._data, False
            if owned:
                g *= lr
                d -= g
            else:
                d -= lr * g
