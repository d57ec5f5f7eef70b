"""Memory accounting: the bytes held by the arrays chainrule holds, and their peak.

Like ``torch.cuda.memory_allocated()`` but for the CPU backend, and measured
from the arrays themselves (not process RSS): tensor data, values saved for
backward, and gradients flowing through backward.  Each underlying buffer is
counted once, however many tensors or views share it, from the moment
chainrule sees it until the last reference to it dies.

How: tracking is off until you ask for a number.  The first call of any
function here (or ``enable()``) finds the tensors and graph nodes alive at
that moment (one scan of the garbage collector's objects), then watches every
op's inputs and output (an apply wrapper) and every gradient in backward (an
engine tap).  A buffer is registered with a weak reference whose callback
subtracts its size when NumPy frees it.  Off, none of this exists: ops pay
nothing.  On, each op pays a few dictionary look-ups.  ``disable()`` stops.

Tensors made by creation functions (``zeros``, ``randn``, ``tensor``) are
registered when an op first uses them, or at the next
``reset_peak_memory_stats()``, which rescans.  Not seen: NumPy temporaries
inside one op (freed before the op returns) and arrays that no tensor wraps.

>>> chainrule.memory.reset_peak_memory_stats()
>>> y = model(x); y.sum().backward()
>>> chainrule.memory.max_memory_allocated() / 2**20   # MiB
"""

from __future__ import annotations

import gc
import weakref
from typing import Any, Iterator

import numpy as np

from ._tensor import Tensor
from .autograd.graph import Node

__all__ = [
    "memory_allocated",
    "max_memory_allocated",
    "reset_peak_memory_stats",
    "memory_stats",
    "enable",
    "disable",
    "is_enabled",
]

_ndarray = np.ndarray


class _Stats:
    """Process-wide counters (like a device allocator's, shared by all threads)."""

    def __init__(self) -> None:
        self.live: dict[int, tuple[Any, int]] = {}  # id(owner array) -> (weakref, nbytes)
        self.current = 0
        self.peak = 0
        self.allocs = 0
        self.frees = 0
        self.removers: list = []


_stats: _Stats | None = None  # None: tracking is off


def _owner(a: np.ndarray) -> np.ndarray:
    """The array that owns the memory ``a`` looks at (views keep their owner alive)."""
    while isinstance(a.base, _ndarray):
        a = a.base
    return a


def _arrays(v: Any) -> Iterator[np.ndarray]:
    """The arrays in a value a node saves: a Tensor's data, an array, or tuples of them."""
    if isinstance(v, Tensor):
        yield v._data
    elif isinstance(v, _ndarray):
        yield v
    elif isinstance(v, tuple):
        for x in v:
            yield from _arrays(x)


def _track(a: Any) -> None:
    s = _stats
    if s is None or not isinstance(a, _ndarray):
        return
    o = _owner(a)
    k = id(o)
    if k in s.live:
        return
    n = o.nbytes
    try:
        ref = weakref.ref(o, _freed_callback(s, k))
    except TypeError:  # an owner that cannot be weakly referenced: not tracked
        return
    s.live[k] = (ref, n)
    s.current += n
    s.allocs += 1
    if s.current > s.peak:
        s.peak = s.current


def _freed_callback(s: _Stats, k: int) -> Any:
    def freed(_ref: Any) -> None:
        entry = s.live.pop(k, None)
        if entry is not None:
            s.current -= entry[1]
            s.frees += 1

    return freed


def _track_value(v: Any) -> None:
    for a in _arrays(v):
        _track(a)


def _wrapper(op: Any, args: tuple, params: dict, inner: Any) -> Any:
    out = inner(op, args, params)
    for a in args:
        if isinstance(a, Tensor):
            _track(a._data)
        elif isinstance(a, _ndarray):
            _track(a)
    if isinstance(out, Tensor):
        _track(out._data)  # a saved output is this same buffer; saved inputs are args
    elif isinstance(out, _ndarray):  # ops on bare arrays: gradients computed in backward
        _track(out)
    return out


def _observe(node: Any, g: Any, seen: list) -> None:
    """The backward tap's observer: registers the gradients the engine produces."""
    _track_value(g)
    for p, gi in seen:
        _track_value(gi)
        if isinstance(p, Tensor) and p._grad is not None:
            _track(p._grad._data)


def _tap() -> Any:
    return _observe if _stats is not None else None


def _scan() -> None:
    """Register what is alive now: every tensor's data, every node's saved arrays."""
    for obj in gc.get_objects():
        kind = type(obj)  # (isinstance would dereference weak proxies, some of them dead)
        if issubclass(kind, Tensor):
            _track(obj._data)
        elif issubclass(kind, Node):
            _track_value(obj.saved)


class enable:
    """Switch tracking on (``enable()``), or on for a block (``with enable(): ...``).

    As a context manager it restores the previous state on exit (tracking stops
    if it was off before).  Calling it while tracking is on changes nothing.
    """

    def __init__(self) -> None:
        self._was_on = _stats is not None
        if not self._was_on:
            _start()

    def __enter__(self) -> enable:
        return self

    def __exit__(self, *exc: object) -> None:
        if not self._was_on:
            disable()


def _start() -> _Stats:
    global _stats
    from .autograd.engine import add_backward_tap
    from .ops._core import add_apply_wrapper

    s = _stats = _Stats()
    _scan()  # the peak follows the count up
    s.removers = [add_apply_wrapper(_wrapper), add_backward_tap(_tap)]
    return s


def disable() -> None:
    """Stop tracking and forget all counters (the next query starts afresh)."""
    global _stats
    s = _stats
    if s is None:
        return
    _stats = None
    for remove in s.removers:
        remove()
    s.live.clear()


def is_enabled() -> bool:
    return _stats is not None


def _on() -> _Stats:
    return _stats if _stats is not None else _start()


def memory_allocated(device: Any = None) -> int:
    """Bytes held now by chainrule's arrays (each buffer once).  Starts tracking if it is off."""
    return _on().current


def max_memory_allocated(device: Any = None) -> int:
    """The most bytes held at once since tracking started or ``reset_peak_memory_stats()``."""
    return _on().peak


def reset_peak_memory_stats(device: Any = None) -> None:
    """Make the peak equal to the current amount (starts tracking if it is off).

    It also registers tensors made since tracking started that no op has used
    yet (``torch.randn`` and friends do not go through an op), so that a
    measurement started here counts its inputs as already held.
    """
    s = _on()
    _scan()
    s.peak = s.current


def memory_stats(device: Any = None) -> dict[str, int]:
    """Counters, with ``torch.cuda.memory_stats``-like names."""
    s = _on()
    return {
        "allocated_bytes.all.current": s.current,
        "allocated_bytes.all.peak": s.peak,
        "allocation.all.current": len(s.live),
        "allocation.all.allocated": s.allocs,
        "allocation.all.freed": s.frees,
    }
