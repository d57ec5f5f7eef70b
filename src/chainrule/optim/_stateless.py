"""``swap_in_optimizer_params_and_state``: run an optimizer on other tensors for a while.

Inside the context the optimizer's parameters are the given tensors and its state the
given ``state_dict()``-shaped state, so ``optimizer.step()`` updates those (in place)
and leaves the live parameters and state alone; on exit everything is restored.  This
is how a step can be traced or replayed on copies (a compiler's view of the update).
"""

from __future__ import annotations

from collections import defaultdict
from contextlib import contextmanager
from typing import Any, Iterator

from .._tensor import Tensor
from .optimizer import Optimizer

__all__ = ["swap_in_optimizer_params_and_state"]


def _fail(message: str) -> None:
    raise RuntimeError(f"swap_in_optimizer_params_and_state requires {message}")


@contextmanager
def swap_in_optimizer_params_and_state(
    optimizer: Optimizer, swapin_parameters: dict[str, Tensor], swapin_optim_state: dict[str, Any]
) -> Iterator[None]:
    """Swap in ``swapin_parameters`` (in the optimizer's parameter order, e.g.
    ``dict(model.named_parameters())`` of a copy) and ``swapin_optim_state`` (shaped like
    ``optimizer.state_dict()``) for the duration of the ``with`` block."""
    if not optimizer.state:
        _fail("initialized optimizer state.")
    if not isinstance(swapin_optim_state, dict) or not isinstance(swapin_optim_state.get("state"), dict):
        _fail("a DCP-style optimizer state_dict.")
    groups = swapin_optim_state.get("param_groups")
    if not isinstance(groups, list) or len(groups) != len(optimizer.param_groups):
        _fail("swapin_optim_state['param_groups'] to have one entry per optimizer param group.")
    state = swapin_optim_state["state"]
    flat = list(swapin_parameters.values())
    offset, infos, seen = 0, [], set()
    for live, saved in zip(optimizer.param_groups, groups, strict=True):
        ids = list(saved.get("params", ()))
        if len(ids) != len(live["params"]):
            _fail("each swap-in param group to have as many parameters as the live one.")
        if offset + len(ids) > len(flat):
            _fail("the explicit parameter state to match optimizer.param_groups ordering.")
        infos.append((live, saved, flat[offset : offset + len(ids)]))
        offset += len(ids)
        seen.update(ids)
    extra = [k for k in state if k not in seen]
    if extra:
        _fail(
            "swapin_optim_state['state'] to be keyed only by packed parameter ids from "
            f"param_groups[*]['params']; got extra keys {extra!r}."
        )
    original_state = optimizer.state
    snapshots = [dict(g) for g in optimizer.param_groups]
    try:
        swapped: defaultdict[Tensor, Any] = defaultdict(dict)
        for live, saved, params in infos:
            live["params"] = params
            live.update({k: v for k, v in saved.items() if k != "params"})
            for p, pid in zip(params, saved["params"], strict=True):
                swapped[p] = dict(state.get(pid, {}))  # in-place updates reach the caller's tensors
        optimizer.state = swapped
        yield
    finally:
        for group, snapshot in zip(optimizer.param_groups, snapshots, strict=True):
            group.clear()
            group.update(snapshot)
        optimizer.state = original_state
