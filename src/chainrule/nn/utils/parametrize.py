"""``nn.utils.parametrize``: express a parameter as a function of other tensors.

``register_parametrization(m, "weight", P())`` moves ``m.weight`` to
``m.parametrizations.weight.original`` (``original0``, ``original1``... when
``P.right_inverse`` returns a tuple) and makes ``m.weight`` a property that
computes ``P(original)`` on each access, as PyTorch does: the module's class is
swapped for a subclass that holds the property, so state_dict keys match PyTorch's.
"""

from __future__ import annotations

import contextlib
from typing import Iterator

from ..._tensor import Tensor
from ...autograd.grad_mode import no_grad
from ..container import ModuleDict, ModuleList
from ..module import Module
from ..parameter import Parameter

__all__ = [
    "register_parametrization",
    "remove_parametrizations",
    "is_parametrized",
    "cached",
    "ParametrizationList",
    "type_before_parametrizations",
]

_cache: dict | None = None  # (id(module), name) -> value while inside ``cached()``


@contextlib.contextmanager
def cached() -> Iterator[None]:
    """Compute each parametrized tensor once inside this block (e.g. a weight shared by RNN steps)."""
    global _cache
    outer = _cache
    _cache = {} if outer is None else outer
    try:
        yield
    finally:
        _cache = outer


class ParametrizationList(ModuleList):
    """The parametrizations of one tensor, applied in order, and the original tensor(s)."""

    def __init__(self, modules: list[Module], original: Tensor) -> None:
        super().__init__(modules)
        first = modules[0]
        new = original
        if hasattr(first, "right_inverse"):
            try:
                with no_grad():
                    new = first.right_inverse(original)
            except NotImplementedError:  # as PyTorch: a right_inverse that cannot be is the identity
                new = original
        self.is_tensor = isinstance(new, Tensor)
        self.ntensors = 1 if self.is_tensor else len(new)
        if self.is_tensor:
            if isinstance(original, Parameter):
                with no_grad():
                    original._data = new.detach()._data.copy()
                self.register_parameter("original", original)
            else:
                self.register_buffer("original", new.detach())
        else:
            for i, t in enumerate(new):
                value = (
                    Parameter(t.detach().clone(), original.requires_grad)
                    if isinstance(original, Parameter)
                    else t.detach()
                )
                if isinstance(value, Parameter):
                    self.register_parameter(f"original{i}", value)
                else:
                    self.register_buffer(f"original{i}", value)

    def right_inverse(self, value: Tensor) -> None:
        """Set the originals so that the parametrized tensor becomes ``value``."""
        with no_grad():
            for p in reversed(list(self)):
                if not hasattr(p, "right_inverse"):
                    raise RuntimeError(f"parametrization {type(p).__name__} does not implement right_inverse")
                value = p.right_inverse(value)
            if self.is_tensor:
                self.original._data = value.detach()._data.copy().astype(self.original._data.dtype)
            else:
                for i, t in enumerate(value):
                    getattr(self, f"original{i}")._data = t.detach()._data.copy()

    def forward(self) -> Tensor:  # type: ignore[override]
        mods = list(self)
        if self.is_tensor:
            x = mods[0](self.original)
        else:
            x = mods[0](*(getattr(self, f"original{i}") for i in range(self.ntensors)))
        for p in mods[1:]:
            x = p(x)
        return x


def _property(name: str) -> property:
    def get(self: Module) -> Tensor:
        plist = self.parametrizations[name]
        if _cache is None:
            return plist()
        key = (id(self), name)
        if key not in _cache:
            _cache[key] = plist()
        return _cache[key]

    def set_(self: Module, value: Tensor) -> None:
        self.parametrizations[name].right_inverse(value)

    return property(get, set_)


def is_parametrized(module: Module, tensor_name: str | None = None) -> bool:
    """Whether ``module`` (or its tensor ``tensor_name``) has a parametrization."""
    plists = module.__dict__["_modules"].get("parametrizations")
    if not isinstance(plists, ModuleDict):
        return False
    return len(plists) > 0 if tensor_name is None else tensor_name in plists


def type_before_parametrizations(module: Module) -> type:
    """The module's class before ``register_parametrization`` swapped it."""
    return type(module).__bases__[0] if is_parametrized(module) else type(module)


def register_parametrization(
    module: Module, tensor_name: str, parametrization: Module, *, unsafe: bool = False
) -> Module:
    """Make ``module.<tensor_name>`` be ``parametrization(original)``; returns ``module``."""
    if is_parametrized(module, tensor_name):
        plist = module.parametrizations[tensor_name]
        plist.append(parametrization)
        return module
    original = module.__dict__["_parameters"].get(tensor_name)
    if original is None:
        original = module.__dict__["_buffers"].get(tensor_name)
    if original is None:
        raise ValueError(
            f"Module '{module}' does not have a parameter, a buffer, or a parametrized element with "
            f"name '{tensor_name}'"
        )
    if not unsafe:
        with no_grad():
            out = parametrization(original)
        if not isinstance(out, Tensor):
            raise ValueError(f"A parametrization must return a tensor. Got {type(out).__name__}.")
        if out.shape != original.shape or out.dtype != original.dtype:
            raise ValueError(
                "Registering a parametrization may not change the shape or dtype of the tensor, "
                f"unless `unsafe` flag is enabled: shape {tuple(original.shape)} -> {tuple(out.shape)}, "
                f"dtype {original.dtype} -> {out.dtype}"
            )
    plist = ParametrizationList([parametrization], original)
    module.__dict__["_parameters"].pop(tensor_name, None)
    module.__dict__["_buffers"].pop(tensor_name, None)
    if not is_parametrized(module):
        cls = type(module)
        module.__class__ = type(f"Parametrized{cls.__name__}", (cls,), {})
        module.parametrizations = ModuleDict()
    setattr(type(module), tensor_name, _property(tensor_name))
    module.parametrizations[tensor_name] = plist
    return module


def remove_parametrizations(module: Module, tensor_name: str, leave_parametrized: bool = True) -> Module:
    """Undo ``register_parametrization``: keep the current value (or the original) as a plain parameter."""
    if not is_parametrized(module, tensor_name):
        raise ValueError(f"Module {module} does not have a parametrization on {tensor_name}")
    plist = module.parametrizations[tensor_name]
    if leave_parametrized:
        with no_grad():
            value = getattr(module, tensor_name)
        if plist.is_tensor:
            original = plist.original
            with no_grad():
                original._data = value.detach()._data.copy()
        else:
            original = Parameter(value.detach(), value.requires_grad)
    else:
        if not plist.is_tensor:
            raise ValueError(
                "Cannot leave unparametrized (`leave_parametrized=False`) a tensor that is "
                "parametrized in terms of a sequence of tensors."
            )
        original = plist.original
    delattr(type(module), tensor_name)
    del module.parametrizations[tensor_name]
    if isinstance(original, Parameter):
        module.register_parameter(tensor_name, original)
    else:
        module.register_buffer(tensor_name, original)
    if not is_parametrized(module):
        del module.parametrizations
        module.__class__ = type(module).__bases__[0]
    return module
