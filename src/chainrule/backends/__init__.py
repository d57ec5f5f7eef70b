"""``chainrule.backends``: the flags device-agnostic PyTorch code sets and reads.

chainrule computes with NumPy on the CPU: there is no cuDNN, MPS or oneDNN behind it, so the
``is_available()`` queries answer False, and the flags (``cudnn.benchmark = True``, ...) are kept
as plain settings that change nothing.
"""

from __future__ import annotations

from . import cpu, cudnn, mkldnn, mps

__all__ = ["cpu", "cudnn", "mkldnn", "mps"]
