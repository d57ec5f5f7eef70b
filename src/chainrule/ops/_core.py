"""The op table's machinery: ``Primitive`` (one entry per op) and ``apply`` (run one).

A primitive is a forward function on arrays plus its derivative rules, side by
side in the op's family module::

    MUL = Primitive("Mul", lambda x, y: x * y, broadcasts=True)
    MUL.defvjp(lambda g, y: g * y,     # cotangent for x
               lambda g, x: g * x)     # cotangent for y

A rule's parameter names say what it needs, and the node saves exactly that:
``x``/``y``/... are the forward's positional inputs (by the forward's own
parameter names), ``ans`` is the output, ``x_shape``/``x_dtype`` are an
input's shape/dtype (without keeping its data alive), and any keyword-only
parameter of the forward (``dim``, ``keepdim``, ...) is passed by name.  ``g`` is
the upstream cotangent.  A rule returns the cotangent for its input, or None
for zero.

Rules are written with chainrule ops and Python operators, and ops accept raw
ndarrays too: given no Tensor at all, ``apply`` runs the forward on arrays and
returns an array.  So the engine runs a rule on ndarrays when no graph of the
derivative is wanted (as fast as hand-written NumPy), and on Tensors when
``create_graph=True`` (the same formula then records its own graph, which gives
higher derivatives).  Broadcasting ops mark ``broadcasts=True`` and the engine
sums each cotangent back to its input's shape in one place (``sum_to``).
"""

from __future__ import annotations

import inspect
from typing import Any, Callable

import numpy as np

from .._tensor import Tensor, wrap
from ..autograd._inference import inference_error
from ..autograd.grad_mode import state as _grad_state
from ..autograd.graph import _sequence, new_node_class

__all__ = ["Primitive", "PRIMITIVES", "apply", "fail", "elementwise", "saved_values", "conj_if_complex"]

PRIMITIVES: dict[str, Primitive] = {}

# kinds of saved values
_IN, _INS, _SHAPE, _SHAPES, _DTYPE, _ANS, _PARAM = range(7)
_NO_PARAMS: dict[str, Any] = {}
_next_seq = _sequence.__next__


class Rule:
    """A derivative rule and the names of the values it reads.

    ``sources`` says where each name comes from (input, output, shape, param...);
    ``slots`` indexes a VJP rule's names into the node's saved tuple.
    """

    __slots__ = ("fn", "names", "slots", "sources")

    def __init__(self, fn: Callable, names: tuple[str, ...]) -> None:
        self.fn = fn
        self.names = names
        self.slots: tuple[int, ...] = ()
        self.sources: tuple[tuple[int, Any], ...] = ()


def _rule(fn: Callable | None, skip: int = 1) -> Rule | None:
    if fn is None:
        return None
    if isinstance(fn, Rule):
        return fn
    params = list(inspect.signature(fn).parameters)[skip:]
    return Rule(fn, tuple(params))


# What an op's rules are made of: shared as they are by a variant (``Primitive.variant``).
_RULE_SLOTS = ("vjps", "vjp_all", "vjp_into", "jvps", "jvp_all", "save_names", "save_sources",
               "ans_slot", "tensor_slots", "save_needs", "frees", "extra")


class Primitive:
    """One entry of the op table: forward on arrays, VJP (and JVP) rules next to it."""

    __slots__ = (
        "name",
        "public",
        "forward",
        "inputs",
        "varargs",
        "param_defaults",
        "broadcasts",
        "view",
        "differentiable",
        "node_cls",
        *_RULE_SLOTS,
    )

    def __init__(
        self,
        name: str,
        forward: Callable,
        *,
        public: str | None = None,
        broadcasts: bool = False,
        view: bool = False,
        differentiable: bool = True,
    ) -> None:
        if name in PRIMITIVES:
            raise ValueError(f"primitive {name!r} is registered twice")
        self.name = name
        self.public = public or name.lower()
        self.forward = forward
        if isinstance(forward, np.ufunc):  # NumPy ufuncs: inputs x, y, ... and no parameters
            self.inputs = ("x", "y", "z")[: forward.nin]
            self.varargs = None
            self.param_defaults = {}
        else:
            sig = inspect.signature(forward)
            kinds = inspect.Parameter
            self.inputs = tuple(
                p.name
                for p in sig.parameters.values()
                if p.kind in (kinds.POSITIONAL_ONLY, kinds.POSITIONAL_OR_KEYWORD)
            )
            self.varargs = next(
                (p.name for p in sig.parameters.values() if p.kind is kinds.VAR_POSITIONAL), None
            )
            self.param_defaults = {
                p.name: p.default for p in sig.parameters.values() if p.kind is kinds.KEYWORD_ONLY
            }
        self.broadcasts = broadcasts
        self.view = view
        self.differentiable = differentiable
        self.vjps: tuple[Rule | None, ...] | None = None
        self.vjp_all: Rule | None = None
        self.vjp_into: Rule | None = None
        self.jvps: tuple[Rule | None, ...] | None = None
        self.jvp_all: Rule | None = None
        self.save_names: tuple[str, ...] = ()
        self.save_sources: tuple[tuple[int, Any], ...] = ()
        self.ans_slot: int | None = None
        self.tensor_slots: tuple[int, ...] = ()
        self.save_needs: tuple[int, ...] = ()  # per saved value: bit i set = input i's VJP reads it
        self.frees = False  # saves tensors/arrays, which backward releases
        self.node_cls = new_node_class(name)
        self.node_cls.op = self
        self.extra: dict[str, Any] = {}  # per-transform rules (batching, ...) keyed by name
        PRIMITIVES[name] = self

    def __repr__(self) -> str:
        return f"<Primitive {self.name}>"

    def variant(self, name: str, node_name: str | None = None) -> Primitive:
        """The same op under another name, so its nodes read as PyTorch's do (``TransposeBackward0``
        is a permute, ``SelectBackward0`` an index): forward, rules and batching rule shared."""
        v = Primitive(
            name,
            self.forward,
            public=self.public,
            broadcasts=self.broadcasts,
            view=self.view,
            differentiable=self.differentiable,
        )
        for slot in _RULE_SLOTS:
            setattr(v, slot, getattr(self, slot))
        if node_name is not None:
            v.node_cls.__name__ = v.node_cls.__qualname__ = node_name
        return v

    # ---------------------------------------------------------------- rules
    def defvjp(self, *rules: Callable | None) -> Primitive:
        """One VJP per positional input, in order; None marks an input with no gradient."""
        if len(rules) != len(self.inputs):
            raise ValueError(f"{self.name}: {len(self.inputs)} inputs but {len(rules)} VJP rules")
        self.vjps = tuple(_rule(r) for r in rules)
        self._index_saved([r for r in self.vjps if r is not None])
        needs = [0] * len(self.save_names)
        for i, r in enumerate(self.vjps):
            for k in r.slots if r is not None else ():
                needs[k] |= 1 << i
        self.save_needs = tuple(needs)
        return self

    def defvjp_into(self, rule: Callable) -> Primitive:
        """Input 0's VJP as an in-place accumulation: ``rule(acc, g, ...)`` adds the cotangent
        into the array ``acc`` (of input 0's shape).  For ops that read a part of their input
        (indexing, split, unbind): the engine then adds each piece's gradient where it belongs
        instead of materialising a mostly-zero array per piece, so T pieces cost O(T) not O(T^2).
        Used only without ``create_graph``; the ordinary VJP stays the definition."""
        r = _rule(rule, skip=2)
        assert r is not None
        r.slots = tuple(self.save_names.index(n) for n in r.names)  # names the VJP already saves
        self.vjp_into = r
        return self

    def defvjp_all(self, rule: Callable) -> Primitive:
        """One VJP returning a tuple with a cotangent for every input (for variadic ops)."""
        self.vjp_all = _rule(rule)
        self._index_saved([self.vjp_all])
        self.save_needs = (-1,) * len(self.save_names)  # one rule for all inputs: it reads everything
        return self

    def defjvp(self, *rules: Callable | None) -> Primitive:
        """One JVP per input: ``rule(t, ...)`` is input i's contribution to the output tangent."""
        self.jvps = tuple(self._sourced(_rule(r)) for r in rules)
        return self

    def defjvp_all(self, rule: Callable) -> Primitive:
        """One JVP taking every input's tangent (None for zero) as a tuple: ``rule(ts, ...)``."""
        self.jvp_all = self._sourced(_rule(rule))
        return self

    def _sourced(self, rule: Rule | None) -> Rule | None:
        if rule is not None:
            rule.sources = tuple(self._source(n) for n in rule.names)
        return rule

    def _source(self, name: str) -> tuple[int, Any]:
        if name == "ans":
            return (_ANS, None)
        if name in self.inputs:
            return (_IN, self.inputs.index(name))
        if name == self.varargs:
            return (_INS, None)
        if name in self.param_defaults:
            return (_PARAM, name)
        for suffix, kind in (("_shape", _SHAPE), ("_dtype", _DTYPE)):
            if name.endswith(suffix):
                base = name[: -len(suffix)]
                if base in self.inputs:
                    return (kind, self.inputs.index(base))
                if base == self.varargs and kind == _SHAPE:
                    return (_SHAPES, None)
        raise ValueError(f"{self.name}: a derivative rule asks for unknown value {name!r}")

    def _index_saved(self, rules: list[Rule]) -> None:
        names = list(self.save_names)
        for r in rules:
            for n in r.names:
                if n not in names:
                    names.append(n)
        self.save_names = tuple(names)
        self.save_sources = tuple(self._source(n) for n in names)
        for r in rules:
            r.slots = tuple(names.index(n) for n in r.names)
            self._sourced(r)
        kinds = [k for k, _ in self.save_sources]
        self.ans_slot = kinds.index(_ANS) if _ANS in kinds else None
        self.tensor_slots = tuple(i for i, k in enumerate(kinds) if k in (_IN, _INS))
        self.frees = bool(self.tensor_slots) or self.ans_slot is not None

    def resolve(self, rule: Rule, args: tuple, params: dict, ans: Any) -> list:
        """The values a rule's parameter names ask for, read at forward time (forward mode)."""
        return [_fetch(self, kind, key, args, params, ans) for kind, key in rule.sources]


def _fetch(op: Primitive, kind: int, key: Any, args: tuple, params: dict, ans: Any) -> Any:
    """One named value from an op call: an input, all inputs, a shape, a dtype, the output or a param."""
    if kind == _IN:
        return args[key]
    if kind == _PARAM:
        return params.get(key, op.param_defaults[key])
    if kind == _ANS:
        return ans
    if kind == _SHAPE:
        return _shape_of(args[key])
    if kind == _DTYPE:
        return _data(args[key]).dtype
    if kind == _INS:
        return tuple(args)
    return tuple(_shape_of(a) for a in args)  # _SHAPES


def elementwise(name: str, forward: Callable, deriv: Callable, **kw: Any) -> Primitive:
    """An elementwise op stated by its derivative once; VJP ``g*d`` and JVP ``t*d`` follow.

    ``deriv`` takes named values like any rule (``x``, ``ans``, params) and returns
    d(ans)/d(x) elementwise, written with chainrule ops so it is differentiable.
    """
    op = Primitive(name, forward, **kw)
    r = _rule(deriv, skip=0)
    assert r is not None
    d = r.fn
    op.defvjp(Rule(lambda g, *v: g * conj_if_complex(d(*v)), r.names))  # conj(f'(z)): PyTorch's
    return op.defjvp(Rule(lambda t, *v: t * d(*v), r.names))


def conj_if_complex(a: Any) -> Any:
    """``conj(a)`` for complex values, ``a`` itself otherwise: a holomorphic op's VJP is
    ``g * conj(f'(z))`` in PyTorch's convention, and real paths pay one type check for it."""
    t = type(a)
    if t is _ndarray:
        return np.conj(a) if a.dtype.kind == "c" else a
    if t is Tensor:
        return apply(PRIMITIVES["Conj"], (a,)) if a._data.dtype.kind == "c" else a
    if t is complex or t is np.complex128 or t is np.complex64:  # (0-d arithmetic gives NumPy scalars)
        return a.conjugate()
    return a


def _data(a: Any) -> Any:
    return a._data if isinstance(a, Tensor) else a


# ------------------------------------------------------------------ errors
def fail(message: str, cls: type[Exception] = RuntimeError) -> Exception:
    """An exception whose message already names the op (``apply`` passes it on unchanged)."""
    exc = cls(message)
    exc._chainrule = True  # type: ignore[attr-defined]
    return exc


def _describe(a: Any) -> str:
    if isinstance(a, Tensor):
        a = a._data
    if isinstance(a, np.ndarray):
        return f"{tuple(a.shape)} {a.dtype}"
    return type(a).__name__


def _translate(op: Primitive, args: tuple, exc: Exception) -> Exception:
    if getattr(exc, "_chainrule", False):
        return exc
    text = str(exc)
    arrays = [a for a in args if isinstance(a, (Tensor, np.ndarray))]
    if "could not be broadcast" in text or ("broadcast" in text and "shape" in text):
        shapes = " and ".join(str(tuple(_data(a).shape)) for a in arrays)
        msg = (
            f"{op.public}(): shapes {shapes} cannot be broadcast together (sizes must be equal "
            "or 1 in each trailing dimension); reshape one input, e.g. with .unsqueeze() or "
            ".reshape()"
        )
        return fail(msg, RuntimeError)
    inputs = ", ".join(_describe(a) for a in args)
    cls = type(exc) if isinstance(exc, (TypeError, IndexError)) else RuntimeError
    return fail(f"{op.public}(): {text} (inputs: {inputs})", cls)


# ------------------------------------------------------------------ apply
_WRAPPERS: list[Callable] = []  # see add_apply_wrapper
STRUCTURAL_HOOKS: list[Callable] = []  # see structural


def structural(a: Any) -> Any:
    """Mark ``a`` as made from shapes only (a triangle mask, a window count, a class range):
    a compiler that sees it passed to an op may keep it as a constant.  Arrays computed
    from tensor values must go through ops instead."""
    for hook in STRUCTURAL_HOOKS:
        hook(a)
    return a


def apply(op: Primitive, args: tuple, params: dict = _NO_PARAMS) -> Any:
    """Run ``op`` on ``args`` (Tensors, arrays or Python numbers).

    With at least one Tensor among ``args`` the result is a Tensor, and a Node
    is recorded when grad mode is on and an input requires grad.  With no
    Tensor the forward runs on the raw values and its array is returned.
    """
    if _WRAPPERS:  # wrappers read their inputs first: regenerate stale views before they do
        for a in args:
            if isinstance(a, Tensor) and a._base is not None and a._vfn[1] != a._vc[0]:
                refresh(a)
        return _chain[0](op, args, params)
    return _apply(op, args, params)


_new = object.__new__
_ndarray = np.ndarray
NO_GRAD_META: dict[str, Any] = {"no_grad": True}  # shared, never mutated (see Tensor._set_meta)


def _apply(op: Primitive, args: tuple, params: dict) -> Any:
    arrays = []
    tensors = rg = marked = False
    for a in args:
        if isinstance(a, Tensor):
            if a._base is not None and a._vfn[1] != a._vc[0]:
                refresh(a)  # a view whose base was written in place since its history was made
            arrays.append(a._data)
            tensors = True
            if a._rg:
                rg = True
            elif a._meta is NO_GRAD_META:
                marked = True
        else:
            arrays.append(a)
    try:
        ans = op.forward(*arrays, **params)
    except Exception as exc:  # noqa: BLE001 - re-raised with the op's context
        raise _translate(op, args, exc) from None
    if not tensors:
        return ans
    if type(ans) is not _ndarray:
        ans = np.asarray(ans)
    out = _new(Tensor)  # inlined wrap(): this is the hottest line of the library
    out._data = ans
    out._rg = False
    out._grad = None
    out.grad_fn = None
    out._vc = [0]
    out._base = None
    out._meta = None
    if op.view:
        _link_view(out, args[0], op, params)
    if rg:
        if not _grad_state.grad_enabled:
            out._meta = NO_GRAD_META  # so backward() can say why there is no graph
        elif op.differentiable and ans.dtype.kind in "fcV":  # (V: bfloat16, see dtypes.kind)
            _record(op, out, args, params, ans)
    elif marked and not _grad_state.grad_enabled:
        out._meta = NO_GRAD_META
    return out


def _link_view(out: Tensor, x: Any, op: Primitive, params: dict) -> None:
    """A real view (shared memory) joins its base: same version counter, and the chain of view
    ops that regenerates it from the base (``refresh``, in-place writes through it)."""
    if isinstance(x, Tensor) and (np.may_share_memory(out._data, x._data) or not out._data.size):
        join_view(out, x, op, params)  # (an empty result shares no memory, but is a view all the same)


def join_view(out: Tensor, x: Tensor, op: Primitive, params: dict) -> None:
    """Make ``out`` the view ``op(x)`` (also used for the logical tensors of ``vmap``)."""
    out._vc = x._vc
    step = ((op, params),)
    if x._base is None:
        out._base = x
        out._vfn = (step, x._vc[0])
    else:
        out._base = x._base
        out._vfn = (x._vfn[0] + step, x._vc[0])


def _record(op: Primitive, out: Tensor, args: tuple, params: dict, ans: np.ndarray) -> None:
    """Make ``out``'s node: edges to the inputs that require grad, and what their rules read."""
    vjps = op.vjps
    parents = []
    reduce = None
    needs = 0  # bit i: input i requires grad (PyTorch's needs_input_grad)
    i = 0
    for a in args:
        if isinstance(a, Tensor) and a._rg and (vjps is None or vjps[i] is not None):
            parents.append(a.grad_fn or a)
            needs |= 1 << i
            if op.broadcasts and a._data.shape != ans.shape:
                if reduce is None:
                    reduce = [None] * len(args)
                reduce[i] = a._data.shape  # the engine sums the cotangent back to this
        else:
            parents.append(None)
        i += 1
    node = _new(op.node_cls)
    node.parents = tuple(parents)
    node.reduce = None if reduce is None else tuple(reduce)
    if op.save_sources:
        _save(node, op, args, params, out, needs)
    else:
        node.saved = ()
        node.versions = None
    node.hooks = None
    node.seq = _next_seq()
    node.out_shape = ans.shape
    node.out_dtype = ans.dtype
    node.meta = None
    out.grad_fn = node
    out._rg = True


def refresh(view: Tensor) -> None:
    """Regenerate a view whose base was written in place since its history was made (``_views``)."""
    from ._views import refresh_view

    refresh_view(view)


def _shape_of(a: Any) -> tuple:
    if isinstance(a, Tensor):
        return a._data.shape
    if isinstance(a, (int, float, bool)):
        return ()
    return np.shape(a)


def _save(node: Any, op: Primitive, args: tuple, params: dict, out: Tensor, needs: int) -> None:
    """Keep what the rules of the inputs that require grad read (``needs``); None elsewhere.

    ``x * c`` with only ``c`` constant keeps ``c``, not ``x``: saving more would cost memory
    and make in-place writes that PyTorch accepts fail the version check."""
    saved = []
    versions = None
    for (kind, key), need in zip(op.save_sources, op.save_needs):
        if not need & needs:
            saved.append(None)
            continue
        if kind == _IN:
            v = args[key]
            if isinstance(v, Tensor):
                if type(v._vc) is not list:
                    raise inference_error("saved")
                if versions is None:
                    versions = []
                versions.append((v._vc, v._vc[0], v))
        elif kind == _PARAM:
            v = params.get(key, op.param_defaults[key])
        elif kind == _ANS:
            v = out._data
            if versions is None:
                versions = []
            versions.append((out._vc, out._vc[0], None))
        else:  # shapes, dtypes, all inputs
            v = _fetch(op, kind, key, args, params, None)
            if kind == _INS:
                if any(type(a._vc) is not list for a in args if isinstance(a, Tensor)):
                    raise inference_error("saved")
                if versions is None:
                    versions = []
                versions.extend((a._vc, a._vc[0], a) for a in args if isinstance(a, Tensor))
        saved.append(v)
    node.saved = tuple(saved)
    node.versions = None if not versions else tuple(versions)


def saved_values(node: Any, create_graph: bool) -> Any:
    """The saved values as a rule wants them: arrays, or Tensors when building a graph."""
    op = node.op
    vals = node.saved
    meta = node.meta
    if meta is not None and "unpack" in meta:
        vals = meta["unpack"](vals)
    if create_graph:
        if op.ans_slot is not None:
            vals = list(vals)
            t = wrap(vals[op.ans_slot])
            t.grad_fn = node
            t._rg = True
            if meta is not None and "ans_tx" in meta:  # the output's tangents / batch (_levels)
                t._meta = {"tx": meta["ans_tx"]}
            vals[op.ans_slot] = t
        return vals
    if not op.tensor_slots:
        return vals
    vals = list(vals)
    for i in op.tensor_slots:
        v = vals[i]
        if isinstance(v, Tensor):
            vals[i] = v._data
        elif isinstance(v, tuple):
            vals[i] = tuple(_data(a) for a in v)
    return vals


_chain: list[Callable] = [_apply]  # _apply inside every wrapper; rebuilt when the list changes


def _rebuild_chain() -> None:
    call = _apply
    for w in _WRAPPERS:
        call = _bind(w, call)
    _chain[0] = call


def _bind(wrapper: Callable, inner: Callable) -> Callable:
    return lambda op, args, params: wrapper(op, args, params, inner)


def add_apply_wrapper(wrapper: Callable) -> Callable[[], None]:
    """Route every op through ``wrapper(op, args, params, inner)``; returns a remover.

    This is how forward mode, vmap, the profiler, anomaly detection and memory
    accounting see ops without costing anything when none of them is active.
    """
    _WRAPPERS.append(wrapper)
    _rebuild_chain()

    def remove() -> None:
        for i, w in enumerate(_WRAPPERS):
            if w is wrapper:
                del _WRAPPERS[i]
                break
        _rebuild_chain()

    return remove
