"""``nn.utils.parametrizations``: ready-made parametrizations (``weight_norm`` for now)."""

from __future__ import annotations

from ..._tensor import Tensor
from ..module import Module
from . import parametrize

__all__ = ["weight_norm"]


def _norm_except_dim(v: Tensor, dim: int | None) -> Tensor:
    if dim is None or dim == -1:  # PyTorch: -1 (dim=None) is the norm of the whole tensor
        return v.norm()
    dim = dim % v.dim()
    axes = tuple(i for i in range(v.dim()) if i != dim)
    return (v * v).sum(dim=axes, keepdim=True).sqrt()


class _WeightNorm(Module):
    """``weight = g * v / ||v||`` with the norm over every dimension but ``dim``."""

    def __init__(self, dim: int | None = 0) -> None:
        super().__init__()
        self.dim = -1 if dim is None else dim

    def forward(self, weight_g: Tensor, weight_v: Tensor) -> Tensor:
        return weight_v * (weight_g / _norm_except_dim(weight_v, self.dim))

    def right_inverse(self, weight: Tensor) -> tuple[Tensor, Tensor]:
        return _norm_except_dim(weight, self.dim), weight


def weight_norm(module: Module, name: str = "weight", dim: int | None = 0) -> Module:
    """Reparametrize ``module.<name>`` as magnitude ``original0`` times direction ``original1``."""
    parametrize.register_parametrization(module, name, _WeightNorm(dim), unsafe=True)
    return module
