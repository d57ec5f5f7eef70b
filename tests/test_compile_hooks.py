"""Hooks and compiled functions: each hook runs on every call, as often and with the values
eager gives it, or the function runs eagerly (``explain`` says why) -- never a hook run on
the tracing call only.  Every case runs the same code eagerly and compiled and compares what
the hooks saw, call by call.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

import chainrule as cr
from chainrule import nn

F = nn.functional


def _np(t: Any) -> np.ndarray:
    return np.array(t.detach().numpy())


def _data(n: int, shape: tuple = (8, 6)) -> list:
    rng = np.random.default_rng(0)
    return [cr.from_numpy(rng.standard_normal(shape)) for _ in range(n)]


def _same_log(run: Callable) -> Any:
    """run(compiled) -> (hook log, other arrays, compiled callable or None)."""
    le, oe, _ = run(False)
    lc, oc, f = run(True)
    le, lc = [_np(t) for t in le], [_np(t) for t in lc]  # (captured tensors: unchanged since?)
    assert len(lc) == len(le), (len(lc), len(le))
    for a, b in zip(le, lc):
        np.testing.assert_allclose(b, a, rtol=1e-12, atol=1e-12)
    for a, b in zip(oe, oc):
        np.testing.assert_allclose(b, a, rtol=1e-12, atol=1e-12)
    return f


def test_a_hook_on_an_input_runs_once_per_call_with_eagers_gradient() -> None:
    cr.manual_seed(0)
    w = cr.randn(6, 6, dtype=cr.float64, requires_grad=True)
    xs = _data(4)

    def run(compiled: bool) -> tuple:
        f = cr.compile(lambda x: (x @ w).tanh()) if compiled else (lambda x: (x @ w).tanh())
        log, grads = [], []
        for x0 in xs:
            x = x0.clone().requires_grad_()
            x.register_hook(lambda g: log.append(g))
            (f(x) ** 2).sum().backward()
            grads.append(_np(x.grad))
        w.grad = None
        return log, grads, f

    f = _same_log(run)
    assert f.traces == 1 and f.artefacts()  # compiled calls after the first


def test_a_hook_that_scales_an_inputs_gradient_is_applied_once() -> None:
    cr.manual_seed(0)
    w = cr.randn(6, 6, dtype=cr.float64, requires_grad=True)
    xs = _data(3)

    def run(compiled: bool) -> tuple:
        f = cr.compile(lambda x: (x @ w).sin()) if compiled else (lambda x: (x @ w).sin())
        out = []
        w.register_hook(lambda g: g * 3)
        for x0 in xs:
            x = x0.clone().requires_grad_()
            x.register_hook(lambda g: g * 2)
            f(x).sum().backward()
            out += [_np(x.grad), _np(w.grad)]
            w.grad = None
        w._meta["hooks"].clear()
        return [], out, f

    _same_log(run)


def _mlp() -> Any:
    cr.manual_seed(0)
    return nn.Sequential(nn.Linear(6, 5), nn.Tanh(), nn.Linear(5, 3)).to(cr.float64)


def _train(compiled: bool, setup: Callable, calls: int = 5, late: Callable | None = None) -> tuple:
    m = _mlp()
    opt = cr.optim.SGD(m.parameters(), lr=0.1)
    log: list = []
    setup(m, log)
    ys = [cr.from_numpy(np.arange(8) % 3) for _ in range(calls)]
    xs = _data(calls)

    def step(x: Any, y: Any) -> Any:
        opt.zero_grad()
        loss = F.cross_entropy(m(x), y)
        loss.backward()
        opt.step()
        return loss

    f = cr.compile(step) if compiled else step
    losses = []
    for k in range(calls):
        if late is not None and k == 2:
            late(m, log)
        losses.append(_np(f(xs[k], ys[k])))
    return log, losses + [_np(p) for p in m.parameters()], (f if compiled else None)


def _reasons(f: Any) -> str:
    return " ".join(str(e.eager_reason) for e in f.cache.values())


def test_a_capturing_grad_hook_on_a_parameter_runs_on_every_call_of_a_compiled_step() -> None:
    def setup(m: Any, log: list) -> None:
        m[0].weight.register_hook(lambda g: g * 2)
        m[2].weight.register_hook(lambda g: log.append(g))

    f = _same_log(lambda c: _train(c, setup))
    assert "gradient hook" in _reasons(f)


def test_a_grad_hook_registered_after_the_trace_still_runs() -> None:
    def late(m: Any, log: list) -> None:
        m[2].bias.register_hook(lambda g: log.append(g))

    f = _same_log(lambda c: _train(c, lambda m, log: None, late=late))
    assert "gradient hook" in _reasons(f)


def test_a_post_accumulate_grad_hook_registered_after_the_trace_still_runs() -> None:
    def late(m: Any, log: list) -> None:
        m[0].bias.register_post_accumulate_grad_hook(lambda p: log.append(p.grad.clone()))

    _same_log(lambda c: _train(c, lambda m, log: None, late=late))


def test_a_forward_hook_capturing_activations_runs_on_every_call() -> None:
    def setup(m: Any, log: list) -> None:
        m[1].register_forward_hook(lambda mod, args, out: log.append(out))

    f = _same_log(lambda c: _train(c, setup))
    assert "hook on the module Tanh" in _reasons(f)


def test_a_forward_hook_on_a_compiled_module_runs_on_every_call() -> None:
    xs = _data(4)

    def run(compiled: bool) -> tuple:
        m = _mlp()
        log: list = []
        m.register_forward_pre_hook(lambda mod, args: log.append(args[0]))
        f = cr.compile(m) if compiled else m
        outs = [_np(f(x)) for x in xs]
        return log, outs, (f.__dict__["_compiled"] if compiled else None)

    _same_log(run)


def test_a_full_backward_hook_registered_after_the_trace_runs_on_every_call() -> None:
    xs = _data(4)

    def run(compiled: bool) -> tuple:
        m = _mlp()
        log: list = []
        f = cr.compile(m) if compiled else m
        grads = []
        for k, x in enumerate(xs):
            if k == 2:
                m[2].register_full_backward_hook(lambda mod, gi, go: log.append(go[0]))
            f(x).pow(2).sum().backward()
            grads += [_np(p.grad) for p in m.parameters()]
            m.zero_grad()
        return log, grads, None

    _same_log(run)


def test_a_hook_on_an_intermediate_makes_the_function_eager() -> None:
    cr.manual_seed(0)
    w = cr.randn(6, 6, dtype=cr.float64, requires_grad=True)
    xs = _data(4)

    def run(compiled: bool) -> tuple:
        log: list = []

        def fn(x: Any) -> Any:
            h = x @ w
            h.register_hook(lambda g: log.append(g))
            return h.tanh()

        f = cr.compile(fn) if compiled else fn
        grads = []
        for x in xs:
            f(x).sum().backward()
            grads.append(_np(w.grad))
            w.grad = None
        return log, grads, (f if compiled else None)

    f = _same_log(run)
    assert "gradient hook" in _reasons(f)
