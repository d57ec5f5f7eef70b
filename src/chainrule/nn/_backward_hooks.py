"""Module full backward hooks (``register_full_backward_hook`` / ``register_full_backward_pre_hook``).

As in PyTorch, a module call with backward hooks routes its tensor inputs and its
outputs through identity Functions.  When backward reaches the outputs' identity,
the pre-hooks see ``grad_output`` (and may replace it); when it reaches the inputs'
identity, the hooks see ``(grad_input, grad_output)`` (and may replace
``grad_input``).  ``grad_input`` has one entry per positional argument (None for
non-tensors and for inputs that need no gradient).
"""

from __future__ import annotations

import warnings
from typing import Any

from .._creation import zeros_like
from .._tensor import Tensor
from ..autograd.function import Function
from ..autograd.grad_mode import is_grad_enabled

__all__ = ["BackwardHookState"]


def _check(name: str, res: Any, ref: tuple) -> tuple:
    res = tuple(res) if isinstance(res, (tuple, list)) else (res,)
    if len(res) != len(ref):
        raise RuntimeError(
            f"Backward hook returned an invalid number of grad_{name} values: got "
            f"{len(res)}, but expected {len(ref)}"
        )
    return res


class _Identity(Function):
    """Passes tensors through; its backward hands the gradients to the hook state."""

    @staticmethod
    def forward(ctx: Any, state: BackwardHookState, which: str, *tensors: Tensor) -> Any:
        ctx.state, ctx.which, ctx.n = state, which, len(tensors)
        ctx.set_materialize_grads(False)  # an unused output's grad_output stays None, as in PyTorch
        out = tuple(t.clone() for t in tensors)
        return out

    @staticmethod
    def backward(ctx: Any, *grads: Any) -> Any:
        grads = tuple(grads[: ctx.n])
        if ctx.which == "output":
            grads = ctx.state.on_grad_output(grads)
        else:
            grads = ctx.state.on_grad_input(grads)
        return (None, None, *grads)


class BackwardHookState:
    """One module call's hook bookkeeping (the grad_output seen so far, where inputs sit in args)."""

    def __init__(self, module: Any, hooks: list, pre_hooks: list) -> None:
        self.module = module
        self.hooks = hooks
        self.pre_hooks = pre_hooks
        self.grad_output: tuple | None = None
        self.n_args = 0
        self.input_index: list[int] = []

    def setup_inputs(self, args: tuple) -> tuple:
        self.n_args = len(args)
        if not self.hooks or not is_grad_enabled():
            return args
        index = [i for i, a in enumerate(args) if isinstance(a, Tensor)]
        if not any(args[i].requires_grad for i in index):
            return args
        self.input_index = index  # all tensors (PyTorch: zeros for those that need no gradient)
        self.input_like = [args[i] for i in index]
        new = _Identity.apply(self, "input", *(args[i] for i in self.input_index))
        new = new if isinstance(new, tuple) else (new,)
        args = list(args)
        for i, t in zip(self.input_index, new):
            args[i] = t
        return tuple(args)

    def setup_outputs(self, out: Any) -> Any:
        if not is_grad_enabled():
            return out
        single = isinstance(out, Tensor)
        outs = (out,) if single else out
        if not isinstance(outs, tuple):
            return out
        index = [i for i, o in enumerate(outs) if isinstance(o, Tensor) and o.requires_grad]
        if not index:
            return out
        self.n_outputs = len(outs)
        self.output_index = index
        new = _Identity.apply(self, "output", *(outs[i] for i in index))
        new = new if isinstance(new, tuple) else (new,)
        outs = list(outs)
        for i, t in zip(index, new):
            outs[i] = t
        return outs[0] if single else tuple(outs)

    def _pack(self, index: list[int], grads: tuple, n: int) -> tuple:
        full: list = [None] * n
        for i, g in zip(index, grads):
            full[i] = g
        return tuple(full)

    def on_grad_output(self, grads: tuple) -> tuple:
        packed = self._pack(self.output_index, grads, self.n_outputs)
        for hook in self.pre_hooks:
            res = hook(self.module, packed)
            if res is not None:
                packed = _check("output", res, packed)
        self.grad_output = packed
        if not self.input_index and self.hooks:  # no input needs a gradient: the hooks run now, with Nones
            warnings.warn(
                "Full backward hook is firing when gradients are computed with respect to module outputs "
                "since no inputs require gradients. See https://docs.pytorch.org/docs/main/generated/"
                "torch.nn.Module.html#torch.nn.Module.register_full_backward_hook for more details.",
                UserWarning,
                stacklevel=2,
            )
            for hook in self.hooks:
                res = hook(self.module, (None,) * self.n_args, packed)
                if res is not None and any(
                    r is not None for r in _check("input", res, (None,) * self.n_args)
                ):
                    raise RuntimeError(
                        "Backward hook for Modules where no input requires gradient "
                        "should always return None or None for all gradients."
                    )
        return tuple(packed[i] for i in self.output_index)

    def on_grad_input(self, grads: tuple) -> tuple:
        # an input that needs no gradient shows zeros (PyTorch's convention), whatever reached its copy
        grads = tuple(
            zeros_like(t) if g is None or not t.requires_grad else g for g, t in zip(grads, self.input_like)
        )
        packed = self._pack(self.input_index, grads, self.n_args)
        for hook in self.hooks:
            res = hook(self.module, packed, self.grad_output)
            if res is not None:
                packed = _check("input", res, packed)
        return tuple(packed[i] for i in self.input_index)
