"""``chainrule.compiler``: PyTorch's ``torch.compiler`` names around ``chainrule.compile``.

``explain(fn, *args)`` compiles ``fn`` afresh, calls it once and reports what the compiler
made of it: the graphs (tables, after the passes), the graph breaks with their source
lines, the reasons a call runs eagerly, the guards, and the generated code.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Any, Callable

from .compile import api as _api
from .compile.guards import describe

__all__ = ["explain", "ExplainOutput", "reset", "disable", "is_compiling", "config"]

config = _api.config


@dataclass
class ExplainOutput:
    """What one call of a compiled function was turned into."""

    graphs: list = field(default_factory=list)
    graph_count: int = 0
    graph_break_count: int = 0
    break_reasons: list = field(default_factory=list)
    eager_reasons: list = field(default_factory=list)
    guards: list = field(default_factory=list)
    code: list = field(default_factory=list)
    passes: list = field(default_factory=list)
    ops_per_graph: list = field(default_factory=list)

    def __str__(self) -> str:
        out = [
            f"Graph Count: {self.graph_count}",
            f"Graph Break Count: {self.graph_break_count}",
            f"Op Count: {sum(self.ops_per_graph)}",
        ]
        if self.break_reasons:
            out.append("Break Reasons:")
            out += [f"  {r}" for r in self.break_reasons]
        if self.eager_reasons:
            out.append("Runs eagerly because:")
            out += [f"  {r}" for r in self.eager_reasons]
        out.append("Guards:")
        out += [f"  {g}" for g in self.guards]
        for k, g in enumerate(self.graphs):
            out += [f"Graph {k}:", str(g)]
        for k, c in enumerate(self.code):
            out += [f"Code {k}:", c]
        return "\n".join(out)


def explain(fn: Callable, *args: Any, **kwargs: Any) -> ExplainOutput:
    """Compile ``fn`` (a function or module), call it once on ``args`` and report."""
    if isinstance(fn, _api.Compiled):  # already compiled: explain the function it compiles
        fn = fn.fn
    compiled = _api.compile(fn)
    inner = compiled.__dict__["_compiled"] if "_compiled" in getattr(compiled, "__dict__", {}) else compiled
    compiled(*args, **kwargs)
    res = ExplainOutput()
    for key, entry in inner.cache.items():
        res.guards += describe(key)
        if entry.eager_reason:
            res.eager_reasons += entry.eager_reason.split("; ")
        for art in entry.artefacts:
            res.graphs.append(art.graph)
            res.code.append(art.code)
            res.passes.append(art.passes)
            res.ops_per_graph.append(sum(1 for n in art.graph.live() if n.kind == "op"))
            for _, (how, _), _, line in art.graph.checks:
                res.break_reasons.append(f"data-dependent Python: {how}() at {line}")
    res.graph_count = len(res.graphs)
    res.graph_break_count = len(res.break_reasons)
    return res


def reset() -> None:
    """Forget every compiled artefact (the next calls trace again)."""
    _api.reset()


def disable(fn: Callable | None = None, recursive: bool = True) -> Any:
    """Run ``fn`` eagerly even when called from a compiled function (a decorator, as PyTorch's)."""
    if fn is None:
        return functools.partial(disable, recursive=recursive)
    from .compile.tracer import current, quiet

    @functools.wraps(fn)
    def eager(*args: Any, **kwargs: Any) -> Any:
        tr = current()
        if tr is not None:
            tr.problem(f"{getattr(fn, '__qualname__', fn)} is marked chainrule.compiler.disable")
            with quiet(tr):
                return fn(*args, **kwargs)
        return fn(*args, **kwargs)

    return eager


def is_compiling() -> bool:
    """True while chainrule.compile is tracing (code can branch on it, as in PyTorch)."""
    from .compile.tracer import current

    return current() is not None
