"""Process groups on MPI communicators: ``init_process_group``, ``new_group``, ranks, work handles.

The default group is ``MPI.COMM_WORLD``: rank and size come from whoever started the processes
(``mpiexec``, ``chainrule launch``, a cluster's scheduler), never from a store of our own.  A
``new_group(ranks)`` is an MPI communicator split from the world; ranks given to collectives
(``src=``, ``dst=``) are global ranks, as in PyTorch.
"""

from __future__ import annotations

import datetime
import os
import sys
import traceback
import zlib
from enum import Enum
from typing import Any, Callable

import numpy as np

from ._mpi import available, mpi

__all__ = [
    "Backend",
    "ReduceOp",
    "ProcessGroup",
    "GroupMember",
    "Work",
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
    "default_pg_timeout",
]

default_pg_timeout = datetime.timedelta(minutes=30)


class Backend(str):
    """Backend names.  Everything runs on MPI; ``gloo`` is accepted so CPU scripts run unchanged."""

    MPI = "mpi"
    GLOO = "gloo"
    NCCL = "nccl"
    UNDEFINED = "undefined"

    def __new__(cls, name: str) -> Backend:
        return str.__new__(cls, name.lower())


class ReduceOp(Enum):
    """Reductions for ``all_reduce``/``reduce``/``reduce_scatter`` (``AVG`` = SUM, then / size)."""

    SUM = "sum"
    AVG = "avg"
    PRODUCT = "product"
    MIN = "min"
    MAX = "max"
    BAND = "band"
    BOR = "bor"
    BXOR = "bxor"


_OPS: dict = {}


def mpi_op(op: ReduceOp) -> Any:
    """The MPI reduction for ``op`` (the table is built once: this is on every call's path)."""
    m = _OPS.get(op)
    if m is None:
        if not isinstance(op, ReduceOp):
            raise TypeError(f"op must be a dist.ReduceOp (ReduceOp.SUM, AVG, ...), got {op!r}")
        M = mpi()
        names = {"sum": "SUM", "avg": "SUM", "product": "PROD"}
        m = _OPS[op] = getattr(M, names.get(op.value, op.name))
    return m


class ProcessGroup:
    """A set of ranks and the MPI communicator that joins them (``comm`` is None on non-members)."""

    def __init__(self, comm: Any, ranks: list[int], backend: str, timeout: datetime.timedelta) -> None:
        self.comm = comm
        self.ranks = ranks  # global ranks, in group-rank order
        self.backend = backend
        self.timeout = timeout

    def rank(self) -> int:
        return self.comm.Get_rank()

    def size(self) -> int:
        return len(self.ranks)

    def __repr__(self) -> str:
        return f"ProcessGroup(ranks={self.ranks}, backend={self.backend!r})"


class GroupMember:
    WORLD: ProcessGroup | None = None
    NON_GROUP_MEMBER = object()


class Work:
    """The handle of an ``async_op=True`` call: ``wait()`` blocks until the result is in place."""

    def __init__(
        self,
        requests: list,
        finish: Callable[[], None] | None = None,
        timeout: datetime.timedelta | None = None,
    ) -> None:
        self._requests = requests  # mpi4py Requests (they keep the buffers alive)
        self._finish = finish  # copy back / divide for AVG, run once after completion
        self._timeout = timeout
        self._done = not requests

    def _complete(self) -> None:
        if self._finish is not None:
            f, self._finish = self._finish, None
            f()
        self._done = True

    def is_completed(self) -> bool:
        if not self._done and mpi().Request.Testall(self._requests):
            self._complete()
        return self._done and self._finish is None

    def wait(self, timeout: datetime.timedelta | None = None) -> bool:
        if self._done:
            self._complete()
            return True
        M = mpi()
        if timeout is None:
            M.Request.Waitall(self._requests)
        else:
            import time

            deadline = time.monotonic() + timeout.total_seconds()
            while not M.Request.Testall(self._requests):
                if time.monotonic() > deadline:
                    raise RuntimeError(
                        f"Work.wait() timed out after {timeout}: a peer rank did not "
                        "take part in the operation (it failed, hangs, or called "
                        "another collective)"
                    )
                time.sleep(1e-4)
        self._complete()
        return True

    def result(self) -> list:
        return []

    def get_future(self) -> Any:
        raise RuntimeError("Work.get_future() is not supported by chainrule's MPI backend; use wait()")


class _State:
    world: ProcessGroup | None = None
    groups: list = []
    checks: bool = True


_state = _State()


def is_available() -> bool:
    """True when the distributed package can run here (mpi4py importable)."""
    return available()


def is_mpi_available() -> bool:
    return available()


def is_gloo_available() -> bool:
    return available()  # "gloo" runs on MPI here


def is_nccl_available() -> bool:
    return False


def is_initialized() -> bool:
    return _state.world is not None


def _world() -> ProcessGroup:
    if _state.world is None:
        raise ValueError(
            "Default process group has not been initialized, please make sure to call init_process_group."
        )
    return _state.world


def _excepthook(exc_type: Any, exc: BaseException, tb: Any) -> None:
    """An uncaught error on one rank ends the whole job (no peer waits forever), with its message."""
    rank = mpi().COMM_WORLD.Get_rank()
    text = "".join(traceback.format_exception(exc_type, exc, tb))
    sys.stderr.write(f"[rank {rank}] {text}[rank {rank}] aborting the job (all ranks)\n")
    sys.stderr.flush()
    mpi().COMM_WORLD.Abort(1)


def init_process_group(
    backend: str | None = None,
    init_method: str | None = None,
    timeout: datetime.timedelta | None = None,
    world_size: int = -1,
    rank: int = -1,
    store: Any = None,
    group_name: str = "",
    pg_options: Any = None,
    device_id: Any = None,
) -> None:
    """Join the job's processes into the default group (``MPI.COMM_WORLD``).

    Rank and size come from MPI; a ``world_size``/``rank`` (or torchrun's ``WORLD_SIZE``/``RANK``
    environment) that disagrees with it is an error rather than a silent hang.
    """
    if _state.world is not None:
        raise ValueError("trying to initialize the default process group twice!")
    name = Backend(backend or "mpi")
    if name not in ("mpi", "gloo", "cpu:gloo", "cpu:mpi"):
        raise RuntimeError(
            f"backend {backend!r} is not available: chainrule runs on the CPU over MPI; "
            'use backend="mpi" (or "gloo", which chainrule also runs on MPI)'
        )
    M = mpi()
    comm = M.COMM_WORLD
    size, me = comm.Get_size(), comm.Get_rank()
    env_size = int(os.environ.get("WORLD_SIZE", -1)) if world_size == -1 else world_size
    env_rank = int(os.environ.get("RANK", -1)) if rank == -1 else rank
    if env_size not in (-1, size) or env_rank not in (-1, me):
        raise ValueError(
            f"init_process_group: world_size={env_size}, rank={env_rank} were asked for, but MPI started "
            f"this process as rank {me} of {size}. Start the job with `chainrule launch -n N script.py` "
            "(or mpiexec -n N), which sets both consistently"
        )
    _state.world = ProcessGroup(comm, list(range(size)), str(name), timeout or default_pg_timeout)
    _state.checks = os.environ.get("CHAINRULE_DISTRIBUTED_CHECKS", "1") != "0"
    GroupMember.WORLD = _state.world
    if size > 1:
        sys.excepthook = _excepthook


def destroy_process_group(group: ProcessGroup | None = None) -> None:
    """Free a group (or all of them, and the default group, when ``group`` is None)."""
    M = mpi()
    if group is None or group is _state.world:
        for g in _state.groups:
            if g.comm is not None and g.comm != M.COMM_NULL:
                g.comm.Free()
        _state.groups = []
        _state.world = None
        GroupMember.WORLD = None
        if sys.excepthook is _excepthook:
            sys.excepthook = sys.__excepthook__
        return
    if group.comm is not None:
        group.comm.Free()
        group.comm = None
    _state.groups = [g for g in _state.groups if g is not group]


def new_group(
    ranks: list[int] | None = None,
    timeout: datetime.timedelta | None = None,
    backend: str | None = None,
    pg_options: Any = None,
    use_local_synchronization: bool = False,
    group_desc: str | None = None,
) -> Any:
    """A group of some ranks; every rank of the world must call it (an MPI ``Comm.Split``)."""
    world = _world()
    size = world.size()
    ranks = sorted(range(size)) if ranks is None else sorted(int(r) for r in ranks)
    if len(set(ranks)) != len(ranks) or any(r < 0 or r >= size for r in ranks):
        raise ValueError(f"new_group: ranks {ranks} must be distinct and in [0, {size})")
    M = mpi()
    me = world.comm.Get_rank()
    member = me in ranks
    comm = world.comm.Split(0 if member else M.UNDEFINED, ranks.index(me) if member else 0)
    if not member:
        return GroupMember.NON_GROUP_MEMBER
    g = ProcessGroup(comm, ranks, backend or world.backend, timeout or world.timeout)
    _state.groups.append(g)
    return g


def resolve(group: Any) -> ProcessGroup | None:
    """The group to run on; None when this rank is not a member (the call is then a no-op)."""
    if group is None:
        return _world()
    if group is GroupMember.NON_GROUP_MEMBER:
        return None
    if not isinstance(group, ProcessGroup):
        raise TypeError(f"group must be a ProcessGroup from new_group(), got {type(group).__name__}")
    if group.comm is None:
        raise RuntimeError("the process group was destroyed")
    return group


def group_rank(g: ProcessGroup, global_rank: int, what: str) -> int:
    try:
        return g.ranks.index(int(global_rank))
    except ValueError:
        raise ValueError(
            f"{what}={global_rank} is not a rank of the group (its global ranks are {g.ranks})"
        ) from None


def get_rank(group: Any = None) -> int:
    g = resolve(group)
    return -1 if g is None else g.comm.Get_rank()


def get_world_size(group: Any = None) -> int:
    g = resolve(group)
    return -1 if g is None else g.size()


def get_backend(group: Any = None) -> str:
    g = resolve(group)
    return Backend.UNDEFINED if g is None else g.backend


def get_process_group_ranks(group: Any) -> list[int]:
    g = resolve(group)
    return [] if g is None else list(g.ranks)


def get_global_rank(group: Any, group_rank: int) -> int:
    return resolve(group).ranks[group_rank]


def get_group_rank(group: Any, global_rank: int) -> int:
    return group_rank(resolve(group), global_rank, "global_rank")


def check_same(g: ProcessGroup, what: str, meta: str) -> None:
    """Every rank must call the same collective on the same shapes and dtypes (one small all-reduce).

    MPI would otherwise read or write past a buffer, or pair unrelated calls; here every rank raises,
    naming what each rank passed.  ``CHAINRULE_DISTRIBUTED_CHECKS=0`` turns the check off.
    """
    if not _state.checks or g.size() == 1:
        return
    M = mpi()
    sig = zlib.crc32(repr((what, meta)).encode())
    buf = np.array([sig, -sig], dtype=np.int64)
    g.comm.Allreduce(M.IN_PLACE, buf, op=M.MAX)
    if buf[0] == sig and -buf[1] == sig:
        return
    everyone = g.comm.allgather((what, meta))
    lines = "; ".join(f"rank {g.ranks[i]}: {w} {m}" for i, (w, m) in enumerate(everyone))
    raise RuntimeError(
        f"{what}: the ranks passed different collectives, shapes or dtypes ({lines}). "
        "Every rank of the group must call the same collective with tensors of the same "
        "shape and dtype"
    )
