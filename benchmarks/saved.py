"""Bytes saved for backward by one training step, chainrule vs PyTorch (same method for both).

Every value a node keeps for backward passes through ``saved_tensors_hooks``' pack hook in both
libraries; each storage is counted once (by data pointer), whatever number of nodes or views
keep it.  Models and data as in ``benchmarks/training.py`` (MLP 784-256-256-10, batch 128;
LeNet-5, batch 64) and a 2-layer LSTM (hidden 256, seq 35, batch 32).
"""

from __future__ import annotations

import importlib
import subprocess
import sys

import numpy as np

from .workload import register_section


def _models(T):
    nn = T.nn
    T.manual_seed(0)
    mlp = nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 256), nn.ReLU(), nn.Linear(256, 10))
    lenet = nn.Sequential(
        nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
        nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, 10),
    )
    lstm = nn.LSTM(256, 256, num_layers=2)
    rng = np.random.default_rng(0)
    loss = nn.CrossEntropyLoss()

    def data(*shape: int) -> np.ndarray:
        return rng.standard_normal(shape, dtype=np.float32)

    return {
        "mlp_step": (lambda x, y: loss(mlp(x), y), data(128, 784), 128),
        "lenet_step": (lambda x, y: loss(lenet(x), y), data(64, 1, 28, 28), 64),
        "lstm_step": (lambda x, y: lstm(x)[0].sum(), data(35, 32, 256), 0),
    }


def _storage(T, t) -> tuple[int, int]:
    if T.__name__ == "torch":
        return t.untyped_storage().data_ptr(), t.untyped_storage().nbytes()
    base = t._data
    while isinstance(base.base, np.ndarray):
        base = base.base
    return base.__array_interface__["data"][0], base.nbytes


def measure(lib: str) -> dict[str, int]:
    T = importlib.import_module(lib)
    out = {}
    for name, (step, x0, n) in _models(T).items():
        seen: dict[int, int] = {}

        def pack(t, seen=seen):
            ptr, nbytes = _storage(T, t)
            seen[ptr] = max(seen.get(ptr, 0), nbytes)
            return t

        x = T.from_numpy(x0)
        y = T.from_numpy(np.random.default_rng(1).integers(0, 10, n)) if n else None
        with T.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
            loss = step(x, y)
        loss.backward()
        out[name] = sum(seen.values())
    return out


def section() -> list[str]:
    res = {}
    for lib in ("chainrule", "torch"):
        code = f"import json, benchmarks.saved as s; print(json.dumps(s.measure({lib!r})))"
        done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
        res[lib] = __import__("json").loads(done.stdout.strip().splitlines()[-1])
    lines = ["## Bytes saved for backward per training step", "",
             "Every value kept for backward, counted once per storage through `saved_tensors_hooks` "
             "in both libraries (a node keeps what the rules of the inputs that require grad read).",
             "", "| step | chainrule KiB | torch KiB | chainrule/torch |", "|---|---|---|---|"]
    for name in res["chainrule"]:
        a, b = res["chainrule"][name], res["torch"][name]
        lines.append(f"| {name} | {a / 1024:.0f} | {b / 1024:.0f} | {a / b:.2f}x |")
    return lines + [""]


register_section("saved_bytes", section)

if __name__ == "__main__":
    print("\n".join(section()))
