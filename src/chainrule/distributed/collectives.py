"""Collectives and point-to-point messages, each one MPI call on the tensors' own buffers.

Tensors travel as raw NumPy buffers (no pickling, no copy when contiguous); results are written
in place, as in PyTorch.  ``async_op=True`` starts the non-blocking MPI call (``Iallreduce``, ...)
and returns a ``Work``; the tensor holds the result after ``work.wait()``.  Before each
collective one small all-reduce checks that every rank passed the same shapes and dtypes
(``c10d.check_same``).  Object collectives pickle, so they are for ranks of one job only.
"""

from __future__ import annotations

import io
import pickle
from typing import Any, Callable

import numpy as np

from .._tensor import Tensor
from ._mpi import mpi
from .c10d import ProcessGroup, ReduceOp, Work, check_same, group_rank, mpi_op, resolve

__all__ = [
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


def _arr(t: Any, what: str) -> np.ndarray:
    if not isinstance(t, Tensor):
        raise TypeError(f"{what} expects a chainrule Tensor, got {type(t).__name__}")
    return t._data


def _meta(*arrays: np.ndarray) -> str:
    return ", ".join(f"shape {a.shape} {a.dtype.name}" for a in arrays)


def _contig(a: np.ndarray) -> np.ndarray:
    """The buffer MPI reads and writes: the array itself when it is contiguous and writable."""
    if a.flags.c_contiguous and a.flags.writeable:
        return a
    return np.ascontiguousarray(a).copy()


def _store(t: Tensor, buf: np.ndarray) -> None:
    """The result is in ``buf``: make it the tensor's value (in place) and bump its version."""
    if buf is not t._data:
        if not t._data.flags.writeable:
            raise RuntimeError(
                f"cannot write a collective's result into a read-only tensor of shape "
                f"{tuple(t.shape)} (an expand()ed view?); pass a .clone()"
            )
        np.copyto(t._data, buf.reshape(t._data.shape), casting="unsafe")
    t._vc[0] += 1


def _divide(buf: np.ndarray, n: int) -> None:
    if np.issubdtype(buf.dtype, np.inexact):
        buf /= n
    else:  # integer AVG truncates toward zero, as integer division in C
        np.copyto(buf, np.sign(buf) * (np.abs(buf) // n))


def _run(
    g: ProcessGroup, start: Callable, blocking: Callable, finish: Callable | None, async_op: bool
) -> Work | None:
    if async_op:
        req = start()
        return Work(req if isinstance(req, list) else [req], finish, g.timeout)
    blocking()
    if finish is not None:
        finish()
    return None


def barrier(group: Any = None, async_op: bool = False, device_ids: Any = None) -> Work | None:
    """Wait until every rank of the group has called ``barrier``."""
    g = resolve(group)
    if g is None:
        return None
    return _run(g, g.comm.Ibarrier, g.comm.Barrier, None, async_op)


def broadcast(
    tensor: Tensor, src: int = 0, group: Any = None, async_op: bool = False, group_src: int | None = None
) -> Work | None:
    """Copy ``src``'s tensor (global rank) into every rank's ``tensor``."""
    g = resolve(group)
    if g is None:
        return None
    a = _arr(tensor, "broadcast")
    root = group_src if group_src is not None else group_rank(g, src, "src")
    check_same(g, "broadcast", f"{_meta(a)} root={root}")
    buf = _contig(a)
    return _run(
        g,
        lambda: g.comm.Ibcast(buf, root),
        lambda: g.comm.Bcast(buf, root),
        lambda: _store(tensor, buf),
        async_op,
    )


def all_reduce(
    tensor: Tensor, op: ReduceOp = ReduceOp.SUM, group: Any = None, async_op: bool = False
) -> Work | None:
    """Reduce ``tensor`` over the group (``op``), in place on every rank."""
    g = resolve(group)
    if g is None:
        return None
    a = _arr(tensor, "all_reduce")
    m = mpi_op(op)
    check_same(g, "all_reduce", f"{_meta(a)} op={op.name}")
    buf, M, n = _contig(a), mpi(), g.size()

    def finish() -> None:
        if op is ReduceOp.AVG:
            _divide(buf, n)
        _store(tensor, buf)

    return _run(
        g,
        lambda: g.comm.Iallreduce(M.IN_PLACE, buf, m),
        lambda: g.comm.Allreduce(M.IN_PLACE, buf, m),
        finish,
        async_op,
    )


def reduce(
    tensor: Tensor,
    dst: int = 0,
    op: ReduceOp = ReduceOp.SUM,
    group: Any = None,
    async_op: bool = False,
    group_dst: int | None = None,
) -> Work | None:
    """Reduce into ``dst``'s tensor; the other ranks' tensors are left unchanged."""
    g = resolve(group)
    if g is None:
        return None
    a = _arr(tensor, "reduce")
    m = mpi_op(op)
    root = group_dst if group_dst is not None else group_rank(g, dst, "dst")
    check_same(g, "reduce", f"{_meta(a)} op={op.name} dst={root}")
    M, n, me = mpi(), g.size(), g.comm.Get_rank()
    if me == root:
        buf = _contig(a)
        args: tuple = (M.IN_PLACE, buf, m, root)
    else:
        buf = np.ascontiguousarray(a)
        args = (buf, None, m, root)

    def finish() -> None:
        if me == root:
            if op is ReduceOp.AVG:
                _divide(buf, n)
            _store(tensor, buf)

    return _run(g, lambda: g.comm.Ireduce(*args), lambda: g.comm.Reduce(*args), finish, async_op)


def _check_list(what: str, tensors: Any, n: int, a: np.ndarray, per: str) -> list:
    if not isinstance(tensors, (list, tuple)) or len(tensors) != n:
        got = len(tensors) if isinstance(tensors, (list, tuple)) else type(tensors).__name__
        raise ValueError(f"{what}: {per} must be a list of {n} tensors (the group size), got {got}")
    for t in tensors:
        b = _arr(t, what)
        if b.shape != a.shape or b.dtype != a.dtype:
            raise ValueError(
                f"{what}: every tensor of {per} must have the shape {a.shape} and dtype "
                f"{a.dtype} of the input, got {b.shape} {b.dtype}"
            )
    return list(tensors)


def _store_rows(tensors: list, out: np.ndarray) -> None:
    for i, t in enumerate(tensors):
        _store(t, out[i])


def all_gather(tensor_list: list, tensor: Tensor, group: Any = None, async_op: bool = False) -> Work | None:
    """``tensor_list[i]`` receives rank i's ``tensor`` (group-rank order)."""
    g = resolve(group)
    if g is None:
        return None
    a = _arr(tensor, "all_gather")
    n = g.size()
    outs = _check_list("all_gather", tensor_list, n, a, "tensor_list")
    check_same(g, "all_gather", _meta(a))
    src, out = np.ascontiguousarray(a), np.empty((n, *a.shape), a.dtype)
    return _run(
        g,
        lambda: g.comm.Iallgather(src, out),
        lambda: g.comm.Allgather(src, out),
        lambda: _store_rows(outs, out),
        async_op,
    )


def all_gather_into_tensor(
    output_tensor: Tensor, input_tensor: Tensor, group: Any = None, async_op: bool = False
) -> Work | None:
    """Rank i's input fills the i-th slice of ``output_tensor`` (concatenated or stacked on dim 0)."""
    g = resolve(group)
    if g is None:
        return None
    a, o = _arr(input_tensor, "all_gather_into_tensor"), _arr(output_tensor, "all_gather_into_tensor")
    n = g.size()
    if o.size != n * a.size or o.dtype != a.dtype:
        raise ValueError(
            f"all_gather_into_tensor: output must hold {n} x the input ({n} x {a.shape} "
            f"{a.dtype}), got {o.shape} {o.dtype}"
        )
    check_same(g, "all_gather_into_tensor", _meta(a))
    src, out = np.ascontiguousarray(a), _contig(o)
    return _run(
        g,
        lambda: g.comm.Iallgather(src, out),
        lambda: g.comm.Allgather(src, out),
        lambda: _store(output_tensor, out),
        async_op,
    )


def gather(
    tensor: Tensor,
    gather_list: list | None = None,
    dst: int = 0,
    group: Any = None,
    async_op: bool = False,
    group_dst: int | None = None,
) -> Work | None:
    """``dst`` receives every rank's tensor in ``gather_list`` (None on the other ranks)."""
    g = resolve(group)
    if g is None:
        return None
    a = _arr(tensor, "gather")
    root = group_dst if group_dst is not None else group_rank(g, dst, "dst")
    me, n = g.comm.Get_rank(), g.size()
    outs = _check_list("gather", gather_list, n, a, "gather_list on the destination") if me == root else []
    check_same(g, "gather", f"{_meta(a)} root={root}")
    src = np.ascontiguousarray(a)
    out = np.empty((n, *a.shape), a.dtype) if me == root else None
    return _run(
        g,
        lambda: g.comm.Igather(src, out, root),
        lambda: g.comm.Gather(src, out, root),
        (lambda: _store_rows(outs, out)) if me == root else None,
        async_op,
    )


def scatter(
    tensor: Tensor,
    scatter_list: list | None = None,
    src: int = 0,
    group: Any = None,
    async_op: bool = False,
    group_src: int | None = None,
) -> Work | None:
    """Rank i receives ``scatter_list[i]`` of ``src`` into ``tensor``."""
    g = resolve(group)
    if g is None:
        return None
    a = _arr(tensor, "scatter")
    root = group_src if group_src is not None else group_rank(g, src, "src")
    me, n = g.comm.Get_rank(), g.size()
    send = None
    if me == root:
        ins = _check_list("scatter", scatter_list, n, a, "scatter_list on the source")
        send = np.stack([t._data for t in ins]) if n else np.empty((0, *a.shape), a.dtype)
    check_same(g, "scatter", f"{_meta(a)} root={root}")
    buf = _contig(a)
    return _run(
        g,
        lambda: g.comm.Iscatter(send, buf, root),
        lambda: g.comm.Scatter(send, buf, root),
        lambda: _store(tensor, buf),
        async_op,
    )


def _reduce_scatter(
    g: ProcessGroup, output: Tensor, send: np.ndarray, op: ReduceOp, async_op: bool
) -> Work | None:
    m, buf, n = mpi_op(op), _contig(output._data), g.size()

    def finish() -> None:
        if op is ReduceOp.AVG:
            _divide(buf, n)
        _store(output, buf)

    return _run(
        g,
        lambda: g.comm.Ireduce_scatter_block(send, buf, m),
        lambda: g.comm.Reduce_scatter_block(send, buf, m),
        finish,
        async_op,
    )


def reduce_scatter(
    output: Tensor, input_list: list, op: ReduceOp = ReduceOp.SUM, group: Any = None, async_op: bool = False
) -> Work | None:
    """Rank i's ``output`` = the reduction over ranks of their ``input_list[i]``."""
    g = resolve(group)
    if g is None:
        return None
    o = _arr(output, "reduce_scatter")
    ins = _check_list("reduce_scatter", input_list, g.size(), o, "input_list")
    check_same(g, "reduce_scatter", f"{_meta(o)} op={op.name}")
    send = np.stack([t._data for t in ins]) if ins else np.empty((0, *o.shape), o.dtype)
    return _reduce_scatter(g, output, send, op, async_op)


def reduce_scatter_tensor(
    output: Tensor, input: Tensor, op: ReduceOp = ReduceOp.SUM, group: Any = None, async_op: bool = False
) -> Work | None:
    """Reduce ``input`` over ranks and give rank i its i-th slice (dim 0) in ``output``."""
    g = resolve(group)
    if g is None:
        return None
    o, a = _arr(output, "reduce_scatter_tensor"), _arr(input, "reduce_scatter_tensor")
    n = g.size()
    if a.size != n * o.size or a.dtype != o.dtype:
        raise ValueError(
            f"reduce_scatter_tensor: input must hold {n} x the output ({n} x {o.shape} "
            f"{o.dtype}), got {a.shape} {a.dtype}"
        )
    check_same(g, "reduce_scatter_tensor", f"{_meta(a)} op={op.name}")
    return _reduce_scatter(g, output, np.ascontiguousarray(a), op, async_op)


def send(tensor: Tensor, dst: int, group: Any = None, tag: int = 0) -> None:
    """Send ``tensor`` to ``dst`` (global rank); returns when the buffer may be reused."""
    g = resolve(group)
    if g is not None:
        g.comm.Send(np.ascontiguousarray(_arr(tensor, "send")), dest=group_rank(g, dst, "dst"), tag=tag)


def isend(tensor: Tensor, dst: int, group: Any = None, tag: int = 0) -> Work | None:
    g = resolve(group)
    if g is None:
        return None
    buf = np.ascontiguousarray(_arr(tensor, "isend"))
    return Work([g.comm.Isend(buf, dest=group_rank(g, dst, "dst"), tag=tag)], None, g.timeout)


def recv(tensor: Tensor, src: int | None = None, group: Any = None, tag: int = 0) -> int:
    """Receive into ``tensor``; returns the sender's global rank.  A message of another size raises."""
    g = resolve(group)
    if g is None:
        return -1
    a = _arr(tensor, "recv")
    M = mpi()
    source = M.ANY_SOURCE if src is None else group_rank(g, src, "src")
    status = M.Status()
    g.comm.Probe(source, tag, status)
    if status.Get_count(M.BYTE) != a.nbytes:
        raise RuntimeError(
            f"recv: the message from rank {g.ranks[status.Get_source()]} has "
            f"{status.Get_count(M.BYTE)} bytes, but the tensor ({a.shape}, {a.dtype}) "
            f"holds {a.nbytes}; send and recv tensors must have the same shape and dtype"
        )
    buf = _contig(a)
    g.comm.Recv(buf, source=status.Get_source(), tag=tag)
    _store(tensor, buf)
    return g.ranks[status.Get_source()]


def irecv(tensor: Tensor, src: int | None = None, group: Any = None, tag: int = 0) -> Work | None:
    g = resolve(group)
    if g is None:
        return None
    M = mpi()
    buf = _contig(_arr(tensor, "irecv"))
    source = M.ANY_SOURCE if src is None else group_rank(g, src, "src")
    return Work([g.comm.Irecv(buf, source=source, tag=tag)], lambda: _store(tensor, buf), g.timeout)


# ------------------------------------------------------------------ objects (pickled)
def _rebuild(cls: type, arr: np.ndarray, requires_grad: bool) -> Tensor:
    from .. import from_numpy
    from ..nn.parameter import Parameter

    t = from_numpy(arr)
    if issubclass(cls, Parameter):
        return cls(t, requires_grad)
    return t.requires_grad_(requires_grad) if requires_grad else t


class _Pickler(pickle.Pickler):
    """Pickle with tensors as arrays: only between ranks of one job, which trust each other."""

    def reducer_override(self, obj: Any) -> Any:
        if isinstance(obj, Tensor):
            return _rebuild, (type(obj), np.array(obj._data), obj.requires_grad)
        return NotImplemented


def _dumps(obj: Any) -> bytes:
    f = io.BytesIO()
    _Pickler(f, protocol=pickle.HIGHEST_PROTOCOL).dump(obj)
    return f.getvalue()


def broadcast_object_list(
    object_list: list, src: int = 0, group: Any = None, device: Any = None, group_src: int | None = None
) -> None:
    """Replace every rank's ``object_list`` items by ``src``'s (pickled)."""
    g = resolve(group)
    if g is None:
        return
    root = group_src if group_src is not None else group_rank(g, src, "src")
    data = g.comm.bcast(_dumps(list(object_list)) if g.comm.Get_rank() == root else None, root)
    object_list[:] = pickle.loads(data)


def all_gather_object(object_list: list, obj: Any, group: Any = None) -> None:
    """``object_list[i]`` becomes rank i's ``obj`` (pickled)."""
    g = resolve(group)
    if g is None:
        return
    if len(object_list) != g.size():
        raise ValueError(
            f"all_gather_object: object_list must have {g.size()} entries (the group size), "
            f"got {len(object_list)}"
        )
    object_list[:] = [pickle.loads(b) for b in g.comm.allgather(_dumps(obj))]


def gather_object(obj: Any, object_gather_list: list | None = None, dst: int = 0, group: Any = None) -> None:
    g = resolve(group)
    if g is None:
        return
    root = group_rank(g, dst, "dst")
    got = g.comm.gather(_dumps(obj), root)
    if g.comm.Get_rank() == root:
        object_gather_list[:] = [pickle.loads(b) for b in got]


def scatter_object_list(
    scatter_object_output_list: list,
    scatter_object_input_list: list | None = None,
    src: int = 0,
    group: Any = None,
) -> None:
    g = resolve(group)
    if g is None:
        return
    root = group_rank(g, src, "src")
    ins = [_dumps(o) for o in scatter_object_input_list] if g.comm.Get_rank() == root else None
    scatter_object_output_list[0] = pickle.loads(g.comm.scatter(ins, root))
