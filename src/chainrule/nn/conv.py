"""Convolution layers: ``Conv1d``, ``Conv2d``, ``ConvTranspose1d``, ``ConvTranspose2d`` and lazy forms.

Weights are (out_channels, in_channels / groups, *kernel) for a convolution and
(in_channels, out_channels / groups, *kernel) for a transposed one, initialised
like PyTorch: kaiming_uniform(a=sqrt(5)) and a bias in U(-1/sqrt(fan_in), 1/sqrt(fan_in)).
"""

from __future__ import annotations

import math
from typing import Any

from .._tensor import Tensor
from . import functional as F
from . import init
from .lazy import LazyModuleMixin
from .linear import _empty_param, _init_bias
from .module import Module
from .parameter import UninitializedParameter

__all__ = ["Conv1d", "Conv2d", "ConvTranspose1d", "ConvTranspose2d", "LazyConv1d", "LazyConv2d",
           "LazyConvTranspose2d"]

_PADDING_MODES = ("zeros", "reflect", "replicate", "circular")


def _ntuple(v: Any, n: int, name: str) -> tuple[int, ...]:
    if isinstance(v, (tuple, list)):
        if len(v) != n:
            raise ValueError(f"{name} must be an int or a tuple of {n} ints, got {v!r}")
        return tuple(int(x) for x in v)
    return (int(v),) * n


class _ConvNd(Module):
    """Shared geometry, parameters, initialisation and repr of the convolution layers."""

    _dims = 2
    _transposed = False

    def __init__(self, in_channels: int, out_channels: int, kernel_size: Any, stride: Any = 1,
                 padding: Any = 0, dilation: Any = 1, groups: int = 1, bias: bool = True,
                 padding_mode: str = "zeros", output_padding: Any = 0, device: Any = None,
                 dtype: Any = None) -> None:
        super().__init__()
        name, n = type(self).__name__, self._dims
        if groups <= 0:
            raise ValueError(f"{name}: groups must be a positive integer, got {groups}")
        if in_channels % groups != 0:
            raise ValueError(f"{name}: in_channels ({in_channels}) must be divisible by groups ({groups})")
        if out_channels % groups != 0:
            raise ValueError(f"{name}: out_channels ({out_channels}) must be divisible by groups ({groups})")
        if padding_mode not in _PADDING_MODES:
            raise ValueError(f"padding_mode must be one of {list(_PADDING_MODES)}, but got "
                             f"padding_mode='{padding_mode}'")
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.kernel_size = _ntuple(kernel_size, n, "kernel_size")
        self.stride = _ntuple(stride, n, "stride")
        self.dilation = _ntuple(dilation, n, "dilation")
        self.groups = groups
        self.padding_mode = padding_mode
        self.output_padding = _ntuple(output_padding, n, "output_padding")
        self.transposed = self._transposed
        if isinstance(padding, str):
            if padding not in ("same", "valid"):
                raise ValueError(f"Invalid padding string {padding!r}, should be one of {{'valid', 'same'}}")
            if padding == "same" and any(s != 1 for s in self.stride):
                raise ValueError("padding='same' is not supported for strided convolutions")
            self.padding: Any = padding
            total = [d * (k - 1) for d, k in zip(self.dilation, self.kernel_size)]
            # F.pad order: last dim first, (left, right) each; 'same' puts the odd extra on the right
            self._reversed_padding_repeated_twice = [
                p for t in reversed(total) for p in (t // 2, t - t // 2)] if padding == "same" \
                else [0] * (2 * n)
        else:
            self.padding = _ntuple(padding, n, "padding")
            self._reversed_padding_repeated_twice = [p for p in reversed(self.padding) for _ in (0, 1)]
        self.weight = _empty_param(self._weight_shape(), dtype)
        if bias:
            self.bias = _empty_param((out_channels,), dtype)
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def _weight_shape(self) -> tuple[int, ...]:
        i, o, g = self.in_channels, self.out_channels, self.groups
        return ((i, o // g) if self.transposed else (o, i // g)) + self.kernel_size

    def _weight_in_channels(self) -> int:
        """The input channels the current weight expects (it may have been loaded or replaced)."""
        w = self.weight._data.shape
        return w[0] if self.transposed else w[1] * self.groups

    def reset_parameters(self) -> None:
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            fan_in, _ = init._calculate_fan_in_and_fan_out(self.weight)
            _init_bias(self.bias, fan_in)

    def extra_repr(self) -> str:
        n = self._dims
        s = f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}"
        if self.padding != (0,) * n:
            s += f", padding={self.padding}"
        if self.dilation != (1,) * n:
            s += f", dilation={self.dilation}"
        if self.output_padding != (0,) * n:
            s += f", output_padding={self.output_padding}"
        if self.groups != 1:
            s += f", groups={self.groups}"
        if self.bias is None:
            s += ", bias=False"
        if self.padding_mode != "zeros":
            s += f", padding_mode={self.padding_mode}"
        return s

    def _check_input(self, input: Any) -> None:  # noqa: A002
        F._need_tensor(input, type(self).__name__)
        nd = input._data.ndim
        if nd not in (self._dims + 1, self._dims + 2):
            raise RuntimeError(
                f"{self!r}: expected a {self._dims + 2}-d batched input (N, C, ...) or a "
                f"{self._dims + 1}-d unbatched one, got shape {tuple(input._data.shape)}")
        c = input._data.shape[0 if nd == self._dims + 1 else 1]
        expected = self._weight_in_channels()
        if c != expected:
            raise RuntimeError(
                f"{self!r}: expected input with {expected} channels (in_channels), got {c} "
                f"channels in input of shape {tuple(input._data.shape)}; set in_channels={c} or "
                f"use nn.Lazy{type(self).__name__} to infer it")
        F._same_dtype(type(self).__name__, input, self.weight)

    def _pad_input(self, input: Tensor) -> tuple[Tensor, Any]:  # noqa: A002
        """Non-zero padding modes pad explicitly and convolve without padding."""
        if self.padding_mode == "zeros":
            return input, self.padding
        return F.pad(input, self._reversed_padding_repeated_twice, mode=self.padding_mode), 0


class _Conv(_ConvNd):
    """Conv1d / Conv2d: PyTorch's signature and the forward pass (``_conv`` is F.conv1d or F.conv2d)."""

    _conv: Any = None

    def __init__(self, in_channels: int, out_channels: int, kernel_size: Any, stride: Any = 1,
                 padding: Any = 0, dilation: Any = 1, groups: int = 1, bias: bool = True,
                 padding_mode: str = "zeros", device: Any = None, dtype: Any = None) -> None:
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation, groups,
                         bias, padding_mode, 0, device, dtype)

    def forward(self, input: Tensor) -> Tensor:  # noqa: A002
        self._check_input(input)
        x, padding = self._pad_input(input)
        return self._conv(x, self.weight, self.bias, self.stride, padding, self.dilation, self.groups)


class Conv1d(_Conv):
    """1-d convolution: (N, C_in, L) -> (N, C_out, L_out)."""

    _dims = 1
    _conv = staticmethod(F.conv1d)


class Conv2d(_Conv):
    """2-d convolution (cross-correlation): (N, C_in, H, W) -> (N, C_out, H_out, W_out).

    >>> conv = nn.Conv2d(1, 6, kernel_size=5, padding=2)
    >>> conv(chainrule.randn(64, 1, 28, 28)).shape
    chainrule.Size([64, 6, 28, 28])
    """

    _conv = staticmethod(F.conv2d)


class _ConvTransposeNd(_ConvNd):
    """ConvTranspose1d / 2d: PyTorch's signature, ``output_size`` and the forward pass."""

    _transposed = True
    _conv: Any = None

    def __init__(self, in_channels: int, out_channels: int, kernel_size: Any, stride: Any = 1,
                 padding: Any = 0, output_padding: Any = 0, groups: int = 1, bias: bool = True,
                 dilation: Any = 1, padding_mode: str = "zeros", device: Any = None,
                 dtype: Any = None) -> None:
        if padding_mode != "zeros":
            raise ValueError(f'Only "zeros" padding mode is supported for {type(self).__name__}')
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation, groups,
                         bias, padding_mode, output_padding, device, dtype)

    def forward(self, input: Tensor, output_size: Any = None) -> Tensor:  # noqa: A002
        self._check_input(input)
        return self._conv(input, self.weight, self.bias, self.stride, self.padding,
                          self._output_padding(input, output_size), self.groups, self.dilation)

    def _output_padding(self, input: Tensor, output_size: Any) -> tuple[int, ...]:  # noqa: A002
        """The output_padding that makes the result ``output_size`` (PyTorch's rule)."""
        if output_size is None:
            return self.output_padding
        n = self._dims
        size = list(output_size)[-n:]
        if len(size) != n:
            raise ValueError(f"output_size must have {n} or {n + 2} elements (got {len(output_size)})")
        spatial = input._data.shape[-n:]
        pad = self.padding if not isinstance(self.padding, str) else (0,) * n
        out = []
        for d in range(n):
            least = (spatial[d] - 1) * self.stride[d] - 2 * pad[d] + \
                self.dilation[d] * (self.kernel_size[d] - 1) + 1
            if not least <= size[d] < least + self.stride[d]:
                raise ValueError(
                    f"requested an output size of {size}, but valid sizes range from {least} to "
                    f"{least + self.stride[d] - 1} (for an input of {tuple(spatial)})")
            out.append(size[d] - least)
        return tuple(out)


class ConvTranspose1d(_ConvTransposeNd):
    """1-d transposed convolution (the gradient of Conv1d): (N, C_in, L) -> (N, C_out, L_out)."""

    _dims = 1
    _conv = staticmethod(F.conv_transpose1d)


class ConvTranspose2d(_ConvTransposeNd):
    """2-d transposed convolution ("deconvolution"): upsamples (N, C_in, H, W) -> (N, C_out, H', W')."""

    _conv = staticmethod(F.conv_transpose2d)


class _LazyConvMixin(LazyModuleMixin):
    """``in_channels`` comes from the first input: dim 1 (batched) or dim 0 (unbatched)."""

    def _lazy_init(self, out_channels: int, groups: int, bias: bool, dtype: Any) -> None:
        self.out_channels = out_channels  # type: ignore[misc]
        self.groups = groups  # type: ignore[misc]
        self.weight = UninitializedParameter(dtype=dtype)  # type: ignore[misc]
        if bias:
            self.bias = UninitializedParameter(dtype=dtype)  # type: ignore[misc]

    def reset_parameters(self) -> None:
        if not self.has_uninitialized_params() and self.in_channels != 0:  # type: ignore[attr-defined]
            super().reset_parameters()  # type: ignore[misc]

    def initialize_parameters(self, input: Tensor, *args: Any, **kwargs: Any) -> None:  # noqa: A002
        if not self.has_uninitialized_params():  # materialised by load_state_dict
            self.in_channels = self._weight_in_channels()  # type: ignore[attr-defined]
            return
        n = self._dims  # type: ignore[attr-defined]
        nd = input._data.ndim
        if nd not in (n + 1, n + 2):
            raise RuntimeError(f"{type(self).__name__}: expected a {n + 2}-d batched or "
                               f"{n + 1}-d unbatched input, got shape {tuple(input._data.shape)}")
        self.in_channels = int(input._data.shape[1 if nd == n + 2 else 0])  # type: ignore[attr-defined]
        g = self.groups  # type: ignore[attr-defined]
        if self.in_channels % g:
            raise ValueError(f"in_channels ({self.in_channels}) must be divisible by groups ({g})")
        self.weight.materialize(self._weight_shape())  # type: ignore[attr-defined]
        if self.bias is not None:  # type: ignore[attr-defined]
            self.bias.materialize((self.out_channels,))  # type: ignore[attr-defined]
        self.reset_parameters()


class _LazyConv(_LazyConvMixin):
    """LazyConv1d / LazyConv2d: the Conv signature without ``in_channels``."""

    def __init__(self, out_channels: int, kernel_size: Any, stride: Any = 1, padding: Any = 0,
                 dilation: Any = 1, groups: int = 1, bias: bool = True,
                 padding_mode: str = "zeros", device: Any = None, dtype: Any = None) -> None:
        super().__init__(0, 0, kernel_size, stride, padding, dilation, 1, False, padding_mode)
        self._lazy_init(out_channels, groups, bias, dtype)


class LazyConv1d(_LazyConv, Conv1d):
    """A ``Conv1d`` whose ``in_channels`` is read from the first input."""

    cls_to_become = Conv1d


class LazyConv2d(_LazyConv, Conv2d):
    """A ``Conv2d`` whose ``in_channels`` is read from the first input."""

    cls_to_become = Conv2d


class LazyConvTranspose2d(_LazyConvMixin, ConvTranspose2d):
    """A ``ConvTranspose2d`` whose ``in_channels`` is read from the first input."""

    cls_to_become = ConvTranspose2d

    def __init__(self, out_channels: int, kernel_size: Any, stride: Any = 1, padding: Any = 0,
                 output_padding: Any = 0, groups: int = 1, bias: bool = True, dilation: Any = 1,
                 padding_mode: str = "zeros", device: Any = None, dtype: Any = None) -> None:
        super().__init__(0, 0, kernel_size, stride, padding, output_padding, 1, False, dilation,
                         padding_mode)
        self._lazy_init(out_channels, groups, bias, dtype)
