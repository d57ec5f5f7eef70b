"""Muon: momentum, then the update orthogonalised by a Newton-Schulz iteration (for 2-D
parameters, the weights of hidden layers), with decoupled weight decay.

For each parameter ``p`` (m, n) with gradient ``g`` (PyTorch's formulation)::

    b = momentum * b + (1 - momentum) * g                  (b starts at 0)
    u = g + momentum * (b - g)   if nesterov else b
    O = NS(u / max(||u||, eps)): 5 steps of X <- a X + (b' G + c' G^2) X, G = X X^T
    p = (1 - lr * weight_decay) p - lr * sqrt(max(1, m / n)) * O   ("original" adjustment)

PyTorch runs the iteration in bfloat16 (for speed on accelerators); here it runs in the
parameter's dtype, so results agree to bfloat16's precision.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .optimizer import Optimizer, _state_tensor

__all__ = ["Muon"]

EPS = 1e-7
DEFAULT_A, DEFAULT_B, DEFAULT_C = 3.4445, -4.7750, 2.0315
DEFAULT_NS_STEPS = 5


def _newton_schulz(g: np.ndarray, coefficients: tuple, steps: int, eps: float) -> np.ndarray:
    if steps >= 100:
        raise ValueError("Number of steps must be less than 100 for computational efficiency")
    if len(coefficients) != 3:
        raise ValueError("Coefficients must be a tuple of exactly 3 values")
    a, b, c = coefficients
    tall = g.shape[0] > g.shape[1]
    x = g.T if tall else g
    x = x / max(float(np.linalg.norm(x)), eps)
    for _ in range(steps):
        gram = x @ x.T
        x = a * x + (b * gram + c * (gram @ gram)) @ x
    return x.T if tall else x


def _adjusted_lr(lr: float, how: str | None, shape: tuple) -> float:
    rows, cols = shape[:2]
    if how is None or how == "original":
        return lr * math.sqrt(max(1.0, rows / cols))
    if how == "match_rms_adamw":
        return lr * 0.2 * math.sqrt(max(rows, cols))
    return lr


class Muon(Optimizer):
    """``Muon(params, lr=1e-3, weight_decay=0.1, momentum=0.95, nesterov=True)`` for 2-D
    parameters; give biases and embeddings to another optimizer (AdamW).

    >>> opt = chainrule.optim.Muon([p for p in model.parameters() if p.ndim == 2], lr=0.02)
    """

    def __init__(
        self,
        params: Any,
        lr: float = 1e-3,
        weight_decay: float = 0.1,
        momentum: float = 0.95,
        nesterov: bool = True,
        ns_coefficients: tuple = (DEFAULT_A, DEFAULT_B, DEFAULT_C),
        eps: float = EPS,
        ns_steps: int = DEFAULT_NS_STEPS,
        adjust_lr_fn: str | None = None,
    ) -> None:
        if not 0.0 <= lr:
            raise ValueError(f"Learning rate should be >= 0 but is: {lr}")
        if not 0.0 <= momentum:
            raise ValueError(f"momentum should be >= 0 but is: {momentum}")
        if not 0.0 <= weight_decay:
            raise ValueError(f"weight decay should be >= 0 but is: {weight_decay}")
        if adjust_lr_fn is not None and adjust_lr_fn not in ("original", "match_rms_adamw"):
            raise ValueError(f"Adjust learning rate function {adjust_lr_fn} is not supported")
        defaults = dict(
            lr=lr,
            weight_decay=weight_decay,
            momentum=momentum,
            nesterov=nesterov,
            ns_coefficients=ns_coefficients,
            eps=eps,
            ns_steps=ns_steps,
            adjust_lr_fn=adjust_lr_fn,
        )
        super().__init__(params, defaults)
        for group in self.param_groups:
            for p in group["params"]:
                if p.ndim != 2:
                    raise ValueError(
                        f"Muon only supports 2D parameters whereas we found a parameter with size: {p.size()}"
                    )

    def _update_group(self, group: dict[str, Any]) -> None:
        lr, wd, mom = float(group["lr"]), group["weight_decay"], group["momentum"]
        for p, g in self._params_with_grad(group):
            if p._data.dtype.kind == "c":
                raise RuntimeError("Muon does not support complex parameters")
            state = self.state[p]
            if "momentum_buffer" not in state:
                state["momentum_buffer"] = _state_tensor(g)
            buf = state["momentum_buffer"]._data
            buf += (1 - mom) * (g - buf)
            update = g + mom * (buf - g) if group["nesterov"] else buf
            o = _newton_schulz(update, tuple(group["ns_coefficients"]), group["ns_steps"], group["eps"])
            d = p._data
            d *= 1 - lr * wd
            d -= _adjusted_lr(lr, group["adjust_lr_fn"], d.shape) * o.astype(d.dtype, copy=False)
