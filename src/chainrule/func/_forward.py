"""Forward-mode transforms on dual numbers: ``jvp``, ``linearize``, ``jacfwd``, and the
compositions ``hessian`` (forward-over-reverse), ``hvp`` and ``jacobian``.

``jvp`` opens its own dual level, so nested calls (``jvp`` of ``jvp``, ``jacfwd`` of
``jacrev``) never mix their tangents up.
"""

from __future__ import annotations

import functools
from typing import Any, Callable

import numpy as np

from .._tensor import Tensor, wrap
from ..autograd import _levels
from ..autograd import forward_ad as fwd
from ..ops.index import getitem
from ..ops.shape import movedim, reshape
from ._pytree import flatten_each, tree_flatten, tree_unflatten, unflatten_each
from ._reverse import argnums_tuple, basis, detach_tree, grad, jacrev, keep_graph, split_aux, substitute
from ._vmap import vmap

__all__ = ["jvp", "linearize", "jacfwd", "hessian", "hvp", "jacobian"]


def _check_pairs(primals: Any, tangents: Any, who: str) -> tuple[list, list, list]:
    if not isinstance(primals, (tuple, list)) or not isinstance(tangents, (tuple, list)):
        raise RuntimeError(f"{who}: primals and tangents must be tuples, e.g. {who}(f, (x,), (v,))")
    if len(primals) != len(tangents):
        raise RuntimeError(f"{who}: got {len(primals)} primals but {len(tangents)} tangents")
    flat_p, specs = flatten_each(primals)
    flat_t, t_specs = flatten_each(tangents)
    for i, (sp, st) in enumerate(zip(specs, t_specs)):
        if sp != st:
            raise RuntimeError(f"{who}: tangent {i} has structure {st} but its primal has {sp}")
    for a, b in zip(flat_p, flat_t):
        if not isinstance(a, Tensor) or not isinstance(b, Tensor):
            raise RuntimeError(f"{who}: primals and tangents must be Tensors (or pytrees of them)")
        if a._data.shape != b._data.shape:
            raise RuntimeError(f"{who}: a tangent has shape {tuple(b._data.shape)} but its primal "
                               f"has shape {tuple(a._data.shape)}")
    return specs, flat_p, flat_t


def jvp(func: Callable, primals: Any, tangents: Any, *, strict: bool = False,
        has_aux: bool = False) -> tuple:
    """``(func(*primals), J @ tangents)`` in one forward pass with dual numbers.

    >>> chainrule.func.jvp(chainrule.sin, (x,), (chainrule.ones_like(x),))   # (sin x, cos x)
    """
    specs, flat_p, flat_t = _check_pairs(primals, tangents, "jvp")
    lvl = fwd.enter_dual_level()
    try:
        duals = [fwd.make_dual(p, t, level=lvl) for p, t in zip(flat_p, flat_t)]
        out, aux = split_aux(func(*unflatten_each(duals, specs)), has_aux, "jvp")
        flat_out, out_spec = tree_flatten(out)
        prim, tans = [], []
        for o in flat_out:
            if not isinstance(o, Tensor):
                raise RuntimeError(f"jvp: expected f to return Tensors (or pytrees of them), got "
                                   f"{type(o).__name__}")
            t = _take_tangent(o, lvl)
            prim.append(o)
            tans.append(t if t is not None else wrap(np.zeros_like(o._data)))
        for a in tree_flatten(aux)[0]:  # aux leaves keep no tangent of an ended level
            _take_tangent(a, lvl)
    finally:
        _levels.pop(lvl)
    res = (tree_unflatten(prim, out_spec), tree_unflatten(tans, out_spec))
    return res + (aux,) if has_aux else res


def _take_tangent(o: Any, lvl: Any) -> Any:
    """The tangent of ``o`` at ``lvl``, removed from ``o`` (the level is about to end)."""
    if not isinstance(o, Tensor) or not o._meta or "tx" not in o._meta:
        return None
    return o._meta["tx"].pop(lvl, None)


def linearize(func: Callable, *primals: Any) -> tuple:
    """``(func(*primals), jvp_fn)`` with ``jvp_fn(*tangents) = J @ tangents``.

    ``jvp_fn`` evaluates the JVP at the fixed primals each time it is called (the
    primal output is computed once here); it is linear in its tangents.
    """
    out = func(*primals)

    def jvp_fn(*tangents: Any) -> Any:
        return jvp(func, primals, tangents)[1]

    return out, jvp_fn


def jacfwd(func: Callable, argnums: Any = 0, *, has_aux: bool = False,
           randomness: str = "error") -> Callable:
    """The Jacobian by forward mode: ``vmap`` of ``jvp`` over the columns of the identity.

    Output per (output, input) pair: ``output.shape + input.shape``, like ``jacrev``.
    Cheaper than ``jacrev`` when there are fewer inputs than outputs.
    """

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        nums, single = argnums_tuple(argnums, len(args), "jacfwd")
        keep = keep_graph(tree_flatten(args)[0])
        prim = tuple(args[n] for n in nums)
        flat_p, p_specs = flatten_each(prim)
        cols, n = basis(flat_p)
        if n == 0:
            raise RuntimeError("jacfwd: the differentiated inputs have no elements")

        def f(*p: Any) -> Any:
            return func(*substitute(args, nums, p), **kwargs)

        def push(*ts: Any) -> Any:
            res = jvp(f, prim, tuple(unflatten_each(ts, p_specs)), has_aux=has_aux)
            return res[1:] if has_aux else res[1]

        out = vmap(push, randomness=randomness, out_dims=(0, None) if has_aux else 0)(*cols)
        tans, aux = (out[0], out[1]) if has_aux else (out, None)
        jac = detach_tree(_columns_to_blocks(tans, flat_p, p_specs, single), keep)
        return (jac, aux) if has_aux else jac

    return wrapper


def _columns_to_blocks(tans: Any, flat_p: list, p_specs: list, single: bool) -> Any:
    """``(N, *out)`` tangents (one per input element) -> ``(*out, *in)`` blocks per input leaf."""
    leaves, spec = tree_flatten(tans)
    per_out = []
    for t in leaves:
        blocks, start = [], 0
        for p in flat_p:
            size = int(p._data.size)
            part = getitem(t, slice(start, start + size))  # (size, *out)
            part = movedim(part, 0, -1) if t._data.ndim > 1 else part
            blocks.append(reshape(part, t._data.shape[1:] + p._data.shape))
            start += size
        trees = unflatten_each(blocks, p_specs)
        per_out.append(trees[0] if single else tuple(trees))
    return tree_unflatten(per_out, spec)


def hessian(func: Callable, argnums: Any = 0) -> Callable:
    """The Hessian as ``jacfwd(jacrev(func))``: forward-over-reverse, like ``torch.func.hessian``."""
    return jacfwd(jacrev(func, argnums), argnums)


def hvp(func: Callable, primals: Any, tangents: Any) -> tuple:
    """``(func(*primals), H @ tangents)``: a Hessian-vector product without forming H.

    Computed as reverse-over-forward, ``grad(x -> jvp(func, x, v)[1])``: the directional
    derivative is one forward pass with dual numbers, and one backward pass through it gives
    H v.  Unlike forward-over-reverse (``jvp(grad(func))``, which ``hessian`` uses) the
    gradient itself is never formed, and at top level that backward runs on bare arrays;
    for ``sum(tanh(A @ x))`` this is three matrix-vector products instead of four.
    Single tensors may be passed for one input.
    """
    one = isinstance(primals, Tensor)
    if one:
        primals, tangents = (primals,), (tangents,)
    primals, tangents = tuple(primals), tuple(tangents)

    def directional(*p: Any) -> tuple:
        value, d = jvp(func, p, tangents)
        if not isinstance(d, Tensor) or d._data.ndim != 0:
            raise RuntimeError("hvp(f, ...): f must return a scalar Tensor")
        return d, value

    hv, value = grad(directional, argnums=tuple(range(len(primals))), has_aux=True)(*primals)
    return value, (hv[0] if one else hv)


def jacobian(func: Callable, inputs: Any, create_graph: bool = False, strict: bool = False,
             vectorize: bool = False, strategy: str = "reverse-mode") -> Any:
    """The Jacobian of ``func`` at ``inputs`` (``torch.autograd.functional.jacobian``'s API).

    ``inputs``: a Tensor or a tuple of Tensors.  Result: ``out.shape + in.shape`` blocks,
    a tuple per input when ``inputs`` is a tuple, a tuple per output when ``func``
    returns a tuple.  ``strategy='forward-mode'`` uses ``jacfwd``.
    """
    one_in = isinstance(inputs, Tensor)
    ins = (inputs,) if one_in else tuple(inputs)
    if strategy not in ("reverse-mode", "forward-mode"):
        raise ValueError(f"jacobian(): strategy must be 'reverse-mode' or 'forward-mode', got {strategy!r}")
    maker = jacrev if strategy == "reverse-mode" else jacfwd
    nums = 0 if one_in else tuple(range(len(ins)))
    jac = maker(func, nums)(*ins)
    return detach_tree(jac, create_graph)
