"""Code generation: the optimised IR becomes the source of a plain Python function.

Each op node is one line ``vN = <Primitive>(v.., params)`` calling the primitive's own
forward (the op table's NumPy function), so no op needs compiler code; after each line,
the values no later line reads are deleted (liveness).  The source is kept:
``compiled.code``.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .._tensor import wrap
from ..random import default_generator
from .ir import Node, Ref
from .passes.fuse import Group, fuse_body

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
    """One generated function: its source, the compiled callable, and what it takes."""

    def __init__(self, name: str, source: str, namespace: dict, params: list[int]) -> None:
        self.name = name
        self.source = source
        self.params = params
        code = compile(source, f"<chainrule.compile {name}>", "exec")
        exec(code, namespace)  # noqa: S102 - our own generated source
        self.fn = namespace[name]

    def __repr__(self) -> str:
        return self.source


class _Emitter:
    def __init__(self) -> None:
        self.ns: dict[str, Any] = {
            "Mismatch": Mismatch,
            "_read": _read,
            "_assign": _assign,
            "_add": _add,
            "_print": _print,
            "_dropout_scale": _dropout_scale,
            "asarray": np.asarray,
        }
        self.by_id: dict[int, str] = {}

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
) -> Program:
    """The source of ``def name(_args)``: unpacks ``params`` from the list, runs ``body``, returns
    the groups ``returns`` (refs and constants).  ``backend="numba"`` runs each fused
    elementwise group (``passes/fuse.py``) as one compiled loop."""
    em = _Emitter()
    em.ns["xp"] = xp
    checks_at: dict[int, list] = {}
    for c in checks or ():
        checks_at.setdefault(c[0], []).append(c)
    # one list argument, unpacked and cleared: the caller keeps no reference to the inputs,
    # so the liveness ``del``s below really free them
    lines = [f"def {name}(_args):"]
    if params:
        lines.append(f"    {''.join(f'v{p.i}, ' for p in params)}= _args")
    lines.append("    _args.clear()")
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
    return Program(name, source, em.ns, [p.i for p in params])


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
