"""Every loss, with every reduction and option, against PyTorch 2.13 (value and gradients with
respect to input and target), gradchecks in float64, and the numerically hard corners."""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pytest
from nn_helpers import Case, Ints, compare, need_torch, np_of
from reference import torch

import chainrule as cr
from chainrule.autograd import gradcheck

REDUCTIONS = ("mean", "sum", "none")


@dataclass
class U:
    """Uniform values in [low, high)."""

    low: float
    high: float
    shape: tuple

    def make(self, rng: np.random.Generator) -> np.ndarray:
        return rng.uniform(self.low, self.high, self.shape)


@dataclass
class Probs:
    """Rows of probabilities (softmax over dim 1); ``log=True`` gives log-probabilities."""

    shape: tuple
    log: bool = False

    def make(self, rng: np.random.Generator) -> np.ndarray:
        z = rng.standard_normal(self.shape)
        logp = z - np.log(np.exp(z).sum(1, keepdims=True))
        return logp if self.log else np.exp(logp)


@dataclass
class Targets:
    """Class ids in [0, high) with some entries set to ``ignore``."""

    high: int
    shape: tuple
    ignore: int = -100

    def make(self, rng: np.random.Generator) -> np.ndarray:
        t = rng.integers(0, self.high, self.shape).astype(np.int64)
        t.reshape(-1)[::3] = self.ignore
        return t


def W(T, values):
    return T.tensor(values)


def cases() -> list[Case]:
    out = []
    S = (4, 5)
    for r in REDUCTIONS:
        out += [
            Case(f"MSELoss-{r}", lambda T, r=r: T.nn.MSELoss(reduction=r), (S, S)),
            Case(f"L1Loss-{r}", lambda T, r=r: T.nn.L1Loss(reduction=r), (S, S)),
            Case(f"SmoothL1Loss-{r}", lambda T, r=r: T.nn.SmoothL1Loss(reduction=r), (S, S)),
            Case(f"SmoothL1Loss-beta-{r}", lambda T, r=r: T.nn.SmoothL1Loss(reduction=r, beta=0.4), (S, S)),
            Case(f"SmoothL1Loss-beta0-{r}", lambda T, r=r: T.nn.SmoothL1Loss(reduction=r, beta=0.0), (S, S)),
            Case(f"HuberLoss-{r}", lambda T, r=r: T.nn.HuberLoss(reduction=r), (S, S)),
            Case(f"HuberLoss-delta-{r}", lambda T, r=r: T.nn.HuberLoss(reduction=r, delta=0.3), (S, S)),
            Case(f"CrossEntropyLoss-{r}", lambda T, r=r: T.nn.CrossEntropyLoss(reduction=r),
                 (S, Ints(5, (4,)))),
            Case(f"CrossEntropyLoss-weight-ignore-{r}", lambda T, r=r: T.nn.CrossEntropyLoss(
                W(T, [0.5, 1.0, 2.0, 1.5, 0.7]), ignore_index=-100, reduction=r), ((7, 5), Targets(5, (7,)))),
            Case(f"CrossEntropyLoss-ignore1-{r}", lambda T, r=r: T.nn.CrossEntropyLoss(
                ignore_index=1, reduction=r), ((8, 3), Ints(3, (8,)))),
            Case(f"CrossEntropyLoss-smoothing-{r}", lambda T, r=r: T.nn.CrossEntropyLoss(
                label_smoothing=0.2, reduction=r), (S, Ints(5, (4,)))),
            Case(f"CrossEntropyLoss-all-options-{r}", lambda T, r=r: T.nn.CrossEntropyLoss(
                W(T, [0.5, 1.0, 2.0, 1.5, 0.7]), ignore_index=-100, reduction=r, label_smoothing=0.1),
                ((7, 5), Targets(5, (7,)))),
            Case(f"CrossEntropyLoss-4d-{r}", lambda T, r=r: T.nn.CrossEntropyLoss(
                W(T, [1.0, 2.0, 0.5]), reduction=r, label_smoothing=0.05),
                ((2, 3, 2, 3), Ints(3, (2, 2, 3)))),
            Case(f"CrossEntropyLoss-probs-{r}", lambda T, r=r: T.nn.CrossEntropyLoss(reduction=r),
                 (S, Probs(S))),
            Case(f"CrossEntropyLoss-probs-weight-smoothing-{r}", lambda T, r=r: T.nn.CrossEntropyLoss(
                W(T, [0.5, 1.0, 2.0, 1.5, 0.7]), reduction=r, label_smoothing=0.3), (S, Probs(S))),
            Case(f"NLLLoss-{r}", lambda T, r=r: T.nn.NLLLoss(reduction=r), (Probs(S, True), Ints(5, (4,)))),
            Case(f"NLLLoss-weight-ignore-{r}", lambda T, r=r: T.nn.NLLLoss(
                W(T, [0.5, 1.0, 2.0, 1.5, 0.7]), ignore_index=-100, reduction=r),
                (Probs((7, 5), True), Targets(5, (7,)))),
            Case(f"NLLLoss-3d-{r}", lambda T, r=r: T.nn.NLLLoss(reduction=r), (Probs((2, 3, 4), True),
                                                                                Ints(3, (2, 4)))),
            Case(f"BCELoss-{r}", lambda T, r=r: T.nn.BCELoss(reduction=r), (U(0.05, 0.95, S), U(0, 1, S))),
            Case(f"BCELoss-weight-{r}", lambda T, r=r: T.nn.BCELoss(
                W(T, [0.5, 1.0, 2.0, 1.5, 0.7]), reduction=r), (U(0.05, 0.95, S), U(0, 1, S))),
            Case(f"BCEWithLogitsLoss-{r}", lambda T, r=r: T.nn.BCEWithLogitsLoss(reduction=r),
                 (U(-4, 4, S), U(0, 1, S))),
            Case(f"BCEWithLogitsLoss-pos_weight-weight-{r}", lambda T, r=r: T.nn.BCEWithLogitsLoss(
                W(T, [0.5, 1.0, 2.0, 1.5, 0.7]), reduction=r, pos_weight=W(T, [1.0, 3.0, 0.5, 2.0, 1.0])),
                (U(-4, 4, S), U(0, 1, S))),
            Case(f"KLDivLoss-{r}", lambda T, r=r: T.nn.KLDivLoss(reduction=r), (Probs(S, True), Probs(S))),
            Case(f"KLDivLoss-log_target-{r}", lambda T, r=r: T.nn.KLDivLoss(reduction=r, log_target=True),
                 (Probs(S, True), Probs(S, True))),
        ]
    out += [
        Case("KLDivLoss-batchmean", lambda T: T.nn.KLDivLoss(reduction="batchmean"),
             (Probs(S, True), Probs(S))),
        Case("KLDivLoss-batchmean-log_target",
             lambda T: T.nn.KLDivLoss(reduction="batchmean", log_target=True),
             (Probs(S, True), Probs(S, True))),
        Case("CrossEntropyLoss-unbatched", lambda T: T.nn.CrossEntropyLoss(), ((5,), Ints(5, ()))),
        Case("MSELoss-legacy-size_average", lambda T: T.nn.MSELoss(size_average=False), (S, S)),
        Case("L1Loss-legacy-reduce", lambda T: T.nn.L1Loss(reduce=False), (S, S)),
    ]
    return out


CASES = cases()


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_loss_matches_torch(case: Case) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # KLDiv 'mean' and the legacy flags warn in both libraries
        compare(case, "float64")


@pytest.mark.parametrize("weighted", ["mse_loss", "l1_loss", "huber_loss"])
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_functional_regression_losses_with_weight(weighted: str, reduction: str) -> None:
    need_torch()
    rng = np.random.default_rng(5)
    x, t, w = rng.standard_normal((3, 4)), rng.standard_normal((3, 4)), rng.uniform(0.5, 2, (3, 4))
    ours = getattr(cr.nn.functional, weighted)(cr.tensor(x), cr.tensor(t), reduction=reduction,
                                                weight=cr.tensor(w))
    ref = getattr(torch.nn.functional, weighted)(torch.from_numpy(x), torch.from_numpy(t),
                                                 reduction=reduction, weight=torch.from_numpy(w))
    np.testing.assert_allclose(np_of(ours), np_of(ref), rtol=1e-12)


GRADCHECK = [
    ("mse_loss", lambda F, x, t: F.mse_loss(x, t), (3, 4), (3, 4)),
    ("l1_loss", lambda F, x, t: F.l1_loss(x, t, reduction="sum"), (3, 4), (3, 4)),
    ("smooth_l1_loss", lambda F, x, t: F.smooth_l1_loss(x, t, beta=0.5, reduction="none"), (3, 4), (3, 4)),
    ("huber_loss", lambda F, x, t: F.huber_loss(x, t, delta=0.5), (3, 4), (3, 4)),
    ("binary_cross_entropy", lambda F, x, t: F.binary_cross_entropy(cr.sigmoid(x), cr.sigmoid(t)),
     (3, 4), (3, 4)),
    ("bce_with_logits", lambda F, x, t: F.binary_cross_entropy_with_logits(
        x, cr.sigmoid(t), pos_weight=cr.tensor([1.0, 2.0, 0.5, 3.0], dtype=cr.float64)), (3, 4), (3, 4)),
    ("kl_div", lambda F, x, t: F.kl_div(cr.log_softmax(x, 1), cr.softmax(t, 1), reduction="batchmean"),
     (3, 4), (3, 4)),
    ("kl_div-log_target", lambda F, x, t: F.kl_div(cr.log_softmax(x, 1), cr.log_softmax(t, 1),
                                                   reduction="sum", log_target=True), (3, 4), (3, 4)),
    ("cross_entropy-probs", lambda F, x, t: F.cross_entropy(x, cr.softmax(t, 1), label_smoothing=0.1),
     (3, 4), (3, 4)),
    ("batch_norm", lambda F, x, w: F.batch_norm(x, None, None, w[0], w[1], training=True), (4, 2, 3), (2, 2)),
    ("batch_norm-eval", lambda F, x, w: F.batch_norm(x, cr.tensor([0.1, -0.2], dtype=cr.float64),
                                                     cr.tensor([0.5, 2.0], dtype=cr.float64),
                                                     w[0], w[1]), (4, 2, 3), (2, 2)),
    ("layer_norm", lambda F, x, w: F.layer_norm(x, (3,), w[0, :3], w[1, :3]), (4, 2, 3), (2, 3)),
    ("group_norm", lambda F, x, w: F.group_norm(x, 2, w[0], w[1]), (2, 4, 3), (2, 4)),
    ("normalize", lambda F, x, t: F.normalize(x, dim=1) * t, (3, 4), (3, 4)),
    ("cosine_similarity", lambda F, x, t: F.cosine_similarity(x, t), (3, 4), (3, 4)),
]


@pytest.mark.parametrize("name,fn,xs,ts", GRADCHECK, ids=[g[0] for g in GRADCHECK])
def test_gradcheck_float64(name: str, fn, xs: tuple, ts: tuple) -> None:
    """Analytical vs finite-difference Jacobians, with respect to both arguments."""
    rng = np.random.default_rng(11)
    x = cr.tensor(rng.standard_normal(xs), requires_grad=True)
    t = cr.tensor(rng.uniform(0.5, 1.5, ts) * rng.choice([-1, 1], ts), requires_grad=True)
    assert gradcheck(lambda a, b: fn(cr.nn.functional, a, b), (x, t), eps=1e-6, atol=1e-6)


def test_bce_with_logits_is_stable_for_huge_logits() -> None:
    need_torch()
    x = np.array([[-1000.0, -50.0, 0.0, 50.0, 1000.0]], dtype=np.float32)
    t = np.array([[1.0, 0.0, 0.5, 1.0, 0.0]], dtype=np.float32)
    for pw in (None, np.array([2.0, 1.0, 3.0, 0.5, 1.0], dtype=np.float32)):
        ours_x = cr.tensor(x, requires_grad=True)
        ours = cr.nn.functional.binary_cross_entropy_with_logits(
            ours_x, cr.tensor(t), reduction="none", pos_weight=None if pw is None else cr.tensor(pw))
        ref_x = torch.from_numpy(x).requires_grad_()
        ref = torch.nn.functional.binary_cross_entropy_with_logits(
            ref_x, torch.from_numpy(t), reduction="none",
            pos_weight=None if pw is None else torch.from_numpy(pw))
        assert np.isfinite(np_of(ours)).all()
        np.testing.assert_allclose(np_of(ours), np_of(ref), rtol=1e-6)
        ours.sum().backward()
        ref.sum().backward()
        np.testing.assert_allclose(np_of(ours_x.grad), np_of(ref_x.grad), rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_bce_at_exact_zero_and_one_matches_torch(dtype: str) -> None:
    """Loss (log clamped at -100) and gradient (PyTorch divides by max(p (1 - p), 1e-12), so a
    confident wrong prediction has a gradient of -1e12) at p = 0 and 1, as PyTorch gives them."""
    need_torch()
    res = []
    for T in (cr, torch):
        p = T.tensor([0.0, 1.0, 0.0, 1.0, 0.5, 1e-13], dtype=getattr(T, dtype), requires_grad=True)
        t = T.tensor([0.0, 1.0, 1.0, 0.0, 1.0, 0.3], dtype=getattr(T, dtype), requires_grad=True)
        loss = T.nn.functional.binary_cross_entropy(p, t, reduction="none")
        loss.backward(T.tensor([1.0, 2.0, 3.0, 4.0, 5.0, 6.0], dtype=getattr(T, dtype)))
        res.append((np_of(loss), np_of(p.grad), np_of(t.grad)))
    np.testing.assert_allclose(res[0][0][:5], [0.0, 0.0, 100.0, 100.0, np.log(2)], rtol=1e-6)
    for a, r in zip(res[0][:2], res[1][:2]):
        np.testing.assert_allclose(a, r, rtol=1e-6)
    # the target's gradient log(1 - p) - log(p): PyTorch's is +-inf at exactly 0 and 1, ours the
    # clamped logs' +-100 (a known difference); elsewhere equal
    ours_t, ref_t = res[0][2], res[1][2]
    finite = np.isfinite(ref_t)
    assert finite.tolist() == [False, False, False, False, True, True]
    np.testing.assert_allclose(ours_t[finite], ref_t[finite], rtol=1e-6)
    np.testing.assert_allclose(ours_t[~finite], np.sign(ref_t[~finite]) * 100 * [1, 2, 3, 4], rtol=1e-6)
    with pytest.raises(RuntimeError, match="between 0 and 1"):
        cr.nn.functional.binary_cross_entropy(cr.tensor([1.5]), cr.tensor([1.0]))


def test_loss_errors_and_warnings() -> None:
    with pytest.raises(ValueError, match="'avg' is not a valid value for reduction"):
        cr.nn.MSELoss(reduction="avg")
    with pytest.raises(ValueError, match="'batchmean' is not a valid value"):
        cr.nn.functional.l1_loss(cr.zeros(2), cr.zeros(2), reduction="batchmean")
    with pytest.warns(UserWarning, match="target size"):
        cr.nn.functional.mse_loss(cr.zeros(3, 1), cr.zeros(3))
    with pytest.warns(UserWarning, match="batchmean"):
        cr.nn.functional.kl_div(cr.zeros(2, 2), cr.ones(2, 2) / 2)
    with pytest.raises(ValueError, match="must be the same as input size"):
        cr.nn.BCEWithLogitsLoss()(cr.zeros(3, 1), cr.zeros(3))
    with pytest.raises(IndexError, match="out of bounds"):
        cr.nn.CrossEntropyLoss()(cr.zeros(2, 3), cr.tensor([0, 3]))


def test_loss_weights_are_buffers() -> None:
    loss = cr.nn.CrossEntropyLoss(weight=cr.tensor([1.0, 2.0]))
    assert list(loss.state_dict()) == ["weight"]
    assert loss.double().weight.dtype == cr.float64
    assert list(cr.nn.BCEWithLogitsLoss(pos_weight=cr.ones(2)).state_dict()) == ["pos_weight"]
