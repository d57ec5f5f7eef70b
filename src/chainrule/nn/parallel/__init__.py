"""``chainrule.nn.parallel``: data parallelism.

``DataParallel`` splits a batch over several devices in PyTorch; chainrule has one device, the
CPU, so it runs the wrapped module on the whole batch (what PyTorch does with a single device),
and scripts written for several GPUs run unchanged.  Its ``state_dict`` keys carry the
``module.`` prefix, as PyTorch's.  ``DistributedDataParallel`` is the multi-process form: one
replica per MPI rank, gradients averaged during backward (see ``distributed.py``).
"""

from __future__ import annotations

from .data_parallel import DataParallel, data_parallel
from .distributed import DistributedDataParallel

__all__ = ["DataParallel", "data_parallel", "DistributedDataParallel"]
