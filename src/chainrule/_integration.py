"""Numerical integration and differentiation of sampled values (``trapezoid``, ``trapz``,
``cumulative_trapezoid``, ``gradient``), composed from slices and arithmetic so that gradients
follow.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from . import ops
from ._tensor import Tensor, wrap
from ._tensor_functions_extra import _tensor
from .ops._core import fail
from .ops._dims import norm_dim, norm_dims
from .ops.elementwise import _to_float, cast

__all__ = ["trapezoid", "trapz", "cumulative_trapezoid", "gradient"]


# ----------------------------------------------------------------- integration
def _slice(x: Any, dim: int, start: int | None, stop: int | None) -> Any:
    idx = (slice(None),) * dim + (slice(start, stop),)
    return x[idx]


def _dx_along(x: Any, y: Tensor, d: int) -> Any:
    """The spacings of sample points ``x`` along dim ``d`` of ``y`` (a 1-D x is laid along d)."""
    x = _tensor(x)
    if x._data.ndim == 1:
        shape = [1] * y._data.ndim
        shape[d] = x._data.shape[0]
        x = ops.reshape(x, tuple(shape))
        dd = d
    else:
        dd = d - y._data.ndim + x._data.ndim
    return ops.sub(_slice(x, dd, 1, None), _slice(x, dd, None, -1))


def _integration_dim(y: Tensor, dim: int, op: str) -> int:
    if y._data.ndim == 0:
        raise fail(
            f"{op}(): Dimension specified as {dim} but tensor has no dimensions (input shape ())", IndexError
        )
    return norm_dim(dim, y._data.ndim, op)


def trapezoid(y: Any, x: Any = None, *, dx: Any = None, dim: int = -1) -> Any:
    """The trapezoid rule along ``dim``: with sample points ``x``, or spacing ``dx`` (default 1)."""
    y = _tensor(y)
    if x is not None and dx is not None:
        raise fail("trapezoid(): received both x and dx; pass one of them", TypeError)
    if x is not None and not isinstance(x, Tensor):
        dx, x = x, None
    d = _integration_dim(y, dim, "trapezoid")
    if y._data.shape[d] == 0:  # PyTorch's zeros, made from no value (so without a gradient)
        return wrap(np.zeros(y._data.shape[:d] + y._data.shape[d + 1 :], dtype=y._data.dtype))
    if x is None:
        step = 1 if dx is None else dx
        ends = ops.add(ops.select(y, d, 0), ops.select(y, d, -1))
        return ops.mul(ops.sub(ops.sum(y, d), ops.mul(ends, 0.5)), step)
    mid = ops.add(_slice(y, d, 1, None), _slice(y, d, None, -1))
    return ops.div(ops.sum(ops.mul(_dx_along(x, y, d), mid), d), 2.0)


def trapz(y: Any, x: Any = None, *, dx: Any = None, dim: int = -1) -> Any:
    """``trapezoid``'s older name."""
    return trapezoid(y, x, dx=dx, dim=dim)


def cumulative_trapezoid(y: Any, x: Any = None, *, dx: Any = None, dim: int = -1) -> Any:
    """The running trapezoid rule along ``dim`` (one element fewer than ``y`` along it)."""
    y = _tensor(y)
    if x is not None and not isinstance(x, Tensor):
        dx, x = x, None
    d = _integration_dim(y, dim, "cumulative_trapezoid")
    mid = ops.add(_slice(y, d, 1, None), _slice(y, d, None, -1))
    step = (1 if dx is None else dx) if x is None else _dx_along(x, y, d)
    return ops.cumsum(ops.mul(ops.div(step, 2.0), mid), d)


def gradient(input: Any, *, spacing: Any = 1, dim: Any = None, edge_order: int = 1) -> tuple:  # noqa: A002
    """Central differences in the interior and one-sided ones (first or second order) at the
    edges, along each dim in ``dim``: ``numpy.gradient``'s estimate.  ``spacing`` is one number,
    one per dim, or the sample coordinates (1-D tensors) per dim."""
    f = _tensor(input)
    nd = f._data.ndim
    dims = norm_dims(dim, nd, "gradient") if not isinstance(dim, int) else (norm_dim(dim, nd, "gradient"),)
    if dim is not None and isinstance(dim, (list, tuple)):
        dims = tuple(norm_dim(d, nd, "gradient") for d in dim)
    if edge_order not in (1, 2):
        raise fail(
            f"gradient(): torch.gradient only supports edge_order=1 and edge_order=2, got {edge_order}",
            RuntimeError,
        )
    if isinstance(spacing, (list, tuple)):
        if dim is None and len(spacing) != nd:
            raise fail(
                f"gradient(): torch.gradient expected spacing to be unspecified, a scalar, or a list of "
                f"length equal to 'self.dim() = {nd}', since dim argument was not given, but got a list "
                f"of length {len(spacing)} (input shape {tuple(f._data.shape)})",
                RuntimeError,
            )
        if nd == 0:
            raise fail(
                "gradient(): Dimension specified as 0 but tensor has no dimensions (input shape ())",
                IndexError,
            )
        if len(spacing) != len(dims):
            raise fail(
                f"gradient(): expected spacing to be unspecified, a scalar or a list of "
                f"length {len(dims)} (one per dim), got a list of length {len(spacing)}",
                RuntimeError,
            )
        spacings = list(spacing)
    else:
        spacings = [spacing] * len(dims)
    for d in dims:
        if f._data.shape[d] < edge_order + 1:
            raise fail(
                f"gradient(): torch.gradient expected each dimension size to be at least "
                f"edge_order+1 = {edge_order + 1}, got size {f._data.shape[d]} along dim {d}",
                RuntimeError,
            )
    f = _to_float(f)
    return tuple(_gradient_1d(f, d, h, edge_order) for d, h in zip(dims, spacings))


def _along(v: Any, nd: int, d: int) -> Any:
    shape = [1] * nd
    shape[d] = -1
    return ops.reshape(v, tuple(shape))


def _gradient_1d(f: Tensor, d: int, h: Any, edge: int) -> Any:
    nd = f._data.ndim

    def s(a: int | None, b: int | None) -> Any:
        return _slice(f, d, a, b)

    if not isinstance(h, Tensor):  # uniform spacing
        inner = (s(2, None) - s(None, -2)) / (2.0 * h)
        if edge == 1:
            first, last = (s(1, 2) - s(0, 1)) / h, (s(-1, None) - s(-2, -1)) / h
        else:
            first = (2.0 * s(1, 2) - 1.5 * s(0, 1) - 0.5 * s(2, 3)) / h
            last = (1.5 * s(-1, None) - 2.0 * s(-2, -1) + 0.5 * s(-3, -2)) / h
        return ops.cat([first, inner, last], d)
    x = cast(h, f._data.dtype) if h._data.dtype.kind != "f" else h
    if x._data.ndim != 1 or x._data.shape[0] != f._data.shape[d]:
        raise fail(
            f"gradient(): each coordinate tensor must be 1-D with the length of its dim "
            f"({f._data.shape[d]}), got shape {tuple(x._data.shape)}",
            RuntimeError,
        )
    dx = x[1:] - x[:-1]
    p, q = _along(dx[:-1], nd, d), _along(dx[1:], nd, d)  # the steps left and right of each point
    inner = -q / (p * (p + q)) * s(None, -2) + (q - p) / (p * q) * s(1, -1) + p / (q * (p + q)) * s(2, None)
    if edge == 1:
        first = (s(1, 2) - s(0, 1)) / _along(dx[:1], nd, d)
        last = (s(-1, None) - s(-2, -1)) / _along(dx[-1:], nd, d)
    else:
        p, q = _along(dx[:1], nd, d), _along(dx[1:2], nd, d)
        first = (
            -(2.0 * p + q) / (p * (p + q)) * s(0, 1)
            + (p + q) / (p * q) * s(1, 2)
            - p / (q * (p + q)) * s(2, 3)
        )
        p, q = _along(dx[-2:-1], nd, d), _along(dx[-1:], nd, d)
        last = (
            q / (p * (p + q)) * s(-3, -2)
            - (p + q) / (p * q) * s(-2, -1)
            + (2.0 * q + p) / (q * (p + q)) * s(-1, None)
        )
    return ops.cat([first, inner, last], d)


from ._naming import name_all  # noqa: E402

name_all(globals(), __all__)  # their errors name them
