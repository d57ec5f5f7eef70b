"""Memory planning (compile/passes/memory.py): compiled programs write into a pool of buffers
allocated on their first call and reused on every later call.

The measures: a training step's results against eager's; the large allocations of a
steady-state step, counted with ``tracemalloc`` (NumPy reports its data buffers to it) for
eager and compiled; peak memory (``chainrule.memory`` sees tensors only, so the pool's raw
arrays are measured with ``tracemalloc`` too); and that buffers are reused only where that
is safe (results and ``.grad`` still held by the caller, other threads, inputs laid out
otherwise than when traced).
"""

from __future__ import annotations

import os
import sys
import threading
import tracemalloc
from typing import Any, Callable

import numpy as np
import pytest
import scipy.linalg.blas as blas

import chainrule as cr
from chainrule import nn
from chainrule.compile.codegen import MIN_BYTES

F = nn.functional
BIG = 64 * 1024


def _big_allocations(fn: Callable[[], Any], threshold: int = BIG) -> list[tuple[str, int]]:
    """The allocations of ``threshold`` bytes or more while ``fn()`` runs, as (where, bytes).

    tracemalloc keeps no log of blocks already freed, so the count is taken between Python
    line events: each interval in which the traced peak rose ``threshold`` above the memory
    at its start had such an allocation (freed or not by the interval's end), attributed to
    the line that ran.  One line that makes two such arrays counts once: the count is a
    lower bound, exact where each line makes at most one (the generated code's lines)."""
    found: list[tuple[str, int]] = []
    state: dict[str, Any] = {"start": 0, "at": "?"}

    def trace(frame: Any, event: str, arg: Any) -> Any:
        peak = tracemalloc.get_traced_memory()[1]
        if peak - state["start"] >= threshold:
            found.append((state["at"], peak - state["start"]))
        tracemalloc.reset_peak()
        state["start"] = tracemalloc.get_traced_memory()[0]
        state["at"] = f"{os.path.basename(frame.f_code.co_filename)}:{frame.f_lineno}"
        return trace

    tracemalloc.start()
    state["start"] = tracemalloc.get_traced_memory()[0]
    sys.settrace(trace)
    try:
        fn()
    finally:
        sys.settrace(None)
        trace(sys._getframe(), "return", None)
        tracemalloc.stop()
    return found


def _mlp_step(compiled: bool, seed: int = 0, batches: int = 1) -> tuple[Callable, nn.Module]:
    """784-256-256-10 MLP, cross-entropy, SGD with momentum, batch 128, float64: the whole
    step (zero_grad, forward, backward, update) in one function."""
    cr.manual_seed(seed)
    model = nn.Sequential(
        nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 256), nn.ReLU(), nn.Linear(256, 10)
    ).to(cr.float64)
    opt = cr.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    rng = np.random.default_rng(seed)
    data = [
        (cr.from_numpy(rng.standard_normal((128, 784))), cr.from_numpy(rng.integers(0, 10, 128)))
        for _ in range(batches)
    ]

    def step(x: cr.Tensor, y: cr.Tensor) -> cr.Tensor:
        opt.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        return loss

    f = cr.compile(step) if compiled else step
    calls = [0]

    def next_step() -> cr.Tensor:
        calls[0] += 1
        return f(*data[(calls[0] - 1) % batches])

    next_step.compiled = f
    return next_step, model


def _params(model: nn.Module) -> list[np.ndarray]:
    return [p.detach().numpy().copy() for p in model.parameters()]


def _compiled_ran(f: Any) -> None:
    assert not [e.eager_reason for e in f.cache.values() if e.eager_reason]
    assert f.traces <= 2  # the first call and the one where .grad first exists


def test_mlp_training_step_gives_eagers_parameters() -> None:
    eager, em = _mlp_step(False, batches=3)
    comp, cm = _mlp_step(True, batches=3)
    for k in range(8):
        np.testing.assert_allclose(float(comp()), float(eager()), rtol=1e-10, atol=1e-12, err_msg=f"loss {k}")
    for a, b in zip(_params(em), _params(cm)):
        np.testing.assert_allclose(b, a, rtol=1e-10, atol=1e-12)
    for p, q in zip(em.parameters(), cm.parameters()):
        np.testing.assert_allclose(q.grad.numpy(), p.grad.numpy(), rtol=1e-10, atol=1e-12)
    _compiled_ran(comp.compiled)
    assert "out=b" in comp.compiled.code  # the planned lines ran


def _sorted(found: list, code_file: str = "<chainrule.compile forward>") -> dict[str, list]:
    """Allocations by origin: the generated program, the optimizer, anything else."""
    out: dict[str, list] = {"program": [], "optimizer": [], "other": []}
    for at, size in found:
        key = "program" if at.startswith(code_file) else "optimizer" if at.startswith("sgd.py") else "other"
        out[key].append((at, size))
    return out


def test_steady_state_step_allocates_no_large_arrays() -> None:
    """Step 5 of the MLP step: eager makes every activation, gradient and temporary anew;
    compiled code writes into its pool.  What remains compiled is not the program's arrays:
    NumPy's iterator scratch for a broadcast in-place add (``v += bias`` after each layer's
    matmul, as eager's ``linear`` does): ``getbufsize()`` elements of 8 bytes, 64 KiB whatever
    the batch (32 KiB in float32), freed inside the ``+=``.  The optimizer's update (which the
    compiled step calls as eager does) allocates nothing in either: ``optim/sgd.py`` writes its
    temporaries (``lr * g``, ...) into a scratch it keeps."""
    counts = {}
    for compiled in (False, True):
        step, model = _mlp_step(compiled)
        for _ in range(4):
            step()
        counts[compiled] = _sorted(_big_allocations(step))
    eager, comp = counts[False], counts[True]
    n_eager = sum(len(v) for v in eager.values())
    scratch = np.getbufsize() * 8 + 4096  # the scratch and the iterator's own bookkeeping
    assert all(size <= scratch for _, size in comp["program"]), comp["program"]
    assert len(comp["program"]) <= 3  # one scratch per bias add (three layers)
    assert not comp["optimizer"] and not comp["other"], comp
    assert not eager["optimizer"], eager
    # eager: 3 matmul results, 2 ReLUs, the backward's 4 matmuls and 2 masks, ... and the same
    # broadcast scratch
    assert n_eager >= len(comp["program"]) + 8, eager


class _AllocatingSGD(cr.optim.SGD):
    """SGD as it was before its scratch: every temporary a new array (PyTorch's formulas as
    written, with NumPy's operators), and the last line ``p -= lr * g`` as BLAS axpy (one
    rounding, as PyTorch's ``add_(g, alpha=-lr)``) where the dtype has one."""

    def _update_group(self, group: dict) -> None:
        lr, momentum, dampening = float(group["lr"]), group["momentum"], group["dampening"]
        wd, nesterov, maximize = group["weight_decay"], group["nesterov"], group["maximize"]
        for p, grad in self._params_with_grad(group):
            d = p._data
            g = -grad if maximize else grad
            if wd:
                g = d * wd + g if not maximize else d * wd - grad
            if momentum != 0:
                state = self.state[p]
                if "momentum_buffer" not in state:
                    state["momentum_buffer"] = cr.tensor(np.array(g, copy=True))
                else:
                    b = state["momentum_buffer"]._data
                    b *= momentum
                    b += g if dampening == 0 else (1 - dampening) * g
                buf = state["momentum_buffer"]._data
                g = g + momentum * buf if nesterov else buf
            if d.dtype.char in "fdFD":
                blas.get_blas_funcs("axpy", dtype=d.dtype)(np.ravel(g), d.reshape(-1), a=-lr)
            else:
                d -= lr * g


@pytest.mark.parametrize("dtype", ["float16", "float32", "float64", "complex128"])
@pytest.mark.parametrize(
    "kw",
    [
        dict(lr=0.1),
        dict(lr=0.1, maximize=True),
        dict(lr=0.05, momentum=0.9),
        dict(lr=0.05, momentum=0.9, dampening=0.3),
        dict(lr=0.01, momentum=0.9, dampening=0.5, weight_decay=0.2),
        dict(lr=0.05, momentum=0.9, nesterov=True),
        dict(lr=0.1, weight_decay=0.1),
        dict(lr=0.05, momentum=0.8, weight_decay=0.01, nesterov=True),
        dict(lr=0.1, momentum=0.3, nesterov=True, maximize=True),
        dict(lr=0.05, momentum=0.5, weight_decay=0.05, maximize=True),
    ],
)
def test_sgd_update_into_its_scratch_rounds_as_with_temporaries(kw: dict, dtype: str) -> None:
    """The same operations in the same order, one rounding each: the parameters are bitwise
    those of the allocating update, the gradients untouched; after the first step (which makes
    the momentum buffer), a step allocates no array of 64 KiB or more."""
    rng = np.random.default_rng(0)
    shapes = [(200, 200), (300,), (), (40, 30)]

    def draw(s: tuple) -> np.ndarray:
        a = rng.standard_normal(s) + (1j * rng.standard_normal(s) if dtype == "complex128" else 0)
        return np.asarray(a).astype(dtype)

    init = [draw(s) for s in shapes]
    ours = [cr.tensor(a.copy(), requires_grad=True) for a in init]
    ref = [cr.tensor(a.copy(), requires_grad=True) for a in init]
    opt, ref_opt = cr.optim.SGD(ours, **kw), _AllocatingSGD(ref, **kw)
    for step in range(5):
        grads = [draw(s) * 3 for s in shapes]
        for p, q, g in zip(ours, ref, grads):
            p.grad, q.grad = cr.tensor(g.copy()), cr.tensor(g.copy())
        found = _big_allocations(opt.step)
        ref_opt.step()
        if step > 0:
            assert not found, found
        for p, q, g in zip(ours, ref, grads):
            np.testing.assert_array_equal(p.detach().numpy(), q.detach().numpy(), err_msg=f"step {step}")
            np.testing.assert_array_equal(p.grad.numpy(), g)


def test_steady_state_steps_reuse_the_same_buffers_and_grads() -> None:
    step, model = _mlp_step(True)
    for _ in range(3):
        step()
    pool = step.compiled.artefacts()[-1].forward.pool
    bufs = [id(b) for b in pool.bufs]
    planned = [p for p in model.parameters() if p.numel() * 8 >= MIN_BYTES]  # (NumPy caches smaller)
    grads = [p.grad._data.ctypes.data for p in planned]
    for _ in range(3):
        step()
        assert [id(b) for b in pool.bufs] == bufs
        assert [p.grad._data.ctypes.data for p in planned] == grads
    assert len(pool.reused) == len(grads) == 5  # each .grad array written in place (its old one free)


def _peak(compiled: bool) -> tuple[int, int]:
    """(tracemalloc peak, chainrule.memory peak) of step 5 above what the model and the data hold."""
    tracemalloc.start()
    step, _ = _mlp_step(compiled)
    base = tracemalloc.get_traced_memory()[0]
    for _ in range(4):
        step()
    tracemalloc.reset_peak()
    step()
    traced = tracemalloc.get_traced_memory()[1] - base
    tracemalloc.stop()
    cr.memory.reset_peak_memory_stats()
    step()
    seen = cr.memory.max_memory_allocated()
    cr.memory.disable()
    return traced, seen


def test_peak_memory_of_a_compiled_step() -> None:
    """``chainrule.memory`` counts the arrays tensors hold (parameters, ``.grad``, the optimizer's
    state), not the compiled program's raw arrays: by it the compiled step's peak is at most
    eager's.  tracemalloc sees everything: the pool persists between steps (activation buffers
    that cannot live inside the gradient buffers, about one 128x256 array here, and the compiled
    code and graph), so the compiled step's peak is eager's plus that, within 10 % (3 % here;
    SGD's scratch is in both)."""
    eager_traced, eager_seen = _peak(False)
    comp_traced, comp_seen = _peak(True)
    assert comp_seen <= eager_seen, (comp_seen, eager_seen)
    assert comp_traced <= 1.10 * eager_traced, (comp_traced, eager_traced)


def test_before_and_after_view_of_the_pass() -> None:
    step, _ = _mlp_step(True)
    for _ in range(3):
        step()
    art = step.compiled.artefacts()[-1]
    table = dict(art.passes)["memory planning: forward"]
    assert "in place of v" in table and "escapes" in table and "before" in table
    assert "inside b" in table  # activations live in a gradient's buffer before it is written
    plan = art.forward.plan
    assert len(plan.buffer) > len([s for s in plan.slots if s.host is None])


def test_results_and_grads_the_caller_holds_are_not_overwritten() -> None:
    w = cr.randn(64, 64, dtype=cr.float64, requires_grad=True)

    @cr.compile
    def f(x: cr.Tensor) -> cr.Tensor:
        return (x @ w).relu() * 2

    @cr.compile
    def step(x: cr.Tensor) -> cr.Tensor:
        w.grad = None
        loss = ((x @ w).tanh() ** 2).sum()
        loss.backward()
        return loss

    xs = [cr.randn(64, 64, dtype=cr.float64) for _ in range(4)]
    held = [f(x) for x in xs]  # each still referenced when the next call runs
    grads = []
    for x in xs:
        step(x)
        grads.append(w.grad)
    with cr.no_grad():
        for x, y in zip(xs, held):
            np.testing.assert_array_equal(y.detach().numpy(), ((x @ w).relu() * 2).numpy())
    for x, g in zip(xs, grads):
        w2 = w.detach().clone().requires_grad_()
        ((x @ w2).tanh() ** 2).sum().backward()
        np.testing.assert_allclose(g.numpy(), w2.grad.numpy(), rtol=1e-12)
    assert f.traces == 1 and step.traces <= 2


def test_a_call_while_the_pool_is_busy_allocates_and_leaves_the_pool_alone() -> None:
    @cr.compile
    def f(x: cr.Tensor) -> cr.Tensor:
        return ((x * 2).exp() + 1).sum(0)

    x = cr.randn(32, 16, dtype=cr.float64)
    f(x)
    f(x)
    pool = f.artefacts()[-1].forward.pool
    before = [b.copy() for b in pool.bufs]
    with pool.lock:  # another thread (or a re-entrant call) is running the program
        y = cr.randn(32, 16, dtype=cr.float64)
        np.testing.assert_array_equal(f(y).numpy(), ((y * 2).exp() + 1).sum(0).numpy())
    for a, b in zip(before, pool.bufs):
        np.testing.assert_array_equal(a, b)


def test_threads_calling_one_compiled_function() -> None:
    @cr.compile
    def f(x: cr.Tensor) -> cr.Tensor:
        return (x.tanh() * x + 1).sum(1)

    xs = [cr.randn(64, 128, dtype=cr.float64) for _ in range(8)]
    f(xs[0])
    want = [(x.tanh() * x + 1).sum(1).numpy() for x in xs]
    errors: list = []

    def work(k: int) -> None:
        for _ in range(20):
            got = f(xs[k]).numpy()
            if not np.array_equal(got, want[k]):
                errors.append(k)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(len(xs))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors


def _exact(fn: Callable, *args: cr.Tensor) -> Any:
    """``fn`` compiled equals ``fn`` eager bitwise on three calls (the second and third planned)."""
    c = cr.compile(fn)
    for k in range(3):
        shifted = [a + k for a in args]
        want = fn(*shifted)
        got = c(*shifted)
        np.testing.assert_array_equal(got.detach().numpy(), want.detach().numpy())
        assert got.dtype == want.dtype and got.shape == want.shape
    return c


_CASES: dict[str, Callable] = {
    "add_sub_mul_div": lambda x, y: ((x + y) * (x - 2.5) / (y + 3)) - x,
    "neg_reciprocal_relu": lambda x, y: (-x).relu() + (y.abs() + 1).reciprocal(),
    "clamp": lambda x, y: x.clamp(-0.5, 0.7) + y.clamp(min=0.1) + x.clamp(max=0.2),
    "where_and_compare": lambda x, y: cr.where(x > y, x * 2, y) + (x == y).double(),
    "cast": lambda x, y: (x * 4).to(cr.int32).to(cr.float64) + (x > 0).to(x.dtype),
    "sum": lambda x, y: x.sum(0) + (x * y).sum(1, keepdim=True).sum(0),
    "linear": lambda x, y: F.linear(x, y, y[0]) + F.linear(x, y),
    "matmul": lambda x, y: (x @ y.T) @ x + cr.mm(x, y) @ y.T.sum(1),
    "ufuncs": lambda x, y: x.exp() + y.tanh() + (x.abs() + 1).log() + cr.maximum(x, y),
}


@pytest.mark.parametrize("case", sorted(_CASES))
@pytest.mark.parametrize("dtype", [cr.float64, cr.float32])
def test_planned_lines_give_the_forward_bitwise(case: str, dtype: Any) -> None:
    cr.manual_seed(1)
    x, y = cr.randn(24, 24, dtype=dtype), cr.randn(24, 24, dtype=dtype)
    c = _exact(_CASES[case], x, y)
    assert "out=b" in c.code


def test_three_d_linear_and_batched_matmul() -> None:
    cr.manual_seed(2)
    x, w, b = (
        cr.randn(5, 7, 12, dtype=cr.float64),
        cr.randn(9, 12, dtype=cr.float64),
        cr.randn(9, dtype=cr.float64),
    )
    c = _exact(
        lambda x, w, b: F.linear(x, w, b).relu() + cr.bmm(x, x.transpose(1, 2)).sum(2, keepdim=True), x, w, b
    )
    assert "reshape(35, -1)" in c.code


def test_inputs_laid_out_otherwise_run_the_unplanned_code() -> None:
    """A planned elementwise result is C-ordered; NumPy's follows its inputs' layout (which
    decides the summation order of a reduction after it), so an input that is not C-ordered
    as when traced runs the unplanned program."""

    def f(x: cr.Tensor) -> cr.Tensor:
        return ((x * 3 + 1).exp() * x).sum(0)

    c = cr.compile(f)
    a = cr.randn(40, 30, dtype=cr.float64)
    c(a)
    prog = c.artefacts()[-1].forward
    assert prog.c_params
    t = cr.from_numpy(np.asfortranarray(a.numpy() + 1))  # same shape, Fortran order
    np.testing.assert_array_equal(c(t).numpy(), f(t).numpy())
    assert c.traces == 1


def test_an_error_inside_the_program_leaves_no_half_written_grad() -> None:
    """Where a step writes its gradient into the previous .grad's array, an error half-way
    leaves .grad None (as the zero_grad() the step began with did), never a mix: for every
    leaf, also those whose old .grad the call did not write into (the bias)."""
    cr.manual_seed(0)
    lin = nn.Linear(64, 64).to(cr.float64)
    opt = cr.optim.SGD(lin.parameters(), lr=0.1)

    @cr.compile
    def step(x: cr.Tensor) -> cr.Tensor:
        opt.zero_grad()
        loss = lin(x).exp().sum()
        loss.backward()
        return loss

    x = cr.randn(64, 64, dtype=cr.float64) * 0.1
    for _ in range(3):
        step(x)
    with np.errstate(over="raise"), pytest.raises(FloatingPointError):
        step(x * 1e4)
    assert step.traces == 1  # (the compiled code raised)
    assert [p.grad for p in lin.parameters()] == [None, None]


def _cnn_step(compiled: bool) -> tuple[Callable, nn.Module]:
    cr.manual_seed(0)
    model = nn.Sequential(
        nn.Conv2d(1, 8, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(8, 16, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(16 * 7 * 7, 10),
    ).to(cr.float64)
    opt = cr.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    rng = np.random.default_rng(0)
    x, y = cr.from_numpy(rng.standard_normal((32, 1, 28, 28))), cr.from_numpy(rng.integers(0, 10, 32))

    def step() -> cr.Tensor:
        opt.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        return loss

    return (cr.compile(step) if compiled else step), model


def test_cnn_step_gives_eagers_parameters_with_fewer_allocations() -> None:
    """Conv2d and max_pool2d allocate inside their primitives (im2col, padding, the pooling
    tournament, the gather/scatter indices, col2im): those stay.  The program's own
    elementwise results (bias adds, ReLUs, their backward masks) come from the pool."""
    eager, em = _cnn_step(False)
    comp, cm = _cnn_step(True)
    for _ in range(4):
        np.testing.assert_allclose(float(comp()), float(eager()), rtol=1e-10)
    for a, b in zip(_params(em), _params(cm)):
        np.testing.assert_allclose(b, a, rtol=1e-10, atol=1e-12)
    _compiled_ran(comp)
    found_e = _big_allocations(eager)
    found_c = _sorted(_big_allocations(comp))
    assert not found_c["program"], found_c["program"]  # none from a generated line
    assert sum(len(v) for v in found_c.values()) < len(found_e)
