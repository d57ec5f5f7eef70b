"""Gradient clipping: rescale (``clip_grad_norm_``) or clamp (``clip_grad_value_``) ``.grad`` in place.

Clipping happens between ``loss.backward()`` and ``optimizer.step()`` and never
records a graph.  ``clip_grad_norm_`` treats all gradients as one long vector:
total = ||(||g_1||, ..., ||g_k||)||_p, and multiplies every gradient by
min(1, max_norm / (total + 1e-6)), so the direction is kept.
"""

from __future__ import annotations

import math
from typing import Iterable

import numpy as np

from ..._tensor import Tensor, wrap

__all__ = ["clip_grad_norm_", "clip_grad_norm", "clip_grad_value_", "get_total_norm",
           "clip_grads_with_norm_"]


def _tensors(parameters: Tensor | Iterable[Tensor]) -> list[Tensor]:
    if isinstance(parameters, Tensor):
        return [parameters]
    return list(parameters)


def _grads(parameters: Tensor | Iterable[Tensor]) -> list[Tensor]:
    return [p._grad for p in _tensors(parameters) if p._grad is not None]


def _norm(a: np.ndarray, p: float) -> float:
    a = np.abs(a.reshape(-1))
    if p == math.inf:
        return float(a.max()) if a.size else 0.0
    if p == -math.inf:
        return float(a.min()) if a.size else math.inf
    if p == 0:
        return float(np.count_nonzero(a))
    if p == 2:
        return float(np.sqrt(np.dot(a, a)))
    if p == 1:
        return float(a.sum())
    return float(np.sum(a**p) ** (1.0 / p))


def get_total_norm(tensors: Tensor | Iterable[Tensor], norm_type: float = 2.0,
                   error_if_nonfinite: bool = False, foreach: bool | None = None) -> Tensor:
    """The p-norm of all ``tensors`` taken together (as if concatenated into one vector)."""
    ts = [t for t in _tensors(tensors) if t is not None]
    p = float(norm_type)
    if not ts:
        return wrap(np.array(0.0, dtype=np.float32))
    dtype = ts[0]._data.dtype
    per = np.array([_norm(t._data.astype(np.float64, copy=False), p) for t in ts])
    total = _norm(per, p)
    if error_if_nonfinite and not math.isfinite(total):
        raise RuntimeError(
            f"The total norm of order {p} for gradients from `parameters` is non-finite, so it "
            "cannot be clipped. To disable this error and scale the gradients by the non-finite "
            "norm anyway, set `error_if_nonfinite=False`")
    return wrap(np.array(total, dtype=dtype))


def clip_grads_with_norm_(parameters: Tensor | Iterable[Tensor], max_norm: float,
                          total_norm: Tensor | float, foreach: bool | None = None) -> None:
    """Scale every gradient by min(1, max_norm / (total_norm + 1e-6)), in place."""
    grads = _grads(parameters)
    coef = min(float(max_norm) / (float(total_norm) + 1e-6), 1.0)
    for g in grads:
        g._data *= np.asarray(coef, dtype=g._data.dtype)
        g._vc[0] += 1


def clip_grad_norm_(parameters: Tensor | Iterable[Tensor], max_norm: float,
                    norm_type: float = 2.0, error_if_nonfinite: bool = False,
                    foreach: bool | None = None) -> Tensor:
    """Rescale gradients so their total ``norm_type``-norm is at most ``max_norm``; returns the norm
    before clipping (a 0-d tensor).

    >>> loss.backward()
    >>> nn.utils.clip_grad_norm_(model.parameters(), max_norm=1.0)
    >>> optimizer.step()
    """
    params = _tensors(parameters)
    total = get_total_norm(_grads(params), norm_type, error_if_nonfinite)
    clip_grads_with_norm_(params, max_norm, total)
    return total


def clip_grad_norm(parameters: Tensor | Iterable[Tensor], max_norm: float, norm_type: float = 2.0,
                   error_if_nonfinite: bool = False, foreach: bool | None = None) -> Tensor:
    """Deprecated spelling of ``clip_grad_norm_`` (kept because old code uses it)."""
    return clip_grad_norm_(parameters, max_norm, norm_type, error_if_nonfinite, foreach)


def clip_grad_value_(parameters: Tensor | Iterable[Tensor], clip_value: float,
                     foreach: bool | None = None) -> None:
    """Clamp every gradient element into [-clip_value, clip_value], in place."""
    c = float(clip_value)
    for g in _grads(parameters):
        np.clip(g._data, -c, c, out=g._data)
        g._vc[0] += 1
