"""Stochastic weight averaging: ``AveragedModel``, the ``SWALR`` schedule and ``update_bn``.

``AveragedModel(model)`` keeps a copy of ``model`` whose parameters are a running
average of ``model``'s (equal weights by default, or an exponential moving
average with ``multi_avg_fn=get_ema_multi_avg_fn(decay)``).  ``SWALR`` anneals
each group's learning rate to ``swa_lr``; ``update_bn`` recomputes BatchNorm
statistics for the averaged weights with one pass over the data.

>>> swa_model = AveragedModel(model); swa_sched = SWALR(opt, swa_lr=0.05)
>>> for epoch in range(100):
...     train_one_epoch(model, opt)
...     if epoch >= 75: swa_model.update_parameters(model); swa_sched.step()
>>> update_bn(loader, swa_model)
"""

from __future__ import annotations

import itertools
import math
from copy import deepcopy
from typing import Any, Callable, Iterable, Sequence

import numpy as np

from .._tensor import Tensor, wrap
from ..autograd.grad_mode import no_grad
from ..nn.module import Module
from ..nn.normalization import _BatchNorm
from .lr_scheduler import LRScheduler, _per_group
from .optimizer import Optimizer

__all__ = [
    "AveragedModel",
    "update_bn",
    "SWALR",
    "get_ema_multi_avg_fn",
    "get_swa_multi_avg_fn",
    "get_ema_avg_fn",
    "get_swa_avg_fn",
]


def _check_decay(decay: float) -> None:
    if decay < 0.0 or decay > 1.0:
        raise ValueError(f"Invalid decay value {decay} provided. Please provide a value in [0,1] range.")


def _write(dst: Tensor, value: Any) -> None:
    """Overwrite ``dst`` in place (a parameter or buffer of the averaged copy)."""
    dst._data[...] = value._data if isinstance(value, Tensor) else value
    dst._vc[0] += 1


def get_ema_multi_avg_fn(decay: float = 0.999) -> Callable[[Sequence, Sequence, Any], None]:
    """In-place EMA over lists: ``ema = ema + (1 - decay) * (current - ema)``."""
    _check_decay(decay)

    def ema_update(ema_list: Sequence[Tensor], current_list: Sequence[Tensor], _: Any) -> None:
        for e, c in zip(ema_list, current_list, strict=True):
            if e._data.dtype.kind in "fc":
                _write(e, _lerp(e._data, c._data, 1 - decay))
            else:
                _write(e, e._data * decay + c._data * (1 - decay))

    return ema_update


def get_swa_multi_avg_fn() -> Callable[[Sequence, Sequence, Any], None]:
    """In-place equal-weight average over lists: ``avg += (current - avg) / (n + 1)``."""

    def swa_update(avg_list: Sequence[Tensor], current_list: Sequence[Tensor], n: Any) -> None:
        weight = 1 / (float(n) + 1)
        for a, c in zip(avg_list, current_list, strict=True):
            if a._data.dtype.kind in "fc":
                _write(a, _lerp(a._data, c._data, weight))
            else:
                _write(a, a._data + (c._data - a._data) * weight)

    return swa_update


def get_ema_avg_fn(decay: float = 0.999) -> Callable[[Tensor, Tensor, Any], Tensor]:
    """``(ema, current, n) -> decay * ema + (1 - decay) * current`` (a new tensor)."""
    _check_decay(decay)

    def ema_update(ema_param: Tensor, current_param: Tensor, num_averaged: Any) -> Tensor:
        with no_grad():
            return decay * ema_param + (1 - decay) * current_param

    return ema_update


def get_swa_avg_fn() -> Callable[[Tensor, Tensor, Any], Tensor]:
    """``(avg, current, n) -> avg + (current - avg) / (n + 1)`` (a new tensor)."""

    def swa_update(averaged_param: Tensor, current_param: Tensor, num_averaged: Any) -> Tensor:
        with no_grad():
            return averaged_param + (current_param - averaged_param) / (num_averaged + 1)

    return swa_update


def _lerp(start: np.ndarray, end: np.ndarray, weight: float) -> np.ndarray:
    """PyTorch's lerp: ``start + w (end - start)`` for ``w < 0.5``, else from ``end``."""
    diff = end - start
    if weight < 0.5:
        return start + weight * diff
    return end - diff * (1 - weight)


class AveragedModel(Module):
    """``AveragedModel(model, device=None, avg_fn=None, multi_avg_fn=None, use_buffers=False)``.

    A deep copy of ``model`` as ``self.module``; ``update_parameters(model)``
    first copies ``model``'s parameters, then averages them in.  With
    ``use_buffers=True`` buffers are averaged too; otherwise they are copied.
    ``n_averaged`` (an int64 buffer) counts the models averaged.
    """

    def __init__(
        self,
        model: Module,
        device: Any = None,
        avg_fn: Callable[[Tensor, Tensor, Any], Tensor] | None = None,
        multi_avg_fn: Callable[[Sequence, Sequence, Any], None] | None = None,
        use_buffers: bool = False,
    ) -> None:
        super().__init__()
        if avg_fn is not None and multi_avg_fn is not None:
            raise AssertionError("Only one of avg_fn and multi_avg_fn should be provided")
        self.module = deepcopy(model)
        if device is not None:
            self.module = self.module.to(device)
        self.register_buffer("n_averaged", wrap(np.zeros((), dtype=np.int64)))
        self.avg_fn = avg_fn
        self.multi_avg_fn = multi_avg_fn
        self.use_buffers = use_buffers

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        return self.module(*args, **kwargs)

    def update_parameters(self, model: Module) -> None:
        """Average ``model``'s current parameters (and buffers, if ``use_buffers``) in."""
        if self.use_buffers:
            mine = list(itertools.chain(self.module.parameters(), self.module.buffers()))
            theirs = list(itertools.chain(model.parameters(), model.buffers()))
        else:
            mine, theirs = list(self.parameters()), list(model.parameters())
        n = self.n_averaged
        count = int(n._data)
        pairs = list(zip(mine, theirs, strict=False))
        if count == 0:
            for a, m in pairs:
                _write(a, m._data)
        else:
            avg, cur = [a for a, _ in pairs], [m.detach() for _, m in pairs]
            if self.avg_fn is not None:
                for a, m in zip(avg, cur, strict=True):
                    _write(a, self.avg_fn(a.detach(), m, n))
            else:
                (self.multi_avg_fn or get_swa_multi_avg_fn())(avg, cur, n)
        if not self.use_buffers:
            for b_avg, b_model in zip(self.module.buffers(), model.buffers(), strict=True):
                _write(b_avg, b_model._data)
        n._data += 1
        n._vc[0] += 1


def update_bn(loader: Iterable[Any], model: Module, device: Any = None) -> None:
    """One pass over ``loader`` in training mode to recompute every BatchNorm's statistics.

    Statistics are reset and accumulated as a cumulative average (``momentum=None``);
    each batch is a tensor or a list/tuple whose first element is the input.
    """
    momenta = {}
    for module in model.modules():
        if isinstance(module, _BatchNorm):
            module.reset_running_stats()
            momenta[module] = module.momentum
    if not momenta:
        return
    was_training = model.training
    model.train()
    for module in momenta:
        module.momentum = None
    with no_grad():
        for batch in loader:
            if isinstance(batch, (list, tuple)):
                batch = batch[0]
            if device is not None:
                batch = batch.to(device)
            model(batch)
    for module, momentum in momenta.items():
        module.momentum = momentum
    model.train(was_training)


class SWALR(LRScheduler):
    """``SWALR(optimizer, swa_lr, anneal_epochs=10, anneal_strategy='cos', last_epoch=-1)``.

    Moves each group's lr from its value to ``swa_lr`` over ``anneal_epochs``
    steps (cosine or linear), then holds it at ``swa_lr``.
    """

    def __init__(
        self,
        optimizer: Optimizer,
        swa_lr: float | list[float],
        anneal_epochs: int = 10,
        anneal_strategy: str = "cos",
        last_epoch: int = -1,
    ) -> None:
        for lr, group in zip(_per_group("swa_lr", optimizer, swa_lr), optimizer.param_groups, strict=True):
            group["swa_lr"] = lr
        if anneal_strategy not in ("cos", "linear"):
            raise ValueError(
                f"anneal_strategy must be one of 'cos' or 'linear', instead got {anneal_strategy}"
            )
        self._set_anneal_func(anneal_strategy)
        if not isinstance(anneal_epochs, int) or anneal_epochs < 0:
            raise ValueError(f"anneal_epochs must be equal or greater than 0, got {anneal_epochs}")
        self.anneal_epochs = anneal_epochs
        super().__init__(optimizer, last_epoch)

    @staticmethod
    def _linear_anneal(t: float) -> float:
        return t

    @staticmethod
    def _cosine_anneal(t: float) -> float:
        return (1 - math.cos(math.pi * t)) / 2

    @staticmethod
    def _get_initial_lr(lr: float, swa_lr: float, alpha: float) -> float:
        if alpha == 1:
            return swa_lr
        return (lr - alpha * swa_lr) / (1 - alpha)

    def _set_anneal_func(self, anneal_strategy: str) -> None:
        self._anneal_strategy = anneal_strategy
        self.anneal_func = self._cosine_anneal if anneal_strategy == "cos" else self._linear_anneal

    def get_lr(self) -> list[float]:
        # the lr before annealing is recovered from the current one, so that other
        # schedulers may have changed it in between
        step = self._step_count - 1
        if self.anneal_epochs == 0:
            step = max(1, step)
        groups = self.optimizer.param_groups
        prev_alpha = self.anneal_func(max(0, min(1, (step - 1) / max(1, self.anneal_epochs))))
        prev_lrs = [self._get_initial_lr(g["lr"], g["swa_lr"], prev_alpha) for g in groups]
        alpha = self.anneal_func(max(0, min(1, step / max(1, self.anneal_epochs))))
        return [g["swa_lr"] * alpha + lr * (1 - alpha) for g, lr in zip(groups, prev_lrs, strict=True)]

    def state_dict(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if k not in ("optimizer", "anneal_func")}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self.__dict__.update(state_dict)
        self._set_anneal_func(self._anneal_strategy)
