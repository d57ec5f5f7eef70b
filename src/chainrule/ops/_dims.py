"""Dimension arguments: PyTorch spellings (``dim``/``keepdim``) and NumPy's (``axis``/``keepdims``)."""

from __future__ import annotations

from typing import Any

from ._core import fail

__all__ = ["norm_dim", "norm_dims", "pick", "kept_shape", "sizes_arg", "batch_expand"]


def norm_dim(dim: Any, ndim: int, op: str) -> int:
    """One dimension index, negative allowed, checked against ``ndim``."""
    try:
        d = int(dim)
    except TypeError:
        raise fail(f"{op}(): dim must be an integer, got {type(dim).__name__}", TypeError) from None
    lo, hi = (-ndim, ndim - 1) if ndim else (-1, 0)
    if not lo <= d <= hi:
        raise fail(
            f"{op}(): dimension out of range (expected to be in range of [{lo}, {hi}], "
            f"but got {d})",
            IndexError,
        )
    return d % ndim if ndim else 0


def norm_dims(dim: Any, ndim: int, op: str) -> tuple[int, ...]:
    """A tuple of distinct, sorted, non-negative dims; None means all of them."""
    if dim is None:
        return tuple(range(ndim))
    if isinstance(dim, (list, tuple)):
        dims = tuple(norm_dim(d, ndim, op) for d in dim)
        if len(set(dims)) != len(dims):
            raise fail(f"{op}(): dim {tuple(dim)} names a dimension twice", RuntimeError)
        return tuple(sorted(dims)) if ndim else ()
    d = norm_dim(dim, ndim, op)
    return (d,) if ndim else ()  # a 0-d tensor accepts dim 0 or -1, which name no axis


def pick(primary: Any, alias: Any, default: Any = None) -> Any:
    """``dim`` if given, else its NumPy alias ``axis``, else the default."""
    if primary is not None:
        return primary
    if alias is not None:
        return alias
    return default


def kept_shape(shape: tuple[int, ...], dims: tuple[int, ...]) -> tuple[int, ...]:
    """``shape`` with each reduced dim set to 1 (the keepdim=True result shape)."""
    return tuple(1 if i in dims else s for i, s in enumerate(shape))


def sizes_arg(sizes: tuple, op: str) -> tuple[int, ...]:
    """Sizes given as varargs ``f(2, 3)``, one sequence ``f((2, 3))`` or a Size."""
    if len(sizes) == 1 and isinstance(sizes[0], (list, tuple)):
        sizes = tuple(sizes[0])
    out = []
    for s in sizes:
        try:
            out.append(int(s.__index__()))
        except (AttributeError, TypeError):
            raise fail(
                f"{op}(): sizes must be integers, got {type(s).__name__} ({s!r})", TypeError
            ) from None
    return tuple(out)


def batch_expand(a: Any, size: int) -> Any:
    """An unbatched argument of a batching rule, repeated ``size`` times along a new leading
    dim (a broadcast view, no copy).  Here, below ``func``, so that rules kept beside their op
    (``Primitive.extra["batch"]``) and ``func.batching`` use the same one."""
    import numpy as np

    from .._tensor import Tensor
    from .shape import _shape, broadcast_to, reshape

    if not isinstance(a, (Tensor, np.ndarray)):
        a = np.asarray(a)
    s = tuple(_shape(a))
    return broadcast_to(reshape(a, (1,) + s), (size,) + s)
