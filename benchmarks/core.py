"""Issue 2's workloads: per-op overhead, a scalar graph, and a large matmul."""

from __future__ import annotations

import numpy as np

from .workload import Workload, chainrule_and_torch, register

CHAIN = 100  # y = tanh(y * 1.01 + 0.01), 3 ops per link


def _overhead(T):
    x = T.ones(16).requires_grad_()

    def step():
        y = x
        for _ in range(CHAIN):
            y = T.tanh(y * 1.01 + 0.01)
        y.sum().backward()

    return step


def _overhead_numpy():
    x = np.ones(16, np.float32)

    def step():
        ys = [x]
        y = x
        for _ in range(CHAIN):
            y = np.tanh(y * np.float32(1.01) + np.float32(0.01))
            ys.append(y)
        g = np.ones_like(y)
        for y in reversed(ys[1:]):
            g = g * (1 - y * y) * np.float32(1.01)
        return g

    return step


register(Workload(
    "overhead", "100 x (y = tanh(y * 1.01 + 0.01)) on 16 float32 values, then y.sum().backward()",
    "µs/op", {**chainrule_and_torch(_overhead), "numpy": _overhead_numpy},
    per=3 * CHAIN, scale=1e6, repeats=60, warmup=10, target="chainrule <= 1.0x torch",
))


def _points():
    rng = np.random.default_rng(0)
    xs = rng.uniform(-1, 1, (20, 2)).tolist()
    ys = rng.choice([-1.0, 1.0], 20).tolist()
    sizes = [2, 16, 16, 1]
    weights = [(rng.uniform(-1, 1, (o, i)).tolist(), rng.uniform(-1, 1, o).tolist())
               for i, o in zip(sizes[:-1], sizes[1:])]
    return xs, ys, weights


def _scalar_graph(lib):
    """A 2-16-16-1 MLP of 0-d tensors (micrograd style) on 20 points: ~13,000 ops per step."""
    xs, ys, weights = _points()
    params = [([[lib.tensor(w, requires_grad=True) for w in row] for row in W],
               [lib.tensor(b, requires_grad=True) for b in B]) for W, B in weights]
    flat = [p for W, B in params for row in W for p in row] + [b for _, B in params for b in B]

    def forward(x):
        h = x
        for li, (W, B) in enumerate(params):
            out = []
            for row, b in zip(W, B):
                act = b
                for w, xi in zip(row, h):
                    act = act + w * xi
                out.append(act.tanh() if li < len(params) - 1 else act)
            h = out
        return h[0]

    def step():
        for p in flat:
            p.grad = None
        loss = 0.0
        for x, y in zip(xs, ys):
            d = forward(x) - y
            loss = loss + d * d
        loss.backward()

    return step


register(Workload(
    "scalar_graph", "2-16-16-1 MLP on 0-d tensors over 20 points (~13k ops), forward+backward",
    "ms", chainrule_and_torch(_scalar_graph),
    scale=1e3, repeats=7, warmup=2, target="chainrule <= 1.0x torch",
))

N = 1024


def _mats():
    rng = np.random.default_rng(0)
    return rng.standard_normal((N, N), dtype=np.float32), rng.standard_normal((N, N), dtype=np.float32)


def _matmul(T):
    A, B = (T.from_numpy(m).requires_grad_() for m in _mats())

    def step():
        A.grad = B.grad = None
        (A @ B).sum().backward()

    return step


def _matmul_numpy():
    a, b = _mats()

    def step():
        c = a @ b
        c.sum()
        g = np.ones_like(c)
        return g @ b.T, a.T @ g

    return step


register(Workload(
    "matmul", f"(A @ B).sum().backward() for {N}x{N} float32 (three matmuls)", "ms",
    {**chainrule_and_torch(_matmul), "numpy": _matmul_numpy},
    scale=1e3, repeats=15, warmup=3, target="chainrule <= 1.05x numpy",
))
