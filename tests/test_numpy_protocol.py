"""NumPy spellings of chainrule ops: same values, same gradients, graph recorded; clear refusals."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr

# (name, NumPy spelling, chainrule op, input shapes, positive inputs?)
CASES = [
    ("exp", lambda a: np.exp(a), lambda a: cr.exp(a), [(3, 4)], False),
    ("log", lambda a: np.log(a), lambda a: cr.log(a), [(3, 4)], True),
    ("sqrt", lambda a: np.sqrt(a), lambda a: cr.sqrt(a), [(5,)], True),
    ("tanh", lambda a: np.tanh(a), lambda a: cr.tanh(a), [(2, 3)], False),
    ("sin", lambda a: np.sin(a), lambda a: cr.sin(a), [(4,)], False),
    ("abs", lambda a: np.abs(a), lambda a: cr.abs(a), [(4,)], False),
    ("square", lambda a: np.square(a), lambda a: cr.square(a), [(4,)], False),
    ("negative", lambda a: np.negative(a), lambda a: -a, [(4,)], False),
    ("add", lambda a, b: np.add(a, b), lambda a, b: a + b, [(3, 4), (4,)], False),
    ("subtract", lambda a, b: np.subtract(a, b), lambda a, b: a - b, [(3, 4), (3, 1)], False),
    ("multiply", lambda a, b: np.multiply(a, b), lambda a, b: a * b, [(3, 4), (3, 4)], False),
    ("divide", lambda a, b: np.divide(a, b), lambda a, b: a / b, [(3, 4), (4,)], True),
    ("power", lambda a, b: np.power(a, b), lambda a, b: a**b, [(3,), (3,)], True),
    ("maximum", lambda a, b: np.maximum(a, b), lambda a, b: cr.maximum(a, b), [(5,), (5,)], False),
    ("arctan2", lambda a, b: np.arctan2(a, b), lambda a, b: cr.atan2(a, b), [(5,), (5,)], False),
    ("matmul", lambda a, b: np.matmul(a, b), lambda a, b: a @ b, [(3, 4), (4, 2)], False),
    (
        "ndarray @",
        lambda a, b: a.detach().numpy() @ b,
        lambda a, b: cr.from_numpy(a.detach().numpy()) @ b,
        [(3, 4), (4, 2)],
        False,
    ),
    ("dot", lambda a, b: np.dot(a, b), lambda a, b: a @ b, [(3, 4), (4,)], False),
    (
        "einsum",
        lambda a, b: np.einsum("ij,jk->ik", a, b),
        lambda a, b: cr.einsum("ij,jk->ik", a, b),
        [(2, 3), (3, 2)],
        False,
    ),
    ("sum", lambda a: np.sum(a), lambda a: a.sum(), [(3, 4)], False),
    ("sum axis", lambda a: np.sum(a, axis=0), lambda a: a.sum(0), [(3, 4)], False),
    (
        "sum axes keepdims",
        lambda a: np.sum(a, axis=(0, 2), keepdims=True),
        lambda a: a.sum((0, 2), keepdim=True),
        [(2, 3, 4)],
        False,
    ),
    ("add.reduce", lambda a: np.add.reduce(a, axis=1), lambda a: a.sum(1), [(3, 4)], False),
    ("mean", lambda a: np.mean(a), lambda a: a.mean(), [(3, 4)], False),
    (
        "mean axis",
        lambda a: np.mean(a, axis=1, keepdims=True),
        lambda a: a.mean(1, keepdim=True),
        [(3, 4)],
        False,
    ),
    ("std ddof", lambda a: np.std(a, axis=0, ddof=1), lambda a: a.std(0), [(5, 3)], False),
    ("var", lambda a: np.var(a), lambda a: a.var(correction=0), [(5, 3)], False),
    ("prod axis", lambda a: np.prod(a, axis=1), lambda a: a.prod(1), [(3, 4)], False),
    ("max", lambda a: np.max(a, axis=0), lambda a: cr.amax(a, 0), [(3, 4)], False),
    ("min", lambda a: np.min(a), lambda a: a.min(), [(3, 4)], False),
    ("cumsum", lambda a: np.cumsum(a, axis=1), lambda a: a.cumsum(1), [(3, 4)], False),
    (
        "concatenate",
        lambda a, b: np.concatenate([a, b]),
        lambda a, b: cr.cat([a, b]),
        [(2, 3), (4, 3)],
        False,
    ),
    (
        "concatenate axis",
        lambda a, b: np.concatenate((a, b), axis=1),
        lambda a, b: cr.cat([a, b], 1),
        [(2, 3), (2, 1)],
        False,
    ),
    (
        "stack",
        lambda a, b: np.stack([a, b], axis=1),
        lambda a, b: cr.stack([a, b], 1),
        [(2, 3), (2, 3)],
        False,
    ),
    (
        "where",
        lambda a, b: np.where(a > 0, a, b),
        lambda a, b: cr.where(a > 0, a, b),
        [(3, 4), (3, 4)],
        False,
    ),
    ("transpose", lambda a: np.transpose(a), lambda a: a.permute(2, 1, 0), [(2, 3, 4)], False),
    (
        "transpose axes",
        lambda a: np.transpose(a, (1, 0, 2)),
        lambda a: a.permute(1, 0, 2),
        [(2, 3, 4)],
        False,
    ),
    ("reshape", lambda a: np.reshape(a, (4, 3)), lambda a: a.reshape(4, 3), [(3, 4)], False),
    ("ravel", lambda a: np.ravel(a), lambda a: a.reshape(-1), [(3, 4)], False),
    ("squeeze", lambda a: np.squeeze(a, axis=1), lambda a: a.squeeze(1), [(3, 1, 4)], False),
    ("expand_dims", lambda a: np.expand_dims(a, 0), lambda a: a.unsqueeze(0), [(3,)], False),
    ("swapaxes", lambda a: np.swapaxes(a, 0, 1), lambda a: a.transpose(0, 1), [(3, 4)], False),
    ("flip", lambda a: np.flip(a, axis=0), lambda a: a.flip(0), [(3, 4)], False),
    ("clip", lambda a: np.clip(a, -0.5, 0.5), lambda a: a.clamp(-0.5, 0.5), [(3, 4)], False),
    ("outer", lambda a, b: np.outer(a, b), lambda a, b: cr.outer(a, b), [(3,), (4,)], False),
    ("trace", lambda a: np.trace(a), lambda a: cr.trace(a), [(3, 3)], False),
    (
        "tensordot",
        lambda a, b: np.tensordot(a, b, axes=1),
        lambda a, b: cr.tensordot(a, b, dims=1),
        [(2, 3), (3, 2)],
        False,
    ),
    ("linalg.norm", lambda a: np.linalg.norm(a), lambda a: cr.linalg.norm(a), [(3, 4)], False),
    ("linalg.inv", lambda a: np.linalg.inv(a), lambda a: cr.linalg.inv(a), [(3, 3)], False),
    ("linalg.det", lambda a: np.linalg.det(a), lambda a: cr.linalg.det(a), [(3, 3)], False),
]


def _inputs(shapes, positive, seed):
    rng = np.random.default_rng(seed)
    out = []
    for s in shapes:
        v = rng.standard_normal(s)
        if positive:
            v = np.abs(v) + 0.5
        if len(s) == 2 and s[0] == s[1]:
            v = v + 3 * np.eye(s[0])  # well conditioned for inv/det
        out.append(cr.tensor(v, dtype=cr.float64, requires_grad=True))
    return out


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_numpy_spelling_matches_the_chainrule_op_in_value_and_gradient(case):
    name, spelled, op, shapes, positive = case
    xs = _inputs(shapes, positive, 0)
    got = spelled(*xs)
    assert isinstance(got, cr.Tensor) and got.grad_fn is not None, f"{name} did not record the graph"
    ys = _inputs(shapes, positive, 0)
    want = op(*ys)
    assert got.dtype == want.dtype and got.shape == want.shape
    np.testing.assert_allclose(got.detach().numpy(), want.detach().numpy(), rtol=1e-12, atol=1e-12)
    g = cr.tensor(np.random.default_rng(1).standard_normal(tuple(want.shape)), dtype=cr.float64)
    (got * g).sum().backward()
    (want * g).sum().backward()
    for x, y in zip(xs, ys):
        if y.grad is None:  # an input the op does not differentiate (the ndarray @ case)
            continue
        np.testing.assert_allclose(x.grad.numpy(), y.grad.numpy(), rtol=1e-12, atol=1e-12)


def test_second_order_through_numpy_spellings():
    x = cr.tensor([0.3, -1.2], dtype=cr.float64, requires_grad=True)
    (g,) = cr.autograd.grad(np.sum(np.exp(x) * np.sin(x)), x, create_graph=True)
    (gg,) = cr.autograd.grad(g.sum(), x)
    xv = x.detach().numpy()
    np.testing.assert_allclose(gg.numpy(), 2 * np.exp(xv) * np.cos(xv), rtol=1e-12)


def test_operators_with_ndarrays_on_either_side_keep_the_graph():
    x = cr.ones(3, requires_grad=True)
    for y in (np.arange(3.0) + x, x * np.float64(2.0), np.arange(3.0) * x, np.float32(2) - x):
        assert isinstance(y, cr.Tensor) and y.grad_fn is not None


def test_functions_without_an_op_refuse_grad_tensors_and_serve_plain_ones():
    x = cr.randn(6, requires_grad=True)
    for call, name in (
        (lambda t: np.histogram(t), "histogram"),
        (lambda t: np.percentile(t, 50), "percentile"),
        (lambda t: np.spacing(t), "spacing"),
        (lambda t: np.add.accumulate(t), "add.accumulate"),
    ):
        with pytest.raises(TypeError, match=rf"numpy\.{name}\(\) has no chainrule op.*detach\(\)\.numpy\(\)"):
            call(x)
    plain = x.detach()
    counts, _ = np.histogram(plain)  # what plotting and ML libraries call: unchanged
    assert isinstance(counts, np.ndarray) and counts.sum() == 6
    assert np.percentile(plain, 50) == np.percentile(plain.numpy(), 50)
    assert isinstance(np.atleast_2d(plain), np.ndarray)


def test_asarray_and_out():
    t = cr.arange(4.0)
    a = np.asarray(t)
    assert isinstance(a, np.ndarray) and np.shares_memory(a, t.numpy())
    with pytest.raises(RuntimeError, match=r"detach\(\)\.numpy\(\)"):
        np.asarray(cr.ones(2, requires_grad=True))
    out = cr.zeros(4)
    assert np.exp(t, out=out) is out
    np.testing.assert_allclose(out.numpy(), np.exp(np.arange(4.0, dtype=np.float32)))
    assert isinstance(np.exp(t), cr.Tensor) and isinstance(np.mean(t), cr.Tensor)
