"""ONNX builders for shapes, indexing and the neural-network primitives (see ``_lower.py``).

Sizes that follow a dynamic axis are never written as numbers: reshape targets, expand
shapes and the like go through ``Builder.reshape``/``shape_tensor``, which read them at run
time.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..compile.ir import Node, Ref
from ._builder import INT64_MAX, INT64_MIN, Builder
from ._elementwise import _p


def view(b: Builder, n: Node) -> str:
    return b.reshape(b.x(n, 0), b.shape_of(n, 0), b.out_shapes(n))


def expand(b: Builder, n: Node) -> str:
    (i1, i2), (o1, o2) = b.shape_of(n, 0), b.out_shapes(n)
    lead = len(o1) - len(i1)
    t1, t2 = list(o1), list(o2)
    for k in range(len(i1)):  # a dim the input already has: 1 in Expand's target keeps it
        if (i1[k], i2[k]) == (o1[lead + k], o2[lead + k]):
            t1[lead + k] = t2[lead + k] = 1
    target = b.shape_tensor(tuple(t1), tuple(t2), [])
    return b.op("Expand", [b.x(n, 0), target])


def permute(b: Builder, n: Node) -> str:
    return b.op("Transpose", [b.x(n, 0)], perm=[int(d) for d in _p(n)["dims"]])


def cat(b: Builder, n: Node) -> str:
    dim = int(_p(n)["dim"])
    nd = len(n.shape)
    ins = [b.x(n, k, n.dtype) for k in range(len(n.args)) if not (b.shape_of(n, k)[0] == (0,) and nd > 1)]
    return b.op("Concat", ins, axis=dim if dim >= 0 else dim + nd)


def repeat(b: Builder, n: Node) -> str:
    reps = [int(r) for r in _p(n)["repeats"]]
    x = b.x(n, 0)
    nd = len(b.shape_of(n, 0)[0])
    if len(reps) > nd:
        x = b.op("Unsqueeze", [x, b.ints(range(len(reps) - nd))])
    reps = [1] * (nd - len(reps)) + reps
    return b.op("Tile", [x, b.ints(reps)])


def flip(b: Builder, n: Node) -> str:
    nd = len(n.shape)
    dims = [int(d) % nd for d in _p(n)["dims"]]
    if not dims:
        return b.op("Identity", [b.x(n, 0)])
    return b.slice(b.x(n, 0), dims, [-1] * len(dims), [INT64_MIN] * len(dims), [-1] * len(dims))


def pad(b: Builder, n: Node) -> str:
    p = _p(n)
    nd = len(n.shape)
    widths = np.broadcast_to(np.asarray(p["widths"], dtype=np.int64).reshape(-1, 2), (nd, 2))
    pads = b.ints(list(widths[:, 0]) + list(widths[:, 1]))
    value = b.const(p["value"], n.dtype)
    return b.op("Pad", [b.x(n, 0, n.dtype), pads, value], mode="constant")


def _index_source(b: Builder, a: np.ndarray) -> Any:
    """An index array taken from a traced value (embedding ids): that value's ONNX name."""
    i = b.arrays.get(id(a))
    if i is None:
        return None
    if b.graph.nodes[i] is None:
        raise b.fail("an index taken from a value the compiler's passes removed")
    return b.ref(i)


def getitem(b: Builder, n: Node) -> str:
    """``x[idx]`` (NumPy's basic indexing plus one integer array): Slice for the slices,
    Gather for the integers and the array, Unsqueeze for the Nones."""
    x = b.x(n, 0)
    s1, s2 = b.shape_of(n, 0)
    idx = _p(n)["idx"]
    idx = idx if isinstance(idx, tuple) else (idx,)
    if any(isinstance(i, np.ndarray) and i.dtype == np.bool_ for i in idx):
        expanded: list = []
        for i in idx:
            if isinstance(i, np.ndarray) and i.dtype == np.bool_:
                if _index_source(b, i) is not None or i.ndim != 1:
                    raise b.fail(
                        "indexing with a boolean mask gives a shape that depends on the data; use "
                        "torch.where(mask, x, other) or index with fixed integers"
                    )
                expanded.append(np.nonzero(i)[0])
            else:
                expanded.append(i)
        idx = tuple(expanded)
    used = sum(1 for i in idx if i is not None and i is not Ellipsis)
    if Ellipsis in [i for i in idx if not isinstance(i, np.ndarray)]:
        k = next(j for j, i in enumerate(idx) if not isinstance(i, np.ndarray) and i is Ellipsis)
        idx = idx[:k] + (slice(None),) * (len(s1) - used) + idx[k + 1 :]
    idx = idx + (slice(None),) * (len(s1) - sum(1 for i in idx if i is not None))
    arrays = [k for k, i in enumerate(idx) if isinstance(i, np.ndarray)]
    if len(arrays) > 1:
        raise b.fail("indexing with more than one index tensor has no ONNX lowering; index one dim at a time")
    advanced = [k for k, i in enumerate(idx) if isinstance(i, (np.ndarray, int, np.integer))]
    if arrays and advanced != list(range(advanced[0], advanced[0] + len(advanced))):
        raise b.fail("an index tensor and integers apart from each other (NumPy moves the result's dims)")
    sl_axes, starts, ends, steps = [], [], [], []
    gathers: list[tuple[int, Any]] = []
    unsq: list[int] = []
    d = o = 0
    shape = []
    for i in idx:
        if i is None:
            unsq.append(o)
            shape.append(1)
            o += 1
        elif isinstance(i, slice):
            if i != slice(None) and i != slice(None, None, 1):
                step = 1 if i.step is None else int(i.step)
                lo, hi = (0, INT64_MAX) if step > 0 else (-1, INT64_MIN)
                sl_axes.append(d)
                starts.append(lo if i.start is None else int(i.start))
                ends.append(hi if i.stop is None else int(i.stop))
                steps.append(step)
            shape.append(len(range(s1[d])[i]))
            d += 1
            o += 1
        elif isinstance(i, np.ndarray):
            gathers.append((d, i))
            shape.extend(i.shape)
            d += 1
            o += i.ndim
        else:
            gathers.append((d, int(i)))
            d += 1
    if tuple(shape) != tuple(n.shape):
        raise b.fail(f"indexing {idx!r} of a tensor of shape {s1} is not lowered as NumPy does it")
    out = x
    if sl_axes:
        out = b.slice(out, sl_axes, starts, ends, steps)
    for axis, i in sorted(gathers, key=lambda g: -g[0]):
        if isinstance(i, np.ndarray):
            src = _index_source(b, i)
            ind = src if src is not None else b.const(i.astype(np.int64))
        else:
            ind = b.const(np.asarray(i, dtype=np.int64))
        out = b.op("Gather", [out, ind], axis=axis)
    if unsq:
        out = b.op("Unsqueeze", [out, b.ints(unsq)])
    return out if out is not x else b.op("Identity", [x])


def gather(b: Builder, n: Node) -> str:
    """torch.gather: GatherElements (after cutting x to the index's size in the other dims).
    The index of a max pool or a sort gathered from its own input is that op's value output."""
    dim = int(_p(n)["dim"])
    fused = _gather_of_own_index(b, n, dim)
    if fused is not None:
        return fused
    x, ind = b.x(n, 0), b.x(n, 1, np.int64)
    (x1, x2), (i1, i2) = b.shape_of(n, 0), b.shape_of(n, 1)
    nd = len(x1)
    cut = [k for k in range(nd) if k != dim % nd and i1[k] != x1[k]]
    if any(i2[k] != x2[k] and (i1[k], i2[k]) != (x1[k], x2[k]) for k in cut):
        raise b.fail("gather with an index smaller than the input along a dynamic axis")
    if cut:
        x = b.slice(x, cut, [0] * len(cut), [int(i1[k]) for k in cut])
    return b.op("GatherElements", [x, ind], axis=dim)


def _gather_of_own_index(b: Builder, n: Node, dim: int) -> Any:
    src, ind = n.args[0], n.args[1]
    made = b.extra.get(ind.i) if isinstance(ind, Ref) else None
    if made is None or not isinstance(src, Ref):
        return None
    kind, origin, values, along = made
    i = src.i
    if kind == "pool":  # max pooling gathers from a flat view of its (-inf padded) input
        while i != origin and b.graph.nodes[i].kind == "op" and isinstance(b.graph.nodes[i].args[0], Ref):
            if b.graph.nodes[i].prim.name not in ("View", "ConstantPadNd"):
                return None
            i = b.graph.nodes[i].args[0].i
    nd = len(n.shape)
    if i != origin or dim % nd != along % nd:
        return None
    return b.reshape(values, b.shapes[values], b.out_shapes(n))


def conv(b: Builder, n: Node) -> str:
    p = _p(n)
    kh, kw = b.shape_of(n, 1)[0][2:]
    ph, pw = (int(v) for v in p["padding"])
    return b.op(
        "Conv",
        [b.x(n, 0, n.dtype), b.x(n, 1, n.dtype)],
        kernel_shape=[int(kh), int(kw)],
        strides=[int(v) for v in p["stride"]],
        pads=[ph, pw, ph, pw],
        dilations=[int(v) for v in p["dilation"]],
        group=int(p["groups"]),
    )


def conv_transpose(b: Builder, n: Node) -> str:
    """The input gradient of a convolution is ConvTranspose (the transposed-conv layers)."""
    p = _p(n)
    (g1, _), (w1, _) = b.shape_of(n, 0), b.shape_of(n, 1)
    kernel = [int(k) for k in w1[2:]]
    stride, pad, dil = ([int(v) for v in p[k]] for k in ("stride", "padding", "dilation"))
    extra = []
    for k in range(2):
        natural = (g1[2 + k] - 1) * stride[k] - 2 * pad[k] + dil[k] * (kernel[k] - 1) + 1
        extra.append(int(p["x_shape"][2 + k]) - natural)
    return b.op(
        "ConvTranspose",
        [b.x(n, 0, n.dtype), b.x(n, 1, n.dtype)],
        kernel_shape=kernel,
        strides=stride,
        pads=pad + pad,
        dilations=dil,
        group=int(p["groups"]),
        output_padding=extra if any(extra) else None,
    )


def max_pool_index(b: Builder, n: Node) -> str:
    """Max pooling: ONNX MaxPool's values serve the gather that reads them (see ``gather``);
    the index itself (per channel, in the -inf padded input's coordinates) is rebuilt from
    MaxPool's flat indices for anyone else."""
    p = _p(n)
    left, right, top, bottom = (int(v) for v in p["widths"])
    s1, _ = b.shape_of(n, 0)
    h, w = int(s1[2]), int(s1[3])
    y, flat = b.op(
        "MaxPool",
        [b.x(n, 0)],
        n_out=2,
        kernel_shape=[int(k) for k in p["k"]],
        strides=[int(v) for v in p["s"]],
        dilations=[int(v) for v in p["d"]],
        pads=[top, left, bottom, right],
    )
    x1, x2 = b.shape_of(n, 0)
    oh, ow = (int(v) for v in p["out_hw"])
    b.shapes[y] = ((x1[0], x1[1], oh, ow), (x2[0], x2[1], oh, ow))
    b.extra[n.i] = ("pool", n.args[0].i, y, 2)
    i64 = np.int64
    local = b.op("Mod", [flat, b.const(h * w, i64)], fmod=0)
    row = b.op("Div", [local, b.const(w, i64)])
    col = b.op("Mod", [local, b.const(w, i64)], fmod=0)
    wide = w + left + right
    padded = b.op(
        "Add",
        [
            b.op("Mul", [b.op("Add", [row, b.const(top, i64)]), b.const(wide, i64)]),
            b.op("Add", [col, b.const(left, i64)]),
        ],
    )
    b.shapes[padded] = b.shapes[y]
    return b.reshape(padded, b.shapes[y], b.out_shapes(n))


def sort(b: Builder, n: Node) -> str:
    """Sort's indices by TopK over the whole dim (its values serve a gather of them)."""
    p = _p(n)
    dim = int(p["dim"])
    s1, s2 = b.shape_of(n, 0)
    nd = len(s1)
    if not nd:
        return b.const(np.zeros((), np.int64))
    size = b.shape_tensor((s1[dim],), (s2[dim],), [b.x(n, 0)])
    values, ind = b.op(
        "TopK", [b.x(n, 0), size], n_out=2, axis=dim, largest=int(bool(p["descending"])), sorted=1
    )
    b.shapes[values] = (s1, s2)
    b.extra[n.i] = ("sort", n.args[0].i, values, dim)
    return ind


def lstm_cell(b: Builder, n: Node) -> str:
    """One LSTM step on precomputed gates (i, f, g, o along the last dim): stack(h', c')."""
    c1, _ = b.shape_of(n, 1)
    hs = int(c1[-1])
    gates, c = b.x(n, 0, n.dtype), b.x(n, 1, n.dtype)
    sig = b.op("Sigmoid", [gates])

    def part(src: str, k: int) -> str:
        return b.slice(src, [-1], [k * hs], [(k + 1) * hs])

    c_new = b.op(
        "Add",
        [b.op("Mul", [part(sig, 1), c]), b.op("Mul", [part(sig, 0), b.op("Tanh", [part(gates, 2)])])],
    )
    h_new = b.op("Mul", [b.op("Tanh", [c_new]), part(sig, 3)])
    zero = b.ints([0])
    return b.op("Concat", [b.op("Unsqueeze", [h_new, zero]), b.op("Unsqueeze", [c_new, zero])], axis=0)


def cross_entropy(b: Builder, n: Node) -> str:
    """cross_entropy on logits (classes on dim 1): one SoftmaxCrossEntropyLoss, whose mean
    divides by the samples not ignored, as PyTorch's does."""
    p = _p(n)
    return b.op(
        "SoftmaxCrossEntropyLoss",
        [b.x(n, 0, n.dtype), b.x(n, 1, np.int64)],
        reduction=str(p["reduction"]),
        ignore_index=int(p["ignore_index"]),
    )
