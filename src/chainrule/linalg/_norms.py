"""``torch.linalg``'s norms: vector norms, and matrix norms over two dims (the spectral
ones, 'nuc', 2 and -2, from the singular values)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .. import ops
from .._tensor import wrap
from ..ops import norm as _norm
from ..ops._core import fail
from ._solvers import _arr

__all__ = ["vector_norm", "matrix_norm", "norm"]


def vector_norm(
    x: Any,
    ord: Any = 2,
    dim: Any = None,
    keepdim: bool = False,
    *,
    dtype: Any = None,  # noqa: A002
    out: Any = None,
) -> Any:
    """The p-norm of ``x`` over ``dim`` (all elements if None), treating them as one vector."""
    return _norm(x, p=ord, dim=dim, keepdim=keepdim, dtype=dtype)


_MATRIX_ORDS = ("fro", "nuc", 2, -2, 1, -1, math.inf, -math.inf)


def matrix_norm(
    x: Any,
    ord: Any = "fro",
    dim: tuple = (-2, -1),
    keepdim: bool = False,
    *,  # noqa: A002
    dtype: Any = None,
    out: Any = None,
) -> Any:
    """A matrix norm over the two dims ``dim``: 'fro', 'nuc', 2, -2 (singular values), 1, -1
    (column sums of |x|), inf, -inf (row sums)."""
    if ord not in _MATRIX_ORDS:
        raise fail(f"linalg.matrix_norm: Order {ord} not supported.")
    if dtype is not None:
        x = ops.cast(x, dtype)
    nd = x.ndim
    if nd < 2:
        raise fail("linalg.matrix_norm: The input tensor A must have at least 2 dimensions.")
    d0, d1 = (d % nd for d in dim)
    if d0 == d1:
        raise fail(f"linalg.matrix_norm: dims must be different. Got ({dim[0]}, {dim[1]})")
    if ord == "fro":
        return _norm(x, p="fro", dim=(d0, d1), keepdim=keepdim)
    a = ops.movedim(x, (d0, d1), (-2, -1))
    if ord == "nuc":
        from ._spectral import svdvals

        r = ops.sum(svdvals(a), -1)
    elif ord in (2, -2):
        from ._spectral import svdvals

        r = _max_min(svdvals(a), ord, dim[1])
    elif ord in (1, -1):  # max (min) over columns of the column sums
        r = _max_min(ops.sum(ops.abs(a), -2), ord, dim[1])
    else:
        r = _max_min(ops.sum(ops.abs(a), -1), ord, dim[0])
    if keepdim:
        for d in sorted((d0, d1)):
            r = ops.unsqueeze(r, d)
    return r


def _max_min(v: Any, ord: Any, reduced: int) -> Any:  # noqa: A002
    """The max (ord > 0) or min over the last dim of ``v (*, k)``, which reduces the input's dim
    ``reduced``.  A norm's max over no values is 0, as PyTorch returns it: a new tensor of
    zeros, outside the graph; the min over no values is refused, as PyTorch's amin refuses."""
    shape = tuple(v.shape)
    if ord > 0:
        if shape[-1] == 0:
            return wrap(np.zeros(shape[:-1], _arr(v).dtype))
        return ops.amax(v, -1)
    if shape[-1] == 0:
        raise fail(
            f"linalg.matrix_norm: ord={ord} is a min over dim {reduced}, which has zero size: "
            f"Expected reduction dim {reduced} to have non-zero size (use a positive ord or "
            f"a non-empty matrix)",
            IndexError,
        )
    return ops.amin(v, -1)


def norm(
    x: Any,
    ord: Any = None,
    dim: Any = None,
    keepdim: bool = False,
    *,
    dtype: Any = None,  # noqa: A002
    out: Any = None,
) -> Any:
    """``vector_norm`` over one dim (or all elements when ``ord`` is None), ``matrix_norm``
    over two dims (or a 2-d input with ``ord`` given)."""
    if isinstance(dim, int):
        dim = (dim,)
    span = max(x.ndim, 1)
    for d in dim or ():
        if not -span <= d < span:
            raise fail(
                f"linalg.norm: Dimension out of range (expected to be in range of [{-span}, "
                f"{span - 1}], but got {d}) for an input of shape {tuple(x.shape)}",
                IndexError,
            )
    if (
        isinstance(ord, str)
        or (dim is not None and len(dim) == 2)
        or (dim is None and ord is not None and x.ndim == 2)
    ):
        return matrix_norm(
            x, "fro" if ord is None else ord, (-2, -1) if dim is None else tuple(dim), keepdim, dtype=dtype
        )
    if dim is None and ord is not None and x.ndim != 1:
        raise fail(
            f"linalg.norm: If dim is not specified but ord is, the input must be 1D or 2D. Got {x.ndim}D."
        )
    return vector_norm(x, 2 if ord is None else ord, dim, keepdim, dtype=dtype)
