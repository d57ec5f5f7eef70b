"""``Tensor.grad_dtype`` against PyTorch 2.13: default, setting it, the gradients the engine gives
the leaf (``.grad``, hooks, ``autograd.grad``, accumulation) and what PyTorch refuses."""

from __future__ import annotations

import numpy as np
import pytest
from reference import need_torch

import chainrule as cr


def _n(d) -> str | None:
    return None if d is None else str(d).split(".")[-1]


def _behaviour(T) -> dict:
    out = {}
    x = T.tensor([1.0, 2.0], requires_grad=True)
    out["default"] = _n(x.grad_dtype)
    x.grad_dtype = T.float16
    (x * 3).sum().backward()
    out["cast"] = (_n(x.grad.dtype), x.grad.tolist())
    (x * 3).sum().backward()
    out["accumulated"] = (_n(x.grad.dtype), x.grad.tolist())
    x.grad = None
    x.grad_dtype = None
    out["none"] = _n(x.grad_dtype)
    (x * 3).sum().backward()
    out["none grad"] = _n(x.grad.dtype)
    v = T.tensor([1.0, 2.0, 3.0], dtype=T.float64, requires_grad=True)
    v.grad_dtype = T.float32
    seen = []
    v.register_hook(lambda g: seen.append(_n(g.dtype)))
    (v * v).sum().backward()
    out["hook and grad"] = (seen, _n(v.grad.dtype), v.grad.tolist())
    u = T.ones(2, requires_grad=True)
    u.grad_dtype = T.float64
    out["autograd.grad"] = _n(T.autograd.grad((u * 2).sum(), u)[0].dtype)
    out["plain leaf, int leaf"] = (_n(T.ones(2).grad_dtype), _n(T.ones(2, dtype=T.int64).grad_dtype))
    u.grad = T.ones(2, dtype=T.float64)
    out["assign matching"] = _n(u.grad.dtype)
    return out


def test_grad_dtype_matches_pytorch() -> None:
    torch = need_torch()
    assert _behaviour(cr) == _behaviour(torch)  # (pytest shows the differing keys)


def test_second_order_with_grad_dtype_float64() -> None:
    torch = need_torch()

    def run(T):
        x = T.tensor([0.5, -1.5, 2.0], requires_grad=True)
        x.grad_dtype = T.float64
        (x**3).sum().backward(create_graph=True)
        g = x.grad
        (h,) = T.autograd.grad(g.sum(), x)
        return _n(g.dtype), g.detach().numpy().astype(np.float64), h.numpy().astype(np.float64)

    a, b = run(cr), run(torch)
    assert a[0] == b[0]
    np.testing.assert_allclose(a[1], b[1], rtol=1e-6)
    np.testing.assert_allclose(a[2], b[2], rtol=1e-6)


def _refused(T) -> list:
    calls = [
        lambda: (T.ones(2, requires_grad=True) * 2).grad_dtype,
        lambda: setattr(T.ones(2, requires_grad=True) * 2, "grad_dtype", T.float64),
        lambda: setattr(T.ones(2, requires_grad=True), "grad_dtype", 3),
        lambda: _with_grad(T).__setattr__("grad_dtype", T.float64),
        lambda: setattr(T.ones(2, requires_grad=True), "grad", T.ones(2, dtype=T.float64)),
        lambda: setattr(_typed(T, T.float64), "grad", T.ones(2)),
    ]
    out = []
    for call in calls:
        with pytest.raises(Exception) as info:
            call()
        out.append((info.type, str(info.value)[:20]))
    return out


def _with_grad(T):
    t = T.ones(2, requires_grad=True)
    (t * 2).sum().backward()
    return t


def _typed(T, dtype):
    t = T.ones(2, requires_grad=True)
    t.grad_dtype = dtype
    return t


def test_refusals_match_pytorch() -> None:
    torch = need_torch()
    assert _refused(cr) == _refused(torch)
