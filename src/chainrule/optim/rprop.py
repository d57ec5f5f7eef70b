"""Rprop: per-element step sizes that grow while the gradient keeps its sign.

For each element, with ``s = sign(g * g_prev)`` (PyTorch's formulation)::

    step_size = clamp(step_size * (etaplus if s > 0, etaminus if s < 0, 1 if s == 0),
                      step_size_min, step_size_max)
    g = 0 where s < 0                        (no move, and no sign memory, after a flip)
    p = p - sign(g) * step_size;  g_prev = g
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .optimizer import (
    Optimizer,
    _check,
    _check_nonnegative,
    _count_step,
    _state_tensor,
    _step_tensor,
)

__all__ = ["Rprop"]


class Rprop(Optimizer):
    """``Rprop(params, lr=1e-2, etas=(0.5, 1.2), step_sizes=(1e-6, 50))``.

    ``lr`` is the initial step size of every element.  Meant for full-batch training.
    """

    def __init__(
        self,
        params: Any,
        lr: float = 1e-2,
        etas: tuple[float, float] = (0.5, 1.2),
        step_sizes: tuple[float, float] = (1e-6, 50),
        *,
        capturable: bool = False,
        foreach: bool | None = None,
        maximize: bool = False,
        differentiable: bool = False,
    ) -> None:
        _check_nonnegative(lr=lr)
        _check(
            0.0 < etas[0] < 1.0 < etas[1],
            f"Invalid eta values: {etas[0]}, {etas[1]} (need 0 < etaminus < 1 < etaplus)",
        )
        defaults = dict(
            lr=lr,
            etas=etas,
            step_sizes=step_sizes,
            foreach=foreach,
            maximize=maximize,
            differentiable=differentiable,
            capturable=capturable,
        )
        super().__init__(params, defaults)

    def _update_group(self, group: dict[str, Any]) -> None:
        etaminus, etaplus = group["etas"]
        step_min, step_max = group["step_sizes"]
        for p, g in self._params_with_grad(group):
            d = p._data
            state = self.state[p]
            if not state:
                state["step"] = _step_tensor()
                state["prev"] = _state_tensor(d)
                state["step_size"] = _state_tensor(g, float(group["lr"]))
            _count_step(state)
            if group["maximize"]:
                g = np.negative(g)
            prev = state["prev"]._data
            step_size = state["step_size"]._data
            kind = step_size.dtype.type
            prod = g * prev
            flipped = prod < 0
            factor = np.where(prod > 0, kind(etaplus), np.where(flipped, kind(etaminus), kind(1)))
            step_size *= factor
            np.clip(step_size, step_min, step_max, out=step_size)
            g = np.where(flipped, kind(0), g)
            d -= np.sign(g) * step_size
            prev[...] = g
