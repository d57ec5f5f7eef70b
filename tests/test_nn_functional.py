"""``chainrule.nn.functional`` forms that have no module of their own (or extra options), against
``torch.nn.functional``: values and gradients in float64, plus in-place and error behaviour."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from nn_helpers import Ints, flat, make, need_torch, np_of
from reference import torch

import chainrule as cr


def F(T):
    return T.nn.functional


FUNCS = [
    ("pad-reflect", lambda T, x: F(T).pad(x, (2, 1, 1, 2), mode="reflect"), [(2, 3, 4, 5)]),
    ("pad-replicate", lambda T, x: F(T).pad(x, (3, 1), mode="replicate"), [(2, 3, 4)]),
    ("pad-circular", lambda T, x: F(T).pad(x, (1, 2, 2, 0), mode="circular"), [(1, 2, 3, 4)]),
    ("pad-constant", lambda T, x: F(T).pad(x, (1, 1, 0, 2), value=0.5), [(2, 3, 4)]),
    ("normalize", lambda T, x: F(T).normalize(x), [(3, 4)]),
    ("normalize-p1", lambda T, x: F(T).normalize(x, p=1.0, dim=0), [(3, 4)]),
    ("cosine_similarity", lambda T, x, y: F(T).cosine_similarity(x, y, dim=1), [(3, 4), (3, 4)]),
    ("cosine_similarity-broadcast", lambda T, x, y: F(T).cosine_similarity(x, y, dim=-1), [(3, 4), (4,)]),
    ("pairwise_distance", lambda T, x, y: F(T).pairwise_distance(x, y), [(3, 4), (3, 4)]),
    ("pairwise_distance-p1", lambda T, x, y: F(T).pairwise_distance(x, y, p=1.0, keepdim=True),
     [(3, 4), (3, 4)]),
    ("embedding", lambda T, i, w: F(T).embedding(i, w, padding_idx=1), [Ints(5, (3, 4)), (5, 2)]),
    ("linear", lambda T, x, w, b: F(T).linear(x, w, b), [(2, 3, 4), (5, 4), (5,)]),
    ("bilinear", lambda T, x, y, w, b: F(T).bilinear(x, y, w, b), [(2, 3), (2, 4), (5, 3, 4), (5,)]),
    ("conv_transpose1d", lambda T, x, w: F(T).conv_transpose1d(x, w, stride=2, padding=1),
     [(2, 3, 5), (3, 2, 3)]),
    ("adaptive_avg_pool2d", lambda T, x: F(T).adaptive_avg_pool2d(x, (4, 3)), [(2, 2, 9, 7)]),
    ("adaptive_max_pool2d", lambda T, x: F(T).adaptive_max_pool2d(x, (2, 4)), [(1, 2, 5, 9)]),
    ("max_pool1d", lambda T, x: F(T).max_pool1d(x, 2, return_indices=True), [(2, 2, 6)]),
    ("batch_norm-train", lambda T, x, w, b: F(T).batch_norm(x, None, None, w, b, training=True),
     [(5, 3, 2), (3,), (3,)]),
    ("layer_norm", lambda T, x, w, b: F(T).layer_norm(x, (3, 2), w, b, eps=1e-3),
     [(4, 3, 2), (3, 2), (3, 2)]),
    ("group_norm", lambda T, x: F(T).group_norm(x, 3), [(2, 6, 2, 2)]),
    ("instance_norm", lambda T, x: F(T).instance_norm(x), [(2, 3, 4, 4)]),
    ("prelu", lambda T, x, w: F(T).prelu(x, w), [(2, 3, 4), (3,)]),
    ("glu", lambda T, x: F(T).glu(x, 1), [(2, 6, 3)]),
    ("softmax-dtype", lambda T, x: F(T).softmax(x, 1, dtype=T.float64), [(3, 4)]),
    ("log_softmax", lambda T, x: F(T).log_softmax(x, 0), [(3, 4)]),
    ("softmin", lambda T, x: F(T).softmin(x, 1), [(3, 4)]),
    ("relu6", lambda T, x: F(T).relu6(x * 4), [(3, 4)]),
    ("hardsigmoid", lambda T, x: F(T).hardsigmoid(x * 4), [(3, 4)]),
    ("celu", lambda T, x: F(T).celu(x, 0.5), [(3, 4)]),
    ("threshold", lambda T, x: F(T).threshold(x, 0.2, 5.0), [(3, 4)]),
    ("dropout-eval", lambda T, x: F(T).dropout(x, 0.5, training=False), [(3, 4)]),
    ("relu-inplace", lambda T, x: F(T).relu(x * 1, inplace=True), [(3, 4)]),
    ("leaky_relu-inplace", lambda T, x: F(T).leaky_relu(x * 1, 0.3, inplace=True), [(3, 4)]),
    ("hardtanh-inplace", lambda T, x: F(T).hardtanh(x * 1, -0.2, 0.4, inplace=True), [(3, 4)]),
    ("silu-inplace", lambda T, x: F(T).silu(x + 0, inplace=True), [(3, 4)]),
]


@pytest.mark.parametrize("name,fn,specs", FUNCS, ids=[f[0] for f in FUNCS])
def test_functional_matches_torch(name: str, fn, specs: list) -> None:
    need_torch()
    rng = np.random.default_rng(0)
    arrays = [s.make(rng) if hasattr(s, "make") else rng.standard_normal(s) for s in specs]
    res = {}
    for T in (cr, torch):
        xs = [make(T, a, True) for a in arrays]
        outs = [o for o in flat(fn(T, *xs)) if o is not None]
        diff = [o for o in outs if o.requires_grad]
        if diff:
            g = np.random.default_rng(1)
            total = sum((o * make(T, g.standard_normal(tuple(o.shape)), False)).sum() for o in diff)
            total.backward()
        res[T] = ([np_of(o) for o in outs], [None if x.grad is None else np_of(x.grad) for x in xs
                                             if x.requires_grad])
    assert len(res[cr][0]) == len(res[torch][0]) and len(res[cr][1]) == len(res[torch][1]), name
    for a, b in zip(*[res[T][0] for T in (cr, torch)]):
        assert a.shape == b.shape and a.dtype == b.dtype, (name, a.shape, b.shape, a.dtype, b.dtype)
        np.testing.assert_allclose(a, b, rtol=1e-7, atol=1e-10, err_msg=name)
    for a, b in zip(*[res[T][1] for T in (cr, torch)]):
        assert (a is None) == (b is None), name
        if b is not None:
            np.testing.assert_allclose(a, b, rtol=1e-7, atol=1e-10, err_msg=f"{name}: gradient")


def test_one_hot_matches_torch() -> None:
    need_torch()
    idx = np.array([[0, 3], [2, 1]])
    for n in (-1, 5):
        ours = cr.nn.functional.one_hot(cr.tensor(idx), n)
        ref = torch.nn.functional.one_hot(torch.from_numpy(idx), n)
        assert ours.dtype == cr.int64
        np.testing.assert_array_equal(np_of(ours), ref.numpy())
    with pytest.raises(RuntimeError, match="smaller than num_classes"):
        cr.nn.functional.one_hot(cr.tensor([4]), 3)
    with pytest.raises(RuntimeError, match="LongTensor"):
        cr.nn.functional.one_hot(cr.tensor([1.0]))


def test_inplace_activation_keeps_identity() -> None:
    x = cr.randn(3, 4)
    assert cr.nn.functional.relu(x, inplace=True) is x and (np_of(x) >= 0).all()
    y = cr.randn(3, 4)
    assert cr.nn.ReLU(inplace=True)(y) is y
    leaf = cr.randn(2, requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf"):
        cr.nn.functional.relu(leaf, inplace=True)


def test_softmax_without_dim_warns_like_torch() -> None:
    with pytest.warns(UserWarning, match="Implicit dimension choice for softmax"):
        out = cr.nn.functional.softmax(cr.randn(2, 3))
    np.testing.assert_allclose(np_of(out).sum(1), 1, rtol=1e-6)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        cr.nn.Softmax(dim=1)(cr.randn(2, 3))


def test_functional_errors() -> None:
    Fc = cr.nn.functional
    with pytest.raises(ValueError, match="reflect padding"):
        Fc.pad(cr.randn(1, 2, 3), (3, 0), mode="reflect")
    with pytest.raises(ValueError, match="mode must be"):
        Fc.pad(cr.randn(1, 2, 3), (1, 0), mode="wrap")
    with pytest.raises(RuntimeError, match=r"normalized_shape=\[4\], expected input with shape \[\*, 4\]"):
        Fc.layer_norm(cr.randn(2, 3), (4,))
    with pytest.raises(RuntimeError, match="divisible by num_groups"):
        Fc.group_norm(cr.randn(2, 3, 4), 2)
    with pytest.raises(RuntimeError, match="running_mean and running_var must be given"):
        Fc.batch_norm(cr.randn(2, 3), None, None)
    with pytest.raises(ValueError, match="dropout probability"):
        cr.nn.Dropout(1.5)


def test_inplace_dropout_writes_into_its_input() -> None:
    cr.manual_seed(0)
    x = cr.ones(20, 30)
    assert cr.nn.Dropout(0.5, inplace=True)(x) is x
    assert set(np.unique(np_of(x))) == {0.0, 2.0}
