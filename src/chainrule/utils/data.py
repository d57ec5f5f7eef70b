"""``chainrule.utils.data``: datasets, samplers and the ``DataLoader`` that batches them.

A ``Dataset`` maps an index to a sample; a sampler decides the order of
indices; a ``BatchSampler`` groups them; ``default_collate`` turns a list of
samples into a batch (``[(x0, y0), (x1, y1)]`` becomes ``[stack(x), tensor(y)]``).

Speed matters here because user datasets build one tensor per item: collation
stacks the items' NumPy arrays with one ``np.stack`` call, and a
``TensorDataset`` (also behind ``Subset``/``random_split``) is batched by
indexing its arrays with all of a batch's indices at once.

``num_workers > 0`` loads batches in worker processes that prefetch while the
main process computes (``utils/_workers.py``), with PyTorch's seeding and
ordering: the same batches, in the same order, for any ``num_workers``.
``pin_memory`` is accepted (there is no device memory to pin).
"""

from __future__ import annotations

import bisect
import math
import warnings
from collections.abc import Mapping, Sequence
from typing import Any, Callable, Generic, Iterable, Iterator, TypeVar

import numpy as np

from .. import random as _random
from .._tensor import Tensor, wrap
from ..random import Generator, default_generator
from ._sampler import (
    BatchSampler,
    RandomSampler,
    Sampler,
    SequentialSampler,
    SubsetRandomSampler,
    _batched,
    _num_batches,
)
from ._workers import MultiProcessIter, WorkerInfo, get_worker_info  # noqa: F401

__all__ = [
    "Dataset",
    "IterableDataset",
    "TensorDataset",
    "ConcatDataset",
    "ChainDataset",
    "Subset",
    "random_split",
    "Sampler",
    "SequentialSampler",
    "RandomSampler",
    "SubsetRandomSampler",
    "BatchSampler",
    "DataLoader",
    "default_collate",
    "default_convert",
    "get_worker_info",
]

T_co = TypeVar("T_co", covariant=True)


# ----------------------------------------------------------------- datasets
class Dataset(Generic[T_co]):
    """A map-style dataset: subclasses define ``__getitem__(index)`` and usually ``__len__``.

    >>> class Squares(Dataset):
    ...     def __len__(self): return 10
    ...     def __getitem__(self, i): return chainrule.tensor([float(i)]), i * i
    """

    def __getitem__(self, index: Any) -> T_co:
        raise NotImplementedError(
            f"{type(self).__name__} (a Dataset subclass) must implement __getitem__"
        )

    def __add__(self, other: Dataset) -> ConcatDataset:
        return ConcatDataset([self, other])


class IterableDataset(Dataset[T_co]):
    """A dataset that is a stream: subclasses define ``__iter__`` (no indexing, no shuffling)."""

    def __iter__(self) -> Iterator[T_co]:
        raise NotImplementedError(
            f"{type(self).__name__} (an IterableDataset) must implement __iter__"
        )

    def __add__(self, other: Dataset) -> ChainDataset:  # type: ignore[override]
        return ChainDataset([self, other])


class TensorDataset(Dataset):
    """Samples are ``(t0[i], t1[i], ...)`` for tensors sharing their first dimension."""

    def __init__(self, *tensors: Tensor) -> None:
        if not tensors:
            raise ValueError("TensorDataset needs at least one tensor")
        for i, t in enumerate(tensors):
            if not isinstance(t, Tensor):
                raise TypeError(
                    f"TensorDataset expects tensors, argument {i} is a {type(t).__name__}; "
                    "convert it with chainrule.tensor(...)"
                )
            if t.ndim == 0:
                raise ValueError(
                    f"TensorDataset: tensor {i} is 0-d; it needs a first dimension to index"
                )
        n = tensors[0].shape[0]
        if any(t.shape[0] != n for t in tensors):
            sizes = [tuple(t.shape) for t in tensors]
            raise ValueError(
                f"Size mismatch between tensors: TensorDataset needs the same first dimension "
                f"(number of samples) in every tensor, got shapes {sizes}"
            )
        self.tensors = tensors

    def __getitem__(self, index: Any) -> tuple:
        return tuple(t[index] for t in self.tensors)

    def __len__(self) -> int:
        return self.tensors[0].shape[0]


class ConcatDataset(Dataset):
    """The datasets one after another (``ds1 + ds2``)."""

    def __init__(self, datasets: Iterable[Dataset]) -> None:
        self.datasets = list(datasets)
        if not self.datasets:
            raise ValueError("ConcatDataset: datasets should not be an empty iterable")
        for d in self.datasets:
            if isinstance(d, IterableDataset):
                raise TypeError("ConcatDataset does not support IterableDataset; use ChainDataset")
        self.cumulative_sizes = list(np.cumsum([len(d) for d in self.datasets]))  # type: ignore[arg-type]

    def __len__(self) -> int:
        return int(self.cumulative_sizes[-1])

    def __getitem__(self, index: int) -> Any:
        n = len(self)
        if index < 0:
            index += n
        if not 0 <= index < n:
            raise IndexError(f"index {index} is out of range for a ConcatDataset of length {n}")
        k = bisect.bisect_right(self.cumulative_sizes, index)
        start = 0 if k == 0 else int(self.cumulative_sizes[k - 1])
        return self.datasets[k][index - start]


class ChainDataset(IterableDataset):
    """Iterable datasets one after another."""

    def __init__(self, datasets: Iterable[Dataset]) -> None:
        self.datasets = list(datasets)

    def __iter__(self) -> Iterator:
        for d in self.datasets:
            yield from d

    def __len__(self) -> int:
        return sum(len(d) for d in self.datasets)  # type: ignore[arg-type]


class Subset(Dataset):
    """The samples of ``dataset`` at ``indices`` (in that order)."""

    def __init__(self, dataset: Dataset, indices: Sequence[int]) -> None:
        self.dataset = dataset
        self.indices = indices

    def __getitem__(self, idx: Any) -> Any:
        if isinstance(idx, list):
            return self.dataset[[self.indices[i] for i in idx]]
        return self.dataset[self.indices[idx]]

    def __len__(self) -> int:
        return len(self.indices)


def random_split(
    dataset: Dataset,
    lengths: Sequence[int | float],
    generator: Generator | None = default_generator,
) -> list[Subset]:
    """Split into non-overlapping random subsets of the given lengths (or fractions summing to 1).

    >>> train, val = random_split(ds, [0.8, 0.2], generator=chainrule.Generator().manual_seed(0))
    """
    n = len(dataset)  # type: ignore[arg-type]
    lengths = list(lengths)
    if lengths and math.isclose(sum(lengths), 1) and sum(lengths) <= 1:
        counts = []
        for i, frac in enumerate(lengths):
            if not 0 <= frac <= 1:
                raise ValueError(
                    f"random_split: fraction at index {i} is not between 0 and 1: {frac}"
                )
            counts.append(int(math.floor(n * frac)))
        for i in range(n - sum(counts)):  # hand out the remainder round-robin, like PyTorch
            counts[i % len(counts)] += 1
        for i, c in enumerate(counts):
            if c == 0:
                warnings.warn(
                    f"random_split: length of split at index {i} is 0; it will be empty",
                    UserWarning,
                    stacklevel=2,
                )
        lengths = counts
    if any(int(x) != x or x < 0 for x in lengths) or sum(lengths) != n:
        raise ValueError(
            f"random_split: the lengths {lengths} must be non-negative integers summing to the "
            f"dataset's length {n}, or fractions summing to 1"
        )
    perm = (generator or default_generator).numpy().permutation(n).tolist()
    out, start = [], 0
    for length in lengths:
        out.append(Subset(dataset, perm[start : start + int(length)]))
        start += int(length)
    return out


# ---------------------------------------------------------------- collation
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
            from ..ops import stack

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


def _tensor_source(dataset: Any) -> tuple[list[np.ndarray], np.ndarray | None] | None:
    """The arrays of a TensorDataset (maybe behind Subsets) and the index map, for fast batching."""
    index_map = None
    while type(dataset) is Subset:
        idx = np.asarray(dataset.indices, dtype=np.int64)
        index_map = idx if index_map is None else idx[index_map]
        dataset = dataset.dataset
    if type(dataset) is not TensorDataset or any(t._rg for t in dataset.tensors):
        return None
    return [t._data for t in dataset.tensors], index_map


# --------------------------------------------------------------- DataLoader
class DataLoader(Generic[T_co]):
    """Iterate over a dataset in batches.

    >>> loader = DataLoader(TensorDataset(X, y), batch_size=32, shuffle=True)
    >>> for X_batch, y_batch in loader: ...

    ``len(loader)`` is the number of batches.  ``shuffle`` draws a new order each
    epoch from ``generator`` (default: the global generator, see
    ``chainrule.manual_seed``).  ``batch_size=None`` turns off batching.
    """

    def __init__(
        self,
        dataset: Dataset,
        batch_size: int | None = 1,
        shuffle: bool | None = None,
        sampler: Sampler | Iterable | None = None,
        batch_sampler: Sampler | Iterable | None = None,
        num_workers: int = 0,
        collate_fn: Callable[[list], Any] | None = None,
        pin_memory: bool = False,
        drop_last: bool = False,
        timeout: float = 0,
        worker_init_fn: Callable[[int], None] | None = None,
        multiprocessing_context: Any = None,
        generator: Generator | None = None,
        *,
        prefetch_factor: int | None = None,
        persistent_workers: bool = False,
        pin_memory_device: str = "",
        in_order: bool = True,
    ) -> None:
        if not isinstance(num_workers, int) or num_workers < 0:
            raise ValueError(
                f"num_workers option should be a non-negative integer, got {num_workers!r}; "
                "use num_workers=0 to load in the main process"
            )
        if num_workers == 0 and prefetch_factor is not None:
            raise ValueError("prefetch_factor option could only be specified in multiprocessing. let "
                             "num_workers > 0 to enable multiprocessing, otherwise set prefetch_factor "
                             "to None.")
        if num_workers == 0 and persistent_workers:
            raise ValueError("persistent_workers option needs num_workers > 0")
        if prefetch_factor is not None and prefetch_factor < 0:
            raise ValueError("prefetch_factor option should be non-negative")
        if timeout < 0:
            raise ValueError("timeout option should be non-negative")
        self.dataset = dataset
        self.num_workers = num_workers
        self.pin_memory = pin_memory
        self.timeout = timeout
        self.worker_init_fn = worker_init_fn
        self.prefetch_factor = prefetch_factor
        self.persistent_workers = persistent_workers
        self.multiprocessing_context = multiprocessing_context
        self.generator = generator
        self._pool: Any = None  # persistent worker processes (utils._workers)
        self._epoch = 0
        self._iterable = isinstance(dataset, IterableDataset)
        if self._iterable:
            if shuffle not in (None, False):
                raise ValueError(
                    "DataLoader with IterableDataset: expected unspecified shuffle option, but "
                    f"got shuffle={shuffle}; an iterable dataset decides its own order"
                )
            if sampler is not None or batch_sampler is not None:
                raise ValueError(
                    "DataLoader with IterableDataset: expected unspecified sampler/batch_sampler "
                    "options; an iterable dataset decides its own order"
                )
        elif not hasattr(dataset, "__getitem__"):
            raise TypeError(
                "DataLoader needs a Dataset (with __getitem__) or an IterableDataset, got "
                f"{type(dataset).__name__}"
            )
        if sampler is not None and shuffle:
            raise ValueError(
                "sampler option is mutually exclusive with shuffle; shuffle in the sampler instead"
            )
        if batch_sampler is not None:
            if batch_size != 1 or shuffle or sampler is not None or drop_last:
                raise ValueError(
                    "batch_sampler option is mutually exclusive with batch_size, shuffle, sampler, "
                    "and drop_last"
                )
            batch_size = None
            drop_last = False
        elif batch_size is None and drop_last:
            raise ValueError(
                "batch_size=None option disables auto-batching and is mutually exclusive with "
                "drop_last"
            )
        if sampler is None and not self._iterable:
            sampler = (
                RandomSampler(dataset, generator=generator)
                if shuffle
                else SequentialSampler(dataset)
            )
        if batch_size is not None and batch_sampler is None and not self._iterable:
            batch_sampler = BatchSampler(sampler, batch_size, drop_last)  # type: ignore[arg-type]
        if batch_size is not None and (
            isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size <= 0
        ):
            raise ValueError(
                f"batch_size should be a positive integer or None, got batch_size={batch_size!r}"
            )
        self.batch_size = batch_size
        self.drop_last = drop_last
        self.sampler = sampler
        self.batch_sampler = batch_sampler
        auto = batch_size is not None or batch_sampler is not None
        self._auto_collation = auto
        self.collate_fn = (
            collate_fn if collate_fn is not None else (default_collate if auto else default_convert)
        )

    def __len__(self) -> int:
        if self._iterable:
            n = len(self.dataset)  # type: ignore[arg-type]  (TypeError if the stream has no length)
            return n if self.batch_size is None else _num_batches(n, self.batch_size, self.drop_last)
        if self.batch_sampler is not None:
            return len(self.batch_sampler)  # type: ignore[arg-type]
        return len(self.sampler)  # type: ignore[arg-type]

    def __iter__(self) -> Iterator[Any]:
        # One draw per epoch, as PyTorch's iterators make (the workers' seeds); drawn with or
        # without workers, so the shuffled order is the same for any num_workers.
        base_seed = int(_random.rng(self.generator).integers(0, 2**62))
        if self.num_workers > 0:
            return MultiProcessIter(self, base_seed)
        if self._iterable:
            return self._iter_stream()
        if self.batch_sampler is None:
            return (self.collate_fn(self.dataset[i]) for i in self.sampler)  # type: ignore[union-attr]
        if self.collate_fn is default_collate:
            source = _tensor_source(self.dataset)
            if source is not None:
                return self._iter_tensor_dataset(*source)
        dataset, collate = self.dataset, self.collate_fn
        return (collate([dataset[i] for i in batch]) for batch in self.batch_sampler)

    def _iter_tensor_dataset(
        self, arrays: list[np.ndarray], index_map: np.ndarray | None
    ) -> Iterator[list[Tensor]]:
        """Batches of a TensorDataset: index its arrays with all of a batch's indices at once."""
        fast = getattr(self.batch_sampler, "_index_arrays", None)
        batches = fast() if fast is not None else None
        if batches is None:
            batches = (np.asarray(b, dtype=np.int64) for b in self.batch_sampler)  # type: ignore[union-attr]
        for idx in batches:
            if index_map is not None:
                idx = index_map[idx]
            yield [wrap(a.take(idx, axis=0)) for a in arrays]

    # ---------------------------------------------------- what worker processes call
    def _index_plan(self) -> Iterator[Any]:
        """What one fetch gets: a batch's indices (or a sample's index without auto-batching)."""
        return iter(self.batch_sampler if self.batch_sampler is not None else self.sampler)  # type: ignore[arg-type]

    def _fetch(self, indices: Any) -> Any:
        if self.batch_sampler is not None:
            return self.collate_fn([self.dataset[i] for i in indices])
        return self.collate_fn(self.dataset[indices])

    def _worker_stream(self) -> Iterator[Any]:
        return self._iter_stream()

    def __del__(self) -> None:
        pool = getattr(self, "_pool", None)
        if pool is not None:
            pool.shutdown()

    def _iter_stream(self) -> Iterator[Any]:
        samples: Iterable = self.dataset  # type: ignore[assignment]
        if self.batch_size is not None:
            samples = _batched(samples, self.batch_size, self.drop_last)
        yield from map(self.collate_fn, samples)
