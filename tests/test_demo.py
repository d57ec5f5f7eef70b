"""The main job: ``chainrule demo`` and the results it promises."""

from __future__ import annotations

import subprocess
import sys

import chainrule as torch
from chainrule.demo import MODELS, linear_regression, load_digits, train_classifier


def test_linear_regression_recovers_parameters() -> None:
    out = linear_regression(epochs=3, seed=0, say=lambda s: None)
    assert out["w_error"] < 0.01 and out["b_error"] < 0.01


def _train(name: str) -> dict:
    make, epochs = MODELS[name]
    train, test, source = load_digits(seed=0)
    assert "handwritten" in source  # scikit-learn is installed for the tests
    torch.manual_seed(0)
    return train_classifier(make(), train, test, epochs, seed=0, progress=False, say=lambda s: None)


def test_mlp_reaches_97_percent_on_digits() -> None:
    h = _train("MLP")
    assert h["test_accuracy"] >= 0.97, h["test_accuracy"]


def test_cnn_reaches_97_percent_on_digits() -> None:
    h = _train("CNN")
    assert h["test_accuracy"] >= 0.97, h["test_accuracy"]


def test_demo_quick_runs_and_writes_the_plot(tmp_path) -> None:
    out = subprocess.run([sys.executable, "-m", "chainrule", "demo", "--quick", "--no-progress",
                          "--out", str(tmp_path)], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "(d) Plot" in out.stdout and (tmp_path / "training.png").exists()
    assert (tmp_path / "training.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert out.stdout.count("-> matches") == 2
