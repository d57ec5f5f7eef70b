"""Two threads training separate models at once get exactly the numbers they get one after
the other: grad mode, anomaly mode and saved-tensor hooks are per thread, the engine shares
no mutable state between backward calls."""

from __future__ import annotations

import sys
import threading

import numpy as np

import chainrule as cr
from chainrule.utils.checkpoint import checkpoint


def _data(seed: int):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((64, 8))
    y = (X @ rng.standard_normal(8) > 0).astype(np.int64)
    init = [rng.standard_normal(s) * 0.3 for s in ((16, 8), (16,), (2, 16), (2,))]
    return X, y, init


def _train(seed: int, style: str, barrier: threading.Barrier | None = None) -> dict:
    """A small MLP, 25 SGD steps; each style switches different thread-local modes."""
    X, y, init = _data(seed)
    model = cr.nn.Sequential(cr.nn.Linear(8, 16), cr.nn.Tanh(), cr.nn.Linear(16, 2)).double()
    with cr.no_grad():
        for p, v in zip(model.parameters(), init):
            p.copy_(cr.tensor(v))
    opt = cr.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    Xt, yt = cr.tensor(X), cr.tensor(y)
    losses, evals = [], []
    if barrier is not None:
        barrier.wait()
    for step in range(25):
        opt.zero_grad()
        if style == "checkpoint+anomaly":
            with cr.autograd.detect_anomaly():
                out = checkpoint(model, Xt)
                loss = cr.nn.functional.cross_entropy(out, yt)
                loss.backward()
        else:
            loss = cr.nn.functional.cross_entropy(model(Xt), yt)
            loss.backward()
        opt.step()
        losses.append(loss.item())
        if step % 5 == 0:
            with cr.no_grad():  # this thread's grad mode only
                evals.append(model(Xt).argmax(1).eq(yt).float().mean().item())
                assert not cr.is_grad_enabled()
        assert cr.is_grad_enabled()
    return {"losses": losses, "evals": evals,
            "params": [p.detach().numpy().copy() for p in model.parameters()]}


def test_concurrent_training_equals_sequential_training() -> None:
    jobs = [(1, "plain"), (2, "checkpoint+anomaly")]
    sequential = [_train(seed, style) for seed, style in jobs]
    results: list = [None, None]
    errors: list = []
    barrier = threading.Barrier(2)

    def run(i: int) -> None:
        try:
            results[i] = _train(*jobs[i], barrier=barrier)
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    old = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)  # switch threads often: the runs really interleave
    try:
        threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        sys.setswitchinterval(old)
    assert not errors, errors
    for seq, conc in zip(sequential, results):
        assert conc["losses"] == seq["losses"]
        assert conc["evals"] == seq["evals"]
        for a, b in zip(conc["params"], seq["params"]):
            np.testing.assert_array_equal(a, b)
    assert sequential[0]["losses"][-1] < sequential[0]["losses"][0]  # it did train


def test_no_grad_in_one_thread_does_not_leak_into_another() -> None:
    x = cr.ones(3, requires_grad=True)
    inside = threading.Event()
    done = threading.Event()
    seen = {}

    def holder() -> None:
        with cr.no_grad():
            inside.set()
            done.wait(5)

    th = threading.Thread(target=holder)
    th.start()
    inside.wait(5)
    y = x * 2  # recorded here although the other thread is inside no_grad()
    seen["rg"] = y.requires_grad
    done.set()
    th.join()
    assert seen["rg"] and y.grad_fn is not None
