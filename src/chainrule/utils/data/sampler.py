"""Samplers: the order in which a DataLoader fetches indices (re-exported by ``utils.data``).

``SequentialSampler`` and ``RandomSampler`` can hand over their whole order as
one NumPy array (``_order()``), which lets ``BatchSampler`` give index arrays
instead of Python lists to the DataLoader's fast path.
"""

from __future__ import annotations

from typing import Any, Generic, Iterable, Iterator, Sequence, TypeVar

import numpy as np

from ...random import Generator, default_generator

__all__ = ["Sampler", "SequentialSampler", "RandomSampler", "SubsetRandomSampler", "BatchSampler"]

T_co = TypeVar("T_co", covariant=True)


class Sampler(Generic[T_co]):
    """Yields the indices (or lists of indices) a DataLoader fetches, in order."""

    def __init__(self, data_source: Any = None) -> None:
        pass

    def __iter__(self) -> Iterator[T_co]:
        raise NotImplementedError(f"{type(self).__name__} must implement __iter__")


class SequentialSampler(Sampler[int]):
    """0, 1, ..., len(data_source) - 1."""

    def __init__(self, data_source: Any) -> None:
        self.data_source = data_source

    def _order(self) -> np.ndarray:
        return np.arange(len(self.data_source))

    def __iter__(self) -> Iterator[int]:
        return iter(range(len(self.data_source)))

    def __len__(self) -> int:
        return len(self.data_source)


class RandomSampler(Sampler[int]):
    """A fresh random permutation every epoch (or ``num_samples`` draws with replacement).

    Draws from ``generator`` (default: chainrule's default generator, so
    ``chainrule.manual_seed`` makes the shuffling reproducible).
    """

    def __init__(
        self,
        data_source: Any,
        replacement: bool = False,
        num_samples: int | None = None,
        generator: Generator | None = None,
    ) -> None:
        self.data_source = data_source
        self.replacement = replacement
        self._num_samples = num_samples
        self.generator = generator
        if not isinstance(replacement, bool):
            raise TypeError(f"replacement should be a boolean value, but got replacement={replacement!r}")
        if not isinstance(self.num_samples, int) or self.num_samples <= 0:
            raise ValueError(f"num_samples should be a positive integer, got {self.num_samples!r}")

    @property
    def num_samples(self) -> int:
        return len(self.data_source) if self._num_samples is None else self._num_samples

    def _order(self) -> np.ndarray:
        rng = (self.generator or default_generator).numpy()
        n = len(self.data_source)
        if self.replacement:
            return rng.integers(0, n, size=self.num_samples)
        reps = -(-self.num_samples // n)
        return np.concatenate([rng.permutation(n) for _ in range(reps)])[: self.num_samples]

    def __iter__(self) -> Iterator[int]:
        return iter(self._order().tolist())

    def __len__(self) -> int:
        return self.num_samples


class SubsetRandomSampler(Sampler[int]):
    """The given indices in a random order each epoch."""

    def __init__(self, indices: Sequence[int], generator: Generator | None = None) -> None:
        self.indices = indices
        self.generator = generator

    def __iter__(self) -> Iterator[int]:
        perm = (self.generator or default_generator).numpy().permutation(len(self.indices))
        return (self.indices[i] for i in perm.tolist())

    def __len__(self) -> int:
        return len(self.indices)


_ORDERED = (SequentialSampler, RandomSampler)  # samplers whose whole order is one array


def _batched(items: Iterable, size: int, drop_last: bool) -> Iterator[list]:
    """Lists of ``size`` consecutive items; the last may be shorter (or dropped)."""
    batch: list = []
    for item in items:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch and not drop_last:
        yield batch


def _num_batches(n: int, size: int, drop_last: bool) -> int:
    return n // size if drop_last else -(-n // size)


class BatchSampler(Sampler[list]):
    """Groups a sampler's indices into lists of ``batch_size`` (the last may be shorter)."""

    def __init__(self, sampler: Sampler | Iterable[int], batch_size: int, drop_last: bool) -> None:
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size <= 0:
            raise ValueError(
                f"batch_size should be a positive integer value, but got batch_size={batch_size!r}"
            )
        if not isinstance(drop_last, bool):
            raise ValueError(f"drop_last should be a boolean, but got drop_last={drop_last!r}")
        self.sampler = sampler
        self.batch_size = batch_size
        self.drop_last = drop_last

    def _index_arrays(self) -> Iterator[np.ndarray] | None:
        """Batches as index arrays when the sampler can give its whole order at once (fast path)."""
        if type(self) is not BatchSampler or type(self.sampler) not in _ORDERED:
            return None
        order = self.sampler._order()  # type: ignore[union-attr]
        bs = self.batch_size
        count = _num_batches(len(order), bs, self.drop_last)
        return (order[k * bs : (k + 1) * bs] for k in range(count))

    def __iter__(self) -> Iterator[list[int]]:
        return _batched(self.sampler, self.batch_size, self.drop_last)

    def __len__(self) -> int:
        return _num_batches(len(self.sampler), self.batch_size, self.drop_last)  # type: ignore[arg-type]
