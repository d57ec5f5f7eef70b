"""Second derivatives of every op-table case against PyTorch 2.13, in float64.

For each case: ``g = grad(sum(out * v), inputs, create_graph=True)`` with a random cotangent
``v``, then ``h = grad(sum(g * u), inputs)`` with a random ``u`` (a Hessian-vector product,
cross terms between inputs included), in both libraries on the same inputs. The first-order
gradients that ``create_graph=True`` builds are compared too. Where one library's first-order
gradient carries no graph its second derivative is zero, which the other must then give.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from ops_table import CASES, A, Case, I, M
from reference import HAVE_TORCH, need_torch, torch

import chainrule as cr

# Differentiable cases PyTorch has no second derivative to compare with, and why.
NOT_COMPARED: dict[str, str] = {
    # dropout in training mode draws its mask from each library's own random stream
    "dropout": "training-mode dropout: the masks differ (tests/test_nn_layers.py checks statistics)",
    # PyTorch raises "the derivative for '_cdist_backward' is not implemented" (gradgradcheck in
    # tests/test_ops.py checks ours against finite differences)
    "cdist": "PyTorch 2.13 has no double backward for cdist",
    # PyTorch raises "derivative for aten::_ctc_loss_backward is not implemented" (ours reruns the
    # recursion with ops; gradgradcheck in tests/test_ops.py checks it against finite differences)
    "ctc_loss": "PyTorch 2.13 has no double backward for ctc_loss",
    # the case is off the PyTorch comparison (torch=False) because PyTorch's pdist crashes the
    # process on the empty-input sweep's variant; gradgradcheck checks it against finite differences
    "pdist": "PyTorch 2.13's pdist crashes the process on an empty batch of rows (the case's torch=False)",
}

DIFFERENTIABLE = [c for c in CASES if c.grad]
NO_DOUBLE_BACKWARD = {"cdist", "ctc_loss"}  # in PyTorch; the other ops listed above differ by case (c.torch)
COMPARED = [c for c in DIFFERENTIABLE if c.torch and c.op not in NO_DOUBLE_BACKWARD]
LISTED = [c for c in DIFFERENTIABLE if c not in COMPARED]


def _inputs(case: Case, T: Any, seed: int) -> list:
    rng = np.random.default_rng(seed)
    out = []
    for spec in case.args:
        arr = spec.make(rng)
        t = cr.tensor(arr) if T is cr else torch.from_numpy(np.array(arr, copy=True))
        if isinstance(spec, A) and spec.grad and not isinstance(spec, (I, M)):
            t.requires_grad_(True)
        out.append(t)
    return out


def _flat(out: Any) -> list:
    if isinstance(out, (tuple, list)):
        return [x for o in out for x in _flat(o)]
    return [out]


def _np(t: Any) -> np.ndarray:
    if HAVE_TORCH and isinstance(t, torch.Tensor):  # PyTorch's symbolic zeros need force=True
        return t.detach().numpy(force=True)
    return t.detach().numpy()


def _second(case: Case, T: Any) -> tuple[list, list]:
    """First-order gradients and the second-order ones (None: no graph, so zero)."""
    seed = CASES.index(case)
    args = _inputs(case, T, seed)
    grad = cr.autograd.grad if T is cr else torch.autograd.grad
    wrap = cr.tensor if T is cr else torch.from_numpy
    fn = case.ref if (case.ref is not None and T is not cr) else case.fn
    outs = [o for o in _flat(fn(T, *args)) if o.requires_grad]
    ins = [a for a in args if a.requires_grad]
    rng = np.random.default_rng(1000 + seed)
    total = sum((o * wrap(rng.standard_normal(tuple(o.shape)))).sum() for o in outs)
    first = grad(total, ins, create_graph=True, allow_unused=True)
    live = [
        (g, wrap(rng.standard_normal(tuple(g.shape)))) for g in first if g is not None and g.requires_grad
    ]
    if not live:
        return list(first), [None] * len(ins)
    second = grad(sum((g * u).sum() for g, u in live), ins, allow_unused=True)
    return list(first), list(second)


@pytest.mark.parametrize("case", COMPARED, ids=[c.id for c in COMPARED])
def test_second_derivative_matches_torch(case: Case) -> None:
    need_torch()
    first, second = _second(case, cr)
    rfirst, rsecond = _second(case, torch)
    for o, r in zip(first, rfirst):
        if r is None:
            assert o is None or not np.any(_np(o)), case.id
            continue
        assert o is not None, f"{case.id}: no first-order gradient where PyTorch has one"
        np.testing.assert_allclose(_np(o), _np(r), rtol=1e-7, atol=1e-9, err_msg=case.id)
    assert len(second) == len(rsecond)
    for o, r in zip(second, rsecond):
        if r is None:
            assert o is None or not np.any(_np(o)), f"{case.id}: non-zero where PyTorch has none"
            continue
        if o is None:  # no graph: zero, which PyTorch's must be too
            assert not np.any(_np(r)), f"{case.id}: no second derivative where PyTorch has one"
            continue
        np.testing.assert_allclose(_np(o), _np(r), rtol=1e-7, atol=1e-9, err_msg=case.id)


def test_coverage_of_the_differentiable_cases() -> None:
    """At least 95 % of the differentiable cases are compared; each other one has a reason."""
    assert len(COMPARED) >= 0.95 * len(DIFFERENTIABLE), (len(COMPARED), len(DIFFERENTIABLE))
    for case in LISTED:
        assert case.op in NOT_COMPARED, f"{case.id}: not compared with PyTorch and no reason given"


def test_most_comparisons_are_not_zero_against_zero() -> None:
    """The comparison above is mostly about non-zero numbers: count the cases whose second
    derivative is non-zero in PyTorch (ops linear in all inputs rightly give zero)."""
    need_torch()
    nonzero = sum(any(r is not None and np.any(_np(r)) for r in _second(c, torch)[1]) for c in COMPARED)
    assert nonzero >= 0.4 * len(COMPARED), (nonzero, len(COMPARED))
