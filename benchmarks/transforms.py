"""Issue 4's workloads: a Hessian-vector product and per-sample gradients.

    python -m benchmarks hvp per_sample_grads

hvp: f(x) = sum(tanh(A @ x)), A 2000x2000 float32; H v by chainrule.func.hvp (reverse-over-
forward), by PyTorch's double backward, by torch.func.jvp(grad(f)) (forward-over-reverse), and
in closed form with NumPy (H v = Aᵀ diag(f''(Ax)) A v).

per_sample_grads: the gradients of a 784-128-10 MLP's cross-entropy loss for each of 64
examples, by vmap(grad(loss), in_dims=(None, 0, 0)) with functional_call, by torch.func's
same code, and by a Python loop of 64 backward calls in chainrule.
"""

from __future__ import annotations

import numpy as np

from .workload import Workload, register

N_HVP = 2000


def _hvp_data():
    rng = np.random.default_rng(0)
    a = (rng.standard_normal((N_HVP, N_HVP)) / np.sqrt(N_HVP)).astype(np.float32)
    x = rng.standard_normal(N_HVP).astype(np.float32)
    v = rng.standard_normal(N_HVP).astype(np.float32)
    return a, x, v


def _hvp_chainrule():
    import chainrule as cr
    from chainrule.func import hvp

    a, x, v = (cr.from_numpy(t) for t in _hvp_data())

    def f(x):
        return cr.tanh(a @ x).sum()

    return lambda: hvp(f, (x,), (v,))


def _hvp_torch():
    import torch

    a, x, v = (torch.from_numpy(t) for t in _hvp_data())
    x.requires_grad_()

    def step():
        y = torch.tanh(a @ x).sum()
        (g,) = torch.autograd.grad(y, x, create_graph=True)
        (hv,) = torch.autograd.grad(g, x, v)
        return y, hv

    return step


def _hvp_torch_func():
    import torch
    from torch.func import grad, jvp

    a, x, v = (torch.from_numpy(t) for t in _hvp_data())

    def f(x):
        return torch.tanh(a @ x).sum()

    return lambda: jvp(grad(f), (x,), (v,))


def _hvp_numpy():
    a, x, v = _hvp_data()

    def step():
        t = np.tanh(a @ x)
        return t.sum(), a.T @ (-2 * t * (1 - t * t) * (a @ v))

    return step


register(Workload(
    "hvp", f"Hessian-vector product of sum(tanh(A @ x)), A {N_HVP}x{N_HVP} float32 "
    "(chainrule.func.hvp; torch = double backward)", "ms",
    {"chainrule": _hvp_chainrule, "torch": _hvp_torch, "torch.func": _hvp_torch_func,
     "numpy": _hvp_numpy},
    scale=1e3, repeats=40, warmup=5, target="chainrule <= 1.2x torch's faster path",
))

BATCH, SIZES = 64, (784, 128, 10)


def _psg_data():
    rng = np.random.default_rng(0)
    xs = rng.standard_normal((BATCH, SIZES[0])).astype(np.float32)
    ys = rng.integers(0, SIZES[-1], BATCH)
    return xs, ys


def _mlp(nn, seed_fn):
    seed_fn(0)
    return nn.Sequential(nn.Linear(SIZES[0], SIZES[1]), nn.ReLU(), nn.Linear(SIZES[1], SIZES[2]))


def _per_sample(lib):
    """The same code for chainrule and PyTorch: torch.func's per-sample-gradient recipe."""
    fn = lib.func
    F = lib.nn.functional
    model = _mlp(lib.nn, lib.manual_seed)
    params = {k: v.detach() for k, v in model.named_parameters()}
    xs, ys = _psg_data()
    xs, ys = lib.from_numpy(xs), lib.from_numpy(ys)

    def loss(p, x, y):
        out = fn.functional_call(model, p, (x.unsqueeze(0),))
        return F.cross_entropy(out, y.unsqueeze(0))

    per_sample = fn.vmap(fn.grad(loss), in_dims=(None, 0, 0))
    return lambda: per_sample(params, xs, ys)


def _psg_chainrule():
    import chainrule

    return _per_sample(chainrule)


def _psg_torch():
    import torch

    return _per_sample(torch)


def _psg_loop():
    import chainrule as cr
    import chainrule.nn.functional as F

    model = _mlp(cr.nn, cr.manual_seed)
    xs, ys = _psg_data()
    xs, ys = cr.from_numpy(xs), cr.from_numpy(ys)

    def step():
        grads = []
        for i in range(BATCH):
            model.zero_grad()
            F.cross_entropy(model(xs[i:i + 1]), ys[i:i + 1]).backward()
            grads.append([p.grad for p in model.parameters()])
        return grads

    return step


register(Workload(
    "per_sample_grads", f"per-sample gradients of a {'-'.join(map(str, SIZES))} MLP, batch "
    f"{BATCH}: vmap(grad(loss)) (torch = torch.func; chainrule-loop = {BATCH} backward calls)",
    "ms", {"chainrule": _psg_chainrule, "torch": _psg_torch, "chainrule-loop": _psg_loop},
    scale=1e3, repeats=30, warmup=5,
    target="chainrule <= 1.5x torch.func and >= 10x faster than chainrule-loop",
))
