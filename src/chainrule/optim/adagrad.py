"""Adagrad: per-coordinate step sizes shrinking with the sum of squared gradients.

For each parameter ``p`` with gradient ``g`` at step ``t`` (PyTorch's formulation)::

    g = g + weight_decay * p
    clr = lr / (1 + (t - 1) * lr_decay)
    s = s + g * g                       (s starts at initial_accumulator_value)
    p = p - clr * g / (sqrt(s) + eps)
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._tensor import Tensor
from .optimizer import (
    Optimizer,
    _check_nonnegative,
    _count_step,
    _grad_with_decay,
    _state_tensor,
    _step_tensor,
)

__all__ = ["Adagrad"]


class Adagrad(Optimizer):
    """``Adagrad(params, lr=1e-2, lr_decay=0, weight_decay=0, initial_accumulator_value=0,
    eps=1e-10)``."""

    def __init__(
        self,
        params: Any,
        lr: float = 1e-2,
        lr_decay: float = 0,
        weight_decay: float = 0,
        initial_accumulator_value: float = 0,
        eps: float = 1e-10,
        foreach: bool | None = None,
        *,
        maximize: bool = False,
        differentiable: bool = False,
        fused: bool | None = None,
    ) -> None:
        _check_nonnegative(
            lr=lr,
            lr_decay=lr_decay,
            weight_decay=weight_decay,
            initial_accumulator_value=initial_accumulator_value,
            eps=eps,
        )
        defaults = dict(
            lr=lr,
            lr_decay=lr_decay,
            eps=eps,
            weight_decay=weight_decay,
            initial_accumulator_value=initial_accumulator_value,
            foreach=foreach,
            maximize=maximize,
            differentiable=differentiable,
            fused=fused,
        )
        super().__init__(params, defaults)
        # Like PyTorch, the state exists from the start (so it can be shared or inspected).
        for group in self.param_groups:
            for p in group["params"]:
                self._state(p, group)

    def _state(self, p: Tensor, group: dict[str, Any]) -> dict[str, Any]:
        state = self.state[p]
        if not state:  # at construction, or for a group added later
            state["step"] = _step_tensor()
            state["sum"] = _state_tensor(p._data, group["initial_accumulator_value"])
        return state

    def _update_group(self, group: dict[str, Any]) -> None:
        lr = float(group["lr"])
        lr_decay = group["lr_decay"]
        wd = group["weight_decay"]
        eps = group["eps"]
        maximize = group["maximize"]
        for p, g in self._params_with_grad(group):
            d = p._data
            state = self._state(p, group)
            step = _count_step(state)
            g = _grad_with_decay(g, d, maximize, wd)
            clr = lr / (1 + (step - 1) * lr_decay)
            s = state["sum"]._data
            tmp = np.multiply(g, g, out=np.empty_like(d))
            s += tmp
            np.sqrt(s, out=tmp)
            tmp += eps
            np.divide(g, tmp, out=tmp)
            tmp *= clr
            d -= tmp
