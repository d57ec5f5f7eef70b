"""Instance / local response norm, resizing, pixel shuffle, padding, conv3d, 3-d and adaptive pooling,
fold/unfold and Softmax2d against PyTorch 2.13: outputs, input and parameter gradients, reprs, errors."""

from __future__ import annotations

import numpy as np
import pytest
from nn_helpers import Case, Ints, compare, need_torch
from reference import torch

import chainrule as cr


def C(id_: str, make, *inputs, **kw) -> Case:
    return Case(id_, make, inputs, **kw)


def Fn(fn):
    """A module-free case: ``fn(T, *inputs)`` run for chainrule and for PyTorch."""

    def make(T):
        class Wrap(T.nn.Module):
            def forward(self, *xs):
                return fn(T, *xs)

        return Wrap()

    return make


CASES = [
    C("InstanceNorm1d", lambda T: T.nn.InstanceNorm1d(3), (2, 3, 6)),
    C("InstanceNorm1d-unbatched", lambda T: T.nn.InstanceNorm1d(3, affine=True), (3, 6)),
    C("InstanceNorm2d-affine", lambda T: T.nn.InstanceNorm2d(3, affine=True), (2, 3, 4, 5)),
    C(
        "InstanceNorm2d-stats",
        lambda T: T.nn.InstanceNorm2d(2, track_running_stats=True, momentum=0.3),
        (3, 2, 4, 4),
        steps=2,
    ),
    C(
        "InstanceNorm2d-stats-eval",
        lambda T: T.nn.InstanceNorm2d(2, track_running_stats=True),
        (3, 2, 4, 4),
        train=False,
    ),
    C("InstanceNorm3d", lambda T: T.nn.InstanceNorm3d(2, affine=True, eps=1e-3), (2, 2, 3, 3, 2)),
    C("LocalResponseNorm-3d", lambda T: T.nn.LocalResponseNorm(3), (2, 5, 4)),
    C("LocalResponseNorm-4d", lambda T: T.nn.LocalResponseNorm(2, alpha=0.1, beta=0.5, k=2.0), (2, 6, 3, 3)),
    C("LocalResponseNorm-5d", lambda T: T.nn.LocalResponseNorm(4, alpha=0.2), (1, 5, 2, 2, 2)),
    C("Upsample-nearest", lambda T: T.nn.Upsample(scale_factor=2), (2, 3, 3, 4)),
    C("Upsample-nearest-size", lambda T: T.nn.Upsample(size=(5, 7)), (1, 2, 3, 4)),
    C("Upsample-nearest-1d", lambda T: T.nn.Upsample(scale_factor=1.5), (1, 2, 5)),
    C("Upsample-nearest-3d", lambda T: T.nn.Upsample(size=(3, 2, 5)), (1, 1, 2, 3, 2)),
    C("Upsample-bilinear", lambda T: T.nn.Upsample(scale_factor=2, mode="bilinear"), (2, 2, 3, 4)),
    C(
        "Upsample-bilinear-ac",
        lambda T: T.nn.Upsample(size=(5, 3), mode="bilinear", align_corners=True),
        (1, 2, 3, 4),
    ),
    C("Upsample-bicubic", lambda T: T.nn.Upsample(scale_factor=(1.5, 2.5), mode="bicubic"), (1, 2, 4, 3)),
    C(
        "Upsample-bicubic-ac",
        lambda T: T.nn.Upsample(size=(6, 2), mode="bicubic", align_corners=True),
        (1, 1, 4, 5),
    ),
    C("Upsample-linear", lambda T: T.nn.Upsample(scale_factor=3, mode="linear"), (2, 2, 4)),
    C("Upsample-trilinear", lambda T: T.nn.Upsample(size=(3, 4, 2), mode="trilinear"), (1, 1, 2, 3, 3)),
    C("Upsample-down-bilinear", lambda T: T.nn.Upsample(scale_factor=0.5, mode="bilinear"), (1, 1, 6, 5)),
    C("UpsamplingBilinear2d", lambda T: T.nn.UpsamplingBilinear2d(scale_factor=2), (1, 2, 3, 3)),
    C("UpsamplingNearest2d", lambda T: T.nn.UpsamplingNearest2d(size=(4, 6)), (1, 2, 3, 3)),
    C(
        "interpolate-recompute",
        Fn(
            lambda T, x: T.nn.functional.interpolate(
                x, scale_factor=1.7, mode="bilinear", recompute_scale_factor=True
            )
        ),
        (1, 2, 4, 5),
    ),
    C(
        "interpolate-nearest-exact",
        Fn(lambda T, x: T.nn.functional.interpolate(x, size=(5, 3), mode="nearest-exact")),
        (1, 2, 4, 5),
    ),
    C("PixelShuffle", lambda T: T.nn.PixelShuffle(2), (2, 8, 3, 4)),
    C("PixelShuffle-unbatched", lambda T: T.nn.PixelShuffle(3), (9, 2, 2)),
    C("PixelShuffle-5d", lambda T: T.nn.PixelShuffle(2), (2, 1, 4, 2, 3)),
    C("PixelUnshuffle", lambda T: T.nn.PixelUnshuffle(2), (2, 2, 4, 6)),
    C("ReflectionPad1d", lambda T: T.nn.ReflectionPad1d((2, 1)), (2, 3, 5)),
    C("ReflectionPad2d", lambda T: T.nn.ReflectionPad2d(2), (1, 2, 4, 5)),
    C("ReflectionPad2d-unbatched", lambda T: T.nn.ReflectionPad2d((1, 0, 2, 1)), (2, 4, 4)),
    C("ReplicationPad1d", lambda T: T.nn.ReplicationPad1d(3), (2, 2, 4)),
    C("ReplicationPad2d", lambda T: T.nn.ReplicationPad2d((1, 2, 0, 3)), (1, 2, 3, 3)),
    C("CircularPad2d", lambda T: T.nn.CircularPad2d(1), (1, 2, 3, 3)),
    C("ZeroPad2d", lambda T: T.nn.ZeroPad2d((1, 2, 3, 0)), (2, 2, 3, 3)),
    C("ZeroPad2d-crop", lambda T: T.nn.ZeroPad2d((-1, 1, 0, -1)), (1, 2, 3, 4)),
    C("ConstantPad1d", lambda T: T.nn.ConstantPad1d(2, 3.5), (2, 4)),
    C("ConstantPad2d", lambda T: T.nn.ConstantPad2d((1, 0, 2, 1), -1.0), (1, 2, 3, 3)),
    C("Conv3d", lambda T: T.nn.Conv3d(2, 3, 3), (2, 2, 4, 5, 5)),
    C(
        "Conv3d-strided",
        lambda T: T.nn.Conv3d(2, 4, (2, 3, 2), stride=(2, 1, 2), padding=(1, 1, 0), groups=2, bias=False),
        (1, 2, 5, 4, 5),
    ),
    C("Conv3d-dilated", lambda T: T.nn.Conv3d(1, 2, 2, dilation=(2, 1, 2), padding=1), (1, 1, 4, 4, 5)),
    C("Conv3d-same", lambda T: T.nn.Conv3d(1, 2, 3, padding="same"), (1, 1, 3, 4, 4)),
    C("Conv3d-unbatched", lambda T: T.nn.Conv3d(2, 2, 2), (2, 3, 3, 3)),
    C("MaxPool3d", lambda T: T.nn.MaxPool3d(2), (2, 2, 4, 4, 4)),
    C(
        "MaxPool3d-overlap",
        lambda T: T.nn.MaxPool3d((3, 2, 2), stride=(2, 1, 2), padding=(1, 1, 0)),
        (1, 2, 5, 4, 5),
    ),
    C("MaxPool3d-unbatched", lambda T: T.nn.MaxPool3d(2, ceil_mode=True), (2, 3, 5, 4)),
    C("AvgPool3d", lambda T: T.nn.AvgPool3d(2), (2, 2, 4, 4, 4)),
    C(
        "AvgPool3d-pad",
        lambda T: T.nn.AvgPool3d(3, stride=2, padding=1, count_include_pad=False),
        (1, 2, 5, 5, 4),
    ),
    C(
        "AvgPool3d-ceil",
        lambda T: T.nn.AvgPool3d((2, 3, 2), stride=2, padding=1, ceil_mode=True),
        (1, 1, 5, 6, 5),
    ),
    C("MaxPool1d-dilated", lambda T: T.nn.MaxPool1d(2, stride=1, dilation=2), (2, 2, 7)),
    C("AvgPool1d-unbatched", lambda T: T.nn.AvgPool1d(2), (3, 8)),
    C("AdaptiveAvgPool3d", lambda T: T.nn.AdaptiveAvgPool3d((2, 3, 1)), (2, 2, 5, 6, 4)),
    C("AdaptiveAvgPool3d-None", lambda T: T.nn.AdaptiveAvgPool3d((None, 2, 2)), (2, 3, 4, 5)),
    C("AdaptiveMaxPool1d-uneven", lambda T: T.nn.AdaptiveMaxPool1d(4, return_indices=True), (2, 2, 7)),
    C("AdaptiveMaxPool2d-unbatched", lambda T: T.nn.AdaptiveMaxPool2d((2, 3)), (2, 5, 7)),
    C("AdaptiveAvgPool1d-unbatched", lambda T: T.nn.AdaptiveAvgPool1d(3), (2, 7)),
    C("Unfold", lambda T: T.nn.Unfold(2), (2, 3, 4, 5)),
    C("Unfold-strided", lambda T: T.nn.Unfold((2, 3), dilation=(1, 2), padding=1, stride=2), (1, 2, 5, 6)),
    C("Unfold-unbatched", lambda T: T.nn.Unfold(3, padding=1), (2, 3, 3)),
    C("Fold", lambda T: T.nn.Fold((4, 5), 2), (2, 12, 12)),
    C("Fold-strided", lambda T: T.nn.Fold((5, 6), (2, 3), dilation=(1, 2), padding=1, stride=2), (1, 12, 6)),
    C("Fold-unbatched", lambda T: T.nn.Fold(3, 2), (8, 4)),
    C("Softmax2d", lambda T: T.nn.Softmax2d(), (2, 3, 4, 4)),
    C("Softmax2d-unbatched", lambda T: T.nn.Softmax2d(), (3, 2, 5)),
]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_layer_matches_torch_float64(case: Case) -> None:
    compare(case, "float64")


@pytest.mark.parametrize("id_", ["Upsample-bilinear", "Conv3d", "InstanceNorm2d-affine", "Fold"])
def test_layer_matches_torch_float32(id_: str) -> None:
    case = next(c for c in CASES if c.id == id_)
    ours, _ = compare(case, "float32")
    assert all(o.dtype == np.float32 for o in ours["outs"])


REPRS = [
    lambda T: T.nn.InstanceNorm2d(3),
    lambda T: T.nn.InstanceNorm1d(4, affine=True, momentum=0.2),
    lambda T: T.nn.InstanceNorm3d(2, track_running_stats=True, eps=1e-3),
    lambda T: T.nn.LocalResponseNorm(2),
    lambda T: T.nn.LocalResponseNorm(3, 0.1, 0.5, 2.0),
    lambda T: T.nn.Upsample(scale_factor=2),
    lambda T: T.nn.Upsample(size=(3, 4), mode="bilinear"),
    lambda T: T.nn.Upsample(scale_factor=(2, 3), mode="bicubic", align_corners=True),
    lambda T: T.nn.UpsamplingBilinear2d(scale_factor=2),
    lambda T: T.nn.UpsamplingNearest2d(size=4),
    lambda T: T.nn.PixelShuffle(2),
    lambda T: T.nn.PixelUnshuffle(3),
    lambda T: T.nn.ReflectionPad1d(2),
    lambda T: T.nn.ReflectionPad2d((1, 2, 3, 4)),
    lambda T: T.nn.ReplicationPad1d((1, 2)),
    lambda T: T.nn.ReplicationPad2d(1),
    lambda T: T.nn.ZeroPad2d(2),
    lambda T: T.nn.ConstantPad1d(2, 3.5),
    lambda T: T.nn.ConstantPad2d((1, 0, 2, 1), 1),
    lambda T: T.nn.CircularPad2d(1),
    lambda T: T.nn.Conv3d(2, 3, 3),
    lambda T: T.nn.Conv3d(2, 4, (1, 2, 3), (2, 1, 1), 1, 2, 2, False),
    lambda T: T.nn.MaxPool3d(2),
    lambda T: T.nn.MaxPool3d(3, 1, 1, ceil_mode=True),
    lambda T: T.nn.AvgPool3d(2),
    lambda T: T.nn.AvgPool3d(3, 2, 1),
    lambda T: T.nn.AdaptiveAvgPool3d((1, 2, 3)),
    lambda T: T.nn.Fold(4, 2),
    lambda T: T.nn.Fold((4, 5), (2, 3), 1, 1, 2),
    lambda T: T.nn.Unfold(3, padding=1),
    lambda T: T.nn.Softmax2d(),
]


@pytest.mark.parametrize("i", range(len(REPRS)))
def test_repr_matches_torch(i: int) -> None:
    need_torch()
    assert repr(REPRS[i](cr)) == repr(REPRS[i](torch))


def test_constructor_state_and_init_match_torch() -> None:
    """Parameter/buffer names and shapes, and the initial values drawn from the same recipe."""
    need_torch()
    for make in (
        lambda T: T.nn.InstanceNorm2d(3, affine=True, track_running_stats=True),
        lambda T: T.nn.InstanceNorm1d(3),
        lambda T: T.nn.Conv3d(2, 4, (1, 2, 3), groups=2),
    ):
        ours, ref = make(cr).state_dict(), make(torch).state_dict()
        assert list(ours) == list(ref)
        for k in ref:
            assert tuple(ours[k].shape) == tuple(ref[k].shape)
    w = cr.nn.Conv3d(4, 8, 3).weight.detach().numpy()
    bound = 1 / np.sqrt(4 * 27)  # kaiming_uniform(a=sqrt(5)) gives U(-1/sqrt(fan_in), 1/sqrt(fan_in))
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.9 * bound


ERRORS = [
    ("pixel_shuffle", lambda T: T.nn.PixelShuffle(2)(T.zeros(1, 3, 2, 2)), RuntimeError, "divisible"),
    (
        "pixel_shuffle-2d",
        lambda T: T.nn.functional.pixel_shuffle(T.zeros(4, 2), 2),
        RuntimeError,
        "at least 3 dimensions",
    ),
    ("pixel_unshuffle", lambda T: T.nn.PixelUnshuffle(2)(T.zeros(1, 1, 3, 4)), RuntimeError, "divisible"),
    (
        "interpolate-both",
        lambda T: T.nn.functional.interpolate(T.zeros(1, 1, 2, 2), size=3, scale_factor=2),
        ValueError,
        "only one of size or scale_factor",
    ),
    (
        "interpolate-align",
        lambda T: T.nn.functional.interpolate(T.zeros(1, 1, 2, 2), scale_factor=2, align_corners=True),
        ValueError,
        "align_corners",
    ),
    (
        "interpolate-dims",
        lambda T: T.nn.functional.interpolate(T.zeros(1, 1, 2, 2), size=(2, 3, 4)),
        ValueError,
        "same number of spatial dimensions",
    ),
    (
        "interpolate-bilinear-3d",
        lambda T: T.nn.functional.interpolate(T.zeros(1, 1, 4), size=3, mode="bilinear"),
        NotImplementedError,
        "3D input",
    ),
    ("fold-blocks", lambda T: T.nn.Fold(4, 2)(T.zeros(1, 4, 8)), RuntimeError, "sliding blocks"),
    ("fold-kernel", lambda T: T.nn.Fold(4, 2)(T.zeros(1, 5, 9)), RuntimeError, "divisible"),
    ("unfold-5d", lambda T: T.nn.Unfold(2)(T.zeros(1, 1, 1, 4, 4)), RuntimeError, "3D or 4D"),
    (
        "instance-norm-dims",
        lambda T: T.nn.InstanceNorm2d(3)(T.zeros(3, 4)),
        ValueError,
        "expected 3D or 4D input",
    ),
    (
        "instance-norm-features",
        lambda T: T.nn.InstanceNorm2d(3, affine=True)(T.zeros(1, 2, 4, 4)),
        ValueError,
        "num_features",
    ),
    ("lrn-dims", lambda T: T.nn.LocalResponseNorm(2)(T.zeros(3, 4)), ValueError, "3D or higher"),
    ("softmax2d", lambda T: T.nn.Softmax2d()(T.zeros(3, 4)), ValueError, "3D or 4D"),
    (
        "reflect-too-wide",
        lambda T: T.nn.ReflectionPad1d(3)(T.zeros(1, 2, 3)),
        RuntimeError,
        "Padding size should be less than the corresponding input dimension",
    ),
    ("conv3d-channels", lambda T: T.nn.Conv3d(2, 3, 2)(T.zeros(1, 3, 3, 3, 3)), RuntimeError, None),
    ("maxpool3d-dims", lambda T: T.nn.MaxPool3d(2)(T.zeros(2, 4, 4)), RuntimeError, None),
]


@pytest.mark.parametrize("name,fn,cls,fact", ERRORS, ids=[e[0] for e in ERRORS])
def test_errors_match_torch(name: str, fn, cls, fact) -> None:
    """Same exception class as PyTorch, and the message states the same key fact."""
    need_torch()
    with pytest.raises(Exception) as ref:
        fn(torch)
    with pytest.raises(Exception) as ours:
        fn(cr)
    assert isinstance(ref.value, cls), ref.value
    assert isinstance(ours.value, cls), ours.value
    if fact is not None:
        assert fact in str(ref.value) and fact in str(ours.value), (str(ref.value), str(ours.value))


def test_instance_norm_running_stats_and_eval() -> None:
    need_torch()
    rng = np.random.default_rng(0)
    ours = cr.nn.InstanceNorm2d(2, track_running_stats=True).double()
    ref = torch.nn.InstanceNorm2d(2, track_running_stats=True).double()
    for i in range(3):
        x = rng.standard_normal((3, 2, 4, 4)) * (i + 1) + i
        ours(cr.tensor(x))
        ref(torch.from_numpy(x))
    np.testing.assert_allclose(ours.running_mean.numpy(), ref.running_mean.numpy(), rtol=1e-10)
    np.testing.assert_allclose(ours.running_var.numpy(), ref.running_var.numpy(), rtol=1e-10)
    x = rng.standard_normal((2, 2, 3, 3))
    np.testing.assert_allclose(
        ours.eval()(cr.tensor(x)).numpy(), ref.eval()(torch.from_numpy(x)).numpy(), rtol=1e-10
    )


def _mask_structure(fn, shape, p=0.5, **kw):
    """Which entries were dropped, and the kept scale, for PyTorch's or our functional dropout."""
    import warnings

    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        y = fn(np.ones(shape), p, **kw)
    return y, [str(m.message) for m in w]


DROPOUT_SHAPES = [
    ("dropout1d", (6, 40)),
    ("dropout1d", (3, 6, 40)),
    ("dropout2d", (60, 40)),
    ("dropout2d", (3, 6, 40)),
    ("dropout2d", (3, 6, 5, 8)),
    ("dropout2d", (2, 3, 4, 5, 6)),
    ("dropout3d", (6, 40)),
    ("dropout3d", (4, 3, 5, 6)),
    ("dropout3d", (2, 4, 3, 5, 6)),
    ("dropout3d", (1, 2, 3, 2, 3, 4)),
]


def _dropped_axes(y: np.ndarray) -> tuple[int, ...]:
    """The axes over which every drop decision is shared (constant along them)."""
    return tuple(a for a in range(y.ndim) if np.all((y == 0) == (y.take([0], axis=a) == 0)))


@pytest.mark.parametrize("name,shape", DROPOUT_SHAPES, ids=[f"{n}-{len(s)}d" for n, s in DROPOUT_SHAPES])
def test_feature_dropout_mask_shape_and_warnings_match_torch(name: str, shape: tuple) -> None:
    """The mask is shared over the same axes as PyTorch's, with the same warnings and scaling."""
    need_torch()
    cr.manual_seed(0)
    torch.manual_seed(0)
    ours, w_ours = _mask_structure(lambda x, p: getattr(cr.nn.functional, name)(cr.tensor(x), p), shape)
    ref, w_ref = _mask_structure(
        lambda x, p: getattr(torch.nn.functional, name)(torch.from_numpy(x), p), shape
    )
    ours, ref = ours.numpy(), ref.numpy()
    assert w_ours == w_ref
    assert ours.shape == ref.shape
    assert set(np.unique(ours)) <= {0.0, 2.0} and set(np.unique(ref)) <= {0.0, 2.0}
    assert _dropped_axes(ours) == _dropped_axes(ref)


def test_dropout_errors_and_modules_match_torch() -> None:
    need_torch()
    for T in (cr, torch):
        with pytest.raises(RuntimeError, match="Expected 2D or 3D input, but received a 4D input"):
            T.nn.functional.dropout1d(T.ones(1, 2, 3, 4))
        with pytest.raises(RuntimeError, match="Feature dropout requires at least 2 dimensions"):
            T.nn.functional.dropout2d(T.ones(5))
        with pytest.raises(ValueError, match="between 0 and 1, but got 1.5"):
            T.nn.functional.alpha_dropout(T.ones(5), 1.5)
    for make in (
        lambda T: T.nn.Dropout3d(),
        lambda T: T.nn.AlphaDropout(0.2),
        lambda T: T.nn.FeatureAlphaDropout(0.3, inplace=True),
    ):
        assert repr(make(cr)) == repr(make(torch))
    x = cr.randn(3, 4)
    assert cr.nn.functional.alpha_dropout(x, 0.5) is x  # training=False by default, as PyTorch
    assert cr.nn.AlphaDropout(0.5).eval()(x) is x


@pytest.mark.parametrize("name", ["alpha_dropout", "feature_alpha_dropout"])
def test_alpha_dropout_formula_matches_torch(name: str) -> None:
    """Given the mask PyTorch drew (read back from its output), our formula gives its values, and
    ours keeps zero mean / unit variance for standard normal input."""
    need_torch()
    x = np.random.default_rng(0).standard_normal((400, 50, 2))
    ref = getattr(torch.nn.functional, name)(torch.from_numpy(x), 0.2, True).numpy()
    ours = getattr(cr.nn.functional, name)(cr.tensor(x), 0.2, True)
    for y in (ref, ours.numpy()):
        vals, counts = np.unique(np.round(y, 12), return_counts=True)
        floor = vals[np.argmax(counts)]  # every dropped unit takes the same value
        keep = ~np.isclose(y, floor)
        a = (y[keep] - y[keep].mean()).std() / x[keep].std()
        assert abs(keep.mean() - 0.8) < 0.02
        np.testing.assert_allclose(a, 1 / np.sqrt((1.7580993408473766**2 * 0.2 + 1) * 0.8), rtol=1e-6)
        assert abs(y.mean()) < 0.05 and abs(y.std() - 1) < 0.05
    g = cr.tensor(x, requires_grad=True)
    cr.manual_seed(1)
    out = getattr(cr.nn.functional, name)(g, 0.2, True)
    out.sum().backward()
    y = out.detach().numpy()
    vals, counts = np.unique(np.round(y, 12), return_counts=True)
    kept = ~np.isclose(y, vals[np.argmax(counts)])
    np.testing.assert_allclose(g.grad.numpy()[kept], 1 / np.sqrt((1.7580993408473766**2 * 0.2 + 1) * 0.8))
    np.testing.assert_array_equal(g.grad.numpy()[~kept], 0.0)


class Fixed:
    """A fixed integer input (bag offsets)."""

    def __init__(self, *values: int) -> None:
        self.values = values

    def make(self, rng: np.random.Generator) -> np.ndarray:
        return np.asarray(self.values, dtype=np.int64)


BAG_CASES = [
    C("EmbeddingBag-2d-mean", lambda T: T.nn.EmbeddingBag(10, 3), Ints(10, (4, 5))),
    C("EmbeddingBag-2d-sum", lambda T: T.nn.EmbeddingBag(10, 3, mode="sum"), Ints(10, (4, 5))),
    C("EmbeddingBag-2d-max", lambda T: T.nn.EmbeddingBag(10, 3, mode="max"), Ints(10, (4, 5))),
    C("EmbeddingBag-offsets-mean", lambda T: T.nn.EmbeddingBag(8, 4), Ints(8, (9,)), Fixed(0, 2, 2, 6)),
    C(
        "EmbeddingBag-offsets-max",
        lambda T: T.nn.EmbeddingBag(8, 4, mode="max"),
        Ints(8, (9,)),
        Fixed(0, 3, 3, 7),
    ),
    C(
        "EmbeddingBag-last-offset",
        lambda T: T.nn.EmbeddingBag(8, 2, mode="sum", include_last_offset=True),
        Ints(8, (7,)),
        Fixed(0, 3, 7),  # the documented form: the last offset is the input's length
    ),
    C(
        "EmbeddingBag-per-sample",
        lambda T: T.nn.EmbeddingBag(8, 3, mode="sum"),
        Ints(8, (7,)),
        Fixed(0, 4),
        (7,),
        call=lambda m, x, o, w: m(x, o, per_sample_weights=w),
    ),
    C(
        "EmbeddingBag-padding",
        lambda T: T.nn.EmbeddingBag(6, 3, padding_idx=1),
        Fixed(1, 2, 1, 3, 1, 1),
        Fixed(0, 2, 4),
    ),
    C(
        "EmbeddingBag-padding-max",
        lambda T: T.nn.EmbeddingBag(6, 3, mode="max", padding_idx=0),
        Fixed(0, 2, 1, 0, 5, 0),
        Fixed(0, 3, 5),
    ),
]


@pytest.mark.parametrize("case", BAG_CASES, ids=[c.id for c in BAG_CASES])
def test_embedding_bag_matches_torch(case: Case) -> None:
    compare(case, "float64")


def test_embedding_bag_repr_and_errors_match_torch() -> None:
    need_torch()
    for make in (
        lambda T: T.nn.EmbeddingBag(10, 3),
        lambda T: T.nn.EmbeddingBag(10, 3, max_norm=1.0, mode="max", padding_idx=2),
    ):
        assert repr(make(cr)) == repr(make(torch))
    for T in (cr, torch):
        bag = T.nn.EmbeddingBag(5, 2)
        with pytest.raises(ValueError, match="offsets has to be None"):
            bag(T.tensor([[1, 2]]), T.tensor([0]))
        with pytest.raises(NotImplementedError, match="only supported for mode='sum'"):
            bag(T.tensor([1, 2]), T.tensor([0]), per_sample_weights=T.ones(2))
        with pytest.raises(ValueError, match="1D or 2D"):
            bag(T.zeros(1, 1, 1, dtype=T.int64))
