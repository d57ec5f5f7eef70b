"""``chainrule.nn.functional`` (``F``): the functional form of every layer, activation and loss.

Everything here is composed from the op table, so gradients (of any order)
come for free; the few ops that need their own derivative for stability or
speed (softmax, log_softmax, cross_entropy, convolution, softplus...) are
primitives in ``chainrule.ops``.  Losses live in ``_loss_functional`` and
normalisation in ``_norm_functional``; both are re-exported here.
"""

from __future__ import annotations

import warnings
from typing import Any, Sequence

import numpy as np

from .. import _kernel_dtypes as _kd
from .. import ops
from .._inplace import inplace as _inplace
from .._tensor import Tensor, wrap
from ..ops import (  # noqa: F401 - re-exported as F.<name>
    avg_pool2d,
    conv1d,
    conv2d,
    conv_transpose2d,
    max_pool2d,
    sigmoid,
    tanh,
)
from ..ops.ctc import ctc_loss  # noqa: F401 - re-exported as F.ctc_loss
from ..ops.linear import linear as _linear
from ._dropout_functional import *  # noqa: F401,F403
from ._functional_extra import *  # noqa: F401,F403
from ._loss_functional import *  # noqa: F401,F403
from ._loss_functional_extra import *  # noqa: F401,F403
from ._norm_functional import *  # noqa: F401,F403

_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946


def _need_tensor(x: Any, fn: str, arg: str = "input") -> None:
    if not isinstance(x, Tensor):
        raise TypeError(
            f"{fn}(): argument '{arg}' must be a Tensor, not {type(x).__name__}; convert it "
            "first, e.g. chainrule.tensor(x) or chainrule.from_numpy(x)"
        )


def _same_dtype(fn: str, x: Tensor, w: Tensor) -> None:
    """PyTorch refuses mixed dtypes in a layer (silent promotion would hide a bug); so do we."""
    xd, wd = x._data.dtype, w._data.dtype
    if xd != wd:
        raise RuntimeError(
            f"{fn}(): input dtype {xd} does not match weight dtype {wd}; convert the input "
            f"(x.to(chainrule.{wd})) or the layer (model.to(chainrule.{xd}))"
        )


def _maybe_inplace(input: Tensor, inplace: bool, name: str, fn: Any) -> Any:  # noqa: A002
    if name in _kd.GAPS:  # the dtypes PyTorch's kernel for it lacks are refused as PyTorch does
        _kd.check(name, input)
    return _inplace(input, name + "_", fn) if inplace else fn(input)


def gelu(input: Tensor, approximate: str = "none") -> Tensor:  # noqa: A002
    """x * Phi(x) (the normal CDF), exact by default; ``approximate='tanh'`` for the tanh form."""
    return ops.gelu(_kd.check("gelu", input), approximate)


def softplus(input: Tensor, beta: float = 1.0, threshold: float = 20.0) -> Tensor:  # noqa: A002
    """log(1 + exp(beta * x)) / beta, linear above ``threshold``."""
    return ops.softplus(_kd.check("softplus", input), beta, threshold)


def logsigmoid(input: Tensor) -> Tensor:  # noqa: A002
    """log(sigmoid(x)), computed without overflow."""
    return ops.logsigmoid(_kd.check("logsigmoid", input))


# ================================================================== activations
def relu(input: Tensor, inplace: bool = False) -> Tensor:  # noqa: A002
    """max(x, 0)."""
    return _maybe_inplace(input, inplace, "relu", ops.relu)


def relu_(input: Tensor) -> Tensor:  # noqa: A002
    return relu(input, inplace=True)


def relu6(input: Tensor, inplace: bool = False) -> Tensor:  # noqa: A002
    """min(max(x, 0), 6)."""
    return hardtanh(_kd.check("relu6", input), 0.0, 6.0, inplace)


def leaky_relu(input: Tensor, negative_slope: float = 0.01, inplace: bool = False) -> Tensor:  # noqa: A002
    """x for x > 0, negative_slope * x otherwise."""
    return _maybe_inplace(input, inplace, "leaky_relu", lambda t: ops.leaky_relu(t, negative_slope))


def elu(input: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:  # noqa: A002
    """x for x > 0, alpha * (exp(x) - 1) otherwise."""
    return _maybe_inplace(input, inplace, "elu", lambda t: ops.elu(t, alpha))


def selu(input: Tensor, inplace: bool = False) -> Tensor:  # noqa: A002
    """scale * elu(x, alpha) with the self-normalising constants of Klambauer et al. (2017)."""
    return _maybe_inplace(input, inplace, "selu", lambda t: ops.elu(t, _SELU_ALPHA) * _SELU_SCALE)


def celu(input: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:  # noqa: A002
    """max(0, x) + min(0, alpha * (exp(x / alpha) - 1))."""
    return _maybe_inplace(input, inplace, "celu",
                          lambda t: ops.where(t > 0, t, ops.expm1(t / alpha) * alpha))


def silu(input: Tensor, inplace: bool = False) -> Tensor:  # noqa: A002
    """x * sigmoid(x) (also called swish)."""
    return _maybe_inplace(input, inplace, "silu", ops.silu)


def mish(input: Tensor, inplace: bool = False) -> Tensor:  # noqa: A002
    """x * tanh(softplus(x))."""
    return _maybe_inplace(input, inplace, "mish", lambda t: t * ops.tanh(ops.softplus(t)))


def hardtanh(input: Tensor, min_val: float = -1.0, max_val: float = 1.0,  # noqa: A002
             inplace: bool = False) -> Tensor:
    """x clamped to [min_val, max_val]."""
    if min_val > max_val:
        raise ValueError(f"hardtanh(): min_val ({min_val}) cannot be greater than max_val ({max_val})")
    kind = input.dtype.np.kind if isinstance(input, Tensor) else "f"
    if kind in "iu":  # integers are clamped and stay integers, as in PyTorch
        if kind == "u" and min_val < 0:
            raise RuntimeError(f"hardtanh(): cannot do hardtanh on an unsigned type with negative limits "
                               f"(min_val={min_val}, input {input.dtype}); convert first, e.g. x.float()")
        return _maybe_inplace(input, inplace, "hardtanh", lambda t: ops.clamp(t, int(min_val), int(max_val)))
    return _maybe_inplace(input, inplace, "hardtanh", lambda t: ops.hardtanh(t, min_val, max_val))


def hardsigmoid(input: Tensor, inplace: bool = False) -> Tensor:  # noqa: A002
    """relu6(x + 3) / 6: a piecewise-linear sigmoid."""
    return _maybe_inplace(input, inplace, "hardsigmoid", _hardsigmoid)


def _hardsigmoid(x: Tensor) -> Tensor:
    return ops.clamp(x / 6 + 0.5, 0.0, 1.0)


def hardswish(input: Tensor, inplace: bool = False) -> Tensor:  # noqa: A002
    """x * relu6(x + 3) / 6."""
    return _maybe_inplace(input, inplace, "hardswish", lambda t: t * _hardsigmoid(t))


def softsign(input: Tensor) -> Tensor:  # noqa: A002
    """x / (1 + |x|)."""
    return input / (ops.abs(input) + 1)


def tanhshrink(input: Tensor) -> Tensor:  # noqa: A002
    return input - ops.tanh(input)


def threshold(input: Tensor, threshold: float, value: float, inplace: bool = False) -> Tensor:  # noqa: A002
    """x where x > threshold, else value."""
    return _maybe_inplace(input, inplace, "threshold", lambda t: ops.where(t > threshold, t, value))


def prelu(input: Tensor, weight: Tensor) -> Tensor:  # noqa: A002
    """Leaky ReLU with a learned slope: one per channel (dim 1) or one shared."""
    n = weight._data.size
    if n != 1:
        xs = input._data.shape
        if len(xs) < 2 or xs[1] != n:
            raise RuntimeError(
                f"prelu(): weight has {n} slopes, so the input needs {n} channels in dim 1, "
                f"got shape {tuple(xs)}"
            )
        weight = ops.reshape(weight, (1, n) + (1,) * (len(xs) - 2))
    return ops.where(input > 0, input, weight * input)


def glu(input: Tensor, dim: int = -1) -> Tensor:  # noqa: A002
    """a * sigmoid(b) where (a, b) are the two halves of ``input`` along ``dim``."""
    size = input._data.shape[dim]
    if size % 2:
        raise RuntimeError(f"glu(): halving dimension {dim} needs an even size, got {size}")
    a, b = ops.chunk(input, 2, dim)
    return a * ops.sigmoid(b)


def _softmax_dim(input: Tensor, dim: Any, name: str) -> Any:
    if dim is None:
        warnings.warn(
            f"Implicit dimension choice for {name} has been deprecated. Change the call to "
            "include dim=X as an argument.", UserWarning, stacklevel=3)
        nd = input._data.ndim
        dim = 0 if nd in (0, 1, 3) else 1
    return dim


def softmax(input: Tensor, dim: int | None = None, _stacklevel: int = 3,  # noqa: A002
            dtype: Any = None) -> Tensor:
    """exp(x) / sum(exp(x)) along ``dim`` (computed stably)."""
    return ops.softmax(input, _softmax_dim(input, dim, "softmax"), dtype=dtype)


def softmin(input: Tensor, dim: int | None = None, _stacklevel: int = 3,  # noqa: A002
            dtype: Any = None) -> Tensor:
    return ops.softmax(-input, _softmax_dim(input, dim, "softmin"), dtype=dtype)


def log_softmax(input: Tensor, dim: int | None = None, _stacklevel: int = 3,  # noqa: A002
                dtype: Any = None) -> Tensor:
    """log(softmax(x)) along ``dim`` without underflow."""
    return ops.log_softmax(input, _softmax_dim(input, dim, "log_softmax"), dtype=dtype)


# ======================================================================= linear
def linear(input: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:  # noqa: A002
    """``input @ weight.T + bias``: input (*, in_features), weight (out_features, in_features)."""
    return _checked_linear(input, weight, bias)


def _checked_linear(input: Tensor, weight: Tensor, bias: Tensor | None,  # noqa: A002
                    layer: Any = None) -> Tensor:
    """``linear`` after its checks; ``nn.Linear`` passes itself as ``layer`` to be named in errors."""
    _need_tensor(input, "linear")
    xs, ws = input._data.shape, weight._data.shape
    if not xs or not ws:
        raise RuntimeError(f"linear(): both arguments need at least 1 dimension, got shapes {tuple(xs)} "
                           f"and {tuple(ws)}; input (*, in_features), weight (out_features, in_features)")
    if len(ws) != 2 or xs[-1] != ws[1]:
        if layer is not None:
            raise RuntimeError(
                f"{layer!r}: expected input with {ws[-1]} features in its last dimension "
                f"(in_features), got input of shape {tuple(xs)}; flatten the input "
                "(nn.Flatten()) or set in_features to match (nn.LazyLinear infers it)"
            )
        got = xs[-1] if xs else "no"
        raise RuntimeError(
            f"linear(): input of shape {tuple(xs)} has {got} features in its last dimension, "
            f"but the weight of shape {tuple(ws)} expects {ws[-1] if ws else '?'} (in_features)"
        )
    _same_dtype("linear", input, weight)
    if bias is not None and (bias._data.shape != ws[:1] or bias._data.dtype != weight._data.dtype):
        raise RuntimeError(
            f"linear(): bias of shape {tuple(bias._data.shape)} and dtype {bias._data.dtype} does not "
            f"fit the weight {tuple(ws)} {weight._data.dtype}: it needs shape ({ws[0]},) and the "
            "same dtype"
        )
    return _linear(input, weight, bias)


def bilinear(input1: Tensor, input2: Tensor, weight: Tensor,
             bias: Tensor | None = None) -> Tensor:
    """y_k = x1ᵀ A_k x2 + b_k: input1 (*, in1), input2 (*, in2), weight (out, in1, in2)."""
    _need_tensor(input1, "bilinear", "input1")
    _need_tensor(input2, "bilinear", "input2")
    ws = weight._data.shape
    s1, s2 = input1._data.shape, input2._data.shape
    if len(ws) != 3 or s1[-1:] != ws[1:2] or s2[-1:] != ws[2:3] or s1[:-1] != s2[:-1]:
        raise RuntimeError(
            f"bilinear(): inputs of shapes {tuple(s1)} and {tuple(s2)} do not fit the weight "
            f"{tuple(ws)} (out_features, in1_features, in2_features); batch dims must agree"
        )
    _same_dtype("bilinear", input1, weight)
    out = ops.einsum("...i,oij,...j->...o", input1, weight, input2)
    return out if bias is None else out + bias


# ================================================================== convolution
def conv_transpose1d(input: Tensor, weight: Tensor, bias: Tensor | None = None,  # noqa: A002
                     stride: Any = 1, padding: Any = 0, output_padding: Any = 0, groups: int = 1,
                     dilation: Any = 1) -> Tensor:
    """1-d transposed convolution as a 2-d one over a height of 1."""
    unbatched = input._data.ndim == 2
    x = ops.unsqueeze(input, 0) if unbatched else input
    out = ops.conv_transpose2d(ops.unsqueeze(x, 2), ops.unsqueeze(weight, 2), bias, (1, _one(stride)),
                               (0, _one(padding)), (0, _one(output_padding)), groups,
                               (1, _one(dilation)))
    out = ops.squeeze(out, 2)
    return ops.squeeze(out, 0) if unbatched else out


def _one(v: Any) -> int:
    return int(v[0]) if isinstance(v, (tuple, list)) else int(v)


# ====================================================================== pooling
def _stride_1d(stride: Any) -> tuple[int, int] | None:
    """A 1-d pooling stride as the 2-d one over a height of 1 (None: the kernel size)."""
    return None if stride is None or stride == [] else (1, _one(stride))


def max_pool1d(input: Tensor, kernel_size: Any, stride: Any = None, padding: Any = 0,  # noqa: A002
               dilation: Any = 1, ceil_mode: bool = False, return_indices: bool = False) -> Any:
    """Max over windows of the last dimension: input (N, C, L) or (C, L)."""
    out = ops.max_pool2d(ops.unsqueeze(input, -2), (1, _one(kernel_size)), _stride_1d(stride),
                         (0, _one(padding)), (1, _one(dilation)), ceil_mode, return_indices)
    if return_indices:
        return ops.squeeze(out[0], -2), ops.squeeze(out[1], -2)
    return ops.squeeze(out, -2)


def avg_pool1d(input: Tensor, kernel_size: Any, stride: Any = None, padding: Any = 0,  # noqa: A002
               ceil_mode: bool = False, count_include_pad: bool = True) -> Tensor:
    out = ops.avg_pool2d(ops.unsqueeze(input, -2), (1, _one(kernel_size)), _stride_1d(stride),
                         (0, _one(padding)), ceil_mode, count_include_pad)
    return ops.squeeze(out, -2)


def _out_pair(output_size: Any, hw: tuple[int, int]) -> tuple[int, int]:
    if isinstance(output_size, (tuple, list)):
        if len(output_size) != 2:
            raise ValueError(f"output_size must be an int or a pair, got {output_size}")
        oh, ow = output_size
    else:
        oh = ow = output_size
    return (hw[0] if oh is None else int(oh), hw[1] if ow is None else int(ow))


def _bounds(size: int, out: int) -> list[tuple[int, int]]:
    """PyTorch's adaptive windows: [floor(i*size/out), ceil((i+1)*size/out)) for each output i."""
    return [((i * size) // out, -((-(i + 1) * size) // out)) for i in range(out)]


def _pool_matrix(size: int, out: int, dtype: np.dtype) -> np.ndarray:
    m = np.zeros((out, size), dtype=dtype)
    for i, (lo, hi) in enumerate(_bounds(size, out)):
        m[i, lo:hi] = 1.0 / (hi - lo)
    return m


def _adaptive_input(input: Tensor, fn: str) -> tuple[Tensor, bool]:
    _need_tensor(input, fn)
    nd = input._data.ndim
    if nd not in (3, 4):
        raise ValueError(f"{fn}(): expected a 3-d (C, H, W) or 4-d (N, C, H, W) input, got shape "
                         f"{tuple(input._data.shape)}")
    return (ops.unsqueeze(input, 0), True) if nd == 3 else (input, False)


def adaptive_avg_pool2d(input: Tensor, output_size: Any) -> Tensor:  # noqa: A002
    """Average over PyTorch's adaptive windows so the output is ``output_size`` (None keeps a size)."""
    x, unbatched = _adaptive_input(input, "adaptive_avg_pool2d")
    n, c, h, w = x._data.shape
    oh, ow = _out_pair(output_size, (h, w))
    if (oh, ow) == (1, 1):
        out = ops.mean(x, (2, 3), keepdim=True)
    elif h % oh == 0 and w % ow == 0:  # equal windows: one reshape and a mean
        out = ops.mean(ops.reshape(x, (n, c, oh, h // oh, ow, w // ow)), (3, 5))
    else:  # overlapping windows: averaging is linear, so it is P_h @ x @ P_wᵀ
        dt = x._data.dtype
        out = ops.matmul(ops.matmul(wrap(_pool_matrix(h, oh, dt)), x),
                         wrap(np.ascontiguousarray(_pool_matrix(w, ow, dt).T)))
    return ops.squeeze(out, 0) if unbatched else out


def adaptive_avg_pool1d(input: Tensor, output_size: Any) -> Tensor:  # noqa: A002
    return ops.squeeze(adaptive_avg_pool2d(ops.unsqueeze(input, -2), (1, _one(output_size))), -2)


def adaptive_max_pool2d(input: Tensor, output_size: Any, return_indices: bool = False) -> Any:  # noqa: A002
    """Max over PyTorch's adaptive windows (indices are flat positions in each H*W plane)."""
    x, unbatched = _adaptive_input(input, "adaptive_max_pool2d")
    n, c, h, w = x._data.shape
    oh, ow = _out_pair(output_size, (h, w))
    if h % oh == 0 and w % ow == 0:
        res = ops.max_pool2d(x, (h // oh, w // ow), return_indices=return_indices)
        out, idx = res if return_indices else (res, None)
    else:
        flat = ops.reshape(x, (n, c, h * w))
        cells = []
        for r0, r1 in _bounds(h, oh):
            for c0, c1 in _bounds(w, ow):
                cells.append((np.arange(r0, r1)[:, None] * w + np.arange(c0, c1)[None, :]).reshape(-1))
        size = max(len(cell) for cell in cells)
        # Pad each window's index list by repeating its first entry: a repeat never changes a max.
        table = np.stack([np.concatenate([cell, np.full(size - len(cell), cell[0])]) for cell in cells])
        windows = ops.reshape(ops.getitem(flat, (slice(None), slice(None), table)),
                              (n, c, oh * ow, size))
        arg = np.argmax(windows._data, axis=-1)
        idx_np = table[np.arange(oh * ow), arg].reshape(n, c, oh, ow)
        out = ops.reshape(ops.gather(flat, 2, idx_np.reshape(n, c, -1)), (n, c, oh, ow))
        idx = wrap(idx_np.astype(np.int64))
    if unbatched:
        out = ops.squeeze(out, 0)
        idx = ops.squeeze(idx, 0) if idx is not None else None
    return (out, idx) if return_indices else out


def adaptive_max_pool1d(input: Tensor, output_size: Any, return_indices: bool = False) -> Any:  # noqa: A002
    res = adaptive_max_pool2d(ops.unsqueeze(input, -2), (1, _one(output_size)), return_indices)
    if return_indices:
        return ops.squeeze(res[0], -2), ops.squeeze(res[1], -2)
    return ops.squeeze(res, -2)


# ====================================================================== dropout
def dropout(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:  # noqa: A002
    """Zero each element with probability ``p`` and scale the rest by 1/(1-p); identity unless training."""
    if inplace and training and p:
        return _inplace(input, "dropout_", lambda t: ops.dropout(t, p, True))
    return ops.dropout(input, p, training)


# ==================================================================== embedding
def embedding(input: Tensor, weight: Tensor, padding_idx: int | None = None,  # noqa: A002
              max_norm: float | None = None, norm_type: float = 2.0,
              scale_grad_by_freq: bool = False, sparse: bool = False) -> Tensor:
    """Rows of ``weight`` (num_embeddings, dim) at integer ``input`` (any shape) -> (*input.shape, dim)."""
    idx = input._data if isinstance(input, Tensor) else np.asarray(input)
    if idx.dtype.kind not in "iu":
        raise RuntimeError(
            f"embedding(): indices must be an integer tensor (int64 or int32), got dtype "
            f"{idx.dtype}; convert them with x.long()"
        )
    num = weight._data.shape[0]
    if idx.size and (idx.min() < 0 or idx.max() >= num):
        bad = idx.min() if idx.min() < 0 else idx.max()
        raise IndexError(f"embedding(): index {int(bad)} is out of range for {num} embeddings "
                         f"(valid indices are 0..{num - 1})")
    if sparse:
        raise NotImplementedError("embedding(): sparse gradients are not supported; use sparse=False")
    if padding_idx is not None and padding_idx < 0:
        padding_idx += num
    if max_norm is not None:  # renormalise the looked-up rows in place, as PyTorch does
        rows = np.unique(idx)
        data = weight._data
        norms = np.linalg.norm(data[rows], ord=norm_type, axis=1, keepdims=True)
        scale = np.where(norms > max_norm, max_norm / (norms + 1e-7), 1.0)
        data[rows] = data[rows] * scale.astype(data.dtype)
        weight._vc[0] += 1
    ids = input if isinstance(input, Tensor) else wrap(idx)
    if idx.dtype != np.int64:
        ids = ids.to(np.int64)  # an op: a compiled caller sees the ids it indexes with
    out = ops.getitem(weight, ids._data)
    if padding_idx is not None:  # the padding row receives no gradient
        keep = ops.unsqueeze(ops.ne(ids, padding_idx), -1)
        out = ops.where(keep, out, out.detach())
    if scale_grad_by_freq:  # gradient of each row divided by its count in this batch
        _, inverse, counts = np.unique(idx, return_inverse=True, return_counts=True)
        s = wrap((1.0 / counts[inverse.reshape(idx.shape)])[..., None].astype(out._data.dtype))
        out = out * s + (out - out * s).detach()
    return out


def one_hot(tensor: Tensor, num_classes: int = -1) -> Tensor:
    """(*) int64 class indices -> (*, num_classes) int64 one-hot rows."""
    idx = tensor._data if isinstance(tensor, Tensor) else np.asarray(tensor)
    if idx.dtype.kind not in "iu":
        raise RuntimeError(
            f"one_hot is only applicable to index tensor of type LongTensor (got dtype {idx.dtype}); "
            "convert with x.long()"
        )
    if idx.size and idx.min() < 0:
        raise RuntimeError("Class values must be non-negative.")
    if num_classes == -1:
        num_classes = int(idx.max()) + 1 if idx.size else 0
    elif idx.size and idx.max() >= num_classes:
        raise RuntimeError(f"Class values must be smaller than num_classes ({num_classes}), "
                           f"got {int(idx.max())}.")
    out = np.zeros(idx.shape + (num_classes,), dtype=np.int64)
    np.put_along_axis(out, idx[..., None].astype(np.int64), 1, axis=-1)
    return wrap(out)


# ========================================================================= pad
def _pad_index(n: int, lo: int, hi: int, mode: str) -> np.ndarray:
    i = np.arange(-lo, n + hi)
    if mode == "replicate":
        return np.clip(i, 0, n - 1)
    if mode == "circular":
        if lo > n or hi > n:
            raise ValueError(f"pad(): circular padding ({lo}, {hi}) cannot exceed the size {n}")
        return i % n
    if lo >= n or hi >= n:  # reflect
        raise ValueError(f"pad(): reflect padding ({lo}, {hi}) must be smaller than the size {n}")
    i = np.abs(i)
    return np.where(i > n - 1, 2 * (n - 1) - i, i)


def pad(input: Tensor, pad: Sequence[int], mode: str = "constant",  # noqa: A002
        value: float | None = None) -> Tensor:
    """Pad the last len(pad)//2 dims: ``pad = (left, right, top, bottom, ...)`` from the last dim back.

    ``mode``: 'constant' (``value``, default 0), 'reflect', 'replicate' or 'circular'.
    """
    if mode == "constant":
        return ops.pad(input, pad, value=0.0 if value is None else value)
    if mode not in ("reflect", "replicate", "circular"):
        raise ValueError(f"pad(): mode must be 'constant', 'reflect', 'replicate' or 'circular', "
                         f"got {mode!r}")
    if value:
        raise ValueError(f"pad(): padding mode {mode!r} doesn't take in value argument")
    if len(pad) % 2:
        raise ValueError(f"pad(): padding length must be even, got {len(pad)}")
    out = input
    nd = input._data.ndim
    for i in range(len(pad) // 2):
        d = nd - 1 - i
        lo, hi = int(pad[2 * i]), int(pad[2 * i + 1])
        if lo or hi:
            out = ops.index_select(out, d, _pad_index(out._data.shape[d], lo, hi, mode))
    return out


# ================================================================ normalisation
def normalize(input: Tensor, p: float = 2.0, dim: int = 1, eps: float = 1e-12,  # noqa: A002
              out: Any = None) -> Tensor:
    """x / max(||x||_p, eps) along ``dim``: unit-norm vectors."""
    return input / ops.clamp(ops.norm(input, p, dim, keepdim=True), min=eps)


def cosine_similarity(x1: Tensor, x2: Tensor, dim: int = 1, eps: float = 1e-8) -> Tensor:
    """<x1, x2> / max(||x1|| ||x2||, eps) along ``dim`` (broadcasting)."""
    n12 = ops.sum(x1 * x1, dim) * ops.sum(x2 * x2, dim)
    return ops.sum(x1 * x2, dim) / ops.sqrt(ops.clamp(n12, min=eps * eps))


def pairwise_distance(x1: Tensor, x2: Tensor, p: float = 2.0, eps: float = 1e-6,
                      keepdim: bool = False) -> Tensor:
    """||x1 - x2 + eps||_p along the last dimension."""
    return ops.norm(x1 - x2 + eps, p, -1, keepdim=keepdim)



# attention is composed from the functions above, so it is imported last
from .attention import multi_head_attention_forward, scaled_dot_product_attention  # noqa: E402,F401
from .embedding_bag import embedding_bag  # noqa: E402,F401
