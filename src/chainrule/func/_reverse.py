"""Reverse-mode transforms: ``grad``, ``grad_and_value``, ``value_and_grad``, ``vjp``, ``jacrev``.

Each call differentiates with respect to fresh *aliases* of its inputs (views
that require grad), never the caller's tensors: so ``grad(grad(f))`` and
``grad(lambda x: grad(lambda y: x * y)(x))`` keep their perturbations apart
(no "perturbation confusion").  The backward pass runs on bare arrays at top
level (as fast as ``autograd.grad``) and on Tensors when the result must stay
differentiable: inside another transform, or when an input already requires grad.
"""

from __future__ import annotations

import functools
from typing import Any, Callable

import numpy as np

from .._tensor import Tensor, wrap
from ..autograd import _levels
from ..autograd import grad as _autograd_grad
from ..autograd.grad_mode import enable_grad
from ._pytree import tree_flatten, tree_unflatten

__all__ = ["grad", "grad_and_value", "value_and_grad", "vjp", "jacrev"]


def argnums_tuple(argnums: Any, nargs: int, who: str) -> tuple[tuple[int, ...], bool]:
    """``(argnums as a tuple of non-negative ints, whether a single int was given)``."""
    single = isinstance(argnums, int)
    nums = (argnums,) if single else tuple(argnums)
    if not nums:
        raise ValueError(f"{who}: argnums must be an int or a non-empty tuple of ints")
    out = []
    for n in nums:
        if not isinstance(n, int):
            raise TypeError(f"{who}: argnums must be ints, got {type(n).__name__}")
        if not -nargs <= n < nargs:
            raise ValueError(f"{who}: got argnums={argnums} but only {nargs} positional arguments")
        out.append(n % nargs)
    if len(set(out)) != len(out):
        raise ValueError(f"{who}: argnums {argnums} names an argument twice")
    return tuple(out), single


def track(x: Any, who: str) -> Tensor:
    """An alias of ``x`` that requires grad: a view keeping ``x``'s history, tangents and batch."""
    if not isinstance(x, Tensor):
        raise TypeError(f"{who}: expected the differentiated arguments to be Tensors (or pytrees of "
                        f"Tensors), got {type(x).__name__}")
    if x._data.dtype.kind != "f":
        raise RuntimeError(f"{who}: can only differentiate with respect to floating point tensors, "
                           f"got {x.dtype}")
    if x._rg or _levels.has_levels(x):
        from ..ops import _core
        from ..ops.shape import RESHAPE

        y = _core.apply(RESHAPE, (x,), {"shape": x._data.shape})
        if not y._rg:  # a leaf of this transform (no history to keep): not a view in autograd's
            y._rg = True  # sense either, like detach(), though it shares the storage
            y._base = None
            _levels.mark_created(y)
        return y
    y = wrap(x._data)
    y._vc = x._vc
    y._rg = True
    _levels.mark_created(y)
    return y


def keep_graph(leaves: list) -> bool:
    """Must the derivatives stay differentiable (Tensors with a graph)?"""
    st = _levels.state
    if st.stack or st.reverse_depth:
        return True
    return any(isinstance(t, Tensor) and t._rg for t in leaves)


class _Scope:
    """While a reverse transform runs its function: grad mode on, nesting visible to inner ones.

    ``nested``: this transform runs inside another one (its results must stay differentiable).
    """

    def __enter__(self) -> _Scope:
        st = _levels.state
        self.nested = bool(st.stack or st.reverse_depth)
        st.reverse_depth += 1
        self.mode = enable_grad()
        self.mode.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self.mode.__exit__(*exc)
        _levels.state.reverse_depth -= 1


def _zeros_like(t: Tensor) -> Tensor:
    return wrap(np.zeros_like(t._data))


def detach_tree(tree: Any, keep: bool) -> Any:
    """``tree`` with its tensors cut from the graph, unless ``keep`` (results of a nested call)."""
    if keep:
        return tree
    leaves, spec = tree_flatten(tree)
    return tree_unflatten([t.detach() if isinstance(t, Tensor) and t._rg else t for t in leaves],
                          spec)


def _prepare(args: tuple, nums: tuple, who: str, nested: bool) -> tuple[list, list, bool]:
    """Replace the differentiated arguments by tracked aliases: (new args, [(leaves, spec)], keep)."""
    new = list(args)
    parts = []
    originals = []
    for n in nums:
        leaves, spec = tree_flatten(args[n])
        originals.extend(leaves)
        tracked = [track(x, f"{who} (argument {n})") for x in leaves]
        new[n] = tree_unflatten(tracked, spec)
        parts.append((tracked, spec))
    return new, parts, nested or any(isinstance(t, Tensor) and t._rg for t in originals)


def _split_aux(out: Any, has_aux: bool, who: str) -> tuple[Any, Any]:
    if not has_aux:
        return out, None
    if not isinstance(out, tuple) or len(out) != 2:
        raise RuntimeError(f"{who}(f, has_aux=True): f must return a pair (output, aux), got "
                           f"{type(out).__name__}")
    return out


def grad_and_value(func: Callable, argnums: Any = 0, has_aux: bool = False) -> Callable:
    """Like ``grad``, but the function returns ``(gradient, value)`` (``(gradient, (value, aux))``)."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        nums, single = argnums_tuple(argnums, len(args), "grad")
        with _Scope() as scope:
            new, parts, keep = _prepare(args, nums, "grad", scope.nested)
            out, aux = _split_aux(func(*new, **kwargs), has_aux, "grad")
            if not isinstance(out, Tensor):
                raise RuntimeError(f"grad(f)(*args): expected f(*args) to return a scalar Tensor, got "
                                   f"{type(out).__name__}")
            if out._data.ndim != 0:
                raise RuntimeError(
                    f"grad(f)(*args): expected f(*args) to return a scalar Tensor, got a tensor with "
                    f"{out._data.ndim} dims (shape {tuple(out._data.shape)}); reduce it (e.g. .sum()), "
                    "or use vjp/jacrev for non-scalar outputs"
                )
            flat = [t for tracked, _ in parts for t in tracked]
            if out._rg:
                gs = _autograd_grad(out, flat, create_graph=keep, retain_graph=keep, allow_unused=True)
            else:
                gs = (None,) * len(flat)
        gs = [g if g is not None else _zeros_like(t) for g, t in zip(gs, flat)]
        if not keep:
            gs = [g.detach() if g._rg else g for g in gs]
        trees, k = [], 0
        for tracked, spec in parts:
            trees.append(tree_unflatten(gs[k:k + len(tracked)], spec))
            k += len(tracked)
        g = trees[0] if single else tuple(trees)
        value = detach_tree(out, keep)
        if has_aux:
            return g, (value, detach_tree(aux, keep))
        return g, value

    return wrapper


def grad(func: Callable, argnums: Any = 0, has_aux: bool = False) -> Callable:
    """The gradient of a scalar function, as a function (``torch.func.grad``).

    >>> g = chainrule.func.grad(lambda x: (x ** 3).sum())
    >>> g(chainrule.tensor([1.0, 2.0]))               # 3 x^2
    tensor([ 3., 12.])

    ``argnums`` picks the argument(s) (an int, or a tuple -> a tuple of gradients); each
    may be a pytree of tensors.  ``has_aux``: ``func`` returns ``(loss, aux)``.
    """
    gv = grad_and_value(func, argnums, has_aux)

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        g, value = gv(*args, **kwargs)
        return (g, value[1]) if has_aux else g

    return wrapper


def value_and_grad(func: Callable, argnums: Any = 0, has_aux: bool = False) -> Callable:
    """JAX's spelling: ``(value, gradient)`` (``((value, aux), gradient)`` with ``has_aux``)."""
    gv = grad_and_value(func, argnums, has_aux)

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        g, value = gv(*args, **kwargs)
        return value, g

    return wrapper


def vjp(func: Callable, *primals: Any, has_aux: bool = False) -> tuple:
    """``(func(*primals), vjp_fn)``: ``vjp_fn(v)`` is vᵀJ for each primal (a tuple).

    ``v`` has the structure of the output.  ``vjp_fn`` may be called several times
    (also under ``vmap``, which is how ``jacrev`` builds a Jacobian row by row).
    """
    with _Scope() as scope:
        new, parts, keep = _prepare(primals, tuple(range(len(primals))), "vjp", scope.nested)
        out, aux = _split_aux(func(*new), has_aux, "vjp")
    flat_out, out_spec = tree_flatten(out)
    for o in flat_out:
        if not isinstance(o, Tensor):
            raise RuntimeError(f"vjp(f, *primals): expected f to return Tensors (or pytrees of them), "
                               f"got {type(o).__name__}")
    flat_in = [t for tracked, _ in parts for t in tracked]

    def vjp_fn(cotangents: Any) -> tuple:
        flat_ct, ct_spec = tree_flatten(cotangents)
        if ct_spec != out_spec:
            if len(flat_out) == 1 and len(flat_ct) == 1:
                pass  # f returned one tensor inside a container, or the reverse: accept
            else:
                raise RuntimeError(f"vjp_fn: expected cotangents with the structure of the output "
                                   f"{out_spec}, got {ct_spec}")
        pairs = [(o, c) for o, c in zip(flat_out, flat_ct) if o._rg]
        create = keep or keep_graph(flat_ct)
        if pairs and flat_in:
            gs = _autograd_grad([o for o, _ in pairs], flat_in, [c for _, c in pairs],
                                retain_graph=True, create_graph=create, allow_unused=True)
        else:
            gs = (None,) * len(flat_in)
        gs = [g if g is not None else _zeros_like(t) for g, t in zip(gs, flat_in)]
        if not create:
            gs = [g.detach() if g._rg else g for g in gs]
        res, k = [], 0
        for tracked, spec in parts:
            res.append(tree_unflatten(gs[k:k + len(tracked)], spec))
            k += len(tracked)
        return tuple(res)

    value = detach_tree(out, keep)
    if has_aux:
        return value, vjp_fn, detach_tree(aux, keep)
    return value, vjp_fn


def basis(leaves: list) -> tuple[list, int]:
    """Rows of the identity over the concatenated flattened ``leaves``: one ``(N, *shape)`` per leaf."""
    sizes = [int(t._data.size) for t in leaves]
    n = sum(sizes)
    out, start = [], 0
    for t, s in zip(leaves, sizes):
        e = np.zeros((n, s), dtype=t._data.dtype)
        e[np.arange(start, start + s), np.arange(s)] = 1
        out.append(wrap(e.reshape((n,) + t._data.shape)))
        start += s
    return out, n


def substitute(args: tuple, nums: tuple, values: tuple) -> list:
    new = list(args)
    for n, v in zip(nums, values):
        new[n] = v
    return new


def jacrev(func: Callable, argnums: Any = 0, *, has_aux: bool = False,
           chunk_size: int | None = None) -> Callable:
    """The Jacobian by reverse mode: ``vmap`` of ``vjp_fn`` over the rows of the identity.

    Output shape per (output, input) pair: ``output.shape + input.shape``; a tuple
    ``argnums`` gives a tuple per output, a pytree output a pytree of those.
    """
    from ._vmap import vmap

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        nums, single = argnums_tuple(argnums, len(args), "jacrev")
        keep = keep_graph(tree_flatten(args)[0])
        res = vjp(lambda *p: func(*substitute(args, nums, p), **kwargs), *[args[n] for n in nums],
                  has_aux=has_aux)
        out, vjp_fn = res[0], res[1]
        flat_out, out_spec = tree_flatten(out)
        rows, n = basis(flat_out)
        if n == 0:
            raise RuntimeError("jacrev: the function's output has no elements")
        cols = vmap(lambda *cts: vjp_fn(tree_unflatten(list(cts), out_spec)),
                    chunk_size=chunk_size)(*rows)
        jac = _split_rows(cols, flat_out, single)
        result = detach_tree(tree_unflatten(jac, out_spec), keep)
        return (result, res[2]) if has_aux else result

    return wrapper


def _split_rows(cols: tuple, flat_out: list, single: bool) -> list:
    """Per output leaf: the input-pytree of ``(*out_shape, *in_shape)`` blocks of the Jacobian."""
    from ..ops.index import getitem
    from ..ops.shape import reshape

    per_out = []
    start = 0
    for o in flat_out:
        size = int(o._data.size)
        per_arg = []
        for tree in cols:
            leaves, spec = tree_flatten(tree)
            blocks = [reshape(getitem(g, slice(start, start + size)),
                              o._data.shape + g._data.shape[1:]) for g in leaves]
            per_arg.append(tree_unflatten(blocks, spec))
        per_out.append(per_arg[0] if single else tuple(per_arg))
        start += size
    return per_out
