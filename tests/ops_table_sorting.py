"""Op-table cases for sorting and selection (appended to ``ops_table.CASES``).

Values are distinct (``D``) wherever an index is chosen, so that the chosen element, and
so the gradient, is the same in PyTorch.
"""

from __future__ import annotations

from ops_table import A, C, D

CASES = [
    C("sort", lambda T, x: T.sort(x), D((3, 4))),
    C("sort", lambda T, x: x.sort(0, descending=True), D((3, 4))),
    C("sort", lambda T, x: T.sort(x, dim=1, stable=True), D((2, 3, 4))),
    C("argsort", lambda T, x: T.argsort(x, 1, True), D((3, 4)), grad=False),
    C("msort", lambda T, x: T.msort(x), D((3, 4))),
    C("topk", lambda T, x: T.topk(x, 2), D((3, 4))),
    C("topk", lambda T, x: x.topk(2, 0, largest=False), D((3, 4))),
    C("kthvalue", lambda T, x: T.kthvalue(x, 2), D((3, 4))),
    C("kthvalue", lambda T, x: x.kthvalue(3, 0, keepdim=True), D((3, 4))),
    C("median", lambda T, x: T.median(x), D((3, 4))),
    C("median", lambda T, x: x.median(1), D((3, 4))),
    C("median", lambda T, x: T.median(x, 0, keepdim=True), D((4, 3))),
    C("nanmedian", lambda T, x: T.nanmedian(x), D((3, 4))),
    C("nanmedian", lambda T, x: x.nanmedian(-1), D((2, 3, 5))),
    C("mode", lambda T, x: T.mode(T.round(x * 3) + x * 0), A((3, 6)), grad=False),
    C("mode", lambda T, x: x.mode(0, keepdim=True), D((3, 4))),
    C("quantile", lambda T, x: T.quantile(x, 0.3), D((3, 4))),
    C("quantile", lambda T, x: x.quantile(T.tensor([0.25, 0.5, 0.9], dtype=x.dtype), dim=1), D((3, 5))),
    C("quantile", lambda T, x: T.quantile(x, 0.6, 0, keepdim=True, interpolation="midpoint"), D((4, 3))),
    C("quantile", lambda T, x: T.quantile(x, 0.6, -1, interpolation="lower"), D((2, 5))),
    C("nanquantile", lambda T, x: T.nanquantile(x, 0.4, 1), D((3, 5))),
    C(
        "nanquantile",
        lambda T, x: x.nanquantile(T.tensor([0.1, 0.7], dtype=x.dtype), interpolation="nearest"),
        D((2, 4)),
    ),
    C("cummax", lambda T, x: T.cummax(x, 1), D((3, 4))),
    C("cummin", lambda T, x: x.cummin(0), D((3, 4))),
    C("logcumsumexp", lambda T, x: T.logcumsumexp(x, 1), A((3, 4), -3, 3)),
    C("logcumsumexp", lambda T, x: x.logcumsumexp(0), A((3, 2, 2), -3, 3)),
]
