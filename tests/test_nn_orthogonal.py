"""``nn.utils.parametrizations.orthogonal`` against PyTorch 2.13: the three maps on the same input
matrices (values and gradients), orthogonality, gradients to the original, assignment
(``right_inverse``) and the defaults and refusals."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from reference import need_torch, torch

import chainrule as cr
from chainrule.autograd import gradcheck
from chainrule.nn.utils import parametrize
from chainrule.nn.utils.parametrizations import orthogonal

need_torch()
TP = torch.nn.utils.parametrizations
MAPS = ["matrix_exp", "cayley", "householder"]
SHAPES = [(4, 4), (5, 3), (3, 5), (2, 4, 3)]


class Holder:
    """A module with one parameter ``weight`` of any shape, in either library."""

    @staticmethod
    def make(lib: Any, value: np.ndarray) -> Any:
        m = lib.nn.Module()
        m.weight = lib.nn.Parameter(lib.tensor(value))
        return m


def _orthonormal_error(w: np.ndarray) -> float:
    n, k = w.shape[-2:]
    g = np.swapaxes(w, -1, -2) @ w if n >= k else w @ np.swapaxes(w, -1, -2)
    return float(np.abs(g - np.eye(min(n, k))).max())


def _map_pair(orthogonal_map: str, x: np.ndarray) -> tuple:
    """Both libraries' parametrization modules without trivialization: the bare maps."""
    ours = orthogonal(Holder.make(cr, x), orthogonal_map=orthogonal_map, use_trivialization=False)
    ref = TP.orthogonal(Holder.make(torch, x), orthogonal_map=orthogonal_map, use_trivialization=False)
    return ours.parametrizations.weight[0], ref.parametrizations.weight[0]


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("orthogonal_map", MAPS)
def test_maps_match_torch_on_the_same_matrix(orthogonal_map: str, shape: tuple) -> None:
    rng = np.random.default_rng(0)
    x = rng.standard_normal(shape)
    if orthogonal_map == "householder":  # the diagonal's integer part gives the signs: keep it +-1
        idx = np.arange(min(shape[-2:]))
        x[..., idx, idx] = rng.choice([-1.0, 1.0], x.shape[:-2] + idx.shape)
    ours, ref = _map_pair(orthogonal_map, x)
    xo, xt = cr.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    qo, qt = ours(xo), ref(xt)
    np.testing.assert_allclose(qo.detach().numpy(), qt.detach().numpy(), rtol=1e-10, atol=1e-12)
    assert _orthonormal_error(qo.detach().numpy()) < 1e-12
    w = rng.standard_normal(qo.shape)
    (qo * cr.tensor(w)).sum().backward()
    (qt * torch.tensor(w)).sum().backward()
    np.testing.assert_allclose(xo.grad.numpy(), xt.grad.numpy(), rtol=1e-8, atol=1e-12)
    if orthogonal_map == "householder":  # the signs (integer part of the diagonal) are constants
        off = 1.0 - np.eye(*shape[-2:])
        assert gradcheck(
            lambda v: ours(v * cr.tensor(off) + cr.tensor(x * (1 - off))), (cr.tensor(x, requires_grad=True),)
        )
    else:
        assert gradcheck(lambda v: ours(v), (cr.tensor(x, requires_grad=True),))


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("orthogonal_map", MAPS + [None])
def test_weight_is_orthogonal_and_trains(orthogonal_map: str | None, shape: tuple) -> None:
    """With trivialization: orthogonal at once and after optimizer steps; gradients reach the
    original (their values against torch's: the tests above and below)."""
    cr.manual_seed(0)
    m = orthogonal(
        Holder.make(cr, np.random.default_rng(1).standard_normal(shape)), orthogonal_map=orthogonal_map
    )
    assert _orthonormal_error(m.weight.detach().numpy()) < 1e-12
    opt = cr.optim.SGD(m.parameters(), lr=0.1)
    target = cr.tensor(np.random.default_rng(2).standard_normal(shape))
    for _ in range(3):
        opt.zero_grad()
        loss = ((m.weight - target) ** 2).sum()
        loss.backward()
        assert m.parametrizations.weight.original.grad is not None
        assert np.abs(m.parametrizations.weight.original.grad.numpy()).sum() > 0
        opt.step()
    assert _orthonormal_error(m.weight.detach().numpy()) < 1e-12


@pytest.mark.parametrize("orthogonal_map", MAPS)
def test_registration_and_state_match_torch_square(orthogonal_map: str) -> None:
    """Square weights: the base is the QR of the initial weight (no randomness), so the module
    state and the weight equal torch's, also after setting the same original in both."""
    rng = np.random.default_rng(3)
    w0 = rng.standard_normal((4, 4))
    ours = orthogonal(Holder.make(cr, w0), orthogonal_map=orthogonal_map)
    ref = TP.orthogonal(Holder.make(torch, w0), orthogonal_map=orthogonal_map)
    so, st = ours.state_dict(), ref.state_dict()
    assert list(so) == list(st)
    for key in st:
        np.testing.assert_allclose(so[key].numpy(), st[key].numpy(), rtol=1e-10, atol=1e-12, err_msg=key)
    np.testing.assert_allclose(ours.weight.detach().numpy(), ref.weight.detach().numpy(), atol=1e-12)
    x = 0.3 * rng.standard_normal((4, 4))
    if orthogonal_map == "householder":
        x[np.arange(4), np.arange(4)] = -1.0
    with cr.no_grad():
        ours.parametrizations.weight.original.copy_(cr.tensor(x))
    with torch.no_grad():
        ref.parametrizations.weight.original.copy_(torch.tensor(x))
    np.testing.assert_allclose(ours.weight.detach().numpy(), ref.weight.detach().numpy(), atol=1e-12)
    w = rng.standard_normal((4, 4))
    (ours.weight * cr.tensor(w)).sum().backward()
    (ref.weight * torch.tensor(w)).sum().backward()
    np.testing.assert_allclose(
        ours.parametrizations.weight.original.grad.numpy(),
        ref.parametrizations.weight.original.grad.numpy(),
        rtol=1e-8,
        atol=1e-12,
    )


@pytest.mark.parametrize("shape", [(5, 3), (3, 5)])
def test_non_square_with_torchs_base(shape: tuple) -> None:
    """The base of a non-square weight is completed with random columns: given torch's base and
    the same original, the weights agree."""
    rng = np.random.default_rng(4)
    w0 = rng.standard_normal(shape)
    ours, ref = orthogonal(Holder.make(cr, w0)), TP.orthogonal(Holder.make(torch, w0))
    assert ours.parametrizations.weight[0].orthogonal_map == "householder"
    assert ref.parametrizations.weight[0].orthogonal_map.name == "householder"
    ours.load_state_dict({k: cr.tensor(v.numpy()) for k, v in ref.state_dict().items()})
    np.testing.assert_allclose(ours.weight.detach().numpy(), ref.weight.detach().numpy(), atol=1e-12)
    # the first k columns (rows) of the base are the initial weight made orthogonal
    np.testing.assert_allclose(
        np.abs(ours.weight.detach().numpy()), np.abs(ref.weight.detach().numpy()), atol=1e-12
    )


@pytest.mark.parametrize("orthogonal_map", MAPS)
@pytest.mark.parametrize("shape", [(4, 4), (5, 3), (3, 5)])
def test_assignment_goes_through_right_inverse(orthogonal_map: str, shape: tuple) -> None:
    rng = np.random.default_rng(5)
    q = np.linalg.qr(rng.standard_normal((max(shape), max(shape))))[0][: shape[0], : shape[1]]
    for triv in (True, False):
        m = orthogonal(
            Holder.make(cr, rng.standard_normal(shape)),
            orthogonal_map=orthogonal_map,
            use_trivialization=triv,
        )
        if not triv and orthogonal_map != "householder":
            with pytest.raises(NotImplementedError, match="use_trivialization=False"):
                m.weight = cr.tensor(q)
            t = TP.orthogonal(Holder.make(torch, q), orthogonal_map=orthogonal_map, use_trivialization=False)
            with pytest.raises(NotImplementedError):
                t.weight = torch.tensor(q)
            continue
        m.weight = cr.tensor(q)
        np.testing.assert_allclose(m.weight.detach().numpy(), q, atol=1e-12)
    # a square non-orthogonal value is made orthogonal first (its QR's Q), as in torch
    a = rng.standard_normal((4, 4))
    ours, ref = orthogonal(Holder.make(cr, np.eye(4))), TP.orthogonal(Holder.make(torch, np.eye(4)))
    ours.weight, ref.weight = cr.tensor(a), torch.tensor(a)
    np.testing.assert_allclose(ours.weight.detach().numpy(), ref.weight.detach().numpy(), atol=1e-12)


def test_linear_module_and_removal() -> None:
    cr.manual_seed(0)
    lin = orthogonal(cr.nn.Linear(6, 4))
    assert parametrize.is_parametrized(lin, "weight")
    x = cr.randn(3, 6)
    y = lin(x)
    assert y.shape == (3, 4)
    w = lin.weight.detach().numpy()
    assert _orthonormal_error(w.astype(np.float64)) < 1e-5
    parametrize.remove_parametrizations(lin, "weight")
    np.testing.assert_allclose(lin.weight.detach().numpy(), w)


def test_refusals() -> None:
    m = Holder.make(cr, np.ones(3))
    with pytest.raises(ValueError, match="matrix or batch of matrices.*1 dimensions"):
        orthogonal(m)
    with pytest.raises(ValueError):
        TP.orthogonal(Holder.make(torch, np.ones(3)))
    with pytest.raises(
        ValueError, match='orthogonal_map has to be one of "matrix_exp", "cayley", "householder". Got: qr'
    ):
        orthogonal(Holder.make(cr, np.eye(3)), orthogonal_map="qr")
    with pytest.raises(ValueError, match="no parameter or buffer with name 'bias'"):
        orthogonal(Holder.make(cr, np.eye(3)), name="bias")
    m = orthogonal(Holder.make(cr, np.eye(3)))
    with pytest.raises(ValueError, match=r"shape \(3, 3\), got a tensor of shape \(2, 3\)"):
        m.weight = cr.ones(2, 3)
