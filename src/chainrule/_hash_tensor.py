"""``torch.hash_tensor`` and ``Tensor.hash_tensor``: a uint64 fingerprint of a tensor's values.

Mode 0 (the only one PyTorch has) widens each element to its 64-bit kind (floats to float64,
signed integers to int64, bool and uint8 zero-extended), reads those 64 bits as uint64 and
xor-reduces them, over all elements or over ``dim``.  Not differentiable: the result is an
integer that changes in every bit with the input.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from . import dtypes as _dt
from ._tensor import Tensor, wrap
from .ops._core import fail
from .ops._dims import kept_shape, norm_dims

__all__ = ["hash_tensor"]

_U64 = np.dtype(np.uint64)


def _bits(a: np.ndarray) -> np.ndarray:
    """Each element's 64-bit pattern as uint64 (PyTorch's upcast, then bitcast)."""
    k = _dt.kind(a.dtype)
    if k == "f":
        return a.astype(np.float64).view(_U64)
    if k == "i":
        return a.astype(np.int64).view(_U64)
    return a.astype(_U64)  # bool, uint8


def hash_tensor(input: Any, dim: Any = None, *, keepdim: bool = False, mode: int = 0) -> Tensor:  # noqa: A002
    """The xor of the elements' 64-bit patterns (uint64), over ``dim`` (default: all).

    >>> import chainrule as torch
    >>> torch.hash_tensor(torch.tensor([1.0, 2.0])).item() == (4607182418800017408 ^ 4611686018427387904)
    True
    """
    if not isinstance(input, Tensor):
        raise fail(
            f"hash_tensor(): argument 'input' (position 1) must be Tensor, not {type(input).__name__}",
            TypeError,
        )
    if type(mode) is not int:
        raise fail(f"hash_tensor(): argument 'mode' must be int, not {type(mode).__name__}", TypeError)
    if mode != 0:
        raise fail(f"hash_tensor(): Unknown hash_tensor mode: {mode} (only mode=0, the xor reduction)")
    a = input._data
    k = _dt.kind(a.dtype)
    if k == "c" or _dt.is_wide_unsigned(a.dtype):
        raise fail(
            f"hash_tensor(): not implemented for {_dt.from_numpy(a.dtype).name} tensors (PyTorch's xor "
            f"reduction lacks it); hash a real view or a cast, e.g. torch.view_as_real(x) or x.long() "
            f"(got {_dt.describe(a)})",
            NotImplementedError,
        )
    everything = dim is None or (isinstance(dim, (list, tuple)) and len(dim) == 0)
    dims = tuple(range(a.ndim)) if everything else norm_dims(dim, a.ndim, "hash_tensor")
    if everything and a.size == 0:
        raise fail(
            "hash_tensor(): Expected reduction dim to be specified for input.numel() == 0. Specify the "
            f"reduction dim with the 'dim' argument (got {_dt.describe(a)})"
        )
    for d in dims:
        if a.shape[d] == 0:
            raise fail(
                f"hash_tensor(): Expected reduction dim {d} to have non-zero size (got {_dt.describe(a)})",
                IndexError,
            )
    out = np.bitwise_xor.reduce(_bits(a), axis=dims) if dims else _bits(a)
    if keepdim:
        out = np.reshape(out, kept_shape(a.shape, dims))
    return wrap(np.asarray(out, dtype=_U64))


Tensor.hash_tensor = hash_tensor  # type: ignore[attr-defined]
