"""``chainrule.distributed``: ``torch.distributed``'s names on MPI (mpi4py).

Start N processes with ``chainrule launch -n N script.py`` (or ``mpiexec -n N python
script.py``); each calls ``init_process_group()`` and then the collectives::

    import chainrule as torch
    import chainrule.distributed as dist

    dist.init_process_group("mpi")            # rank and size come from MPI
    t = torch.ones(3) * dist.get_rank()
    dist.all_reduce(t)                         # in place: 0 + 1 + ... on every rank

mpi4py is imported on first use, never when chainrule is imported; see docs/distributed.md.
"""

from __future__ import annotations

from .c10d import (
    Backend,
    GroupMember,
    ProcessGroup,
    ReduceOp,
    Work,
    default_pg_timeout,
    destroy_process_group,
    get_backend,
    get_global_rank,
    get_group_rank,
    get_process_group_ranks,
    get_rank,
    get_world_size,
    init_process_group,
    is_available,
    is_gloo_available,
    is_initialized,
    is_mpi_available,
    is_nccl_available,
    new_group,
)
from .collectives import (
    all_gather,
    all_gather_into_tensor,
    all_gather_object,
    all_reduce,
    barrier,
    broadcast,
    broadcast_object_list,
    gather,
    gather_object,
    irecv,
    isend,
    recv,
    reduce,
    reduce_scatter,
    reduce_scatter_tensor,
    scatter,
    scatter_object_list,
    send,
)

group = GroupMember  # torch.distributed.group.WORLD

__all__ = [
    "Backend",
    "GroupMember",
    "ProcessGroup",
    "ReduceOp",
    "Work",
    "group",
    "default_pg_timeout",
    "is_available",
    "is_mpi_available",
    "is_gloo_available",
    "is_nccl_available",
    "is_initialized",
    "init_process_group",
    "destroy_process_group",
    "new_group",
    "get_rank",
    "get_world_size",
    "get_backend",
    "get_process_group_ranks",
    "get_global_rank",
    "get_group_rank",
    "barrier",
    "broadcast",
    "all_reduce",
    "reduce",
    "all_gather",
    "all_gather_into_tensor",
    "gather",
    "scatter",
    "reduce_scatter",
    "reduce_scatter_tensor",
    "send",
    "recv",
    "isend",
    "irecv",
    "broadcast_object_list",
    "all_gather_object",
    "gather_object",
    "scatter_object_list",
]
