"""In-place view ops (squeeze_, unsqueeze_, t_, transpose_, swapaxes_, swapdims_, as_strided_)
against PyTorch 2.13: the tensor itself changes shape and strides, keeps its storage, bumps its
version, and its history becomes the view op on the old one.  Each scenario runs the same code
on both libraries and compares what it records."""

from __future__ import annotations

from typing import Any, Callable

import numpy as np
import pytest
from reference import need_torch

import chainrule

# (method, args, input shape): every op, with the dim forms of squeeze_
OPS = [
    ("squeeze_", (), (2, 1, 3, 1)),
    ("squeeze_", (1,), (2, 1, 3, 1)),
    ("squeeze_", ((1, 3),), (2, 1, 3, 1)),
    ("squeeze_", (-1,), (2, 3)),
    ("unsqueeze_", (0,), (2, 3)),
    ("unsqueeze_", (-1,), (2, 3)),
    ("t_", (), (2, 3)),
    ("t_", (), (3,)),
    ("transpose_", (0, 2), (2, 1, 3)),
    ("swapaxes_", (1, -1), (2, 1, 3)),
    ("swapdims_", (0, 1), (2, 3)),
    ("as_strided_", ((3, 2), (1, 3)), (2, 3)),
    ("as_strided_", ((2, 2), (1, 2), 1), (2, 3)),
]
IDS = [f"{n}{a}" for n, a, _ in OPS]


def _libs() -> tuple[Any, Any]:
    return need_torch(), chainrule


def _arr(t: Any) -> np.ndarray:
    return np.array(t.detach().numpy() if hasattr(t, "numpy") else t)


def _name(node: Any) -> str | None:
    return None if node is None else type(node).__name__


def _same(torch_facts: dict, ours: dict) -> None:
    assert torch_facts.keys() == ours.keys()
    for k, ref in torch_facts.items():
        got = ours[k]
        if isinstance(ref, np.ndarray):
            np.testing.assert_allclose(got, ref, rtol=1e-12, atol=1e-12, err_msg=k)
        else:
            assert got == ref, f"{k}: chainrule {got!r}, PyTorch {ref!r}"


def _compare(scenario: Callable[..., dict], *args: Any) -> None:
    torch, cr = _libs()
    _same(scenario(torch, *args), scenario(cr, *args))


def _start(lib: Any, shape: tuple, requires_grad: bool = True) -> Any:
    data = np.random.default_rng(0).standard_normal(shape)
    return lib.tensor(data, dtype=lib.float64, requires_grad=requires_grad)


def _weights(lib: Any, t: Any) -> Any:
    n = int(np.prod(tuple(t.shape)))
    return lib.tensor(np.arange(1.0, n + 1).reshape(tuple(t.shape)), dtype=lib.float64)


def _geometry(t: Any) -> dict:
    return {"shape": tuple(t.shape), "stride": tuple(t.stride()), "version": t._version}


@pytest.mark.parametrize("op,args,shape", OPS, ids=IDS)
def test_non_leaf(op: str, args: tuple, shape: tuple) -> None:
    def run(lib: Any) -> dict:
        x = _start(lib, shape)
        y = x * 2
        out = getattr(y, op)(*args)
        facts = {"same": out is y, "grad_fn": _name(y.grad_fn), **_geometry(y)}
        facts["next"] = _name(y.grad_fn.next_functions[0][0])
        facts["value"] = _arr(y)
        (y * _weights(lib, y)).sum().backward()
        facts["grad"] = _arr(x.grad)
        return facts

    _compare(run)


@pytest.mark.parametrize("op,args,shape", OPS, ids=IDS)
def test_leaf_refused_while_recording(op: str, args: tuple, shape: tuple) -> None:
    torch, cr = _libs()
    with pytest.raises(RuntimeError) as ref:
        getattr(_start(torch, shape), op)(*args)
    x = _start(cr, shape)
    with pytest.raises(RuntimeError) as got:
        getattr(x, op)(*args)
    assert str(got.value).startswith(str(ref.value).splitlines()[0])
    assert tuple(x.shape) == shape and x._version == 0


@pytest.mark.parametrize("op,args,shape", OPS, ids=IDS)
def test_leaf_under_no_grad(op: str, args: tuple, shape: tuple) -> None:
    def run(lib: Any) -> dict:
        x = _start(lib, shape)
        with lib.no_grad():
            out = getattr(x, op)(*args)
        facts = {"same": out is x, "leaf": x.is_leaf, "rg": x.requires_grad, **_geometry(x)}
        facts["value"] = _arr(x)
        (x * _weights(lib, x)).sum().backward()  # a leaf of the new shape
        facts["grad"] = _arr(x.grad)
        return facts

    _compare(run)


@pytest.mark.parametrize("op,args,shape", OPS, ids=IDS)
def test_plain_tensor_shares_storage(op: str, args: tuple, shape: tuple) -> None:
    def run(lib: Any) -> dict:
        base = _start(lib, shape, requires_grad=False)
        x = base.view(shape)
        getattr(x, op)(*args)
        facts = {"base": x._base is base, "base_version": base._version, **_geometry(x)}
        x.mul_(10.0)  # written through the new geometry: the base sees it
        facts["base_value"] = _arr(base)
        facts["value"] = _arr(x)
        return facts

    _compare(run)


@pytest.mark.parametrize("op,args,shape", OPS, ids=IDS)
def test_view_of_non_leaf(op: str, args: tuple, shape: tuple) -> None:
    """The view's chain grows by the op: writing it afterwards rewrites the base (CopySlices)."""

    def run(lib: Any) -> dict:
        x = _start(lib, shape)
        b = x * 1
        v = b.view(shape)
        getattr(v, op)(*args)
        facts = {"base": v._base is b, "grad_fn": _name(v.grad_fn), "base_fn": _name(b.grad_fn)}
        facts.update(_geometry(v), base_version=b._version)
        w = _weights(lib, v).requires_grad_()
        v.mul_(w)
        facts["base_fn_after"] = _name(b.grad_fn)
        facts["base_value"] = _arr(b)
        ((b * b).sum() + (v * 3).sum()).backward()
        facts["grad_x"], facts["grad_w"] = _arr(x.grad), _arr(w.grad)
        return facts

    _compare(run)


@pytest.mark.parametrize("op,args,shape", OPS, ids=IDS)
def test_view_whose_base_is_written_later(op: str, args: tuple, shape: tuple) -> None:
    def run(lib: Any) -> dict:
        x = _start(lib, shape)
        b = x * 1
        v = b.view(shape)
        getattr(v, op)(*args)
        b.mul_(_weights(lib, b))
        loss = (v * _weights(lib, v)).sum()
        facts = {"grad_fn": _name(v.grad_fn), "value": _arr(v)}
        loss.backward()
        facts["grad"] = _arr(x.grad)
        return facts

    _compare(run)


@pytest.mark.parametrize("op,args,shape", OPS, ids=IDS)
def test_view_of_leaf(op: str, args: tuple, shape: tuple) -> None:
    """Refused while recording; under no_grad allowed, and the view's history is regenerated."""
    torch, cr = _libs()
    with pytest.raises(RuntimeError) as ref:
        getattr(_start(torch, shape).view(shape), op)(*args)
    with pytest.raises(RuntimeError) as got:
        getattr(_start(cr, shape).view(shape), op)(*args)
    assert str(got.value).startswith(str(ref.value).splitlines()[0])

    def run(lib: Any) -> dict:
        x = _start(lib, shape)
        v = x.view(shape)
        with lib.no_grad():
            getattr(v, op)(*args)
        facts = {"base": v._base is x, "rg": v.requires_grad, **_geometry(v)}
        loss = (v * _weights(lib, v)).sum()
        facts["grad_fn"] = _name(v.grad_fn)
        loss.backward()
        facts["grad"] = _arr(x.grad)
        return facts

    _compare(run)


# ops whose new layout holds every old element once, so views taken before still resolve
BIJECTIVE = [c for c in OPS if c[:2] != ("as_strided_", ((2, 2), (1, 2), 1))]


@pytest.mark.parametrize("op,args,shape", BIJECTIVE, ids=[f"{n}{a}" for n, a, _ in BIJECTIVE])
def test_views_taken_before_the_op(op: str, args: tuple, shape: tuple) -> None:
    """A base changes layout under its views: they still read and write the right elements."""

    def run(lib: Any, write: bool) -> dict:
        x = _start(lib, shape)
        y = x * 1
        v = y.view(shape)[0]
        getattr(y, op)(*args)
        facts = {"base": v._base is y, "version": v._version}
        if write:
            v.mul_(_weights(lib, v))
            facts["y_fn"], facts["y"] = _name(y.grad_fn), _arr(y)
            loss = (y * _weights(lib, y)).sum()
        else:
            y.add_(1.0)
            loss = (v * _weights(lib, v)).sum()
        facts["grad_fn"] = _name(v.grad_fn)
        loss.backward()
        facts["grad"] = _arr(x.grad)
        return facts

    _compare(run, False)
    _compare(run, True)


def test_saved_tensor_then_in_place_view_op() -> None:
    """The version bump makes a node that saved the tensor refuse backward, as in PyTorch."""
    for lib in _libs():
        x = _start(lib, (2, 3))
        y = x * 1
        z = y * y
        y.t_()
        with pytest.raises(RuntimeError, match="modified by an inplace operation|in-place operation"):
            z.sum().backward()


def test_pieces_returned_together_refused() -> None:
    for lib in _libs():
        b = _start(lib, (4, 3)) * 1
        with pytest.raises(RuntimeError, match="is a view and is being modified"):
            b.split(2)[0].t_()
        with pytest.raises(RuntimeError, match="is a view and is being modified"):
            b.unbind(0)[1].unsqueeze_(0)
        with lib.no_grad():
            p = b.split(2)[0]
            assert tuple(p.t_().shape) == (3, 2)


def test_top_level_as_strided_() -> None:
    def run(lib: Any) -> dict:
        x = _start(lib, (2, 3))
        y = x * 1
        out = lib.as_strided_(y, (3, 2), (1, 3))
        facts = {"same": out is y, "grad_fn": _name(y.grad_fn), **_geometry(y), "value": _arr(y)}
        (y * _weights(lib, y)).sum().backward()
        facts["grad"] = _arr(x.grad)
        return facts

    _compare(run)


BAD = [
    ("unsqueeze_", (5,)),
    ("unsqueeze_", (-4,)),
    ("squeeze_", (5,)),
    ("transpose_", (0, 5)),
    ("swapaxes_", (-3, 0)),
    ("swapdims_", (2, 0)),
    ("as_strided_", ((4, 4), (1, 1))),
    ("as_strided_", ((4,), (1, 1))),
]


@pytest.mark.parametrize("op,args", BAD, ids=[f"{n}{a}" for n, a in BAD])
def test_bad_arguments_raise_as_the_out_of_place_op(op: str, args: tuple) -> None:
    torch, cr = _libs()
    with pytest.raises(Exception) as ref:
        getattr(torch.zeros(2, 3), op)(*args)
    x = cr.zeros(2, 3)
    with pytest.raises(Exception) as got:
        getattr(x, op)(*args)
    assert type(got.value) is type(ref.value)
    # the message names the op (swapaxes and swapdims by the transpose they are)
    assert str(got.value).startswith((f"{op[:-1]}(): ", "transpose(): ")), got.value
    with pytest.raises(type(ref.value)):
        getattr(x, op[:-1])(*args)
    assert tuple(x.shape) == (2, 3) and x._version == 0


def test_t_of_3d_refused() -> None:
    torch, cr = _libs()
    for lib in (torch, cr):
        with pytest.raises(RuntimeError, match="expects a tensor with <= 2 dimensions"):
            lib.zeros(2, 3, 4).t_()
