"""Connectionist temporal classification (CTC) loss as one primitive.

For log-probabilities ``lp`` (T, N, C) and a target ``l`` of length L per sample, CTC sums the
probability of every alignment of ``l`` to the T frames, by the forward-backward recursion over
the extended label ``l'`` = (blank, l1, blank, l2, ..., lL, blank) of length S' = 2L + 1::

    alpha_t(s) = lp[t, l'(s)] + lse(alpha_{t-1}(s), alpha_{t-1}(s-1), alpha_{t-1}(s-2) if skip(s))
    nll = -lse(alpha_{T-1}(2L), alpha_{T-1}(2L-1))

where ``skip(s)``: s is a label position whose label differs from the one two back.  beta is
the same recursion run backwards, and the gradient of ``nll`` with respect to ``lp[t, c]`` is
``-exp(lse_{s: l'(s)=c}(alpha_t(s) + beta_t(s)) - lp[t, c] + nll)`` (minus the posterior of
class c at frame t).  The recursion is vectorised over the batch and over s; only time loops.

The primitive computes the per-sample losses and, when a gradient may be asked for, that
gradient too (PyTorch also derives it in the forward pass), packed as one array
``(N, 1 + T*C)``: column 0 the losses, the rest each sample's (T, C) gradient.  The reductions
are ops on the losses.  The rules use the packed gradient directly; when a graph of the
derivative is wanted (``create_graph=True``, forward mode, vmap) they run the same recursion
with ops instead, so that higher derivatives are exact.

One difference from PyTorch, by design: PyTorch returns the gradient with respect to the
unnormalised logits of a log_softmax (``exp(lp) - posterior``), which is not the derivative of
the loss with respect to ``log_probs`` and fails gradcheck; chainrule returns the derivative
(``-posterior``).  Through ``log_softmax`` (the way CTC is used) both give the same gradient.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import numpy as np

from .._tensor import Tensor, wrap
from ..autograd import _levels
from ..autograd.grad_mode import state as _grad_state
from . import _core
from . import elementwise as ew
from ._core import Primitive, apply, fail, structural

__all__ = ["ctc_loss"]

# Log-probability floor: finite, so exp(NEG - m) is exactly 0 and no -inf - -inf makes a NaN (a
# NaN that the ops version of the recursion would pass on to higher derivatives).  Real values
# stay far above it; a loss beyond -NEG / 2 means "no alignment" and becomes inf.
NEG = -1e30


# ------------------------------------------------------------------ the recursion, on two backends
def _np_shift(a: np.ndarray, k: int) -> np.ndarray:
    out = np.full_like(a, NEG)
    if a.shape[-1] > k:
        out[..., k:] = a[..., :-k]
    return out


def _ops_shift(a: Any, k: int) -> Any:
    from .shape import cat

    n, s = a.shape
    if s <= k:
        return wrap(np.full((n, s), NEG, a._data.dtype))
    return cat([wrap(np.full((n, k), NEG, a._data.dtype)), a[:, : s - k]], 1)


def _ops_scatter(e: Any, ext: np.ndarray, c: int) -> Any:
    """sum over s with l'(s) = c, as a batched matmul with the one-hot (N, S', C) of l'."""
    from .linalg import matmul
    from .shape import permute

    onehot = structural((ext[:, :, None] == np.arange(c)).astype(e._data.dtype))
    return permute(matmul(permute(e, (1, 0, 2)), onehot), (1, 0, 2))


def _np_scatter(e: np.ndarray, ext: np.ndarray, c: int) -> np.ndarray:
    t, n, s = e.shape
    out = np.zeros((t, n * c), e.dtype)
    np.add.at(out, (slice(None), (np.arange(n)[:, None] * c + ext).reshape(-1)), e.reshape(t, n * s))
    return out.reshape(t, n, c)


_NP = SimpleNamespace(
    exp=np.exp,
    log=np.log,
    where=np.where,
    maximum=np.maximum,
    shift=_np_shift,
    stack=lambda xs: np.stack(xs),
    scatter=_np_scatter,
    take=lambda a, idx: np.take_along_axis(a, idx, -1),
    index=lambda a, idx: a[idx],
    floor=lambda a: np.maximum(a, NEG),
    const=lambda a: a,
)


def _ops_namespace() -> SimpleNamespace:
    from .index import gather, getitem
    from .shape import stack

    return SimpleNamespace(
        exp=ew.exp,
        log=ew.log,
        where=ew.where,
        maximum=ew.maximum,
        shift=_ops_shift,
        stack=lambda xs: stack(xs, 0),
        scatter=_ops_scatter,
        take=lambda a, idx: gather(a, a.ndim - 1, structural(idx)),
        index=lambda a, idx: getitem(a, tuple(structural(i) for i in idx)),
        floor=lambda a: ew.clamp(a, min=NEG),
        const=lambda a: wrap(a),
    )


def _lse3(B: Any, a: Any, b: Any, c: Any) -> Any:
    m = B.maximum(B.maximum(a, b), c)
    return m + B.log(B.exp(a - m) + B.exp(b - m) + B.exp(c - m))


def _alphas(B: Any, lpx: Any, skip: np.ndarray, il: np.ndarray, dtype: np.dtype) -> tuple[Any, Any]:
    """alpha_t for every t (T, N, S'), frozen once t reaches a sample's input length, and the
    state before the first frame (1 at s = 0) for samples with no frames."""
    t_len, n, s = lpx.shape
    start = np.full((n, s), NEG, dtype)
    start[:, 0] = 0.0
    a = B.const(start)
    out = []
    for t in range(t_len):
        new = lpx[t] + _lse3(B, a, B.shift(a, 1), B.where(skip, B.shift(a, 2), NEG))
        a = B.where((t < il)[:, None], new, a)
        out.append(a)
    return (B.stack(out) if out else None), a


def _ctc(B: Any, lp: Any, ext: np.ndarray, il: np.ndarray, tl: np.ndarray, want_grad: bool) -> tuple:
    """Per-sample negative log-likelihood (N,) and, if asked, its gradient wrt ``lp`` (T, N, C).

    ``ext`` (N, S') is each sample's extended label (blanks between labels; padding past 2L is
    blank), ``il``/``tl`` the input and target lengths.  Values, not yet inf for impossible
    alignments (those are far beyond -NEG / 2)."""
    t_len, n, c = lp.shape
    s_len = ext.shape[1]
    dtype = lp.dtype if isinstance(lp, np.ndarray) else lp._data.dtype
    pos = np.arange(s_len)
    skip = (pos % 2 == 1)[None, :] & (
        ext != np.concatenate([ext[:, :1], ext[:, :1], ext[:, :-2]], 1)[:, :s_len]
    )
    skip[:, :2] = False
    lpc = B.floor(lp)
    lpx = B.take(lpc, np.broadcast_to(ext, (t_len, n, s_len)))  # (T, N, S'): lp at each l'(s)
    alphas, last = _alphas(B, lpx, skip, il, dtype)
    end = (2 * tl)[:, None]
    ll_end = B.take(last, end)[:, 0]
    ll_prev = B.where(tl > 0, B.take(last, np.maximum(end - 1, 0))[:, 0], NEG)
    m = B.maximum(ll_end, ll_prev)
    nll = -(m + B.log(B.exp(ll_end - m) + B.exp(ll_prev - m)))
    if not want_grad or not t_len:
        return nll, None
    # beta: the alpha recursion on each sample's reversed frames and reversed extended label
    t_idx = np.arange(t_len)[:, None]
    rev_t = np.clip(il[None, :] - 1 - t_idx, 0, max(t_len - 1, 0))  # (T, N)
    rev_s = np.clip(2 * tl[:, None] - pos[None, :], 0, s_len - 1)  # (N, S')
    n_idx = np.arange(n)[None, :, None]
    lpx_rev = B.index(lpx, (rev_t[:, :, None], n_idx, rev_s[None]))
    skip_rev = np.take_along_axis(skip, np.clip(2 * tl[:, None] - pos + 2, 0, s_len - 1), 1)
    skip_rev &= (pos >= 2) & (pos <= 2 * tl[:, None])
    alphas_rev, _ = _alphas(B, lpx_rev, skip_rev, il, dtype)
    betas = B.index(alphas_rev, (rev_t[:, :, None], n_idx, rev_s[None]))
    live = (t_idx < il[None, :])[:, :, None] & (pos <= 2 * tl[:, None])[None]  # (T, N, S')
    ab = alphas + B.where(live, betas, NEG)
    # the posterior of each class: log-sum-exp of alpha * beta over the positions holding it
    top = _max_last(B, ab)
    summed = B.scatter(B.exp(ab - top), ext, c)  # (T, N, C)
    has = summed > 0
    logpost = B.log(B.where(has, summed, 1.0)) + top - lpc + nll[None, :, None]
    grad = B.where(has & (t_idx < il[None, :])[:, :, None], -B.exp(logpost), 0.0)
    return nll, grad


def _max_last(B: Any, a: Any) -> Any:
    """max over the last axis, keeping it (the shift of a log-sum-exp; its gradient cancels)."""
    if B is _NP:
        return np.max(a, axis=-1, keepdims=True)
    from .reduce import amax

    return amax(a, -1, keepdim=True)


def _extended(targets: np.ndarray, tl: np.ndarray, blank: int) -> np.ndarray:
    """l' per sample (N, 2*max(L) + 1): blank, l1, blank, ..., blank; blank past 2L."""
    n = targets.shape[0]
    s = int(tl.max()) if n else 0
    ext = np.full((n, 2 * s + 1), blank, np.int64)
    if s:
        k = np.arange(s)
        ext[:, 1::2] = np.where(k[None, :] < tl[:, None], targets[:, :s], blank)
    return ext


def _int_data(a: Any) -> np.ndarray:
    return (a._data if isinstance(a, Tensor) else np.asarray(a)).astype(np.int64, copy=False)


# ------------------------------------------------------------------ the primitive
def _ctc_forward(
    log_probs: np.ndarray,
    targets: np.ndarray,
    input_lengths: np.ndarray,
    target_lengths: np.ndarray,
    *,
    blank: int,
    zero_infinity: bool,
    with_grad: bool,
) -> np.ndarray:
    """Packed (N, 1 + T*C): each sample's loss, then (with_grad) its gradient wrt lp[:, n, :]."""
    t_len, n, c = log_probs.shape
    il, tl = input_lengths.astype(np.int64), target_lengths.astype(np.int64)
    nll, grad = _ctc(_NP, log_probs, _extended(targets, tl, blank), il, tl, with_grad)
    bad = nll > -NEG / 2  # no alignment fits (too few frames for the labels and repeats)
    nll = np.where(bad, 0.0 if zero_infinity else np.inf, nll).astype(log_probs.dtype)
    if not with_grad:
        return nll[:, None]
    if grad is None:
        grad = np.zeros((t_len, n, c), log_probs.dtype)
    if bad.any():  # PyTorch: NaN on the frames of an impossible sample, 0 with zero_infinity
        frames = np.arange(t_len)[:, None] < il[None, :]
        grad[:, bad] = np.where(frames[:, bad, None] & (not zero_infinity), np.nan, 0.0)
    out = np.empty((n, 1 + t_len * c), log_probs.dtype)
    out[:, 0] = nll
    out[:, 1:] = grad.transpose(1, 0, 2).reshape(n, t_len * c)
    return out


def _exact(log_probs: Any, *ints: Any) -> bool:
    """Whether the gradient must be a differentiable function of ``log_probs`` (a graph of the
    derivative is being built, or it carries forward-mode tangents) and can be: the ops version
    of the recursion reads targets and lengths as plain values, so they must not be batched."""
    if not isinstance(log_probs, Tensor) or not (log_probs._rg or _levels.has_levels(log_probs)):
        return False
    return not any(isinstance(a, Tensor) and _levels.has_levels(a) for a in ints)


def _grad_of(
    log_probs: Any,
    targets: Any,
    input_lengths: Any,
    target_lengths: Any,
    ans: Any,
    blank: int,
    zero_infinity: bool,
) -> Any:
    """d(loss_n)/d(lp[t, n, c]) as (T, N, C): from the packed output, or recomputed with ops."""
    t_len, n, c = log_probs.shape
    if _exact(log_probs, targets, input_lengths, target_lengths):
        il, tl = _int_data(input_lengths), _int_data(target_lengths)
        nll, grad = _ctc(_ops_namespace(), log_probs, _extended(_int_data(targets), tl, blank), il, tl, True)
        if grad is None:
            return wrap(np.zeros((t_len, n, c), log_probs._data.dtype))
        frames = structural(np.arange(t_len)[:, None, None] < il[None, :, None])
        bad = (nll > -NEG / 2)[None, :, None]
        return ew.where(bad, ew.where(frames & (not zero_infinity), np.nan, 0.0), grad)
    if isinstance(ans, Tensor):
        from .shape import permute, reshape

        return permute(reshape(ans[:, 1:], (n, t_len, c)), (1, 0, 2))
    return ans[:, 1:].reshape(n, t_len, c).transpose(1, 0, 2)


def _vjp(
    g: Any,
    log_probs: Any,
    targets: Any,
    input_lengths: Any,
    target_lengths: Any,
    ans: Any,
    blank: int,
    zero_infinity: bool,
) -> Any:
    """g's loss column times the gradient.  The cotangent of the packed gradient is not used:
    it reaches this node only from rules that read ``ans``, and those of the exact path do not."""
    grad = _grad_of(log_probs, targets, input_lengths, target_lengths, ans, blank, zero_infinity)
    n = log_probs.shape[1]
    if isinstance(g, Tensor) or isinstance(grad, Tensor):
        from .shape import reshape

        return grad * reshape(g[:, 0], (1, n, 1))
    return grad * g[:, 0][None, :, None]


def _jvp(
    t: Any,
    log_probs: Any,
    targets: Any,
    input_lengths: Any,
    target_lengths: Any,
    ans: Any,
    blank: int,
    zero_infinity: bool,
) -> Any:
    """<gradient, tangent> per sample in the loss column; zero for the packed gradient (which no
    public function returns)."""
    from .reduce import sum as _sum
    from .shape import cat, reshape

    grad = _grad_of(log_probs, targets, input_lengths, target_lengths, ans, blank, zero_infinity)
    n = log_probs.shape[1]
    col = reshape(_sum(t * grad, (0, 2)), (n, 1))
    rest = ans.shape[1] - 1
    if not rest:
        return col
    dtype = ans._data.dtype if isinstance(ans, Tensor) else ans.dtype
    return cat([col, structural(np.zeros((n, rest), dtype))], 1)


CTC_LOSS = Primitive("CtcLoss", _ctc_forward, public="ctc_loss")
CTC_LOSS.defvjp(_vjp, None, None, None)
CTC_LOSS.defjvp(_jvp, None, None, None)


def _batch_rule(lvl: Any, args: list, batched: list, params: dict) -> Any:
    """vmap: fold the vmap batch into the sample batch N (samples are independent)."""
    from ._dims import batch_expand as expand
    from .shape import permute, reshape

    b = lvl.size
    lp, tg, il, tl = (a if f else expand(a, b) for a, f in zip(args, batched))
    _, t_len, n, c = lp.shape
    out = apply(
        CTC_LOSS,
        (
            reshape(permute(lp, (1, 0, 2, 3)), (t_len, b * n, c)),
            reshape(tg, (b * n, -1)),
            reshape(il, (b * n,)),
            reshape(tl, (b * n,)),
        ),
        params,
    )
    return reshape(out, (b, n, -1))


CTC_LOSS.extra["batch"] = _batch_rule


# ------------------------------------------------------------------ the public function
def _shape(a: Any) -> tuple:
    return tuple(a._data.shape) if isinstance(a, Tensor) else tuple(np.shape(a))


def _lengths(a: Any, name: str, n: int) -> Any:
    """Lengths as int64, one per sample: a list/tuple of ints or an integer tensor (any shape with
    N elements, as PyTorch flattens it)."""
    from .shape import reshape

    if isinstance(a, Tensor):
        if a._data.dtype.kind not in "iu":
            raise fail(f"ctc_loss(): {name} must be integral (int64 or int32), got dtype {a._data.dtype}")
        if a._data.size != n:
            raise fail(
                f"ctc_loss(): {name} must have one entry per batch element (N={n}), got shape {_shape(a)}"
            )
        out = reshape(a, (n,))
        return out if a._data.dtype == np.int64 else ew.cast(out, np.int64)
    arr = np.asarray(a)
    if isinstance(a, (int, np.integer)) or arr.ndim == 0:
        raise fail(
            f"ctc_loss(): {name} must be a tuple or list of ints or an integer tensor, got "
            f"{type(a).__name__}",
            TypeError,
        )
    if arr.size and arr.dtype.kind not in "iu":
        raise fail(f"ctc_loss(): {name} must be integers, got {arr.dtype} values", TypeError)
    if arr.size != n:
        raise fail(f"ctc_loss(): {name} must have one entry per batch element (N={n}), got {arr.size}")
    return structural(arr.reshape(n).astype(np.int64))  # Python values, not tensor values


def _check_range(values: np.ndarray, name: str, low: int, high: int | None, why: str) -> None:
    bad = (values < low) | (values > high) if high is not None else values < low
    if bad.any():
        k = int(np.argmax(bad))
        limit = f"in [{low}, {high}]" if high is not None else f"at least {low}"
        raise fail(f"ctc_loss(): {name} must be {limit} ({why}), got {int(values[k])} for batch element {k}")


def ctc_loss(
    log_probs: Any,
    targets: Any,
    input_lengths: Any,
    target_lengths: Any,
    blank: int = 0,
    reduction: str = "mean",
    zero_infinity: bool = False,
) -> Any:
    """Connectionist temporal classification loss (``torch.nn.functional.ctc_loss``).

    ``log_probs`` (T, N, C) or unbatched (T, C): log-softmax outputs over C classes, blank among
    them.  ``targets``: padded (N, S) or concatenated 1-d (sum of target_lengths) class indices.
    Lengths: tuples/lists of ints or integer tensors, one per sample.  ``reduction='mean'``
    divides each loss by its target length (at least 1), then averages over the batch.

    >>> lp = chainrule.randn(50, 2, 20).log_softmax(2)
    >>> ctc_loss(lp, chainrule.randint(1, 20, (2, 10)), [50, 40], [10, 7])
    """
    from .reduce import mean
    from .reduce import sum as _sum
    from .shape import reshape

    if reduction not in ("mean", "sum", "none"):
        raise fail(f"ctc_loss(): reduction must be 'mean', 'sum' or 'none', got {reduction!r}", ValueError)
    if not isinstance(log_probs, Tensor):
        raise fail(f"ctc_loss(): log_probs must be a tensor, got {type(log_probs).__name__}", TypeError)
    xs = _shape(log_probs)
    if log_probs._data.dtype.kind != "f":
        raise fail(
            f"ctc_loss(): log_probs must be floating point (log-softmax outputs), got dtype "
            f"{log_probs._data.dtype}"
        )
    if len(xs) not in (2, 3):
        raise fail(
            f"ctc_loss(): expected log_probs of shape (T, N, C) or unbatched (T, C), got a "
            f"{len(xs)}-d tensor of shape {xs}"
        )
    if 0 in xs:
        raise fail(f"ctc_loss(): log_probs must not be empty, got shape {xs}")
    unbatched = len(xs) == 2
    if unbatched:
        log_probs = reshape(log_probs, (xs[0], 1, xs[1]))
        if len(_shape(targets)) == 1:
            targets = (
                reshape(targets, (1, -1)) if isinstance(targets, Tensor) else np.reshape(targets, (1, -1))
            )
        if not isinstance(input_lengths, Tensor) and np.ndim(input_lengths) == 0:
            raise fail(
                "ctc_loss(): input_lengths must be a tuple or list of ints or an integer tensor, "
                f"got {type(input_lengths).__name__}",
                TypeError,
            )
    if isinstance(input_lengths, Tensor) != isinstance(target_lengths, Tensor):
        raise fail(
            "ctc_loss(): input_lengths and target_lengths must both be integer tensors or both "
            f"tuples/lists of ints, got {type(input_lengths).__name__} and "
            f"{type(target_lengths).__name__}",
            TypeError,
        )
    t_len, n, c = _shape(log_probs)
    if not 0 <= blank < c:
        raise fail(f"ctc_loss(): blank must be in label range [0, {c}) for {c} classes, got {blank}")
    il = _lengths(input_lengths, "input_lengths", n)
    tl = _lengths(target_lengths, "target_lengths", n)
    il_v, tl_v = _int_data(il), _int_data(tl)
    _check_range(il_v, "input_lengths", 0, t_len, f"log_probs has T={t_len} frames")
    _check_range(tl_v, "target_lengths", 0, None, "a count of labels")
    ts = _shape(targets)
    if not isinstance(targets, Tensor):
        targets = structural(np.asarray(targets))
    tdt = targets._data.dtype if isinstance(targets, Tensor) else targets.dtype
    if tdt.kind not in "iuf":
        raise fail(f"ctc_loss(): targets must be class indices (int64), got dtype {tdt}")
    if tdt != np.int64:
        targets = (
            ew.cast(targets, np.int64)
            if isinstance(targets, Tensor)
            else structural(targets.astype(np.int64))
        )
    if len(ts) == 2:
        if ts[0] != n:
            raise fail(f"ctc_loss(): padded targets must have shape (N={n}, S), got {ts}")
        _check_range(tl_v, "target_lengths", 0, ts[1], f"the padded targets have S={ts[1]} columns")
    elif len(ts) == 1:
        total = int(tl_v.sum())
        if ts[0] != total:
            raise fail(
                f"ctc_loss(): concatenated 1-d targets must have sum(target_lengths) = {total} "
                f"elements, got {ts[0]}"
            )
        s = int(tl_v.max())
        starts = np.concatenate([[0], np.cumsum(tl_v)[:-1]]).astype(np.int64)
        idx = np.minimum(starts[:, None] + np.arange(s), max(total - 1, 0))
        if isinstance(targets, Tensor) and total:
            targets = targets[structural(idx)]
        else:
            targets = structural(targets[idx] if total else np.zeros((n, 0), np.int64))
    else:
        raise fail(
            f"ctc_loss(): expected targets of shape (N, S) (padded) or (sum(target_lengths),) "
            f"(concatenated), got a {len(ts)}-d tensor of shape {ts}"
        )
    tv = _int_data(targets)
    used = np.arange(tv.shape[1])[None, :] < tl_v[:, None]
    if ((tv < 0) | (tv >= c))[used].any():
        k = int(tv[used][((tv < 0) | (tv >= c))[used]][0])
        raise fail(f"ctc_loss(): target {k} is out of bounds for {c} classes", IndexError)
    at_blank = used & (tv == blank)
    if at_blank.any():
        k, j = (int(v[0]) for v in np.nonzero(at_blank))
        raise fail(
            f"ctc_loss(): targets must not contain the blank index {blank} (found at position {j} "
            f"of batch element {k}); shift the labels or choose another blank="
        )
    with_grad = bool(_core._WRAPPERS) or (_grad_state.grad_enabled and log_probs._rg)
    packed = apply(
        CTC_LOSS,
        (log_probs, targets, il, tl),
        {"blank": int(blank), "zero_infinity": bool(zero_infinity), "with_grad": with_grad},
    )
    losses = packed[:, 0]
    if reduction == "none":
        return reshape(losses, ()) if unbatched else losses
    if reduction == "sum":
        return _sum(losses)
    dtype = log_probs._data.dtype
    per = (
        ew.clamp(ew.cast(tl, dtype), min=1.0)
        if isinstance(tl, Tensor)
        else structural(np.maximum(tl, 1).astype(dtype))
    )
    return mean(losses / per)
