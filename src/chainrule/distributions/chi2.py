"""The chi-squared distribution: ``Gamma(df / 2, 1 / 2)``."""

from __future__ import annotations

from typing import Any

from .._tensor import Tensor
from . import constraints
from .distribution import broadcast_all
from .gamma import Gamma

__all__ = ["Chi2"]


class Chi2(Gamma):
    """``Chi2(df)``: the sum of squares of ``df`` standard normals."""

    arg_constraints = {"df": constraints.positive}

    def __init__(self, df: Any, validate_args: bool | None = None) -> None:
        (df,) = broadcast_all(df)
        super().__init__(0.5 * df, 0.5, validate_args=validate_args)

    @property
    def df(self) -> Tensor:
        return self.concentration * 2
