"""chainrule.viz.trace_backward: the engine's order, with the gradients flowing in and out."""

from __future__ import annotations

import numpy as np
import pytest
from viz_dot import textbook_dot

import chainrule as cr
from chainrule.autograd.graph import Node
from chainrule.viz import trace_backward


def test_order_and_gradients_of_the_textbook_example():
    z, names = textbook_dot()
    x, w, a, b = (names[k] for k in "xwab")
    steps = trace_backward(z, names=names)
    assert steps.order() == ["PowBackward0", "SubBackward0", "DotBackward0"]
    assert [s.node for s in steps] == [z.grad_fn, b.grad_fn, a.grad_fn]
    bv = float(b)
    np.testing.assert_allclose(steps[0].grad_in.numpy(), 1.0)
    (target, g), = steps[0].grads_out
    assert target is b.grad_fn and np.isclose(float(g), 2 * bv)
    np.testing.assert_allclose(steps[1].grad_in.numpy(), 2 * bv)
    (target, g), = steps[2].grads_out
    assert target is w  # a leaf: the gradient goes into w.grad
    np.testing.assert_allclose(g.numpy(), 2 * bv * x.numpy())
    np.testing.assert_allclose(w.grad.numpy(), 2 * bv * x.numpy())  # backward really ran
    text = str(steps)
    assert "step 0: PowBackward0 (z)" in text and "-> leaf w" in text


def test_shared_node_runs_once_after_all_its_consumers():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    s = x * 3
    z = (s * s).sum() + s.sum()
    steps = trace_backward(z)
    names = steps.order()
    assert names.count("MulBackward0") == 2  # s * s and x * 3
    s_step = next(k for k, st in enumerate(steps) if st.node is s.grad_fn)
    consumers = [k for k, st in enumerate(steps)
                 if any(t is s.grad_fn for t, _ in st.grads_out)]
    assert len(consumers) == 2 and all(k < s_step for k in consumers)  # s * s, and s.sum()
    # the gradient into s is the sum of what its consumers sent: 2s + 1
    np.testing.assert_allclose(steps[s_step].grad_in.numpy(), 2 * s.detach().numpy() + 1)
    assert all(isinstance(st.node, Node) for st in steps)
    np.testing.assert_allclose(x.grad.numpy(), 3 * (2 * s.detach().numpy() + 1))


def test_recorded_gradients_are_copies():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    steps = trace_backward((x * 2).sum())
    first = steps[-1].grads_out[0][1].numpy().copy()
    (x * 5).sum().backward()  # accumulates into x.grad in place
    np.testing.assert_array_equal(steps[-1].grads_out[0][1].numpy(), first)


def test_errors_and_options():
    with pytest.raises(RuntimeError, match="does not require grad"):
        trace_backward(cr.ones(2).sum())
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    y = x * x
    with pytest.raises(RuntimeError, match="scalar"):
        trace_backward(y)
    steps = trace_backward(y, gradient=cr.tensor([1.0, 1.0]), retain_graph=True)
    assert steps.order() == ["MulBackward0"]
    np.testing.assert_allclose(steps[0].grads_out[0][1].numpy(), x.detach().numpy())
    trace_backward(y, gradient=cr.tensor([1.0, 1.0]))  # the graph was retained
    np.testing.assert_allclose(x.grad.numpy(), 4 * x.detach().numpy())
