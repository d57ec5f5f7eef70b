"""``torch.embedding_bag``: ATen's form of ``F.embedding_bag``, with its three auxiliary outputs.

``torch.embedding_bag(weight, indices, offsets, scale_grad_by_freq, mode, sparse,
per_sample_weights, include_last_offset, padding_idx)`` returns ``(output, offset2bag, bag_size,
max_indices)``.  The output (and its gradient to ``weight`` and ``per_sample_weights``) is
``F.embedding_bag``'s; the other three are integer bookkeeping, computed here as PyTorch 2.13's
CPU kernel returns them:

* ``offset2bag``: the bag of each index; empty in 'sum' mode for float32/16 and bfloat16 weights
  without ``padding_idx`` (PyTorch's fast path makes none).
* ``bag_size``: the number of non-padding indices of each bag ('mean', 'max'); zeros in 'sum'
  mode, one per bag when ``weight`` or ``per_sample_weights`` requires grad, else one per offset.
* ``max_indices``: 'max' mode, the winning row per bag and feature (the first on ties, 0 for an
  empty bag); 'mean' mode, ``bag_size`` again; 'sum' mode, zeros like ``bag_size``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._tensor import Tensor, wrap

__all__ = ["embedding_bag"]

_MODES = ("sum", "mean", "max")


def embedding_bag(
    weight: Tensor,
    indices: Tensor,
    offsets: Tensor,
    scale_grad_by_freq: bool = False,
    mode: int = 0,
    sparse: bool = False,
    per_sample_weights: Tensor | None = None,
    include_last_offset: bool = False,
    padding_idx: int | None = None,
) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """``(output, offset2bag, bag_size, max_indices)`` for 1-D ``indices`` split by ``offsets``."""
    from .nn.embedding_bag import embedding_bag as f_embedding_bag

    for name, t in (("weight", weight), ("indices", indices), ("offsets", offsets)):
        if not isinstance(t, Tensor):
            raise TypeError(f"embedding_bag(): argument '{name}' must be Tensor, not {type(t).__name__}")
    idx = indices._data
    if idx.dtype not in (np.int32, np.int64):
        raise RuntimeError(
            f"embedding_bag(): indices must be int64 or int32, got {indices.dtype}; use indices.long()"
        )
    if idx.ndim != 1:
        raise RuntimeError(
            f"embedding_bag(): indices must be 1-D (got shape {tuple(idx.shape)}) with offsets "
            "marking the bags; for (B, L) indices use nn.functional.embedding_bag(input, weight)"
        )
    if mode not in (0, 1, 2):
        raise RuntimeError("`mode` must be sum, mean, or max.")
    if per_sample_weights is not None and mode != 0:
        raise RuntimeError("embedding_bag: per_sample_weights only supported with mode='sum'")
    num, dim = weight._data.shape
    if padding_idx is not None and not -num <= padding_idx < num:
        raise RuntimeError(
            f"padding_idx must be within the number of embeddings, {-num} through {num - 1}, "
            f"but got {padding_idx}"
        )
    output = f_embedding_bag(
        indices, weight, offsets, None, 2, scale_grad_by_freq, _MODES[mode], sparse,
        per_sample_weights, include_last_offset, padding_idx,
    )  # fmt: skip
    off = offsets._data.astype(np.int64)
    n, nbags = idx.size, len(off) - int(bool(include_last_offset))
    bag = np.minimum(np.searchsorted(off[:nbags], np.arange(n), side="right") - 1, nbags - 1)
    it = idx.dtype
    if mode == 0:
        grads = weight.requires_grad or (per_sample_weights is not None and per_sample_weights.requires_grad)
        zeros = np.zeros(nbags if grads else len(off), dtype=it)
        fast = weight._data.dtype.name in ("float32", "float16", "bfloat16")  # PyTorch's FBGEMM path
        offset2bag = np.zeros(0, dtype=it) if fast and padding_idx is None else bag.astype(it)
        return output, wrap(offset2bag), wrap(zeros), wrap(zeros.copy())
    used = np.ones(n, dtype=bool) if padding_idx is None else idx != (padding_idx % num)
    bag_size = np.bincount(bag[used], minlength=nbags).astype(it)
    extra = bag_size.copy() if mode == 1 else _max_indices(weight, idx, off, bag, used, nbags)
    return output, wrap(bag.astype(it)), wrap(bag_size), wrap(extra)


def _max_indices(weight: Tensor, idx: np.ndarray, off: np.ndarray, bag: Any, used: Any, nbags: int) -> Any:
    """Per bag and feature, the row of ``weight`` holding the maximum (the first one on ties)."""
    dim = weight._data.shape[1]
    out = np.zeros((nbags, dim), dtype=idx.dtype)
    if nbags < len(off):  # include_last_offset: the bags end at the last offset
        used = used & (np.arange(idx.size) < off[-1])
    rows = weight._data[idx].astype(np.float64)
    for b in range(nbags):
        sel = np.nonzero(used & (bag == b))[0]
        if sel.size:
            out[b] = idx[sel[np.argmax(rows[sel], axis=0)]]
    return out
