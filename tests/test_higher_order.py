"""Higher derivatives: third order through ``autograd.grad`` and ``func``, and the
parameter <-> gradient reference cycle of ``backward(create_graph=True)`` (warned about
exactly when it exists; checked with weak references while the cycle collector is off)."""

from __future__ import annotations

import gc
import warnings
import weakref

import numpy as np
import pytest
from reference import need_torch

import chainrule as cr
from chainrule.autograd import grad
from chainrule.func import grad as fgrad
from chainrule.func import hessian, jacfwd, jacrev


def _x(*values: float) -> cr.Tensor:
    return cr.tensor(list(values), dtype=cr.float64, requires_grad=True)


THIRD = [  # f, f''' in closed form
    (lambda x: x.sin(), lambda x: -np.cos(x)),
    (lambda x: x.exp() * x, lambda x: np.exp(x) * (x + 3)),
    (lambda x: x.tanh(), lambda x: -2 * (1 - np.tanh(x) ** 2) * (1 - 3 * np.tanh(x) ** 2)),
    (lambda x: x.log(), lambda x: 2 / x**3),
    (lambda x: x**4, lambda x: 24 * x),
    (lambda x: x.sigmoid(), lambda x: (s := 1 / (1 + np.exp(-x))) * (1 - s) * (1 - 6 * s + 6 * s * s)),
    (lambda x: x.sqrt(), lambda x: 3 / 8 * x**-2.5),
]


@pytest.mark.parametrize("k", range(len(THIRD)))
def test_third_derivative_three_ways(k: int) -> None:
    f, d3 = THIRD[k]
    x = _x(0.3, 0.7, 1.5)
    (g1,) = grad(f(x).sum(), x, create_graph=True)
    (g2,) = grad(g1.sum(), x, create_graph=True)
    (g3,) = grad(g2.sum(), x)
    want = d3(x.detach().numpy())
    np.testing.assert_allclose(g3.numpy(), want, rtol=1e-10)
    scalar = lambda t: f(t)  # noqa: E731
    for i, xi in enumerate(x.detach().numpy()):  # func.grad nested three times, and fwd/rev mixes
        t = cr.tensor(xi, dtype=cr.float64)
        assert fgrad(fgrad(fgrad(scalar)))(t).item() == pytest.approx(want[i], rel=1e-10)
        third = jacfwd(jacrev(fgrad(scalar)))(t)
        assert third.item() == pytest.approx(want[i], rel=1e-10)


def test_third_order_of_a_matrix_function_matches_torch() -> None:
    torch = need_torch()
    rng = np.random.default_rng(0)
    a, w = rng.standard_normal((3, 3)), rng.standard_normal((3, 3))

    def f(T, x):  # noqa: N803
        return (T.softmax(x @ T.from_numpy(w), 1) * x).sum()

    x = cr.tensor(a, requires_grad=True)
    xt = torch.from_numpy(a.copy()).requires_grad_()
    outs = []
    for T, v in ((cr, x), (torch, xt)):
        (g1,) = (cr.autograd if T is cr else torch.autograd).grad(f(T, v), v, create_graph=True)
        (g2,) = (cr.autograd if T is cr else torch.autograd).grad((g1 * g1).sum(), v, create_graph=True)
        (g3,) = (cr.autograd if T is cr else torch.autograd).grad(g2.sin().sum(), v)
        outs.append(g3.detach().numpy())
    np.testing.assert_allclose(outs[0], outs[1], rtol=1e-9, atol=1e-12)


def test_hessian_of_hessian_entries() -> None:
    """jacfwd(hessian(f)) is the third-derivative tensor: symmetric, and 6 for x0*x1*x2."""
    f = lambda x: x[0] * x[1] * x[2] + (x**3).sum()  # noqa: E731
    t = jacfwd(hessian(f))(cr.tensor([0.5, -1.0, 2.0], dtype=cr.float64)).numpy()
    assert t.shape == (3, 3, 3)
    want = np.zeros((3, 3, 3))
    for p in [(0, 1, 2), (0, 2, 1), (1, 0, 2), (1, 2, 0), (2, 0, 1), (2, 1, 0)]:
        want[p] = 1.0
    for i in range(3):
        want[i, i, i] = 6.0
    np.testing.assert_allclose(t, want, atol=1e-12)


# ------------------------------------------------------------------ memory cycles
def _quiet_backward(loss: cr.Tensor, **kw: object) -> list:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        loss.backward(create_graph=True, **kw)
    return [w for w in caught if "reference cycle" in str(w.message)]


def test_create_graph_backward_cycle_is_warned_and_real() -> None:
    gc.collect()
    gc.disable()
    try:
        w = cr.tensor([1.0, 2.0], requires_grad=True)
        caught = _quiet_backward((w**3).sum())  # w.grad = 3 w^2 references w
        assert len(caught) == 1
        ref, gref = weakref.ref(w), weakref.ref(w.grad)
        del w
        assert ref() is not None and gref() is not None  # the cycle keeps both alive
        gc.collect()
        assert ref() is None
        w = cr.tensor([1.0, 2.0], requires_grad=True)
        _quiet_backward((w**3).sum())
        w.grad = None  # the documented way out
        ref = weakref.ref(w)
        del w
        assert ref() is None
    finally:
        gc.enable()


def test_no_warning_when_the_gradient_graph_does_not_reach_the_leaf() -> None:
    gc.collect()
    gc.disable()
    try:
        w = cr.tensor([1.0, 2.0], requires_grad=True)
        c = cr.tensor([3.0, 4.0], requires_grad=True)
        assert _quiet_backward((w * c).sum(), inputs=[w]) == []  # w.grad = c: no path back to w
        assert w.grad.requires_grad
        ref = weakref.ref(w)
        del w
        assert ref() is None  # freed by reference counting alone
        v = cr.tensor([1.0, 2.0], requires_grad=True)
        assert _quiet_backward((v * 3.0).sum()) == []  # a constant gradient: no graph at all
    finally:
        gc.enable()


def test_cycle_through_two_parameters_is_found() -> None:
    a = cr.tensor([1.0], requires_grad=True)
    b = cr.tensor([2.0], requires_grad=True)
    caught = _quiet_backward((a * b).sum())  # a.grad = b (graph to b), b.grad = a: a->b->a
    assert len(caught) == 1
    a.grad = b.grad = None


def test_autograd_grad_with_create_graph_leaves_no_cycle() -> None:
    gc.collect()
    gc.disable()
    try:
        x = cr.tensor([1.0, 2.0], requires_grad=True)
        (g,) = grad((x**3).sum(), x, create_graph=True)
        (h,) = grad(g.sum(), x)
        np.testing.assert_allclose(h.numpy(), [6.0, 12.0])
        refs = [weakref.ref(x), weakref.ref(g)]
        del x, g, h
        assert all(r() is None for r in refs)
    finally:
        gc.enable()
