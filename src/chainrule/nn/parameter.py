"""``Parameter``: a Tensor that a ``Module`` registers as a learnable weight.

A Parameter is an ordinary leaf Tensor (same storage as the tensor it wraps,
``requires_grad=True`` by default); its only job is to be recognised when it
is assigned to a module attribute, so ``model.parameters()`` finds it.

``UninitializedParameter`` is the placeholder a lazy layer (``LazyLinear``)
holds until its first call tells it the input size; ``materialize(shape)``
then turns the *same object* into a real ``Parameter`` (so an optimizer built
before the first call still holds the right tensor).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import dtypes as _dt
from .._tensor import Tensor, _init

__all__ = ["Parameter", "UninitializedParameter", "UninitializedBuffer", "is_lazy"]


def _no_data(dtype: Any = None) -> np.ndarray:
    """The 0-element storage of a placeholder (``dtype`` or the default float dtype)."""
    return np.empty((0,), dtype=_dt.to_numpy(dtype) if dtype is not None else _dt.get_default_dtype().np)


class Parameter(Tensor):
    """A learnable tensor: ``nn.Parameter(torch.randn(3, 2))`` shares the data, requires grad.

    >>> w = Parameter(chainrule.ones(2))
    >>> w.requires_grad
    True
    """

    __slots__ = ()

    def __new__(cls, data: Tensor | None = None, requires_grad: bool = True) -> Parameter:
        if data is None:
            data = Tensor(_no_data())
        if not isinstance(data, Tensor):
            raise TypeError(
                f"Parameter() expects a Tensor, got {type(data).__name__}; wrap the values first, "
                "e.g. nn.Parameter(chainrule.tensor(values))"
            )
        p = object.__new__(cls)
        _init(p, data._data)
        p._vc = data._vc  # an alias of the same storage sees the same in-place writes
        if requires_grad:
            p.requires_grad_(True)  # raises a clear error for integer data
        return p

    def __init__(self, data: Tensor | None = None, requires_grad: bool = True) -> None:
        pass  # everything happens in __new__ (Tensor.__init__ must not run again)

    def __repr__(self) -> str:
        return "Parameter containing:\n" + Tensor.__repr__(self)

    __str__ = __repr__


def _uninitialized(what: str) -> RuntimeError:
    return RuntimeError(
        f"Can't {what} an uninitialized parameter or buffer: a lazy layer only knows its input "
        "size after its first call. Run one forward pass (e.g. model(example_batch)) before "
        "using the parameters."
    )


class UninitializedTensorMixin:
    """Shape queries fail loudly until ``materialize`` gives the tensor its shape."""

    __slots__ = ()
    cls_to_become: type = Tensor

    def materialize(self, shape: Any, device: Any = None, dtype: Any = None) -> None:
        """Allocate storage of ``shape`` and become ``cls_to_become`` (same object)."""
        if isinstance(shape, int):
            shape = (shape,)
        npd = _dt.to_numpy(dtype) if dtype is not None else self._data.dtype  # type: ignore[attr-defined]
        self._data = np.empty(tuple(int(s) for s in shape), dtype=npd)
        self.__class__ = self.cls_to_become  # type: ignore[assignment]

    @property
    def shape(self) -> Any:
        raise _uninitialized("access the shape of")

    def size(self, dim: int | None = None) -> Any:
        raise _uninitialized("call size() on")

    def numel(self) -> int:
        raise _uninitialized("call numel() on")

    def dim(self) -> int:
        raise _uninitialized("call dim() on")

    @property
    def ndim(self) -> int:
        raise _uninitialized("access ndim of")

    def __repr__(self) -> str:
        return f"<{type(self).__name__}>"

    __str__ = __repr__


class UninitializedParameter(UninitializedTensorMixin, Parameter):
    """A parameter without a shape yet (held by lazy layers before their first call)."""

    __slots__ = ()
    cls_to_become = Parameter

    def __new__(cls, requires_grad: bool = True, device: Any = None,
                dtype: Any = None) -> UninitializedParameter:
        p = object.__new__(cls)
        _init(p, _no_data(dtype))
        p._rg = bool(requires_grad)
        return p

    def __init__(self, requires_grad: bool = True, device: Any = None, dtype: Any = None) -> None:
        pass


class UninitializedBuffer(UninitializedTensorMixin, Tensor):
    """A buffer without a shape yet (running statistics of ``LazyBatchNorm2d``)."""

    __slots__ = ()
    cls_to_become = Tensor

    def __init__(self, requires_grad: bool = False, device: Any = None, dtype: Any = None) -> None:
        _init(self, _no_data(dtype))
        self._rg = bool(requires_grad)


def is_lazy(t: Any) -> bool:
    """True for a parameter or buffer that has not been materialised yet."""
    return isinstance(t, UninitializedTensorMixin)
