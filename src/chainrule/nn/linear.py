"""Affine layers: ``Identity``, ``Linear`` (y = x Wᵀ + b), ``LazyLinear``, ``Bilinear``.

Default initialisation is PyTorch's: W ~ kaiming_uniform(a=sqrt(5)), which is
U(-1/sqrt(in), 1/sqrt(in)), and b ~ U(-1/sqrt(in), 1/sqrt(in)).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .._creation import empty
from .._tensor import Tensor
from . import functional as F
from . import init
from .lazy import LazyModuleMixin
from .module import Module
from .parameter import Parameter, UninitializedParameter

__all__ = ["Identity", "Linear", "LazyLinear", "Bilinear"]


def _empty_param(shape: tuple[int, ...], dtype: Any = None) -> Parameter:
    """An uninitialised Parameter of ``shape`` (filled by the layer's reset_parameters)."""
    return Parameter(empty(shape, dtype=dtype))


def _check_size(layer: str, **sizes: Any) -> None:
    for name, v in sizes.items():
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 0:
            raise ValueError(f"{layer}: {name} must be a non-negative integer, got {v!r}")


def _init_bias(bias: Parameter | None, fan_in: int) -> None:
    if bias is not None:
        bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0
        init.uniform_(bias, -bound, bound)


class Identity(Module):
    """Returns its input unchanged (a placeholder that accepts and ignores any arguments)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__()

    def forward(self, input: Any) -> Any:  # noqa: A002
        return input


class Linear(Module):
    """y = x Wᵀ + b: input (*, in_features) -> output (*, out_features).

    >>> layer = nn.Linear(20, 30)
    >>> layer(chainrule.randn(128, 20)).shape
    chainrule.Size([128, 30])
    """

    def __init__(self, in_features: int, out_features: int, bias: bool = True,
                 device: Any = None, dtype: Any = None) -> None:
        super().__init__()
        _check_size("Linear", in_features=in_features, out_features=out_features)
        self.in_features = in_features
        self.out_features = out_features
        self.weight = _empty_param((out_features, in_features), dtype)
        if bias:
            self.bias = _empty_param((out_features,), dtype)
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        _init_bias(self.bias, self.weight._data.shape[1])

    def forward(self, input: Tensor) -> Tensor:  # noqa: A002
        return F._checked_linear(input, self.weight, self.bias, self)

    def extra_repr(self) -> str:
        return (f"in_features={self.in_features}, out_features={self.out_features}, "
                f"bias={self.bias is not None}")


class LazyLinear(LazyModuleMixin, Linear):
    """A ``Linear`` whose ``in_features`` is read from the first input (then it *is* a Linear)."""

    cls_to_become = Linear

    def __init__(self, out_features: int, bias: bool = True, device: Any = None,
                 dtype: Any = None) -> None:
        super().__init__(0, 0, False)
        _check_size("LazyLinear", out_features=out_features)
        self.out_features = out_features
        self.weight = UninitializedParameter(dtype=dtype)
        if bias:
            self.bias = UninitializedParameter(dtype=dtype)

    def reset_parameters(self) -> None:
        if not self.has_uninitialized_params() and self.in_features != 0:
            super().reset_parameters()

    def initialize_parameters(self, input: Tensor, *args: Any, **kwargs: Any) -> None:  # noqa: A002
        if self.has_uninitialized_params():
            self.in_features = int(input.shape[-1])
            self.weight.materialize((self.out_features, self.in_features))
            if self.bias is not None:
                self.bias.materialize((self.out_features,))
            self.reset_parameters()
        else:  # materialised by load_state_dict: only the recorded size is missing
            self.in_features = self.weight._data.shape[1]


class Bilinear(Module):
    """y_k = x1ᵀ A_k x2 + b_k: inputs (*, in1) and (*, in2) -> (*, out)."""

    def __init__(self, in1_features: int, in2_features: int, out_features: int, bias: bool = True,
                 device: Any = None, dtype: Any = None) -> None:
        super().__init__()
        _check_size("Bilinear", in1_features=in1_features, in2_features=in2_features,
                    out_features=out_features)
        self.in1_features = in1_features
        self.in2_features = in2_features
        self.out_features = out_features
        self.weight = _empty_param((out_features, in1_features, in2_features), dtype)
        if bias:
            self.bias = _empty_param((out_features,), dtype)
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        bound = 1 / math.sqrt(self.weight._data.shape[1]) if self.weight._data.shape[1] else 0
        init.uniform_(self.weight, -bound, bound)
        if self.bias is not None:
            init.uniform_(self.bias, -bound, bound)

    def forward(self, input1: Tensor, input2: Tensor) -> Tensor:
        return F.bilinear(input1, input2, self.weight, self.bias)

    def extra_repr(self) -> str:
        return (f"in1_features={self.in1_features}, in2_features={self.in2_features}, "
                f"out_features={self.out_features}, bias={self.bias is not None}")
