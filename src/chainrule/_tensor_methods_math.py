"""Tensor methods (and ``_`` in-place forms) of the special-function and sorting families.

One-line forwards, as in ``_tensor_methods``: ``x.lgamma()`` is ``chainrule.lgamma(x)``,
``x.lgamma_()`` writes it into ``x`` (recorded for autograd like every in-place op).
"""

from __future__ import annotations

from typing import Any, Callable

from . import _counting, _creation, ops
from . import _tensor_functions as _functions
from ._tensor import Tensor
from ._tensor_methods import inplace_method
from .ops import sorting as so
from .ops import special_functions as sf


def _polygamma(self: Tensor, n: int) -> Any:
    return sf.polygamma(n, self)


_FUNCTIONS: dict[str, Callable] = {
    "erfc": sf.erfc,
    "erfinv": sf.erfinv,
    "lgamma": sf.lgamma,
    "digamma": sf.digamma,
    "polygamma": _polygamma,
    "mvlgamma": sf.mvlgamma,
    "logit": sf.logit,
    "xlogy": sf.xlogy,
    "i0": sf.i0,
    "sinc": sf.sinc,
}
_INPLACE = [
    "erfc",
    "erfinv",
    "lgamma",
    "digamma",
    "polygamma",
    "mvlgamma",
    "logit",
    "xlogy",
    "i0",
    "sinc",
    "erf",
    "cumprod",
]


# cumprod is composed of unbind's views of its input: computed on a copy when written in place
# (the in-place rewrite of a tensor whose own views feed the new value gets the gradient wrong)
_READS_VIEWS = {"cumprod"}


def install(functions: dict[str, Callable], inplace_names: list[str]) -> None:
    """Attach ``functions`` as methods and their in-place forms (``name_``)."""
    for name, fn in functions.items():
        setattr(Tensor, name, fn)
    for name in inplace_names:
        fn = functions.get(name) or getattr(Tensor, name, None) or getattr(ops, name)
        if name in _READS_VIEWS:
            fn = (lambda f: lambda t, *a, **k: f(ops.clone(t), *a, **k))(fn)
        setattr(Tensor, name + "_", inplace_method(name + "_", fn))


install(_FUNCTIONS, _INPLACE)
_SORTING = [
    "sort",
    "argsort",
    "msort",
    "topk",
    "kthvalue",
    "median",
    "nanmedian",
    "mode",
    "quantile",
    "nanquantile",
    "cummax",
    "cummin",
    "logcumsumexp",
]
install({name: getattr(so, name) for name in _SORTING}, [])

install(
    {n: getattr(_counting, n) for n in ("unique", "unique_consecutive", "bincount", "histc", "histogram")}, []
)

_EVERYDAY = [
    "diff",
    "diag_embed",
    "diagflat",
    "kron",
    "rot90",
    "lerp",
    "addcmul",
    "addcdiv",
    "nan_to_num",
    "addmv",
    "addbmm",
    "baddbmm",
    "trace",
    "diag",
    "addmm",
    "hypot",
    "atan2",
    "arctan2",
    "copysign",
    "logaddexp",
    "logaddexp2",
    "asinh",
    "acosh",
    "atanh",
    "arcsinh",
    "arccosh",
    "arctanh",
    "fmod",
]
install(
    {n: getattr(_functions, n, None) or getattr(ops, n, None) or getattr(_creation, n) for n in _EVERYDAY},
    [
        "lerp",
        "addcmul",
        "addcdiv",
        "nan_to_num",
        "addmv",
        "addbmm",
        "baddbmm",
        "addmm",
        "hypot",
        "atan2",
        "arctan2",
        "copysign",
        "asinh",
        "acosh",
        "atanh",
        "arcsinh",
        "arccosh",
        "arctanh",
        "fmod",
        "remainder",
        "floor_divide",
    ],
)

install({"exp2": ops.exp2}, ["exp2"])
_INDEXED = ["index_copy", "index_fill", "masked_scatter", "scatter_reduce", "index_put"]
install({n: getattr(_functions, n) for n in _INDEXED}, _INDEXED)

# Triangles: x.tril(k), x.triu(k) and their in-place forms (recorded like every in-place op).
install({"tril": _creation.tril, "triu": _creation.triu}, ["tril", "triu"])


# ------------------------------------------------- methods that take their dims as varargs too
def _dims_arg(dims: tuple, kwargs: dict, op: str, what: str) -> tuple:
    """``x.op(0, 1)``, ``x.op((0, 1))``, ``x.op([0, 1])``, ``x.op(dims=...)`` all mean (0, 1)."""
    if "dims" in kwargs:
        if dims:
            raise TypeError(f"{op}(): got {what} both as positional arguments and as dims=")
        dims = (kwargs.pop("dims"),)
    if kwargs:
        raise TypeError(f"{op}(): unexpected keyword argument {next(iter(kwargs))!r}")
    if not dims:
        raise TypeError(f"{op}() missing the {what}: e.g. x.{op}(0) or x.{op}((0, 1))")
    if len(dims) == 1 and isinstance(dims[0], (tuple, list)):
        dims = tuple(dims[0])
    return dims


def _flip(self: Tensor, *dims: Any, **kwargs: Any) -> Any:
    """Reverse the order along ``dims``: ``x.flip(-2, -1)`` or ``x.flip((-2, -1))``."""
    return ops.flip(self, _dims_arg(dims, kwargs, "flip", "dims to flip"))


def _tile(self: Tensor, *dims: Any, **kwargs: Any) -> Any:
    """Repeat the whole tensor ``dims`` times per dimension: ``x.tile(2, 1)`` or ``x.tile((2, 1))``."""
    from .ops._dims import sizes_arg

    return ops.tile(self, sizes_arg(_dims_arg(dims, kwargs, "tile", "repetitions"), "tile"))


Tensor.flip = _flip  # type: ignore[attr-defined]
Tensor.tile = _tile  # type: ignore[attr-defined]
