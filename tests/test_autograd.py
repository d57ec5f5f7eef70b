"""The autograd API, as the course uses it: seed examples, accumulation, hooks, grad modes."""

from __future__ import annotations

import threading

import numpy as np
import pytest

import chainrule as cr
from chainrule.autograd import grad


def test_seed_dot_example_exact() -> None:
    rng = np.random.default_rng(0)
    x = cr.tensor(rng.standard_normal(5))
    w = cr.tensor(rng.standard_normal(5), requires_grad=True)
    y = cr.tensor(0.7, dtype=cr.float64)
    z = (cr.dot(x, w) - y) ** 2
    z.backward()
    expected = 2 * (x.numpy() @ w.detach().numpy() - 0.7) * x.numpy()
    np.testing.assert_allclose(w.grad.numpy(), expected, rtol=1e-12)


def test_seed_least_squares_example_exact() -> None:
    rng = np.random.default_rng(1)
    Xn, yn = rng.standard_normal((6, 3)), rng.standard_normal(6)
    X, y = cr.tensor(Xn), cr.tensor(yn)
    w = cr.tensor(rng.standard_normal(3), requires_grad=True)
    ((X @ w - y) ** 2).sum().backward()
    wn = w.detach().numpy()
    np.testing.assert_allclose(w.grad.numpy(), 2 * Xn.T @ (Xn @ wn - yn), rtol=1e-12)


def test_textbook_walkthrough() -> None:
    x = cr.arange(4.0)
    x.requires_grad_(True)
    assert x.grad is None
    y = 2 * cr.dot(x, x)
    assert y.item() == 28.0
    y.backward()
    assert x.grad.tolist() == [0.0, 4.0, 8.0, 12.0]
    (2 * cr.dot(x, x)).backward()  # accumulates
    assert x.grad.tolist() == [0.0, 8.0, 16.0, 24.0]
    x.grad.zero_()
    x.sum().backward()
    assert x.grad.tolist() == [1.0, 1.0, 1.0, 1.0]
    x.grad.zero_()
    (x * x).backward(gradient=cr.ones(len(x)))
    a = x.grad.clone()
    x.grad.zero_()
    (x * x).sum().backward()
    assert cr.equal(a, x.grad)
    x.grad.zero_()
    u = (x * x).detach()
    (u * x).sum().backward()
    assert cr.equal(x.grad, u)


def test_control_flow_gradient() -> None:
    def f(a: cr.Tensor) -> cr.Tensor:
        b = a * 2
        while b.norm() < 1000:
            b = b * 2
        return b if b.sum() > 0 else 100 * b

    for seed in range(4):
        cr.manual_seed(seed)
        a = cr.randn(size=(), dtype=cr.float64, requires_grad=True)
        d = f(a)
        d.backward()
        assert a.grad.item() == pytest.approx((d / a).item(), rel=1e-12)


def test_grad_of_non_leaf_and_create_graph() -> None:
    x = cr.tensor([1.0, 2.0, 3.0], dtype=cr.float64, requires_grad=True)
    y = x**3
    (gx,) = grad(y.sum(), x, create_graph=True)
    np.testing.assert_allclose(gx.detach().numpy(), 3 * x.detach().numpy() ** 2)
    (gxx,) = grad(gx.sum(), x)
    np.testing.assert_allclose(gxx.numpy(), 6 * x.detach().numpy())
    h = x * 2
    z = (h * h).sum()
    (gh,) = grad(z, h)
    np.testing.assert_allclose(gh.numpy(), 2 * h.detach().numpy())
    assert x.grad is None  # autograd.grad does not touch .grad


def test_grad_allow_unused_and_materialize() -> None:
    x = cr.ones(2, requires_grad=True)
    y = cr.ones(2, requires_grad=True)
    with pytest.raises(RuntimeError, match="was not used to compute the outputs"):
        grad((x * 2).sum(), [x, y])
    gx, gy = grad((x * 2).sum(), [x, y], allow_unused=True)
    assert gy is None and gx.tolist() == [2.0, 2.0]
    _, gy = grad((x * 2).sum(), [x, y], materialize_grads=True)
    assert gy.tolist() == [0.0, 0.0]


def test_backward_inputs_restricts_accumulation() -> None:
    a = cr.ones(2, requires_grad=True)
    b = cr.ones(2, requires_grad=True)
    (a * b * 3).sum().backward(inputs=[a])
    assert a.grad.tolist() == [3.0, 3.0] and b.grad is None


def test_retain_graph_and_second_backward() -> None:
    x = cr.tensor([2.0], requires_grad=True)
    y = x.exp() * x
    y.backward(retain_graph=True)
    first = x.grad.clone()
    y.backward()
    np.testing.assert_allclose(x.grad.numpy(), 2 * first.numpy())


def test_hooks_on_leaf_and_non_leaf() -> None:
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    seen = []
    x.register_hook(lambda g: seen.append(g.clone()))
    y = x * 3
    handle = y.register_hook(lambda g: g * 10)
    y.sum().backward()
    assert seen[0].tolist() == [30.0, 30.0] and x.grad.tolist() == [30.0, 30.0]
    handle.remove()
    x.grad = None
    (x * 3).sum().backward()
    assert x.grad.tolist() == [3.0, 3.0]


def test_retain_grad() -> None:
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    y = x * x
    y.retain_grad()
    (y * 2).sum().backward()
    assert y.grad.tolist() == [2.0, 2.0]
    assert y.retains_grad


def test_grad_fn_names_and_next_functions() -> None:
    x = cr.tensor([1.0], requires_grad=True)
    y = x * 2 + 1
    assert type(y.grad_fn).__name__ == "AddBackward0"
    (mul, _), (const, _) = y.grad_fn.next_functions
    assert mul.name() == "MulBackward0" and const is None
    (acc, _), _ = mul.next_functions
    assert acc.name() == "AccumulateGrad" and acc.variable is x
    assert repr(y) == "tensor([3.], grad_fn=<AddBackward0>)"


def test_grad_modes() -> None:
    x = cr.ones(2, requires_grad=True)
    with cr.no_grad():
        assert not (x * 2).requires_grad
        with cr.enable_grad():
            assert (x * 2).requires_grad
    assert cr.is_grad_enabled()

    @cr.no_grad()
    def f(t: cr.Tensor) -> cr.Tensor:
        return t * 2

    @cr.no_grad
    def g(t: cr.Tensor) -> cr.Tensor:
        return t * 2

    assert not f(x).requires_grad and not g(x).requires_grad
    cr.set_grad_enabled(False)
    assert not cr.is_grad_enabled()
    cr.set_grad_enabled(True)
    with cr.set_grad_enabled(False):
        assert not (x * 2).requires_grad
    with cr.inference_mode():
        assert not (x * 2).requires_grad and cr.is_inference_mode_enabled()
    assert cr.is_grad_enabled()


def test_backward_inside_no_grad_uses_graph_recorded_outside() -> None:
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    y = (x * x).sum()
    with cr.no_grad():
        y.backward()
    assert x.grad.tolist() == [2.0, 4.0]


def test_grad_mode_is_thread_local() -> None:
    results = {}

    def worker() -> None:
        results["thread"] = cr.is_grad_enabled()

    with cr.no_grad():
        t = threading.Thread(target=worker)
        t.start()
        t.join()
        assert not cr.is_grad_enabled()
    assert results["thread"] is True


def test_parameter_update_under_no_grad() -> None:
    w = cr.tensor([1.0, 2.0], requires_grad=True)
    (w * w).sum().backward()
    before = id(w)
    with cr.no_grad():
        w -= 0.1 * w.grad
    assert id(w) == before and w.is_leaf and w.requires_grad
    np.testing.assert_allclose(w.detach().numpy(), [0.8, 1.6], rtol=1e-6)
    w.data[:] -= 0.1 * w.grad  # the textbook's manual SGD update
    np.testing.assert_allclose(w.detach().numpy(), [0.6, 1.2], rtol=1e-6)


def test_gradcheck_reports_worst_element() -> None:
    from chainrule.ops._core import Primitive, apply

    bad = Primitive("WrongSquare", lambda x: x * x).defvjp(lambda g, x: g * 3 * x)
    x = cr.tensor([1.0, -2.0, 0.5], dtype=cr.float64, requires_grad=True)
    with pytest.raises(cr.autograd.GradcheckError) as err:
        cr.autograd.gradcheck(lambda t: apply(bad, (t,)), (x,))
    msg = str(err.value)
    assert "worst element at input index (1,)" in msg and "analytical -6.0 vs numerical -4.0" in msg
    from chainrule.ops._core import PRIMITIVES

    del PRIMITIVES["WrongSquare"]
    assert cr.autograd.gradcheck(lambda t: (t * t).sum(), (x,))
    assert cr.autograd.gradgradcheck(lambda t: (t * t * t).sum(), (x,))


def test_gradcheck_perturbs_non_contiguous_inputs() -> None:
    """Finite differences must move the input itself, whatever its memory layout."""
    x = cr.tensor(np.asfortranarray(np.arange(6.0).reshape(2, 3)), requires_grad=True)
    assert not x.is_contiguous()
    assert cr.autograd.gradcheck(lambda t: (t * t).sum(0), (x,))
