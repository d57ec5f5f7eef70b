"""GaussianNLLLoss, PoissonNLLLoss, MultiMarginLoss, TripletMarginLoss and CosineEmbeddingLoss against
PyTorch 2.13: every reduction, module and functional form, values and gradients, reprs and errors."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest
from nn_helpers import Case, Ints, compare, need_torch
from reference import torch

import chainrule as cr


@dataclass
class Pos:
    """Positive floats (variances, Poisson rates)."""

    shape: tuple
    low: float = 0.2
    high: float = 3.0

    def make(self, rng: np.random.Generator) -> np.ndarray:
        return rng.uniform(self.low, self.high, self.shape)


@dataclass
class Counts:
    """Non-negative integer-valued float counts (Poisson targets), including 0, 1 and > 1."""

    shape: tuple

    def make(self, rng: np.random.Generator) -> np.ndarray:
        return rng.integers(0, 6, self.shape).astype(np.float64)


@dataclass
class Signs:
    """+1 / -1 labels as float64."""

    shape: tuple

    def make(self, rng: np.random.Generator) -> np.ndarray:
        return rng.choice([-1.0, 1.0], self.shape)


def C(id_: str, make, *inputs, **kw) -> Case:
    return Case(id_, make, inputs, **kw)


def Fn(fn):
    def make(T):
        class Wrap(T.nn.Module):
            def forward(self, *xs):
                return fn(T, *xs)

        return Wrap()

    return make


R = ("mean", "sum", "none")
CASES = []
for r in R:
    CASES += [
        C(f"GaussianNLL-{r}", lambda T, r=r: T.nn.GaussianNLLLoss(reduction=r), (4, 3), (4, 3), Pos((4, 3))),
        C(f"PoissonNLL-{r}", lambda T, r=r: T.nn.PoissonNLLLoss(reduction=r), (4, 3), Counts((4, 3))),
        C(f"MultiMargin-{r}", lambda T, r=r: T.nn.MultiMarginLoss(reduction=r), (5, 4), Ints(4, (5,))),
        C(f"TripletMargin-{r}", lambda T, r=r: T.nn.TripletMarginLoss(reduction=r), (5, 3), (5, 3), (5, 3)),
        C(
            f"CosineEmbedding-{r}",
            lambda T, r=r: T.nn.CosineEmbeddingLoss(reduction=r),
            (5, 3),
            (5, 3),
            Signs((5,)),
        ),
    ]
CASES += [
    C(
        "GaussianNLL-full",
        lambda T: T.nn.GaussianNLLLoss(full=True, eps=0.5),
        (4, 3),
        (4, 3),
        Pos((4, 3), 0.1),
    ),
    C("GaussianNLL-var-one-less", lambda T: T.nn.GaussianNLLLoss(), (4, 3), (4, 3), Pos((4,))),
    C("GaussianNLL-var-last-1", lambda T: T.nn.GaussianNLLLoss(reduction="sum"), (4, 3), (4, 3), Pos((4, 1))),
    C("GaussianNLL-unbatched", lambda T: T.nn.GaussianNLLLoss(), (3,), (3,), Pos((3,))),
    C("PoissonNLL-full", lambda T: T.nn.PoissonNLLLoss(full=True), (4, 3), Counts((4, 3))),
    C(
        "PoissonNLL-rates",
        lambda T: T.nn.PoissonNLLLoss(log_input=False, eps=1e-3),
        Pos((4, 3)),
        Counts((4, 3)),
    ),
    C(
        "PoissonNLL-rates-full",
        lambda T: T.nn.PoissonNLLLoss(log_input=False, full=True, reduction="sum"),
        Pos((6,)),
        Counts((6,)),
    ),
    C("MultiMargin-p2-margin", lambda T: T.nn.MultiMarginLoss(p=2, margin=0.7), (5, 4), Ints(4, (5,))),
    C(
        "MultiMargin-weight",
        lambda T: T.nn.MultiMarginLoss(weight=T.tensor([0.5, 1.0, 2.0, 1.5], dtype=T.float64)),
        (6, 4),
        Ints(4, (6,)),
    ),
    C("MultiMargin-unbatched", lambda T: T.nn.MultiMarginLoss(), (4,), Ints(4, (1,))),
    C(
        "TripletMargin-p1-swap",
        lambda T: T.nn.TripletMarginLoss(margin=2.0, p=1, swap=True),
        (5, 3),
        (5, 3),
        (5, 3),
    ),
    C("TripletMargin-unbatched", lambda T: T.nn.TripletMarginLoss(margin=0.5), (4,), (4,), (4,)),
    C("CosineEmbedding-margin", lambda T: T.nn.CosineEmbeddingLoss(margin=-0.3), (6, 3), (6, 3), Signs((6,))),
    C("CosineEmbedding-unbatched", lambda T: T.nn.CosineEmbeddingLoss(), (3,), (3,), Signs(())),
    C(
        "F.gaussian_nll_loss-float-var",
        Fn(lambda T, x, y: T.nn.functional.gaussian_nll_loss(x, y, 0.7)),
        (3, 2),
        (3, 2),
    ),
    C(
        "F.poisson_nll_loss",
        Fn(lambda T, x, y: T.nn.functional.poisson_nll_loss(x, y, reduction="sum")),
        (3, 2),
        Counts((3, 2)),
    ),
    C(
        "F.multi_margin_loss",
        Fn(lambda T, x, y: T.nn.functional.multi_margin_loss(x, y, p=2)),
        (3, 5),
        Ints(5, (3,)),
    ),
    C(
        "F.triplet_margin_loss",
        Fn(lambda T, a, p, n: T.nn.functional.triplet_margin_loss(a, p, n, eps=0.1)),
        (3, 2),
        (3, 2),
        (3, 2),
    ),
    C(
        "F.cosine_embedding_loss",
        Fn(lambda T, a, b, y: T.nn.functional.cosine_embedding_loss(a, b, y, 0.2)),
        (4, 3),
        (4, 3),
        Signs((4,)),
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_loss_matches_torch_float64(case: Case) -> None:
    compare(case, "float64")


REPRS = [
    lambda T: T.nn.GaussianNLLLoss(),
    lambda T: T.nn.GaussianNLLLoss(full=True, reduction="sum"),
    lambda T: T.nn.PoissonNLLLoss(),
    lambda T: T.nn.MultiMarginLoss(p=2),
    lambda T: T.nn.TripletMarginLoss(margin=0.5),
    lambda T: T.nn.CosineEmbeddingLoss(margin=0.1),
]


@pytest.mark.parametrize("i", range(len(REPRS)))
def test_repr_and_attributes_match_torch(i: int) -> None:
    need_torch()
    ours, ref = REPRS[i](cr), REPRS[i](torch)
    assert repr(ours) == repr(ref)
    for name in ("reduction", "full", "eps", "log_input", "p", "margin", "swap"):
        if hasattr(ref, name):
            assert getattr(ours, name) == getattr(ref, name), name


ERRORS = [
    (
        "gaussian-var-shape",
        lambda T: T.nn.GaussianNLLLoss()(T.zeros(4, 3), T.zeros(4, 3), T.ones(3, 4)),
        ValueError,
        "var is of incorrect size",
    ),
    (
        "gaussian-var-negative",
        lambda T: T.nn.GaussianNLLLoss()(T.zeros(2), T.zeros(2), -T.ones(2)),
        ValueError,
        "var has negative entry",
    ),
    ("multimargin-p", lambda T: T.nn.MultiMarginLoss(p=3), ValueError, "only p == 1 and p == 2 supported"),
    (
        "multimargin-target",
        lambda T: T.nn.MultiMarginLoss()(T.zeros(3, 4), T.tensor([0, 1])),
        RuntimeError,
        "Expected target size [3], but got [2]",
    ),
    (
        "triplet-margin",
        lambda T: T.nn.TripletMarginLoss(margin=0.0),
        ValueError,
        "margin to be greater than 0",
    ),
    (
        "triplet-dims",
        lambda T: T.nn.TripletMarginLoss()(T.zeros(2, 3), T.zeros(3), T.zeros(2, 3)),
        RuntimeError,
        "same number of dimensions",
    ),
    (
        "reduction",
        lambda T: T.nn.GaussianNLLLoss(reduction="avg")(T.zeros(2), T.zeros(2), T.ones(2)),
        ValueError,
        "valid",
    ),
]


@pytest.mark.parametrize("name,fn,cls,fact", ERRORS, ids=[e[0] for e in ERRORS])
def test_errors_match_torch(name: str, fn, cls, fact) -> None:
    need_torch()
    with pytest.raises(Exception) as ref:
        fn(torch)
    with pytest.raises(Exception) as ours:
        fn(cr)
    assert isinstance(ref.value, cls) and isinstance(ours.value, cls), (ref.value, ours.value)
    assert fact in str(ref.value) and fact in str(ours.value), (str(ref.value), str(ours.value))
