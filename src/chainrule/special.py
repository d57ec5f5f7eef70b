"""``chainrule.special``: PyTorch's ``torch.special`` names, forwards from SciPy.

>>> import chainrule as torch
>>> torch.special.gammaln(torch.tensor([1.0, 2.0, 3.0]))
tensor([0.0000, 0.0000, 0.6931])

The differentiable ones are op-table primitives in ``ops/special_functions.py``; the rest
(softmax, logsumexp, log1p, ...) are the same functions as at the top level.
"""
# ruff: noqa: F401

from __future__ import annotations

from typing import Any

from .ops import exp2, expm1, log1p, log_softmax, logsumexp, round, softmax
from .ops.elementwise import erf
from .ops.elementwise import sigmoid as expit
from .ops.special_functions import (
    airy_ai,
    bessel_j0,
    bessel_j1,
    bessel_y0,
    bessel_y1,
    chebyshev_polynomial_t,
    chebyshev_polynomial_u,
    chebyshev_polynomial_v,
    chebyshev_polynomial_w,
    digamma,
    entr,
    erfc,
    erfcx,
    erfinv,
    gammainc,
    gammaincc,
    gammaln,
    hermite_polynomial_h,
    hermite_polynomial_he,
    i0,
    i0e,
    i1,
    i1e,
    laguerre_polynomial_l,
    legendre_polynomial_p,
    log_ndtr,
    logit,
    modified_bessel_i0,
    modified_bessel_i1,
    modified_bessel_k0,
    modified_bessel_k1,
    multigammaln,
    ndtr,
    ndtri,
    polygamma,
    psi,
    scaled_modified_bessel_k0,
    scaled_modified_bessel_k1,
    shifted_chebyshev_polynomial_t,
    shifted_chebyshev_polynomial_u,
    shifted_chebyshev_polynomial_v,
    shifted_chebyshev_polynomial_w,
    sinc,
    spherical_bessel_j0,
    xlog1py,
    xlogy,
    zeta,
)

__all__ = [n for n in dir() if not n.startswith("_") and n not in ("annotations", "Any")]
