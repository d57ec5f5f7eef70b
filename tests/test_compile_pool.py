"""The buffer pool of a planned program (compile/passes/memory.py ``Pool``): when it may reuse a
buffer, counted by references, on any CPython.
"""

from __future__ import annotations

import gc
import re
import sys
import types
import weakref
from typing import Any

import numpy as np

import chainrule as cr
from chainrule.compile.passes import memory as M


def _fake_314(monkeypatch: Any) -> None:
    """CPython 3.14's ``sys.getrefcount`` on this interpreter: one lower (a borrowed argument
    is no longer counted), then the pool's baseline measured again."""
    real = sys.getrefcount
    monkeypatch.setattr(M, "sys", types.SimpleNamespace(getrefcount=lambda o: real(o) - 2))
    monkeypatch.setattr(M, "REFS", list(M.REFS))
    M.measure()


def test_the_pool_uses_the_reference_baseline_measured_at_import() -> None:
    bufs = [np.empty(3)]

    def count(lst: list) -> int:
        b = lst[0]
        return sys.getrefcount(b)

    assert M.REFS == [count(bufs), count(bufs)]


def test_a_held_output_is_not_overwritten_where_getrefcount_counts_one_less(monkeypatch: Any) -> None:
    _fake_314(monkeypatch)
    assert M.REFS == [2, 2]

    @cr.compile
    def f(x: cr.Tensor) -> cr.Tensor:
        return x * 2 + 1

    a, b = cr.randn(64, 64, dtype=cr.float64), cr.randn(64, 64, dtype=cr.float64)
    f(a)
    f(a)
    y1 = f(a)
    gc.collect()
    want = a.numpy() * 2 + 1
    y2 = f(b)
    np.testing.assert_array_equal(y1.numpy(), want)
    assert not np.shares_memory(y1.numpy(), y2.numpy())
    del y1, y2
    gc.collect()
    pool = f.artefacts()[0].forward.pool
    kept = [weakref.ref(u) for u in pool.bufs]
    f(b)
    assert all(u is r() for u, r in zip(pool.bufs, kept))  # free again: reused, not reallocated


def test_a_held_old_grad_is_not_overwritten_where_getrefcount_counts_one_less(monkeypatch: Any) -> None:
    _fake_314(monkeypatch)
    cr.manual_seed(0)
    w = cr.randn(64, 64, dtype=cr.float64, requires_grad=True)
    a, b = cr.randn(64, 64, dtype=cr.float64), cr.randn(64, 64, dtype=cr.float64)

    @cr.compile
    def step(x: cr.Tensor) -> None:
        w.grad = None
        ((x @ w).tanh() ** 2).sum().backward()

    for _ in range(3):
        step(a)
    old = w.grad
    gc.collect()
    snap = old.numpy().copy()
    step(b)
    np.testing.assert_array_equal(old.numpy(), snap)
    assert old is not w.grad and not np.shares_memory(old.numpy(), w.grad.numpy())


F = cr.nn.functional
_R = np.random.default_rng(1)


def _t(*shape: int) -> cr.Tensor:
    return cr.from_numpy(_R.standard_normal(shape))


# each OUT_FORMS entry, through the public op that records it (arrays of 1 KiB or more: planned)
_CASES: dict[str, tuple] = {
    "Add": (lambda x, y: x + y * 1.5, (64, 32), (64, 32)),
    "Sub": (lambda x, y: x - y, (64, 32), (64, 32)),
    "Mul": (lambda x, y: x * y, (64, 32), (64, 32)),
    "Div": (lambda x, y: x / y, (64, 32), (64, 32)),
    "Neg": (lambda x: -x, (64, 32)),
    "Relu": (lambda x: F.relu(x), (64, 32)),
    "Reciprocal": (lambda x: cr.reciprocal(x), (64, 32)),
    "Clamp": (lambda x: cr.clamp(x, -0.5, 0.7), (64, 32)),
    "Where": (lambda x, y: cr.where(x > 0, x, y), (64, 32), (64, 32)),
    "To": (lambda x: x.to(cr.float32), (64, 32)),
    "Sum": (lambda x: x.sum(1), (256, 8)),
    "Mm": (lambda x, y: x @ y, (64, 32), (32, 16)),
    "Matmul": (lambda x, y: cr.matmul(x, y), (4, 16, 32), (32, 16)),
    "Bmm": (lambda x, y: cr.bmm(x, y), (4, 16, 32), (4, 32, 16)),
    "Mv": (lambda x, y: cr.mv(x, y), (256, 64), (64,)),
    "Linear": (lambda x, w, b: F.linear(x, w, b), (64, 32), (16, 32), (16,)),
    "LinearNoBias": (lambda x, w: F.linear(x, w), (64, 32), (16, 32)),
}


def test_every_out_form_gives_its_primitives_forward_bit_for_bit() -> None:
    from chainrule.compile.codegen import OUT_FORMS

    assert set(_CASES) == set(OUT_FORMS)
    for name, (fn, *shapes) in _CASES.items():
        c = cr.compile(fn)
        c(*[_t(*s) for s in shapes])  # (the trace)
        for _ in range(3):
            args = [_t(*s) for s in shapes]
            got, want = c(*args), fn(*args)
            assert got.dtype == want.dtype, name
            np.testing.assert_array_equal(got.numpy(), want.numpy(), err_msg=name)
        lines = [ln for ln in c.code.splitlines() if ln.rstrip().endswith(f"# {name}") or f"# {name}," in ln]
        assert any(re.search(r"out=b\d|copyto\(b\d", ln) for ln in lines), (name, c.code)
        assert c.traces == 1, name


def test_sum_and_mv_write_into_the_pool() -> None:
    x, w, v = _t(256, 8), _t(256, 64), _t(64)
    s = cr.compile(lambda x: (x * 2).sum(1))
    s(x)
    assert "xp.add.reduce(v1, axis=(1,), keepdims=False, out=b" in s.code, s.code
    m = cr.compile(lambda w, v: cr.mv(w, v) + 1)
    m(w, v)
    assert "xp.matmul(v0, v1, out=b0)  # Mv" in m.code, m.code
    for _ in range(2):
        np.testing.assert_array_equal(s(x).numpy(), (x * 2).sum(1).numpy())
        np.testing.assert_array_equal(m(w, v).numpy(), (cr.mv(w, v) + 1).numpy())


def test_a_dropped_output_buffer_is_reused_on_the_next_call() -> None:
    cr.manual_seed(0)
    model = cr.compile(cr.nn.Sequential(cr.nn.Linear(64, 64), cr.nn.Tanh()).to(cr.float64))
    x = _t(32, 64)
    model(x)
    made = []
    orig = M.Pool._block

    def block(self: Any, k: int) -> None:
        made.append(k)
        orig(self, k)

    M.Pool._block = block
    try:
        for _ in range(100):
            model(x)  # the result dropped at once
    finally:
        M.Pool._block = orig
    assert len(made) == 1, made  # the pool's first call only


def test_a_memory_error_in_ready_leaves_no_none_buffer(monkeypatch: Any) -> None:
    f = cr.compile(lambda x: ((x * 2).exp() + 1, x * 3))  # two escaping buffers
    x = _t(64, 64)
    want = (x * 2).exp().numpy() + 1
    f(x)  # (the trace)
    real = np.empty
    for fail_at in (1, 2):  # the pool's first call: allocating its first, its second buffer
        n = [0]

        def empty(*a: Any, **k: Any) -> Any:
            n[0] += 1
            if n[0] == fail_at:
                raise MemoryError
            return real(*a, **k)

        monkeypatch.setattr(M.np, "empty", empty)
        pool = f.artefacts()[0].forward.pool
        pool.bufs = None
        try:
            f(x)
        except MemoryError:
            pass
        monkeypatch.setattr(M.np, "empty", real)
        assert n[0] == fail_at
        assert pool.bufs is None or all(b is not None for b in pool.bufs)
        np.testing.assert_array_equal(f(x)[0].numpy(), want)
        assert len(pool.bufs) == 2 and all(type(b) is np.ndarray for b in pool.bufs)
