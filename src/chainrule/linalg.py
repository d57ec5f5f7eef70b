"""``chainrule.linalg``: the norms PyTorch exposes under ``torch.linalg``."""

from __future__ import annotations

from typing import Any

from .ops import norm as _norm

__all__ = ["vector_norm", "matrix_norm", "norm"]


def vector_norm(x: Any, ord: Any = 2, dim: Any = None, keepdim: bool = False, *, dtype: Any = None) -> Any:  # noqa: A002
    """The p-norm of ``x`` over ``dim`` (all elements if None), treating them as one vector."""
    return _norm(x, p=ord, dim=dim, keepdim=keepdim, dtype=dtype)


def matrix_norm(x: Any, ord: Any = "fro", dim: tuple = (-2, -1), keepdim: bool = False) -> Any:  # noqa: A002
    """The Frobenius norm over the last two dims (other orders need an SVD, which chainrule lacks)."""
    if ord != "fro":
        raise NotImplementedError(f"matrix_norm(): only ord='fro' is supported, got {ord!r}")
    return _norm(x, p="fro", dim=dim, keepdim=keepdim)


def norm(x: Any, ord: Any = None, dim: Any = None, keepdim: bool = False) -> Any:  # noqa: A002
    """``vector_norm`` for 1 dim or all elements, ``matrix_norm`` ('fro') for 2 dims."""
    if ord in (None, 2) or (ord == "fro"):
        return _norm(x, p=2, dim=dim, keepdim=keepdim)
    return vector_norm(x, ord, dim, keepdim)
