"""chainrule.compile(backend="numba"): elementwise chains fused into compiled loops.

The same checks as the NumPy backend's (eager values and gradients on three calls with new
values) for one case of every op the fusion pass covers, the overhead chain, training, and
the pass's boundaries (what joins a group and what does not).
"""

from __future__ import annotations

import sys

import numpy as np
import pytest
from ops_table import CASES
from test_compile_ops import _inputs, _run

import chainrule as cr
from chainrule import nn
from chainrule.compile.passes.fuse import SCALAR

pytest.importorskip("numba")  # installed in CI by the test command (the `numba` extra)

_FUSED = {name.lower() for name in SCALAR}
_ONE_PER_OP: dict = {}
for _c in CASES:
    if _c.op in _FUSED and _c.torch and _c.op not in _ONE_PER_OP:
        _ONE_PER_OP[_c.op] = _c


def _kernels(c: cr.compile) -> int:
    return c.code.count("# def _")


@pytest.mark.parametrize("case", list(_ONE_PER_OP.values()), ids=list(_ONE_PER_OP))
def test_fused_ops_match_eager(case: object) -> None:
    compiled = cr.compile(case.fn, backend="numba")
    for seed in (0, 1, 2):
        args = _inputs(case, 100 + seed)
        want_v, want_g = _run(case.fn, case, args)
        got_v, got_g = _run(compiled, case, [a.detach().requires_grad_(a.requires_grad) for a in args])
        for g, w in zip(got_v, want_v):
            assert g.dtype == w.dtype
            np.testing.assert_allclose(g, w, rtol=1e-12, atol=1e-12, err_msg=case.id)
        for g, w in zip(got_g, want_g):
            if w is not None:
                np.testing.assert_allclose(g, w, rtol=1e-10, atol=1e-12, err_msg=case.id)
    assert compiled.traces == 1 and not [e for e in compiled.cache.values() if e.eager_reason]


@pytest.mark.parametrize("dtype", [cr.float32, cr.float64])
def test_overhead_chain_is_one_loop_each_way(dtype: object) -> None:
    def chain(x: cr.Tensor) -> cr.Tensor:
        y = x
        for _ in range(20):
            y = cr.tanh(y * 1.01 + 0.01)
        return y.sum()

    c = cr.compile(chain, backend="numba")
    tol = 1e-6 if dtype == cr.float32 else 1e-13
    for k in range(3):
        xs = [cr.full((16,), 0.1 * k, dtype=dtype).requires_grad_() for _ in range(2)]
        want, got = chain(xs[0]), c(xs[1])
        want.backward()
        got.backward()
        assert got.dtype == want.dtype and xs[1].grad.dtype == dtype
        np.testing.assert_allclose(got.item(), want.item(), rtol=tol)
        np.testing.assert_allclose(xs[1].grad.numpy(), xs[0].grad.numpy(), rtol=tol, atol=1e-30)
    assert _kernels(c) == 2  # the forward's 60 ops and the backward's chain, one loop each
    assert "np.tanh(" in c.code


@pytest.mark.parametrize("n", [16, 5000])
def test_op_by_op_and_element_by_element_loops_agree_bitwise(n: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """A small group calling math functions loops op by op (``OP_MAJOR``), a large one element
    by element; each element sees the same operations, so both orders give the same bits."""
    from chainrule.compile.backends import numba as backend

    def f(x: cr.Tensor) -> cr.Tensor:
        return cr.exp(cr.tanh(x * 1.5 - 0.2) * x) / (x * x + 1.0)

    x = cr.from_numpy(np.random.default_rng(n).standard_normal(n).astype(np.float32)).requires_grad_()
    results = []
    for limit in (backend.OP_MAJOR, 0):  # as is, then element by element for every size
        monkeypatch.setattr(backend, "OP_MAJOR", limit)
        c = cr.compile(f, backend="numba")
        c(x)  # the tracing call: eager's values
        y = c(x)  # the compiled loops'
        assert c.traces == 1 and c.artefacts()
        (g,) = cr.autograd.grad(y.sum(), x)
        results.append((y.detach().numpy(), g.numpy(), c.code))
    (y1, g1, code1), (y2, g2, code2) = results
    np.testing.assert_array_equal(y1, y2)
    np.testing.assert_array_equal(g1, g2)
    assert ("tmp = np.empty" in code1) == (n <= 4096) and "tmp = np.empty" not in code2
    want = f(x)
    (gw,) = cr.autograd.grad(want.sum(), x)
    np.testing.assert_allclose(y1, want.detach().numpy(), rtol=1e-6)
    np.testing.assert_allclose(g1, gw.numpy(), rtol=1e-5, atol=1e-7)


def test_fusion_boundaries() -> None:
    """A matmul ends a group; an operand of another shape (broadcast) keeps a node out; a 0-d
    operand and Python numbers join; a value read after the group is one of its outputs."""
    cr.manual_seed(0)
    w = cr.randn(4, 4, dtype=cr.float64)
    b = cr.randn(4, dtype=cr.float64)
    s = cr.tensor(0.5, dtype=cr.float64)

    def f(x: cr.Tensor) -> tuple:
        h = (x * 2 + 1).tanh() * s  # one group (0-d s joins)
        mid = h.exp()
        z = h @ w  # ends it
        return (z + b).sigmoid(), (z.relu() - 3) / 2, mid  # z + b broadcasts: not fused

    c = cr.compile(f, backend="numba")
    x = cr.randn(3, 4, dtype=cr.float64)
    for _ in range(2):
        for g, e in zip(c(x), f(x)):
            np.testing.assert_allclose(g.numpy(), e.numpy(), rtol=1e-13)
    code = c.code
    assert code.count("# def _forward_fused") == 2
    assert "Linear(" in code or "Matmul(" in code or "Mm(" in code
    assert "Add(" in code  # the broadcasting add stays a NumPy call


def test_training_with_numba_matches_eager() -> None:
    def run(backend: str | None) -> list:
        cr.manual_seed(0)
        m = nn.Sequential(nn.Linear(6, 16), nn.Tanh(), nn.Linear(16, 16), nn.Sigmoid(), nn.Linear(16, 3))
        m = m.double()
        opt = cr.optim.SGD(m.parameters(), lr=0.1, momentum=0.9)
        x, y = cr.randn(10, 6, dtype=cr.float64), cr.randint(0, 3, (10,))

        def step() -> cr.Tensor:
            opt.zero_grad()
            loss = nn.functional.cross_entropy(m(x), y)
            loss.backward()
            opt.step()
            return loss

        f = step if backend is None else cr.compile(step, backend=backend)
        losses = [f().item() for _ in range(20)]
        return losses + [float(v) for p in m.parameters() for v in p.detach().numpy().ravel()]

    np.testing.assert_allclose(run("numba"), run(None), rtol=1e-10, atol=1e-12)


def test_missing_numba_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "numba", None)
    with pytest.raises(ImportError, match=r"chainrule\[numba\]"):
        cr.compile(lambda x: x + 1, backend="numba")


def test_compiled_loops_are_cached_on_disk(tmp_path: object, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each loop is a module file in $CHAINRULE_CACHE/numba whose machine code Numba caches
    beside it (a later process loads it instead of compiling)."""
    monkeypatch.setenv("CHAINRULE_CACHE", str(tmp_path))
    c = cr.compile(lambda x: (x * 3.5 + 1).exp().sum(), backend="numba")
    x = cr.randn(7, dtype=cr.float64, requires_grad=True)
    c(x).backward()
    folder = tmp_path / "numba"
    sources = sorted(p.name for p in folder.glob("k_*.py"))
    assert len(sources) == 2  # the forward's loop and the backward's
    assert len(list((folder / "__pycache__").glob("*.nbi"))) == 2  # Numba's cache index per loop
    np.testing.assert_allclose(_grad_of(c, x), 3.5 * np.exp(3.5 * x.detach().numpy() + 1), rtol=1e-13)


def _grad_of(c: object, x: cr.Tensor) -> np.ndarray:
    x.grad = None
    c(x).backward()
    return x.grad.numpy()
