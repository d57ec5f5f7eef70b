"""Linear algebra: matmul (1-d, 2-d, batched with broadcasting) and einsum.

``matmul`` is bilinear: one rule per side, each another matmul with a
transpose (``dX = G Yᵀ``, ``dY = Xᵀ G``), with batch broadcasting undone by
``sum_to``.  ``mm``, ``mv``, ``dot``, ``bmm``, ``outer`` are matmul with the
shape checks PyTorch makes.  ``einsum``'s VJP for each operand is another
einsum over the other operands and the cotangent.
"""

from __future__ import annotations

import string
from typing import Any

import numpy as np

from .._tensor import Tensor
from ._core import Primitive, apply, conj_if_complex, fail
from .elementwise import mul, promote
from .shape import reshape, sum_to, transpose, unsqueeze


def _shape(x: Any) -> tuple[int, ...]:
    return x._data.shape if isinstance(x, Tensor) else np.shape(x)


def _blas_ready(a: Any) -> Any:
    """Arrays with a zero stride (broadcast views) defeat BLAS; copy those once."""
    if isinstance(a, np.ndarray) and 0 in a.strides and a.size > 1:
        return np.ascontiguousarray(a)
    return a


def _mT(a: Any) -> Any:
    return transpose(a, -1, -2)


def _matmul_grad_x(g: Any, y: Any, x_shape: tuple[int, ...]) -> Any:
    g = _blas_ready(g)
    y = conj_if_complex(y)  # g @ y^H for complex (PyTorch's convention)
    ys = _shape(y)
    if len(x_shape) == 1 and len(ys) == 1:
        return g * y
    g2 = unsqueeze(g, -2) if len(x_shape) == 1 else g
    if len(ys) == 1:
        gx = mul(unsqueeze(g2, -1), y)  # outer product g ⊗ y, (..., m, k)
    else:
        gx = g2 @ _mT(y)
    if len(x_shape) == 1:
        gx = reshape(sum_to(gx, (1,) + x_shape if len(_shape(gx)) > 1 else x_shape), x_shape)
    return sum_to(gx, x_shape)


def _matmul_grad_y(g: Any, x: Any, y_shape: tuple[int, ...]) -> Any:
    g = _blas_ready(g)
    x = conj_if_complex(x)
    xs = _shape(x)
    if len(xs) == 1 and len(y_shape) == 1:
        return g * x
    g2 = unsqueeze(g, -1) if len(y_shape) == 1 else g
    if len(xs) == 1:
        gy = mul(unsqueeze(x, -1), unsqueeze(g2, -2) if len(y_shape) > 1 else g2)
    else:
        gy = _mT(x) @ g2
    if len(y_shape) == 1:
        gy = reshape(sum_to(gy, y_shape + (1,)), y_shape)
    return sum_to(gy, y_shape)


def _matmul_forward(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    out = np.matmul(x, y)  # bfloat16 products come back float32 (summed in float32, as PyTorch's)
    return out if out.dtype == x.dtype else out.astype(x.dtype)


def _matmul_primitive(name: str) -> Primitive:
    """Matrix products share forward and rules; separate entries only name the node like PyTorch."""
    op = Primitive(name, _matmul_forward, public=name.lower())
    op.defvjp(_matmul_grad_x, _matmul_grad_y)
    op.defjvp(lambda t, y: matmul(t, y), lambda t, x: matmul(x, t))
    return op


MATMUL, MM, MV, DOT, BMM = (_matmul_primitive(n) for n in ("Matmul", "Mm", "Mv", "Dot", "Bmm"))


def _product(x: Any, y: Any) -> Any:
    """Apply the matrix-product entry whose node name PyTorch would show for these shapes."""
    nx, ny = len(_shape(x)), len(_shape(y))
    if nx == 1 and ny == 1:
        op = DOT
    elif nx == 2 and ny == 1:
        op = MV
    elif nx == 2 and ny == 2:
        op = MM
    elif nx == 3 and ny == 3 and _shape(x)[0] == _shape(y)[0]:
        op = BMM
    else:
        op = MATMUL
    return apply(op, (x, y))


def _check_matmul(x: Any, y: Any, op: str) -> None:
    xs, ys = _shape(x), _shape(y)
    if not xs or not ys:
        raise fail(f"{op}(): both arguments need at least 1 dimension, got shapes {xs} and {ys}")
    k1 = xs[-1]
    k2 = ys[0] if len(ys) == 1 else ys[-2]
    if k1 != k2:
        raise fail(
            f"{op}(): shapes {xs} and {ys} cannot be multiplied ({k1} != {k2}); the last "
            "dimension of the first must equal the "
            + ("size of the second" if len(ys) == 1 else "second-to-last dimension of the second")
        )
    bx, by = xs[:-2], ys[:-2]
    try:
        np.broadcast_shapes(bx, by)
    except ValueError:
        raise fail(f"{op}(): batch dimensions {bx} and {by} of shapes {xs} and {ys} are not "
                   "broadcastable") from None


def matmul(x: Any, y: Any) -> Any:
    """Matrix product with NumPy/PyTorch semantics (1-d operands are promoted and squeezed)."""
    _check_matmul(x, y, "matmul")
    return _product(*promote(x, y))


def mm(x: Any, y: Any) -> Any:
    xs, ys = _shape(x), _shape(y)
    if len(xs) != 2 or len(ys) != 2:
        raise fail(f"mm(): both arguments must be 2-d matrices, got shapes {xs} and {ys}")
    _check_matmul(x, y, "mm")
    return _product(*promote(x, y))


def mv(x: Any, v: Any) -> Any:
    xs, vs = _shape(x), _shape(v)
    if len(xs) != 2 or len(vs) != 1:
        raise fail(f"mv(): expects a 2-d matrix and a 1-d vector, got shapes {xs} and {vs}")
    _check_matmul(x, v, "mv")
    return _product(*promote(x, v))


def dot(x: Any, y: Any) -> Any:
    xs, ys = _shape(x), _shape(y)
    if len(xs) != 1 or len(ys) != 1:
        raise fail(f"dot(): expects 1-d tensors, got shapes {xs} and {ys}")
    if xs != ys:
        raise fail(
            f"dot(): inconsistent tensor size, expected tensor [{xs[0]}] and src [{ys[0]}] to have "
            "the same number of elements"
        )
    return _product(*promote(x, y))


inner = dot
vdot = dot


def bmm(x: Any, y: Any) -> Any:
    xs, ys = _shape(x), _shape(y)
    if len(xs) != 3 or len(ys) != 3:
        raise fail(f"bmm(): expects 3-d tensors, got shapes {xs} and {ys}")
    if xs[0] != ys[0]:
        raise fail(f"bmm(): batch sizes differ: {xs[0]} and {ys[0]} (shapes {xs} and {ys})")
    _check_matmul(x, y, "bmm")
    return _product(*promote(x, y))


def outer(x: Any, y: Any) -> Any:
    xs, ys = _shape(x), _shape(y)
    if len(xs) != 1 or len(ys) != 1:
        raise fail(f"outer(): expects 1-d tensors, got shapes {xs} and {ys}")
    return mul(unsqueeze(x, 1), unsqueeze(y, 0))


ger = outer


def addmm(input: Any, mat1: Any, mat2: Any, *, beta: float = 1, alpha: float = 1) -> Any:  # noqa: A002
    from .elementwise import add

    prod = mm(mat1, mat2)
    return add(mul(input, beta) if beta != 1 else input, mul(prod, alpha) if alpha != 1 else prod)


def tensordot(x: Any, y: Any, dims: Any = 2) -> Any:
    xs, ys = _shape(x), _shape(y)
    if isinstance(dims, int):
        ax = list(range(len(xs) - dims, len(xs)))
        ay = list(range(dims))
    else:
        ax, ay = [list(d) if isinstance(d, (list, tuple)) else [d] for d in dims]
    from ._dims import norm_dim

    ax, ay = [norm_dim(a, len(xs), "tensordot") for a in ax], [norm_dim(b, len(ys), "tensordot") for b in ay]
    letters = iter(string.ascii_letters)
    sx = [next(letters) for _ in xs]
    sy = [next(letters) for _ in ys]
    for a, b in zip(ax, ay):
        sy[b] = sx[a]
    out = [c for i, c in enumerate(sx) if i not in [a % len(xs) for a in ax]]
    out += [c for i, c in enumerate(sy) if i not in [b % len(ys) for b in ay]]
    return einsum(f"{''.join(sx)},{''.join(sy)}->{''.join(out)}", x, y)


# ====================================================================== einsum
def _parse(equation: str, shapes: list[tuple[int, ...]]) -> tuple[list[str], str]:
    eq = equation.replace(" ", "")
    if "->" in eq:
        lhs, out = eq.split("->")
    else:
        lhs, out = eq, None
    subs = lhs.split(",")
    if len(subs) != len(shapes):
        raise fail(f"einsum(): equation {equation!r} names {len(subs)} operands but {len(shapes)} were given")
    for s, shape in zip(subs, shapes):
        n = len(s.replace("...", ""))
        if ("..." not in s and n != len(shape)) or ("..." in s and n > len(shape)):
            raise fail(f"einsum(): subscripts {s!r} do not match an operand of shape {shape}")
    if out is None:
        letters = "".join(s.replace("...", "") for s in subs)
        out = ("..." if any("..." in s for s in subs) else "") + "".join(
            sorted(c for c in set(letters) if letters.count(c) == 1)
        )
    return subs, out


def _einsum_forward(*operands: np.ndarray, equation: str) -> np.ndarray:
    with np.errstate(all="ignore"):  # np.einsum is Python: its inf/NaN warnings would not be ours
        return np.einsum(equation, *operands, optimize=len(operands) > 2)


def _layout(sub: str, shape: tuple[int, ...]) -> list[tuple[str, Any]]:
    """``[(letter, size), ...]`` for one operand, with ``('...', sizes)`` for an ellipsis."""
    if "..." not in sub:
        return list(zip(sub, shape))
    head, tail = sub.split("...")
    ell = len(shape) - len(head) - len(tail)
    return (
        list(zip(head, shape[: len(head)]))
        + [("...", shape[len(head) : len(head) + ell])]
        + list(zip(tail, shape[len(head) + ell :]))
    )


def _einsum_vjp(g: Any, operands: tuple, equation: str) -> tuple:
    shapes = [_shape(o) for o in operands]
    subs, out = _parse(equation, shapes)
    used = set("".join(subs) + out)
    spare = iter(c for c in string.ascii_letters if c not in used)
    ells = {len(sh) - len(s.replace("...", "")) for s, sh in zip(subs, shapes) if "..." in s}
    grads = []
    for i, (si, shape) in enumerate(zip(subs, shapes)):
        if "..." in si and not si.startswith("...") and len(ells) > 1:
            raise fail(
                "einsum(): the gradient of an operand with '...' after other subscripts needs "
                "every operand to have the same number of '...' dimensions",
                NotImplementedError,
            )
        terms = [(s, o) for j, (s, o) in enumerate(zip(subs, operands)) if j != i]
        terms.append((out, g))
        target, sizes = [], {}
        for c, size in _layout(si, shape):
            if c == "..." or c not in sizes:
                target.append(c)
                sizes[c] = size
            else:  # a repeated letter (diagonal): fresh letter tied to the first by an identity
                new = next(spare)
                terms.append((c + new, np.eye(size, dtype=_dtype_of(g))))
                target.append(new)
        present = set("".join(s for s, _ in terms))
        missing = [c for c in target if c != "..." and c not in present]
        if missing:  # summed only inside operand i: its gradient is broadcast along them
            terms.append(("".join(missing), np.ones(tuple(sizes[c] for c in missing), _dtype_of(g))))
        if "..." not in target and any("..." in s for s, _ in terms):
            terms = _spell_out_ellipsis(terms, spare)  # NumPy cannot sum a '...' away implicitly
        eq = ",".join(s for s, _ in terms) + "->" + "".join(target)
        gi = einsum(eq, *[o for _, o in terms])
        grads.append(sum_to(gi, shape) if _shape(gi) != shape else gi)
    return tuple(grads)


def _spell_out_ellipsis(terms: list, spare: Any) -> list:
    """Replace each '...' by letters (right-aligned, as broadcasting aligns them)."""
    counts = [len(_shape(o)) - len(s.replace("...", "")) for s, o in terms]
    n = max(k for (s, _), k in zip(terms, counts) if "..." in s)
    letters = "".join(next(spare) for _ in range(n))
    return [(s.replace("...", letters[n - k:]) if "..." in s else s, o)
            for (s, o), k in zip(terms, counts)]


def _dtype_of(a: Any) -> Any:
    return a._data.dtype if isinstance(a, Tensor) else np.asarray(a).dtype


EINSUM = Primitive("Einsum", _einsum_forward).defvjp_all(_einsum_vjp)


def _einsum_jvp(ts: tuple, operands: tuple, equation: str) -> Any:
    from .elementwise import add

    out = None
    for i, t in enumerate(ts):
        if t is None:
            continue
        ops = list(operands)
        ops[i] = t
        term = einsum(equation, *ops)
        out = term if out is None else add(out, term)
    return out


EINSUM.defjvp_all(_einsum_jvp)


def einsum(equation: str, *operands: Any) -> Any:
    """Einstein summation, e.g. ``einsum('bij,bjk->bik', a, b)``; operands may be a list."""
    if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = tuple(operands[0])
    _parse(equation, [_shape(o) for o in operands])
    if len(operands) > 1:
        from .. import dtypes as _dt
        from .elementwise import cast

        arrs = [o._data if isinstance(o, Tensor) else np.asarray(o) for o in operands]
        target = _dt.result_type(*arrs)
        operands = tuple(cast(o, target) for o in operands)
    return apply(EINSUM, tuple(operands), {"equation": equation})

