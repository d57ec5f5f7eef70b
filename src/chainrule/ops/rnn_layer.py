"""A whole LSTM or GRU layer (one direction) as one primitive: the time loop runs inside the op.

``nn.LSTM`` projects the whole input sequence with one ``linear`` (both biases folded in),
``xp = x W_ihᵀ + b_ih + b_hh`` of shape (L, N, 4H), and hands the recurrence to ``LstmLayer``:

    gates_t = xp_t + h_{t-1} W_hhᵀ,   i, f, o = σ(.), g = tanh(.)   (gate order i, f, g, o)
    c_t = f c_{t-1} + i g,            h_t = o tanh(c_t)   (then h_t W_hrᵀ with proj_size)

Unrolled with ops, every step is a few nodes and the backward does one small GEMM per step and
weight (K = batch).  As one node the forward is a NumPy loop that keeps each step's activated
gates, and the backward is one NumPy loop back in time followed by dW_hh (and dW_hr) as one
GEMM over all steps.  ``reverse=True`` runs from the last step to the first (the backward
direction of a bidirectional layer), with every result still indexed by time.

The output (6, L, N, H) holds six planes: every step's h (P = proj_size or H wide: the rest
of its plane is zero), c and the activated gates i, f, g, o.  The rules read c and the
activations instead of recomputing them, every step's gate is a contiguous (N, H) block (whole
rows run ~2x faster through NumPy than column slices of (N, 4H)), h's plane is the contiguous
(L, N, H) output the next layer reads, and no slice bound depends on L or N (a trace is the
same for every batch and sequence length).  Every plane is a true output of the op and the VJP
takes the cotangent of each (those of c and the gates are zero unless a rule read them, as
under ``create_graph``), so the rules differentiate again exactly.  With Tensors
(``create_graph=True``, forward mode) the rules are the same loops written with ops.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._tensor import Tensor
from . import elementwise as ew
from ._core import Primitive, apply, fail
from .linalg import matmul
from .shape import cat, contiguous, movedim, reshape, stack, transpose

__all__ = ["gru_layer", "lstm_layer"]


def _shape(a: Any) -> tuple:
    return a._data.shape if isinstance(a, Tensor) else np.shape(a)


def _order(steps: int, reverse: bool) -> range:
    return range(steps - 1, -1, -1) if reverse else range(steps)


def _planes(out: Any, p: int, hs: int) -> tuple[Any, Any, Any]:
    """h (L, N, P), c (L, N, H) and the gates (4, L, N, H) of a packed output (6, L, N, H), as
    views (NumPy slicing on arrays, ops on Tensors)."""
    return (out[0] if p == hs else out[0, :, :, :p]), out[1], out[2:]


# ------------------------------------------------------------------ forward
def _run(
    xp: np.ndarray, h0: np.ndarray, c0: np.ndarray, w_hh: np.ndarray, w_hr: np.ndarray | None, reverse: bool
) -> np.ndarray:
    steps, n, _ = xp.shape
    hs, p = c0.shape[-1], h0.shape[-1]
    dt = np.result_type(xp, h0, c0, w_hh, *(() if w_hr is None else (w_hr,)))
    out = np.empty((6, steps, n, hs), dt)
    if p < hs:
        out[0, :, :, p:] = 0  # the part of h's plane a projection leaves unused
    hseq, cseq, acts = _planes(out, p, hs)
    i_s, f_s, g_s, o_s = acts
    # One (N, P) x (P, H) GEMM per gate, written straight into its plane: W_hh's four (H, P)
    # blocks transposed, as (4, P, H).  (NumPy's one (N, P) x (P, 4H) GEMM is ~25% slower.)
    w4 = np.ascontiguousarray(w_hh.reshape(4, hs, p).transpose(0, 2, 1))
    wr_t = None if w_hr is None else np.ascontiguousarray(w_hr.T)
    xp4 = xp.reshape(steps, n, 4, hs)
    tmp = np.empty((n, hs), dt)
    half = np.array([0.5, 0.5, 1, 0.5], dt)[:, None, None]  # σ(x) = tanh(x / 2) / 2 + 1 / 2: one
    h, c = h0, c0  # tanh call for all four gates (g's plane is scaled by 1)
    shift = 1 - half
    for t in _order(steps, reverse):
        gates = acts[:, t]
        np.matmul(h, w4, out=gates)
        gates += xp4[t].transpose(1, 0, 2)
        gates *= half
        np.tanh(gates, out=gates)
        gates *= half
        gates += shift  # (e^-x overflowing, as in 1 / (1 + e^-x), cannot happen)
        gg, c_new = g_s[t], cseq[t]
        np.multiply(f_s[t], c, out=c_new)
        np.multiply(i_s[t], gg, out=tmp)
        c_new += tmp
        if wr_t is None:
            np.tanh(c_new, out=hseq[t])
            hseq[t] *= o_s[t]
        else:
            np.tanh(c_new, out=tmp)
            tmp *= o_s[t]
            np.matmul(tmp, wr_t, out=hseq[t])
        h, c = hseq[t], c_new
    return out


def _forward(
    xp: np.ndarray, h0: np.ndarray, c0: np.ndarray, w_hh: np.ndarray, *, reverse: bool = False
) -> np.ndarray:
    return _run(xp, h0, c0, w_hh, None, reverse)


def _forward_proj(
    xp: np.ndarray,
    h0: np.ndarray,
    c0: np.ndarray,
    w_hh: np.ndarray,
    w_hr: np.ndarray,
    *,
    reverse: bool = False,
) -> np.ndarray:
    return _run(xp, h0, c0, w_hh, w_hr, reverse)


# ------------------------------------------------------------------ reverse mode
def _vjp_arrays(
    g: np.ndarray,
    h0: np.ndarray,
    c0: np.ndarray,
    w_hh: np.ndarray,
    w_hr: np.ndarray | None,
    ans: np.ndarray,
    reverse: bool,
) -> tuple:
    """Backpropagation through time in NumPy: one loop back, then the weight GEMMs."""
    _, steps, n, hs = ans.shape
    p = h0.shape[-1]
    hseq, cseq, (i_s, f_s, g_s, o_s) = _planes(ans, p, hs)
    gh, gc, ga = _planes(g, p, hs)
    dt = np.result_type(g, ans)
    dxp = np.empty((steps, n, 4 * hs), dt)
    dh = np.zeros((n, p), dt)  # dL/dh_t and dL/dc_t from the steps after t (zero after the last)
    dc = np.zeros((n, hs), dt)
    proj = w_hr is not None
    dhs = np.empty((steps, n, p), dt) if proj else None  # per step dL/dh_t, for dW_hr
    hpre = np.empty((steps, n, hs), dt) if proj else None  # o tanh(c_t), before the projection
    tc, tmp, der = np.empty((n, hs), dt), np.empty((n, hs), dt), np.empty((4, n, hs), dt)
    order = _order(steps, reverse)
    cot = g[1:].any()  # the cotangents of c and the gates: zero unless a rule read them
    for k in range(steps - 1, -1, -1):
        t = order[k]
        c_prev = cseq[order[k - 1]] if k else c0
        i, f, gg, o = i_s[t], f_s[t], g_s[t], o_s[t]
        dh += gh[t]
        if proj:
            dhs[t] = dh
            dhp = dh @ w_hr
        else:
            dhp = dh
        np.tanh(cseq[t], out=tc)
        np.multiply(tc, tc, out=tmp)  # dc_t = gc_t + dc_{t+1} f_{t+1} + dh_t o (1 - tanh² c_t)
        np.subtract(1, tmp, out=tmp)
        tmp *= o
        tmp *= dhp
        dc += tmp
        if cot:
            dc += gc[t]
        # dL/d(gates_t) = (dL/d(activated gate) + its own cotangent) * activation', all four at once
        np.subtract(1, ans[2:, t], out=der)  # σ' = σ (1 - σ), tanh' = (1 - g) (1 + g)
        der[:2] *= ans[2:4, t]
        der[3] *= o
        der[2] *= 1 + gg
        cd = ga[:, t] * der if cot else None
        der[:3] *= dc
        der[3] *= dhp
        for q, x in enumerate((gg, c_prev, i, tc)):
            np.multiply(der[q], x, out=dxp[t, :, q * hs : (q + 1) * hs])
        if cot:
            dxp[t].reshape(n, 4, hs)[:] += cd.transpose(1, 0, 2)
        if proj:
            np.multiply(o, tc, out=hpre[t])
        dc *= f
        np.matmul(dxp[t], w_hh, out=dh)
    # dW_hh = sum_t dgates_tᵀ h_{t-1}: h_{t-1} is the h plane shifted by one step, h0 at the start
    rest, prev = (slice(1, None), slice(None, -1)) if not reverse else (slice(None, -1), slice(1, None))
    dw = dxp[rest].reshape(-1, 4 * hs).T @ hseq[prev].reshape(-1, p)
    dw += dxp[order[0]].T @ h0
    out = [dxp, dh, dc, dw]
    if proj:
        out.append(dhs.reshape(-1, p).T @ hpre.reshape(-1, hs))
    return tuple(out)


def _vjp_ops(g: Any, h0: Any, c0: Any, w_hh: Any, w_hr: Any, ans: Any, reverse: bool) -> tuple:
    """The same rule written with ops (for ``create_graph=True``): it differentiates again."""
    steps = _shape(ans)[1]
    p, hs = _shape(h0)[-1], _shape(c0)[-1]
    hseq, cseq, acts = _planes(ans, p, hs)
    gh, gc, ga = _planes(g, p, hs)
    order = _order(steps, reverse)
    dh_next: Any = None  # dL/dh_t and dL/dc_t from the steps after t
    dc_next: Any = None
    dxs: list[Any] = [None] * steps
    dw_hh: Any = None
    dw_hr: Any = None
    for k in range(steps - 1, -1, -1):
        t = order[k]
        h_prev, c_prev = (hseq[order[k - 1]], cseq[order[k - 1]]) if k else (h0, c0)
        i, f, gg, o = (acts[q, t] for q in range(4))
        dh = gh[t] if dh_next is None else gh[t] + dh_next
        dhp = dh if w_hr is None else matmul(dh, w_hr)
        tc = ew.tanh(cseq[t])
        dc = gc[t] + dhp * o * (1 - tc * tc)
        if dc_next is not None:
            dc = dc + dc_next
        d = cat(
            [
                (dc * gg + ga[0, t]) * (i * (1 - i)),
                (dc * c_prev + ga[1, t]) * (f * (1 - f)),
                (dc * i + ga[2, t]) * (1 - gg * gg),
                (dhp * tc + ga[3, t]) * (o * (1 - o)),
            ],
            -1,
        )
        dxs[t] = d
        dc_next = dc * f
        dh_next = matmul(d, w_hh)
        dw_hh = _plus(dw_hh, matmul(transpose(d, 0, 1), h_prev))
        if w_hr is not None:
            dw_hr = _plus(dw_hr, matmul(transpose(dh, 0, 1), o * tc))
    out = (stack(dxs, 0), dh_next, dc_next, dw_hh)
    return out if w_hr is None else out + (dw_hr,)


def _plus(acc: Any, term: Any) -> Any:
    return term if acc is None else acc + term


def _is_graph(*vals: Any) -> bool:
    return any(isinstance(v, Tensor) for v in vals)


def _vjp(g: Any, h0: Any, c0: Any, w_hh: Any, ans: Any, reverse: bool) -> tuple:
    if _is_graph(g, h0, c0, w_hh, ans):
        return _vjp_ops(g, h0, c0, w_hh, None, ans, reverse)
    return _vjp_arrays(g, h0, c0, w_hh, None, ans, reverse)


def _vjp_proj(g: Any, h0: Any, c0: Any, w_hh: Any, w_hr: Any, ans: Any, reverse: bool) -> tuple:
    if _is_graph(g, h0, c0, w_hh, w_hr, ans):
        return _vjp_ops(g, h0, c0, w_hh, w_hr, ans, reverse)
    return _vjp_arrays(g, h0, c0, w_hh, w_hr, ans, reverse)


# ------------------------------------------------------------------ forward mode
def _jvp_any(ts: tuple, h0: Any, c0: Any, w_hh: Any, w_hr: Any, ans: Any, reverse: bool) -> Any:
    """The tangent of every plane, step by step with ops (None tangents are zeros)."""
    txp, th0, tc0, tw = ts[:4]
    twr = ts[4] if len(ts) > 4 else None
    _, steps, n, hs = _shape(ans)
    p = _shape(h0)[-1]
    hseq, cseq, acts = _planes(ans, p, hs)
    dtype = ans._data.dtype if isinstance(ans, Tensor) else np.asarray(ans).dtype
    th = th0 if th0 is not None else np.zeros((n, p), dtype)
    tc = tc0 if tc0 is not None else np.zeros((n, hs), dtype)
    pad = np.zeros((n, hs - p), dtype) if p < hs else None  # the unused part of h's plane
    w_t = transpose(w_hh, 0, 1)
    planes: list[Any] = [None] * steps
    h_prev, c_prev = h0, c0
    for t in _order(steps, reverse):
        tpre = matmul(th, w_t)
        if txp is not None:
            tpre = tpre + txp[t]
        if tw is not None:
            tpre = tpre + matmul(h_prev, transpose(tw, 0, 1))
        i, f, gg, o = (acts[q, t] for q in range(4))
        ti, tf, tg, to = (tpre[:, q * hs : (q + 1) * hs] for q in range(4))
        ti, tf, tg, to = ti * (i * (1 - i)), tf * (f * (1 - f)), tg * (1 - gg * gg), to * (o * (1 - o))
        tc = tf * c_prev + f * tc + ti * gg + i * tg
        tanh_c = ew.tanh(cseq[t])
        th = to * tanh_c + o * (1 - tanh_c * tanh_c) * tc
        if w_hr is not None:
            th = matmul(th, transpose(w_hr, 0, 1))
            if twr is not None:
                th = th + matmul(o * tanh_c, transpose(twr, 0, 1))
        planes[t] = stack([th if pad is None else cat([th, pad], -1), tc, ti, tf, tg, to], 0)
        h_prev, c_prev = hseq[t], cseq[t]
    return stack(planes, 1)


def _jvp(ts: tuple, h0: Any, c0: Any, w_hh: Any, ans: Any, reverse: bool) -> Any:
    return _jvp_any(ts, h0, c0, w_hh, None, ans, reverse)


def _jvp_proj(ts: tuple, h0: Any, c0: Any, w_hh: Any, w_hr: Any, ans: Any, reverse: bool) -> Any:
    return _jvp_any(ts, h0, c0, w_hh, w_hr, ans, reverse)


LSTM_LAYER = Primitive("LstmLayer", _forward, public="lstm_layer")
LSTM_LAYER.defvjp_all(_vjp)
LSTM_LAYER.defjvp_all(_jvp)
LSTM_LAYER_PROJ = Primitive("LstmLayerProj", _forward_proj, public="lstm_layer")
LSTM_LAYER_PROJ.defvjp_all(_vjp_proj)
LSTM_LAYER_PROJ.defjvp_all(_jvp_proj)


# ------------------------------------------------------------------ vmap
def _batch_rule(lvl: Any, args: list, batched: list, params: dict) -> Any:
    """vmap: with shared weights the vmap batch joins the sample batch N (one loop over time);
    with per-example weights, one layer per example."""
    from ._dims import batch_expand as expand
    from .index import getitem

    op = LSTM_LAYER if len(args) == 4 else LSTM_LAYER_PROJ
    b = lvl.size
    if any(batched[3:]):
        outs = [
            apply(op, tuple(getitem(a, k) if f else a for a, f in zip(args, batched)), params)
            for k in range(b)
        ]
        return stack(outs, 0)
    xp, h0, c0 = (a if f else expand(a, b) for a, f in zip(args[:3], batched[:3]))
    _, steps, n, g4 = _shape(xp)
    p, hs = _shape(h0)[-1], _shape(c0)[-1]
    out = apply(
        op,
        (reshape(movedim(xp, 0, 1), (steps, b * n, g4)), reshape(h0, (b * n, p)), reshape(c0, (b * n, hs)))
        + tuple(args[3:]),
        params,
    )
    return movedim(reshape(out, (6, steps, b, n, hs)), 2, 0)


LSTM_LAYER.extra["batch"] = _batch_rule
LSTM_LAYER_PROJ.extra["batch"] = _batch_rule


# ------------------------------------------------------------------ public
def lstm_layer(
    xp: Any, h0: Any, c0: Any, w_hh: Any, w_hr: Any = None, *, reverse: bool = False
) -> tuple[Any, Any, Any]:
    """One LSTM layer direction over a sequence: ``(output (L, N, P), h_n (N, P), c_n (N, H))``.

    ``xp`` (L, N, 4H) is the input projection with both biases (``x W_ihᵀ + b_ih + b_hh``),
    ``h0`` (N, P) and ``c0`` (N, H) the initial state, ``w_hh`` (4H, P) the recurrent weight and
    ``w_hr`` (P, H) the optional projection (P = proj_size, else H).  ``reverse`` runs from the
    last step to the first.
    """
    xs, hsh, csh, ws = _shape(xp), _shape(h0), _shape(c0), _shape(w_hh)
    if len(xs) != 3 or len(hsh) != 2 or len(csh) != 2 or len(ws) != 2:
        raise fail(
            f"lstm_layer(): expected xp (L, N, 4H), h0 (N, P), c0 (N, H) and w_hh (4H, P), got "
            f"shapes {xs}, {hsh}, {csh} and {ws}"
        )
    steps, n, g4 = xs
    hs, p = csh[1], hsh[1]
    wr = None if w_hr is None else _shape(w_hr)
    if (
        g4 != 4 * hs
        or hsh[0] != n
        or csh[0] != n
        or ws != (4 * hs, p)
        or wr not in (None, (p, hs))
        or (wr is None and p != hs)
    ):
        raise fail(
            f"lstm_layer(): shapes do not fit together: xp {xs}, h0 {hsh}, c0 {csh}, w_hh {ws}"
            + ("" if wr is None else f", w_hr {wr}")
            + f" (with H = {hs} from c0: xp must be "
            f"(L, N, 4H), h0 (N, P), w_hh (4H, P) and w_hr (P, H), P = H without w_hr)"
        )
    if not steps:
        raise fail(f"lstm_layer(): Expected sequence length to be larger than 0 in RNN (xp has shape {xs})")
    if w_hr is None:
        out = apply(LSTM_LAYER, (xp, h0, c0, w_hh), {"reverse": bool(reverse)})
    else:
        out = apply(LSTM_LAYER_PROJ, (xp, h0, c0, w_hh, w_hr), {"reverse": bool(reverse)})
    last = 0 if reverse else -1  # the direction's last step
    if p == hs:
        return out[0], out[0, last], out[1, last]
    return contiguous(out[0, :, :, :p]), out[0, last, :, :p], out[1, last]


# ====================================================================== GRU
# GruLayer: the same design for a GRU layer direction (PyTorch's gate order r, z, n):
#
#     r, z = σ(xp_rz + h_{t-1} W_hrzᵀ),   hn = h_{t-1} W_hnᵀ + b_hn,   n = tanh(xp_n + r hn)
#     h_t = (1 - z) n + z h_{t-1}
#
# xp = x W_ihᵀ + b_ih + (b_hr, b_hz, 0): b_hn stays inside, multiplied by r.  The output
# (5, L, N, H) holds the planes h, r, z, hn, n (hn for dr, the rest for their own derivatives).


def _gru_run(
    xp: np.ndarray, h0: np.ndarray, w_hh: np.ndarray, b_hn: np.ndarray, *, reverse: bool = False
) -> np.ndarray:
    steps, n, _ = xp.shape
    hs = h0.shape[-1]
    dt = np.result_type(xp, h0, w_hh, b_hn)
    out = np.empty((5, steps, n, hs), dt)
    hseq, r_s, z_s, hn_s, n_s = out
    w3 = np.ascontiguousarray(w_hh.reshape(3, hs, hs).transpose(0, 2, 1))  # one GEMM per gate
    xp3 = xp.reshape(steps, n, 3, hs)
    h = h0
    with np.errstate(over="ignore"):  # σ = 1 / (1 + e^-x): e^-x is inf for x << 0, and σ 0
        for t in _order(steps, reverse):
            np.matmul(h, w3, out=out[1:4, t])  # h W_hrᵀ, h W_hzᵀ, h W_hnᵀ into the r, z, hn planes
            out[1:3, t] += xp3[t, :, :2].transpose(1, 0, 2)
            for s in (r_s[t], z_s[t]):
                np.negative(s, out=s)
                np.exp(s, out=s)
                s += 1
                np.reciprocal(s, out=s)
            hn = hn_s[t]
            hn += b_hn
            nt = n_s[t]
            np.multiply(r_s[t], hn, out=nt)
            nt += xp3[t, :, 2]
            np.tanh(nt, out=nt)
            h_new = hseq[t]
            np.subtract(h, nt, out=h_new)  # h_t = n + z (h_{t-1} - n)
            h_new *= z_s[t]
            h_new += nt
            h = h_new
    return out


def _gru_vjp_arrays(g: np.ndarray, h0: np.ndarray, w_hh: np.ndarray, ans: np.ndarray, reverse: bool) -> tuple:
    _, steps, n, hs = ans.shape
    hseq, r_s, z_s, hn_s, n_s = ans
    gh, gr, gz, ghn, gn = g
    dt = np.result_type(g, ans)
    dxp = np.empty((steps, n, 3 * hs), dt)  # dL/d(xp_t)
    dgh = np.empty((steps, n, 3 * hs), dt)  # dL/d(h_{t-1} W_hhᵀ + (0, 0, b_hn)): differs in n's part
    dh = np.zeros((n, hs), dt)  # dL/dh_t from the steps after t
    dn, tmp, der = (np.empty((n, hs), dt) for _ in range(3))
    order = _order(steps, reverse)
    for k in range(steps - 1, -1, -1):
        t = order[k]
        h_prev = hseq[order[k - 1]] if k else h0
        r, z, hn, nt = r_s[t], z_s[t], hn_s[t], n_s[t]
        dh += gh[t]
        np.subtract(1, z, out=dn)  # dL/dn = dh (1 - z) + its own cotangent
        dn *= dh
        dn += gn[t]
        np.multiply(nt, nt, out=der)  # through tanh: dL/d(n's pre-activation)
        np.subtract(1, der, out=der)
        dnp = dxp[t, :, 2 * hs :]
        np.multiply(dn, der, out=dnp)
        np.multiply(dnp, r, out=dgh[t, :, 2 * hs :])  # dL/dhn
        dgh[t, :, 2 * hs :] += ghn[t]
        np.multiply(dnp, hn, out=tmp)  # dL/dr
        tmp += gr[t]
        np.subtract(1, r, out=der)
        der *= r
        np.multiply(tmp, der, out=dxp[t, :, :hs])
        np.subtract(h_prev, nt, out=tmp)  # dL/dz
        tmp *= dh
        tmp += gz[t]
        np.subtract(1, z, out=der)
        der *= z
        np.multiply(tmp, der, out=dxp[t, :, hs : 2 * hs])
        dgh[t, :, : 2 * hs] = dxp[t, :, : 2 * hs]
        dh *= z
        dh += dgh[t] @ w_hh
    rest, prev = (slice(1, None), slice(None, -1)) if not reverse else (slice(None, -1), slice(1, None))
    dw = dgh[rest].reshape(-1, 3 * hs).T @ hseq[prev].reshape(-1, hs)
    dw += dgh[order[0]].T @ h0
    db = dgh[:, :, 2 * hs :].sum((0, 1))
    return dxp, dh, dw, db


def _gru_vjp_ops(g: Any, h0: Any, w_hh: Any, ans: Any, reverse: bool) -> tuple:
    """The same rule written with ops (for ``create_graph=True``): it differentiates again."""
    steps = _shape(ans)[1]
    order = _order(steps, reverse)
    dh_next: Any = None
    dxs: list[Any] = [None] * steps
    dw: Any = None
    db: Any = None
    for k in range(steps - 1, -1, -1):
        t = order[k]
        h_prev = ans[0, order[k - 1]] if k else h0
        r, z, hn, nt = (ans[q, t] for q in range(1, 5))
        dh = g[0, t] if dh_next is None else g[0, t] + dh_next
        dnp = (dh * (1 - z) + g[4, t]) * (1 - nt * nt)
        dhn = dnp * r + g[3, t]
        drp = (dnp * hn + g[1, t]) * (r * (1 - r))
        dzp = (dh * (h_prev - nt) + g[2, t]) * (z * (1 - z))
        dxs[t] = cat([drp, dzp, dnp], -1)
        dgh = cat([drp, dzp, dhn], -1)
        dh_next = dh * z + matmul(dgh, w_hh)
        dw = _plus(dw, matmul(transpose(dgh, 0, 1), h_prev))
        db = _plus(db, dhn.sum(0))
    return stack(dxs, 0), dh_next, dw, db


def _gru_vjp(g: Any, h0: Any, w_hh: Any, ans: Any, reverse: bool) -> tuple:
    if _is_graph(g, h0, w_hh, ans):
        return _gru_vjp_ops(g, h0, w_hh, ans, reverse)
    return _gru_vjp_arrays(g, h0, w_hh, ans, reverse)


def _gru_jvp(ts: tuple, h0: Any, w_hh: Any, ans: Any, reverse: bool) -> Any:
    """The tangent of every plane, step by step with ops (None tangents are zeros)."""
    txp, th0, tw, tb = ts
    _, steps, n, hs = _shape(ans)
    dtype = ans._data.dtype if isinstance(ans, Tensor) else np.asarray(ans).dtype
    th = th0 if th0 is not None else np.zeros((n, hs), dtype)
    w_t = transpose(w_hh, 0, 1)
    planes: list[Any] = [None] * steps
    h_prev = h0
    for t in _order(steps, reverse):
        tpre = matmul(th, w_t)  # the tangent of h_{t-1} W_hhᵀ + (0, 0, b_hn)
        if tw is not None:
            tpre = tpre + matmul(h_prev, transpose(tw, 0, 1))
        tr, tz, thn = (tpre[:, q * hs : (q + 1) * hs] for q in range(3))
        tnp: Any = 0.0
        if txp is not None:
            tr, tz, tnp = tr + txp[t, :, :hs], tz + txp[t, :, hs : 2 * hs], txp[t, :, 2 * hs :]
        if tb is not None:
            thn = thn + tb
        r, z, hn, nt = (ans[q, t] for q in range(1, 5))
        tr, tz = tr * (r * (1 - r)), tz * (z * (1 - z))
        tn = (tnp + tr * hn + r * thn) * (1 - nt * nt)
        th = tn + tz * (h_prev - nt) + z * (th - tn)
        planes[t] = stack([th, tr, tz, thn, tn], 0)
        h_prev = ans[0, t]
    return stack(planes, 1)


GRU_LAYER = Primitive("GruLayer", _gru_run, public="gru_layer")
GRU_LAYER.defvjp_all(_gru_vjp)
GRU_LAYER.defjvp_all(_gru_jvp)


def _gru_batch_rule(lvl: Any, args: list, batched: list, params: dict) -> Any:
    """vmap: shared weights fold the vmap batch into N; per-example weights run one layer each."""
    from ._dims import batch_expand as expand
    from .index import getitem

    b = lvl.size
    if any(batched[2:]):
        outs = [
            apply(GRU_LAYER, tuple(getitem(a, k) if f else a for a, f in zip(args, batched)), params)
            for k in range(b)
        ]
        return stack(outs, 0)
    xp, h0 = (a if f else expand(a, b) for a, f in zip(args[:2], batched[:2]))
    _, steps, n, g3 = _shape(xp)
    hs = _shape(h0)[-1]
    ins = (reshape(movedim(xp, 0, 1), (steps, b * n, g3)), reshape(h0, (b * n, hs))) + tuple(args[2:])
    return movedim(reshape(apply(GRU_LAYER, ins, params), (5, steps, b, n, hs)), 2, 0)


GRU_LAYER.extra["batch"] = _gru_batch_rule


def gru_layer(xp: Any, h0: Any, w_hh: Any, b_hn: Any, *, reverse: bool = False) -> tuple[Any, Any]:
    """One GRU layer direction over a sequence: ``(output (L, N, H), h_n (N, H))``.

    ``xp`` (L, N, 3H) is the input projection with the r and z parts of the recurrent bias
    (``x W_ihᵀ + b_ih + (b_hr, b_hz, 0)``), ``h0`` (N, H) the initial state, ``w_hh`` (3H, H) the
    recurrent weight and ``b_hn`` (H,) the recurrent bias of n (inside r's product).
    """
    xs, hsh, ws, bs = _shape(xp), _shape(h0), _shape(w_hh), _shape(b_hn)
    hs = hsh[-1] if len(hsh) == 2 else -1
    if len(xs) != 3 or len(hsh) != 2 or xs[1:] != (hsh[0], 3 * hs) or ws != (3 * hs, hs) or bs != (hs,):
        raise fail(
            f"gru_layer(): shapes do not fit together: xp {xs}, h0 {hsh}, w_hh {ws}, b_hn {bs} (xp must "
            "be (L, N, 3H), h0 (N, H), w_hh (3H, H) and b_hn (H,))"
        )
    if not xs[0]:
        raise fail(f"gru_layer(): Expected sequence length to be larger than 0 in RNN (xp has shape {xs})")
    out = apply(GRU_LAYER, (xp, h0, w_hh, b_hn), {"reverse": bool(reverse)})
    return out[0], out[0, 0 if reverse else -1]
