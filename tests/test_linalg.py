"""``chainrule.linalg`` beyond the op table: closed-form gradients, degenerate spectra, the
errors singular input raises, and large batches, each against PyTorch 2.13 or NumPy."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from reference import torch

import chainrule as cr

RNG = np.random.default_rng(0)


def _wc(n: int, *batch: int) -> np.ndarray:
    return RNG.standard_normal(batch + (n, n)) + n * np.eye(n)


def _pair(a: np.ndarray) -> tuple:
    return cr.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)


# ------------------------------------------------------------ solve: closed forms
@pytest.mark.parametrize("n,k", [(4, None), (4, 3), (80, 2)])  # 80: the path that keeps LU
def test_solve_gradients_are_the_closed_forms(n: int, k: int | None) -> None:
    a = _wc(n)
    b = RNG.standard_normal((n,) if k is None else (n, k))
    g = RNG.standard_normal(b.shape)
    A, B = cr.tensor(a, requires_grad=True), cr.tensor(b, requires_grad=True)
    x = cr.linalg.solve(A, B)
    (x * cr.tensor(g)).sum().backward()
    xs = np.linalg.solve(a, b if k else b[:, None])
    gb = np.linalg.solve(a.T, g if k else g[:, None])
    np.testing.assert_allclose(x.detach().numpy(), xs if k else xs[:, 0], rtol=1e-10)
    np.testing.assert_allclose(B.grad.numpy(), gb if k else gb[:, 0], rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(A.grad.numpy(), -gb @ xs.T, rtol=1e-9, atol=1e-12)


def test_solve_second_order_matches_torch() -> None:
    a, b = _wc(70), RNG.standard_normal((70, 2))
    (A, tA), (B, tB) = _pair(a), _pair(b)
    outs = []
    for T, AA, BB in ((cr, A, B), (torch, tA, tB)):
        x = T.linalg.solve(AA, BB)
        ga, gb = T.autograd.grad((x * x).sum(), [AA, BB], create_graph=True)
        outs.append(T.autograd.grad((ga * ga).sum() + gb.sum(), [AA, BB]))
    for o, r in zip(*outs):
        np.testing.assert_allclose(o.numpy(), r.numpy(), rtol=1e-8, atol=1e-10)


# ------------------------------------------------------------ determinants
def test_slogdet_is_log_abs_det() -> None:
    a = RNG.standard_normal((5, 4, 4))
    sign, logabs = cr.linalg.slogdet(cr.tensor(a))
    d = np.linalg.det(a)
    np.testing.assert_allclose(logabs.numpy(), np.log(np.abs(d)), rtol=1e-10)
    np.testing.assert_array_equal(sign.numpy(), np.sign(d))
    np.testing.assert_allclose(cr.linalg.det(cr.tensor(a)).numpy(), d, rtol=1e-10)


def test_logdet_of_negative_and_singular_determinants_as_torch() -> None:
    a = np.stack([-np.eye(3), np.zeros((3, 3)), 2 * np.eye(3)])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        np.testing.assert_array_equal(cr.logdet(cr.tensor(a)).numpy(), torch.logdet(torch.tensor(a)).numpy())


# ------------------------------------------------------------ eigh / svd
def _sym_separated(n: int, *batch: int) -> np.ndarray:
    x = RNG.standard_normal(batch + (n, n))
    return x + np.swapaxes(x, -1, -2) + np.diag(np.arange(n) * 3.0)


def _eigh_loss(T, a, c, d):  # gauge invariant: eigenvalues and squared eigenvector entries
    w, v = T.linalg.eigh(a)
    return (w * c).sum() + (v * v * d).sum()


def _svd_loss(T, a, c, d):
    u, s, vh = T.linalg.svd(a, full_matrices=False)
    return (s * c).sum() + ((u @ vh) * d).sum()


@pytest.mark.parametrize(
    "loss,shape", [(_eigh_loss, (3, 5, 5)), (_svd_loss, (3, 6, 4)), (_svd_loss, (2, 4, 6))]
)
def test_spectral_gradients_match_torch_on_separated_spectra(loss, shape) -> None:
    k = min(shape[-2:])
    if loss is _eigh_loss:
        a = _sym_separated(shape[-1], *shape[:-2])
    else:  # singular values near 3k, ..., 6, 3
        a = (
            RNG.standard_normal(shape)
            + np.eye(*shape[-2:]) * np.r_[3.0 * np.arange(k, 0, -1), np.zeros(shape[-1] - k)]
        )
    c, d = RNG.standard_normal(shape[:-2] + (k,)), RNG.standard_normal(shape if loss is _svd_loss else shape)
    (A, tA) = _pair(a)
    loss(cr, A, cr.tensor(c), cr.tensor(d)).backward()
    loss(torch, tA, torch.tensor(c), torch.tensor(d)).backward()
    np.testing.assert_allclose(A.grad.numpy(), tA.grad.numpy(), rtol=1e-8, atol=1e-10)


def test_degenerate_spectrum_eigenvalue_gradient_finite_vectors_not() -> None:
    """As PyTorch: with a repeated eigenvalue, eigenvalue gradients are defined (V diag(ḡ) Vᵀ),
    eigenvector gradients are not (inf/nan)."""
    a = np.diag([1.0, 1.0, 2.0])
    for T in (cr, torch):
        A = T.tensor(a, requires_grad=True)
        T.linalg.eigh(A)[0].sum().backward()
        np.testing.assert_allclose(np.asarray(A.grad.numpy()), np.eye(3), atol=1e-12)
        A = T.tensor(a, requires_grad=True)
        T.linalg.eigh(A)[1].sum().backward()
        assert not np.all(np.isfinite(A.grad.numpy())), T.__name__
    (A, tA) = _pair(np.eye(3) * 2.0)
    cr.linalg.svdvals(A).sum().backward()
    torch.linalg.svdvals(tA).sum().backward()
    np.testing.assert_allclose(A.grad.numpy(), tA.grad.numpy(), atol=1e-12)


# ------------------------------------------------------------ errors
def _singular_batch() -> np.ndarray:
    a = np.stack([np.eye(2), np.zeros((2, 2)), np.eye(2)])
    a[1, 0, 0] = 1.0
    return a


@pytest.mark.parametrize(
    "call",
    [
        lambda T, a: T.linalg.inv(a),
        lambda T, a: T.linalg.solve(a, T.ones(3, 2, 1, dtype=T.float64)),
        lambda T, a: T.linalg.cholesky(a),
        lambda T, a: T.linalg.inv(a[1]),
        lambda T, a: T.linalg.cholesky(-a[0]),
    ],
)
def test_singular_input_raises_linalgerror_naming_the_batch_element(call) -> None:
    a = _singular_batch()
    with pytest.raises(torch.linalg.LinAlgError) as want:
        call(torch, torch.tensor(a))
    with pytest.raises(cr.linalg.LinAlgError) as got:
        call(cr, cr.tensor(a))
    assert isinstance(got.value, RuntimeError)
    assert str(got.value) == str(want.value)


def test_lu_factor_of_singular_input_raises_as_torch() -> None:
    a = _singular_batch()
    with pytest.raises(RuntimeError) as want:
        torch.linalg.lu_factor(torch.tensor(a))
    with pytest.raises(RuntimeError) as got:
        cr.linalg.lu_factor(cr.tensor(a))
    assert str(got.value) == str(want.value)


def test_ex_variants_report_info_as_torch() -> None:
    a = _singular_batch()
    for name in ("inv_ex", "cholesky_ex", "lu_factor_ex"):
        ours = getattr(cr.linalg, name)(cr.tensor(a)).info
        ref = getattr(torch.linalg, name)(torch.tensor(a)).info
        np.testing.assert_array_equal(ours.numpy(), ref.numpy(), err_msg=name)
        assert str(ours.dtype).split(".")[-1] == "int32"


@pytest.mark.parametrize(
    "call",
    [
        lambda T: T.linalg.inv(T.ones(2, 3, dtype=T.float64)),
        lambda T: T.linalg.inv(T.ones(3, dtype=T.float64)),
        lambda T: T.linalg.det(T.ones(2, 2, dtype=T.int64)),
        lambda T: T.linalg.cross(T.ones(2, dtype=T.float64), T.ones(2, dtype=T.float64)),
    ],
)
def test_bad_input_messages_as_torch(call) -> None:
    with pytest.raises(RuntimeError) as want:
        call(torch)
    with pytest.raises(RuntimeError) as got:
        call(cr)
    assert str(got.value) == str(want.value)


# ------------------------------------------------------------ batched (64, 32, 32)
def _spd(n: int, *batch: int) -> np.ndarray:
    x = RNG.standard_normal(batch + (n, n))
    return x @ np.swapaxes(x, -1, -2) + n * np.eye(n)


BATCHED = {
    "solve": lambda T, a, b: T.linalg.solve(a, b),
    "inv": lambda T, a, b: T.linalg.inv(a) @ b,
    "cholesky": lambda T, a, b: T.linalg.cholesky(a) @ b,
    "cholesky_solve": lambda T, a, b: T.cholesky_solve(b, T.linalg.cholesky(a)),
    "eigh": lambda T, a, b: (lambda w, v: (v * v) @ b + w.unsqueeze(-1))(*T.linalg.eigh(a)),
    "svd": lambda T, a, b: (lambda u, s, vh: (u @ vh) @ b + s.unsqueeze(-1))(*T.linalg.svd(a)),
    "qr": lambda T, a, b: (lambda q, r: q @ b + r @ b)(*T.linalg.qr(a)),
    "slogdet": lambda T, a, b: T.linalg.slogdet(a)[1].unsqueeze(-1).unsqueeze(-1) * b,
    "lu_solve": lambda T, a, b: T.linalg.lu_solve(*T.linalg.lu_factor(a), b),
}


@pytest.mark.parametrize("name", list(BATCHED))
def test_batched_64x32x32_values_and_gradients_match_torch(name: str) -> None:
    a, b = _spd(32, 64), RNG.standard_normal((64, 32, 3))
    if name == "eigh":
        a = a + np.diag(np.arange(32) * 4.0)  # separated eigenvalues
    (A, tA), (B, tB) = _pair(a), _pair(b)
    y, ty = BATCHED[name](cr, A, B), BATCHED[name](torch, tA, tB)
    assert tuple(y.shape) == tuple(ty.shape)
    np.testing.assert_allclose(y.detach().numpy(), ty.detach().numpy(), rtol=1e-7, atol=1e-9)
    w = RNG.standard_normal(tuple(ty.shape))
    (y * cr.tensor(w)).sum().backward()
    (ty * torch.tensor(w)).sum().backward()
    np.testing.assert_allclose(A.grad.numpy(), tA.grad.numpy(), rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(B.grad.numpy(), tB.grad.numpy(), rtol=1e-6, atol=1e-8)


# ------------------------------------------------------------ older top-level forms
def test_top_level_forms_match_torch() -> None:
    a = _spd(4, 2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch.cholesky / torch.qr are deprecated in PyTorch
        for fn in (
            lambda T, x: T.cholesky(x),
            lambda T, x: T.qr(x)[1].abs(),
            lambda T, x: T.svd(x)[1],
            lambda T, x: x.det(),
            lambda T, x: x.inverse(),
            lambda T, x: x.matrix_power(3),
            lambda T, x: T.pinverse(x),
        ):
            np.testing.assert_allclose(
                fn(cr, cr.tensor(a)).numpy(), fn(torch, torch.tensor(a)).numpy(), rtol=1e-9, atol=1e-12
            )


# ---------------------------------------------- the large single-matrix LAPACK paths (_lapack.py)
def _both(f, arrays: list, seed: int = 0) -> list:
    """Values and gradients of ``f`` for chainrule and PyTorch (a random cotangent per output)."""
    res = []
    for T in (cr, torch):
        xs = [T.tensor(a, requires_grad=True) for a in arrays]
        outs = f(T, *xs)
        outs = outs if isinstance(outs, tuple) else (outs,)
        rng = np.random.default_rng(seed)
        loss = sum((o * T.tensor(rng.standard_normal(tuple(o.shape)), dtype=o.dtype)).sum() for o in outs)
        loss.backward()
        res.append([o.detach().numpy() for o in outs] + [x.grad.numpy() for x in xs])
    return res


@pytest.mark.parametrize("n,k,left", [(64, 16, True), (80, 3, True), (96, 96, False), (70, None, True)])
def test_large_solve_keeps_its_lu_and_matches_torch(n: int, k: int | None, left: bool) -> None:
    rng = np.random.default_rng(n)
    a = rng.standard_normal((n, n)) + n**0.5 * np.eye(n)
    b = rng.standard_normal((n,) if k is None else ((n, k) if left else (k, n)))
    ours, ref = _both(lambda T, a, b: T.linalg.solve(a, b, left=left), [a, b])
    for o, r in zip(ours, ref):
        np.testing.assert_allclose(o, r, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("n,upper", [(64, False), (90, True)])
def test_large_cholesky_matches_torch_first_and_second_order(n: int, upper: bool) -> None:
    rng = np.random.default_rng(n)
    x = rng.standard_normal((n, n))
    a = x @ x.T + n * np.eye(n)
    ours, ref = _both(lambda T, a: T.linalg.cholesky(a, upper=upper), [a])
    for o, r in zip(ours, ref):
        np.testing.assert_allclose(o, r, rtol=1e-10, atol=1e-12)
    grads = []
    for T in (cr, torch):  # create_graph: the rule written with ops
        t = T.tensor(a, requires_grad=True)
        (g,) = T.autograd.grad(T.linalg.cholesky(t, upper=upper).sum(), t, create_graph=True)
        (h,) = T.autograd.grad((g * g).sum(), t)
        grads.append(h.numpy())
    np.testing.assert_allclose(grads[0], grads[1], rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("shape,full", [((70, 70), False), ((80, 64), False), ((64, 80), True),
                                        ((72, 72), True)])
def test_single_matrix_svd_matches_torch(shape: tuple, full: bool) -> None:
    a = np.random.default_rng(sum(shape)).standard_normal(shape)
    ours, ref = _both(lambda T, a: T.linalg.svdvals(a), [a])
    for o, r in zip(ours, ref):
        np.testing.assert_allclose(o, r, rtol=1e-10, atol=1e-12)
    vals = []
    for T in (cr, torch):  # gauge-invariant products of the factors, and their gradients
        t = T.tensor(a, requires_grad=True)
        u, s, vh = T.linalg.svd(t, full_matrices=full)
        k = min(shape)
        out = (u[:, :k] * s) @ vh[:k]
        (out.sum() + (u[:, :k] @ vh[:k]).square().sum() + s.sum()).backward()
        vals.append((out.detach().numpy(), t.grad.numpy()))
    for o, r in zip(vals[0], vals[1]):
        np.testing.assert_allclose(o, r, rtol=1e-9, atol=1e-10)
    # ... and one whose gradient needs the 1 / (s_j² - s_i²) terms: the top two singular pairs,
    # weighted at random (the products above are constant or linear in A; this is not)
    w = np.random.default_rng(1).standard_normal(shape)
    grads = []
    for T in (cr, torch):
        t = T.tensor(a, requires_grad=True)
        u, s, vh = T.linalg.svd(t, full_matrices=full)
        ((u[:, :2] * s[:2]) @ vh[:2] * T.tensor(w)).sum().backward()
        grads.append(t.grad.numpy())
    np.testing.assert_allclose(grads[0], grads[1], rtol=1e-8, atol=1e-10)
