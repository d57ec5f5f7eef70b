"""Generated from ``ops_table``: every op's values and derivatives, against NumPy finite
differences (gradcheck, gradgradcheck in float64) and against PyTorch 2.13."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from ops_table import CASES, A, Case, I, M
from reference import HAVE_TORCH, REQUIRE_TORCH, torch

import chainrule as cr
from chainrule.autograd import gradcheck, gradgradcheck
from chainrule.ops import PRIMITIVES
from chainrule.ops._core import add_apply_wrapper

IDS = [c.id for c in CASES]
# Cases with a PyTorch counterpart: all but random ops in training mode (dropout draws from
# its own stream; tests/test_nn_layers.py checks its statistics and scaling instead).
TORCH_CASES = [c for c in CASES if c.torch]


def _inputs(case: Case, T: Any, seed: int) -> list:
    rng = np.random.default_rng(seed)
    out = []
    for spec in case.args:
        arr = spec.make(rng)
        if T is cr:
            t = cr.tensor(arr)
        else:
            t = torch.from_numpy(np.array(arr, copy=True))
        if isinstance(spec, A) and spec.grad and not isinstance(spec, (I, M)):
            t.requires_grad_(True)
        out.append(t)
    return out


def _flat(out: Any) -> list:
    if isinstance(out, (tuple, list)):
        res = []
        for o in out:
            res.extend(_flat(o))
        return res
    return [out]


def _np(t: Any) -> np.ndarray:
    if HAVE_TORCH and isinstance(t, torch.Tensor):
        return t.detach().numpy()
    return t.detach().numpy() if isinstance(t, cr.Tensor) else np.asarray(t)


def _seed(case: Case) -> int:
    return CASES.index(case)


def _run(case: Case, T: Any, args: list) -> Any:
    fn = case.ref if (case.ref is not None and T is not cr) else case.fn
    return fn(T, *args)


@pytest.mark.parametrize("case", TORCH_CASES, ids=[c.id for c in TORCH_CASES])
def test_forward_matches_torch(case: Case) -> None:
    if not HAVE_TORCH:
        assert not REQUIRE_TORCH, "PyTorch 2.13 must be installed in CI (extra 'reference')"
        pytest.skip("PyTorch not installed")
    ours = _flat(_run(case, cr, _inputs(case, cr, _seed(case))))
    ref = _flat(_run(case, torch, _inputs(case, torch, _seed(case))))
    assert len(ours) == len(ref)
    for o, r in zip(ours, ref):
        assert tuple(o.shape) == tuple(r.shape), (case.id, o.shape, r.shape)
        assert str(o.dtype).split(".")[-1] == str(r.dtype).split(".")[-1], (case.id, o.dtype, r.dtype)
        np.testing.assert_allclose(_np(o), _np(r), rtol=1e-6, atol=1e-8, err_msg=case.id)


@pytest.mark.parametrize("case", [c for c in CASES if c.grad], ids=[c.id for c in CASES if c.grad])
def test_gradcheck(case: Case) -> None:
    args = _inputs(case, cr, _seed(case))
    assert gradcheck(lambda *a: case.fn(cr, *a), args, eps=case.eps, atol=case.atol, rtol=case.rtol)


@pytest.mark.parametrize("case", [c for c in CASES if c.grad and c.gradgrad],
                         ids=[c.id for c in CASES if c.grad and c.gradgrad])
def test_gradgradcheck(case: Case) -> None:
    args = _inputs(case, cr, _seed(case))
    assert gradgradcheck(lambda *a: case.fn(cr, *a), args, eps=case.eps, atol=case.atol,
                         rtol=case.rtol)


def _backward(case: Case, T: Any) -> list:
    args = _inputs(case, T, _seed(case))
    outs = [o for o in _flat(_run(case, T, args)) if o.requires_grad]
    rng = np.random.default_rng(1000 + _seed(case))
    total = None
    for o in outs:
        v = rng.standard_normal(tuple(o.shape))
        v = cr.tensor(v) if T is cr else torch.from_numpy(v)
        term = (o * v).sum()
        total = term if total is None else total + term
    if total is not None:
        total.backward()
    return [a.grad for a in args if a.requires_grad]


@pytest.mark.parametrize("case", [c for c in TORCH_CASES if c.grad],
                         ids=[c.id for c in TORCH_CASES if c.grad])
def test_grad_matches_torch(case: Case) -> None:
    if not HAVE_TORCH:
        assert not REQUIRE_TORCH, "PyTorch 2.13 must be installed in CI (extra 'reference')"
        pytest.skip("PyTorch not installed")
    ours, ref = _backward(case, cr), _backward(case, torch)
    assert len(ours) == len(ref)
    for o, r in zip(ours, ref):
        if r is None:
            assert o is None or not np.any(_np(o)), case.id
            continue
        assert o is not None, f"{case.id}: chainrule gave no gradient where PyTorch did"
        np.testing.assert_allclose(_np(o), _np(r), rtol=1e-6, atol=1e-8, err_msg=case.id)


@pytest.mark.parametrize("case", [c for c in CASES if c.grad], ids=[c.id for c in CASES if c.grad])
def test_grad_keeps_dtype_float32(case: Case) -> None:
    """Gradients of float32 inputs are float32 (no silent upcast inside a rule)."""
    args = [a.detach().float().requires_grad_(a.requires_grad) if a.is_floating_point() else a
            for a in _inputs(case, cr, _seed(case))]
    outs = [o for o in _flat(case.fn(cr, *args)) if isinstance(o, cr.Tensor) and o.requires_grad]
    if not outs:
        pytest.skip("no differentiable output for float32 inputs")
    sum(o.sum() for o in outs).backward()
    for a in args:
        if a.requires_grad and a.grad is not None:
            assert a.grad.dtype == cr.float32, (case.id, a.grad.dtype)


def test_every_primitive_is_exercised_by_the_table() -> None:
    """An op cannot be registered without a case here that runs it (forward and backward)."""
    seen: set[str] = set()

    def spy(op: Any, args: tuple, params: dict, inner: Any) -> Any:
        seen.add(op.name)
        return inner(op, args, params)

    remove = add_apply_wrapper(spy)
    try:
        for case in CASES:
            args = _inputs(case, cr, _seed(case))
            outs = [o for o in _flat(case.fn(cr, *args)) if isinstance(o, cr.Tensor) and o.requires_grad]
            if outs:
                grads = cr.autograd.grad(sum(o.sum() for o in outs), [a for a in args if a.requires_grad],
                                         create_graph=True, allow_unused=True)
                second = [g.sum() for g in grads if g is not None and g.requires_grad]
                if second:
                    cr.autograd.grad(sum(second), [a for a in args if a.requires_grad], allow_unused=True)
    finally:
        remove()
    missing = sorted(set(PRIMITIVES) - seen)
    assert not missing, f"primitives with no case in tests/ops_table.py: {missing}"
