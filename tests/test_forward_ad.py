"""``chainrule.autograd.forward_ad``: dual numbers with PyTorch's API (levels, make_dual,
unpack_dual), nesting, interplay with reverse mode, and the zero cost when unused."""

from __future__ import annotations

import numpy as np
import pytest
from reference import need_torch

import chainrule as cr
import chainrule.autograd.forward_ad as fwAD
from chainrule.autograd import gradcheck, gradgradcheck
from chainrule.ops import _core


def t64(*v: float) -> cr.Tensor:
    return cr.tensor(list(v), dtype=cr.float64)


def test_make_dual_unpack_dual_basics() -> None:
    x, v = t64(0.5, 1.0, 2.0), t64(1.0, 0.0, 2.0)
    with fwAD.dual_level():
        d = fwAD.make_dual(x, v)
        assert fwAD.unpack_dual(d).tangent is v
        y = (d * d).exp().sum()
        p, t = fwAD.unpack_dual(y)
        xn, vn = x.numpy(), v.numpy()
        assert p.item() == pytest.approx(np.exp(xn**2).sum())
        assert t.item() == pytest.approx((np.exp(xn**2) * 2 * xn * vn).sum())
        assert fwAD.unpack_dual(x).tangent is None  # the primal itself has no tangent
        assert isinstance(fwAD.unpack_dual(y), fwAD.UnpackedDualTensor)
    with pytest.raises(RuntimeError, match="dual level"):
        fwAD.make_dual(x, v)  # outside a level


def test_tangents_disappear_when_the_level_exits() -> None:
    x = t64(1.0, 2.0)
    with fwAD.dual_level():
        y = fwAD.make_dual(x, t64(1.0, 1.0)).sin()
    with fwAD.dual_level():
        assert fwAD.unpack_dual(y).tangent is None
        z = y * 2  # no stale tangent flows into a new level
        assert fwAD.unpack_dual(z).tangent is None


def test_make_dual_checks_shapes_and_casts_dtype() -> None:
    with fwAD.dual_level():
        with pytest.raises(RuntimeError, match="same|must be equal"):
            fwAD.make_dual(t64(1.0, 2.0), t64(1.0))
        with pytest.raises(RuntimeError, match="floating point"):
            fwAD.make_dual(cr.tensor([1, 2]), cr.tensor([1, 1]))
        d = fwAD.make_dual(cr.ones(2), t64(1.0, 2.0))
        assert fwAD.unpack_dual(d).tangent.dtype == cr.float32


def test_nested_levels_give_second_derivatives() -> None:
    x = t64(0.3, -1.2)
    with fwAD.dual_level() as outer:
        d1 = fwAD.make_dual(x, t64(1.0, 1.0), level=outer)
        with fwAD.dual_level() as inner:
            d2 = fwAD.make_dual(d1, t64(1.0, 1.0), level=inner)
            y = d2.tanh()
            t_inner = fwAD.unpack_dual(y, level=inner).tangent
        second = fwAD.unpack_dual(t_inner, level=outer).tangent
    th = np.tanh(x.numpy())
    np.testing.assert_allclose(second.numpy(), -2 * th * (1 - th**2), rtol=1e-12)


def test_forward_over_reverse_and_reverse_over_forward() -> None:
    x = t64(0.3, -1.2, 2.0).requires_grad_()
    v = t64(1.0, -1.0, 0.5)
    f = lambda x: (x.sin() * x).sum()  # noqa: E731
    hv_true = (2 * np.cos(x.detach().numpy()) - x.detach().numpy() * np.sin(x.detach().numpy())) \
        * v.numpy()
    with fwAD.dual_level():  # forward over reverse
        d = fwAD.make_dual(x, v)
        (g,) = cr.autograd.grad(f(d), d, create_graph=True)
        np.testing.assert_allclose(fwAD.unpack_dual(g).tangent.detach().numpy(), hv_true,
                                   rtol=1e-12)
    with fwAD.dual_level():  # reverse over forward
        t = fwAD.unpack_dual(f(fwAD.make_dual(x, v))).tangent
    (hv,) = cr.autograd.grad(t, x)
    np.testing.assert_allclose(hv.numpy(), hv_true, rtol=1e-12)


def test_gradcheck_and_gradgradcheck_with_forward_mode() -> None:
    x = t64(0.3, 0.7, 1.1).requires_grad_()
    w = t64(1.0, 2.0, -1.0).requires_grad_()
    f = lambda x, w: (x.log() * w).softmax(0) @ x  # noqa: E731
    assert gradcheck(f, (x, w), check_forward_ad=True)
    assert gradgradcheck(f, (x, w), check_fwd_over_rev=True)
    bad = lambda x: x * 2.0  # noqa: E731
    from chainrule.autograd.forward_ad import forward_jacobian

    jac = forward_jacobian(bad, (x,))
    np.testing.assert_allclose(jac[0][0], 2 * np.eye(3))


def test_no_wrapper_is_installed_outside_levels() -> None:
    assert all(getattr(w, "__name__", "") != "dispatch" for w in _core._WRAPPERS)
    with fwAD.dual_level():
        assert any(getattr(w, "__name__", "") == "dispatch" for w in _core._WRAPPERS)
    assert all(getattr(w, "__name__", "") != "dispatch" for w in _core._WRAPPERS)


def test_levels_exit_in_order() -> None:
    a = fwAD.enter_dual_level()
    b = fwAD.enter_dual_level()
    with pytest.raises(RuntimeError, match="reverse order"):
        fwAD.exit_dual_level(level=a)
    fwAD.exit_dual_level(level=b)
    fwAD.exit_dual_level(level=a)


def test_matches_torch_forward_ad() -> None:
    torch = need_torch()
    import torch.autograd.forward_ad as tfw

    rng = np.random.default_rng(3)
    a, v = rng.standard_normal((3, 4)), rng.standard_normal((3, 4))
    res = []
    for T, fw in ((cr, fwAD), (torch, tfw)):
        x, t = T.from_numpy(a.copy()), T.from_numpy(v.copy())
        with fw.dual_level():
            y = fw.make_dual(x, t)
            out = T.log_softmax(y @ y.T, 1).tanh().cumsum(0)[1:, ::2].norm()
            res.append(fw.unpack_dual(out).tangent.detach().numpy())
    np.testing.assert_allclose(res[0], res[1], rtol=1e-10)


def test_a_tensor_that_was_dual_is_writable_after_its_level() -> None:
    with fwAD.dual_level():
        d = fwAD.make_dual(cr.tensor([1.0, 2.0]), cr.tensor([3.0, 4.0]))
        y = d * 2
    y.add_(1)
    assert y.tolist() == [3.0, 5.0]
