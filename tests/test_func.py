"""``chainrule.func``: the acceptance tests of issue 4 and the API (pytrees, argnums, aux, nesting).

Closed forms: the Hessian of xᵀAx is A + Aᵀ; the logistic-regression Hessian is
Xᵀ diag(p(1-p)) X / n; Newton's method converges on a strictly convex function.
Cross-checks: jacrev = jacfwd = finite differences on a 3-layer MLP; per-sample gradients
by ``vmap(grad(loss))`` = a loop of single-sample gradients; vmap of matmul, conv2d and
softmax runs batching rules (no per-example loop).
"""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
import chainrule.nn.functional as F
from chainrule import nn
from chainrule.func import (
    fallback_counts,
    functional_call,
    grad,
    grad_and_value,
    hessian,
    hvp,
    jacfwd,
    jacobian,
    jacrev,
    jvp,
    linearize,
    value_and_grad,
    vjp,
    vmap,
)

RNG = np.random.default_rng(0)


def t64(a: object) -> cr.Tensor:
    return cr.tensor(np.asarray(a, dtype=np.float64))


def randn(*shape: int) -> cr.Tensor:
    return t64(RNG.standard_normal(shape))


def numerical_jacobian(f, x: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    cols = []
    for k in range(x.size):
        e = np.zeros(x.size)
        e[k] = eps
        plus = f(t64(x + e.reshape(x.shape))).numpy()
        minus = f(t64(x - e.reshape(x.shape))).numpy()
        cols.append(((plus - minus) / (2 * eps)).reshape(-1))
    out_shape = f(t64(x)).shape
    return np.stack(cols, -1).reshape(tuple(out_shape) + x.shape)


# ------------------------------------------------------------------ acceptance
def test_hessian_of_quadratic_form_is_a_plus_a_transpose() -> None:
    a = randn(4, 4)
    h = hessian(lambda x: x @ a @ x)(randn(4))
    np.testing.assert_allclose(h.numpy(), (a + a.T).numpy(), rtol=1e-12)
    assert not h.requires_grad


def _logistic(n: int = 30, d: int = 4):
    X = randn(n, d)
    y = t64((RNG.random(n) < 0.5).astype(float))

    def loss(w: cr.Tensor) -> cr.Tensor:
        z = X @ w
        return (F.softplus(z) - y * z).mean()  # = -mean(y log p + (1-y) log(1-p)), p = sigmoid(z)

    return X, y, loss


def test_logistic_regression_hessian_matches_closed_form() -> None:
    X, _, loss = _logistic()
    w = randn(4)
    p = cr.sigmoid(X @ w).numpy()
    Xn = X.numpy()
    want = Xn.T @ np.diag(p * (1 - p)) @ Xn / Xn.shape[0]
    np.testing.assert_allclose(hessian(loss)(w).numpy(), want, rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(jacfwd(jacfwd(loss))(w).numpy(), want, rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(jacrev(jacrev(loss))(w).numpy(), want, rtol=1e-10, atol=1e-14)


def test_newton_converges_in_at_most_ten_steps() -> None:
    X, _, logistic = _logistic()

    def f(w: cr.Tensor) -> cr.Tensor:  # strictly convex: logistic loss + L2
        return logistic(w) + 0.05 * (w * w).sum() + (0.1 * w).exp().sum()

    w = t64(np.full(4, 3.0))
    for step in range(1, 11):  # noqa: B007 - read after the loop
        g = grad(f)(w)
        if np.linalg.norm(g.numpy()) < 1e-10:
            break
        w = w - t64(np.linalg.solve(hessian(f)(w).numpy(), g.numpy()))
    assert np.linalg.norm(grad(f)(w).numpy()) < 1e-10, step
    assert step <= 10


def _mlp_params(sizes=(3, 5, 4, 2)) -> dict:
    return {f"w{i}": randn(o, k) * 0.7 for i, (k, o) in enumerate(zip(sizes[:-1], sizes[1:]))} | \
        {f"b{i}": randn(o) * 0.1 for i, o in enumerate(sizes[1:])}


def _mlp(p: dict, x: cr.Tensor) -> cr.Tensor:
    h = cr.tanh(p["w0"] @ x + p["b0"])
    h = cr.tanh(p["w1"] @ h + p["b1"])
    return p["w2"] @ h + p["b2"]


def test_jacrev_jacfwd_and_finite_differences_agree_on_a_3_layer_mlp() -> None:
    p, x = _mlp_params(), randn(3)
    jr = jacrev(_mlp, argnums=1)(p, x)
    jf = jacfwd(_mlp, argnums=1)(p, x)
    fd = numerical_jacobian(lambda v: _mlp(p, v), x.numpy())
    assert jr.shape == (2, 3)
    np.testing.assert_allclose(jr.numpy(), jf.numpy(), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(jr.numpy(), fd, rtol=1e-6, atol=1e-9)
    jr_p = jacrev(_mlp)(p, x)  # with respect to the parameter dict: a dict of (2, *shape) blocks
    jf_p = jacfwd(_mlp)(p, x)
    for k, v in p.items():
        assert jr_p[k].shape == (2,) + tuple(v.shape)
        np.testing.assert_allclose(jr_p[k].numpy(), jf_p[k].numpy(), rtol=1e-12, atol=1e-14)
        fd = numerical_jacobian(lambda t, k=k: _mlp({**p, k: t}, x), v.numpy())
        np.testing.assert_allclose(jr_p[k].numpy(), fd, rtol=1e-6, atol=1e-9)


class Net(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc1 = nn.Linear(6, 8)
        self.fc2 = nn.Linear(8, 3)

    def forward(self, x: cr.Tensor) -> cr.Tensor:
        return self.fc2(cr.relu(self.fc1(x)))


def test_per_sample_gradients_equal_a_loop_of_single_sample_gradients() -> None:
    cr.manual_seed(0)
    model = Net().double()
    params = {k: v.detach() for k, v in model.named_parameters()}
    xs, ys = randn(7, 6), cr.tensor(RNG.integers(0, 3, 7))

    def loss(p: dict, x: cr.Tensor, y: cr.Tensor) -> cr.Tensor:
        out = functional_call(model, p, (x.unsqueeze(0),))
        return F.cross_entropy(out, y.unsqueeze(0))

    before = sum(fallback_counts.values())
    per = vmap(grad(loss), in_dims=(None, 0, 0))(params, xs, ys)
    assert sum(fallback_counts.values()) == before
    for i in range(7):
        model.zero_grad()
        F.cross_entropy(model(xs[i:i + 1]), ys[i:i + 1]).backward()
        for k, v in model.named_parameters():
            assert per[k].shape == (7,) + tuple(v.shape)
            np.testing.assert_allclose(per[k][i].numpy(), v.grad.numpy(), rtol=1e-12, atol=1e-14)
    assert all(not g.requires_grad for g in per.values())


@pytest.mark.parametrize("which", ["matmul", "conv2d", "softmax"])
def test_vmap_of_matmul_conv2d_softmax_uses_batching_rules(which: str) -> None:
    w2, wc = randn(5, 4), randn(3, 2, 3, 3)
    fns = {
        "matmul": (lambda x: x @ w2.T, randn(6, 4)),
        "conv2d": (lambda x: F.conv2d(x, wc, padding=1), randn(6, 1, 2, 5, 5)),
        "softmax": (lambda x: cr.softmax(x, -1), randn(6, 3, 4)),
    }
    f, xs = fns[which]
    before = sum(fallback_counts.values())
    out = vmap(f)(xs)
    grads = vmap(grad(lambda x: f(x).pow(2).sum()))(xs)
    assert sum(fallback_counts.values()) == before, "a Python loop over the batch ran"
    want = cr.stack([f(xs[i]) for i in range(6)])
    np.testing.assert_allclose(out.numpy(), want.numpy(), rtol=1e-12)
    want_g = cr.stack([grad(lambda x: f(x).pow(2).sum())(xs[i]) for i in range(6)])
    np.testing.assert_allclose(grads.numpy(), want_g.numpy(), rtol=1e-11)


def test_the_loop_fallback_is_counted_and_warned() -> None:
    from chainrule.ops._core import PRIMITIVES

    op = PRIMITIVES["Exp"]
    rule = op.extra.pop("batch")
    try:
        before = fallback_counts["Exp"]
        with pytest.warns(RuntimeWarning, match="no batching rule"):
            import chainrule.func._vmap as vm

            vm._warned.discard("Exp")
            out = vmap(cr.exp)(randn(3, 2))
        assert fallback_counts["Exp"] == before + 1
        assert out.shape == (3, 2)
    finally:
        op.extra["batch"] = rule


# ------------------------------------------------------------------ API details
def test_grad_argnums_has_aux_and_pytrees() -> None:
    x, y = randn(3), randn(3)

    def f(d: dict, y: cr.Tensor) -> tuple:
        loss = (d["a"] * y).sum() + (d["b"][0] ** 2).sum()
        return loss, {"note": loss * 2}

    d = {"a": x, "b": (y,)}
    g, aux = grad(f, argnums=(0, 1), has_aux=True)(d, y)
    np.testing.assert_allclose(g[0]["a"].numpy(), y.numpy())
    np.testing.assert_allclose(g[0]["b"][0].numpy(), 2 * y.numpy())
    np.testing.assert_allclose(g[1].numpy(), x.numpy())
    assert set(aux) == {"note"}
    want = (x * y).sum() + (y**2).sum()
    assert aux["note"].item() == pytest.approx(2 * want.item())
    assert not aux["note"].requires_grad
    (gd, (value, aux2)) = grad_and_value(f, has_aux=True)(d, y)
    value2, gd2 = value_and_grad(lambda d, y: f(d, y)[0])(d, y)
    assert value.item() == pytest.approx(value2.item())
    np.testing.assert_allclose(gd["a"].numpy(), gd2["a"].numpy())


def test_grad_needs_a_scalar_output_and_gives_zeros_when_unused() -> None:
    with pytest.raises(RuntimeError, match="scalar Tensor"):
        grad(lambda x: x * 2)(randn(3))
    np.testing.assert_array_equal(grad(lambda x, y: (y * 2).sum())(randn(3), randn(2)).numpy(), 0)


def test_no_perturbation_confusion() -> None:
    """d/dx [x * d/dy (x*y)] at y=x  = d/dx [x * x] = 2x, not 4x (the classic bug)."""
    x = t64(3.0)
    assert grad(lambda x: x * grad(lambda y: x * y)(x))(x).item() == pytest.approx(6.0)
    f = lambda x: jvp(lambda y: x * y, (x,), (t64(1.0),))[1] * x  # noqa: E731
    assert jvp(f, (x,), (t64(1.0),))[1].item() == pytest.approx(6.0)


def test_vjp_jvp_linearize_and_pytree_outputs() -> None:
    x = randn(3)
    f = lambda x: {"s": x.sin(), "p": (x * x).sum()}  # noqa: E731
    out, fn = vjp(f, x)
    (g,) = fn({"s": cr.ones(3, dtype=cr.float64), "p": t64(2.0)})
    np.testing.assert_allclose(g.numpy(), np.cos(x.numpy()) + 4 * x.numpy(), rtol=1e-12)
    (g2,) = fn({"s": cr.zeros(3, dtype=cr.float64), "p": t64(1.0)})  # callable twice
    np.testing.assert_allclose(g2.numpy(), 2 * x.numpy(), rtol=1e-12)
    v = randn(3)
    prim, tan = jvp(f, (x,), (v,))
    np.testing.assert_allclose(tan["s"].numpy(), np.cos(x.numpy()) * v.numpy(), rtol=1e-12)
    assert tan["p"].item() == pytest.approx(2 * float(x.numpy() @ v.numpy()))
    out, jfn = linearize(lambda x: x.exp() * 2, x)
    np.testing.assert_allclose(out.numpy(), 2 * np.exp(x.numpy()), rtol=1e-12)
    np.testing.assert_allclose(jfn(v).numpy(), 2 * np.exp(x.numpy()) * v.numpy(), rtol=1e-12)
    np.testing.assert_allclose(jfn(v * 3).numpy(), 3 * jfn(v).numpy(), rtol=1e-12)  # linear


def test_hvp_and_jacobian_functional_api() -> None:
    a = randn(3, 3)
    f = lambda x: (x @ a @ x) + x.sin().sum()  # noqa: E731
    x, v = randn(3), randn(3)
    value, hv = hvp(f, x, v)
    h = (a + a.T).numpy() - np.diag(np.sin(x.numpy()))
    np.testing.assert_allclose(hv.numpy(), h @ v.numpy(), rtol=1e-12)
    assert value.item() == pytest.approx(f(x).item())
    j = jacobian(lambda x, y: (x * y, x.sum()), (x, v))
    np.testing.assert_allclose(j[0][0].numpy(), np.diag(v.numpy()))
    np.testing.assert_allclose(j[0][1].numpy(), np.diag(x.numpy()))
    np.testing.assert_array_equal(j[1][0].numpy(), np.ones(3))
    np.testing.assert_array_equal(j[1][1].numpy(), np.zeros(3))
    jf = jacobian(lambda x: x.exp(), x, strategy="forward-mode")
    np.testing.assert_allclose(jf.numpy(), np.diag(np.exp(x.numpy())), rtol=1e-12)


def test_nesting_of_transforms() -> None:
    x, xs = randn(3), randn(4, 3)
    f = lambda x: (x.sin() * x).sum()  # noqa: E731
    h = hessian(f)(x).numpy()
    np.testing.assert_allclose(jacrev(jacrev(f))(x).numpy(), h, rtol=1e-12)
    np.testing.assert_allclose(jacrev(jacfwd(f))(x).numpy(), h, rtol=1e-12)
    per = vmap(jacrev(lambda x: x.sin() * x))(xs).numpy()
    for i in range(4):
        np.testing.assert_allclose(per[i], jacrev(lambda x: x.sin() * x)(xs[i]).numpy(), rtol=1e-12)
    hs = vmap(hessian(f))(xs)
    np.testing.assert_allclose(hs[2].numpy(), hessian(f)(xs[2]).numpy(), rtol=1e-12)
    m = randn(2, 3, 4)
    np.testing.assert_allclose(vmap(vmap(lambda r: (r * r).sum()))(m).numpy(),
                               (m * m).sum(-1).numpy(), rtol=1e-12)
    np.testing.assert_allclose(vmap(lambda r: r.sum(0), in_dims=1, out_dims=1)(m).numpy(),
                               m.sum(0).numpy().T, rtol=1e-12)
    w = randn(3)  # grad of a function that uses vmap inside (reverse mode around vmap)
    g = grad(lambda w: vmap(lambda x: (x * w).sum().tanh())(xs).sum())(w)
    want = sum(grad(lambda w: (xs[i] * w).sum().tanh())(w).numpy() for i in range(4))
    np.testing.assert_allclose(g.numpy(), want, rtol=1e-12)


def test_vmap_in_dims_out_dims_and_errors() -> None:
    a, b, c = randn(3, 5), randn(5), randn(3)
    out = vmap(lambda x, y: x * y, in_dims=(1, None), out_dims=1)(a, c)
    np.testing.assert_allclose(out.numpy(), (a * c.unsqueeze(1)).numpy(), rtol=1e-12)
    out = vmap(lambda t: t[0] + t[1], in_dims=((0, None),))((a, b))
    np.testing.assert_allclose(out.numpy(), (a + b).numpy(), rtol=1e-12)
    np.testing.assert_allclose(vmap(lambda x: x.sum(), chunk_size=2)(a).numpy(),
                               a.sum(1).numpy(), rtol=1e-12)
    with pytest.raises(ValueError, match="different sizes"):
        vmap(lambda x, y: x + y)(randn(3), randn(4))
    with pytest.raises(ValueError, match="at least one input"):
        vmap(lambda x: x, in_dims=None)(a)
    with pytest.raises(RuntimeError, match="randomness"):
        vmap(lambda x: x + cr.rand(5))(a)
    same = vmap(lambda x: x * 0 + cr.rand(5), randomness="same")(a)
    np.testing.assert_allclose(same[0].numpy(), same[1].numpy())
    diff = vmap(lambda x: x * 0 + cr.rand(5), randomness="different")(a)
    assert not np.allclose(diff[0].numpy(), diff[1].numpy())
    diff = vmap(lambda x: x * 0 + cr.rand(5), randomness="different", chunk_size=2)(a)
    assert diff.shape == (3, 5) and not np.allclose(diff[1].numpy(), diff[2].numpy())


def test_vmap_of_indexing_with_per_example_indices() -> None:
    table, idx = randn(10, 4), cr.tensor(RNG.integers(0, 10, (6, 3)))
    out = vmap(lambda i: table[i])(idx)  # an embedding lookup per example
    np.testing.assert_allclose(out.numpy(), table.numpy()[idx.numpy()], rtol=0)
    x = randn(6, 5, 4)
    g = vmap(lambda x, i: x[:, i])(x, idx[:, :2] % 4)
    for b in range(6):
        np.testing.assert_allclose(g[b].numpy(), x[b].numpy()[:, (idx[b, :2] % 4).numpy()])


def test_functional_call_swaps_and_restores() -> None:
    model = Net().double()
    orig = {k: v for k, v in model.named_parameters()}
    new = {k: v.detach() * 0 for k, v in orig.items()}
    out = functional_call(model, new, (randn(2, 6),))
    np.testing.assert_array_equal(out.numpy(), 0)
    assert all(model.get_parameter(k) is v for k, v in orig.items())
    with pytest.raises(RuntimeError, match="missing keys"):
        functional_call(model, {"fc1.weight": new["fc1.weight"]}, (randn(2, 6),), strict=True)

    class Bad(nn.Module):
        def forward(self, x: cr.Tensor) -> cr.Tensor:
            raise ZeroDivisionError

    bad = Bad()
    bad.lin = nn.Linear(2, 2)
    keep = bad.lin.weight
    with pytest.raises(ZeroDivisionError):
        functional_call(bad, {"lin.weight": cr.zeros(2, 2)}, (randn(2),))
    assert bad.lin.weight is keep


def test_functional_call_ties_shared_weights() -> None:
    model = nn.Sequential(nn.Linear(3, 3, bias=False), nn.Linear(3, 3, bias=False)).double()
    model[1].weight = model[0].weight
    w, x = randn(3, 3), randn(3)
    out = functional_call(model, {"0.weight": w}, (x,))
    np.testing.assert_allclose(out.numpy(), w.numpy() @ (w.numpy() @ x.numpy()), rtol=1e-12)
    seen = []
    model.register_forward_hook(lambda m, i, o: seen.append(m[1].weight is w))
    functional_call(model, {"0.weight": w}, (randn(3),))
    assert seen == [True]
