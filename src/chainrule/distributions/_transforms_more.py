"""More transforms of ``chainrule.distributions.transforms``: softplus, stick-breaking,
Cholesky parameterisations, piecewise ``CatTransform``/``StackTransform`` and the CDF of a
distribution.  Re-exported by ``transforms`` (PyTorch's module path)."""

from __future__ import annotations

import math
from typing import Any, Sequence

import numpy as np

from .. import linalg
from .._tensor import Tensor, wrap
from ..ops import cat, logsigmoid, softplus, stack
from . import constraints
from .transforms import Transform, _clipped_sigmoid, _sum_rightmost

__all__ = [
    "CatTransform", "CorrCholeskyTransform", "CumulativeDistributionTransform", "LowerCholeskyTransform",
    "PositiveDefiniteTransform", "SoftplusTransform", "StackTransform", "StickBreakingTransform",
]  # fmt: skip


def _diag_embed(d: Tensor) -> Tensor:
    return d.unsqueeze(-1) * wrap(np.eye(d.shape[-1], dtype=d._data.dtype))


def _strict_lower(x: Tensor) -> Tensor:
    """``x`` with its diagonal and upper triangle zeroed (``tril(-1)``)."""
    n, m = x.shape[-2], x.shape[-1]
    return x * wrap(np.tri(n, m, -1, dtype=x._data.dtype))


def _offset(k: int, dtype: Any, shift: int) -> Tensor:
    """``k + shift - [1, ..., k]``: the stick-breaking offsets (their log centres the sigmoid)."""
    return wrap((k + shift - np.arange(1, k + 1)).astype(dtype))


class SoftplusTransform(Transform):
    """``y = log(1 + exp(x))``."""

    domain = constraints.real
    codomain = constraints.positive
    bijective = True
    sign = +1

    def __eq__(self, other: object) -> bool:
        return isinstance(other, SoftplusTransform)

    __hash__ = object.__hash__

    def _call(self, x: Tensor) -> Tensor:
        return softplus(x)

    def _inverse(self, y: Tensor) -> Tensor:
        return (-((-y).expm1())).log() + y  # log(exp(y) - 1), stably

    def log_abs_det_jacobian(self, x: Tensor, y: Tensor) -> Tensor:
        return -softplus(-x)


class StickBreakingTransform(Transform):
    """Unconstrained ``(..., k)`` to the ``k + 1``-simplex by breaking a stick (bijective)."""

    domain = constraints.real_vector
    codomain = constraints.simplex
    bijective = True

    def __eq__(self, other: object) -> bool:
        return isinstance(other, StickBreakingTransform)

    __hash__ = object.__hash__

    def _call(self, x: Tensor) -> Tensor:
        offset = _offset(x.shape[-1], x._data.dtype, 1)
        z = _clipped_sigmoid(x - offset.log())
        z_cumprod = (1 - z).cumprod(-1)
        one = wrap(np.ones(tuple(x.shape[:-1]) + (1,), dtype=x._data.dtype))
        return cat([z, one], -1) * cat([one, z_cumprod], -1)

    def _inverse(self, y: Tensor) -> Tensor:
        y_crop = y[..., :-1]
        offset = _offset(y_crop.shape[-1], y._data.dtype, 1)
        sf = (1 - y_crop.cumsum(-1)).clamp(min=float(np.finfo(y._data.dtype).tiny))
        return y_crop.log() - sf.log() + offset.log()

    def log_abs_det_jacobian(self, x: Tensor, y: Tensor) -> Tensor:
        x = x - _offset(x.shape[-1], x._data.dtype, 1).log()
        return (-x + logsigmoid(x) + y[..., :-1].log()).sum(-1)

    def forward_shape(self, shape: Any) -> Any:
        return tuple(shape)[:-1] + (tuple(shape)[-1] + 1,)

    def inverse_shape(self, shape: Any) -> Any:
        return tuple(shape)[:-1] + (tuple(shape)[-1] - 1,)


class LowerCholeskyTransform(Transform):
    """Any square matrix to a lower-triangular one with a positive diagonal (exp of it)."""

    domain = constraints.independent(constraints.real, 2)
    codomain = constraints.lower_cholesky

    def __eq__(self, other: object) -> bool:
        return isinstance(other, LowerCholeskyTransform)

    __hash__ = object.__hash__

    def _call(self, x: Tensor) -> Tensor:
        return _strict_lower(x) + _diag_embed(x.diagonal(dim1=-2, dim2=-1).exp())

    def _inverse(self, y: Tensor) -> Tensor:
        return _strict_lower(y) + _diag_embed(y.diagonal(dim1=-2, dim2=-1).log())


class PositiveDefiniteTransform(Transform):
    """Any square matrix to a positive-definite one: ``L L^T`` of its lower-Cholesky image."""

    domain = constraints.independent(constraints.real, 2)
    codomain = constraints.positive_definite

    def __eq__(self, other: object) -> bool:
        return isinstance(other, PositiveDefiniteTransform)

    __hash__ = object.__hash__

    def _call(self, x: Tensor) -> Tensor:
        L = LowerCholeskyTransform()(x)
        return L @ L.mT

    def _inverse(self, y: Tensor) -> Tensor:
        return LowerCholeskyTransform().inv(linalg.cholesky(y))


class CatTransform(Transform):
    """``tseq[i]`` applied to consecutive pieces of ``dim`` of the given ``lengths``."""

    def __init__(
        self,
        tseq: Sequence[Transform],
        dim: int = 0,
        lengths: Sequence[int] | None = None,
        cache_size: int = 0,
    ) -> None:
        if cache_size:
            tseq = [t.with_cache(cache_size) for t in tseq]
        super().__init__(cache_size=cache_size)
        self.transforms = list(tseq)
        self.lengths = list(lengths) if lengths is not None else [1] * len(self.transforms)
        if len(self.lengths) != len(self.transforms):
            raise ValueError(f"lengths ({len(self.lengths)}) must match transforms ({len(self.transforms)})")
        self.dim = dim

    @property
    def event_dim(self) -> int:
        return max(t.event_dim for t in self.transforms)

    @property
    def length(self) -> int:
        return sum(self.lengths)

    def with_cache(self, cache_size: int = 1) -> Transform:
        if self._cache_size == cache_size:
            return self
        return CatTransform(self.transforms, self.dim, self.lengths, cache_size)

    def _pieces(self, v: Tensor) -> list[Tensor]:
        if v.shape[self.dim] != self.length:
            raise ValueError(
                f"CatTransform: size {v.shape[self.dim]} of dim {self.dim} must equal the total "
                f"length {self.length}"
            )
        starts = np.cumsum([0] + self.lengths)
        return [v.narrow(self.dim, int(s), n) for s, n in zip(starts, self.lengths, strict=False)]

    def _call(self, x: Tensor) -> Tensor:
        return cat([t(p) for t, p in zip(self.transforms, self._pieces(x), strict=True)], self.dim)

    def _inverse(self, y: Tensor) -> Tensor:
        parts = zip(self.transforms, self._pieces(y), strict=True)
        return cat([t.inv(p) for t, p in parts], self.dim)

    def log_abs_det_jacobian(self, x: Tensor, y: Tensor) -> Tensor:
        terms = []
        for t, xs, ys in zip(self.transforms, self._pieces(x), self._pieces(y), strict=True):
            term = t.log_abs_det_jacobian(xs, ys)
            if t.event_dim < self.event_dim:
                term = _sum_rightmost(term, self.event_dim - t.event_dim)
            terms.append(term)
        dim = self.dim - x.ndim if self.dim >= 0 else self.dim
        dim += self.event_dim
        return cat(terms, dim) if dim < 0 else sum(terms[1:], terms[0])

    @property
    def bijective(self) -> bool:  # type: ignore[override]
        return all(t.bijective for t in self.transforms)

    @property
    def domain(self) -> Any:  # type: ignore[override]
        return constraints.cat([t.domain for t in self.transforms], self.dim, self.lengths)

    @property
    def codomain(self) -> Any:  # type: ignore[override]
        return constraints.cat([t.codomain for t in self.transforms], self.dim, self.lengths)


class StackTransform(Transform):
    """``tseq[i]`` applied to slice ``i`` of ``dim``."""

    def __init__(self, tseq: Sequence[Transform], dim: int = 0, cache_size: int = 0) -> None:
        if cache_size:
            tseq = [t.with_cache(cache_size) for t in tseq]
        super().__init__(cache_size=cache_size)
        self.transforms = list(tseq)
        self.dim = dim

    def with_cache(self, cache_size: int = 1) -> Transform:
        if self._cache_size == cache_size:
            return self
        return StackTransform(self.transforms, self.dim, cache_size)

    def _slices(self, v: Tensor) -> list[Tensor]:
        if v.shape[self.dim] != len(self.transforms):
            raise ValueError(
                f"StackTransform: size {v.shape[self.dim]} of dim {self.dim} must equal the number "
                f"of transforms {len(self.transforms)}"
            )
        return [v.select(self.dim, i) for i in range(v.shape[self.dim])]

    def _call(self, x: Tensor) -> Tensor:
        return stack([t(s) for t, s in zip(self.transforms, self._slices(x), strict=True)], self.dim)

    def _inverse(self, y: Tensor) -> Tensor:
        parts = zip(self.transforms, self._slices(y), strict=True)
        return stack([t.inv(s) for t, s in parts], self.dim)

    def log_abs_det_jacobian(self, x: Tensor, y: Tensor) -> Tensor:
        parts = zip(self.transforms, self._slices(x), self._slices(y), strict=True)
        return stack([t.log_abs_det_jacobian(a, b) for t, a, b in parts], self.dim)

    @property
    def bijective(self) -> bool:  # type: ignore[override]
        return all(t.bijective for t in self.transforms)

    @property
    def domain(self) -> Any:  # type: ignore[override]
        return constraints.stack([t.domain for t in self.transforms], self.dim)

    @property
    def codomain(self) -> Any:  # type: ignore[override]
        return constraints.stack([t.codomain for t in self.transforms], self.dim)


class CumulativeDistributionTransform(Transform):
    """``y = distribution.cdf(x)``: onto the unit interval; the Jacobian term is the log density."""

    bijective = True
    codomain = constraints.unit_interval
    sign = +1

    def __init__(self, distribution: Any, cache_size: int = 0) -> None:
        super().__init__(cache_size=cache_size)
        self.distribution = distribution

    @property
    def domain(self) -> Any:  # type: ignore[override]
        return self.distribution.support

    def _call(self, x: Tensor) -> Tensor:
        return self.distribution.cdf(x)

    def _inverse(self, y: Tensor) -> Tensor:
        return self.distribution.icdf(y)

    def log_abs_det_jacobian(self, x: Tensor, y: Tensor) -> Tensor:
        return self.distribution.log_prob(x)

    def with_cache(self, cache_size: int = 1) -> Transform:
        if self._cache_size == cache_size:
            return self
        return CumulativeDistributionTransform(self.distribution, cache_size=cache_size)


def _tril_indices(n: int, diag: int) -> np.ndarray:
    """Flat indices (row-major) of the entries ``j < i + diag + 1`` of an ``n x n`` matrix."""
    rows, cols = np.nonzero(np.arange(n) < np.arange(n)[:, None] + (diag + 1))
    return rows * n + cols


def tril_matrix_to_vec(mat: Tensor, diag: int = 0) -> Tensor:
    """The lower-triangular entries (row by row) of the last two dims, as a vector."""
    n = mat.shape[-1]
    return mat.reshape(*mat.shape[:-2], n * n)[..., wrap(_tril_indices(n, diag))]


def vec_to_tril_matrix(vec: Tensor, diag: int = 0) -> Tensor:
    """The inverse of ``tril_matrix_to_vec``: zeros elsewhere (differentiable in ``vec``)."""
    m = vec.shape[-1]
    n = round((-(1 + 2 * diag) + ((1 + 2 * diag) ** 2 + 8 * m + 4 * abs(diag) * (diag + 1)) ** 0.5) / 2)
    index = np.zeros(n * n, dtype=np.int64)  # position 0 of the padded vector is a zero
    index[_tril_indices(n, diag)] = np.arange(1, m + 1)
    zero = wrap(np.zeros(tuple(vec.shape[:-1]) + (1,), dtype=vec._data.dtype))
    padded = cat([zero, vec], -1)
    return padded[..., wrap(index)].reshape(*vec.shape[:-1], n, n)


class CorrCholeskyTransform(Transform):
    """Unconstrained ``D (D - 1) / 2`` vectors to Cholesky factors of correlation matrices
    (tanh to partial correlations, then stick-breaking along each row)."""

    domain = constraints.real_vector
    codomain = constraints.corr_cholesky
    bijective = True

    def __eq__(self, other: object) -> bool:
        return isinstance(other, CorrCholeskyTransform)

    __hash__ = object.__hash__

    def _call(self, x: Tensor) -> Tensor:
        eps = float(np.finfo(x._data.dtype).eps)
        r = vec_to_tril_matrix(x.tanh().clamp(-1 + eps, 1 - eps), diag=-1)
        z1m_cumprod_sqrt = (1 - r**2).sqrt().cumprod(-1)
        eye = wrap(np.eye(r.shape[-1], dtype=r._data.dtype))
        one = wrap(np.ones(tuple(r.shape[:-1]) + (1,), dtype=r._data.dtype))
        return (r + eye) * cat([one, z1m_cumprod_sqrt[..., :-1]], -1)

    def _inverse(self, y: Tensor) -> Tensor:
        y_cumsum = 1 - (y * y).cumsum(-1)
        one = wrap(np.ones(tuple(y.shape[:-1]) + (1,), dtype=y._data.dtype))
        shifted = cat([one, y_cumsum[..., :-1]], -1)
        t = tril_matrix_to_vec(y, diag=-1) / tril_matrix_to_vec(shifted, diag=-1).sqrt()
        return (t.log1p() - (-t).log1p()) / 2

    def log_abs_det_jacobian(self, x: Tensor, y: Tensor) -> Tensor:
        y1m_cumsum = 1 - (y * y).cumsum(-1)
        stick_breaking = 0.5 * tril_matrix_to_vec(y1m_cumsum, diag=-2).log().sum(-1)
        tanh = -2 * (x + softplus(-2 * x) - math.log(2.0)).sum(-1)
        return stick_breaking + tanh

    def forward_shape(self, shape: Any) -> Any:
        n = tuple(shape)[-1]
        d = round((0.25 + 2 * n) ** 0.5 + 0.5)
        if d * (d - 1) // 2 != n:
            raise ValueError("Input is not a flattened lower-diagonal number")
        return tuple(shape)[:-1] + (d, d)

    def inverse_shape(self, shape: Any) -> Any:
        d = tuple(shape)[-1]
        return tuple(shape)[:-2] + (d * (d - 1) // 2,)
