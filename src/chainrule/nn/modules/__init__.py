"""``chainrule.nn.modules``: PyTorch's class paths (``torch.nn.modules.rnn.LSTM``,
``torch.nn.modules.conv.Conv2d``, ...), so code and checkpoints that name them find them.

Each submodule lists the classes PyTorch defines in its family and binds those chainrule has
(the classes themselves live in ``chainrule.nn``'s own files).
"""

from __future__ import annotations

from . import (
    activation,
    adaptive,
    batchnorm,
    channelshuffle,
    container,
    conv,
    distance,
    dropout,
    flatten,
    fold,
    instancenorm,
    lazy,
    linear,
    linear_cross_entropy_options,
    loss,
    module,
    normalization,
    padding,
    pixelshuffle,
    pooling,
    rnn,
    sparse,
    transformer,
    upsampling,
)
from .module import Module  # noqa: F401  (torch.nn.modules.Module)

__all__ = [
    "activation",
    "adaptive",
    "batchnorm",
    "channelshuffle",
    "container",
    "conv",
    "distance",
    "dropout",
    "flatten",
    "fold",
    "instancenorm",
    "lazy",
    "linear",
    "linear_cross_entropy_options",
    "loss",
    "module",
    "normalization",
    "padding",
    "pixelshuffle",
    "pooling",
    "rnn",
    "sparse",
    "transformer",
    "upsampling",
]
