"""``explain(f, *inputs)``: the chain rule of ``f`` written out, node by node, and checked.

How it works, in four passes over one call of ``f`` (in float64):

1. Record: every op ``f`` runs is seen through an apply wrapper (the same
   hook forward mode uses), and ``f``'s local variables are read when it
   returns, so ``a = dot(x, w)`` inside ``f`` names the node ``a``.  Ops whose
   result has no name are folded into the named node that uses them
   (``a = X @ w - y`` is one node, as in the textbook); if ``f`` names nothing
   (a lambda), every op is a node, named a, b, c, ...
2. Formulas: each node's expression, the formula and shape of its local
   Jacobian per input, the upstream gradient dz/d(node), and the final
   gradient as a product along each path (``_formulas``/``_sym``).  A closed
   form is shown only after evaluating it and finding autograd's numbers.
3. Numbers: one traced backward pass gives the upstream gradient at every node.
4. Checks: each op's backward against central finite differences of its own
   forward (in random directions), and each final gradient against central
   finite differences of ``f``: a custom op with a wrong backward is flagged.
"""

from __future__ import annotations

import html
import inspect
import sys
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator, Mapping

import numpy as np

from .._tensor import Tensor, wrap
from ..autograd.grad_mode import enable_grad, no_grad
from ..ops._core import add_apply_wrapper
from . import _formulas, _sym
from ._sym import S
from .trace import trace_backward

__all__ = ["explain", "Explanation", "Row", "Factor", "Gradient"]

H = 1e-6  # finite-difference step (float64)
ATOL, RTOL = 1e-6, 1e-4  # finite differences agree to about 1e-9 here; errors are far larger


@dataclass
class Factor:
    """One local Jacobian d(of)/d(wrt): its (rows, cols) shape and textbook formula."""

    of: str
    wrt: str
    shape: tuple[int, int]
    formula: S

    @property
    def label(self) -> str:
        return f"d{self.of}/d{self.wrt}"

    @property
    def known(self) -> bool:
        return _JAC not in repr(self.formula)

    @property
    def text(self) -> str:
        """The formula as printed; a number on a square Jacobian is that multiple of I."""
        f = self.formula
        if f.kind == _sym.NUM and self.shape[0] > 1:
            return "I" if f.args[0] == 1 else f"{f!r}I"
        return repr(f)


_JAC = "∂"


@dataclass
class Row:
    """One node of the chain: ``name = expression``, with what flows through it."""

    name: str
    expression: str
    shape: tuple
    jacobians: list[Factor]
    upstream: np.ndarray  # dz/d(node): the gradient arriving from the output
    upstream_formula: str | None
    ok: bool | None = None  # its backward agrees with finite differences (None: not checked)
    problems: list[str] = field(default_factory=list)


@dataclass
class Gradient:
    """dz/d(input): autograd's value, finite differences, and the chain that produced it."""

    name: str
    shape: tuple
    autograd: np.ndarray
    numeric: np.ndarray
    max_error: float
    ok: bool
    paths: list[list[Factor]]
    formula: str | None  # with intermediate names (2bxᵀ)
    closed_form: str | None  # in the inputs only (2(⟨x, w⟩ − y)xᵀ)


@dataclass
class Explanation:
    """The table ``explain`` builds: print it, or display it in a notebook."""

    output: str
    inputs: list[str]
    rows: list[Row]
    gradients: list[Gradient]

    @property
    def ok(self) -> bool:
        return all(g.ok for g in self.gradients) and all(r.ok is not False for r in self.rows)

    @property
    def mismatches(self) -> list[str]:
        out = [p for r in self.rows for p in r.problems]
        out += [f"d{self.output}/d{g.name}: autograd and finite differences differ by "
                f"{g.max_error:.3g}" for g in self.gradients if not g.ok]
        return out

    def __str__(self) -> str:
        from ._explain_render import text

        return text(self)

    def _repr_html_(self) -> str:
        from ._explain_render import html_table

        return html_table(self, html.escape)


# ------------------------------------------------------------------ recording f
def _run_recorded(f: Callable, args: list[Tensor]) -> tuple[Any, list, dict]:
    """Call ``f``; return its output, the ops it ran, and its local variables at return."""
    records: list[tuple[Any, tuple, dict, Tensor]] = []

    def record(op: Any, a: tuple, params: dict, inner: Callable) -> Any:
        out = inner(op, a, params)
        if isinstance(out, Tensor):
            records.append((op, a, dict(params), out))
        return out

    code = getattr(f, "__code__", None)
    captured: dict[str, Any] = {}

    def profile(frame: Any, event: str, arg: Any) -> None:
        if event == "return" and frame.f_code is code:
            captured.update(frame.f_locals)

    remove = add_apply_wrapper(record)
    old = sys.getprofile()
    if code is not None:
        sys.setprofile(profile)
    try:
        with enable_grad():
            out = f(*args)
    finally:
        if code is not None:
            sys.setprofile(old)
        remove()
    return out, records, captured


def _input_names(f: Callable, n: int) -> list[str]:
    try:
        ps = [p for p in inspect.signature(f).parameters.values()
              if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    except (TypeError, ValueError):
        ps = []
    names = [p.name for p in ps[:n]]
    return names + [f"x{i}" for i in range(len(names), n)]


def _as_input(v: Any) -> Tensor:
    if isinstance(v, Tensor):
        data, rg = v._data, v._rg
    else:
        data, rg = np.asarray(v), False
    if data.dtype.kind == "f":
        data = data.astype(np.float64)
    t = wrap(np.array(data, copy=True))
    if rg:
        t.requires_grad_(True)
    return t


def _fresh_names(taken: set[str]) -> Iterator[str]:
    for c in "abcdefghpqrstuvk":
        if c not in taken:
            yield c
    i = 1
    while True:
        if f"v{i}" not in taken:
            yield f"v{i}"
        i += 1


# ------------------------------------------------------------------ explain
def explain(
    f: Callable[..., Tensor],
    *inputs: Any,
    names: Mapping[str, Tensor] | None = None,
    wrt: Any = None,
    seed: int = 0,
) -> Explanation:
    """The chain-rule decomposition of the scalar function ``f`` at ``inputs``, checked.

    Inputs are copied to float64.  Gradients are taken with respect to the
    inputs that require grad (all floating inputs if none does), or ``wrt``
    (names or positions).  ``names``: extra ``{name: tensor}`` for intermediate
    results, read after ``f`` has run (``f``'s own local variables are used too).

    >>> def f(x, w, y):
    ...     a = chainrule.dot(x, w); b = a - y; z = b ** 2
    ...     return z
    >>> print(explain(f, x, w, y))
    """
    arg_names = _input_names(f, len(inputs))
    ts = [_as_input(v) for v in inputs]
    if wrt is not None:
        chosen = {wrt} if isinstance(wrt, (str, int)) else set(wrt)
        for i, t in enumerate(ts):
            want = i in chosen or arg_names[i] in chosen
            if want and t._data.dtype.kind != "f":
                raise TypeError(f"explain(): cannot differentiate with respect to {arg_names[i]}, "
                                f"its dtype is {t._data.dtype}")
            t.requires_grad_(want)
    elif not any(t._rg for t in ts):
        for t in ts:
            if t._data.dtype.kind == "f":
                t.requires_grad_(True)
    z, records, local_vars = _run_recorded(f, ts)
    if not isinstance(z, Tensor) or z._data.size != 1:
        what = f"shape {tuple(z.shape)}" if isinstance(z, Tensor) else type(z).__name__
        raise ValueError(f"explain() needs f to return a scalar tensor, got {what}; reduce it, "
                         "e.g. return f(...).sum()")
    if not z._rg or z.grad_fn is None:
        raise ValueError("explain(): the output does not depend on any input being differentiated; "
                         "pass requires_grad=True inputs or wrt=")
    return _Builder(f, arg_names, ts, z, records, local_vars, names or {}, seed).build()


class _Builder:
    """Holds the recorded call while the rows, formulas and checks are worked out."""

    def __init__(self, f: Callable, arg_names: list[str], ts: list[Tensor], z: Tensor,
                 records: list, local_vars: dict, extra: Mapping, seed: int) -> None:
        self.f, self.arg_names, self.ts, self.z = f, arg_names, ts, z
        self.records = [r for r in records if r[3]._rg and r[3].grad_fn is not None]
        self.all_records = records
        self.rng = np.random.default_rng(seed)
        self.name: dict[int, str] = {id(t): n for n, t in zip(arg_names, ts)}
        self.keep: list[Any] = list(ts)
        self._name_results(local_vars, extra)

    # -------------------------------------------------------------- names and formulas
    def _name_results(self, local_vars: dict, extra: Mapping) -> None:
        produced = {id(r[3]) for r in self.records}
        for source in (extra, local_vars):  # names given explicitly win over f's locals
            for k, v in source.items():
                if k.startswith("_"):
                    continue
                if isinstance(v, Tensor) and id(v) in produced and id(v) not in self.name:
                    self.name[id(v)] = k
        taken = set(self.name.values()) | set(local_vars) | set(extra)
        fresh = _fresh_names(taken | {"z"})
        if id(self.z) not in self.name:
            self.name[id(self.z)] = "z" if "z" not in taken else next(fresh)
        consumers: dict[int, int] = {}
        for _, args, _, _ in self.records:
            for a in {id(a) for a in args if isinstance(a, Tensor)}:
                consumers[a] = consumers.get(a, 0) + 1
        named_any = any(id(r[3]) in self.name and r[3] is not self.z for r in self.records)
        for _, _, _, out in self.records:
            k = id(out)
            if k not in self.name and (not named_any or consumers.get(k, 0) != 1):
                self.name[k] = next(fresh)

    def _sym_of(self, a: Any) -> S:
        if isinstance(a, Tensor):
            k = id(a)
            if k in self.name:
                return _sym.name(self.name[k])
            if k in self.inline:
                return self.inline[k]
            if a._data.size == 1 and not a._rg:
                return _sym.num(a._data.item())
            c = f"c{len(self.consts) + 1}"
            self.consts[c] = a._data
            self.name[k] = c
            self.keep.append(a)
            return _sym.name(c)
        if isinstance(a, (int, float, np.number)) or np.ndim(a) == 0:
            return _sym.num(float(np.asarray(a)))
        return _sym.name("array")

    def _formulas(self) -> None:
        """Forward formula of every result; definitions of the named ones."""
        self.inline: dict[int, S] = {}
        self.consts: dict[str, np.ndarray] = {}
        self.defs: dict[str, S] = {}
        for op, args, _, out in self.all_records:
            xs = [self._sym_of(a) for a in args]
            e = _formulas.forward(op.name, op.public, xs, [np.shape(_data(a)) for a in args],
                                  tuple(out._data.shape))
            if id(out) in self.name:
                self.defs[self.name[id(out)]] = e
            else:
                self.inline[id(out)] = e

    def _propagate(self, records: list, start: Tensor, g0: S) -> dict[int, S]:
        """Row gradients, backwards through ``records`` from ``start`` (seeded with ``g0``)."""
        g: dict[int, S] = {id(start): g0}
        for op, args, _, out in reversed(records):
            go = g.get(id(out))
            if go is None:
                continue
            xs = [self._sym_of(a) for a in args]
            shapes = [tuple(np.shape(_data(a))) for a in args]
            for i, a in enumerate(args):
                if not (isinstance(a, Tensor) and a._rg):
                    continue
                gi = _formulas.vjp(op.name, i, go, xs, shapes, tuple(out._data.shape))
                if gi is None:
                    jac = S(_sym.JAC, self.name.get(id(out), op.public),
                            self.name.get(id(a), "·"))
                    gi = _sym.mul(go, jac)
                g[id(a)] = _sym.add(g.get(id(a)), gi)
        return g

    # -------------------------------------------------------------- the table
    def build(self) -> Explanation:
        self._formulas()
        steps = {id(s.node): s for s in trace_backward(self.z)}
        self.steps = steps
        owner = self._groups()
        gsym = self._propagate(self.records, self.z, _sym.ONE)
        rows: list[Row] = []
        row_of: dict[str, Row] = {}
        for *_, out in self.records:
            n = self.name.get(id(out))
            if n is None or owner.get(id(out)) is not out:
                continue
            group = [r for r in self.records if owner.get(id(r[3])) is out]
            step = steps.get(id(out.grad_fn))
            up = step.grad_in._data if step is not None else np.zeros(out._data.shape)
            if out is self.z:
                up = np.ones(out._data.shape)
            ups = gsym.get(id(out))
            row = Row(n, repr(self.defs[n]), tuple(out._data.shape),
                      self._jacobians(out, group), np.array(up, dtype=np.float64),
                      repr(ups) if ups is not None and _JAC not in repr(ups) else None)
            for rec in group:
                self._check_op(rec, row)
            rows.append(row)
            row_of[n] = row
        grads = [self._gradient(t, n, gsym, row_of) for n, t in zip(self.arg_names, self.ts) if t._rg]
        return Explanation(self.name[id(self.z)], list(self.arg_names), rows, grads)

    def _groups(self) -> dict[int, Tensor]:
        """The named result each recorded result belongs to (itself, if named)."""
        owner: dict[int, Tensor] = {}
        users: dict[int, Tensor] = {}
        for _, args, _, out in self.records:
            for a in args:
                if isinstance(a, Tensor):
                    users.setdefault(id(a), out)
        for _, _, _, out in reversed(self.records):
            if id(out) in self.name:
                owner[id(out)] = out
            elif id(out) in users and id(users[id(out)]) in owner:
                owner[id(out)] = owner[id(users[id(out)])]
        return owner

    def _operands(self, group: list) -> list[Tensor]:
        inside = {id(r[3]) for r in group}
        out: list[Tensor] = []
        for _, args, _, _ in group:
            for a in args:
                if isinstance(a, Tensor) and a._rg and id(a) not in inside and \
                        all(a is not b for b in out):
                    out.append(a)
        return out

    def _jacobians(self, out: Tensor, group: list) -> list[Factor]:
        g0 = _sym.ONE if out._data.size == 1 and out._data.ndim == 0 else _sym.IDENTITY
        local = self._propagate(group, out, g0)
        n = self.name[id(out)]
        res = []
        for a in self._operands(group):
            formula = local.get(id(a), _sym.num(0))
            res.append(Factor(n, self.name.get(id(a), "?"), (out._data.size, a._data.size), formula))
        return res

    # -------------------------------------------------------------- checks
    def _check_op(self, rec: tuple, row: Row) -> None:
        """This op's backward, against central differences of its forward, in random directions."""
        op, args, params, out = rec
        step = self.steps.get(id(out.grad_fn))
        if step is None or getattr(op, "forward", None) is None:
            return
        u = step.grad_in._data
        arrays = [_data(a) for a in args]
        seen: list[Tensor] = []
        for a in args:
            if not (isinstance(a, Tensor) and a._rg) or any(a is b for b in seen):
                continue
            seen.append(a)
            key = a.grad_fn if a.grad_fn is not None else a
            if all(p is not key for p in out.grad_fn.parents):
                continue  # the op declares no gradient for this input
            v = sum((g._data for p, g in step.grads_out if p is key), np.zeros(a._data.shape))
            for _ in range(2):
                d = self.rng.standard_normal(a._data.shape)
                plus = [x + H * d if b is a else x for x, b in zip(arrays, args)]
                minus = [x - H * d if b is a else x for x, b in zip(arrays, args)]
                with no_grad():
                    fd = float(np.sum(u * (np.asarray(op.forward(*plus, **params))
                                           - np.asarray(op.forward(*minus, **params))))) / (2 * H)
                ad = float(np.sum(v * d))
                if abs(ad - fd) > ATOL + RTOL * max(abs(ad), abs(fd)):
                    row.ok = False
                    row.problems.append(
                        f"{row.name} = {row.expression}: the backward of {op.public} for "
                        f"{self.name.get(id(a), 'an input')} gives {ad:.6g} along a random "
                        f"direction, finite differences give {fd:.6g}")
                    return
        if row.ok is None:
            row.ok = True

    def _numeric_gradient(self, t: Tensor) -> np.ndarray:
        """Central differences of f with respect to input ``t`` (all entries, or 16 directions)."""
        idx = next(i for i, s in enumerate(self.ts) if s is t)

        def at(x: np.ndarray) -> float:
            args = [wrap(x) if i == idx else s.detach() for i, s in enumerate(self.ts)]
            with no_grad():
                return float(_data(self.f(*args)).reshape(()))

        x0 = t._data
        if x0.size <= 256:
            g = np.zeros(x0.size)
            for j in range(x0.size):
                e = np.zeros(x0.size)
                e[j] = H
                g[j] = (at(x0 + e.reshape(x0.shape)) - at(x0 - e.reshape(x0.shape))) / (2 * H)
            return g.reshape(x0.shape)
        # large inputs: project onto random directions, return the least-squares estimate
        dirs = self.rng.standard_normal((16,) + x0.shape)
        vals = np.array([(at(x0 + H * d) - at(x0 - H * d)) / (2 * H) for d in dirs])
        ag = t.grad._data if t.grad is not None else np.zeros_like(x0)
        pred = dirs.reshape(16, -1) @ ag.ravel()
        return ag + (np.linalg.lstsq(dirs.reshape(16, -1), vals - pred, rcond=None)[0]
                     .reshape(x0.shape))

    def _gradient(self, t: Tensor, n: str, gsym: dict, row_of: dict) -> Gradient:
        ag = np.array(t.grad._data if t.grad is not None else np.zeros(t._data.shape), np.float64)
        num = self._numeric_gradient(t)
        err = float(np.max(np.abs(ag - num), initial=0.0))
        ok = err <= ATOL + RTOL * float(np.max(np.abs(num), initial=0.0))
        paths = self._paths(n, row_of)
        formula = closed = None
        g = gsym.get(id(t))
        if g is not None:
            env = {k: _data(v) for k, v in self.consts.items()}
            env.update({nm: s._data for nm, s in zip(self.arg_names, self.ts)})
            env.update({self.name[id(r[3])]: r[3]._data for r in self.all_records
                        if id(r[3]) in self.name})
            if _matches(g, env, ag):
                formula = repr(g)
                c = _sym.substitute(g, self.defs)
                if _matches(c, env, ag):
                    closed = repr(c)
        return Gradient(n, tuple(t._data.shape), ag, num, err, ok, paths, formula, closed)

    def _paths(self, target: str, row_of: dict[str, Row], limit: int = 6) -> list[list[Factor]]:
        """Chains of local Jacobians from the output down to ``target`` (at most ``limit``)."""
        out: list[list[Factor]] = []
        start = self.name[id(self.z)]
        stack: list[tuple[str, list[Factor]]] = [(start, [])]
        while stack and len(out) < limit:
            at, chain = stack.pop()
            row = row_of.get(at)
            if row is None:
                continue
            for fac in reversed(row.jacobians):
                if fac.wrt == target:
                    out.append(chain + [fac])
                elif fac.wrt in row_of and len(chain) < 200:
                    stack.append((fac.wrt, chain + [fac]))
        return out


def _data(a: Any) -> Any:
    return a._data if isinstance(a, Tensor) else a


def _matches(formula: S, env: dict, expected: np.ndarray) -> bool:
    """True when the formula evaluates to autograd's gradient (as a row)."""
    try:
        with np.errstate(all="ignore"):
            v = _sym.evaluate(formula, env)
    except (_sym.Unsupported, ValueError, KeyError, IndexError):
        return False
    want = expected.reshape(1, -1)
    if v.shape == (1, 1) and want.shape != (1, 1):
        return False
    return v.shape == want.shape and bool(np.allclose(v, want, rtol=1e-8, atol=1e-10))
