"""``chainrule demo``: the main job, a tour a learner can follow in the terminal.

(a) the chain rule with shapes, backward next to the closed form;
(b) linear regression from scratch with a hand-written minibatch SGD loop;
(c) an MLP and a LeNet-style CNN trained with ``nn``/``optim``/``DataLoader`` on
    the 8x8 handwritten digits that scikit-learn ships (offline), with progress
    bars and the final test accuracy;
(d) a loss/accuracy plot written to the output folder.

The code is written exactly as PyTorch code would be (``import chainrule as
torch``).  The ``demo`` extra (tqdm, matplotlib, scikit-learn) gives the full
version; without it the demo still runs in plain text and says what to install.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any, Callable, Iterable

import numpy as np

import chainrule as torch
from chainrule import nn
from chainrule.utils.data import DataLoader, TensorDataset

from .cli import COMMANDS

__all__ = ["linear_regression", "load_digits", "make_mlp", "make_cnn", "train_classifier", "run"]


# ------------------------------------------------------------------ (b) from scratch
def synthetic_data(w: torch.Tensor, b: float, n: int) -> tuple[torch.Tensor, torch.Tensor]:
    """y = Xw + b + noise, as in the course."""
    X = torch.normal(0.0, 1.0, (n, len(w)))
    y = torch.matmul(X, w) + b
    y += torch.normal(0.0, 0.01, y.shape)
    return X, y.reshape((-1, 1))


def data_iter(batch_size: int, features: torch.Tensor, labels: torch.Tensor) -> Iterable:
    n = len(features)
    indices = torch.randperm(n)
    for i in range(0, n, batch_size):
        j = indices[i : min(i + batch_size, n)]
        yield features[j], labels[j]


def linear_regression(epochs: int = 3, lr: float = 0.03, batch_size: int = 10, seed: int = 0,
                      say: Callable[[str], None] = print) -> dict:
    """Recover w = [2, -3.4], b = 4.2 with autograd and a hand-written SGD step."""
    torch.manual_seed(seed)
    true_w, true_b = torch.tensor([2.0, -3.4]), 4.2
    features, labels = synthetic_data(true_w, true_b, 1000)
    w = torch.normal(0.0, 0.01, size=(2, 1), requires_grad=True)
    b = torch.zeros(1, requires_grad=True)
    for epoch in range(epochs):
        for X, y in data_iter(batch_size, features, labels):
            loss = ((torch.matmul(X, w) + b - y) ** 2 / 2).sum()
            loss.backward()
            with torch.no_grad():
                for param in (w, b):
                    param -= lr * param.grad / batch_size
                    param.grad.zero_()
        with torch.no_grad():
            train_l = ((torch.matmul(features, w) + b - labels) ** 2 / 2).mean()
        say(f"   epoch {epoch + 1}, loss {float(train_l):f}")
    w_err = (true_w - w.reshape(true_w.shape)).abs().max().item()
    b_err = abs(true_b - b.item())
    say(f"   learned w = {w.detach().reshape(-1).tolist()}, b = {b.item():.4f}")
    say(f"   error in w: {w_err:.5f}, error in b: {b_err:.5f}")
    return {"w": w.detach().reshape(-1), "b": b.item(), "w_error": w_err, "b_error": b_err}


# ------------------------------------------------------------------ (c) digits
def load_digits(seed: int = 0, test_fraction: float = 0.2) -> tuple[TensorDataset, TensorDataset, str]:
    """The 8x8 digits (1797 images) split into train/test; a synthetic stand-in without scikit-learn."""
    try:
        from sklearn.datasets import load_digits as _load

        data = _load()
        images = data.images.astype(np.float32) / 16.0
        targets = data.target.astype(np.int64)
        source = "scikit-learn's 8x8 handwritten digits"
    except ImportError:
        rng = np.random.default_rng(1234)
        protos = rng.random((10, 8, 8)) > 0.6
        targets = rng.integers(0, 10, 1800)
        images = (protos[targets] + rng.normal(0, 0.35, (1800, 8, 8))).astype(np.float32)
        source = "synthetic 8x8 patterns (install chainrule[demo] for the handwritten digits)"
    order = np.random.default_rng(seed).permutation(len(targets))
    n_test = int(len(order) * test_fraction)
    test_idx, train_idx = order[:n_test], order[n_test:]
    X = torch.from_numpy(images[:, None, :, :].copy())
    y = torch.from_numpy(targets)
    return (TensorDataset(X[train_idx], y[train_idx]), TensorDataset(X[test_idx], y[test_idx]), source)


def make_mlp() -> nn.Module:
    return nn.Sequential(nn.Flatten(), nn.Linear(64, 256), nn.ReLU(), nn.Dropout(0.2),
                         nn.Linear(256, 128), nn.ReLU(), nn.Dropout(0.2), nn.Linear(128, 10))


def make_cnn() -> nn.Module:
    """LeNet in miniature for 8x8 inputs: two conv/pool stages, then two dense layers."""
    return nn.Sequential(
        nn.Conv2d(1, 16, kernel_size=3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(16, 32, kernel_size=3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(32 * 2 * 2, 64), nn.ReLU(), nn.Linear(64, 10),
    )


MODELS: dict[str, tuple[Callable[[], nn.Module], int]] = {"MLP": (make_mlp, 20), "CNN": (make_cnn, 15)}


def accuracy(model: nn.Module, loader: DataLoader) -> float:
    model.eval()
    correct = total = 0
    with torch.no_grad():
        for X, y in loader:
            correct += (model(X).argmax(dim=1) == y).sum().item()
            total += len(y)
    model.train()
    return correct / total


def _progress(iterable: Any, desc: str, enabled: bool) -> Any:
    if not enabled:
        return iterable
    try:
        from tqdm import tqdm
    except ImportError:
        return iterable
    return tqdm(iterable, desc=desc, leave=False, ncols=80)


def train_classifier(model: nn.Module, train: TensorDataset, test: TensorDataset, epochs: int,
                     lr: float = 3e-3, batch_size: int = 32, seed: int = 0, name: str = "model",
                     progress: bool = True, say: Callable[[str], None] = print) -> dict:
    """Adam with a cosine learning-rate decay, cross-entropy, a shuffling DataLoader.

    Returns the per-epoch history (loss, train and test accuracy) and the final test accuracy.
    """
    gen = torch.Generator().manual_seed(seed)
    train_loader = DataLoader(train, batch_size=batch_size, shuffle=True, generator=gen)
    test_loader = DataLoader(test, batch_size=256)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=epochs)
    loss_fn = nn.CrossEntropyLoss()
    history = {"loss": [], "train_acc": [], "test_acc": []}
    start = time.perf_counter()
    for epoch in range(epochs):
        total, n = 0.0, 0
        for X, y in _progress(train_loader, f"{name} epoch {epoch + 1}/{epochs}", progress):
            optimizer.zero_grad()
            loss = loss_fn(model(X), y)
            loss.backward()
            optimizer.step()
            total += loss.item() * len(y)
            n += len(y)
        scheduler.step()
        history["loss"].append(total / n)
        history["train_acc"].append(accuracy(model, train_loader))
        history["test_acc"].append(accuracy(model, test_loader))
        say(f"   {name} epoch {epoch + 1:2d}: loss {total / n:.4f}, train acc "
            f"{history['train_acc'][-1]:.3f}, test acc {history['test_acc'][-1]:.3f}")
    history["seconds"] = time.perf_counter() - start
    history["test_accuracy"] = history["test_acc"][-1]
    return history


# ------------------------------------------------------------------ (d) plot
def plot_histories(histories: dict[str, dict], out: Path) -> Path | None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    for name, h in histories.items():
        epochs = range(1, len(h["loss"]) + 1)
        axes[0].plot(epochs, h["loss"], marker="o", label=name)
        axes[1].plot(epochs, h["test_acc"], marker="o", label=f"{name} (test)")
        axes[1].plot(epochs, h["train_acc"], linestyle="--", label=f"{name} (train)")
    axes[0].set(title="training loss", xlabel="epoch", ylabel="cross-entropy")
    axes[1].set(title="accuracy", xlabel="epoch", ylabel="accuracy", ylim=(0.0, 1.01))
    for ax in axes:
        ax.grid(alpha=0.3)
        ax.legend()
    fig.suptitle("chainrule demo: digits")
    fig.tight_layout()
    out.mkdir(parents=True, exist_ok=True)
    path = out / "training.png"
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def _missing_extras() -> list[str]:
    import importlib.util

    return [m for m in ("tqdm", "matplotlib", "sklearn") if importlib.util.find_spec(m) is None]


def run(args: argparse.Namespace) -> int:
    from .tour import chain_rule_examples

    quick = bool(args.quick)
    missing = _missing_extras()
    print("chainrule demo" + (" (quick)" if quick else ""))
    if missing:
        print(f"  (running without {', '.join(missing)}: for progress bars, the digits data and the "
              'plot, install the full version with  pip install "chainrule[demo]")')
    print("\n(a) The chain rule, with shapes\n")
    ok = chain_rule_examples(seed=args.seed)
    print("\n(b) Linear regression from scratch (true w = [2, -3.4], b = 4.2)\n")
    lin = linear_regression(epochs=3, seed=args.seed)
    train, test, source = load_digits(seed=args.seed)
    print(f"\n(c) An MLP and a LeNet-style CNN on {source}: {len(train)} training and "
          f"{len(test)} test images\n")
    histories = {}
    for name, (make, epochs) in MODELS.items():
        epochs = 2 if quick else epochs
        torch.manual_seed(args.seed)
        histories[name] = train_classifier(make(), train, test, epochs, seed=args.seed, name=name,
                                           progress=not args.no_progress)
        h = histories[name]
        print(f"   {name}: test accuracy {h['test_accuracy']:.1%} after {epochs} epochs "
              f"({h['seconds']:.1f} s)\n")
    print("(d) Plot")
    path = plot_histories(histories, Path(args.out))
    if path is None:
        print('   matplotlib is not installed: no plot (pip install "chainrule[demo]")')
    else:
        print(f"   wrote {path.resolve()}")
    good = ok and lin["w_error"] < 0.01 and lin["b_error"] < 0.01
    return 0 if good else 1


def _add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--quick", action="store_true", help="a few seconds: fewer epochs (smoke test)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--out", default="chainrule-demo", help="folder for the plot (default ./chainrule-demo/)")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")


COMMANDS["demo"] = ("the main job: chain rule, linear regression, MLP and CNN on digits, plot",
                    _add_arguments, run)
