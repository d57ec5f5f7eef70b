"""Complex dtypes against PyTorch 2.13: creation, promotion, printing, views, and gradients of
real losses of complex inputs (PyTorch's convention: dL/da + i dL/db for z = a + ib)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from reference import torch

import chainrule as cr
from chainrule.autograd import gradcheck, gradgradcheck


def _np(t: Any) -> np.ndarray:
    if isinstance(t, cr.Tensor):
        return t.detach().numpy()
    return t.detach().resolve_conj().numpy()


def _name(d: Any) -> str:
    return str(d).split(".")[-1]


def _z(rng: np.random.Generator, *shape: int) -> np.ndarray:
    return rng.standard_normal(shape) + 1j * rng.standard_normal(shape)


def test_dtypes_and_aliases() -> None:
    for name in ("complex64", "complex128", "cfloat", "cdouble"):
        assert _name(getattr(cr, name)) == _name(getattr(torch, name))
        assert getattr(cr, name).is_complex and not getattr(cr, name).is_floating_point
        assert getattr(cr, name).itemsize == getattr(torch, name).itemsize
    assert cr.complex64.to_real() == cr.float32 and cr.float64.to_complex() == cr.complex128


@pytest.mark.parametrize("data", [1 + 2j, [1 + 2j, 3.5 - 1j], [[1, 2j], [0.5, -1]], np.array([1j, 2])])
def test_creation_and_printing(data: Any) -> None:
    a, b = cr.tensor(data), torch.tensor(data)
    assert _name(a.dtype) == _name(b.dtype) and a.is_complex() == b.is_complex()
    assert repr(a) == repr(b).replace("torch.", "chainrule.")


def test_printing_layouts() -> None:
    for data, dtype in [
        ([[1 + 2j, 3.5 - 1j], [0, 1e-5j]], "complex64"),
        ([1e10 + 1j], "complex64"),
        ([1 - 0j, -2 + 3j, float("nan") + 1j], "complex128"),
        (np.arange(2000) * (1 + 1j), "complex128"),
    ]:
        a, b = cr.tensor(data, dtype=getattr(cr, dtype)), torch.tensor(data, dtype=getattr(torch, dtype))
        assert repr(a) == repr(b).replace("torch.", "chainrule.")


@pytest.mark.parametrize(
    "x,y",
    [
        ("f32", "c64"),
        ("f64", "c64"),
        ("f16", "c64"),
        ("i64", "c64"),
        ("f32", "c128"),
        ("c64", "c128"),
        ("f32", "0c128"),
        ("i64", "0c128"),
        ("f64", "0c64"),
        ("f32", 1j),
        ("f64", 2j),
        ("i64", 1j),
        ("c64", 2.5),
    ],
)
def test_promotion(x: Any, y: Any) -> None:
    names = {
        "f16": "float16",
        "f32": "float32",
        "f64": "float64",
        "i64": "int64",
        "c64": "complex64",
        "c128": "complex128",
    }

    def make(T: Any, s: Any) -> Any:
        if not isinstance(s, str):
            return s
        if s.startswith("0"):
            return T.tensor(1 + 1j, dtype=getattr(T, names[s[1:]]))
        return T.ones(3, dtype=getattr(T, names[s]))

    assert _name((make(cr, x) * make(cr, y)).dtype) == _name((make(torch, x) * make(torch, y)).dtype)
    assert _name((make(cr, y) + make(cr, x)).dtype) == _name((make(torch, y) + make(torch, x)).dtype)


def test_real_imag_are_views() -> None:
    z = cr.tensor([1 + 2j, 3 - 4j])
    r, i = z.real, z.imag
    r.mul_(10)
    i[0] = 7.0
    assert np.allclose(z.numpy(), [10 + 7j, 30 - 4j])
    assert _name(r.dtype) == "float32"
    z.real = cr.tensor([0.5, 0.25])
    assert np.allclose(z.numpy(), [0.5 + 7j, 0.25 - 4j])
    pairs = cr.view_as_real(z)
    assert pairs.shape == (2, 2)
    pairs[1, 1] = 9.0
    assert z.numpy()[1] == 0.25 + 9j
    back = cr.view_as_complex(pairs)
    assert np.shares_memory(back.numpy(), z.numpy())
    with pytest.raises(RuntimeError, match="imag"):
        _ = cr.ones(2).imag
    with pytest.raises(RuntimeError, match="stride 1"):
        cr.view_as_complex(cr.ones(2, 4)[:, ::2])
    with pytest.raises(RuntimeError, match="complex"):
        cr.view_as_real(cr.ones(2))


def test_values_of_complex_functions() -> None:
    rng = np.random.default_rng(0)
    z = _z(rng, 3, 4)
    for f in [
        lambda T, z: z.abs(),
        lambda T, z: z.angle(),
        lambda T, z: z.conj(),
        lambda T, z: z.exp(),
        lambda T, z: T.real(z),
        lambda T, z: T.imag(z),
        lambda T, z: z.sgn(),
        lambda T, z: T.polar(z.abs(), z.angle()),
        lambda T, z: T.complex(z.real, z.imag * 2),
        lambda T, z: T.tensor([-1.0, 2.0]).angle(),
        lambda T, z: z.sum(0),
        lambda T, z: z.mean(),
        lambda T, z: z @ z.mT,
        lambda T, z: z / (z + 1),
        lambda T, z: z**2,
        lambda T, z: z.cfloat(),
    ]:
        a, b = f(cr, cr.tensor(z)), f(torch, torch.tensor(z))
        assert _name(a.dtype) == _name(b.dtype)
        np.testing.assert_allclose(_np(a), _np(b), rtol=1e-6, atol=1e-6)


# Random programs of complex ops ending in a real loss: .grad must equal PyTorch's.
_UNARY = [
    lambda T, z: z.exp() * 0.3,
    lambda T, z: z.conj(),
    lambda T, z: z * z,
    lambda T, z: 1 / (z + 3),
    lambda T, z: T.complex(z.real, z.abs()),
    lambda T, z: z * 1j,
    lambda T, z: z.sum(-1, keepdim=True) + z,
]
_BINARY = [
    lambda T, a, b: a * b,
    lambda T, a, b: a / (b + 2.5),
    lambda T, a, b: a @ b.mT @ a,
    lambda T, a, b: a - b.conj(),
    lambda T, a, b: a * b.real,
]
_LOSS = [
    lambda T, z: z.abs().sum(),
    lambda T, z: z.real.sum() - 2 * z.imag.mean(),
    lambda T, z: z.angle().sum(),
    lambda T, z: (z * z.conj()).real.sum(),
]


@pytest.mark.parametrize("seed", range(50))
def test_random_programs_match_torch_grads(seed: int) -> None:
    rng = np.random.default_rng(seed)
    data = [_z(rng, 3, 3), _z(rng, 3, 3)]
    steps = [(rng.integers(len(_UNARY)), rng.integers(len(_BINARY))) for _ in range(3)]
    loss_k = rng.integers(len(_LOSS))
    dtype = "complex128" if seed % 2 else "complex64"

    def run(T: Any) -> tuple:
        a, b = (T.tensor(d, dtype=getattr(T, dtype), requires_grad=True) for d in data)
        x = a
        for u, v in steps:
            x = _BINARY[v](T, _UNARY[u](T, x), b)
        loss = _LOSS[loss_k](T, x)
        loss.backward()
        return loss, a.grad, b.grad

    ours, ref = run(cr), run(torch)
    tol = 1e-9 if dtype == "complex128" else 2e-3
    for o, r in zip(ours, ref):
        assert _name(o.dtype) == _name(r.dtype)
        np.testing.assert_allclose(_np(o), _np(r), rtol=tol, atol=tol * 10)


def test_gradcheck_complex_functions() -> None:
    rng = np.random.default_rng(1)
    z = cr.tensor(_z(rng, 3), requires_grad=True)
    w = cr.tensor(_z(rng, 3), requires_grad=True)
    x = cr.tensor(rng.standard_normal(3), requires_grad=True)
    cases = [
        (lambda z, w: z * w, (z, w)),
        (lambda z, w: z / w, (z, w)),
        (lambda z: z.abs(), (z,)),
        (lambda z: z.angle(), (z,)),
        (lambda z: z.exp(), (z,)),
        (lambda z: z.conj() * z, (z,)),
        (lambda z: z.real * z.imag, (z,)),
        (lambda z, x: z * x, (z, x)),
        (lambda x, w: cr.complex(x, 2 * x) * w, (x, w)),
        (lambda z: cr.view_as_real(z) ** 2, (z,)),
        (lambda z, w: z.reshape(3, 1) @ w.reshape(1, 3), (z, w)),
        (lambda z: z.sgn(), (z,)),
        (lambda z, w: z**w, (z, w)),  # both sides of pow: the exponent's rule is conjugated too
        (lambda w: 2**w, (w,)),
        (lambda z, x: z**x, (z, x)),
        (lambda x, w: (x.abs() + 0.5) ** w, (x, w)),
        (lambda z: z**2, (z,)),
        (lambda z: z.log() * z.sqrt(), (z,)),
        (lambda z: z.sigmoid(), (z,)),
    ]
    for f, args in cases:
        assert gradcheck(f, args, check_forward_ad=True)
        assert gradgradcheck(f, args)


def test_gradcheck_catches_a_wrong_complex_rule() -> None:
    """The realified check perturbs imaginary parts too: a VJP missing its conj fails."""
    from chainrule.ops._core import PRIMITIVES

    conj = PRIMITIVES["Conj"]
    saved = conj.vjps
    conj.defvjp(lambda g: g)  # wrong: ignores the conjugation
    try:
        z = cr.tensor(_z(np.random.default_rng(2), 3), requires_grad=True)
        assert not gradcheck(lambda z: z.conj(), (z,), raise_exception=False)
    finally:
        conj.defvjp(*[r.fn for r in saved])


@pytest.mark.parametrize("value", [0j, 3 - 4j, [0j, 1 + 1j, -2j], [[1e-300j, 0j]]], ids=str)
def test_abs_gradient_of_complex_values_and_zeros(value: Any) -> None:
    """abs's VJP on arrays (x * g / |x|, 0 where x is 0) for 0-d and n-d values, against PyTorch."""
    got, want = cr.tensor(value, requires_grad=True), torch.tensor(value, requires_grad=True)
    w = np.linspace(0.5, 2.0, int(np.prod(got.shape)) or 1).reshape(got.shape)
    (got.abs() * cr.tensor(w)).sum().backward()
    (want.abs() * torch.tensor(w)).sum().backward()
    np.testing.assert_allclose(got.grad.numpy(), want.grad.numpy(), rtol=1e-15, atol=0)


def test_cast_between_real_and_complex() -> None:
    for T in (cr, torch):
        x = T.tensor([1.0, -2.0], dtype=T.float64, requires_grad=True)
        z = x.to(T.complex128) * T.tensor([1j, 2 + 1j], dtype=T.complex128)
        z.abs().sum().backward()
        if T is cr:
            ours = x.grad.numpy()
        else:
            np.testing.assert_allclose(ours, x.grad.numpy())
    assert cr.tensor([1 + 5j]).to(cr.float32).numpy()[0] == 1.0
    assert _name(cr.randn(2, 3, dtype=cr.cfloat).dtype) == "complex64"


# Ops that need an order, on a complex tensor: PyTorch's class; ours names the op and the fix
ORDERED = {
    "max": lambda T, z: T.max(z), "max(dim)": lambda T, z: T.max(z, 0), "min": lambda T, z: T.min(z),
    "min(dim)": lambda T, z: T.min(z, 0), "amax": lambda T, z: T.amax(z), "amin": lambda T, z: T.amin(z),
    "argmax": lambda T, z: T.argmax(z), "argmin": lambda T, z: T.argmin(z), "sort": lambda T, z: T.sort(z),
    "argsort": lambda T, z: T.argsort(z), "msort": lambda T, z: T.msort(z), "topk": lambda T, z: T.topk(z, 1),
    "kthvalue": lambda T, z: T.kthvalue(z, 1), "median": lambda T, z: T.median(z),
    "nanmedian": lambda T, z: T.nanmedian(z), "mode": lambda T, z: T.mode(z),
    "cummax": lambda T, z: T.cummax(z, 0), "cummin": lambda T, z: T.cummin(z, 0),
    "clamp": lambda T, z: T.clamp(z, 0), "clamp(tensor)": lambda T, z: T.clamp(z, T.zeros(2)),
    "maximum": lambda T, z: T.maximum(z, z), "lt": lambda T, z: z < 1, "sign": lambda T, z: T.sign(z),
}


@pytest.mark.parametrize("name", sorted(ORDERED))
def test_ops_that_need_an_order_refuse_complex_as_pytorch(name: str) -> None:
    f = ORDERED[name]
    with pytest.raises(Exception) as ref:
        f(torch, torch.tensor([1 + 2j, 3 - 1j]))
    with pytest.raises(type(ref.value)) as ours:
        f(cr, cr.tensor([1 + 2j, 3 - 1j]))
    msg = str(ours.value)
    assert type(ours.value) is type(ref.value), msg
    assert msg.startswith(name.split("(")[0].replace("msort", "sort") + "(): "), msg
    assert "complex64" in msg and ("abs()" in msg or "sgn()" in msg), msg


@pytest.mark.parametrize("name", ["var", "std", "var(dim)", "norm", "norm(1)", "norm(inf)", "vector_norm"])
def test_spreads_and_norms_of_complex_tensors_are_real(name: str) -> None:
    """var/std are those of |z - mean| and norms those of |z| (real), gradients as PyTorch's."""
    f = {"var": lambda T, z: T.var(z), "std": lambda T, z: T.std(z), "var(dim)": lambda T, z: T.var(z, 1),
         "norm": lambda T, z: T.norm(z), "norm(1)": lambda T, z: T.norm(z, 1),
         "norm(inf)": lambda T, z: T.norm(z, float("inf")),
         "vector_norm": lambda T, z: T.linalg.vector_norm(z, 3)}[name]
    a = _z(np.random.default_rng(3), 2, 3)
    outs = []
    for T in (cr, torch):
        z = T.tensor(a, requires_grad=True)
        out = f(T, z)
        out.sum().backward()
        outs.append((_name(out.dtype), _np(out), _np(z.grad)))
    (d, v, g), (rd, rv, rg) = outs
    assert d == rd == "float64"
    np.testing.assert_allclose(v, rv, rtol=1e-12)
    np.testing.assert_allclose(g, rg, rtol=1e-12)


@pytest.mark.parametrize("dtype", ["complex128", "bfloat16"])
def test_nan_to_num_replaces_in_every_floating_dtype(dtype: str) -> None:
    """Complex values have each part replaced (the real dtype's limits); bfloat16's limits are
    its own (NumPy's finfo has none).  Both used to come back unchanged."""
    nan, inf = float("nan"), float("inf")
    vals = [complex(nan, inf), complex(-inf, 2.0), 1 + 2j] if dtype == "complex128" else [nan, inf, -inf, 2.0]
    outs = []
    for T in (cr, torch):
        x = T.tensor(vals, dtype=getattr(T, dtype))
        for kw in ({}, {"nan": 1.5, "posinf": 7.0, "neginf": -7.0}):
            out = T.nan_to_num(x, **kw)
            wide = out.to(T.complex128 if dtype == "complex128" else T.float64)
            outs.append((_name(out.dtype), np.asarray(_np(wide))))
    for (d, v), (rd, rv) in zip(outs[:2], outs[2:]):
        assert d == rd == dtype
        np.testing.assert_array_equal(v, rv)
