"""What the tracer swaps in while a trace runs: the places where values leave the op table.

Each replacement does exactly what the original does (the trace is an eager run) and tells
the tracer what happened.  Outside a trace (``current()`` is None) they call the original.
"""

from __future__ import annotations

import builtins
from typing import Any, Callable

import numpy as np

from .. import autograd, ops
from .._tensor import Tensor, _RetainGrad
from ..autograd import engine as _engine
from ..autograd.grad_mode import no_grad
from ..nn import _norm_functional as _nf
from ..nn import functional as F
from ..nn.module import Module
from ..nn.normalization import _BatchNorm
from ..ops import elementwise as ew
from ..ops import nn as _ops_nn
from ..random import Generator, default_generator
from . import _step
from .tracer import _print, current, quiet

__all__ = ["patches"]

_READS = ("item", "tolist", "__bool__", "__float__", "__int__", "__index__", "__repr__", "__format__")
_ORIG = {name: Tensor.__dict__[name] for name in _READS}
_ORIG_NUMPY = Tensor.__dict__["numpy"]
_ORIG_ARRAY = Tensor.__dict__["__array__"]
_ORIG_GEN_NUMPY = Generator.numpy
_ORIG_DROPOUT = _ops_nn.dropout
_ORIG_BN = _nf.batch_norm
_ORIG_BN_FORWARD = _BatchNorm.forward
_ORIG_AG_GRAD = autograd.grad
_ORIG_RUN_HOOKS = _engine._run_hooks
_ORIG_CALL_WITH_HOOKS = Module._call_with_hooks


def _reader(name: str) -> Callable:
    orig = _ORIG[name]

    def read(self: Tensor, *args: Any) -> Any:
        tr = current()
        with quiet(tr):
            value = orig(self, *args)
        if tr is not None and not tr.quiet:
            tr.check(self, name, args, value)
        return value

    read.__name__ = name
    return read


def _escaping(orig: Callable, what: str) -> Callable:
    def method(self: Tensor, *args: Any, **kw: Any) -> Any:
        tr = current()
        if tr is not None and not tr.quiet:
            tr.problem(what)
        return orig(self, *args, **kw)

    return method


def _gen_numpy(self: Generator) -> np.random.Generator:
    tr = current()
    if tr is not None and not tr.quiet:
        tr.problem("random numbers drawn outside dropout")
    return _ORIG_GEN_NUMPY(self)


def _dropout(input: Any, p: float = 0.5, training: bool = True, inplace: bool = False) -> Any:  # noqa: A002
    """ops.dropout, with the scale array recorded as a ``random`` node (redrawn every call)."""
    tr = current()
    if tr is None or tr.quiet or not training or not 0.0 < p < 1.0 or not isinstance(input, Tensor):
        return _ORIG_DROPOUT(input, p, training, inplace)
    shape, dtype = input._data.shape, input._data.dtype
    keep = default_generator._rng.random(shape) >= p  # the same draw as ops.nn.dropout
    scale = (keep / (1.0 - p)).astype(dtype)
    tr.bind(
        scale, tr.graph.add("random", shape=shape, dtype=scale.dtype, extra=p, phase=tr.phase, c_order=True)
    )
    return ew.mul(input, scale)


def _batch_norm(
    input: Tensor,
    running_mean: Any,
    running_var: Any,
    weight: Any = None,  # noqa: A002
    bias: Any = None,
    training: bool = False,
    momentum: float = 0.1,
    eps: float = 1e-5,
) -> Tensor:
    """batch_norm whose running-statistic update is computed with ops (so it is traced)."""
    tr = current()
    if tr is None or tr.quiet or not training or (running_mean is None and running_var is None):
        return _ORIG_BN(input, running_mean, running_var, weight, bias, training, momentum, eps)
    out = _ORIG_BN(input, None, None, weight, bias, True, momentum, eps)
    xs = input._data.shape
    c = xs[1]
    n = input._data.size // max(c, 1)
    with no_grad():
        mean, _, var = _nf._moments(input, (0,) + tuple(range(2, len(xs))))
        if running_mean is not None:
            _update(tr, running_mean, ops.reshape(mean, (c,)), momentum)
        if running_var is not None:
            _update(tr, running_var, ops.reshape(var, (c,)) * (n / (n - 1)), momentum)
    return out


def _update(tr: Any, running: Tensor, batch_value: Tensor, momentum: float) -> None:
    """The same arithmetic, in the same order, as ``_norm_functional._update``."""
    step = momentum * batch_value
    if step._data.dtype != running._data.dtype:
        step = step.to(running._data.dtype)
    tr.write(running, running * (1.0 - momentum) + step)


def _bn_forward(self: _BatchNorm, input: Tensor) -> Tensor:  # noqa: A002
    tr = current()
    count = self.num_batches_tracked
    if tr is None or tr.quiet or not (self.training and self.track_running_stats) or count is None:
        return _ORIG_BN_FORWARD(self, input)
    if self.momentum is None:
        tr.problem("BatchNorm with momentum=None (its factor is read from the counter in Python)")
    out = _ORIG_BN_FORWARD(self, input)
    tr.graph.effects.append(("add", count, (1,)))
    return out


def _run_hooks(hooks: list, g: Any, create_graph: bool, owner: str, shape: tuple, dtype: Any) -> Any:
    """Tensor hooks met by a traced backward run only now, on the tracing call: the compiled
    code would replay their ops but never their Python (a list they append to, a print), so
    the function runs eagerly.  ``retain_grad`` inside a ``backward()`` of the function is
    traced (its ``.grad`` is a value of the program).  Hooks on the compiled backward's
    sources are not met here: ``artefact._trace_backward`` leaves them to the engine, which
    runs them after the compiled backward on every call."""
    tr = current()
    if tr is not None and not tr.quiet:
        if any(tr.phase != "fwd" or not isinstance(h, _RetainGrad) for h in hooks):
            tr.problem(
                f"a gradient hook (register_hook) on {owner}: its Python would run on the tracing call only"
            )
        if tr.phase == "bwd":  # the compiled backward's trace, discarded now: the caller's
            return g  # backward of this (eager) call runs the hooks, once
    return _ORIG_RUN_HOOKS(hooks, g, create_graph, owner, shape, dtype)


def _call_with_hooks(self: Module, args: tuple, kwargs: dict) -> Any:
    tr = current()
    # (only chainrule.compile replays the program: fx.symbolic_trace and jit.trace are one-shot
    # traces, as PyTorch's, so there a hook runs once and its ops are recorded, by design --
    # tensorboard's add_graph relies on it to name the modules' scopes)
    if tr is not None and not tr.quiet and tr.dynamic_index:
        tr.problem(
            f"a hook on the module {type(self).__name__} (forward, forward pre- or full backward "
            "hook): its Python would run on the tracing call only"
        )
    return _ORIG_CALL_WITH_HOOKS(self, args, kwargs)


def _print_traced(*args: Any, **kw: Any) -> None:
    tr = current()
    if tr is None or tr.quiet:
        return _print(*args, **kw)
    with quiet(tr):
        _print(*args, **kw)
    if kw.get("file") is not None:
        tr.problem("print() to a file")
    mapped = tuple(("t", tr.node_of(a)) if isinstance(a, Tensor) else ("c", a) for a in args)
    tr.graph.effects.append(("print", kw, tuple(_ref(m) if m[0] == "t" else m[1] for m in mapped)))


def _ref(m: tuple) -> Any:
    from .ir import Ref

    return Ref(m[1])


_FACTORIES = (
    "zeros",
    "ones",
    "full",
    "empty",
    "eye",
    "arange",
    "linspace",
    "logspace",
    "scalar_tensor",
    "empty_strided",
    "tensor",
    "as_tensor",
    "asarray",
    "from_numpy",
)
_LIKE = ("zeros_like", "ones_like", "full_like", "empty_like")


def _factory(orig: Callable, shape_only: bool) -> Callable:
    """A factory whose result is a constant of the trace (unless it copied a traced tensor)."""

    def make(*args: Any, **kw: Any) -> Any:
        out = orig(*args, **kw)
        tr = current()
        if tr is not None and not tr.quiet and isinstance(out, Tensor):
            data_args = args[1:] if shape_only else args
            if not any(isinstance(a, Tensor) for a in data_args):
                tr.constants.add(id(out))
                tr.constants.add(id(out._data))  # its array, passed as an op's index, too
                tr.keep.append(out)
                if args and isinstance(args[0], np.ndarray) and np.shares_memory(args[0], out._data):
                    tr.shared.add(id(out))  # from_numpy / as_tensor: read by reference
        return out

    make.__name__ = orig.__name__
    return make


def patches() -> list[tuple[Any, str, Any]]:
    """(owner, attribute, replacement) for every swap made while tracing."""
    out: list[tuple[Any, str, Any]] = [(Tensor, name, _reader(name)) for name in _READS]
    out += [
        (Tensor, "__str__", _reader("__repr__")),
        (Tensor, "numpy", _escaping(_ORIG_NUMPY, "the array read by .numpy()")),
        (Tensor, "__array__", _escaping(_ORIG_ARRAY, "the array read by NumPy (__array__)")),
        (Generator, "numpy", _gen_numpy),
        (_ops_nn, "dropout", _dropout),
        (ops, "dropout", _dropout),
        (_nf, "batch_norm", _batch_norm),
        (F, "batch_norm", _batch_norm),
        (_BatchNorm, "forward", _bn_forward),
        (builtins, "print", _print_traced),
        (_engine, "_run_hooks", _run_hooks),
        (Module, "_call_with_hooks", _call_with_hooks),
    ]
    out += _step.patches()  # backward(), zero_grad(), optimizer.step() inside the function
    import chainrule

    from .. import _creation

    for name in _FACTORIES + _LIKE:
        made = _factory(getattr(_creation, name), name in _LIKE)
        out += [(_creation, name, made), (chainrule, name, made)]
    return out
