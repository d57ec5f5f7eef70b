"""PyTorch checkpoints: torch.save files load without torch running, and torch.load reads ours."""

from __future__ import annotations

import builtins
import io
import os
import pickle
import subprocess
import zipfile
from collections import OrderedDict

import numpy as np
import pytest
from reference import torch

import chainrule as cr
from chainrule.serialization import LoadError

pytestmark = pytest.mark.skipif(torch is None, reason="needs the PyTorch reference (extra 'reference')")


# ---------------------------------------------------------------- four models, two libraries
def _models(nn):
    """The same four architectures in torch.nn and chainrule.nn (the names match)."""

    class LSTMModel(nn.Module):
        def __init__(self):
            super().__init__()
            self.emb = nn.Embedding(11, 4)
            self.lstm = nn.LSTM(4, 5, num_layers=2, batch_first=True)
            self.head = nn.Linear(5, 11)

        def forward(self, x):
            return self.head(self.lstm(self.emb(x))[0])

    return {
        "mlp": lambda: nn.Sequential(nn.Linear(6, 8), nn.ReLU(), nn.Linear(8, 3)),
        "cnn": lambda: nn.Sequential(
            nn.Conv2d(1, 3, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(3 * 4 * 4, 5)
        ),
        "bn": lambda: nn.Sequential(
            nn.Conv2d(1, 2, 3),
            nn.BatchNorm2d(2),
            nn.ReLU(),
            nn.Flatten(),
            nn.Linear(2 * 6 * 6, 4),
            nn.BatchNorm1d(4),
        ),
        "lstm": LSTMModel,
    }


def _input(kind, rng):
    if kind == "mlp":
        return rng.standard_normal((4, 6)).astype(np.float32)
    if kind == "lstm":
        return rng.integers(0, 11, size=(2, 7))
    return rng.standard_normal((4, 1, 8, 8)).astype(np.float32)


def _torch_model(kind):
    torch.manual_seed(0)
    model = _models(torch.nn)[kind]()
    if kind == "bn":  # running statistics that are not the defaults
        model.train()
        for _ in range(3):
            model(torch.randn(5, 1, 8, 8))
    return model.eval()


def _outputs_match(kind, tm, cm):
    x = _input(kind, np.random.default_rng(1))
    with torch.no_grad():
        want = tm(torch.from_numpy(x)).numpy()
    with cr.no_grad():
        got = cm(cr.from_numpy(x)).numpy()
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


def _same_state(csd, tsd):
    assert list(csd) == list(tsd)
    for k in tsd:
        a, b = np.asarray(csd[k].detach().numpy()), tsd[k].detach().numpy()
        assert a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes(), k


@pytest.mark.parametrize("suffix", [".pt", ".safetensors"])
@pytest.mark.parametrize("kind", ["mlp", "cnn", "bn", "lstm"])
def test_torch_to_chainrule(tmp_path, kind, suffix):
    tm = _torch_model(kind)
    path = tmp_path / f"{kind}{suffix}"
    if suffix == ".pt":
        torch.save(tm.state_dict(), path)
    else:
        from safetensors.torch import save_file

        save_file(tm.state_dict(), str(path))
    sd = cr.load(path)
    cm = _models(cr.nn)[kind]().eval()
    cm.load_state_dict(sd)
    _same_state(cm.state_dict(), tm.state_dict())
    _outputs_match(kind, tm, cm)


@pytest.mark.parametrize("suffix", [".pt", ".safetensors"])
@pytest.mark.parametrize("kind", ["mlp", "cnn", "bn", "lstm"])
def test_chainrule_to_torch(tmp_path, kind, suffix):
    src = _torch_model(kind)  # chainrule weights that are not torch's defaults of a fresh model
    cm = _models(cr.nn)[kind]().eval()
    cm.load_state_dict({k: cr.from_numpy(v.numpy().copy()) for k, v in src.state_dict().items()})
    path = tmp_path / f"{kind}{suffix}"
    cr.save(cm.state_dict(), path)
    if suffix == ".pt":
        sd = torch.load(path, weights_only=True)
    else:
        from safetensors.torch import load_file

        sd = load_file(str(path))
    torch.manual_seed(5)
    tm = _models(torch.nn)[kind]().eval()
    tm.load_state_dict(sd)
    _same_state(cm.state_dict(), tm.state_dict())
    _outputs_match(kind, tm, cm)


# ---------------------------------------------------------------- what a checkpoint can hold
def test_views_offsets_strides_and_dtypes_survive_both_ways(tmp_path):
    base = torch.arange(24.0).reshape(4, 6)
    obj = {
        "base": base,
        "view": base[1:, ::2],
        "t": base.T,
        "row": base[2],
        "half": torch.randn(3).half(),
        "i8": torch.tensor([-3, 4], dtype=torch.int8),
        "u8": torch.tensor([250], dtype=torch.uint8),
        "b": torch.tensor([True, False]),
        "i32": torch.arange(3, dtype=torch.int32),
        "d": torch.randn(2, 2, dtype=torch.float64),
        "p": torch.nn.Parameter(torch.ones(2)),
        "g": torch.ones(2, requires_grad=True),
        "size": torch.Size([2, 3]),
        "dtype": torch.float16,
        "empty": torch.ones(0, 3),
        "scalar": torch.tensor(7),
        3: (None, 2.5, "x", [1], b"raw"),
        "set": {1, 2},
        "od": OrderedDict(a=1),
    }
    torch.save(obj, tmp_path / "t.pt")
    back = cr.load(tmp_path / "t.pt")
    for k, v in obj.items():
        if isinstance(v, torch.Tensor):
            assert back[k].numpy(force=True).tobytes() == v.detach().numpy().tobytes(), k
            assert tuple(back[k].shape) == tuple(v.shape) and str(back[k].dtype) == str(v.dtype).replace(
                "torch", "chainrule"
            )
    assert isinstance(back["p"], cr.nn.Parameter) and back["p"].requires_grad
    assert back["g"].requires_grad and not back["base"].requires_grad
    assert back["size"] == cr.Size([2, 3]) and back["dtype"] is cr.float16
    assert back[3] == (None, 2.5, "x", [1], b"raw") and back["set"] == {1, 2}
    assert isinstance(back["od"], OrderedDict)
    back["base"][2, 0] = -1.0  # views share their storage, as in PyTorch
    assert back["view"][1, 0].item() == -1.0 and back["row"][0].item() == -1.0
    assert back["t"][0, 2].item() == -1.0

    cr.save(back, tmp_path / "c.pt")
    again = torch.load(tmp_path / "c.pt", weights_only=True)
    assert again["view"].untyped_storage().data_ptr() == again["base"].untyped_storage().data_ptr()
    for k, v in back.items():
        if isinstance(v, cr.Tensor):
            assert again[k].detach().numpy().tobytes() == v.numpy(force=True).tobytes(), k
    assert again["size"] == torch.Size([2, 3]) and again["dtype"] is torch.float16
    assert isinstance(again["p"], torch.nn.Parameter) and again["g"].requires_grad
    assert again[3] == (None, 2.5, "x", [1], b"raw")
    assert torch.load(tmp_path / "c.pt", weights_only=True, mmap=True)["base"][2, 0].item() == -1.0


def test_tied_weights_come_back_tied(tmp_path):
    w = torch.nn.Parameter(torch.randn(3, 3))
    torch.save({"enc": w, "dec": w}, tmp_path / "t.pt")
    back = cr.load(tmp_path / "t.pt")
    assert back["enc"] is back["dec"]
    cr.save(back, tmp_path / "c.pt")
    again = torch.load(tmp_path / "c.pt", weights_only=True)
    assert again["enc"] is again["dec"]


def test_bfloat16_is_widened_exactly_and_big_files_can_be_mapped(tmp_path):
    ref = torch.randn(5, 4).bfloat16()
    torch.save({"w": ref}, tmp_path / "bf.pt")
    np.testing.assert_array_equal(cr.load(tmp_path / "bf.pt")["w"].numpy(), ref.float().numpy())
    torch.save({"w": torch.arange(10.0)}, tmp_path / "m.pt")
    mapped = cr.load(tmp_path / "m.pt", mmap=True)["w"]
    root = mapped.numpy()
    while isinstance(root.base, np.ndarray):
        root = root.base
    assert type(getattr(root.base, "obj", root.base)).__name__ == "mmap"
    mapped.add_(1.0)  # copy-on-write: the file is unchanged
    assert torch.load(tmp_path / "m.pt")["w"].tolist() == list(map(float, range(10)))
    plain = cr.load(io.BytesIO((tmp_path / "m.pt").read_bytes()))["w"]
    assert plain.tolist() == list(map(float, range(10)))


def test_whole_objects_fall_back_to_chainrule_format_and_explicit_torch_format_refuses(tmp_path):
    model = cr.nn.Linear(2, 2)
    cr.save(model, tmp_path / "model.pt")  # torch.save(model, ...) in chainrule spelling still works
    assert isinstance(cr.load(tmp_path / "model.pt", weights_only=False), cr.nn.Linear)
    with pytest.raises(TypeError, match=r"format='torch'.*Linear.*weights_only=True"):
        cr.save(model, tmp_path / "x.bin", format="torch")
    with pytest.raises(TypeError, match="NumPy arrays with chainrule.from_numpy"):
        cr.save({"a": np.ones(2)}, tmp_path / "x.bin", format="torch")
    cr.save({"a": cr.ones(2)}, tmp_path / "x.bin", format="torch")
    assert torch.load(tmp_path / "x.bin", weights_only=True)["a"].tolist() == [1.0, 1.0]


# ---------------------------------------------------------------- malicious and broken files
def _zip(entries: dict) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, data in entries.items():
            zf.writestr(name, data)
    return buf.getvalue()


def _checkpoint(pkl: bytes, **extra) -> bytes:
    return _zip({"archive/data.pkl": pkl, "archive/version": b"3\n", **extra})


@pytest.fixture
def traps(monkeypatch):
    """Every dangerous callable replaced by one that fails the test if it is ever called."""
    ran = []

    def trap(name):
        def fail(*args, **kwargs):
            ran.append(name)
            raise AssertionError(f"{name} ran while loading a checkpoint")

        return fail

    monkeypatch.setattr(os, "system", trap("os.system"))
    monkeypatch.setattr(builtins, "eval", trap("builtins.eval"))
    monkeypatch.setattr(builtins, "exec", trap("builtins.exec"))
    monkeypatch.setattr(subprocess, "Popen", trap("subprocess.Popen"))
    yield ran
    assert ran == []


class _Gadget:
    def __reduce__(self):
        return (exec, ("raise SystemExit('pwned')",))


EVIL = {
    "os.system": b"cos\nsystem\n(S'echo pwned'\ntR.",
    "builtins.eval": b"cbuiltins\neval\n(S'1+1'\ntR.",
    "subprocess.Popen": b"csubprocess\nPopen\n((S'true'\nltR.",
    "builtins.exec": pickle.dumps({"w": _Gadget()}, protocol=2),
    "builtins.getattr": b"cbuiltins\ngetattr\n(ccollections\nOrderedDict\nS'fromkeys'\ntR.",
}


@pytest.mark.parametrize("name", list(EVIL))
def test_code_in_the_pickle_is_refused_before_it_runs(tmp_path, traps, name):
    path = tmp_path / "evil.pt"
    path.write_bytes(_checkpoint(EVIL[name]))
    pattern = f"refusing to load '{name}' from .*evil.pt: only tensor data can be loaded"
    with pytest.raises(LoadError, match=pattern):
        cr.load(path)
    with pytest.raises(LoadError, match=pattern):
        cr.load(path, weights_only=False)  # torch checkpoints have one mode: weights only


def test_state_on_chainrule_objects_is_refused(tmp_path, traps):
    # BUILD (None, {"name": "x"}) on the dtype singleton chainrule.float32 would rename it
    (tmp_path / "b.pt").write_bytes(_checkpoint(b"\x80\x02ctorch\nfloat32\n(N}S'name'\nS'x'\nstb."))
    with pytest.raises(LoadError, match="refusing to set state on a dtype"):
        cr.load(tmp_path / "b.pt")
    assert cr.float32.name == "float32"


def test_path_traversal_and_bad_storage_keys_are_refused(tmp_path, traps):
    good = io.BytesIO()
    torch.save({"w": torch.ones(4)}, good)
    with zipfile.ZipFile(io.BytesIO(good.getvalue())) as zf:
        entries = {n: zf.read(n) for n in zf.namelist()}
    (tmp_path / "trav.pt").write_bytes(_zip({**entries, "archive/../../etc/evil": b"x"}))
    with pytest.raises(LoadError, match=r"entry 'archive/\.\./\.\./etc/evil' points outside the archive"):
        cr.load(tmp_path / "trav.pt")
    pkl = entries["archive/data.pkl"].replace(b"X\x01\x00\x00\x000", b"X\x01\x00\x00\x00/")
    (tmp_path / "key.pt").write_bytes(_zip({**entries, "archive/data.pkl": pkl}))
    with pytest.raises(LoadError, match="unknown persistent id"):
        cr.load(tmp_path / "key.pt")


def test_truncated_and_short_storages_are_refused(tmp_path, traps):
    good = io.BytesIO()
    torch.save({"w": torch.ones(1000)}, good)
    data = good.getvalue()
    for keep in (0.3, 0.9):
        (tmp_path / "cut.pt").write_bytes(data[: int(len(data) * keep)])
        with pytest.raises(LoadError, match=r"cut\.pt is truncated or corrupt"):
            cr.load(tmp_path / "cut.pt")
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        entries = {n: zf.read(n) for n in zf.namelist()}
    short = {**entries, "archive/data/0": entries["archive/data/0"][:100]}
    (tmp_path / "short.pt").write_bytes(_zip(short))
    with pytest.raises(
        LoadError,
        match=r"storage record 'archive/data/0' holds 100 bytes, but a "
        r"float32 storage of 1000 elements needs 4000",
    ):
        cr.load(tmp_path / "short.pt")
    # a storage of the right length, but a tensor that claims more of it than there is
    pkl = entries["archive/data.pkl"]
    big = pkl.replace(b"M\xe8\x03\x85", b"M\xd0\x07\x85")  # size (1000,) -> (2000,)
    assert big != pkl
    (tmp_path / "claim.pt").write_bytes(_zip({**entries, "archive/data.pkl": big}))
    with pytest.raises(
        LoadError,
        match=r"size \[2000\].*needs 2000 elements, but its storage '0' holds "
        r"only 1000",
    ):
        cr.load(tmp_path / "claim.pt")
    (tmp_path / "nopkl.pt").write_bytes(_checkpoint(b"\x80\x02}q\x00(X"))
    with pytest.raises(LoadError, match=r"nopkl\.pt is corrupt: its data.pkl cannot be read"):
        cr.load(tmp_path / "nopkl.pt")
