"""DataLoader worker processes: batches are loaded in parallel while the main process computes.

As PyTorch's: each iterator draws a ``base_seed`` from the loader's generator; worker ``i`` seeds
chainrule's and Python's generators with ``base_seed + i``, runs ``worker_init_fn(i)``, then
fetches and collates the batches it is given (map-style datasets: batch ``k`` goes to worker
``k % num_workers``) or iterates its own copy of an IterableDataset (shard it with
``get_worker_info()``).  At most ``prefetch_factor`` batches per worker are in flight; results
come back in order.  An exception in a worker is re-raised in the main process with the worker's
traceback; a worker that dies is reported; workers are shut down when the iterator ends, is
dropped, or fails (``persistent_workers`` keeps them for the next epoch).

Tensors refuse pickling (loading must never run code), so batches cross the process boundary as
NumPy arrays inside their Python structure and become tensors again in the main process.
"""

from __future__ import annotations

import multiprocessing as mp
import queue
import random
import traceback
from dataclasses import dataclass
from typing import Any, Iterator

import numpy as np

from ...._tensor import Tensor, wrap

__all__ = ["WorkerInfo", "get_worker_info", "MultiProcessIter"]

_POLL = 1.0  # seconds between checks that the workers are alive while waiting


@dataclass(frozen=True)
class WorkerInfo:
    id: int
    num_workers: int
    seed: int
    dataset: Any


_worker_info: WorkerInfo | None = None


def get_worker_info() -> WorkerInfo | None:
    """In a worker process: its id, the number of workers, its seed and its dataset copy."""
    return _worker_info


class _Array:
    """A tensor on its way between processes (as its array)."""

    __slots__ = ("data", "rg")

    def __init__(self, data: np.ndarray, rg: bool) -> None:
        self.data, self.rg = data, rg


def _pack(obj: Any) -> Any:
    if isinstance(obj, Tensor):
        return _Array(obj._data, obj._rg)
    if isinstance(obj, dict):
        return type(obj)((k, _pack(v)) for k, v in obj.items())
    if isinstance(obj, tuple) and hasattr(obj, "_fields"):
        return type(obj)(*(_pack(v) for v in obj))
    if isinstance(obj, (list, tuple)):
        return type(obj)(_pack(v) for v in obj)
    return obj


def _unpack(obj: Any) -> Any:
    if isinstance(obj, _Array):
        t = wrap(obj.data)
        return t.requires_grad_() if obj.rg else t
    if isinstance(obj, dict):
        return type(obj)((k, _unpack(v)) for k, v in obj.items())
    if isinstance(obj, tuple) and hasattr(obj, "_fields"):
        return type(obj)(*(_unpack(v) for v in obj))
    if isinstance(obj, (list, tuple)):
        return type(obj)(_unpack(v) for v in obj)
    return obj


class _Failure:
    """An exception raised in a worker: its type, message and formatted traceback."""

    def __init__(self, worker: int, exc: BaseException) -> None:
        self.worker = worker
        self.cls = type(exc)
        self.text = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))

    def reraise(self) -> None:
        msg = f"Caught {self.cls.__name__} in DataLoader worker process {self.worker}.\nOriginal {self.text}"
        try:
            err = self.cls(msg)
        except Exception:  # noqa: BLE001 - an exception type that wants other arguments
            err = RuntimeError(msg)
        raise err


_DONE = "done"  # an IterableDataset worker's stream ended


def numpy_seed(base_seed: int, worker_id: int) -> list[int]:
    """The seed of NumPy's global generator in worker ``worker_id``, as PyTorch's workers use.

    PyTorch mixes ``[worker_id, base_seed & 0xFFFFFFFF, base_seed >> 32, 0]`` with NumPy's
    ``SeedSequence`` algorithm into four 32-bit words, so NumPy's stream differs from Python's
    ``random`` (seeded ``base_seed + worker_id``) and from every other worker's.
    """
    words = [worker_id, base_seed & 0xFFFFFFFF, base_seed >> 32, 0]
    return np.random.SeedSequence(words).generate_state(4).tolist()


def _worker_loop(loader: Any, wid: int, seed: int, tasks: Any, results: Any, stop: Any) -> None:  # noqa: C901
    global _worker_info
    from .... import random as _random

    _worker_info = WorkerInfo(wid, loader.num_workers, seed, loader.dataset)
    _random.manual_seed(seed)
    random.seed(seed)
    np.random.seed(numpy_seed(seed - wid, wid))
    results.cancel_join_thread()  # at shutdown nobody reads what is still buffered: exit anyway
    try:
        if loader.worker_init_fn is not None:
            loader.worker_init_fn(wid)
    except BaseException as exc:  # noqa: BLE001 - reported to the main process
        results.put((None, None, wid, _Failure(wid, exc)))
        return
    stream, stream_epoch = None, None
    while True:
        task = tasks.get()
        if task is None or stop.is_set():
            return
        epoch, k, indices = task
        try:
            if loader._iterable:
                if stream_epoch != epoch:  # a new epoch: a fresh pass over this worker's copy
                    stream, stream_epoch = iter(loader._worker_stream()), epoch
                try:
                    data = next(stream)
                except StopIteration:
                    results.put((epoch, k, wid, _DONE))
                    continue
            else:
                data = loader._fetch(indices)
            results.put((epoch, k, wid, _pack(data)))
        except BaseException as exc:  # noqa: BLE001 - re-raised in the main process
            results.put((epoch, k, wid, _Failure(wid, exc)))


class _Pool:
    """The worker processes of one iterator (or of the loader, with persistent_workers)."""

    def __init__(self, loader: Any, base_seed: int) -> None:
        ctx = loader.multiprocessing_context
        if ctx is None:
            ctx = mp.get_context("fork" if "fork" in mp.get_all_start_methods() else "spawn")
        elif isinstance(ctx, str):
            ctx = mp.get_context(ctx)
        self.results = ctx.Queue()
        self.stop = ctx.Event()  # set at shutdown: workers skip the batches still queued
        self.tasks = [ctx.Queue() for _ in range(loader.num_workers)]
        self.procs = [
            ctx.Process(
                target=_worker_loop,
                args=(loader, i, base_seed + i, self.tasks[i], self.results, self.stop),
                daemon=True,
            )
            for i in range(loader.num_workers)
        ]
        for p in self.procs:
            p.start()

    def get(self, timeout: float) -> tuple:
        waited = 0.0
        while True:
            step = _POLL if not timeout else min(_POLL, timeout - waited)
            try:
                return self.results.get(timeout=max(step, 1e-3))
            except queue.Empty:
                waited += step
                dead = [p for p in self.procs if not p.is_alive()]
                if dead:
                    self.shutdown()
                    raise RuntimeError(
                        f"DataLoader worker (pid(s) {', '.join(str(p.pid) for p in dead)}) "
                        "exited unexpectedly"
                    ) from None
                if timeout and waited >= timeout:
                    self.shutdown()
                    raise RuntimeError(
                        f"DataLoader timed out after {timeout} seconds waiting for a batch from its workers"
                    ) from None

    def shutdown(self) -> None:
        self.stop.set()
        for q in self.tasks:
            try:
                q.put(None)
            except (OSError, ValueError):
                pass
        for p in self.procs:
            p.join(timeout=5)
            if p.is_alive():
                p.terminate()
                p.join(timeout=5)
        for q in [*self.tasks, self.results]:
            q.cancel_join_thread()  # the workers are gone: undelivered tasks can be dropped
            q.close()
        self.procs = []


class MultiProcessIter:
    """One epoch over the loader's batches, loaded by its worker processes."""

    def __init__(self, loader: Any, base_seed: int) -> None:
        self.loader = loader
        pool = loader._pool if loader.persistent_workers else None
        if pool is None or not pool.procs:
            pool = _Pool(loader, base_seed)
            if loader.persistent_workers:
                loader._pool = pool
        self.pool = pool
        loader._epoch += 1
        self.epoch = loader._epoch  # results of an abandoned earlier epoch are dropped
        n = loader.num_workers
        self.plan: Iterator = iter(loader._index_plan()) if not loader._iterable else iter(())
        self.sent = self.next_out = 0
        self.done: dict[int, Any] = {}
        self.active = list(range(n))  # IterableDataset workers whose stream has not ended
        self.exhausted = False
        for _ in range((loader.prefetch_factor or 2) * n):
            self._send()

    def _send(self) -> None:
        if self.loader._iterable:
            if not self.active:
                return
            wid = self.active[self.sent % len(self.active)]
            self.pool.tasks[wid].put((self.epoch, self.sent, None))
            self.sent += 1
            return
        if self.exhausted:
            return
        try:
            indices = next(self.plan)
        except StopIteration:
            self.exhausted = True
            return
        self.pool.tasks[self.sent % self.loader.num_workers].put((self.epoch, self.sent, indices))
        self.sent += 1

    def __iter__(self) -> MultiProcessIter:
        return self

    def __next__(self) -> Any:
        while True:
            if self.next_out >= self.sent:
                self._close()
                raise StopIteration
            while self.next_out not in self.done:
                epoch, k, wid, data = self.pool.get(self.loader.timeout)
                if isinstance(data, _Failure):
                    self._close()
                    data.reraise()
                if epoch == self.epoch:
                    self.done[k] = (wid, data)
            wid, data = self.done.pop(self.next_out)
            self.next_out += 1
            if isinstance(data, str) and data == _DONE:
                if wid in self.active:
                    self.active.remove(wid)
                continue
            self._send()
            return _unpack(data)

    def _close(self) -> None:
        if self.pool is not None and not self.loader.persistent_workers:
            self.pool.shutdown()
            self.pool = None

    def __del__(self) -> None:
        try:
            if self.pool is not None and not self.loader.persistent_workers:
                self.pool.shutdown()
        except Exception:  # noqa: BLE001 - interpreter shutdown
            pass
