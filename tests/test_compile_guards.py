"""chainrule.compile: tensors and Python values a compiled function reads from outside.

A function that picks its data from a global list with a counter, from a closure's list or
dict, from a module's attribute or a config object must see, on every compiled call, what
eager would see: a reassigned tensor is read where the function found it (no retrace), a
changed counter, length or scalar is a new guard value (a retrace), and a tensor the call
writes or differentiates must be the traced one (a retrace otherwise).  Each call compares
the compiled result with the eager function's on the same state; the trace counts say when
the compiler reused its code.
"""

from __future__ import annotations

import importlib.util
import sys
import types
from pathlib import Path

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn


def _d(t: cr.Tensor) -> np.ndarray:
    return t.detach().numpy()


def _eager_reasons(c: cr.compile) -> list:
    return [e.eager_reason for e in c.cache.values() if e.eager_reason]


def _t(*v: float) -> cr.Tensor:
    return cr.tensor(np.array(v))


DATA = [_t(1.0, 2.0), _t(10.0, 20.0), _t(100.0, 200.0)]
I = 0
G = _t(1.0, 2.0)
TABLE = {"a": _t(1.0, 2.0), "b": _t(3.0, 4.0)}


def _pick(w: cr.Tensor) -> cr.Tensor:
    return w * DATA[I]


def test_global_list_and_global_counter() -> None:
    global I
    f = cr.compile(_pick)
    w = _t(1.0, -1.0)
    for step in range(9):
        I = step % 3
        np.testing.assert_array_equal(_d(f(w)), _d(_pick(w)))
    assert f.traces == 3 and not _eager_reasons(f)  # one variant per counter value
    old = DATA[1]
    try:
        DATA[1] = _t(-5.0, 7.0)  # an item replaced: read where it is, no retrace
        I = 1
        np.testing.assert_array_equal(_d(f(w)), [-5.0, -7.0])
        assert f.traces == 3
        DATA.append(_t(0.0, 0.0))  # a new length is a new guard value
        np.testing.assert_array_equal(_d(f(w)), [-5.0, -7.0])
        assert f.traces == 4
    finally:
        DATA[1] = old
        del DATA[3:]
        I = 0


def test_reassigned_global_tensor_is_read_at_call_time() -> None:
    global G

    def f(w: cr.Tensor) -> cr.Tensor:
        return (w + G).exp()

    c = cr.compile(f)
    w = _t(0.5, 0.25)
    old = G
    try:
        for v in (1.0, 2.0, 3.0, 4.0):
            G = _t(v, -v)
            np.testing.assert_array_equal(_d(c(w)), _d(f(w)))
        assert c.traces == 1 and not _eager_reasons(c)
        G = cr.tensor(np.array([1.0, 2.0], dtype=np.float32))  # a new dtype: a retrace
        np.testing.assert_array_equal(_d(c(w)), _d(f(w)))
        G = _t(1.0, 2.0, 3.0)[1:]  # a view: the guard checks it as a new tensor (a retrace)
        np.testing.assert_array_equal(_d(c(w)), _d(f(w)))
        assert c.traces == 3
    finally:
        G = old


def test_closure_list_and_a_counter_kept_in_a_list() -> None:
    data = [_t(1.0, 2.0), _t(3.0, 4.0)]
    count = [0]

    def f(w: cr.Tensor) -> cr.Tensor:
        return w * data[count[0]] + len(data)

    c = cr.compile(f)
    w = _t(2.0, 3.0)
    for k in (0, 1, 0, 1):
        count[0] = k
        np.testing.assert_array_equal(_d(c(w)), _d(f(w)))
    assert c.traces == 2
    data[0] = _t(-1.0, 9.0)
    count[0] = 0
    np.testing.assert_array_equal(_d(c(w)), _d(f(w)))
    assert c.traces == 2
    data.pop()
    np.testing.assert_array_equal(_d(c(w)), _d(f(w)))  # len(data) changed
    assert c.traces == 3


def test_dict_of_tensors() -> None:
    def f(w: cr.Tensor, name: str) -> cr.Tensor:
        return w @ TABLE[name]

    c = cr.compile(f)
    w = _t(1.0, 1.0)
    old = dict(TABLE)
    try:
        for name in ("a", "b", "a"):
            np.testing.assert_array_equal(_d(c(w, name)), _d(f(w, name)))
        TABLE["a"] = _t(7.0, 8.0)  # a value replaced
        np.testing.assert_array_equal(_d(c(w, "a")), 15.0)
        assert c.traces == 2
        TABLE["c"] = _t(0.0, 1.0)  # a key added: a new guard value
        np.testing.assert_array_equal(_d(c(w, "a")), 15.0)
        np.testing.assert_array_equal(_d(c(w, "c")), 1.0)
        assert c.traces == 4
    finally:
        TABLE.clear()
        TABLE.update(old)


def test_module_tensor_attribute_reassigned() -> None:
    class Scale(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.lin = nn.Linear(2, 2)
            self.table = _t(1.0, 2.0).float()  # neither a parameter nor a buffer

        def forward(self, x: cr.Tensor) -> cr.Tensor:
            return self.lin(x) * self.table

    m = Scale()
    c = cr.compile(m)
    x = cr.randn(3, 2)
    np.testing.assert_array_equal(_d(c(x)), _d(m(x)))
    np.testing.assert_array_equal(_d(c(x)), _d(m(x)))
    m.table = _t(-3.0, 5.0).float()
    np.testing.assert_array_equal(_d(c(x)), _d(m(x)))
    assert c._compiled.traces == 2  # the module's tensor attributes are guarded by identity


def test_python_module_and_config_object_attributes(tmp_path: Path) -> None:
    src = "import chainrule as cr\nimport numpy as np\nW = cr.tensor(np.array([1.0, 2.0]))\nSCALE = 2.0\n"
    (tmp_path / "guards_cfg.py").write_text(src)
    spec = importlib.util.spec_from_file_location("guards_cfg", tmp_path / "guards_cfg.py")
    cfg = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(cfg)
    opts = types.SimpleNamespace(shift=1.0, bias=_t(0.5, 0.5))

    def f(x: cr.Tensor) -> cr.Tensor:
        return x * cfg.W * cfg.SCALE + opts.shift + opts.bias

    c = cr.compile(f)
    x = _t(1.0, 3.0)
    np.testing.assert_array_equal(_d(c(x)), _d(f(x)))
    cfg.W = _t(-1.0, 4.0)  # a module's tensor: read where it is
    opts.bias = _t(2.0, 1.0)  # an object's tensor
    np.testing.assert_array_equal(_d(c(x)), _d(f(x)))
    assert c.traces == 1 and not _eager_reasons(c)
    cfg.SCALE = 3.0  # Python scalars the code reads: new guard values
    np.testing.assert_array_equal(_d(c(x)), _d(f(x)))
    opts.shift = -1.0
    np.testing.assert_array_equal(_d(c(x)), _d(f(x)))
    assert c.traces == 3


SCALE = 2.0
HELPER_T = _t(1.0, 1.0)


def _helper(x: cr.Tensor) -> cr.Tensor:
    return x * SCALE + HELPER_T


def test_a_helpers_globals() -> None:
    global SCALE, HELPER_T

    def f(x: cr.Tensor) -> cr.Tensor:
        return _helper(x).sin()

    c = cr.compile(f)
    x = _t(0.5, 1.5)
    old = SCALE, HELPER_T
    try:
        np.testing.assert_array_equal(_d(c(x)), _d(f(x)))
        HELPER_T = _t(-2.0, 2.0)
        np.testing.assert_array_equal(_d(c(x)), _d(f(x)))
        assert c.traces == 1
        SCALE = 5.0
        np.testing.assert_array_equal(_d(c(x)), _d(f(x)))
        assert c.traces == 2
    finally:
        SCALE, HELPER_T = old


def test_a_written_outside_tensor_reassigned_retraces() -> None:
    acc = [cr.zeros(2, dtype=cr.float64)]

    def f(x: cr.Tensor) -> cr.Tensor:
        acc[0].add_(x)
        return acc[0] * 2

    c = cr.compile(f)
    x = _t(1.0, 2.0)
    c(x), c(x)
    np.testing.assert_array_equal(_d(acc[0]), [2.0, 4.0])
    first = acc[0]
    acc[0] = cr.zeros(2, dtype=cr.float64)  # the write must go into the new tensor
    np.testing.assert_array_equal(_d(c(x)), [2.0, 4.0])
    np.testing.assert_array_equal(_d(c(x)), [4.0, 8.0])
    np.testing.assert_array_equal(_d(first), [2.0, 4.0])
    np.testing.assert_array_equal(_d(acc[0]), [2.0, 4.0])
    assert c.traces == 2


def test_a_reassigned_tensor_that_requires_grad_gets_the_gradient() -> None:
    ws = {"w": _t(1.0, 2.0).requires_grad_()}

    def f(x: cr.Tensor) -> cr.Tensor:
        return (ws["w"] * x).sum()

    c = cr.compile(f)
    x = _t(3.0, 4.0)
    c(x).backward(), c(x).backward()
    np.testing.assert_array_equal(_d(ws["w"].grad), [6.0, 8.0])
    old = ws["w"]
    ws["w"] = _t(5.0, 5.0).requires_grad_()
    loss = c(x)
    loss.backward()
    assert float(loss) == 35.0
    np.testing.assert_array_equal(_d(ws["w"].grad), [3.0, 4.0])
    np.testing.assert_array_equal(_d(old.grad), [6.0, 8.0])
    assert c.traces == 2


def test_a_global_that_becomes_the_written_argument_is_read_after_the_write() -> None:
    box = [_t(1.0, 1.0)]

    def f(x: cr.Tensor) -> cr.Tensor:
        x.mul_(2)
        return x + box[0]

    c = cr.compile(f)
    for _ in range(2):
        np.testing.assert_array_equal(_d(c(_t(1.0, 2.0))), [3.0, 5.0])
    a = _t(1.0, 2.0)
    box[0] = a  # the argument itself: eager reads it after the write
    np.testing.assert_array_equal(_d(c(a)), [4.0, 8.0])
    a = _t(1.0, 2.0)
    box[0] = cr.from_numpy(a.numpy()[::-1])  # a tensor of its own sharing the argument's memory
    np.testing.assert_array_equal(_d(c(a)), [6.0, 6.0])
    a = _t(1.0, 2.0)
    box[0] = _t(0.0, 1.0)  # unrelated again: read as an input
    np.testing.assert_array_equal(_d(c(a)), [2.0, 5.0])


def test_training_step_on_batches_reassigned_outside() -> None:
    """The notebook pattern: ``X, y`` are globals of the loop that a compiled step reads."""
    rng = np.random.default_rng(0)
    batches = [(rng.standard_normal((16, 4)), rng.integers(0, 3, 16)) for _ in range(6)]

    def run(compiled: bool) -> list:
        cr.manual_seed(0)
        model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3)).double()
        opt = cr.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
        state = {}

        def step() -> cr.Tensor:
            opt.zero_grad()
            loss = nn.functional.cross_entropy(model(state["X"]), state["y"])
            loss.backward()
            opt.step()
            return loss

        fn = cr.compile(step) if compiled else step
        for xb, yb in batches:
            state["X"], state["y"] = cr.tensor(xb), cr.tensor(yb)
            fn()
        if compiled:
            assert fn.traces == 1 and not _eager_reasons(fn)
        return [_d(p) for p in model.parameters()]

    for got, want in zip(run(True), run(False)):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-14)


def test_explain_names_the_outside_values() -> None:
    def f(w: cr.Tensor) -> cr.Tensor:
        return w * DATA[I] * SCALE

    out = cr.compiler.explain(f, _t(1.0, 2.0))
    text = "\n".join(out.guards)
    assert "global DATA: list of 3" in text and "global I: int == 0" in text and "SCALE: float == 2.0" in text


def test_a_huge_list_is_guarded_by_its_length_and_its_tensors_still_read_where_they_are() -> None:
    big = [_t(float(k), 1.0) for k in range(2000)]
    pos = [0]

    def f(w: cr.Tensor) -> cr.Tensor:
        return w * big[pos[0]]

    c = cr.compile(f)
    w = _t(1.0, 2.0)
    np.testing.assert_array_equal(_d(c(w)), [0.0, 2.0])
    big[0] = _t(-1.0, -1.0)
    np.testing.assert_array_equal(_d(c(w)), [-1.0, -2.0])
    pos[0] = 5
    np.testing.assert_array_equal(_d(c(w)), [5.0, 2.0])
    assert c.traces == 2


@pytest.fixture(autouse=True)
def _no_leftover_module() -> None:
    yield
    sys.modules.pop("guards_cfg", None)


def test_random_programs_reading_their_leaves_from_a_closure() -> None:
    """tests/fuzz_compile.py with ``outside=True``: new leaf tensors in the closure on every call."""
    import fuzz_compile

    before = dict(fuzz_compile.STATS)
    fuzz_compile.fuzz_test(max_examples=120, derandomize=True, outside=True)()
    ran, compiled = (fuzz_compile.STATS[k] - before.get(k, 0) for k in ("programs", "compiled"))
    assert ran >= 120 and compiled >= 0.8 * ran, dict(fuzz_compile.STATS)


def test_a_compiled_method_of_a_module_guards_the_module() -> None:
    class Net(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.lin = nn.Linear(2, 2)
            self.k = 2.0

        @cr.compile
        def forward(self, x: cr.Tensor) -> cr.Tensor:
            return self.lin(x) * self.k

    m = Net()
    x = cr.randn(3, 2)
    m(x), m(x)
    (c,) = [v for k, v in m.__dict__.items() if k.startswith("_compiled_")]
    assert c.traces == 1 and not _eager_reasons(c)  # the parameters are known, not unknown tensors
    m.k = 3.0
    np.testing.assert_array_equal(_d(m(x)), _d(m.lin(x) * 3.0))
    assert c.traces == 2
