"""``torch.nn.modules.conv``: the classes of this family that chainrule has (see the package)."""

from __future__ import annotations

from ._reexport import export

# PyTorch's names in this module; those chainrule has are bound here.
NAMES = (
    "Conv1d",
    "Conv2d",
    "Conv3d",
    "ConvTranspose1d",
    "ConvTranspose2d",
    "ConvTranspose3d",
    "LazyConv1d",
    "LazyConv2d",
    "LazyConv3d",
    "LazyConvTranspose1d",
    "LazyConvTranspose2d",
    "LazyConvTranspose3d",
)
__all__ = export(globals(), NAMES)
