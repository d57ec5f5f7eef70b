"""chainrule.memory: bytes held by chainrule's arrays, on the y = tanh(y @ W) chain and in detail."""

from __future__ import annotations

import math
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import chainrule as cr
import chainrule.memory as mem
from chainrule.autograd import engine
from chainrule.ops import _core
from chainrule.utils.checkpoint import checkpoint_sequential

B, D = 256, 64
ACT = B * D * 4  # bytes of one float32 activation


@pytest.fixture(autouse=True)
def tracking():
    mem.enable()
    yield
    mem.disable()  # the rest of the test suite runs without the wrapper


def _chain(n: int, mode: str, W: cr.Tensor) -> int:
    """Peak bytes above what was held before, for one forward (+ backward) of n layers."""
    x = cr.tensor(np.random.default_rng(n).standard_normal((B, D)).astype(np.float32))
    fns = [lambda y: cr.tanh(y @ W)] * n
    mem.reset_peak_memory_stats()
    before = mem.memory_allocated()
    if mode == "no_grad":
        with cr.no_grad():
            y = x
            for f in fns:
                y = f(y)
    elif mode == "grad":
        y = x
        for f in fns:
            y = f(y)
        y.sum().backward()
    else:
        y = checkpoint_sequential(fns, int(round(math.sqrt(n))), x)
        y.sum().backward()
    peak = mem.max_memory_allocated() - before
    del y
    W.grad = None
    return peak


def _weight() -> cr.Tensor:
    rng = np.random.default_rng(0)
    return cr.tensor((rng.standard_normal((D, D)) / np.sqrt(D)).astype(np.float32)).requires_grad_()


def test_three_regimes_on_the_tanh_chain() -> None:
    W = _weight()
    peaks = {(m, n): _chain(n, m, W) for m in ("no_grad", "grad", "checkpoint") for n in (16, 64)}
    ng16, ng64 = peaks["no_grad", 16], peaks["no_grad", 64]
    g16, g64 = peaks["grad", 16], peaks["grad", 64]
    c16, c64 = peaks["checkpoint", 16], peaks["checkpoint", 64]
    # no_grad: O(1) -- the previous activation, the matmul result and the new one
    assert ng16 == ng64 and ng16 <= 3 * ACT
    # grad: O(n) -- one saved activation per layer (tanh's output is the next matmul's input)
    assert 64 * ACT <= g64 <= 70 * ACT and 16 * ACT <= g16 <= 22 * ACT
    assert (g64 - g16) == pytest.approx(48 * ACT, rel=0.02)
    # checkpoint over sqrt(n) segments: O(sqrt(n)) -- (k - 1) segment inputs + one segment's
    # values + a few gradients, i.e. about 2 sqrt(n) + 3 activations
    assert c64 <= (2 * 8 + 3) * ACT and c16 <= (2 * 4 + 3) * ACT
    assert c64 / c16 < 2.0 < g64 / g16 / 1.5
    assert c64 < g64 / 3


def test_checkpoint_compute_overhead_counted_in_matmuls() -> None:
    """Checkpointing re-runs the forward of all but the last segment: <= 1.5x the matmul work."""
    W = _weight()
    work = {}
    for mode in ("grad", "checkpoint"):
        flops = [0]

        def forward(op, args, params, inner, flops=flops):
            flops[0] += op.name == "Mm"  # one matmul
            return inner(op, args, params)

        def backward(flops=flops):
            def seen(node, g, outs):
                flops[0] += 2 * (node.op.name == "Mm")  # two matmuls: for x and for W

            return seen

        removers = [_core.add_apply_wrapper(forward), engine.add_backward_tap(backward)]
        try:
            _chain(64, mode, W)
        finally:
            for r in removers:
                r()
        work[mode] = flops[0]
    assert work["grad"] == 3 * 64
    # 8 segments of 8: the first 7 are recomputed once
    assert work["checkpoint"] == 3 * 64 + 7 * 8
    assert work["checkpoint"] / work["grad"] <= 1.5


def test_views_share_their_buffer_and_frees_are_seen() -> None:
    x = cr.ones(1000, dtype=cr.float64) * 2.0  # made by an op: tracked
    held = mem.memory_allocated()
    v = x.reshape(10, 100)[2:5]
    w = x[::2]
    assert mem.memory_allocated() == held  # views: no new buffer
    del x
    assert mem.memory_allocated() == held  # the views keep the buffer alive
    del v, w
    assert mem.memory_allocated() == held - 8000


def test_saved_for_backward_counted_until_backward_frees_it() -> None:
    x = cr.ones(1000, dtype=cr.float64).requires_grad_()
    mem.reset_peak_memory_stats()  # registers x, made by a creation function
    base = mem.memory_allocated()
    assert base >= 8000
    y = cr.exp(x * 1.0)  # x * 1.0 is dropped; exp keeps its output for backward
    loss = y.sum()
    del y
    held = mem.memory_allocated() - base
    assert held >= 8000  # exp's saved output, though no tensor refers to it any more
    loss.backward()
    del loss
    assert mem.memory_allocated() - base == 8000  # only x.grad is left
    assert x.grad is not None


def test_peak_and_reset() -> None:
    base = mem.memory_allocated()
    mem.reset_peak_memory_stats()
    a = cr.zeros(10_000, dtype=cr.float64) + 1.0
    del a
    assert mem.max_memory_allocated() - base >= 80_000
    assert mem.memory_allocated() == base
    mem.reset_peak_memory_stats()
    assert mem.max_memory_allocated() == mem.memory_allocated()
    stats = mem.memory_stats()
    assert stats["allocated_bytes.all.current"] == mem.memory_allocated()
    assert stats["allocation.all.freed"] >= 1


def test_off_by_default_and_free_when_off() -> None:
    """A fresh process has no wrapper or tap; the first query finds tensors made before it."""
    code = textwrap.dedent("""
        import chainrule as cr
        from chainrule.ops import _core
        from chainrule.autograd import engine
        x = cr.zeros(250_000)  # 1 MB, made before tracking starts
        y = (x + 1).exp()
        assert not _core._WRAPPERS and not engine._TAPS
        assert not cr.memory.is_enabled()
        n = cr.memory.memory_allocated()
        assert n >= 2_000_000, n
        assert cr.memory.is_enabled() and len(_core._WRAPPERS) == 1
        cr.memory.disable()
        assert not _core._WRAPPERS and not engine._TAPS
        print("ok")
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"


def test_enable_as_context_manager_restores_off() -> None:
    mem.disable()
    with mem.enable():
        assert mem.is_enabled()
    assert not mem.is_enabled()
