"""Transformer layers against PyTorch 2.13: encoder/decoder layers, their stacks and ``nn.Transformer``
with weights copied through state_dict (so every parameter name agrees), for every mask option, in
float64; reprs, errors, and a small transformer language model whose loss curve equals PyTorch's."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from nn_helpers import Case, compare, copy_weights, need_torch
from reference import torch
from test_nn_attention import Mask

import chainrule as cr

D, H, FF, L, S, N = 8, 2, 16, 5, 6, 3


def T_of(m):
    return cr if isinstance(m, cr.nn.Module) else torch


def causal(m, n):
    return T_of(m).nn.Transformer.generate_square_subsequent_mask(n, dtype=next(m.parameters()).dtype)


def enc_layer(T, **kw):
    return T.nn.TransformerEncoderLayer(D, H, FF, dropout=0.0, **kw)


def dec_layer(T, **kw):
    return T.nn.TransformerDecoderLayer(D, H, FF, dropout=0.0, **kw)


def C(id_, make, *inputs, **kw) -> Case:
    return Case(id_, make, inputs, **kw)


def gelu_module(T):
    return enc_layer(T, activation=T.nn.GELU())


ENCODER_LAYER = [
    C("enc", lambda T: enc_layer(T), (L, N, D)),
    C("enc-batch-first", lambda T: enc_layer(T, batch_first=True), (N, L, D)),
    C("enc-norm-first", lambda T: enc_layer(T, norm_first=True), (L, N, D)),
    C("enc-gelu", lambda T: enc_layer(T, activation="gelu", layer_norm_eps=1e-3), (L, N, D)),
    C("enc-callable", lambda T: enc_layer(T, activation=T.tanh), (L, N, D)),
    C("enc-gelu-module", gelu_module, (L, N, D)),
    C("enc-nobias", lambda T: enc_layer(T, bias=False), (L, N, D)),
    C("enc-unbatched", lambda T: enc_layer(T), (L, D)),
    C(
        "enc-mask-bool",
        lambda T: enc_layer(T),
        (L, N, D),
        Mask((L, L)),
        call=lambda m, x, a: m(x, src_mask=a),
    ),
    C("enc-mask-float-3d", lambda T: enc_layer(T), (L, N, D), (N * H, L, L), call=lambda m, x, a: m(x, a)),
    C(
        "enc-kpm-bool",
        lambda T: enc_layer(T, batch_first=True),
        (N, L, D),
        Mask((N, L)),
        call=lambda m, x, k: m(x, src_key_padding_mask=k),
    ),
    C(
        "enc-kpm-float-and-mask",
        lambda T: enc_layer(T, norm_first=True),
        (L, N, D),
        (N, L),
        (L, L),
        call=lambda m, x, k, a: m(x, src_mask=a, src_key_padding_mask=k),
    ),
    C("enc-causal", lambda T: enc_layer(T), (L, N, D), call=lambda m, x: m(x, causal(m, L), is_causal=True)),
    C(
        "enc-causal-kpm",
        lambda T: enc_layer(T, batch_first=True),
        (N, L, D),
        Mask((N, L)),
        call=lambda m, x, k: m(x, causal(m, L), k, is_causal=True),
    ),
]
ENCODER = [
    C("encoder-2", lambda T: T.nn.TransformerEncoder(enc_layer(T), 2), (L, N, D)),
    C(
        "encoder-norm",
        lambda T: T.nn.TransformerEncoder(enc_layer(T, batch_first=True), 2, T.nn.LayerNorm(D)),
        (N, L, D),
        Mask((N, L)),
        call=lambda m, x, k: m(x, src_key_padding_mask=k),
    ),
    C(
        "encoder-causal-detected",
        lambda T: T.nn.TransformerEncoder(enc_layer(T), 2, T.nn.LayerNorm(D)),
        (L, N, D),
        call=lambda m, x: m(x, mask=causal(m, L)),
    ),
    C(
        "encoder-causal-hint",
        lambda T: T.nn.TransformerEncoder(enc_layer(T, norm_first=True), 2),
        (L, N, D),
        call=lambda m, x: m(x, mask=causal(m, L), is_causal=True),
    ),
    C(
        "encoder-bool-mask-kpm",
        lambda T: T.nn.TransformerEncoder(enc_layer(T), 3),
        (L, N, D),
        Mask((L, L)),
        Mask((N, L)),
        call=lambda m, x, a, k: m(x, a, k),
    ),
]
DECODER = [
    C("dec", lambda T: dec_layer(T), (L, N, D), (S, N, D)),
    C(
        "dec-batch-first-norm-first",
        lambda T: dec_layer(T, batch_first=True, norm_first=True),
        (N, L, D),
        (N, S, D),
    ),
    C("dec-gelu-nobias", lambda T: dec_layer(T, activation="gelu", bias=False), (L, N, D), (S, N, D)),
    C("dec-unbatched", lambda T: dec_layer(T), (L, D), (S, D)),
    C(
        "dec-all-masks",
        lambda T: dec_layer(T),
        (L, N, D),
        (S, N, D),
        Mask((L, L)),
        Mask((L, S)),
        Mask((N, L)),
        Mask((N, S)),
        call=lambda m, t, mem, a, b, c, d: m(t, mem, a, b, c, d),
    ),
    C(
        "dec-float-masks",
        lambda T: dec_layer(T, batch_first=True),
        (N, L, D),
        (N, S, D),
        (L, L),
        (L, S),
        (N, L),
        (N, S),
        call=lambda m, t, mem, a, b, c, d: m(t, mem, a, b, c, d),
    ),
    C(
        "dec-causal",
        lambda T: dec_layer(T),
        (L, N, D),
        (S, N, D),
        call=lambda m, t, mem: m(t, mem, tgt_mask=causal(m, L), tgt_is_causal=True),
    ),
    C(
        "decoder-2-norm",
        lambda T: T.nn.TransformerDecoder(dec_layer(T), 2, T.nn.LayerNorm(D)),
        (L, N, D),
        (S, N, D),
        Mask((N, S)),
        call=lambda m, t, mem, k: m(t, mem, tgt_mask=causal(m, L), memory_key_padding_mask=k),
    ),
]


def small_transformer(T, **kw):
    return T.nn.Transformer(D, H, 2, 2, FF, dropout=0.0, **kw)


FULL = [
    C("transformer", small_transformer, (S, N, D), (L, N, D)),
    C(
        "transformer-batch-first-masks",
        lambda T: small_transformer(T, batch_first=True, norm_first=True),
        (N, S, D),
        (N, L, D),
        Mask((N, S)),
        Mask((N, L)),
        call=lambda m, s, t, ks, kt: m(
            s,
            t,
            tgt_mask=causal(m, L),
            src_key_padding_mask=ks,
            tgt_key_padding_mask=kt,
            memory_key_padding_mask=ks,
        ),
    ),
    C(
        "transformer-gelu-masks",
        lambda T: small_transformer(T, activation="gelu"),
        (S, N, D),
        (L, N, D),
        (S, S),
        Mask((L, S)),
        call=lambda m, s, t, a, b: m(s, t, src_mask=a, memory_mask=b),
    ),
    C("transformer-unbatched", small_transformer, (S, D), (L, D)),
]


@pytest.mark.parametrize("case", ENCODER_LAYER + ENCODER + DECODER + FULL, ids=lambda c: c.id)
def test_transformer_layers_match_torch(case: Case) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # enable_nested_tensor notes, on both sides
        compare(case, "float64")


def test_float32_close() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        compare(FULL[1], "float32")


@pytest.mark.parametrize(
    "make",
    [
        lambda T: enc_layer(T),
        gelu_module,
        lambda T: dec_layer(T, norm_first=True),
        lambda T: T.nn.TransformerEncoder(enc_layer(T), 2, T.nn.LayerNorm(D), enable_nested_tensor=False),
        lambda T: T.nn.TransformerDecoder(dec_layer(T), 3),
        small_transformer,
    ],
    ids=["enc-layer", "enc-gelu-module", "dec-layer", "encoder", "decoder", "transformer"],
)
def test_reprs_and_state_dict_names_match_torch(make) -> None:
    need_torch()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        ours, ref = make(cr), make(torch)
    assert repr(ours) == repr(ref)
    assert [(k, tuple(v.shape)) for k, v in ours.state_dict().items()] == [
        (k, tuple(v.shape)) for k, v in ref.state_dict().items()
    ]


def test_nested_tensor_warning_as_torch() -> None:
    need_torch()
    for kw in [{}, dict(batch_first=True), dict(batch_first=True, norm_first=True)]:
        msgs = []
        for T in (cr, torch):
            with warnings.catch_warnings(record=True) as w:
                warnings.simplefilter("always")
                T.nn.TransformerEncoder(
                    T.nn.TransformerEncoderLayer(
                        D, H, batch_first=kw.get("batch_first", False), norm_first=kw.get("norm_first", False)
                    ),
                    2,
                )
            msgs.append([str(x.message) for x in w if "nested" in str(x.message)])
        assert msgs[0] == msgs[1]
    enc = cr.nn.TransformerEncoder(enc_layer(cr, batch_first=True), 1, enable_nested_tensor=True)
    assert enc.enable_nested_tensor and enc.use_nested_tensor


@pytest.mark.filterwarnings("ignore:enable_nested_tensor")
def test_generate_square_subsequent_mask_and_init() -> None:
    need_torch()
    m = cr.nn.Transformer.generate_square_subsequent_mask(4)
    r = torch.nn.Transformer.generate_square_subsequent_mask(4)
    assert m.dtype == cr.float32
    np.testing.assert_array_equal(m.numpy(), r.numpy())
    assert cr.nn.Transformer.generate_square_subsequent_mask(3, dtype=cr.float64).dtype == cr.float64
    t = cr.nn.Transformer(16, 2, 1, 1, 32)
    w = t.encoder.layers[0].linear1.weight.detach().numpy()  # xavier_uniform on every matrix
    bound = np.sqrt(6 / (16 + 32))
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.9 * bound
    assert isinstance(t.encoder.norm, cr.nn.LayerNorm) and isinstance(t.decoder.norm, cr.nn.LayerNorm)
    # the deep copies are independent layers
    assert (
        t.encoder.layers[0].linear1.weight
        is not cr.nn.TransformerEncoder(enc_layer(cr), 2).layers[1].linear1.weight
    )


@pytest.mark.filterwarnings("ignore:enable_nested_tensor")
def test_transformer_errors_name_the_shapes() -> None:
    t = small_transformer(cr)
    with pytest.raises(RuntimeError, match="the batch number of src and tgt must be equal"):
        t(cr.randn(S, 2, D), cr.randn(L, 3, D))
    with pytest.raises(RuntimeError, match="the feature number of src and tgt must be equal to d_model"):
        t(cr.randn(S, N, D + 1), cr.randn(L, N, D + 1))
    with pytest.raises(RuntimeError, match="activation should be relu/gelu, not tanh"):
        cr.nn.TransformerEncoderLayer(D, H, activation="tanh")
    with pytest.raises(RuntimeError, match=r"2D attn_mask is \(4, 4\), but should be \(5, 5\)"):
        enc_layer(cr)(cr.randn(L, N, D), src_mask=cr.zeros(4, 4))
    with pytest.raises(AssertionError, match="divisible by num_heads"):
        cr.nn.TransformerEncoderLayer(10, 3)


def test_dropout_active_in_training_only() -> None:
    cr.manual_seed(0)
    layer = cr.nn.TransformerEncoderLayer(D, H, FF, dropout=0.5)
    x = cr.randn(L, N, D)
    a = layer(x)
    layer.eval()
    b, c = layer(x), layer(x)
    assert not np.allclose(a.detach().numpy(), b.detach().numpy())
    np.testing.assert_array_equal(b.detach().numpy(), c.detach().numpy())


# ------------------------------------------------------------- a small transformer language model
def _lm(T, vocab: int, d: int):
    class LM(T.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.emb = T.nn.Embedding(vocab, d)
            layer = T.nn.TransformerEncoderLayer(d, 2, 32, dropout=0.0, batch_first=True)
            self.encoder = T.nn.TransformerEncoder(layer, 2, enable_nested_tensor=False)
            self.head = T.nn.Linear(d, vocab)

        def forward(self, x):
            mask = T.nn.Transformer.generate_square_subsequent_mask(x.shape[1], dtype=T.float64)
            return self.head(self.encoder(self.emb(x), mask=mask, is_causal=True))

    return LM()


def test_language_model_loss_curve_matches_torch() -> None:
    need_torch()
    vocab, d, steps = 11, 16, 20
    torch.manual_seed(0)
    ref = _lm(torch, vocab, d).double()
    ours = _lm(cr, vocab, d)
    copy_weights(ref, ours)
    ours = ours.double()
    rng = np.random.default_rng(0)
    data = rng.integers(0, vocab, (steps, 4, 9))
    curves = []
    for T, model in ((cr, ours), (torch, ref)):
        opt = T.optim.Adam(model.parameters(), lr=1e-2)
        losses = []
        for i in range(steps):
            batch = cr.tensor(data[i]) if T is cr else torch.from_numpy(data[i])
            logits = model(batch[:, :-1])
            loss = T.nn.functional.cross_entropy(logits.reshape(-1, vocab), batch[:, 1:].reshape(-1))
            opt.zero_grad()
            loss.backward()
            opt.step()
            losses.append(loss.item())
        curves.append(np.array(losses))
    np.testing.assert_allclose(curves[0], curves[1], rtol=1e-9, atol=1e-12)
    assert curves[0][-1] < curves[0][0]  # it learns something
