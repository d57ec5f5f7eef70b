"""Whole objects in save files (``torch.save(model, f)``): restored only when trusted."""

from __future__ import annotations

import dataclasses
import pickle

import numpy as np
import pytest
import torch

import chainrule as cr
from chainrule.serialization import LoadError

RAN = []


def _gadget() -> None:  # what a malicious pickle would call
    RAN.append(True)


class Gadget:
    def __reduce__(self):
        return (_gadget, ())


@dataclasses.dataclass
class Config:
    width: int
    name: str


def _model():
    cr.manual_seed(0)
    nn = cr.nn
    m = nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2), nn.ReLU(), nn.Flatten(), nn.Linear(8, 3))
    m(cr.randn(4, 1, 4, 4))  # running statistics move away from their defaults
    return m


def test_whole_model_round_trip_with_weights_only_false(tmp_path) -> None:
    m = _model().eval()
    path = tmp_path / "model.pt"
    cr.save(m, path)
    m2 = cr.load(path, weights_only=False)
    assert type(m2) is type(m) and repr(m2) == repr(m) and m2.training is False
    x = cr.randn(2, 1, 4, 4)
    np.testing.assert_array_equal(m2(x).detach().numpy(), m(x).detach().numpy())
    sd, sd2 = m.state_dict(), m2.state_dict()
    assert list(sd) == list(sd2)
    for k in sd:
        np.testing.assert_array_equal(sd[k].numpy(), sd2[k].numpy())
    assert all(type(p).__name__ == "Parameter" and p.requires_grad for p in m2.parameters())
    m2(x).sum().backward()  # trainable again
    assert m2[0].weight.grad is not None


def test_same_as_pytorch_whole_model_semantics(tmp_path) -> None:
    ref = torch.nn.Linear(2, 2)
    torch.save(ref, tmp_path / "t.pt")
    with pytest.raises(pickle.UnpicklingError):  # PyTorch's default refuses a whole model too
        torch.load(tmp_path / "t.pt")
    assert isinstance(torch.load(tmp_path / "t.pt", weights_only=False), torch.nn.Linear)
    cr.save(cr.nn.Linear(2, 2), tmp_path / "c.pt")
    with pytest.raises(LoadError, match=r"weights_only=False"):
        cr.load(tmp_path / "c.pt")


def test_default_refusal_names_the_class_and_the_risk(tmp_path) -> None:
    cr.save({"model": cr.nn.Linear(2, 2), "step": 3}, tmp_path / "ckpt.pt")
    with pytest.raises(LoadError) as err:
        cr.load(tmp_path / "ckpt.pt")
    msg = str(err.value)
    assert "chainrule.nn.linear.Linear" in msg and "run arbitrary code" in msg
    assert "weights_only=False" in msg and "add_safe_globals" in msg and "state_dict" in msg


def test_nothing_runs_when_refused(tmp_path) -> None:
    RAN.clear()
    cr.save([Gadget()], tmp_path / "evil.pt")
    with pytest.raises(LoadError, match="_gadget"):
        cr.load(tmp_path / "evil.pt")
    assert RAN == []


def test_safe_globals_let_a_registered_class_load_with_weights_only(tmp_path) -> None:
    cr.save({"cfg": Config(3, "a"), "w": cr.ones(2)}, tmp_path / "cfg.pt")
    with pytest.raises(LoadError, match="Config"):
        cr.load(tmp_path / "cfg.pt")
    with cr.serialization.safe_globals([Config]):
        out = cr.load(tmp_path / "cfg.pt")
    assert out["cfg"] == Config(3, "a") and out["w"].tolist() == [1.0, 1.0]


def test_tied_tensors_stay_tied(tmp_path) -> None:
    a = cr.nn.Linear(3, 3, bias=False)
    b = cr.nn.Linear(3, 3, bias=False)
    b.weight = a.weight
    cr.save(cr.nn.Sequential(a, b), tmp_path / "tied.pt")
    m = cr.load(tmp_path / "tied.pt", weights_only=False)
    assert m[0].weight is m[1].weight


def test_unpicklable_objects_get_a_clear_error(tmp_path) -> None:
    with pytest.raises(TypeError, match="state_dict"):
        cr.save({"f": lambda x: x}, tmp_path / "lambda.pt")
