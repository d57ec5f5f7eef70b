"""Convolution: three mutually-transposed primitives, so every order of derivative works.

  conv2d(x, w)                  -> y        (im2col + batched matmul)
  conv2d_input_grad(g, w)       -> dx       (= conv_transpose2d; col2im)
  conv2d_weight_grad(x, g)      -> dw

Each one's VJP is expressed with the other two.  im2col uses
``sliding_window_view`` (no Python loop over pixels); col2im loops over the
kh*kw kernel offsets only.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from .._tensor import Tensor
from . import elementwise as ew
from ._core import Primitive, apply, fail
from .shape import reshape


def _shape(x: Any) -> tuple[int, ...]:
    return x._data.shape if isinstance(x, Tensor) else np.shape(x)


def _pair(v: Any, name: str) -> tuple[int, int]:
    if isinstance(v, (tuple, list)):
        if len(v) != 2:
            raise fail(f"conv2d(): {name} must be an int or a pair, got {v}", ValueError)
        return int(v[0]), int(v[1])
    return int(v), int(v)


def _windows(xp: np.ndarray, kh: int, kw: int, stride: tuple, dilation: tuple, oh: int, ow: int):
    """(N, C, kh, kw, Ho, Wo) strided view of a padded input: the im2col patches, uncopied."""
    eh, ew_ = dilation[0] * (kh - 1) + 1, dilation[1] * (kw - 1) + 1
    win = sliding_window_view(xp, (eh, ew_), axis=(2, 3))
    win = win[:, :, : stride[0] * (oh - 1) + 1 : stride[0], : stride[1] * (ow - 1) + 1 : stride[1],
              :: dilation[0], :: dilation[1]]
    return win.transpose(0, 1, 4, 5, 2, 3)


def _pad_hw(x: np.ndarray, padding: tuple) -> np.ndarray:
    if padding == (0, 0):
        return x
    return np.pad(x, ((0, 0), (0, 0), (padding[0],) * 2, (padding[1],) * 2))


def _out_size(size: int, k: int, s: int, p: int, d: int) -> int:
    return (size + 2 * p - d * (k - 1) - 1) // s + 1


def _cols(x: np.ndarray, w_shape: tuple, stride, padding, dilation, groups, oh, ow) -> np.ndarray:
    n, c = x.shape[:2]
    _, cg, kh, kw = w_shape
    win = _windows(_pad_hw(x, padding), kh, kw, stride, dilation, oh, ow)
    return win.reshape(n, groups, cg * kh * kw, oh * ow)  # the one copy of im2col


def _conv_forward(x: np.ndarray, w: np.ndarray, *, stride, padding, dilation, groups) -> np.ndarray:
    n = x.shape[0]
    o, cg, kh, kw = w.shape
    oh = _out_size(x.shape[2], kh, stride[0], padding[0], dilation[0])
    ow = _out_size(x.shape[3], kw, stride[1], padding[1], dilation[1])
    cols = _cols(x, w.shape, stride, padding, dilation, groups, oh, ow)
    w2 = w.reshape(groups, o // groups, cg * kh * kw)
    return np.matmul(w2, cols).reshape(n, o, oh, ow)


def _conv_input_grad_forward(g: np.ndarray, w: np.ndarray, *, x_shape, stride, padding, dilation,
                             groups) -> np.ndarray:
    n, c, h, wd = x_shape
    o, cg, kh, kw = w.shape
    oh, ow = g.shape[2], g.shape[3]
    og = o // groups
    # cols[g, k, n, l] = sum_o w[g, o, k] * grad[n, g, o, l]: channels first, so that each kernel
    # offset below reads one contiguous block.
    g2 = g.reshape(n, groups, og, oh * ow).transpose(1, 2, 0, 3).reshape(groups, og, n * oh * ow)
    w2 = w.reshape(groups, og, cg * kh * kw)
    cols = np.matmul(w2.transpose(0, 2, 1), g2).reshape(c, kh, kw, n, oh, ow)
    ph, pw = padding
    xp = np.zeros((c, n, h + 2 * ph, wd + 2 * pw), dtype=cols.dtype)
    sh, sw = stride
    for i in range(kh):  # col2im: one strided add per kernel offset
        hi = i * dilation[0]
        for j in range(kw):
            wj = j * dilation[1]
            xp[:, :, hi : hi + sh * (oh - 1) + 1 : sh, wj : wj + sw * (ow - 1) + 1 : sw] += cols[:, i, j]
    return np.ascontiguousarray(xp[:, :, ph : ph + h, pw : pw + wd].transpose(1, 0, 2, 3))


def _conv_weight_grad_forward(x: np.ndarray, g: np.ndarray, *, w_shape, stride, padding, dilation,
                              groups) -> np.ndarray:
    n = x.shape[0]
    o = w_shape[0]
    oh, ow = g.shape[2], g.shape[3]
    cols = _cols(x, w_shape, stride, padding, dilation, groups, oh, ow)
    g2 = g.reshape(n, groups, o // groups, oh * ow)
    gw = np.matmul(g2, cols.transpose(0, 1, 3, 2)).sum(axis=0)
    return gw.reshape(w_shape)


CONV2D = Primitive("Convolution", _conv_forward, public="conv2d")
CONV2D_INPUT_GRAD = Primitive("ConvolutionInputGrad", _conv_input_grad_forward,
                              public="conv_transpose2d")
CONV2D_WEIGHT_GRAD = Primitive("ConvolutionWeightGrad", _conv_weight_grad_forward,
                               public="conv2d_weight_grad")
_GEOM = ("stride", "padding", "dilation", "groups")


def _geom(params: dict) -> dict:
    return {k: params[k] for k in _GEOM}


def _conv(x: Any, w: Any, **p: Any) -> Any:
    return apply(CONV2D, (x, w), p)


def _conv_in(g: Any, w: Any, x_shape: tuple, **p: Any) -> Any:
    return apply(CONV2D_INPUT_GRAD, (g, w), dict(p, x_shape=tuple(x_shape)))


def _conv_w(x: Any, g: Any, w_shape: tuple, **p: Any) -> Any:
    return apply(CONV2D_WEIGHT_GRAD, (x, g), dict(p, w_shape=tuple(w_shape)))


CONV2D.defvjp(
    lambda g, w, x_shape, stride, padding, dilation, groups: _conv_in(
        g, w, x_shape, stride=stride, padding=padding, dilation=dilation, groups=groups),
    lambda g, x, w_shape, stride, padding, dilation, groups: _conv_w(
        x, g, w_shape, stride=stride, padding=padding, dilation=dilation, groups=groups),
)
CONV2D.defjvp(
    lambda t, w, stride, padding, dilation, groups: _conv(
        t, w, stride=stride, padding=padding, dilation=dilation, groups=groups),
    lambda t, x, stride, padding, dilation, groups: _conv(
        x, t, stride=stride, padding=padding, dilation=dilation, groups=groups),
)
# conv2d_input_grad(g, w) is linear in g (transpose: conv2d) and in w (transpose: weight grad).
CONV2D_INPUT_GRAD.defvjp(
    lambda u, w, stride, padding, dilation, groups: _conv(
        u, w, stride=stride, padding=padding, dilation=dilation, groups=groups),
    lambda u, g, w_shape, stride, padding, dilation, groups: _conv_w(
        u, g, w_shape, stride=stride, padding=padding, dilation=dilation, groups=groups),
)
CONV2D_INPUT_GRAD.defjvp(
    lambda t, w, x_shape, stride, padding, dilation, groups: _conv_in(
        t, w, x_shape, stride=stride, padding=padding, dilation=dilation, groups=groups),
    lambda t, g, x_shape, stride, padding, dilation, groups: _conv_in(
        g, t, x_shape, stride=stride, padding=padding, dilation=dilation, groups=groups),
)
# conv2d_weight_grad(x, g) is linear in x (transpose: input grad) and in g (transpose: conv2d).
CONV2D_WEIGHT_GRAD.defvjp(
    lambda u, g, x_shape, stride, padding, dilation, groups: _conv_in(
        g, u, x_shape, stride=stride, padding=padding, dilation=dilation, groups=groups),
    lambda u, x, stride, padding, dilation, groups: _conv(
        x, u, stride=stride, padding=padding, dilation=dilation, groups=groups),
)
CONV2D_WEIGHT_GRAD.defjvp(
    lambda t, g, w_shape, stride, padding, dilation, groups: _conv_w(
        t, g, w_shape, stride=stride, padding=padding, dilation=dilation, groups=groups),
    lambda t, x, w_shape, stride, padding, dilation, groups: _conv_w(
        x, t, w_shape, stride=stride, padding=padding, dilation=dilation, groups=groups),
)


def _conv_geometry(x: Any, w: Any, stride: Any, padding: Any, dilation: Any, groups: int,
                   op: str) -> dict:
    xs, ws = _shape(x), _shape(w)
    if len(xs) != 4 or len(ws) != 4:
        raise fail(f"{op}(): expects a 4-d input (N, C, H, W) and 4-d weight, got shapes {xs} and {ws}")
    if min(ws) < 1 or min(xs[1:]) < 1:
        raise fail(f"{op}(): weight of shape {ws} and input of shape {xs} need non-zero channels, "
                   "kernel and spatial sizes (only the batch may be empty)")
    s, d = _pair(stride, "stride"), _pair(dilation, "dilation")
    if isinstance(padding, str):
        if padding == "valid":
            p = (0, 0)
        elif padding == "same":
            if s != (1, 1):
                raise fail(f"{op}(): padding='same' needs stride 1, got {s}", ValueError)
            tot = [d[i] * (ws[2 + i] - 1) for i in range(2)]
            if any(t % 2 for t in tot):
                raise fail(f"{op}(): padding='same' with an even kernel extent is not supported",
                           NotImplementedError)
            p = (tot[0] // 2, tot[1] // 2)
        else:
            raise fail(f"{op}(): padding must be an int, a pair, 'same' or 'valid', got {padding!r}",
                       ValueError)
    else:
        p = _pair(padding, "padding")
    if groups < 1 or xs[1] % groups or ws[0] % groups:
        raise fail(f"{op}(): groups={groups} must divide both the input channels ({xs[1]}) and "
                   f"the output channels ({ws[0]})")
    return {"stride": s, "padding": p, "dilation": d, "groups": int(groups)}


def conv2d(input: Any, weight: Any, bias: Any = None, stride: Any = 1, padding: Any = 0,  # noqa: A002
           dilation: Any = 1, groups: int = 1) -> Any:
    """2-d cross-correlation: input (N, C, H, W), weight (O, C/groups, kh, kw) -> (N, O, Ho, Wo)."""
    unbatched = len(_shape(input)) == 3
    if unbatched:
        input = reshape(input, (1,) + _shape(input))
    p = _conv_geometry(input, weight, stride, padding, dilation, groups, "conv2d")
    xs, ws = _shape(input), _shape(weight)
    if xs[1] != ws[1] * p["groups"]:
        raise fail(
            f"conv2d(): weight of shape {ws} (groups={groups}) expects {ws[1] * p['groups']} input "
            f"channels, but the input of shape {xs} has {xs[1]}"
        )
    for i in range(2):
        eff = p["dilation"][i] * (ws[2 + i] - 1) + 1
        if xs[2 + i] + 2 * p["padding"][i] < eff:
            raise fail(
                f"conv2d(): input of shape {xs} padded by {p['padding']} is smaller than the "
                f"kernel {ws[2:]} (dilation {p['dilation']})"
            )
    x, w = ew.promote(input, weight)
    out = apply(CONV2D, (x, w), p)
    if bias is not None:
        out = ew.add(out, reshape(bias, (1, -1, 1, 1)))
    return reshape(out, _shape(out)[1:]) if unbatched else out


def conv_transpose2d(input: Any, weight: Any, bias: Any = None, stride: Any = 1,  # noqa: A002
                     padding: Any = 0, output_padding: Any = 0, groups: int = 1,
                     dilation: Any = 1) -> Any:
    """Transposed convolution (the gradient of conv2d): weight (C_in, C_out/groups, kh, kw)."""
    unbatched = len(_shape(input)) == 3
    if unbatched:
        input = reshape(input, (1,) + _shape(input))
    xs, ws = _shape(input), _shape(weight)
    if len(xs) != 4 or len(ws) != 4:
        raise fail(f"conv_transpose2d(): expects 4-d input and weight, got {xs} and {ws}")
    s, p, d = _pair(stride, "stride"), _pair(padding, "padding"), _pair(dilation, "dilation")
    op_ = _pair(output_padding, "output_padding")
    if xs[1] != ws[0]:
        raise fail(f"conv_transpose2d(): input has {xs[1]} channels but weight {ws} expects {ws[0]}")
    if min(ws) < 1 or min(xs[1:]) < 1:
        raise fail(f"conv_transpose2d(): weight of shape {ws} and input of shape {xs} need non-zero "
                   "channels, kernel and spatial sizes")
    if xs[1] % groups:
        raise fail(f"conv_transpose2d(): groups={groups} must divide the input channels {xs[1]}")
    out_hw = [(xs[2 + i] - 1) * s[i] - 2 * p[i] + d[i] * (ws[2 + i] - 1) + op_[i] + 1 for i in range(2)]
    out_shape = (xs[0], ws[1] * groups, out_hw[0], out_hw[1])
    x, w = ew.promote(input, weight)
    out = _conv_in(x, w, out_shape, stride=s, padding=p, dilation=d, groups=int(groups))
    if bias is not None:
        out = ew.add(out, reshape(bias, (1, -1, 1, 1)))
    return reshape(out, _shape(out)[1:]) if unbatched else out


def conv1d(input: Any, weight: Any, bias: Any = None, stride: Any = 1, padding: Any = 0,  # noqa: A002
           dilation: Any = 1, groups: int = 1) -> Any:
    """1-d convolution as a 2-d one over a height of 1: input (N, C, L), weight (O, C/g, k)."""
    from .shape import squeeze, unsqueeze

    xs, ws = _shape(input), _shape(weight)
    if len(xs) not in (2, 3) or len(ws) != 3:
        raise fail(f"conv1d(): expects a 2-d (unbatched) or 3-d (batched) input and a 3-d weight, got "
                   f"shapes {xs} and {ws}")
    if min(ws) < 1 or min(xs[-2:]) < 1:
        raise fail(f"conv1d(): weight of shape {ws} and input of shape {xs} need non-zero channels, "
                   "kernel and length (only the batch may be empty)")
    unbatched = len(xs) == 2
    if unbatched:
        input = unsqueeze(input, 0)
    first = (lambda v: int(v[0] if isinstance(v, (tuple, list)) else v))  # noqa: E731
    pad_ = padding if isinstance(padding, str) else (0, first(padding))
    out = conv2d(unsqueeze(input, 2), unsqueeze(weight, 2), bias,
                 (1, int(stride[0] if isinstance(stride, (tuple, list)) else stride)), pad_,
                 (1, int(dilation[0] if isinstance(dilation, (tuple, list)) else dilation)), groups)
    out = squeeze(out, 2)
    return squeeze(out, 0) if unbatched else out
