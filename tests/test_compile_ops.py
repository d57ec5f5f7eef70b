"""Generated from ``ops_table``: every op case, compiled, gives eager's values and gradients.

Each case is compiled once and called with three different input values of the same
shapes: the first call traces (an eager run), the next two run the generated forward and
backward.  New values on every call catch anything the trace baked in as a constant.
The gradients of the compiled calls are compared with eager's in float64 (1e-12), and
the number of traces is counted (one, unless the case itself reads values in Python).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from ops_table import CASES, A, Case, I, M

import chainrule as cr

IDS = [c.id for c in CASES]

# Ops whose derivative rules (or forwards) compute arrays from tensor values with raw NumPy
# outside the op table.  The tracer cannot replay those, so the compiled function runs
# eagerly (correct, not compiled) for some or all of their cases; this list says which and
# why, and shrinks as rules move to ops.  Every other case must compile.
RUNS_EAGERLY = {
    "remainder": "its VJP reads the quotient's values with NumPy",
    "frac": "its VJP builds a constant zero tensor from the input's values",
    "prod": "the zero-aware VJP counts zeros in the input with NumPy",
    "amax": "the tie-splitting VJP counts maxima with NumPy",
    "einsum": "the VJP builds its operand index arrays with NumPy",
    "multigammaln": "the forward adds a NumPy range of offsets made from the input",
    "mvlgamma": "the forward adds a NumPy range of offsets made from the input",
    "special_namespace": "a special function's VJP reads values with NumPy",
    "mode": "the VJP locates the mode with NumPy",
    "quantile": "the forward gathers at NumPy positions computed from the sorted values",
    "linalg.inv_ex": "the info output is made by NumPy from whether the inversion failed",
    "linalg.solve_ex": "the info output is made by NumPy from whether the solve failed",
    "linalg.cholesky_ex": "the info output is made by NumPy from whether the factorisation failed",
    "linalg.lstsq": "the residuals and rank outputs are made by NumPy from the solution",
    "scatter_reduce": "the counts per target come from the index values through np.add.at",
    "index_reduce": "composed of scatter_reduce (above)",
    "lu_unpack": "the permutation matrix is made by NumPy from the pivot values",
    "ctc_loss": "the backward reruns the alpha/beta recursion with ops (exact higher derivatives) on "
    "positions made by NumPy from the target and length values",
}


def _inputs(case: Case, seed: int) -> list:
    rng = np.random.default_rng(seed)
    out = []
    for spec in case.args:
        t = cr.tensor(spec.make(rng))
        if isinstance(spec, A) and spec.grad and not isinstance(spec, (I, M)):
            t.requires_grad_(True)
        out.append(t)
    return out


def _flat(out: Any) -> list:
    if isinstance(out, (tuple, list)):
        return [x for o in out for x in _flat(o)]
    return [out]


def _run(fn: Any, case: Case, args: list) -> tuple[list, list]:
    outs = [o for o in _flat(fn(cr, *args)) if isinstance(o, cr.Tensor)]
    values = [o.detach().numpy().copy() for o in outs]
    diff = [o for o in outs if o.requires_grad]
    grads: list = []
    if diff and case.grad:
        rng = np.random.default_rng(7)
        total = sum((o * cr.tensor(rng.standard_normal(o.shape))).sum() for o in diff)
        leaves = [a for a in args if isinstance(a, cr.Tensor) and a.requires_grad]
        gs = cr.autograd.grad(total, leaves, allow_unused=True)
        grads = [None if g is None else g.numpy().copy() for g in gs]
    return values, grads


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_compiled_matches_eager(case: Case) -> None:
    if not case.torch:  # random ops in training mode: tests/test_compile.py checks dropout
        return
    compiled = cr.compile(case.fn)
    for seed in (0, 1, 2):
        args = _inputs(case, 100 + seed)
        want_v, want_g = _run(case.fn, case, args)
        got_v, got_g = _run(compiled, case, [a.detach().requires_grad_(a.requires_grad) for a in args])
        assert len(got_v) == len(want_v), case.id
        for g, w in zip(got_v, want_v):
            assert g.shape == w.shape and g.dtype == w.dtype, (case.id, g.shape, w.shape)
            np.testing.assert_allclose(g, w, rtol=1e-12, atol=1e-12, err_msg=f"{case.id} value, call {seed}")
        for g, w in zip(got_g, want_g):
            assert (g is None) == (w is None), case.id
            if w is not None:
                np.testing.assert_allclose(
                    g, w, rtol=1e-10, atol=1e-12, err_msg=f"{case.id} grad, call {seed}"
                )
    assert compiled.traces >= 1
    reasons = [e.eager_reason for e in compiled.cache.values() if e.eager_reason]
    if case.op not in RUNS_EAGERLY:  # (listed ops may compile for some cases, not all)
        assert not reasons, f"{case.id} ran eagerly: {reasons}"


@pytest.mark.parametrize("op", ["gather", "scatter_add"])
@pytest.mark.parametrize("bad", [-1, 4])
def test_compiled_index_ops_refuse_out_of_range_index_values(op: str, bad: int) -> None:
    """An index array is a value, not a guard: a compiled call refuses an index out of range
    (negative ones too) as eager does, with the op's RuntimeError, instead of reading
    (or adding into) another row."""

    def f(x: cr.Tensor, i: cr.Tensor) -> cr.Tensor:
        if op == "gather":
            return x.gather(1, i) * 2
        return x.scatter_add(1, i, cr.ones(3, 1, dtype=x.dtype)) * 2

    compiled = cr.compile(f)
    x = cr.randn(3, 4, dtype=cr.float64)
    good = cr.tensor([[0], [1], [2]])
    np.testing.assert_array_equal(compiled(x, good).numpy(), f(x, good).numpy())
    bad_index = cr.tensor([[0], [bad], [2]])
    for fn in (f, compiled):
        with pytest.raises(RuntimeError, match=rf"{op}\(\): index {bad} is out of bounds for dimension 1"):
            fn(x, bad_index)
    assert compiled.traces == 1  # the refusal came from the compiled program, not a retrace


@pytest.mark.parametrize(
    "op,bad,error",
    [
        ("index_select", -1, RuntimeError),
        ("index_select", 4, RuntimeError),
        ("index_add", -1, RuntimeError),
        ("index_add", 4, RuntimeError),
        ("index_copy", -1, IndexError),
        ("index_copy", 4, IndexError),
        ("index_fill", -5, IndexError),
        ("index_fill", 4, IndexError),
    ],
)
def test_compiled_slice_ops_refuse_index_values_eager_refuses(op: str, bad: int, error: type) -> None:
    """index_select/index_add/index_copy refuse negative indices and index_fill those below
    -size, as PyTorch: the check is an op (IndexBounds), so a compiled call -- which replays
    ops only -- refuses them too, where it used to read or write the slice counted from the end.
    Values it accepts (index_fill's -1) stay eager's."""
    src = cr.ones(3, 2, dtype=cr.float64)
    fns = {
        "index_select": lambda x, i: x.index_select(1, i) * 2,
        "index_add": lambda x, i: x.index_add(1, i, src) * 2,
        "index_copy": lambda x, i: x.index_copy(1, i, src) * 2,
        "index_fill": lambda x, i: x.index_fill(1, i, 0.5) * 2,
    }
    f = fns[op]
    compiled = cr.compile(f)
    x = cr.randn(3, 4, dtype=cr.float64)
    for good in ([0, 1], [3, 2] if op != "index_fill" else [3, -1]):
        np.testing.assert_array_equal(compiled(x, cr.tensor(good)).numpy(), f(x, cr.tensor(good)).numpy())
    for fn in (f, compiled):
        with pytest.raises(error, match=rf"{op}\(\): index {bad} is out of bounds for dimension 1"):
            fn(x, cr.tensor([0, bad]))
    assert compiled.traces == 1  # the refusal came from the compiled program, not a retrace
