"""Sorting, selection and counting against PyTorch where the op table cannot reach: NaNs,
ties, integer inputs, non-differentiable results (unique, bincount, histc, searchsorted...)
and the errors PyTorch raises."""

from __future__ import annotations

from typing import Any, Callable

import numpy as np
import pytest
from reference import torch

import chainrule as cr

pytestmark = pytest.mark.skipif(torch is None, reason="PyTorch not installed")

_RNG = np.random.default_rng(0)
FLOAT_NAN = _RNG.standard_normal((3, 6))
FLOAT_NAN[1, 2] = np.nan
FLOAT_NAN[2, [0, 3]] = np.nan
ALL_NAN_ROW = np.array([[np.nan, np.nan, np.nan], [1.0, np.nan, -2.0]])
INTS = _RNG.integers(-3, 4, (3, 7))
TIES = np.array([[3.0, 1.0, 3.0, 1.0, 2.0], [2.0, 2.0, 2.0, 0.0, 0.0]])


def _flat(out: Any) -> list:
    if isinstance(out, (tuple, list)):
        return [t for o in out for t in _flat(o)]
    return [out]


def _same(fn: Callable[[Any, Any], Any], arr: np.ndarray, check_dtype: bool = True) -> None:
    ours = _flat(fn(cr, cr.tensor(arr)))
    ref = _flat(fn(torch, torch.from_numpy(np.array(arr, copy=True))))
    assert len(ours) == len(ref)
    for o, r in zip(ours, ref):
        assert tuple(o.shape) == tuple(r.shape)
        if check_dtype:
            assert str(o.dtype).split(".")[-1] == str(r.dtype).split(".")[-1]
        np.testing.assert_allclose(o.detach().numpy(), r.detach().numpy(), rtol=1e-12, atol=0, equal_nan=True)


NAN_CASES = {
    "sort": lambda T, x: T.sort(x, 1),
    "sort_descending": lambda T, x: T.sort(x, 1, descending=True),
    "argsort": lambda T, x: T.argsort(x, 0),
    "topk": lambda T, x: T.topk(x, 2),
    "topk_smallest": lambda T, x: T.topk(x, 3, largest=False),
    "kthvalue": lambda T, x: T.kthvalue(x, 4),  # the k-th among NaNs is PyTorch's choice
    "median_all": lambda T, x: T.median(x),
    "median": lambda T, x: T.median(x, 1),
    "nanmedian_all": lambda T, x: T.nanmedian(x),
    "nanmedian": lambda T, x: T.nanmedian(x, 1, keepdim=True),
    "cummax": lambda T, x: T.cummax(x, 1),
    "cummin": lambda T, x: T.cummin(x, 0),
    "quantile": lambda T, x: T.quantile(x, 0.5, 1),
    "nanquantile": lambda T, x: T.nanquantile(x, T.tensor([0.0, 0.3, 1.0], dtype=T.float64), 1),
    "logcumsumexp": lambda T, x: T.logcumsumexp(x, 1),
}


@pytest.mark.parametrize("name", sorted(NAN_CASES))
def test_nans_as_pytorch(name: str) -> None:
    _same(NAN_CASES[name], FLOAT_NAN)


@pytest.mark.parametrize("name", ["nanmedian", "nanquantile", "median", "quantile"])
def test_rows_of_nans(name: str) -> None:
    _same(NAN_CASES[name], ALL_NAN_ROW)


STABLE_CASES = {
    "sort_stable": lambda T, x: T.sort(x, dim=1, stable=True),
    "sort_stable_descending": lambda T, x: T.sort(x, dim=1, descending=True, stable=True),
    "mode": lambda T, x: T.mode(x, 1),
    "mode_keepdim": lambda T, x: T.mode(x, 0, keepdim=True),
    "cummax": lambda T, x: T.cummax(x, 1),
    "cummin": lambda T, x: T.cummin(x, 1),
    "median": lambda T, x: T.median(x, 1),
    "msort": lambda T, x: T.msort(x),
}


@pytest.mark.parametrize("name", sorted(STABLE_CASES))
@pytest.mark.parametrize("arr", [TIES, INTS], ids=["float_ties", "int64"])
def test_ties_and_integers(name: str, arr: np.ndarray) -> None:
    _same(STABLE_CASES[name], arr)


@pytest.mark.parametrize("interpolation", ["linear", "lower", "higher", "midpoint", "nearest"])
@pytest.mark.parametrize("keepdim", [False, True])
@pytest.mark.parametrize("dim", [None, 0, -1])
def test_quantile_options(interpolation: str, keepdim: bool, dim: Any) -> None:
    arr = _RNG.standard_normal((4, 5))
    for q in (0.5, np.array([0.0, 0.125, 0.5, 0.625, 1.0])):

        def fn(T: Any, x: Any, q: Any = q) -> Any:
            qq = T.tensor(q) if isinstance(q, np.ndarray) else q
            return (
                T.quantile(x, qq, dim, keepdim, interpolation=interpolation),
                T.nanquantile(x, qq, dim, keepdim, interpolation=interpolation),
            )

        _same(fn, arr)


def test_zero_dim_and_methods() -> None:
    _same(
        lambda T, x: (
            T.sort(x),
            T.topk(x, 1),
            T.kthvalue(x, 1),
            T.median(x, 0),
            T.mode(x),
            T.cummax(x, 0),
            T.logcumsumexp(x, 0),
            T.quantile(x, 0.3),
        ),
        np.array(1.5),
    )
    _same(
        lambda T, x: (
            x.sort(),
            x.argsort(),
            x.msort(),
            x.topk(2),
            x.kthvalue(1),
            x.median(),
            x.nanmedian(),
            x.mode(),
            x.quantile(0.2),
            x.nanquantile(0.2),
            x.cummax(0),
            x.cummin(0),
            x.logcumsumexp(0),
        ),
        _RNG.standard_normal(5),
    )


ERRORS = {
    "topk_k": (lambda T, x: T.topk(x, 7), RuntimeError),
    "kthvalue_k": (lambda T, x: T.kthvalue(x, 0), (IndexError, RuntimeError)),
    "quantile_q": (lambda T, x: T.quantile(x, 1.5), RuntimeError),
    "quantile_int": (lambda T, x: T.quantile(x.long(), 0.5), RuntimeError),
    "quantile_q_dtype": (lambda T, x: T.quantile(x, T.tensor([0.5], dtype=T.float32)), RuntimeError),
    "quantile_interp": (lambda T, x: T.quantile(x, 0.5, interpolation="cubic"), RuntimeError),
    "sort_dim": (lambda T, x: T.sort(x, 3), IndexError),
}


@pytest.mark.parametrize("name", sorted(ERRORS))
def test_errors_as_pytorch(name: str) -> None:
    fn, cls = ERRORS[name]
    arr = _RNG.standard_normal((2, 6))
    with pytest.raises(cls):
        fn(torch, torch.from_numpy(arr))
    with pytest.raises(cls):
        fn(cr, cr.tensor(arr))


def test_sorted_values_gradient_goes_to_the_chosen_elements() -> None:
    x = cr.tensor([[3.0, 1.0, 2.0]], dtype=cr.float64, requires_grad=True)
    cr.sort(x, descending=True).values[0, 0].backward()
    assert x.grad.tolist() == [[1.0, 0.0, 0.0]]


# ------------------------------------------------------------ counting and bucketing
VALUES = np.array([[2, 1, 1, 3], [2, 2, 0, 3], [2, 1, 1, 3]])
FLOATS = np.array([0.5, -1.25, 0.5, 2.0, 7.5, -1.25, 3.0])
COUNTING = {
    "unique": (lambda T, x: T.unique(x), VALUES),
    "unique_all": (lambda T, x: T.unique(x, return_inverse=True, return_counts=True), VALUES),
    "unique_dim0": (lambda T, x: T.unique(x, return_inverse=True, return_counts=True, dim=0), VALUES),
    "unique_dim1": (lambda T, x: x.unique(dim=1, return_counts=True), VALUES),
    "unique_float": (lambda T, x: x.unique(return_inverse=True), FLOATS),
    "unique_consecutive": (
        lambda T, x: T.unique_consecutive(x, return_inverse=True, return_counts=True),
        VALUES,
    ),
    "unique_consecutive_dim": (lambda T, x: x.unique_consecutive(return_counts=True, dim=0), VALUES),
    "unique_consecutive_dim1": (lambda T, x: T.unique_consecutive(x, True, True, dim=1), VALUES),
    "bincount": (lambda T, x: T.bincount(x.reshape(-1)), VALUES),
    "bincount_weights": (lambda T, x: x.reshape(-1).bincount(T.arange(12.0), minlength=6), VALUES),
    "bincount_weights64": (lambda T, x: T.bincount(x[0], x[1].double()), VALUES),
    "histc": (lambda T, x: T.histc(x, 4), FLOATS),
    "histc_range": (lambda T, x: x.float().histc(bins=3, min=-1, max=2), FLOATS),
    "histogram": (lambda T, x: T.histogram(x, 4), FLOATS),
    "histogram_range": (lambda T, x: T.histogram(x, 3, range=(0.0, 3.0), weight=x * 2, density=True), FLOATS),
    "histogram_edges": (lambda T, x: x.histogram(T.tensor([-2.0, 0.0, 1.0, 8.0], dtype=T.float64)), FLOATS),
    "searchsorted": (lambda T, x: T.searchsorted(T.tensor([-1.25, 0.5, 3.0], dtype=T.float64), x), FLOATS),
    "searchsorted_right": (
        lambda T, x: T.searchsorted(
            T.tensor([-1.25, 0.5, 3.0], dtype=T.float64), x, right=True, out_int32=True
        ),
        FLOATS,
    ),
    "searchsorted_nd": (lambda T, x: T.searchsorted(T.sort(x, 1).values, x, side="right"), VALUES),
    "searchsorted_scalar": (lambda T, x: T.searchsorted(x, 2), np.array([0, 2, 2, 5])),
    "bucketize": (lambda T, x: T.bucketize(x, T.tensor([-1.25, 0.5, 3.0], dtype=T.float64)), FLOATS),
    "bucketize_right": (lambda T, x: T.bucketize(x, T.tensor([0, 2]), right=True), VALUES),
    "isin": (lambda T, x: T.isin(x, T.tensor([1, 3])), VALUES),
    "isin_invert": (lambda T, x: T.isin(x, 0.5, invert=True), FLOATS),
}


@pytest.mark.parametrize("name", sorted(COUNTING))
def test_counting_as_pytorch(name: str) -> None:
    fn, arr = COUNTING[name]
    _same(fn, arr)


def test_counting_errors_as_pytorch() -> None:
    for fn, arr in [
        (lambda T, x: T.bincount(x), VALUES),
        (lambda T, x: T.bincount(x[0] - 5), VALUES),
        (lambda T, x: T.histc(x), VALUES),
        (lambda T, x: T.bucketize(x, x), VALUES),
    ]:
        with pytest.raises(RuntimeError):
            fn(torch, torch.from_numpy(arr))
        with pytest.raises(RuntimeError):
            fn(cr, cr.tensor(arr))


# ------------------------------------------------------------ in-place forms and ties
INPLACE = {
    "lgamma_": lambda x: x.abs().add(0.5).lgamma_(),
    "digamma_": lambda x: x.abs().add(0.5).digamma_(),
    "polygamma_": lambda x: x.abs().add(0.5).polygamma_(1),
    "erfinv_": lambda x: (x * 0.5).erfinv_(),
    "logit_": lambda x: (x.abs() * 0.5 + 0.1).logit_(),
    "xlogy_": lambda x: x.clone().xlogy_(x.abs() + 1),
    "sinc_": lambda x: x.clone().sinc_(),
    "exp2_": lambda x: x.clone().exp2_(),
    "atan2_": lambda x: x.clone().atan2_(x.flip(0)),
    "hypot_": lambda x: x.clone().hypot_(x.flip(0)),
    "fmod_": lambda x: x.mul(3).fmod_(0.7),
    "lerp_": lambda x: x.clone().lerp_(x.flip(0), 0.25),
    "addcmul_": lambda x: x.clone().addcmul_(x, x, value=2),
    "nan_to_num_": lambda x: x.log().nan_to_num_(),
    "index_fill_": lambda x: x.clone().index_fill_(1, x.new_tensor([0, 2]).long(), 7.0),
    "scatter_reduce_": lambda x: x.clone().scatter_reduce_(
        1, x.new_tensor([[0, 0, 1, 1]] * 3).long(), x, "amax", include_self=False
    ),
    "cumprod_": lambda x: x.clone().cumprod_(1),
}


@pytest.mark.parametrize("name", sorted(INPLACE))
def test_inplace_forms_as_pytorch(name: str) -> None:
    arr = _RNG.standard_normal((3, 4))
    fn = INPLACE[name]
    xt = torch.from_numpy(arr.copy()).requires_grad_()
    xc = cr.tensor(arr).requires_grad_()
    rt, rc = fn(xt), fn(xc)
    np.testing.assert_allclose(rc.detach().numpy(), rt.detach().numpy(), rtol=1e-8, equal_nan=True)
    g = _RNG.standard_normal((3, 4))
    rt.backward(torch.from_numpy(g))
    rc.backward(cr.tensor(g))
    np.testing.assert_allclose(xc.grad.numpy(), xt.grad.numpy(), rtol=1e-8, atol=1e-12)  # SciPy vs ATen


@pytest.mark.parametrize("reduce", ["amax", "amin", "mean", "sum"])
@pytest.mark.parametrize("include_self", [True, False])
def test_scatter_reduce_ties_share_the_gradient(reduce: str, include_self: bool) -> None:
    x = np.array([[1.0, 2.0, 2.0], [0.0, 5.0, 1.0]])
    src = np.array([[2.0, 2.0, 1.0, 3.0], [5.0, 5.0, 0.0, 1.0]])
    index = np.array([[1, 1, 0, 2], [1, 1, 0, 0]])
    outs = []
    for T, make in (
        (torch, lambda a: torch.from_numpy(a.copy()).requires_grad_()),
        (cr, lambda a: cr.tensor(a).requires_grad_()),
    ):
        xx, ss = make(x), make(src)
        out = xx.scatter_reduce(1, T.tensor(index), ss, reduce, include_self=include_self)
        out.sum().backward()
        outs.append([out.detach().numpy(), xx.grad.numpy(), ss.grad.numpy()])
    for o, r in zip(*outs):
        np.testing.assert_allclose(o, r, rtol=1e-12)
