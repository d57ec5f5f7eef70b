"""``chainrule graph EXPR`` and ``chainrule explain EXPR``: the graph and the chain rule of a formula.

Variables are declared with ``--var NAME=SHAPE`` (random float64 values that
require grad; ``NAME=SHAPE:nograd`` for a constant, ``NAME=`` for a scalar).
The expression is interpreted by ``viz.expr``, which refuses anything but
arithmetic over those variables and chainrule functions.
"""

from __future__ import annotations

import argparse
import inspect
import sys
from pathlib import Path
from typing import Any

from ..cli import COMMANDS
from . import expr

__all__ = ["graph_command", "explain_command"]

_EXAMPLE = 'e.g. chainrule %s "a = dot(x, w); b = a - y; b ** 2" --var x=3 --var w=3 --var y='
_FORMATS = ("svg", "png", "pdf", "dot", "gv")


def _common(p: argparse.ArgumentParser, which: str) -> None:
    p.add_argument("expression", help="Python arithmetic over the variables and chainrule "
                   "functions; statements 'name = expr' separated by ';' name the nodes")
    p.add_argument("--var", action="append", default=[], metavar="NAME=SHAPE[:nograd]",
                   help="declare a random float64 variable, e.g. x=3, W=2,3, y= (scalar), "
                   "x=3:nograd (no gradient)")
    p.add_argument("--seed", type=int, default=0, help="seed for the random values")
    p.epilog = _EXAMPLE % which


def _variables(args: argparse.Namespace) -> dict[str, Any]:
    import chainrule as cr

    g = cr.Generator().manual_seed(args.seed)
    out: dict[str, Any] = {}
    for spec in args.var:
        name, t = expr.parse_var(spec, g)
        if name in out:
            raise ValueError(f"--var {spec!r}: {name} is declared twice")
        out[name] = t
    return out


def _fail(cmd: str, exc: Exception) -> int:
    print(f"chainrule {cmd}: {exc}", file=sys.stderr)
    return 2


# ------------------------------------------------------------------ graph
def _graph_arguments(p: argparse.ArgumentParser) -> None:
    _common(p, "graph")
    p.add_argument("-o", "--output", help="write the picture here (.svg, .png, .pdf, or .dot); "
                   "without it the DOT source is printed")
    p.add_argument("--format", choices=_FORMATS, help="output format (default: from the "
                   "file extension)")
    p.add_argument("--forward", action="store_true", help="draw the forward computation")
    p.add_argument("--show-saved", action="store_true", help="list the values saved for backward")
    p.add_argument("--collapse", action="store_true", help="fold repeated structure")
    p.add_argument("--steps", action="store_true", help="run backward and colour nodes by step")


def graph_command(args: argparse.Namespace) -> int:
    from .graph import GraphvizNotFound, draw
    from .trace import trace_backward

    try:
        variables = _variables(args)
        value, env = expr.run(args.expression, variables)
    except (ValueError, TypeError, RuntimeError, IndexError) as exc:
        return _fail("graph", exc)
    import chainrule as cr

    if not isinstance(value, cr.Tensor):
        return _fail("graph", TypeError(f"the expression gives {type(value).__name__}, not a "
                                        "tensor"))
    params = {k: v for k, v in env.items() if isinstance(v, cr.Tensor)}
    steps = None
    if args.steps:
        if not value._rg:
            return _fail("graph", ValueError("--steps: the result does not require grad"))
        root = value if value.numel() == 1 else value.sum()
        steps = trace_backward(root, retain_graph=True)
    try:
        dot = draw(value, params=params, show_saved=args.show_saved, forward=args.forward,
                   collapse=args.collapse, steps=steps)
    except ImportError as exc:
        return _fail("graph", exc)
    if not args.output:
        print(dot.source)
        return 0
    out = Path(args.output)
    fmt = args.format or out.suffix.lstrip(".").lower() or "svg"
    if fmt not in _FORMATS:
        return _fail("graph", ValueError(f"unknown output format {fmt!r}; use one of "
                                         f"{', '.join(_FORMATS)} (or --format)"))
    if fmt in ("dot", "gv"):
        out.write_text(dot.source, encoding="utf-8")
    else:
        try:
            out.write_bytes(dot.pipe(format=fmt))
        except GraphvizNotFound as exc:
            print(f"chainrule graph: {exc}", file=sys.stderr)
            return 1
    print(f"wrote {out}")
    return 0


# ------------------------------------------------------------------ explain
def _explain_arguments(p: argparse.ArgumentParser) -> None:
    _common(p, "explain")
    p.add_argument("--html", metavar="FILE", help="also write the table as HTML")


def explain_command(args: argparse.Namespace) -> int:
    from .explain import explain

    try:
        variables = _variables(args)
        names = list(variables)
        expr.run(args.expression, variables)  # refuse unsafe text before anything runs
    except (ValueError, TypeError, RuntimeError, IndexError) as exc:
        return _fail("explain", exc)
    intermediates: dict[str, Any] = {}

    def f(*_tensors: Any) -> Any:  # '_' names: explain() ignores them when naming nodes
        _value, _env = expr.run(args.expression, dict(zip(names, _tensors)))
        if not intermediates:
            intermediates.update({k: v for k, v in _env.items() if k not in names})
        return _value

    f.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
        [inspect.Parameter(n, inspect.Parameter.POSITIONAL_OR_KEYWORD) for n in names])
    try:
        ex = explain(f, *variables.values(), names=intermediates)
    except (ValueError, TypeError, RuntimeError, IndexError) as exc:
        return _fail("explain", exc)
    print(ex)
    if args.html:
        Path(args.html).write_text(ex._repr_html_(), encoding="utf-8")
    return 0 if ex.ok else 1


COMMANDS["graph"] = ("draw the graph of an expression, e.g. graph 'dot(x, w) ** 2' --var x=3 "
                     "--var w=3 -o g.svg", _graph_arguments, graph_command)
COMMANDS["explain"] = ("the chain rule of an expression, node by node, checked by finite "
                       "differences", _explain_arguments, explain_command)
