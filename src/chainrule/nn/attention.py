"""Attention: ``F.scaled_dot_product_attention``, ``F.multi_head_attention_forward``, ``MultiheadAttention``.

Everything is composed from ops (matmul, softmax, masked_fill, dropout, linear), so
gradients of every order come from the op table.  Mask conventions follow PyTorch,
which uses two opposite boolean meanings:

- ``scaled_dot_product_attention``: a boolean ``attn_mask`` is True where a query
  *may* attend; a float mask is added to the scores.
- ``MultiheadAttention`` / ``multi_head_attention_forward``: a boolean ``attn_mask``
  or ``key_padding_mask`` is True where attention is *not* allowed.
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np

from .. import _creation as C
from .. import ops
from .._tensor import Tensor, wrap
from . import functional as F
from . import init
from .linear import Linear
from .module import Module
from .parameter import Parameter

__all__ = [
    "scaled_dot_product_attention",
    "multi_head_attention_forward",
    "MultiheadAttention",
    "NonDynamicallyQuantizableLinear",
]

_NEG_INF = float("-inf")


def _is_bool(t: Tensor) -> bool:
    return t._data.dtype == bool


def scaled_dot_product_attention(
    query: Tensor,
    key: Tensor,
    value: Tensor,
    attn_mask: Tensor | None = None,
    dropout_p: float = 0.0,
    is_causal: bool = False,
    scale: float | None = None,
    enable_gqa: bool = False,
) -> Tensor:
    """softmax(q kᵀ · scale + mask) v over the last two dims: q (..., L, E), k (..., S, E), v (..., S, Ev)."""
    fn = "scaled_dot_product_attention"
    for name, t in (("query", query), ("key", key), ("value", value)):
        F._need_tensor(t, fn, name)
        if t.dim() < 2:
            raise RuntimeError(
                f"{fn}(): {name} must have at least 2 dims (..., seq, features), got shape {tuple(t.shape)}"
            )
    if query.shape[-1] != key.shape[-1]:
        raise RuntimeError(
            f"{fn}(): query and key must have the same last dim, got query "
            f"{tuple(query.shape)} and key {tuple(key.shape)}"
        )
    if key.shape[-2] != value.shape[-2]:
        raise RuntimeError(
            f"{fn}(): key and value must have the same sequence length (dim -2), "
            f"got key {tuple(key.shape)} and value {tuple(value.shape)}"
        )
    if is_causal and attn_mask is not None:
        raise RuntimeError(
            f"{fn}(): explicit attn_mask should not be set when is_causal=True; pass one or the other"
        )
    L, S = query.shape[-2], key.shape[-2]
    if enable_gqa and query.dim() >= 3 and key.shape[-3] != query.shape[-3]:
        hq, hk = query.shape[-3], key.shape[-3]
        if hq % hk:
            raise RuntimeError(
                f"{fn}(): with enable_gqa the number of query heads ({hq}) must be "
                f"a multiple of the key/value heads ({hk})"
            )
        key = key.repeat_interleave(hq // hk, -3)
        value = value.repeat_interleave(hq // hk, -3)
    s = 1.0 / math.sqrt(query.shape[-1]) if scale is None else scale
    scores = ops.matmul(query, key.transpose(-2, -1)) * s
    if is_causal:
        allowed = wrap(np.tril(np.ones((L, S), dtype=bool)))
        scores = scores.masked_fill(allowed.logical_not(), _NEG_INF)
    elif attn_mask is not None:
        if _is_bool(attn_mask):
            scores = scores.masked_fill(attn_mask.logical_not(), _NEG_INF)
        else:
            scores = scores + attn_mask
    blocked = None
    if is_causal or attn_mask is not None:  # a query that may attend nowhere gets zeros, not NaN
        blocked = (scores == _NEG_INF).all(-1, keepdim=True)
        if bool(blocked.any()):
            scores = scores.masked_fill(blocked, 0.0)
        else:
            blocked = None
    weights = F.softmax(scores, dim=-1)
    if blocked is not None:
        weights = weights.masked_fill(blocked, 0.0)
    if dropout_p > 0.0:
        weights = F.dropout(weights, dropout_p, training=True)
    return ops.matmul(weights, value)


def _canonical_mask(mask: Tensor | None, name: str, target: Any) -> Tensor | None:
    """A boolean mask (True = masked out) -> an additive float mask with -inf; float masks pass."""
    if mask is None:
        return None
    if _is_bool(mask):
        return C.zeros(tuple(mask.shape), dtype=target).masked_fill(mask, _NEG_INF)
    if not mask.is_floating_point():
        raise AssertionError(f"only bool and floating types of {name} are supported, got {mask.dtype}")
    return mask


def _check_kinds(kpm: Tensor | None, attn_mask: Tensor | None) -> None:
    if kpm is not None and attn_mask is not None and _is_bool(kpm) != _is_bool(attn_mask):
        warnings.warn(
            "Support for mismatched key_padding_mask and attn_mask is deprecated. "
            "Use same type for both instead.",
            UserWarning,
            stacklevel=3,
        )


def _shape_check(
    query: Tensor, key: Tensor, value: Tensor, kpm: Tensor | None, attn_mask: Tensor | None, num_heads: int
) -> bool:
    fn = "multi_head_attention_forward"
    if query.dim() == 3:
        if key.dim() != 3 or value.dim() != 3:
            raise AssertionError(
                f"{fn}(): for batched (3-D) query, expected key and value to be 3-D "
                f"but found {key.dim()}-D and {value.dim()}-D tensors respectively"
            )
        if kpm is not None and kpm.dim() != 2:
            raise AssertionError(
                f"{fn}(): for batched (3-D) query, expected key_padding_mask to be "
                f"None or 2-D but found {kpm.dim()}-D tensor instead"
            )
        if attn_mask is not None and attn_mask.dim() not in (2, 3):
            raise AssertionError(
                f"{fn}(): for batched (3-D) query, expected attn_mask to be None, "
                f"2-D or 3-D but found {attn_mask.dim()}-D tensor instead"
            )
        return True
    if query.dim() == 2:
        if key.dim() != 2 or value.dim() != 2:
            raise AssertionError(
                f"{fn}(): for unbatched (2-D) query, expected key and value to be "
                f"2-D but found {key.dim()}-D and {value.dim()}-D tensors respectively"
            )
        if kpm is not None and kpm.dim() != 1:
            raise AssertionError(
                f"{fn}(): for unbatched (2-D) query, expected key_padding_mask to "
                f"be None or 1-D but found {kpm.dim()}-D tensor instead"
            )
        if attn_mask is not None:
            if attn_mask.dim() not in (2, 3):
                raise AssertionError(
                    f"{fn}(): for unbatched (2-D) query, expected attn_mask to be "
                    f"None, 2-D or 3-D but found {attn_mask.dim()}-D tensor instead"
                )
            if attn_mask.dim() == 3:
                want = (num_heads, query.shape[0], key.shape[0])
                if tuple(attn_mask.shape) != want:
                    raise AssertionError(
                        f"{fn}(): expected attn_mask of shape {want} but got {tuple(attn_mask.shape)}"
                    )
        return False
    raise AssertionError(
        f"{fn}(): query should be unbatched 2-D or batched 3-D tensor but received "
        f"{query.dim()}-D query tensor (shape {tuple(query.shape)})"
    )


def _pad_last(mask: Tensor | None) -> Tensor | None:
    return None if mask is None else F.pad(mask, (0, 1))


def multi_head_attention_forward(
    query: Tensor,
    key: Tensor,
    value: Tensor,
    embed_dim_to_check: int,
    num_heads: int,
    in_proj_weight: Tensor | None,
    in_proj_bias: Tensor | None,
    bias_k: Tensor | None,
    bias_v: Tensor | None,
    add_zero_attn: bool,
    dropout_p: float,
    out_proj_weight: Tensor,
    out_proj_bias: Tensor | None,
    training: bool = True,
    key_padding_mask: Tensor | None = None,
    need_weights: bool = True,
    attn_mask: Tensor | None = None,
    use_separate_proj_weight: bool = False,
    q_proj_weight: Tensor | None = None,
    k_proj_weight: Tensor | None = None,
    v_proj_weight: Tensor | None = None,
    static_k: Tensor | None = None,
    static_v: Tensor | None = None,
    average_attn_weights: bool = True,
    is_causal: bool = False,
) -> tuple[Tensor, Tensor | None]:
    """Multi-head attention on (L, N, E) query and (S, N, E) key/value (or unbatched (L, E))."""
    fn = "multi_head_attention_forward"
    batched = _shape_check(query, key, value, key_padding_mask, attn_mask, num_heads)
    if not batched:
        query, key, value = query.unsqueeze(1), key.unsqueeze(1), value.unsqueeze(1)
        if key_padding_mask is not None:
            key_padding_mask = key_padding_mask.unsqueeze(0)
    tgt_len, bsz, embed_dim = query.shape
    src_len = key.shape[0]
    _check_kinds(key_padding_mask, attn_mask)
    key_padding_mask = _canonical_mask(key_padding_mask, "key_padding_mask", query.dtype)
    if is_causal and attn_mask is None:
        raise RuntimeError(
            "Need attn_mask if specifying the is_causal hint. You may use the "
            "Transformer module method `generate_square_subsequent_mask` to create "
            "this mask."
        )
    if is_causal and key_padding_mask is None and not need_weights:
        attn_mask = None  # the causal hint alone drives scaled_dot_product_attention
    else:
        attn_mask = _canonical_mask(attn_mask, "attn_mask", query.dtype)
        if key_padding_mask is not None:
            is_causal = False
    if embed_dim != embed_dim_to_check:
        raise AssertionError(
            f"{fn}(): was expecting embedding dimension of {embed_dim_to_check}, but got {embed_dim}"
        )
    head_dim = embed_dim // num_heads
    if head_dim * num_heads != embed_dim:
        raise AssertionError(f"{fn}(): embed_dim {embed_dim} not divisible by num_heads {num_heads}")
    if use_separate_proj_weight:
        if key.shape[:2] != value.shape[:2]:
            raise AssertionError(
                f"{fn}(): key's sequence and batch dims {tuple(key.shape[:2])} do "
                f"not match value's {tuple(value.shape[:2])}"
            )
        bq = bk = bv = None
        if in_proj_bias is not None:
            bq, bk, bv = in_proj_bias.chunk(3)
        q = F.linear(query, q_proj_weight, bq)
        k = F.linear(key, k_proj_weight, bk)
        v = F.linear(value, v_proj_weight, bv)
    else:
        if key.shape != value.shape:
            raise AssertionError(
                f"{fn}(): key shape {tuple(key.shape)} does not match value shape {tuple(value.shape)}"
            )
        wq, wk, wv = in_proj_weight.chunk(3)
        bq = bk = bv = None
        if in_proj_bias is not None:
            bq, bk, bv = in_proj_bias.chunk(3)
        q, k, v = F.linear(query, wq, bq), F.linear(key, wk, bk), F.linear(value, wv, bv)

    if attn_mask is not None:
        if attn_mask.dim() == 2:
            if tuple(attn_mask.shape) != (tgt_len, src_len):
                raise RuntimeError(
                    f"The shape of the 2D attn_mask is {tuple(attn_mask.shape)}, but "
                    f"should be {(tgt_len, src_len)}."
                )
            attn_mask = attn_mask.unsqueeze(0)
        elif attn_mask.dim() == 3:
            want = (bsz * num_heads, tgt_len, src_len)
            if tuple(attn_mask.shape) != want:
                raise RuntimeError(
                    f"The shape of the 3D attn_mask is {tuple(attn_mask.shape)}, but should be {want}."
                )
        else:
            raise RuntimeError(f"attn_mask's dimension {attn_mask.dim()} is not supported")

    if bias_k is not None and bias_v is not None:
        if static_k is not None or static_v is not None:
            raise AssertionError(f"{fn}(): bias cannot be added to static key/value.")
        k = ops.cat([k, bias_k.repeat(1, bsz, 1)])
        v = ops.cat([v, bias_v.repeat(1, bsz, 1)])
        attn_mask, key_padding_mask = _pad_last(attn_mask), _pad_last(key_padding_mask)
    elif (bias_k is None) != (bias_v is None):
        raise AssertionError(f"{fn}(): bias_k and bias_v must both be given or both be None")

    q = q.reshape(tgt_len, bsz * num_heads, head_dim).transpose(0, 1)
    k = k.reshape(k.shape[0], bsz * num_heads, head_dim).transpose(0, 1) if static_k is None else static_k
    v = v.reshape(v.shape[0], bsz * num_heads, head_dim).transpose(0, 1) if static_v is None else static_v
    if add_zero_attn:
        z = C.zeros(bsz * num_heads, 1, head_dim, dtype=q.dtype)
        k, v = ops.cat([k, z], 1), ops.cat([v, z], 1)
        attn_mask, key_padding_mask = _pad_last(attn_mask), _pad_last(key_padding_mask)
    src_len = k.shape[1]

    if key_padding_mask is not None:
        if tuple(key_padding_mask.shape) != (bsz, src_len):
            raise AssertionError(
                f"{fn}(): expecting key_padding_mask shape of {(bsz, src_len)}, but "
                f"got {tuple(key_padding_mask.shape)}"
            )
        kpm = key_padding_mask.reshape(bsz, 1, 1, src_len).expand(-1, num_heads, -1, -1)
        kpm = kpm.reshape(bsz * num_heads, 1, src_len)
        attn_mask = kpm if attn_mask is None else attn_mask + kpm
    if not training:
        dropout_p = 0.0

    if need_weights:
        scores = ops.matmul(q * math.sqrt(1.0 / head_dim), k.transpose(-2, -1))
        if attn_mask is not None:
            scores = scores + attn_mask
        weights = F.softmax(scores, dim=-1)
        if dropout_p > 0.0:
            weights = F.dropout(weights, p=dropout_p)
        out = ops.matmul(weights, v).transpose(0, 1).reshape(tgt_len * bsz, embed_dim)
        out = F.linear(out, out_proj_weight, out_proj_bias).reshape(tgt_len, bsz, out.shape[1])
        weights = weights.reshape(bsz, num_heads, tgt_len, src_len)
        if average_attn_weights:
            weights = weights.mean(dim=1)
        if not batched:
            out, weights = out.squeeze(1), weights.squeeze(0)
        return out, weights
    if attn_mask is not None:
        if attn_mask.shape[0] == 1 and attn_mask.dim() == 3:
            attn_mask = attn_mask.unsqueeze(0)
        else:
            attn_mask = attn_mask.reshape(bsz, num_heads, -1, src_len)
    q = q.reshape(bsz, num_heads, tgt_len, head_dim)
    k = k.reshape(bsz, num_heads, src_len, head_dim)
    v = v.reshape(bsz, num_heads, src_len, head_dim)
    out = scaled_dot_product_attention(q, k, v, attn_mask, dropout_p, is_causal)
    out = out.permute(2, 0, 1, 3).reshape(bsz * tgt_len, embed_dim)
    out = F.linear(out, out_proj_weight, out_proj_bias).reshape(tgt_len, bsz, out.shape[1])
    if not batched:
        out = out.squeeze(1)
    return out, None


class NonDynamicallyQuantizableLinear(Linear):
    """The output projection of ``MultiheadAttention`` (a ``Linear``; the name is PyTorch's)."""


class MultiheadAttention(Module):
    """Attention from queries to keys/values over ``num_heads`` heads, as ``torch.nn.MultiheadAttention``.

    >>> mha = nn.MultiheadAttention(16, 4, batch_first=True)
    >>> x = chainrule.randn(2, 5, 16)
    >>> out, weights = mha(x, x, x)    # out (2, 5, 16), weights (2, 5, 5) averaged over heads
    """

    def __init__(
        self,
        embed_dim: int,
        num_heads: int,
        dropout: float = 0.0,
        bias: bool = True,
        add_bias_kv: bool = False,
        add_zero_attn: bool = False,
        kdim: int | None = None,
        vdim: int | None = None,
        batch_first: bool = False,
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        if embed_dim <= 0 or num_heads <= 0:
            raise ValueError(
                f"embed_dim and num_heads must be greater than 0, got embed_dim={embed_dim} "
                f"and num_heads={num_heads} instead"
            )
        super().__init__()
        self.embed_dim = embed_dim
        self.kdim = kdim if kdim is not None else embed_dim
        self.vdim = vdim if vdim is not None else embed_dim
        self._qkv_same_embed_dim = self.kdim == embed_dim and self.vdim == embed_dim
        self.num_heads = num_heads
        self.dropout = dropout
        self.batch_first = batch_first
        self.head_dim = embed_dim // num_heads
        if self.head_dim * num_heads != embed_dim:
            raise AssertionError("embed_dim must be divisible by num_heads")

        def p(*shape: int) -> Parameter:
            return Parameter(C.empty(shape, dtype=dtype))

        if not self._qkv_same_embed_dim:
            self.q_proj_weight = p(embed_dim, embed_dim)
            self.k_proj_weight = p(embed_dim, self.kdim)
            self.v_proj_weight = p(embed_dim, self.vdim)
            self.register_parameter("in_proj_weight", None)
        else:
            self.in_proj_weight = p(3 * embed_dim, embed_dim)
            for name in ("q_proj_weight", "k_proj_weight", "v_proj_weight"):
                self.register_parameter(name, None)
        if bias:
            self.in_proj_bias = p(3 * embed_dim)
        else:
            self.register_parameter("in_proj_bias", None)
        self.out_proj = NonDynamicallyQuantizableLinear(embed_dim, embed_dim, bias=bias, dtype=dtype)
        if add_bias_kv:
            self.bias_k = p(1, 1, embed_dim)
            self.bias_v = p(1, 1, embed_dim)
        else:
            self.bias_k = self.bias_v = None
        self.add_zero_attn = add_zero_attn
        self._reset_parameters()

    def _reset_parameters(self) -> None:
        if self._qkv_same_embed_dim:
            init.xavier_uniform_(self.in_proj_weight)
        else:
            init.xavier_uniform_(self.q_proj_weight)
            init.xavier_uniform_(self.k_proj_weight)
            init.xavier_uniform_(self.v_proj_weight)
        if self.in_proj_bias is not None:
            init.constant_(self.in_proj_bias, 0.0)
            init.constant_(self.out_proj.bias, 0.0)
        if self.bias_k is not None:
            init.xavier_normal_(self.bias_k)
        if self.bias_v is not None:
            init.xavier_normal_(self.bias_v)

    def forward(
        self,
        query: Tensor,
        key: Tensor,
        value: Tensor,
        key_padding_mask: Tensor | None = None,
        need_weights: bool = True,
        attn_mask: Tensor | None = None,
        average_attn_weights: bool = True,
        is_causal: bool = False,
    ) -> tuple[Tensor, Tensor | None]:
        for name, t in (("query", query), ("key", key), ("value", value)):
            F._need_tensor(t, "MultiheadAttention", name)
        batched = query.dim() == 3
        if self.batch_first and batched:
            query, key, value = (t.transpose(1, 0) for t in (query, key, value))
        extra = (
            {}
            if self._qkv_same_embed_dim
            else dict(
                use_separate_proj_weight=True,
                q_proj_weight=self.q_proj_weight,
                k_proj_weight=self.k_proj_weight,
                v_proj_weight=self.v_proj_weight,
            )
        )
        out, weights = multi_head_attention_forward(
            query,
            key,
            value,
            self.embed_dim,
            self.num_heads,
            self.in_proj_weight,
            self.in_proj_bias,
            self.bias_k,
            self.bias_v,
            self.add_zero_attn,
            self.dropout,
            self.out_proj.weight,
            self.out_proj.bias,
            training=self.training,
            key_padding_mask=key_padding_mask,
            need_weights=need_weights,
            attn_mask=attn_mask,
            average_attn_weights=average_attn_weights,
            is_causal=is_causal,
            **extra,
        )
        if self.batch_first and batched:
            out = out.transpose(1, 0)
        return out, weights
