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
from ..ops import _core
from ..ops._core import structural
from ..ops.index import getitem
from ..ops.shape import reshape
from ._pytree import tree_flatten, tree_unflatten, unflatten_each
from ._vmap import vmap

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


def _check(x: Any, who: str) -> None:
    if not isinstance(x, Tensor):
        raise TypeError(f"{who}: expected the differentiated arguments to be Tensors (or pytrees of "
                        f"Tensors), got {type(x).__name__}")
    if x._data.dtype.kind not in "fc":
        raise RuntimeError(f"{who}: can only differentiate with respect to floating point tensors, "
                           f"got {x.dtype}")


def track(x: Tensor) -> Tensor:
    """An alias of ``x`` that requires grad: a view keeping ``x``'s history, tangents and batch."""
    if x._rg or _levels.has_levels(x):
        y = reshape(x, x._data.shape)
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
    """Must the derivatives stay differentiable (Tensors with a graph)?  Yes inside another
    transform, or when an input already requires grad."""
    st = _levels.state
    if st.stack or st.reverse_depth:
        return True
    return any(isinstance(t, Tensor) and t._rg for t in leaves)


def _inputs(args: tuple, nums: Any, who: str) -> tuple[list, list, bool]:
    """The differentiated arguments' leaves (checked), their specs, and ``keep_graph`` of them."""
    leaves, specs = [], []
    for n in nums:
        part, spec = tree_flatten(args[n])
        for x in part:
            _check(x, f"{who} (argument {n})")
        leaves.extend(part)
        specs.append(spec)
    return leaves, specs, keep_graph(leaves)


class _Scope:
    """While a reverse transform runs its function: grad mode on, nesting visible to inner ones.

    ``with _Scope(leaves) as tracked``: ``tracked`` are the aliases to differentiate against.
    """

    def __init__(self, leaves: list) -> None:
        self.leaves = leaves

    def __enter__(self) -> list:
        self.mode = enable_grad()
        self.mode.__enter__()
        _levels.state.reverse_depth += 1
        return [track(x) for x in self.leaves]

    def __exit__(self, *exc: object) -> None:
        self.mode.__exit__(*exc)
        _levels.state.reverse_depth -= 1


def detach_tree(tree: Any, keep: bool) -> Any:
    """``tree`` with its tensors cut from the graph, unless ``keep`` (results of a nested call)."""
    if keep:
        return tree
    leaves, spec = tree_flatten(tree)
    return tree_unflatten([t.detach() if isinstance(t, Tensor) and t._rg else t for t in leaves],
                          spec)


def _pullback(outs: list, cts: list, tracked: list, specs: list, keep: bool, retain: bool) -> list:
    """``ctᵀ J`` as one tree per differentiated argument (zeros where unused); a graph is
    built (and kept on the result) only if ``keep``."""
    pairs = [(o, c) for o, c in zip(outs, cts) if o._rg]
    if pairs and tracked:
        # with an apply wrapper watching (chainrule.compile), the rules run as ops so that it
        # records them; the result is detached below all the same
        with_ops = keep or bool(_core._WRAPPERS)
        gs = _autograd_grad([o for o, _ in pairs], tracked, [c for _, c in pairs],
                            retain_graph=retain, create_graph=with_ops, allow_unused=True)
    else:
        gs = [None] * len(tracked)
    gs = [wrap(structural(np.zeros_like(t._data))) if g is None else g for g, t in zip(gs, tracked)]
    return unflatten_each(detach_tree(gs, keep), specs)


def split_aux(out: Any, has_aux: bool, who: str) -> tuple[Any, Any]:
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
        leaves, specs, keep = _inputs(args, nums, "grad")
        with _Scope(leaves) as tracked:
            new = substitute(args, nums, unflatten_each(tracked, specs))
            out, aux = split_aux(func(*new, **kwargs), has_aux, "grad")
            if not isinstance(out, Tensor):
                raise RuntimeError(f"grad(f)(*args): expected f(*args) to return a scalar Tensor, got "
                                   f"{type(out).__name__}")
            if out._data.ndim != 0:
                raise RuntimeError(
                    f"grad(f)(*args): expected f(*args) to return a scalar Tensor, got a tensor with "
                    f"{out._data.ndim} dims (shape {tuple(out._data.shape)}); reduce it (e.g. .sum()), "
                    "or use vjp/jacrev for non-scalar outputs"
                )
            trees = _pullback([out], [None], tracked, specs, keep, retain=keep)
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
    leaves, specs, keep = _inputs(primals, range(len(primals)), "vjp")
    with _Scope(leaves) as tracked:
        out, aux = split_aux(func(*unflatten_each(tracked, specs)), has_aux, "vjp")
    flat_out, out_spec = tree_flatten(out)
    for o in flat_out:
        if not isinstance(o, Tensor):
            raise RuntimeError(f"vjp(f, *primals): expected f to return Tensors (or pytrees of them), "
                               f"got {type(o).__name__}")

    def vjp_fn(cotangents: Any) -> tuple:
        flat_ct, ct_spec = tree_flatten(cotangents)
        if ct_spec != out_spec and not (len(flat_out) == 1 and len(flat_ct) == 1):
            # (one tensor inside a container on one side and bare on the other is accepted)
            raise RuntimeError(f"vjp_fn: expected cotangents with the structure of the output "
                               f"{out_spec}, got {ct_spec}")
        create = keep or keep_graph(flat_ct)
        return tuple(_pullback(flat_out, flat_ct, tracked, specs, create, retain=True))

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
