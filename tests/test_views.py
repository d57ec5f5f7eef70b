"""Views and in-place ops, generated: every view op x every in-place op x (write the base, write the
view) x (base a leaf that requires grad, a non-leaf, a tensor without grad), against PyTorch.

Each case builds the same program in both libraries, runs it, and compares: whether it is refused
(and that the refusal names the same fact), the values of base and view afterwards, their
``_version``, and the gradients of every leaf.  The loss reads both the base and the view, and the
view after the write, so stale histories (a view whose base changed) are exercised too.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

import chainrule as cr

VIEWS = {  # name -> view of a (4, 4) base
    "select": lambda x: x[1],
    "slice": lambda x: x[1:],
    "step": lambda x: x[:, ::2],
    "mixed": lambda x: x[1, 1:3],
    "none": lambda x: x[None],
    "ellipsis": lambda x: x[...],
    "scalar": lambda x: x[1, 2],
    "view": lambda x: x.view(2, 8),
    "reshape": lambda x: x.reshape(16),
    "flatten": lambda x: x.flatten(),
    "unflatten": lambda x: x.unflatten(1, (2, 2)),
    "transpose": lambda x: x.transpose(0, 1),
    "permute": lambda x: x.permute(1, 0),
    "t": lambda x: x.t(),
    "T": lambda x: x.T,
    "mT": lambda x: x.mT,
    "unsqueeze": lambda x: x.unsqueeze(1),
    "squeeze": lambda x: x[:1].squeeze(0),
    "narrow": lambda x: x.narrow(1, 1, 2),
    "select_fn": lambda x: x.select(1, 3),
    "unfold": lambda x: x.unfold(1, 2, 2),
    "diagonal": lambda x: x.diagonal(),
    "diagonal_offset": lambda x: x.diagonal(1),
    "as_strided": lambda x: x.as_strided((2, 2), (4, 1), 1),
    "movedim": lambda x: x.movedim(0, 1),
    "view_of_view": lambda x: x.t()[1:],
    "view_of_view_of_view": lambda x: x[1:].t()[0],
    "expand": lambda x: x[:, :1].expand(4, 3),
    "split": lambda x: x.split(2, dim=1)[1],
    "chunk": lambda x: x.chunk(2)[0],
    "unbind": lambda x: x.unbind(1)[2],
}

INPLACE = {  # name -> (fn(target, w), whether w is used)
    "add_": lambda t, w: t.add_(1.5),
    "mul_w": lambda t, w: t.mul_(w),
    "iadd_w": lambda t, w: t.__iadd__(w),
    "setitem_self": lambda t, w: t.__setitem__(0, t[0] * 3) if t.dim() else t.mul_(3),
    "setitem_w": lambda t, w: t.__setitem__(..., w),
    "zero_": lambda t, w: t.zero_(),
    "fill_": lambda t, w: t.fill_(2.0),
    "copy_w": lambda t, w: t.copy_(w),
    "masked_fill_": lambda t, w: t.masked_fill_(t > 0, 0.25),
    "clamp_": lambda t, w: t.clamp_(-0.3, 0.3),
    "exp_": lambda t, w: t.exp_(),
}

KINDS = ("leaf", "nonleaf", "nograd")
TARGETS = ("base", "view")

BASE = np.random.default_rng(0).uniform(-1, 1, (4, 4))


def _run(T, view_name: str, op_name: str, kind: str, target: str):
    """The program, written once for both libraries; returns what to compare."""
    leaf = T.tensor(BASE.copy(), dtype=T.float64, requires_grad=kind != "nograd")
    base = leaf if kind != "nonleaf" else leaf * 1.0
    view = VIEWS[view_name](base)
    tgt = view if target == "view" else base
    w_shape = tuple(tgt.shape)
    w = T.tensor(
        np.linspace(0.5, 1.5, int(np.prod(w_shape))).reshape(w_shape), dtype=T.float64, requires_grad=True
    )
    try:
        INPLACE[op_name](tgt, w)
        loss = (base * base).sum() + (view * T.tensor(2.0, dtype=T.float64)).sum() + view.exp().sum()
        leaves = [t for t in (leaf, w) if t.requires_grad]
        grads = T.autograd.grad(loss, leaves, allow_unused=True) if loss.requires_grad else []
    except RuntimeError as exc:
        return ("error", str(exc))
    return (
        "ok",
        base.detach().numpy().copy(),
        view.detach().numpy().copy(),
        base._version,
        view._version,
        [None if g is None else g.numpy() for g in grads],
    )


def _refusal_fact(message: str) -> str:
    m = message.lower()
    if "multiple views" in m or "several views returned" in m or "several returned together" in m:
        return "multi-output view"
    if "leaf" in m:
        return "leaf"
    if "single memory location" in m or "read-only" in m:
        return "overlapping memory"
    if "modified by an inplace operation" in m or "modified by an in-place operation" in m:
        return "saved tensor modified"
    return message


CASES = [
    (v, o, k, t)
    for v in VIEWS
    for o in INPLACE
    for k in KINDS
    for t in TARGETS
    if not (v == "expand" and t == "view")  # writing an expanded view: covered on its own below
]


@pytest.mark.parametrize(
    "view_name,op_name,kind,target", CASES, ids=[f"{v}-{o}-{k}-{t}" for v, o, k, t in CASES]
)
def test_view_inplace_matches_pytorch(view_name: str, op_name: str, kind: str, target: str) -> None:
    ref = _run(torch, view_name, op_name, kind, target)
    got = _run(cr, view_name, op_name, kind, target)
    if ref[0] == "error":
        assert got[0] == "error", f"PyTorch refuses ({ref[1]!r}) but chainrule accepts"
        assert _refusal_fact(got[1]) == _refusal_fact(ref[1]), (got[1], ref[1])
        return
    assert got[0] == "ok", f"chainrule refuses what PyTorch accepts: {got[1]}"
    np.testing.assert_allclose(got[1], ref[1], rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(got[2], ref[2], rtol=1e-12, atol=1e-12)
    assert (got[3], got[4]) == (ref[3], ref[4]), "versions differ"
    for g, r in zip(got[5], ref[5]):
        assert (g is None) == (r is None)
        if g is not None:
            np.testing.assert_allclose(g, r, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("lib", [torch, cr], ids=["torch", "chainrule"])
def test_writing_an_expanded_view_is_refused(lib) -> None:
    x = lib.zeros(4, 1, dtype=lib.float64)
    with pytest.raises(RuntimeError):
        x.expand(4, 3).add_(1)


def test_the_issue_examples() -> None:
    """The four programs that real code runs (attention reshape, masked softmax, ...)."""
    for T in (torch, cr):
        T.manual_seed(0)
    x = np.random.default_rng(1).normal(size=(2, 6, 8))
    w = np.random.default_rng(2).normal(size=(8, 8))
    out = []
    for T in (torch, cr):
        W = T.tensor(w, requires_grad=True)
        y = (T.tensor(x) @ W).reshape(2, 6, 2, 4).permute(0, 2, 1, 3).reshape(4, 6, 4).transpose(1, 2) * 2
        (y * y).sum().backward()
        X = T.tensor(x, requires_grad=True) * 1
        X = X.reshape(-1, X.shape[-1])
        X[T.tensor(x.reshape(-1, 8) > 0.5)] = -1e6
        X.softmax(-1).pow(2).sum().backward()
        b = T.tensor(w, requires_grad=True)
        b2 = b * 1
        v = b2.permute(1, 0)
        b2 += 1
        (v * v).sum().backward()
        leaf = T.tensor(x[0, 0], requires_grad=True)
        z = leaf * 1.0
        z[0] = z[0] * 3.0
        z.sum().backward()
        out.append([W.grad.numpy(), b.grad.numpy(), leaf.grad.numpy(), type(v.grad_fn).__name__])
    for a, b in zip(*out):
        if isinstance(a, str):
            assert a == b
        else:
            np.testing.assert_allclose(b, a, rtol=1e-10)


NAMES = {
    "x[0]": lambda x: x[0],
    "x[1:]": lambda x: x[1:],
    "x[:]": lambda x: x[:],
    "x[:, 0]": lambda x: x[:, 0],
    "x[0, 1:3]": lambda x: x[0, 1:3],
    "x[None]": lambda x: x[None],
    "x[..., None]": lambda x: x[..., None],
    "x[...]": lambda x: x[...],
    "x[0, :]": lambda x: x[0, :],
    "view": lambda x: x.view(12, 5),
    "flatten": lambda x: x.flatten(),
    "transpose": lambda x: x.transpose(0, 1),
    "permute": lambda x: x.permute(2, 0, 1),
    "t": lambda x: x[0].t(),
    "mT": lambda x: x.mT,
    "expand": lambda x: x[:, :1].expand(3, 4, 5),
    "squeeze()": lambda x: x[:, :1].squeeze(),
    "squeeze(1)": lambda x: x[:, :1].squeeze(1),
    "squeeze((1, 2))": lambda x: x[:, :1, :1].squeeze((1, 2)),
    "unsqueeze": lambda x: x.unsqueeze(1),
    "narrow": lambda x: x.narrow(1, 1, 2),
    "select": lambda x: x.select(1, 2),
    "unfold": lambda x: x.unfold(2, 2, 1),
    "diagonal": lambda x: x.diagonal(),
    "as_strided": lambda x: x.as_strided((2, 2), (1, 2)),
    "split": lambda x: x.split(2)[0],
    "split sizes": lambda x: x.split([1, 2])[0],
    "chunk": lambda x: x.chunk(2)[1],
    "unbind": lambda x: x.unbind()[0],
    "movedim": lambda x: x.movedim(0, 2),
    "x[[0, 1]]": lambda x: x[[0, 1]],
}


@pytest.mark.parametrize("name", list(NAMES))
def test_grad_fn_names_follow_pytorch(name: str) -> None:
    got = []
    for T in (torch, cr):
        x = T.tensor(np.ones((3, 4, 5)), requires_grad=True) * 1
        y = NAMES[name](x)
        got.append((type(y.grad_fn).__name__, y._base is x, tuple(y.shape)))
    assert got[1] == got[0]


def test_saved_values_follow_needs_input_grad() -> None:
    """``x * c`` saves ``c`` for x's gradient and nothing of x (which needs no gradient)."""
    x = cr.randn(3, 3, requires_grad=True)
    c = cr.randn(3, 3)
    assert (x * c).grad_fn.saved_values == {"y": c}
    assert (c * x).grad_fn.saved_values == {"x": c}
    y = x * 1.0
    y[0] = y[0] * 3.0  # accepted: the multiply by a constant did not save y
    assert (x * x).grad_fn.saved_values.keys() == {"x", "y"}
