"""ASGD: SGD with a decaying step and a running (Polyak) average of the iterates.

For each parameter ``p`` with gradient ``g`` at step ``t`` (PyTorch's formulation)::

    p = p * (1 - lambd * eta) - eta * g
    ax = p if mu == 1 else ax + mu * (p - ax)          the average, in state['ax']
    eta = lr / (1 + lambd * lr * t) ** alpha;  mu = 1 / max(1, t - t0)

``eta`` and ``mu`` are float32 scalars in the state, as in PyTorch.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._tensor import wrap
from .optimizer import (
    Optimizer,
    _check_nonnegative,
    _count_step,
    _grad_with_decay,
    _state_tensor,
    _step_tensor,
)

__all__ = ["ASGD"]


class ASGD(Optimizer):
    """``ASGD(params, lr=1e-2, lambd=1e-4, alpha=0.75, t0=1e6, weight_decay=0)``.

    The averaged parameters are ``optimizer.state[p]['ax']``.
    """

    def __init__(
        self,
        params: Any,
        lr: float = 1e-2,
        lambd: float = 1e-4,
        alpha: float = 0.75,
        t0: float = 1e6,
        weight_decay: float = 0,
        foreach: bool | None = None,
        maximize: bool = False,
        differentiable: bool = False,
        capturable: bool = False,
    ) -> None:
        _check_nonnegative(lr=lr, weight_decay=weight_decay)
        defaults = dict(
            lr=lr,
            lambd=lambd,
            alpha=alpha,
            t0=t0,
            weight_decay=weight_decay,
            foreach=foreach,
            maximize=maximize,
            differentiable=differentiable,
            capturable=capturable,
        )
        super().__init__(params, defaults)

    def _update_group(self, group: dict[str, Any]) -> None:
        lr = float(group["lr"])
        lambd = group["lambd"]
        for p, g in self._params_with_grad(group):
            d = p._data
            state = self.state[p]
            if not state:
                state["step"] = _step_tensor()
                state["eta"] = wrap(np.array(lr, dtype=np.float32))
                state["mu"] = wrap(np.ones((), dtype=np.float32))
                state["ax"] = _state_tensor(d)
            step = _count_step(state)
            g = _grad_with_decay(g, d, group["maximize"], group["weight_decay"])
            eta = float(state["eta"]._data)
            d *= 1 - lambd * eta
            d -= eta * g
            mu = state["mu"]._data
            ax = state["ax"]._data
            if float(mu) != 1:
                tmp = np.subtract(d, ax, out=np.empty_like(d))
                tmp *= mu
                ax += tmp
            else:
                ax[...] = d
            state["eta"]._data[...] = lr / ((1 + lambd * lr * step) ** group["alpha"])
            mu[...] = 1 / max(1, step - group["t0"])
