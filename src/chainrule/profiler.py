"""Where the time goes: per op type, calls, forward and backward time, bytes saved for backward.

>>> with chainrule.profiler.profile() as prof:
...     loss = model(x).sum(); loss.backward()
>>> print(prof.table(sort_by="cpu_time_total", row_limit=10))
>>> prof.export_chrome_trace("trace.json")   # open in chrome://tracing or ui.perfetto.dev

Forward: an apply wrapper times every op (only the outermost one when ops
nest).  Backward: an engine tap times every node, as the interval since the
previous node finished; ops that derivative rules run inside a node are part
of that node's time, not counted as forward calls.  Both exist only inside
``profile()``, so code outside it runs at full speed.  All threads are
recorded; the trace shows each on its own row.
"""

from __future__ import annotations

import json
import os
import threading
import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from ._tensor import Tensor
from .autograd._switch import Switch
from .memory import _arrays, _owner

__all__ = ["profile", "record_function", "EventAverage"]

_clock = time.perf_counter_ns


class _Local(threading.local):
    def __init__(self) -> None:
        self.depth = 0  # nesting of profiled ops (only the outermost is recorded)
        self.backward = 0  # > 0 while this thread runs a backward


_local = _Local()
_active: list[profile] = []  # open profilers (usually one)


@dataclass
class EventAverage:
    """One row of ``key_averages()``: totals for one op type (times in microseconds)."""

    key: str
    count: int = 0
    forward_us: float = 0.0
    backward_count: int = 0
    backward_us: float = 0.0
    saved_bytes: int = 0

    @property
    def cpu_time_total(self) -> float:
        return self.forward_us + self.backward_us

    @property
    def cpu_time(self) -> float:
        calls = self.count + self.backward_count
        return self.cpu_time_total / calls if calls else 0.0


_SORT_KEYS = {
    "cpu_time_total": lambda r: r.cpu_time_total,
    "self_cpu_time_total": lambda r: r.cpu_time_total,
    "cpu_time": lambda r: r.cpu_time,
    "forward": lambda r: r.forward_us,
    "backward": lambda r: r.backward_us,
    "count": lambda r: r.count + r.backward_count,
    "calls": lambda r: r.count + r.backward_count,
    "saved": lambda r: r.saved_bytes,
    "self_cpu_memory_usage": lambda r: r.saved_bytes,
}


def _saved_nbytes(node: Any) -> int:
    """Bytes of the arrays a node keeps for backward (each buffer once)."""
    owners = {id(o): o.nbytes for o in map(_owner, _arrays(node.saved))}
    return sum(owners.values())


class profile:
    """Record ops run inside the block; read results with ``table()``, ``key_averages()``,
    ``export_chrome_trace()``.  ``profile(enabled=False)`` records nothing."""

    def __init__(self, enabled: bool = True, record_shapes: bool = False, **_: Any) -> None:
        self.enabled = enabled
        self.record_shapes = record_shapes
        # (name, phase, start_ns, dur_ns, thread id, saved bytes, shapes)
        self.events: list[tuple[str, str, int, int, int, int, Any]] = []
        self._t0 = 0

    def __enter__(self) -> profile:
        if not self.enabled:
            return self
        self._t0 = _clock()
        with _lock:
            _active.append(self)
        _switch.on()
        return self

    def __exit__(self, *exc: object) -> None:
        with _lock:
            if self not in _active:
                return
            _active.remove(self)
        _switch.off()

    # ------------------------------------------------------------- results
    def key_averages(self) -> list[EventAverage]:
        """Totals per op type, in order of first appearance."""
        rows: dict[str, EventAverage] = {}
        for name, phase, _, dur, _, saved, _ in self.events:
            r = rows.get(name)
            if r is None:
                r = rows[name] = EventAverage(name)
            if phase != "backward":  # forward ops and record_function blocks
                r.count += 1
                r.forward_us += dur / 1e3
                r.saved_bytes += saved
            else:
                r.backward_count += 1
                r.backward_us += dur / 1e3
        return list(rows.values())

    def table(self, sort_by: str = "cpu_time_total", row_limit: int = 100) -> str:
        """A text table of ``key_averages()``, largest ``sort_by`` first."""
        key = _SORT_KEYS.get(sort_by)
        if key is None:
            raise ValueError(f"table(): unknown sort_by {sort_by!r}; choose one of {sorted(_SORT_KEYS)}")
        averages = self.key_averages()
        rows = sorted(averages, key=key, reverse=True)
        if row_limit is not None and row_limit >= 0:
            rows = rows[:row_limit]
        head = ("Name", "Calls", "Forward total", "Forward avg", "Bwd calls", "Backward total",
                "Total", "Saved for bwd")
        body = [
            (r.key, str(r.count), _us(r.forward_us), _us(r.forward_us / r.count if r.count else 0),
             str(r.backward_count), _us(r.backward_us), _us(r.cpu_time_total), _bytes(r.saved_bytes))
            for r in rows
        ]
        fwd = sum(r.forward_us for r in averages)
        bwd = sum(r.backward_us for r in averages)
        widths = [max(len(h), *(len(b[i]) for b in body)) if body else len(h) for i, h in enumerate(head)]
        line = "-" * (sum(widths) + 2 * (len(widths) - 1))

        def fmt(cells: tuple) -> str:
            first = cells[0].ljust(widths[0])
            return "  ".join([first] + [c.rjust(w) for c, w in zip(cells[1:], widths[1:])])

        out = [line, fmt(head), line] + [fmt(b) for b in body] + [line]
        out.append(f"Forward total: {_us(fwd)}   Backward total: {_us(bwd)}")
        return "\n".join(out)

    def export_chrome_trace(self, path: str | os.PathLike) -> None:
        """Write the events as Chrome trace JSON (chrome://tracing, ui.perfetto.dev)."""
        pid = os.getpid()
        tids: dict[int, int] = {}
        events = []
        for name, phase, start, dur, tid, saved, shapes in self.events:
            t = tids.setdefault(tid, len(tids))
            ev: dict[str, Any] = {
                "name": f"{name}Backward0" if phase == "backward" else name,
                "cat": phase,
                "ph": "X",
                "ts": (start - self._t0) / 1e3,
                "dur": dur / 1e3,
                "pid": pid,
                "tid": t,
                "args": {"saved for backward (bytes)": saved} if phase == "forward" else {},
            }
            if shapes is not None:
                ev["args"]["input shapes"] = shapes
            events.append(ev)
        for tid, t in tids.items():
            events.append({"name": "thread_name", "ph": "M", "pid": pid, "tid": t,
                           "args": {"name": f"thread {tid}"}})
        with open(path, "w") as f:
            json.dump({"traceEvents": events, "displayTimeUnit": "ms"}, f)

    def __str__(self) -> str:
        return self.table()


_lock = threading.Lock()


def _wrapper(op: Any, args: tuple, params: dict, inner: Any) -> Any:
    """Times one op for every open profiler (only the outermost op when ops nest)."""
    local = _local
    if local.depth or local.backward:
        return inner(op, args, params)
    local.depth = 1
    start = _clock()
    try:
        out = inner(op, args, params)
    finally:
        local.depth = 0
    end = _clock()
    node = getattr(out, "grad_fn", None)
    saved = _saved_nbytes(node) if node is not None and node.op is op else 0
    tid = threading.get_ident()
    for prof in list(_active):
        shapes = None
        if prof.record_shapes:
            shapes = [list(np.shape(a._data if isinstance(a, Tensor) else a)) for a in args]
        prof.events.append((op.name, "forward", start, end - start, tid, saved, shapes))
    return out


def _tap() -> Any:
    return _BackwardTimer() if _active else None


class _BackwardTimer:
    """Times each node of one backward as the gap since the previous node finished."""

    def __init__(self) -> None:
        self.tid = threading.get_ident()
        _local.backward += 1
        self.last = _clock()

    def __call__(self, node: Any, g: Any, seen: list) -> None:
        now = _clock()
        op = getattr(node, "op", None)
        name = getattr(op, "name", None) or node.name()
        for prof in list(_active):
            prof.events.append((name, "backward", self.last, now - self.last, self.tid, 0, None))
        self.last = now

    def close(self) -> None:
        _local.backward -= 1


class record_function:
    """Label a block in the trace: ``with record_function("data loading"): ...``."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __enter__(self) -> record_function:
        self._start = _clock()
        return self

    def __exit__(self, *exc: object) -> None:
        end = _clock()
        for prof in list(_active):
            prof.events.append((self.name, "user", self._start, end - self._start,
                                threading.get_ident(), 0, None))


def _us(v: float) -> str:
    if v >= 1e6:
        return f"{v / 1e6:.3f}s"
    if v >= 1e3:
        return f"{v / 1e3:.3f}ms"
    return f"{v:.3f}us"


def _bytes(n: int) -> str:
    if abs(n) < 1024:
        return f"{n} B"
    v = n / 1024
    for unit in ("KiB", "MiB"):
        if abs(v) < 1024:
            return f"{v:.2f} {unit}"
        v /= 1024
    return f"{v:.2f} GiB"


_switch = Switch(_wrapper, _tap)  # installed while some profile() block is open
