"""The multivariate normal distribution, parameterised by its covariance, precision or
Cholesky factor; everything is computed from the lower-triangular factor ``L`` with
``L L^T = covariance``, so densities cost one triangular solve."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .. import linalg
from .._tensor import Size, Tensor, wrap
from ..random import rng
from . import constraints
from .distribution import Distribution, _as_tensor

__all__ = ["MultivariateNormal"]


def _batch_mv(bmat: Tensor, bvec: Tensor) -> Tensor:
    """Batched matrix-vector product, broadcasting the batch dimensions."""
    return (bmat @ bvec.unsqueeze(-1)).squeeze(-1)


def _batch_mahalanobis(bL: Tensor, bx: Tensor) -> Tensor:
    """``x^T (L L^T)^{-1} x`` for lower-triangular ``L``, broadcasting batch dimensions."""
    n = bx.shape[-1]
    shape = np.broadcast_shapes(tuple(bL.shape[:-2]), tuple(bx.shape[:-1]))
    L = bL.expand(*shape, n, n)
    x = bx.expand(*shape, n).unsqueeze(-1)
    return linalg.solve_triangular(L, x, upper=False).squeeze(-1).pow(2).sum(-1)


def _batch_trace_XXT(bmat: Tensor) -> Tensor:
    """``trace(X X^T)`` (the squared Frobenius norm) over the batch."""
    return bmat.pow(2).sum((-2, -1))


def _eye_like(m: Tensor) -> Tensor:
    return wrap(np.broadcast_to(np.eye(m.shape[-1], dtype=m._data.dtype), tuple(m.shape)).copy())


def _precision_to_scale_tril(P: Tensor) -> Tensor:
    """The lower Cholesky factor of ``P^{-1}`` without forming the inverse (PyTorch's way)."""
    Lf = linalg.cholesky(P.flip((-2, -1)))
    L_inv = Lf.flip((-2, -1)).transpose(-2, -1)
    return linalg.solve_triangular(L_inv, _eye_like(P), upper=False)


class MultivariateNormal(Distribution):
    """``MultivariateNormal(loc, covariance_matrix=None, precision_matrix=None, scale_tril=None)``.

    Give exactly one of the three matrix parameters, shaped ``(..., n, n)``;
    ``loc`` is ``(..., n)`` and the batch shapes broadcast.
    """

    arg_constraints = {
        "loc": constraints.real_vector,
        "covariance_matrix": constraints.positive_definite,
        "precision_matrix": constraints.positive_definite,
        "scale_tril": constraints.lower_cholesky,
    }
    support = constraints.real_vector
    has_rsample = True

    def __init__(
        self,
        loc: Any,
        covariance_matrix: Any = None,
        precision_matrix: Any = None,
        scale_tril: Any = None,
        validate_args: bool | None = None,
    ) -> None:
        loc = _as_tensor(loc, None)
        if loc.ndim < 1:
            raise ValueError("loc must be at least one-dimensional.")
        given = [m is not None for m in (covariance_matrix, precision_matrix, scale_tril)]
        if sum(given) != 1:
            raise ValueError(
                "Exactly one of covariance_matrix or precision_matrix or scale_tril may be specified."
            )
        name = ("covariance_matrix", "precision_matrix", "scale_tril")[given.index(True)]
        matrix = _as_tensor((covariance_matrix, precision_matrix, scale_tril)[given.index(True)], loc)
        if matrix.ndim < 2:
            raise ValueError(
                f"{name} matrix must be at least two-dimensional, with optional leading batch dimensions"
            )
        batch_shape = np.broadcast_shapes(tuple(matrix.shape[:-2]), tuple(loc.shape[:-1]))
        setattr(self, name, matrix.expand(*batch_shape, -1, -1))
        self.loc = self._param = loc.expand(*batch_shape, -1)
        super().__init__(batch_shape, loc.shape[-1:], validate_args)
        if name == "scale_tril":
            self._unbroadcasted_scale_tril = matrix
        elif name == "covariance_matrix":
            self._unbroadcasted_scale_tril = linalg.cholesky(matrix)
        else:
            self._unbroadcasted_scale_tril = _precision_to_scale_tril(matrix)

    def expand(self, batch_shape: Any, _instance: Any = None) -> MultivariateNormal:
        batch_shape = Size(tuple(batch_shape))
        new = type(self).__new__(type(self)) if _instance is None else _instance
        new.__dict__.update(self.__dict__)
        n = self.event_shape[0]
        new.loc = new._param = self.loc.expand(*batch_shape, n)
        for name in ("covariance_matrix", "precision_matrix", "scale_tril"):
            if name in self.__dict__:
                new.__dict__[name] = self.__dict__[name].expand(*batch_shape, n, n)
        new._batch_shape = batch_shape
        return new

    def _matrix_shape(self) -> tuple:
        return tuple(self._batch_shape + self._event_shape + self._event_shape)

    def __getattr__(self, name: str) -> Any:
        # the matrix parameters not given are computed from the factor on first use
        L = self.__dict__.get("_unbroadcasted_scale_tril")
        if L is None:
            raise AttributeError(name)
        if name == "scale_tril":
            value = L.expand(*self._matrix_shape())
        elif name == "covariance_matrix":
            value = (L @ L.mT).expand(*self._matrix_shape())
        elif name == "precision_matrix":
            L_inv = linalg.solve_triangular(L, _eye_like(L), upper=False)
            value = (L_inv.mT @ L_inv).expand(*self._matrix_shape())
        else:
            raise AttributeError(name)
        self.__dict__[name] = value
        return value

    @property
    def mean(self) -> Tensor:
        return self.loc

    @property
    def mode(self) -> Tensor:
        return self.loc

    @property
    def variance(self) -> Tensor:
        L = self._unbroadcasted_scale_tril
        return L.pow(2).sum(-1).expand(*self._batch_shape, *self._event_shape)

    def _noise(self, shape: Any) -> np.ndarray:
        """Standard normal draws: ``rsample`` is ``loc + L @ noise``."""
        return rng().standard_normal(tuple(shape)).astype(self.loc._data.dtype)

    def rsample(self, sample_shape: Any = ()) -> Tensor:
        eps = wrap(self._noise(self._extended_shape(sample_shape)))
        return self.loc + _batch_mv(self._unbroadcasted_scale_tril, eps)

    def log_prob(self, value: Any) -> Tensor:
        value = self._checked(value)
        L = self._unbroadcasted_scale_tril
        M = _batch_mahalanobis(L, value - self.loc)
        half_log_det = L.diagonal(dim1=-2, dim2=-1).log().sum(-1)
        return -0.5 * (self._event_shape[0] * math.log(2 * math.pi) + M) - half_log_det

    def entropy(self) -> Tensor:
        half_log_det = self._unbroadcasted_scale_tril.diagonal(dim1=-2, dim2=-1).log().sum(-1)
        H = 0.5 * self._event_shape[0] * (1.0 + math.log(2 * math.pi)) + half_log_det
        return H.expand(*self._batch_shape) if len(self._batch_shape) else H
