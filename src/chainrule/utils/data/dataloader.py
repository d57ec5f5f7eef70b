"""The ``DataLoader`` (as ``torch.utils.data.dataloader``): batches a dataset in a sampler's order.

A ``TensorDataset`` (also behind ``Subset``/``random_split``) is batched by indexing its arrays
with all of a batch's indices at once.  ``num_workers > 0`` loads batches in worker processes
that prefetch while the main process computes (``_utils/worker.py``), with PyTorch's seeding and
ordering: the same batches, in the same order, for any ``num_workers``.  ``pin_memory`` is
accepted (there is no device memory to pin).
"""

from __future__ import annotations

from typing import Any, Callable, Generic, Iterable, Iterator, TypeVar

import numpy as np

from ... import random as _random
from ..._tensor import Tensor, wrap
from ...random import Generator
from ._utils.collate import default_collate, default_convert
from ._utils.worker import MultiProcessIter, WorkerInfo, get_worker_info  # noqa: F401
from .dataset import Dataset, IterableDataset, Subset, TensorDataset
from .sampler import BatchSampler, RandomSampler, Sampler, SequentialSampler, _batched, _num_batches

__all__ = ["DataLoader", "default_collate", "default_convert", "get_worker_info"]

T_co = TypeVar("T_co", covariant=True)


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
            raise ValueError(
                "prefetch_factor option could only be specified in multiprocessing. let "
                "num_workers > 0 to enable multiprocessing, otherwise set prefetch_factor "
                "to None."
            )
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
                "batch_size=None option disables auto-batching and is mutually exclusive with drop_last"
            )
        if sampler is None and not self._iterable:
            sampler = RandomSampler(dataset, generator=generator) if shuffle else SequentialSampler(dataset)
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
