"""``chainrule.utils.dlpack``: zero-copy exchange with NumPy, PyTorch, JAX, CuPy (PyTorch's names).

DLPack is the array libraries' common description of a block of memory (pointer, dtype,
shape, strides, device).  A chainrule tensor is a NumPy array underneath, so exporting hands out
NumPy's own DLPack capsule, and importing goes through ``numpy.from_dlpack``: in both
directions the two libraries then share memory, and a write through either is seen by both.
Only CPU memory can be shared (chainrule runs on the CPU); a GPU producer must copy first.

>>> t = chainrule.from_dlpack(torch_tensor)        # shares torch_tensor's memory
>>> u = torch.from_dlpack(chainrule_tensor)         # shares chainrule_tensor's memory
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._tensor import Tensor, wrap
from ..dtypes import from_numpy as _chainrule_dtype

__all__ = ["from_dlpack", "to_dlpack"]

_CPU = 1  # kDLCPU in DLPack's device enumeration


class _Capsule:
    """A bare (legacy) DLPack capsule, as ``torch.utils.dlpack.to_dlpack`` returns, made importable."""

    def __init__(self, capsule: Any) -> None:
        self.capsule = capsule

    def __dlpack__(self, **kwargs: Any) -> Any:
        return self.capsule

    def __dlpack_device__(self) -> tuple[int, int]:
        return (_CPU, 0)


def from_dlpack(ext_tensor: Any) -> Tensor:
    """A tensor sharing memory with ``ext_tensor`` (anything with ``__dlpack__``, or a capsule)."""
    if isinstance(ext_tensor, Tensor):
        return ext_tensor
    source = ext_tensor if hasattr(ext_tensor, "__dlpack__") else _Capsule(ext_tensor)
    if hasattr(source, "__dlpack_device__"):
        kind, index = source.__dlpack_device__()
        if int(kind) != _CPU:
            raise RuntimeError(
                f"from_dlpack(): the {type(ext_tensor).__name__} lives on DLPack device ({int(kind)}, "
                f"{index}), not the CPU; chainrule shares CPU memory only. Copy it to the CPU first "
                "(e.g. t.cpu() in PyTorch, cupy.asnumpy(x), jax.device_get(x))"
            )
    try:
        arr = np.from_dlpack(source)
    except (TypeError, BufferError, ValueError, RuntimeError) as e:
        raise TypeError(
            f"from_dlpack(): cannot import a {type(ext_tensor).__name__}: {e} (chainrule holds "
            "bool, integer and float16/32/64 tensors; convert, e.g. t.float() in PyTorch)"
        ) from None
    try:
        _chainrule_dtype(arr.dtype)
    except TypeError:
        raise TypeError(
            f"from_dlpack(): dtype {arr.dtype} has no chainrule equivalent; convert it in the "
            "producing library first (e.g. t.float())"
        ) from None
    if isinstance(source, _Capsule) and not arr.flags.writeable:
        arr = _writeable(arr)
    return wrap(arr)


class _Interface:
    """Holds a read-only array's memory description, claimed writeable (see ``_writeable``)."""

    def __init__(self, arr: np.ndarray) -> None:
        self.keep = arr  # keeps the capsule's memory alive as long as the new array
        iface = dict(arr.__array_interface__)
        iface["data"] = (iface["data"][0], False)
        self.__array_interface__ = iface


def _writeable(arr: np.ndarray) -> np.ndarray:
    """A legacy capsule carries no read-only flag, so NumPy plays safe and marks the array
    read-only; PyTorch treats such memory as writeable, and so does chainrule (zero-copy)."""
    return np.asarray(_Interface(arr))


def _check_export(t: Tensor) -> None:
    if t.requires_grad:
        raise RuntimeError(
            f"cannot export a tensor that requires grad (shape {tuple(t.shape)}) through DLPack: "
            "the other library would not record its graph. Use tensor.detach() first."
        )


def to_dlpack(tensor: Tensor) -> Any:
    """A DLPack capsule of ``tensor``'s memory (for consumers that take capsules)."""
    _check_export(tensor)
    return tensor._data.__dlpack__()


def __dlpack__(
    self: Tensor, *, stream: Any = None, max_version: Any = None, dl_device: Any = None, copy: Any = None
) -> Any:
    """The DLPack capsule of this tensor's memory (NumPy's), for ``torch.from_dlpack`` & co."""
    _check_export(self)
    if stream is not None:
        raise BufferError("chainrule tensors live on the CPU: __dlpack__(stream=...) must be None")
    kwargs = {
        k: v
        for k, v in (("max_version", max_version), ("dl_device", dl_device), ("copy", copy))
        if v is not None
    }
    return self._data.__dlpack__(**kwargs)


def __dlpack_device__(self: Tensor) -> tuple[int, int]:
    return (_CPU, 0)


def install() -> None:
    """Attach the DLPack protocol methods to ``Tensor``."""
    Tensor.__dlpack__ = __dlpack__  # type: ignore[attr-defined]
    Tensor.__dlpack_device__ = __dlpack_device__  # type: ignore[attr-defined]
