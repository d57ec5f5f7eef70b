"""``vmap`` of every case in ``ops_table`` equals a Python loop over the examples.

Each case runs on a batch of 3 examples (inputs drawn with 3 seeds and stacked),
once with every argument batched and once with only the first one batched (the
others shared), and must run through batching rules only (no per-example loop).
The gradient of the batched case, taken inside vmap, must equal the per-example
gradients.  Cases whose output shape depends on the values (boolean masks from
data, nonzero) cannot be batched and must say so.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from ops_table import CASES, A, Case
from test_ops import _flat, _inputs, _seed

import chainrule as cr
from chainrule.func import fallback_counts, grad, vmap

B = 3


def _is_data_dependent(case: Case, mode: str) -> bool:
    """Output shape depends on a batched input's values: no batching rule can exist."""
    import inspect

    src = inspect.getsource(case.fn)
    if case.op == "nonzero" or (case.op == "getitem" and "x > 0" in src):
        return True
    return mode == "all" and (case.op == "masked_select" or "x[m]" in src)


def _stacked(case: Case, batched: list[bool]) -> tuple[list, list[list]]:
    """Batched arguments (batch dim 0) and the per-example argument lists."""
    per = [_inputs(case, cr, _seed(case) + 101 * b) for b in range(B)]
    shared = per[0]
    for b in range(1, B):  # unbatched arguments are the same in every example
        per[b] = [a if batched[i] else shared[i] for i, a in enumerate(per[b])]
    args = []
    for i in range(len(shared)):
        if batched[i]:
            arr = np.stack([p[i].detach().numpy() for p in per])
            t = cr.tensor(arr)
            if shared[i].requires_grad:
                t.requires_grad_()
            args.append(t)
        else:
            args.append(shared[i])
    return args, per


def _run_case(case: Case, mode: str) -> None:
    n = len(case.args)
    batched = [True] * n if mode == "all" else [True] + [False] * (n - 1)
    args, per = _stacked(case, batched)
    in_dims = tuple(0 if b else None for b in batched)
    before = sum(fallback_counts.values())
    out = vmap(lambda *a: case.fn(cr, *a), in_dims=in_dims, randomness="same")(*args)
    assert sum(fallback_counts.values()) == before, f"{case.id}: a per-example loop ran"
    outs = _flat(out)
    loops = [_flat(case.fn(cr, *p)) for p in per]
    assert len(outs) == len(loops[0])
    for k, o in enumerate(outs):
        want = np.stack([np.asarray(lp[k].detach().numpy()) for lp in loops])
        assert tuple(o.shape) == want.shape, (case.id, tuple(o.shape), want.shape)
        np.testing.assert_allclose(o.detach().numpy(), want, rtol=1e-10, atol=1e-12, err_msg=case.id)


# The refusal every data-dependent case must give (not an incidental error further on)
DATA_DEPENDENT = r"^vmap: .*: the output shape depends on the data \(each example may select"


def _check_case(case: Case, mode: str) -> None:
    if _is_data_dependent(case, mode):
        with pytest.raises(RuntimeError, match=DATA_DEPENDENT):
            _run_case(case, mode)
    else:
        _run_case(case, mode)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_vmap_all_batched(case: Case) -> None:
    _check_case(case, "all")


FIRST = [c for c in CASES if len(c.args) > 1]


@pytest.mark.parametrize("case", FIRST, ids=[c.id for c in FIRST])
def test_vmap_first_batched(case: Case) -> None:
    _check_case(case, "first")


def test_data_dependent_cases_are_the_expected_ones() -> None:
    """The refusal above is checked on nonzero, masked_select and both boolean-mask getitems."""
    ids = [c.id for c in CASES if _is_data_dependent(c, "all")]
    assert sorted({i.split("-")[0] for i in ids}) == ["getitem", "masked_select", "nonzero"]
    assert len(ids) == 4, ids


def _float_out(out: Any) -> Any:
    outs = [o for o in _flat(out) if isinstance(o, cr.Tensor) and o.dtype.is_floating_point]
    total = None
    for o in outs:
        s = (o * o).sum()
        total = s if total is None else total + s
    return total


def _first_diff(case: Case) -> int | None:
    return next((i for i, spec in enumerate(case.args) if isinstance(spec, A) and spec.grad), None)


GRAD_CASES = [
    c for c in CASES if c.grad and not _is_data_dependent(c, "all") and c.torch and _first_diff(c) is not None
]


@pytest.mark.parametrize("case", GRAD_CASES, ids=[c.id for c in GRAD_CASES])
def test_vmap_of_grad_equals_loop(case: Case) -> None:
    """Per-example gradients (all arguments batched) through the batched backward rules."""
    n = len(case.args)
    args, per = _stacked(case, [True] * n)
    i0 = _first_diff(case)

    def f(*a: Any) -> Any:
        return _float_out(case.fn(cr, *a))

    before = sum(fallback_counts.values())
    g = vmap(grad(f, argnums=i0))(*[a.detach() for a in args])
    assert sum(fallback_counts.values()) == before, f"{case.id}: a per-example loop ran"
    want = np.stack([grad(f, argnums=i0)(*[a.detach() for a in p]).numpy() for p in per])
    np.testing.assert_allclose(g.numpy(), want, rtol=1e-9, atol=1e-10, err_msg=case.id)
