"""``DataParallel`` and ``data_parallel`` on chainrule's one device (see the package docstring)."""

from __future__ import annotations

from typing import Any

from ..module import Module

__all__ = ["DataParallel", "data_parallel"]


def _check_devices(device_ids: Any, where: str) -> None:
    for d in device_ids or ():
        name = getattr(d, "type", d)
        if name not in (0, "cpu") and not (isinstance(name, str) and name.startswith("cpu")):
            raise RuntimeError(
                f"{where}: device {d!r} is not available; chainrule runs on the CPU only "
                "(pass device_ids=None)"
            )


class DataParallel(Module):
    """``DataParallel(module, device_ids=None, output_device=None, dim=0)``: runs ``module``."""

    def __init__(
        self, module: Module, device_ids: Any = None, output_device: Any = None, dim: int = 0
    ) -> None:
        super().__init__()
        _check_devices(device_ids, "DataParallel")
        self.module = module
        self.device_ids = [] if device_ids is None else list(device_ids)
        self.output_device = output_device
        self.dim = dim

    def forward(self, *inputs: Any, **kwargs: Any) -> Any:
        return self.module(*inputs, **kwargs)


def data_parallel(
    module: Module,
    inputs: Any,
    device_ids: Any = None,
    output_device: Any = None,
    dim: int = 0,
    module_kwargs: Any = None,
) -> Any:
    """The functional form: ``module(*inputs, **module_kwargs)`` on the CPU."""
    _check_devices(device_ids, "data_parallel")
    if not isinstance(inputs, tuple):
        inputs = (inputs,)
    return module(*inputs, **(module_kwargs or {}))
