"""``torch.linalg``'s spectral functions: eigh, svd, qr, and what is built on them
(eigvalsh, svdvals, pinv, lstsq, matrix_rank, cond, the spectral matrix norms).

The primitives (and their derivative rules, with what happens on repeated eigenvalues or
singular values) are in ``ops/spectral.py``.  Complex input works throughout (ᴴ for ᵀ);
``eig``/``eigvals`` return complex tensors even for real input, as PyTorch.
"""

from __future__ import annotations

import math
from collections import namedtuple
from typing import Any

import numpy as np

from .. import ops
from .._tensor import wrap
from ..ops import spectral as sp
from ..ops._core import fail
from ..ops.decompositions import mH
from ._solvers import _arr, _same_dtype, check

__all__ = [
    "eigh",
    "eigvalsh",
    "eig",
    "eigvals",
    "svd",
    "svdvals",
    "pinv",
    "lstsq",
    "matrix_rank",
    "qr",
    "cond",
    "matrix_exp",
]

linalg_eigh = namedtuple("linalg_eigh", ["eigenvalues", "eigenvectors"])
linalg_svd = namedtuple("linalg_svd", ["U", "S", "Vh"])
linalg_qr = namedtuple("linalg_qr", ["Q", "R"])
linalg_eig = namedtuple("linalg_eig", ["eigenvalues", "eigenvectors"])
linalg_lstsq = namedtuple("linalg_lstsq", ["solution", "residuals", "rank", "singular_values"])


def _uplo(UPLO: str) -> bool:  # noqa: N803
    if UPLO not in ("L", "U"):
        raise fail(f"linalg.eigh: Expected UPLO argument to be 'L' or 'U', but got {UPLO}")
    return UPLO == "U"


def eigh(A: Any, UPLO: str = "L", *, out: Any = None) -> Any:  # noqa: N803
    """(eigenvalues ascending, eigenvectors as columns) of symmetric A, reading one triangle.

    Eigenvectors are defined up to sign; their gradient is undefined (inf/nan) where
    eigenvalues repeat, while the eigenvalues' gradient ``V diag(ḡ) Vᵀ`` stays finite.
    """
    check(A, "linalg.eigh")
    return linalg_eigh(*sp.eigh(A, _uplo(UPLO)))


def eigvalsh(A: Any, UPLO: str = "L", *, out: Any = None) -> Any:  # noqa: N803
    check(A, "linalg.eigvalsh")
    return sp.eigh(A, _uplo(UPLO))[0]


def eig(A: Any, *, out: Any = None) -> Any:
    """(eigenvalues, eigenvectors as unit columns) of a general square A, complex even for
    real A.  Each vector is defined up to a phase; a loss that depends on it is refused at
    backward (as PyTorch), and the gradient is undefined where eigenvalues repeat."""
    check(A, "linalg.eig")
    return linalg_eig(*sp.eig(A))


def eigvals(A: Any, *, out: Any = None) -> Any:
    check(A, "linalg.eigvals")
    return sp.eig(A)[0]


def svd(A: Any, full_matrices: bool = True, *, driver: Any = None, out: Any = None) -> Any:
    """(U, S, Vh) with ``A = U diag(S) Vh``, S descending.  With ``full_matrices`` the extra
    columns of U (rows of Vh) are arbitrary, and the gradient ignores them (as PyTorch)."""
    check(A, "linalg.svd", square=False)
    if driver is not None:
        raise fail(
            "torch.linalg.svd: keyword argument `driver=` is only supported on CUDA "
            "inputs with cuSOLVER backend."
        )
    return linalg_svd(*sp.svd(A, full_matrices))


def svdvals(A: Any, *, driver: Any = None, out: Any = None) -> Any:
    check(A, "linalg.svdvals", square=False)
    return sp.svd(A, False)[1]


def _cutoff(s_max: Any, shape: tuple, dtype: np.dtype, atol: Any, rtol: Any) -> Any:
    """PyTorch's threshold ``max(atol, rtol · σ_max)``; rtol defaults to ``eps · max(m, n)``
    when neither is given, and to 0 when only atol is."""
    if rtol is None:
        rtol = np.finfo(dtype).eps * max(shape[-2:]) if atol is None else 0.0
    cut = ops.mul(s_max, rtol)
    if atol is not None:
        cut = ops.maximum(cut, atol)
    return cut


def _safe_reciprocal(s: Any, keep: Any) -> Any:
    """``1/s`` where kept, 0 elsewhere, with no inf anywhere (so no nan in the gradient)."""
    return ops.where(keep, ops.reciprocal(ops.where(keep, s, 1.0)), 0.0)


def pinv(A: Any, *, atol: Any = None, rtol: Any = None, hermitian: bool = False, out: Any = None) -> Any:
    """The Moore-Penrose inverse from the SVD (the eigendecomposition if hermitian), dropping
    singular values under the cutoff.  Its gradient is the SVD's: defined for distinct
    singular values (as this composite computes it)."""
    check(A, "linalg.pinv", square=hermitian)
    a = _arr(A)
    if not a.shape[-1] or not a.shape[-2]:
        return ops.mul(mH(A), 0.0)
    if hermitian:
        w, v = sp.eigh(A, False)
        cut = _cutoff(ops.amax(ops.abs(w), -1, keepdim=True), a.shape, a.dtype, atol, rtol)
        winv = _safe_reciprocal(w, ops.gt(ops.abs(w), cut))
        return ops.matmul(ops.mul(v, ops.unsqueeze(winv, -2)), mH(v))
    u, s, vh = sp.svd(A, False)
    cut = _cutoff(s[..., :1], a.shape, a.dtype, atol, rtol)
    sinv = _safe_reciprocal(s, ops.gt(s, cut))
    return ops.matmul(ops.mul(mH(vh), ops.unsqueeze(sinv, -2)), mH(u))


def lstsq(A: Any, B: Any, rcond: float | None = None, *, driver: str | None = None) -> Any:
    """The minimum-norm least-squares solution of ``AX ≈ B`` (as ``pinv(A) @ B``, rcond as
    the relative cutoff), with PyTorch's other results for each driver: ``gelsy`` (CPU
    default) returns the rank only; ``gelsd``/``gelss`` also the singular values; every driver
    but ``gelsy`` the squared residuals when m > n and A has full rank."""
    check(A, "linalg.lstsq", square=False)
    driver = driver or "gelsy"
    if driver not in ("gels", "gelsy", "gelsd", "gelss"):
        raise fail(
            f"torch.linalg.lstsq: parameter `driver` should be one of (gels, gelsy, gelsd, "
            f"gelss), but got {driver}"
        )
    _same_dtype(A, B, "torch.linalg.lstsq", ("input", "other"))  # PyTorch does not promote here
    a, b = _arr(A), _arr(B)
    vector = b.ndim == a.ndim - 1
    if b.ndim < 1 or a.ndim - b.ndim not in (0, 1):
        raise fail(
            f"torch.linalg.lstsq: input.dim() must be greater or equal to other.dim() and "
            f"(input.dim() - other.dim()) <= 1 (shapes {a.shape} and {b.shape})"
        )
    bb = ops.unsqueeze(B, -1) if vector else B
    if _arr(bb).shape[-2] != a.shape[-2]:
        raise fail(
            f"torch.linalg.lstsq: input.size(-2) should match other.size(-2) (shapes {a.shape} and {b.shape})"
        )
    for name, v in (("A", a), ("B", b)):  # LAPACK's drivers refuse them (PyTorch fails there too)
        if not np.isfinite(v).all():
            raise fail(
                f"torch.linalg.lstsq: the input {name} of shape {v.shape} holds NaN or inf values, "
                f"which the least-squares drivers cannot take; check them first, e.g. "
                f"torch.isfinite({name}).all()"
            )
    m, n = a.shape[-2:]
    x = ops.matmul(pinv(A, rtol=rcond), bb)
    s = sp.svd(A.detach() if hasattr(A, "detach") else A, False)[1]
    empty = wrap(np.zeros((0,), a.real.dtype))
    rank = matrix_rank(A, rtol=rcond) if driver != "gels" else wrap(np.zeros((0,), np.int64))
    if driver == "gelsy" and 0 in (m, n, _arr(bb).shape[-1]):  # LAPACK's gelsy returns early: rank 0
        rank = wrap(np.zeros(_arr(rank).shape, np.int64))
    residuals = empty
    if driver != "gelsy" and m > n and np.all(_arr(matrix_rank(A)) == n):
        r = ops.sub(ops.matmul(A, x), bb)
        residuals = ops.sum(ops.abs(r) ** 2 if _arr(r).dtype.kind == "c" else ops.mul(r, r), -2)
    values = s if driver in ("gelsd", "gelss") else empty
    if vector:
        x = ops.squeeze(x, -1)
        if residuals is not empty:
            residuals = ops.squeeze(residuals, -1)
    return linalg_lstsq(x, residuals, rank, values)


def matrix_rank(
    A: Any, *, atol: Any = None, rtol: Any = None, hermitian: bool = False, tol: Any = None, out: Any = None
) -> Any:
    """The number of singular values above ``max(atol, rtol · σ_max)`` (int64, no gradient)."""
    check(A, "linalg.matrix_rank", square=hermitian)
    a = _arr(A)
    if tol is not None:
        atol, rtol = tol, 0.0
    x = A.detach() if hasattr(A, "detach") else A
    s = ops.abs(sp.eigh(x, False)[0]) if hermitian else sp.svd(x, False)[1]
    if not _arr(s).shape[-1]:
        return wrap(np.zeros(a.shape[:-2], np.int64))
    cut = _cutoff(ops.amax(s, -1, keepdim=True), a.shape, a.dtype, atol, rtol)
    return ops.sum(ops.gt(s, cut), -1)


def qr(A: Any, mode: str = "reduced", *, out: Any = None) -> Any:
    """(Q, R) with Q orthonormal columns and R upper triangular; mode 'reduced', 'complete'
    or 'r' (R only, Q empty; not differentiable, as PyTorch)."""
    check(A, "linalg.qr", square=False)
    if mode not in ("reduced", "complete", "r"):
        raise fail(
            f"qr received unrecognized mode '{mode}' but expected one of 'reduced' "
            "(default), 'r', or 'complete'"
        )
    return linalg_qr(*sp.qr(A, mode))


def matrix_exp(A: Any) -> Any:
    """``exp(A) = Σ Aᵏ/k!`` (SciPy's Padé approximant); the gradient is exp's Fréchet
    derivative, the top-right block of the exponential of ``[[Aᵀ, Ḡ], [0, Aᵀ]]``."""
    check(A, "linalg.matrix_exp")
    return sp.matrix_exp(A)


def cond(A: Any, p: Any = None, *, out: Any = None) -> Any:
    """The condition number ``‖A‖ ‖A⁻¹‖`` in norm p (None or 2: ``σ_max/σ_min``)."""
    from . import _norms
    from ._solvers import inv

    if p not in (None, 2, -2, 1, -1, math.inf, -math.inf, "fro", "nuc"):
        raise fail(f"linalg.cond got an invalid norm type: {p}")
    empty = _arr(A).size == 0  # as PyTorch: 'fro'/'nuc' need square matrices even when empty
    check(A, "linalg.cond", square=isinstance(p, str) or (p not in (None, 2, -2) and not empty))
    if empty:  # PyTorch's value for empty input: 0 per matrix, a new tensor outside the graph
        return wrap(np.zeros(_arr(A).shape[:-2], _arr(A).real.dtype))
    if p in (None, 2, -2):
        s = svdvals(A)
        big, small = s[..., 0], s[..., -1]
        return ops.div(big, small) if p != -2 else ops.div(small, big)
    return ops.mul(_norms.matrix_norm(A, p), _norms.matrix_norm(inv(A), p))
