"""Saved-tensor hooks and gradient checkpointing: same gradients, fewer kept values."""

from __future__ import annotations

import gc
import threading
import weakref

import numpy as np
import pytest
from reference import torch

import chainrule as cr
from chainrule.autograd.graph import disable_saved_tensors_hooks, saved_tensors_hooks
from chainrule.ops import _core
from chainrule.utils.checkpoint import checkpoint, checkpoint_sequential


def _params(seed: int = 0, d: int = 6):
    rng = np.random.default_rng(seed)
    W = cr.tensor(rng.standard_normal((d, d)) * 0.4).requires_grad_()
    x = cr.tensor(rng.standard_normal((5, d))).requires_grad_()
    return W, x


def _block(W):
    def f(y):
        for _ in range(3):
            y = cr.tanh(y @ W)
        return y * 2.0

    return f


def _grads(*ts):
    out = [t.grad.numpy().copy() for t in ts]
    for t in ts:
        t.grad = None
    return out


# ------------------------------------------------------------------ hooks
def test_hooks_see_every_saved_tensor_and_give_the_same_gradient() -> None:
    W, x = _params()
    (cr.exp(x @ W) * x).sum().backward()
    ref = _grads(W, x)
    packed, unpacked = [], []

    def pack(t):
        packed.append(tuple(t.shape))
        return t.detach().numpy().copy()

    def unpack(a):
        unpacked.append(a.shape)
        return cr.tensor(a)

    with saved_tensors_hooks(pack, unpack):
        y = (cr.exp(x @ W) * x).sum()
    # mm saves x and W, exp its output, mul both inputs
    assert sorted(packed) == sorted([(5, 6), (6, 6), (5, 6), (5, 6), (5, 6)])
    assert not unpacked
    y.backward()
    assert len(unpacked) == len(packed)
    for a, b in zip(_grads(W, x), ref):
        np.testing.assert_allclose(a, b, rtol=1e-12)


def test_hooks_nest_innermost_wins_and_are_removed_after() -> None:
    W, x = _params()
    seen = []
    before = list(_core._WRAPPERS)
    with saved_tensors_hooks(lambda t: seen.append("outer") or t, lambda t: t):
        with saved_tensors_hooks(lambda t: seen.append("inner") or t, lambda t: t):
            cr.exp(x)
        cr.exp(x)
    assert seen == ["inner", "outer"]
    assert _core._WRAPPERS == before  # nothing left on the op path once all hooks are gone


def test_hooks_are_thread_local() -> None:
    W, x = _params()
    seen = []
    other = []

    def work():
        other.append(isinstance(cr.exp(x).grad_fn.saved_values["ans"], np.ndarray))  # not packed

    with saved_tensors_hooks(lambda t: seen.append(1) or t, lambda t: t):
        th = threading.Thread(target=work)
        th.start()
        th.join()
    assert other == [True] and seen == []  # the other thread's op was not packed


def test_disable_saved_tensors_hooks_message() -> None:
    with disable_saved_tensors_hooks("no hooks in this block, please"):
        with pytest.raises(RuntimeError, match="no hooks in this block, please"):
            with saved_tensors_hooks(lambda t: t, lambda t: t):
                pass
    with saved_tensors_hooks(lambda t: t, lambda t: t):
        pass


def test_unpack_returning_garbage_is_refused_with_the_op_name() -> None:
    W, x = _params()
    with saved_tensors_hooks(lambda t: t, lambda t: "oops"):
        y = cr.exp(x).sum()
    with pytest.raises(TypeError, match="unpack hook returned str for Exp"):
        y.backward()


def test_inplace_op_under_hooks_keeps_the_old_values() -> None:
    """An in-place op whose node saved the overwritten tensor must snapshot it, hooks or not."""
    W, x = _params()

    def f():
        y = x * 1.0
        y.mul_(W[0])  # MulBackward saves the old y (as an alias of the same storage)
        return (y * y).sum()

    f().backward()
    ref = _grads(W, x)
    with saved_tensors_hooks(lambda t: t, lambda t: t):
        loss = f()
    loss.backward()
    for a, b in zip(_grads(W, x), ref):
        np.testing.assert_allclose(a, b, rtol=1e-12)


# ------------------------------------------------------------------ checkpoint
def test_checkpoint_gives_the_same_gradients_for_inputs_and_closure_parameters() -> None:
    W, x = _params()
    f = _block(W)
    (f(x) ** 2).sum().backward()
    ref = _grads(W, x)
    (checkpoint(f, x) ** 2).sum().backward()
    for a, b in zip(_grads(W, x), ref):
        np.testing.assert_allclose(a, b, rtol=1e-12)


def test_checkpoint_matches_torch() -> None:
    W, x = _params()
    (checkpoint(_block(W), x) ** 2).sum().backward()
    tW = torch.from_numpy(W.detach().numpy().copy()).requires_grad_()
    tx = torch.from_numpy(x.detach().numpy().copy()).requires_grad_()

    def tf(y):
        for _ in range(3):
            y = torch.tanh(y @ tW)
        return y * 2.0

    (torch.utils.checkpoint.checkpoint(tf, tx, use_reentrant=False) ** 2).sum().backward()
    np.testing.assert_allclose(W.grad.numpy(), tW.grad.numpy(), rtol=1e-10)
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-10)


def test_checkpoint_keeps_no_intermediates() -> None:
    W, x = _params()
    refs = []

    def f(y):
        h = cr.tanh(y @ W)
        refs.append(weakref.ref(h._data))
        return cr.tanh(h @ W)

    out = checkpoint(f, x)
    gc.collect()
    assert refs[0]() is None  # the hidden activation is gone until backward recomputes it
    out.sum().backward()
    assert len(refs) == 2  # recomputed exactly once


def test_recompute_once_per_backward_and_again_with_retain_graph() -> None:
    W, x = _params()
    calls = []

    def f(y):
        calls.append(1)
        return cr.tanh(y @ W)

    out = checkpoint(f, x).sum()
    out.backward(retain_graph=True)
    first = _grads(W, x)
    out.backward()
    assert len(calls) == 3  # forward, then one recomputation per backward
    for a, b in zip(_grads(W, x), first):
        np.testing.assert_allclose(a, b, rtol=1e-12)


def test_checkpoint_dropout_masks_identical_thanks_to_rng_state() -> None:
    W, x = _params()

    def f(y):
        return cr.nn.functional.dropout(cr.tanh(y @ W), 0.5) * 3.0

    cr.manual_seed(5)
    plain = f(x)
    plain.sum().backward()
    ref = _grads(W, x)
    cr.manual_seed(5)
    out = checkpoint(f, x)
    np.testing.assert_array_equal(out.detach().numpy(), plain.detach().numpy())
    after_forward = cr.random.default_generator.get_state()
    out.sum().backward()
    for a, b in zip(_grads(W, x), ref):
        np.testing.assert_allclose(a, b, rtol=1e-12)
    # recomputation does not disturb the caller's random stream
    assert cr.random.default_generator.get_state() == after_forward


def test_without_preserved_rng_the_recomputed_mask_differs() -> None:
    W, x = _params()

    def f(y):
        return cr.nn.functional.dropout(cr.tanh(y @ W), 0.5)

    cr.manual_seed(5)
    f(x).sum().backward()
    ref = _grads(W, x)
    cr.manual_seed(5)
    checkpoint(f, x, preserve_rng_state=False).sum().backward()
    assert not np.allclose(_grads(W, x)[0], ref[0])


def test_checkpoint_sequential_list_and_module() -> None:
    W, x = _params()
    calls: list[int] = []

    def layer(i):
        def f(y):
            calls.append(i)
            return cr.tanh(y @ W)

        return f

    fns = [layer(i) for i in range(7)]
    y = x
    for fn in fns:
        y = fn(y)
    y.sum().backward()
    ref = _grads(W, x)
    # segments -> how many leading layers are checkpointed (run again in backward), as in PyTorch:
    # 7 // segments layers per segment, the last segment takes the rest and is not checkpointed
    for segments, rerun in ((1, 0), (2, 3), (3, 4), (4, 3), (7, 6), (20, 6)):
        calls.clear()
        checkpoint_sequential(fns, segments, x).sum().backward()
        assert sorted(calls) == sorted(list(range(7)) + list(range(rerun))), segments
        for a, b in zip(_grads(W, x), ref):
            np.testing.assert_allclose(a, b, rtol=1e-12)
    cr.manual_seed(0)
    model = cr.nn.Sequential(cr.nn.Linear(6, 6), cr.nn.Tanh(), cr.nn.Linear(6, 6), cr.nn.Tanh())
    x32 = x.detach().float()
    model(x32).sum().backward()
    ref = [p.grad.numpy().copy() for p in model.parameters()]
    for p in model.parameters():
        p.grad = None
    checkpoint_sequential(model, 2, x32).sum().backward()
    for p, r in zip(model.parameters(), ref):
        np.testing.assert_allclose(p.grad.numpy(), r, rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="segments must be a positive int"):
        checkpoint_sequential(fns, 0, x)


def test_checkpoint_with_autograd_grad_and_nesting() -> None:
    W, x = _params()
    inner = _block(W)

    def outer(y):
        return checkpoint(inner, cr.sin(y)) + y

    gx, gW = cr.autograd.grad((outer(x) ** 2).sum(), [x, W])
    rx, rW = cr.autograd.grad((checkpoint(outer, x) ** 2).sum(), [x, W])
    np.testing.assert_allclose(rx.numpy(), gx.numpy(), rtol=1e-12)
    np.testing.assert_allclose(rW.numpy(), gW.numpy(), rtol=1e-12)


def test_checkpoint_input_modified_in_place_is_refused() -> None:
    W, x = _params()
    h = x * 1.0
    out = checkpoint(_block(W), h).sum()
    with cr.no_grad():
        h.add_(1.0)
    with pytest.raises(RuntimeError, match="modified by an in-place operation"):
        out.backward()


def test_nondeterministic_function_is_reported() -> None:
    W, x = _params()
    state = {"n": 1}

    def f(y):
        for _ in range(state["n"]):
            y = cr.tanh(y @ W)
        state["n"] += 1
        return y

    out = checkpoint(f, x).sum()
    with pytest.raises(RuntimeError, match="must run the same ops each time"):
        out.backward()


def test_checkpoint_under_no_grad_just_runs() -> None:
    W, x = _params()
    with cr.no_grad():
        out = checkpoint(_block(W), x)
    assert out.grad_fn is None
    np.testing.assert_allclose(out.numpy(), _block(W)(x).detach().numpy())
