"""Random programs: Hypothesis builds them, chainrule and PyTorch run them, finite differences judge.

A program is a random DAG of 1-30 ops over 1-3 float64 leaves whose shapes
broadcast to a common base shape (0-d and empty shapes included).  Each op
reads earlier values (intermediates are reused), and may run under
``no_grad``, act on a ``detach``-ed value, or modify a value in place (a clone,
an intermediate that earlier ops read, a view or a view of a view; ``y[0] = y[0] * 3``
reads what it writes), and a value may feed two branches that meet again.  The op
vocabulary comes from ``ops_table``: every single-input elementwise case and
every two-input broadcasting case is used as written there (``U[...]``,
``B[...]``), plus reductions, shape and index ops, matmul and losses named
after their table entries.  The program is Python source, run once with
``T = chainrule`` and once with ``T = torch``:

* every value must match PyTorch (shape, dtype, values, NaN positions), and
  so must every leaf's gradient of a random weighted sum of the results, and
  ``requires_grad`` (except downstream of views taken under ``no_grad``);
* for programs made only of smooth ops, with finite values, the gradient must
  also match central finite differences along random directions;
* a program PyTorch refuses must be refused by chainrule too, for the same
  reason (class and message facts).  Where one side refuses an in-place change
  of a value saved for backward and the other does not, the two libraries saved
  different values (both correct); that is counted, not failed.

A program counts as compared with PyTorch when its values and gradients were
compared, or when both libraries refused it for the same reason: the same
exception class and the facts of PyTorch's message (tests/refusals.py).

``pytest tests/test_fuzz.py`` runs a bounded, derandomized sample;
``python tests/fuzz.py --programs N`` runs N fresh programs (``--minutes N``:
for N minutes) and prints the counts and the mismatches' sources (exit 1 if
any).  A failure prints the program's source: paste it into a test.
"""

from __future__ import annotations

import argparse
import collections
import os
import re
import sys
import time
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from hypothesis import HealthCheck, given, note, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from ops_table import CASES, A, D, F  # noqa: E402
from reference import torch  # noqa: E402
from refusals import same_refusal  # noqa: E402

import chainrule as cr  # noqa: E402

# ------------------------------------------------------------------ vocabulary
UNARY_OPS = {
    "add", "sub", "mul", "div", "neg", "pow", "square", "exp", "expm1", "exp2", "log", "log1p",
    "log2", "log10", "sqrt", "rsqrt", "reciprocal", "sin", "cos", "tan", "sinh", "cosh", "tanh",
    "asin", "acos", "atan", "erf", "abs", "sign", "floor", "ceil", "round", "trunc", "frac",
    "sigmoid", "relu", "leaky_relu", "gelu", "softplus", "silu", "elu", "logsigmoid", "hardtanh",
    "clamp", "remainder",
}
BINARY_OPS = {"add", "sub", "mul", "div", "pow", "maximum", "minimum", "max"}
GROWTH = {"exp", "expm1", "exp2", "sinh", "cosh", "pow", "square", "tan"}  # may overflow
NONSMOOTH = {  # derivative jumps somewhere: checked against PyTorch only, not finite differences
    "abs", "sign", "floor", "ceil", "round", "trunc", "frac", "relu", "leaky_relu", "hardtanh",
    "clamp", "remainder", "maximum", "minimum", "max", "amax", "amin", "where", "masked_fill",
    "clamp_", "norm", "elu",
}


def _float_args(case: Any) -> bool:
    return all(type(s) in (A, D) and s.grad for s in case.args)


U = {c.id: c.fn for c in CASES if c.op in UNARY_OPS and len(c.args) == 1 and _float_args(c)
     and c.torch}
B = {c.id: c.fn for c in CASES if c.op in BINARY_OPS and len(c.args) == 2 and _float_args(c)
     and c.torch}
_SPEC = {c.id: c for c in CASES}
TABLE_OPS = {c.op for c in CASES}
REDUCE = {  # table op name -> source template (keepdim=True keeps shapes broadcastable)
    "sum": "{x}.sum({d}, keepdim=True)", "mean": "{x}.mean({d}, keepdim=True)",
    "prod": "{x}.prod({d}, keepdim=True)", "amax": "T.amax({x}, {d}, keepdim=True)",
    "amin": "T.amin({x}, {d}, keepdim=True)", "max": "{x}.max({d}, keepdim=True)[0]",
    "logsumexp": "T.logsumexp({x}, {d}, keepdim=True)", "var": "{x}.var({d}, keepdim=True)",
    "std": "{x}.std({d}, keepdim=True)", "norm": "T.norm({x}, dim={d}, keepdim=True)",
}
FULL = {  # the same ops over all elements
    "sum": "{x}.sum()", "mean": "{x}.mean()", "prod": "{x}.prod()", "amax": "T.amax({x})",
    "amin": "T.amin({x})", "max": "T.max({x})", "logsumexp": "T.logsumexp({x}.reshape(-1), 0)",
    "var": "{x}.var()", "std": "{x}.std()", "norm": "T.norm({x})",
}
SAME_SHAPE = {  # table op -> template on one value along dim d (shape unchanged)
    "softmax": "T.softmax({x}, {d})", "log_softmax": "T.log_softmax({x}, {d})",
    "cumsum": "{x}.cumsum({d})", "cumprod": "T.cumprod({x}, {d})",
    "flip": "T.flip({x}, [{d}])", "roll": "T.roll({x}, 1, {d})",
}


def _shape_str(s: tuple) -> str:
    return "(" + "".join(f"{d}, " for d in s).rstrip(" ") + ")"


# ------------------------------------------------------------------ programs
@dataclass(repr=False)
class Program:
    source: str
    consts: dict
    leaves: list  # names of the C entries that become leaves requiring grad
    smooth: bool  # finite differences apply (no kinks, nothing aliased through detach)
    ops: list = field(default_factory=list)  # the op that made each value
    no_grad_views: bool = False  # some value is a view taken under no_grad (see check())
    record_source: str = ""  # also snapshots values made under no_grad / by detach
    frozen_source: str = ""  # uses those snapshots instead (finite differences hold them fixed)

    def __repr__(self) -> str:
        return self.source


class _Builder:
    """Emits one line of source per value (plus in-place lines); tracks, per value, its shape,
    whether it is fresh (may be modified in place), whether it is a leaf, and its op."""

    def __init__(self, draw: Any, base: tuple) -> None:
        self.draw = draw
        self.base = base
        self.lines: list[str] = []
        self.shapes: list[tuple] = []
        self.fresh: list[bool] = []
        self.leaf: list[bool] = []
        self.consts: dict = {}
        self.rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
        self.smooth = True
        self.ops: list[str] = []
        self.viewed: set[int] = set()  # values that some later value is a view of
        self.of_leaf: list[bool] = []  # a leaf or a view of one (PyTorch refuses writing into it)
        self.no_grad_views = False

    def const(self, prefix: str, value: np.ndarray) -> str:
        name = f"{prefix}{len(self.consts)}"
        self.consts[name] = value
        return name

    def new(self, expr: str, shape: tuple, op: str, fresh: bool = True, no_grad: bool = False,
            view_of: int | None = None, leaf: bool = False) -> int:
        if view_of is not None:
            self.viewed.add(view_of)
            self.no_grad_views |= no_grad
        i = len(self.shapes)
        line = f"v{i} = {expr}"
        frozen = no_grad or op == "detach"
        self.lines.append((f"with T.no_grad(): {line}" if no_grad else line, i if frozen else None))
        self.shapes.append(tuple(shape))
        self.fresh.append(fresh)
        self.leaf.append(leaf)
        self.of_leaf.append(leaf or (view_of is not None and self.of_leaf[view_of]))
        self.ops.append(op)
        if op in NONSMOOTH or op.split("-")[0] in NONSMOOTH:
            self.smooth = False
        return i

    def pick(self, ok: Any = None) -> int | None:
        idx = [i for i in range(len(self.shapes)) if ok is None or ok(i)]
        return self.draw(st.sampled_from(idx)) if idx else None

    def adapt(self, i: int, spec: Any, op: str) -> str:
        """The value as the case's input: squashed into its test range when the op has a
        restricted domain (log, sqrt, asin, ...) or may overflow (exp, pow, ...)."""
        lo, hi = spec.low, spec.high
        if (lo, hi) != (-1.0, 1.0) or (op in GROWTH and self.draw(st.booleans())):
            return f"({lo!r} + {hi - lo!r} * T.sigmoid(v{i}))"
        return f"v{i}"


def _broadcastable(*shapes: tuple) -> bool:
    try:
        np.broadcast_shapes(*shapes)
        return True
    except ValueError:
        return False


def _suffix_compatible(s: tuple, base: tuple) -> bool:
    try:
        return np.broadcast_shapes(s, base) == base
    except ValueError:
        return False


@st.composite
def programs(draw: Any, max_ops: int = 30) -> Program:
    """A random program over leaves broadcastable to a random base shape."""
    base = tuple(draw(st.lists(st.sampled_from((0, 1, 2, 3, 2, 3, 4)), max_size=3)))
    b = _Builder(draw, base)
    for _ in range(draw(st.integers(1, 3))):
        keep = draw(st.integers(0, len(base)))
        shape = tuple(d if draw(st.booleans()) else 1 for d in base[len(base) - keep:])
        name = b.const("x", b.rng.uniform(-1.5, 1.5, shape))
        b.new(f"L[{name!r}]", shape, "leaf", fresh=False, leaf=True)
    for _ in range(draw(st.integers(1, max_ops))):
        _step(b, draw)
    head = "def program(T, F, U, B, C, L, S):\n"
    ret = "    return [" + ", ".join(f"v{i}" for i in range(len(b.shapes))) + "]\n"
    clean = "".join(f"    {ln}\n" for ln, _ in b.lines)
    record = "".join(f"    {ln}\n" + (f"    S[{k}] = v{k}.detach().numpy().copy()\n"
                                         if k is not None else "") for ln, k in b.lines)
    frozen = "".join(f"    v{k} = T.tensor(S[{k}])\n" if k is not None else f"    {ln}\n"
                     for ln, k in b.lines)
    leaves = [k for k in b.consts if k.startswith("x")]  # the inputs and matmul weights
    return Program(head + clean + ret, b.consts, leaves, b.smooth, b.ops, b.no_grad_views,
                   head + record + ret, head + frozen + ret)


KINDS = ["unary"] * 8 + ["binary"] * 6 + ["reduce"] * 2 + ["same"] * 2 + ["shape"] * 2 + \
    ["index"] * 2 + ["matmul", "where", "detach", "loss", "branches"] + ["inplace"] * 3 + ["view"] * 2


def _step(b: _Builder, draw: Any) -> None:
    kind = draw(st.sampled_from(KINDS))
    ng = draw(st.integers(0, 9)) == 0  # one op in ten runs under no_grad
    x = b.pick()
    sx = b.shapes[x]
    nd = len(sx)
    d = draw(st.integers(-nd, nd - 1)) if nd else None
    if kind == "unary":
        key = draw(st.sampled_from(sorted(U)))
        case = _SPEC[key]
        b.new(f"U[{key!r}](T, {b.adapt(x, case.args[0], case.op)})", sx, key, no_grad=ng)
    elif kind == "binary":
        key = draw(st.sampled_from(sorted(B)))
        case = _SPEC[key]
        y = b.pick(lambda i: _broadcastable(sx, b.shapes[i]))
        out = np.broadcast_shapes(sx, b.shapes[y])
        b.new(f"B[{key!r}](T, {b.adapt(x, case.args[0], case.op)}, "
              f"{b.adapt(y, case.args[1], case.op)})", out, key, no_grad=ng)
    elif kind == "reduce":
        op = draw(st.sampled_from(sorted(REDUCE)))
        arg = f"v{x}"
        if op == "std":  # std has a cusp where all values are equal (e.g. broadcast copies):
            # there the gradient is rounding noise in both libraries; spread the values apart
            arg = f"(v{x} + T.tensor(C[{b.const('n', b.rng.uniform(-0.5, 0.5, sx))!r}]))"
        if d is None or draw(st.integers(0, 3)) == 0:  # a full reduction: a 0-d result
            b.new(FULL[op].format(x=arg), (), op, no_grad=ng)
        else:
            out = tuple(1 if i == d % nd else s for i, s in enumerate(sx))
            b.new(REDUCE[op].format(x=arg, d=d), out, op, no_grad=ng)
    elif kind == "same" and d is not None:
        op = draw(st.sampled_from(sorted(SAME_SHAPE)))
        b.new(SAME_SHAPE[op].format(x=f"v{x}", d=d), sx, op, no_grad=ng)
    elif kind == "shape":
        _shape_op(b, draw, x, sx, d, ng)
    elif kind == "index" and d is not None:
        n = sx[d]
        which = draw(st.sampled_from(["index_select", "gather", "getitem", "masked_fill"]))
        if which == "index_select":
            p = b.const("p", b.rng.permutation(n).astype(np.int64))
            b.new(f"v{x}.index_select({d}, T.tensor(C[{p!r}]))", sx, which, no_grad=ng)
        elif which == "gather":
            g = b.const("g", b.rng.integers(0, max(n, 1), sx).astype(np.int64))
            if n == 0 and 0 not in sx:
                return
            b.new(f"T.gather(v{x}, {d}, T.tensor(C[{g!r}]))", sx, which, no_grad=ng)
        elif which == "getitem":
            p = b.const("p", b.rng.permutation(sx[0]).astype(np.int64))
            b.new(f"v{x}[T.tensor(C[{p!r}])]", sx, which, no_grad=ng)
        else:
            b.new(f"v{x}.masked_fill(v{x} > 0.5, -0.25)", sx, which, no_grad=ng)
    elif kind == "matmul" and nd:
        k = sx[-1]
        w = b.const("x", b.rng.uniform(-1, 1, (k, k)) / max(k, 1))  # a new parameter
        wi = b.new(f"L[{w!r}]", (k, k), "leaf", fresh=False, leaf=True)
        expr = draw(st.sampled_from(["v{x} @ v{w}", "T.einsum('...i,ij->...j', v{x}, v{w})"]))
        b.new(expr.format(x=x, w=wi), sx, "matmul", no_grad=ng)
    elif kind == "where":
        y = b.pick(lambda i: _broadcastable(sx, b.shapes[i]))
        z = b.pick(lambda i: _broadcastable(sx, b.shapes[y], b.shapes[i]))
        out = np.broadcast_shapes(sx, b.shapes[y], b.shapes[z])
        b.new(f"T.where(v{x} > 0, v{y}, v{z})", out, "where", no_grad=ng)
    elif kind == "detach":
        b.new(f"v{x}.detach()", sx, "detach")
    elif kind == "loss" and nd == 2 and sx[0] and sx[1]:
        t = b.const("t", b.rng.integers(0, sx[1], sx[0]).astype(np.int64))
        b.new(f"F.cross_entropy(v{x}, T.tensor(C[{t!r}]))", (), "cross_entropy", no_grad=ng)
    elif kind == "branches":  # one value read by two branches that meet again
        k1, k2 = draw(st.sampled_from(sorted(U))), draw(st.sampled_from(sorted(U)))
        a1, a2 = (b.adapt(x, _SPEC[k].args[0], _SPEC[k].op) for k in (k1, k2))
        b.new(f"U[{k1!r}](T, {a1}) * U[{k2!r}](T, {a2})", sx, f"{k1}+{k2}", no_grad=ng)
        if k1.split("-")[0] in NONSMOOTH or k2.split("-")[0] in NONSMOOTH:
            b.smooth = False
    elif kind == "view":
        _view(b, draw, x, sx, d)
    elif kind == "inplace":
        _inplace(b, draw)


def _shape_op(b: _Builder, draw: Any, x: int, sx: tuple, d: Any, ng: bool) -> None:
    which = draw(st.sampled_from(["reshape", "unsqueeze", "transpose", "broadcast", "stack",
                                  "cat", "clone"]))
    if which == "reshape":
        b.new(f"v{x}.reshape(-1).reshape({_shape_str(sx)})" if 0 not in sx else
              f"v{x}.reshape({_shape_str(sx)})", sx, "reshape", fresh=False, no_grad=ng,
              view_of=x)
    elif which == "unsqueeze":
        b.new(f"v{x}.unsqueeze(0).squeeze(0)", sx, "unsqueeze", fresh=False, no_grad=ng,
              view_of=x)
    elif which == "transpose" and len(sx) >= 2:
        b.new(f"v{x}.transpose(0, -1).contiguous().transpose(0, -1)", sx, "transpose",
              fresh=False, no_grad=ng, view_of=x)  # contiguous() copies only when it must
    elif which == "broadcast" and _suffix_compatible(sx, b.base):
        b.new(f"T.broadcast_to(v{x}, {_shape_str(b.base)})", b.base, "broadcast_to", fresh=False,
              no_grad=ng, view_of=x)
    elif which in ("stack", "cat"):
        y = b.pick(lambda i: b.shapes[i] == sx)
        if which == "stack":
            b.new(f"T.stack([v{x}, v{y}], 0)[1]", sx, "stack", fresh=False, no_grad=ng)
        elif d is not None:
            n = sx[d]
            b.new(f"T.cat([v{x}, v{y}], {d}).narrow({d}, {n}, {n})", sx, "cat", fresh=False,
                  no_grad=ng)
    elif which == "clone":
        b.new(f"v{x}.clone()", sx, "clone", no_grad=ng)


def _view(b: _Builder, draw: Any, x: int, sx: tuple, d: Any) -> None:
    """A real view (shares storage, writable): of an intermediate or of another view, so
    that later in-place writes go through views of views into their base.  Made with grad
    on: PyTorch refuses writes into views made under no_grad."""
    which = draw(st.sampled_from(["alias", "unsqueeze", "narrow", "t", "flat"]))
    views = [i for i, op in enumerate(b.ops) if op == "view"]
    if views and draw(st.booleans()):  # a view of a view
        x = draw(st.sampled_from(views))
        sx = b.shapes[x]
        d = draw(st.integers(-len(sx), len(sx) - 1)) if sx else None
    if which == "alias":
        b.new(f"v{x}[...]", sx, "view", view_of=x)
    elif which == "unsqueeze":
        b.new(f"v{x}.unsqueeze(0)", (1,) + sx, "view", view_of=x)
    elif which == "narrow" and d is not None and sx[d] >= 2:
        out = tuple(s - 1 if i == d % len(sx) else s for i, s in enumerate(sx))
        b.new(f"v{x}.narrow({d}, 1, {sx[d] - 1})", out, "view", view_of=x)
    elif which == "t" and len(sx) == 2:
        b.new(f"v{x}.t()", sx[::-1], "view", view_of=x)
    elif which == "flat" and b.fresh[x] and b.ops[x] != "view" and 0 not in sx:
        b.new(f"v{x}.view(-1)", (int(np.prod(sx)),), "view", view_of=x)


def _inplace(b: _Builder, draw: Any) -> None:
    """Modify a value in place: usually a fresh clone, sometimes an intermediate itself that
    earlier ops read (then nodes that saved it must refuse to run backward, in both
    libraries), or a view (the write goes through to its base and the base's other views,
    whose histories PyTorch regenerates).  Never a leaf or a view of one while recording
    (PyTorch refuses; tests/test_views.py covers those refusals)."""
    t = b.pick(lambda i: b.fresh[i] and not b.of_leaf[i])
    if t is None:
        return
    st_ = b.shapes[t]
    if draw(st.integers(0, 2)):  # two in three writes go into a fresh clone
        t = b.new(f"v{t}.clone()", st_, "clone")
    which = draw(st.sampled_from(["add_", "sub_", "mul_", "div_", "clamp_", "setitem", "view",
                                  "selfref", "selfref"]))
    o = b.pick(lambda i: _suffix_compatible(b.shapes[i], st_))
    if which in ("add_", "sub_", "mul_") and o is not None:
        line = f"v{t}.{which}(v{o})"
    elif which == "div_" and o is not None:
        line = f"v{t}.div_(1.0 + T.sigmoid(v{o}))"
    elif which == "clamp_":
        line = f"v{t}.clamp_(-0.5, 0.5)"
        b.smooth = False
    elif which == "setitem" and st_ and st_[0] >= 1 and o is not None:
        line = f"v{t}[:1] = T.broadcast_to(v{o}, {_shape_str(st_)})[:1] * 2.0"
    elif which == "view" and st_ and st_[0] >= 1:
        line = f"v{t}[0].mul_(3.0)"
    elif which == "selfref" and st_ and st_[0] >= 1:  # reads the value it writes
        line = f"v{t}[0] = v{t}[0] * 3.0"
    else:
        return
    if b.ops[t] == "detach":  # writes through to the detached tensor's source, untracked
        b.smooth = False
    b.lines.append((line, None))


# ------------------------------------------------------------------ running
STATS: collections.Counter = collections.Counter()
VERSION_ERRORS = ("modified by an inplace operation", "modified by an in-place operation")


def run(prog: Program, T: Any, shift: dict | None = None, grad: bool = True,
        source: str | None = None, snapshots: dict | None = None) -> tuple:
    """Values (as arrays), rg flags, and leaf gradients of one run; ``shift`` moves the leaves."""
    ns: dict = {}
    exec(source or prog.source, ns)
    leaves = {}
    for k in prog.leaves:
        a = np.array(prog.consts[k] + (shift[k] if shift and k in shift else 0.0))
        leaves[k] = _tensor(T, a).requires_grad_(grad)
    vals = ns["program"](T, F(T), U, B, prog.consts, leaves, snapshots)
    out = [v.detach().numpy().copy() for v in vals]
    rg = [bool(v.requires_grad) for v in vals]
    grads: dict = {}
    if grad:
        terms = [(v * _tensor(T, _weights(i, tuple(v.shape)))).sum()
                 for i, v in enumerate(vals) if v.requires_grad]
        if terms:
            loss = terms[0]
            for term in terms[1:]:
                loss = loss + term
            loss.backward()
        grads = {k: (None if t.grad is None else t.grad.numpy().copy()) for k, t in leaves.items()}
    return out, rg, grads


def _weights(i: int, shape: tuple) -> np.ndarray:
    """The fixed random weights of value ``i`` in the loss whose gradient is compared."""
    return np.random.default_rng(1000 + i).standard_normal(shape)


def _tensor(T: Any, a: np.ndarray) -> Any:
    return T.tensor(a) if T is cr else torch.from_numpy(a)


def _error(T: Any, prog: Program) -> tuple[Any, Exception | None]:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return run(prog, T), None
    except Exception as exc:  # noqa: BLE001 - compared between the libraries
        return None, exc


RTOL = 1e-7  # float64: tight enough to see a float32 rounding inside a rule (~1e-8)


def _atol(r: np.ndarray) -> float:
    finite = np.abs(r[np.isfinite(r)]) if r.size else r
    return 1e-9 * (1.0 + (float(finite.max()) if finite.size else 0.0))


def check(prog: Program) -> None:
    """Run ``prog`` with both libraries and compare; raise AssertionError on a mismatch."""
    STATS["programs"] += 1
    ours, err = _error(cr, prog)
    ref, ref_err = _error(torch, prog)
    if err is not None or ref_err is not None:
        _compare_errors(err, ref_err, prog)
        return
    vals, rg, grads = ours
    rvals, rrg, rgrads = ref
    for i, (a, r) in enumerate(zip(vals, rvals)):
        assert a.shape == r.shape, f"v{i}: shape {a.shape} vs PyTorch {r.shape}"
        assert a.dtype == r.dtype, f"v{i}: dtype {a.dtype} vs PyTorch {r.dtype}"
        np.testing.assert_allclose(a, r, rtol=RTOL, atol=_atol(r), equal_nan=True, err_msg=f"v{i}")
    if rg != rrg:
        # PyTorch marks views made under no_grad as requiring grad (they carry none), and so
        # what is computed from them; chainrule does not.  No other difference is allowed.
        assert prog.no_grad_views and all(r for a, r in zip(rg, rrg) if a != r), (
            f"requires_grad {rg} vs PyTorch {rrg}")
        STATS["requires_grad_flag_differences"] += 1
    for k, g in grads.items():
        r = rgrads[k]
        if r is None:
            assert g is None or not np.any(g), f"{k}: gradient where PyTorch has none"
            continue
        assert g is not None, f"{k}: no gradient where PyTorch has one"
        np.testing.assert_allclose(g, r, rtol=RTOL, atol=_atol(r), equal_nan=True,
                                   err_msg=f"grad {k}")
    STATS["torch_checked"] += 1
    if prog.smooth and all(np.isfinite(v).all() for v in vals) and any(rg):
        _finite_differences(prog, vals, rg, grads)


def _finite_differences(prog: Program, vals: list, rg: list, grads: dict) -> None:
    rng = np.random.default_rng(7)
    eps = 1e-6
    snapshots: dict = {}
    run(prog, cr, None, grad=False, source=prog.record_source, snapshots=snapshots)
    for _ in range(2):
        dirs = {k: rng.standard_normal(prog.consts[k].shape) for k in grads}
        analytic = sum(float(np.sum(g * dirs[k])) for k, g in grads.items() if g is not None)
        up = _weighted(prog, {k: eps * v for k, v in dirs.items()}, rg, snapshots)
        down = _weighted(prog, {k: -eps * v for k, v in dirs.items()}, rg, snapshots)
        fd = (up - down) / (2 * eps)
        scale = 1.0 + sum(float(np.sum(np.abs(g) * np.abs(dirs[k])))
                          for k, g in grads.items() if g is not None)
        assert abs(fd - analytic) <= 1e-6 * scale, (  # seen: <= 4e-9 * scale
            f"finite differences {fd!r} vs gradient {analytic!r} along a random direction")
    STATS["fd_checked"] += 1


def _weighted(prog: Program, shift: dict, rg: list, snapshots: dict) -> float:
    """The loss with the leaves moved by ``shift`` and no_grad/detach values held fixed."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        vals, _, _ = run(prog, cr, shift, grad=False, source=prog.frozen_source,
                         snapshots=snapshots)
    total = 0.0
    for i, (v, r) in enumerate(zip(vals, rg)):
        if r:
            total += float(np.sum(v * _weights(i, v.shape)))
    return total


def _kind(exc: Exception) -> str:
    return "saved value modified" if any(m in str(exc) for m in VERSION_ERRORS) else type(exc).__name__


def _compare_errors(err: Exception | None, ref_err: Exception | None, prog: Program) -> None:
    """Both refused for the same reason (class and the facts of PyTorch's message, by the
    table in tests/refusals.py), or one of the documented differences; else a mismatch."""
    differs = same_refusal(err, ref_err) if err is not None and ref_err is not None else "one side"
    if differs is None:
        STATS["both_refused"] += 1
        return
    if ref_err is not None and re.search(r"created in no[_ ]grad mode", str(ref_err)):
        STATS["torch_refused_no_grad_view"] += 1  # PyTorch forbids this ambiguous case; we allow
        return
    if err is None and "view size is not compatible with input tensor's size and stride" in str(ref_err):
        # PyTorch's elementwise ops keep a transposed input's strides, so view(-1) of their result
        # fails there; chainrule's view() does not refuse by strides: a known difference, counted
        STATS["torch_refused_view_by_strides"] += 1
        return
    if err is not None and "is used after the tensor it views was modified" in str(err):
        STATS["stale_view_refused"] += 1  # PyTorch replays the view; we refuse (documented)
        return
    if err is not None and ref_err is not None:
        raise AssertionError(f"both raised, differently ({differs}): chainrule {type(err).__name__}: "
                             f"{err}; PyTorch {type(ref_err).__name__}: {ref_err}")
    one = err if err is not None else ref_err
    if _kind(one) == "saved value modified":
        # the two libraries keep different values for backward (e.g. sigmoid keeps its input
        # here, its output in PyTorch): one of them sees its saved value overwritten
        STATS["saved_value_differences"] += 1
        return
    who = "chainrule" if err is not None else "PyTorch"
    raise AssertionError(f"only {who} raised: {type(one).__name__}: {one}")


# ------------------------------------------------------------------ entry points
SETTINGS = dict(deadline=None, database=None, suppress_health_check=list(HealthCheck))


def fuzz_test(max_examples: int, derandomize: bool, mismatches: list | None = None) -> Any:
    """A Hypothesis test of programs; mismatches go to ``mismatches`` (if given) as (message, source)."""
    @settings(max_examples=max_examples, derandomize=derandomize, **SETTINGS)
    @given(programs())
    def test(prog: Program) -> None:
        note(prog.source)
        if mismatches is None:
            check(prog)
            return
        try:
            check(prog)
        except AssertionError as exc:
            STATS["mismatches"] += 1
            mismatches.append((str(exc), prog.source))

    return test


def report() -> str:
    """Counts: programs, compared with PyTorch (values, or the same refusal), mismatches."""
    n = STATS["programs"]
    compared = STATS["torch_checked"] + STATS["both_refused"]
    return (f"{n} programs: {compared} compared with PyTorch ({100 * compared / max(n, 1):.1f} %: "
            f"{STATS['torch_checked']} by value, {STATS['both_refused']} refused alike), "
            f"{STATS['fd_checked']} also by finite differences, {STATS['mismatches']} mismatches; "
            f"{dict(STATS)}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python tests/fuzz.py")
    ap.add_argument("--minutes", type=float, default=None, help="run fresh programs for N minutes")
    ap.add_argument("--programs", type=int, default=None, help="run N fresh programs (long mode)")
    ap.add_argument("--show", type=int, default=5, help="print the source of this many mismatches")
    args = ap.parse_args(argv)
    found: list = []
    if args.programs is not None:
        done = 0
        while done < args.programs:  # in chunks, so that progress shows
            chunk = min(500, args.programs - done)
            fuzz_test(chunk, derandomize=False, mismatches=found)()
            done += chunk
            print(f"{time.strftime('%H:%M:%S')} {report()}", flush=True)
    else:
        end = time.time() + 60 * (args.minutes or 1.0)
        while time.time() < end:
            fuzz_test(200, derandomize=False, mismatches=found)()
            print(f"{time.strftime('%H:%M:%S')} {report()}", flush=True)
    for message, source in found[: args.show]:
        print(f"\n--- mismatch: {message}\n{source}")
    print(f"done: {report()}")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
