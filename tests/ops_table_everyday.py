"""Op-table cases for the everyday tensor functions (appended to ``ops_table.CASES``)."""

from __future__ import annotations

from ops_table import A, C, D, I, K, M, P

CASES = [
    C("asinh", lambda T, x: T.asinh(x), A((3, 4), -3, 3)),
    C("acosh", lambda T, x: T.arccosh(x), A((3, 4), 1.2, 3)),
    C("atanh", lambda T, x: x.atanh(), A((3, 4), -0.8, 0.8)),
    C("atan2", lambda T, y, x: T.atan2(y, x), A((3, 4)), K(4)),
    C("atan2", lambda T, y, x: y.arctan2(x), K(2, 3), A((2, 3))),
    C("hypot", lambda T, x, y: T.hypot(x, y), K(3, 4), K(3, 1)),
    C("logaddexp", lambda T, x, y: T.logaddexp(x, y), A((3, 4), -3, 3), A((4,), -3, 3)),
    C("logaddexp2", lambda T, x, y: x.logaddexp2(y), A((3, 4), -3, 3), A((3, 4), -3, 3)),
    C("copysign", lambda T, x, y: T.copysign(x, y), K(3, 4), K(3, 4)),
    C("copysign", lambda T, x: x.copysign(-1.0), K(4)),
    C("fmod", lambda T, x, y: T.fmod(x * 3, y), A((3, 4)), A((4,), 0.5, 1.0)),
    C("fmod", lambda T, a: T.fmod(a - 4, 3), I(9, (5,)), grad=False),
    C("diff", lambda T, x: T.diff(x), A((3, 4))),
    C("diff", lambda T, x, p: x.diff(2, 0, prepend=p), A((3, 4)), A((1, 4))),
    C("diag_embed", lambda T, x: T.diag_embed(x), A((2, 3))),
    C("diag_embed", lambda T, x: x.diag_embed(1, 0, 2), A((2, 3))),
    C("diagflat", lambda T, x: T.diagflat(x, -1), A((2, 2))),
    C("diag", lambda T, x: x.diag(1), A((3, 4))),
    C("trace", lambda T, x: x.trace(), A((3, 4))),
    C("kron", lambda T, a, b: T.kron(a, b), A((2, 3)), A((2, 2))),
    C("kron", lambda T, a, b: a.kron(b), A((2,)), A((2, 1, 3))),
    C("rot90", lambda T, x: T.rot90(x), A((2, 3))),
    C("rot90", lambda T, x: x.rot90(3, [1, 2]), A((2, 3, 4))),
    C("rot90", lambda T, x: T.rot90(x, -2, [0, 1]), A((2, 3))),
    C("lerp", lambda T, a, b, w: T.lerp(a, b, w), A((3, 4)), A((3, 4)), A((4,))),
    C("lerp", lambda T, a, b: a.lerp(b, 0.3), A((3, 4)), A((4,))),
    C("addcmul", lambda T, x, a, b: T.addcmul(x, a, b, value=0.5), A((3, 4)), A((3, 1)), A((4,))),
    C("addcdiv", lambda T, x, a, b: x.addcdiv(a, b, value=-2), A((3, 4)), A((3, 4)), P(3, 4)),
    C("nan_to_num", lambda T, x: T.nan_to_num(T.log(x), nan=0.5, neginf=-3.0), A((3, 4))),
    C(
        "nan_to_num",
        lambda T, x: (x / T.tensor([0.0, 1.0, 0.0, 2.0], dtype=T.float64)).nan_to_num(),
        A((3, 4)),
        grad=False,
    ),
    C("addmv", lambda T, x, m, v: T.addmv(x, m, v, beta=0.5, alpha=2), A((2,)), A((2, 3)), A((3,))),
    C("addbmm", lambda T, x, a, b: T.addbmm(x, a, b), A((2, 2)), A((3, 2, 4)), A((3, 4, 2))),
    C("baddbmm", lambda T, x, a, b: x.baddbmm(a, b, alpha=0.5), A((3, 2, 2)), A((3, 2, 4)), A((3, 4, 2))),
    C("addmm", lambda T, x, a, b: x.addmm(a, b, beta=0), A((2, 2)), A((2, 3)), A((3, 2))),
    C("chain_matmul", lambda T, a, b, c: T.chain_matmul(a, b, c), A((2, 3)), A((3, 4)), A((4, 2))),
    C("cartesian_prod", lambda T, a, b: T.cartesian_prod(a, b), A((3,)), A((2,))),
    C("combinations", lambda T, x: T.combinations(x), A((4,))),
    C("combinations", lambda T, x: T.combinations(x, 3, with_replacement=True), A((3,))),
    C("block_diag", lambda T, a, b, c: T.block_diag(a, b, c), A((2, 3)), A((3,)), A((1, 2))),
    C("cdist", lambda T, a, b: T.cdist(a, b), A((3, 4)), A((2, 4))),
    C("cdist", lambda T, a, b: T.cdist(a, b, p=1), K(2, 3, 2), K(2, 4, 2)),
]
CASES += [
    C("index_copy", lambda T, x, s: T.index_copy(x, 1, T.tensor([3, 0]), s), A((3, 4)), A((3, 2))),
    C("index_copy", lambda T, x, s: x.index_copy(0, T.tensor([2]), s), A((3, 4)), A((1, 4))),
    C("index_fill", lambda T, x: T.index_fill(x, 1, T.tensor([0, 2]), -1.5), A((3, 4))),
    C("index_fill", lambda T, x, v: x.index_fill(0, T.tensor([1]), v), A((3, 4)), A(())),
    C("masked_scatter", lambda T, x, m, s: x.masked_scatter(m, s), A((3, 4)), M((4,)), A((12,))),
    C(
        "index_put",
        lambda T, x, v: x.index_put((T.tensor([0, 2, 0]), T.tensor([1, 1, 1])), v, True),
        A((3, 4)),
        A((3,)),
    ),
    C("index_put", lambda T, x, v: x.index_put((T.tensor([1]),), v), A((3, 4)), A((4,))),
    C(
        "scatter_reduce",
        lambda T, x, s: x.scatter_reduce(1, T.tensor([[0, 1, 0], [2, 2, 2], [3, 0, 1]]), s, "sum"),
        A((3, 4)),
        A((3, 3)),
    ),
    C(
        "scatter_reduce",
        lambda T, x, s: T.scatter_reduce(
            x, 0, T.tensor([[0, 1], [0, 1], [2, 1]]), s, "mean", include_self=False
        ),
        A((3, 2)),
        A((3, 2)),
    ),
    C(
        "scatter_reduce",
        lambda T, x, s: x.scatter_reduce(1, T.tensor([[0, 1, 0], [2, 2, 2], [3, 0, 1]]), s, "amax"),
        D((3, 4)),
        D((3, 3)),
    ),
    C(
        "scatter_reduce",
        lambda T, x, s: x.scatter_reduce(
            1, T.tensor([[0, 1, 0], [2, 2, 2], [3, 0, 1]]), s, "amin", include_self=False
        ),
        D((3, 4)),
        D((3, 3)),
    ),
    C(
        "scatter_reduce",
        lambda T, x, s: x.scatter_reduce(0, T.tensor([[0, 1], [0, 1]]), s, "prod"),
        P(2, 2),
        P(2, 2),
    ),
]
