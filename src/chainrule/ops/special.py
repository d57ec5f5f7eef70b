"""Special functions NumPy lacks (erf), on arrays, to float64 accuracy.

``erf`` uses the everywhere-positive Maclaurin series
``erf(x) = 2/sqrt(pi) * exp(-x^2) * sum_n (2x^2)^n x / (1*3*...*(2n+1))``
for |x| < 3 (no cancellation), and Lentz's continued fraction for ``erfc`` above
it (erfc(x) = exp(-x^2)/sqrt(pi) * 1/(x + 1/2 / (x + 1 / (x + 3/2 / (x + ...))))).
Both converge to below 1e-16 relative error within the iteration counts used.
"""

from __future__ import annotations

import math

import numpy as np

from ..dtypes import kind

__all__ = ["erf_array"]

_TWO_OVER_SQRT_PI = 2.0 / math.sqrt(math.pi)
_INV_SQRT_PI = 1.0 / math.sqrt(math.pi)


def _erf_series(x: np.ndarray) -> np.ndarray:
    x2 = x * x
    term = x.copy()
    total = x.copy()
    for n in range(1, 80):
        term = term * (2.0 * x2) / (2 * n + 1)
        total += term
    return _TWO_OVER_SQRT_PI * np.exp(-x2) * total


def _erfc_cf(x: np.ndarray) -> np.ndarray:
    """erfc for x >= 3 by the continued fraction x + (1/2)/(x + 1/(x + (3/2)/(x + ...)))."""
    # Evaluate bottom-up with a fixed depth (converges fast for x >= 3).
    frac = np.zeros_like(x)
    for k in range(60, 0, -1):
        frac = (k / 2.0) / (x + frac)
    return np.exp(-x * x) * _INV_SQRT_PI / (x + frac)


def erf_array(x: np.ndarray) -> np.ndarray:
    """Elementwise erf of a float array, computed in float64 and returned in x's dtype."""
    x = np.asarray(x)
    dtype = x.dtype if kind(x.dtype) == "f" else np.dtype(np.float64)
    xf = x.astype(np.float64)
    out = np.empty_like(xf)
    a = np.abs(xf)
    small = a < 3.0
    if small.any():
        out[small] = _erf_series(xf[small])
    big = ~small & ~np.isnan(xf)
    if big.any():
        out[big] = np.sign(xf[big]) * (1.0 - _erfc_cf(a[big]))
    nan = np.isnan(xf)
    if nan.any():
        out[nan] = np.nan
    return out.astype(dtype, copy=False)
