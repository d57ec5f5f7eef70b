"""Issue 3's workloads: one SGD step of an MLP and of LeNet-5, chainrule vs PyTorch vs NumPy."""

from __future__ import annotations

import numpy as np

from .workload import Workload, chainrule_and_torch, register


def _sgd_step(T, model, x_shape):
    """One SGD step of ``model`` (cross-entropy over 10 classes) on a fixed random batch."""
    opt = T.optim.SGD(model.parameters(), lr=0.01)
    rng = np.random.default_rng(0)
    X = T.from_numpy(rng.standard_normal(x_shape, dtype=np.float32))
    y = T.from_numpy(rng.integers(0, 10, x_shape[0]))
    loss_fn = T.nn.CrossEntropyLoss()

    def step():
        opt.zero_grad()
        loss_fn(model(X), y).backward()
        opt.step()

    return step


def _same(model):
    return model


def _mlp(T, wrap=_same):
    nn = T.nn
    T.manual_seed(0)
    model = nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 256), nn.ReLU(),
                          nn.Linear(256, 10))
    return _sgd_step(T, wrap(model), (128, 784))


def _mlp_numpy():
    rng = np.random.default_rng(0)
    sizes = [784, 256, 256, 10]
    Ws = [(rng.uniform(-1, 1, (o, i)) / np.sqrt(i)).astype(np.float32) for i, o in zip(sizes[:-1], sizes[1:])]
    bs = [np.zeros(o, np.float32) for o in sizes[1:]]
    X = rng.standard_normal((128, 784), dtype=np.float32)
    y = rng.integers(0, 10, 128)
    lr = np.float32(0.01)

    def step():
        hs = [X]
        h = X
        for i, (W, b) in enumerate(zip(Ws, bs)):
            h = h @ W.T + b
            if i < 2:
                h = np.maximum(h, 0)
            hs.append(h)
        z = h - h.max(1, keepdims=True)
        p = np.exp(z)
        p /= p.sum(1, keepdims=True)
        g = p
        g[np.arange(128), y] -= 1
        g /= 128
        for i in range(2, -1, -1):
            gW = g.T @ hs[i]
            gb = g.sum(0)
            if i:
                g = (g @ Ws[i]) * (hs[i] > 0)
            Ws[i] -= lr * gW
            bs[i] -= lr * gb

    return step


register(Workload(
    "mlp_step", "MLP 784-256-256-10, ReLU, cross-entropy, batch 128, one SGD step", "steps/s",
    {**chainrule_and_torch(_mlp), "numpy": _mlp_numpy},
    rate=True, repeats=60, warmup=10, target="chainrule >= 1.0x torch (steps/s)",
))


def _lenet(T, wrap=_same):
    nn = T.nn
    T.manual_seed(0)
    model = nn.Sequential(
        nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
        nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, 10),
    )
    return _sgd_step(T, wrap(model), (64, 1, 28, 28))


register(Workload(
    "lenet_step",
    "LeNet-5 on 64x1x28x28 (conv 6@5x5 pad 2, pool, conv 16@5x5, pool, 120-84-10), one SGD step",
    "steps/s", chainrule_and_torch(_lenet),
    rate=True, repeats=30, warmup=5, target="chainrule >= 0.8x torch (steps/s)",
))


def _lstm(T):
    """A 2-layer LSTM language-model body: forward over the sequence, backward from the sum."""
    T.manual_seed(0)
    model = T.nn.LSTM(256, 256, num_layers=2)
    x = T.from_numpy(np.random.default_rng(0).standard_normal((35, 32, 256), dtype=np.float32))

    def step():
        model.zero_grad()
        model(x)[0].sum().backward()

    return step


register(Workload(
    "lstm_step", "2-layer LSTM, hidden 256, seq 35, batch 32: forward + backward", "steps/s",
    chainrule_and_torch(_lstm), rate=True, repeats=10, warmup=2,
    target="chainrule >= 0.8x torch (steps/s)",
))
