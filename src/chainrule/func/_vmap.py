"""``vmap``: run a per-example function on a whole batch, op by op, with batching rules.

Inside ``vmap(f)`` every batched tensor is *logical*: it looks like one example
(its ``_data`` is example 0, so ``x.shape``, ``dim=-1`` and ``reshape(-1)`` mean
what ``f`` means), and it carries the whole batch, shape ``(B, *shape)``, as its
payload at this vmap level (see ``autograd._levels``).  An op on logical tensors
runs once on the payloads through the op's *batching rule*
(``Primitive.extra['batch']``, in ``func/batching.py``): no Python loop over the
batch.  An op without a rule falls back to a loop over the examples; that is
counted in ``fallback_counts`` and warned about once per op.

Reverse mode inside vmap (``vmap(grad(f))``) records the graph on the logical
tensors, so its rules are batched too; reverse mode around vmap
(``grad(lambda p: vmap(f)(p, xs).sum())``) differentiates the payloads.
"""

from __future__ import annotations

import collections
import functools
import warnings
import weakref
from typing import Any, Callable

import numpy as np

from .._tensor import Tensor, wrap
from ..autograd import _levels
from ..autograd._levels import Level, note_ans, owned, payload, strip
from ..autograd.grad_mode import state as _grad_state
from ..ops import _core
from ._pytree import broadcast_prefix, tree_flatten, tree_unflatten

__all__ = ["vmap", "fallback_counts", "VmapLevel"]

fallback_counts: collections.Counter = collections.Counter()  # op name -> loops run
_warned: set = set()
_registry: dict = {}  # id(logical._data) -> weakref(logical): batched data passed as a raw array
_new = object.__new__


def _warn_again(name: str) -> bool:
    """Warn about ``name``'s fallback: the first time, or every time under ``set_warn_always(True)``."""
    from .._settings import is_warn_always_enabled

    return name not in _warned or is_warn_always_enabled()


class VmapLevel(Level):
    """One vmap call: ``size`` examples; processes ops on tensors batched at this level."""

    __slots__ = ("size", "randomness")
    kind = "vmap"

    def __init__(self, size: int, randomness: str = "error") -> None:
        self.size = size
        self.randomness = randomness

    def process(self, op: Any, args: tuple, params: dict, inner: Callable) -> Any:
        phys, flags = [], []
        for a in args:
            p = payload(a, self)
            if p is None and isinstance(a, Tensor) and a._rg and owned(a, self):
                a = strip(a)  # a gradient taken inside this vmap: the logical node has it
            phys.append(a if p is None else p)
            flags.append(p is not None)
        rule = op.extra.get("batch")
        out = rule(self, phys, flags, params) if rule is not None else NotImplemented
        if out is NotImplemented:
            out = self.loop(op, phys, flags, params)
        return self.logical(op, args, params, out)

    # ------------------------------------------------------------ tensors
    def batched(self, phys: Tensor) -> Tensor:
        """The logical tensor (one example's view) whose payload is ``phys`` (batch at dim 0)."""
        view = phys._data[0, ...]  # a 0-d array, not a NumPy scalar, for 0-d examples
        view.flags.writeable = False  # an in-place op would change example 0 only: make it fail
        y = wrap(view)
        y._meta = {"tx": {self: phys}}
        if view.dtype.kind in "biu":  # index tensors and targets: public functions hand their
            _register(y)  # data to ops as arrays, which dispatch maps back (see logical_of)
        return y

    def logical(self, op: Any, args: tuple, params: dict, out: Any) -> Tensor:
        """Wrap a physical result as the logical output of ``op``, recording it when needed."""
        if not isinstance(out, Tensor):
            out = wrap(np.asarray(out))
        y = self.batched(out)
        if op.view and isinstance(args[0], Tensor):  # writes through it reach its base (_inplace)
            _core.join_view(y, args[0], op, params)
        if (_grad_state.grad_enabled and op.differentiable and y._data.dtype.kind in "fc"
                and any(isinstance(a, Tensor) and a._rg for a in args)):
            _core._record(op, y, args, params, y._data)
            note_ans(y, op)
        return y

    # ----------------------------------------------------------- fallback
    def loop(self, op: Any, phys: list, flags: list, params: dict) -> Any:
        """No batching rule: run ``op`` once per example and stack (counted and warned about)."""
        from ..ops.index import getitem
        from ..ops.shape import stack

        fallback_counts[op.name] += 1
        if _warn_again(op.name):
            _warned.add(op.name)
            warnings.warn(f"vmap: {op.public}() has no batching rule, so it ran as a Python loop over "
                          f"the {self.size} examples (chainrule.func.fallback_counts counts these)",
                          RuntimeWarning, stacklevel=2)
        outs = []
        for b in range(self.size):
            a_b = tuple(getitem(p, b) if f else p for p, f in zip(phys, flags))
            outs.append(_core.apply(op, a_b, self._params_at(params, b)))
        return stack(outs, 0)

    def _params_at(self, params: dict, b: int) -> dict:
        idx = params.get("idx")
        if not isinstance(idx, tuple) or not any(isinstance(i, Tensor) for i in idx):
            return params
        new = []
        for i in idx:
            p = payload(i, self) if isinstance(i, Tensor) else None
            new.append(p._data[b] if p is not None else (i._data if isinstance(i, Tensor) else i))
        return dict(params, idx=tuple(new))


def _register(y: Tensor) -> None:
    ref = weakref.ref(y, _forget)
    _keys[ref] = id(y._data)
    _registry[id(y._data)] = ref


_keys: dict = {}  # weakref -> its registry key


def _forget(ref: Any) -> None:
    key = _keys.pop(ref, None)
    if key is not None and _registry.get(key) is ref:
        del _registry[key]


def logical_of(arr: Any) -> Tensor | None:
    """The alive logical tensor whose ``_data`` is exactly ``arr`` (batched data read out of an
    op, e.g. an index tensor turned into an array), or None."""
    ref = _registry.get(id(arr))
    t = ref() if ref is not None else None
    if t is not None and t._data is arr and _levels.has_levels(t):
        return t
    return None


def with_logicals(values: Any, top: Any) -> tuple[list | None, Any]:
    """For ``dispatch``: batched data that reached an op as bare arrays (``target._data``, index
    tensors inside ``idx``).  Returns ``values`` with each such array replaced by its logical
    tensor (None if nothing changed) and the innermost visible level among them and ``top``."""
    cap = _levels.state.cap
    new = None
    for k, v in enumerate(values):
        t = v if isinstance(v, Tensor) else (logical_of(v) if type(v) is np.ndarray else None)
        if t is None or _levels._top_of(t, cap, None) is None:  # none, or of a hidden level
            continue
        if t is not v:
            new = new or list(values)
            new[k] = t
        top = _levels._top_of(t, cap, top)
    return new, top


# ---------------------------------------------------------------------- API
def _rng_state() -> Any:
    from ..random import default_generator

    return default_generator._rng.bit_generator.state["state"]  # a read, not a draw


def vmap(func: Callable, in_dims: Any = 0, out_dims: Any = 0, randomness: str = "error", *,
         chunk_size: int | None = None) -> Callable:
    """Vectorise ``func`` over a batch dimension (``torch.func.vmap``).

    >>> f = lambda x, w: (x @ w).tanh()              # one example: x (3,), w (3, 2)
    >>> chainrule.func.vmap(f, in_dims=(0, None))(xs, w).shape   # xs (10, 3)
    chainrule.Size([10, 2])

    ``in_dims``: the batch dim of each positional argument (an int for all, or a tuple
    with an int/None -- or a pytree prefix -- per argument; None = not batched).
    ``out_dims``: where the batch dim goes in each output.  ``randomness``: ``'error'``
    (random ops inside raise), ``'same'`` (one draw shared by the batch) or
    ``'different'`` (one draw per example, by running ``func`` per example).
    ``chunk_size``: process the batch in chunks of this many examples.
    """
    if randomness not in ("error", "same", "different"):
        raise ValueError(f"vmap: randomness must be 'error', 'same' or 'different', got {randomness!r}")

    @functools.wraps(func)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        leaves, spec = tree_flatten(args)
        dims = broadcast_prefix(in_dims, args, "vmap in_dims")
        size = _batch_size(leaves, dims)
        return _call(func, leaves, spec, dims, size, out_dims, randomness, chunk_size, kwargs)

    return wrapped


def _call(func: Callable, leaves: list, spec: Any, dims: list, size: int, out_dims: Any,
          randomness: str, chunk_size: int | None, kwargs: dict) -> Any:
    if chunk_size is not None and chunk_size < size:
        return _chunked(func, leaves, spec, dims, size, chunk_size, out_dims, randomness, kwargs)
    if randomness == "different":
        return _per_example(func, leaves, spec, dims, size, out_dims, kwargs)
    return _run(func, leaves, spec, dims, size, out_dims, randomness, kwargs)


def _batch_size(leaves: list, dims: list) -> int:
    size = None
    for x, d in zip(leaves, dims):
        if d is None:
            continue
        if not isinstance(d, int):
            raise ValueError(f"vmap: in_dims entries must be ints or None, got {d!r}")
        if not isinstance(x, Tensor):
            raise ValueError(f"vmap: in_dims={d} given for an argument of type {type(x).__name__}; "
                             "only Tensors can be batched (use None for the others)")
        n = x._data.ndim
        if not -n <= d < n:
            raise ValueError(f"vmap: in_dim {d} is out of range for a tensor of shape "
                             f"{tuple(x._data.shape)}")
        s = x._data.shape[d]
        if size is not None and s != size:
            raise ValueError(f"vmap: batched inputs have different sizes along their in_dims: {size} "
                             f"and {s}")
        size = s
    if size is None:
        raise ValueError("vmap: at least one input must be batched (in_dims are all None)")
    if size == 0:
        raise ValueError("vmap: the batch is empty (size 0)")
    return size


def _run(func: Callable, leaves: list, spec: Any, dims: list, size: int, out_dims: Any,
         randomness: str, kwargs: dict) -> Any:
    from ..ops.shape import broadcast_to, movedim, unsqueeze

    lvl = _levels.push(VmapLevel(size, randomness))
    try:
        new = [lvl.batched(x if d % x._data.ndim == 0 else movedim(x, d, 0)) if d is not None else x
               for x, d in zip(leaves, dims)]
        before = _rng_state() if randomness == "error" else None
        out = func(*tree_unflatten(new, spec), **kwargs)
        if before is not None and _rng_state() != before:
            raise RuntimeError("vmap: the function drew random numbers, which randomness='error' "
                               "forbids; pass randomness='same' (one draw for the batch) or "
                               "'different' (one per example)")
        flat, out_spec = tree_flatten(out)
        ods = broadcast_prefix(out_dims, out, "vmap out_dims")
        res = []
        for o, d in zip(flat, ods):
            if not isinstance(o, Tensor):
                raise ValueError(f"vmap: the function must return Tensors (or pytrees of them), "
                                 f"got {type(o).__name__}")
            p = payload(o, lvl)
            if d is None:
                if p is not None:
                    raise ValueError("vmap: out_dims is None for an output that depends on the "
                                     "batched inputs; give it an out_dim")
                res.append(o)
                continue
            if p is None:  # does not depend on the batch: repeated, as torch.func does
                p = broadcast_to(unsqueeze(o, 0), (size,) + tuple(o._data.shape))
            n = p._data.ndim
            if not -n <= d < n:
                raise ValueError(f"vmap: out_dim {d} is out of range for an output with "
                                 f"{n - 1} dims")
            res.append(p if d % n == 0 else movedim(p, 0, d))
    finally:
        _levels.pop(lvl)
    return tree_unflatten(res, out_spec)


def _slice(leaves: list, dims: list, start: int, stop: int, step_one: bool) -> list:
    from ..ops.index import getitem, select

    out = []
    for x, d in zip(leaves, dims):
        if d is None:
            out.append(x)
        elif step_one:
            out.append(select(x, d, start))
        else:
            out.append(getitem(x, (slice(None),) * (d % x._data.ndim) + (slice(start, stop),)))
    return out


def _chunked(func: Callable, leaves: list, spec: Any, dims: list, size: int, chunk: int,
             out_dims: Any, randomness: str, kwargs: dict) -> Any:
    from ..ops.shape import cat

    parts = [_call(func, _slice(leaves, dims, start, min(start + chunk, size), False), spec, dims,
                   min(chunk, size - start), out_dims, randomness, None, kwargs)
             for start in range(0, size, chunk)]
    return _join(parts, out_dims, cat)


def _per_example(func: Callable, leaves: list, spec: Any, dims: list, size: int, out_dims: Any,
                 kwargs: dict) -> Any:
    """randomness='different': call ``func`` once per example (counted as a fallback)."""
    from ..ops.shape import stack

    fallback_counts["<randomness='different'>"] += 1
    outs = [func(*tree_unflatten(_slice(leaves, dims, b, b + 1, True), spec), **kwargs)
            for b in range(size)]
    return _join(outs, out_dims, stack)


def _join(parts: list, out_dims: Any, join: Callable) -> Any:
    """Outputs of several calls joined (``cat`` or ``stack``) along their out_dims; an output with
    out_dim None is the same in every call, and the first call's is kept."""
    flat0, out_spec = tree_flatten(parts[0])
    ods = broadcast_prefix(out_dims, parts[0], "vmap out_dims")
    cols = [tree_flatten(p)[0] for p in parts]
    res = [join([c[i] for c in cols], d) if d is not None else flat0[i] for i, d in enumerate(ods)]
    return tree_unflatten(res, out_spec)
