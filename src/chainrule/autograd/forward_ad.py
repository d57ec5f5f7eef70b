"""Forward-mode AD with dual numbers, PyTorch's ``torch.autograd.forward_ad`` API.

>>> import chainrule.autograd.forward_ad as fwAD
>>> x = chainrule.tensor([1.0, 2.0])
>>> with fwAD.dual_level():
...     y = chainrule.sin(fwAD.make_dual(x, chainrule.ones(2)))
...     fwAD.unpack_dual(y).tangent         # cos(x): d sin(x) in direction 1
tensor([0.5403, -0.4161])

A dual tensor carries its tangent for a level in ``tensor._meta["tx"]`` (see
``_levels``).  Each op's output tangent comes from the op's JVP rules in the
op table, evaluated during the forward pass (not by differentiating backward
twice).  The rules are written with ops, so the tangents are themselves
differentiable: nest ``dual_level()`` for forward-over-forward, or run backward
with ``create_graph=True`` inside a level for forward-over-reverse.
"""

from __future__ import annotations

from collections import namedtuple
from typing import Any, Callable, Sequence

import numpy as np

from .._tensor import Tensor, wrap
from . import _levels
from ._levels import Level, hidden, note_ans, payload, set_payload

__all__ = ["dual_level", "make_dual", "unpack_dual", "UnpackedDualTensor", "enter_dual_level",
           "exit_dual_level", "forward_jacobian"]

UnpackedDualTensor = namedtuple("UnpackedDualTensor", ["primal", "tangent"])


class ForwardLevel(Level):
    """A dual level: processes an op by computing its primal (lower levels only) then its tangent."""

    __slots__ = ()
    kind = "forward"

    def process(self, op: Any, args: tuple, params: dict, inner: Callable) -> Any:
        out = _levels.dispatch(op, args, params, inner)
        if not isinstance(out, Tensor) or not op.differentiable or out._data.dtype.kind not in "fc":
            return out
        # a gradient taken inside this level differentiates primals only: no graph for the
        # tangent rule of values it owns
        vals = _levels.unrecorded(tuple(args) + (out,), self)
        tan = op_tangent(op, vals[:-1], params, vals[-1], [payload(a, self) for a in args])
        if tan is not None:
            _set_tangent(out, self, tan)
            note_ans(out, op)
        return out


def op_tangent(op: Any, args: tuple, params: dict, out: Tensor, ts: Sequence[Any]) -> Any:
    """The output tangent of ``op``: its JVP rules summed over inputs with a tangent."""
    if all(t is None for t in ts):
        return None
    if op.jvp_all is not None:
        r = op.jvp_all
        tan = r.fn(tuple(ts), *op.resolve(r, args, params, out))
    elif op.jvps is not None:
        tan = None
        rules = op.jvps
        for i, t in enumerate(ts):
            if t is None or i >= len(rules) or rules[i] is None:
                continue
            r = rules[i]
            c = r.fn(t, *op.resolve(r, args, params, out))
            if c is None:
                continue
            tan = c if tan is None else tan + c
    else:
        raise RuntimeError(
            f"{op.public}(): this op has no forward-mode (JVP) rule; add one with defjvp() next to "
            "its VJP in chainrule/ops, or compute this derivative in reverse mode"
        )
    if tan is None:
        return None
    if not isinstance(tan, Tensor):
        tan = wrap(np.asarray(tan))
    shape = out._data.shape
    if tan._data.shape != shape:
        from ..ops.shape import broadcast_to

        tan = broadcast_to(tan, shape)  # a broadcast input's contribution
    if tan._data.dtype != out._data.dtype:
        from ..ops.elementwise import cast

        tan = cast(tan, out._data.dtype)
    return tan


def _set_tangent(t: Tensor, level: Level, tangent: Tensor) -> None:
    """Give ``t`` its tangent at ``level``.

    In-place ops keep it up to date (``_inplace`` rebinds a dual tensor to the result);
    writes that bypass the ops (``.data``, ``.numpy()``) change the primal only, as in PyTorch.
    """
    set_payload(t, level, tangent)


# ----------------------------------------------------------------------- API
def _current() -> ForwardLevel:
    for lvl in reversed(_levels.state.stack):
        if isinstance(lvl, ForwardLevel):
            return lvl
    raise RuntimeError(
        "make_dual()/unpack_dual() need an active dual level; use them inside "
        "`with chainrule.autograd.forward_ad.dual_level():`"
    )


def _level(level: Any) -> ForwardLevel:
    if level is None:
        return _current()
    if isinstance(level, ForwardLevel):
        return level
    for lvl in _levels.state.stack:
        if isinstance(lvl, ForwardLevel) and lvl.index == level:
            return lvl
    raise RuntimeError(f"no active dual level {level!r}")


def enter_dual_level() -> ForwardLevel:
    """Start a new (innermost) dual level; prefer ``with dual_level():``."""
    return _levels.push(ForwardLevel())


def exit_dual_level(*, level: Any = None) -> None:
    """End a dual level: its tangents become invisible on every tensor."""
    _levels.pop(_level(level))


class dual_level:
    """Context manager for a dual level; levels nest (forward-over-forward).

    Tangents made inside belong to this level and disappear when it exits.
    ``__enter__`` returns the level's index, as in PyTorch.
    """

    def __enter__(self) -> int:
        self.level = enter_dual_level()
        return self.level.index

    def __exit__(self, *exc: object) -> None:
        _levels.pop(self.level)


def _alias(t: Tensor, lvl: Level) -> Tensor:
    """A view of ``t`` (same storage, history kept) that does not carry ``lvl`` or inner levels."""
    from ..ops.shape import reshape

    with hidden(lvl):
        return reshape(t, t._data.shape)


def make_dual(tensor: Tensor, tangent: Any, *, level: Any = None) -> Tensor:
    """A view of ``tensor`` that carries ``tangent`` at ``level`` (default: the innermost).

    The tangent must have the primal's shape; it is cast to the primal's dtype.
    """
    lvl = _level(level)
    if not isinstance(tensor, Tensor):
        raise TypeError(f"make_dual(): expected a Tensor primal, got {type(tensor).__name__}")
    if tensor._data.dtype.kind not in "fc":
        raise RuntimeError(f"make_dual(): the primal must be floating point or complex, got {tensor.dtype}")
    if not isinstance(tangent, Tensor):
        tangent = wrap(np.asarray(tangent, dtype=tensor._data.dtype))
    if tangent._data.shape != tensor._data.shape:
        raise RuntimeError(
            f"make_dual(): the tangent has shape {tuple(tangent._data.shape)} but the primal has "
            f"shape {tuple(tensor._data.shape)}; they must be equal"
        )
    if payload(tensor, lvl) is not None and lvl.alive:
        raise RuntimeError("make_dual(): the primal already has a tangent at this level; "
                           "unpack_dual(x).primal gives it without one")
    if tangent._data.dtype != tensor._data.dtype:
        from ..ops.elementwise import cast

        tangent = cast(tangent, tensor._data.dtype)
    out = _alias(tensor, lvl)
    _set_tangent(out, lvl, tangent)
    return out


def unpack_dual(tensor: Any, *, level: Any = None) -> UnpackedDualTensor:
    """``(primal, tangent)``: a view without this level's tangent, and the tangent (or None)."""
    if not isinstance(tensor, Tensor):
        return UnpackedDualTensor(tensor, None)
    lvl = _level(level)
    tan = payload(tensor, lvl)
    if tan is None:
        return UnpackedDualTensor(tensor, None)
    return UnpackedDualTensor(_alias(tensor, lvl), tan)


# ------------------------------------------------------------------ gradcheck
def forward_jacobian(func: Callable, inputs: Sequence[Any]) -> list[list[np.ndarray]]:
    """``J[i][j]`` (output j, flattened, by input i, flattened) from forward mode: one JVP per
    input element, with a unit tangent on that element (used by ``gradcheck``)."""
    from .gradcheck import _diff_inputs, _outputs

    idx = _diff_inputs(inputs)
    with_grad = _outputs(func, inputs)
    jac = [[np.zeros((o._data.size, inputs[i]._data.size)) for o in with_grad] for i in idx]
    for a, i in enumerate(idx):
        x = inputs[i]
        for k in range(x._data.size):
            e = np.zeros(x._data.size, dtype=x._data.dtype)
            e[k] = 1
            with dual_level():
                args = list(inputs)
                args[i] = make_dual(x, wrap(e.reshape(x._data.shape)))
                for j, o in enumerate(_outputs(func, args)):
                    t = unpack_dual(o).tangent
                    if t is not None:
                        jac[a][j][:, k] = t._data.reshape(-1)
    return jac
