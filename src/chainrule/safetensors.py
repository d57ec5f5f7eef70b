"""``chainrule.safetensors``: the ``safetensors`` format with ``safetensors.torch``'s names.

A ``.safetensors`` file is a JSON header (names, dtypes, shapes, byte offsets, a free-form
string ``metadata`` dict) followed by the raw little-endian bytes of each tensor: nothing in it
can run code, and Hugging Face publishes most weights this way.  Reading and writing go
through the ``safetensors`` package's NumPy API (the ``io`` extra), so files written here load
in ``safetensors.torch`` bit for bit and the other way round.

Two things differ from NumPy's view of the format and are handled here: ``BF16`` entries
(chainrule has no bfloat16) are widened to float32, which is exact; and tensors that share
memory are refused by ``save_file`` exactly as ``safetensors.torch`` refuses them, while
``save_model``/``load_model`` keep one copy and re-tie the others.

>>> chainrule.safetensors.save_file(model.state_dict(), "model.safetensors")
>>> model.load_state_dict(chainrule.safetensors.load_file("model.safetensors"))
"""

from __future__ import annotations

import json
import os
import struct
from typing import Any, Dict, Iterator, Optional, Union

import numpy as np

from ._tensor import Tensor, wrap

__all__ = ["save", "save_file", "load", "load_file", "safe_open", "save_model", "load_model"]

PathLike = Union[str, "os.PathLike[str]"]


def _backend() -> Any:
    """The ``safetensors`` package, imported only when a file is read or written."""
    try:
        import safetensors
        import safetensors.numpy
    except ImportError:
        raise ImportError(
            "reading and writing .safetensors files needs the safetensors package: "
            'pip install "chainrule[io]"'
        ) from None
    return safetensors


# ------------------------------------------------------------------- save
def _shared_groups(tensors: Dict[str, Tensor]) -> list[list[str]]:
    """Names whose tensors overlap in memory (tied weights, views), as safetensors.torch finds."""
    spans = []
    for name, t in tensors.items():
        arr = t._data
        if arr.size == 0:
            continue
        lo, hi = np.lib.array_utils.byte_bounds(arr)
        spans.append((lo, hi, name))
    spans.sort()
    groups: list[list[str]] = []
    end = -1
    for lo, hi, name in spans:
        if lo < end:
            groups[-1].append(name)
            end = max(end, hi)
        else:
            groups.append([name])
            end = hi
    return [g for g in groups if len(g) > 1]


def _arrays(tensors: Any, where: str) -> Dict[str, np.ndarray]:
    if not isinstance(tensors, dict):
        raise ValueError(f"{where}: expected a dict of [str, Tensor] but received {type(tensors).__name__}")
    out = {}
    for k, v in tensors.items():
        if not isinstance(k, str):
            raise ValueError(f"{where}: key {k!r} is a {type(k).__name__}; safetensors names are strings")
        if not isinstance(v, Tensor):
            raise ValueError(
                f"{where}: key `{k}` is invalid, expected Tensor but received {type(v).__name__}"
            )
        out[k] = np.require(v._data, requirements="C")  # (0-d stays 0-d)
    shared = _shared_groups(tensors)
    if shared:
        raise RuntimeError(
            f"{where}: some tensors share memory, which would be stored twice and come back "
            f"untied: {shared}. Save the model with chainrule.safetensors.save_model(model, path), "
            "which keeps one copy, or pass {k: v.clone() ...} to store independent copies."
        )
    return out


def _check_metadata(metadata: Any, where: str) -> Optional[Dict[str, str]]:
    if metadata is None:
        return None
    if not isinstance(metadata, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in metadata.items()
    ):
        raise ValueError(
            f"{where}: metadata must be a dict of str to str (the format stores text only), got {metadata!r}"
        )
    return metadata


def save(tensors: Dict[str, Tensor], metadata: Optional[Dict[str, str]] = None) -> bytes:
    """The bytes of a safetensors file holding ``tensors`` (a dict of name -> Tensor)."""
    arrays = _arrays(tensors, "safetensors.save")
    return _backend().numpy.save(arrays, metadata=_check_metadata(metadata, "safetensors.save"))


def save_file(
    tensors: Dict[str, Tensor], filename: PathLike, metadata: Optional[Dict[str, str]] = None
) -> None:
    """Write ``tensors`` (a dict of name -> Tensor) to ``filename``; ``metadata`` is str -> str."""
    arrays = _arrays(tensors, "safetensors.save_file")
    meta = _check_metadata(metadata, "safetensors.save_file")
    _backend().numpy.save_file(arrays, os.fspath(filename), metadata=meta)


def save_model(
    model: Any, filename: PathLike, metadata: Optional[Dict[str, str]] = None, force_contiguous: bool = True
) -> None:
    """Save ``model.state_dict()``, keeping one name of each group of tied tensors.

    The dropped names are recorded in the metadata (``dropped -> kept``), as
    ``safetensors.torch.save_model`` does; ``load_model`` ties them again.
    """
    state = dict(model.state_dict())
    meta = dict(metadata or {})
    for group in _shared_groups(state):
        full = [n for n in group if state[n]._data.nbytes == max(state[g]._data.nbytes for g in group)]
        keep = sorted(full)[0]
        for name in sorted(group):
            if name != keep:
                meta.setdefault(name, keep)
                del state[name]
    save_file(state, filename, metadata=meta or None)


# ------------------------------------------------------------------- load
_BF16 = "BF16"


def _widen_bf16(raw: np.ndarray) -> np.ndarray:
    """bfloat16 bits -> float32: a bfloat16 is the top half of a float32, so this is exact."""
    return (raw.astype("<u4") << 16).view(np.float32)


class safe_open:  # noqa: N801 - safetensors' name
    """Open a file lazily: ``keys()``, ``metadata()``, ``get_tensor(name)``, ``get_slice(name)``.

    ``framework`` may be ``"pt"``/``"chainrule"`` (tensors) or ``"np"`` (arrays); the file is
    memory-mapped by the safetensors package, so only the tensors asked for are read.

    >>> with chainrule.safetensors.safe_open("model.safetensors", framework="pt") as f:
    ...     w = f.get_tensor("0.weight")
    """

    def __init__(self, filename: PathLike, framework: str = "pt", device: Any = "cpu") -> None:
        if framework not in ("pt", "torch", "chainrule", "np", "numpy"):
            raise ValueError(f"safe_open(): framework {framework!r} is not supported here; use 'pt' or 'np'")
        self.filename = os.fspath(filename)
        self._numpy = framework in ("np", "numpy")
        if not os.path.exists(self.filename):
            raise FileNotFoundError(f"safe_open(): no such file: {self.filename}")
        try:
            self._f = _backend().safe_open(self.filename, framework="np")
        except Exception as e:  # the Rust side raises its own error types
            raise _corrupt(self.filename, e) from None
        self._header: Optional[dict] = None

    def __enter__(self) -> safe_open:
        return self

    def __exit__(self, *exc: object) -> None:
        self._f = None

    def keys(self) -> list[str]:
        return list(self._f.keys())

    def metadata(self) -> Optional[Dict[str, str]]:
        return self._f.metadata()

    def __iter__(self) -> Iterator[str]:
        return iter(self.keys())

    def _raw_entry(self, name: str) -> np.ndarray:
        """An entry NumPy has no dtype for (BF16), read from the documented header by hand."""
        if self._header is None:
            with open(self.filename, "rb") as fh:
                (n,) = struct.unpack("<Q", fh.read(8))
                self._header = json.loads(fh.read(n))
                self._header["__start__"] = 8 + n
        entry = self._header[name]
        lo, hi = entry["data_offsets"]
        raw = np.fromfile(
            self.filename, dtype="<u2", count=(hi - lo) // 2, offset=self._header["__start__"] + lo
        )
        return _widen_bf16(raw).reshape(entry["shape"])

    def get_array(self, name: str) -> np.ndarray:
        if self._f.get_slice(name).get_dtype() == _BF16:
            return self._raw_entry(name)
        return self._f.get_tensor(name)

    def get_tensor(self, name: str) -> Any:
        arr = self.get_array(name)
        return arr if self._numpy else wrap(arr)

    def get_slice(self, name: str) -> Any:
        return self._f.get_slice(name)


def _corrupt(name: str, e: Exception) -> Exception:
    from .serialization import LoadError

    return LoadError(f"{name} is not a valid safetensors file ({e}); was the download or save interrupted?")


def load_file(filename: PathLike, device: Any = "cpu") -> Dict[str, Tensor]:
    """Every tensor of a safetensors file, by name (``device`` is accepted; all is on the CPU)."""
    with safe_open(filename, framework="pt") as f:
        return {k: f.get_tensor(k) for k in f.keys()}


_DTYPES = {
    "F64": "<f8",
    "F32": "<f4",
    "F16": "<f2",
    "I64": "<i8",
    "I32": "<i4",
    "I16": "<i2",
    "I8": "i1",
    "U8": "u1",
    "BOOL": "?",
    "U16": "<u2",
    "U32": "<u4",
    "U64": "<u8",
}


def load(data: bytes) -> Dict[str, Tensor]:
    """The tensors of a safetensors file given as bytes."""
    try:
        entries = _backend().deserialize(bytes(data))
    except Exception as e:  # the Rust side raises its own error types
        raise _corrupt("<bytes>", e) from None
    out = {}
    for name, entry in entries:
        kind = entry["dtype"]
        if kind == _BF16:
            arr = _widen_bf16(np.frombuffer(entry["data"], dtype="<u2"))
        elif kind in _DTYPES:
            arr = np.frombuffer(entry["data"], dtype=_DTYPES[kind]).astype(
                np.dtype(_DTYPES[kind]).newbyteorder("=")
            )
        else:
            raise TypeError(f"safetensors.load: entry {name!r} has dtype {kind}, which chainrule lacks")
        out[name] = wrap(arr.reshape(entry["shape"]))  # astype copied: own, writeable memory
    return out


def load_model(model: Any, filename: PathLike, strict: bool = True, device: Any = "cpu") -> tuple:
    """Load a file written by ``save_model`` into ``model``; returns ``(missing, unexpected)``."""
    state = load_file(filename)
    with safe_open(filename) as f:
        ties = f.metadata() or {}
    own = model.state_dict()
    for dropped, kept in ties.items():
        if dropped in own and dropped not in state and kept in state:
            state[dropped] = state[kept]
    result = model.load_state_dict(state, strict=strict)
    return tuple(result)
