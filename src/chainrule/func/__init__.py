"""``chainrule.func``: composable function transforms (the semantics of ``torch.func`` / JAX).

>>> from chainrule.func import grad, vmap, hessian
>>> f = lambda x: (x ** 3).sum()
>>> grad(f)(x)                      # 3 x^2
>>> grad(grad(lambda x: x ** 3))(x0)   # 6 x0 (x0 a 0-d tensor)
>>> hessian(f)(x)                   # diag(6 x)
>>> vmap(grad(loss), in_dims=(None, 0, 0))(params, xs, ys)   # per-sample gradients

Transforms take and return functions; arguments and outputs may be tensors or
nested tuples/lists/dicts of tensors, and transforms nest (``jacfwd(jacrev(f))``,
``vmap(jacrev(f))``, ``grad(grad(f))``).  Reverse mode is the tape of
``chainrule.autograd``; forward mode is ``autograd.forward_ad``'s dual numbers;
``vmap`` runs each op once on the whole batch through its batching rule.
"""

from __future__ import annotations

from . import batching as _batching  # noqa: F401  (registers the batching rules)
from ._forward import hessian, hvp, jacfwd, jacobian, jvp, linearize
from ._pytree import tree_flatten, tree_map, tree_unflatten
from ._reverse import grad, grad_and_value, jacrev, value_and_grad, vjp
from ._vmap import fallback_counts, vmap
from .functional_call import functional_call

__all__ = ["grad", "grad_and_value", "value_and_grad", "vjp", "jvp", "linearize", "jacrev",
           "jacfwd", "jacobian", "hessian", "hvp", "vmap", "functional_call", "fallback_counts",
           "tree_flatten", "tree_unflatten", "tree_map"]
