"""Adafactor: second moments kept as row and column factors (sublinear memory).

For a matrix parameter (any tensor with ``dim > 1``: the last two dims) with
gradient ``G`` at step ``t``, PyTorch's formulation::

    beta2_t = 1 - t ** beta2_decay;  rho_t = min(lr, 1 / sqrt(t))
    alpha_t = max(eps2, RMS(p)) * rho_t;  p = p * (1 - lr * weight_decay)
    R = lerp(R, mean(G^2, -1), 1 - beta2_t);  C = lerp(C, mean(G^2, -2), 1 - beta2_t)
    V = R C / max(mean(R, -2), eps1)          (vectors keep a full V instead)
    U = G / max(sqrt(V), eps1);  p = p - alpha_t U / max(1, RMS(U) / d)
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .optimizer import Optimizer, _check, _count_step, _state_tensor, _step_tensor

__all__ = ["Adafactor"]


def _lerp_(start: np.ndarray, end: np.ndarray, weight: float) -> None:
    """In-place ``start += weight * (end - start)``, PyTorch's lerp formula for each weight."""
    if weight < 0.5:
        start += weight * (end - start)
    else:
        start[...] = end - (end - start) * (1 - weight)


class Adafactor(Optimizer):
    """``Adafactor(params, lr=1e-2, beta2_decay=-0.8, eps=(None, 1e-3), d=1.0, weight_decay=0.0)``.

    ``eps[0]`` of ``None`` means the parameters' dtype epsilon.
    """

    _state_shaped_like_params = False  # row_var/col_var are factors of the parameter's shape

    def __init__(
        self,
        params: Any,
        lr: float = 1e-2,
        beta2_decay: float = -0.8,
        eps: tuple[float | None, float] = (None, 1e-3),
        d: float = 1.0,
        weight_decay: float = 0.0,
        *,
        foreach: bool | None = None,
        maximize: bool = False,
    ) -> None:
        _check(0.0 <= lr, f"Learning rate should be >= 0 but is: {lr}")
        _check(0.0 >= beta2_decay, f"beta2_decay should be <= 0 but is: {beta2_decay}")
        _check(eps[0] is None or 0.0 <= eps[0], f"epsilon1 should be >= 0 but is: {eps[0]}")
        _check(0.0 <= eps[1], f"epsilon2 should be >= 0 but is: {eps[1]}")
        _check(1.0 <= d, f"Clipping threshold d should be >= 1 but is: {d}")
        _check(0.0 <= weight_decay, f"weight_decay should be >= 0 but is: {weight_decay}")
        defaults = dict(
            lr=lr,
            beta2_decay=beta2_decay,
            eps=eps,
            d=d,
            weight_decay=weight_decay,
            foreach=foreach,
            maximize=maximize,
        )
        super().__init__(params, defaults)

    def _update_group(self, group: dict[str, Any]) -> None:
        lr = float(group["lr"])
        eps1, eps2 = group["eps"]
        wd, d_clip = group["weight_decay"], group["d"]
        for p, g in self._params_with_grad(group):
            data = p._data
            state = self.state[p]
            if not state:
                state["step"] = _step_tensor()
                if g.ndim > 1:
                    state["row_var"] = _state_tensor(np.zeros(g.shape[:-1] + (1,), g.dtype))
                    state["col_var"] = _state_tensor(np.zeros(g.shape[:-2] + (1,) + g.shape[-1:], g.dtype))
                else:
                    state["variance"] = _state_tensor(g)
            if group["maximize"]:
                g = np.negative(g)
            if eps1 is None:  # as PyTorch: the first parameter's dtype decides, for the group
                eps1 = float(np.finfo(data.dtype).eps)
            step = _count_step(state)
            one_minus_beta2 = step ** group["beta2_decay"]
            rho = min(lr, 1 / step**0.5)
            alpha = max(eps2, float(np.linalg.norm(data.ravel())) / data.size**0.5) * rho
            if wd != 0:
                data *= 1 - lr * wd
            if g.ndim > 1:
                row, col = state["row_var"]._data, state["col_var"]._data
                g2 = g * g
                _lerp_(row, g2.sum(-1, keepdims=True) / g.shape[-1], one_minus_beta2)
                _lerp_(col, g2.sum(-2, keepdims=True) / g.shape[-2], one_minus_beta2)
                var = row @ col
                var /= np.maximum(row.mean(-2, keepdims=True), eps1)
            else:
                v = state["variance"]._data
                _lerp_(v, g * g, one_minus_beta2)
                var = v.copy()
            update = np.maximum(var, eps1 * eps1, out=var)
            np.sqrt(update, out=update)
            np.divide(g, update, out=update)
            denom = max(1.0, float(np.linalg.norm(update.ravel())) / (update.size**0.5 * d_clip))
            data -= (alpha / denom) * update
