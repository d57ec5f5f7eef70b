"""Helpers at PyTorch's path ``torch.distributions.utils``: broadcasting parameters,
probabilities and logits, lazy properties and lower-triangular packing."""

from __future__ import annotations

from functools import update_wrapper
from typing import Any, Callable

from .._tensor import Tensor
from ..autograd.grad_mode import enable_grad
from ._transforms_more import tril_matrix_to_vec, vec_to_tril_matrix
from .bernoulli import clamp_probs, probs_to_logits
from .distribution import broadcast_all

__all__ = [
    "broadcast_all", "clamp_probs", "euler_constant", "lazy_property", "logits_to_probs",
    "probs_to_logits", "tril_matrix_to_vec", "vec_to_tril_matrix",
]  # fmt: skip

euler_constant = 0.57721566490153286060  # Euler-Mascheroni constant


def logits_to_probs(logits: Tensor, is_binary: bool = False) -> Tensor:
    """``sigmoid(logits)`` (binary) or ``softmax(logits, -1)`` (categories)."""
    return logits.sigmoid() if is_binary else logits.softmax(-1)


class lazy_property:  # noqa: N801 - PyTorch's name
    """A property computed on first access (with grad enabled) and then stored on the instance."""

    def __init__(self, wrapped: Callable[[Any], Any]) -> None:
        self.wrapped = wrapped
        update_wrapper(self, wrapped)  # type: ignore[arg-type]

    def __get__(self, instance: Any, obj_type: Any = None) -> Any:
        if instance is None:
            return property(self.wrapped)
        with enable_grad():
            value = self.wrapped(instance)
        setattr(instance, self.wrapped.__name__, value)
        return value
