"""``chainrule.nn.functional`` (``F``): the functional form of layers, activations and losses."""

from __future__ import annotations

from typing import Any

from ..ops import (  # noqa: F401
    avg_pool2d, conv1d, conv2d, conv_transpose2d, cross_entropy, dropout, elu, gelu, hardtanh,
    leaky_relu, log_softmax, logsigmoid, max_pool2d, nll_loss, pad, relu, sigmoid, silu, softmax,
    softplus, tanh,
)
from ..ops import add, matmul, transpose


def linear(input: Any, weight: Any, bias: Any = None) -> Any:  # noqa: A002
    """``input @ weight.T + bias``: weight is (out_features, in_features)."""
    out = matmul(input, transpose(weight, 0, 1) if weight.ndim == 2 else weight)
    return add(out, bias) if bias is not None else out
