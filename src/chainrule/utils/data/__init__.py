"""``chainrule.utils.data``: datasets, samplers and the ``DataLoader`` that batches them.

Laid out as ``torch.utils.data``: ``dataset`` (``Dataset``, ``TensorDataset``, ...), ``sampler``
(the order of indices), ``dataloader`` (``DataLoader``), ``_utils.collate`` (``default_collate``:
``[(x0, y0), (x1, y1)]`` becomes ``[stack(x), tensor(y)]``) and ``_utils.worker`` (worker
processes for ``num_workers > 0``, ``get_worker_info``).
"""

from . import dataloader, dataset, distributed, sampler  # noqa: F401
from ._utils.collate import default_collate, default_convert
from ._utils.worker import WorkerInfo, get_worker_info
from .dataloader import DataLoader
from .dataset import (
    ChainDataset,
    ConcatDataset,
    Dataset,
    IterableDataset,
    Subset,
    TensorDataset,
    random_split,
)
from .distributed import DistributedSampler
from .sampler import BatchSampler, RandomSampler, Sampler, SequentialSampler, SubsetRandomSampler

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
    "DistributedSampler",
    "DataLoader",
    "default_collate",
    "default_convert",
    "get_worker_info",
    "WorkerInfo",
]
