"""The multivariate normal with covariance ``W W^T + diag(D)``: densities through the
``r x r`` capacitance matrix ``I + W^T D^{-1} W`` (Woodbury), so cost grows with the rank
``r`` rather than with ``n``."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .. import linalg
from .._tensor import Size, Tensor, wrap
from ..random import rng
from . import constraints
from .distribution import Distribution, _as_tensor
from .multivariate_normal import _batch_mahalanobis, _batch_mv, _eye_like

__all__ = ["LowRankMultivariateNormal"]


def _diag_embed(d: Tensor) -> Tensor:
    """A batch of diagonal matrices with diagonals ``d[..., n]``."""
    return d.unsqueeze(-1) * wrap(np.eye(d.shape[-1], dtype=d._data.dtype))


def _batch_capacitance_tril(W: Tensor, D: Tensor) -> Tensor:
    """Cholesky factor of ``I + W^T D^{-1} W``."""
    Wt_Dinv = W.mT / D.unsqueeze(-2)
    K = Wt_Dinv @ W
    return linalg.cholesky(K + _eye_like(K))


def _batch_lowrank_logdet(W: Tensor, D: Tensor, capacitance_tril: Tensor) -> Tensor:
    """``log det(W W^T + D)`` by the matrix determinant lemma."""
    return 2 * capacitance_tril.diagonal(dim1=-2, dim2=-1).log().sum(-1) + D.log().sum(-1)


def _batch_lowrank_mahalanobis(W: Tensor, D: Tensor, x: Tensor, capacitance_tril: Tensor) -> Tensor:
    """``x^T (W W^T + D)^{-1} x`` by the Woodbury identity."""
    Wt_Dinv = W.mT / D.unsqueeze(-2)
    Wt_Dinv_x = _batch_mv(Wt_Dinv, x)
    return (x.pow(2) / D).sum(-1) - _batch_mahalanobis(capacitance_tril, Wt_Dinv_x)


class LowRankMultivariateNormal(Distribution):
    """``LowRankMultivariateNormal(loc, cov_factor, cov_diag)``: ``loc`` ``(..., n)``,
    ``cov_factor`` ``(..., n, r)``, ``cov_diag`` ``(..., n)`` (positive)."""

    arg_constraints = {
        "loc": constraints.real_vector,
        "cov_factor": constraints.independent(constraints.real, 2),
        "cov_diag": constraints.independent(constraints.positive, 1),
    }
    support = constraints.real_vector
    has_rsample = True

    def __init__(self, loc: Any, cov_factor: Any, cov_diag: Any, validate_args: bool | None = None) -> None:
        loc = _as_tensor(loc, None)
        cov_factor, cov_diag = _as_tensor(cov_factor, loc), _as_tensor(cov_diag, loc)
        if loc.ndim < 1:
            raise ValueError("loc must be at least one-dimensional.")
        n = loc.shape[-1]
        if cov_factor.ndim < 2:
            raise ValueError(
                "cov_factor must be at least two-dimensional, with optional leading batch dimensions"
            )
        if cov_factor.shape[-2:-1] != (n,):
            raise ValueError(f"cov_factor must be a batch of matrices with shape {n} x m")
        if cov_diag.shape[-1:] != (n,):
            raise ValueError(f"cov_diag must be a batch of vectors with shape {tuple(loc.shape[-1:])}")
        batch_shape = np.broadcast_shapes(
            tuple(loc.shape[:-1]), tuple(cov_factor.shape[:-2]), tuple(cov_diag.shape[:-1])
        )
        self.loc = self._param = loc.expand(*batch_shape, n)
        self.cov_factor = cov_factor.expand(*batch_shape, n, cov_factor.shape[-1])
        self.cov_diag = cov_diag.expand(*batch_shape, n)
        self._unbroadcasted_cov_factor = cov_factor
        self._unbroadcasted_cov_diag = cov_diag
        self._capacitance_tril = _batch_capacitance_tril(cov_factor, cov_diag)
        super().__init__(batch_shape, loc.shape[-1:], validate_args)

    def expand(self, batch_shape: Any, _instance: Any = None) -> LowRankMultivariateNormal:
        batch_shape = Size(tuple(batch_shape))
        new = type(self).__new__(type(self)) if _instance is None else _instance
        new.__dict__.update(
            {
                k: v
                for k, v in self.__dict__.items()
                if k not in ("scale_tril", "covariance_matrix", "precision_matrix")
            }
        )
        n = self.event_shape[0]
        new.loc = new._param = self.loc.expand(*batch_shape, n)
        new.cov_factor = self.cov_factor.expand(*batch_shape, n, self.cov_factor.shape[-1])
        new.cov_diag = self.cov_diag.expand(*batch_shape, n)
        new._batch_shape = batch_shape
        return new

    @property
    def mean(self) -> Tensor:
        return self.loc

    @property
    def mode(self) -> Tensor:
        return self.loc

    @property
    def variance(self) -> Tensor:
        W, D = self._unbroadcasted_cov_factor, self._unbroadcasted_cov_diag
        return (W.pow(2).sum(-1) + D).expand(*self._batch_shape, *self._event_shape)

    def _shape_nn(self) -> tuple:
        return tuple(self._batch_shape + self._event_shape + self._event_shape)

    @property
    def scale_tril(self) -> Tensor:
        W, D = self._unbroadcasted_cov_factor, self._unbroadcasted_cov_diag
        d_sqrt = D.sqrt().unsqueeze(-1)
        Dinvsqrt_W = W / d_sqrt
        K = Dinvsqrt_W @ Dinvsqrt_W.mT
        return (d_sqrt * linalg.cholesky(K + _eye_like(K))).expand(*self._shape_nn())

    @property
    def covariance_matrix(self) -> Tensor:
        W, D = self._unbroadcasted_cov_factor, self._unbroadcasted_cov_diag
        return (W @ W.mT + _diag_embed(D)).expand(*self._shape_nn())

    @property
    def precision_matrix(self) -> Tensor:
        W, D = self._unbroadcasted_cov_factor, self._unbroadcasted_cov_diag
        Wt_Dinv = W.mT / D.unsqueeze(-2)
        A = linalg.solve_triangular(self._capacitance_tril, Wt_Dinv, upper=False)
        return (_diag_embed(D.reciprocal()) - A.mT @ A).expand(*self._shape_nn())

    def _noise(self, shape: Any) -> tuple[np.ndarray, np.ndarray]:
        """``(eps_W, eps_D)``: standard normals for the factor (rank ``r``) and the diagonal."""
        shape = tuple(shape)
        dtype = self.loc._data.dtype
        eps_w = rng().standard_normal(shape[:-1] + (self.cov_factor.shape[-1],)).astype(dtype)
        return eps_w, rng().standard_normal(shape).astype(dtype)

    def rsample(self, sample_shape: Any = ()) -> Tensor:
        eps_w, eps_d = self._noise(self._extended_shape(sample_shape))
        W, D = self._unbroadcasted_cov_factor, self._unbroadcasted_cov_diag
        return self.loc + _batch_mv(W, wrap(eps_w)) + D.sqrt() * wrap(eps_d)

    def log_prob(self, value: Any) -> Tensor:
        value = self._checked(value)
        W, D, C = self._unbroadcasted_cov_factor, self._unbroadcasted_cov_diag, self._capacitance_tril
        M = _batch_lowrank_mahalanobis(W, D, value - self.loc, C)
        log_det = _batch_lowrank_logdet(W, D, C)
        return -0.5 * (self._event_shape[0] * math.log(2 * math.pi) + log_det + M)

    def entropy(self) -> Tensor:
        W, D, C = self._unbroadcasted_cov_factor, self._unbroadcasted_cov_diag, self._capacitance_tril
        log_det = _batch_lowrank_logdet(W, D, C)
        H = 0.5 * (self._event_shape[0] * (1.0 + math.log(2 * math.pi)) + log_det)
        return H.expand(*self._batch_shape) if len(self._batch_shape) else H
