"""Code generation: the optimised IR becomes the source of a plain Python function.

Each op node is one line ``vN = <Primitive>(v.., params)`` calling the primitive's own
forward (the op table's NumPy function), so no op needs compiler code; after each line,
the values no later line reads are deleted (liveness).  The source is kept:
``compiled.code``.

With the NumPy backend, memory planning (``passes/memory.py``) gives the nodes whose result
NumPy can write into a given array (``forms.OUT_FORMS``: ufuncs, ``matmul``, reductions,
``where``, casts, ``linear``) a buffer of the program's pool, and their line writes into it
(``out=bN``) instead of allocating.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .._tensor import wrap
from ..ops._core import PRIMITIVES
from ..random import default_generator
from .forms import _BITS, _COPY, _GUFUNC, _MATMUL, _UFUNC, _WHERE_ZERO, OUT_FORMS, _Form, _where_zero, _zero
from .ir import CONST, Node, Ref
from .passes.fuse import Group, fuse_body
from .passes.memory import Plan, Pool, plan

__all__ = ["Program", "generate"]


class Mismatch(Exception):
    """A checked value (graph break) differs from the traced one: this code does not apply."""


def _literal(v: Any) -> bool:
    if v is None or type(v) in (bool, int, str):  # exact types: a subclass's repr may not
        return True  # evaluate in the generated module (chainrule.Size, an IntEnum)
    if type(v) is float:
        return math.isfinite(v)
    if type(v) is tuple:
        return all(_literal(x) for x in v)
    return False


def _read(v: Any, how: str, args: tuple) -> Any:
    from ._patches import _ORIG

    return _ORIG[how](wrap(np.asarray(v)), *args)


def _dropout_scale(xp: Any, shape: tuple, p: float, dtype: Any) -> Any:
    keep = default_generator._rng.random(shape) >= p  # the stream eager dropout draws from
    return (keep / (1.0 - p)).astype(dtype)


def _assign(target: Any, value: Any) -> None:
    target._data[...] = value
    target._vc[0] += 1


def _add(target: Any, value: Any) -> None:
    target._data += value
    target._vc[0] += 1


def _print(*args: Any, **kw: Any) -> None:
    print(*[wrap(np.asarray(a)) if isinstance(a, (np.ndarray, np.generic)) else a for a in args], **kw)


def _last_uses(body: list[Node], returns: list, checks: Any, effects: Any) -> dict[int, list[int]]:
    """For each body node, the values whose last reader it is (returned, checked and effect
    values live to the end)."""
    keep = {a.i for g in returns for a in g if isinstance(a, Ref)}
    keep |= {c[0] for c in checks}
    keep |= {a.i for e in effects for a in e[2] if isinstance(a, Ref)}
    last: dict[int, int] = {}
    for n in body:
        for r in n.refs():
            last[r] = n.i
        last.setdefault(n.i, n.i)  # a value nobody reads dies where it is made
    out: dict[int, list[int]] = {}
    for v, at in last.items():
        if v not in keep:
            out.setdefault(at, []).append(v)
    return out


class Program:
    """One generated function: its source, the compiled callable, and what it takes.

    A planned program (``plan`` set) takes its pool's buffers as a second argument: call it
    through ``run``, which also checks that the inputs are laid out as traced (``c_params``)
    and runs the unplanned variant, which allocates as eager does, where they are not or
    where the pool is busy (another thread, a re-entrant call)."""

    def __init__(
        self,
        name: str,
        source: str,
        namespace: dict,
        params: list[int],
        plan: Plan | None = None,
        c_params: tuple = (),
        plain: Any = None,
    ) -> None:
        self.name = name
        self.source = source
        self.params = params
        code = compile(source, f"<chainrule.compile {name}>", "exec")
        exec(code, namespace)  # noqa: S102 - our own generated source
        self.fn = namespace[name]
        self.plan = plan
        self.pool = Pool(plan.slots) if plan is not None else None
        self.c_params = c_params  # positions of inputs a planned line's layout depends on
        self._plain = plain  # makes the unplanned variant (on first need)

    def run(self, args: list, owners: dict | None = None) -> Any:
        pool = self.pool
        if pool is None:
            return self.fn(args)
        for k in self.c_params:
            if not args[k].flags.c_contiguous:
                return self.plain(args)
        if not pool.lock.acquire(blocking=False):
            return self.plain(args)
        try:
            return self.fn(args, pool.ready(owners))
        except BaseException:
            for k in pool.reused:  # that leaf's old .grad was half overwritten: gone, as after
                owners[k]._grad = None  # the zero_grad() that let this call store a new one
            raise
        finally:
            pool.lock.release()

    def plain(self, args: list) -> Any:
        if not isinstance(self._plain, Program):
            self._plain = self._plain()
        return self._plain.fn(args)

    def __repr__(self) -> str:
        return self.source


class _Emitter:
    def __init__(self) -> None:
        self.ns: dict[str, Any] = {
            # NumPy's floating-point warnings from the generated lines are chainrule's own, as
            # the op table's are in eager mode: silenced by the package's filter (NaN/inf
            # propagate quietly, as in PyTorch)
            "__name__": "chainrule.compile.generated",
            "Mismatch": Mismatch,
            "_read": _read,
            "_assign": _assign,
            "_add": _add,
            "_print": _print,
            "_dropout_scale": _dropout_scale,
            "_where_zero": _where_zero,
            "asarray": np.asarray,
        }
        self.by_id: dict[int, str] = {}
        self.zeros: dict[tuple, np.ndarray] = {}  # (shape, dtype) -> a read-only constant

    def const(self, v: Any, hint: str = "k") -> str:
        if _literal(v):
            return repr(v)
        key = id(v)
        if key not in self.by_id:
            name = f"{hint}{len(self.by_id)}"
            self.by_id[key] = name
            self.ns[name] = v
        return self.by_id[key]

    def arg(self, a: Any) -> str:
        return f"v{a.i}" if isinstance(a, Ref) else self.const(a)

    def param(self, v: Any) -> str:
        """A parameter: a constant, or (an index array passed as an edge) a value of the program."""
        if isinstance(v, tuple) and any(isinstance(a, Ref) for a in v):
            return "(" + "".join(f"{self.arg(a)}, " for a in v) + ")"
        return self.arg(v)

    def call(self, n: Node) -> str:
        name = n.prim.name
        self.ns.setdefault(name, n.prim.forward)
        parts = [self.arg(a) for a in n.args]
        parts += [f"{k}={self.param(v)}" for k, v in n.params.items()]
        expr = f"{name}({', '.join(parts)})"
        return expr  # 0-d results may be NumPy scalars inside the program; returns are wrapped


def generate(
    name: str,
    params: list[Node],
    body: list[Node],
    returns: list[list],
    checks: list | None = None,
    effects: list | None = None,
    xp: Any = np,
    backend: str = "numpy",
    memory: bool = True,
) -> Program:
    """The source of ``def name(_args)``: unpacks ``params`` from the list, runs ``body``, returns
    the groups ``returns`` (refs and constants).  ``backend="numba"`` runs each fused
    elementwise group (``passes/fuse.py``) as one compiled loop; with ``"numpy"`` and
    ``memory``, planned nodes write into the pool's buffers (``def name(_args, _bufs)``)."""
    pl, forms, c_params = None, {}, ()
    if backend == "numpy" and memory:
        pl, forms, c_params = _plan(params, body, returns, checks or (), effects or ())
    em = _Emitter()
    em.ns["xp"] = xp
    checks_at: dict[int, list] = {}
    for c in checks or ():
        checks_at.setdefault(c[0], []).append(c)
    # one list argument, unpacked and cleared: the caller keeps no reference to the inputs,
    # so the liveness ``del``s below really free them
    lines = [f"def {name}(_args{', _bufs' if pl else ''}):"]
    if params:
        lines.append(f"    {''.join(f'v{p.i}, ' for p in params)}= _args")
    lines.append("    _args.clear()")
    if pl:
        lines.append(f"    {''.join(f'b{k}, ' for k in range(len(pl.slots)))}= _bufs")
    done = {p.i for p in params}
    for p in params:
        for node, (how, args), value, line in checks_at.get(p.i, ()):
            lines.append(f"    if _read(v{node}, {how!r}, {em.const(args)}) != {em.const(value)}:  # {line}")
            lines.append("        raise Mismatch")
    last = _last_uses(body, returns, checks or (), effects or ())
    items: list[Any] = list(body)
    kernels: list[str] = []
    if backend == "numba":
        items = _fused(em, params, body, returns, checks or (), effects or (), kernels, name)
    for n in items:
        if isinstance(n, Group):
            outs = "".join(f"v{i}, " for i in n.outputs)
            lines.append(f"    {outs}= {n.name}({', '.join(f'v{i}' for i in n.inputs)})")
            ids = {m.i for m in n.members}
            made = set(n.outputs)
            for m in n.members:
                for node, (how, args), value, line in checks_at.get(m.i, ()):
                    lines.append(
                        f"    if _read(v{node}, {how!r}, {em.const(args)}) != {em.const(value)}:  # {line}"
                    )
                    lines.append("        raise Mismatch")
            dead = [i for m in n.members for i in last.get(m.i, ()) if i not in ids or i in made]
            if dead:
                lines.append(f"    del {', '.join(f'v{i}' for i in dead)}")
            continue
        if n.kind == "random":
            lines.append(
                f"    v{n.i} = _dropout_scale(xp, {n.shape!r}, {n.extra!r}, {em.const(n.dtype, 'dt')})"
            )
        elif pl and n.i in pl.buffer:
            out = f"b{pl.buffer[n.i]}"
            code = forms[n.i].lines(em, n, out, n.i in pl.inplace)
            notes = [] if f"{n.prim.name}(" in code[0] else [n.prim.name]  # the IR's op, for readers
            notes += [f"in place of v{pl.inplace[n.i]}"] if n.i in pl.inplace else []
            note = f"  # {', '.join(notes)}" if notes else ""
            lines += [f"    {code[0]}{note}"] + [f"    {c}" for c in code[1:]]
        else:
            lines.append(f"    v{n.i} = {em.call(n)}")
        done.add(n.i)
        for node, (how, args), value, line in checks_at.get(n.i, ()):
            lines.append(
                f"    if _read(v{node}, {how!r}, {em.const(args)}) != {em.const(value)}:"
                f"  # graph break: {line}"
            )
            lines.append("        raise Mismatch")
        dead = last.get(n.i)
        if dead:  # liveness: release what no later line reads (saved activations included)
            lines.append(f"    del {', '.join(f'v{i}' for i in dead)}")
    for kind, target, args in effects or ():
        if kind == "print":
            kw = "".join(f", {k}={em.const(v)}" for k, v in target.items())
            lines.append(f"    _print({', '.join(em.arg(a) for a in args)}{kw})")
        else:
            fn = "_assign" if kind == "assign" else "_add"
            lines.append(f"    {fn}({em.const(target, 'buf')}, {em.arg(args[0])})")
    groups = ", ".join("(" + "".join(f"{em.arg(a)}, " for a in g) + ")" for g in returns)
    lines.append(f"    return {groups},")
    source = "\n".join(lines) + "\n"
    for k in kernels:  # shown with the program, run as compiled loops
        source += "\n" + "".join(f"# {line}\n" for line in k.splitlines())
    if not pl:
        return Program(name, source, em.ns, [p.i for p in params])
    spec = (name, list(params), list(body), [list(g) for g in returns], checks, effects, xp, backend)
    return Program(
        name, source, em.ns, [p.i for p in params], pl, c_params, lambda: generate(*spec, memory=False)
    )


def _fused(
    em: _Emitter,
    params: list,
    body: list,
    returns: list,
    checks: Any,
    effects: Any,
    kernels: list,
    program: str,
) -> list:
    """``body`` with its elementwise chains as compiled groups (a group the backend cannot
    compile stays as its nodes)."""
    from .backends.numba import compile_group

    keep = {a.i for g in returns for a in g if isinstance(a, Ref)}
    keep |= {c[0] for c in checks}
    keep |= {a.i for e in effects for a in e[2] if isinstance(a, Ref)}
    known = {n.i: n for n in (*params, *body)}
    out: list[Any] = []
    for item in fuse_body(body, known, keep):
        if not isinstance(item, Group):
            out.append(item)
            continue
        item.name = f"_{program}_fused{len(kernels)}"
        try:
            fn, src = compile_group(item, known, item.name)
        except ImportError:
            raise
        except Exception:  # noqa: BLE001 - a typing corner the loop does not cover: run the ops
            out.extend(item.members)
            continue
        em.ns[item.name] = fn
        kernels.append(src)
        out.append(item)
    return out


# Arrays under 1 KiB come from NumPy's own cache of small blocks: planning them would only
# add the cost of ``out=`` to each call (the overhead chain of tiny ops is 4 % slower).
MIN_BYTES = 1024


def out_form(n: Node, known: dict[int, Node]) -> _Form | None:
    """How ``n``'s line can write into a given buffer, or None (it allocates as it always did)."""
    if n.kind != "op" or not n.shape or n.c_order is not True:
        return None
    dt = np.dtype(n.dtype)
    if dt.kind not in "biufc" or math.prod(n.shape) * dt.itemsize < MIN_BYTES:
        return None
    if n.prim is CONST:
        return _COPY
    name = getattr(n.prim, "name", None)
    if PRIMITIVES.get(name) is not n.prim:
        return None
    fwd = n.prim.forward
    if isinstance(fwd, np.ufunc):
        if fwd.nout != 1 or n.params:
            return None
        return _UFUNC if fwd.signature is None else _GUFUNC
    form = OUT_FORMS.get(name)
    if form is None:
        return None
    arg_dtypes = [np.dtype(known[a.i].dtype) if isinstance(a, Ref) else None for a in n.args]
    if name == "Clamp" and n.params.get("min") is None and n.params.get("max") is None:
        return None  # the forward returns its input
    if name == "Where":
        if arg_dtypes[0] != np.bool_:
            return None
        cond, x, y = n.args
        g = x if _zero(y) else y if _zero(x) else None
        if (
            isinstance(g, Ref)
            and tuple(known[g.i].shape) == tuple(n.shape)
            and np.dtype(known[g.i].dtype) == dt
            and dt.kind == "f"
            and dt.itemsize in _BITS
        ):
            return _WHERE_ZERO
    if name == "To" and (arg_dtypes[0] is None or arg_dtypes[0].kind == "c"):
        return None  # complex -> real keeps the real part first
    if name == "Sum":
        x = arg_dtypes[0]
        # one layout for a result with one axis: the reduction runs in the forward's order
        if x is None or x.kind != "f" or x != dt or sum(d > 1 for d in n.shape) > 1:
            return None
    if name in ("Linear", "LinearNoBias") and any(not isinstance(a, Ref) for a in n.args[:2]):
        return None
    if form is _MATMUL and any(d != dt for d in arg_dtypes):
        return None
    return form


# primitives whose result is always a new array (never a view of an input), besides the ufuncs
# and the ones above: their results do not keep the buffers they read in use
_FRESH = {
    "NllLoss",
    "Softmax",
    "LogSoftmax",
    "Convolution",
    "ConvolutionInputGrad",
    "ConvolutionWeightGrad",
    "Gather",
    "ScatterAdd",
}


def _fresh(n: Node) -> bool:
    if n.kind == "random" or n.prim is CONST:
        return True
    if n.kind != "op":
        return False
    name = getattr(n.prim, "name", None)
    if PRIMITIVES.get(name) is not n.prim:
        return False
    if isinstance(n.prim.forward, np.ufunc):
        return True
    if name == "Clamp":
        return n.params.get("min") is not None or n.params.get("max") is not None
    return name in OUT_FORMS or name in _FRESH


def _plan(params: list, body: list, returns: list, checks: Any, effects: Any) -> tuple:
    """The memory plan of a body, the forms of its planned nodes, and the positions of the
    inputs whose layout planned lines depend on (checked on every call: see ``Program.run``)."""
    known = {n.i: n for n in (*params, *body)}
    forms = {n.i: f for n in body if (f := out_form(n, known)) is not None}
    # a result that follows its inputs' layout is C-ordered (as its buffer) only while the
    # inputs it depends on are laid out as when traced: C-ordered inputs are checked per call
    deps: dict[int, set] = {p.i: ({p.i} if len(p.shape) >= 2 else set()) for p in params}
    needed: set[int] = set()
    for n in body:
        d: set = set().union(*(deps.get(r, ()) for r in n.refs()))
        form = forms.get(n.i)
        if form is not None and form.follows:
            if all(known[q].c_order for q in d):
                needed |= d
            else:
                del forms[n.i]
        deps[n.i] = set() if n.i in forms else d
    keep = {c[0] for c in checks} | {a.i for e in effects for a in e[2] if isinstance(a, Ref)}
    pl = plan(body, returns, keep, lambda n: forms[n.i].kind if n.i in forms else None, _fresh)
    if not pl.slots:
        return None, {}, ()
    c_params = tuple(k for k, p in enumerate(params) if p.i in needed)
    return pl, forms, c_params
