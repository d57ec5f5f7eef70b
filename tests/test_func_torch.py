"""``chainrule.func`` against ``torch.func`` (PyTorch 2.13): same code, same values and derivatives.

Each function is written once against a module ``T`` (chainrule or torch); the transforms
are called with the same arguments on both sides.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from reference import HAVE_TORCH, REQUIRE_TORCH, torch

import chainrule as cr

pytestmark = pytest.mark.skipif(not HAVE_TORCH and not REQUIRE_TORCH, reason="PyTorch not installed")


@pytest.fixture(autouse=True)
def _need_torch() -> None:
    assert HAVE_TORCH, "PyTorch 2.13 must be installed in CI (extra 'reference')"


RNG = np.random.default_rng(7)
X = RNG.standard_normal(5)
M = RNG.standard_normal((4, 5))
XS = RNG.standard_normal((6, 5))


def to(T: Any, a: Any) -> Any:
    if isinstance(a, dict):
        return {k: to(T, v) for k, v in a.items()}
    if isinstance(a, (tuple, list)):
        return type(a)(to(T, v) for v in a)
    if isinstance(a, np.ndarray):
        return T.from_numpy(np.array(a, copy=True))
    return a


def np_(a: Any) -> Any:
    if isinstance(a, dict):
        return {k: np_(v) for k, v in a.items()}
    if isinstance(a, (tuple, list)):
        return type(a)(np_(v) for v in a)
    return a if isinstance(a, np.ndarray) else a.detach().numpy()


def same(a: Any, b: Any, rtol: float = 1e-10, atol: float = 1e-12) -> None:
    a, b = np_(a), np_(b)
    if isinstance(a, dict):
        assert a.keys() == b.keys()
        for k in a:
            same(a[k], b[k], rtol, atol)
    elif isinstance(a, (tuple, list)):
        assert len(a) == len(b)
        for u, v in zip(a, b):
            same(u, v, rtol, atol)
    else:
        assert a.shape == b.shape, (a.shape, b.shape)
        np.testing.assert_allclose(a, b, rtol=rtol, atol=atol)


def both(fn: Any) -> tuple:
    return fn(cr), fn(torch)


FUNCS = {  # scalar functions of a vector, written once for both libraries
    "poly": lambda T: lambda x: (x**3 - 2 * x).sum(),
    "mlp": lambda T: lambda x: T.tanh(T.from_numpy(M.copy()) @ x).logsumexp(0),
    "softmax": lambda T: lambda x: (T.softmax(x, 0) * x.sin()).sum(),
    "norms": lambda T: lambda x: x.norm() * (x * x).mean() + x.abs().max(),
}


@pytest.mark.parametrize("name", FUNCS)
def test_grad_hessian_jacobians_match(name: str) -> None:
    for transform in ("grad", "hessian", "jacfwd_grad", "jacrev_grad"):

        def run(T: Any, transform: str = transform) -> Any:
            f, fn = FUNCS[name](T), T.func
            g = {
                "grad": fn.grad(f),
                "hessian": fn.hessian(f),
                "jacfwd_grad": fn.jacfwd(fn.grad(f)),
                "jacrev_grad": fn.jacrev(fn.grad(f)),
            }
            return g[transform](to(T, X))

        same(*both(run), rtol=1e-9)


def test_vjp_jvp_and_pytrees_match() -> None:
    def f(T: Any):
        return lambda d, y: {"a": (d["w"] @ y).tanh(), "b": (d["b"] * y[:4]).exp().sum()}

    d, y = {"w": M, "b": X[:4]}, X

    def run(T: Any) -> Any:
        out, fn = T.func.vjp(f(T), to(T, d), to(T, y))
        ct = {"a": to(T, RNG_CT["a"]), "b": to(T, RNG_CT["b"])}
        prim, tan = T.func.jvp(f(T), (to(T, d), to(T, y)), (to(T, {"w": M * 0.5, "b": X[:4]}), to(T, X * 2)))
        return out, fn(ct), prim, tan

    same(*both(run))


RNG_CT = {"a": RNG.standard_normal(4), "b": np.array(1.7)}


def test_jacrev_jacfwd_argnums_and_aux_match() -> None:
    def run(T: Any) -> Any:
        def f(x, w):
            y = (w @ x).sin()
            return y, y.sum()

        x, w = to(T, X), to(T, M)
        jr, aux = T.func.jacrev(f, argnums=(0, 1), has_aux=True)(x, w)
        jf, aux2 = T.func.jacfwd(f, argnums=(0, 1), has_aux=True)(x, w)
        return jr, jf, aux, aux2

    same(*both(run))


def test_vmap_in_dims_out_dims_match() -> None:
    def run(T: Any) -> Any:
        xs, m = to(T, XS), to(T, M)
        a = T.func.vmap(lambda x, m: T.softmax(m @ x, 0))(xs, m.expand(6, 4, 5))
        b = T.func.vmap(lambda x, m: (m @ x).relu(), in_dims=(0, None), out_dims=1)(xs, m)
        c = T.func.vmap(T.func.vmap(lambda v: v * v.sum()), in_dims=1)(xs.reshape(2, 3, 5))
        d = T.func.vmap(T.func.jacrev(lambda x: (m @ x).tanh()))(xs)
        e = T.func.vmap(T.func.hessian(lambda x: (x.exp() * x).sum()))(xs)
        f = T.func.vmap(lambda x: x[[0, 2, 2]] + x[1:4].flip(0), chunk_size=4)(xs)
        return a, b, c, d, e, f

    same(*both(run))


def test_detach_and_data_under_vmap_keep_every_example() -> None:
    """detach() of a batched tensor aliases each example, not example 0 for all of them (.data
    is refused under vmap); under jvp the tangent is dropped (stop-gradient), as in torch.func."""

    def run(T: Any) -> Any:
        xs = to(T, XS)
        with pytest.raises(RuntimeError, match="accessing `data` under vmap transform is not allowed"):
            T.func.vmap(lambda x: x.data)(xs)
        a = T.func.vmap(lambda x: (x * 2).detach() + x)(xs)
        b = T.func.vmap(T.func.grad(lambda x: (x.detach() * x.sin()).sum()))(xs)
        c = T.func.jvp(lambda x: x.detach() * x.exp(), (xs,), (T.ones_like(xs),))
        return a, b, c

    same(*both(run))


def test_per_sample_gradients_match_torch_func() -> None:
    def run(T: Any) -> Any:
        T.manual_seed(0)
        model = T.nn.Sequential(
            T.nn.Conv2d(1, 3, 3, padding=1),
            T.nn.ReLU(),
            T.nn.MaxPool2d(2),
            T.nn.Flatten(),
            T.nn.Linear(12, 4),
        )
        params = {k: to(T, RNG_P[k]) for k, _ in model.named_parameters()}
        xs, ys = to(T, RNG_X), to(T, RNG_Y)

        def loss(p, x, y):
            out = T.func.functional_call(model, p, (x.unsqueeze(0),))
            return T.nn.functional.cross_entropy(out, y.unsqueeze(0))

        return T.func.vmap(T.func.grad(loss), in_dims=(None, 0, 0))(params, xs, ys)

    before = sum(cr.func.fallback_counts.values())
    ours = run(cr)
    assert sum(cr.func.fallback_counts.values()) == before  # conv, pooling, loss: all batched
    same(ours, run(torch))


RNG_P = {
    "0.weight": RNG.standard_normal((3, 1, 3, 3)),
    "0.bias": RNG.standard_normal(3),
    "4.weight": RNG.standard_normal((4, 12)),
    "4.bias": RNG.standard_normal(4),
}
RNG_X = RNG.standard_normal((5, 1, 4, 4))
RNG_Y = RNG.integers(0, 4, 5)


def test_hvp_and_jacobian_match_torch_autograd_functional() -> None:
    f = FUNCS["mlp"]
    v = RNG.standard_normal(5)
    ours = cr.func.hvp(f(cr), to(cr, X), to(cr, v))
    theirs = torch.autograd.functional.hvp(f(torch), to(torch, X), to(torch, v))
    same(ours, theirs)

    def g(T):
        return lambda x, y: ((x * y).sin(), x.sum() * y)

    ours = cr.func.jacobian(g(cr), (to(cr, X), to(cr, X[::-1].copy())))
    theirs = torch.autograd.functional.jacobian(g(torch), (to(torch, X), to(torch, X[::-1].copy())))
    same(ours, theirs)


def test_linearize_matches_jvp() -> None:
    f = FUNCS["softmax"]
    v = RNG.standard_normal(5)
    out, jfn = cr.func.linearize(f(cr), to(cr, X))
    _, tt = torch.func.jvp(f(torch), (to(torch, X),), (to(torch, v),))
    same(out, f(torch)(to(torch, X)))
    same(jfn(to(cr, v)), tt)
