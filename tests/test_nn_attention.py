"""Attention against PyTorch 2.13: ``F.scaled_dot_product_attention``, ``F.multi_head_attention_forward``
and ``nn.MultiheadAttention`` — same weights in (via state_dict), same outputs, attention weights,
input and parameter gradients out, in float64, for every mask option."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest
from nn_helpers import Case, compare, need_torch, np_of
from reference import torch

import chainrule as cr


@dataclass
class Mask:
    """A boolean mask of ``shape`` (True with probability ``p``); column 0 never True, so no row is
    blocked entirely (``keep`` flips that: True means "may attend", as in scaled_dot_product_attention)."""

    shape: tuple
    p: float = 0.3
    keep: bool = False

    def make(self, rng: np.random.Generator) -> np.ndarray:
        m = rng.random(self.shape) < self.p
        m[..., 0] = False
        return ~m if self.keep else m


def mha(T, *args, **kw):
    return T.nn.MultiheadAttention(*args, **kw)


def drop_none(out):
    return tuple(o for o in out if o is not None)


def self_attn(**kw):
    return lambda m, x, *masks: drop_none(m(x, x, x, **dict(zip(kw["names"], masks)), **kw.get("extra", {})))


def C(id_, make, *inputs, **kw) -> Case:
    return Case(id_, make, inputs, **kw)


E, H, L, S, N = 8, 2, 5, 6, 3
KPM = Mask((N, L))

CASES = [
    C("mha", lambda T: mha(T, E, H), (L, N, E), call=self_attn(names=())),
    C(
        "mha-per-head-weights",
        lambda T: mha(T, E, H),
        (L, N, E),
        call=self_attn(names=(), extra=dict(average_attn_weights=False)),
    ),
    C("mha-batch-first", lambda T: mha(T, E, H, batch_first=True), (N, L, E), call=self_attn(names=())),
    C("mha-cross", lambda T: mha(T, E, H), (L, N, E), (S, N, E), (S, N, E)),
    C("mha-cross-batch-first", lambda T: mha(T, E, H, batch_first=True), (N, L, E), (N, S, E), (N, S, E)),
    C("mha-kdim-vdim", lambda T: mha(T, E, H, kdim=3, vdim=5), (L, N, E), (S, N, 3), (S, N, 5)),
    C(
        "mha-kdim-vdim-batch-first",
        lambda T: mha(T, E, 4, kdim=3, vdim=5, batch_first=True),
        (N, L, E),
        (N, S, 3),
        (N, S, 5),
    ),
    C("mha-nobias", lambda T: mha(T, E, H, bias=False), (L, N, E), call=self_attn(names=())),
    C("mha-bias-kv", lambda T: mha(T, E, H, add_bias_kv=True), (L, N, E), call=self_attn(names=())),
    C("mha-zero-attn", lambda T: mha(T, E, H, add_zero_attn=True), (L, N, E), call=self_attn(names=())),
    C(
        "mha-bias-kv-zero-attn-masks",
        lambda T: mha(T, E, H, add_bias_kv=True, add_zero_attn=True),
        (L, N, E),
        KPM,
        Mask((L, L)),
        call=self_attn(names=("key_padding_mask", "attn_mask")),
    ),
    C("mha-kpm-bool", lambda T: mha(T, E, H), (L, N, E), KPM, call=self_attn(names=("key_padding_mask",))),
    C(
        "mha-kpm-float",
        lambda T: mha(T, E, H),
        (L, N, E),
        (N, L),
        call=self_attn(names=("key_padding_mask",)),
    ),
    C(
        "mha-mask-bool-2d",
        lambda T: mha(T, E, H),
        (L, N, E),
        Mask((L, L)),
        call=self_attn(names=("attn_mask",)),
    ),
    C("mha-mask-float-2d", lambda T: mha(T, E, H), (L, N, E), (L, L), call=self_attn(names=("attn_mask",))),
    C(
        "mha-mask-bool-3d",
        lambda T: mha(T, E, H),
        (L, N, E),
        Mask((N * H, L, L)),
        call=self_attn(names=("attn_mask",)),
    ),
    C(
        "mha-mask-float-3d",
        lambda T: mha(T, E, H),
        (L, N, E),
        (N * H, L, L),
        call=self_attn(names=("attn_mask",)),
    ),
    C(
        "mha-both-masks-bool",
        lambda T: mha(T, E, H),
        (L, N, E),
        KPM,
        Mask((L, L)),
        call=self_attn(names=("key_padding_mask", "attn_mask")),
    ),
    C(
        "mha-both-masks-float",
        lambda T: mha(T, E, H),
        (L, N, E),
        (N, L),
        (N * H, L, L),
        call=self_attn(names=("key_padding_mask", "attn_mask")),
    ),
    C(
        "mha-cross-masks",
        lambda T: mha(T, E, H, batch_first=True),
        (N, L, E),
        (N, S, E),
        (N, S, E),
        Mask((N, S)),
        Mask((L, S)),
        call=lambda m, q, k, v, kpm, am: m(q, k, v, key_padding_mask=kpm, attn_mask=am),
    ),
]
# the same options through the need_weights=False path (scaled_dot_product_attention inside)
NO_WEIGHTS = [
    C(
        "sdpa-path",
        lambda T: mha(T, E, H),
        (L, N, E),
        call=self_attn(names=(), extra=dict(need_weights=False)),
    ),
    C(
        "sdpa-path-kpm",
        lambda T: mha(T, E, H, batch_first=True),
        (N, L, E),
        KPM,
        call=self_attn(names=("key_padding_mask",), extra=dict(need_weights=False)),
    ),
    C(
        "sdpa-path-mask-bool-3d",
        lambda T: mha(T, E, H),
        (L, N, E),
        Mask((N * H, L, L)),
        call=self_attn(names=("attn_mask",), extra=dict(need_weights=False)),
    ),
    C(
        "sdpa-path-mask-float-2d",
        lambda T: mha(T, E, H),
        (L, N, E),
        (L, L),
        call=self_attn(names=("attn_mask",), extra=dict(need_weights=False)),
    ),
    C(
        "sdpa-path-both-bias-kv",
        lambda T: mha(T, E, H, add_bias_kv=True, add_zero_attn=True),
        (L, N, E),
        KPM,
        Mask((L, L)),
        call=self_attn(names=("key_padding_mask", "attn_mask"), extra=dict(need_weights=False)),
    ),
    C(
        "sdpa-path-kdim",
        lambda T: mha(T, E, H, kdim=3, vdim=5),
        (L, N, E),
        (S, N, 3),
        (S, N, 5),
        call=lambda m, q, k, v: drop_none(m(q, k, v, need_weights=False)),
    ),
]
UNBATCHED = [
    C("mha-unbatched", lambda T: mha(T, E, H), (L, E), call=self_attn(names=())),
    C(
        "mha-unbatched-masks",
        lambda T: mha(T, E, H),
        (L, E),
        Mask((L,)),
        Mask((H, L, L)),
        call=self_attn(names=("key_padding_mask", "attn_mask")),
    ),
    C(
        "mha-unbatched-no-weights",
        lambda T: mha(T, E, H, batch_first=True),
        (L, E),
        Mask((L, L)),
        call=self_attn(names=("attn_mask",), extra=dict(need_weights=False)),
    ),
    C(
        "mha-eval-dropout",
        lambda T: mha(T, E, H, dropout=0.5, batch_first=True),
        (N, L, E),
        KPM,
        call=self_attn(names=("key_padding_mask",)),
        train=False,
    ),
]


@pytest.mark.parametrize("case", CASES + NO_WEIGHTS + UNBATCHED, ids=lambda c: c.id)
def test_multihead_attention_matches_torch(case: Case) -> None:
    compare(case, "float64")


def _causal(T, n):
    return T.nn.Transformer.generate_square_subsequent_mask(n, dtype=T.float64)


@pytest.mark.parametrize("need_weights", [True, False])
def test_mha_is_causal_hint_with_its_mask(need_weights: bool) -> None:
    case = C(
        "mha-causal",
        lambda T: mha(T, E, H),
        (L, N, E),
        call=lambda m, x: drop_none(
            m(
                x,
                x,
                x,
                attn_mask=_causal(cr if isinstance(m, cr.nn.Module) else torch, L),
                is_causal=True,
                need_weights=need_weights,
            )
        ),
    )
    compare(case, "float64")


def test_mha_float32_close() -> None:
    compare(CASES[-1], "float32")


# ------------------------------------------------------------------ scaled_dot_product_attention
def _sdpa_pair(shapes, masks=(), **kw):
    need_torch()
    rng = np.random.default_rng(1)
    arrays = [rng.standard_normal(s) for s in shapes]
    res = []
    for T in (cr, torch):
        xs = [(cr.tensor(a) if T is cr else torch.from_numpy(a.copy())).requires_grad_(True) for a in arrays]
        ms = [cr.tensor(m) if T is cr else torch.from_numpy(m.copy()) for m in masks]
        out = T.nn.functional.scaled_dot_product_attention(*xs, *ms, **kw)
        w = np.random.default_rng(2).standard_normal(tuple(out.shape))
        (out * (cr.tensor(w) if T is cr else torch.from_numpy(w))).sum().backward()
        res.append([np_of(out)] + [np_of(x.grad) for x in xs])
    for a, b in zip(*res):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-12)


QKV = [(2, 3, L, 4), (2, 3, S, 4), (2, 3, S, 7)]


@pytest.mark.parametrize(
    "kw",
    [{}, dict(is_causal=True), dict(scale=0.3), dict(is_causal=True, scale=2.0)],
    ids=["plain", "causal", "scale", "causal-scale"],
)
def test_sdpa_matches_torch(kw) -> None:
    _sdpa_pair(QKV, **kw)


def test_sdpa_bool_mask_broadcasts_and_blocked_rows_give_zero() -> None:
    m = Mask((L, S), keep=True).make(np.random.default_rng(0))
    _sdpa_pair(QKV, [m])
    m[2] = False  # query 2 may attend nowhere: PyTorch gives zeros (and zero gradients), not NaN
    _sdpa_pair(QKV, [m])
    _sdpa_pair(QKV, [Mask((2, 1, L, S), keep=True).make(np.random.default_rng(1))])


def test_sdpa_float_mask_and_unbatched_and_gqa() -> None:
    _sdpa_pair(QKV, [np.random.default_rng(3).standard_normal((3, L, S))])
    _sdpa_pair([(L, 4), (S, 4), (S, 2)])
    _sdpa_pair([(2, 4, L, 4), (2, 2, S, 4), (2, 2, S, 3)], enable_gqa=True)


def test_sdpa_dropout_zeroes_weights_and_scales() -> None:
    cr.manual_seed(0)
    q = k = cr.zeros(1, 1, 200, 4, dtype=cr.float64)
    v = cr.ones(1, 1, 200, 1, dtype=cr.float64)
    out = cr.nn.functional.scaled_dot_product_attention(q, k, v, dropout_p=0.5)
    # uniform weights 1/200; each kept with p=0.5 and scaled by 2: the output is 2 * (kept fraction)
    assert 0.7 < float(out.mean()) < 1.3
    assert not np.allclose(out.numpy(), 1.0)


def test_sdpa_errors_name_the_problem() -> None:
    F = cr.nn.functional
    q = cr.randn(2, 5, 4)
    with pytest.raises(RuntimeError, match="scaled_dot_product_attention.*same last dim"):
        F.scaled_dot_product_attention(q, cr.randn(2, 6, 3), cr.randn(2, 6, 3))
    with pytest.raises(RuntimeError, match="same sequence length"):
        F.scaled_dot_product_attention(q, cr.randn(2, 6, 4), cr.randn(2, 7, 4))
    with pytest.raises(RuntimeError, match="is_causal"):
        F.scaled_dot_product_attention(q, q, q, attn_mask=cr.ones(5, 5, dtype=cr.bool), is_causal=True)
    with pytest.raises(TypeError, match="must be a Tensor"):
        F.scaled_dot_product_attention(np.zeros((2, 5, 4)), q, q)


# ---------------------------------------------------------------- module surface, init, errors
def test_mha_parameter_names_init_and_repr_match_torch() -> None:
    need_torch()
    for kw in [{}, dict(kdim=3, vdim=5), dict(bias=False, add_bias_kv=True)]:
        ours, ref = cr.nn.MultiheadAttention(E, H, **kw), torch.nn.MultiheadAttention(E, H, **kw)
        assert [(n, tuple(p.shape)) for n, p in ours.named_parameters()] == [
            (n, tuple(p.shape)) for n, p in ref.named_parameters()
        ]
        assert repr(ours) == repr(ref)
        assert type(ours.out_proj).__name__ == "NonDynamicallyQuantizableLinear"
        assert isinstance(ours.out_proj, cr.nn.Linear)
        for name in (
            "embed_dim",
            "kdim",
            "vdim",
            "num_heads",
            "head_dim",
            "batch_first",
            "_qkv_same_embed_dim",
            "add_zero_attn",
            "dropout",
        ):
            assert getattr(ours, name) == getattr(ref, name), name
    m = cr.nn.MultiheadAttention(64, 4)
    assert np.all(m.in_proj_bias.detach().numpy() == 0) and np.all(m.out_proj.bias.detach().numpy() == 0)
    bound = np.sqrt(6 / (64 + 3 * 64))  # xavier_uniform over the packed (3E, E) weight
    w = m.in_proj_weight.detach().numpy()
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.9 * bound


def test_multi_head_attention_forward_functional_matches_torch() -> None:
    need_torch()
    ref = torch.nn.MultiheadAttention(E, H, add_bias_kv=True).double()
    rng = np.random.default_rng(0)
    x = rng.standard_normal((L, N, E))
    kpm = KPM.make(rng)
    outs = []
    for T in (cr, torch):
        t = lambda a: cr.tensor(a) if T is cr else torch.from_numpy(a.copy())  # noqa: E731
        p = {k: t(v.detach().numpy()) for k, v in ref.named_parameters()}
        o, w = T.nn.functional.multi_head_attention_forward(
            t(x),
            t(x),
            t(x),
            E,
            H,
            p["in_proj_weight"],
            p["in_proj_bias"],
            p["bias_k"],
            p["bias_v"],
            False,
            0.0,
            p["out_proj.weight"],
            p["out_proj.bias"],
            key_padding_mask=t(kpm),
        )
        outs.append((np_of(o), np_of(w)))
    for a, b in zip(*outs):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)


def test_mha_errors_name_the_shapes() -> None:
    m = cr.nn.MultiheadAttention(E, H)
    x = cr.randn(L, N, E)
    with pytest.raises(AssertionError, match="divisible by num_heads"):
        cr.nn.MultiheadAttention(10, 3)
    with pytest.raises(AssertionError, match="expecting embedding dimension of 8, but got 7"):
        m(cr.randn(L, N, 7), cr.randn(L, N, 7), cr.randn(L, N, 7))
    with pytest.raises(RuntimeError, match=r"2D attn_mask is \(4, 4\), but should be \(5, 5\)"):
        m(x, x, x, attn_mask=cr.zeros(4, 4))
    with pytest.raises(RuntimeError, match=r"3D attn_mask is \(2, 5, 5\), but should be \(6, 5, 5\)"):
        m(x, x, x, attn_mask=cr.zeros(2, 5, 5))
    with pytest.raises(AssertionError, match=r"key_padding_mask shape of \(3, 5\)"):
        m(x, x, x, key_padding_mask=cr.zeros(3, 4, dtype=cr.bool))
    with pytest.raises(AssertionError, match="expected key and value to be 3-D"):
        m(x, cr.randn(L, E), cr.randn(L, E))
    with pytest.raises(AssertionError, match="only bool and floating types of key_padding_mask"):
        m(x, x, x, key_padding_mask=cr.zeros(3, 5, dtype=cr.int64))
    with pytest.raises(RuntimeError, match="Need attn_mask if specifying the is_causal hint"):
        m(x, x, x, is_causal=True)


def test_mha_dropout_in_training_changes_output() -> None:
    cr.manual_seed(0)
    m = cr.nn.MultiheadAttention(E, H, dropout=0.5)
    x = cr.randn(L, N, E)
    a, _ = m(x, x, x)
    m.eval()
    b, _ = m(x, x, x)
    c, _ = m(x, x, x)
    assert not np.allclose(a.detach().numpy(), b.detach().numpy())
    np.testing.assert_array_equal(b.detach().numpy(), c.detach().numpy())
