"""Forward mode for every op in ``ops_table`` (generated, like ``test_ops.py``).

For each differentiable case, in float64:
- the JVP agrees with the VJP through ⟨u, J v⟩ = ⟨Jᵀ u, v⟩ for random u, v;
- ``gradcheck(check_forward_ad=True)``: the forward-mode Jacobian matches finite differences;
- forward-over-reverse: d/dε of Jᵀ(x + εv) u, by a dual number through the backward pass,
  agrees with reverse-over-reverse (which ``test_gradgradcheck`` checks against finite
  differences);
- forward-over-forward: ⟨u, D²f[v1, v2]⟩ from nested dual levels, and reverse-over-forward
  (backward through the JVP rules), agree with reverse-over-reverse;
- every differentiable primitive has a JVP rule and every primitive a batching rule
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from ops_table import CASES, Case
from test_ops import _flat, _inputs, _seed

import chainrule as cr
import chainrule.autograd.forward_ad as fwAD
from chainrule.autograd import gradcheck

GRAD = [pytest.param(c, id=c.id) for c in CASES if c.grad]
GRADGRAD = [pytest.param(c, id=c.id) for c in CASES if c.grad and c.gradgrad]


def _tol(case: Case) -> float:
    return 1e-6 if case.eps > 1e-6 else 1e-8  # cases that round through float32 use a larger eps


def _rand_like(t: cr.Tensor, rng: np.random.Generator) -> cr.Tensor:
    return cr.tensor(rng.standard_normal(tuple(t.shape)), dtype=t.dtype)


def _diff(args: list) -> list[int]:
    return [i for i, a in enumerate(args) if isinstance(a, cr.Tensor) and a.requires_grad]


def _float_outs(out: Any) -> list:
    return [o for o in _flat(out) if isinstance(o, cr.Tensor) and o.dtype.is_floating_point]


def _dot(a: Any, b: Any) -> float:
    if a is None or b is None:
        return 0.0
    return float(np.sum(a.detach().numpy() * b.detach().numpy()))


def _duals(args: list, idx: list[int], vs: list, level: Any = None) -> list:
    """``args`` with argument ``idx[k]`` made dual with tangent ``vs[k]`` (inside a dual level)."""
    duals = list(args)
    for i, v in zip(idx, vs):
        duals[i] = fwAD.make_dual(args[i], v, level=level)
    return duals


def _jvp(case: Case, args: list, idx: list[int], vs: list) -> list:
    with fwAD.dual_level():
        return [fwAD.unpack_dual(o).tangent for o in _float_outs(case.fn(cr, *_duals(args, idx, vs)))]


def _vjp(case: Case, args: list, idx: list[int], us: list | None, rng: Any,
         create_graph: bool = False) -> tuple[list, list]:
    outs = _float_outs(case.fn(cr, *args))
    if us is None:
        us = [_rand_like(o, rng) for o in outs]
    pairs = [(o, u) for o, u in zip(outs, us) if o.requires_grad]
    if not pairs:
        return us, [None] * len(idx)
    gs = cr.autograd.grad([o for o, _ in pairs], [args[i] for i in idx], [u for _, u in pairs],
                          allow_unused=True, create_graph=create_graph)
    return us, list(gs)


def _grad_dot(terms: list, args: list, idx: list[int], vs: list) -> float:
    """⟨∇ₓ Σ terms, v⟩: the derivative of a scalar along ``vs`` (0 when nothing depends on x)."""
    terms = [s for s in terms if s is not None and s.requires_grad]
    if not terms:
        return 0.0
    hs = cr.autograd.grad(sum(terms), [args[i] for i in idx], allow_unused=True)
    return sum(_dot(h, v) for h, v in zip(hs, vs))


def _rev_over_rev(case: Case, args: list, idx: list[int], us: list, a: list, b: list,
                  rng: Any) -> float:
    """⟨b, ∇ₓ⟨Jᵀ(x) u, a⟩⟩ = uᵀ D²f[a, b] by reverse over reverse (checked against finite
    differences by ``test_gradgradcheck``): the reference for the mixed second orders."""
    _, gs = _vjp(case, args, idx, us, rng, create_graph=True)
    return _grad_dot([(g * w).sum() if g is not None else None for g, w in zip(gs, a)], args, idx, b)


@pytest.mark.parametrize("case", GRAD)
def test_jvp_matches_vjp(case: Case) -> None:
    rng = np.random.default_rng(2000 + _seed(case))
    args = _inputs(case, cr, _seed(case))
    idx = _diff(args)
    vs = [_rand_like(args[i], rng) for i in idx]
    jv = _jvp(case, args, idx, vs)
    us, jtu = _vjp(case, args, idx, None, rng)
    lhs = sum(_dot(u, t) for u, t in zip(us, jv))
    rhs = sum(_dot(g, v) for g, v in zip(jtu, vs))
    assert lhs == pytest.approx(rhs, rel=_tol(case), abs=1e-9), case.id


@pytest.mark.parametrize("case", GRAD)
def test_gradcheck_forward_mode(case: Case) -> None:
    args = _inputs(case, cr, _seed(case))
    assert gradcheck(lambda *a: case.fn(cr, *a), args, eps=case.eps, atol=case.atol,
                     rtol=case.rtol, check_forward_ad=True, check_backward_ad=False)


@pytest.mark.parametrize("case", GRADGRAD)
def test_forward_over_reverse(case: Case) -> None:
    rng = np.random.default_rng(3000 + _seed(case))
    args = _inputs(case, cr, _seed(case))
    idx = _diff(args)
    vs = [_rand_like(args[i], rng) for i in idx]
    us = [_rand_like(o, rng) for o in _float_outs(case.fn(cr, *args))]
    ws = [_rand_like(args[i], rng) for i in idx]
    with fwAD.dual_level():  # tangent of the gradient Jᵀ(x) u along v
        _, gs = _vjp(case, _duals(args, idx, vs), idx, us, rng, create_graph=True)
        lhs = sum(_dot(w, fwAD.unpack_dual(g).tangent) for w, g in zip(ws, gs) if g is not None)
    rhs = _rev_over_rev(case, args, idx, us, ws, vs, rng)
    assert lhs == pytest.approx(rhs, rel=_tol(case), abs=1e-9), case.id


@pytest.mark.parametrize("case", GRADGRAD)
def test_forward_over_forward(case: Case) -> None:
    rng = np.random.default_rng(4000 + _seed(case))
    args = _inputs(case, cr, _seed(case))
    idx = _diff(args)
    v1 = [_rand_like(args[i], rng) for i in idx]
    v2 = [_rand_like(args[i], rng) for i in idx]
    us = [_rand_like(o, rng) for o in _float_outs(case.fn(cr, *args))]
    with fwAD.dual_level() as outer:
        d1 = _duals(args, idx, v1, outer)
        with fwAD.dual_level() as inner:
            d2 = _duals(d1, idx, v2, inner)
            t2 = [fwAD.unpack_dual(o, level=inner).tangent for o in _float_outs(case.fn(cr, *d2))]
        lhs = sum(_dot(u, fwAD.unpack_dual(t, level=outer).tangent) for u, t in zip(us, t2)
                  if t is not None)
    rhs = _rev_over_rev(case, args, idx, us, v2, v1, rng)
    assert lhs == pytest.approx(rhs, rel=_tol(case), abs=1e-9), case.id


def test_every_differentiable_primitive_has_a_jvp_rule() -> None:
    from chainrule.ops import PRIMITIVES

    missing = [n for n, p in PRIMITIVES.items() if p.differentiable and p.jvps is None
               and p.jvp_all is None]
    assert not missing


def test_every_primitive_has_a_batching_rule() -> None:
    from chainrule.ops import PRIMITIVES

    missing = sorted(n for n, p in PRIMITIVES.items() if "batch" not in p.extra)
    assert missing == []  # Nonzero's rule refuses: its output size depends on the values (test_vmap_ops)


@pytest.mark.parametrize("case", GRADGRAD)
def test_reverse_over_forward(case: Case) -> None:
    """Backward through the JVP rules (what ``func.hvp`` does): ∇ₓ⟨u, J(x) v⟩ = ∇ₓ⟨J(x)ᵀu, v⟩."""
    rng = np.random.default_rng(5000 + _seed(case))
    args = _inputs(case, cr, _seed(case))
    idx = _diff(args)
    vs = [_rand_like(args[i], rng) for i in idx]
    ws = [_rand_like(args[i], rng) for i in idx]
    us = [_rand_like(o, rng) for o in _float_outs(case.fn(cr, *args))]
    with fwAD.dual_level():
        tans = [fwAD.unpack_dual(o).tangent for o in _float_outs(case.fn(cr, *_duals(args, idx, vs)))]
        terms = [(u * t).sum() if t is not None else None for u, t in zip(us, tans)]
    lhs = _grad_dot(terms, args, idx, ws)
    rhs = _rev_over_rev(case, args, idx, us, vs, ws, rng)
    assert lhs == pytest.approx(rhs, rel=_tol(case), abs=1e-9), case.id


@pytest.mark.slow
@pytest.mark.parametrize("case", GRADGRAD)
def test_gradgradcheck_forward_over_reverse_numerically(case: Case) -> None:
    """The forward-over-reverse Jacobian of the VJP against finite differences (slow: the
    analytical identities above cover the same ground in fast runs)."""
    from chainrule.autograd import gradgradcheck

    args = _inputs(case, cr, _seed(case))
    assert gradgradcheck(lambda *a: case.fn(cr, *a), args, eps=case.eps, atol=case.atol,
                         rtol=case.rtol, check_fwd_over_rev=True)
