"""``pad_sequence``: stack variable-length sequences into one padded batch."""

from __future__ import annotations

from typing import Sequence

from ... import ops
from ..._tensor import Tensor

__all__ = ["pad_sequence"]


def pad_sequence(sequences: Sequence[Tensor], batch_first: bool = False,
                 padding_value: float = 0.0, padding_side: str = "right") -> Tensor:
    """(L_i, *) tensors -> (L_max, B, *) (or (B, L_max, *) with ``batch_first``), padded with
    ``padding_value`` on ``padding_side`` ('right' or 'left'); differentiable."""
    if padding_side not in ("left", "right"):
        raise ValueError(f"padding_side must be 'left' or 'right', got {padding_side!r}")
    seqs = list(sequences)
    if not seqs:
        raise RuntimeError("pad_sequence(): received an empty list of sequences")
    longest = max(s._data.shape[0] for s in seqs)
    padded = []
    for s in seqs:
        extra = longest - s._data.shape[0]
        widths = [0, 0] * (s._data.ndim - 1) + ([0, extra] if padding_side == "right" else [extra, 0])
        padded.append(ops.pad(s, widths, value=padding_value) if extra else s)
    out = ops.stack(padded, 0)
    return out if batch_first else ops.transpose(out, 0, 1)


