"""Issue 6's workloads: the memory of a chain of n layers ``y = tanh(y @ W)``.

* ``memory_chain``, ``memory_chain_ckpt``: peak RSS of a fresh process for one forward and
  backward of n = 100 layers (W 512x512, batch 4096, float32), without and with checkpointing
  every 10 layers (``checkpoint_sequential`` over 10 segments), for chainrule, PyTorch, NumPy by
  hand (keeps what backward needs, frees each activation once used), and JAX / HIPS autograd
  when installed.
* section ``memory_curves``: ``chainrule.memory``'s peak for n = 25, 50, 100, 200 in three
  regimes -- no_grad, grad, checkpoint_sequential over sqrt(n) segments -- with the time of each
  (the compute cost of checkpointing), as a table and a plot in docs/.
"""

from __future__ import annotations

import math
import time
from pathlib import Path

import numpy as np

from .workload import Workload, chainrule_and_torch, register, register_section

N, D, BATCH, EVERY = 100, 512, 4096, 10
CURVE_NS = (25, 50, 100, 200)


def _data() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    W = (rng.standard_normal((D, D)) / np.sqrt(D)).astype(np.float32)
    x = rng.standard_normal((BATCH, D), dtype=np.float32)
    return W, x


# ------------------------------------------------------------------ one step per library
def _chain(T, ckpt: bool):
    W0, x0 = _data()
    W, x = T.from_numpy(W0).requires_grad_(), T.from_numpy(x0)

    def layer(y):
        return T.tanh(y @ W)

    def step():
        if ckpt:
            y = T.utils.checkpoint.checkpoint_sequential([layer] * N, N // EVERY, x, use_reentrant=False)
        else:
            y = x
            for _ in range(N):
                y = layer(y)
        y.sum().backward()

    return step


def _numpy():
    W, x = _data()

    def step():
        acts = [x]
        y = x
        for _ in range(N):
            y = np.tanh(y @ W)
            acts.append(y)
        del y
        g = np.ones((BATCH, D), np.float32)
        gW = np.zeros_like(W)
        while len(acts) > 1:
            y = acts.pop()  # the layer's output: freed when this iteration ends
            g *= 1 - y * y
            del y
            gW += acts[-1].T @ g
            g = g @ W.T
        return gW

    return step


def _jax(ckpt: bool):
    import jax
    import jax.numpy as jnp

    W0, x0 = _data()
    W, x = jnp.asarray(W0), jnp.asarray(x0)

    def segment(W, y, layers):
        for _ in range(layers):
            y = jnp.tanh(y @ W)
        return y

    def loss(W):
        y = x
        if ckpt:
            seg = jax.checkpoint(lambda W, y: segment(W, y, EVERY))
            for _ in range(N // EVERY):
                y = seg(W, y)
        else:
            y = segment(W, y, N)
        return y.sum()

    g = jax.grad(loss)

    def step():
        return g(W).block_until_ready()

    return step


def _autograd():
    import autograd.numpy as anp
    from autograd import grad

    W, x = _data()

    def loss(W):
        y = x
        for _ in range(N):
            y = anp.tanh(anp.dot(y, W))
        return anp.sum(y)

    g = grad(loss)
    return lambda: g(W)


register(Workload(
    "memory_chain", f"peak RSS, fresh process: {N} x (y = tanh(y @ W)), W {D}x{D}, batch {BATCH}, "
    "float32, one forward + backward", "MiB",
    {**chainrule_and_torch(lambda T: _chain(T, False)), "numpy": _numpy, "jax": lambda: _jax(False),
     "autograd": _autograd},
    measure="rss", target="chainrule <= torch (PyTorch ~2,016 MiB on the issue's machine)",
))
register(Workload(
    "memory_chain_ckpt", f"the same with checkpoint_sequential over {N // EVERY} segments "
    f"(every {EVERY} layers)", "MiB",
    {**chainrule_and_torch(lambda T: _chain(T, True)), "jax": lambda: _jax(True)},
    measure="rss", target="chainrule <= torch (PyTorch ~1,225 MiB on the issue's machine)",
))


# ------------------------------------------------------------------ chainrule.memory curves
def _measure(n: int, mode: str, W, x) -> tuple[float, float]:
    """(peak MiB held, the input and W included, seconds) for one run of n layers."""
    import chainrule as cr
    from chainrule.utils.checkpoint import checkpoint_sequential

    def layer(y):
        return cr.tanh(y @ W)

    cr.memory.reset_peak_memory_stats()
    t0 = time.perf_counter()
    if mode == "no_grad":
        with cr.no_grad():
            y = x
            for _ in range(n):
                y = layer(y)
    elif mode == "grad":
        y = x
        for _ in range(n):
            y = layer(y)
        y.sum().backward()
    else:
        y = checkpoint_sequential([layer] * n, max(1, round(math.sqrt(n))), x)
        y.sum().backward()
    seconds = time.perf_counter() - t0
    peak = cr.memory.max_memory_allocated() / 2**20
    del y
    W.grad = None
    return peak, seconds


def curves() -> list[str]:
    """Measure the three regimes, write docs/memory_curves.png, return the report's lines."""
    import chainrule as cr

    W0, x0 = _data()
    W, x = cr.from_numpy(W0).requires_grad_(), cr.from_numpy(x0)
    cr.memory.enable()
    _measure(5, "grad", W, x)  # warm-up
    rows = {}
    for n in CURVE_NS:
        for mode in ("no_grad", "grad", "checkpoint"):
            rows[n, mode] = _measure(n, mode, W, x)
            print(f"  n={n:3d} {mode:10s} peak {rows[n, mode][0]:8.1f} MiB  {rows[n, mode][1]:6.2f} s",
                  flush=True)
    act = BATCH * D * 4 / 2**20
    lines = [
        "## Memory of the chain y = tanh(y @ W) (chainrule.memory)",
        "",
        f"W {D}x{D}, batch {BATCH}, float32: one activation is {act:.0f} MiB. Peak bytes held by "
        "chainrule's arrays during the call, the input and W (9 MiB) included, measured by "
        "`chainrule.memory`; checkpointing uses `checkpoint_sequential` over round(sqrt(n)) "
        "segments. Time is one forward (+ backward) in the same process.",
        "",
        "| n | no_grad MiB | grad MiB | checkpoint MiB | ckpt / no_grad | grad s | ckpt s | "
        "ckpt / grad time |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for n in CURVE_NS:
        (ng, _), (g, tg), (c, tc) = (rows[n, m] for m in ("no_grad", "grad", "checkpoint"))
        lines.append(f"| {n} | {ng:.0f} | {g:.0f} | {c:.0f} | {c / ng:.1f}x | {tg:.2f} | {tc:.2f} "
                     f"| {tc / tg:.2f}x |")
    lines += [
        "",
        "no_grad stays flat (the input, the previous activation, the matmul result, the new one); "
        "grad grows by one activation per layer (tanh's output, which is also the next matmul's "
        "saved input); checkpointing keeps the sqrt(n) segment inputs plus one segment's values "
        "during backward, about 2 sqrt(n) + 3 activations, for one extra forward of all but the "
        "last segment. That 2 sqrt(n) is also why checkpointing cannot stay within a constant "
        "factor of no_grad's 4 activations: at n = 100 it needs at least ~21 (5x).",
        "",
        "![memory curves](memory_curves.png)",
        "",
    ]
    _plot(rows)
    return lines


def _plot(rows: dict) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (a, b) = plt.subplots(1, 2, figsize=(10, 4))
    for mode, style in (("no_grad", "o-"), ("grad", "s-"), ("checkpoint", "^-")):
        a.plot(CURVE_NS, [rows[n, mode][0] for n in CURVE_NS], style, label=mode)
        b.plot(CURVE_NS, [rows[n, mode][1] for n in CURVE_NS], style, label=mode)
    a.set(xlabel="layers n", ylabel="peak MiB (chainrule.memory)", title="memory")
    b.set(xlabel="layers n", ylabel="seconds", title="time (forward [+ backward])")
    for ax in (a, b):
        ax.grid(alpha=0.3)
        ax.legend()
    fig.tight_layout()
    out = Path(__file__).resolve().parent.parent / "docs" / "memory_curves.png"
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=110)
    plt.close(fig)


register_section("memory_curves", curves)
