"""``chainrule.linalg``: PyTorch's ``torch.linalg`` for real and complex dtypes, with gradients
(for complex ones in PyTorch's convention: docs/complex_fft.md).

Solvers and factorizations are in ``_solvers``, spectral functions in ``_spectral``, norms in
``_norms``; the primitives with their derivative rules are in ``ops/decompositions.py`` and
``ops/spectral.py``.  Singular or non-positive-definite input raises ``LinAlgError`` (a
``RuntimeError``) naming the batch element, as PyTorch does.
"""

from __future__ import annotations

from ._extra import householder_product, ldl_factor, ldl_factor_ex, ldl_solve, tensorinv, tensorsolve
from ._norms import matrix_norm, norm, vector_norm
from ._solvers import (
    LinAlgError,
    cholesky,
    cholesky_ex,
    cross,
    det,
    diagonal,
    inv,
    inv_ex,
    lu,
    lu_factor,
    lu_factor_ex,
    lu_solve,
    matmul,
    matrix_power,
    multi_dot,
    slogdet,
    solve,
    solve_ex,
    solve_triangular,
    vander,
    vecdot,
)
from ._spectral import (
    cond,
    eig,
    eigh,
    eigvals,
    eigvalsh,
    lstsq,
    matrix_exp,
    matrix_rank,
    pinv,
    qr,
    svd,
    svdvals,
)

__all__ = [
    "LinAlgError",
    "cholesky",
    "cholesky_ex",
    "cond",
    "cross",
    "det",
    "diagonal",
    "eig",
    "eigh",
    "eigvals",
    "eigvalsh",
    "householder_product",
    "inv",
    "inv_ex",
    "ldl_factor",
    "ldl_factor_ex",
    "ldl_solve",
    "lstsq",
    "lu",
    "lu_factor",
    "lu_factor_ex",
    "lu_solve",
    "matmul",
    "matrix_exp",
    "matrix_norm",
    "matrix_power",
    "matrix_rank",
    "multi_dot",
    "norm",
    "pinv",
    "qr",
    "slogdet",
    "solve",
    "solve_ex",
    "solve_triangular",
    "svd",
    "svdvals",
    "tensorinv",
    "tensorsolve",
    "vander",
    "vecdot",
    "vector_norm",
]
