"""Gradients of different inputs never share an array, compiled or not.

A compiled backward computes each distinct value once (common-subexpression elimination), so
``(x * 2) + (y * 2)`` gives one array for both inputs' gradients.  Stored as both ``x.grad``
and ``y.grad`` it would make an in-place change of one (``clip_grad_norm_``, ``grad.zero_()``,
accumulation) change the other: the engine copies an array that arrives for a second input.
"""

from __future__ import annotations

import numpy as np

import chainrule as cr


def _f(x, y):
    return ((x * 2) + (y * 2)).exp()


def _grads(fn, seed: int) -> tuple:
    rng = np.random.default_rng(seed)
    x = cr.tensor(rng.standard_normal((32, 32)), requires_grad=True)
    y = cr.tensor(rng.standard_normal((32, 32)), requires_grad=True)
    fn(x, y).sum().backward()
    return x, y


def test_compiled_gradients_of_two_inputs_are_distinct_arrays() -> None:
    f = cr.compile(_f)
    for seed in range(3):  # the first call traces; the later ones run the compiled backward
        x, y = _grads(f, seed)
        ex, ey = _grads(_f, seed)
        assert not np.shares_memory(x.grad.numpy(), y.grad.numpy())
        np.testing.assert_array_equal(x.grad.numpy(), ex.grad.numpy())
        x.grad.mul_(0.5)  # an in-place change of one gradient leaves the other alone
        np.testing.assert_array_equal(y.grad.numpy(), ey.grad.numpy())


def test_clip_grad_norm_scales_each_compiled_gradient_once() -> None:
    f = cr.compile(_f)
    for seed in range(3):
        x, y = _grads(f, seed)
        ex, ey = _grads(_f, seed)
        cr.nn.utils.clip_grad_norm_([x, y], 1.0)
        cr.nn.utils.clip_grad_norm_([ex, ey], 1.0)
        np.testing.assert_allclose(x.grad.numpy(), ex.grad.numpy(), rtol=1e-12)
        np.testing.assert_allclose(y.grad.numpy(), ey.grad.numpy(), rtol=1e-12)
