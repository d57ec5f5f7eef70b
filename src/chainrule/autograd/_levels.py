"""Transform levels: where forward mode (dual numbers) and vmap meet the op table.

A *level* is one active transformation: a ``dual_level()`` of forward mode or one
``vmap`` call.  Levels stack (``jacfwd(jacrev(f))`` = vmap, then dual, then vmap
again) and each keeps its own data on the tensors it touches, in
``tensor._meta["tx"] = {level: payload}``:

- forward level: the payload is the *tangent*, a Tensor of the same shape;
- vmap level: the payload is the *physical* Tensor, shape ``(B, *logical)``, while the
  user-visible (logical) tensor's ``_data`` is example 0 (``payload._data[0]``), so
  every shape an op reads (``x.shape``, ``dim=-1``, ``reshape(-1)``) is per example.

While any level is active one apply wrapper (``dispatch``) sees every op.  It finds
the innermost (highest) visible level among the op's inputs and lets that level
process the op; the level computes with its *lower* levels visible only (``state.cap``),
so its own rules -- JVP rules, batching rules, themselves written with ops -- are
transformed by the levels below.  This is JAX's interpreter stack in a few lines,
and it is why nesting works: a tangent that is batched, a batch of tangents, ...

No level active: the wrapper is not installed and ops pay nothing.
"""

from __future__ import annotations

import threading
from typing import Any, Callable

from .._tensor import Tensor
from ._switch import Switch
from .graph import Node, next_seq

__all__ = ["Level", "state", "push", "pop", "dispatch", "top_level", "payload", "set_payload",
           "has_levels", "mark_created", "owned", "strip"]

_NO_CAP = 1 << 30


class Level:
    """One active transformation; ``index`` is its depth in the stack (higher = inner).

    ``seq0``: the first node number made inside it; ``owned_cache``: ``owned``'s memo.
    """

    __slots__ = ("index", "alive", "seq0", "owned_cache", "__weakref__")
    kind = "level"

    def process(self, op: Any, args: tuple, params: dict, inner: Callable) -> Any:
        """Run ``op`` on ``args``, some of which carry this level's data.  Called by ``dispatch``
        with this level and the ones above it hidden, so the ops it runs reach the levels below."""
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.index}{'' if self.alive else ' (exited)'}>"


class _State(threading.local):
    """Per-thread stack of levels and the visibility cap (levels with index >= cap are hidden)."""

    def __init__(self) -> None:
        self.stack: list[Level] = []
        self.cap = _NO_CAP
        self.vmaps = 0  # alive vmap levels (only they look for batched arrays in params)
        self.reverse_depth = 0  # func.grad/vjp calls running (nested ones keep graphs)


state = _State()


def push(level: Level) -> Level:
    st = state
    level.index = len(st.stack)
    level.alive = True
    level.seq0 = next_seq()  # nodes made before this level have smaller numbers
    level.owned_cache = {}
    if not st.stack:
        _switch.on()  # one user per thread with levels
    st.stack.append(level)
    if level.kind == "vmap":
        st.vmaps += 1
    return level


def pop(level: Level) -> None:
    st = state
    if not st.stack or st.stack[-1] is not level:
        raise RuntimeError(f"transform levels must exit in reverse order of entry; {level!r} is not "
                           "the innermost active level")
    st.stack.pop()
    level.alive = False
    level.owned_cache = {}  # tensors that outlive the level may keep it: not its memo of nodes
    if level.kind == "vmap":
        st.vmaps -= 1
    if not st.stack:
        _switch.off()


# ----------------------------------------------------------------- payloads
def payload(t: Any, level: Level) -> Any:
    """The tangent (forward level) or physical tensor (vmap level) of ``t``, or None."""
    if isinstance(t, Tensor):
        m = t._meta
        if m:
            tx = m.get("tx")
            if tx:
                return tx.get(level)
    return None


def set_payload(t: Tensor, level: Level, value: Any) -> None:
    tx = t._get_meta("tx")
    if tx is None:
        t._set_meta("tx", {level: value})
    else:
        tx[level] = value


def has_levels(t: Any) -> bool:
    """True when ``t`` carries data of some alive level (a tangent or a batch)."""
    if isinstance(t, Tensor):
        m = t._meta
        if m:
            tx = m.get("tx")
            if tx:
                return any(lvl.alive for lvl in tx)
    return False


def _top_of(t: Tensor, cap: int, top: Level | None) -> Level | None:
    m = t._meta
    if m:
        tx = m.get("tx")
        if tx:
            for lvl in tx:
                if lvl.alive and lvl.index < cap and (top is None or lvl.index > top.index):
                    top = lvl
    return top


def top_level(args: Any) -> Level | None:
    """The innermost visible level that some Tensor in ``args`` belongs to."""
    cap = state.cap
    top = None
    for a in args:
        if isinstance(a, Tensor):
            top = _top_of(a, cap, top)
    return top


# ----------------------------------------------------------------- dispatch
def dispatch(op: Any, args: tuple, params: dict, inner: Callable) -> Any:
    """The apply wrapper: let the innermost level among the inputs process ``op``."""
    st = state
    if not st.stack:
        return inner(op, args, params)
    top = top_level(args)
    if st.vmaps:
        found = op.extra.get("batch_arrays")
        if found is not None:  # batched data handed over as plain arrays (index tensors)
            args, params, top = found(args, params, top)
    if top is None:
        return inner(op, args, params)
    prev = st.cap  # as ``hidden(top)``, inlined: this runs for every op under a transform
    st.cap = top.index
    try:
        return top.process(op, args, params, inner)
    finally:
        st.cap = prev


class hidden:
    """Context manager: levels at ``level`` and above are invisible inside the block."""

    __slots__ = ("cap", "prev")

    def __init__(self, level: Level) -> None:
        self.cap = level.index

    def __enter__(self) -> None:
        self.prev = state.cap
        state.cap = self.cap

    def __exit__(self, *exc: object) -> None:
        state.cap = self.prev


def note_ans(out: Tensor, op: Any) -> None:
    """Let ``out``'s node find the output's tangents/batch when its VJP reads ``ans``.

    The node saves its output as a bare array (a saved Tensor would be a cycle); with
    ``create_graph=True`` ``saved_values`` re-wraps it and restores ``tx`` from here.
    """
    node = out.grad_fn
    if node is None or op.ans_slot is None or node.op is not op:
        return
    m = out._meta
    if not m or "tx" not in m:
        return
    if node.meta is None:
        node.meta = {}
    node.meta["ans_tx"] = m["tx"]


# ------------------------------------------------------------------ ownership
def mark_created(t: Tensor) -> None:
    """Tag a leaf made by a reverse transform (func.grad/vjp) with the levels it was made in."""
    if state.stack:
        t._set_meta("created_in", tuple(state.stack))


def _owned_leaf(t: Tensor, level: Level) -> bool:
    m = t._meta
    return bool(m) and level in m.get("created_in", ())


def owned(t: Tensor, level: Level) -> bool:
    """True when ``t`` requires grad only because of leaves a reverse transform made *inside*
    ``level``: a gradient taken there never flows through what ``level`` computes on the side
    (vmap's batched ops, forward mode's tangents), so those need no graph.  Walks the part of
    ``t``'s graph made inside ``level`` (node numbers >= the level's), memoised per level."""
    fn = t.grad_fn
    if fn is None:
        return _owned_leaf(t, level)
    cache = level.owned_cache
    hit = cache.get(fn)
    if hit is not None:
        return hit
    seen = {fn}
    stack = [fn]
    ok = True
    while stack and ok:
        n = stack.pop()
        c = cache.get(n)
        if c is True:
            continue
        if c is False or n.seq < level.seq0:
            ok = False
            break
        for p in n.parents:
            if p is None:
                continue
            if isinstance(p, Node):
                if p not in seen:
                    seen.add(p)
                    stack.append(p)
            elif p._rg and not _owned_leaf(p, level):
                ok = False
                break
    if ok:
        for n in seen:
            cache[n] = True
    else:
        cache[fn] = False
    return ok


_new = object.__new__


def strip(t: Tensor) -> Tensor:
    """``t`` without its reverse-mode history (same data, version counter and level data)."""
    s = _new(Tensor)
    s._data = t._data
    s._rg = False
    s._grad = None
    s.grad_fn = None
    s._vc = t._vc
    s._base = None
    s._meta = t._meta
    return s


def unrecorded(args: Any, level: Level) -> Any:
    """``args`` with every tensor whose history is owned inside ``level`` stripped of it."""
    out = None
    for k, a in enumerate(args):
        if isinstance(a, Tensor) and a._rg and owned(a, level):
            if out is None:
                out = list(args)
            out[k] = strip(a)
    return args if out is None else out


_switch = Switch(dispatch)
