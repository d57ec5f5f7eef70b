"""``DistributedDataParallel``: one model replica per rank, gradients averaged by bucketed all-reduces.

How it works (the engine is reached only through hooks):
  * at construction, every rank checks that its parameters have rank 0's names, shapes and dtypes,
    then rank 0's parameters and buffers are broadcast (one message per dtype);
  * parameters are laid out, in reverse registration order (about the order backward produces
    their gradients), in flat per-dtype *buckets* of at most ``bucket_cap_mb``;
  * a post-accumulate-grad hook on each parameter copies its ``.grad`` into its bucket slot;
    when a bucket's last slot is filled, a non-blocking ``MPI.Iallreduce`` starts on it (buckets
    start in the same order on every rank, as MPI requires);
  * a callback queued on the engine (``queue_callback``) runs when backward has written every
    ``.grad``: it starts what is left, waits for all, divides by the world size and writes the
    averages back into ``.grad`` -- so ``backward()`` returns with synchronised gradients.
"""

from __future__ import annotations

import contextlib
from typing import Any, Iterator

import numpy as np

from ..._tensor import wrap
from ..module import Module

__all__ = ["DistributedDataParallel"]


class _Bucket:
    """A flat buffer holding the gradients of some parameters of one dtype, reduced in one call."""

    def __init__(self, index: int, params: list, dtype: np.dtype) -> None:
        self.index = index
        self.params = params
        sizes = [p._data.size for p in params]
        self.offsets = np.concatenate([[0], np.cumsum(sizes)]).astype(int)
        self.buf = np.zeros(int(self.offsets[-1]), dtype=dtype)
        self.ready: set = set()
        self.request: Any = None

    def slot(self, i: int) -> np.ndarray:
        p = self.params[i]
        return self.buf[self.offsets[i] : self.offsets[i + 1]].reshape(p._data.shape)


class DistributedDataParallel(Module):
    """Wrap ``module`` so that ``loss.backward()`` leaves every rank with the rank-averaged gradients.

    Each rank feeds its own share of the batch (``DistributedSampler``); with a loss that is a mean
    over the batch, the averaged gradient is the full batch's.  ``state_dict`` keys carry the
    ``module.`` prefix, as PyTorch's.
    """

    def __init__(
        self,
        module: Module,
        device_ids: Any = None,
        output_device: Any = None,
        dim: int = 0,
        broadcast_buffers: bool = True,
        process_group: Any = None,
        bucket_cap_mb: float | None = 25,
        find_unused_parameters: bool = False,
        check_reduction: bool = False,
        gradient_as_bucket_view: bool = False,
        static_graph: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__()
        from ... import distributed as dist
        from ...distributed._mpi import mpi
        from ...distributed.c10d import resolve
        from .data_parallel import _check_devices

        if not dist.is_initialized():
            raise RuntimeError(
                "DistributedDataParallel needs the default process group: call "
                "dist.init_process_group() first (and start the job with chainrule launch)"
            )
        _check_devices(device_ids, "DistributedDataParallel")
        self.module = module
        self.device_ids = None
        self.dim = dim
        self.broadcast_buffers = broadcast_buffers
        self.find_unused_parameters = find_unused_parameters
        self.gradient_as_bucket_view = gradient_as_bucket_view
        self.static_graph = static_graph
        self.require_backward_grad_sync = True
        self.process_group = resolve(process_group)
        self._M = mpi()
        self._comm = self.process_group.comm
        self._world = self.process_group.size()
        seen: set = set()
        named = []
        for name, p in module.named_parameters():
            if p.requires_grad and id(p) not in seen:
                seen.add(id(p))
                named.append((name, p))
        self._names = {id(p): n for n, p in named}
        self._verify([(n, tuple(p._data.shape), p._data.dtype.str) for n, p in named])
        self._broadcast([p for _, p in named] + [b for _, b in module.named_buffers()])
        cap = (25 if bucket_cap_mb is None else bucket_cap_mb) * 1024 * 1024
        self.bucket_cap_mb = bucket_cap_mb
        self._buckets = self._make_buckets([p for _, p in named][::-1], cap)
        self._where = {id(p): (b, i) for b in self._buckets for i, p in enumerate(b.params)}
        self._overlap = True  # start each bucket's all-reduce as soon as it is full
        self._active = False  # the last forward asked for gradient synchronisation
        self._queued = False
        self._next = 0  # the next bucket to start: buckets start in index order on every rank
        self._handles = [p.register_post_accumulate_grad_hook(self._grad_ready) for _, p in named]

    # ------------------------------------------------------------ construction
    def _verify(self, meta: list) -> None:
        everyone = self._comm.allgather(meta)
        for r, theirs in enumerate(everyone[1:], start=1):
            if theirs == everyone[0]:
                continue
            diff = next(
                (f"{a} vs {b}" for a, b in zip(everyone[0], theirs) if a != b),
                f"{len(everyone[0])} vs {len(theirs)} parameters",
            )
            raise RuntimeError(
                f"DistributedDataParallel: rank {self.process_group.ranks[r]}'s model differs from "
                f"rank {self.process_group.ranks[0]}'s (first difference, as (name, shape, dtype): "
                f"{diff}). Every rank must build the same model before wrapping it"
            )

    def _broadcast(self, tensors: list) -> None:
        """Rank 0's values into every rank's tensors: one ``Bcast`` per dtype."""
        by_dtype: dict = {}
        for t in tensors:
            by_dtype.setdefault(t._data.dtype.str, []).append(t)
        for group in by_dtype.values():
            flat = np.concatenate([t._data.ravel() for t in group]) if group else None
            self._comm.Bcast(flat, root=0)
            at = 0
            for t in group:
                n = t._data.size
                np.copyto(t._data, flat[at : at + n].reshape(t._data.shape))
                t._vc[0] += 1
                at += n

    @staticmethod
    def _make_buckets(params: list, cap: float) -> list[_Bucket]:
        buckets: list[_Bucket] = []
        open_: dict = {}  # dtype -> (params, bytes) being filled
        for p in params:
            key = p._data.dtype
            ps, size = open_.get(key, ([], 0))
            if ps and size + p._data.nbytes > cap:
                buckets.append(_Bucket(len(buckets), ps, key))
                ps, size = [], 0
            ps.append(p)
            open_[key] = (ps, size + p._data.nbytes)
        for key, (ps, _) in open_.items():
            if ps:
                buckets.append(_Bucket(len(buckets), ps, key))
        return buckets

    # ------------------------------------------------------------ forward
    def forward(self, *inputs: Any, **kwargs: Any) -> Any:
        from ...autograd.grad_mode import is_grad_enabled

        self._reset()
        self._active = is_grad_enabled() and self.require_backward_grad_sync
        if self._active and self.broadcast_buffers and self._world > 1:
            buffers = [b for _, b in self.module.named_buffers()]
            if buffers:
                self._broadcast(buffers)
        return self.module(*inputs, **kwargs)

    @contextlib.contextmanager
    def no_sync(self) -> Iterator[None]:
        """Forwards inside this block accumulate gradients locally; the next synced one averages all."""
        old = self.require_backward_grad_sync
        self.require_backward_grad_sync = False
        try:
            yield
        finally:
            self.require_backward_grad_sync = old

    # ------------------------------------------------------------ backward (hooks)
    def _grad_ready(self, p: Any) -> None:
        if not self._active:
            return
        if not self._queued:
            from ...autograd.engine import queue_callback

            queue_callback(self._finish)
            self._queued = True
        b, i = self._where[id(p)]
        slot = b.slot(i)
        if p._grad._data.base is not b.buf:  # with gradient_as_bucket_view it already is the slot
            np.copyto(slot, p._grad._data)
        b.ready.add(i)
        if self._overlap:
            self._start_ready()

    def _start_ready(self) -> None:
        bs = self._buckets
        while self._next < len(bs) and len(bs[self._next].ready) == len(bs[self._next].params):
            b = bs[self._next]
            b.request = self._comm.Iallreduce(self._M.IN_PLACE, b.buf, self._M.SUM)
            self._next += 1

    def _finish(self) -> None:
        """End of backward: start the rest, wait for every bucket, write the averages into ``.grad``."""
        try:
            missing = [p for b in self._buckets for i, p in enumerate(b.params) if i not in b.ready]
            if missing and not self.find_unused_parameters:
                names = ", ".join(self._names[id(p)] for p in missing[:8])
                raise RuntimeError(
                    f"DistributedDataParallel: {len(missing)} parameter(s) received no gradient in this "
                    f"backward ({names}); pass find_unused_parameters=True if the model does not use "
                    "every parameter in every step"
                )
            for p in missing:  # unused here: contributes zero (or what it had accumulated)
                b, i = self._where[id(p)]
                b.slot(i)[...] = 0 if p._grad is None else p._grad._data
                b.ready.add(i)
            self._start_ready()
            self._M.Request.Waitall([b.request for b in self._buckets])
            for b in self._buckets:
                b.buf /= self._world
                for i, p in enumerate(b.params):
                    self._store(p, b.slot(i))
        finally:
            self._reset()

    def _store(self, p: Any, avg: np.ndarray) -> None:
        g = p._grad
        if g is None:
            if self.find_unused_parameters and not avg.any():
                return  # no rank used it: the gradient stays None
            p._grad = wrap(avg if self.gradient_as_bucket_view else avg.copy())
        elif g._data.base is not avg.base:
            if self.gradient_as_bucket_view:
                p._grad = wrap(avg)
            else:
                np.copyto(g._data, avg)
                g._vc[0] += 1

    def _reset(self) -> None:
        started = [b.request for b in self._buckets if b.request is not None]
        if started:  # a backward that stopped half-way: let its all-reduces finish
            self._M.Request.Waitall(started)
        for b in self._buckets:
            b.ready = set()
            b.request = None
        self._next = 0
        self._queued = False
        self._active = False
