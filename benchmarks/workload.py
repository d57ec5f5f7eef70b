"""What a benchmark is: per library, a setup that returns the step to time."""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import Any, Callable


@dataclass
class Workload:
    """``libs[name]()`` builds the inputs and returns a zero-argument ``step`` to time.

    ``per`` divides the step time into the reported unit (e.g. ops per step for
    µs/op); ``rate`` flips the unit into a rate (steps/s).  With
    ``measure="rss"`` the step runs once and the result is the process's peak
    resident memory in MiB (each library runs in a fresh process).
    """

    name: str
    description: str
    unit: str
    libs: dict[str, Callable[[], Callable[[], object]]] = field(default_factory=dict)
    per: float = 1.0
    scale: float = 1.0
    rate: bool = False
    repeats: int = 30
    warmup: int = 5
    target: str = ""
    measure: str = "time"

    def report(self, seconds: float) -> float:
        if self.measure == "rss":
            return seconds  # already MiB
        value = seconds / self.per
        return 1.0 / value if self.rate else value * self.scale


def chainrule_and_torch(build: Callable[[Any], Callable[[], object]]) -> dict:
    """``libs`` entries for a setup written once against the common API: ``build(T)`` with
    ``T = chainrule`` and ``T = torch`` (each imported only in its own process)."""
    return {lib: (lambda lib=lib: build(importlib.import_module(lib))) for lib in ("chainrule", "torch")}


REGISTRY: dict[str, Workload] = {}


def register(w: Workload) -> Workload:
    REGISTRY[w.name] = w
    return w


SECTIONS: dict[str, Callable[[], list[str]]] = {}  # extra report sections (markdown lines)


def register_section(name: str, fn: Callable[[], list[str]]) -> None:
    """``fn()`` measures in its own fresh process and returns markdown lines for the report."""
    SECTIONS[name] = fn
