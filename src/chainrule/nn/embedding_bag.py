"""``nn.EmbeddingBag`` and ``F.embedding_bag``: sums, means or maxima of bags of embeddings without
materialising the per-index rows for the caller.

A bag reduction is linear for 'sum' and 'mean' (a (bags, indices) matrix times the looked-up rows,
per-sample weights folded into the rows so they get gradients too); 'max' picks each bag's
winning row per feature with ``gather``, so gradients flow to the winners only, as in PyTorch.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import ops
from .._tensor import Tensor, wrap
from . import init
from .linear import _empty_param
from .module import Module
from .parameter import Parameter

__all__ = ["EmbeddingBag", "embedding_bag"]


def _bags(idx: np.ndarray, offsets: Any, include_last: bool) -> tuple[np.ndarray, np.ndarray, int]:
    """Flat indices and the bag each belongs to."""
    if idx.ndim == 2:
        if offsets is not None:
            raise ValueError(
                "if input is 2D, then offsets has to be None, as input is treated is a "
                "mini-batch of fixed length sequences. However, found offsets of type "
                f"{type(offsets).__name__}"
            )
        b, n = idx.shape
        return idx.reshape(-1), np.repeat(np.arange(b), n), b
    if idx.ndim != 1:
        raise ValueError(f"input has to be 1D or 2D Tensor, but got Tensor of dimension {idx.ndim}")
    if offsets is None:
        raise ValueError("offsets has to be a 1D Tensor but got None")
    off = (offsets._data if isinstance(offsets, Tensor) else np.asarray(offsets)).astype(np.int64)
    if off.ndim != 1:
        raise ValueError("offsets has to be a 1D Tensor")
    if off.size and off[0] != 0:
        raise RuntimeError(
            f"offsets[0] has to be 0, i.e., the first sequence in the mini-batch has "
            f"to start from position 0. However, got {int(off[0])}"
        )
    if off.size and off[-1] > idx.size:
        raise RuntimeError(
            f"offsets[-1] can not be greater than input's length ({idx.size}), but "
            f"got offsets[-1] of {int(off[-1])}"
        )
    starts = off[:-1] if include_last else off
    nbags = len(starts)
    bag = np.searchsorted(starts, np.arange(idx.size), side="right") - 1
    if include_last:
        bag = np.where(np.arange(idx.size) < off[-1], bag, -1)  # entries past the last offset: unused
    return idx, bag, nbags


def embedding_bag(
    input: Tensor,
    weight: Tensor,
    offsets: Any = None,
    max_norm: float | None = None,  # noqa: A002
    norm_type: float = 2,
    scale_grad_by_freq: bool = False,
    mode: str = "mean",
    sparse: bool = False,
    per_sample_weights: Tensor | None = None,
    include_last_offset: bool = False,
    padding_idx: int | None = None,
) -> Tensor:
    """(B, L) indices (or flat indices + ``offsets``) -> (B, dim): each bag's sum, mean or max."""
    from .functional import embedding

    if mode not in ("sum", "mean", "max"):
        raise ValueError(f"mode has to be one of sum, mean or max, but got {mode}")
    if per_sample_weights is not None and mode != "sum":
        raise NotImplementedError(
            f"embedding_bag: per_sample_weights was not None. "
            f"per_sample_weights is only supported for mode='sum' (got "
            f"mode='{mode}'). Please open a feature request on GitHub."
        )
    raw = input._data if isinstance(input, Tensor) else np.asarray(input)
    if per_sample_weights is not None and per_sample_weights._data.shape != raw.shape:
        raise ValueError(
            f"embedding_bag: If per_sample_weights ({tuple(per_sample_weights.shape)}) "
            f"is not None, then it must have the same shape as the input "
            f"({tuple(raw.shape)})"
        )
    idx, bag, nbags = _bags(raw, offsets, include_last_offset)
    num, dim = weight._data.shape
    if padding_idx is not None and padding_idx < 0:
        padding_idx += num
    rows = embedding(
        wrap(idx.astype(np.int64)), weight, None, max_norm, norm_type, scale_grad_by_freq, sparse
    )
    used = bag >= 0
    if padding_idx is not None:
        used &= idx != padding_idx
    dt = weight._data.dtype
    if mode == "max":
        vals = np.where(used[:, None], rows._data, -np.inf)
        win = np.zeros((nbags, dim), dtype=np.int64)
        empty = np.ones(nbags, dtype=bool)
        for b in range(nbags):
            sel = np.nonzero(used & (bag == b))[0]
            if sel.size:
                win[b] = sel[np.argmax(vals[sel], axis=0)]
                empty[b] = False
        out = ops.gather(rows, 0, wrap(win)) if idx.size else wrap(np.zeros((nbags, dim), dt))
        return ops.where(wrap(empty[:, None]), 0.0, out) if empty.any() else out
    if per_sample_weights is not None:
        rows = rows * ops.reshape(per_sample_weights, (-1, 1))
    mat = np.zeros((nbags, idx.size), dtype=dt)
    mat[bag[used], np.nonzero(used)[0]] = 1.0
    if mode == "mean":
        mat /= np.maximum(mat.sum(1, keepdims=True), 1.0)
    return ops.matmul(wrap(mat), rows)


class EmbeddingBag(Module):
    """Embedding lookups reduced per bag ('mean' by default): bag-of-words text classifiers."""

    def __init__(
        self,
        num_embeddings: int,
        embedding_dim: int,
        max_norm: float | None = None,
        norm_type: float = 2.0,
        scale_grad_by_freq: bool = False,
        mode: str = "mean",
        sparse: bool = False,
        _weight: Tensor | None = None,
        include_last_offset: bool = False,
        padding_idx: int | None = None,
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        super().__init__()
        self.num_embeddings, self.embedding_dim = num_embeddings, embedding_dim
        self.max_norm, self.norm_type = max_norm, norm_type
        self.scale_grad_by_freq, self.mode, self.sparse = scale_grad_by_freq, mode, sparse
        self.include_last_offset = include_last_offset
        if padding_idx is not None:
            if not -num_embeddings <= padding_idx < num_embeddings:
                raise AssertionError("padding_idx must be within num_embeddings")
            if padding_idx < 0:
                padding_idx += num_embeddings
        self.padding_idx = padding_idx
        if _weight is None:
            self.weight = _empty_param((num_embeddings, embedding_dim), dtype)
            self.reset_parameters()
        else:
            if tuple(_weight.shape) != (num_embeddings, embedding_dim):
                raise AssertionError("Shape of weight does not match num_embeddings and embedding_dim")
            self.weight = Parameter(_weight)

    def reset_parameters(self) -> None:
        init.normal_(self.weight)
        if self.padding_idx is not None:
            self.weight._data[self.padding_idx] = 0.0

    def forward(
        self,
        input: Tensor,
        offsets: Any = None,  # noqa: A002
        per_sample_weights: Tensor | None = None,
    ) -> Tensor:
        return embedding_bag(
            input,
            self.weight,
            offsets,
            self.max_norm,
            self.norm_type,
            self.scale_grad_by_freq,
            self.mode,
            self.sparse,
            per_sample_weights,
            self.include_last_offset,
            self.padding_idx,
        )

    def extra_repr(self) -> str:
        s = f"{self.num_embeddings}, {self.embedding_dim}"
        if self.max_norm is not None:
            s += f", max_norm={self.max_norm}"
        if self.norm_type != 2:
            s += f", norm_type={self.norm_type}"
        if self.scale_grad_by_freq:
            s += f", scale_grad_by_freq={self.scale_grad_by_freq}"
        s += f", mode={self.mode!r}"
        if self.padding_idx is not None:
            s += f", padding_idx={self.padding_idx}"
        return s
