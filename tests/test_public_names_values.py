"""The values of the public names added for tests/test_public_names.py that the op table does
not cover: integer ops and predicates, dtype queries, windows, factories, the in-place forms,
the ATen-signature nn functions (values and gradients), shapes and tensor queries, against
PyTorch 2.13."""

from __future__ import annotations

import numpy as np
import pytest
from reference import DTYPE_NAMES, need_torch

import chainrule as cr

torch = need_torch()


def _np(t):
    if hasattr(t, "resolve_conj"):
        t = t.resolve_conj()
    return t.detach().numpy() if hasattr(t, "detach") else np.asarray(t)


def _same(ours, ref, rtol=1e-7, atol=1e-10):
    if isinstance(ref, (tuple, list)):
        assert isinstance(ours, (tuple, list)) and len(ours) == len(ref)
        for o, r in zip(ours, ref):
            _same(o, r, rtol, atol)
        return
    if not hasattr(ref, "shape"):
        assert ours == ref
        return
    assert tuple(ours.shape) == tuple(ref.shape)
    assert str(ours.dtype).split(".")[-1] == str(ref.dtype).split(".")[-1], (ours.dtype, ref.dtype)
    np.testing.assert_allclose(_np(ours), _np(ref), rtol=rtol, atol=atol, equal_nan=True)


def _both(arr, grad=False):
    return cr.tensor(arr, requires_grad=grad), torch.tensor(arr, requires_grad=grad)


INTS = [np.array([-12, 0, 7, 9, 36, -5]), np.array([8, 0, -21, 6, 48, 5])]


# ------------------------------------------------------------------ integer ops
@pytest.mark.parametrize("name", ["gcd", "lcm", "bitwise_left_shift", "bitwise_right_shift"])
@pytest.mark.parametrize(
    "dtypes", [("int64", "int64"), ("int32", "int64"), ("uint8", "uint8"), ("int16", "int8")]
)
def test_integer_binary_ops(name, dtypes) -> None:
    a, b = INTS[0], INTS[1] % 7 if "shift" in name else INTS[1]
    if "uint" in dtypes[0]:
        a, b = np.abs(a), np.abs(b)
    ca, ta = _both(a.astype(dtypes[0]))
    cb, tb = _both(b.astype(dtypes[1]))
    _same(getattr(cr, name)(ca, cb), getattr(torch, name)(ta, tb))
    _same(getattr(ca, name)(cb), getattr(ta, name)(tb))
    c2 = ca.clone()
    assert getattr(c2, name + "_")(cb) is c2 and c2._version == 1
    _same(c2, getattr(ta.clone(), name + "_")(tb))


def test_shift_operators_and_big_shifts() -> None:
    ca, ta = _both(np.array([1, -8, 5, 7, -1]))
    cb, tb = _both(np.array([0, 1, 64, 70, 63]))
    _same(ca << cb, ta << tb)
    _same(ca >> cb, ta >> tb)
    _same(ca << 3, ta << 3)
    x = ca.clone()
    x <<= 2
    _same(x, ta << 2)


@pytest.mark.parametrize("name", ["gcd", "lcm", "bitwise_left_shift"])
def test_integer_ops_refuse_floats_as_pytorch(name) -> None:
    with pytest.raises(NotImplementedError) as ref:
        getattr(torch, name)(torch.tensor([1.5]), torch.tensor([2.0]))
    with pytest.raises(NotImplementedError, match=name) as ours:
        getattr(cr, name)(cr.tensor([1.5]), cr.tensor([2.0]))
    assert "Float" in str(ref.value) and "Float" in str(ours.value)


def test_frexp_nextafter_ldexp_values() -> None:
    x = np.array([0.0, -0.0, 1.0, -3.5, 1e-310, 6.5e5, np.inf, np.nan])
    for dt in ("float32", "float64"):
        c, t = _both(x.astype(dt))
        _same(cr.frexp(c), torch.frexp(t))
        _same(
            cr.nextafter(c, cr.tensor(2.0, dtype=c.dtype)),
            torch.nextafter(t, torch.tensor(2.0, dtype=t.dtype)),
        )
        e = np.array([0, 1, -2, 3, 5, -1, 2, 0])
        _same(cr.ldexp(c, cr.tensor(e)), torch.ldexp(t, torch.tensor(e)))
    with pytest.raises(RuntimeError):
        torch.frexp(torch.tensor([1]))
    with pytest.raises(RuntimeError, match="frexp"):
        cr.frexp(cr.tensor([1]))


# ------------------------------------------------------------------- predicates
SPECIAL = np.array([-np.inf, -2.0, -0.0, 0.0, 1.5, np.inf, np.nan, -np.nan])


@pytest.mark.parametrize(
    "name", ["isposinf", "isneginf", "isreal", "signbit", "fix", "positive", "deg2rad", "rad2deg"]
)
@pytest.mark.parametrize("dtype", ["float32", "float64", "int64", "int16", "uint8", "bool"])
def test_unary_predicates_and_aliases(name, dtype) -> None:
    if dtype == "bool" and name == "positive":
        with pytest.raises(RuntimeError):
            torch.positive(torch.tensor([True]))
        with pytest.raises(RuntimeError, match="bool"):
            cr.positive(cr.tensor([True]))
        return
    arr = SPECIAL if "float" in dtype else np.array([-3, 0, 2, 1, 5])
    if dtype in ("uint8", "bool"):
        arr = np.abs(arr)
    c, t = _both(arr.astype(dtype))
    if name == "fix" and dtype == "bool":
        return
    _same(getattr(cr, name)(c), getattr(torch, name)(t))
    if hasattr(t, name):
        _same(getattr(c, name)(), getattr(t, name)())


def test_isreal_of_complex_and_heaviside() -> None:
    z = np.array([1 + 0j, 2 - 1j, 0j, np.nan + 0j])
    _same(cr.isreal(cr.tensor(z)), torch.isreal(torch.tensor(z)))
    c, t = _both(np.array([-1.5, 0.0, -0.0, 2.0, np.nan]))
    for v in (np.array([0.5]), np.array([0.1, 0.2, 0.3, 0.4, 0.5])):
        _same(cr.heaviside(c, cr.tensor(v)), torch.heaviside(t, torch.tensor(v)))
    with pytest.raises(RuntimeError, match="different dtypes"):
        cr.heaviside(c, cr.tensor([1]))
    with pytest.raises(RuntimeError, match="different dtypes"):
        torch.heaviside(t, torch.tensor([1]))


def test_fmax_fmin_with_nan_and_ints() -> None:
    a = np.array([1.0, np.nan, 3.0, np.nan, -0.0])
    b = np.array([np.nan, 2.0, 1.0, np.nan, 0.0])
    for name in ("fmax", "fmin"):
        _same(
            getattr(cr, name)(*_both(a)[:1], cr.tensor(b)),
            getattr(torch, name)(torch.tensor(a), torch.tensor(b)),
        )
        _same(
            getattr(cr, name)(cr.tensor([1, 5]), cr.tensor([3, 2])),
            getattr(torch, name)(torch.tensor([1, 5]), torch.tensor([3, 2])),
        )


def test_tensor_predicates() -> None:
    for arr in ([3.0], [0], [[True]], [0.0]):
        assert cr.is_nonzero(cr.tensor(arr)) == torch.is_nonzero(torch.tensor(arr))
    for arr in ([], [1, 2]):
        with pytest.raises(RuntimeError):
            torch.is_nonzero(torch.tensor(arr))
        with pytest.raises(RuntimeError, match="ambiguous"):
            cr.tensor(arr).is_nonzero()
    for d in ("float16", "float32", "int8", "uint8", "bool", "int64", "complex64"):
        assert cr.is_signed(cr.zeros(1, dtype=getattr(cr, d))) == torch.is_signed(
            torch.zeros(1, dtype=getattr(torch, d))
        )
        assert getattr(cr, d).is_signed == getattr(torch, d).is_signed  # (the dtype's own, complex too)
    assert cr.is_same_size(cr.zeros(2, 3), cr.ones(2, 3)) and not cr.zeros(2).is_same_size(cr.zeros(3))
    assert cr.get_device(cr.zeros(1)) == torch.get_device(torch.zeros(1)) == cr.zeros(1).get_device()
    assert cr.zeros(1).is_cpu and cr.zeros(1).layout is cr.strided
    assert cr.is_conj(cr.zeros(1)) is False and cr.is_neg(cr.zeros(1)) is False


# ---------------------------------------------------------------- dtype queries
DTYPES = DTYPE_NAMES


def test_promote_types_can_cast_result_type_grid() -> None:
    for a in DTYPES:
        for b in DTYPES:
            ca, cb, ta, tb = getattr(cr, a), getattr(cr, b), getattr(torch, a), getattr(torch, b)
            assert (
                str(cr.promote_types(ca, cb)).split(".")[-1]
                == str(torch.promote_types(ta, tb)).split(".")[-1]
            )
            assert cr.can_cast(ca, cb) == torch.can_cast(ta, tb), (a, b)
            ct, tt = cr.ones(2, dtype=ca), torch.ones(2, dtype=ta)
            for other in (cr.ones((), dtype=cb), 2, 2.5, True):
                if a == "float16" and b.startswith("complex") and isinstance(other, cr.Tensor):
                    continue  # PyTorch's complex32, which chainrule lacks (complex64: docs/complex_fft.md)
                tother = torch.ones((), dtype=tb) if isinstance(other, cr.Tensor) else other
                assert (
                    str(cr.result_type(ct, other)).split(".")[-1]
                    == str(torch.result_type(tt, tother)).split(".")[-1]
                )


def test_iinfo() -> None:
    for d in ("uint8", "int8", "int16", "int32", "int64"):
        ours, ref = cr.iinfo(getattr(cr, d)), torch.iinfo(getattr(torch, d))
        assert (ours.bits, ours.min, ours.max, ours.dtype) == (ref.bits, ref.min, ref.max, ref.dtype)
    with pytest.raises(TypeError):
        torch.iinfo(torch.float32)
    with pytest.raises(TypeError, match="finfo"):
        cr.iinfo(cr.float32)


def test_constants() -> None:
    assert (cr.pi, cr.e, cr.inf) == (torch.pi, torch.e, torch.inf) and np.isnan(cr.nan) and cr.newaxis is None
    assert cr.zeros(2)[:, cr.newaxis].shape == (2, 1)


# ---------------------------------------------------------------------- windows
@pytest.mark.parametrize(
    "name", ["hann_window", "hamming_window", "blackman_window", "bartlett_window", "kaiser_window"]
)
@pytest.mark.parametrize("n", [0, 1, 2, 5, 8])
@pytest.mark.parametrize("periodic", [True, False])
def test_windows(name, n, periodic) -> None:
    for dt in ("float32", "float64"):
        ours = getattr(cr, name)(n, periodic, dtype=getattr(cr, dt))
        _same(ours, getattr(torch, name)(n, periodic, dtype=getattr(torch, dt)), rtol=1e-5, atol=1e-6)
    _same(getattr(cr, name)(n), getattr(torch, name)(n), rtol=1e-5, atol=1e-6)
    with pytest.raises(RuntimeError, match="floating point"):
        getattr(cr, name)(3, dtype=cr.int64)


def test_window_parameters() -> None:
    _same(
        cr.hamming_window(7, False, 0.5, 0.5, dtype=cr.float64),
        torch.hamming_window(7, False, 0.5, 0.5, dtype=torch.float64),
    )
    _same(
        cr.kaiser_window(6, True, 5.0, dtype=cr.float64),
        torch.kaiser_window(6, True, 5.0, dtype=torch.float64),
    )


# -------------------------------------------------------------- integer helpers
def test_tril_triu_indices() -> None:
    for args in [(3, 3), (4, 2), (2, 5, 1), (5, 3, -2), (0, 3), (3, 3, 5)]:
        _same(cr.tril_indices(*args), torch.tril_indices(*args))
        _same(cr.triu_indices(*args), torch.triu_indices(*args))
    _same(cr.tril_indices(3, 3, dtype=cr.int32), torch.tril_indices(3, 3, dtype=torch.int32))


def test_unravel_index_and_nonzero_static() -> None:
    idx = np.array([[0, 5], [11, 7]])
    _same(cr.unravel_index(cr.tensor(idx), (3, 4)), torch.unravel_index(torch.tensor(idx), (3, 4)))
    _same(cr.unravel_index(cr.tensor(-1), (2, 3)), torch.unravel_index(torch.tensor(-1), (2, 3)))
    _same(
        cr.unravel_index(cr.tensor([12, -13, 25]), (3, 4)),
        torch.unravel_index(torch.tensor([12, -13, 25]), (3, 4)),
    )
    with pytest.raises(TypeError):
        torch.unravel_index(torch.tensor([1.0]), (3, 4))
    with pytest.raises(TypeError, match="unravel_index"):
        cr.unravel_index(cr.tensor([1.0]), (3, 4))
    m = np.array([[0, 1, 0], [2, 0, 3]])
    for size in (0, 2, 3, 6):
        _same(cr.nonzero_static(cr.tensor(m), size=size), torch.nonzero_static(torch.tensor(m), size=size))
        _same(
            cr.tensor(m).nonzero_static(size=size, fill_value=7),
            torch.tensor(m).nonzero_static(size=size, fill_value=7),
        )


def test_vander_values_and_dtypes() -> None:
    for arr in (np.array([1, 2, 3]), np.array([0.5, -1.0]), np.array([True, False])):
        for N, inc in ((None, False), (4, True), (0, False), (1, True)):
            _same(cr.vander(cr.tensor(arr), N, inc), torch.vander(torch.tensor(arr), N, inc))


def test_histogramdd() -> None:
    rng = np.random.default_rng(0)
    pts = rng.standard_normal((50, 2))
    w = rng.random(50)
    c, t = _both(pts)
    for kw in (
        {"bins": 4},
        {"bins": [3, 5]},
        {"bins": [2, 3], "range": [-1.0, 1.0, -2.0, 2.0]},
        {"bins": 3, "density": True},
    ):
        _same(cr.histogramdd(c, **kw), torch.histogramdd(t, **kw))
        _same(
            cr.histogramdd(c, weight=cr.tensor(w), **kw), torch.histogramdd(t, weight=torch.tensor(w), **kw)
        )
    edges = [np.array([-3.0, 0.0, 3.0]), np.array([-1.0, 0.5, 1.0, 4.0])]
    _same(
        cr.histogramdd(c, [cr.tensor(e) for e in edges]),
        torch.histogramdd(t, [torch.tensor(e) for e in edges]),
    )


@pytest.mark.parametrize("name", ["atleast_1d", "atleast_2d", "atleast_3d"])
def test_atleast_nd_take_one_tensor_several_or_a_sequence(name: str) -> None:
    """One tensor gives a view, several tensors or one list of them a tuple (PyTorch's forms);
    gradients flow back through each view."""
    res = []
    for T in (cr, torch):
        a, b = T.tensor(1.5, requires_grad=True), T.tensor([1.0, 2.0, 3.0], requires_grad=True)
        f = getattr(T, name)
        one, several, listed = f(b), f(a, b), f([a, b])
        (one.sum() + sum((k + 1) * t.sum() for k, t in enumerate(several)) + listed[0].sum()).backward()
        res.append((one, several, listed, a.grad, b.grad))
    (o1, s1, l1, ga, gb), (o2, s2, l2, ra, rb) = res
    assert type(s1) is tuple and type(l1) is tuple and len(l1) == 2
    _same(o1, o2)
    _same(list(s1), list(s2))
    _same(list(l1), list(l2))
    _same(ga, ra)
    _same(gb, rb)


@pytest.mark.parametrize(
    "kw",
    [
        {"aweights": "a"},
        {"aweights": "a", "correction": 2},
        {"fweights": "f", "correction": 2},
        {"fweights": "f", "aweights": "a"},
    ],
    ids=["aweights", "aweights-correction2", "fweights-correction2", "both"],
)
def test_cov_weighted_corrections_values_and_gradients(kw) -> None:
    """cov's weighted normalisations (the table covers no weights and correction=0): values and
    gradients in the data and the aweights, against PyTorch at random points."""
    rng = np.random.default_rng(5)
    x, aw, fw = rng.standard_normal((3, 7)), rng.uniform(0.2, 2.0, 7), rng.integers(1, 4, 7)
    got = []
    for T in (cr, torch):
        xt, at = T.tensor(x, requires_grad=True), T.tensor(aw, requires_grad=True)
        args = {k: at if v == "a" else T.tensor(fw) if v == "f" else v for k, v in kw.items()}
        c = T.cov(xt, **args)
        (c * T.tensor(np.arange(9.0).reshape(3, 3))).sum().backward()
        got.append((c, xt.grad, at.grad if "aweights" in kw else None))
    (c1, gx1, ga1), (c2, gx2, ga2) = got
    _same(c1, c2, rtol=1e-10)
    _same(gx1, gx2, rtol=1e-10)
    if ga2 is not None:
        _same(ga1, ga2, rtol=1e-10)
