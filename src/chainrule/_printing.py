"""Tensor reprs in PyTorch's format (``tensor([ 0.,  4.,  8., 12.], grad_fn=<MulBackward0>)``).

The rules are PyTorch's: floats print with 4 decimals, or as ``1.`` when every
value is a whole number, or in scientific notation when the magnitudes span
more than 1000x (or exceed 1e8, or go below 1e-4); all elements share one
width; tensors with more than 1000 elements show 3 items at each edge.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from . import dtypes as _dt

__all__ = ["tensor_repr", "set_printoptions"]


class _Options:
    precision = 4
    threshold = 1000
    edgeitems = 3
    linewidth = 80
    sci_mode: bool | None = None


OPTS = _Options()


def set_printoptions(precision: int | None = None, threshold: int | None = None,
                     edgeitems: int | None = None, linewidth: int | None = None,
                     profile: str | None = None, sci_mode: bool | None = None) -> None:
    """Change how tensors print (same options as PyTorch)."""
    if profile == "default":
        OPTS.precision, OPTS.threshold, OPTS.edgeitems, OPTS.linewidth = 4, 1000, 3, 80
    elif profile == "short":
        OPTS.precision, OPTS.threshold, OPTS.edgeitems, OPTS.linewidth = 2, 1000, 2, 80
    elif profile == "full":
        OPTS.precision, OPTS.threshold, OPTS.edgeitems, OPTS.linewidth = 4, math.inf, 3, 80  # type: ignore[assignment]
    if precision is not None:
        OPTS.precision = precision
    if threshold is not None:
        OPTS.threshold = threshold
    if edgeitems is not None:
        OPTS.edgeitems = edgeitems
    if linewidth is not None:
        OPTS.linewidth = linewidth
    OPTS.sci_mode = sci_mode


class _Formatter:
    def __init__(self, values: np.ndarray) -> None:
        self.floating = values.dtype.kind == "f"
        self.int_mode = True
        self.sci_mode = False
        self.max_width = 1
        p = OPTS.precision
        flat = values.reshape(-1)
        if not self.floating:
            for v in flat.tolist():
                self.max_width = max(self.max_width, len(str(v)))
            return
        finite = flat[np.isfinite(flat) & (flat != 0)].astype(np.float64)
        if finite.size == 0:
            return
        absv = np.abs(finite)
        lo, hi = absv.min(), absv.max()
        self.int_mode = bool(np.all(finite == np.ceil(finite)))
        vals = finite.tolist()
        if self.int_mode:
            if hi / lo > 1000.0 or hi > 1.0e8:
                self.sci_mode = True
                widths = [len(f"{v:.{p}e}") for v in vals]
            else:
                widths = [len(f"{v:.0f}") + 1 for v in vals]
        elif hi / lo > 1000.0 or hi > 1.0e8 or lo < 1.0e-4:
            self.sci_mode = True
            widths = [len(f"{v:.{p}e}") for v in vals]
        else:
            widths = [len(f"{v:.{p}f}") for v in vals]
        self.max_width = max(widths)
        if OPTS.sci_mode is not None:
            self.sci_mode = OPTS.sci_mode

    def _plain(self, v: Any) -> str:
        p = OPTS.precision
        if not self.floating:
            return str(v)
        if self.sci_mode:
            return f"{v:.{p}e}"
        if self.int_mode:
            s = f"{v:.0f}"
            return s if (math.isinf(v) or math.isnan(v)) else s + "."
        return f"{v:.{p}f}"

    def format(self, v: Any) -> str:
        s = self._plain(v)
        return " " * (self.max_width - len(s)) + s


class _ComplexFormatter:
    """PyTorch's complex layout: the real and imaginary parts each get their own formatter
    (``1.0000+2.j``), and an element is as wide as both plus the ``j``."""

    def __init__(self, values: np.ndarray) -> None:
        self.re = _Formatter(np.ascontiguousarray(values.real))
        self.im = _Formatter(np.ascontiguousarray(values.imag))
        self.max_width = self.re.max_width + self.im.max_width + 1

    def format(self, v: Any) -> str:
        re = self.re.format(v.real)
        im = (self.im.format(v.imag) + "j").lstrip()
        return re + im if im[0] in "+-" else re + "+" + im


def _summarized(a: np.ndarray) -> np.ndarray:
    e = OPTS.edgeitems
    if a.ndim == 0:
        return a
    if a.shape[0] > 2 * e:
        parts = [_summarized(a[i]) for i in list(range(e)) + list(range(len(a) - e, len(a)))]
    else:
        parts = [_summarized(a[i]) for i in range(len(a))]
    return np.stack(parts) if parts else a


def _vector(a: np.ndarray, indent: int, summarize: bool, fmt: Any) -> str:
    element_length = fmt.max_width + 2
    per_line = max(1, int(math.floor((OPTS.linewidth - indent) / element_length)))
    e = OPTS.edgeitems
    vals = a.tolist()
    if summarize and len(vals) > 2 * e:
        data = [fmt.format(v) for v in vals[:e]] + [" ..."] + [fmt.format(v) for v in vals[-e:]]
    else:
        data = [fmt.format(v) for v in vals]
    lines = [", ".join(data[i : i + per_line]) for i in range(0, len(data), per_line)]
    return "[" + ("," + "\n" + " " * (indent + 1)).join(lines) + "]"


def _body(a: np.ndarray, indent: int, summarize: bool, fmt: Any) -> str:
    if a.ndim == 0:
        return fmt.format(a.item())
    if a.ndim == 1:
        return _vector(a, indent, summarize, fmt)
    e = OPTS.edgeitems
    if summarize and a.shape[0] > 2 * e:
        rows = [_body(a[i], indent + 1, summarize, fmt) for i in range(e)] + ["..."] + [
            _body(a[i], indent + 1, summarize, fmt) for i in range(len(a) - e, len(a))
        ]
    else:
        rows = [_body(a[i], indent + 1, summarize, fmt) for i in range(a.shape[0])]
    return "[" + ("," + "\n" * (a.ndim - 1) + " " * (indent + 1)).join(rows) + "]"


def _default_dtype(d: np.dtype) -> bool:
    f = _dt.get_default_dtype().np
    return d == f or d == np.int64 or d == np.bool_ or (d.kind == "c" and d == _dt.complex_of(f))


def array_str(a: np.ndarray, indent: int) -> str:
    """The bracketed values of ``a`` as PyTorch prints them (no prefix or suffixes)."""
    if a.size == 0:
        return "[]"
    if a.dtype.kind == "V":  # bfloat16: its values are exact in float32, which formats them
        a = a.astype(np.float32)
    summarize = a.size > OPTS.threshold
    values = _summarized(a) if summarize else a
    fmt = _ComplexFormatter(values) if a.dtype.kind == "c" else _Formatter(values)
    return _body(a, indent, summarize, fmt)


def tensor_repr(t: Any, prefix: str = "tensor(") -> str:
    if t._base is not None:  # a view whose base was written: show its regenerated grad_fn
        from ._inplace import refresh

        refresh(t)
    a = t._data
    indent = len(prefix)
    suffixes = []
    if a.size == 0 and a.shape != (0,):
        suffixes.append(f"size={tuple(a.shape)}")
    if not _default_dtype(a.dtype):
        suffixes.append(f"dtype={_dt.from_numpy(a.dtype)!r}")
    if t.grad_fn is not None:
        suffixes.append(f"grad_fn=<{t.grad_fn.name()}>")
    elif t._rg:
        suffixes.append("requires_grad=True")
    out = prefix + array_str(a, indent)
    last = len(out) - out.rfind("\n") + 1
    for s in suffixes:
        if last + len(s) + 2 > OPTS.linewidth:
            out += ",\n" + " " * indent + s
            last = indent + len(s)
        else:
            out += ", " + s
            last += len(s) + 2
    return out + ")"
