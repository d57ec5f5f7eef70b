"""Lazy layers: the input size is read from the first batch instead of being declared.

``LazyLinear(10)`` holds ``UninitializedParameter`` placeholders.  A forward
pre-hook runs once, before the first ``forward``: it calls
``initialize_parameters(*inputs)`` (which materialises the placeholders with
the now-known shapes and applies the default initialisation), removes itself,
and switches the object's class to the concrete one (``cls_to_become``), so
afterwards ``type(layer) is nn.Linear``.  The parameter objects never change
identity, so optimizers and shared layers keep working.
"""

from __future__ import annotations

from itertools import chain
from typing import Any

from ..autograd.grad_mode import no_grad
from .parameter import is_lazy

__all__ = ["LazyModuleMixin"]


class LazyModuleMixin:
    """Mixin for modules whose parameter shapes depend on the first input."""

    cls_to_become: type | None = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[call-arg]
        self._initialize_hook = self.register_forward_pre_hook(  # type: ignore[attr-defined]
            _infer_parameters, with_kwargs=True)

    def has_uninitialized_params(self) -> bool:
        """True while any parameter or buffer is still a placeholder."""
        tensors = chain(self._parameters.values(), self._buffers.values())  # type: ignore[attr-defined]
        return any(is_lazy(t) for t in tensors)

    def initialize_parameters(self, *args: Any, **kwargs: Any) -> None:
        raise NotImplementedError(f"initialize_parameters is not implemented for {type(self).__name__}")


def _infer_parameters(module: Any, args: tuple, kwargs: dict) -> None:
    with no_grad():
        module.initialize_parameters(*args, **kwargs)
    if module.has_uninitialized_params():
        raise RuntimeError(f"module {module._get_name()} has not been fully initialized")
    module._initialize_hook.remove()
    del module._initialize_hook
    if module.cls_to_become is not None:
        module.__class__ = module.cls_to_become
