"""detect_anomaly: the first NaN/Inf gradient names the op, the input and the user's line."""

from __future__ import annotations

import threading

import numpy as np
import pytest

import chainrule as cr
from chainrule.autograd import anomaly, engine
from chainrule.autograd.anomaly import AnomalyError, is_anomaly_check_nan_enabled
from chainrule.ops import _core

with open(__file__) as _f:
    _LINES = _f.read().splitlines()


def _line(tag: str) -> int:
    """The line number of the line ending in ``# <tag>``."""
    return next(i + 1 for i, ln in enumerate(_LINES) if ln.rstrip().endswith(f"# {tag}"))


def _weights():
    rng = np.random.default_rng(0)
    x = cr.tensor(rng.uniform(0.5, 1.0, (4, 3)))
    Ws = [cr.tensor(rng.uniform(0.5, 1.0, (3, 3))).requires_grad_() for _ in range(3)]
    return x, Ws


def model_sqrt(x, W1, W2, W3):
    h1 = cr.tanh(x @ W1)
    h2 = cr.sqrt(h1 @ W2 - 10.0)  # ANOMALY:sqrt
    return (h2 @ W3).sum()


def model_log(x, W1, W2, W3):
    h1 = cr.relu(x @ W1 - 100.0)
    h2 = cr.log(h1 @ W2)  # ANOMALY:log
    return (h2 @ W3).sum()


def model_div(x, W1, W2, W3):
    h1 = cr.relu(x @ W1 - 100.0)
    a = h1 @ W2
    h2 = a / a  # ANOMALY:div
    return (h2 @ W3).sum()


@pytest.mark.parametrize("model,tag,op", [(model_sqrt, "sqrt", "sqrt"), (model_log, "log", "log"),
                                          (model_div, "div", "div")])
def test_points_at_the_user_line_of_the_first_nonfinite_op(model, tag, op) -> None:
    x, (W1, W2, W3) = _weights()
    with cr.autograd.detect_anomaly():
        loss = model(x, W1, W2, W3)
        with pytest.raises(AnomalyError) as info:
            loss.backward()
    msg = str(info.value)
    line = _line(f"ANOMALY:{tag}")
    # the failing node is the matmul of the third layer (W3's gradient is h2.T @ g) ...
    assert "MmBackward0 returned" in msg and "for its input 1 (shape (3, 3), float64" in msg
    assert info.value.input_index == 1
    # ... and the error shows where the non-finite values came from: the user's line
    assert f"{op} (" in msg and f'test_anomaly.py", line {line}, in {model.__name__}' in msg
    assert _LINES[line - 1].strip() in msg
    origin = info.value.origin
    assert origin.op.public == op and origin.meta["trace"][0][1] == line
    # nothing non-finite was written: W3's gradient was refused before accumulation
    assert W1.grad is None and W2.grad is None and W3.grad is None


def test_node_that_produces_inf_itself_is_named_with_its_line() -> None:
    x = cr.tensor([0.0, 4.0], dtype=cr.float64).requires_grad_()
    with cr.autograd.detect_anomaly():
        y = cr.sqrt(x * 1.0)  # ANOMALY:own
        with pytest.raises(AnomalyError) as info:
            y.sum().backward()
    msg = str(info.value)
    assert msg.startswith("detect_anomaly: SqrtBackward0 returned inf values in the gradient for "
                          "its input 0 (shape (2,), float64")
    assert f"line {_line('ANOMALY:own')}" in msg and "y = cr.sqrt(x * 1.0)" in msg
    assert "first op behind it" not in msg  # sqrt(0) = 0 is finite: no earlier origin
    assert info.value.frames[0][1] == _line("ANOMALY:own")
    assert x.grad is None


def test_off_by_default_and_free_when_off() -> None:
    assert not cr.autograd.is_anomaly_enabled()
    assert anomaly._wrapper not in _core._WRAPPERS and anomaly._tap not in engine._TAPS
    x = cr.tensor([-1.0, 4.0]).requires_grad_()
    y = cr.sqrt(x)
    assert y.grad_fn.meta is None  # no trace recorded
    y.sum().backward()  # NaN gradient, no error
    assert np.isnan(x.grad.numpy()[0])


def test_set_detect_anomaly_decorator_and_check_nan_false() -> None:
    cr.autograd.set_detect_anomaly(True)
    try:
        assert cr.autograd.is_anomaly_enabled() and is_anomaly_check_nan_enabled()
        assert anomaly._wrapper in _core._WRAPPERS and anomaly._tap in engine._TAPS
    finally:
        cr.autograd.set_detect_anomaly(False)
    assert anomaly._wrapper not in _core._WRAPPERS and anomaly._tap not in engine._TAPS

    @cr.autograd.detect_anomaly(check_nan=False)
    def run():
        x = cr.tensor([-1.0]).requires_grad_()
        y = cr.sqrt(x)  # ANOMALY:traced
        y.sum().backward()  # no NaN check
        return y

    y = run()
    assert y.grad_fn.meta["trace"][0][1] == _line("ANOMALY:traced")
    assert not cr.autograd.is_anomaly_enabled()


def test_anomaly_mode_is_thread_local() -> None:
    seen = {}

    def other():
        seen["enabled"] = cr.autograd.is_anomaly_enabled()
        x = cr.tensor([0.0]).requires_grad_()
        cr.sqrt(x).sum().backward()  # must not raise here: this thread did not turn it on
        seen["grad"] = x.grad.numpy()[0]

    with cr.autograd.detect_anomaly():
        th = threading.Thread(target=other)
        th.start()
        th.join()
        assert cr.autograd.is_anomaly_enabled()
        x = cr.tensor([0.0]).requires_grad_()
        with pytest.raises(AnomalyError, match="SqrtBackward0 returned inf"):  # but it is on here
            cr.sqrt(x).sum().backward()
    assert seen == {"enabled": False, "grad": np.inf}


def test_errors_inside_nn_modules_point_past_chainrule_frames() -> None:
    lin = cr.nn.Linear(2, 2).double()
    with cr.no_grad():
        lin.weight.fill_(1.0)
        lin.bias.fill_(0.0)
    x = cr.tensor([[0.0, 0.0]], dtype=cr.float64)
    with cr.autograd.detect_anomaly():
        h = cr.sqrt(lin(x))  # ANOMALY:module
        with pytest.raises(AnomalyError) as info:
            h.sum().backward()
    assert info.value.frames[0][1] == _line("ANOMALY:module")
    assert all("chainrule/" not in f[0] for f in info.value.frames)
