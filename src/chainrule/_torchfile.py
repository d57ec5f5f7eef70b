"""PyTorch checkpoints (``torch.save``'s zip format) read without torch and without running code.

A ``torch.save`` file is a zip archive: ``<name>/data.pkl`` is a pickle of the object in which
every tensor is a call ``torch._utils._rebuild_tensor_v2(storage, offset, size, stride, ...)``
and every storage a *persistent id* ``("storage", torch.FloatStorage, key, location, numel)``
naming the raw record ``<name>/data/<key>``.  Unpickling it normally would import and call
whatever globals the pickle names, so a checkpoint could be a program.  ``_Unpickler`` below
resolves only the handful of globals a tensor checkpoint needs (the rebuild functions,
``OrderedDict``, the storage and dtype names, basic containers) to chainrule's own functions,
and refuses every other global by name before anything is called.  Each storage is read with one
``readinto``; with ``mmap=True`` it is memory-mapped copy-on-write instead (writes to a loaded
tensor never reach the file; as in PyTorch, the file must then not be overwritten in place while
its tensors are alive).

``save`` writes the same layout (records aligned to 64 bytes, as PyTorch does), so
``torch.load(path, weights_only=True)`` reads it.
"""

from __future__ import annotations

import codecs
import io
import mmap as _mmap
import os
import pickle
import re
import struct
import zipfile
from collections import OrderedDict
from typing import Any

import numpy as np

from . import dtypes as _dt
from ._tensor import Size, Tensor, wrap
from .backend import CPU

__all__ = ["load", "save"]

# storage class name -> (NumPy dtype of the record's elements, dtype name in PyTorch)
_STORAGES = {
    "FloatStorage": ("<f4", "float32"),
    "DoubleStorage": ("<f8", "float64"),
    "HalfStorage": ("<f2", "float16"),
    "BFloat16Storage": ("<u2", "bfloat16"),
    "LongStorage": ("<i8", "int64"),
    "IntStorage": ("<i4", "int32"),
    "ShortStorage": ("<i2", "int16"),
    "CharStorage": ("i1", "int8"),
    "ByteStorage": ("u1", "uint8"),
    "BoolStorage": ("?", "bool"),
}
_BY_DTYPE = {
    np.dtype(code).newbyteorder("="): name for name, (code, t) in _STORAGES.items() if t != "bfloat16"
}
_DTYPE_NAMES = {
    "float32": "float32",
    "float": "float32",
    "float64": "float64",
    "double": "float64",
    "float16": "float16",
    "half": "float16",
    "bfloat16": "float32",
    "int64": "int64",
    "long": "int64",
    "int32": "int32",
    "int": "int32",
    "int16": "int16",
    "short": "int16",
    "int8": "int8",
    "uint8": "uint8",
    "bool": "bool",
}
_KEY = re.compile(r"^[A-Za-z0-9_.]+$")
_ALIGN = 64


def _error(msg: str) -> Exception:
    from .serialization import LoadError

    return LoadError(msg)


class _StorageType:
    """What ``torch.FloatStorage`` & co. resolve to: only usable inside a persistent id."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.code, self.torch_dtype = _STORAGES[name]


class _TypeName:
    """``torch.Tensor`` / ``torch.nn.Parameter``: usable only as ``_rebuild_from_type_v2``'s type."""

    def __init__(self, name: str) -> None:
        self.name = name


class _Storage:
    """A storage: a 1-d array of its elements (bfloat16 already widened to float32)."""

    def __init__(self, array: np.ndarray, key: str) -> None:
        self.array = array
        self.key = key


# ------------------------------------------------------------------- load
class _Archive:
    """The zip's records: names checked, storages read (or mapped) by key."""

    def __init__(self, fh: Any, name: str, use_mmap: bool) -> None:
        self.name, self.fh = name, fh
        try:
            self.zf = zipfile.ZipFile(fh)
        except (zipfile.BadZipFile, OSError, EOFError):
            raise _error(
                f"{name} is truncated or corrupt: it starts like a zip archive (as torch.save "
                "files do) but its directory at the end is missing or damaged; was the save "
                "or the download interrupted?"
            ) from None
        names = self.zf.namelist()
        for n in names:
            parts = n.replace("\\", "/").split("/")
            if n.startswith(("/", "\\")) or ".." in parts or re.match(r"^[A-Za-z]:", n):
                raise _error(
                    f"refusing to load {name}: its archive entry {n!r} points outside the "
                    "archive (path traversal); this is not a file torch.save wrote"
                )
        pkls = [n for n in names if n == "data.pkl" or n.endswith("/data.pkl")]
        if len(pkls) != 1:
            raise _error(f"{name} is not a PyTorch checkpoint: it holds {len(pkls)} data.pkl records")
        self.prefix = pkls[0][: -len("data.pkl")]
        order = self._text("byteorder", "little")
        if order not in ("little", "big"):
            raise _error(f"{name} is corrupt: its byteorder record says {order!r}")
        self.order = "<" if order == "little" else ">"
        self.size = fh.seek(0, os.SEEK_END)
        self.mm = None
        if use_mmap and hasattr(fh, "fileno") and self.size:
            self.mm = _mmap.mmap(fh.fileno(), 0, access=_mmap.ACCESS_COPY)
        self.cache: dict[tuple[str, str], _Storage] = {}

    def _text(self, record: str, default: str) -> str:
        try:
            return self.zf.read(self.prefix + record).decode("utf-8", "replace").strip()
        except KeyError:
            return default

    def pickle_bytes(self) -> bytes:
        try:
            return self.zf.read(self.prefix + "data.pkl")
        except (zipfile.BadZipFile, OSError, EOFError) as e:
            raise _error(f"{self.name} is corrupt: its data.pkl record cannot be read ({e})") from None

    def storage(self, key: str, stype: _StorageType, numel: int) -> _Storage:
        if (key, stype.name) in self.cache:
            return self.cache[key, stype.name]
        record = f"{self.prefix}data/{key}"
        try:
            info = self.zf.getinfo(record)
        except KeyError:
            raise _error(
                f"{self.name} is corrupt: it refers to a storage {key!r} that has no record "
                f"{record!r} in the archive"
            ) from None
        code = stype.code.replace("<", self.order)
        itemsize = np.dtype(code).itemsize
        nbytes = numel * itemsize
        if info.file_size < nbytes:
            raise _error(
                f"{self.name} is corrupt: storage record {record!r} holds {info.file_size} bytes, "
                f"but a {stype.torch_dtype} storage of {numel} elements needs {nbytes}"
            )
        if info.compress_type != zipfile.ZIP_STORED:  # not what torch writes; read it the slow way
            arr = np.frombuffer(self.zf.read(record), dtype=code, count=numel).copy()
        else:
            self.fh.seek(info.header_offset)
            head = self.fh.read(30)
            if len(head) != 30 or head[:4] != b"PK\x03\x04":
                raise _error(f"{self.name} is corrupt: the header of record {record!r} is damaged")
            n, m = struct.unpack("<HH", head[26:30])
            start = info.header_offset + 30 + n + m
            if start + nbytes > self.size:
                raise _error(
                    f"{self.name} is truncated: storage record {record!r} ends past the end "
                    "of the file; was the save or the download interrupted?"
                )
            if self.mm is not None:
                arr = np.frombuffer(self.mm, dtype=code, count=numel, offset=start)
            else:
                arr = np.empty(numel, dtype=code)
                self.fh.seek(start)
                if self.fh.readinto(memoryview(arr).cast("B")) != nbytes:
                    raise _error(f"{self.name} is truncated inside storage record {record!r}")
        if stype.torch_dtype == "bfloat16":  # the top half of a float32: widening is exact
            arr = (arr.astype("<u4") << 16).view(np.float32)
        elif self.order == ">" and itemsize > 1:
            arr = arr.astype(arr.dtype.newbyteorder("="))
        out = self.cache[key, stype.name] = _Storage(arr, key)
        return out


def _ints(value: Any, what: str, name: str) -> tuple:
    if not isinstance(value, (tuple, list)) or not all(
        isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in value
    ):
        raise _error(f"{name} is corrupt: a tensor's {what} is {value!r}, not a tuple of sizes")
    return tuple(value)


def _codecs_encode(text: Any, encoding: str = "utf-8") -> bytes:
    """How protocol-2 pickles spell a ``bytes`` object: ``_codecs.encode(str, 'latin1')``."""
    if not isinstance(text, str) or encoding not in ("latin1", "latin-1"):
        raise _error(
            f"refusing _codecs.encode({type(text).__name__}, {encoding!r}): only bytes can be loaded"
        )
    return text.encode("latin1")


class _Unpickler(pickle._Unpickler):  # type: ignore[name-defined]
    """Resolves only the globals a tensor checkpoint needs; refuses the rest by name.

    The pure-Python unpickler is used so that ``BUILD`` (setting state on an object) can be
    limited to ``OrderedDict`` (the ``_metadata`` of a ``state_dict``): state set on anything
    else could alter chainrule's own objects.
    """

    dispatch = dict(pickle._Unpickler.dispatch)  # type: ignore[attr-defined]

    def __init__(self, data: bytes, archive: _Archive, extra: dict) -> None:
        super().__init__(io.BytesIO(data))
        self.archive = archive
        self.name = archive.name
        self.allowed: dict[tuple[str, str], Any] = {
            ("torch._utils", "_rebuild_tensor_v2"): self.rebuild_tensor,
            ("torch._utils", "_rebuild_tensor"): self.rebuild_tensor,
            ("torch._utils", "_rebuild_parameter"): self.rebuild_parameter,
            ("torch._utils", "_rebuild_parameter_with_state"): self.rebuild_parameter,
            ("torch._tensor", "_rebuild_from_type_v2"): self.rebuild_from_type,
            ("torch", "Tensor"): _TypeName("Tensor"),
            ("torch.nn.parameter", "Parameter"): _TypeName("Parameter"),
            ("torch", "Size"): Size,
            ("torch", "device"): lambda *a, **k: CPU,
            ("collections", "OrderedDict"): OrderedDict,
            ("builtins", "set"): set,
            ("builtins", "frozenset"): frozenset,
            ("builtins", "complex"): complex,
            ("builtins", "slice"): slice,
            ("builtins", "bytearray"): bytearray,
            ("_codecs", "encode"): _codecs_encode,
            **{("torch", s): _StorageType(s) for s in _STORAGES},
            **{("torch", d): _dt.to_chainrule(v) for d, v in _DTYPE_NAMES.items()},
            **extra,
        }

    def find_class(self, module: str, name: str) -> Any:
        module = "builtins" if module == "__builtin__" else module
        found = self.allowed.get((module, name))
        if found is None:
            raise _error(
                f"refusing to load '{module}.{name}' from {self.name}: only tensor data can be loaded "
                "(tensors, state_dicts, containers, numbers, strings); unpickling other globals could "
                "run code. In PyTorch, save model.state_dict() rather than the model, or register a "
                "trusted global with chainrule.serialization.add_safe_globals"
            )
        return found

    def persistent_load(self, pid: Any) -> _Storage:
        ok = (
            isinstance(pid, tuple)
            and len(pid) == 5
            and pid[0] == "storage"
            and isinstance(pid[1], _StorageType)
            and isinstance(pid[2], str)
            and _KEY.match(pid[2])
            and isinstance(pid[4], int)
            and not isinstance(pid[4], bool)
            and pid[4] >= 0
        )
        if not ok:
            raise _error(f"{self.name} is corrupt: unknown persistent id {str(pid)[:80]!r} in its data.pkl")
        return self.archive.storage(pid[2], pid[1], pid[4])

    def load_build(self) -> None:
        state = self.stack.pop()
        inst = self.stack[-1]
        if type(inst) is not OrderedDict or not isinstance(state, dict):
            raise _error(
                f"refusing to set state on a {type(inst).__name__} in {self.name}: only "
                "tensor data can be loaded"
            )
        inst.__dict__.update({str(k): v for k, v in state.items()})

    dispatch[pickle.BUILD[0]] = load_build

    def rebuild_tensor(
        self,
        storage: Any,
        offset: Any,
        size: Any,
        stride: Any,
        requires_grad: Any = False,
        hooks: Any = None,
        metadata: Any = None,
    ) -> Tensor:
        if not isinstance(storage, _Storage) or not isinstance(offset, int) or offset < 0:
            raise _error(
                f"{self.name} is corrupt: a tensor is rebuilt from {type(storage).__name__} "
                f"at offset {offset!r}, not from a storage of the archive"
            )
        size, stride = _ints(size, "size", self.name), _ints(stride, "stride", self.name)
        if len(size) != len(stride):
            raise _error(f"{self.name} is corrupt: a tensor has size {size} but stride {stride}")
        arr = storage.array
        if 0 not in size:
            last = offset + sum((s - 1) * st for s, st in zip(size, stride))
            if last >= arr.size:
                raise _error(
                    f"{self.name} is corrupt: a tensor of size {list(size)} (offset {offset}, stride "
                    f"{list(stride)}) needs {last + 1} elements, but its storage {storage.key!r} "
                    f"holds only {arr.size}"
                )
        else:
            offset = 0
        # a view whose .base is the storage array, so views of one storage share memory
        view = np.ndarray(
            size,
            arr.dtype,
            buffer=arr,
            offset=offset * arr.itemsize,
            strides=tuple(s * arr.itemsize for s in stride),
        )
        t = wrap(view)
        if requires_grad is True and view.dtype.kind == "f":
            t.requires_grad_(True)
        return t

    def rebuild_parameter(
        self, data: Any, requires_grad: Any = True, hooks: Any = None, state: Any = None
    ) -> Tensor:
        if not isinstance(data, Tensor):
            raise _error(f"{self.name} is corrupt: a Parameter is rebuilt from a {type(data).__name__}")
        from .nn import Parameter

        return Parameter(data, requires_grad=bool(requires_grad) and data._data.dtype.kind == "f")

    def rebuild_from_type(self, func: Any, kind: Any, args: Any, state: Any = None) -> Any:
        if func not in (self.rebuild_tensor, self.rebuild_parameter) or not isinstance(kind, _TypeName):
            raise _error(
                f"refusing to rebuild a tensor subclass in {self.name}: only tensor data can be loaded"
            )
        return func(*args)


def load(f: Any, mmap: bool | None = None, name: str | None = None) -> Any:
    """The object a ``torch.save`` zip checkpoint holds, with chainrule tensors."""
    from .serialization import _SAFE_GLOBALS, LoadError

    if hasattr(f, "read"):
        fh, own = f, False
        name = name or str(getattr(f, "name", "<file object>"))
    else:
        path = os.fspath(f)
        fh, own, name = open(path, "rb"), True, name or str(path)
    extra = {}
    for g in _SAFE_GLOBALS:
        fn, full = g if isinstance(g, tuple) else (g, f"{g.__module__}.{g.__qualname__}")
        mod, _, qual = full.rpartition(".")
        extra[(mod, qual)] = fn
    try:
        archive = _Archive(fh, name, use_mmap=bool(mmap) and own)
        try:
            return _Unpickler(archive.pickle_bytes(), archive, extra).load()
        except RecursionError:
            raise _error(f"{name} is corrupt: its data.pkl nests too deeply") from None
        except LoadError:
            raise
        except (
            pickle.UnpicklingError,
            EOFError,
            TypeError,
            ValueError,
            AttributeError,
            IndexError,
            KeyError,
            struct.error,
            UnicodeDecodeError,
        ) as e:
            raise _error(
                f"{name} is corrupt: its data.pkl cannot be read ({type(e).__name__}: {e})"
            ) from None
    finally:
        if own:
            fh.close()  # a memory map outlives the descriptor


# ------------------------------------------------------------------- save
class _Global:
    """A ``module.name`` to write as a pickle GLOBAL without importing the module (torch)."""

    def __init__(self, module: str, name: str) -> None:
        self.module, self.name = module, name

    def __call__(self, *args: Any) -> Any:  # pickle requires reduce functions to be callable
        raise TypeError(f"{self.module}.{self.name} is a name to write, not a function to call")


_PICKLE_HELPERS = (OrderedDict, set, frozenset, complex, bytearray, codecs.encode)  # what pickle calls
_PLAIN = (dict, list, tuple, set, frozenset, str, bytes, bytearray, int, float, bool, complex, type(None))


class _Pickler(pickle._Pickler):  # type: ignore[name-defined]
    """Writes tensors as PyTorch does: rebuild calls over storages kept as separate records."""

    dispatch = dict(pickle._Pickler.dispatch)  # type: ignore[attr-defined]

    def __init__(self, file: Any) -> None:
        super().__init__(file, protocol=2)
        self.storages: dict[int, tuple[str, np.ndarray]] = {}
        self.globals: dict[tuple[str, str], _Global] = {}

    def glob(self, module: str, name: str) -> _Global:
        return self.globals.setdefault((module, name), _Global(module, name))

    def save_torch_global(self, obj: Any) -> None:
        if isinstance(obj, _dt.dtype):
            obj = self.glob("torch", obj.name)
        self.write(pickle.GLOBAL + f"{obj.module}\n{obj.name}\n".encode())
        self.memoize(obj)

    dispatch[_Global] = save_torch_global
    dispatch[_dt.dtype] = save_torch_global

    def persistent_id(self, obj: Any) -> Any:
        if isinstance(obj, tuple) and len(obj) == 3 and obj[0] is _STORAGE_TAG:
            key, root = self.storages[obj[1]]
            stype = _storage_name(root.dtype)
            return ("storage", self.glob("torch", stype), key, "cpu", int(root.size))
        return None

    def storage_of(self, arr: np.ndarray) -> tuple[Any, int, tuple]:
        root = arr
        while isinstance(root.base, np.ndarray):
            root = root.base
        step = arr.itemsize
        shares = (
            root.dtype == arr.dtype
            and root.flags.c_contiguous
            and arr.size > 0
            and all(s >= 0 and s % step == 0 for s in arr.strides)
        )
        if not shares:
            root = np.ascontiguousarray(arr).reshape(-1)
        if id(root) not in self.storages:
            self.storages[id(root)] = (str(len(self.storages)), root)
        if not shares:
            return (_STORAGE_TAG, id(root), None), 0, tuple(int(s) for s in _contiguous_strides(arr.shape))
        offset = (arr.__array_interface__["data"][0] - root.__array_interface__["data"][0]) // step
        return (_STORAGE_TAG, id(root), None), int(offset), tuple(s // step for s in arr.strides)

    def reducer_override(self, obj: Any) -> Any:
        if isinstance(obj, Tensor):
            from .nn import Parameter

            if isinstance(obj, Parameter):
                return (
                    self.glob("torch._utils", "_rebuild_parameter"),
                    (_Plain(obj), bool(obj._rg), OrderedDict()),
                )
            return self.tensor_reduce(obj)
        if isinstance(obj, _Plain):
            return self.tensor_reduce(obj.tensor, requires_grad=False)
        if isinstance(obj, Size):
            return (self.glob("torch", "Size"), (tuple(int(s) for s in obj),))
        if (
            isinstance(obj, (_Global, _dt.dtype, OrderedDict))
            or type(obj) in _PLAIN
            or any(obj is c for c in _PICKLE_HELPERS)
        ):
            return NotImplemented
        raise TypeError(
            f"chainrule.save(format='torch'): cannot store a {type(obj).__module__}.{type(obj).__name__}; "
            "PyTorch checkpoints written here hold what torch.load(weights_only=True) reads: tensors, "
            "dicts, lists, tuples, sets, strings, numbers, dtypes and None. Convert it (NumPy arrays "
            "with chainrule.from_numpy), or save it in chainrule's own format"
        )

    def tensor_reduce(self, t: Tensor, requires_grad: bool | None = None) -> tuple:
        arr = t._data
        if _storage_name(arr.dtype) is None:
            raise TypeError(f"chainrule.save(format='torch'): dtype {arr.dtype} has no PyTorch storage")
        ref, offset, stride = self.storage_of(arr)
        rg = bool(t._rg) if requires_grad is None else requires_grad
        return (
            self.glob("torch._utils", "_rebuild_tensor_v2"),
            (ref, offset, tuple(int(s) for s in arr.shape), stride, rg, OrderedDict()),
        )


_STORAGE_TAG = object()


def _storage_name(npd: np.dtype) -> str | None:
    """The PyTorch storage class for an array's dtype (bfloat16's bits are written as they are)."""
    if npd.kind == "V" and npd.name == "bfloat16":
        return "BFloat16Storage"
    return _BY_DTYPE.get(npd.newbyteorder("="))


class _Plain:
    """A Parameter's data, pickled as a plain tensor inside ``_rebuild_parameter``."""

    def __init__(self, tensor: Tensor) -> None:
        self.tensor = tensor


def _contiguous_strides(shape: tuple) -> list[int]:
    out, acc = [], 1
    for s in reversed(shape):
        out.append(acc)
        acc *= max(s, 1)
    return out[::-1]


def _write_record(zf: zipfile.ZipFile, name: str, data: Any) -> None:
    """One uncompressed record whose data starts on a 64-byte boundary (PyTorch mmaps them)."""
    info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
    info.compress_type = zipfile.ZIP_STORED
    pad = -(zf.fp.tell() + 30 + len(name.encode())) % _ALIGN  # type: ignore[union-attr]
    if pad:
        pad += _ALIGN if pad < 4 else 0
        info.extra = b"FB" + struct.pack("<H", pad - 4) + b"Z" * (pad - 4)
    zf.writestr(info, data)


def save(obj: Any, f: Any) -> None:
    """Write ``obj`` as ``torch.save`` does (zip format, protocol 2, 64-byte aligned records)."""
    buf = io.BytesIO()
    pickler = _Pickler(buf)
    pickler.dump(obj)
    out = f if hasattr(f, "write") else open(os.fspath(f), "wb")
    try:
        with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as zf:
            _write_record(zf, "archive/data.pkl", buf.getvalue())
            _write_record(zf, "archive/.format_version", b"1")
            _write_record(zf, "archive/.storage_alignment", b"64")
            _write_record(zf, "archive/byteorder", b"little")
            for key, root in pickler.storages.values():
                data = np.ascontiguousarray(root).astype(root.dtype.newbyteorder("<"), copy=False)
                _write_record(zf, f"archive/data/{key}", memoryview(data.reshape(-1).view(np.uint8)))
            _write_record(zf, "archive/version", b"3\n")
            _write_record(zf, "archive/.data/serialization_id", b"0" * 40)
    finally:
        if out is not f:
            out.close()
