"""Every layer against PyTorch 2.13: same weights in, same outputs, input and parameter gradients
and buffers (running statistics) out — in float64 tightly and in float32 loosely."""

from __future__ import annotations

import numpy as np
import pytest
from nn_helpers import Case, Ints, Normal, compare, need_torch, np_of
from reference import torch

import chainrule as cr


def C(id_: str, make, *inputs, **kw) -> Case:
    return Case(id_, make, inputs, **kw)


CASES = [
    C("Identity", lambda T: T.nn.Identity(3, foo=1), (2, 3)),
    C("Linear", lambda T: T.nn.Linear(5, 3), (4, 5)),
    C("Linear-nobias-3d", lambda T: T.nn.Linear(5, 3, bias=False), (2, 4, 5)),
    C("Linear-unbatched", lambda T: T.nn.Linear(5, 3), (5,)),
    C("Bilinear", lambda T: T.nn.Bilinear(3, 4, 2), (5, 3), (5, 4)),
    C("Conv1d", lambda T: T.nn.Conv1d(2, 3, 3, stride=2, padding=1), (2, 2, 9)),
    C("Conv1d-dilated-nobias", lambda T: T.nn.Conv1d(2, 4, 2, dilation=2, groups=2, bias=False), (2, 2, 7)),
    C("Conv2d", lambda T: T.nn.Conv2d(2, 3, 3), (2, 2, 6, 5)),
    C("Conv2d-strided", lambda T: T.nn.Conv2d(2, 4, (3, 2), stride=(2, 1), padding=(1, 2)), (2, 2, 7, 6)),
    C("Conv2d-grouped", lambda T: T.nn.Conv2d(4, 6, 3, groups=2, padding=1), (2, 4, 5, 5)),
    C("Conv2d-depthwise", lambda T: T.nn.Conv2d(3, 3, 3, groups=3, stride=2, bias=False), (1, 3, 7, 7)),
    C("Conv2d-dilated", lambda T: T.nn.Conv2d(1, 2, 3, dilation=2, padding=2), (1, 1, 7, 7)),
    C("Conv2d-same", lambda T: T.nn.Conv2d(2, 2, 3, padding="same"), (1, 2, 5, 4)),
    C("Conv2d-same-even", lambda T: T.nn.Conv2d(1, 2, (4, 2), padding="same", padding_mode="reflect"),
      (1, 1, 6, 5)),
    C("Conv2d-reflect", lambda T: T.nn.Conv2d(2, 2, 3, padding=1, padding_mode="reflect"), (1, 2, 5, 5)),
    C("Conv2d-replicate", lambda T: T.nn.Conv2d(1, 2, 3, padding=(2, 1), padding_mode="replicate"),
      (1, 1, 4, 5)),
    C("Conv2d-circular", lambda T: T.nn.Conv2d(1, 2, 3, padding=1, padding_mode="circular"), (2, 1, 4, 4)),
    C("Conv2d-unbatched", lambda T: T.nn.Conv2d(2, 3, 2), (2, 4, 4)),
    C("ConvTranspose1d", lambda T: T.nn.ConvTranspose1d(2, 3, 3, stride=2, padding=1, output_padding=1),
      (2, 2, 5)),
    C("ConvTranspose2d", lambda T: T.nn.ConvTranspose2d(2, 3, 3), (2, 2, 4, 4)),
    C("ConvTranspose2d-strided", lambda T: T.nn.ConvTranspose2d(3, 2, (3, 2), stride=2, padding=1,
                                                               output_padding=1), (2, 3, 4, 3)),
    C("ConvTranspose2d-grouped", lambda T: T.nn.ConvTranspose2d(4, 6, 2, groups=2, dilation=2,
                                                                bias=False), (1, 4, 3, 3)),
    C("ConvTranspose2d-output_size", lambda T: T.nn.ConvTranspose2d(2, 2, 3, stride=2),
      (1, 2, 3, 3), call=lambda m, x: m(x, output_size=[8, 8])),
    C("MaxPool1d", lambda T: T.nn.MaxPool1d(3, stride=2, padding=1), (2, 3, 8)),
    C("MaxPool2d", lambda T: T.nn.MaxPool2d(2), (2, 3, 6, 6)),
    C("MaxPool2d-overlap", lambda T: T.nn.MaxPool2d(3, stride=2, padding=1, ceil_mode=True), (1, 2, 7, 6)),
    C("MaxPool2d-indices", lambda T: T.nn.MaxPool2d(2, return_indices=True), (1, 2, 4, 6)),
    C("AvgPool1d", lambda T: T.nn.AvgPool1d(3, stride=2, padding=1), (2, 3, 8)),
    C("AvgPool2d", lambda T: T.nn.AvgPool2d(2), (2, 3, 6, 6)),
    C("AvgPool2d-pad", lambda T: T.nn.AvgPool2d(3, stride=2, padding=1, count_include_pad=False),
      (1, 2, 7, 6)),
    C("AdaptiveAvgPool2d-1", lambda T: T.nn.AdaptiveAvgPool2d((1, 1)), (2, 3, 5, 4)),
    C("AdaptiveAvgPool2d-even", lambda T: T.nn.AdaptiveAvgPool2d((2, 3)), (2, 3, 6, 6)),
    C("AdaptiveAvgPool2d-uneven", lambda T: T.nn.AdaptiveAvgPool2d((3, 2)), (2, 2, 7, 5)),
    C("AdaptiveAvgPool2d-None", lambda T: T.nn.AdaptiveAvgPool2d((None, 2)), (1, 2, 3, 5)),
    C("AdaptiveAvgPool2d-unbatched", lambda T: T.nn.AdaptiveAvgPool2d(3), (2, 5, 7)),
    C("AdaptiveAvgPool1d", lambda T: T.nn.AdaptiveAvgPool1d(3), (2, 2, 7)),
    C("AdaptiveMaxPool2d", lambda T: T.nn.AdaptiveMaxPool2d((2, 2)), (2, 2, 6, 4)),
    C("AdaptiveMaxPool2d-uneven", lambda T: T.nn.AdaptiveMaxPool2d((3, 2), return_indices=True),
      (2, 2, 7, 5)),
    C("AdaptiveMaxPool1d", lambda T: T.nn.AdaptiveMaxPool1d(3), (2, 2, 7)),
    C("BatchNorm1d", lambda T: T.nn.BatchNorm1d(4), (8, 4), steps=3),
    C("BatchNorm1d-3d", lambda T: T.nn.BatchNorm1d(3, momentum=0.3), (4, 3, 5), steps=3),
    C("BatchNorm1d-cumulative", lambda T: T.nn.BatchNorm1d(3, momentum=None), (6, 3), steps=4),
    C("BatchNorm2d", lambda T: T.nn.BatchNorm2d(3), (4, 3, 5, 5), steps=3),
    C("BatchNorm2d-noaffine", lambda T: T.nn.BatchNorm2d(3, affine=False, eps=1e-3), (2, 3, 4, 4), steps=2),
    C("BatchNorm2d-nostats", lambda T: T.nn.BatchNorm2d(2, track_running_stats=False), (3, 2, 3, 3),
      steps=2),
    C("BatchNorm2d-nostats-eval", lambda T: T.nn.BatchNorm2d(2, track_running_stats=False),
      (3, 2, 3, 3), train=False),
    C("BatchNorm2d-eval", lambda T: T.nn.BatchNorm2d(3), (2, 3, 4, 4), train=False),
    C("BatchNorm2d-nobias", lambda T: T.nn.BatchNorm2d(3, bias=False), (2, 3, 4, 4), steps=2),
    C("BatchNorm3d", lambda T: T.nn.BatchNorm3d(2), (2, 2, 3, 3, 2), steps=2),
    C("LayerNorm", lambda T: T.nn.LayerNorm(5), (3, 4, 5)),
    C("LayerNorm-2d", lambda T: T.nn.LayerNorm([4, 5], eps=1e-3), (3, 4, 5)),
    C("LayerNorm-noaffine", lambda T: T.nn.LayerNorm(5, elementwise_affine=False), (2, 5)),
    C("LayerNorm-nobias", lambda T: T.nn.LayerNorm(5, bias=False), (2, 5)),
    C("GroupNorm", lambda T: T.nn.GroupNorm(2, 6), (3, 6, 4, 4)),
    C("GroupNorm-noaffine", lambda T: T.nn.GroupNorm(3, 3, affine=False), (2, 3, 5)),
    C("Dropout-eval", lambda T: T.nn.Dropout(0.5), (4, 5), train=False),
    C("Dropout-p0", lambda T: T.nn.Dropout(0.0), (4, 5)),
    C("Embedding", lambda T: T.nn.Embedding(10, 3), Ints(10, (4, 5)), input_grad=False),
    C("Embedding-padding", lambda T: T.nn.Embedding(6, 3, padding_idx=2), Ints(6, (20,)),
      input_grad=False),
    C("Embedding-neg-padding", lambda T: T.nn.Embedding(6, 3, padding_idx=-1), Ints(6, (3, 7)),
      input_grad=False),
    C("Embedding-freq", lambda T: T.nn.Embedding(5, 2, scale_grad_by_freq=True), Ints(5, (12,)),
      input_grad=False),
    C("Flatten", lambda T: T.nn.Flatten(), (2, 3, 4, 5)),
    C("Flatten-range", lambda T: T.nn.Flatten(0, 2), (2, 3, 4, 5)),
    C("Unflatten", lambda T: T.nn.Unflatten(1, (3, 4)), (2, 12)),
    C("ReLU", lambda T: T.nn.ReLU(), (4, 5)),
    C("ReLU6", lambda T: T.nn.ReLU6(), Normal((4, 5), 5.0)),
    C("LeakyReLU", lambda T: T.nn.LeakyReLU(0.2), (4, 5)),
    C("PReLU", lambda T: T.nn.PReLU(), (4, 5)),
    C("PReLU-channels", lambda T: T.nn.PReLU(3, init=0.1), (2, 3, 4)),
    C("ELU", lambda T: T.nn.ELU(0.7), (4, 5)),
    C("SELU", lambda T: T.nn.SELU(), (4, 5)),
    C("CELU", lambda T: T.nn.CELU(1.5), (4, 5)),
    C("GELU", lambda T: T.nn.GELU(), (4, 5)),
    C("GELU-tanh", lambda T: T.nn.GELU("tanh"), (4, 5)),
    C("SiLU", lambda T: T.nn.SiLU(), (4, 5)),
    C("Mish", lambda T: T.nn.Mish(), (4, 5)),
    C("Sigmoid", lambda T: T.nn.Sigmoid(), (4, 5)),
    C("Tanh", lambda T: T.nn.Tanh(), (4, 5)),
    C("Hardtanh", lambda T: T.nn.Hardtanh(-0.5, 0.5), (4, 5)),
    C("Hardsigmoid", lambda T: T.nn.Hardsigmoid(), Normal((4, 5), 4.0)),
    C("Hardswish", lambda T: T.nn.Hardswish(), Normal((4, 5), 4.0)),
    C("Softplus", lambda T: T.nn.Softplus(beta=2.0, threshold=1.0), (4, 5)),
    C("Softsign", lambda T: T.nn.Softsign(), (4, 5)),
    C("Softmax", lambda T: T.nn.Softmax(dim=1), (4, 5)),
    C("Softmin", lambda T: T.nn.Softmin(dim=0), (4, 5)),
    C("LogSoftmax", lambda T: T.nn.LogSoftmax(dim=-1), (2, 4, 5)),
    C("LogSigmoid", lambda T: T.nn.LogSigmoid(), (4, 5)),
    C("Tanhshrink", lambda T: T.nn.Tanhshrink(), (4, 5)),
    C("Threshold", lambda T: T.nn.Threshold(0.1, -2.0), (4, 5)),
    C("GLU", lambda T: T.nn.GLU(), (4, 6)),
    C("Sequential-LeNet", lambda T: T.nn.Sequential(
        T.nn.Conv2d(1, 2, 5, padding=2), T.nn.ReLU(), T.nn.MaxPool2d(2), T.nn.Conv2d(2, 3, 3),
        T.nn.ReLU(), T.nn.AvgPool2d(2), T.nn.Flatten(), T.nn.Linear(12, 5)), (3, 1, 12, 12)),
    C("Sequential-BN-MLP", lambda T: T.nn.Sequential(
        T.nn.Linear(6, 5), T.nn.BatchNorm1d(5), T.nn.ReLU(), T.nn.Linear(5, 2)), (7, 6), steps=2),
]

IDS = [c.id for c in CASES]


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_layer_matches_torch_float64(case: Case) -> None:
    compare(case, "float64")


FLOAT32 = ["Linear", "Conv2d-grouped", "ConvTranspose2d-strided", "BatchNorm2d", "LayerNorm",
           "GroupNorm", "Embedding-padding", "GELU", "Sequential-LeNet"]


@pytest.mark.parametrize("case", [c for c in CASES if c.id in FLOAT32], ids=FLOAT32)
def test_layer_matches_torch_float32(case: Case) -> None:
    """The default dtype path: outputs and gradients stay float32 and agree to float32 precision."""
    ours, _ = compare(case, "float32")
    assert all(o.dtype == np.float32 for o in ours["outs"] if o.dtype.kind == "f")
    assert all(g.dtype == np.float32 for g in ours["param_grads"].values() if g is not None)


def test_batchnorm_train_then_eval_uses_running_statistics() -> None:
    """Several training steps move the running stats; eval() then normalises with them."""
    need_torch()
    rng = np.random.default_rng(3)
    batches = [rng.standard_normal((6, 3, 4, 4)) * (i + 1) + i for i in range(4)]
    ref, ours = torch.nn.BatchNorm2d(3, momentum=0.2).double(), cr.nn.BatchNorm2d(3, momentum=0.2).double()
    for b in batches[:3]:
        ref(torch.from_numpy(b))
        ours(cr.tensor(b))
    for name in ("running_mean", "running_var", "num_batches_tracked"):
        np.testing.assert_allclose(np_of(getattr(ours, name)), np_of(getattr(ref, name)), rtol=1e-10)
    assert ours.num_batches_tracked.dtype == cr.int64
    ref.eval()
    assert ours.eval() is ours and not ours.training
    x = batches[3]
    np.testing.assert_allclose(np_of(ours(cr.tensor(x))), np_of(ref(torch.from_numpy(x))), rtol=1e-10)
    before = np_of(ours.running_mean).copy()
    ours(cr.tensor(x))
    np.testing.assert_array_equal(np_of(ours.running_mean), before)  # eval never updates them


def test_batchnorm_needs_more_than_one_value_per_channel() -> None:
    bn = cr.nn.BatchNorm1d(3)
    with pytest.raises(ValueError, match="more than 1 value per channel"):
        bn(cr.randn(1, 3))
    bn.eval()
    assert bn(cr.randn(1, 3)).shape == (1, 3)  # fine in eval


def test_dropout_statistics_and_scaling() -> None:
    cr.manual_seed(0)
    d = cr.nn.Dropout(0.3)
    y = d(cr.ones(200, 500))
    kept = np_of(y) != 0
    assert abs(kept.mean() - 0.7) < 0.01
    np.testing.assert_allclose(np_of(y)[kept], 1 / 0.7, rtol=1e-6)
    cr.manual_seed(0)
    np.testing.assert_array_equal(np_of(d(cr.ones(200, 500))), np_of(y))  # seeded: repeatable
    x = cr.randn(3, 4)
    assert d.eval()(x) is x


def test_dropout2d_drops_whole_channels() -> None:
    cr.manual_seed(1)
    y = np_of(cr.nn.Dropout2d(0.5)(cr.ones(50, 8, 3, 3)))
    per_channel = y.reshape(50, 8, 9)
    assert np.all((per_channel == 0).all(-1) | (per_channel == 2.0).all(-1))
    assert 0.4 < (per_channel[..., 0] == 0).mean() < 0.6


def test_maxpool_indices_match_torch() -> None:
    need_torch()
    x = np.random.default_rng(0).standard_normal((2, 2, 5, 7))
    o, i = cr.nn.MaxPool2d(3, stride=2, return_indices=True)(cr.tensor(x))
    ro, ri = torch.nn.MaxPool2d(3, stride=2, return_indices=True)(torch.from_numpy(x))
    np.testing.assert_array_equal(np_of(i), ri.numpy())
    np.testing.assert_array_equal(np_of(o), ro.numpy())  # the pooled values, not only where
    assert i.dtype == cr.int64 and o.shape == tuple(ro.shape)
    # each pooled value is the input at its index (flattened per (N, C) plane)
    flat = x.reshape(2, 2, -1)
    np.testing.assert_array_equal(np.take_along_axis(flat, np_of(i).reshape(2, 2, -1), 2).reshape(o.shape),
                                  np_of(o))


@pytest.mark.parametrize("kernel,stride,padding", [(2, 2, 0), (3, 2, 1), ((3, 2), (1, 2), 0), (2, 1, 1)])
def test_maxpool_indices_with_ties_and_nans_match_torch(kernel, stride, padding) -> None:
    """Ties (few distinct values, as after a ReLU) go to the first maximum in scan order and a
    NaN is the maximum: PyTorch's indices and values, windows with and without NaN."""
    need_torch()
    rng = np.random.default_rng(3)
    for trial in range(4):
        x = rng.integers(0, 3, (3, 2, 9, 8)).astype(np.float32)
        if trial % 2:
            x.reshape(-1)[rng.choice(x.size, 7, replace=False)] = np.nan
        o, i = cr.nn.functional.max_pool2d(cr.tensor(x), kernel, stride, padding, return_indices=True)
        tx = torch.from_numpy(x)
        ro, ri = torch.nn.functional.max_pool2d(tx, kernel, stride, padding, return_indices=True)
        np.testing.assert_array_equal(np_of(i), ri.numpy())
        np.testing.assert_array_equal(np_of(o), ro.numpy())


def test_conv2d_errors_name_the_layer_and_sizes() -> None:
    conv = cr.nn.Conv2d(3, 4, 3)
    with pytest.raises(RuntimeError, match=r"Conv2d\(3, 4.*expected input with 3 channels.*got 1"):
        conv(cr.randn(2, 1, 8, 8))
    with pytest.raises(RuntimeError, match="4-d batched"):
        conv(cr.randn(8, 8))
    with pytest.raises(ValueError, match="divisible by groups"):
        cr.nn.Conv2d(3, 4, 3, groups=2)
    with pytest.raises(ValueError, match="strided"):
        cr.nn.Conv2d(3, 4, 3, stride=2, padding="same")
    with pytest.raises(RuntimeError, match="dtype float64 does not match weight dtype float32"):
        conv(cr.randn(1, 3, 5, 5, dtype=cr.float64))


def test_linear_errors_name_both_sizes() -> None:
    layer = cr.nn.Linear(2, 5)
    with pytest.raises(RuntimeError, match=r"Linear\(in_features=2, out_features=5, bias=True\).*2 "
                                           r"features.*shape \(4, 3\)"):
        layer(cr.randn(4, 3))
    with pytest.raises(RuntimeError, match="dtype int64 does not match weight dtype float32"):
        layer(cr.tensor([[1, 2]]))
    with pytest.raises(TypeError, match="must be a Tensor, not ndarray"):
        cr.nn.functional.linear(np.ones((1, 2)), layer.weight)


def test_embedding_errors_and_padding_row() -> None:
    emb = cr.nn.Embedding(4, 2, padding_idx=0)
    np.testing.assert_array_equal(np_of(emb.weight)[0], 0)
    with pytest.raises(IndexError, match="index 4 is out of range for 4 embeddings"):
        emb(cr.tensor([1, 4]))
    with pytest.raises(RuntimeError, match="integer tensor"):
        emb(cr.tensor([1.0]))
    pre = cr.nn.Embedding.from_pretrained(cr.eye(3))
    assert not pre.weight.requires_grad and pre(cr.tensor([2])).tolist() == [[0.0, 0.0, 1.0]]


def test_embedding_max_norm_renormalises_rows_like_torch() -> None:
    need_torch()
    w = np.random.default_rng(0).standard_normal((5, 3)) * 3
    ours = cr.nn.Embedding(5, 3, max_norm=1.0, _weight=cr.tensor(w))
    ref = torch.nn.Embedding(5, 3, max_norm=1.0, _weight=torch.from_numpy(w.copy()))
    idx = [0, 2, 2]
    np.testing.assert_allclose(np_of(ours(cr.tensor(idx))), np_of(ref(torch.tensor(idx))), rtol=1e-6)
    np.testing.assert_allclose(np_of(ours.weight), np_of(ref.weight), rtol=1e-6)


def test_layers_keep_gradients_float32_and_build_no_graph_under_no_grad() -> None:
    model = cr.nn.Sequential(cr.nn.Conv2d(1, 2, 3), cr.nn.BatchNorm2d(2), cr.nn.ReLU(),
                             cr.nn.Flatten(), cr.nn.LazyLinear(3))
    with cr.no_grad():
        y = model(cr.randn(2, 1, 5, 5))
    assert y.grad_fn is None and not y.requires_grad
    model(cr.randn(2, 1, 5, 5)).sum().backward()
    assert all(p.grad.dtype == cr.float32 for p in model.parameters())
