"""save/load: exact round trips, clear refusals, and proof that loading never unpickles."""

from __future__ import annotations

import builtins
import io
import pickle
import zipfile
from collections import OrderedDict

import numpy as np
import pytest
from reference import HAVE_TORCH, REQUIRE_TORCH, torch

import chainrule
import chainrule.optim as optim
from chainrule.serialization import LoadError, load, save

FLAG = "_chainrule_unpickled"


class Payload:
    """Unpickling this sets a flag on ``builtins``: the canary for "did anything unpickle?"."""

    def __reduce__(self):
        return (exec, (f"import builtins; builtins.{FLAG} = True",))


@pytest.fixture
def canary():
    if hasattr(builtins, FLAG):
        delattr(builtins, FLAG)
    yield lambda: hasattr(builtins, FLAG)
    if hasattr(builtins, FLAG):
        delattr(builtins, FLAG)


def _round_trip(obj, tmp_path, name="obj.pt"):
    path = tmp_path / name
    save(obj, path)
    return load(path)


def _same(a, b):
    assert type(a) is type(b), (type(a), type(b))
    if isinstance(a, chainrule.Tensor):
        assert a.dtype == b.dtype and a.shape == b.shape and a.requires_grad == b.requires_grad
        assert a.detach().numpy().tobytes() == b.detach().numpy().tobytes()
    elif isinstance(a, np.ndarray):
        assert a.dtype == b.dtype and a.tobytes() == b.tobytes()
    elif isinstance(a, dict):
        assert list(a.keys()) == list(b.keys())
        for k in a:
            _same(a[k], b[k])
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b)
        for x, y in zip(a, b, strict=True):
            _same(x, y)
    elif isinstance(a, float) and a != a:
        assert b != b
    else:
        assert a == b


@pytest.mark.parametrize("dtype", ["float16", "float32", "float64", "uint8", "int8", "int16",
                                   "int32", "int64", "bool"])
@pytest.mark.parametrize("shape", [(), (0,), (3, 0, 2), (2, 3)])
def test_tensor_round_trip_all_dtypes(dtype, shape, tmp_path):
    rng = np.random.default_rng(0)
    arr = np.asarray(rng.standard_normal(shape) * 50).astype(dtype)
    t = chainrule.tensor(arr)
    back = _round_trip(t, tmp_path)
    _same(t, back)
    assert back.dtype == getattr(chainrule, dtype)
    assert back.numpy().flags.writeable


def test_requires_grad_and_special_floats(tmp_path):
    w = chainrule.tensor([np.nan, np.inf, -0.0, 1e-45], requires_grad=True)
    back = _round_trip(w, tmp_path)
    _same(w, back)
    assert back.is_leaf and back.requires_grad
    y = (w * 2)  # a non-leaf is saved as its values
    assert _round_trip(y, tmp_path).requires_grad


def test_nested_containers(tmp_path):
    t = chainrule.arange(6).reshape(2, 3)
    obj = {
        "tensors": [t, (t * 2, "name")],
        3: OrderedDict([("x", None), ("y", True), ("z", 2**70)]),
        (1, "a"): {0.5: float("nan"), -1: float("-inf")},
        "numpy": np.arange(4, dtype=np.int16),
        "scalar": np.float32(1.5),
        "shape": t.shape,
        "empty": [[], (), {}],
    }
    back = _round_trip(obj, tmp_path)
    _same(obj, back)
    assert back["tensors"][0] is not t
    assert isinstance(back["shape"], chainrule.Size) and back["scalar"].dtype == np.float32


def test_shared_tensor_is_stored_once(tmp_path):
    w = chainrule.ones(3)
    back = _round_trip({"enc": w, "dec": w, "other": chainrule.ones(3)}, tmp_path, "obj.ckpt")
    assert back["enc"] is back["dec"] and back["other"] is not back["enc"]
    with zipfile.ZipFile(tmp_path / "obj.ckpt") as zf:
        assert sorted(zf.namelist()) == ["__chainrule__.npy", "t0.npy", "t1.npy"]


def test_model_like_state_dict(tmp_path):
    rng = np.random.default_rng(1)
    sd = OrderedDict([
        ("0.weight", chainrule.tensor(rng.standard_normal((4, 3)).astype(np.float32))),
        ("0.bias", chainrule.tensor(rng.standard_normal(4).astype(np.float32))),
        ("1.running_mean", chainrule.zeros(4)),
        ("1.num_batches_tracked", chainrule.tensor(7)),
    ])
    back = _round_trip(sd, tmp_path, "model.pt")
    _same(sd, back)
    assert isinstance(back, OrderedDict) and back["1.num_batches_tracked"].dtype == chainrule.int64


def test_module_state_dict_with_parameters(tmp_path):
    import chainrule.nn as nn

    model = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
    back = _round_trip(model.state_dict(), tmp_path)
    _same(model.state_dict(), back)
    other = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
    other.load_state_dict(back)
    x = chainrule.randn(5, 3)
    assert other(x).tolist() == model(x).tolist()
    params = _round_trip(list(model.parameters()), tmp_path)
    assert all(isinstance(p, nn.Parameter) and p.requires_grad for p in params)


@pytest.mark.parametrize("name,kwargs", [("SGD", dict(lr=0.1, momentum=0.9)),
                                         ("Adam", dict(lr=0.01, amsgrad=True)),
                                         ("Adagrad", dict(lr=0.1))])
def test_optimizer_state_dict_round_trip_continues_exactly(name, kwargs, tmp_path):
    rng = np.random.default_rng(2)
    init = [rng.standard_normal(s).astype(np.float32) for s in [(3, 2), (2,)]]
    grads = [[rng.standard_normal(a.shape).astype(np.float32) for a in init] for _ in range(8)]
    a = [chainrule.tensor(v.copy(), requires_grad=True) for v in init]
    opt = getattr(optim, name)(a, **kwargs)
    for g in grads[:4]:
        for p, gi in zip(a, g, strict=True):
            p.grad = chainrule.tensor(gi)
        opt.step()
    sd = opt.state_dict()
    back = _round_trip(sd, tmp_path, "optim.pt")
    _same(sd, back)
    assert set(back["state"]) == {0, 1}  # integer keys survive
    b = [chainrule.tensor(p.detach().numpy().copy(), requires_grad=True) for p in a]
    opt_b = getattr(optim, name)(b, lr=1.0)
    opt_b.load_state_dict(back)
    for g in grads[4:]:
        for p, q, gi in zip(a, b, g, strict=True):
            p.grad = chainrule.tensor(gi)
            q.grad = chainrule.tensor(gi)
        opt.step()
        opt_b.step()
    for p, q in zip(a, b, strict=True):
        assert p.detach().numpy().tobytes() == q.detach().numpy().tobytes()


def test_file_objects_and_paths(tmp_path):
    buf = io.BytesIO()
    save({"x": chainrule.ones(2)}, buf)
    buf.seek(0)
    assert load(buf)["x"].tolist() == [1.0, 1.0]
    save([1, 2], str(tmp_path / "plain.pt"))
    assert (tmp_path / "plain.pt").exists() and not (tmp_path / "plain.pt.npz").exists()
    with open(tmp_path / "plain.pt", "rb") as fh:
        assert load(fh, map_location="cpu", weights_only=False) == [1, 2]
    with pytest.raises(FileNotFoundError, match="no such file"):
        load(tmp_path / "missing.pt")


def test_save_refuses_what_it_cannot_store(tmp_path):
    save({"ok": {1, 2}}, tmp_path / "x.pt")  # a set is pickled, and sets are safe to load
    assert load(tmp_path / "x.pt") == {"ok": {1, 2}}
    with pytest.raises(TypeError, match="dtype object.*pickle"):
        save([np.array([None, 1], dtype=object)], tmp_path / "x.pt")
    with pytest.raises(TypeError, match="of type function"):
        save(lambda: 0, tmp_path / "x.pt")


# ---------------------------------------------------------------- refusals
def _write(tmp_path, name, data):
    path = tmp_path / name
    path.write_bytes(data)
    return path


def _good_bytes():
    buf = io.BytesIO()
    save({"w": chainrule.arange(100, dtype=chainrule.float32), "n": 3}, buf)
    return buf.getvalue()


@pytest.mark.parametrize("keep", [0.5, 0.9, 0.99])
def test_truncated_file_is_refused(tmp_path, keep):
    data = _good_bytes()
    path = _write(tmp_path, "model.pt", data[: int(len(data) * keep)])
    with pytest.raises(LoadError, match=r"model\.pt is truncated or corrupt.*interrupted"):
        load(path)


def test_empty_and_tiny_files_are_refused(tmp_path):
    with pytest.raises(LoadError, match=r"empty\.pt is empty"):
        load(_write(tmp_path, "empty.pt", b""))
    with pytest.raises(LoadError, match="truncated"):
        load(_write(tmp_path, "cut.pt", _good_bytes()[:10]))


def test_corrupted_data_is_refused(tmp_path):
    data = bytearray(_good_bytes())
    i = data.index(b"\x00\x00\x80?")  # inside the float32 data of "w" (1.0)
    data[i + 3] ^= 0xFF
    with pytest.raises(LoadError, match=r"flip\.pt is corrupt.*CRC"):
        load(_write(tmp_path, "flip.pt", bytes(data)))


def test_foreign_files_are_refused(tmp_path):
    plain = io.BytesIO()
    with zipfile.ZipFile(plain, "w") as zf:
        zf.writestr("readme.txt", "hello")
    with pytest.raises(LoadError, match=r"archive\.zip is not a chainrule file: it is a zip "
                                        r"archive from another program \(it holds readme\.txt\)"):
        load(_write(tmp_path, "archive.zip", plain.getvalue()))
    npz = io.BytesIO()
    np.savez(npz, a=np.ones(2))
    with pytest.raises(LoadError, match=r"data\.npz is a NumPy \.npz archive that chainrule\.save "
                                        r"did not write.*numpy\.load"):
        load(_write(tmp_path, "data.npz", npz.getvalue()))
    npy = io.BytesIO()
    np.save(npy, np.ones(2))
    with pytest.raises(LoadError, match=r"single NumPy \.npy array"):
        load(_write(tmp_path, "a.npy", npy.getvalue()))
    with pytest.raises(LoadError, match=r"notes\.txt is not a chainrule file: it looks like a "
                                        r"text file"):
        load(_write(tmp_path, "notes.txt", b"weights: 1 2 3\n"))
    png = b"\x89PNG\r\n\x1a\n" + bytes(range(40))
    with pytest.raises(LoadError, match=r"pic\.png is not a chainrule file: it is a PNG image"):
        load(_write(tmp_path, "pic.png", png))
    with pytest.raises(LoadError, match="unknown format"):
        load(_write(tmp_path, "blob.bin", bytes([0, 1, 2, 250, 251, 0])))


def test_newer_format_version_is_refused(tmp_path):
    buf = io.BytesIO()
    header = b'{"format": "chainrule", "version": 99, "root": {"type": "none"}}'
    np.savez(buf, __chainrule__=np.frombuffer(header, dtype=np.uint8))
    with pytest.raises(LoadError, match="newer chainrule .format version 99"):
        load(_write(tmp_path, "future.pt", buf.getvalue()))


def test_errors_are_both_runtime_and_value_errors(tmp_path):
    path = _write(tmp_path, "x.txt", b"text")
    for cls in (RuntimeError, ValueError):
        with pytest.raises(cls):
            load(path)


# ------------------------------------------------------ never unpickles
def test_canary_payload_really_runs_when_unpickled(canary):
    """The canary works: plain unpickling of the payload trips it (so the tests below can fail)."""
    pickle.loads(pickle.dumps(Payload()))
    assert canary()


def test_pickle_file_is_refused_without_unpickling(tmp_path, canary):
    path = _write(tmp_path, "model.pt", pickle.dumps({"w": Payload()}, protocol=4))
    with pytest.raises(LoadError, match=r"model\.pt is not a chainrule file: it looks like a "
                                        r"Python pickle.*never unpickles.*can run code"):
        load(path, weights_only=False)
    assert not canary()


def test_pytorch_style_zip_with_code_in_its_pickle_is_refused(tmp_path, canary):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("archive/data.pkl", pickle.dumps(Payload()))
        zf.writestr("archive/version", "3\n")
    with pytest.raises(LoadError, match=r"refusing to load 'builtins\.exec' from .*ckpt\.pt: only "
                                        r"tensor data can be loaded"):
        load(_write(tmp_path, "ckpt.pt", buf.getvalue()))
    assert not canary()


def test_object_array_inside_a_chainrule_file_is_refused(tmp_path, canary, monkeypatch):
    """A chainrule archive whose tensor entry was swapped for a pickled object array."""
    good = io.BytesIO(_good_bytes())
    evil = io.BytesIO()
    with zipfile.ZipFile(good) as src, zipfile.ZipFile(evil, "w") as dst:
        for name in src.namelist():
            if name == "t0.npy":
                member = io.BytesIO()
                np.save(member, np.array([Payload()], dtype=object), allow_pickle=True)
                dst.writestr(name, member.getvalue())
            else:
                dst.writestr(name, src.read(name))
    path = _write(tmp_path, "evil.pt", evil.getvalue())
    with pytest.raises(LoadError, match=r"evil\.pt holds an object array \(entry 't0'\).*never "
                                        r"unpickles"):
        load(path)
    assert not canary()
    # and with the pickle module booby-trapped, the refusal is still the same
    _trap_pickle(monkeypatch)
    with pytest.raises(LoadError, match="object array"):
        load(path)
    assert not canary()


def _trap_pickle(monkeypatch):
    def trap(*args, **kwargs):
        raise AssertionError("chainrule.load used pickle")

    for name in ("load", "loads", "Unpickler"):
        monkeypatch.setattr(pickle, name, trap)


def test_a_normal_load_never_touches_pickle(tmp_path, monkeypatch):
    obj = {"w": chainrule.randn(3, 4, requires_grad=True), "meta": [1, (2.5, "x")], 0: None}
    save(obj, tmp_path / "m.pt", format="chainrule")  # (.pt alone means PyTorch's format)
    _trap_pickle(monkeypatch)
    _same(obj, load(tmp_path / "m.pt"))


def test_legacy_pytorch_files_are_refused(tmp_path, canary):
    if not HAVE_TORCH:
        assert not REQUIRE_TORCH, "PyTorch 2.13 must be installed in CI (extra 'reference')"
        pytest.skip("PyTorch not installed")
    torch.save({"w": torch.ones(2)}, tmp_path / "new.pt")  # the zip format loads (test_torchfile)
    assert load(tmp_path / "new.pt")["w"].tolist() == [1.0, 1.0]
    torch.save({"w": torch.ones(2)}, tmp_path / "old.pt", _use_new_zipfile_serialization=False)
    with pytest.raises(LoadError, match="Python pickle"):
        load(tmp_path / "old.pt")
