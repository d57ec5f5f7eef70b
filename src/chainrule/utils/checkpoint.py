"""Gradient checkpointing: trade recomputation for memory.

``checkpoint(fn, x)`` runs ``fn`` normally, recording its graph, but keeps
none of the values its nodes saved for backward (saved-tensor hooks pack each
one into a number).  When backward first needs one of them, ``fn`` runs again
from the inputs kept at the checkpoint, with the random-number state it had
the first time (so dropout masks are identical), and the recomputed values are
handed out one by one and dropped as soon as they are used.

For a chain of n layers, ``checkpoint_sequential`` over k segments keeps the k
segment inputs plus one segment's values during backward: about n/k + k
activations instead of n, for one extra forward pass.  With k = sqrt(n) that is
O(sqrt(n)) memory for about 4/3 of the compute.

>>> y = checkpoint(block, x)              # block's intermediates are not kept
>>> y = checkpoint_sequential(model, 4, x)
"""

from __future__ import annotations

from typing import Any, Callable

from .._tensor import Tensor
from ..autograd.grad_mode import enable_grad, is_grad_enabled
from ..autograd.graph import saved_tensors_hooks
from ..random import default_generator

__all__ = ["checkpoint", "checkpoint_sequential"]


def checkpoint(
    function: Callable[..., Any],
    *args: Any,
    use_reentrant: bool | None = None,
    preserve_rng_state: bool = True,
    **kwargs: Any,
) -> Any:
    """``function(*args, **kwargs)``, recomputed during backward instead of keeping its intermediates.

    Gradients flow to the inputs and to every tensor ``function`` uses (module
    parameters included), exactly as without checkpointing.  ``function`` must
    compute the same thing when run again (same ops in the same order);
    ``preserve_rng_state=True`` replays the random stream so dropout agrees.
    ``use_reentrant`` is accepted for PyTorch compatibility: chainrule always
    uses the hook-based (non-reentrant) method, which works with
    ``autograd.grad``, ``inputs=`` and tensors captured by closures.
    """
    if not is_grad_enabled():
        return function(*args, **kwargs)
    frame = _Frame(function, args, kwargs, preserve_rng_state)
    with saved_tensors_hooks(frame.pack, frame.unpack):
        return function(*args, **kwargs)


def checkpoint_sequential(
    functions: Any,
    segments: int,
    input: Any,  # noqa: A002 - PyTorch's name
    use_reentrant: bool | None = None,
    **kwargs: Any,
) -> Any:
    """Run a chain of callables (a ``Sequential`` or a list) in ``segments`` checkpointed pieces.

    Like PyTorch, every segment but the last is checkpointed; the last one runs
    normally because backward needs its values straight away.
    """
    fns = list(functions.children()) if hasattr(functions, "children") else list(functions)
    if not isinstance(segments, int) or segments < 1:
        raise ValueError(f"checkpoint_sequential(): segments must be a positive int, got {segments!r}")
    if not fns:
        return input
    segments = min(segments, len(fns))
    size = len(fns) // segments
    last = size * (segments - 1)  # the last segment also takes the remainder
    for start in range(0, last, size):
        input = checkpoint(_run(fns[start:start + size]), input, use_reentrant=use_reentrant, **kwargs)
    return _run(fns[last:])(input)


def _run(fns: list) -> Callable[[Any], Any]:
    def forward(x: Any) -> Any:
        for f in fns:
            x = f(x)
        return x

    return forward


def _fresh(a: Any) -> Any:
    """A leaf with the input's current values for the recomputation (same storage, no history)."""
    if not isinstance(a, Tensor):
        return a
    d = a.detach()
    d._rg = a._rg
    return d


def _no_unpack(packed: Any) -> Any:
    raise RuntimeError("internal: a node recorded while recomputing a checkpoint was used in backward")


class _Frame:
    """One checkpointed call: what recomputation needs, and the values it recovered.

    Nodes inside the call hold only the index their value got from ``pack``; the
    frame is referenced from those nodes (through their unpack hook) and dies
    with them.  It keeps the call's inputs (sharing storage), never its outputs.
    """

    def __init__(self, function: Callable, args: tuple, kwargs: dict, preserve_rng: bool) -> None:
        self.function = function
        self.args = tuple(_fresh(a) for a in args)
        self.kwargs = kwargs
        self.rng = default_generator.get_state() if preserve_rng else None
        self.meta: list[tuple[tuple, Any]] = []  # (shape, dtype) of each packed value, in order
        self.recomputed: dict[int, Any] = {}

    def pack(self, t: Tensor) -> int:
        self.meta.append((t._data.shape, t._data.dtype))
        return len(self.meta) - 1

    def unpack(self, i: int) -> Tensor:
        if i not in self.recomputed:
            self._recompute()
        return self.recomputed.pop(i)  # dropped as soon as backward has used it

    def _recompute(self) -> None:
        captured: list[Tensor] = []
        gen = default_generator
        outer = gen.get_state() if self.rng is not None else None
        try:
            if self.rng is not None:
                gen.set_state(self.rng)
            with enable_grad(), saved_tensors_hooks(captured.append, _no_unpack):
                self.function(*[_fresh(a) for a in self.args], **self.kwargs)
        finally:
            if outer is not None:
                gen.set_state(outer)
        if len(captured) != len(self.meta):
            raise RuntimeError(
                f"checkpoint: recomputing the function saved {len(captured)} tensors for backward, "
                f"but the first run saved {len(self.meta)}; a checkpointed function must run the "
                "same ops each time (no data-dependent branches on values that change)"
            )
        for i, ((shape, dtype), t) in enumerate(zip(self.meta, captured)):
            got = t._data
            if got.shape != shape or got.dtype != dtype:
                raise RuntimeError(
                    f"checkpoint: saved tensor {i} was {tuple(shape)} {dtype} in the first run but "
                    f"{tuple(got.shape)} {got.dtype} when recomputed; the function must be "
                    "deterministic"
                )
        self.recomputed = dict(enumerate(captured))
