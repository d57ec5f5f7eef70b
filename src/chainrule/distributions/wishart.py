"""The Wishart distribution over positive-definite matrices, sampled by Bartlett's
decomposition (reparameterised through its chi-squared and normal draws)."""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np

from .. import linalg
from .._tensor import Size, Tensor, wrap
from ..ops import where
from ..ops.special_functions import digamma, mvlgamma
from ..random import rng
from . import constraints
from .chi2 import Chi2
from .distribution import _as_tensor
from .exp_family import ExponentialFamily
from .multivariate_normal import _eye_like, _precision_to_scale_tril

__all__ = ["Wishart"]

_LOG_2 = math.log(2)


def _mvdigamma(x: Tensor, p: int) -> Tensor:
    """The multivariate digamma ``sum_i digamma(x - i / 2)``, ``i = 0 .. p - 1``."""
    return digamma(x.unsqueeze(-1) - wrap(np.arange(p, dtype=x._data.dtype) / 2)).sum(-1)


def _cholesky_solve(b: Tensor, L: Tensor) -> Tensor:
    """``(L L^T)^{-1} b`` by two triangular solves."""
    y = linalg.solve_triangular(L, b, upper=False)
    return linalg.solve_triangular(L.mT, y, upper=True)


class Wishart(ExponentialFamily):
    """``Wishart(df, covariance_matrix=None, precision_matrix=None, scale_tril=None)``;
    ``df > p - 1`` for ``p x p`` matrices."""

    support = constraints.positive_definite
    has_rsample = True
    _mean_carrier_measure = 0

    @property
    def arg_constraints(self) -> dict:  # type: ignore[override]
        return {
            "covariance_matrix": constraints.positive_definite,
            "precision_matrix": constraints.positive_definite,
            "scale_tril": constraints.lower_cholesky,
            "df": constraints.greater_than(self.event_shape[-1] - 1),
        }

    def __init__(
        self,
        df: Any,
        covariance_matrix: Any = None,
        precision_matrix: Any = None,
        scale_tril: Any = None,
        validate_args: bool | None = None,
    ) -> None:
        given = [m is not None for m in (covariance_matrix, precision_matrix, scale_tril)]
        if sum(given) != 1:
            raise ValueError(
                "Exactly one of covariance_matrix or precision_matrix or scale_tril may be specified."
            )
        name = ("covariance_matrix", "precision_matrix", "scale_tril")[given.index(True)]
        param = _as_tensor((covariance_matrix, precision_matrix, scale_tril)[given.index(True)], None)
        if param.ndim < 2:
            raise ValueError(
                "scale_tril must be at least two-dimensional, with optional leading batch dimensions"
            )
        df = _as_tensor(df, param)
        batch_shape = np.broadcast_shapes(tuple(param.shape[:-2]), tuple(df.shape))
        self.df = self._param = df.expand(*batch_shape)
        p = param.shape[-1]
        if np.any(self.df._data <= p - 1):
            raise ValueError(f"Value of df={df} expected to be greater than ndim - 1 = {p - 1}.")
        setattr(self, name, param.expand(*batch_shape, -1, -1))
        if np.any(self.df._data < p):
            warnings.warn(
                "Low df values detected. Singular samples are highly likely to occur for "
                "ndim - 1 < df < ndim.",
                stacklevel=2,
            )
        super().__init__(batch_shape, param.shape[-2:], validate_args)
        if name == "scale_tril":
            self._unbroadcasted_scale_tril = param
        elif name == "covariance_matrix":
            self._unbroadcasted_scale_tril = linalg.cholesky(param)
        else:
            self._unbroadcasted_scale_tril = _precision_to_scale_tril(param)
        self._make_chi2()

    def _make_chi2(self) -> None:
        p = self._event_shape[-1]
        offsets = wrap(np.arange(p, dtype=self.df._data.dtype))
        self._dist_chi2 = Chi2(self.df.unsqueeze(-1) - offsets, validate_args=False)

    def expand(self, batch_shape: Any, _instance: Any = None) -> Wishart:
        batch_shape = Size(tuple(batch_shape))
        new = type(self).__new__(type(self)) if _instance is None else _instance
        new.__dict__.update(self.__dict__)
        shape = tuple(batch_shape + self._event_shape)
        new._unbroadcasted_scale_tril = self._unbroadcasted_scale_tril.expand(*shape)
        new.df = new._param = self.df.expand(*batch_shape)
        for name in ("covariance_matrix", "scale_tril", "precision_matrix"):
            if name in self.__dict__:
                new.__dict__[name] = self.__dict__[name].expand(*shape)
        new._batch_shape = batch_shape
        new._make_chi2()
        return new

    def __getattr__(self, name: str) -> Any:
        # the matrix parameters not given are computed from the factor on first use
        L = self.__dict__.get("_unbroadcasted_scale_tril")
        if L is None:
            raise AttributeError(name)
        shape = tuple(self._batch_shape + self._event_shape)
        if name == "scale_tril":
            value = L.expand(*shape)
        elif name == "covariance_matrix":
            value = (L @ L.mT).expand(*shape)
        elif name == "precision_matrix":
            value = _cholesky_solve(_eye_like(L), L).expand(*shape)
        else:
            raise AttributeError(name)
        self.__dict__[name] = value
        return value

    def _df_matrix(self) -> Tensor:
        return self.df.reshape(*self._batch_shape, 1, 1)

    @property
    def mean(self) -> Tensor:
        return self._df_matrix() * self.covariance_matrix

    @property
    def mode(self) -> Tensor:
        factor = self.df - self.covariance_matrix.shape[-1] - 1
        factor = where(factor <= 0, math.nan, factor)
        return factor.reshape(*self._batch_shape, 1, 1) * self.covariance_matrix

    @property
    def variance(self) -> Tensor:
        V = self.covariance_matrix
        d = V.diagonal(dim1=-2, dim2=-1)
        return self._df_matrix() * (V.pow(2) + d.unsqueeze(-1) * d.unsqueeze(-2))

    def _noise(self, shape: Any) -> tuple[np.ndarray, np.ndarray]:
        """``(G, Z)``: standard-Gamma draws for the diagonal chi-squares, normals below it."""
        p = self._event_shape[-1]
        shape = tuple(shape)
        g = self._dist_chi2._noise(shape[:-2] + (p,))
        z = rng().standard_normal(shape[:-2] + (p * (p - 1) // 2,)).astype(g.dtype)
        return g, z

    def _bartlett(self, sample_shape: Any) -> Tensor:
        from ._implicit import gamma_sample

        p = self._event_shape[-1]
        shape = tuple(self._extended_shape(sample_shape))
        g, z = self._noise(shape)
        conc = self._dist_chi2.concentration.expand(*shape[:-2], p)
        chi2 = gamma_sample(conc, g) / 0.5
        eps = float(np.finfo(g.dtype).eps)
        diag = chi2.sqrt().clamp(min=eps)
        rows, cols = np.tril_indices(p, -1)
        lower = np.zeros(shape, dtype=g.dtype)
        lower[..., rows, cols] = z
        noise = diag.unsqueeze(-1) * wrap(np.eye(p, dtype=g.dtype)) + wrap(lower)
        chol = self._unbroadcasted_scale_tril @ noise
        return chol @ chol.mT

    def rsample(self, sample_shape: Any = (), max_try_correction: int | None = None) -> Tensor:
        sample = self._bartlett(sample_shape)
        for _ in range(10 if max_try_correction is None else max_try_correction):
            singular = ~np.asarray(self.support._check(sample._data))
            if not singular.any():
                break
            warnings.warn("Singular sample detected.", stacklevel=2)
            sample = where(wrap(singular[..., None, None]), self._bartlett(sample_shape), sample)
        return sample

    def log_prob(self, value: Any) -> Tensor:
        value = self._checked(value)
        nu, p, L = self.df, self._event_shape[-1], self._unbroadcasted_scale_tril
        half_log_det = L.diagonal(dim1=-2, dim2=-1).log().sum(-1)
        trace = _cholesky_solve(value, L).diagonal(dim1=-2, dim2=-1).sum(-1)
        return (
            -nu * (p * _LOG_2 / 2 + half_log_det)
            - mvlgamma(nu / 2, p)
            + (nu - p - 1) / 2 * linalg.slogdet(value)[1]
            - trace / 2
        )

    def entropy(self) -> Tensor:
        nu, p, L = self.df, self._event_shape[-1], self._unbroadcasted_scale_tril
        half_log_det = L.diagonal(dim1=-2, dim2=-1).log().sum(-1)
        return (
            (p + 1) * (p * _LOG_2 / 2 + half_log_det)
            + mvlgamma(nu / 2, p)
            - (nu - p - 1) / 2 * _mvdigamma(nu / 2, p)
            + nu * p / 2
        )

    @property
    def _natural_params(self) -> tuple[Tensor, Tensor]:
        nu, p = self.df, self._event_shape[-1]
        return (-self.precision_matrix / 2, (nu - p - 1) / 2)

    def _log_normalizer(self, x: Tensor, y: Tensor) -> Tensor:
        p = self._event_shape[-1]
        return (y + (p + 1) / 2) * (-linalg.slogdet(-2 * x)[1] + _LOG_2 * p) + mvlgamma(y + (p + 1) / 2, p)
