"""More of ``chainrule.nn.functional``: pixel shuffle, instance / local response norm, interpolation,
fold/unfold, 3-d convolution and pooling (re-exported there).

Everything is composed from existing ops, so every order of derivative comes from the op table:
interpolation is a matrix per resized dimension (resizing is linear in the input), unfold/fold
are a grouped convolution with a one-hot kernel and its transpose, and conv3d is a sum of conv2d
calls over the kernel's depth offsets.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .. import ops
from .._tensor import Tensor, wrap
from ..ops.conv import _conv_in

__all__ = [
    "pixel_shuffle",
    "pixel_unshuffle",
    "instance_norm",
    "local_response_norm",
    "interpolate",
    "upsample",
    "unfold",
    "fold",
    "conv3d",
    "avg_pool3d",
    "max_pool3d",
    "adaptive_avg_pool3d",
]


def _shape(x: Any) -> tuple[int, ...]:
    return tuple(x._data.shape) if isinstance(x, Tensor) else tuple(np.shape(x))


def _tuple(v: Any, n: int, name: str, fn: str) -> tuple[int, ...]:
    if isinstance(v, (tuple, list)):
        if len(v) != n:
            raise ValueError(f"{fn}(): {name} must be an int or a tuple of {n} ints, got {v}")
        return tuple(int(i) for i in v)
    return (int(v),) * n


# ================================================================ pixel shuffle
def pixel_shuffle(input: Tensor, upscale_factor: int) -> Tensor:  # noqa: A002
    """(*, C*r*r, H, W) -> (*, C, H*r, W*r): channels become sub-pixel positions."""
    xs, r = _shape(input), int(upscale_factor)
    if len(xs) < 3:
        raise RuntimeError(
            f"pixel_shuffle expects input to have at least 3 dimensions, but got "
            f"input with {len(xs)} dimension(s)"
        )
    if r <= 0:
        raise RuntimeError(f"pixel_shuffle expects a positive upscale_factor, but got {r}")
    *b, c, h, w = xs
    if c % (r * r):
        raise RuntimeError(
            f"pixel_shuffle expects its input's 'channel' dimension to be divisible "
            f"by the square of upscale_factor, but input.size(-3)={c} is not "
            f"divisible by {r * r}"
        )
    nb = len(b)
    y = ops.reshape(input, (*b, c // (r * r), r, r, h, w))
    perm = tuple(range(nb)) + tuple(nb + i for i in (0, 3, 1, 4, 2))
    return ops.reshape(ops.permute(y, perm), (*b, c // (r * r), h * r, w * r))


def pixel_unshuffle(input: Tensor, downscale_factor: int) -> Tensor:  # noqa: A002
    """(*, C, H*r, W*r) -> (*, C*r*r, H, W): the inverse of ``pixel_shuffle``."""
    xs, r = _shape(input), int(downscale_factor)
    if len(xs) < 3:
        raise RuntimeError(
            f"pixel_unshuffle expects input to have at least 3 dimensions, but got "
            f"input with {len(xs)} dimension(s)"
        )
    if r <= 0:
        raise RuntimeError(f"pixel_unshuffle expects a positive downscale_factor, but got {r}")
    *b, c, h, w = xs
    if h % r or w % r:
        dim, size = ("height", h) if h % r else ("width", w)
        raise RuntimeError(
            f"pixel_unshuffle expects {dim} to be divisible by downscale_factor, "
            f"but input.size({-2 if dim == 'height' else -1})={size} is not "
            f"divisible by {r}"
        )
    nb = len(b)
    y = ops.reshape(input, (*b, c, h // r, r, w // r, r))
    perm = tuple(range(nb)) + tuple(nb + i for i in (0, 2, 4, 1, 3))
    return ops.reshape(ops.permute(y, perm), (*b, c * r * r, h // r, w // r))


# ================================================================ normalisation
def instance_norm(
    input: Tensor,
    running_mean: Tensor | None = None,  # noqa: A002
    running_var: Tensor | None = None,
    weight: Tensor | None = None,
    bias: Tensor | None = None,
    use_input_stats: bool = True,
    momentum: float = 0.1,
    eps: float = 1e-5,
) -> Tensor:
    """Normalise each (sample, channel) over its spatial dims; running stats move like batch norm's."""
    xs = _shape(input)
    if len(xs) < 3:
        raise ValueError(
            f"instance_norm(): expected an input with a batch, a channel and at least "
            f"one spatial dimension, got shape {xs}"
        )
    dims = tuple(range(2, len(xs)))
    bshape = (1, xs[1]) + (1,) * len(dims)
    if use_input_stats:
        mean = ops.mean(input, dims, keepdim=True)
        var = ops.var(input, dims, keepdim=True, correction=0)
        if running_mean is not None or running_var is not None:
            n = int(np.prod(xs[2:]))
            if running_mean is not None:
                bm = mean._data.reshape(xs[:2]).mean(0)
                running_mean._data[...] = (1 - momentum) * running_mean._data + momentum * bm
                running_mean._vc[0] += 1
            if running_var is not None:
                bv = var._data.reshape(xs[:2]).mean(0) * (n / max(n - 1, 1))
                running_var._data[...] = (1 - momentum) * running_var._data + momentum * bv
                running_var._vc[0] += 1
    else:
        mean = ops.reshape(running_mean, bshape)
        var = ops.reshape(running_var, bshape)
    out = (input - mean) * ops.rsqrt(var + eps)
    if weight is not None:
        out = out * ops.reshape(weight, bshape)
    if bias is not None:
        out = out + ops.reshape(bias, bshape)
    return out


def local_response_norm(
    input: Tensor,
    size: int,
    alpha: float = 1e-4,
    beta: float = 0.75,  # noqa: A002
    k: float = 1.0,
) -> Tensor:
    """x / (k + alpha * mean of x² over ``size`` neighbouring channels) ** beta."""
    xs = _shape(input)
    if len(xs) < 3:
        raise ValueError(f"Expected 3D or higher dimensionality input (got {len(xs)} dimensions)")
    if xs[0] == 0 or (len(xs) > 1 and xs[1] == 0):
        return input
    c = xs[1]
    sq = ops.movedim(input * input, 1, -1)
    padded = ops.pad(sq, (size // 2, (size - 1) // 2))
    acc = None
    for j in range(size):
        piece = ops.narrow(padded, -1, j, c)
        acc = piece if acc is None else acc + piece
    div = ops.movedim(acc, -1, 1) * (alpha / size) + k
    return input / div**beta


# ================================================================ interpolation
_DIMS = {
    "nearest": (1, 2, 3),
    "nearest-exact": (1, 2, 3),
    "linear": (1,),
    "bilinear": (2,),
    "bicubic": (2,),
    "trilinear": (3,),
}


def _cubic(t: np.ndarray) -> list[np.ndarray]:
    a = -0.75

    def near(x: np.ndarray) -> np.ndarray:
        return ((a + 2) * x - (a + 3)) * x * x + 1

    def far(x: np.ndarray) -> np.ndarray:
        return ((a * x - 5 * a) * x + 8 * a) * x - 4 * a

    return [far(t + 1), near(t), near(1 - t), far(2 - t)]


def _resize_matrix(n_in: int, n_out: int, mode: str, align: bool, scale: float | None) -> np.ndarray:
    """The (n_out, n_in) matrix that resizes one dimension the way PyTorch samples it."""
    m = np.zeros((n_out, n_in))
    dst = np.arange(n_out, dtype=np.float64)
    ratio = (1.0 / scale) if scale else n_in / n_out
    rows = np.arange(n_out)
    if mode in ("nearest", "nearest-exact"):
        off = 0.5 if mode == "nearest-exact" else 0.0
        src = np.minimum(np.floor((dst + off) * ratio).astype(np.int64), n_in - 1)
        m[rows, src] = 1.0
        return m
    if align:
        src = dst * ((n_in - 1) / (n_out - 1)) if n_out > 1 else np.zeros(n_out)
    else:
        src = (dst + 0.5) * ratio - 0.5
    if mode == "bicubic":
        i0 = np.floor(src).astype(np.int64)
        for j, wj in enumerate(_cubic(src - i0)):
            np.add.at(m, (rows, np.clip(i0 - 1 + j, 0, n_in - 1)), wj)
        return m
    src = np.maximum(src, 0.0)
    i0 = np.minimum(np.floor(src).astype(np.int64), n_in - 1)
    i1 = np.minimum(i0 + 1, n_in - 1)
    lam = src - i0
    np.add.at(m, (rows, i0), 1 - lam)
    np.add.at(m, (rows, i1), lam)
    return m


def interpolate(
    input: Tensor,
    size: Any = None,
    scale_factor: Any = None,  # noqa: A002
    mode: str = "nearest",
    align_corners: bool | None = None,
    recompute_scale_factor: bool | None = None,
    antialias: bool = False,
) -> Tensor:
    """Resize the spatial dims (all after N, C): nearest, (bi/tri)linear or bicubic sampling."""
    xs = _shape(input)
    nsp = len(xs) - 2
    if mode not in _DIMS:
        raise NotImplementedError(
            f"Input Error: Only 3D, 4D and 5D input Tensors supported (got "
            f"{len(xs)}D) for the modes: nearest | linear | bilinear | bicubic "
            f"| trilinear | area | nearest-exact (got {mode})"
        )
    if mode.startswith("nearest"):
        if align_corners is not None:
            raise ValueError(
                "align_corners option can only be set with the interpolating modes: "
                "linear | bilinear | bicubic | trilinear"
            )
    elif align_corners is None:
        align_corners = False
    if antialias:
        raise NotImplementedError("interpolate(): antialias=True is not supported; use antialias=False")
    if nsp not in _DIMS[mode]:
        want = {"linear": 3, "bilinear": 4, "bicubic": 4, "trilinear": 5}.get(mode)
        raise NotImplementedError(
            f"Got {len(xs)}D input, but {mode} mode needs {want if want else '3D, 4D or 5'}D input"
        )
    if (size is None) == (scale_factor is None):
        raise ValueError("only one of size or scale_factor should be defined")
    if size is not None:
        out = list(size) if isinstance(size, (tuple, list)) else [size] * nsp
        if len(out) != nsp:
            raise ValueError(
                f"Input and output must have the same number of spatial dimensions, but "
                f"got input with spatial dimensions of {list(xs[2:])} and output size "
                f"of {list(size)}. Please provide input tensor in (N, C, d1, d2, "
                "...,dK) format and output size in (o1, o2, ...,oK) format."
            )
        out = [int(o) for o in out]
        scales: list[float | None] = [None] * nsp
    else:
        sf = list(scale_factor) if isinstance(scale_factor, (tuple, list)) else [scale_factor] * nsp
        if len(sf) != nsp:
            raise ValueError(
                f"Input and scale_factor must have the same number of spatial "
                f"dimensions, but got input with spatial dimensions of {list(xs[2:])} "
                f"and scale_factor of shape {list(scale_factor)}. Please provide input "
                "tensor in (N, C, d1, d2, ...,dK) format and scale_factor in (s1, s2, "
                "...,sK) format."
            )
        out = [int(math.floor(float(n) * float(s))) for n, s in zip(xs[2:], sf)]
        scales = [None if recompute_scale_factor else float(s) for s in sf]
    y = input
    for i in range(nsp):
        mat = _resize_matrix(xs[2 + i], out[i], mode, bool(align_corners), scales[i])
        mat_t = wrap(np.ascontiguousarray(mat.T).astype(input._data.dtype))
        y = ops.movedim(ops.matmul(ops.movedim(y, 2 + i, -1), mat_t), -1, 2 + i)
    return y


def upsample(
    input: Tensor,
    size: Any = None,
    scale_factor: Any = None,
    mode: str = "nearest",  # noqa: A002
    align_corners: bool | None = None,
) -> Tensor:
    return interpolate(input, size, scale_factor, mode, align_corners)


# ================================================================ fold / unfold
def _eye_kernel(c: int, kh: int, kw: int, dtype: Any) -> Tensor:
    """(C*kh*kw, 1, kh, kw) one-hot kernels: output channel c*kh*kw + i*kw + j reads offset (i, j)."""
    k = np.zeros((c * kh * kw, 1, kh, kw), dtype=dtype)
    idx = np.arange(kh * kw)
    for ch in range(c):
        k[ch * kh * kw + idx, 0, idx // kw, idx % kw] = 1.0
    return wrap(k)


def unfold(
    input: Tensor,
    kernel_size: Any,
    dilation: Any = 1,
    padding: Any = 0,  # noqa: A002
    stride: Any = 1,
) -> Tensor:
    """im2col: (N, C, H, W) -> (N, C*kh*kw, L), every sliding block as a column."""
    xs = _shape(input)
    if len(xs) not in (3, 4):
        raise RuntimeError(
            f"unfold(): Expected 3D or 4D (batch mode) tensor for input, got shape "
            f"{xs}; add or remove the batch dimension"
        )
    x = ops.unsqueeze(input, 0) if len(xs) == 3 else input
    k = _tuple(kernel_size, 2, "kernel_size", "unfold")
    c = _shape(x)[1]
    out = ops.conv2d(
        x,
        _eye_kernel(c, *k, input._data.dtype),
        None,
        _tuple(stride, 2, "stride", "unfold"),
        _tuple(padding, 2, "padding", "unfold"),
        _tuple(dilation, 2, "dilation", "unfold"),
        c,
    )
    n, ck, oh, ow = _shape(out)
    out = ops.reshape(out, (n, ck, oh * ow))
    return ops.squeeze(out, 0) if len(xs) == 3 else out


def fold(
    input: Tensor,
    output_size: Any,
    kernel_size: Any,
    dilation: Any = 1,  # noqa: A002
    padding: Any = 0,
    stride: Any = 1,
) -> Tensor:
    """col2im: (N, C*kh*kw, L) -> (N, C, H, W), overlapping values summed (the transpose of unfold)."""
    xs = _shape(input)
    if len(xs) not in (2, 3):
        raise NotImplementedError(
            f"Input Error: Only unbatched (2D) or batched (3D) input Tensors are supported (got {len(xs)}D)"
        )
    x = ops.unsqueeze(input, 0) if len(xs) == 2 else input
    k = _tuple(kernel_size, 2, "kernel_size", "fold")
    o = _tuple(output_size, 2, "output_size", "fold")
    d, p, s = (
        _tuple(v, 2, nm, "fold")
        for v, nm in ((dilation, "dilation"), (padding, "padding"), (stride, "stride"))
    )
    n, ck, ln = _shape(x)
    blocks = [(o[i] + 2 * p[i] - d[i] * (k[i] - 1) - 1) // s[i] + 1 for i in range(2)]
    if ck % (k[0] * k[1]):
        raise RuntimeError(
            f"Expected size of input's dimension 1 to be divisible by the product of "
            f"kernel_size, but got input.size(1)={ck} and kernel_size={k}"
        )
    if blocks[0] * blocks[1] != ln:
        raise RuntimeError(
            f"Given output_size={o}, kernel_size={k}, dilation={d}, padding={p}, "
            f"stride={s}, expected size of input's dimension 2 to match the calculated "
            f"number of sliding blocks {blocks[0]} * {blocks[1]} = "
            f"{blocks[0] * blocks[1]}, but got input.size(2)={ln}."
        )
    c = ck // (k[0] * k[1])
    g = ops.reshape(x, (n, ck, blocks[0], blocks[1]))
    out = _conv_in(
        g,
        _eye_kernel(c, *k, input._data.dtype),
        (n, c, o[0], o[1]),
        stride=s,
        padding=p,
        dilation=d,
        groups=c,
    )
    return ops.squeeze(out, 0) if len(xs) == 2 else out


# ================================================================ 3-d conv and pooling
def conv3d(
    input: Tensor,
    weight: Tensor,
    bias: Tensor | None = None,
    stride: Any = 1,  # noqa: A002
    padding: Any = 0,
    dilation: Any = 1,
    groups: int = 1,
) -> Tensor:
    """(N, C, D, H, W) * (O, C/groups, kd, kh, kw): a conv2d per depth offset of the kernel, summed."""
    xs, ws = _shape(input), _shape(weight)
    unbatched = len(xs) == 4
    if len(ws) != 5 or len(xs) not in (4, 5):
        raise RuntimeError(
            f"conv3d(): expected a 4-d (C, D, H, W) or 5-d (N, C, D, H, W) input and a "
            f"5-d weight, got shapes {xs} and {ws}"
        )
    x = ops.unsqueeze(input, 0) if unbatched else input
    s, d = _tuple(stride, 3, "stride", "conv3d"), _tuple(dilation, 3, "dilation", "conv3d")
    if isinstance(padding, str):
        if padding == "valid":
            p = (0, 0, 0)
        elif padding == "same" and all(di * (k - 1) % 2 == 0 for di, k in zip(d, ws[2:])):
            p = tuple(di * (k - 1) // 2 for di, k in zip(d, ws[2:]))
        else:
            raise NotImplementedError(f"conv3d(): padding={padding!r} with this kernel is not supported")
    else:
        p = _tuple(padding, 3, "padding", "conv3d")
    n, c, dd, h, w = _shape(x)
    if c != ws[1] * groups:
        raise RuntimeError(
            f"conv3d(): weight of shape {ws} (groups={groups}) expects "
            f"{ws[1] * groups} input channels, but the input of shape {xs} has {c}"
        )
    if p[0]:
        x = ops.pad(x, (0, 0, 0, 0, p[0], p[0]))
    od = (dd + 2 * p[0] - d[0] * (ws[2] - 1) - 1) // s[0] + 1
    if od < 1:
        raise RuntimeError(
            f"conv3d(): input of shape {xs} padded by {p} is smaller than the kernel {ws[2:]} (dilation {d})"
        )
    acc = None
    for i in range(ws[2]):
        start = i * d[0]
        sl = ops.getitem(x, (slice(None), slice(None), slice(start, start + s[0] * (od - 1) + 1, s[0])))
        sl = ops.reshape(ops.permute(sl, (0, 2, 1, 3, 4)), (n * od, c, h, w))
        y = ops.conv2d(sl, ops.select(weight, 2, i), None, s[1:], p[1:], d[1:], groups)
        acc = y if acc is None else acc + y
    o, oh, ow = _shape(acc)[1:]
    out = ops.permute(ops.reshape(acc, (n, od, o, oh, ow)), (0, 2, 1, 3, 4))
    if bias is not None:
        out = out + ops.reshape(bias, (1, -1, 1, 1, 1))
    return ops.squeeze(out, 0) if unbatched else out


def _pool3d_input(input: Tensor, fn: str) -> tuple[Tensor, bool]:
    xs = _shape(input)
    if len(xs) not in (4, 5):
        raise RuntimeError(f"{fn}(): Expected 4D or 5D (batch mode) tensor for input, got shape {xs}")
    return (ops.unsqueeze(input, 0), True) if len(xs) == 4 else (input, False)


def _over_depth(x: Tensor, pool2d: Any, pool1d: Any) -> Tensor:
    """Pool H, W with ``pool2d`` on (N, C*D, H, W), then D with ``pool1d`` on (N*H'*W', C, D)."""
    n, c, d, h, w = _shape(x)
    y = pool2d(ops.reshape(x, (n, c * d, h, w)))
    oh, ow = _shape(y)[2:]
    y = ops.reshape(ops.permute(ops.reshape(y, (n, c, d, oh, ow)), (0, 3, 4, 1, 2)), (n * oh * ow, c, d))
    y = pool1d(y)
    od = _shape(y)[2]
    return ops.permute(ops.reshape(y, (n, oh, ow, c, od)), (0, 3, 4, 1, 2))


def avg_pool3d(
    input: Tensor,
    kernel_size: Any,
    stride: Any = None,
    padding: Any = 0,  # noqa: A002
    ceil_mode: bool = False,
    count_include_pad: bool = True,
    divisor_override: int | None = None,
) -> Tensor:
    """Mean over kd x kh x kw windows: separable, so a 2-d pool over H, W then a 1-d pool over D."""
    from .functional import avg_pool1d

    if divisor_override is not None:
        raise NotImplementedError("avg_pool3d(): divisor_override is not supported")
    x, unbatched = _pool3d_input(input, "avg_pool3d")
    k = _tuple(kernel_size, 3, "kernel_size", "avg_pool3d")
    s = k if stride is None or stride == [] else _tuple(stride, 3, "stride", "avg_pool3d")
    p = _tuple(padding, 3, "padding", "avg_pool3d")
    out = _over_depth(
        x,
        lambda t: ops.avg_pool2d(t, k[1:], s[1:], p[1:], ceil_mode, count_include_pad),
        lambda t: avg_pool1d(t, k[0], s[0], p[0], ceil_mode, count_include_pad),
    )
    return ops.squeeze(out, 0) if unbatched else out


def max_pool3d(
    input: Tensor,
    kernel_size: Any,
    stride: Any = None,
    padding: Any = 0,  # noqa: A002
    dilation: Any = 1,
    ceil_mode: bool = False,
    return_indices: bool = False,
) -> Tensor:
    """Max over kd x kh x kw windows: a max of maxes, 2-d over H, W then 1-d over D."""
    from .functional import max_pool1d

    if return_indices:
        raise NotImplementedError("max_pool3d(): return_indices=True is not supported")
    x, unbatched = _pool3d_input(input, "max_pool3d")
    k = _tuple(kernel_size, 3, "kernel_size", "max_pool3d")
    s = k if stride is None or stride == [] else _tuple(stride, 3, "stride", "max_pool3d")
    p, d = _tuple(padding, 3, "padding", "max_pool3d"), _tuple(dilation, 3, "dilation", "max_pool3d")
    out = _over_depth(
        x,
        lambda t: ops.max_pool2d(t, k[1:], s[1:], p[1:], d[1:], ceil_mode),
        lambda t: max_pool1d(t, k[0], s[0], p[0], d[0], ceil_mode),
    )
    return ops.squeeze(out, 0) if unbatched else out


def adaptive_avg_pool3d(input: Tensor, output_size: Any) -> Tensor:  # noqa: A002
    """Average over PyTorch's adaptive windows per spatial dim (linear: one matrix per dim)."""
    from .functional import _pool_matrix

    x, unbatched = _pool3d_input(input, "adaptive_avg_pool3d")
    sizes = output_size if isinstance(output_size, (tuple, list)) else (output_size,) * 3
    y = x
    for i, o in enumerate(sizes):
        n_in = _shape(x)[2 + i]
        o = n_in if o is None else int(o)
        mat = wrap(np.ascontiguousarray(_pool_matrix(n_in, o, x._data.dtype).T))
        y = ops.movedim(ops.matmul(ops.movedim(y, 2 + i, -1), mat), -1, 2 + i)
    return ops.squeeze(y, 0) if unbatched else y
