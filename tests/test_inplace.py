"""In-place ops keep identity and storage, bump versions, and record correct gradients."""

from __future__ import annotations

import numpy as np
import pytest
from reference import need_torch

import chainrule as cr

INPLACE = ["add_", "sub_", "mul_", "div_"]


@pytest.mark.parametrize("name", INPLACE)
def test_inplace_keeps_identity_and_bumps_version(name: str) -> None:
    x = cr.ones(3)
    before, v = id(x), x._version
    out = getattr(x, name)(2.0)
    assert out is x and id(x) == before and x._version == v + 1


def test_augmented_assignment_identity_and_numpy_sharing() -> None:
    a = np.zeros(3, dtype=np.float32)
    x = cr.from_numpy(a)
    x += 1
    x *= 3
    assert a.tolist() == [3.0, 3.0, 3.0]
    y = x
    y = y + 1  # out of place: a new object
    assert y is not x


def test_zero_fill_copy_clamp_normal_uniform() -> None:
    x = cr.tensor([[-2.0, 0.5], [3.0, 1.0]])
    assert x.clamp_(-1, 1).tolist() == [[-1.0, 0.5], [1.0, 1.0]]
    assert x.fill_(7).tolist() == [[7.0, 7.0], [7.0, 7.0]]
    assert x.copy_(cr.tensor([1.0, 2.0])).tolist() == [[1.0, 2.0], [1.0, 2.0]]
    assert x.zero_().sum().item() == 0
    x.uniform_(2, 3)
    assert ((x >= 2) & (x < 3)).all()


@pytest.mark.parametrize("mean,std", [(0.0, 1.0), (-3.0, 0.25), (5.0, 4.0)])
def test_normal_and_uniform_fill_with_the_right_moments(mean: float, std: float) -> None:
    """On 200,000 draws the sample mean is within 6 standard errors of ``mean``, the sample
    std within 1 % of ``std``, and the skew and excess kurtosis of a normal are near 0."""
    cr.manual_seed(0)
    x = cr.empty(200_000, dtype=cr.float64).normal_(mean, std)
    a = x.numpy()
    n = a.size
    assert abs(a.mean() - mean) < 6 * std / np.sqrt(n)
    assert abs(a.std() / std - 1) < 0.01
    z = (a - a.mean()) / a.std()
    assert abs((z**3).mean()) < 0.03 and abs((z**4).mean() - 3) < 0.06
    u = cr.empty(200_000, dtype=cr.float64).uniform_(mean, mean + std).numpy()
    assert u.min() >= mean and u.max() < mean + std
    assert abs(u.mean() - (mean + std / 2)) < 6 * std / np.sqrt(12 * n)
    assert abs(u.var() / (std**2 / 12) - 1) < 0.02


# in-place method -> its arguments: every result is compared with PyTorch's in-place result
INPLACE_CALLS = {
    "add_": (2.5,), "sub_": (0.5,), "mul_": (-3.0,), "div_": (4.0,), "pow_": (2,),
    "clamp_": (-0.5, 0.5), "clamp_ min": (0.1,), "fill_": (7.0,),
    "zero_": (), "neg_": (), "abs_": (), "exp_": (), "sqrt_": (), "sigmoid_": (), "tanh_": (),
    "relu_": (), "floor_": (), "ceil_": (), "round_": (), "trunc_": (), "reciprocal_": (),
    "sin_": (), "cos_": (), "log_": (), "square_": (), "sign_": (), "frac_": (),
    "masked_fill_": ("mask", -1.0), "copy_": ("other",), "add_ tensor": ("other",),
    "mul_ tensor": ("other",), "addcmul_": ("other", "other"), "lerp_": ("other", 0.3),
}


@pytest.mark.parametrize("call", sorted(INPLACE_CALLS))
def test_inplace_results_match_torch(call: str) -> None:
    """Values, dtype, identity and version bump of each in-place method against PyTorch."""
    torch_ = need_torch()
    name = call.split()[0]
    vals = np.array([[0.3, -1.2, 2.5], [0.0, 1.7, -0.4]])
    other = np.array([[1.5, 0.5, -2.0], [3.0, -0.25, 0.75]])
    res = []
    for T in (cr, torch_):
        x = T.tensor(vals.copy(), dtype=T.float64)
        if name in ("sqrt_", "log_"):
            x = x.abs() + 0.5
        extra = {"mask": T.tensor(vals > 0.5), "other": T.tensor(other, dtype=T.float64)}
        args = [extra.get(a, a) if isinstance(a, str) else a for a in INPLACE_CALLS[call]]
        v = x._version
        out = getattr(x, name)(*args)
        assert out is x and x._version > v, call
        res.append(x)
    assert str(res[0].dtype).split(".")[-1] == str(res[1].dtype).split(".")[-1]
    np.testing.assert_allclose(res[0].numpy(), res[1].numpy(), rtol=1e-12, atol=1e-15, err_msg=call)


def test_setitem_forms_from_the_textbook() -> None:
    X = cr.arange(12.0).reshape(3, 4)
    X[1, 2] = 17
    X[:2, :] = 12
    assert X.tolist() == [[12.0] * 4, [12.0] * 4, [8.0, 9.0, 10.0, 11.0]]
    Z = cr.zeros_like(X)
    before = id(Z)
    Z[:] = X + 1
    assert id(Z) == before and Z[2, 3].item() == 12.0
    X[X > 10] = 0
    assert X.sum().item() == 27.0


def _graph_setitem(T):
    x = T.tensor([1.0, 2.0, 3.0, 4.0], dtype=T.float64, requires_grad=True)
    v = T.tensor([10.0, 20.0], dtype=T.float64, requires_grad=True)
    h = x * 2
    h[1:3] = v * h[0].clone()  # written into a tensor that is part of the graph
    h[0] += v[1]
    loss = (h * h).sum()
    loss.backward()
    return x.grad.numpy(), v.grad.numpy(), h.detach().numpy()


def test_setitem_in_graph_matches_torch() -> None:
    ours = _graph_setitem(cr)
    ref = _graph_setitem(need_torch())
    for a, b in zip(ours, ref):
        np.testing.assert_allclose(a, b, rtol=1e-12)


def test_saved_view_then_base_modified_is_refused_like_torch() -> None:
    x = cr.tensor([1.0, 2.0, 3.0], requires_grad=True)
    h = x * 2
    y = h[1:] * h[0]  # h[0] is a view of h, saved by the multiplication
    h[1:] = 0.0
    with pytest.raises(RuntimeError, match="modified by an in-place operation"):
        y.sum().backward()


def _inplace_chain(T):
    x = T.tensor([0.5, -1.0, 2.0], dtype=T.float64, requires_grad=True)
    w = T.tensor([3.0, 4.0, 5.0], dtype=T.float64, requires_grad=True)
    h = x * 1
    h.mul_(w)
    h.add_(x, alpha=2)
    h += 1
    h.sub_(w * 0.5)
    h.relu_()
    h.sum().backward()
    return x.grad.numpy(), w.grad.numpy()


def test_inplace_on_graph_tensor_matches_torch() -> None:
    ours = _inplace_chain(cr)
    for a, b in zip(ours, _inplace_chain(need_torch())):
        np.testing.assert_allclose(a, b, rtol=1e-12)


def test_inplace_on_view_of_graph_tensor_rebases_the_base() -> None:
    x = cr.tensor([1.0, 2.0, 3.0], dtype=cr.float64, requires_grad=True)
    w = cr.tensor(5.0, dtype=cr.float64, requires_grad=True)
    h = x * 1
    row = h[1]
    row.mul_(w)  # h[1] *= w, through the view
    assert h.tolist() == [1.0, 10.0, 3.0]
    h.sum().backward()
    assert x.grad.tolist() == [1.0, 5.0, 1.0] and w.grad.item() == 2.0


def test_inplace_on_reshaped_view_while_recording_rewrites_the_base() -> None:
    leaf = cr.ones(2, 2, requires_grad=True)
    h = leaf * 1
    v = h.reshape(4)
    w = cr.arange(4.0, requires_grad=True)
    v.mul_(w)
    assert type(h.grad_fn).__name__ == "CopySlices" and h.tolist() == [[0.0, 1.0], [2.0, 3.0]]
    (h * h).sum().backward()
    assert leaf.grad.tolist() == [[0.0, 2.0], [8.0, 18.0]] and w.grad.tolist() == [0.0, 2.0, 4.0, 6.0]


def test_inplace_errors() -> None:
    with pytest.raises(RuntimeError, match=r"output with shape \(3,\) doesn't match"):
        cr.ones(3).add_(cr.ones(2, 3, requires_grad=True))
    with pytest.raises(RuntimeError, match="can't be cast to the tensor's dtype int64"):
        cr.tensor([1, 2]).add_(0.5)
    with pytest.raises(RuntimeError, match="cannot apply in place to a tensor of shape"):
        cr.ones(3).add_(cr.ones(2, 3))


def test_detach_shares_storage_and_version() -> None:
    x = cr.ones(3, requires_grad=True)
    d = x.detach()
    with cr.no_grad():
        d.add_(1)
    assert x.tolist() == [2.0, 2.0, 2.0] and x._version == d._version == 1
    assert not d.requires_grad and d.grad_fn is None


def test_data_alias_is_writable_and_untracked() -> None:
    w = cr.ones(2, requires_grad=True)
    w.data.mul_(3)
    assert w.tolist() == [3.0, 3.0] and w._version == 0
    w.data = cr.zeros(2)
    assert w.tolist() == [0.0, 0.0] and w.requires_grad
    g = cr.ones(2, requires_grad=True)
    (g * 2).sum().backward()
    g.grad.data.zero_()
    assert g.grad.tolist() == [0.0, 0.0]


def test_fill_and_copy_on_graph_tensors_give_zero_gradient_even_through_inf() -> None:
    x = cr.tensor([1.0, float("inf"), -2.0], dtype=cr.float64, requires_grad=True)
    y = x * 1
    y.fill_(2.0)
    z = x * 1
    z.copy_(cr.tensor([5.0, 6.0, 7.0], dtype=cr.float64))
    (y * 3 + z).sum().backward()
    assert y.tolist() == [2.0, 2.0, 2.0] and z.tolist() == [5.0, 6.0, 7.0]
    assert x.grad.tolist() == [0.0, 0.0, 0.0]


def test_zero_on_a_dual_tensor_updates_its_tangent() -> None:
    from chainrule.autograd import forward_ad as fwAD

    with fwAD.dual_level():
        d = fwAD.make_dual(cr.tensor([1.0, 2.0]), cr.tensor([3.0, 4.0]))
        y = d * 2
        y.zero_()
        assert fwAD.unpack_dual(y).tangent.tolist() == [0.0, 0.0]


@pytest.mark.parametrize("name,call", [
    ("xlogy_", lambda T, x, y: x.xlogy_(y)), ("atan2_", lambda T, x, y: x.atan2_(y)),
    ("hypot_", lambda T, x, y: x.hypot_(y)), ("lerp_", lambda T, x, y: x.lerp_(y, 0.3)),
    ("copysign_", lambda T, x, y: x.copysign_(y)), ("clamp_(min=)", lambda T, x, y: x.clamp_(min=y)),
    ("scatter_add_", lambda T, x, y: x.scatter_add_(0, T.tensor([0, 1, 0]), y)),
    ("masked_scatter_", lambda T, x, y: x.masked_scatter_(T.tensor([True, False, True]), y)),
])
def test_inplace_method_records_an_argument_that_requires_grad(name, call) -> None:
    """``buf.op_(y)`` with only ``y`` requiring grad records the op, as PyTorch: the argument's
    gradient used to be lost (the op ran as if nothing required grad)."""
    rng = np.random.default_rng(len(name))
    xs, ys = rng.uniform(0.5, 2, 3), rng.uniform(0.5, 2, 3)
    grads = []
    for T in (cr, need_torch()):
        x, y = T.tensor(xs), T.tensor(ys, requires_grad=True)
        out = call(T, x, y)
        assert out is x and out.requires_grad
        (out * T.tensor([1.0, -2.0, 3.0], dtype=out.dtype)).sum().backward()
        grads.append((x.detach().numpy().copy(), y.grad.numpy().copy()))
    np.testing.assert_allclose(grads[0][0], grads[1][0], rtol=1e-12)
    np.testing.assert_allclose(grads[0][1], grads[1][1], rtol=1e-12)
