"""The buffer pool of a planned program (compile/passes/memory.py ``Pool``): when it may reuse a
buffer, counted by references, on any CPython.
"""

from __future__ import annotations

import gc
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
