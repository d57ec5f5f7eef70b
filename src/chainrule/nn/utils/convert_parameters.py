"""Flatten parameters into one vector and back (for optimisers that work on a flat vector)."""

from __future__ import annotations

from typing import Iterable

from ... import ops
from ..._tensor import Tensor

__all__ = ["parameters_to_vector", "vector_to_parameters"]


def parameters_to_vector(parameters: Iterable[Tensor]) -> Tensor:
    """All parameters flattened and concatenated in order (differentiable: a cat of views)."""
    params = list(parameters)
    if not params:
        raise ValueError("parameters_to_vector(): got no parameters")
    return ops.cat([ops.reshape(p, (-1,)) for p in params])


def vector_to_parameters(vec: Tensor, parameters: Iterable[Tensor]) -> None:
    """Point each parameter's data at its slice of ``vec`` (shared memory, like PyTorch)."""
    if not isinstance(vec, Tensor):
        raise TypeError(f"expected chainrule.Tensor, but got: {type(vec).__name__}")
    params = list(parameters)
    need = sum(p._data.size for p in params)
    if vec._data.ndim != 1 or vec._data.size != need:
        raise RuntimeError(f"vector_to_parameters(): vec of shape {tuple(vec._data.shape)} does not "
                           f"hold the {need} values of the parameters")
    pointer = 0
    for p in params:
        n = p._data.size
        p._data = vec._data[pointer:pointer + n].reshape(p._data.shape)
        pointer += n
