"""Every op, once: how to call it (for chainrule and for PyTorch) and on which inputs.

A case's ``fn(T, *args)`` is written once against a module ``T`` that is
either ``chainrule`` or ``torch``, so the same line is the test and the
reference.  ``F(T)`` is the functional namespace (``torch.nn.functional``).
Input specs make float64 tensors that require grad (``A``), positive ones
(``P``), ones kept away from kinks (``A(..., away=)``), distinct values for
max/min (``D``), integer indices (``I``) and masks (``M``).
``test_ops.py`` turns each case into forward, gradcheck, gradgradcheck and
PyTorch-comparison tests, and checks that every registered primitive is
exercised by some case.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np


@dataclass
class A:
    """A float64 tensor that requires grad, uniform in [low, high] (|x| >= away)."""

    shape: tuple
    low: float = -1.0
    high: float = 1.0
    away: float = 0.0
    grad: bool = True

    def make(self, rng: np.random.Generator) -> np.ndarray:
        x = rng.uniform(self.low, self.high, self.shape)
        if self.away:
            x = np.where(np.abs(x) < self.away, np.sign(x + 1e-12) * (self.away + np.abs(x)), x)
        return x


def P(*shape: int) -> A:
    return A(shape, 0.5, 2.0)


def W(*shape: int) -> A:
    """Positive class weights (constants: PyTorch does not differentiate through them)."""
    return A(shape, 0.5, 2.0, grad=False)


def K(*shape: int) -> A:
    """Away from the kink at 0 (abs, relu, sign-like ops)."""
    return A(shape, -1.0, 1.0, away=0.1)


@dataclass
class D(A):
    """Distinct values (no ties), for max/min/sort-like ops."""

    def make(self, rng: np.random.Generator) -> np.ndarray:
        n = int(np.prod(self.shape))
        return (rng.permutation(n) / max(n, 1) - 0.5).reshape(self.shape) + rng.uniform(0, 1e-3, self.shape)


@dataclass
class Z(A):
    """Like ``A``, with exact zeros at the flat indices ``zeros`` (those the shape has)."""

    zeros: tuple = ()

    def make(self, rng: np.random.Generator) -> np.ndarray:
        x = np.array(super().make(rng), dtype=np.float64)
        x.reshape(-1)[[i for i in self.zeros if i < x.size]] = 0.0
        return x


@dataclass
class I:  # noqa: E742
    """An int64 index tensor with values in [0, high)."""

    high: int
    shape: tuple
    values: Any = None

    def make(self, rng: np.random.Generator) -> np.ndarray:
        if self.values is not None:
            return np.asarray(self.values, dtype=np.int64)
        return rng.integers(0, self.high, self.shape).astype(np.int64)


@dataclass
class M:
    """A bool mask."""

    shape: tuple

    def make(self, rng: np.random.Generator) -> np.ndarray:
        m = rng.random(self.shape) < 0.5
        m.reshape(-1)[0] = True
        return m


@dataclass
class Case:
    op: str
    fn: Callable
    args: tuple
    ref: Callable | None = None  # the PyTorch call when it differs from fn
    grad: bool = True  # differentiable (gradcheck, grad vs torch)
    gradgrad: bool = True
    torch: bool = True  # compare with PyTorch
    atol: float = 1e-5
    rtol: float = 1e-3
    eps: float = 1e-6
    id: str = field(default="")


def F(T: Any) -> Any:
    """The functional namespace: ``torch.nn.functional`` or chainrule's."""
    if T.__name__ == "torch":
        return T.nn.functional
    import chainrule.nn.functional as cf

    return cf


def C(op: str, fn: Callable, *args: Any, **kw: Any) -> Case:
    return Case(op, fn, args, **kw)


_S = (3, 4)
CASES: list[Case] = [
    # ---------------------------------------------------------------- arithmetic
    C("add", lambda T, x, y: x + y, A(_S), A(_S)),
    C("add", lambda T, x, y: x + y, A((2, 1, 3)), A((4, 1))),
    C("add", lambda T, x, y: T.add(x, y, alpha=2.5), A((3,)), A((2, 3))),
    C("add", lambda T, x: 1.5 + x, A(())),
    C("sub", lambda T, x, y: x - y, A((3, 1)), A((1, 4))),
    C("sub", lambda T, x: 2 - x, A(_S)),
    C("mul", lambda T, x, y: x * y, A((2, 3)), A((3,))),
    C("mul", lambda T, x: x * 3, A(())),
    C("div", lambda T, x, y: x / y, A(_S), P(4)),
    C("div", lambda T, y: 2.0 / y, P(3)),
    C("neg", lambda T, x: -x, A(_S)),
    C("pow", lambda T, x: x**3, A(_S)),
    C("pow", lambda T, x: x**2.5, P(3)),
    C("pow", lambda T, x, y: x**y, P(2, 3), A((3,))),
    C("pow", lambda T, y: 2.0**y, A((4,))),
    C("pow", lambda T, x: x**0, A((3,))),
    C("remainder", lambda T, x: T.remainder(x, 0.7), A((5,), 0.1, 0.6)),
    C("square", lambda T, x: T.square(x), A(_S)),
    # ---------------------------------------------------------------- unary math
    C("exp", lambda T, x: T.exp(x), A(_S)),
    C("expm1", lambda T, x: T.expm1(x), A(_S)),
    C("exp2", lambda T, x: T.exp2(x), A((4,))),
    C("log", lambda T, x: T.log(x), P(3, 4)),
    C("log1p", lambda T, x: T.log1p(x), P(3, 4)),
    C("log2", lambda T, x: T.log2(x), P(4)),
    C("log10", lambda T, x: T.log10(x), P(4)),
    C("sqrt", lambda T, x: T.sqrt(x), P(3, 4)),
    C("rsqrt", lambda T, x: T.rsqrt(x), P(3, 4)),
    C("reciprocal", lambda T, x: T.reciprocal(x), P(3, 4)),
    C("sin", lambda T, x: T.sin(x), A(_S)),
    C("cos", lambda T, x: T.cos(x), A(_S)),
    C("tan", lambda T, x: T.tan(x), A(_S)),
    C("sinh", lambda T, x: T.sinh(x), A(_S)),
    C("cosh", lambda T, x: T.cosh(x), A(_S)),
    C("tanh", lambda T, x: T.tanh(x), A(_S, -2, 2)),
    C("asin", lambda T, x: T.asin(x), A(_S, -0.9, 0.9)),
    C("acos", lambda T, x: T.acos(x), A(_S, -0.9, 0.9)),
    C("atan", lambda T, x: T.atan(x), A(_S, -2, 2)),
    C("erf", lambda T, x: T.erf(x), A(_S, -2, 2)),
    C("abs", lambda T, x: T.abs(x), K(3, 4)),
    C("sign", lambda T, x: T.sign(x), K(3, 4)),
    C("floor", lambda T, x: T.floor(x), A((5,), -2, 2, away=0.05)),
    C("ceil", lambda T, x: T.ceil(x), A((5,), -2, 2, away=0.05)),
    C("round", lambda T, x: T.round(x), A((5,), 0.05, 0.45)),
    C("trunc", lambda T, x: T.trunc(x), A((5,), -2, 2, away=0.05)),
    C("frac", lambda T, x: T.frac(x), A((5,), 0.05, 0.95)),
    C("sigmoid", lambda T, x: T.sigmoid(x), A(_S, -3, 3)),
    C("relu", lambda T, x: T.relu(x), K(3, 4)),
    C("leaky_relu", lambda T, x: F(T).leaky_relu(x, 0.2), K(3, 4)),
    C("gelu", lambda T, x: F(T).gelu(x), A(_S, -3, 3)),
    C("gelu", lambda T, x: F(T).gelu(x, approximate="tanh"), A(_S, -3, 3)),
    C("softplus", lambda T, x: F(T).softplus(x), A(_S, -3, 3)),
    C("softplus", lambda T, x: F(T).softplus(x, beta=2.0, threshold=2.0), A(_S, -3, 3, away=0.05)),
    C("silu", lambda T, x: F(T).silu(x), A(_S, -3, 3)),
    C("elu", lambda T, x: F(T).elu(x), K(3, 4)),
    C("logsigmoid", lambda T, x: F(T).logsigmoid(x), A(_S, -3, 3)),
    C("hardtanh", lambda T, x: F(T).hardtanh(x), A(_S, -2, 2, away=0.05)),
    C("clamp", lambda T, x: T.clamp(x, -0.5, 0.5), A((6,), -1, 1, away=0.05)),
    C("clamp", lambda T, x: T.clamp(x, min=0.2), A((6,), -1, 1, away=0.05)),
    C("clamp", lambda T, x, lo: T.clamp(x, min=lo), A((2, 3)), A((3,), -0.5, 0.5)),
    C("maximum", lambda T, x, y: T.maximum(x, y), D((3, 4)), D((4,))),
    C("minimum", lambda T, x, y: T.minimum(x, y), D((2, 3)), D((2, 3))),
    C("max", lambda T, x, y: T.max(x, y), D((2, 3)), D((3,))),
    C("where", lambda T, m, x, y: T.where(m, x, y), M((3, 4)), A((3, 4)), A((4,))),
    C("where", lambda T, m, x: T.where(m, x, 0.0), M((2, 3)), A((2, 3))),
    C("to", lambda T, x: x.to(T.float32).to(T.float64) * 1.0, A(_S), atol=1e-4, eps=1e-3,
      gradgrad=False),
    # ---------------------------------------------------------------- no gradient
    C("eq", lambda T, x, y: x == y, I(3, (4,)), I(3, (4,)), grad=False),
    C("ne", lambda T, x, y: x != y, I(3, (4,)), I(3, (4,)), grad=False),
    C("lt", lambda T, x, y: x < y, A((4,)), A((4,)), grad=False),
    C("le", lambda T, x: x <= 0.1, A((4,)), grad=False),
    C("gt", lambda T, x, y: x > y, A((2, 4)), A((4,)), grad=False),
    C("ge", lambda T, x: x >= 0, A((4,)), grad=False),
    C("logical_and", lambda T, a, b: T.logical_and(a, b), M((5,)), M((5,)), grad=False),
    C("logical_or", lambda T, a, b: T.logical_or(a, b), M((5,)), M((5,)), grad=False),
    C("logical_xor", lambda T, a, b: T.logical_xor(a, b), M((5,)), M((5,)), grad=False),
    C("logical_not", lambda T, a: T.logical_not(a), M((5,)), grad=False),
    C("bitwise_and", lambda T, a, b: a & b, M((5,)), M((5,)), grad=False),
    C("bitwise_or", lambda T, a, b: a | b, I(8, (5,)), I(8, (5,)), grad=False),
    C("bitwise_xor", lambda T, a, b: a ^ b, M((5,)), M((5,)), grad=False),
    C("bitwise_not", lambda T, a: ~a, M((5,)), grad=False),
    C("isnan", lambda T, x: T.isnan(T.log(x)), A((6,)), grad=False),
    C("isinf", lambda T, x: T.isinf(1 / T.floor(x)), A((6,)), grad=False),
    C("isfinite", lambda T, x: T.isfinite(T.log(x)), A((6,)), grad=False),
    C("floor_divide", lambda T, a, b: a // (b + 1), I(9, (5,)), I(3, (5,)), grad=False),
    C("remainder", lambda T, a: a % 3, I(9, (5,)), grad=False),
    # ---------------------------------------------------------------- reductions
    C("sum", lambda T, x: T.sum(x), A(_S)),
    C("sum", lambda T, x: x.sum(1), A(_S)),
    C("sum", lambda T, x: x.sum(dim=-1, keepdim=True), A((2, 3, 4))),
    C("sum", lambda T, x: x.sum((0, 2)), A((2, 3, 4))),
    C("sum", lambda T, x: x.sum(axis=0, keepdims=True), A(_S), ref=lambda T, x: x.sum(0, keepdim=True)),
    C("sum", lambda T, x: T.sum(x > 0), A(_S), grad=False),
    C("mean", lambda T, x: x.mean(), A(_S)),
    C("mean", lambda T, x: x.mean((-1, 0), keepdim=True), A((2, 3, 4))),
    C("prod", lambda T, x: x.prod(), P(2, 3)),
    C("prod", lambda T, x: x.prod(1), A((3, 4))),
    C("prod", lambda T, x: x.prod(-1), Z((2, 3), zeros=(1,))),  # one exact zero in row 0
    C("prod", lambda T, x: x.prod(-1), Z((3, 3), zeros=(0, 2, 4))),  # two zeros, one, none
    C("amax", lambda T, x: T.amax(x, 1), D((3, 4))),
    C("amax", lambda T, x: T.amax(T.round(x * 2), (0, 1)) + x.sum() * 0, A((3, 4)), grad=False),
    C("amin", lambda T, x: T.amin(x, -1, keepdim=True), D((3, 4))),
    C("max", lambda T, x: T.max(x), D((3, 4))),
    C("max", lambda T, x: T.max(x, 1), D((3, 4))),
    C("max", lambda T, x: x.max(dim=0, keepdim=True), D((3, 4))),
    C("min", lambda T, x: T.min(x), D((3, 4))),
    C("min", lambda T, x: T.min(x, -1), D((2, 3, 4))),
    C("argmax", lambda T, x: T.argmax(x), D((3, 4)), grad=False),
    C("argmax", lambda T, x: x.argmax(1, keepdim=True), D((3, 4)), grad=False),
    C("argmin", lambda T, x: T.argmin(x, 0), D((3, 4)), grad=False),
    C("var", lambda T, x: x.var(), A(_S)),
    C("var", lambda T, x: x.var(1, unbiased=False), A(_S)),
    C("var", lambda T, x: T.var(x, dim=(0, 1), correction=0, keepdim=True), A((2, 3, 2))),
    C("std", lambda T, x: x.std(0), A(_S)),
    C("norm", lambda T, x: x.norm(), A(_S)),
    C("norm", lambda T, x: T.norm(x, dim=1), A(_S)),
    C("norm", lambda T, x: T.norm(x, p=1, dim=-1, keepdim=True), K(3, 4)),
    C("norm", lambda T, x: T.norm(x, p=math.inf), D((3, 4))),
    C("norm", lambda T, x: T.norm(x, p=-math.inf, dim=0), D((3, 4))),
    C("norm", lambda T, x: T.norm(x, p=3), K(3, 4)),
    C("norm", lambda T, x: T.norm(x, p=0), K(3, 4), grad=False),
    C("norm", lambda T, x: T.norm(x, dim=1), A(_S, -1e-3, 1e-3)),  # near 0: x/|x| still O(1)
    C("logsumexp", lambda T, x: T.logsumexp(x, 1), A(_S, -3, 3)),
    C("logsumexp", lambda T, x: T.logsumexp(x, (0, 1), keepdim=True), A((2, 3, 2))),
    C("cumsum", lambda T, x: T.cumsum(x, 1), A(_S)),
    C("cumsum", lambda T, x: x.cumsum(-2), A((2, 3, 2))),
    C("cumprod", lambda T, x: T.cumprod(x, 1), A(_S)),
    C("all", lambda T, x: T.all(x > 0, 1), A(_S), grad=False, ref=lambda T, x: T.all(x > 0, 1)),
    C("any", lambda T, x: T.any(x > 0.5), A(_S), grad=False),
    C("count_nonzero", lambda T, x: T.count_nonzero(x > 0, 1), A(_S), grad=False),
    C("nansum", lambda T, x: T.nansum(x), A(_S)),
    # ---------------------------------------------------------------- shape
    C("reshape", lambda T, x: x.reshape(4, -1), A((2, 3, 2))),
    C("reshape", lambda T, x: T.reshape(x, (6,)), A((2, 3))),
    C("view", lambda T, x: x.view(3, 4), A((12,))),
    C("flatten", lambda T, x: x.flatten(), A((2, 3, 2))),
    C("flatten", lambda T, x: T.flatten(x, 1), A((2, 3, 2))),
    C("unflatten", lambda T, x: x.unflatten(1, (2, 3)), A((2, 6))),
    C("squeeze", lambda T, x: x.squeeze(), A((1, 3, 1))),
    C("squeeze", lambda T, x: x.squeeze(-1), A((2, 3, 1))),
    C("unsqueeze", lambda T, x: x.unsqueeze(-1), A((2, 3))),
    C("unsqueeze", lambda T, x: T.unsqueeze(x, 0), A(())),
    C("transpose", lambda T, x: x.transpose(0, -1), A((2, 3, 4))),
    C("permute", lambda T, x: x.permute(2, 0, 1), A((2, 3, 4))),
    C("t", lambda T, x: x.t(), A((2, 3))),
    C("T", lambda T, x: x.T, A((2, 3))),
    C("mT", lambda T, x: x.mT, A((2, 3, 4))),
    C("movedim", lambda T, x: T.movedim(x, 0, -1), A((2, 3, 4))),
    C("expand", lambda T, x: x.expand(2, 3, 4), A((3, 1))),
    C("expand", lambda T, x: x.expand(-1, 4), A((3, 1))),
    C("broadcast_to", lambda T, x: T.broadcast_to(x, (2, 3)), A((3,))),
    C("expand_as", lambda T, x, y: x.expand_as(y), A((1, 3)), A((2, 3))),
    C("repeat", lambda T, x: x.repeat(2, 3), A((2, 2))),
    C("repeat", lambda T, x: x.repeat(2, 1, 2), A((3,))),
    C("tile", lambda T, x: T.tile(x, (2,)), A((2, 2))),
    C("repeat_interleave", lambda T, x: x.repeat_interleave(2, 1), A((2, 3))),
    C("cat", lambda T, x, y: T.cat([x, y]), A((2, 3)), A((1, 3))),
    C("cat", lambda T, x, y, z: T.cat((x, y, z), dim=-1), A((2, 1)), A((2, 3)), A((2, 2))),
    C("stack", lambda T, x, y: T.stack([x, y], 1), A((2, 3)), A((2, 3))),
    C("hstack", lambda T, x, y: T.hstack([x, y]), A((2, 3)), A((2, 1))),
    C("vstack", lambda T, x, y: T.vstack([x, y]), A((3,)), A((2, 3))),
    C("split", lambda T, x: T.split(x, 2, 1), A((2, 5))),
    C("split", lambda T, x: x.split([1, 3], dim=0), A((4, 2))),
    C("chunk", lambda T, x: x.chunk(3, -1), A((2, 7))),
    C("unbind", lambda T, x: x.unbind(1), A((2, 3))),
    C("narrow", lambda T, x: x.narrow(1, 1, 2), A((2, 4))),
    C("flip", lambda T, x: x.flip(0, 2) if T.__name__ == "torch" else x.flip((0, 2)), A((2, 3, 2))),
    C("flip", lambda T, x: T.flip(x, [-1]), A((2, 3))),
    C("roll", lambda T, x: T.roll(x, 1, 1), A((2, 4))),
    C("pad", lambda T, x: F(T).pad(x, (1, 2)), A((2, 3))),
    C("pad", lambda T, x: F(T).pad(x, (1, 0, 0, 2), value=0.5), A((1, 2, 3))),
    C("pad", lambda T, x: F(T).pad(x, (-1, 1)), A((2, 4))),
    C("clone", lambda T, x: x.clone(), A(_S)),
    C("contiguous", lambda T, x: x.t().contiguous(), A(_S)),
    C("meshgrid", lambda T, x, y: T.meshgrid(x, y, indexing="ij"), A((3,)), A((2,))),
    C("meshgrid", lambda T, x, y: T.meshgrid(x, y, indexing="xy"), A((3,)), A((2,))),
    C("broadcast_tensors", lambda T, x, y: T.broadcast_tensors(x, y), A((3, 1)), A((4,))),
    C("squeeze", lambda T, x: x.squeeze((0, 2)), A((1, 3, 1, 2))),
    C("diagonal", lambda T, x: x.diagonal(), A((3, 4))),
    C("diagonal", lambda T, x: T.diagonal(x, -1, 2, 0), A((3, 2, 4))),
    C("unfold", lambda T, x: x.unfold(1, 3, 2), A((2, 7))),
    C("as_strided", lambda T, x: x.as_strided((3, 2), (2, 3), 1), A((3, 4))),
    C("view_writes", lambda T, x, w: _write_views(x, w), A((3, 4)), A((4,))),
    C("lstm_cell", lambda T, x, h, c, wi, wh, bi, bh: T.lstm_cell(x, (h, c), wi, wh, bi, bh),
      A((3, 4)), A((3, 2)), A((3, 2)), A((8, 4)), A((8, 2)), A((8,)), A((8,))),
    C("lstm_cell", lambda T, x, h, c, wi, wh: T.lstm_cell(x, (h, c), wi, wh),
      A((1, 4)), A((1, 2)), A((1, 2)), A((8, 4)), A((8, 2))),
    # ---------------------------------------------------------------- indexing
    C("getitem", lambda T, x: x[1], A(_S)),
    C("getitem", lambda T, x: x[..., None], A(_S)),
    C("getitem", lambda T, x: x[...], A(_S)),
    C("getitem", lambda T, x: x[-1, 1:3], A(_S)),
    C("getitem", lambda T, x: x[None, ..., ::2], A((2, 3, 4))),
    C("getitem", lambda T, x: x[1, 2], A(_S)),
    C("getitem", lambda T, x: x[[0, 2, 0, 0]], A(_S)),
    C("getitem", lambda T, x: x[T.tensor([[1, 1], [0, 2]])], A((3, 2))),
    C("getitem", lambda T, x: x[range(3), [0, 3, 0]], A(_S)),
    C("getitem", lambda T, x: x[:, [1, 1, 3]], A(_S)),
    C("getitem", lambda T, x: x[x > 0], A(_S)),
    C("getitem", lambda T, x, m: x[m], A((3, 4, 2)), M((3, 4))),
    C("index_put", lambda T, x, v: x.clone().index_put((T.tensor([0, 2]),), v)
      if T.__name__ == "torch" else T.index_put(x, ([0, 2],), v), A(_S), A((4,))),
    C("setitem", lambda T, x, v: _setitem(x * 1, (slice(None), 1), v), A(_S), A((3,))),
    C("setitem", lambda T, x: _setitem(x * 1, (0, 0), 5.0), A(_S)),
    C("gather", lambda T, x, i: T.gather(x, 1, i), A(_S), I(4, (3, 5))),
    C("gather", lambda T, x, i: x.gather(0, i), A(_S), I(3, (2, 2))),
    C("scatter_add", lambda T, x, v, i: x.scatter_add(1, i, v), A(_S), A((3, 3)), I(4, (3, 3))),
    C("scatter", lambda T, x, v: x.scatter(1, T.tensor([[2], [0], [1]]), v), A(_S), A((3, 1))),
    C("index_select", lambda T, x: x.index_select(1, T.tensor([3, 0, 3])), A(_S)),
    C("index_add", lambda T, x, v: x.index_add(0, T.tensor([0, 2, 0]), v), A(_S), A((3, 4))),
    C("masked_fill", lambda T, x, m: x.masked_fill(m, -1.0), A(_S), M((4,))),
    C("masked_select", lambda T, x, m: T.masked_select(x, m), A(_S), M((3, 4))),
    C("take", lambda T, x: T.take(x, T.tensor([0, 5, 5])), A(_S)),
    C("take_along_dim", lambda T, x, i: T.take_along_dim(x, i, 1), A(_S), I(4, (3, 2))),
    C("select", lambda T, x: x.select(1, -1), A(_S)),
    C("nonzero", lambda T, x: T.nonzero(x > 0), A(_S), grad=False),
    C("tril", lambda T, x: T.tril(x), A((3, 3))),
    C("triu", lambda T, x: T.triu(x, 1), A((3, 4))),
    C("diag", lambda T, x: T.diag(x), A((3, 3))),
    C("diag", lambda T, x: T.diag(x, 1), A((3,))),
    C("trace", lambda T, x: T.trace(x), A((3, 3))),
    # ---------------------------------------------------------------- linear algebra
    C("matmul", lambda T, x, y: x @ y, A((3,)), A((3,))),
    C("matmul", lambda T, x, y: x @ y, A((2, 3)), A((3,))),
    C("matmul", lambda T, x, y: x @ y, A((3,)), A((3, 2))),
    C("matmul", lambda T, x, y: x @ y, A((2, 3)), A((3, 4))),
    C("matmul", lambda T, x, y: x @ y, A((2, 2, 3)), A((3, 2))),
    C("matmul", lambda T, x, y: T.matmul(x, y), A((2, 1, 2, 3)), A((3, 3, 2))),
    C("matmul", lambda T, x, y: x @ y, A((3,)), A((2, 3, 2))),
    C("matmul", lambda T, x, y: x @ y, A((2, 2, 3)), A((3,))),
    C("mm", lambda T, x, y: T.mm(x, y), A((2, 3)), A((3, 2))),
    C("mv", lambda T, x, y: T.mv(x, y), A((2, 3)), A((3,))),
    C("dot", lambda T, x, y: T.dot(x, y), A((4,)), A((4,))),
    C("bmm", lambda T, x, y: T.bmm(x, y), A((2, 2, 3)), A((2, 3, 2))),
    C("outer", lambda T, x, y: T.outer(x, y), A((3,)), A((2,))),
    C("addmm", lambda T, b, x, y: T.addmm(b, x, y, beta=0.5, alpha=2.0), A((2,)), A((2, 3)), A((3, 2))),
    C("tensordot", lambda T, x, y: T.tensordot(x, y, dims=([1, 2], [0, 1])), A((2, 3, 2)), A((3, 2, 2))),
    C("einsum", lambda T, x, y: T.einsum("ij,jk->ik", x, y), A((2, 3)), A((3, 2))),
    C("einsum", lambda T, x, y: T.einsum("bij,bjk->bik", x, y), A((2, 2, 3)), A((2, 3, 2))),
    C("einsum", lambda T, x: T.einsum("ii->i", x), A((3, 3))),
    C("einsum", lambda T, x: T.einsum("ij->", x), A((2, 3))),
    C("einsum", lambda T, x, y: T.einsum("i,i", x, y), A((3,)), A((3,))),
    C("einsum", lambda T, x, y: T.einsum("...ij,...jk->...ik", x, y), A((2, 2, 3)), A((3, 2))),
    C("einsum", lambda T, x, y, z: T.einsum("ij,jk,kl->il", x, y, z), A((2, 3)), A((3, 2)), A((2, 2))),
    C("einsum", lambda T, x: T.einsum("ijk->kj", x), A((2, 3, 2))),
    # ---------------------------------------------------------------- nn primitives
    C("softmax", lambda T, x: T.softmax(x, 1), A(_S, -3, 3)),
    C("softmax", lambda T, x: F(T).softmax(x, dim=0), A((3, 2, 2), -3, 3)),
    C("log_softmax", lambda T, x: T.log_softmax(x, -1), A(_S, -3, 3)),
    C("log_softmax", lambda T, x: F(T).log_softmax(x, dim=1), A((2, 3, 2), -3, 3)),
    C("cross_entropy", lambda T, x, t: F(T).cross_entropy(x, t), A((4, 5), -2, 2), I(5, (4,))),
    C("cross_entropy", lambda T, x, t: F(T).cross_entropy(x, t, reduction="sum"), A((3, 4)), I(4, (3,))),
    C("cross_entropy", lambda T, x, t: F(T).cross_entropy(x, t, reduction="none"), A((3, 4)), I(4, (3,))),
    C("cross_entropy", lambda T, x, t: F(T).cross_entropy(x, t, ignore_index=1), A((5, 3)),
      I(3, (5,), values=[1, 0, 2, 1, 2])),
    C("cross_entropy", lambda T, x, t: F(T).cross_entropy(x, t), A((2, 3, 2, 2)), I(3, (2, 2, 2))),
    C("cross_entropy", lambda T, x, t, w: F(T).cross_entropy(x, t, weight=w), A((4, 3)), I(3, (4,)),
      W(3)),
    C("cross_entropy", lambda T, x, t: F(T).cross_entropy(x, t, label_smoothing=0.2), A((4, 3)),
      I(3, (4,))),
    C("cross_entropy", lambda T, x, p: F(T).cross_entropy(x, T.softmax(p, 1)), A((3, 4)), A((3, 4))),
    C("cross_entropy", lambda T, x, t: F(T).cross_entropy(x, t), A((5,)), I(5, (), values=3)),
    C("nll_loss", lambda T, x, t: F(T).nll_loss(T.log_softmax(x, 1), t), A((4, 3)), I(3, (4,))),
    C("nll_loss", lambda T, x, t, w: F(T).nll_loss(x, t, weight=w, reduction="none"), A((4, 3)),
      I(3, (4,)), W(3)),
    C("conv2d", lambda T, x, w: F(T).conv2d(x, w), A((2, 2, 5, 5)), A((3, 2, 3, 3))),
    C("conv2d", lambda T, x, w, b: F(T).conv2d(x, w, b, stride=2, padding=1), A((1, 2, 5, 6)),
      A((2, 2, 3, 2)), A((2,))),
    C("conv2d", lambda T, x, w: F(T).conv2d(x, w, dilation=2, padding=(2, 1)), A((1, 1, 5, 5)),
      A((2, 1, 3, 3))),
    C("conv2d", lambda T, x, w: F(T).conv2d(x, w, groups=2, stride=(1, 2)), A((1, 4, 4, 5)),
      A((4, 2, 2, 2))),
    C("conv2d", lambda T, x, w: F(T).conv2d(x, w, padding="same"), A((1, 1, 4, 4)), A((1, 1, 3, 3))),
    C("conv_transpose2d", lambda T, x, w: F(T).conv_transpose2d(x, w, stride=2, padding=1,
      output_padding=1), A((1, 2, 3, 3)), A((2, 3, 3, 3))),
    C("conv_transpose2d", lambda T, x, w, b: F(T).conv_transpose2d(x, w, b, groups=2, dilation=2),
      A((1, 4, 3, 3)), A((4, 1, 2, 2)), A((2,))),
    C("conv1d", lambda T, x, w: F(T).conv1d(x, w, padding=1, stride=2), A((2, 2, 7)), A((3, 2, 3))),
    C("max_pool2d", lambda T, x: F(T).max_pool2d(x, 2), D((2, 2, 4, 4))),
    C("max_pool2d", lambda T, x: F(T).max_pool2d(x, 3, stride=1, padding=1), D((1, 2, 4, 5))),
    C("max_pool2d", lambda T, x: F(T).max_pool2d(x, (2, 3), stride=2, dilation=(1, 2)), D((1, 1, 5, 7))),
    C("max_pool2d", lambda T, x: F(T).max_pool2d(x, 2, ceil_mode=True), D((1, 1, 5, 5))),
    C("avg_pool2d", lambda T, x: F(T).avg_pool2d(x, 2), A((2, 2, 4, 4))),
    C("avg_pool2d", lambda T, x: F(T).avg_pool2d(x, 3, stride=2, padding=1), A((1, 2, 5, 5))),
    C("avg_pool2d", lambda T, x: F(T).avg_pool2d(x, 3, stride=2, padding=1, count_include_pad=False),
      A((1, 1, 5, 6))),
    C("avg_pool2d", lambda T, x: F(T).avg_pool2d(x, 2, ceil_mode=True), A((1, 1, 5, 5))),
    C("avg_pool2d", lambda T, x: F(T).avg_pool2d(x, 2, divisor_override=3), A((1, 1, 4, 4))),
    C("dropout", lambda T, x: F(T).dropout(x, 0.3, training=False), A(_S)),
    C("dropout", lambda T, x: (T.manual_seed(3), F(T).dropout(x, 0.4))[1], A((4, 5)), torch=False),
    C("linear", lambda T, x, w, b: F(T).linear(x, w, b), A((4, 3)), A((2, 3)), A((2,))),
    C("linear", lambda T, x, w, b: F(T).linear(x, w, b), A((2, 3, 3)), A((4, 3)), A((4,))),
    C("linear", lambda T, x, w, b: F(T).linear(x, w, b), A((3,)), A((2, 3)), A((2,))),
    C("linear", lambda T, x, w: F(T).linear(x, w), A((4, 3)), A((2, 3))),
    C("linear", lambda T, x, w: F(T).linear(x, w), A((2, 1, 3)), A((2, 3))),
]

# Exact zeros, appended so that the cases above keep their seeds (a case's index is its seed)
CASES += [
    C("cumprod", lambda T, x: T.cumprod(x, 1), Z(_S, zeros=(5,))),
    C("cumprod", lambda T, x: x.cumprod(0), Z((3, 2), zeros=(0, 3))),
    C("prod", lambda T, x: x.prod(), Z((2, 3), zeros=(4,))),
    C("norm", lambda T, x: x.norm(), Z(_S, zeros=(0, 5))),
]


def _write_views(x: Any, w: Any) -> Any:
    """In-place writes through views (CopySlices) and a view used after its base changed."""
    y = x * 1
    stale = y.t()
    y[0].mul_(w)
    y[1:, ::2] += y[2, :2]
    return y, stale * 1


def _setitem(x: Any, idx: Any, v: Any) -> Any:
    x[idx] = v
    return x


for _i, _c in enumerate(CASES):
    _c.id = f"{_c.op}-{_i}"


from ops_table_everyday import CASES as _EVERYDAY  # noqa: E402
from ops_table_sorting import CASES as _SORTING  # noqa: E402
from ops_table_special import CASES as _SPECIAL  # noqa: E402  (special functions: their own file)

CASES += _SPECIAL + _SORTING + _EVERYDAY
for _i, _c in enumerate(CASES):
    _c.id = f"{_c.op}-{_i}"

from ops_table_linalg import LINALG_CASES as _LINALG  # noqa: E402  (linear algebra: its own file)

CASES += _LINALG
for _i, _c in enumerate(CASES):
    _c.id = f"{_c.op}-{_i}"

# CTC loss (appended last so that the cases above keep their seeds).  Through log_softmax, as CTC
# is used: PyTorch's gradient wrt log_probs itself is the logits' one (see chainrule/ops/ctc.py).
_CTC_T = I(4, (3, 3), values=[[1, 2, 2], [3, 1, 2], [2, 3, 1]])
CASES += [
    C("ctc_loss", lambda T, x, t: F(T).ctc_loss(x.log_softmax(2), t, [6, 5, 4], [3, 2, 1]),
      A((6, 3, 4), -2, 2), _CTC_T),
    C("ctc_loss", lambda T, x, t, il, tl: F(T).ctc_loss(x.log_softmax(2), t, il, tl, reduction="none",
                                                        zero_infinity=True),
      A((5, 3, 4), -2, 2), _CTC_T, I(6, (3,), values=[5, 2, 0]), I(4, (3,), values=[3, 3, 0])),
    C("ctc_loss", lambda T, x, t: F(T).ctc_loss(x.log_softmax(1), t, (7,), (3,), blank=3, reduction="sum"),
      A((7, 4), -2, 2), I(3, (3,), values=[0, 2, 2])),
    C("ctc_loss", lambda T, x, t, il, tl: F(T).ctc_loss(x.log_softmax(2), t, il, tl, reduction="sum"),
      A((6, 2, 3), -2, 2), I(3, (3,), values=[1, 2, 1]), I(7, (2,), values=[4, 6]),
      I(4, (2,), values=[1, 2])),
]
for _i, _c in enumerate(CASES):
    _c.id = f"{_c.op}-{_i}"


# A whole LSTM or GRU layer direction is one primitive (LstmLayer, LstmLayerProj with proj_size,
# GruLayer): reached through nn.LSTM / nn.GRU with the weights as the inputs (func.functional_call),
# the way the layers run them.  Each module is made once (its initialisation draws random numbers,
# which vmap refuses).
_RNNS: dict = {}


def _rnn(T: Any, kind: str, x: Any, *ws: Any, size: int, hidden: int, hx: Any = None, **kw: Any) -> Any:
    key = (T.__name__, kind, size, hidden, tuple(sorted(kw.items())))
    m = _RNNS.get(key) or _RNNS.setdefault(key, getattr(T.nn, kind)(size, hidden, **kw))
    params = dict(zip([n for n, _ in m.named_parameters()], ws))
    return T.func.functional_call(m, params, (x,) if hx is None else (x, hx))


CASES += [
    C("lstm_layer", lambda T, x, h, c, *w: _rnn(T, "LSTM", x, *w, size=3, hidden=2, hx=(h, c)),
      A((4, 2, 3)), A((1, 2, 2)), A((1, 2, 2)), A((8, 3)), A((8, 2)), A((8,)), A((8,))),
    C("lstm_layer", lambda T, x, *w: _rnn(T, "LSTM", x, *w, size=3, hidden=3, proj_size=2, bidirectional=True,
                                          bias=False),
      A((3, 2, 3)), A((12, 3)), A((12, 2)), A((2, 3)), A((12, 3)), A((12, 2)), A((2, 3))),
    C("gru_layer", lambda T, x, h, *w: _rnn(T, "GRU", x, *w, size=3, hidden=2, hx=h),
      A((4, 2, 3)), A((1, 2, 2)), A((6, 3)), A((6, 2)), A((6,)), A((6,))),
    C("gru_layer", lambda T, x, *w: _rnn(T, "GRU", x, *w, size=3, hidden=2, bidirectional=True, bias=False),
      A((3, 2, 3)), A((6, 3)), A((6, 2)), A((6, 3)), A((6, 2))),
]
for _i, _c in enumerate(CASES):
    _c.id = f"{_c.op}-{_i}"

from ops_table_fft import CASES as _FFT  # noqa: E402  (complex numbers and torch.fft: their own file)

CASES += _FFT
for _i, _c in enumerate(CASES):
    _c.id = f"{_c.op}-{_i}"

from ops_table_surface import CASES as _SURFACE  # noqa: E402  (the rest of PyTorch's public names)

CASES += _SURFACE
for _i, _c in enumerate(CASES):
    _c.id = f"{_c.op}-{_i}"
