"""Complex input to linalg's spectral family (eigh, eig, svd, qr, pinv, lstsq, matrix_exp,
rank, cond, norms) against PyTorch 2.13: values, dtypes, gradients of real losses
(PyTorch's convention dL/da + i dL/db), gradchecks, and the refusal of phase-dependent losses.

Eigenvectors and singular vectors are compared through quantities that do not depend on
their phases (|v|², V diag(λ) V⁻¹, U diag(S) Vᴴ, U Vᴴ)."""

from __future__ import annotations

from typing import Any, Callable

import numpy as np
import pytest
from reference import torch

import chainrule as cr
from chainrule.autograd import gradcheck, gradgradcheck


def _np(t: Any) -> np.ndarray:
    return t.detach().numpy() if isinstance(t, cr.Tensor) else t.detach().resolve_conj().numpy()


def _z(seed: int, *shape: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.standard_normal(shape) + 1j * rng.standard_normal(shape)


def _name(d: Any) -> str:
    return str(d).split(".")[-1]


def herm(T: Any, x: Any) -> Any:  # Hermitian, eigenvalues well apart
    n = x.shape[-1]
    return x + x.mH + T.diag(T.arange(n, dtype=T.float64) * 4.0).to(x.dtype)


def spread(T: Any, x: Any) -> Any:  # eigenvalues (singular values) well apart
    m, n = x.shape[-2:]
    d = T.zeros(m, n, dtype=x.dtype)
    for i in range(min(m, n)):
        d[i, i] = 3.0 * (min(m, n) - i)
    return x * 0.5 + d


def _eigh(T: Any, x: Any) -> Any:
    w, v = T.linalg.eigh(herm(T, x))
    return w, (v * v.conj()).real, v @ T.diag_embed(w.to(v.dtype)) @ v.mH


def _eigh_u(T: Any, x: Any) -> Any:
    w, v = T.linalg.eigh(herm(T, x), UPLO="U")
    return w, (v.abs() ** 2)[..., 1:, :]


def _eig(T: Any, x: Any) -> Any:
    w, v = T.linalg.eig(spread(T, x))
    return w, v.abs(), v @ T.diag_embed(w) @ T.linalg.inv(v)


def _svd(full: bool) -> Callable:
    def f(T: Any, x: Any) -> Any:
        u, s, vh = T.linalg.svd(spread(T, x), full_matrices=full)
        k = s.shape[-1]
        u, vh = u[..., :k], vh[..., :k, :]
        return s, u @ vh, (u * s.to(u.dtype).unsqueeze(-2)) @ vh, u.abs()

    return f


def _cond(T: Any, a: Any, p: Any) -> Any:
    """PyTorch 2.13's cond(complex, p) backward trips over its own in-place write (a version
    error), so its side is the definition ‖A‖ ‖A⁻¹‖ (the values are checked equal too)."""
    if T is cr:
        return cr.linalg.cond(a, p)
    ref = T.linalg.matrix_norm(a, p) * T.linalg.matrix_norm(T.linalg.inv(a), p)
    torch.testing.assert_close(ref, T.linalg.cond(a.detach(), p))
    return ref


CASES = [
    ("eigh", _eigh, (4, 4)),
    ("eigh_batch", _eigh, (2, 3, 3)),
    ("eigh_upper", _eigh_u, (3, 3)),
    ("eigvalsh", lambda T, x: T.linalg.eigvalsh(herm(T, x)), (2, 4, 4)),
    ("eig", _eig, (4, 4)),
    ("eig_batch", _eig, (2, 3, 3)),
    ("eigvals", lambda T, x: T.linalg.eigvals(spread(T, x)), (3, 3)),
    ("svd_square", _svd(False), (3, 3)),
    ("svd_tall", _svd(False), (4, 3)),
    ("svd_wide_batch", _svd(False), (2, 3, 4)),
    ("svd_full", _svd(True), (4, 3)),
    ("svd_full_wide", _svd(True), (3, 4)),
    ("svdvals", lambda T, x: T.linalg.svdvals(spread(T, x)), (2, 4, 3)),
    ("pinv", lambda T, x: T.linalg.pinv(spread(T, x)), (4, 3)),
    ("pinv_wide", lambda T, x: T.linalg.pinv(spread(T, x)), (2, 3, 4)),
    ("pinv_hermitian", lambda T, x: T.linalg.pinv(herm(T, x), hermitian=True), (3, 3)),
    ("lstsq", lambda T, x: T.linalg.lstsq(spread(T, x), x[..., :2] * 2)[0], (4, 3)),
    ("lstsq_gelsd", lambda T, x: T.linalg.lstsq(spread(T, x), x[..., :2], driver="gelsd")[:2], (4, 3)),
    ("qr", lambda T, x: T.linalg.qr(spread(T, x)), (4, 3)),
    ("qr_square_batch", lambda T, x: T.linalg.qr(spread(T, x)), (2, 3, 3)),
    ("qr_complete", lambda T, x: T.linalg.qr(spread(T, x), mode="complete"), (3, 4)),
    ("qr_wide", lambda T, x: T.linalg.qr(spread(T, x)), (3, 5)),
    ("matrix_exp", lambda T, x: T.linalg.matrix_exp(x * 0.7), (3, 3)),
    ("matrix_exp_batch", lambda T, x: T.matrix_exp(x), (2, 3, 3)),
    ("cond", lambda T, x: T.linalg.cond(spread(T, x)), (2, 3, 3)),
    ("cond_fro", lambda T, x: _cond(T, spread(T, x), "fro"), (3, 3)),
    ("cond_1", lambda T, x: _cond(T, spread(T, x), 1), (2, 3, 3)),
    ("norm_fro", lambda T, x: T.linalg.matrix_norm(x), (2, 3, 4)),
    ("norm_nuc", lambda T, x: T.linalg.matrix_norm(spread(T, x), "nuc"), (4, 3)),
    ("norm_2", lambda T, x: T.linalg.matrix_norm(spread(T, x), 2), (2, 3, 3)),
    ("norm_-2", lambda T, x: T.linalg.matrix_norm(spread(T, x), -2), (3, 4)),
    ("norm_1", lambda T, x: T.linalg.matrix_norm(x, 1), (3, 4)),
    ("norm_inf", lambda T, x: T.linalg.matrix_norm(x, float("inf"), dim=(0, 1)), (3, 4, 2)),
    ("vector_norm", lambda T, x: T.linalg.vector_norm(x), (3, 4)),
    ("vector_norm_3", lambda T, x: T.linalg.vector_norm(x, 3, dim=-1), (3, 4)),
    ("vector_norm_inf", lambda T, x: T.linalg.vector_norm(x, float("inf"), dim=0), (3, 4)),
    ("norm", lambda T, x: T.linalg.norm(x, dim=(0, 1)), (3, 4)),
    ("norm_vec_1", lambda T, x: T.linalg.norm(x[0], 1), (3, 4)),
]
IDS = [c[0] for c in CASES]


def _tuple(out: Any) -> tuple:
    return tuple(out) if isinstance(out, tuple) else (out,)


def _loss(outs: tuple) -> Any:
    total = 0
    for i, o in enumerate(outs):
        if o.dtype.is_complex:
            total = total + (o.real * (i + 1)).sum() + (o.imag * (0.5 - i)).sum()
        else:
            total = total + (o * (i + 1.5)).sum()
    return total


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_forward_and_gradient_against_pytorch(case: tuple) -> None:
    _, f, shape = case
    z = _z(len(shape) * 10 + shape[-1], *shape)
    a = cr.tensor(z, requires_grad=True)
    b = torch.tensor(z, requires_grad=True)
    ours, ref = _tuple(f(cr, a)), _tuple(f(torch, b))
    assert len(ours) == len(ref)
    for o, r in zip(ours, ref):
        assert _name(o.dtype) == _name(r.dtype) and tuple(o.shape) == tuple(r.shape)
        np.testing.assert_allclose(_np(o), _np(r), rtol=1e-9, atol=1e-9)
    _loss(ours).backward()
    _loss(ref).backward()
    assert a.grad.dtype == cr.complex128
    np.testing.assert_allclose(_np(a.grad), _np(b.grad), rtol=1e-7, atol=1e-9)


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_complex64_dtypes(case: tuple) -> None:
    _, f, shape = case
    z = _z(3, *shape)
    ours = _tuple(f(cr, cr.tensor(z, dtype=cr.complex64)))
    ref = _tuple(f(torch, torch.tensor(z, dtype=torch.complex64)))
    for o, r in zip(ours, ref):
        assert _name(o.dtype) == _name(r.dtype)
        np.testing.assert_allclose(_np(o), _np(r), rtol=2e-3, atol=2e-3)


GRADCHECKED = [
    "eigh",
    "eigh_batch",
    "eig",
    "svd_square",
    "svd_tall",
    "svd_wide_batch",
    "svd_full",
    "pinv_hermitian",
    "qr",
    "qr_wide",
    "matrix_exp",
    "norm_nuc",
    "lstsq",
]


@pytest.mark.parametrize("name", GRADCHECKED)
def test_gradcheck_complex(name: str) -> None:
    _, f, shape = CASES[IDS.index(name)]
    shape = shape[-2:] if name != "svd_wide_batch" else shape
    a = cr.tensor(_z(5, *shape), requires_grad=True)

    def fn(x: Any) -> Any:
        return _tuple(f(cr, x))

    assert gradcheck(fn, (a,), check_forward_ad=True)
    assert gradgradcheck(fn, (a,))


def test_real_input_to_eig_gives_complex_and_a_real_gradient() -> None:
    x = np.random.default_rng(7).standard_normal((3, 3))
    outs = []
    for T in (cr, torch):
        a = T.tensor(x, requires_grad=True)
        w, v = T.linalg.eig(spread(T, a))
        _loss((w, v.abs())).backward()
        outs.append((w, a.grad))
    (w0, g0), (w1, g1) = outs
    assert _name(w0.dtype) == "complex128" and _name(g0.dtype) == "float64"
    np.testing.assert_allclose(_np(w0), _np(w1), rtol=1e-10)
    np.testing.assert_allclose(_np(g0), _np(g1), rtol=1e-8, atol=1e-10)
    assert _name(cr.linalg.eigvals(cr.tensor(x, dtype=cr.float32)).dtype) == "complex64"


PHASE_LOSSES = [
    ("eigh", lambda T, a: T.linalg.eigh(herm(T, a))[1][1, 2].real),
    ("eigh_sum", lambda T, a: T.linalg.eigh(herm(T, a))[1].real.sum()),
    ("eig", lambda T, a: T.linalg.eig(spread(T, a))[1][0, 1].imag),
    ("svd_u", lambda T, a: T.linalg.svd(spread(T, a))[0][1, 2].real),
    ("svd_vh", lambda T, a: T.linalg.svd(spread(T, a))[2][1, 2].real),
]


@pytest.mark.parametrize("case", PHASE_LOSSES, ids=[c[0] for c in PHASE_LOSSES])
def test_phase_dependent_loss_is_refused(case: tuple) -> None:
    _, f = case
    z = _z(11, 3, 3)
    msgs = []
    for T in (cr, torch):
        a = T.tensor(z, requires_grad=True)
        with pytest.raises(RuntimeError) as info:
            f(T, a).backward()
        msgs.append(str(info.value))
    assert msgs[1] in msgs[0]


def test_phase_invariant_loss_of_vectors_is_accepted() -> None:
    """|V|² and U Vᴴ do not move with the phases: no refusal, PyTorch's gradient."""
    z = _z(12, 3, 3)
    grads = []
    for T in (cr, torch):
        a = T.tensor(z, requires_grad=True)
        u, s, vh = T.linalg.svd(spread(T, a))
        v = T.linalg.eigh(herm(T, a))[1]
        ((u @ vh).real.sum() + (v.abs() ** 2)[0].sum() * 0 + (v.abs() ** 3).sum()).backward()
        grads.append(_np(a.grad))
    np.testing.assert_allclose(grads[0], grads[1], rtol=1e-8, atol=1e-10)


def test_real_input_is_unchanged() -> None:
    """Real input takes the real path: real dtypes and PyTorch's values and gradients."""
    x = np.random.default_rng(13).standard_normal((4, 3))
    res = []
    for T in (cr, torch):
        a = T.tensor(x, requires_grad=True)
        u, s, vh = T.linalg.svd(spread(T, a), full_matrices=False)
        q, r = T.linalg.qr(spread(T, a))
        w = T.linalg.eigvalsh(a.mT @ a)
        ((u @ vh).sum() + s.sum() + q.sum() + r.sum() + w.sum()).backward()
        res.append((s, q, a.grad))
    for o, r in zip(*res):
        assert _name(o.dtype) == _name(r.dtype) == "float64"
        np.testing.assert_allclose(_np(o), _np(r), rtol=1e-9, atol=1e-10)


@pytest.mark.parametrize("d", [0.3, 3.0, 30.0])
def test_svd_phase_check_tolerance_as_pytorch(d: float) -> None:
    """PyTorch's check is allclose(Im diag UᴴŪ, −Im diag VᴴV̄, 1e-2, 1e-2): relative to the
    loss's scale, so a small phase term on top of a large invariant loss passes there too."""
    z, w = _z(14, 3, 3), np.random.default_rng(15).standard_normal((3, 3))
    outcome = []
    for T in (cr, torch):
        a = T.tensor(z, requires_grad=True)
        u, _, vh = T.linalg.svd(a)
        loss = 300 * ((u @ vh).real * T.tensor(w)).sum() + d * u[0, 0].imag
        try:  # (accepted, the gradient still depends on each library's phase choice)
            loss.backward()
            outcome.append("accepted")
        except RuntimeError as e:
            outcome.append(str(e))
    assert outcome[1] in outcome[0]


def test_eig_under_vmap_and_jacrev_as_pytorch() -> None:
    """eig's batching rule (vmap) and reverse-mode Jacobian of a gauge-invariant output."""
    x = np.random.default_rng(16).standard_normal((2, 3, 3))

    def f(T: Any, a: Any) -> Any:
        w, v = T.linalg.eig(spread(T, a))
        return T.cat([w.real, w.imag, v.abs().sum(-2)], -1)

    ours = cr.func.vmap(lambda a: f(cr, a))(cr.tensor(x))
    np.testing.assert_allclose(_np(ours), _np(f(torch, torch.tensor(x))), rtol=1e-10, atol=1e-12)
    jac = cr.func.jacrev(lambda a: f(cr, a))(cr.tensor(x[0]))
    ref = torch.autograd.functional.jacobian(lambda a: f(torch, a), torch.tensor(x[0]))
    np.testing.assert_allclose(_np(jac), _np(ref), rtol=1e-8, atol=1e-10)
