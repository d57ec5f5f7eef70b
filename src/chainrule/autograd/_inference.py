"""Inference tensors: made inside ``inference_mode``, refused where autograd would need them.

A tensor made while inference mode is on gets an ``InferenceVersion`` cell as its version
counter: ``_tensor._init`` gives it to new leaves (factories, ``wrap``), and ops' results get it
from an op wrapper installed only while some thread is in inference mode, so ops outside it pay
nothing.  Views share the cell, so "a view of an inference tensor is one" needs no extra code.
Outside inference mode, ``_core._save`` refuses to save one for backward, ``_inplace`` refuses to
write into one and ``requires_grad_`` to make one require grad, with PyTorch's messages.
"""

from __future__ import annotations

from typing import Any, Callable

from ._switch import Switch

__all__ = ["InferenceVersion", "is_inference", "inference_error", "switch"]


class InferenceVersion(list):
    """The version cell of a tensor made in inference mode (its views share it): ``is_inference``."""


def is_inference(input: Any) -> bool:  # noqa: A002 - PyTorch's name
    """True for a tensor made inside ``inference_mode`` (or a view of one)."""
    if not hasattr(input, "_vc"):
        raise TypeError(f"is_inference(): argument 'input' must be Tensor, not {type(input).__name__}")
    return type(input._vc) is InferenceVersion


def inference_error(what: str) -> RuntimeError:
    """PyTorch's refusals of an inference tensor outside inference mode."""
    if what == "saved":
        return RuntimeError(
            "Inference tensors cannot be saved for backward. Please do not use Tensors created in "
            "inference mode in computation tracked by autograd. To work around this, you can make a "
            "clone to get a normal tensor and use it in autograd, or use `chainrule.no_grad()` instead "
            "of `chainrule.inference_mode()`."
        )
    return RuntimeError(
        f"{what} inference tensor outside InferenceMode is not allowed. You can make a clone "
        "(t.clone()) to get a normal tensor before doing it."
    )


def _mark(op: Any, args: tuple, params: dict, inner: Callable) -> Any:
    """An op's result made in inference mode is an inference tensor (a view keeps its base's cell)."""
    from .grad_mode import state

    out = inner(op, args, params)
    if state.inference and getattr(out, "_base", 0) is None and type(out._vc) is list:
        out._vc = InferenceVersion(out._vc)
    return out


switch = Switch(_mark)  # on while a thread is inside inference_mode(True); see grad_mode
