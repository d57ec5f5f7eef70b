"""The rest of the public names added for tests/test_public_names.py, against PyTorch 2.13: LAPACK's
geqrf and LDL, the LU helpers, stft/istft, factories over memory, samplers, process settings,
Muon and the small aliases."""

from __future__ import annotations

import array
import warnings

import numpy as np
import pytest
from reference import need_torch
from test_public_names_values import _both, _same

import chainrule as cr

torch = need_torch()
RNG = np.random.default_rng(11)


# ------------------------------------------------------------------ linear algebra
@pytest.mark.parametrize("shape", [(4, 3), (3, 4), (2, 3, 3), (0, 2, 2), (3, 0)])
def test_geqrf_householder_ormqr_match_pytorch(shape) -> None:
    c, t = _both(RNG.standard_normal(shape))
    ours, ref = cr.geqrf(c), torch.geqrf(t)
    _same(ours, ref, rtol=1e-10, atol=1e-12)
    if shape[-2] >= shape[-1]:
        _same(
            cr.linalg.householder_product(*ours),
            torch.linalg.householder_product(*ref),
            rtol=1e-10,
            atol=1e-12,
        )
    other = RNG.standard_normal(shape[:-2] + (shape[-2], 2))
    for left, tr in ((True, False), (True, True)):
        _same(
            cr.ormqr(*ours, cr.tensor(other), left, tr),
            torch.ormqr(*ref, torch.tensor(other), left, tr),
            rtol=1e-10,
            atol=1e-12,
        )


def test_householder_product_q_reproduces_qr() -> None:
    a = RNG.standard_normal((5, 3))
    qr, tau = cr.geqrf(cr.tensor(a))
    q = cr.linalg.householder_product(qr, tau)
    np.testing.assert_allclose((q @ qr.triu()[:3]).numpy(), a, atol=1e-12)


@pytest.mark.parametrize("hermitian", [False, True])
@pytest.mark.parametrize("dtype", ["float64", "complex128"])
def test_ldl_factor_and_solve_match_pytorch(hermitian, dtype) -> None:
    a = RNG.standard_normal((2, 4, 4)) + (1j * RNG.standard_normal((2, 4, 4)) if dtype == "complex128" else 0)
    a = a + (np.conj(np.swapaxes(a, -1, -2)) if hermitian else np.swapaxes(a, -1, -2))
    b = RNG.standard_normal((2, 4, 3)).astype(dtype)
    c, t = _both(a)
    ours = cr.linalg.ldl_factor_ex(c, hermitian=hermitian)
    ref = torch.linalg.ldl_factor_ex(t, hermitian=hermitian)
    _same(ours, ref, rtol=1e-10, atol=1e-12)
    _same(
        cr.linalg.ldl_factor(c, hermitian=hermitian),
        torch.linalg.ldl_factor(t, hermitian=hermitian),
        rtol=1e-10,
        atol=1e-12,
    )
    _same(
        cr.linalg.ldl_solve(ours[0], ours[1], cr.tensor(b), hermitian=hermitian),
        torch.linalg.ldl_solve(ref[0], ref[1], torch.tensor(b), hermitian=hermitian),
        rtol=1e-9,
        atol=1e-10,
    )


def test_ldl_factor_reports_a_singular_matrix() -> None:
    z = np.zeros((3, 3))
    ours, ref = cr.linalg.ldl_factor_ex(cr.tensor(z)), torch.linalg.ldl_factor_ex(torch.tensor(z))
    assert int(ours.info) == int(ref.info) > 0
    with pytest.raises(RuntimeError):
        torch.linalg.ldl_factor(torch.tensor(z))
    with pytest.raises(RuntimeError, match="ldl_factor"):
        cr.linalg.ldl_factor(cr.tensor(z))


def test_lu_unpack_of_rectangular_batches() -> None:
    """P from the pivots of tall and wide batches (fewer pivots than rows), against PyTorch."""
    for shape in ((2, 5, 3), (3, 3, 5), (4, 1)):
        c, t = _both(RNG.standard_normal(shape))
        lu_c, lu_t = cr.linalg.lu_factor(c), torch.linalg.lu_factor(t)
        _same(cr.lu_unpack(*lu_c), torch.lu_unpack(*lu_t), rtol=1e-10, atol=1e-12)


def test_lu_helpers_and_tensor_solvers() -> None:
    a = RNG.standard_normal((2, 4, 4))
    c, t = _both(a)
    lu_c, lu_t = cr.linalg.lu_factor(c), torch.linalg.lu_factor(t)
    _same(cr.lu_unpack(*lu_c), torch.lu_unpack(*lu_t), rtol=1e-10, atol=1e-12)
    P, L, U = cr.lu_unpack(*lu_c)
    np.testing.assert_allclose((P @ L @ U).numpy(), a, atol=1e-12)
    _same(cr.lu_unpack(*lu_c, unpack_data=False), torch.lu_unpack(*lu_t, unpack_data=False))
    _same(c.lu(), t.lu(), rtol=1e-10)
    b = RNG.standard_normal((2, 4, 2))
    _same(cr.lu_solve(cr.tensor(b), *lu_c), torch.lu_solve(torch.tensor(b), *lu_t), rtol=1e-9, atol=1e-10)
    tri = np.triu(a) + 4 * np.eye(4)
    for kw in ({}, {"upper": True, "transpose": True}, {"upper": True, "unitriangular": True}):
        _same(
            cr.triangular_solve(cr.tensor(b), cr.tensor(tri), **kw),
            torch.triangular_solve(torch.tensor(b), torch.tensor(tri), **kw),
        )
    m = RNG.standard_normal((2, 3, 6))
    _same(
        cr.linalg.tensorinv(cr.tensor(m.reshape(6, 2, 3)), 1),
        torch.linalg.tensorinv(torch.tensor(m.reshape(6, 2, 3)), 1),
        rtol=1e-9,
        atol=1e-10,
    )
    m4 = RNG.standard_normal((3, 2, 2, 3))
    bb = RNG.standard_normal((3, 2))
    _same(
        cr.linalg.tensorsolve(cr.tensor(m4), cr.tensor(bb), dims=(0, 2)),
        torch.linalg.tensorsolve(torch.tensor(m4), torch.tensor(bb), dims=(0, 2)),
        rtol=1e-9,
        atol=1e-10,
    )


# ------------------------------------------------------------------------- stft
@pytest.mark.parametrize(
    "kw",
    [
        {},
        {"hop_length": 3, "win_length": 6},
        {"center": False, "normalized": True},
        {"onesided": False},
        {"pad_mode": "constant"},
    ],
)
def test_stft_istft_match_pytorch(kw) -> None:
    x = RNG.standard_normal((2, 40))
    c, t = _both(x)
    wl = kw.get("win_length", 16)
    cw, tw = cr.hann_window(wl, dtype=cr.float64), torch.hann_window(wl, dtype=torch.float64)
    ours = cr.stft(c, 16, window=cw, return_complex=True, **kw)
    ref = torch.stft(t, 16, window=tw, return_complex=True, **kw)
    _same(ours, ref, rtol=1e-9, atol=1e-10)
    ikw = {k: v for k, v in kw.items() if k != "pad_mode"}
    if not kw.get("center", True):  # a Hann window's zero first sample: both refuse (NOLA)
        with pytest.raises(RuntimeError, match="window overlap add"):
            torch.istft(ref, 16, window=tw, length=40, **ikw)
        with pytest.raises(RuntimeError, match="window overlap add"):
            cr.istft(ours, 16, window=cw, length=40, **ikw)
        return
    _same(
        cr.istft(ours, 16, window=cw, length=40, **ikw),
        torch.istft(ref, 16, window=tw, length=40, **ikw),
        rtol=1e-9,
        atol=1e-10,
    )
    np.testing.assert_allclose(cr.istft(ours, 16, window=cw, length=40, **ikw).numpy(), x, atol=1e-10)


def test_stft_refusals_and_legacy_real_output() -> None:
    with pytest.raises(RuntimeError):
        torch.stft(torch.zeros(20), 8)
    with pytest.raises(RuntimeError, match="return_complex"):
        cr.stft(cr.zeros(20), 8)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        _same(
            cr.stft(cr.arange(20.0), 8, return_complex=False),
            torch.stft(torch.arange(20.0), 8, return_complex=False),
            rtol=1e-5,
            atol=1e-5,
        )


# --------------------------------------------------------------- factories, memory
def test_frombuffer_shares_memory() -> None:
    buf = bytearray(np.arange(6, dtype=np.float32).tobytes())
    ours, ref = (
        cr.frombuffer(buf, dtype=cr.float32, count=4, offset=4),
        torch.frombuffer(buf, dtype=torch.float32, count=4, offset=4),
    )
    _same(ours, ref)
    ours[0] = 9.0
    assert np.frombuffer(buf, dtype=np.float32)[1] == 9.0
    _same(
        cr.frombuffer(array.array("i", [1, 2, 3]), dtype=cr.int32),
        torch.frombuffer(array.array("i", [1, 2, 3]), dtype=torch.int32),
    )


def test_from_file_shared_and_private(tmp_path) -> None:
    path = tmp_path / "data.bin"
    np.arange(5, dtype=np.float64).tofile(path)
    for shared in (False, True):
        ours = cr.from_file(str(path), shared, 4, dtype=cr.float64)
        _same(ours, torch.from_file(str(path), shared, 4, dtype=torch.float64))
    priv = cr.from_file(str(path), False, 5, dtype=cr.float64)
    priv[0] = 7.0
    assert np.fromfile(path)[0] == 0.0
    shared = cr.from_file(str(path), True, 5, dtype=cr.float64)
    shared[1] = 8.0
    del shared
    assert np.fromfile(path)[1] == 8.0
    with pytest.raises(RuntimeError, match="from_file"):
        cr.from_file(str(path), False, 100, dtype=cr.float64)


def test_range_empty_permuted_typed_constructors() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for args in ((1, 4), (0, 1, 0.3), (3, 0, -1), (2, 2)):
            _same(cr.range(*args), torch.range(*args), rtol=1e-6)
        _same(cr.range(1, 3, dtype=cr.int64), torch.range(1, 3, dtype=torch.int64))
    with pytest.warns(UserWarning, match="deprecated"):
        cr.range(0, 3)
    for d, t in (("CharTensor", "int8"), ("ShortTensor", "int16")):
        assert getattr(cr, d)([1, 2]).dtype == getattr(cr, t) and isinstance(
            cr.tensor([1], dtype=getattr(cr, t)), getattr(cr, d)
        )


def test_samplers() -> None:
    cr.manual_seed(0)
    rates = cr.tensor([0.5, 4.0, 20.0], dtype=cr.float64).expand(20000, 3)
    s = cr.poisson(rates)
    assert s.dtype == cr.float64 and np.allclose(s.mean(0).numpy(), [0.5, 4.0, 20.0], rtol=0.03)
    b = cr.binomial(cr.full((20000, 2), 10.0), cr.tensor([0.2, 0.7]))
    assert (
        b.dtype == cr.float32
        and np.allclose(b.mean(0).numpy(), [2.0, 7.0], rtol=0.03)
        and float(b.max()) <= 10
    )
    for draws in (s, b):  # counts: whole numbers, never negative
        assert np.array_equal(draws.numpy(), np.round(draws.numpy())) and float(draws.min()) >= 0
    assert float(b.max()) > 7 and float(s[:, 0].min()) == 0  # (not a constant near the mean)
    with pytest.raises(RuntimeError, match="rate"):
        cr.poisson(cr.tensor([-1.0]))


# ---------------------------------------------------------------------- settings
def test_thread_settings() -> None:
    before = cr.get_num_threads()
    try:
        cr.set_num_threads(1)
        assert cr.get_num_threads() == 1
        import threadpoolctl

        assert all(p["num_threads"] == 1 for p in threadpoolctl.threadpool_info() if p["user_api"] == "blas")
    finally:
        cr.set_num_threads(before)
    for bad in (0, -2, 1.5, True):
        with pytest.raises(RuntimeError):
            torch.set_num_threads(bad) if not isinstance(bad, float) else torch.set_num_threads(0)
        with pytest.raises(RuntimeError, match="positive integer"):
            cr.set_num_threads(bad)
    assert cr.get_num_interop_threads() >= 1


def test_determinism_precision_device_flags() -> None:
    try:
        for mode, warn in ((True, False), (True, True), (False, False)):
            cr.use_deterministic_algorithms(mode, warn_only=warn)
            assert cr.are_deterministic_algorithms_enabled() is mode
            assert cr.is_deterministic_algorithms_warn_only_enabled() is warn
        for m, want in (("default", 0), ("warn", 1), ("error", 2), (1, 1), (0, 0)):
            cr.set_deterministic_debug_mode(m)
            torch.set_deterministic_debug_mode(m)
            assert cr.get_deterministic_debug_mode() == torch.get_deterministic_debug_mode() == want
        with pytest.raises(RuntimeError, match="debug_mode"):
            cr.set_deterministic_debug_mode("often")
    finally:
        torch.set_deterministic_debug_mode(0)
        cr.set_deterministic_debug_mode(0)
    assert cr.get_float32_matmul_precision() == torch.get_float32_matmul_precision() == "highest"
    cr.set_float32_matmul_precision("high")
    assert cr.get_float32_matmul_precision() == "high"
    cr.set_float32_matmul_precision("highest")
    with pytest.raises(RuntimeError, match="precision"):
        cr.set_float32_matmul_precision("low")
    cr.set_default_device("cpu")
    assert str(cr.get_default_device()) == str(torch.get_default_device()) == "cpu"
    with pytest.raises(RuntimeError):
        cr.set_default_device("cuda")
    assert cr.set_flush_denormal(False) is False
    assert cr.has_lapack is torch.has_lapack is True and cr.has_spectral is True


def test_warn_always_repeats_the_vmap_fallback_warning() -> None:
    from chainrule.func import _vmap

    assert cr.is_warn_always_enabled() is torch.is_warn_always_enabled() is False
    try:
        cr.set_warn_always(True)
        assert cr.is_warn_always_enabled()
        _vmap._warned.add("Nonexistent")
        assert _vmap._warn_again("Nonexistent")
    finally:
        cr.set_warn_always(False)
    assert not _vmap._warn_again("Nonexistent")


def test_anomaly_autocast_tensor_type_queries() -> None:
    try:
        cr.set_anomaly_enabled(True, check_nan=False)
        assert cr.is_anomaly_enabled() and not cr.is_anomaly_check_nan_enabled()
    finally:
        cr.set_anomaly_enabled(False)
    assert not cr.is_anomaly_enabled()
    assert cr.is_autocast_cpu_enabled() is torch.is_autocast_cpu_enabled() is False
    assert cr.get_autocast_cpu_dtype() == cr.amp.get_autocast_dtype("cpu")
    try:
        with pytest.warns(UserWarning, match="deprecated"):
            cr.set_default_tensor_type(cr.DoubleTensor)
        assert cr.get_default_dtype() == cr.float64
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            cr.set_default_tensor_type("torch.FloatTensor")
        assert cr.get_default_dtype() == cr.float32
    finally:
        cr.set_default_dtype(cr.float32)
    assert cr.thread_safe_generator() is None and torch.thread_safe_generator() is None


def test_small_aliases() -> None:
    assert cr.GradScaler is cr.amp.GradScaler and issubclass(cr.OutOfMemoryError, RuntimeError)
    assert (
        issubclass(cr.AcceleratorError, RuntimeError) and cr.default_generator is cr.random.default_generator
    )
    assert cr.vmap is cr.func.vmap
    x = cr.tensor([1.0, 2.0])
    assert float(cr.cond(x.sum() > 0, lambda v: v * 2, lambda v: v, (x,)).sum()) == 6.0
    assert float(cr.cond(x.sum() < 0, lambda v: v * 2, lambda v: v, (x,)).sum()) == 3.0  # (the other branch)
    assert float(cr.cond(False, lambda v: v * 2, lambda v: v, (x,)).sum()) == 3.0
    with pytest.raises(RuntimeError, match="single-element"):
        cr.cond(x > 0, lambda v: v, lambda v: v, (x,))
    assert cr.detach(x) is not x and not cr.detach(x).requires_grad


# --------------------------------------------------------------------------- Muon
def _muon_reference(w, grads, lr, wd, mom, nesterov, adjust):
    """PyTorch's Muon update written out in float64 torch ops (its own runs Newton-Schulz in bfloat16)."""
    w, buf = torch.tensor(w), torch.zeros_like(torch.tensor(w))
    a, b, c = 3.4445, -4.7750, 2.0315
    for g in grads:
        g = torch.tensor(g)
        buf = buf + (1 - mom) * (g - buf)
        u = g + mom * (buf - g) if nesterov else buf
        x = u.T if u.shape[0] > u.shape[1] else u
        x = x / x.norm().clamp(min=1e-7)
        for _ in range(5):
            gram = x @ x.T
            x = a * x + (b * gram + c * gram @ gram) @ x
        o = x.T if u.shape[0] > u.shape[1] else x
        rows, cols = w.shape
        scale = (max(1, rows / cols) ** 0.5) if adjust in (None, "original") else 0.2 * max(rows, cols) ** 0.5
        w = w * (1 - lr * wd) - lr * scale * o
    return w


@pytest.mark.parametrize("shape,nesterov,adjust", [((5, 3), True, None), ((3, 6), False, "match_rms_adamw")])
def test_muon_matches_pytorch(shape, nesterov, adjust) -> None:
    w0 = RNG.standard_normal(shape)
    grads = [RNG.standard_normal(shape) for _ in range(3)]
    p = cr.tensor(w0, requires_grad=True)
    opt = cr.optim.Muon([p], lr=0.02, nesterov=nesterov, adjust_lr_fn=adjust)
    tp = torch.tensor(w0, requires_grad=True)
    topt = torch.optim.Muon([tp], lr=0.02, nesterov=nesterov, adjust_lr_fn=adjust)
    for g in grads:
        p.grad, tp.grad = cr.tensor(g), torch.tensor(g)
        opt.step()
        topt.step()
    ref = _muon_reference(w0, grads, 0.02, 0.1, 0.95, nesterov, adjust).numpy()
    np.testing.assert_allclose(p.detach().numpy(), ref, rtol=1e-10, atol=1e-12)
    # PyTorch's own, to bfloat16's precision (its iteration runs in bfloat16)
    np.testing.assert_allclose(p.detach().numpy(), tp.detach().numpy(), atol=5e-3)
    with pytest.raises(ValueError, match="2D"):
        cr.optim.Muon([cr.zeros(3, requires_grad=True)])
