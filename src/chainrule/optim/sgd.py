"""Stochastic gradient descent, with momentum, dampening, Nesterov and weight decay.

For each parameter ``p`` with gradient ``g`` (PyTorch's formulation)::

    g = -g                        if maximize
    g = g + weight_decay * p      if weight_decay
    b = g (first step) or momentum * b + (1 - dampening) * g
    g = g + momentum * b  if nesterov else b          (when momentum != 0)
    p = p - lr * g

Each product and sum is computed as written, one rounding each, except the last line: BLAS
``axpy`` (``p += (-lr) * g`` in one pass, one rounding), as PyTorch's vectorized ``add_(g,
alpha=-lr)`` fuses it into one FMA -- and 4-5x faster than NumPy's two passes (a float32
784x256 weight: 6 against 28 us).  The temporaries go into a scratch the optimizer keeps
(``_scratch``), so a step allocates no array.
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np

from .._tensor import wrap
from .optimizer import Optimizer, _check_nonnegative

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
        plain = not (momentum or wd or maximize)
        for p, grad in self._params_with_grad(group):
            d = p._data
            if plain and _axpy(d, grad, lr):  # p -= lr * g, and nothing else to compute
                continue
            if grad.dtype == d.dtype and grad.shape == d.shape and d.dtype.kind in "fc":
                tmp = functools.partial(self._scratch, d)
            else:  # temporaries of the promoted dtype and shape, new each step (rare)
                shape, dt = np.broadcast_shapes(grad.shape, d.shape), np.result_type(grad, d)
                tmp = lambda k, shape=shape, dt=dt: np.empty(shape, dt)  # noqa: E731
            # the temporaries go into ``tmp(0)`` and ``tmp(1)``: the same operations, one
            # rounding each, as the formulas above, and no new array per step
            s = tmp(0)
            g, owned = grad, False  # owned: g is a temporary, updated in place
            if wd:
                np.multiply(d, wd, out=s, dtype=s.dtype)
                if maximize:
                    s -= g
                else:
                    s += g
                g, owned = s, True
            elif maximize:
                g, owned = np.negative(grad, out=s), True
            if momentum != 0:
                state = self.state[p]
                buf = state.get("momentum_buffer")
                if buf is None:  # the buffer starts as g (its one allocation)
                    buf = state["momentum_buffer"] = wrap(np.array(g, copy=True))
                else:
                    b = buf._data
                    b *= momentum
                    if dampening == 0:
                        b += g
                    else:  # (no Nesterov with dampening: g is not read again)
                        b += np.multiply(g, 1 - dampening, out=s)
                if nesterov:  # g + momentum * b, into a temporary g is not in
                    ahead = np.multiply(buf._data, momentum, out=tmp(int(owned)))
                    ahead += g
                    g, owned = ahead, True
                else:
                    g, owned = buf._data, False
            if not _axpy(d, g, lr):
                d -= np.multiply(g, lr, out=s)  # (s: a temporary of the promoted dtype and shape)

    def _scratch(self, d: np.ndarray, k: int) -> np.ndarray:
        """Scratch ``k`` (0 or 1) shaped as ``d``: a view into one array per dtype, as large as
        the largest parameter, kept by the optimizer (not in its ``state``)."""
        pool = self.__dict__.setdefault("_scratch_arrays", {})
        flat = pool.get((d.dtype, k))
        if flat is None or flat.size < d.size:
            flat = pool[(d.dtype, k)] = np.empty(d.size, dtype=d.dtype)
        return flat[: d.size].reshape(d.shape)


_AXPY: dict[np.dtype, Any] = {}  # dtype -> scipy's BLAS axpy (y += a * x, in place)


def _axpy(d: np.ndarray, g: np.ndarray, lr: float) -> bool:
    """``d -= lr * g`` in place by BLAS axpy where both are C-ordered, of one float or complex
    dtype and shape, and apart; False (nothing done) elsewhere."""
    if (
        d.dtype.kind in "fc"
        and g.dtype == d.dtype
        and g.shape == d.shape
        and d.size
        and d.flags.c_contiguous
        and g.flags.c_contiguous
        and not np.may_share_memory(d, g)
    ):
        axpy = _AXPY.get(d.dtype)
        if axpy is None and d.dtype.char in "fdFD":
            import scipy.linalg.blas as blas

            axpy = _AXPY[d.dtype] = blas.get_blas_funcs("axpy", dtype=d.dtype)
        if axpy is not None:
            axpy(g.reshape(-1), d.reshape(-1), a=-lr)
            return True
    return False
