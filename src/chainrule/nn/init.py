"""``chainrule.nn.init``: fill a parameter in place with a chosen distribution.

Every function writes into ``tensor`` without recording a graph (as PyTorch
does under ``no_grad``) and returns the same tensor.  The random draws come
from chainrule's generator (``chainrule.manual_seed`` makes them repeatable;
``generator=`` picks another one).  Scales follow PyTorch's formulas exactly:

  xavier (Glorot):  std = gain * sqrt(2 / (fan_in + fan_out))
  kaiming (He):     std = gain / sqrt(fan),  gain = calculate_gain(nonlinearity, a)
  uniform variants use bound = sqrt(3) * std (the uniform with that std).

>>> w = chainrule.empty(256, 784)
>>> nn.init.kaiming_uniform_(w, a=math.sqrt(5))   # nn.Linear's default
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np

from .._tensor import Tensor
from ..random import rng as _rng

__all__ = [
    "calculate_gain", "uniform_", "normal_", "trunc_normal_", "constant_", "ones_", "zeros_",
    "eye_", "dirac_", "xavier_uniform_", "xavier_normal_", "kaiming_uniform_", "kaiming_normal_",
    "orthogonal_", "sparse_",
]


def _write(tensor: Tensor, values: Any) -> Tensor:
    """Store ``values`` into ``tensor`` in place (no graph), bumping its version like an in-place op."""
    _shape(tensor)  # a clear TypeError for anything but a Tensor
    tensor._data[...] = values
    tensor._vc[0] += 1
    return tensor


def _shape(tensor: Tensor) -> tuple[int, ...]:
    if not isinstance(tensor, Tensor):
        raise TypeError(f"nn.init expects a chainrule Tensor, got {type(tensor).__name__}")
    return tensor._data.shape


def calculate_gain(nonlinearity: str, param: float | None = None) -> float:
    """The recommended scale for a nonlinearity: tanh 5/3, relu sqrt(2), leaky_relu sqrt(2/(1+a^2))..."""
    linear_fns = ["linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d",
                  "conv_transpose3d"]
    if nonlinearity in linear_fns or nonlinearity == "sigmoid":
        return 1
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        if param is None:
            slope = 0.01
        elif not isinstance(param, bool) and isinstance(param, (int, float)):
            slope = param
        else:
            raise ValueError(f"negative_slope {param} not a valid number")
        return math.sqrt(2.0 / (1 + slope**2))
    if nonlinearity == "selu":
        return 3.0 / 4
    raise ValueError(f"Unsupported nonlinearity {nonlinearity}")


def _calculate_fan_in_and_fan_out(tensor: Tensor) -> tuple[int, int]:
    """fan_in = size(1) * receptive field, fan_out = size(0) * receptive field (weights are (out, in, *k))."""
    shape = _shape(tensor)
    if len(shape) < 2:
        raise ValueError(
            "Fan in and fan out can not be computed for tensor with fewer than 2 dimensions "
            f"(got shape {shape})"
        )
    receptive = math.prod(shape[2:]) if len(shape) > 2 else 1
    return shape[1] * receptive, shape[0] * receptive


def _calculate_correct_fan(tensor: Tensor, mode: str) -> int:
    mode = mode.lower()
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"Mode {mode} not supported, please use one of ['fan_in', 'fan_out']")
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    return fan_in if mode == "fan_in" else fan_out


def uniform_(tensor: Tensor, a: float = 0.0, b: float = 1.0, generator: Any = None) -> Tensor:
    """Fill with U(a, b)."""
    return _write(tensor, _rng(generator).uniform(a, b, _shape(tensor)))


def normal_(tensor: Tensor, mean: float = 0.0, std: float = 1.0, generator: Any = None) -> Tensor:
    """Fill with N(mean, std^2)."""
    return _write(tensor, _rng(generator).normal(mean, std, _shape(tensor)))


def trunc_normal_(tensor: Tensor, mean: float = 0.0, std: float = 1.0, a: float = -2.0,
                  b: float = 2.0, generator: Any = None) -> Tensor:
    """Fill with N(mean, std^2) restricted to [a, b] (values outside are redrawn)."""
    if not a < b:
        raise ValueError(f"trunc_normal_(): need a < b, got a={a}, b={b}")
    r = _rng(generator)
    shape = _shape(tensor)
    out = r.normal(mean, std, shape)
    bad = (out < a) | (out > b)
    for _ in range(1000):  # rejection sampling: exact; each round keeps P(in range) of the rest
        n = int(bad.sum())
        if n == 0:
            break
        out[bad] = r.normal(mean, std, n)
        bad = (out < a) | (out > b)
    else:  # [a, b] far in a tail: fall back to uniform draws inside it
        out[bad] = r.uniform(a, b, int(bad.sum()))
    return _write(tensor, out)


def constant_(tensor: Tensor, val: float) -> Tensor:
    return _write(tensor, val)


def ones_(tensor: Tensor) -> Tensor:
    return _write(tensor, 1)


def zeros_(tensor: Tensor) -> Tensor:
    return _write(tensor, 0)


def eye_(tensor: Tensor) -> Tensor:
    """The identity matrix (2-d tensors only); keeps the inputs of a linear layer unchanged."""
    shape = _shape(tensor)
    if len(shape) != 2:
        raise ValueError(f"Only tensors with 2 dimensions are supported (got shape {shape})")
    return _write(tensor, np.eye(*shape))


def dirac_(tensor: Tensor, groups: int = 1) -> Tensor:
    """The Dirac delta (3-5 d conv weights): the convolution passes channels through unchanged."""
    shape = _shape(tensor)
    if len(shape) not in (3, 4, 5):
        raise ValueError(f"Only tensors with 3, 4, or 5 dimensions are supported (got shape {shape})")
    if shape[0] % groups != 0:
        raise ValueError(f"dim 0 ({shape[0]}) must be divisible by groups ({groups})")
    out_per_group = shape[0] // groups
    min_dim = min(out_per_group, shape[1])
    values = np.zeros(shape)
    centre = tuple(s // 2 for s in shape[2:])
    for g in range(groups):
        for d in range(min_dim):
            values[(g * out_per_group + d, d) + centre] = 1
    return _write(tensor, values)


def _xavier_std(tensor: Tensor, gain: float) -> float:
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    return gain * math.sqrt(2.0 / float(fan_in + fan_out))


def xavier_uniform_(tensor: Tensor, gain: float = 1.0, generator: Any = None) -> Tensor:
    """U(-a, a) with a = gain * sqrt(6 / (fan_in + fan_out)) (Glorot & Bengio, 2010)."""
    a = math.sqrt(3.0) * _xavier_std(tensor, gain)
    return uniform_(tensor, -a, a, generator)


def xavier_normal_(tensor: Tensor, gain: float = 1.0, generator: Any = None) -> Tensor:
    """N(0, std^2) with std = gain * sqrt(2 / (fan_in + fan_out))."""
    return normal_(tensor, 0.0, _xavier_std(tensor, gain), generator)


def _kaiming_std(tensor: Tensor, a: float, mode: str, nonlinearity: str) -> float | None:
    if 0 in _shape(tensor):
        warnings.warn("Initializing zero-element tensors is a no-op", stacklevel=3)
        return None
    fan = _calculate_correct_fan(tensor, mode)
    return calculate_gain(nonlinearity, a) / math.sqrt(fan)


def kaiming_uniform_(tensor: Tensor, a: float = 0, mode: str = "fan_in",
                     nonlinearity: str = "leaky_relu", generator: Any = None) -> Tensor:
    """U(-bound, bound), bound = gain * sqrt(3 / fan) (He et al., 2015)."""
    std = _kaiming_std(tensor, a, mode, nonlinearity)
    if std is None:
        return tensor
    bound = math.sqrt(3.0) * std
    return uniform_(tensor, -bound, bound, generator)


def kaiming_normal_(tensor: Tensor, a: float = 0, mode: str = "fan_in",
                    nonlinearity: str = "leaky_relu", generator: Any = None) -> Tensor:
    """N(0, std^2), std = gain / sqrt(fan)."""
    std = _kaiming_std(tensor, a, mode, nonlinearity)
    if std is None:
        return tensor
    return normal_(tensor, 0.0, std, generator)


def orthogonal_(tensor: Tensor, gain: float = 1, generator: Any = None) -> Tensor:
    """A (semi-)orthogonal matrix from the QR decomposition of a Gaussian one (Saxe et al., 2013)."""
    shape = _shape(tensor)
    if len(shape) < 2:
        raise ValueError(f"Only tensors with 2 or more dimensions are supported (got shape {shape})")
    if 0 in shape:
        return tensor
    rows = shape[0]
    cols = math.prod(shape) // rows
    flat = _rng(generator).normal(0.0, 1.0, (rows, cols))
    if rows < cols:
        flat = flat.T
    q, r = np.linalg.qr(flat)
    q = q * np.sign(np.diag(r))  # makes the distribution uniform over orthogonal matrices
    if rows < cols:
        q = q.T
    return _write(tensor, gain * q.reshape(shape))


def sparse_(tensor: Tensor, sparsity: float, std: float = 0.01, generator: Any = None) -> Tensor:
    """N(0, std^2) with a fraction ``sparsity`` of each column set to zero (2-d only)."""
    shape = _shape(tensor)
    if len(shape) != 2:
        raise ValueError(f"Only tensors with 2 dimensions are supported (got shape {shape})")
    rows, cols = shape
    r = _rng(generator)
    values = r.normal(0.0, std, shape)
    zeros = int(math.ceil(sparsity * rows))
    for c in range(cols):
        values[r.permutation(rows)[:zeros], c] = 0
    return _write(tensor, values)
