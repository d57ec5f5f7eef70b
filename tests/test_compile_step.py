"""A whole training step inside one compiled function: backward(), zero_grad(), optimizer and
scheduler steps, manual updates.

Each case builds the same model twice from one seed, runs the step eagerly and compiled for
several calls, and compares everything the step leaves behind: the returned values, the
parameters, the buffers and every ``.grad``.  The trace counts say that the compiled code
really ran (at most two traces: the first call, and the call where ``.grad`` first exists).
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn
from chainrule.compile.tracer import GraphBreak


def _arr(v: Any) -> np.ndarray:
    if isinstance(v, cr.Tensor):
        return np.array(v.detach().numpy())
    return np.array(v if v is not None else np.nan)


def _run(build: Callable, steps: int, compiled: bool, seed: int = 0) -> tuple[list, list, Any]:
    cr.manual_seed(seed)
    fn, state = build()
    f = cr.compile(fn) if compiled else fn
    cr.manual_seed(seed + 1)
    outs = [_arr(f(cr.tensor(float(k)))) for k in range(steps)]
    return outs, [_arr(t) for t in state()], f


def _same(build: Callable, steps: int = 6, tol: float = 1e-10) -> Any:
    """Eager and compiled agree after ``steps`` calls; returns the compiled callable."""
    eo, es, _ = _run(build, steps, False)
    co, cs, f = _run(build, steps, True)
    for a, b in zip(eo + es, co + cs):
        np.testing.assert_allclose(b, a, rtol=tol, atol=tol)
    return f


def _reasons(f: Any) -> list[str]:
    return [e.eager_reason for e in f.cache.values() if e.eager_reason]


def _compiled_ran(f: Any, max_traces: int = 2) -> None:
    assert not _reasons(f), _reasons(f)
    assert 1 <= f.traces <= max_traces


def _mlp(dtype: Any = cr.float64) -> nn.Module:
    return nn.Sequential(nn.Linear(6, 16), nn.Tanh(), nn.Linear(16, 16), nn.ReLU(), nn.Linear(16, 3)).to(
        dtype
    )


OPTIMIZERS = {
    "sgd": lambda p: cr.optim.SGD(p, lr=0.05),
    "sgd-nesterov": lambda p: cr.optim.SGD(p, lr=0.05, momentum=0.9, nesterov=True, weight_decay=1e-3),
    "adam": lambda p: cr.optim.Adam(p, lr=1e-2),
    "adamw-amsgrad": lambda p: cr.optim.AdamW(p, lr=1e-2, amsgrad=True),
    "rmsprop": lambda p: cr.optim.RMSprop(p, lr=1e-2, momentum=0.5),
    "adagrad": lambda p: cr.optim.Adagrad(p, lr=1e-2),
}


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_standard_step_matches_eager(name: str) -> None:
    def build() -> tuple:
        m = _mlp()
        opt = OPTIMIZERS[name](m.parameters())
        x, y = cr.randn(12, 6, dtype=cr.float64), cr.randint(0, 3, (12,))

        def step(k: cr.Tensor) -> cr.Tensor:
            opt.zero_grad()
            loss = nn.functional.cross_entropy(m(x * (1 + k / 10)), y)
            loss.backward()
            opt.step()
            return loss

        return step, lambda: [*m.parameters(), *(p.grad for p in m.parameters())]

    f = _same(build, steps=8)
    _compiled_ran(f, max_traces=1)  # zero_grad() first: .grad's state at the start is irrelevant


def test_cnn_with_batchnorm_dropout_and_scheduler_float32() -> None:
    def build() -> tuple:
        m = nn.Sequential(
            nn.Conv2d(1, 4, 3, padding=1),
            nn.BatchNorm2d(4),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Flatten(),
            nn.Dropout(0.3),
            nn.Linear(4 * 4 * 4, 5),
        )
        opt = cr.optim.SGD(m.parameters(), lr=0.1, momentum=0.9)
        sched = cr.optim.lr_scheduler.StepLR(opt, step_size=2, gamma=0.5)
        x, y = cr.randn(6, 1, 8, 8), cr.randint(0, 5, (6,))

        def step(k: cr.Tensor) -> cr.Tensor:
            opt.zero_grad()
            loss = nn.functional.cross_entropy(m(x + k), y)
            loss.backward()
            opt.step()
            sched.step()  # lr changes every 2 calls: the replayed step reads it
            return loss

        state = lambda: [*m.parameters(), *m.buffers(), *(p.grad for p in m.parameters())]  # noqa: E731
        return step, state

    f = _same(build, steps=7, tol=1e-5)
    _compiled_ran(f, max_traces=1)


def test_d2l_manual_sgd_from_scratch() -> None:
    """The textbook's linear regression: global leaves, an in-place update under no_grad and
    ``param.grad.zero_()`` -- the .grad objects persist across calls, as in eager."""

    def build() -> tuple:
        true_w, true_b = cr.tensor([2, -3.4]), 4.2
        features = cr.normal(0, 1, (10, 2))
        labels = (features @ true_w + true_b + cr.normal(0, 0.01, (10,))).reshape(-1, 1)
        w = cr.normal(0, 0.01, size=(2, 1), requires_grad=True)
        b = cr.zeros(1, requires_grad=True)

        def sgd(params: list, lr: float, batch_size: int) -> None:
            with cr.no_grad():
                for param in params:
                    param -= lr * param.grad / batch_size
                    param.grad.zero_()

        def step(k: cr.Tensor) -> cr.Tensor:
            l = (features @ w + b - labels) ** 2 / 2 * (1 + k)  # noqa: E741
            l.sum().backward()
            sgd([w, b], 0.03, 10)
            return l.mean()

        return step, lambda: [w, b, w.grad, b.grad]

    f = _same(build, steps=6, tol=1e-6)
    _compiled_ran(f)  # call 1: .grad is None; call 2 on: it exists (accumulated into)


def test_grad_objects_persist_when_accumulated_and_are_new_when_set() -> None:
    cr.manual_seed(0)
    w = cr.randn(3, requires_grad=True)
    x = cr.randn(3)

    @cr.compile
    def accumulate(x: cr.Tensor) -> None:
        (w * x).sum().backward()

    accumulate(x)
    first = w.grad
    for _ in range(3):
        accumulate(x)
        assert w.grad is first  # written into, as eager's accumulation does
    np.testing.assert_allclose(_arr(w.grad), 4 * _arr(x))

    m = nn.Linear(3, 2)

    @cr.compile
    def fresh(x: cr.Tensor) -> None:
        m.zero_grad()
        m(x).sum().backward()

    fresh(x)
    for _ in range(3):
        held = m.weight.grad
        fresh(x)
        assert m.weight.grad is not held  # zero_grad() set it to None: a new tensor
        np.testing.assert_allclose(_arr(held), _arr(m.weight.grad))
    assert fresh.traces == 1


def _outside_loop(compiled: bool, every: int, lr_schedule: bool) -> tuple[list, Any]:
    """A compiled step called from a plain loop that steps, zeroes or changes lr outside it."""
    cr.manual_seed(0)
    m = _mlp()
    opt = cr.optim.Adam(m.parameters(), lr=1e-2)
    x = cr.randn(5, 6, dtype=cr.float64)

    def micro(k: cr.Tensor) -> cr.Tensor:
        if lr_schedule:
            opt.zero_grad()
        loss = m(x * (k + 1)).pow(2).mean() / 2
        loss.backward()
        if lr_schedule:
            opt.step()
        return loss

    f = cr.compile(micro) if compiled else micro
    out = []
    for k in range(8):
        if lr_schedule:
            opt.param_groups[0]["lr"] = 1e-2 / (1 + k)  # a schedule outside the function
        out.append(_arr(f(cr.tensor(float(k)))))
        if not lr_schedule and (k + 1) % every == 0:
            opt.step()
            opt.zero_grad()
    return out + [_arr(t) for t in [*m.parameters(), *(p.grad for p in m.parameters())]], f


def test_gradient_accumulation_zeroed_outside() -> None:
    """Micro-batches accumulate into .grad; the optimizer steps and zeroes every 2 calls."""
    want, _ = _outside_loop(False, 2, False)
    got, f = _outside_loop(True, 2, False)
    for a, b in zip(want, got):
        np.testing.assert_allclose(b, a, rtol=1e-10, atol=1e-12)
    _compiled_ran(f)  # one variant where .grad is None (a new .grad), one accumulating


def test_learning_rate_changed_outside_needs_no_retrace() -> None:
    want, _ = _outside_loop(False, 1, True)
    got, f = _outside_loop(True, 1, True)
    for a, b in zip(want, got):
        np.testing.assert_allclose(b, a, rtol=1e-10, atol=1e-12)
    _compiled_ran(f, max_traces=1)  # the replayed step reads the lr it is given


def test_autograd_grad_functional_update() -> None:
    def build() -> tuple:
        m = _mlp()
        x = cr.randn(7, 6, dtype=cr.float64)

        def step(k: cr.Tensor) -> cr.Tensor:
            loss = m(x - k).tanh().sum()
            grads = cr.autograd.grad(loss, list(m.parameters()))
            with cr.no_grad():
                for p, g in zip(m.parameters(), grads):
                    p.sub_(0.01 * g)
            return loss

        return step, lambda: list(m.parameters())

    _compiled_ran(_same(build), max_traces=1)


@pytest.mark.parametrize("how", ["optimizer-zeros-at-end", "module-zero-grad", "grad-none"])
def test_zero_grad_variants(how: str) -> None:
    def build() -> tuple:
        m = _mlp()
        opt = cr.optim.SGD(m.parameters(), lr=0.1, momentum=0.5)
        x = cr.randn(5, 6, dtype=cr.float64)

        def step(k: cr.Tensor) -> cr.Tensor:
            if how == "module-zero-grad":
                m.zero_grad()
            elif how == "grad-none":
                for p in m.parameters():
                    p.grad = None
            loss = m(x + k).square().sum()
            loss.backward()
            opt.step()
            if how == "optimizer-zeros-at-end":
                opt.zero_grad(set_to_none=False)
            return loss

        return step, lambda: [*m.parameters(), *(p.grad for p in m.parameters())]

    _compiled_ran(_same(build))


def test_returned_loss_requires_grad_and_its_graph_is_spent() -> None:
    m = nn.Linear(3, 1)
    opt = cr.optim.SGD(m.parameters(), lr=0.1)

    @cr.compile
    def step(x: cr.Tensor) -> cr.Tensor:
        opt.zero_grad()
        loss = m(x).sum()
        loss.backward()
        opt.step()
        return loss

    x = cr.randn(4, 3)
    for _ in range(3):
        loss = step(x)
        assert loss.requires_grad
        with pytest.raises(RuntimeError, match="a second time"):
            loss.backward()
    with cr.no_grad(), pytest.raises(RuntimeError, match="does not require grad"):
        step(x)  # as eager: backward() of a loss computed without grad mode


def _eager_with(build: Callable, match: str) -> None:
    eo, es, _ = _run(build, 3, False)
    co, cs, f = _run(build, 3, True)
    for a, b in zip(eo + es, co + cs):
        np.testing.assert_allclose(b, a, rtol=1e-12, atol=1e-12)
    assert any(match in r for r in _reasons(f)), _reasons(f)


def test_reading_a_parameter_after_step_runs_eagerly() -> None:
    def build() -> tuple:
        m = _mlp()
        opt = cr.optim.SGD(m.parameters(), lr=0.1)
        x = cr.randn(5, 6, dtype=cr.float64)

        def step(k: cr.Tensor) -> cr.Tensor:
            opt.zero_grad()
            m(x + k).sum().backward()
            opt.step()
            return m[0].weight.sum()  # after the step: the code would read it before

        return step, lambda: list(m.parameters())

    _eager_with(build, "read after optimizer.step()")


def test_leaf_made_inside_runs_eagerly() -> None:
    def build() -> tuple:
        x = cr.randn(5, 4, dtype=cr.float64)

        def step(k: cr.Tensor) -> cr.Tensor:
            w = cr.ones(4, dtype=cr.float64, requires_grad=True)
            (x @ w * k).sum().backward()
            return w.grad

        return step, lambda: []

    _eager_with(build, "made inside the compiled function")


def test_closure_and_metric_steps_run_eagerly() -> None:
    def lbfgs() -> tuple:
        m = nn.Linear(3, 1).double()
        opt = cr.optim.LBFGS(m.parameters(), lr=0.5, max_iter=3)
        x, y = cr.randn(8, 3, dtype=cr.float64), cr.randn(8, 1, dtype=cr.float64)

        def step(k: cr.Tensor) -> cr.Tensor:
            def closure() -> cr.Tensor:
                opt.zero_grad()
                loss = ((m(x) - y) ** 2).mean()
                loss.backward()
                return loss

            return opt.step(closure)

        return step, lambda: list(m.parameters())

    _eager_with(lbfgs, "step() with arguments")

    def plateau() -> tuple:
        m = nn.Linear(3, 1).double()
        opt = cr.optim.SGD(m.parameters(), lr=0.5)
        sched = cr.optim.lr_scheduler.ReduceLROnPlateau(opt, patience=0)
        x = cr.randn(8, 3, dtype=cr.float64)

        def step(k: cr.Tensor) -> cr.Tensor:
            opt.zero_grad()
            loss = m(x).square().mean()
            loss.backward()
            opt.step()
            sched.step(loss.detach())
            return loss

        return step, lambda: list(m.parameters())

    _eager_with(plateau, "step() with arguments")


def test_backward_into_an_outside_graph_runs_eagerly() -> None:
    cr.manual_seed(0)
    w = cr.randn(3, requires_grad=True, dtype=cr.float64)

    def f(h: cr.Tensor) -> None:
        (h * 2).sum().backward()

    c = cr.compile(f)
    for fn in (f, c):
        w.grad = None
        fn(w * 3)  # the argument's history reaches w, outside the function
        np.testing.assert_allclose(_arr(w.grad), 6.0)
    assert any("before the compiled function was called" in r for r in _reasons(c))
    with pytest.raises(GraphBreak, match="before the compiled function"):
        cr.compile(f, fullgraph=True)(w * 3)


def test_fullgraph_training_step_and_what_the_graph_shows() -> None:
    cr.manual_seed(0)
    m = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2))
    opt = cr.optim.SGD(m.parameters(), lr=0.1)

    @cr.compile(fullgraph=True)
    def step(x: cr.Tensor, y: cr.Tensor) -> cr.Tensor:
        opt.zero_grad()
        loss = nn.functional.mse_loss(m(x), y)
        loss.backward()
        opt.step()
        return loss

    x, y = cr.randn(5, 4), cr.randn(5, 2)
    step(x, y)
    step(x, y)
    table = step.graph.table()
    assert table.count(".grad = v") == 4 and table.rstrip().endswith("SGD.step()")
    assert "Mm(" in step.code and "backward" not in step.code  # the rules' ops, inline
    assert step.traces == 1


@pytest.mark.parametrize("read", ["detach", "data"])
def test_reading_a_parameter_alias_after_step_runs_eagerly(read: str) -> None:
    """``.detach()`` and ``.data`` share the parameter's array: reading them after the step must
    not return the code's value from before it."""

    def build() -> tuple:
        m = _mlp()
        opt = cr.optim.SGD(m.parameters(), lr=0.1)
        x = cr.randn(5, 6, dtype=cr.float64)

        def step(k: cr.Tensor) -> cr.Tensor:
            opt.zero_grad()
            m(x + k).sum().backward()
            opt.step()
            w = m[0].weight
            return (w.detach() if read == "detach" else w.data) * 1

        return step, lambda: list(m.parameters())

    _eager_with(build, "read after optimizer.step()")


def test_a_write_into_an_argument_before_step_lands_before_the_step() -> None:
    """Writes into arguments are replayed in trace order with the optimizer's step."""

    def run(compiled: bool) -> list:
        cr.manual_seed(0)
        w = cr.randn(3, dtype=cr.float64, requires_grad=True)
        x = cr.randn(3, dtype=cr.float64)
        opt = cr.optim.SGD([w], lr=0.1)

        def step(w: cr.Tensor, x: cr.Tensor) -> cr.Tensor:
            opt.zero_grad()
            loss = (w * x).square().sum()
            loss.backward()
            with cr.no_grad():
                w.mul_(0.5)
            opt.step()
            return loss

        f = cr.compile(step) if compiled else step
        out = [f(w, x).item() for _ in range(4)]
        return out + w.detach().numpy().tolist()

    np.testing.assert_allclose(run(True), run(False), rtol=1e-12)
