"""Memory planning: the intermediates of a program live in a pool of buffers that is allocated
once (on the program's first call) and reused by every later call.

1. **Liveness.**  A value's memory is in use until the last read of the value *or of any view
   of it*.  Only nodes the planner writes itself are known to own their memory; any other node
   (``Transpose``, ``View``, ``Expand``, an op that returns its input, ...) may return a view of
   what it reads, so its result counts as an alias of every buffer behind its inputs.  A value
   the program hands out -- returned, saved for the backward, stored into ``.grad`` -- or a view
   of it that is handed out, is in use until the end of the call and beyond: its buffer
   *escapes*.  Checked and effect values are read at the end of the program.
2. **Assignment.**  Walking the body in order, a node that can write into a given array
   (``writes(node)``: ufuncs and ``matmul`` with ``out=``, reductions with ``out=``, ``where``
   and casts by ``copyto``, ``linear`` as ``matmul(out=)`` then ``+=``) takes a free buffer of
   its shape and dtype, or a new one.  An elementwise node whose input dies at that node writes
   into the input's own buffer (in place).  A buffer is free again after the last use of the
   memory its value is in.
3. **Escaping buffers** are not shared with any value made after theirs in the call, and a later
   call reuses one only when nothing else holds it any more (the caller dropped the output, the
   backward released its saved values, ``zero_grad()`` dropped the ``.grad``): ``Pool.ready``
   counts the references, and allocates a new buffer for that call otherwise.

``Plan.table()`` is the pass's before/after view: every planned node with its buffer, and what
one call allocated before (one new array per node) and after (the pool, once).
"""

from __future__ import annotations

import math
import sys
import threading
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from ..ir import Node, Ref

__all__ = ["Slot", "Plan", "Pool", "plan"]

_FOREVER = math.inf


@dataclass
class Slot:
    """One buffer of the pool and the values written into it, in order."""

    shape: tuple
    dtype: np.dtype
    escapes: bool = False  # a value in it (or a view of it) outlives the call
    values: list[int] = field(default_factory=list)
    start: float = 0  # the body position of its first write ...
    end: float = 0  # ... and of the last use of its memory
    host: int | None = None  # lives inside this other buffer's memory, from byte ``offset``
    offset: int = 0

    @property
    def nbytes(self) -> int:
        return math.prod(self.shape) * self.dtype.itemsize


@dataclass
class Plan:
    """``buffer``: node -> the slot it writes into; ``inplace``: node -> the input whose buffer
    (dying there) it overwrites."""

    slots: list[Slot]
    buffer: dict[int, int]
    inplace: dict[int, int]

    def table(self, body: list[Node], name: str = "program") -> str:
        rows = [("node", "op", "shape", "dtype", "buffer")]
        for n in body:
            s = self.buffer.get(n.i)
            if s is None:
                continue
            how = f"b{s}" + (f" (in place of v{self.inplace[n.i]})" if n.i in self.inplace else "")
            host = self.slots[s].host
            how += f", inside b{host} before b{host} is written" if host is not None else ""
            how += "  escapes" if self.slots[s].escapes else ""
            rows.append((n.name, n.prim.name, str(tuple(n.shape)), str(n.dtype), how))
        widths = [max(len(r[k]) for r in rows) for k in range(len(rows[0]))]
        lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows]
        lines.insert(1, "  ".join("-" * w for w in widths))
        before = sum(self.slots[s].nbytes for s in self.buffer.values())
        blocks = [s for s in self.slots if s.host is None]
        lines.append(
            f"{name}: before, {len(self.buffer)} new arrays per call ({_size(before)}); after, "
            f"{len(self.slots)} buffers in {len(blocks)} arrays ({_size(sum(s.nbytes for s in blocks))}) "
            "allocated on the first call and reused"
        )
        return "\n".join(lines)


def _size(n: int) -> str:
    return f"{n / 2**20:.2f} MiB" if n >= 2**20 else f"{n / 2**10:.1f} KiB"


def plan(
    body: list[Node],
    returns: list,
    keep: set[int],
    writes: Callable[[Node], str | None],
    fresh: Callable[[Node], bool] = lambda n: False,
) -> Plan:
    """Assign buffers to the nodes of ``body`` that ``writes`` accepts.

    ``returns``: the groups of values the program hands out (they escape); ``keep``: values read
    at the end (checks, effects).  ``writes(node)`` says how the node's code writes into a given
    array: None (it cannot), ``"any"`` (into a buffer none of its inputs use), ``"elementwise"``
    (also into the buffer of an input that dies here), ``"last"`` (also into its last input's).
    ``fresh(node)``: the node's own result never shares memory with its inputs."""
    pos = {n.i: k for k, n in enumerate(body)}
    kinds = {n.i: k for n in body if (k := writes(n)) is not None}
    # the buffers (planned values) each value may look into
    behind: dict[int, frozenset] = {}
    for n in body:
        if n.i in kinds:
            behind[n.i] = frozenset((n.i,))
        elif fresh(n):
            behind[n.i] = frozenset()
        else:
            behind[n.i] = frozenset().union(*(behind.get(r, ()) for r in n.refs()))
    last: dict[int, float] = {}
    for k, n in enumerate(body):
        for r in n.refs():
            last[r] = k
    for v in keep:
        last[v] = len(body)
    for group in returns:
        for a in group:
            if isinstance(a, Ref):
                last[a.i] = _FOREVER
    until = {w: float(pos[w]) for w in kinds}  # the last use of the memory of each planned value
    for v, ws in behind.items():
        for w in ws:
            until[w] = max(until[w], last.get(v, pos[v]))

    slots: list[Slot] = []
    buffer: dict[int, int] = {}
    inplace: dict[int, int] = {}
    free: dict[tuple, list[int]] = {}
    releases: dict[float, list[tuple[int, int]]] = {}
    for k, n in enumerate(body):
        kind = kinds.get(n.i)
        if kind is not None:
            key = (tuple(n.shape), np.dtype(n.dtype))
            # an input whose memory dies here, of n's shape and dtype, that no other input of n
            # looks into: n overwrites it ("any": never; "last": only its last input)
            s = None
            for a in () if kind == "any" else n.args[-1:] if kind == "last" else n.args:
                if isinstance(a, Ref) and a.i in buffer and until[a.i] == k:
                    t = slots[buffer[a.i]]
                    seen = any(a.i in behind.get(b, ()) for b in n.refs() if b != a.i)
                    if (t.shape, t.dtype) == key and not seen:
                        s = buffer[a.i]
                        break
            if s is not None:
                inplace[n.i] = slots[s].values[-1]
            elif free.get(key):
                s = free[key].pop()
            else:
                s = len(slots)
                slots.append(Slot(*key, start=k))
            buffer[n.i] = s
            slots[s].values.append(n.i)
            slots[s].end = max(slots[s].end, until[n.i])
            if until[n.i] == _FOREVER:
                slots[s].escapes = True
            else:
                releases.setdefault(until[n.i], []).append((s, n.i))
        for s, v in releases.pop(k, ()):
            if slots[s].values[-1] == v:  # (not taken over in place meanwhile)
                free.setdefault((slots[s].shape, slots[s].dtype), []).append(s)
    _borrow(slots)
    return Plan(slots, buffer, inplace)


def _borrow(slots: list[Slot], align: int = 64) -> None:
    """Buffers whose whole use ends before another buffer is first written live inside that
    buffer's memory (largest first, at the lowest free offset): a training step's gradient
    buffers, written at the end of the backward, hold the activations it read before."""
    guests: dict[int, list[int]] = {}
    for s in sorted(range(len(slots)), key=lambda k: -slots[k].nbytes):
        me = slots[s]
        if me.escapes or s in guests:
            continue
        for h, host in enumerate(slots):
            if h == s or host.host is not None or me.end >= host.start or me.nbytes > host.nbytes:
                continue
            busy = sorted(
                (slots[g].offset, slots[g].offset + slots[g].nbytes)
                for g in guests.get(h, ())
                if slots[g].start <= me.end and me.start <= slots[g].end
            )
            at = 0
            for lo, hi in busy:
                if at + me.nbytes <= lo:
                    break
                at = max(at, -(-hi // align) * align)
            if at + me.nbytes <= host.nbytes:
                me.host, me.offset = h, at
                guests.setdefault(h, []).append(s)
                break


class Pool:
    """The buffers of one planned program, allocated on its first call.

    ``ready(owners)`` returns the buffers for a call.  An escaping buffer is reused only when the
    pool holds the only reference to it, or when its one other holder is the ``.grad`` tensor
    that this call replaces before anything reads it (``owners``: slot -> that leaf; the
    artefact names them), itself held by the leaf alone.  Otherwise the call gets a new buffer,
    which the pool keeps for the next call (the old one belongs to whoever holds it)."""

    def __init__(self, slots: list[Slot]) -> None:
        self.slots = slots
        self.escaping = [k for k, s in enumerate(slots) if s.escapes]
        self.guests = {h: [k for k, s in enumerate(slots) if s.host == h] for h in range(len(slots))}
        self.bufs: list | None = None
        self.reused: list[int] = []  # escaping slots this call took back from a leaf's .grad
        self.lock = threading.Lock()  # one call at a time (threads, re-entry): others allocate

    def ready(self, owners: dict | None = None) -> list:
        bufs = self.bufs
        self.reused = []
        if bufs is None:
            self.bufs = [None] * len(self.slots)
            try:
                for k, s in enumerate(self.slots):
                    if s.host is None:
                        self._block(k)
            except BaseException:  # (MemoryError): no half-made pool for the next call
                self.bufs = None
                raise
            return self.bufs
        for k in self.escaping:
            b = bufs[k]
            # held by the list, ``b`` (and the argument, up to 3.13), its guests' views: nobody else
            n = sys.getrefcount(b) - REFS[0] - len(self.guests[k])
            if n == 0:
                continue
            if n == 1 and owners and _only_grad(owners.get(k), b):
                self.reused.append(k)
                continue
            del b
            self._block(k)
        return bufs

    def _block(self, k: int) -> None:
        """A new buffer for slot ``k``, and the views of the buffers living inside it."""
        s = self.slots[k]
        self.bufs[k] = b = np.empty(s.shape, s.dtype)
        raw = b.reshape(-1).view(np.uint8)
        for g in self.guests[k]:
            t = self.slots[g]
            self.bufs[g] = raw[t.offset : t.offset + t.nbytes].view(t.dtype).reshape(t.shape)


def _only_grad(leaf: Any, b: np.ndarray) -> bool:
    """``leaf.grad`` wraps ``b`` and nothing but the leaf holds that tensor."""
    g = getattr(leaf, "_grad", None)
    # the leaf's slot and ``g`` (and the argument, up to 3.13)
    return g is not None and g._data is b and g._base is None and sys.getrefcount(g) == REFS[1]


class _Holder:
    __slots__ = ("_grad",)


def measure() -> tuple[int, int]:
    """``sys.getrefcount`` of an object nobody else holds, in the code shapes of ``Pool.ready``
    (a list item read into a local) and ``_only_grad`` (a slot read into a local).  Measured,
    not assumed: CPython 3.14 no longer counts a borrowed argument, so a bare 3 would be one
    too many there and a buffer its caller still holds would look free (overwritten)."""
    bufs = [np.empty(0)]
    b = bufs[0]
    free = sys.getrefcount(b)
    leaf = _Holder()
    leaf._grad = np.empty(0)
    g = getattr(leaf, "_grad", None)
    REFS[:] = [free, sys.getrefcount(g)]
    return free, REFS[1]


REFS = [0, 0]  # (a free pool buffer, a .grad held by its leaf alone): measure() at import
measure()
