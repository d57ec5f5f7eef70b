"""``chainrule.lobpcg`` against PyTorch 2.13's and against the exact eigendecomposition.

The iteration starts from random columns, so eigenvectors are compared up to sign and the
losses that test gradients are sign-invariant (``X Xᵀ`` weighted, the eigenvalues weighted).
"""

from __future__ import annotations

import numpy as np
import pytest
from reference import need_torch

import chainrule as cr


def _spd(m: int, seed: int, batch: tuple = ()) -> np.ndarray:
    """A symmetric matrix with well-separated eigenvalues 1..m (times the batch index + 1)."""
    rng = np.random.default_rng(seed)
    out = np.empty(batch + (m, m))
    for i, idx in enumerate(np.ndindex(*batch)):
        q, _ = np.linalg.qr(rng.standard_normal((m, m)))
        out[idx] = q @ np.diag(np.arange(1.0, m + 1) * (i + 1)) @ q.T
    return out


def _same_span(x: np.ndarray, y: np.ndarray, atol: float) -> None:
    """Columns equal up to sign: |xᵀ y| is the identity."""
    np.testing.assert_allclose(
        np.abs(np.swapaxes(x, -1, -2) @ y),
        np.broadcast_to(np.eye(x.shape[-1]), x.shape[:-2] + (x.shape[-1],) * 2),
        atol=atol,
    )


@pytest.mark.parametrize("largest", [True, False])
@pytest.mark.parametrize("method", ["ortho", "basic"])
@pytest.mark.parametrize("k,n", [(1, None), (3, None), (2, 4)])
def test_eigenpairs_match_torch(largest: bool, method: str, k: int, n: int | None) -> None:
    torch = need_torch()
    a = _spd(30, 1)
    e, x = cr.lobpcg(cr.tensor(a), k=k, n=n, largest=largest, method=method)
    et, xt = torch.lobpcg(torch.tensor(a), k=k, n=n, largest=largest, method=method)
    assert tuple(e.shape) == tuple(et.shape) and tuple(x.shape) == tuple(xt.shape)
    np.testing.assert_allclose(e.numpy(), et.numpy(), rtol=1e-7)
    _same_span(x.numpy(), xt.numpy(), 1e-6)


def test_generalized_batched_preconditioned_and_float32() -> None:
    torch = need_torch()
    a, b = _spd(24, 2, (2,)), _spd(24, 3, (2,)) / 24 + 0.5 * np.eye(24)
    e, x = cr.lobpcg(cr.tensor(a), k=2, B=cr.tensor(b))
    et, xt = torch.lobpcg(torch.tensor(a), k=2, B=torch.tensor(b))
    np.testing.assert_allclose(e.numpy(), et.numpy(), rtol=1e-6)
    for i in range(2):  # B-orthonormal generalized eigenvectors
        np.testing.assert_allclose(x.numpy()[i].T @ b[i] @ x.numpy()[i], np.eye(2), atol=1e-8)
        np.testing.assert_allclose(a[i] @ x.numpy()[i], b[i] @ x.numpy()[i] * e.numpy()[i], atol=1e-5)
    ik = np.diag(1 / np.diag(a[0]))  # a Jacobi preconditioner
    e, _ = cr.lobpcg(cr.tensor(a[0]), k=2, iK=cr.tensor(ik))
    et, _ = torch.lobpcg(torch.tensor(a[0]), k=2, iK=torch.tensor(ik))
    np.testing.assert_allclose(e.numpy(), et.numpy(), rtol=1e-7)
    e32, x32 = cr.lobpcg(cr.tensor(a[0].astype(np.float32)), k=2)
    assert e32.dtype == cr.float32 and x32.dtype == cr.float32
    np.testing.assert_allclose(e32.numpy(), np.linalg.eigvalsh(a[0])[::-1][:2], rtol=1e-4)


def test_initial_block_niter_and_tracker() -> None:
    a = _spd(30, 4)
    x0 = cr.tensor(np.random.default_rng(0).standard_normal((30, 2)))
    steps: list[int] = []

    def tracker(state) -> None:
        steps.append(state.ivars["istep"])
        if state.ivars["istep"] == 3:
            state.bvars["force_stop"] = True

    cr.lobpcg(cr.tensor(a), X=x0, tracker=tracker)
    assert steps == [0, 1, 2, 3]
    e1, _ = cr.lobpcg(cr.tensor(a), X=x0, niter=1)
    e_full, _ = cr.lobpcg(cr.tensor(a), X=x0, niter=-1, tol=1e-12)
    exact = np.linalg.eigvalsh(a)[::-1][:2]
    np.testing.assert_allclose(e_full.numpy(), exact, rtol=1e-10)
    assert np.abs(e1.numpy() - exact).max() > 1e-8  # one step is not yet converged


def _loss(lib, e, x, w, c):
    return (e * lib.tensor(w)).sum() + ((x @ x.mT) * lib.tensor(c)).sum()


def test_gradient_is_the_exact_partial_eigendecomposition() -> None:
    torch = need_torch()
    rng = np.random.default_rng(5)
    a = _spd(20, 5, (2,))
    a[1] += 0.1 * rng.standard_normal((20, 20))  # not symmetric: the symmetrization is part of it
    w, c = rng.standard_normal(3), rng.standard_normal((20, 20))
    x0 = cr.tensor(rng.standard_normal((2, 20, 3)))
    ac = cr.tensor(a, requires_grad=True)
    e, x = cr.lobpcg(ac, X=x0, tol=1e-13, niter=-1)
    _loss(cr, e, x, w, c).backward()
    at = torch.tensor(a, requires_grad=True)
    ev, v = torch.linalg.eigh((at + at.mT) / 2)
    _loss(torch, ev.flip(-1)[..., :3], v.flip(-1)[..., :3], w, c).backward()
    np.testing.assert_allclose(ac.grad.numpy(), at.grad.numpy(), atol=1e-8)
    at = torch.tensor(a, requires_grad=True)
    et, xt = torch.lobpcg(at, X=torch.tensor(x0.numpy()))
    _loss(torch, et, xt, w, c).backward()
    np.testing.assert_allclose(ac.grad.numpy(), at.grad.numpy(), atol=1e-6)  # torch's tol is 1.5e-8


def test_gradcheck_and_gradgradcheck() -> None:
    rng = np.random.default_rng(6)
    a = _spd(9, 6)
    w, c = rng.standard_normal(2), rng.standard_normal((9, 9))
    x0 = cr.tensor(rng.standard_normal((9, 2)))

    def f(m):  # symmetric for the numerical derivative too, whose evaluations have no graph
        e, x = cr.lobpcg((m + m.mT) / 2, X=x0, tol=1e-13, niter=500, largest=False)
        return _loss(cr, e, x, w, c)

    m = cr.tensor(a, requires_grad=True)
    assert cr.autograd.gradcheck(f, (m,), atol=1e-6)
    assert cr.autograd.gradgradcheck(f, (m,), atol=1e-5)


def test_refusals_match_torch() -> None:
    torch = need_torch()
    a = _spd(6, 7)
    cases = [
        (lambda lib: lib.lobpcg(lib.tensor(a[:, :5]), k=1), AssertionError, "must be square"),
        (lambda lib: lib.lobpcg(lib.tensor(a), k=3), ValueError, "smaller than 3 x the number"),
        (lambda lib: lib.lobpcg(lib.tensor(a), B=lib.tensor(a[:5, :5])), AssertionError, "same shape"),
    ]
    for call, cls, fact in cases:
        for lib in (cr, torch):
            with pytest.raises(cls, match=fact):
                call(lib)
    b = cr.tensor(np.eye(6), requires_grad=True)
    e, _ = cr.lobpcg(cr.tensor(a), B=b, k=1)
    with pytest.raises(ValueError, match="B != I"):
        e.sum().backward()
    singular = np.zeros((9, 9))
    singular[0, 0] = 1.0
    x0 = cr.tensor(np.random.default_rng(0).standard_normal((9, 1)))  # (the start decides the step)
    with pytest.raises(cr.linalg.LinAlgError, match="method='ortho'"):
        cr.lobpcg(cr.tensor(singular), k=1, X=x0, method="basic", tol=1e-300, niter=50)
