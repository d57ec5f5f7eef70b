"""Module full backward hooks against PyTorch 2.13: what ``register_full_backward_hook`` and
``register_full_backward_pre_hook`` see (grad_input / grad_output tuples, None where PyTorch has None),
what their returned replacements do to the gradients, order, removal and errors."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from nn_helpers import copy_weights, need_torch, np_of
from reference import torch

import chainrule as cr


def _summary(gs):
    return [None if g is None else np.asarray(np_of(g)).copy() for g in gs]


def _assert_same(a, b):
    assert len(a) == len(b)
    for x, y in zip(a, b):
        if isinstance(x, list):
            _assert_same(x, y)
        elif x is None or y is None:
            assert x is None and y is None
        elif isinstance(x, str):
            assert x == y
        else:
            np.testing.assert_allclose(x, y, rtol=1e-12, atol=1e-14)


class _TwoOut:
    """A module with two tensor inputs (plus a non-tensor one) and two outputs."""

    @staticmethod
    def make(T):
        class M(T.nn.Module):
            def __init__(self):
                super().__init__()
                self.lin = T.nn.Linear(3, 3)

            def forward(self, a, scale, b):
                h = self.lin(a) * scale
                return h * b, (h + b).sum(-1)

        return M()


def _run(T, make, arrays, grad_mask, call, pre=None, post=None, src=None, loss=None):
    """Build the module (weights copied from ``src``), register the hooks, run backward; log what they see."""
    m = make(T).double()
    if src is not None:
        copy_weights(src, m)
    log = []
    if pre is not None:
        m.register_full_backward_pre_hook(lambda mod, go: (log.append(["pre", _summary(go)]), pre(go))[1])
    if post is not None:
        m.register_full_backward_hook(
            lambda mod, gi, go: (log.append(["post", _summary(gi), _summary(go)]), post(gi))[1]
        )
    xs = [
        (cr.tensor(a) if T is cr else torch.from_numpy(a.copy())).requires_grad_(g)
        for a, g in zip(arrays, grad_mask)
    ]
    out = call(m, *xs)
    (loss(out) if loss else out.sum()).backward()
    grads = [None if x.grad is None else np_of(x.grad) for x in xs]
    pgrads = [np_of(p.grad) for p in m.parameters()]
    return m, log, grads, pgrads


def _compare(make, shapes, grad_mask, call, **kw):
    need_torch()
    rng = np.random.default_rng(0)
    arrays = [rng.standard_normal(s) for s in shapes]
    torch.manual_seed(0)
    ref = _run(torch, make, arrays, grad_mask, call, **kw)
    ours = _run(cr, make, arrays, grad_mask, call, src=ref[0], **kw)
    assert ours[1], "hooks did not run"
    _assert_same(ours[1], ref[1])
    _assert_same(ours[2], ref[2])
    _assert_same(ours[3], ref[3])


def lin(T):
    return T.nn.Linear(3, 2)


def none(gs):
    return None


@pytest.mark.parametrize("grad_mask", [(True,), (False,)], ids=["input-grad", "no-input-grad"])
def test_linear_hooks_see_torchs_gradients(grad_mask) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # "hook is firing ... no inputs require gradients"
        _compare(lin, [(4, 3)], grad_mask, lambda m, x: m(x), pre=none, post=none)


def test_returned_gradients_replace_as_in_torch() -> None:
    _compare(
        lin,
        [(4, 3)],
        (True,),
        lambda m, x: m(x),
        pre=lambda go: (go[0] * 2,),
        post=lambda gi: (gi[0] * 3 + 1,),
    )


def test_multi_input_multi_output_with_non_tensor_argument() -> None:
    call = lambda m, a, b: m(a, 0.5, b)  # noqa: E731
    loss = lambda out: (out[0] ** 2).sum() + out[1].sum()  # noqa: E731
    _compare(_TwoOut.make, [(4, 3), (4, 3)], (True, True), call, pre=none, post=none, loss=loss)
    _compare(
        _TwoOut.make,
        [(4, 3), (4, 3)],
        (False, True),
        call,
        pre=lambda go: (go[0] * -1, go[1]),
        post=lambda gi: (None, None, gi[2] * 2),
        loss=loss,
    )


def test_unused_output_gets_none_grad_output() -> None:
    _compare(
        _TwoOut.make,
        [(4, 3), (4, 3)],
        (True, True),
        lambda m, a, b: m(a, 2.0, b),
        pre=none,
        post=none,
        loss=lambda out: out[1].sum(),
    )


def test_container_and_hook_order_prepend_and_remove() -> None:
    calls = []
    m = cr.nn.Sequential(cr.nn.Linear(3, 3), cr.nn.Tanh())
    h1 = m.register_full_backward_hook(lambda mod, gi, go: calls.append("a"))
    m.register_full_backward_hook(lambda mod, gi, go: calls.append("b"), prepend=True)
    m.register_full_backward_pre_hook(lambda mod, go: calls.append("pre"))
    m[0].register_full_backward_hook(lambda mod, gi, go: calls.append("inner"))
    x = cr.randn(2, 3, requires_grad=True)
    m(x).sum().backward()
    assert calls == ["pre", "inner", "b", "a"]
    calls.clear()
    h1.remove()
    m(x).sum().backward()
    assert calls == ["pre", "inner", "b"]


def test_wrong_number_of_returned_grads_is_an_error() -> None:
    m = cr.nn.Linear(3, 2)
    m.register_full_backward_hook(lambda mod, gi, go: (gi[0], gi[0]))
    x = cr.randn(4, 3, requires_grad=True)
    with pytest.raises(RuntimeError, match="invalid number of grad_input values: got 2, but expected 1"):
        m(x).sum().backward()


def test_no_grad_forward_runs_hooks_not_at_all() -> None:
    calls = []
    m = cr.nn.Linear(3, 2)
    m.register_full_backward_hook(lambda mod, gi, go: calls.append(1))
    with cr.no_grad():
        out = m(cr.randn(4, 3))
    assert not out.requires_grad and calls == []
