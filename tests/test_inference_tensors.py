"""Inference tensors (``Tensor.is_inference``, ``torch.is_inference``): which tensors made around
``inference_mode`` are ones, and what PyTorch 2.13 refuses to do with them outside it."""

from __future__ import annotations

import numpy as np
import pytest
from reference import need_torch

import chainrule as cr


def _flags(T) -> dict:
    x = T.ones(3)
    w = T.ones(3, requires_grad=True)
    out = {}
    with T.inference_mode():
        a = T.ones(3)
        out["factory"] = a.is_inference()
        out["op of normal"] = (x * 2).is_inference()
        out["view of normal"] = (x[1:].is_inference(), x.view(3).is_inference(), x.t().is_inference())
        out["op of leaf"] = ((w * 2).is_inference(), (w * 2).requires_grad)
        out["normal stays"] = x.is_inference()
        out["tensor/zeros_like/from_numpy"] = (
            T.tensor([1.0]).is_inference(),
            T.zeros_like(x).is_inference(),
            T.from_numpy(np.ones(2)).is_inference(),
        )
        out["reductions/tuple outputs"] = (a.sum().is_inference(), [t.is_inference() for t in a.max(0)])
        with T.inference_mode(False):
            out["inner False"] = (T.ones(3).is_inference(), (a * 2).is_inference(), T.is_grad_enabled())
        with T.no_grad():
            out["no_grad inside"] = (x * 1).is_inference()
        y = x.clone()
        y.add_(1)  # in place on a normal tensor inside: stays normal
        out["inplace on normal inside"] = y.is_inference()
        a.mul_(3)  # allowed inside
        out["inplace inside"] = a.tolist()
    out["outside"] = (
        a.clone().is_inference(),
        (a * 2).is_inference(),
        a[1:].is_inference(),
        a.detach().is_inference(),
        a.view(3, 1).is_inference(),
        a.data.is_inference(),
        x.data.is_inference(),
        T.is_inference(a),
        a.requires_grad,
    )
    with T.no_grad():
        out["no_grad factory"] = T.ones(2).is_inference()
    with T.inference_mode(False):
        out["only False"] = T.ones(2).is_inference()
    return out


def test_which_tensors_are_inference_tensors_matches_pytorch() -> None:
    torch = need_torch()
    assert _flags(cr) == _flags(torch)  # (pytest shows the differing keys)


def _refusals(T) -> dict:
    w = T.ones(3, requires_grad=True)
    with T.inference_mode():
        a = T.ones(3)
    x = T.ones(3)
    calls = {
        "add_": lambda: a.add_(1),
        "mul_ under no_grad": lambda: _under(T.no_grad(), lambda: a.mul_(2)),
        "setitem": lambda: a.__setitem__(0, 5.0),
        "fill_": lambda: a.fill_(2.0),
        "zero_": lambda: a.zero_(),
        "copy_": lambda: a.copy_(x),
        "view then add_": lambda: a[1:].add_(1),
        "saved by mul": lambda: w * a,
        "saved by exp chain": lambda: (w * 1).exp() * a,
        "saved by matmul": lambda: w @ a,
        "requires_grad_": lambda: a.requires_grad_(),
        "requires_grad =": lambda: setattr(a, "requires_grad", True),
        "not saved: add": lambda: (w + a).sum().backward(),
        "inference arg of in-place": lambda: x.clone().add_(a),
        "no_grad use": lambda: _under(T.no_grad(), lambda: w * a),
        "clone then autograd": lambda: (w * a.clone()).sum().backward(),
    }
    out = {}
    for name, fn in calls.items():
        try:
            fn()
            out[name] = "ok"
        except RuntimeError as exc:
            msg = str(exc)
            out[name] = (
                "RuntimeError",
                msg[: msg.index("inference") + 9] if "inference" in msg else msg[:20],
            )
    out["values after refusals"] = a.tolist()
    return out


def _under(ctx, fn):
    with ctx:
        return fn()


def test_refusals_outside_inference_mode_match_pytorch() -> None:
    torch = need_torch()
    ours, ref = _refusals(cr), _refusals(torch)
    # PyTorch's a[1:].add_(1) writes before it refuses; chainrule's never does
    assert ours.pop("values after refusals") == [1.0, 1.0, 1.0]
    assert ref.pop("values after refusals") == [1.0, 2.0, 2.0]
    assert ours == ref


def test_is_inference_needs_a_tensor() -> None:
    torch = need_torch()
    for T in (cr, torch):
        with pytest.raises(TypeError):
            T.is_inference(1.0)


def test_inference_mode_as_a_decorator_and_nested() -> None:
    @cr.inference_mode()
    def f(x):
        return x * 2

    assert f(cr.ones(2)).is_inference()
    with cr.inference_mode():
        with cr.inference_mode():
            b = cr.ones(1)
        c = cr.ones(1)
    assert b.is_inference() and c.is_inference()
    assert not (cr.ones(1) * 2).is_inference()
