"""safetensors: bit-exact round trips with ``safetensors.torch``, metadata, sharing, errors."""

from __future__ import annotations

import builtins
import io

import numpy as np
import pytest
from reference import torch

import chainrule
import chainrule.safetensors as cst
from chainrule.serialization import LoadError

st_torch = pytest.importorskip("safetensors.torch") if torch is not None else None

DTYPES = ["float32", "float64", "float16", "int64", "int32", "int16", "int8", "uint8", "bool"]


def _sample(dtype: str, shape=(3, 4)) -> np.ndarray:
    rng = np.random.default_rng(abs(hash(dtype)) % 1000)
    if dtype == "bool":
        return rng.random(shape) > 0.5
    if dtype.startswith("float"):
        out = rng.standard_normal(shape).astype(dtype)
        out.flat[0] = np.nan
        out.flat[1] = -0.0
        return out
    info = np.iinfo(dtype)
    return rng.integers(info.min, info.max, size=shape, dtype=dtype, endpoint=True)


def _same_bits(a: np.ndarray, b: np.ndarray) -> None:
    assert a.dtype == b.dtype and a.shape == b.shape
    assert a.tobytes() == b.tobytes()


@pytest.mark.parametrize("dtype", DTYPES)
def test_chainrule_file_reads_bit_for_bit_in_safetensors_torch(tmp_path, dtype):
    arr = _sample(dtype)
    path = tmp_path / "m.safetensors"
    chainrule.save(
        {"w": chainrule.from_numpy(arr), "s": chainrule.from_numpy(np.array(arr[0, 0]))},
        path,
        metadata={"step": "3"},
    )
    back = st_torch.load_file(str(path))
    _same_bits(back["w"].numpy(), arr)
    _same_bits(back["s"].numpy(), np.asarray(arr[0, 0]))
    from safetensors import safe_open

    with safe_open(str(path), framework="pt") as f:
        assert f.metadata() == {"step": "3"}


@pytest.mark.parametrize("dtype", DTYPES)
def test_safetensors_torch_file_reads_bit_for_bit_here(tmp_path, dtype):
    arr = _sample(dtype, (2, 5, 3))
    path = tmp_path / "t.safetensors"
    st_torch.save_file(
        {"a": torch.from_numpy(arr.copy()), "e": torch.from_numpy(arr[:0].copy())},
        str(path),
        metadata={"k": "v"},
    )
    back = chainrule.load(path)
    assert isinstance(back["a"], chainrule.Tensor)
    _same_bits(back["a"].numpy(), arr)
    assert tuple(back["e"].shape) == (0, 5, 3)
    _same_bits(cst.load_file(path)["a"].numpy(), arr)
    with cst.safe_open(path, framework="pt") as f:
        assert f.keys() == ["a", "e"] and f.metadata() == {"k": "v"}
        _same_bits(f.get_tensor("a").numpy(), arr)


def test_bfloat16_entries_are_widened_exactly(tmp_path):
    ref = torch.randn(4, 3).to(torch.bfloat16)
    path = tmp_path / "bf.safetensors"
    st_torch.save_file({"w": ref, "i": torch.arange(3)}, str(path))
    back = chainrule.load(path)
    assert back["w"].dtype == chainrule.float32
    np.testing.assert_array_equal(back["w"].numpy(), ref.float().numpy())
    via_bytes = cst.load(path.read_bytes())
    np.testing.assert_array_equal(via_bytes["w"].numpy(), ref.float().numpy())


def test_bytes_and_file_objects_and_format_keyword(tmp_path):
    sd = {"x": chainrule.arange(6.0).reshape(2, 3)}
    data = cst.save(sd, metadata={"a": "b"})
    assert st_torch.load(data)["x"].tolist() == sd["x"].tolist()
    np.testing.assert_array_equal(cst.load(data)["x"].numpy(), sd["x"].numpy())
    buf = io.BytesIO()
    chainrule.save(sd, buf, format="safetensors")
    buf.seek(0)
    np.testing.assert_array_equal(chainrule.load(buf)["x"].numpy(), sd["x"].numpy())
    odd = tmp_path / "weights.bin"  # sniffed by content, whatever the name
    chainrule.save(sd, odd, format="safetensors")
    np.testing.assert_array_equal(chainrule.load(odd)["x"].numpy(), sd["x"].numpy())
    loaded = chainrule.load(odd, format="safetensors")["x"]
    loaded.add_(1)  # own, writeable memory
    assert chainrule.load(odd)["x"].tolist() == sd["x"].tolist()


def test_shared_tensors_refused_like_safetensors_torch_and_saved_by_save_model(tmp_path):
    lin = chainrule.nn.Linear(3, 3)
    seq = chainrule.nn.Sequential(lin, chainrule.nn.ReLU(), lin)
    with pytest.raises(RuntimeError, match=r"share memory.*save_model"):
        cst.save_file(seq.state_dict(), tmp_path / "x.safetensors")
    ref = torch.nn.Sequential(torch.nn.Linear(3, 3))
    ref = torch.nn.Sequential(ref[0], torch.nn.ReLU(), ref[0])
    with pytest.raises(RuntimeError, match="share memory"):
        st_torch.save_file(ref.state_dict(), str(tmp_path / "y.safetensors"))
    cst.save_model(seq, tmp_path / "m.safetensors")
    with cst.safe_open(tmp_path / "m.safetensors") as f:
        assert sorted(f.keys()) == ["0.bias", "0.weight"]
    fresh = chainrule.nn.Sequential(chainrule.nn.Linear(3, 3), chainrule.nn.ReLU())
    fresh.append(fresh[0])
    cst.load_model(fresh, tmp_path / "m.safetensors")
    np.testing.assert_array_equal(fresh[2].weight.detach().numpy(), lin.weight.detach().numpy())
    st_torch.load_model(ref, str(tmp_path / "m.safetensors"))
    np.testing.assert_array_equal(ref[2].weight.detach().numpy(), lin.weight.detach().numpy())


def test_bad_inputs_and_corrupt_files(tmp_path):
    with pytest.raises(ValueError, match="expected Tensor but received list"):
        cst.save_file({"a": [1, 2]}, tmp_path / "a.safetensors")
    with pytest.raises(ValueError, match="metadata must be a dict of str to str"):
        cst.save_file({"a": chainrule.ones(1)}, tmp_path / "a.safetensors", metadata={"n": 1})
    with pytest.raises(TypeError, match="metadata= is stored only by format='safetensors'"):
        chainrule.save({"a": chainrule.ones(1)}, tmp_path / "a.pt", metadata={"n": "1"})
    good = cst.save({"a": chainrule.ones(100)})
    (tmp_path / "cut.safetensors").write_bytes(good[: len(good) - 40])
    with pytest.raises(LoadError, match=r"cut\.safetensors is not a valid safetensors file"):
        chainrule.load(tmp_path / "cut.safetensors")
    with pytest.raises(FileNotFoundError):
        chainrule.load(tmp_path / "missing.safetensors")
    with pytest.raises(ValueError, match="unknown format 'onnx'"):
        chainrule.load(tmp_path / "cut.safetensors", format="onnx")


def test_missing_extra_names_the_install_line(tmp_path, monkeypatch):
    real_import = builtins.__import__

    def no_safetensors(name, *args, **kwargs):
        if name == "safetensors" or name.startswith("safetensors."):
            raise ImportError("No module named 'safetensors'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_safetensors)
    with pytest.raises(ImportError, match=r'pip install "chainrule\[io\]"'):
        chainrule.save({"a": chainrule.ones(1)}, tmp_path / "a.safetensors")
