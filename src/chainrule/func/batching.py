"""Batching rules: how each primitive runs on a whole batch at once (used by ``vmap``).

A rule ``rule(level, args, batched, params)`` gets the op's arguments with every
batched one replaced by its payload (batch at dim 0) and ``batched[i]`` telling
which; it returns the batched result (batch at dim 0), computed with ops so that
lower levels (an outer vmap, a dual level, reverse mode) see it.  It may return
``NotImplemented`` to ask for the per-example loop.

The rules follow the op families: elementwise ops line ranks up and broadcast;
reductions, softmax and cumsum shift ``dim`` by one; shape ops prepend the batch
size to their shape parameters; matmul folds the batch into one GEMM when one side
is shared; conv2d folds it into N (batched input) or into groups (batched weight);
indexing adds the batch as one more index.  Registered as ``op.extra['batch']``.
"""

from __future__ import annotations

import string
from typing import Any, Callable

import numpy as np

from .._tensor import Tensor
from ..ops import _core
from ..ops import elementwise as ew
from ..ops import linalg as la
from ..ops import reduce as rd
from ..ops import shape as sh
from ..ops._dims import batch_expand as expand  # (shared with rules kept beside their op)
from ._vmap import with_logicals

apply = _core.apply
_P = _core.PRIMITIVES  # by name: the op table's families may move between modules
_shape = _core._shape_of  # of a Tensor, array or Python number


def nd(a: Any, batched: bool) -> int:
    """The logical (per-example) rank of an argument."""
    return len(_shape(a)) - (1 if batched else 0)


def align(p: Any, rank: int) -> Any:
    """A payload ``(B, *s)`` with unit dims inserted after the batch to logical rank ``rank``."""
    s = _shape(p)
    k = len(s) - 1
    if k >= rank:
        return p
    return sh.reshape(p, (s[0],) + (1,) * (rank - k) + tuple(s[1:]))


def all_batched(lvl: Any, args: list, batched: list) -> list:
    """Every argument as a payload: the unbatched ones ``expand``-ed over the batch."""
    return [a if b else expand(a, lvl.size) for a, b in zip(args, batched)]


def _same(op: Any) -> Callable:
    def rule(lvl: Any, args: list, batched: list, params: dict) -> Any:
        return apply(op, tuple(args), params)

    return rule


def _broadcasting(op: Any) -> Callable:
    def rule(lvl: Any, args: list, batched: list, params: dict) -> Any:
        r = max(nd(a, b) for a, b in zip(args, batched))
        return apply(op, tuple(align(a, r) if b else a for a, b in zip(args, batched)), params)

    return rule


def _shift_dims(op: Any) -> Callable:
    def rule(lvl: Any, args: list, batched: list, params: dict) -> Any:
        d = params["dim"]
        if d is None:  # argmax/argmin over everything: flatten each example first
            x = sh.reshape(args[0], (lvl.size, -1))
            return apply(op, (x,), dict(params, dim=1, keepdim=False))
        new = tuple(i + 1 for i in d) if isinstance(d, tuple) else d + 1
        return apply(op, (args[0],), dict(params, dim=new))

    return rule


# ---------------------------------------------------------------- shape ops
def _reshape(lvl: Any, args: list, batched: list, params: dict) -> Any:
    return apply(_P["View"], (args[0],), {"shape": (lvl.size,) + tuple(params["shape"])})


def _permute(lvl: Any, args: list, batched: list, params: dict) -> Any:
    return apply(_P["Permute"], (args[0],), {"dims": (0,) + tuple(d + 1 for d in params["dims"])})


def _broadcast_to(lvl: Any, args: list, batched: list, params: dict) -> Any:
    shape = tuple(params["shape"])
    return apply(_P["Expand"], (align(args[0], len(shape)),), {"shape": (lvl.size,) + shape})


def _repeat(lvl: Any, args: list, batched: list, params: dict) -> Any:
    reps = tuple(params["repeats"])
    return apply(_P["Repeat"], (align(args[0], len(reps)),), {"repeats": (1,) + reps})


def _flip(lvl: Any, args: list, batched: list, params: dict) -> Any:
    return apply(_P["Flip"], (args[0],), {"dims": tuple(d + 1 for d in params["dims"])})


def _pad(lvl: Any, args: list, batched: list, params: dict) -> Any:
    return apply(_P["ConstantPadNd"], (args[0],), dict(params, widths=((0, 0),) + tuple(params["widths"])))


def _cat(lvl: Any, args: list, batched: list, params: dict) -> Any:
    return apply(_P["Cat"], tuple(all_batched(lvl, args, batched)), {"dim": params["dim"] + 1})


# ------------------------------------------------------------------- matmul
def _matmul(lvl: Any, args: list, batched: list, params: dict) -> Any:
    """Every case of 1-d/2-d/batched operands; a shared 2-d operand makes one GEMM."""
    x, y = args
    bx, by = batched
    rx, ry = nd(x, bx), nd(y, by)
    mm = _P["Matmul"]
    if rx >= 2 and ry >= 2 and _shape(x)[-1] == 1:  # outer products (per-sample weight grads):
        r = max(rx, ry)  # a broadcast multiply, ~4x faster than NumPy's matmul with k = 1
        return apply(_P["Mul"], (align(x, r) if bx else x, align(y, r) if by else y))
    if bx and not by:
        if rx == 1:
            if ry <= 2:  # (B, k) @ (k,) or (k, n): one GEMV/GEMM
                return apply(mm, (x, y))
            return _vec_mat(x, y, ry)
        if ry == 2:  # fold the batch and the rows into one matrix
            s = _shape(x)
            out = apply(mm, (sh.reshape(x, (-1, s[-1])), y))
            return sh.reshape(out, tuple(s[:-1]) + (_shape(y)[-1],))
        return apply(mm, (align(x, ry) if ry > rx else x, y))
    if by and not bx:
        if ry == 1:
            if rx == 1:
                return apply(mm, (y, x))  # (B, k) @ (k,) -> (B,)
            out = apply(mm, (x, sh.transpose(y, 0, 1)))  # (..., m, k) @ (k, B) -> (..., m, B)
            return sh.movedim(out, -1, 0)
        return apply(mm, (x, align(y, rx) if rx > ry else y))
    if rx == 1 and ry == 1:
        return rd.sum(ew.mul(x, y), 1)
    if rx == 1:
        return _vec_mat(x, y, ry)
    if ry == 1:
        s = _shape(y)  # (B, ..., m, k) @ (B, k): the vector as a column, removed again after
        yy = sh.reshape(y, (s[0],) + (1,) * (rx - 2) + (s[1], 1))
        return sh.squeeze(apply(mm, (x, yy)), -1)
    r = max(rx, ry)
    return apply(mm, (align(x, r), align(y, r)))


def _vec_mat(x: Any, y: Any, ry: int) -> Any:
    """Batched vectors ``(B, k)`` @ ``(..., k, n)`` (``y`` batched or not): each vector as a row
    of a one-row matrix, the row dim removed after."""
    s = _shape(x)
    xx = sh.reshape(x, (s[0],) + (1,) * (ry - 2) + (1, s[1]))
    return sh.squeeze(apply(_P["Matmul"], (xx, y)), -2)


def _linear(op: Any) -> Callable:
    """``x @ wᵀ + b``: a shared weight keeps the batch folded into the rows (one GEMM)."""

    def rule(lvl: Any, args: list, batched: list, params: dict) -> Any:
        x, w = args[0], args[1]
        b = args[2] if len(args) > 2 else None
        bb = len(args) > 2 and batched[2]
        if not batched[1] and not bb:
            s = _shape(x)
            out = apply(op, (sh.reshape(x, (-1, s[-1])),) + tuple(args[1:]))
            return sh.reshape(out, tuple(s[:-1]) + (_shape(w)[0],))
        out = _matmul(lvl, [x, sh.transpose(w, -1, -2)], [batched[0], batched[1]], {})
        if b is None:
            return out
        r = max(nd(out, True), nd(b, bb))
        return apply(_P["Add"], (align(out, r), align(b, r) if bb else b))

    return rule


def _einsum(lvl: Any, args: list, batched: list, params: dict) -> Any:
    shapes = [tuple(_shape(a)[1:]) if b else tuple(_shape(a)) for a, b in zip(args, batched)]
    subs, out = la._parse(params["equation"], shapes)
    used = set("".join(subs) + out)
    z = next(c for c in string.ascii_letters if c not in used)
    eq = ",".join(z + s if b else s for s, b in zip(subs, batched)) + "->" + z + out
    return apply(_P["Einsum"], tuple(args), {"equation": eq})


# -------------------------------------------------------------- nn and index
def _maxpool_index(lvl: Any, args: list, batched: list, params: dict) -> Any:
    s = _shape(args[0])  # fold the batch into N
    out = apply(_P["MaxPoolIndex"], (sh.reshape(args[0], (-1,) + tuple(s[2:])),), params)
    return sh.reshape(out, (s[0], s[1]) + tuple(_shape(out)[1:]))


def _cross_entropy(lvl: Any, args: list, batched: list, params: dict) -> Any:
    """Fold the batch into the sample dim, take per-sample losses, reduce per example."""
    b = lvl.size
    x, t = all_batched(lvl, args, batched)
    xs, ts = _shape(x), _shape(t)
    per = apply(_P["NllLoss"], (sh.reshape(x, (-1,) + tuple(xs[2:])),
                                       sh.reshape(t, (-1,) + tuple(ts[2:]))),
                dict(params, reduction="none"))
    red = params["reduction"]
    if red == "none":
        return sh.reshape(per, ts)
    total = rd.sum(sh.reshape(per, (b, -1)), 1)
    if red == "sum":
        return total
    valid = ew.cast(ew.ne(sh.reshape(t, (b, -1)), params["ignore_index"]), _dtype(x))
    return ew.div(total, rd.sum(valid, 1))


def _dtype(a: Any) -> Any:
    return a._data.dtype if isinstance(a, Tensor) else np.asarray(a).dtype


def _gather(lvl: Any, args: list, batched: list, params: dict) -> Any:
    return apply(_P["Gather"], tuple(all_batched(lvl, args, batched)), {"dim": params["dim"] + 1})


def _scatter_add(lvl: Any, args: list, batched: list, params: dict) -> Any:
    return apply(_P["ScatterAdd"], tuple(all_batched(lvl, args, batched)),
                 {"dim": params["dim"] + 1, "shape": (lvl.size,) + tuple(params["shape"])})


# ------------------------------------------------------------- convolution
_FIVE = (1, 0, 2, 3, 4)


def _fold_groups(a: Any) -> Any:
    """(B, N, C, H, W) -> (N, B*C, H, W): the batch becomes extra channel groups."""
    s = _shape(a)
    return sh.reshape(sh.permute(a, _FIVE), (s[1], s[0] * s[2]) + tuple(s[3:]))


def _unfold_groups(a: Any, b: int) -> Any:
    s = _shape(a)
    return sh.permute(sh.reshape(a, (s[0], b, s[1] // b) + tuple(s[2:])), _FIVE)


def _geom(params: dict, groups_scale: int = 1) -> dict:
    return {"stride": params["stride"], "padding": params["padding"],
            "dilation": params["dilation"], "groups": params["groups"] * groups_scale}


def _conv2d(lvl: Any, args: list, batched: list, params: dict) -> Any:
    b = lvl.size
    x, w = args
    if not batched[1]:  # a batch of inputs, one weight: fold the batch into N
        s = _shape(x)
        out = apply(_P["Convolution"], (sh.reshape(x, (-1,) + tuple(s[2:])), w), _geom(params))
        return sh.reshape(out, (b, s[1]) + tuple(_shape(out)[1:]))
    x = x if batched[0] else expand(x, b)
    ws = _shape(w)
    out = apply(_P["Convolution"], (_fold_groups(x), sh.reshape(w, (-1,) + tuple(ws[2:]))),
                _geom(params, b))
    return _unfold_groups(out, b)


def _conv2d_input_grad(lvl: Any, args: list, batched: list, params: dict) -> Any:
    b = lvl.size
    g, w = args
    xs = tuple(params["x_shape"])
    if not batched[1]:
        s = _shape(g)
        out = apply(_P["ConvolutionInputGrad"], (sh.reshape(g, (-1,) + tuple(s[2:])), w),
                    dict(_geom(params), x_shape=(b * xs[0],) + xs[1:]))
        return sh.reshape(out, (b,) + xs)
    g = g if batched[0] else expand(g, b)
    ws = _shape(w)
    out = apply(_P["ConvolutionInputGrad"], (_fold_groups(g), sh.reshape(w, (-1,) + tuple(ws[2:]))),
                dict(_geom(params, b), x_shape=(xs[0], b * xs[1]) + xs[2:]))
    return _unfold_groups(out, b)


def _conv2d_weight_grad(lvl: Any, args: list, batched: list, params: dict) -> Any:
    b = lvl.size
    x, g = all_batched(lvl, args, batched)
    ws = tuple(params["w_shape"])
    out = apply(_P["ConvolutionWeightGrad"], (_fold_groups(x), _fold_groups(g)),
                dict(_geom(params, b), w_shape=(b * ws[0],) + ws[1:]))
    return sh.reshape(out, (b,) + ws)


# ---------------------------------------------------------------- registry
def _arrays_in_args(args: tuple, params: dict, top: Any) -> tuple:
    """Batched data that reached the op as a bare array (e.g. ``target._data``): use the tensor."""
    new, top = with_logicals(args, top)
    return (args if new is None else tuple(new)), params, top


_UNARY = ("To Neg Exp Expm1 Log Log1p Sqrt Rsqrt Reciprocal Sin Cos Tan Sinh Cosh Tanh Asin Acos "
          "Atan Abs Erf Sigmoid Relu LeakyRelu Gelu Softplus Sign Floor Ceil Round Trunc Clamp "
          "LogicalNot BitwiseNot Isnan Isinf Isfinite Clone").split()
_BROADCASTING = ("Add Sub Mul Div Pow Remainder FloorDivide Maximum Minimum Where Eq Ne Lt Le Gt Ge "
                 "LogicalAnd LogicalOr LogicalXor BitwiseAnd BitwiseOr BitwiseXor").split()
_ALONG_DIMS = "Sum Prod Amax Amin Norm Logsumexp All Any Argmax Argmin Cumsum Softmax LogSoftmax".split()


def register() -> None:
    """Attach a batching rule to every primitive that has a vectorised form (all but Nonzero,
    whose output size depends on the values)."""
    prims = _core.PRIMITIVES
    for name in _UNARY:
        prims[name].extra["batch"] = _same(prims[name])
    for name in _BROADCASTING:
        prims[name].extra["batch"] = _broadcasting(prims[name])
    for name in _ALONG_DIMS:
        prims[name].extra["batch"] = _shift_dims(prims[name])
    rules = {
        "View": _reshape, "Permute": _permute, "Expand": _broadcast_to, "Repeat": _repeat,
        "Flip": _flip, "ConstantPadNd": _pad, "Cat": _cat, "Einsum": _einsum,
        "NllLoss": _cross_entropy, "Convolution": _conv2d,
        "ConvolutionInputGrad": _conv2d_input_grad, "ConvolutionWeightGrad": _conv2d_weight_grad,
        "Gather": _gather, "ScatterAdd": _scatter_add,
        "Matmul": _matmul, "Mm": _matmul, "Mv": _matmul, "Dot": _matmul, "Bmm": _matmul,
        "MaxPoolIndex": _maxpool_index, "Linear": _linear(prims["Linear"]),
        "LinearNoBias": _linear(prims["LinearNoBias"]),
    }
    for name, rule in rules.items():
        prims[name].extra["batch"] = rule
    for name in ("Gather", "ScatterAdd", "NllLoss"):
        prims[name].extra["batch_arrays"] = _arrays_in_args
    from ._batching_index import register_index_rules  # it uses the helpers above
    from ._batching_views import register_view_rules

    register_index_rules()
    register_view_rules()


register()
