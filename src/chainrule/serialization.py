"""``chainrule.save`` / ``chainrule.load``: tensors and containers in a ``.npz`` archive, no pickle.

A file is a NumPy ``.npz`` (a zip of ``.npy`` arrays).  The entry
``__chainrule__.npy`` holds a JSON description of the saved object (UTF-8
bytes in a uint8 array) with a format marker and version; every tensor or
array becomes its own entry ``t0.npy``, ``t1.npy``, ....  JSON nodes are tagged
(``{"type": "tuple", "items": [...]}``) so that tuples, int dict keys,
``OrderedDict`` and NaN floats come back as they went in.

Why not pickle: loading a pickle can run arbitrary code, so a model file from
the internet would be a program.  ``load`` reads arrays with
``np.load(..., allow_pickle=False)`` and refuses object arrays; PyTorch files
(which are pickles, possibly inside a zip) are recognised and refused with an
explanation instead of being opened.  Only a whole object that has no such description (a
model saved with ``save(model, f)``) is pickled, its tensors still stored as arrays; loading it
needs ``weights_only=False`` (``_pickled``).
"""

from __future__ import annotations

import io
import json
import os
import zipfile
from collections import OrderedDict
from typing import IO, Any, Union

import numpy as np

from . import dtypes as _dt
from ._tensor import Size, Tensor, wrap

__all__ = ["save", "load", "LoadError", "add_safe_globals", "get_safe_globals", "clear_safe_globals",
           "safe_globals"]

FORMAT = "chainrule"
VERSION = 1
_MARKER = "__chainrule__"
_DTYPE_KINDS = "biufc"  # bool, int, uint, float, complex: arrays that cannot hide code

FileLike = Union[str, "os.PathLike[str]", IO[bytes]]


class LoadError(RuntimeError, ValueError):
    """A file that ``chainrule.load`` refuses: not a chainrule file, truncated, or corrupt."""


# ------------------------------------------------------------------- save
def save(obj: Any, f: FileLike, pickle_module: Any = None, pickle_protocol: int = 2,
         _use_new_zipfile_serialization: bool = True, *, format: str | None = None,
         metadata: dict | None = None) -> None:
    """Write ``obj`` (tensors, NumPy arrays, dicts, lists, tuples, str, numbers, None) to ``f``.

    ``f`` is a path (written as given; no ``.npz`` is appended) or a binary file
    object.  Anything else (a whole ``nn.Module``, as ``torch.save(model, f)``) is
    pickled with its tensors stored apart; ``load`` then needs ``weights_only=False``
    (see ``_pickled``).  The pickle arguments exist for PyTorch compatibility.
    ``format="safetensors"`` (or a name ending in ``.safetensors``) writes a dict of tensors
    in that format, with ``metadata`` (str -> str); ``format="torch"`` writes PyTorch's zip
    checkpoint, which ``torch.load(f, weights_only=True)`` reads (see ``docs/interop.md``).

    >>> chainrule.save(model.state_dict(), "model.pt")
    """
    kind = _format_for(f, format, "save")
    if kind == "safetensors":
        from . import safetensors as st

        data = st.save(obj, metadata=metadata)
        if hasattr(f, "write"):
            f.write(data)  # type: ignore[union-attr]
        else:
            with open(os.fspath(f), "wb") as fh:  # type: ignore[arg-type]
                fh.write(data)
        return
    if metadata is not None:
        raise TypeError("chainrule.save(): metadata= is stored only by format='safetensors'")
    if kind == "torch" or (format is None and _torch_name(f)):
        from . import _torchfile

        try:
            _torchfile.save(obj, f)
            return
        except TypeError:
            if kind == "torch":
                raise
        # a whole model or another object PyTorch's weights-only format cannot hold: chainrule's
    arrays: dict[str, np.ndarray] = {}
    memo: dict[int, str] = {}
    root = _encode(obj, arrays, memo, "obj")
    header = json.dumps({"format": FORMAT, "version": VERSION, "root": root}, allow_nan=False)
    arrays[_MARKER] = np.frombuffer(header.encode("utf-8"), dtype=np.uint8)
    if hasattr(f, "write"):
        np.savez(f, allow_pickle=False, **arrays)
        return
    with open(os.fspath(f), "wb") as fh:  # type: ignore[arg-type]
        np.savez(fh, allow_pickle=False, **arrays)


_FORMATS = ("chainrule", "torch", "safetensors")


def _format_for(f: Any, format: str | None, what: str) -> str:
    """The format named by ``format=``, else by the file name (``.safetensors``), else chainrule's."""
    if format is not None:
        if format not in _FORMATS:
            raise ValueError(f"chainrule.{what}(): unknown format {format!r}; use one of {_FORMATS}")
        return format
    name = str(getattr(f, "name", "")) if hasattr(f, "read") or hasattr(f, "write") else os.fspath(f)
    return "safetensors" if str(name).endswith(".safetensors") else "chainrule"


def _torch_name(f: Any) -> bool:
    """``.pt``/``.pth`` paths get PyTorch's format, so ``torch.load`` reads what chainrule saves."""
    return not hasattr(f, "write") and os.fspath(f).endswith((".pt", ".pth"))


def _parameter_type() -> type:
    from .nn import Parameter  # lazily: nn builds on the core, not the other way round

    return Parameter


def _array_node(arr: np.ndarray, arrays: dict, where: str) -> dict:
    if _dt.kind(arr.dtype) not in _DTYPE_KINDS or arr.dtype.fields is not None:
        raise TypeError(
            f"chainrule.save: {where} is an array of dtype {arr.dtype}; only bool, integer, "
            "float and complex arrays can be saved (object arrays would need pickle)"
        )
    key = f"t{len(arrays)}"
    arrays[key] = arr.view(np.uint16) if arr.dtype.kind == "V" else arr  # bfloat16: its bits (see load)
    return {"key": key, "dtype": str(arr.dtype), "shape": list(arr.shape)}


def _encode(obj: Any, arrays: dict, memo: dict, where: str) -> dict:
    if isinstance(obj, Tensor):
        if id(obj) in memo:  # the same tensor twice (tied weights): stored once
            return {"type": "ref", "key": memo[id(obj)]}
        node = _array_node(obj._data, arrays, where)
        memo[id(obj)] = node["key"]
        node.update(type="tensor", requires_grad=bool(obj._rg),
                    parameter=isinstance(obj, _parameter_type()))
        return node
    if isinstance(obj, np.ndarray):
        return {"type": "ndarray", **_array_node(obj, arrays, where)}
    if isinstance(obj, np.generic):
        return {"type": "npscalar", **_array_node(np.asarray(obj), arrays, where)}
    if obj is None:
        return {"type": "none"}
    if isinstance(obj, bool):
        return {"type": "bool", "value": obj}
    if isinstance(obj, int):
        return {"type": "int", "value": str(int(obj))}
    if isinstance(obj, float):
        return {"type": "float", "value": repr(float(obj))}  # repr round-trips, also nan/inf
    if isinstance(obj, str):
        return {"type": "str", "value": obj}
    if isinstance(obj, dict):
        items = [[_encode(k, arrays, memo, f"a key of {where}"),
                  _encode(v, arrays, memo, f"{where}[{k!r}]")] for k, v in obj.items()]
        return {"type": "odict" if isinstance(obj, OrderedDict) else "dict", "items": items}
    if isinstance(obj, (list, tuple)):
        kind = "size" if isinstance(obj, Size) else "tuple" if isinstance(obj, tuple) else "list"
        return {"type": kind,
                "items": [_encode(v, arrays, memo, f"{where}[{i}]") for i, v in enumerate(obj)]}
    from . import _pickled  # a whole model or another object: pickled, its tensors kept apart

    return _pickled.encode(obj, arrays, memo, where, _encode, _array_node)


# ------------------------------------------------------------------- load
def load(f: FileLike, map_location: Any = None, pickle_module: Any = None, *,
         weights_only: bool | None = True, mmap: bool | None = None, format: str | None = None,
         **kwargs: Any) -> Any:
    """Read an object written by ``chainrule.save``.

    Tensors and containers are read without pickle.  A whole pickled object (a model saved with
    ``save(model, f)``) is refused unless ``weights_only=False`` -- meant only for files whose
    source you trust, since unpickling can run code -- or its classes were allowed with
    ``serialization.add_safe_globals``.  ``map_location`` is accepted for PyTorch
    compatibility (everything is on the CPU).  A file that is not a chainrule archive (a pickle, a PyTorch
    checkpoint, another zip, a truncated download) raises ``LoadError``, which
    is both a ``RuntimeError`` and a ``ValueError``.

    ``.safetensors`` files (by name, by their header, or ``format="safetensors"``) and
    PyTorch's zip checkpoints (``torch.save`` output) are read too; the latter through an
    unpickler that only rebuilds tensors and containers, never running code (memory-mapped
    copy-on-write with ``mmap=True``).  ``save`` to a ``.pt``/``.pth`` path writes PyTorch's
    format when the object is one ``torch.load(weights_only=True)`` can read, else chainrule's.

    >>> model.load_state_dict(chainrule.load("model.pt"))
    """
    kind = _format_for(f, format, "load")
    if kind == "chainrule" and not hasattr(f, "read"):
        kind = _sniff_path(f)
    if kind == "safetensors":
        from . import safetensors as st

        if hasattr(f, "read"):
            return st.load(f.read())  # type: ignore[union-attr]
        _exists(f)
        return st.load_file(f)
    if kind == "torch":
        from . import _torchfile

        return _torchfile.load(f, mmap=mmap)
    name, raw = _read(f)
    if raw[8:9] == b"{" and raw[:1] != b"{":
        from . import safetensors as st

        return st.load(raw)
    if _torch_names(raw):
        from . import _torchfile

        return _torchfile.load(io.BytesIO(raw), mmap=False, name=name)
    _sniff(name, raw)
    buf = io.BytesIO(raw)
    try:
        zf = zipfile.ZipFile(buf)
        names = zf.namelist()
    except (zipfile.BadZipFile, OSError, EOFError):
        raise LoadError(
            f"{name} is truncated or corrupt: it starts like a zip archive (which chainrule files "
            "are) but its directory at the end is missing or damaged; was the save or the "
            "download interrupted? Save the object again."
        ) from None
    _check_names(name, names)
    buf.seek(0)
    try:
        with np.load(buf, allow_pickle=False) as npz:
            header = _header(name, npz)
            return _Decoder(name, npz, weights_only is not False).decode(header["root"])
    except LoadError:
        raise
    except (zipfile.BadZipFile, EOFError, OSError, KeyError, ValueError, TypeError) as e:
        raise LoadError(f"{name} is corrupt: {type(e).__name__}: {e}") from None


def _exists(f: Any) -> None:
    if not os.path.exists(os.fspath(f)):
        raise FileNotFoundError(f"chainrule.load: no such file: {os.fspath(f)}")


def _sniff_path(f: Any) -> str:
    """safetensors (a little-endian header length, then JSON) or a PyTorch zip, by content."""
    _exists(f)
    with open(os.fspath(f), "rb") as fh:
        head = fh.read(9)
        if len(head) == 9 and head[8:9] == b"{":
            return "safetensors"
        if head[:4] != b"PK\x03\x04":
            return "chainrule"
        fh.seek(0)
        try:
            names = zipfile.ZipFile(fh).namelist()
        except (zipfile.BadZipFile, OSError, EOFError):
            return "chainrule"  # reported as truncated below
    return "torch" if _is_torch_zip(names) else "chainrule"


def _is_torch_zip(names: list[str]) -> bool:
    return f"{_MARKER}.npy" not in names and any(n.endswith("/data.pkl") or n == "data.pkl" for n in names)


def _torch_names(raw: bytes) -> bool:
    if raw[:4] != b"PK\x03\x04":
        return False
    try:
        return _is_torch_zip(zipfile.ZipFile(io.BytesIO(raw)).namelist())
    except (zipfile.BadZipFile, OSError, EOFError):
        return False


def _read(f: FileLike) -> tuple[str, bytes]:
    if hasattr(f, "read"):
        name = str(getattr(f, "name", "<file object>"))
        data = f.read()  # type: ignore[union-attr]
        if not isinstance(data, bytes):
            raise TypeError(f"chainrule.load: {name} was opened in text mode; open it with 'rb'")
        return name, data
    path = os.fspath(f)  # type: ignore[arg-type]
    if not os.path.exists(path):
        raise FileNotFoundError(f"chainrule.load: no such file: {path}")
    with open(path, "rb") as fh:
        return str(path), fh.read()


def _sniff(name: str, raw: bytes) -> None:
    """Refuse files that are clearly something else, by their first bytes."""
    if not raw:
        raise LoadError(f"{name} is empty (0 bytes): not a chainrule file; was the save interrupted?")
    if raw[:4] in (b"PK\x03\x04", b"PK\x05\x06"):
        return
    if raw[:1] == b"\x80" and len(raw) > 1 and 2 <= raw[1] <= 5:
        raise LoadError(
            f"{name} is not a chainrule file: it looks like a Python pickle (an old-style "
            "torch.save file, or pickle.dump output); chainrule never unpickles because loading "
            "a pickle can run code. Re-save the tensors with chainrule.save, or convert them to "
            "NumPy arrays in the program that wrote the file."
        )
    if raw[:6] == b"\x93NUMPY":
        raise LoadError(
            f"{name} is a single NumPy .npy array, not a chainrule file; read it with "
            "numpy.load(path, allow_pickle=False) and wrap it with chainrule.from_numpy"
        )
    kinds = {b"\x89PNG": "a PNG image", b"\xff\xd8\xff": "a JPEG image", b"%PDF": "a PDF document",
             b"\x1f\x8b": "a gzip archive", b"GIF8": "a GIF image", b"\x89HDF": "an HDF5 file"}
    for magic, what in kinds.items():
        if raw.startswith(magic):
            raise LoadError(f"{name} is not a chainrule file: it is {what}")
    head = raw[:512]
    try:
        head.decode("utf-8")
        is_text = b"\x00" not in head
    except UnicodeDecodeError:
        is_text = False
    what = "a text file" if is_text else f"an unknown format (first bytes {raw[:8]!r})"
    raise LoadError(
        f"{name} is not a chainrule file: it looks like {what}; chainrule files are .npz "
        "archives written by chainrule.save"
    )


def _check_names(name: str, names: list[str]) -> None:
    if f"{_MARKER}.npy" in names:
        return
    if any(n.endswith(".pkl") for n in names):
        raise LoadError(
            f"{name} is not a chainrule file: it is a PyTorch checkpoint (a zip archive holding "
            "a pickle, data.pkl); chainrule never unpickles because loading a pickle can run "
            "code. In PyTorch, convert it with {k: v.numpy() for k, v in sd.items()} and "
            "numpy.savez, or save it with chainrule in the first place."
        )
    listed = ", ".join(names[:5]) + (", ..." if len(names) > 5 else "")
    if names and all(n.endswith(".npy") for n in names):
        raise LoadError(
            f"{name} is a NumPy .npz archive that chainrule.save did not write (no {_MARKER} "
            f"entry; it holds {listed}); read it with numpy.load(path, allow_pickle=False)"
        )
    raise LoadError(
        f"{name} is not a chainrule file: it is a zip archive from another program "
        f"(it holds {listed or 'nothing'})"
    )


def _header(name: str, npz: Any) -> dict:
    raw = npz[_MARKER]
    if raw.dtype != np.uint8 or raw.ndim != 1:
        raise LoadError(f"{name} is corrupt: its {_MARKER} entry is not a UTF-8 byte array")
    try:
        header = json.loads(raw.tobytes().decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise LoadError(f"{name} is corrupt: its structure description is not valid JSON ({e})") from None
    if not isinstance(header, dict) or header.get("format") != FORMAT or "root" not in header:
        raise LoadError(f"{name} is corrupt: its structure description lacks the chainrule marker")
    version = header.get("version")
    if not isinstance(version, int) or version > VERSION:
        raise LoadError(
            f"{name} was written by a newer chainrule (format version {version}); this chainrule "
            f"reads version {VERSION}. Upgrade chainrule to load it."
        )
    return header


class _Decoder:
    """Turns the JSON nodes back into objects, reading each array once from the archive."""

    def __init__(self, name: str, npz: Any, weights_only: bool = True) -> None:
        self.name = name
        self.npz = npz
        self.weights_only = weights_only
        self.tensors: dict[str, Tensor] = {}
        self.keys = set(npz.files)

    def fail(self, what: str) -> LoadError:
        return LoadError(f"{self.name} is corrupt: {what}")

    def array(self, node: dict) -> np.ndarray:
        key = node.get("key")
        if not isinstance(key, str) or key not in self.keys:
            raise self.fail(f"it refers to an array {key!r} that is not in the archive")
        try:
            arr = self.npz[key]
        except ValueError as e:
            if "pickle" in str(e).lower() or "object" in str(e).lower():
                raise LoadError(
                    f"{self.name} holds an object array (entry {key!r}) that only pickle could "
                    "read; chainrule never unpickles because loading a pickle can run code"
                ) from None
            raise
        if node.get("dtype") == "bfloat16" and arr.dtype == np.uint16:  # NumPy files have no bfloat16
            arr = arr.view(_dt.bfloat16.np)  # (needs ml_dtypes: its ImportError says how to install it)
        if _dt.kind(arr.dtype) not in _DTYPE_KINDS or str(arr.dtype) != node.get("dtype") or list(
            arr.shape
        ) != node.get("shape"):
            raise self.fail(
                f"entry {key!r} has dtype {arr.dtype} and shape {list(arr.shape)}, but the "
                f"description says {node.get('dtype')} and {node.get('shape')}"
            )
        return arr

    def decode(self, node: Any) -> Any:
        if not isinstance(node, dict) or "type" not in node:
            raise self.fail(f"unexpected entry {str(node)[:60]!r} in its structure description")
        kind = node["type"]
        if kind == "tensor":
            return self.tensor(node)
        if kind == "ref":
            if node.get("key") not in self.tensors:
                raise self.fail(f"it refers to a tensor {node.get('key')!r} before defining it")
            return self.tensors[node["key"]]
        if kind == "ndarray":
            return self.array(node)
        if kind == "npscalar":
            return self.array(node)[()]
        if kind == "none":
            return None
        if kind in ("bool", "int", "float", "str"):
            value = node.get("value")
            try:
                return {"bool": bool, "int": int, "float": float, "str": str}[kind](value)
            except (TypeError, ValueError):
                raise self.fail(f"bad {kind} value {value!r}") from None
        if kind in ("list", "tuple", "size"):
            items = [self.decode(v) for v in node.get("items", [])]
            return items if kind == "list" else tuple(items) if kind == "tuple" else Size(items)
        if kind in ("dict", "odict"):
            out = OrderedDict() if kind == "odict" else {}
            for pair in node.get("items", []):
                if not isinstance(pair, list) or len(pair) != 2:
                    raise self.fail("a dict entry is not a [key, value] pair")
                out[self.decode(pair[0])] = self.decode(pair[1])
            return out
        if kind == "pickle":
            from . import _pickled

            raw = self.array(node).tobytes()
            return _pickled.decode(node, raw, self.name, self.weights_only, self.decode, _SAFE_GLOBALS,
                                   LoadError)
        raise self.fail(f"unknown entry type {kind!r} in its structure description")

    def tensor(self, node: dict) -> Tensor:
        arr = self.array(node)
        rg = bool(node.get("requires_grad")) and _dt.kind(arr.dtype) in "fc"
        t: Tensor = wrap(np.array(arr))  # own, writeable memory
        if node.get("parameter"):
            t = _parameter_type()(t, requires_grad=rg)
        if rg and not t._rg:
            t.requires_grad_(True)
        self.tensors[node["key"]] = t
        return t


# ------------------------------------------------------------------ safe globals
# The globals a pickled entry may use under ``load(..., weights_only=True)`` (see ``_pickled``).
_SAFE_GLOBALS: list[Any] = []


def add_safe_globals(safe_globals: list) -> None:
    """Register globals (callables, or ``(callable, "module.name")`` pairs) as safe to load."""
    for g in safe_globals:
        if not (callable(g) or (isinstance(g, tuple) and len(g) == 2 and callable(g[0]))):
            raise TypeError(f"add_safe_globals(): expected callables or (callable, name) pairs, got {g!r}")
        if g not in _SAFE_GLOBALS:
            _SAFE_GLOBALS.append(g)


def get_safe_globals() -> list:
    return list(_SAFE_GLOBALS)


def clear_safe_globals() -> None:
    _SAFE_GLOBALS.clear()


class safe_globals:  # noqa: N801 - PyTorch's name
    """``with safe_globals([...]):`` registers the globals for the block only."""

    def __init__(self, safe_globals: list) -> None:
        self.safe_globals = list(safe_globals)

    def __enter__(self) -> None:
        self._before = list(_SAFE_GLOBALS)
        add_safe_globals(self.safe_globals)

    def __exit__(self, *exc: object) -> None:
        _SAFE_GLOBALS[:] = self._before
