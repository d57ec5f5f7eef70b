"""Whole objects in ``chainrule.save`` files (``torch.save(model, f)``), and their trusted loading.

Objects the archive format does not describe (a whole ``nn.Module``, an optimizer, a user
class) are pickled, with every tensor inside them stored as an ordinary array entry of the
archive (a persistent id), never in the pickle.  Loading such an entry can run code, so, as in
PyTorch, ``load(..., weights_only=True)`` (the default) unpickles only the globals registered
with ``serialization.add_safe_globals`` and refuses anything else, naming it; only
``weights_only=False``, for files whose source you trust, unpickles everything.
"""

from __future__ import annotations

import io
import pickle
from collections import OrderedDict
from typing import Any, Callable

import numpy as np

from ._tensor import Tensor

__all__ = ["encode", "decode"]

_ALWAYS_SAFE = {
    ("collections", "OrderedDict"): OrderedDict,
    ("builtins", "set"): set,
    ("builtins", "frozenset"): frozenset,
    ("builtins", "complex"): complex,
    ("builtins", "slice"): slice,
}


def encode(
    obj: Any, arrays: dict, memo: dict, where: str, encode_node: Callable, array_node: Callable
) -> dict:
    """The pickle of ``obj`` as an archive entry; tensors inside become archive entries too."""

    class _Pickler(pickle.Pickler):
        def persistent_id(self, o: Any) -> Any:
            if isinstance(o, Tensor):
                return ("chainrule.tensor", encode_node(o, arrays, memo, f"a tensor inside {where}"))
            return None

    buf = io.BytesIO()
    try:
        _Pickler(buf, protocol=pickle.HIGHEST_PROTOCOL).dump(obj)
    except (pickle.PicklingError, TypeError, AttributeError) as e:
        raise TypeError(
            f"chainrule.save: cannot save {where} of type {type(obj).__name__}: {e}. Save its "
            "state_dict() instead (tensors and containers need no pickling)"
        ) from None
    data = np.frombuffer(buf.getvalue(), dtype=np.uint8)
    return {
        "type": "pickle",
        "class": f"{type(obj).__module__}.{type(obj).__qualname__}",
        **array_node(data, arrays, where),
    }


def decode(
    node: dict,
    raw: bytes,
    name: str,
    weights_only: bool,
    decode_node: Callable,
    safe_globals: list,
    error: type,
) -> Any:
    """Unpickle an entry written by ``encode`` (restricted to safe globals when ``weights_only``)."""
    allowed = dict(_ALWAYS_SAFE)
    for g in safe_globals:
        fn, full = g if isinstance(g, tuple) else (g, f"{g.__module__}.{g.__qualname__}")
        mod, _, qual = full.rpartition(".")
        allowed[(mod, qual)] = fn

    class _Unpickler(pickle.Unpickler):
        def persistent_load(self, pid: Any) -> Any:
            if not (isinstance(pid, tuple) and len(pid) == 2 and pid[0] == "chainrule.tensor"):
                raise error(f"{name} is corrupt: unknown persistent id in a pickled entry")
            return decode_node(pid[1])

        def find_class(self, module: str, qualname: str) -> Any:
            if not weights_only:
                return super().find_class(module, qualname)
            if (module, qualname) in allowed:
                return allowed[(module, qualname)]
            raise error(
                f"chainrule.load: {name} holds a pickled {node.get('class', 'object')}, and unpickling "
                f"it needs the global {module}.{qualname}, which weights_only=True (the default) does "
                "not allow: loading a pickle can run arbitrary code. If you trust where the file came "
                "from, load it with chainrule.load(path, weights_only=False); or allow this one "
                f"global with chainrule.serialization.add_safe_globals([{qualname}]); or save and "
                "load model.state_dict() instead."
            )

    return _Unpickler(io.BytesIO(raw)).load()
