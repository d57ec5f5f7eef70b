"""Collation (as ``torch.utils.data._utils.collate``): a list of samples becomes a batch.

Collation stacks the items' NumPy arrays with one ``np.stack`` call (user datasets build one
tensor per item, so this is the hot path of a DataLoader).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from ...._tensor import Tensor, wrap

__all__ = ["default_collate", "default_convert"]

_NUMBERS = (int, float, bool)


def _stack_arrays(arrays: list[np.ndarray], what: str) -> np.ndarray:
    try:
        return np.stack(arrays)
    except ValueError:
        shape0 = arrays[0].shape
        k = next(i for i, a in enumerate(arrays) if a.shape != shape0)
        raise RuntimeError(
            f"default_collate: stack expects each {what} to be equal size, but got "
            f"{list(shape0)} at entry 0 and {list(arrays[k].shape)} at entry {k}; pad the samples "
            "to one size or pass a collate_fn"
        ) from None


def default_collate(batch: list) -> Any:
    """Turn a list of samples into a batch: stack tensors/arrays, tensor-ize numbers, recurse.

    Tensors and NumPy arrays are stacked along a new first dimension; Python
    ints become an int64 tensor, floats a float64 tensor, bools a bool tensor;
    strings stay a list; tuples become a list of collated fields
    (``[(x, y), ...] -> [X, Y]``); dicts collate per key; lists and named tuples
    keep their type.
    """
    elem = batch[0]
    if isinstance(elem, Tensor):
        if any(t._rg for t in batch):
            from ....ops import stack

            return stack(batch)
        return wrap(_stack_arrays([t._data for t in batch], "tensor"))
    if isinstance(elem, np.ndarray):
        if elem.dtype.kind in "OSUV":
            raise TypeError(
                f"default_collate: found a NumPy array of dtype {elem.dtype}; only numeric and "
                "bool arrays can become tensors (pass a collate_fn for other data)"
            )
        return wrap(_stack_arrays(batch, "array"))
    if isinstance(elem, np.generic):
        if elem.dtype.kind in "OSUV":
            return list(batch)
        return wrap(np.array(batch))
    if isinstance(elem, _NUMBERS):
        if isinstance(elem, bool):
            return wrap(np.array(batch, dtype=np.bool_))
        if isinstance(elem, int):
            return wrap(np.array(batch, dtype=np.int64))
        return wrap(np.array(batch, dtype=np.float64))
    if isinstance(elem, (str, bytes)):
        return list(batch)
    if isinstance(elem, Mapping):
        collated = {key: default_collate([d[key] for d in batch]) for key in elem}
        try:
            return type(elem)(collated)  # type: ignore[call-arg]
        except TypeError:
            return collated
    if isinstance(elem, tuple) and hasattr(elem, "_fields"):  # named tuple
        return type(elem)(*(default_collate(list(s)) for s in zip(*batch, strict=False)))
    if isinstance(elem, Sequence):
        size = len(elem)
        if any(len(e) != size for e in batch):
            raise RuntimeError(
                f"default_collate: each element in the list of samples should be of equal size; "
                f"sample 0 has {size} fields, others differ"
            )
        fields = [default_collate(list(s)) for s in zip(*batch, strict=False)]
        if isinstance(elem, tuple):
            return fields  # like PyTorch: a list, so batch[:-1] and X, y = batch both work
        try:
            return type(elem)(fields)
        except TypeError:
            return fields
    raise TypeError(
        f"default_collate: batch must contain tensors, numpy arrays, numbers, dicts or lists; "
        f"found {type(elem).__name__}. Pass a collate_fn to DataLoader for other sample types."
    )


def default_convert(data: Any) -> Any:
    """Without batching (``batch_size=None``): NumPy arrays become tensors, containers recurse."""
    if isinstance(data, np.ndarray) and data.dtype.kind not in "OSUV":
        return wrap(data)
    if isinstance(data, np.generic) and data.dtype.kind not in "OSUV":
        return wrap(np.asarray(data))
    if isinstance(data, Mapping):
        return type(data)({k: default_convert(v) for k, v in data.items()})  # type: ignore[call-arg]
    if isinstance(data, tuple) and hasattr(data, "_fields"):
        return type(data)(*(default_convert(d) for d in data))
    if isinstance(data, (list, tuple)):
        return type(data)(default_convert(d) for d in data)
    return data
