"""NumPy's override protocols: ``np.exp(t)``, ``np.sum(t, axis=0)``, ... on tensors record the graph.

NumPy hands a call to ``Tensor.__array_ufunc__`` (ufuncs: ``np.exp``, ``np.add``, ``arr + t``)
or ``Tensor.__array_function__`` (everything else: ``np.sum``, ``np.concatenate``) whenever a
tensor is among the arguments.  Each NumPy spelling listed below is translated to the chainrule
op that means the same (``axis`` -> ``dim``, ``keepdims`` -> ``keepdim``, ``ddof`` ->
``correction``), so the result is a tensor with a ``grad_fn``.

A NumPy function with no chainrule op cannot record the graph.  With a tensor that requires
grad it raises ``TypeError`` naming the function (the result would silently leave the graph);
with tensors that do not, it runs in NumPy on their arrays as before, so that matplotlib,
pandas and scikit-learn, which call many NumPy functions, keep accepting tensors.
``np.asarray(t)`` is not part of these protocols and keeps using ``Tensor.__array__``.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from ._tensor import Tensor, wrap

__all__ = ["install"]

# ufunc name -> chainrule function name (only plain elementwise calls: method "__call__")
_UFUNCS = {
    "add": "add",
    "subtract": "sub",
    "multiply": "mul",
    "true_divide": "div",
    "divide": "div",
    "negative": "neg",
    "power": "pow",
    "exp": "exp",
    "exp2": "exp2",
    "expm1": "expm1",
    "log": "log",
    "log2": "log2",
    "log10": "log10",
    "log1p": "log1p",
    "sqrt": "sqrt",
    "square": "square",
    "absolute": "abs",
    "fabs": "abs",
    "sign": "sign",
    "sin": "sin",
    "cos": "cos",
    "tan": "tan",
    "arcsin": "asin",
    "arccos": "acos",
    "arctan": "atan",
    "arctan2": "atan2",
    "sinh": "sinh",
    "cosh": "cosh",
    "tanh": "tanh",
    "arcsinh": "asinh",
    "arccosh": "acosh",
    "arctanh": "atanh",
    "floor": "floor",
    "ceil": "ceil",
    "trunc": "trunc",
    "rint": "round",
    "maximum": "maximum",
    "minimum": "minimum",
    "greater": "gt",
    "greater_equal": "ge",
    "less": "lt",
    "less_equal": "le",
    "equal": "eq",
    "not_equal": "ne",
    "logical_and": "logical_and",
    "logical_or": "logical_or",
    "logical_xor": "logical_xor",
    "logical_not": "logical_not",
    "isnan": "isnan",
    "isinf": "isinf",
    "isfinite": "isfinite",
    "reciprocal": "reciprocal",
    "matmul": "matmul",
    "remainder": "remainder",
    "floor_divide": "floor_divide",
    "bitwise_and": "bitwise_and",
    "bitwise_or": "bitwise_or",
    "bitwise_xor": "bitwise_xor",
    "invert": "bitwise_not",
    "hypot": "hypot",
    "copysign": "copysign",
    "logaddexp": "logaddexp",
    "logaddexp2": "logaddexp2",
}
_REDUCE = {"add": "sum", "multiply": "prod", "maximum": "amax", "minimum": "amin"}


def _cr() -> Any:
    import chainrule

    return chainrule


def _tensor(x: Any) -> Any:
    """NumPy arrays become tensors (no copy); NumPy scalars become Python numbers."""
    if isinstance(x, np.ndarray):
        return wrap(x)
    if isinstance(x, np.generic):
        return x.item()
    return x


def _needs_grad(args: Any) -> bool:
    stack = [args]
    while stack:
        a = stack.pop()
        if isinstance(a, Tensor):
            if a.requires_grad:
                return True
        elif isinstance(a, (list, tuple)):
            stack.extend(a)
        elif isinstance(a, dict):
            stack.extend(a.values())
    return False


def _plain(x: Any) -> Any:
    """Tensors (also inside lists/tuples) -> their arrays, for NumPy's own implementation."""
    if isinstance(x, Tensor):
        return x._data
    if isinstance(x, (list, tuple)):
        return type(x)(_plain(v) for v in x) if type(x) in (list, tuple) else x
    return x


def _refuse(name: str) -> TypeError:
    return TypeError(
        f"numpy.{name}() has no chainrule op, so its result could not record the graph of a "
        "tensor that requires grad; call it on t.detach().numpy() (gradients will not flow), or "
        "use the chainrule function with the same meaning"
    )


def array_ufunc(self: Tensor, ufunc: Any, method: str, *inputs: Any, **kwargs: Any) -> Any:
    out = kwargs.pop("out", None)
    name = ufunc.__name__
    fn = None
    if method == "__call__" and name in _UFUNCS and not kwargs:
        fn = getattr(_cr(), _UFUNCS[name], None)
        args = [_tensor(x) for x in inputs]
    elif method == "reduce" and name in _REDUCE and set(kwargs) <= {"axis", "keepdims", "dtype"}:
        cr = _cr()
        x = _tensor(inputs[0])
        axis = kwargs.get("axis", 0)
        fn = lambda x: _reduce(
            cr,
            _REDUCE[name],
            x,
            axis,
            kwargs.get("keepdims", False),  # noqa: E731
            kwargs.get("dtype"),
        )
        args = [x]
    if fn is None:
        if _needs_grad((inputs, out)):
            label = name if method == "__call__" else f"{name}.{method}"
            raise _refuse(label)
        if out is not None:
            kwargs["out"] = tuple(_plain(o) for o in out)
        return getattr(ufunc, method)(*(_plain(x) for x in inputs), **kwargs)
    result = fn(*args)
    return _write_out(result, out, name)


def _write_out(result: Any, out: Any, name: str) -> Any:
    if out is None:
        return result
    target = out[0] if isinstance(out, tuple) else out
    if len(out if isinstance(out, tuple) else (out,)) != 1 or not isinstance(target, Tensor):
        raise TypeError(f"numpy.{name}(out=...): out must be one tensor when the inputs are tensors")
    target.copy_(result)
    return target


def _reduce(cr: Any, op: str, x: Any, axis: Any, keepdims: bool, dtype: Any) -> Any:
    if dtype is not None:
        x = x.to(cr.dtypes.to_chainrule(dtype))
    if axis is None:
        out = getattr(cr, op)(x.reshape(-1), 0) if op in ("amax", "amin", "prod") else getattr(cr, op)(x)
        return out.reshape((1,) * x.ndim) if keepdims else out
    dims = axis if isinstance(axis, tuple) else (axis,)
    if op == "prod":
        for d in sorted((d % x.ndim for d in dims), reverse=True):
            x = cr.prod(x, d, keepdim=keepdims)
        return x
    return getattr(cr, op)(x, dims, keepdim=keepdims)


# ------------------------------------------------------------------ functions
def _dims(axis: Any) -> Any:
    return list(axis) if isinstance(axis, tuple) else axis


def _axis_reduce(op: str) -> Callable:
    def fn(
        a: Any, axis: Any = None, dtype: Any = None, out: Any = None, keepdims: bool = False, **kw: Any
    ) -> Any:
        _no_extras(op, kw)
        return _write_out(_reduce(_cr(), op, _tensor(a), axis, keepdims, dtype), out, op)

    return fn


def _no_extras(name: str, kw: dict) -> None:
    used = {k: v for k, v in kw.items() if v is not None and not (k == "where" and v is True)}
    if used:
        raise TypeError(f"numpy.{name}(): the argument(s) {sorted(used)} have no chainrule equivalent")


def _mean(
    a: Any, axis: Any = None, dtype: Any = None, out: Any = None, keepdims: bool = False, **kw: Any
) -> Any:
    _no_extras("mean", kw)
    x = _tensor(a)
    if dtype is not None:
        x = x.to(_cr().dtypes.to_chainrule(dtype))
    res = x.mean() if axis is None else x.mean(_dims(axis), keepdim=keepdims)
    if axis is None and keepdims:
        res = res.reshape((1,) * x.ndim)
    return _write_out(res, out, "mean")


def _moment(op: str) -> Callable:
    def fn(
        a: Any,
        axis: Any = None,
        dtype: Any = None,
        out: Any = None,
        ddof: int = 0,
        keepdims: bool = False,
        **kw: Any,
    ) -> Any:
        _no_extras(op, kw)
        x = _tensor(a)
        res = getattr(x, op)(dim=_dims(axis), correction=ddof, keepdim=keepdims)
        return _write_out(res, out, op)

    return fn


def _arg(op: str) -> Callable:
    def fn(a: Any, axis: Any = None, out: Any = None, *, keepdims: bool = False) -> Any:
        return _write_out(getattr(_tensor(a), op)(axis, keepdim=keepdims), out, op)

    return fn


def _cum(op: str) -> Callable:
    def fn(a: Any, axis: Any = None, dtype: Any = None, out: Any = None) -> Any:
        x = _tensor(a)
        if axis is None:
            x, axis = x.reshape(-1), 0
        return _write_out(getattr(x, op)(axis, dtype=dtype and _cr().dtypes.to_chainrule(dtype)), out, op)

    return fn


def _seq(op: str) -> Callable:
    def fn(arrays: Any, axis: int = 0, out: Any = None, **kw: Any) -> Any:
        _no_extras(op, kw)
        tensors = [_tensor(a) for a in arrays]
        if op == "cat" and axis is None:
            tensors, axis = [t.reshape(-1) for t in tensors], 0
        return _write_out(getattr(_cr(), op)(tensors, axis), out, op)

    return fn


def _where(condition: Any, x: Any = None, y: Any = None) -> Any:
    if x is None and y is None:
        return tuple(_cr().nonzero(_tensor(condition), as_tuple=True))
    return _cr().where(_tensor(condition), _tensor(x), _tensor(y))


def _transpose(a: Any, axes: Any = None) -> Any:
    x = _tensor(a)
    return x.permute(*(axes if axes is not None else range(x.ndim - 1, -1, -1)))


def _squeeze(a: Any, axis: Any = None) -> Any:
    x = _tensor(a)
    return x.squeeze() if axis is None else x.squeeze(_dims(axis))


def _clip(a: Any, a_min: Any = None, a_max: Any = None, out: Any = None, **kw: Any) -> Any:
    a_min, a_max = kw.pop("min", a_min), kw.pop("max", a_max)
    _no_extras("clip", kw)
    return _write_out(_cr().clamp(_tensor(a), _tensor(a_min), _tensor(a_max)), out, "clip")


def _round(a: Any, decimals: int = 0, out: Any = None) -> Any:
    return _write_out(_cr().round(_tensor(a), decimals=decimals), out, "round")


def _dot(a: Any, b: Any, out: Any = None) -> Any:
    x, y = _tensor(a), _tensor(b)
    if not isinstance(x, Tensor) or not isinstance(y, Tensor) or x.ndim == 0 or y.ndim == 0:
        return _write_out(_cr().mul(x, y), out, "dot")
    if y.ndim > 2:
        return _write_out(_cr().tensordot(x, y, dims=([x.ndim - 1], [y.ndim - 2])), out, "dot")
    return _write_out(_cr().matmul(x, y), out, "dot")


def _sort(op: str) -> Callable:
    def fn(a: Any, axis: Any = -1, kind: Any = None, order: Any = None, **kw: Any) -> Any:
        x = _tensor(a)
        if axis is None:
            x, axis = x.reshape(-1), 0
        res = _cr().sort(x, dim=axis, stable=True)
        return res[0] if op == "sort" else res[1]

    return fn


def _norm(x: Any, ord: Any = None, axis: Any = None, keepdims: bool = False) -> Any:
    return _cr().linalg.norm(_tensor(x), ord, _dims(axis), keepdims)


def _simple(name: str, *, first_only: bool = False, rename: dict | None = None) -> Callable:
    """A chainrule function taking the same positional arguments (keywords renamed)."""

    def fn(*args: Any, **kwargs: Any) -> Any:
        target = _cr()
        for part in name.split("."):
            target = getattr(target, part)
        kw = {(rename or {}).get(k, k): _tensor(v) for k, v in kwargs.items()}
        return target(*(_tensor(a) for a in args), **kw)

    return fn


def _table() -> dict:
    np_lin = np.linalg
    return {
        np.sum: _axis_reduce("sum"),
        np.prod: _axis_reduce("prod"),
        np.max: _axis_reduce("amax"),
        np.amax: _axis_reduce("amax"),
        np.min: _axis_reduce("amin"),
        np.amin: _axis_reduce("amin"),
        np.mean: _mean,
        np.std: _moment("std"),
        np.var: _moment("var"),
        np.argmax: _arg("argmax"),
        np.argmin: _arg("argmin"),
        np.cumsum: _cum("cumsum"),
        np.cumprod: _cum("cumprod"),
        np.concatenate: _seq("cat"),
        np.stack: _seq("stack"),
        np.vstack: _simple("vstack"),
        np.hstack: _simple("hstack"),
        np.where: _where,
        np.transpose: _transpose,
        np.matmul: _simple("matmul"),
        np.dot: _dot,
        np.outer: _simple("outer"),
        np.inner: _simple("inner"),
        np.kron: _simple("kron"),
        np.einsum: _simple("einsum"),
        np.tensordot: _simple("tensordot", rename={"axes": "dims"}),
        np.trace: _simple("trace"),
        np.reshape: lambda a, shape=None, *args, **kw: _tensor(a).reshape(
            kw.get("newshape", shape) if shape is not None or "newshape" in kw else args[0]
        ),
        np.ravel: lambda a, order="C": _tensor(a).reshape(-1),
        np.squeeze: _squeeze,
        np.expand_dims: lambda a, axis: _tensor(a).unsqueeze(axis),
        np.swapaxes: lambda a, axis1, axis2: _tensor(a).transpose(axis1, axis2),
        np.moveaxis: lambda a, source, destination: _cr().movedim(_tensor(a), source, destination),
        np.flip: lambda m, axis=None: _cr().flip(
            _tensor(m),
            list(range(_tensor(m).ndim))
            if axis is None
            else (list(axis) if isinstance(axis, tuple) else [axis]),
        ),
        np.roll: _simple("roll", rename={"shift": "shifts", "axis": "dims"}),
        np.tile: _simple("tile"),
        np.broadcast_to: lambda a, shape: _tensor(a).expand(*shape),
        np.clip: _clip,
        np.round: _round,
        np.around: _round,
        np.allclose: _simple("allclose"),
        np.isclose: _simple("isclose"),
        np.array_equal: lambda a1, a2, equal_nan=False: bool(_cr().equal(_tensor(a1), _tensor(a2))),
        np.sort: _sort("sort"),
        np.argsort: _sort("argsort"),
        np.tril: _simple("tril"),
        np.triu: _simple("triu"),
        np.diff: _simple("diff", rename={"axis": "dim"}),
        np.median: lambda a, axis=None, keepdims=False: (
            _tensor(a).median() if axis is None else _tensor(a).quantile(0.5, dim=axis, keepdim=keepdims)
        ),
        np.count_nonzero: lambda a, axis=None, *, keepdims=False: _cr().count_nonzero(_tensor(a), axis),
        np.sinc: _simple("sinc"),
        np.nansum: _simple("nansum"),
        np_lin.norm: _norm,
        np_lin.inv: _simple("linalg.inv"),
        np_lin.det: _simple("linalg.det"),
        np_lin.solve: _simple("linalg.solve"),
        np_lin.cholesky: _simple("linalg.cholesky"),
        np_lin.pinv: _simple("linalg.pinv"),
        np_lin.matrix_power: _simple("linalg.matrix_power"),
        np_lin.slogdet: _simple("linalg.slogdet"),
        np_lin.eigh: _simple("linalg.eigh"),
    }


_FUNCTIONS: dict | None = None


def array_function(self: Tensor, func: Any, types: Any, args: tuple, kwargs: dict) -> Any:
    global _FUNCTIONS
    if _FUNCTIONS is None:
        _FUNCTIONS = _table()
    if not all(issubclass(t, (Tensor, np.ndarray)) for t in types):
        return NotImplemented
    impl = _FUNCTIONS.get(func)
    if impl is None:
        if _needs_grad((args, kwargs)):
            raise _refuse(getattr(func, "__name__", str(func)))
        # grad-free tensors: NumPy's own implementation on their arrays, as before the protocol
        return func(*(_plain(a) for a in args), **{k: _plain(v) for k, v in kwargs.items()})
    return impl(*args, **kwargs)


def install() -> None:
    """Attach the two protocol methods to ``Tensor`` (the class itself stays free of their logic)."""
    Tensor.__array_ufunc__ = array_ufunc  # type: ignore[attr-defined]
    Tensor.__array_function__ = array_function  # type: ignore[attr-defined]
