"""Reverse-mode automatic differentiation: ``backward``, ``grad``, grad modes, gradcheck.

``y.backward()`` accumulates dy/dx into the ``.grad`` of every leaf ``x``;
``autograd.grad(y, xs)`` returns the gradients instead.  Both walk the graph
recorded by the ops (see ``engine``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._tensor import Tensor, _refresh_view, wrap
from ..dtypes import kind
from . import _grad_dtype, _levels, graph
from .engine import run_backward
from .grad_mode import (
    enable_grad,
    inference_mode,
    is_grad_enabled,
    is_inference_mode_enabled,
    no_grad,
    set_grad_enabled,
)

__all__ = [
    "backward",
    "grad",
    "no_grad",
    "enable_grad",
    "set_grad_enabled",
    "inference_mode",
    "is_grad_enabled",
    "is_inference_mode_enabled",
    "gradcheck",
    "gradgradcheck",
    "graph",
]


def _as_list(x: Any) -> list:
    if x is None:
        return []
    if isinstance(x, Tensor):
        return [x]
    return list(x)


def _why_no_grad(t: Tensor, index: int, total: int) -> RuntimeError:
    which = "the tensor" if total == 1 else f"output {index}"
    meta = t._meta or {}
    if meta.get("detached"):
        why = ("it was detached from the graph (detach() or .data); backpropagate through the "
               "tensor before detaching")
    elif meta.get("no_grad"):
        why = ("it was computed while grad mode was off (inside no_grad() or inference_mode()); "
               "compute it outside that block")
    elif kind(t._data.dtype) not in "fc":
        why = f"its dtype {t._data.dtype} is not floating point, so it cannot carry a gradient"
    else:
        why = ("none of the tensors it was computed from requires grad; call "
               ".requires_grad_() on the inputs you want gradients for")
    return RuntimeError(
        f"backward(): {which} (shape {tuple(t._data.shape)}) does not require grad and has no "
        f"grad_fn: {why}."
    )


def _seed(t: Tensor, g: Any, index: int, total: int, op: str) -> Any:
    """The starting gradient for one output, checked against its shape and dtype."""
    name = t.grad_fn.name() if t.grad_fn is not None else "a leaf tensor"
    shape = tuple(t._data.shape)
    if g is None:
        if t._data.size != 1:
            raise RuntimeError(
                f"{op}() needs a scalar output, got shape {shape}; call y.sum().{op}() or pass "
                f"gradient= with shape {shape}" if op == "backward" else
                f"grad() can be implicitly created only for scalar outputs, got shape {shape}; "
                f"pass grad_outputs= with shape {shape}"
            )
        from ..ops._core import structural  # (ops imports autograd)

        return structural(np.ones(t._data.shape, dtype=t._data.dtype))
    gd = g._data if isinstance(g, Tensor) else np.asarray(g)
    if tuple(gd.shape) != shape:
        raise RuntimeError(
            f"{op}(): gradient has shape {tuple(gd.shape)} but the output ({name}) has shape "
            f"{shape}; pass a gradient with the output's shape"
        )
    if kind(gd.dtype) not in "fc":
        raise RuntimeError(
            f"{op}(): gradient has dtype {gd.dtype} but the output ({name}) is {t._data.dtype}; "
            "gradients must be floating point"
        )
    if isinstance(g, Tensor) and (g._rg or _levels.has_levels(g)):
        return g  # a gradient with history, or a tangent/batch (func transforms): keep the Tensor
    return gd if gd.dtype == t._data.dtype else gd.astype(t._data.dtype)


def _fresh(outs: list) -> list:
    """Outputs that are views of a base written since: their history regenerated first."""
    for t in outs:
        if isinstance(t, Tensor) and t._base is not None:
            _refresh_view(t)
    return outs


def backward(
    tensors: Any,
    grad_tensors: Any = None,
    retain_graph: bool | None = None,
    create_graph: bool = False,
    grad_variables: Any = None,
    inputs: Any = None,
) -> None:
    """Accumulate the gradients of ``tensors`` into the ``.grad`` of the leaves of their graph."""
    outs, gs = _roots(tensors, grad_tensors if grad_tensors is not None else grad_variables)
    seeds = [_seed(t, g, i, len(outs), "backward") for i, (t, g) in enumerate(zip(outs, gs))]
    if create_graph:
        seeds = [s if isinstance(s, Tensor) else wrap(s) for s in seeds]
    if retain_graph is None:
        retain_graph = create_graph
    only = _as_list(inputs) or None
    if only is not None:
        for t in only:
            if not t._rg:
                raise RuntimeError("backward(): every tensor in inputs= must require grad")
    with_graph = run_backward(outs, seeds, bool(retain_graph), bool(create_graph), inputs=only)
    if any(_in_cycle(leaf) for leaf in with_graph):
        import warnings

        warnings.warn(
            "backward(create_graph=True) stored gradients that carry a graph referencing the "
            "leaves themselves (a reference cycle leaf -> .grad -> graph -> leaf), which only the "
            "garbage collector can free. Set .grad = None when you are done with it, or use "
            "chainrule.autograd.grad(..., create_graph=True), which does not store into .grad.",
            UserWarning,
            stacklevel=3 if not isinstance(tensors, Tensor) else 4,
        )


def _roots(tensors: Any, grad_tensors: Any) -> tuple[list, list]:
    """``backward()``'s outputs (stale views regenerated) and one gradient (or None) each,
    checked: every output must require grad."""
    outs = _fresh(_as_list(tensors))
    gs = _as_list(grad_tensors) or [None] * len(outs)
    if len(gs) != len(outs):
        raise RuntimeError(f"backward(): got {len(outs)} tensors but {len(gs)} gradients")
    for i, t in enumerate(outs):
        if not t._rg:
            raise _why_no_grad(t, i, len(outs))
    return outs, gs


def _in_cycle(leaf: Tensor) -> bool:
    """Does ``leaf.grad``'s graph lead back to ``leaf`` (leaf -> .grad -> nodes -> leaf)?

    Only then does ``backward(create_graph=True)`` leave memory that reference counting
    cannot free.  Follows what keeps objects alive: a node's inputs and saved tensors
    (custom Function contexts included), a tensor's history, base and own ``.grad``.
    """
    g = leaf._grad
    if g is None or not g._rg:
        return False
    seen: set = set()
    stack: list = [g.grad_fn]
    while stack:
        obj = stack.pop()
        if obj is None or id(obj) in seen:
            continue
        seen.add(id(obj))
        if obj is leaf:
            return True
        if isinstance(obj, Tensor):
            stack.extend((obj.grad_fn, obj._grad, obj._base))
        elif isinstance(obj, (tuple, list)):
            stack.extend(obj)
        elif isinstance(obj, graph.Node):
            stack.extend(obj.parents)
            if obj.saved:
                stack.extend(obj.saved)
        elif hasattr(obj, "__dict__") and not isinstance(obj, type):  # a custom Function's ctx
            stack.extend(v for v in vars(obj).values() if isinstance(v, (Tensor, tuple, list)))
    return False


def grad(
    outputs: Any,
    inputs: Any,
    grad_outputs: Any = None,
    retain_graph: bool | None = None,
    create_graph: bool = False,
    only_inputs: bool = True,
    allow_unused: bool | None = None,
    is_grads_batched: bool = False,
    materialize_grads: bool = False,
) -> tuple:
    """Gradients of ``outputs`` with respect to ``inputs``, returned (``.grad`` is not touched)."""
    outs = _fresh(_as_list(outputs))
    ins = _as_list(inputs)
    gs = _as_list(grad_outputs) or [None] * len(outs)
    if len(gs) != len(outs):
        raise RuntimeError(f"grad(): got {len(outs)} outputs but {len(gs)} grad_outputs")
    if is_grads_batched:
        raise NotImplementedError("grad(is_grads_batched=True): use chainrule.func.vmap over vjp instead")
    for i, t in enumerate(ins):
        if not isinstance(t, Tensor):
            raise TypeError(f"grad(): inputs[{i}] is {type(t).__name__}, expected a Tensor")
        if not t._rg:
            raise RuntimeError(
                f"grad(): input {i} (shape {tuple(t._data.shape)}) does not require grad; call "
                ".requires_grad_() on it before computing the outputs"
            )
    if materialize_grads and allow_unused is False:
        raise ValueError("grad(): materialize_grads=True needs allow_unused to be True or None")
    allow_unused = bool(allow_unused) or materialize_grads
    kept_outs, kept_gs = [], []
    for i, (t, g) in enumerate(zip(outs, gs)):
        if not t._rg:
            if allow_unused:
                continue
            raise _why_no_grad(t, i, len(outs))
        kept_outs.append(t)
        kept_gs.append(_seed(t, g, i, len(outs), "grad"))
    if create_graph:
        kept_gs = [s if isinstance(s, Tensor) else wrap(s) for s in kept_gs]
    if retain_graph is None:
        retain_graph = create_graph
    if kept_outs:
        res = run_backward(kept_outs, kept_gs, bool(retain_graph), bool(create_graph), inputs=ins,
                           capture=True)
    else:
        res = [None] * len(ins)
    out = []
    for i, (t, g) in enumerate(zip(ins, res)):
        if g is None:
            if materialize_grads:
                out.append(wrap(np.zeros_like(t._data)))
                continue
            if not allow_unused:
                raise RuntimeError(
                    f"grad(): input {i} (shape {tuple(t._data.shape)}) was not used to compute the "
                    "outputs, so it has no gradient. Pass allow_unused=True to get None for it."
                )
            out.append(None)
        elif isinstance(g, Tensor):
            out.append(g)
        else:
            arr = np.array(g, dtype=_grad_dtype.grad_np_dtype(t, g), copy=True)  # (Tensor.grad_dtype)
            if arr.shape != t._data.shape:
                arr = np.broadcast_to(arr, t._data.shape).copy()
            out.append(wrap(arr))
    return tuple(out)


from .anomaly import detect_anomaly, is_anomaly_enabled, set_detect_anomaly  # noqa: E402,F401
from .gradcheck import GradcheckError, gradcheck, gradgradcheck  # noqa: E402,F401

__all__ += ["detect_anomaly", "set_detect_anomaly", "is_anomaly_enabled"]

from . import forward_ad, function  # noqa: E402,F401
from .function import Function, FunctionCtx, once_differentiable  # noqa: E402,F401

__all__ += ["forward_ad", "function", "Function", "FunctionCtx", "once_differentiable"]
