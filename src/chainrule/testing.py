"""``chainrule.testing.assert_close``: PyTorch's comparison, tolerances and messages.

Default tolerances by dtype (rtol, atol): float16 (1e-3, 1e-5), float32 (1.3e-6, 1e-5),
float64 (1e-7, 1e-7), integers and bool exact.  Python numbers compare as float64; tensors,
NumPy arrays, numbers, and sequences/mappings of them are compared element by element, and
dtype and shape must agree (``check_dtype=False`` relaxes the dtype).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from ._tensor import Tensor

__all__ = ["assert_close", "assert_allclose"]

_TOL = {
    np.dtype(np.float16): (1e-3, 1e-5),
    np.dtype(np.float32): (1.3e-6, 1e-5),
    np.dtype(np.float64): (1e-7, 1e-7),
}


def _compare(
    actual: Any, expected: Any, rtol: Any, atol: Any, equal_nan: bool, check_dtype: bool, where: str
) -> str | None:
    if isinstance(actual, (Mapping, Sequence)) and not isinstance(actual, (str, Tensor, np.ndarray)):
        if type(actual) is not type(expected) and not (
            isinstance(actual, Sequence) and isinstance(expected, Sequence)
        ):
            return f"The types do not match: {type(actual).__name__} != {type(expected).__name__}.{where}"
        if len(actual) != len(expected):
            return f"The length of the sequences mismatch: {len(actual)} != {len(expected)}{where}"
        keys = actual.keys() if isinstance(actual, Mapping) else range(len(actual))
        for k in keys:
            msg = _compare(
                actual[k],
                expected[k],
                rtol,
                atol,
                equal_nan,
                check_dtype,
                f"\n\nThe failure occurred for item [{k!r}]" if not where else where,
            )
            if msg:
                return msg
        return None
    scalar = not isinstance(actual, (Tensor, np.ndarray))
    a = actual._data if isinstance(actual, Tensor) else np.asarray(actual)
    e = expected._data if isinstance(expected, Tensor) else np.asarray(expected)
    if scalar:
        a, e = (
            a.astype(np.float64) if a.dtype.kind in "fiub" else a,
            e.astype(np.float64) if e.dtype.kind in "fiub" else e,
        )
    if a.shape != e.shape:
        return f"The values for attribute 'shape' do not match: {_size(a.shape)} != {_size(e.shape)}.{where}"
    if check_dtype and not scalar and a.dtype != e.dtype:
        from .dtypes import from_numpy

        return (
            f"The values for attribute 'dtype' do not match: {from_numpy(a.dtype)} != "
            f"{from_numpy(e.dtype)}.{where}"
        )
    r, t = (rtol, atol) if rtol is not None else _TOL.get(np.result_type(a.dtype, e.dtype), (0.0, 0.0))
    af, ef = a.astype(np.float64), e.astype(np.float64)
    diff = np.abs(af - ef)
    ok = diff <= t + r * np.abs(ef)
    ok |= af == ef  # infinities of the same sign
    if equal_nan:
        ok |= np.isnan(af) & np.isnan(ef)
    if ok.all():
        return None
    exact = r == 0 and t == 0
    with np.errstate(divide="ignore", invalid="ignore"):
        rel = diff / np.abs(ef)
    if scalar or a.ndim == 0:
        head = "Scalars are not equal!" if exact else "Scalars are not close!"
        lines = [head, "", f"Expected {ef.item()} but got {af.item()}."]
        lines.append(
            f"Absolute difference: {_num(diff.item(), a)}" + ("" if exact else f" (up to {t} allowed)")
        )
        lines.append(f"Relative difference: {rel.item()}" + ("" if exact else f" (up to {r} allowed)"))
        return "\n".join(lines) + where
    bad = ~ok
    n, total = int(bad.sum()), a.size
    head = "Tensor-likes are not equal!" if exact else "Tensor-likes are not close!"
    d = np.where(bad, np.nan_to_num(diff, nan=np.inf), -1)
    i_abs = np.unravel_index(int(np.argmax(d)), a.shape)
    rd = np.where(bad, np.nan_to_num(rel, nan=np.inf), -1)
    i_rel = np.unravel_index(int(np.argmax(rd)), a.shape)
    lines = [
        head,
        "",
        f"Mismatched elements: {n} / {total} ({100 * n / total:.1f}%)",
        f"Greatest absolute difference: {_num(diff[i_abs], a)} at index {tuple(int(i) for i in i_abs)}"
        + ("" if exact else f" (up to {t} allowed)"),
        f"Greatest relative difference: {_rel(rel[i_rel], a, exact)}"
        f" at index {tuple(int(i) for i in i_rel)}" + ("" if exact else f" (up to {r} allowed)"),
    ]
    return "\n".join(lines) + where


def _rel(v: Any, a: np.ndarray, exact: bool) -> Any:
    """As PyTorch computes it: in float32 for float32 (and integer) tensors."""
    return np.float32(v) if a.dtype == np.float32 or (exact and a.dtype.kind in "iub") else v


def _num(v: Any, a: np.ndarray) -> Any:
    return int(v) if a.dtype.kind in "iub" and np.isfinite(v) else float(v)


def _size(shape: tuple) -> str:
    return f"chainrule.Size({list(shape)})"


def assert_close(
    actual: Any,
    expected: Any,
    *,
    allow_subclasses: bool = True,
    rtol: float | None = None,
    atol: float | None = None,
    equal_nan: bool = False,
    check_device: bool = True,
    check_dtype: bool = True,
    check_layout: bool = True,
    check_stride: bool = False,
    msg: Any = None,
) -> None:
    """Raise AssertionError (PyTorch's message) unless ``actual`` and ``expected`` are close."""
    if (rtol is None) != (atol is None):
        missing = "atol" if atol is None else "rtol"
        raise ValueError(f"Both 'rtol' and 'atol' must be either specified or omitted, but got no {missing}.")
    problem = _compare(actual, expected, rtol, atol, equal_nan, check_dtype, "")
    if problem is not None:
        raise AssertionError(msg(problem) if callable(msg) else (msg if msg is not None else problem))


def assert_allclose(
    actual: Any,
    expected: Any,
    rtol: float | None = None,
    atol: float | None = None,
    equal_nan: bool = True,
    msg: str = "",
) -> None:
    """The older spelling: like assert_close, dtypes not checked, NaNs equal by default."""
    if rtol is None and atol is None:
        rtol, atol = None, None
    elif rtol is None or atol is None:
        rtol, atol = rtol or 0.0, atol or 0.0
    assert_close(
        actual, expected, rtol=rtol, atol=atol, equal_nan=equal_nan, check_dtype=False, msg=msg or None
    )
