"""The engine on big graphs: no recursion, linear time, saved values freed, no reference cycles."""

from __future__ import annotations

import gc
import sys
import weakref

import numpy as np

import chainrule as cr


def _chain(n: int) -> tuple[cr.Tensor, cr.Tensor]:
    x = cr.tensor([1.0], dtype=cr.float64, requires_grad=True)
    y = x
    for _ in range(n):
        y = y * 1.0000001
    return x, y


def test_backward_through_100k_op_chain() -> None:
    x, y = _chain(100_000)
    y.sum().backward()
    assert abs(x.grad.item() - 1.0000001**100_000) < 1e-9


def _calls_in_backward(n: int) -> int:
    """Python function calls (and C calls) made by ``backward()`` of an n-op chain."""
    x, y = _chain(n)
    loss = y.sum()
    count = 0

    def profile(frame, event, arg) -> None:
        nonlocal count
        if event in ("call", "c_call"):
            count += 1

    sys.setprofile(profile)
    try:
        loss.backward()
    finally:
        sys.setprofile(None)
    return count


def test_backward_work_is_linear_in_chain_length() -> None:
    """4x the nodes, 4x the calls (a quadratic engine would make 16x): counted, not timed (the
    time is in benchmarks/)."""
    small, big = _calls_in_backward(2_000), _calls_in_backward(8_000)
    assert 3.9 < big / small < 4.1, (small, big)


def test_deep_create_graph_and_grad_of_grad() -> None:
    x = cr.tensor([0.3], dtype=cr.float64, requires_grad=True)
    y = x
    for _ in range(20_000):
        y = cr.sin(y) * 0.5 + y * 0.5
    (g,) = cr.autograd.grad(y.sum(), x, create_graph=True)
    (gg,) = cr.autograd.grad(g.sum(), x)
    assert np.isfinite(gg.item())


def test_saved_arrays_are_freed_after_backward() -> None:
    x = cr.randn(1000, requires_grad=True)
    h = cr.exp(x)  # saves its output
    ref = weakref.ref(h.grad_fn.saved[0])
    node = h.grad_fn
    loss = (h * 2).sum()
    del h
    loss.backward()
    assert node.saved is None
    gc.collect()
    assert ref() is None


def test_retain_graph_keeps_saved_arrays() -> None:
    x = cr.randn(10, requires_grad=True)
    h = cr.tanh(x)
    node = h.grad_fn
    h.sum().backward(retain_graph=True)
    assert node.saved is not None
    h.sum().backward()
    assert node.saved is None


def test_unreferenced_graph_is_collected_without_the_cycle_collector() -> None:
    gc.collect()
    gc.disable()
    try:
        x = cr.randn(100, requires_grad=True)
        h = (x * 2).exp().sum()
        node_ref = weakref.ref(h.grad_fn)
        tensor_ref = weakref.ref(h)
        del h
        assert node_ref() is None and tensor_ref() is None
        y = cr.tanh(x * 3)
        y.retain_grad()
        y.register_hook(lambda g: g)
        refs = [weakref.ref(y), weakref.ref(y.grad_fn)]
        y.sum().backward()
        del y
        assert all(r() is None for r in refs)
    finally:
        gc.enable()


def test_no_grad_chain_keeps_constant_number_of_intermediates() -> None:
    x = cr.randn(64, requires_grad=True)
    alive = []
    with cr.no_grad():
        y = x
        for _ in range(1000):
            y = cr.tanh(y * 1.01)
            alive.append(weakref.ref(y))
    assert y.grad_fn is None and not y.requires_grad
    assert sum(r() is not None for r in alive) == 1  # only the last one


def test_graph_with_grad_keeps_what_backward_needs() -> None:
    x = cr.randn(8, requires_grad=True)
    y = x
    for _ in range(50):
        y = cr.tanh(y)
    nodes = []
    n = y.grad_fn
    while n is not None:
        nodes.append(n)
        n = n.parents[0] if not isinstance(n.parents[0], cr.Tensor) else None
    assert len(nodes) == 50 and all(len(n.saved) == 1 for n in nodes)  # tanh keeps its output only


def test_diamond_graph_runs_each_node_once_and_sums_gradients() -> None:
    calls = []
    x = cr.tensor([2.0], requires_grad=True)
    a = x * 3
    a.register_hook(lambda g: calls.append(g.item()))
    b = a * a + a.exp() + a
    b.backward()
    assert calls == [2 * 6.0 + np.exp(6.0) + 1] or np.isclose(calls[0], 2 * 6.0 + np.exp(6.0) + 1)
    assert len(calls) == 1
    assert np.isclose(x.grad.item(), 3 * (2 * 6.0 + np.exp(6.0) + 1), rtol=1e-5)


def test_gradients_accumulate_into_independent_buffers() -> None:
    x = cr.ones(3, requires_grad=True)
    y = cr.ones(3, requires_grad=True)
    seed = cr.ones(3)
    (x + y).backward(seed)
    x.grad.zero_()
    assert y.grad.tolist() == [1.0, 1.0, 1.0]  # not aliased with x.grad
    assert seed.tolist() == [1.0, 1.0, 1.0]  # the user's gradient is not modified
