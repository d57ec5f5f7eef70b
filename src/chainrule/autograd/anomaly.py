"""Anomaly detection: find the op whose gradient first went NaN/Inf, and the line that made it.

>>> with chainrule.autograd.detect_anomaly():
...     loss = model(x); loss.backward()
RuntimeError: detect_anomaly: SqrtBackward0 returned nan values in the gradient for its input 0 ...

While on (per thread), every node records where it was created: the first
frame outside chainrule, i.e. the user's line.  During backward each gradient
a node produces is checked before it is passed on; the first non-finite one
raises ``AnomalyError`` naming the node, the input, its shape, and the forward
line.  A NaN gradient is often the echo of a NaN *value* made earlier in the
forward pass (``h = sqrt(negative)``, then ``h @ W`` has a NaN gradient for
``W``), so nodes whose output went non-finite from finite inputs are also
marked, and the error names the earliest such op behind the failing node.

Off (the default) nothing is recorded and backward checks one flag per call.
"""

from __future__ import annotations

import functools
import linecache
import math
import os
import sys
from typing import Any, Callable, TypeVar

import numpy as np

from .._tensor import Tensor
from ._switch import Switch
from .grad_mode import state

__all__ = ["detect_anomaly", "set_detect_anomaly", "is_anomaly_enabled",
           "is_anomaly_check_nan_enabled", "AnomalyError"]

F = TypeVar("F", bound=Callable[..., Any])
_PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_DEPTH = 6  # user frames kept per node


class AnomalyError(RuntimeError):
    """A node produced a NaN/Inf gradient; ``node``, ``input_index``, ``frames`` say where."""

    def __init__(self, message: str, node: Any, input_index: int, frames: list, origin: Any) -> None:
        super().__init__(message)
        self.node = node
        self.input_index = input_index
        self.frames = frames  # [(filename, lineno, function), ...], innermost first
        self.origin = origin  # the node whose forward output first went non-finite, or None


def is_anomaly_enabled() -> bool:
    return state.anomaly


def is_anomaly_check_nan_enabled() -> bool:
    return state.anomaly and state.anomaly_check_nan


class detect_anomaly:
    """Turn anomaly detection on for a block or a function (``@detect_anomaly()``)."""

    def __init__(self, check_nan: bool = True) -> None:
        self.check_nan = check_nan

    def __enter__(self) -> None:
        self._prev = (state.anomaly, state.anomaly_check_nan)
        _set(True, self.check_nan)

    def __exit__(self, *exc: object) -> None:
        _set(*self._prev)

    def __call__(self, fn: F) -> F:
        check_nan = self.check_nan

        @functools.wraps(fn)
        def wrapper(*a: Any, **k: Any) -> Any:
            with detect_anomaly(check_nan):
                return fn(*a, **k)

        return wrapper  # type: ignore[return-value]


class set_detect_anomaly:
    """``set_detect_anomaly(True)`` switches it on for this thread (also usable in ``with``)."""

    def __init__(self, mode: bool, check_nan: bool = True) -> None:
        self._prev = (state.anomaly, state.anomaly_check_nan)
        _set(bool(mode), check_nan)

    def __enter__(self) -> None:
        pass

    def __exit__(self, *exc: object) -> None:
        _set(*self._prev)


# ------------------------------------------------------------------ switching
def _set(mode: bool, check_nan: bool) -> None:
    """Switch this thread's anomaly mode; the wrapper and tap exist while any thread has it on."""
    was = state.anomaly
    state.anomaly = mode
    state.anomaly_check_nan = bool(check_nan)
    if was != mode:
        _switch.on() if mode else _switch.off()


# ------------------------------------------------------------------ forward
def _user_frames() -> list:
    """The call stack outside chainrule, innermost first (file, line, function)."""
    out = []
    f: Any = sys._getframe(2)
    while f is not None and len(out) < _DEPTH:
        code = f.f_code
        if not os.path.abspath(code.co_filename).startswith(_PACKAGE_DIR + os.sep):
            out.append((code.co_filename, f.f_lineno, code.co_name))
        f = f.f_back
    return out


def _finite(a: Any) -> bool:
    if isinstance(a, Tensor):
        a = a._data
    if isinstance(a, np.ndarray):
        return a.dtype.kind not in "fc" or bool(np.isfinite(a).all())
    if isinstance(a, float):
        return math.isfinite(a)
    return True


def _wrapper(op: Any, args: tuple, params: dict, inner: Any) -> Any:
    out = inner(op, args, params)
    if not state.anomaly:
        return out
    node = getattr(out, "grad_fn", None)
    if node is None or node.op is not op:
        return out
    meta = node.meta
    if meta is None:
        meta = node.meta = {}
    elif "trace" in meta:  # recorded already, by a nested apply of the same op
        return out
    meta["trace"] = _user_frames()
    if state.anomaly_check_nan and not _finite(out) and all(_finite(a) for a in args):
        meta["nonfinite_origin"] = True
    return out


# ------------------------------------------------------------------ backward
def _tap() -> Any:
    return _checker if state.anomaly and state.anomaly_check_nan else None


class _Checker:
    """Checks every gradient a node produces before it is passed on (stateless: one for all)."""

    def __call__(self, node: Any, g: Any, seen: list) -> None:
        pass  # the engine calls every observer after each node; all the work is in check_grad

    def check_grad(self, node: Any, i: int, parent: Any, gi: Any) -> None:
        if _finite(gi):
            return
        data = gi._data if isinstance(gi, Tensor) else np.asarray(gi)
        what = "nan" if np.isnan(data).any() else "inf"
        frames = (node.meta or {}).get("trace") or []
        origin = _origin(node)
        lines = [
            f"detect_anomaly: {node.name()} returned {what} values in the gradient for its input {i} "
            f"(shape {tuple(data.shape)}, {data.dtype}; the op's output had shape "
            f"{tuple(node.out_shape)}).",
        ]
        op_name = getattr(node.op, "public", node.name())
        if frames:
            lines.append(f"The {op_name} that made this node was called at (forward pass):")
            lines += _format(frames)
        else:
            lines.append("Its forward call was not recorded (it ran before anomaly mode was on).")
        if origin is not None and origin is not node:
            ofr = (origin.meta or {}).get("trace") or []
            lines.append(
                f"The gradient is non-finite because the forward values already were: "
                f"{getattr(origin.op, 'public', origin.name())} ({origin.name()}) was the first op "
                "behind it to turn finite inputs into NaN/Inf, at:"
            )
            lines += _format(ofr)
        raise AnomalyError("\n".join(lines), node, i, frames, origin)


_checker = _Checker()


def _origin(node: Any) -> Any:
    """The earliest node at or behind ``node`` whose forward output went non-finite first."""
    best = None
    seen = {id(node)}
    stack = [node]
    while stack:
        n = stack.pop()
        if n.meta and n.meta.get("nonfinite_origin") and (best is None or n.seq < best.seq):
            best = n
        for p in getattr(n, "parents", ()):
            if p is not None and not isinstance(p, Tensor) and id(p) not in seen:
                seen.add(id(p))
                stack.append(p)
    return best


def _format(frames: list) -> list:
    out = []
    for filename, lineno, name in frames[:3]:
        out.append(f'  File "{filename}", line {lineno}, in {name}')
        src = linecache.getline(filename, lineno).strip()
        if src:
            out.append(f"    {src}")
    return out


_switch = Switch(_wrapper, _tap)
