"""Fold repeated structure so that graphs of 10^4+ nodes still draw in seconds.

Deep graphs are deep because something repeats: a loop of the same ops, a
stack of identical layers, an RNN cell unrolled over time.  The plan:

1. The *spine* is the longest path from the output down to the inputs (the
   depth of the computation), leaves excluded; it is followed by taking, at each node, the input with
   the tallest graph behind it.
2. Every other vertex is given to the first spine node that reaches it, which
   cuts the graph into *segments*, one per spine node (a layer's weight and its
   transpose go with the layer's matmul).  Vertices used by several segments
   (a weight shared by every RNN step) are *global*: drawn once, outside.
3. Each segment gets a signature: its ops, shapes, and wiring, with edges to
   nearby segments written relative to its own position.  Consecutive
   segments with a periodic signature (period <= ``MAX_PERIOD``, at least
   ``MIN_REPEATS`` repeats) are a *run*: one block is drawn in a cluster, and
   every vertex of the other blocks is represented by its twin in that block.

The result is a ``Plan``; ``graph.draw`` maps each edge through ``rep`` and
drops duplicates.  Structure that does not repeat is left as it is.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Hashable

MAX_PERIOD = 32
MIN_REPEATS = 3
WINDOW = 64  # edges reaching further than this many segments are written absolutely


@dataclass
class Run:
    """``repeats`` consecutive copies of a block; ``shown`` holds the vertices drawn for it."""

    repeats: int
    shown: list[int]  # the copy nearest the inputs: the one drawn
    first_block: list[int]  # the copy nearest the outputs (for labels)


@dataclass
class Plan:
    rep: dict[int, int] = field(default_factory=dict)  # hidden vertex -> its twin that is drawn
    block: dict[int, tuple[int, int]] = field(default_factory=dict)  # vertex -> (run, copy)
    runs: list[Run] = field(default_factory=list)


def _heights(parents: list[list[int]]) -> list[int]:
    """Longest path from each vertex down to a vertex without inputs (iterative post-order)."""
    n = len(parents)
    height = [-1] * n
    for start in range(n):
        if height[start] >= 0:
            continue
        stack = [(start, 0)]
        while stack:
            v, i = stack.pop()
            ps = parents[v]
            while i < len(ps) and height[ps[i]] >= 0:
                i += 1
            if i < len(ps):
                stack.append((v, i + 1))
                stack.append((ps[i], 0))
                continue
            height[v] = 1 + max((height[p] for p in ps), default=-1)
    return height


def plan(parents: list[list[int]], tokens: list[Hashable], roots: list[int]) -> Plan:
    """Find repeated runs along the spine.

    ``parents[v]``: the vertices feeding vertex v, in slot order (duplicates
    allowed).  ``tokens[v]``: what v is (op name, shape, ...); two vertices are
    interchangeable only if their tokens are equal.  ``roots``: the outputs.
    """
    out = Plan()
    if not roots:
        return out
    height = _heights(parents)
    # 1. the spine
    v = max(roots, key=lambda r: height[r])
    spine = [v]
    while True:  # max() keeps the first of equals; inputs (no parents) stay off the spine
        v = max(parents[v], key=lambda p: height[p], default=None)
        if v is None or not parents[v]:
            break
        spine.append(v)
    seg = {s: k for k, s in enumerate(spine)}
    members: list[list[int]] = [[s] for s in spine]
    # 2. segments, in discovery order from each spine vertex
    for k, s in enumerate(spine):
        stack = [s]
        while stack:
            u = stack.pop()
            for p in parents[u]:
                if p not in seg:
                    seg[p] = k
                    members[k].append(p)
                    stack.append(p)
    consumers: dict[int, set[int]] = {}
    for u, ps in enumerate(parents):
        if u in seg:
            for p in ps:
                consumers.setdefault(p, set()).add(seg[u])
    is_spine = set(spine)
    shared = [u for u in seg if u not in is_spine and len(consumers.get(u, ())) > 1]
    glob: set[int] = set()
    while shared:  # a shared vertex and everything it is computed from
        u = shared.pop()
        if u in glob or u in is_spine:
            continue
        glob.add(u)
        shared.extend(parents[u])
    members = [[u for u in m if u not in glob] for m in members]
    idx = {u: i for m in members for i, u in enumerate(m)}
    # 3. signatures, interned as small ints
    intern: dict[tuple, int] = {}
    sig: list[int] = []
    for k, m in enumerate(members):
        parts = []
        for u in m:
            edges = []
            for p in parents[u]:
                j = seg.get(p)
                if p in glob or j is None or abs(j - k) > WINDOW:
                    edges.append(("a", p))
                else:
                    edges.append(("r", j - k, idx[p]))
            parts.append((tokens[u], tuple(edges)))
        sig.append(intern.setdefault(tuple(parts), len(intern)))
    # 4. periodic runs, greedily from the output end
    n = len(sig)
    a = 0
    while a < n:
        best_p, best_r = 0, 0
        for p in range(1, min(MAX_PERIOD, (n - a) // MIN_REPEATS) + 1):
            r = 1
            while a + (r + 1) * p <= n and sig[a + r * p: a + (r + 1) * p] == sig[a: a + p]:
                r += 1
            if r >= MIN_REPEATS and r * p > best_r * best_p:
                best_p, best_r = p, r
        if not best_p:
            a += 1
            continue
        _fold(out, members, a, best_p, best_r)
        a += best_p * best_r
    return out


def _fold(out: Plan, members: list[list[int]], a: int, p: int, r: int) -> None:
    """Record run ``r`` copies of ``p`` segments from segment ``a``; the deepest copy is drawn."""
    run_id = len(out.runs)
    keep = r - 1
    shown = [u for i in range(p) for u in members[a + keep * p + i]]
    first = [u for i in range(p) for u in members[a + i]]
    for q in range(r):
        for i in range(p):
            twin = members[a + keep * p + i]
            for t, u in enumerate(members[a + q * p + i]):
                out.block[u] = (run_id, q)
                if q != keep:
                    out.rep[u] = twin[t]
    out.runs.append(Run(r, shown, first))
