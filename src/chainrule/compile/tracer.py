"""The tracer: run the function once, eagerly, and record every op it calls.

Every op goes through ``ops._core.apply``; while tracing, a wrapper installed there
(``add_apply_wrapper``) appends one IR node per call and maps the result tensor (and its
array) to that node.  The run is an ordinary eager run, so the first call of a compiled
function returns eager's results.

What an apply wrapper cannot see is caught around it, for the length of the trace only:
Python reading a tensor's value (``bool(t)``, ``.item()``, ``.tolist()``, ``print(t)``)
becomes a *check* on that node's value (a graph break: the compiled code recomputes it
and falls back if it differs); dropout's mask and BatchNorm's running-statistic updates,
which the library computes with raw NumPy, are recorded as a random node and as effects;
``backward()``, ``zero_grad()`` and ``optimizer.step()`` inside the function are traced or
recorded as ordered effects (``_step``); anything else that leaves the op table (other
random draws, ``.numpy()``, in-place writes the hook did not see) is a *problem*: the
function then runs eagerly.
"""

from __future__ import annotations

import builtins
import contextlib
import os
import threading
import traceback
from typing import Any, Callable, Iterator

import numpy as np

from .._inplace import refresh
from .._tensor import Tensor
from ..autograd._switch import Switch
from .ir import CONST, Graph, Node, Ref

__all__ = ["Tracer", "GraphBreak", "GradOf", "current", "user_line"]

_PKG = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_local = threading.local()


class GradOf:
    """An outside tensor that is a leaf's ``.grad``: the generated code reads ``leaf.grad``
    when it runs (the object may be a new one on every call), not the traced object."""

    __slots__ = ("leaf",)

    def __init__(self, leaf: Any) -> None:
        self.leaf = leaf  # the leaf tensor, or an input position

    def resolve(self, tensors: list) -> Tensor | None:
        leaf = tensors[self.leaf] if isinstance(self.leaf, int) else self.leaf
        return leaf._grad

    def __repr__(self) -> str:
        return f"grad of input {self.leaf}" if isinstance(self.leaf, int) else "grad of a tensor"


class GraphBreak(RuntimeError):
    """Raised under ``fullgraph=True`` where the function leaves the graph."""


def current() -> Tracer | None:
    return getattr(_local, "tracer", None)


def user_line() -> str:
    """The innermost source line outside chainrule (where the user's code is)."""
    for fs in reversed(traceback.extract_stack()):
        if not os.path.abspath(fs.filename).startswith(_PKG):
            return f"{fs.filename}:{fs.lineno}: {(fs.line or '').strip()}"
    return "<unknown>"


class Tracer:
    """One trace: the graph being built and the tensor -> node maps."""

    def __init__(self, fullgraph: bool = False) -> None:
        self.graph = Graph()
        self.fullgraph = fullgraph
        self.phase = "fwd"
        self.quiet = 0
        self.env: dict[int, int] = {}  # id(Tensor) -> node
        self.arrays: dict[int, int] = {}  # id(ndarray) -> node
        self.keep: list = []  # everything mapped by id stays alive until the trace ends
        self.versions: list[tuple[Tensor, int, int]] = []  # (tensor, version when seen, node)
        self.problems: list[str] = []
        self.raw_constants: list[np.ndarray] = []
        self.origins: dict[int, tuple[Tensor, int]] = {}  # inputs and externals: (tensor, first node)
        self.known: dict[int, Tensor] = {}  # tensors that exist outside the call (guards.known_tensors)
        self.places: dict | None = None  # ... where those among globals and closures are (guards.Place)
        self.constants: set[int] = set()  # tensors made by factories during the trace
        self.shared: set[int] = set()  # ... of those, the ones sharing a caller's array (from_numpy)
        self.views: dict[int, Tensor] = {}  # id(array) -> the view tensor it belongs to
        self.notified: set[int] = set()  # tensors the in-place hook rebound (writes it saw)
        self.refreshing: set[int] = set()  # views being regenerated now
        self.holders: dict[int, list[Tensor]] = {}  # id(array) -> the traced tensors holding it
        self.emitted: dict[int, int] = {}  # origin -> the node its last replayed write assigned
        # a training step inside the function (``_step``): leaves' ``.grad`` and optimizer steps
        self.input_index: dict[int, int] = {}  # id(input tensor) -> its position
        self.grad_start: dict[int, tuple[Tensor, Any]] = {}  # id(leaf) -> (leaf, .grad at the start)
        self.grad_owner: dict[int, Any] = {}  # id(a .grad at the start) -> its leaf (or input position)
        self.grad_first: dict[int, tuple[Any, bool | None]] = {}  # id(leaf) -> (leaf, start .grad None?)
        self.grad_emitted: dict[int, tuple] = {}  # id(leaf) -> what the last .grad effect set
        self.dirty: set[int] = set()  # tensors an opaque optimizer step wrote: not readable after it
        self.stepped = False  # backward() ran inside the function
        self.dynamic_index = False  # integer index arrays as edges (chainrule.compile), not checks
        self.cleared: dict[int, Any] = {}  # id(leaf) -> spec: .grad = None before any opt.step()
        self.reached: dict[int, Tensor] = {}  # leaves a backward() inside the function filled

    # ---------------------------------------------------------------- mapping
    def bind(self, obj: Any, node: Node) -> None:
        self.keep.append(obj)
        if isinstance(obj, Tensor):
            self.env[id(obj)] = node.i
            self.keep.append(obj._data)
            self.arrays[id(obj._data)] = node.i
            self.versions.append((obj, obj._vc[0], node.i))
            self.holders.setdefault(id(obj._data), []).append(obj)
            if obj._base is not None:
                self.views[id(obj._data)] = obj
        else:
            self.arrays[id(obj)] = node.i

    def node_of(self, t: Tensor) -> int:
        if self.dirty and (
            id(t) in self.dirty
            or id(t._data) in self.dirty
            or (t._base is not None and id(t._base) in self.dirty)
        ):
            self.problem(
                "a tensor read after optimizer.step() wrote it (a parameter, its .grad or the "
                "optimizer's state); read it after the compiled function returns"
            )
        view = t if t._base is not None else self.views.get(id(t._data))
        if view is not None and view._vfn[1] != view._vc[0] and id(view) not in self.refreshing:
            self.refreshing.add(id(view))  # (the hook rebinds it while it is regenerated, and
            try:  # under no_grad its history stays stale: no second regeneration inside)
                refresh(view)  # its base was written since: its value is the regenerated view's
            finally:
                self.refreshing.discard(id(view))
        i = self.env.get(id(t))
        if i is None:
            i = self.arrays.get(id(t._data))
            if i is None:
                const = id(t) in self.constants or id(t._data) in self.constants
                if const:
                    pass  # made from shapes only (a factory, ops._core.structural)
                elif self.phase == "bwd":
                    self.problem("a derivative rule read a value computed outside the op table")
                elif id(t) not in self.known:
                    self.problem(
                        f"a tensor of shape {tuple(t._data.shape)} that is neither an argument, a "
                        "module's parameter or buffer, a global or closure value, nor made by an op "
                        "or a factory (pass it as an argument if it exists outside the function)"
                    )
                d = t._data
                if const and id(t) not in self.shared:  # its value now, copied
                    i = self.graph.add(
                        "op",
                        prim=CONST,
                        args=(np.array(d, copy=True),),
                        shape=d.shape,
                        dtype=d.dtype,
                        phase=self.phase,
                        c_order=True,
                    ).i
                else:
                    owner = self.grad_owner.get(id(t))
                    extra = t if owner is None else GradOf(owner)
                    if owner is not None:
                        self.grad_touch(owner, t)
                    i = self.graph.add(
                        "external", shape=d.shape, dtype=d.dtype, extra=extra, phase=self.phase, c_order=_c(d)
                    ).i
                    self.origins[id(t)] = (t, i)
            self.bind(t, self.graph.nodes[i])
        return i

    def leaf_spec(self, leaf: Tensor) -> Any:
        """How the generated code finds a leaf: an input's position, or the tensor itself."""
        k = self.input_index.get(id(leaf))
        return leaf if k is None else k

    def grad_touch(self, leaf: Any, grad: Any, dont_care: bool = False) -> None:
        """The first time the trace depends on ``leaf.grad`` (reads or accumulates into it),
        remember whether it was None: the artefact applies only to calls where it is the same.
        ``dont_care``: the first touch overwrote it (``zero_grad()``, ``.grad = ...``)."""
        if isinstance(leaf, int):
            leaf = self.input_tensors[leaf]
        if id(leaf) not in self.grad_first:
            self.grad_first[id(leaf)] = (self.leaf_spec(leaf), None if dont_care else grad is None)

    def structural(self, a: Any) -> None:
        """``ops._core.structural``: an array made from shapes only is a constant of the trace."""
        if current() is self:
            self.constants.add(id(a))
            self.keep.append(a)

    def rebind(self, t: Tensor, src: Tensor) -> None:
        """The in-place hook: ``t`` now holds ``src``'s value (a write, or a base rewritten)."""
        if current() is not self or self.quiet:
            return
        if id(t) in self.env or id(t._data) in self.arrays or id(t) in self.known or id(t) in self.constants:
            self.node_of(t)  # before the rebinding: t's old value is a node of its own
        i = self.node_of(src)
        self.notified.add(id(t))
        self.env[id(t)] = i
        for alias in self.holders.get(id(t._data), ()):  # .detach() aliases share the array:
            if alias is not t and alias._data is t._data:  # the write is theirs too
                self.env[id(alias)] = i
                self.notified.add(id(alias))
        self.arrays[id(t._data)] = i  # a later .detach() of t shares this array: the new value
        self.keep.append(t)
        self.keep.append(t._data)
        self.versions.append((t, t._vc[0], i))

    def add_input(self, t: Tensor, k: int, kind: str = "input") -> None:
        d = t._data
        node = self.graph.add(kind, shape=d.shape, dtype=d.dtype, extra=k, phase=self.phase, c_order=_c(d))
        if id(t) not in self.env:
            self.origins[id(t)] = (t, node.i)
        self.bind(t, node)

    def problem(self, what: str) -> None:
        line = user_line()
        if self.fullgraph:
            raise GraphBreak(f"chainrule.compile(fullgraph=True): {what} at {line}")
        problem = f"{what} at {line}"
        if problem not in self.problems:
            self.problems.append(problem)

    # ---------------------------------------------------------------- recording
    def record(self, op: Any, args: tuple, params: dict, inner: Callable) -> Any:
        if self.quiet:
            return inner(op, args, params)
        refs = []
        traced = False
        for a in args:
            if isinstance(a, Tensor):
                refs.append(Ref(self.node_of(a)))
                traced = True
            elif isinstance(a, np.ndarray):
                i = self.arrays.get(id(a))
                if i is None:
                    if id(a) not in self.constants and id(a.base) not in self.constants:
                        where = "the derivative rule of " if self.phase == "bwd" else ""
                        self.problem(
                            f"{where}{op.public}() got an array of shape {tuple(a.shape)} computed "
                            "outside the op table (from tensor values?)"
                        )
                    self.raw_constants.append(a)
                    self.keep.append(a)
                    refs.append(a)
                else:
                    refs.append(Ref(i))
                    traced = True
            else:
                if isinstance(a, (list, tuple)) and any(isinstance(b, Tensor) for b in a):
                    self.problem(f"{op.public}() got tensors inside a {type(a).__name__}")
                refs.append(a)
        node_params = self._index_params(op, params) if params else params
        out = inner(op, args, params)
        if traced:
            d = out._data if isinstance(out, Tensor) else np.asarray(out)
            node = self.graph.add(
                "op",
                prim=op,
                args=tuple(refs),
                params=dict(node_params),
                shape=d.shape,
                dtype=d.dtype,
                phase=self.phase,
                c_order=_c(d),
            )
            if not isinstance(out, np.ndarray) and not isinstance(out, Tensor):
                out = d
            self.bind(out, node)
        elif isinstance(out, (np.ndarray, Tensor)):  # an op of constants is a constant
            self.constants.add(id(out))
            self.keep.append(out)
        return out

    def _index_params(self, op: Any, params: dict) -> dict:
        """Arrays among an op's parameters (index arrays: ``x[idx]``, embedding ids).

        An integer array that is a traced tensor's own array becomes an edge (``dynamic_index``,
        chainrule.compile): the generated code passes the current call's array.  A boolean
        mask, or any such array when tracing for a static graph (fx, jit, ONNX), decides the
        result's shape by its values: a check (a graph break), like a Python read.  Other arrays
        are constants of the trace (index handling builds them from shapes and Python lists); an
        index made from a tensor's values must reach the op as that tensor's array, or as an op's
        result (``F.embedding`` converts int32 ids with an op for this reason)."""
        out = dict(params)
        for key, v in params.items():
            items = v if isinstance(v, tuple) else (v,)
            new = []
            for a in items:
                if isinstance(a, np.ndarray) and a.dtype != object:
                    i = self.arrays.get(id(a))
                    if i is None:
                        pass  # made from shapes or Python values by the op's own index handling
                    elif self.dynamic_index and a.dtype.kind in "iu":
                        a = Ref(i)
                    else:
                        self._index_check(i, a)
                new.append(a)
            out[key] = tuple(new) if isinstance(v, tuple) else new[0]
        return out

    def _index_check(self, i: int, a: np.ndarray) -> None:
        line = user_line()
        if self.fullgraph:
            raise GraphBreak(
                "chainrule.compile(fullgraph=True): a tensor's values used as an index "
                f"(the result depends on the data) at {line}"
            )
        self.graph.checks.append((i, ("tolist", ()), a.tolist(), line))

    def check(self, t: Tensor, how: str, args: tuple, value: Any) -> None:
        """Python read a traced value: compiled code recomputes and compares it (a graph break)."""
        line = user_line()
        if self.phase == "bwd":
            self.problem(f"a derivative rule read a value in Python ({how})")
            return
        if self.fullgraph:
            raise GraphBreak(
                f"chainrule.compile(fullgraph=True): data-dependent Python, {how}() on a tensor, at {line}"
            )
        self.graph.checks.append((self.node_of(t), (how, args), value, line))

    def write(self, target: Tensor, value: Tensor, kind: str = "assign") -> None:
        """An effect: ``target`` takes ``value`` (done now, eagerly, and replayed by the code)."""
        i = self.node_of(value)
        self.graph.effects.append((kind, target, (Ref(i),)))
        target._data[...] = value._data
        target._vc[0] += 1
        self.env[id(target)] = i  # later reads of target see the new value
        self.emitted[id(target)] = i
        self.keep.append(target)

    def finish_checks(self) -> None:
        """In-place writes the wrapper did not see make the trace unsound: report them."""
        for t, v, i in self.versions:
            if (
                id(t) in self.dirty
                or id(t._data) in self.dirty
                or (t._base is not None and id(t._base) in self.dirty)
            ):
                continue  # written by an optimizer step, which the code calls (``_step``)
            if id(t) in self.notified or (t._base is not None and id(t._base) in self.notified):
                continue  # a write the hook saw (a stale view is regenerated when it is read)
            if t._vc[0] != v and self.env.get(id(t)) == i:
                self.problem(f"an in-place write to v{i} ({self.graph.nodes[i].kind})")
                return


def _c(d: Any) -> bool:
    """The value's layout, for memory planning (a buffer it writes into is C-ordered)."""
    return bool(d.flags.c_contiguous) if isinstance(d, np.ndarray) else True


# ------------------------------------------------------------------ installation
def _wrapper(op: Any, args: tuple, params: dict, inner: Callable) -> Any:
    tr = current()
    if tr is None:
        return inner(op, args, params)
    return tr.record(op, args, params, inner)


_switch = Switch(_wrapper)
_patch_lock = threading.Lock()
_patch_users = [0]
_saved: list = []


@contextlib.contextmanager
def tracing(tr: Tracer) -> Iterator[Tracer]:
    """Record ops into ``tr`` in this thread while the block runs."""
    if current() is not None:
        raise RuntimeError(
            "chainrule.compile: a compiled function was traced inside another "
            "trace; compile the outer function only"
        )
    _local.tracer = tr
    _switch.on()
    _install()
    try:
        yield tr
    finally:
        _local.tracer = None
        _uninstall()
        _switch.off()


@contextlib.contextmanager
def quiet(tr: Tracer | None) -> Iterator[None]:
    if tr is not None:
        tr.quiet += 1
    try:
        yield
    finally:
        if tr is not None:
            tr.quiet -= 1


def _install() -> None:
    with _patch_lock:
        _patch_users[0] += 1
        if _patch_users[0] > 1:
            return
        from . import _patches

        for owner, name, new in _patches.patches():
            _saved.append((owner, name, owner.__dict__.get(name, _MISSING)))
            setattr(owner, name, new)


_MISSING = object()


def _uninstall() -> None:
    with _patch_lock:
        _patch_users[0] -= 1
        if _patch_users[0]:
            return
        while _saved:
            owner, name, old = _saved.pop()
            if old is _MISSING:
                delattr(owner, name)
            else:
                setattr(owner, name, old)


_print = builtins.print
