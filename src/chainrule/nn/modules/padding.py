"""``torch.nn.modules.padding``: the classes of this family that chainrule has (see the package)."""

from __future__ import annotations

from ._reexport import export

# PyTorch's names in this module; those chainrule has are bound here.
NAMES = (
    "CircularPad1d",
    "CircularPad2d",
    "CircularPad3d",
    "ConstantPad1d",
    "ConstantPad2d",
    "ConstantPad3d",
    "ReflectionPad1d",
    "ReflectionPad2d",
    "ReflectionPad3d",
    "ReplicationPad1d",
    "ReplicationPad2d",
    "ReplicationPad3d",
    "ZeroPad1d",
    "ZeroPad2d",
    "ZeroPad3d",
)
__all__ = export(globals(), NAMES)
