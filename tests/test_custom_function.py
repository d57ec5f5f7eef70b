"""``chainrule.autograd.Function``: custom forward/backward/jvp in the same engine as the ops."""

from __future__ import annotations

import gc
import weakref

import numpy as np
import pytest
from reference import HAVE_TORCH, torch

import chainrule as cr
import chainrule.autograd.forward_ad as fwAD
from chainrule.autograd import Function, GradcheckError, gradcheck, gradgradcheck, once_differentiable
from chainrule.func import grad, hessian, jacfwd, jvp, vmap


def _cube(base: type) -> type:
    """x³ and its backward as a custom Function of ``base``: chainrule's, or PyTorch's."""

    class Cube(base):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x**3

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return g * 3 * x**2

    return Cube


class Cube(_cube(Function)):
    @staticmethod
    def jvp(ctx, t):
        (x,) = ctx.saved_tensors
        return t * 3 * x**2


class WrongCube(Cube):
    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g * 2 * x**2  # wrong on purpose


class ExpWithOutput(Function):
    """Saves its output (kept as data, re-wrapped in backward: no reference cycle)."""

    @staticmethod
    def forward(ctx, x):
        y = x.exp()
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, g):
        (y,) = ctx.saved_tensors
        return g * y


class SortWithIndex(Function):
    @staticmethod
    def forward(ctx, x):
        order = np.argsort(x.numpy(force=True))
        idx = cr.tensor(order)
        ctx.mark_non_differentiable(idx)
        ctx.save_for_backward(idx)
        ctx.n = x.shape[0]
        return x[idx], idx

    @staticmethod
    def backward(ctx, g, g_idx):
        (idx,) = ctx.saved_tensors
        assert g_idx is None or not g_idx.any()
        out = cr.zeros(ctx.n, dtype=g.dtype)
        out[idx] = g
        return out


class MulAdd(Function):
    """Two inputs, a non-tensor argument, two outputs; records needs_input_grad."""

    seen: list = []

    @staticmethod
    def forward(ctx, a, b, scale):
        ctx.save_for_backward(a, b)
        ctx.scale = scale
        MulAdd.seen.append(ctx.needs_input_grad)
        return a * b * scale, a + b

    @staticmethod
    def backward(ctx, g_prod, g_sum):
        a, b = ctx.saved_tensors
        return g_prod * b * ctx.scale + g_sum, g_prod * a * ctx.scale + g_sum, None


def x64(*shape: int, seed: int = 0) -> cr.Tensor:
    return cr.tensor(np.random.default_rng(seed).uniform(0.5, 1.5, shape), requires_grad=True)


def test_forward_backward_and_node_name() -> None:
    x = x64(4)
    y = Cube.apply(x)
    assert type(y.grad_fn).__name__ == "CubeBackward"
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 3 * x.detach().numpy() ** 2)
    assert gradcheck(Cube.apply, (x,), check_forward_ad=True)
    assert gradgradcheck(Cube.apply, (x,))


def test_wrong_backward_is_caught_by_gradcheck() -> None:
    with pytest.raises(GradcheckError, match="reverse mode"):
        gradcheck(WrongCube.apply, (x64(3),))
    assert not gradcheck(WrongCube.apply, (x64(3),), raise_exception=False)
    assert gradcheck(WrongCube.apply, (x64(3),), check_backward_ad=False, check_forward_ad=True)


def test_needs_input_grad_and_multiple_outputs() -> None:
    a, b = x64(3, seed=1), cr.tensor([1.0, 2.0, 3.0], dtype=cr.float64)
    MulAdd.seen.clear()
    p, s = MulAdd.apply(a, b, 2.0)
    assert MulAdd.seen[-1] == (True, False, False)
    (p.sum() + 3 * s.sum()).backward()
    np.testing.assert_allclose(a.grad.numpy(), 2 * b.numpy() + 3)
    a.grad = None
    p, s = MulAdd.apply(a, b, 2.0)
    p.sum().backward()  # only one output used: the other's gradient is zeros
    np.testing.assert_allclose(a.grad.numpy(), 2 * b.numpy())
    b.requires_grad_()
    assert gradcheck(lambda a, b: MulAdd.apply(a, b, 0.5), (a, b))
    assert gradgradcheck(lambda a, b: MulAdd.apply(a, b, 0.5), (a, b))
    with cr.no_grad():
        MulAdd.apply(a, b, 1.0)
    assert MulAdd.seen[-1] == (False, False, False)


def test_mark_non_differentiable_and_materialize() -> None:
    x = cr.tensor([3.0, 1.0, 2.0], requires_grad=True)
    vals, idx = SortWithIndex.apply(x)
    assert not idx.requires_grad and vals.requires_grad
    (vals * cr.tensor([1.0, 10.0, 100.0])).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [100.0, 1.0, 10.0])


def test_set_materialize_grads_false_passes_none() -> None:
    got = []

    class Two(Function):
        @staticmethod
        def forward(ctx, x):
            ctx.set_materialize_grads(False)
            return x * 2, x * 3

        @staticmethod
        def backward(ctx, ga, gb):
            got.append((ga is None, gb is None))
            return ga * 2

    x = cr.ones(2, requires_grad=True)
    a, _ = Two.apply(x)
    a.sum().backward()
    assert got == [(False, True)]


def test_saved_output_and_no_reference_cycle() -> None:
    gc.collect()
    gc.disable()
    try:
        x = x64(3)
        y = ExpWithOutput.apply(x)
        assert gradgradcheck(ExpWithOutput.apply, (x,))
        refs = [weakref.ref(y), weakref.ref(y.grad_fn)]
        del y
        assert all(r() is None for r in refs)
    finally:
        gc.enable()


def test_saved_tensors_are_freed_and_version_checked() -> None:
    x = x64(3)
    y = Cube.apply(x)
    y.sum().backward()
    with pytest.raises(RuntimeError, match="second time"):
        y.sum().backward()
    z = x.detach().clone().requires_grad_()
    w = z * 1
    out = Cube.apply(w)
    with cr.no_grad():
        w.add_(1)
    with pytest.raises(RuntimeError, match="modified by an in-place operation"):
        out.sum().backward()


def test_backward_result_is_checked() -> None:
    class BadShape(Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        def backward(ctx, g):
            return g[:1]

    class BadCount(Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        def backward(ctx, g):
            return g, g

    x = x64(3)
    with pytest.raises(RuntimeError, match="invalid gradient at index 0"):
        BadShape.apply(x).sum().backward()
    with pytest.raises(RuntimeError, match="incorrect number of gradients"):
        BadCount.apply(x).sum().backward()


def test_once_differentiable_raises_on_double_backward() -> None:
    class Square(Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x * x

        @staticmethod
        @once_differentiable
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return 2 * g * x

    x = x64(2)
    (g,) = cr.autograd.grad(Square.apply(x).sum(), x)
    np.testing.assert_allclose(g.numpy(), 2 * x.detach().numpy())
    v = cr.ones(2, dtype=cr.float64, requires_grad=True)  # a cotangent that requires grad
    (g,) = cr.autograd.grad(Square.apply(x), x, v, create_graph=True)
    assert g.requires_grad
    with pytest.raises(RuntimeError, match="once_differentiable"):
        g.sum().backward()


def test_jvp_forward_mode_and_func_transforms() -> None:
    x = cr.tensor([0.5, 2.0], dtype=cr.float64)
    with fwAD.dual_level():
        t = fwAD.unpack_dual(Cube.apply(fwAD.make_dual(x, cr.ones(2, dtype=cr.float64)))).tangent
    np.testing.assert_allclose(t.numpy(), 3 * x.numpy() ** 2)
    np.testing.assert_allclose(jvp(Cube.apply, (x,), (cr.ones_like(x),))[1].numpy(), 3 * x.numpy() ** 2)
    np.testing.assert_allclose(hessian(lambda x: Cube.apply(x).sum())(x).numpy(), np.diag(6 * x.numpy()))
    with pytest.raises(RuntimeError, match="no jvp"):
        jacfwd(ExpWithOutput.apply)(x)
    assert grad(lambda x: ExpWithOutput.apply(x).sum())(x).numpy() == pytest.approx(np.exp(x.numpy()))


def test_vmap_needs_generate_vmap_rule() -> None:
    xs = cr.tensor(np.arange(6.0).reshape(3, 2))
    with pytest.raises(RuntimeError, match="generate_vmap_rule"):
        vmap(Cube.apply)(xs)

    class VCube(Cube):
        generate_vmap_rule = True

    np.testing.assert_allclose(vmap(VCube.apply)(xs).numpy(), xs.numpy() ** 3)
    per = vmap(grad(lambda x: VCube.apply(x).sum()))(xs)
    np.testing.assert_allclose(per.numpy(), 3 * xs.numpy() ** 2)


def test_setup_context_style() -> None:
    class Mul3(Function):
        @staticmethod
        def forward(x):
            return x * 3

        @staticmethod
        def setup_context(ctx, inputs, output):
            ctx.k = 3

        @staticmethod
        def backward(ctx, g):
            return g * ctx.k

    x = x64(2)
    Mul3.apply(x).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [3.0, 3.0])


def test_same_results_as_a_torch_custom_function() -> None:
    if not HAVE_TORCH:
        pytest.skip("PyTorch not installed")

    TCube = _cube(torch.autograd.Function)
    a = np.random.default_rng(0).standard_normal(4)
    x, xt = cr.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
    (g,) = cr.autograd.grad(Cube.apply(x).sin().sum(), x, create_graph=True)
    (gt,) = torch.autograd.grad(TCube.apply(xt).sin().sum(), xt, create_graph=True)
    np.testing.assert_allclose(g.detach().numpy(), gt.detach().numpy(), rtol=1e-12)
    (h,) = cr.autograd.grad(g.sum(), x)
    (ht,) = torch.autograd.grad(gt.sum(), xt)
    np.testing.assert_allclose(h.numpy(), ht.numpy(), rtol=1e-12)


def test_mark_dirty_rebases_the_modified_input() -> None:
    class AddOneInPlace(Function):
        @staticmethod
        def forward(ctx, x):
            x.data.add_(1.0)
            ctx.mark_dirty(x)
            return x

        @staticmethod
        def backward(ctx, g):
            return g

    a = cr.tensor([1.0, 2.0], requires_grad=True)
    x = a * 2
    version = x._version
    y = AddOneInPlace.apply(x)
    assert y is x and x._version == version + 1 and type(x.grad_fn).__name__ == "AddOneInPlaceBackward"
    (y * y).sum().backward()
    np.testing.assert_allclose(a.grad.numpy(), 2 * 2 * (2 * np.array([1.0, 2.0]) + 1))
    with pytest.raises(RuntimeError, match="leaf tensor that requires grad"):
        AddOneInPlace.apply(cr.tensor([1.0], requires_grad=True))


def test_gradgradcheck_catches_a_wrong_second_derivative() -> None:
    """A backward that is right to first order but detaches what it differentiates: gradcheck
    passes, gradgradcheck must not (its finite differences evaluate the first derivative with
    grad enabled; without it there was nothing to compare and every check passed)."""

    class Cube(_cube(cr.autograd.Function)):
        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return g * 3 * x.detach() ** 2  # the second derivative loses 6x

    x = cr.tensor(np.array([0.5, 1.5]), requires_grad=True)
    assert cr.autograd.gradcheck(Cube.apply, (x,))
    assert not cr.autograd.gradgradcheck(Cube.apply, (x,), raise_exception=False)
    assert cr.autograd.gradgradcheck(lambda x: x**3, (x,))
    assert cr.autograd.gradgradcheck(_cube(cr.autograd.Function).apply, (x,))  # (the right backward)
