"""Complex inputs of the inverses, determinants, solvers and factorizations against PyTorch 2.13:
forward values (complex128), gradients of a real loss (PyTorch's convention, the conjugate
Wirtinger derivative), gradcheck/gradgradcheck, batches, complex64 results and refusals."""

from __future__ import annotations

from typing import Any, Callable

import numpy as np
import pytest
from reference import torch

import chainrule as cr
from chainrule.autograd import gradcheck, gradgradcheck


def _z(rng: np.random.Generator, *shape: int) -> np.ndarray:
    return rng.standard_normal(shape) + 1j * rng.standard_normal(shape)


def _hpd(rng: np.random.Generator, n: int, *batch: int) -> np.ndarray:
    x = _z(rng, *batch, n, n)
    return x @ np.conj(np.swapaxes(x, -1, -2)) + n * np.eye(n)


def wc(T: Any, x: Any) -> Any:
    return x + 3 * T.eye(x.shape[-1], dtype=x.dtype)


def hpd(T: Any, x: Any) -> Any:
    return x @ x.mH + x.shape[-1] * T.eye(x.shape[-1], dtype=x.dtype)


def tri(T: Any, x: Any, upper: bool) -> Any:
    t = x.triu() if upper else x.tril()
    return t + 3 * T.eye(x.shape[-1], dtype=x.dtype)


def _lu(T: Any, x: Any) -> Any:
    return T.linalg.lu_factor(wc(T, x))


def _np(t: Any) -> np.ndarray:
    if isinstance(t, cr.Tensor):
        return t.detach().numpy()
    return t.detach().resolve_conj().numpy()


def _outs(r: Any) -> list:
    return list(r) if isinstance(r, tuple) else [r]


# (name, function of (T, *inputs), input shapes; "H" marks a Hermitian positive-definite leaf)
Z, H = "Z", "H"
CASES: list[tuple[str, Callable, list]] = [
    ("inv", lambda T, x: T.linalg.inv(wc(T, x)), [(Z, 2, 3, 3)]),
    ("inv_ex", lambda T, x: T.linalg.inv_ex(wc(T, x)).inverse, [(Z, 3, 3)]),
    ("inverse", lambda T, x: T.inverse(wc(T, x)), [(Z, 3, 3)]),
    ("det", lambda T, x: T.linalg.det(wc(T, x)), [(Z, 2, 3, 3)]),
    ("det_top", lambda T, x: T.det(x), [(Z, 4, 4)]),
    ("slogdet", lambda T, x: tuple(T.linalg.slogdet(x)), [(Z, 2, 3, 3)]),
    ("slogdet_top", lambda T, x: tuple(T.slogdet(wc(T, x))), [(Z, 3, 3)]),
    ("logdet", lambda T, x: T.logdet(wc(T, x)), [(Z, 2, 3, 3)]),
    ("solve", lambda T, a, b: T.linalg.solve(wc(T, a), b), [(Z, 2, 3, 3), (Z, 2, 3, 2)]),
    ("solve_vector", lambda T, a, b: T.linalg.solve(wc(T, a), b), [(Z, 3, 3), (Z, 3)]),
    ("solve_right", lambda T, a, b: T.linalg.solve(wc(T, a), b, left=False), [(Z, 3, 3), (Z, 2, 3)]),
    ("solve_bcast", lambda T, a, b: T.linalg.solve(wc(T, a), b), [(Z, 3, 3), (Z, 2, 3, 1)]),
    ("solve_ex", lambda T, a, b: T.linalg.solve_ex(wc(T, a), b).result, [(Z, 3, 3), (Z, 3, 2)]),
    (
        "solve_large",
        lambda T, a, b: T.linalg.solve(a + 30 * T.eye(70, dtype=a.dtype), b),
        [(Z, 70, 70), (Z, 70, 3)],
    ),
    (
        "solve_triangular",
        lambda T, a, b: T.linalg.solve_triangular(tri(T, a, True), b, upper=True),
        [(Z, 2, 3, 3), (Z, 3, 2)],
    ),
    (
        "solve_triangular_lower_right_unit",
        lambda T, a, b: T.linalg.solve_triangular(a, b, upper=False, left=False, unitriangular=True),
        [(Z, 3, 3), (Z, 2, 3)],
    ),
    (
        "triangular_solve",
        lambda T, b, a: tuple(T.triangular_solve(b, tri(T, a, True), upper=True, transpose=True)),
        [(Z, 3, 2), (Z, 3, 3)],
    ),
    ("cholesky", lambda T, x: T.linalg.cholesky(hpd(T, x)), [(Z, 2, 3, 3)]),
    ("cholesky_leaf", lambda T, a: T.linalg.cholesky(a), [(H, 2, 3, 3)]),
    ("cholesky_upper_leaf", lambda T, a: T.linalg.cholesky(a, upper=True), [(H, 3, 3)]),
    ("cholesky_ex", lambda T, x: T.linalg.cholesky_ex(hpd(T, x)).L, [(Z, 3, 3)]),
    ("cholesky_top", lambda T, x: T.cholesky(hpd(T, x), upper=True), [(Z, 3, 3)]),
    (
        "cholesky_solve",
        lambda T, x, b: T.cholesky_solve(b, T.linalg.cholesky(hpd(T, x))),
        [(Z, 2, 3, 3), (Z, 3, 2)],
    ),
    (
        "cholesky_solve_upper",
        lambda T, x, b: T.cholesky_solve(b, T.linalg.cholesky(hpd(T, x), upper=True), upper=True),
        [(Z, 3, 3), (Z, 3, 2)],
    ),
    ("cholesky_inverse", lambda T, x: T.cholesky_inverse(T.linalg.cholesky(hpd(T, x))), [(Z, 3, 3)]),
    ("lu_factor", lambda T, x: _lu(T, x)[0], [(Z, 2, 3, 3)]),
    ("lu_factor_ex", lambda T, x: T.linalg.lu_factor_ex(wc(T, x))[0], [(Z, 3, 3)]),
    ("lu", lambda T, x: tuple(T.linalg.lu(wc(T, x))), [(Z, 2, 3, 3)]),
    ("lu_unpack", lambda T, x: tuple(T.lu_unpack(*_lu(T, x))), [(Z, 3, 3)]),
    ("lu_solve", lambda T, x, b: T.linalg.lu_solve(*_lu(T, x), b), [(Z, 2, 3, 3), (Z, 3, 2)]),
    (
        "lu_solve_adjoint",
        lambda T, x, b: T.linalg.lu_solve(*_lu(T, x), b, adjoint=True),
        [(Z, 3, 3), (Z, 3, 2)],
    ),
    ("lu_solve_right", lambda T, x, b: T.linalg.lu_solve(*_lu(T, x), b, left=False), [(Z, 3, 3), (Z, 2, 3)]),
    (
        "lu_solve_right_adjoint",
        lambda T, x, b: T.linalg.lu_solve(*_lu(T, x), b, left=False, adjoint=True),
        [(Z, 3, 3), (Z, 2, 3)],
    ),
    ("matrix_power", lambda T, x: T.linalg.matrix_power(x, 3), [(Z, 2, 3, 3)]),
    ("matrix_power_neg", lambda T, x: T.linalg.matrix_power(wc(T, x), -2), [(Z, 3, 3)]),
    ("matrix_power_top", lambda T, x: T.matrix_power(x, 0) + x, [(Z, 3, 3)]),
    ("multi_dot", lambda T, a, b, c: T.linalg.multi_dot([a, b, c]), [(Z, 3), (Z, 3, 4), (Z, 4, 2)]),
    ("vecdot", lambda T, x, y: T.linalg.vecdot(x, y), [(Z, 2, 4), (Z, 4)]),
    ("vecdot_dim", lambda T, x, y: T.linalg.vecdot(x, y, dim=0), [(Z, 4, 2), (Z, 4, 2)]),
    ("cross", lambda T, x, y: T.linalg.cross(x, y), [(Z, 2, 3), (Z, 2, 3)]),
    ("cross_top", lambda T, x, y: T.cross(x, y, dim=0), [(Z, 3, 2), (Z, 3, 1)]),
    (
        "tensorinv",
        lambda T, x: T.linalg.tensorinv(wc(T, x.reshape(6, 6)).reshape(2, 3, 6), ind=2),
        [(Z, 6, 6)],
    ),
    (
        "tensorsolve",
        lambda T, a, b: T.linalg.tensorsolve(wc(T, a).reshape(2, 3, 6), b),
        [(Z, 6, 6), (Z, 2, 3)],
    ),
    ("householder_product", lambda T, a, t: T.linalg.householder_product(a, t), [(Z, 4, 3), (Z, 2)]),
]


def _inputs(specs: list, seed: int) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    out = []
    for kind, *shape in specs:
        if kind == H:
            out.append(_hpd(rng, shape[-1], *shape[:-2]))
        else:
            out.append(_z(rng, *shape))
    return out


def _loss(outs: list, ws: list) -> Any:
    total = 0
    for o, w in zip(outs, ws):
        if o.dtype.is_complex:
            total = total + (o * w).real.sum() + (o.abs() ** 2).sum()
        elif o.dtype.is_floating_point:
            total = total + (o * w.real).sum()
    return total


@pytest.mark.parametrize("name,fn,specs", CASES, ids=[c[0] for c in CASES])
def test_forward_and_gradients_match_torch(name: str, fn: Callable, specs: list) -> None:
    arrays = _inputs(specs, 0)
    tt = [torch.tensor(a, requires_grad=True) for a in arrays]
    ct = [cr.tensor(a, requires_grad=True) for a in arrays]
    to, co = _outs(fn(torch, *tt)), _outs(fn(cr, *ct))
    assert len(to) == len(co)
    rng = np.random.default_rng(1)
    ws = [_z(rng, *tuple(o.shape)) for o in to]
    for t, c in zip(to, co):
        assert str(c.dtype).split(".")[-1] == str(t.dtype).split(".")[-1]
        assert tuple(c.shape) == tuple(t.shape)
        np.testing.assert_allclose(_np(c), _np(t), rtol=1e-10, atol=1e-10)
    _loss(to, [torch.tensor(w) for w in ws]).backward()
    _loss(co, [cr.tensor(w) for w in ws]).backward()
    for t, c in zip(tt, ct):
        assert c.grad is not None and c.grad.dtype == cr.complex128
        np.testing.assert_allclose(_np(c.grad), _np(t.grad), rtol=1e-9, atol=1e-9)


GRADCHECKED = [c for c in CASES if c[0] not in ("solve_large", "tensorinv", "tensorsolve")]


@pytest.mark.parametrize("name,fn,specs", GRADCHECKED, ids=[c[0] for c in GRADCHECKED])
def test_gradcheck_and_gradgradcheck(name: str, fn: Callable, specs: list) -> None:
    args = tuple(cr.tensor(a, requires_grad=True) for a in _inputs(specs, 2))

    def f(*xs: Any) -> Any:
        outs = [o for o in _outs(fn(cr, *xs)) if o.dtype.is_complex or o.dtype.is_floating_point]
        return tuple(outs) if len(outs) > 1 else outs[0]

    if name.startswith("cholesky") and "leaf" in name:  # a leaf is read as Hermitian: symmetrize
        f0 = f

        def f(a: Any) -> Any:  # noqa: F811
            return f0((a + a.mH) / 2)

    assert gradcheck(f, args, check_forward_ad=True)
    assert gradgradcheck(f, args)


@pytest.mark.parametrize("name,fn,specs", CASES[:12], ids=[c[0] for c in CASES[:12]])
def test_complex64_results(name: str, fn: Callable, specs: list) -> None:
    arrays = [a.astype(np.complex64) for a in _inputs(specs, 3)]
    to = _outs(fn(torch, *[torch.tensor(a) for a in arrays]))
    co = _outs(fn(cr, *[cr.tensor(a) for a in arrays]))
    for t, c in zip(to, co):
        assert str(c.dtype).split(".")[-1] == str(t.dtype).split(".")[-1]
        np.testing.assert_allclose(_np(c), _np(t), rtol=2e-4, atol=2e-4)


def test_slogdet_sign_is_unit_and_logdet_is_log_det() -> None:
    a = _z(np.random.default_rng(4), 3, 4, 4)
    sign, logabs = cr.linalg.slogdet(cr.tensor(a))
    assert logabs.dtype == cr.float64 and sign.dtype == cr.complex128
    np.testing.assert_allclose(np.abs(sign.numpy()), 1.0, rtol=1e-12)
    np.testing.assert_allclose(cr.logdet(cr.tensor(a)).numpy(), np.log(np.linalg.det(a)), rtol=1e-10)


def _raises_as_torch(call: Callable, arrays: list) -> tuple[str, str]:
    with pytest.raises(Exception) as t:
        call(torch, *[torch.tensor(a) for a in arrays])
    with pytest.raises(Exception) as c:
        call(cr, *[cr.tensor(a) for a in arrays])
    assert t.type.__name__.lstrip("_") == c.type.__name__
    return str(t.value), str(c.value)


def test_singular_and_indefinite_complex_input_raise_as_torch() -> None:
    z = np.zeros((3, 3), complex)
    for call in (lambda T, a: T.linalg.inv(a), lambda T, a: T.linalg.solve(a, a)):
        t, c = _raises_as_torch(call, [z])
        assert t == c
    t, c = _raises_as_torch(lambda T, a: T.linalg.cholesky(a), [-np.eye(3, dtype=complex)])
    assert t == c
    batch = np.stack([np.eye(3), np.zeros((3, 3))]).astype(complex)
    t, c = _raises_as_torch(lambda T, a: T.linalg.inv(a), [batch])
    assert t == c and "(Batch element 1)" in c
    info = cr.linalg.inv_ex(cr.tensor(batch)).info
    np.testing.assert_array_equal(info.numpy(), torch.linalg.inv_ex(torch.tensor(batch)).info.numpy())


@pytest.mark.parametrize(
    "call",
    [
        lambda T, a, b: T.linalg.solve(a, b.real.clone()),
        lambda T, a, b: T.linalg.solve(a.real.clone(), b),
        lambda T, a, b: T.linalg.vecdot(a[0], b[:, 0].real.clone()),
        lambda T, a, b: T.cholesky_solve(b.real.clone(), a),
        lambda T, a, b: T.linalg.lu_solve(*T.linalg.lu_factor(a), b.real.clone()),
        lambda T, a, b: T.linalg.lstsq(a, b.real.clone()),
        lambda T, a, b: T.linalg.lstsq(a.real.clone(), b),
    ],
)
def test_mixed_real_and_complex_operands_are_refused_as_torch(call: Callable) -> None:
    rng = np.random.default_rng(5)
    t, c = _raises_as_torch(call, [_z(rng, 3, 3) + 3 * np.eye(3), _z(rng, 3, 2)])
    assert "same dtype" in t and "same dtype" in c and "complex128" in c and "float64" in c


def test_real_dtypes_still_refuse_integers_and_half() -> None:
    for dt in (np.int64, np.float16):
        a = np.eye(3).astype(dt)
        t, c = _raises_as_torch(lambda T, x: T.linalg.inv(x), [a])
        assert t == c


@pytest.mark.parametrize(
    "call",
    [
        lambda T, a, b: T.linalg.multi_dot([a, b.real.clone(), b.mT]),
        lambda T, a, b: T.linalg.multi_dot([a, a, b.real.clone()]),
        lambda T, a, b: T.linalg.cross(a, a.real.clone()),
        lambda T, a, b: T.linalg.householder_product(b, b[:, 0].real.clone()),
        lambda T, a, b: T.ormqr(b, b[:, 0].real.clone(), a),
        lambda T, a, b: T.linalg.multi_dot([a.real.clone(), a.real.float()]),
        lambda T, a, b: T.linalg.cross(a.real.clone(), a.real.float()),
    ],
)
def test_mixed_dtypes_of_products_are_refused_as_torch(call: Callable) -> None:
    rng = np.random.default_rng(6)
    t, c = _raises_as_torch(call, [_z(rng, 3, 3), _z(rng, 3, 2)])
    assert "dtype" in c


@pytest.mark.parametrize("some", [True, False])
def test_old_svd_returns_v_as_the_conjugate_transpose_of_vh(some: bool) -> None:
    a = _z(np.random.default_rng(8), 2, 4, 3)
    w = _z(np.random.default_rng(9), 2, 4, 3)
    t, c = torch.tensor(a, requires_grad=True), cr.tensor(a, requires_grad=True)
    to, co = torch.svd(t, some=some), cr.svd(c, some=some)
    for x, y in zip(to, co):
        np.testing.assert_allclose(_np(y), _np(x), rtol=1e-10, atol=1e-10)
    if some:  # U Vᴴ does not depend on the phases of the singular vectors
        for T, (u, _, v) in ((torch, to), (cr, co)):
            ((u @ v.mH) * T.tensor(w)).real.sum().backward()
        np.testing.assert_allclose(_np(c.grad), _np(t.grad), rtol=1e-9, atol=1e-9)
