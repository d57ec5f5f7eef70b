"""The ``numba`` backend: a fused elementwise group becomes one compiled loop.

For a group reading ``x`` (the group's shape) and ``s`` (0-d) and returning two members::

    def _fused0(i0, i1, out):               # C-contiguous arrays, 0-d values as scalars
        f0 = i0.reshape(-1)
        g = out.reshape(2, -1)              # out: (outputs, *shape), one allocation
        for j in range(g.shape[1]):
            a3 = f0[j]
            t6 = (a3 * k0)                  # k0: the Python number, in the node's dtype
            t7 = np.tanh((t6 + i1))
            g[0, j] = t6
            g[1, j] = t7

(a small group that calls math functions runs op by op instead: ``OP_MAJOR``), compiled
ahead of the first call with explicit types (``float32[::1]`` ...), NumPy's error
model (division by zero gives inf/nan, as NumPy) and no fast-math, so each element is the
same IEEE operation NumPy performs (transcendental functions may differ from NumPy's SIMD
ones in the last bit).  Python numbers take the node's dtype, as NumPy's weak scalars do.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from ..ir import Node, Ref
from ..passes.fuse import SCALAR, Group

__all__ = ["require", "compile_group"]

_HELPERS: dict[str, Any] = {}


def require() -> Any:
    try:
        import numba
    except ImportError:
        raise ImportError(
            "chainrule.compile(backend='numba') needs the numba package: pip install \"chainrule[numba]\" "
            "(or use the default backend='numpy')"
        ) from None
    return numba


def _helpers(numba: Any) -> dict[str, Any]:
    """``_sigmoid_f4/_f8``: the op table's sigmoid (``ops/elementwise._sigmoid_forward``)."""
    if not _HELPERS:
        for code, t in (("f4", np.float32), ("f8", np.float64)):
            src = (
                f"def _sigmoid_{code}(x):\n"
                "    e = np.exp(-np.abs(x))\n"
                "    num = np.minimum(e + (ONE if x >= ZERO else ZERO), ONE)\n"
                "    return num / (e + ONE)\n"
            )
            ns: dict[str, Any] = {"np": np, "ONE": t(1), "ZERO": t(0)}
            exec(compile(src, f"<chainrule.compile numba sigmoid {code}>", "exec"), ns)  # noqa: S102
            _HELPERS[f"_sigmoid_{code}"] = numba.njit(inline="always")(ns[f"_sigmoid_{code}"])
    return _HELPERS


def _code(dtype: Any) -> str:
    return np.dtype(dtype).str[1:]  # "f4" / "f8"


# Groups of at most this many elements run op by op (each member's loop over all elements, then
# the next member's), so independent elements overlap in the CPU: a chain of 100 tanh on 16
# float32 values is 40 us element by element (each a dependent chain) and 12 us op by op.
# Larger groups run element by element, each value kept in a register.
OP_MAJOR = 4096


def _op_major(group: Group) -> bool:
    """Small, of one dtype, and calling a function (tanh, exp, ...): arithmetic alone is cheap
    enough that element by element wins (the tanh chain's backward: 8.7 against 12.7 us)."""
    dtypes = {np.dtype(m.dtype) for m in group.members}
    calls = any(m.prim.name in _CALLS for m in group.members)
    return calls and len(dtypes) == 1 and int(np.prod(group.shape)) <= OP_MAJOR


# the members whose scalar form calls a math function of tens of cycles' latency
_CALLS = {"Pow", "Exp", "Expm1", "Log", "Log1p", "Sin", "Cos", "Tan", "Sinh", "Cosh", "Tanh", "Sigmoid"}


def source(group: Group, known: dict[int, Node], name: str) -> tuple[str, dict[str, Any], list[bool]]:
    """The kernel's source, its globals (typed constants) and, per input, whether it is 0-d.
    A small group of one dtype (``OP_MAJOR``) keeps the members that are not outputs in a
    (members, elements) scratch array and loops over the elements once per member."""
    consts: dict[str, Any] = {}
    scalar = [tuple(known[i].shape) == () for i in group.inputs]
    ins = [f"i{k}" for k in range(len(group.inputs))]
    lines = [f"def {name}({', '.join(ins)}, out):"]  # out: (outputs, *shape), one array
    lines += [f"    f{k} = i{k}.reshape(-1)" for k in range(len(ins)) if not scalar[k]]
    lines.append(f"    g = out.reshape({len(group.outputs)}, -1)")
    local = {}
    op_major = _op_major(group)
    where = {i: f"g[{k}, j]" for k, i in enumerate(group.outputs)}  # op by op: each member's place
    if op_major:
        temps = [m.i for m in group.members if m.i not in where]
        where.update({i: f"tmp[{k}, j]" for k, i in enumerate(temps)})
        dt = np.dtype(group.members[0].dtype).name
        lines.append(f"    tmp = np.empty(({len(temps)}, g.shape[1]), np.{dt})")
        for k, i in enumerate(group.inputs):
            local[i] = f"i{k}" if scalar[k] else f"f{k}[j]"
    else:
        lines.append("    for j in range(g.shape[1]):")
        for k, i in enumerate(group.inputs):
            local[i] = f"i{k}" if scalar[k] else f"a{i}"
            if not scalar[k]:
                lines.append(f"        a{i} = f{k}[j]")
    for m in group.members:
        t = np.dtype(m.dtype).type
        code = _code(m.dtype)
        args = []
        for a in m.args:
            if isinstance(a, Ref):
                args.append(local[a.i])
            else:
                c = f"k{len(consts)}"
                consts[c] = t(a)
                args.append(c)
        consts[f"ONE_{code}"], consts[f"ZERO_{code}"] = t(1), t(0)
        expr = SCALAR[m.prim.name].format(*args)
        expr = expr.replace("ONE", f"ONE_{code}").replace("ZERO", f"ZERO_{code}")
        expr = expr.replace("_sigmoid(", f"_sigmoid_{code}(")
        if op_major:
            local[m.i] = where[m.i]
            lines += ["    for j in range(g.shape[1]):", f"        {where[m.i]} = {expr}"]
        else:
            local[m.i] = f"t{m.i}"
            lines.append(f"        t{m.i} = {expr}")
    if not op_major:
        lines += [f"        g[{k}, j] = t{i}" for k, i in enumerate(group.outputs)]
    return "\n".join(lines) + "\n", consts, scalar


_SIGMOID = """
@numba.njit(inline="always")
def _sigmoid_{code}(x):
    e = np.exp(-np.abs(x))
    num = np.minimum(e + (ONE_{code} if x >= ZERO_{code} else ZERO_{code}), ONE_{code})
    return num / (e + ONE_{code})
"""


def _module(src: str, consts: dict[str, Any], name: str) -> Any:
    """The kernel as a module in a file of the on-disk cache (``$CHAINRULE_CACHE``, else
    ``~/.cache/chainrule``), so that Numba caches its machine code across processes; None
    where that folder cannot be written (then the kernel is compiled from memory)."""
    import hashlib
    import importlib.util
    import os
    import sys

    lines = ["import numpy as np", "import numba", ""]
    for code, t in (("f4", "float32"), ("f8", "float64")):
        lines += [f"ONE_{code} = np.{t}(1)", f"ZERO_{code} = np.{t}(0)"]
    for c, v in consts.items():
        if not c.startswith(("ONE_", "ZERO_")):
            lines.append(f"{c} = np.{np.dtype(type(v)).name}(float.fromhex({float(v).hex()!r}))")
    text = "\n".join(lines) + "\n" + _SIGMOID.format(code="f4") + _SIGMOID.format(code="f8") + "\n" + src
    digest = hashlib.sha1(text.encode()).hexdigest()[:16]
    root = os.environ.get("CHAINRULE_CACHE") or os.path.join(os.path.expanduser("~"), ".cache", "chainrule")
    folder = os.path.join(root, "numba")
    path = os.path.join(folder, f"k_{digest}.py")
    try:
        os.makedirs(folder, exist_ok=True)
        if not os.path.exists(path):
            tmp = f"{path}.{os.getpid()}.tmp"
            with open(tmp, "w") as f:
                f.write(text)
            os.replace(tmp, path)  # whole files only, even with several processes at once
        modname = f"chainrule_numba_k_{digest}"
        if modname in sys.modules:
            return sys.modules[modname]
        spec = importlib.util.spec_from_file_location(modname, path)
        mod = importlib.util.module_from_spec(spec)
        sys.modules[modname] = mod  # Numba's cache imports it by name when it loads a kernel
        spec.loader.exec_module(mod)
    except OSError:
        return None
    return mod


def compile_group(group: Group, known: dict[int, Node], name: str) -> tuple[Callable, str]:
    """A Python callable ``f(*inputs) -> outputs`` (the block whose planes they are, or a list)
    running the group's compiled loop,
    and the loop's source (shown in ``compiled.code``).  The machine code is cached on disk:
    the same loop in a later process loads instead of compiling."""
    numba = require()
    src, consts, scalar = source(group, known, name)
    mod = _module(src, consts, name)
    if mod is not None:
        fn, cache = getattr(mod, name), True
    else:
        ns: dict[str, Any] = {"np": np, **consts, **_helpers(numba)}
        exec(compile(src, f"<chainrule.compile numba {name}>", "exec"), ns)  # noqa: S102 - generated
        fn, cache = ns[name], False
    shape = group.shape
    elem = {np.dtype(np.float32): numba.float32, np.dtype(np.float64): numba.float64}
    in_dtypes = [np.dtype(known[i].dtype) for i in group.inputs]
    out_dtype = np.result_type(*[known[i].dtype for i in group.outputs])
    types = [elem[d] if s else numba.types.Array(elem[d], len(shape), "C") for d, s in zip(in_dtypes, scalar)]
    types.append(numba.types.Array(elem[np.dtype(out_dtype)], len(shape) + 1, "C"))
    kernel = numba.njit(numba.void(*types), error_model="numpy", fastmath=False, cache=cache)(fn)
    out_shape = (len(group.outputs), *shape)
    # per output, the dtype a float32 member of a float64 block is narrowed to (else None)
    casts = [
        np.dtype(known[i].dtype) if np.dtype(known[i].dtype) != out_dtype else None for i in group.outputs
    ]
    narrows = any(c is not None for c in casts)

    convert: list[int] = []  # inputs seen to need converting (a 0-d array, a broadcast view)

    def fix(v: Any, k: int) -> Any:
        d = in_dtypes[k]
        if scalar[k]:
            return d.type(v)
        ok = type(v) is np.ndarray and v.dtype == d and v.flags.c_contiguous and v.flags.writeable
        return v if ok else np.array(v, dtype=d, order="C")

    def run(*values: Any) -> list:
        out = np.empty(out_shape, out_dtype)  # one allocation; the outputs are its planes
        if convert:
            values = list(values)
            for k in convert:
                values[k] = fix(values[k], k)
        try:
            kernel(*values, out)  # C-contiguous writable arrays and NumPy scalars, as traced
        except TypeError:  # learn which inputs need converting, then call again
            args = [fix(v, k) for k, v in enumerate(values)]
            convert[:] = [k for k, (a, v) in enumerate(zip(args, values)) if a is not v]
            kernel(*args, out)
        if not narrows:
            return out  # its planes, unpacked by the generated line
        # a float32 member of a group that also returns float64 values
        return [p if c is None else p.astype(c) for p, c in zip(out, casts)]

    return run, src
