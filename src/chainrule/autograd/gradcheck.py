"""Compare autograd's derivatives with central finite differences.

``gradcheck(f, inputs)`` builds the full Jacobian both ways: numerically, by
perturbing each input element by ±eps (float64 recommended; complex128 inputs and outputs
are checked as real pairs, real and imaginary parts each perturbed), and analytically,
with one ``autograd.grad`` call per output element.  On a mismatch it names
the worst element: which input and output, the index, both values.
``gradgradcheck`` applies the same test to the function's VJP, which checks
second derivatives.
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

import numpy as np

from .._tensor import Tensor, wrap
from .grad_mode import enable_grad, no_grad

__all__ = ["gradcheck", "gradgradcheck", "GradcheckError", "numerical_jacobian", "analytical_jacobian"]


class GradcheckError(RuntimeError):
    """Raised by ``gradcheck`` when analytical and numerical derivatives disagree."""


def _outputs(f: Callable, inputs: Sequence[Any]) -> list[Tensor]:
    out = f(*inputs)
    if isinstance(out, Tensor):
        return [out]
    return [o for o in out if isinstance(o, Tensor)]


def _diff_inputs(inputs: Sequence[Any]) -> list[int]:
    return [i for i, x in enumerate(inputs) if isinstance(x, Tensor) and x._rg]


def numerical_jacobian(f: Callable, inputs: Sequence[Any], eps: float = 1e-6) -> list[list[np.ndarray]]:
    """``J[i][j]``: d(output j, flattened) / d(input i, flattened) by central differences."""
    def evaluate() -> list[np.ndarray]:
        return [o._data.astype(np.float64).reshape(-1) for o in _outputs(f, inputs)]

    jac = []
    with no_grad():
        sizes = [o.size for o in evaluate()]
        for i in _diff_inputs(inputs):
            n = inputs[i]._data.size
            flat = inputs[i]._data.flat  # writes perturb the input in place, whatever its layout
            cols = np.zeros((sum(sizes), n))
            for k in range(n):
                orig = flat[k].item()
                flat[k] = orig + eps
                plus = np.concatenate(evaluate() or [np.zeros(0)])
                flat[k] = orig - eps
                minus = np.concatenate(evaluate() or [np.zeros(0)])
                flat[k] = orig
                cols[:, k] = (plus - minus) / (2 * eps)
            jac.append(np.split(cols, np.cumsum(sizes)[:-1], axis=0) if sizes else [])
    return jac


def analytical_jacobian(f: Callable, inputs: Sequence[Any]) -> list[list[np.ndarray]]:
    """``J[i][j]`` from reverse mode: one backward pass per output element."""
    from . import grad

    idx = _diff_inputs(inputs)
    outs = _outputs(f, inputs)
    jac = [[np.zeros((o._data.size, inputs[i]._data.size)) for o in outs] for i in idx]
    for j, o in enumerate(outs):
        if not o._rg:
            continue
        for r in range(o._data.size):
            seed = np.zeros(o._data.size, dtype=o._data.dtype)
            seed[r] = 1
            gs = grad(o, [inputs[i] for i in idx], wrap(seed.reshape(o._data.shape)),
                      retain_graph=True, allow_unused=True)
            for a, g in enumerate(gs):
                if g is not None:
                    jac[a][j][r, :] = g._data.reshape(-1)
    return jac


def _compare(num: list, ana: list, inputs: Sequence[Any], atol: float, rtol: float,
             what: str) -> str | None:
    idx = _diff_inputs(inputs)
    for a, i in enumerate(idx):
        for j, (n, an) in enumerate(zip(num[a], ana[a])):
            err = np.abs(an - n) - (atol + rtol * np.abs(n))
            bad = ~(err <= 0)  # NaN counts as a mismatch
            if bad.any():
                r, c = np.unravel_index(np.nanargmax(np.where(bad, np.nan_to_num(err, nan=np.inf), -np.inf)),
                                        err.shape)
                in_shape = inputs[i]._data.shape
                in_index = np.unravel_index(c, in_shape) if in_shape else ()
                return (
                    f"{what} mismatch for output {j} with respect to input {i}: worst element at "
                    f"input index {tuple(int(v) for v in in_index)}, output element {int(r)}: "
                    f"analytical {float(an[r, c])!r} vs numerical {float(n[r, c])!r} "
                    f"(|difference| {abs(an[r, c] - n[r, c]):.3g} > atol {atol} + rtol {rtol} * "
                    f"|numerical|); {int(bad.sum())} of {bad.size} entries differ"
                )
    return None


def _realified(func: Callable, inputs: tuple) -> tuple[Callable, tuple]:
    """Complex inputs and outputs as real pairs (``view_as_real``), so that finite differences
    perturb real and imaginary parts separately.  The pair's gradient is ``view_as_real`` of
    the complex one, so this checks PyTorch's convention (``dL/da + i dL/db`` for z = a + ib)."""
    from ..ops.complex import view_as_complex, view_as_real

    cx = [i for i in _diff_inputs(inputs) if inputs[i]._data.dtype.kind == "c"]
    outs = _outputs(func, inputs)  # (with grad on: func may differentiate inside)
    if not cx and all(o._data.dtype.kind != "c" for o in outs):
        return func, inputs
    pairs = list(inputs)
    for i in cx:
        pairs[i] = wrap(np.ascontiguousarray(view_as_real(inputs[i].detach())._data)).requires_grad_()

    def real_func(*args: Any) -> Any:
        with enable_grad():  # (a function that differentiates inside needs z to require grad)
            zs = [view_as_complex(a) if k in cx else a for k, a in enumerate(args)]
        return tuple(view_as_real(o) if o._data.dtype.kind == "c" else o for o in _outputs(func, zs))

    return real_func, tuple(pairs)


def gradcheck(
    func: Callable,
    inputs: Any,
    *,
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-3,
    raise_exception: bool = True,
    check_forward_ad: bool = False,
    check_backward_ad: bool = True,
    **_: Any,
) -> bool:
    """True if ``func``'s reverse-mode (and optionally forward-mode) derivatives match finite differences.

    >>> x = chainrule.randn(3, dtype=chainrule.float64, requires_grad=True)
    >>> chainrule.autograd.gradcheck(lambda x: (x * x).sum(), (x,))
    True
    """
    inputs = (inputs,) if isinstance(inputs, Tensor) else tuple(inputs)
    func, inputs = _realified(func, inputs)
    for i in _diff_inputs(inputs):
        if inputs[i]._data.dtype != np.float64:
            import warnings

            warnings.warn(
                f"gradcheck: input {i} is {inputs[i]._data.dtype}, not float64; finite differences "
                "will be inaccurate",
                UserWarning,
                stacklevel=2,
            )
    num = numerical_jacobian(func, inputs, eps)
    problems = []
    if check_backward_ad:
        msg = _compare(num, analytical_jacobian(func, inputs), inputs, atol, rtol, "Jacobian (reverse mode)")
        if msg:
            problems.append(msg)
    if check_forward_ad:
        from .forward_ad import forward_jacobian

        msg = _compare(num, forward_jacobian(func, inputs), inputs, atol, rtol, "Jacobian (forward mode)")
        if msg:
            problems.append(msg)
    if problems:
        if raise_exception:
            raise GradcheckError("gradcheck failed: " + "; ".join(problems))
        return False
    return True


def gradgradcheck(
    func: Callable,
    inputs: Any,
    grad_outputs: Any = None,
    *,
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-3,
    raise_exception: bool = True,
    check_fwd_over_rev: bool = False,
    seed: int = 0,
    **_: Any,
) -> bool:
    """gradcheck applied to ``(inputs, v) -> vjp(func)(v)``: checks second derivatives."""
    from . import grad

    inputs = (inputs,) if isinstance(inputs, Tensor) else tuple(inputs)
    outs = [o for o in _outputs(func, inputs) if o._rg]
    if grad_outputs is None:
        rng = np.random.default_rng(seed)
        grad_outputs = [
            wrap((rng.standard_normal(o._data.shape) + (1j * rng.standard_normal(o._data.shape)
                                                       if o._data.dtype.kind == "c" else 0))
                 .astype(o._data.dtype)).requires_grad_()
            for o in outs
        ]
    else:
        grad_outputs = [grad_outputs] if isinstance(grad_outputs, Tensor) else list(grad_outputs)
    n_in = len(inputs)
    idx = _diff_inputs(inputs)

    def vjp_fn(*args: Any) -> tuple:
        xs, vs = args[:n_in], args[n_in:]
        # with grad on even where gradcheck's finite differences evaluate without it: without a
        # graph there is no first derivative to differentiate (and nothing would be compared)
        with enable_grad():
            os = [o for o in _outputs(func, xs) if o._rg]
            pairs = list(zip(os, vs))
            gs = grad([o for o, _ in pairs], [xs[i] for i in idx], [v for _, v in pairs],
                      create_graph=True, allow_unused=True)
        return tuple(g for g in gs if g is not None)

    return gradcheck(vjp_fn, tuple(inputs) + tuple(grad_outputs), eps=eps, atol=atol, rtol=rtol,
                     raise_exception=raise_exception, check_forward_ad=check_fwd_over_rev)
