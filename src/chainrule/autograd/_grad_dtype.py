"""``Tensor.grad_dtype``: the dtype the engine gives a leaf's gradient (PyTorch 2.13).

By default it is the tensor's dtype (nothing is stored).  Set to a dtype, the gradient reaching
the leaf is cast to it before the leaf's hooks, ``autograd.grad`` and ``.grad`` see it; set to
None, any dtype is kept.  The value lives in the tensor's ``_meta`` under ``"grad_dtype"``; the
engine (``_finish_leaf``) casts and the ``.grad`` setter checks assignments.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import dtypes as _dt
from .._tensor import Tensor

__all__ = ["cast_grad", "check_assigned"]


def _leaf_only(t: Tensor, verb: str) -> None:
    if t.grad_fn is not None:
        raise RuntimeError(f"grad_dtype can only be {verb} on leaf tensors.")


def _get(self: Tensor) -> Any:
    _leaf_only(self, "accessed")
    meta = self._meta
    if meta and "grad_dtype" in meta:
        return meta["grad_dtype"]
    return self.dtype


def _set(self: Tensor, value: Any) -> None:
    _leaf_only(self, "set")
    if value is not None and not isinstance(value, _dt.dtype):
        raise RuntimeError(f"grad_dtype must be a chainrule.dtype or None, but got {type(value).__name__}")
    g = self._grad
    if g is not None and value is not None and g.dtype != value:
        raise RuntimeError(
            f"Cannot set grad_dtype to {value} because there is already a gradient with dtype {g.dtype}. "
            "Please clear the gradient (.grad = None) before changing grad_dtype, or ensure the new "
            "grad_dtype matches the existing gradient's dtype."
        )
    self._set_meta("grad_dtype", value)


Tensor.grad_dtype = property(_get, _set, doc=__doc__.split("\n\n")[1])  # type: ignore[attr-defined]


def cast_grad(g: Any, dtype: Any) -> Any:
    """The gradient arriving at a leaf, as its ``grad_dtype`` wants it (None: unchanged)."""
    if dtype is None:
        return g
    if isinstance(g, Tensor):
        if g._data.dtype == dtype.np:
            return g
        from ..ops.elementwise import cast

        return cast(g, dtype.np)
    return np.asarray(g).astype(dtype.np, copy=False)


def grad_np_dtype(leaf: Tensor, g: Any) -> Any:
    """The NumPy dtype ``.grad`` gets: the leaf's, or (grad_dtype set) that of the cast gradient."""
    meta = leaf._meta
    if not meta or "grad_dtype" not in meta:
        return leaf._data.dtype
    return (g._data if isinstance(g, Tensor) else np.asarray(g)).dtype


def check_assigned(t: Tensor, value: Tensor) -> None:
    """``t.grad = value``: PyTorch refuses a gradient whose dtype is not ``t.grad_dtype``."""
    meta = t._meta
    want = meta["grad_dtype"] if meta and "grad_dtype" in meta else t.dtype
    if want is not None and value.dtype != want:
        raise RuntimeError(
            f"attempting to assign a gradient with dtype {value.dtype} to a tensor with grad_dtype "
            f"{want}. The gradient must match the tensor's grad_dtype (defaults to the tensor's dtype). "
            "You can set the tensor's grad_dtype attribute with a specific dtype, or None to allow any dtype."
        )
