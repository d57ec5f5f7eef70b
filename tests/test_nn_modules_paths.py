"""``torch.nn.modules.<family>.<Class>`` paths: every class chainrule.nn has is found where
PyTorch keeps it (code and checkpoints name these paths)."""

from __future__ import annotations

import importlib
import inspect

import pytest
import torch.nn.modules as torch_modules

import chainrule.nn as cnn
import chainrule.nn.modules as cr_modules


@pytest.mark.parametrize("family", cr_modules.__all__)
def test_family_matches_pytorch(family: str) -> None:
    ref = importlib.import_module(f"torch.nn.modules.{family}")
    ours = importlib.import_module(f"chainrule.nn.modules.{family}")
    pytorch_names = {n for n, v in vars(ref).items()
                     if inspect.isclass(v) and v.__module__ == ref.__name__ and not n.startswith("_")}
    assert set(ours.NAMES) == pytorch_names  # the lists are PyTorch 2.13's
    for name in pytorch_names:
        if hasattr(cnn, name):
            assert getattr(ours, name) is getattr(cnn, name), f"{family}.{name}"
    assert set(ours.__all__) == {n for n in pytorch_names if hasattr(cnn, n)}


def _defines_classes(mod) -> bool:
    return any(inspect.isclass(v) and v.__module__ == mod.__name__ and not n.startswith("_")
               for n, v in vars(mod).items())


def test_every_pytorch_family_is_there() -> None:
    families = {m for m in dir(torch_modules) if inspect.ismodule(getattr(torch_modules, m))
                and getattr(torch_modules, m).__name__.startswith("torch.nn.modules.")
                and not m.startswith("_") and m != "utils" and _defines_classes(getattr(torch_modules, m))}
    assert families <= set(cr_modules.__all__), families - set(cr_modules.__all__)


def test_the_paths_textbook_code_uses() -> None:
    from chainrule.nn.modules.activation import ReLU
    from chainrule.nn.modules.conv import Conv2d
    from chainrule.nn.modules.rnn import LSTM

    assert (LSTM, Conv2d, ReLU) == (cnn.LSTM, cnn.Conv2d, cnn.ReLU)
