"""CTC loss (``F.ctc_loss``, ``nn.CTCLoss``) against PyTorch 2.13: values, gradients, options, errors.

The op-table cases (tests/ops_table.py) gradcheck it to second order; here: many random shapes
and lengths, every target layout and length type, impossible alignments, and refusals.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from reference import need_torch, torch

import chainrule as cr
import chainrule.nn.functional as F
from chainrule.autograd import gradcheck

need_torch()
TF = torch.nn.functional


def _problem(rng: np.random.Generator, t_len: int, n: int, c: int, s: int, blank: int = 0) -> dict:
    """Random logits and labels (never the blank) with lengths that leave room for repeats."""
    tl = rng.integers(0, s + 1, n)
    il = np.array([rng.integers(min(2 * k + 1, t_len), t_len + 1) for k in tl])
    labels = rng.integers(0, c - 1, (n, s))
    labels = labels + (labels >= blank)  # skip the blank
    return {"x": rng.standard_normal((t_len, n, c)), "targets": labels, "il": il, "tl": tl}


def _both(p: dict, *, layout: str = "padded", lengths: str = "list", **kw: Any) -> tuple:
    """Loss and input gradient (through log_softmax, as CTC is used) in both libraries."""
    out = []
    rng = np.random.default_rng(0)
    w = None
    for lib in (cr, torch):
        x = lib.tensor(p["x"], requires_grad=True)
        tg = p["targets"]
        if layout == "concat":
            tg = np.concatenate([tg[i, : p["tl"][i]] for i in range(len(tg))])
        tg = lib.tensor(tg)
        il, tl = p["il"].tolist(), p["tl"].tolist()
        if lengths == "tensor":
            il, tl = lib.tensor(il), lib.tensor(tl)
        elif lengths == "int32":
            il, tl = lib.tensor(il, dtype=lib.int32), lib.tensor(tl, dtype=lib.int32)
        fn = F.ctc_loss if lib is cr else TF.ctc_loss
        loss = fn(x.log_softmax(2), tg, il, tl, **kw)
        if w is None:
            w = rng.standard_normal(tuple(loss.shape))
        (loss * lib.tensor(w)).sum().backward()
        out.append((loss.detach().numpy(), x.grad.numpy()))
    return out[0], out[1]


@pytest.mark.parametrize("seed", range(12))
@pytest.mark.parametrize("reduction", ["none", "sum", "mean"])
def test_values_and_gradients_match_torch(seed: int, reduction: str) -> None:
    rng = np.random.default_rng(seed)
    t_len, n, c, s = (
        int(rng.integers(1, 30)),
        int(rng.integers(1, 5)),
        int(rng.integers(2, 8)),
        int(rng.integers(0, 6)),
    )
    p = _problem(rng, t_len, n, c, s)
    (lv, lg), (tv, tg) = _both(
        p,
        reduction=reduction,
        layout=("padded", "concat")[seed % 2],
        lengths=("list", "tensor", "int32")[seed % 3],
    )
    np.testing.assert_allclose(lv, tv, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(lg, tg, rtol=1e-8, atol=1e-12)


def test_blank_elsewhere_repeats_and_long_inputs() -> None:
    rng = np.random.default_rng(5)
    p = _problem(rng, 60, 3, 6, 12, blank=4)
    p["targets"][:, 1] = p["targets"][:, 0]  # a repeated label needs a blank between the two
    for red in ("none", "mean"):
        (lv, lg), (tv, tg) = _both(p, blank=4, reduction=red)
        np.testing.assert_allclose(lv, tv, rtol=1e-10)
        np.testing.assert_allclose(lg, tg, rtol=1e-8, atol=1e-12)


def test_impossible_alignments_and_zero_infinity() -> None:
    """Too few frames for the labels (with the blank a repeat needs): inf and NaN gradients, or
    0 and 0 with zero_infinity, as in PyTorch."""
    rng = np.random.default_rng(3)
    p = {
        "x": rng.standard_normal((4, 3, 4)),
        "targets": np.array([[1, 1, 2], [1, 2, 3], [2, 3, 3]]),
        "il": np.array([4, 2, 4]),
        "tl": np.array([3, 3, 3]),
    }
    for zi in (False, True):
        (lv, lg), (tv, tg) = _both(p, reduction="none", zero_infinity=zi)
        np.testing.assert_array_equal(np.isinf(lv), np.isinf(tv))
        np.testing.assert_allclose(lv, tv, rtol=1e-10)
        np.testing.assert_array_equal(np.isnan(lg), np.isnan(tg))
        np.testing.assert_allclose(np.nan_to_num(lg), np.nan_to_num(tg), rtol=1e-8, atol=1e-12)
    assert np.isinf(_both(p, reduction="none")[0][0][1])


def test_zero_lengths_unbatched_and_float32() -> None:
    rng = np.random.default_rng(4)
    x = rng.standard_normal((6, 4))
    t = np.array([1, 3, 2])
    for red in ("none", "sum", "mean"):
        ours = F.ctc_loss(
            cr.tensor(x).log_softmax(1), cr.tensor(t), cr.tensor(6), cr.tensor(3), reduction=red
        )
        ref = TF.ctc_loss(
            torch.tensor(x).log_softmax(1), torch.tensor(t), torch.tensor(6), torch.tensor(3), reduction=red
        )
        assert tuple(ours.shape) == tuple(ref.shape) == ()
        np.testing.assert_allclose(ours.numpy(), ref.numpy(), rtol=1e-10)
    # an empty target (loss: all blanks) and an empty input (loss 0 with an empty target)
    x3 = rng.standard_normal((5, 2, 3)).astype(np.float32)
    args = (np.array([[1, 2], [2, 1]]), [5, 0], [0, 0])
    ours = F.ctc_loss(cr.tensor(x3).log_softmax(2), cr.tensor(args[0]), *args[1:], reduction="none")
    ref = TF.ctc_loss(torch.tensor(x3).log_softmax(2), torch.tensor(args[0]), *args[1:], reduction="none")
    assert ours.dtype == cr.float32
    np.testing.assert_allclose(ours.numpy(), ref.numpy(), rtol=1e-5)
    # 'mean' divides by max(target length, 1)
    ours = F.ctc_loss(cr.tensor(x3).log_softmax(2), cr.tensor(args[0]), [5, 4], [0, 2])
    ref = TF.ctc_loss(torch.tensor(x3).log_softmax(2), torch.tensor(args[0]), [5, 4], [0, 2])
    np.testing.assert_allclose(ours.numpy(), ref.numpy(), rtol=1e-5)


def test_gradient_is_the_derivative_wrt_log_probs() -> None:
    """gradcheck on log_probs themselves; PyTorch's gradient there is the logits' one (it adds
    exp(log_probs) on each sample's frames), so the two differ by exactly that term."""
    rng = np.random.default_rng(6)
    lp = torch.tensor(rng.standard_normal((5, 2, 4))).log_softmax(2).detach()
    tg, il, tl = np.array([[1, 2], [3, 3]]), [5, 4], [2, 2]
    x = cr.tensor(lp.numpy(), requires_grad=True)
    assert gradcheck(lambda v: F.ctc_loss(v, cr.tensor(tg), il, tl, reduction="sum"), (x,))
    F.ctc_loss(x, cr.tensor(tg), il, tl, reduction="sum").backward()
    xt = lp.clone().requires_grad_()
    TF.ctc_loss(xt, torch.tensor(tg), il, tl, reduction="sum").backward()
    frames = (np.arange(5)[:, None] < np.array(il))[:, :, None]
    np.testing.assert_allclose(x.grad.numpy() + np.exp(lp.numpy()) * frames, xt.grad.numpy(), atol=1e-12)


def test_module_matches_functional_and_torch() -> None:
    rng = np.random.default_rng(7)
    p = _problem(rng, 12, 3, 5, 4, blank=2)
    for kw in ({}, {"blank": 2, "reduction": "sum", "zero_infinity": True}):
        m, mt = cr.nn.CTCLoss(**kw), torch.nn.CTCLoss(**kw)
        assert repr(m) == repr(mt) == "CTCLoss()"
        assert (m.blank, m.reduction, m.zero_infinity) == (mt.blank, mt.reduction, mt.zero_infinity)
        args = (p["targets"], p["il"].tolist(), p["tl"].tolist())
        if "blank" not in kw:
            args = (np.where(args[0] == 0, 1, args[0]),) + args[1:]
        ours = m(cr.tensor(p["x"]).log_softmax(2), cr.tensor(args[0]), *args[1:])
        ref = mt(torch.tensor(p["x"]).log_softmax(2), torch.tensor(args[0]), *args[1:])
        np.testing.assert_allclose(ours.numpy(), ref.numpy(), rtol=1e-10)
    import chainrule.nn.modules.loss as loss_module

    assert loss_module.CTCLoss is cr.nn.CTCLoss


def test_no_grad_forward_and_saved_gradient() -> None:
    """Under no_grad the gradient is not computed (the packed output is the loss alone); the
    backward reads the gradient the forward kept and leaves no graph behind."""
    rng = np.random.default_rng(8)
    x = cr.tensor(rng.standard_normal((7, 2, 4)), requires_grad=True)
    args = (cr.tensor([[1, 2], [3, 1]]), [7, 6], [2, 1])
    with cr.no_grad():
        a = F.ctc_loss(x.log_softmax(2), *args, reduction="none")
    b = F.ctc_loss(x.log_softmax(2), *args, reduction="none")
    np.testing.assert_array_equal(a.numpy(), b.detach().numpy())
    (g,) = cr.autograd.grad(b.sum(), [x])
    assert not g.requires_grad


# ------------------------------------------------------------------ refusals
_X = np.random.default_rng(9).standard_normal((5, 2, 4))
_TG = np.array([[1, 2, 3], [2, 3, 1]])
BAD = {
    "input length above T": (_X, _TG, [6, 4], [3, 2], {}, ["input_lengths", "5", "6"]),
    "negative input length": (_X, _TG, [-1, 4], [3, 2], {}, ["input_lengths", "-1"]),
    "negative target length": (_X, _TG, [5, 4], [-1, 2], {}, ["target_lengths", "-1"]),
    "target length above S": (_X, _TG, [5, 4], [4, 2], {}, ["target_lengths", "3", "4"]),
    "input lengths of another size": (_X, _TG, [5, 4, 3], [3, 2], {}, ["input_lengths", "N=2"]),
    "target lengths of another size": (_X, _TG, [5, 4], [3], {}, ["target_lengths", "N=2"]),
    "blank above C": (_X, _TG, [5, 4], [3, 2], {"blank": 4}, ["blank", "4"]),
    "blank below 0": (_X, _TG, [5, 4], [3, 2], {"blank": -1}, ["blank", "-1"]),
    "1-d log_probs": (_X[:, 0, 0], _TG, [5], [3], {}, ["log_probs", "1-d"]),
    "4-d log_probs": (_X[None], _TG, [5, 4], [3, 2], {}, ["log_probs", "4-d"]),
    "3-d targets": (_X, _TG[None], [5, 4], [3, 2], {}, ["targets", "3-d"]),
    "padded targets for another N": (_X, _TG[:1], [5, 4], [3, 2], {}, ["targets", "N=2", "(1, 3)"]),
    "concatenated targets too short": (_X, _TG.reshape(-1)[:4], [5, 4], [3, 2], {}, ["targets", "5", "4"]),
    "empty batch": (_X[:, :0], _TG[:0], [], [], {}, ["log_probs", "empty", "(5, 0, 4)"]),
    "float lengths": (_X, _TG, "float", "tensor", {}, ["input_lengths", "integral"]),
    "bad reduction": (_X, _TG, [5, 4], [3, 2], {"reduction": "bogus"}, ["reduction", "bogus"]),
    "mixed length kinds": (_X, _TG, "tensor", [3, 2], {}, ["input_lengths", "target_lengths"]),
}


@pytest.mark.parametrize("name", list(BAD))
def test_refusals_name_the_function_and_the_facts(name: str) -> None:
    x, tg, il, tl, kw, facts = BAD[name]
    errors = []
    for lib, fn in ((cr, F.ctc_loss), (torch, TF.ctc_loss)):
        lengths = il
        if isinstance(il, str):
            lengths = lib.tensor([5.0, 4.0]) if il == "float" else lib.tensor([5, 4])
        tls = lib.tensor([3, 2]) if tl == "tensor" else tl
        with pytest.raises((RuntimeError, ValueError, TypeError, IndexError)) as info:
            fn(lib.tensor(x).log_softmax(-1), lib.tensor(tg), lengths, tls, **kw)
        errors.append(info)
    ours, ref = errors
    msg = str(ours.value)
    assert msg.startswith("ctc_loss(): "), msg
    for fact in facts:
        assert fact in msg, (fact, msg)
    same_kind = isinstance(ours.value, type(ref.value)) or isinstance(ref.value, type(ours.value))
    assert same_kind or name in {"1-d log_probs"}, (ours.value, ref.value)


def test_refusals_pytorch_does_not_make() -> None:
    """Labels that PyTorch reads without checking (out of range: undefined memory; the blank:
    documented as not allowed, and its gradient is then wrong): refused with the position."""
    x = cr.tensor(_X).log_softmax(2)
    with pytest.raises(IndexError, match=r"^ctc_loss\(\): target 7 is out of bounds for 4 classes"):
        F.ctc_loss(x, cr.tensor([[1, 7, 2], [1, 2, 3]]), [5, 4], [3, 2])
    with pytest.raises(RuntimeError, match=r"blank index 0 \(found at position 1 of batch element 1\)"):
        F.ctc_loss(x, cr.tensor([[1, 2, 3], [1, 0, 3]]), [5, 4], [3, 2])
    # padding past a target's length is never read, whatever it holds
    out = F.ctc_loss(x, cr.tensor([[1, 2, 0], [1, 99, -5]]), [5, 4], [2, 1], reduction="none")
    ref = TF.ctc_loss(
        torch.tensor(_X).log_softmax(2),
        torch.tensor([[1, 2, 0], [1, 3, 3]]),
        [5, 4],
        [2, 1],
        reduction="none",
    )
    np.testing.assert_allclose(out.numpy(), ref.numpy(), rtol=1e-10)
