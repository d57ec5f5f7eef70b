"""KL divergences between (low-rank) multivariate normals, term by term as PyTorch's."""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from .. import linalg
from .._tensor import Tensor
from .lowrank_multivariate_normal import (
    LowRankMultivariateNormal,
    _batch_lowrank_logdet,
    _batch_lowrank_mahalanobis,
    _diag_embed,
)
from .multivariate_normal import MultivariateNormal, _batch_mahalanobis, _batch_trace_XXT

__all__ = ["register_multivariate"]


def _check_events(p: Any, q: Any) -> None:
    if p.event_shape != q.event_shape:
        raise ValueError(
            f"KL-divergence between two (Low Rank) Multivariate Normals with different event "
            f"shapes cannot be computed: {tuple(p.event_shape)} and {tuple(q.event_shape)}"
        )


def _half_log_det(L: Tensor) -> Tensor:
    return L.diagonal(dim1=-2, dim2=-1).log().sum(-1)


def _kl_mvn_mvn(p: Any, q: Any) -> Tensor:
    _check_events(p, q)
    qL, pL = q._unbroadcasted_scale_tril, p._unbroadcasted_scale_tril
    half_term1 = _half_log_det(qL) - _half_log_det(pL)
    n = p.event_shape[0]
    batch = np.broadcast_shapes(tuple(qL.shape[:-2]), tuple(pL.shape[:-2]))
    term2 = _batch_trace_XXT(
        linalg.solve_triangular(qL.expand(*batch, n, n), pL.expand(*batch, n, n), upper=False)
    )
    term3 = _batch_mahalanobis(qL, q.loc - p.loc)
    return half_term1 + 0.5 * (term2 + term3 - n)


def _q_terms(q: Any, p: Any) -> tuple[Tensor, Tensor, Tensor]:
    """``log det Sigma_q``, the Mahalanobis term and ``A = C^{-1} W^T D^{-1}`` of a low-rank q."""
    W, D, C = q._unbroadcasted_cov_factor, q._unbroadcasted_cov_diag, q._capacitance_tril
    log_det = _batch_lowrank_logdet(W, D, C)
    term3 = _batch_lowrank_mahalanobis(W, D, q.loc - p.loc, C)
    A = linalg.solve_triangular(C, W.mT / D.unsqueeze(-2), upper=False)
    return log_det, term3, A


def _kl_lowrank_lowrank(p: Any, q: Any) -> Tensor:
    _check_events(p, q)
    q_log_det, term3, A = _q_terms(q, p)
    pW, pD = p._unbroadcasted_cov_factor, p._unbroadcasted_cov_diag
    qD = q._unbroadcasted_cov_diag
    term1 = q_log_det - _batch_lowrank_logdet(pW, pD, p._capacitance_tril)
    term2 = (
        (pD / qD).sum(-1)
        + _batch_trace_XXT(pW * qD.rsqrt().unsqueeze(-1))
        - _batch_trace_XXT(A * pD.sqrt().unsqueeze(-2))
        - _batch_trace_XXT(A @ pW)
    )
    return 0.5 * (term1 + term2 + term3 - p.event_shape[0])


def _kl_mvn_lowrank(p: Any, q: Any) -> Tensor:
    _check_events(p, q)
    q_log_det, term3, A = _q_terms(q, p)
    pL = p._unbroadcasted_scale_tril
    term1 = q_log_det - 2 * _half_log_det(pL)
    qD = q._unbroadcasted_cov_diag
    term2 = _batch_trace_XXT(pL * qD.rsqrt().unsqueeze(-1)) - _batch_trace_XXT(A @ pL)
    return 0.5 * (term1 + term2 + term3 - p.event_shape[0])


def _kl_lowrank_mvn(p: Any, q: Any) -> Tensor:
    _check_events(p, q)
    qL = q._unbroadcasted_scale_tril
    pW, pD = p._unbroadcasted_cov_factor, p._unbroadcasted_cov_diag
    term1 = 2 * _half_log_det(qL) - _batch_lowrank_logdet(pW, pD, p._capacitance_tril)
    term3 = _batch_mahalanobis(qL, q.loc - p.loc)
    n = p.event_shape[0]
    batch = np.broadcast_shapes(tuple(qL.shape[:-2]), tuple(pW.shape[:-2]))
    qL = qL.expand(*batch, n, n)
    term21 = _batch_trace_XXT(linalg.solve_triangular(qL, pW.expand(*batch, n, pW.shape[-1]), upper=False))
    term22 = _batch_trace_XXT(
        linalg.solve_triangular(qL, _diag_embed(pD.sqrt()).expand(*batch, n, n), upper=False)
    )
    return 0.5 * (term1 + term21 + term22 + term3 - n)


def register_multivariate(register_kl: Callable) -> None:
    """Add the four (low-rank) multivariate normal pairs to ``kl_divergence``'s registry."""
    register_kl(MultivariateNormal, MultivariateNormal)(_kl_mvn_mvn)
    register_kl(LowRankMultivariateNormal, LowRankMultivariateNormal)(_kl_lowrank_lowrank)
    register_kl(MultivariateNormal, LowRankMultivariateNormal)(_kl_mvn_lowrank)
    register_kl(LowRankMultivariateNormal, MultivariateNormal)(_kl_lowrank_mvn)
