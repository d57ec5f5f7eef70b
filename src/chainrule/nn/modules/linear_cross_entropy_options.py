"""``torch.nn.modules.linear_cross_entropy_options``: what chainrule has of it (see the package)."""

from __future__ import annotations

from ._reexport import export

# PyTorch's names in this module; those chainrule has are bound here.
NAMES = ("LinearCrossEntropyOptions",)
__all__ = export(globals(), NAMES)
