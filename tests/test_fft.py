"""``chainrule.fft`` against PyTorch 2.13: values, dtypes, and gradients of real losses with
real and complex inputs requiring grad (``.grad`` compared with torch's), plus gradcheck."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from reference import torch

import chainrule as cr
from chainrule.autograd import gradcheck, gradgradcheck

_RNG = np.random.default_rng(0)
XR = _RNG.standard_normal((3, 6))
XC = _RNG.standard_normal((3, 6)) + 1j * _RNG.standard_normal((3, 6))
XR3 = _RNG.standard_normal((3, 2, 5))  # real input of complex transforms: C2C takes it uncast
XRW = _RNG.standard_normal((3, 130))  # rows of 128+ points: its gradient's half-spectrum c2r path

CASES = [
    ("fft", lambda T, x: T.fft.fft(x), XC),
    ("fft-n-ortho", lambda T, x: T.fft.fft(x, n=8, norm="ortho"), XC),
    ("fft-real-dim0", lambda T, x: T.fft.fft(x, n=4, dim=0, norm="forward"), XR),
    ("ifft", lambda T, x: T.fft.ifft(x, n=5), XC),
    ("rfft", lambda T, x: T.fft.rfft(x), XR),
    ("rfft-odd", lambda T, x: T.fft.rfft(x, n=7, norm="ortho"), XR),
    ("rfft-dim0", lambda T, x: T.fft.rfft(x, n=4, dim=0, norm="forward"), XR),
    ("irfft", lambda T, x: T.fft.irfft(x), XC),
    ("irfft-odd", lambda T, x: T.fft.irfft(x, n=7, norm="ortho"), XC),
    ("irfft-padded", lambda T, x: T.fft.irfft(x, n=12, norm="forward"), XC),
    ("irfft-dim0", lambda T, x: T.fft.irfft(x, n=3, dim=0), XC),
    ("fft2", lambda T, x: T.fft.fft2(x, s=(4, 5)), XC),
    ("ifft2", lambda T, x: T.fft.ifft2(x, norm="ortho"), XC),
    ("rfft2", lambda T, x: T.fft.rfft2(x), XR),
    ("irfft2", lambda T, x: T.fft.irfft2(x, s=(3, 9)), XC),
    ("irfft2-default", lambda T, x: T.fft.irfft2(x), XC),
    ("fftn", lambda T, x: T.fft.fftn(x), XR),
    ("ifftn", lambda T, x: T.fft.ifftn(x, s=(2,), norm="forward"), XC),
    ("rfftn", lambda T, x: T.fft.rfftn(x, dim=(0,)), XR),
    ("irfftn", lambda T, x: T.fft.irfftn(x, dim=(1, 0)), XC),
    ("ifft-real", lambda T, x: T.fft.ifft(x, dim=0), XR),
    ("ifft2-real-odd", lambda T, x: T.fft.ifft2(x, s=(3, 5), norm="ortho"), XR),
    ("fftn-real-outer-dims", lambda T, x: T.fft.fftn(x, dim=(2, 0), norm="forward"), XR3),
    ("fft2-real-wide", lambda T, x: T.fft.fft2(x, norm="ortho"), XRW),
    ("ifft2-real-wide", lambda T, x: T.fft.ifft2(x), XRW),
    ("fftn-no-dims", lambda T, x: T.fft.fftn(x, dim=(), norm="ortho"), XR),  # a complex copy
    ("hfft", lambda T, x: T.fft.hfft(x), XC),
    ("hfft-odd", lambda T, x: T.fft.hfft(x, n=5, norm="ortho"), XC),
    ("ihfft", lambda T, x: T.fft.ihfft(x), XR),
    ("ihfft-n", lambda T, x: T.fft.ihfft(x, n=9, norm="forward"), XR),
    ("fftshift", lambda T, x: T.fft.fftshift(x), XC),
    ("ifftshift", lambda T, x: T.fft.ifftshift(x, dim=1), XR),
]


def _np(t: Any) -> np.ndarray:
    return t.detach().numpy() if isinstance(t, cr.Tensor) else t.detach().resolve_conj().numpy()


def _loss(T: Any, y: Any, w: Any) -> Any:
    if y.is_complex():
        return (y * w).real.sum() + y.abs().sum()
    return (y * w.real).sum()


@pytest.mark.parametrize("dtype", ["64", "32"])
@pytest.mark.parametrize("name,f,data", CASES, ids=[c[0] for c in CASES])
def test_values_dtypes_and_grads_match_torch(name: str, f: Any, data: np.ndarray, dtype: str) -> None:
    results = []
    for T in (cr, torch):
        kind = "complex" if np.iscomplexobj(data) else "float"
        size = {"complex": {"64": "128", "32": "64"}, "float": {"64": "64", "32": "32"}}[kind][dtype]
        x = T.tensor(data, dtype=getattr(T, kind + size), requires_grad=True)
        y = f(T, x)
        w = T.tensor(np.random.default_rng(1).standard_normal(tuple(y.shape)) * (1 - 0.5j))
        _loss(T, y, w.to(y.dtype) if y.is_complex() else w).backward()
        results.append((y, x.grad))
    (y1, g1), (y2, g2) = results
    tol = 1e-10 if dtype == "64" else 1e-4
    for a, b in ((y1, y2), (g1, g2)):
        assert str(a.dtype).split(".")[-1] == str(b.dtype).split(".")[-1]
        assert tuple(a.shape) == tuple(b.shape)
        np.testing.assert_allclose(_np(a), _np(b), rtol=tol, atol=tol)


@pytest.mark.parametrize("name,f,data", CASES, ids=[c[0] for c in CASES])
def test_gradcheck(name: str, f: Any, data: np.ndarray) -> None:
    x = cr.tensor(data, requires_grad=True)
    assert gradcheck(lambda x: f(cr, x), (x,), check_forward_ad=True)
    assert gradgradcheck(lambda x: f(cr, x), (x,))


def test_issue_losses() -> None:
    """The two losses of the issue: rfft(x).abs().sum() and (fft(z) * w).real.sum()."""
    rng = np.random.default_rng(3)
    x, z = rng.standard_normal(16), rng.standard_normal(8) + 1j * rng.standard_normal(8)
    w = rng.standard_normal(8) + 1j * rng.standard_normal(8)
    grads = []
    for T in (cr, torch):
        xt, zt = T.tensor(x, requires_grad=True), T.tensor(z, requires_grad=True)
        (T.fft.rfft(xt).abs().sum() + (T.fft.fft(zt) * T.tensor(w)).real.sum()).backward()
        grads.append((_np(xt.grad), _np(zt.grad)))
    for a, b in zip(*grads):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)


def test_freqs_and_dtypes() -> None:
    for f in [
        lambda T: T.fft.fftfreq(5),
        lambda T: T.fft.fftfreq(6, d=0.1),
        lambda T: T.fft.rfftfreq(7, 2.0),
        lambda T: T.fft.fftfreq(4, dtype=T.float64),
        lambda T: T.fft.fft(T.arange(4)),
        lambda T: T.fft.rfft(T.ones(4)),
        lambda T: T.fft.irfft(T.ones(3, dtype=T.complex128)),
    ]:
        a, b = f(cr), f(torch)
        assert str(a.dtype).split(".")[-1] == str(b.dtype).split(".")[-1]
        np.testing.assert_allclose(_np(a), _np(b), rtol=1e-6, atol=1e-7)


def test_errors_name_the_function() -> None:
    with pytest.raises(ValueError, match="fft.*normalization"):
        cr.fft.fft(cr.ones(4), norm="bad")
    with pytest.raises(RuntimeError, match=r"^rfft\(\).*real input"):
        cr.fft.rfft(cr.ones(4, dtype=cr.complex64))
    with pytest.raises(IndexError, match=r"^fft\(\): Dimension out of range"):
        cr.fft.fft(cr.ones(4), dim=2)
    with pytest.raises(RuntimeError, match="Invalid number of data points"):
        cr.fft.fft(cr.ones(4), n=0)
    with pytest.raises(RuntimeError, match="same length"):
        cr.fft.fftn(cr.ones(4, 4), s=(2,), dim=(0, 1))


def test_vmap_and_compile_free_batching() -> None:
    xs = cr.tensor(np.random.default_rng(4).standard_normal((5, 3, 8)))
    out = cr.func.vmap(lambda x: cr.fft.rfft(x).abs())(xs)
    np.testing.assert_allclose(out.numpy(), np.abs(np.fft.rfft(xs.numpy())), rtol=1e-12)
