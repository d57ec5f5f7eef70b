"""``chainrule.compile``: PyTorch's entry point, over the tracer, the passes and codegen.

A compiled callable keeps a small cache of artefacts per guard key (``guards.py``).  A
call whose key is new traces the function (that call runs eagerly, so it returns eager's
results) and stores the artefact; a call with a known key runs the generated code.
Graph breaks -- Python reading a tensor's value -- are checks inside the generated code:
if the value differs from the traced one, that call runs eagerly and a second artefact is
traced for the new value (up to the cache limit).  What the compiler cannot replay at all
(random draws outside dropout, ``.numpy()``, a parameter read after ``opt.step()``, ...) makes
that guard key eager; ``fullgraph=True`` turns every such case into an error naming the
source line.
"""

from __future__ import annotations

import functools
import warnings
import weakref
from typing import Any, Callable

from .._tensor import Tensor
from ..autograd import _levels
from .artefact import Artefact, Mismatch, build
from .guards import Guards

__all__ = ["compile", "Compiled", "OptimizedModule", "config", "reset"]


class _Config:
    """``chainrule.compiler.config``: the cache size limit (PyTorch's ``cache_size_limit``)."""

    cache_size_limit: int = 8


config = _Config()
_ALL: weakref.WeakSet = weakref.WeakSet()  # for reset()


class _Entry:
    __slots__ = ("artefacts", "eager_reason", "breaks")

    def __init__(self) -> None:
        self.artefacts: list[Artefact] = []
        self.eager_reason: str | None = None
        self.breaks: list[str] = []


class Compiled:
    """A function (or a module's call) compiled by ``chainrule.compile``."""

    def __init__(
        self,
        fn: Callable,
        fullgraph: bool = False,
        dynamic: Any = None,
        backend: str = "numpy",
        mode: Any = None,
        options: dict | None = None,
        module: Any = None,
    ) -> None:
        if backend not in ("numpy", "numba", "inductor", "eager", "aot_eager"):
            raise ValueError(
                f"chainrule.compile: unknown backend {backend!r}; chainrule generates NumPy code "
                "(backend='numpy'; 'inductor' is accepted as its alias for PyTorch scripts), or "
                "NumPy code with its elementwise chains compiled by Numba (backend='numba')"
            )
        if backend == "numba":
            from .backends.numba import require

            require()  # the extra is missing: say so now, not at the first call
        self.fn = fn
        self.fullgraph = fullgraph
        self.dynamic = dynamic
        self.backend = backend
        self.mode = mode
        self.options = dict(options or {})
        self.guards = Guards(getattr(fn, "__func__", fn), module)
        self.module = module
        self.cache: dict[tuple, _Entry] = {}
        self.traces = 0  # how many times the function was traced (tests count these)
        self.warned = False
        functools.update_wrapper(self, fn, updated=())
        _ALL.add(self)

    # ------------------------------------------------------------------ calling
    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if self.backend == "eager" or _levels.state.stack:
            return self.fn(*args, **kwargs)  # under vmap/jvp: the transforms see every op
        from .tracer import current

        if current() is not None:  # inside another compiled function's trace: inline
            return self.fn(*args, **kwargs)
        key, leaves = self.guards.key_and_leaves(args, kwargs)
        entry = self.cache.get(key)
        if entry is None:
            if len(self.cache) >= config.cache_size_limit:
                return self._over_limit(args, kwargs, "new guard values (shapes, dtypes, flags)")
            entry = self.cache[key] = _Entry()
        if entry.eager_reason is not None:
            return self.fn(*args, **kwargs)
        tensors = leaves if type(leaves) is tuple else [v for v in leaves if isinstance(v, Tensor)]
        for art in entry.artefacts:
            try:
                return art.run(tensors)
            except Mismatch:
                continue
        if len(entry.artefacts) >= config.cache_size_limit:
            return self._over_limit(args, kwargs, "a graph-break value changed on every call")
        places: dict = {}
        known = self.guards.known_tensors(args, kwargs, places)
        result, art, tr = build(
            self.fn, args, kwargs, known, self.fullgraph, self.backend, dynamic_index=True, places=places
        )
        self.traces += 1
        if art is None:
            entry.eager_reason = "; ".join(tr.problems)
        else:
            entry.artefacts.append(art)
            entry.breaks = [f"{how}() at {line}" for _, (how, _), _, line in art.graph.checks]
        return result

    def _over_limit(self, args: tuple, kwargs: dict, why: str) -> Any:
        if not self.warned:
            self.warned = True
            name = getattr(self.fn, "__qualname__", repr(self.fn))
            warnings.warn(
                f"chainrule.compile: {name} hit the cache size limit "
                f"({config.cache_size_limit} variants) because of {why}; it runs eagerly from "
                "now on (raise chainrule.compiler.config.cache_size_limit, or mark the changing "
                "value as a tensor argument)",
                stacklevel=3,
            )
        return self.fn(*args, **kwargs)

    # ------------------------------------------------------------------ inspection
    def artefacts(self) -> list[Artefact]:
        return [a for e in self.cache.values() for a in e.artefacts]

    @property
    def code(self) -> str:
        """The generated source of the most recent artefact."""
        arts = self.artefacts()
        if not arts:
            raise RuntimeError("chainrule.compile: nothing compiled yet; call the function once first")
        return arts[-1].code

    @property
    def graph(self) -> Any:
        arts = self.artefacts()
        if not arts:
            raise RuntimeError("chainrule.compile: nothing compiled yet; call the function once first")
        return arts[-1].graph

    def reset(self) -> None:
        self.cache.clear()
        self.warned = False

    def __get__(self, obj: Any, objtype: Any = None) -> Any:
        """As a decorator on a method: bind ``self`` (one compiled callable per instance)."""
        if obj is None:
            return self
        name = f"_compiled_{id(self)}"
        bound = obj.__dict__.get(name)
        if bound is None:
            from ..nn.module import Module

            bound = Compiled(
                self.fn.__get__(obj, objtype),
                self.fullgraph,
                self.dynamic,
                self.backend,
                self.mode,
                self.options,
                module=obj if isinstance(obj, Module) else None,  # its state is guarded
            )
            obj.__dict__[name] = bound
        return bound

    def __repr__(self) -> str:
        return f"<chainrule.compile of {getattr(self.fn, '__qualname__', self.fn)!r}>"


def _module_call(module: Any) -> Callable:
    from ..nn.module import Module

    def call(*args: Any, **kwargs: Any) -> Any:
        return Module._call_uncompiled(module, *args, **kwargs)

    call.__qualname__ = f"{type(module).__name__}.__call__"
    return call


def _optimized_module_class() -> type:
    from ..nn.module import Module

    class OptimizedModule(Module):
        """What ``chainrule.compile(module)`` returns: calls run compiled, the rest is the module's.

        As PyTorch's: ``_orig_mod`` is the original module, state_dict keys are prefixed with
        ``_orig_mod.``, and attribute reads fall through to the original module."""

        def __init__(self, mod: Module, compiled: Compiled) -> None:
            super().__init__()
            self._orig_mod = mod
            self.__dict__["_compiled"] = compiled

        def forward(self, *args: Any, **kwargs: Any) -> Any:
            return self.__dict__["_compiled"](*args, **kwargs)

        def __call__(self, *args: Any, **kwargs: Any) -> Any:
            return self.__dict__["_compiled"](*args, **kwargs)

        def __getattr__(self, name: str) -> Any:
            try:
                return super().__getattr__(name)
            except AttributeError:
                return getattr(self._modules["_orig_mod"], name)

        def __repr__(self) -> str:
            return f"OptimizedModule(\n  (_orig_mod): {self._orig_mod!r}\n)".replace("\n)\n)", "\n)\n)")

    return OptimizedModule


_OPT_CLASS: list = []


def OptimizedModule(mod: Any, compiled: Compiled) -> Any:  # noqa: N802 - a class factory
    if not _OPT_CLASS:
        _OPT_CLASS.append(_optimized_module_class())
    return _OPT_CLASS[0](mod, compiled)


def compile(  # noqa: A001 - PyTorch's name
    model: Any = None,
    *,
    fullgraph: bool = False,
    dynamic: bool | None = None,
    backend: str = "numpy",
    mode: str | None = None,
    options: dict | None = None,
    disable: bool = False,
) -> Any:
    """Compile a function or module: trace it, optimise the graph, run generated code.

    ``chainrule.compile(fn)``, ``@chainrule.compile``, ``@chainrule.compile(fullgraph=True)``
    and ``chainrule.compile(module)`` as in PyTorch.  ``backend="numpy"`` (the default; the
    generated code calls the op table's NumPy forwards); ``mode`` and ``dynamic`` are
    accepted for PyTorch scripts (every new shape retraces, as ``dynamic=False``)."""
    kw = dict(fullgraph=fullgraph, dynamic=dynamic, backend=backend, mode=mode, options=options)
    if model is None:
        return lambda m: compile(m, disable=disable, **kw)
    if disable:
        return model
    from ..nn.module import Module

    if isinstance(model, Module):
        return OptimizedModule(model, Compiled(_module_call(model), module=model, **kw))
    if not callable(model):
        raise TypeError(f"chainrule.compile: expected a function or an nn.Module, got {type(model).__name__}")
    return Compiled(model, **kw)


def reset() -> None:
    """Forget every compiled artefact (``torch._dynamo.reset`` / ``torch.compiler.reset``)."""
    for c in _ALL:
        c.reset()
