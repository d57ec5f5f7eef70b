"""``nn.init`` and default layer initialisation: the same distributions as PyTorch's (compared on
large samples drawn by both libraries), in place, without a graph, repeatable with a seed."""

from __future__ import annotations

import math

import numpy as np
import pytest
from nn_helpers import need_torch, np_of
from reference import torch

import chainrule as cr
from chainrule import nn
from chainrule.nn import init

SHAPE = (300, 200, 3, 3)  # 540,000 draws: sample max/std are within ~0.5% of the population's


def draw(T, fn_name: str, shape=SHAPE, **kw) -> np.ndarray:
    if T is torch:
        torch.manual_seed(0)
        t = torch.empty(shape)
    else:
        cr.manual_seed(0)
        t = cr.empty(shape)
    out = getattr(T.nn.init, fn_name)(t, **kw)
    assert out is t
    return np_of(t).astype(np.float64)


INITS = [
    ("uniform_", dict(a=-0.3, b=0.7)),
    ("normal_", dict(mean=0.5, std=2.0)),
    ("trunc_normal_", dict(mean=0.0, std=1.0, a=-1.5, b=0.5)),
    ("xavier_uniform_", dict(gain=2.0)),
    ("xavier_normal_", dict()),
    ("kaiming_uniform_", dict()),
    ("kaiming_uniform_", dict(a=math.sqrt(5))),
    ("kaiming_uniform_", dict(mode="fan_out", nonlinearity="relu")),
    ("kaiming_normal_", dict(a=0.1, nonlinearity="leaky_relu")),
    ("kaiming_normal_", dict(mode="fan_out", nonlinearity="tanh")),
]


@pytest.mark.parametrize("name,kw", INITS, ids=[f"{n}-{i}" for i, (n, _) in enumerate(INITS)])
def test_init_distribution_matches_torch(name: str, kw: dict) -> None:
    need_torch()
    ours, ref = draw(cr, name, **kw), draw(torch, name, **kw)
    assert not np.array_equal(ours, ref)  # different generators, same distribution
    np.testing.assert_allclose(ours.mean(), ref.mean(), atol=0.01 * ref.std())
    np.testing.assert_allclose(ours.std(), ref.std(), rtol=0.01)
    np.testing.assert_allclose([ours.min(), ours.max()], [ref.min(), ref.max()],
                               rtol=0.01 if "uniform" in name or "trunc" in name else 0.15)
    if "uniform" in name or "trunc" in name:  # bounded: ours never leaves PyTorch's interval
        lo, hi = ref.min(), ref.max()
        width = hi - lo
        assert ours.min() >= lo - 1e-3 * width and ours.max() <= hi + 1e-3 * width


def test_calculate_gain_and_fans_match_torch() -> None:
    need_torch()
    for args in [("linear",), ("conv2d",), ("sigmoid",), ("tanh",), ("relu",), ("leaky_relu",),
                 ("leaky_relu", 0.2), ("selu",), ("conv_transpose2d",)]:
        assert init.calculate_gain(*args) == pytest.approx(torch.nn.init.calculate_gain(*args))
    for shape in [(3, 4), (8, 3, 5, 5), (2, 6, 3)]:
        assert init._calculate_fan_in_and_fan_out(cr.empty(shape)) == \
            torch.nn.init._calculate_fan_in_and_fan_out(torch.empty(shape))
    with pytest.raises(ValueError, match="fewer than 2 dimensions"):
        init.xavier_uniform_(cr.empty(5))
    with pytest.raises(ValueError, match="Unsupported nonlinearity"):
        init.calculate_gain("swish")
    with pytest.raises(ValueError, match="Mode fan_avg not supported"):
        init.kaiming_normal_(cr.empty(3, 3), mode="fan_avg")


def test_deterministic_inits_equal_torch() -> None:
    need_torch()
    for name, shape, kw in [("eye_", (3, 5), {}), ("dirac_", (4, 2, 3, 3), {}),
                            ("dirac_", (6, 2, 3), {"groups": 2}), ("constant_", (2, 3), {"val": 0.3}),
                            ("ones_", (2,), {}), ("zeros_", (2, 2), {})]:
        np.testing.assert_array_equal(draw(cr, name, shape, **kw), draw(torch, name, shape, **kw))


def test_orthogonal() -> None:
    for shape, gain in [((4, 7), 1.0), ((7, 4), 2.0), ((3, 2, 2), 1.0)]:
        w = np_of(init.orthogonal_(cr.empty(shape), gain=gain)).reshape(shape[0], -1).astype(np.float64)
        gram = w @ w.T if w.shape[0] <= w.shape[1] else w.T @ w
        np.testing.assert_allclose(gram, gain**2 * np.eye(gram.shape[0]), atol=1e-5)


def test_init_is_in_place_without_graph_and_seeded() -> None:
    p = nn.Parameter(cr.zeros(50, 40))
    v = p._version
    assert init.kaiming_uniform_(p) is p
    assert p.grad_fn is None and p.requires_grad and p._version > v
    cr.manual_seed(7)
    a = np_of(init.normal_(cr.empty(10))).copy()
    cr.manual_seed(7)
    np.testing.assert_array_equal(np_of(init.normal_(cr.empty(10))), a)
    g = cr.Generator().manual_seed(3)
    b = np_of(init.uniform_(cr.empty(10), generator=g)).copy()
    again = init.uniform_(cr.empty(10), generator=cr.Generator().manual_seed(3))
    np.testing.assert_array_equal(np_of(again), b)
    with pytest.warns(UserWarning, match="zero-element"):
        init.kaiming_uniform_(cr.empty(0, 3))
    t = init.trunc_normal_(cr.empty(1000), a=-0.5, b=0.5)
    assert np_of(t).min() >= -0.5 and np_of(t).max() <= 0.5


LAYERS = [
    lambda T: T.nn.Linear(400, 300),
    lambda T: T.nn.Conv2d(30, 40, 5, groups=2),
    lambda T: T.nn.ConvTranspose2d(40, 30, 4),
    lambda T: T.nn.Conv1d(64, 32, 7),
    lambda T: T.nn.Bilinear(50, 60, 40),
    lambda T: T.nn.Embedding(500, 64),
    lambda T: T.nn.LSTM(30, 200),
    lambda T: T.nn.GRUCell(30, 100),
]


@pytest.mark.parametrize("i", range(len(LAYERS)))
def test_default_layer_initialisation_matches_torch(i: int) -> None:
    """Each parameter's empirical spread and quantiles equal PyTorch's for the same layer."""
    need_torch()
    cr.manual_seed(0)
    torch.manual_seed(0)
    ours = dict(LAYERS[i](cr).named_parameters())
    ref = dict(LAYERS[i](torch).named_parameters())
    assert ours.keys() == ref.keys()
    for name, r in ref.items():
        o, r = np_of(ours[name]).astype(np.float64), np_of(r).astype(np.float64)
        assert o.shape == r.shape and o.dtype == np.float64
        rtol = max(0.03, 5 / math.sqrt(r.size))  # ~5 standard errors of the sample statistics
        np.testing.assert_allclose(o.std(), r.std(), rtol=rtol, err_msg=name)
        np.testing.assert_allclose(np.quantile(np.abs(o), [0.5, 0.99]), np.quantile(np.abs(r), [0.5, 0.99]),
                                   rtol=rtol, err_msg=name)


def test_norm_layers_start_at_identity() -> None:
    bn, ln, gn = nn.BatchNorm2d(3), nn.LayerNorm(4), nn.GroupNorm(1, 3)
    for m in (bn, ln, gn):
        assert np.all(np_of(m.weight) == 1) and np.all(np_of(m.bias) == 0)
    assert np.all(np_of(bn.running_var) == 1) and np.all(np_of(bn.running_mean) == 0)
    assert nn.PReLU().weight.item() == pytest.approx(0.25)


def test_linear_and_conv_bounds_follow_pytorchs_formula() -> None:
    """Weights and biases lie in U(-1/sqrt(fan_in), 1/sqrt(fan_in)) (kaiming_uniform with a=sqrt(5))."""
    need_torch()
    for make in (lambda T: T.nn.Linear(40, 30), lambda T: T.nn.Conv2d(6, 8, 3, groups=2),
                 lambda T: T.nn.ConvTranspose2d(6, 4, 3)):
        fan_in, _ = torch.nn.init._calculate_fan_in_and_fan_out(make(torch).weight)
        bound = 1 / math.sqrt(fan_in)
        layer = make(cr)
        for p in (layer.weight, layer.bias):
            a = np.abs(np_of(p))
            assert a.max() <= bound and a.max() > 0.5 * bound
