"""``torch.get_device_module``: the module of a device type (``chainrule.cpu``, ``chainrule.cuda``, ...)."""

from __future__ import annotations

import importlib
from typing import Any

from .backend import device as _device

__all__ = ["get_device_module"]

_TYPES = (
    "cpu, cuda, ipu, xpu, mkldnn, opengl, opencl, ideep, hip, ve, fpga, maia, xla, lazy, vulkan, "
    "mps, meta, hpu, mtia, privateuseone"
)
_MODULES = ("cpu", "cuda", "mps")  # the device types chainrule has a module for


def device_type(device: str) -> str:
    """The type of a device string (``"cuda:1"`` -> ``"cuda"``), refused as PyTorch's parser does."""
    name = device.split(":", 1)[0]
    if name not in _TYPES.split(", "):
        raise RuntimeError(f"Expected one of {_TYPES} device type at start of device string: {device}")
    return name


def get_device_module(device: Any = None) -> Any:
    """``get_device_module("cuda")`` is ``chainrule.cuda``; without a device, the current
    accelerator's module, which is ``chainrule.cpu`` (chainrule has no accelerator)."""
    if isinstance(device, _device):
        name = device.type
    elif isinstance(device, str):
        name = device_type(device)
    elif device is None:
        name = "cpu"
    else:
        raise RuntimeError(f"Invalid value of device '{device}', expect torch.device, str, or None")
    if name not in _MODULES:
        raise RuntimeError(
            f"Device '{name}' does not have a corresponding module registered as 'torch.{name}' "
            f"(chainrule has {', '.join(_MODULES)})."
        )
    return importlib.import_module(f"chainrule.{name}")
