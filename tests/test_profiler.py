"""chainrule.profiler: per-op counts and times, saved bytes, table, Chrome trace."""

from __future__ import annotations

import json
import threading

import numpy as np
import pytest

import chainrule as cr
from chainrule.autograd import engine
from chainrule.ops import _core
from chainrule.profiler import profile, record_function


def _rows(prof) -> dict:
    return {r.key: r for r in prof.key_averages()}


def _model(x, W):
    return (cr.exp(x @ W) * 2.0).sum()


def test_counts_times_and_saved_bytes_per_op_type() -> None:
    x = cr.randn(8, 16, dtype=cr.float64)
    W = cr.randn(16, 4, dtype=cr.float64).requires_grad_()
    with profile() as prof:
        for _ in range(3):
            _model(x, W).backward()
    rows = _rows(prof)
    assert set(rows) == {"Mm", "Exp", "Mul", "Sum"}
    for r in rows.values():
        assert r.count == 3 and r.backward_count == 3
        assert r.forward_us > 0 and r.backward_us > 0
    # a node keeps what the rules of its inputs that require grad name: Mm only x (W's gradient
    # is x^T g; x needs none), Exp its output, Mul only the number 2.0 (no buffer), Sum a shape
    assert rows["Exp"].saved_bytes == 3 * 8 * 4 * 8
    assert rows["Mm"].saved_bytes == 3 * 8 * 16 * 8
    assert rows["Mul"].saved_bytes == 0
    assert rows["Sum"].saved_bytes == 0


def test_ops_run_by_derivative_rules_are_not_forward_calls() -> None:
    x = cr.randn(5, dtype=cr.float64).requires_grad_()
    with profile() as prof:
        y = cr.tanh(x).sum()
    with profile() as prof2:
        y.backward()
    assert {r.key for r in prof.key_averages()} == {"Tanh", "Sum"}
    # tanh's derivative runs mul/sub inside TanhBackward: only backward rows appear
    rows = _rows(prof2)
    assert all(r.count == 0 for r in rows.values())
    assert rows["Tanh"].backward_count == 1


def test_table_sorting_and_limits() -> None:
    x = cr.randn(64, 64).requires_grad_()
    with profile() as prof:
        for _ in range(5):
            (x @ x).sum().backward()
        cr.relu(x)
    text = prof.table(sort_by="count", row_limit=2)
    lines = text.splitlines()
    assert "Name" in lines[1] and "Saved for bwd" in lines[1]
    body = [ln for ln in lines[3:] if ln and not ln.startswith("-") and "total:" not in ln]
    assert len(body) == 2 and body[0].split()[0] in ("Mm", "Sum")
    assert "Relu" in prof.table(sort_by="cpu_time_total")
    with pytest.raises(ValueError, match="unknown sort_by 'bogus'"):
        prof.table(sort_by="bogus")


def test_chrome_trace_is_valid_json(tmp_path) -> None:
    x = cr.randn(4, 4).requires_grad_()

    def other():
        cr.exp(x.detach())

    with profile(record_shapes=True) as prof:
        with record_function("my block"):
            (x * x).sum().backward()
        th = threading.Thread(target=other)
        th.start()
        th.join()
    path = tmp_path / "trace.json"
    prof.export_chrome_trace(path)
    data = json.loads(path.read_text())
    events = [e for e in data["traceEvents"] if e["ph"] == "X"]
    names = {e["name"] for e in events}
    assert {"Mul", "Sum", "MulBackward0", "SumBackward0", "my block", "Exp"} <= names
    for e in events:
        assert {"name", "cat", "ph", "ts", "dur", "pid", "tid"} <= set(e)
        assert e["dur"] >= 0 and e["ts"] >= 0
    assert len({e["tid"] for e in events}) == 2  # the other thread has its own row
    mul = next(e for e in events if e["name"] == "Mul")
    assert mul["args"]["input shapes"] == [[4, 4], [4, 4]]
    assert mul["args"]["saved for backward (bytes)"] == 64
    assert any(e["ph"] == "M" for e in data["traceEvents"])


def test_nothing_left_installed_after_the_block() -> None:
    before = (list(_core._WRAPPERS), list(engine._TAPS))
    with profile():
        with profile() as inner:
            cr.exp(cr.ones(2))
        assert len(_core._WRAPPERS) == len(before[0]) + 1 and len(engine._TAPS) == len(before[1]) + 1
    assert (_core._WRAPPERS, engine._TAPS) == before
    assert _rows(inner)["Exp"].count == 1
    with profile(enabled=False) as off:
        cr.exp(cr.ones(2))
    assert off.key_averages() == [] and (_core._WRAPPERS, engine._TAPS) == before


def test_profile_does_not_change_results() -> None:
    rng = np.random.default_rng(0)
    x = cr.tensor(rng.standard_normal((6, 6))).requires_grad_()
    cr.softmax(x @ x, 1).sum().backward()
    ref = x.grad.numpy().copy()
    x.grad = None
    with profile():
        cr.softmax(x @ x, 1).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), ref)
