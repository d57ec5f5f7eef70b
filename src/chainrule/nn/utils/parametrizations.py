"""``nn.utils.parametrizations``: ready-made parametrizations (``weight_norm``, ``spectral_norm``,
``orthogonal``)."""

from __future__ import annotations

from typing import Any

import numpy as np

from ... import _creation, linalg, ops
from ..._tensor import Tensor
from ...autograd.grad_mode import no_grad
from .. import functional as F
from ..module import Module
from . import parametrize

__all__ = ["weight_norm", "spectral_norm", "orthogonal"]


def _norm_except_dim(v: Tensor, dim: int | None) -> Tensor:
    if dim is None or dim == -1:  # PyTorch: -1 (dim=None) is the norm of the whole tensor
        return v.norm()
    dim = dim % v.dim()
    axes = tuple(i for i in range(v.dim()) if i != dim)
    return (v * v).sum(dim=axes, keepdim=True).sqrt()


class _WeightNorm(Module):
    """``weight = g * v / ||v||`` with the norm over every dimension but ``dim``."""

    def __init__(self, dim: int | None = 0) -> None:
        super().__init__()
        self.dim = -1 if dim is None else dim

    def forward(self, weight_g: Tensor, weight_v: Tensor) -> Tensor:
        return weight_v * (weight_g / _norm_except_dim(weight_v, self.dim))

    def right_inverse(self, weight: Tensor) -> tuple[Tensor, Tensor]:
        return _norm_except_dim(weight, self.dim), weight


def weight_norm(module: Module, name: str = "weight", dim: int | None = 0) -> Module:
    """Reparametrize ``module.<name>`` as magnitude ``original0`` times direction ``original1``."""
    parametrize.register_parametrization(module, name, _WeightNorm(dim), unsafe=True)
    return module


class _SpectralNorm(Module):
    """``weight / sigma``, ``sigma`` the top singular value tracked by power iteration (_u, _v)."""

    def __init__(self, weight: Tensor, n_power_iterations: int = 1, dim: int = 0, eps: float = 1e-12) -> None:
        super().__init__()
        if n_power_iterations <= 0:
            raise ValueError(
                f"Expected n_power_iterations to be positive, but got n_power_iterations={n_power_iterations}"
            )
        ndim = weight.dim()
        self.dim = dim if dim >= 0 else dim + ndim
        self.eps = eps
        if ndim > 1:
            self.n_power_iterations = n_power_iterations
            mat = self._reshape(weight)
            h, w = mat.shape
            u = F.normalize(_creation.randn(h, dtype=weight.dtype), dim=0, eps=eps)
            v = F.normalize(_creation.randn(w, dtype=weight.dtype), dim=0, eps=eps)
            self.register_buffer("_u", u)
            self.register_buffer("_v", v)
            self._power_method(mat, 15)

    def _reshape(self, weight: Tensor) -> Tensor:
        if self.dim != 0:
            weight = weight.permute(self.dim, *(d for d in range(weight.dim()) if d != self.dim))
        return weight.flatten(1)

    def _power_method(self, mat: Tensor, n: int) -> None:
        with no_grad():
            for _ in range(n):
                self._u._data = F.normalize(mat.mv(self._v), dim=0, eps=self.eps)._data
                self._v._data = F.normalize(mat.t().mv(self._u), dim=0, eps=self.eps)._data

    def forward(self, weight: Tensor) -> Tensor:
        if weight.dim() == 1:
            return F.normalize(weight, dim=0, eps=self.eps)
        mat = self._reshape(weight)
        if self.training:
            self._power_method(mat, self.n_power_iterations)
        u, v = self._u.clone(), self._v.clone()
        sigma = (u * mat.mv(v)).sum()
        return weight / sigma

    def right_inverse(self, value: Tensor) -> Tensor:
        return value


def spectral_norm(
    module: Module,
    name: str = "weight",
    n_power_iterations: int = 1,
    eps: float = 1e-12,
    dim: int | None = None,
) -> Module:
    """Divide ``module.<name>`` by its spectral norm (PyTorch's default ``dim``: 1 for transposed convs)."""
    weight = getattr(module, name, None)
    if not isinstance(weight, Tensor):
        raise ValueError(f"Module '{module}' has no parameter or buffer with name '{name}'")
    if dim is None:
        dim = 1 if "ConvTranspose" in type(module).__name__ else 0
    parametrize.register_parametrization(module, name, _SpectralNorm(weight, n_power_iterations, dim, eps))
    return module


# ------------------------------------------------------------------ orthogonal
_MAPS = ("matrix_exp", "cayley", "householder")


def _householder_product(v: Tensor, tau: Tensor) -> Tensor:
    """The first k columns of H_1 ... H_k, H_i = I - tau_i v_i v_iᵀ, v_i = e_i + column i of ``v``
    below the diagonal (``torch.linalg.householder_product``'s convention), for ``v`` (..., n, k)
    and ``tau`` (..., k); composed of ops, so it is differentiable in both."""
    n, k = v.shape[-2], v.shape[-1]
    units = _creation.eye(n, k, dtype=v.dtype)
    vecs = v.tril(-1) + units  # column i: the reflector's vector, 1 at row i
    q = units.expand(*v.shape)
    for i in range(k - 1, -1, -1):  # H_i (H_{i+1} ... H_k I): the last reflector first
        vi = vecs[..., i : i + 1]  # (..., n, 1)
        q = q - (tau[..., i : i + 1].unsqueeze(-1) * vi) @ (vi.mT @ q)
    return q


def _make_orthogonal(a: Tensor) -> Tensor:
    """The Q of a QR of ``a`` with R's diagonal made positive (unique for full rank)."""
    q, r = linalg.qr(a)
    return q * ops.sign(r.diagonal(dim1=-2, dim2=-1)).unsqueeze(-2)


def _is_orthogonal(q: Tensor) -> bool:
    n, k = q.shape[-2], q.shape[-1]
    eps = 10.0 * n * float(np.finfo(q._data.dtype).eps)
    return bool(ops.allclose(q.mT @ q, _creation.eye(k, dtype=q.dtype), atol=eps))


def _geqrf(a: Tensor) -> tuple[Tensor, Tensor]:
    """LAPACK's geqrf per matrix: R on and above the diagonal, the Householder vectors below, and
    their scalars tau (what ``torch.geqrf`` returns)."""
    import scipy.linalg as sla

    from ...ops.decompositions import _matrices

    arr = a._data
    flat = _matrices(arr)  # (also an empty batch)
    geqrf = sla.get_lapack_funcs("geqrf", (flat,))
    k = min(arr.shape[-2:])
    qrs = np.empty(flat.shape, arr.dtype)
    taus = np.empty((flat.shape[0], k), arr.dtype)
    for j, m in enumerate(flat):
        qrs[j], taus[j], _, _ = geqrf(m)
    return _creation.tensor(qrs.reshape(arr.shape)), _creation.tensor(taus.reshape(arr.shape[:-2] + (k,)))


class _Orthogonal(Module):
    """``weight`` = an orthogonal (n, k) matrix (orthonormal columns, or rows when n < k) made
    from an unconstrained tensor by ``orthogonal_map``; with ``use_trivialization`` it is
    ``base @ map(original)``, ``base`` the orthogonal matrix that assignment stores (so the map
    only has to cover a neighbourhood of the identity)."""

    def __init__(self, weight: Tensor, orthogonal_map: str, *, use_trivialization: bool = True) -> None:
        super().__init__()
        self.shape = tuple(weight.shape)
        self.orthogonal_map = orthogonal_map
        if use_trivialization:
            self.register_buffer("base", None)

    def forward(self, x: Tensor) -> Tensor:
        n, k = x.shape[-2], x.shape[-1]
        transposed = n < k
        if transposed:
            x = x.mT
            n, k = k, n
        if self.orthogonal_map in ("matrix_exp", "cayley"):
            a = x.tril()  # (n, k): padded to a square lower triangle, then made skew-symmetric
            if n != k:
                a = ops.cat([a, _creation.zeros(*a.shape[:-1], n - k, dtype=a.dtype)], -1)
            a = a - a.mT
            if self.orthogonal_map == "matrix_exp":
                q = linalg.matrix_exp(a)
            else:  # Cayley: (I - A/2)⁻¹ (I + A/2)
                eye = _creation.eye(n, dtype=a.dtype)
                q = linalg.solve(eye - 0.5 * a, eye + 0.5 * a)
            if n != k:
                q = q[..., :k]
        else:  # Householder reflectors from the strict lower triangle; the diagonal sets the signs
            v = x.tril(-1)
            tau = 2.0 / (1.0 + (v * v).sum(dim=-2))
            q = _householder_product(v, tau)
            q = q * x.diagonal(dim1=-2, dim2=-1).int().unsqueeze(-2)
        if "base" in self._buffers:
            q = self.base @ q
        return q.mT if transposed else q

    def right_inverse(self, q: Tensor) -> Tensor:
        """An ``original`` for which the parametrized tensor is ``q`` (made orthogonal first)."""
        if tuple(q.shape) != self.shape:
            raise ValueError(
                f"orthogonal: expected a matrix or batch of matrices of shape {self.shape}, got a tensor "
                f"of shape {tuple(q.shape)}"
            )
        q_init = q
        n, k = q.shape[-2], q.shape[-1]
        transposed = n < k
        if transposed:
            q = q.mT
            n, k = k, n
        if "base" not in self._buffers:
            if self.orthogonal_map != "householder":
                raise NotImplementedError(
                    "It is not possible to assign to the matrix exponential or the Cayley "
                    "parametrizations when use_trivialization=False."
                )
            a, tau = _geqrf(q)
            d = a._data.diagonal(axis1=-2, axis2=-1).copy()
            d = np.sign(d)
            d[tau._data == 0.0] *= -1  # no reflector there: the sign lives in the diagonal alone
            idx = np.arange(k)
            a._data[..., idx, idx] = d
            return a.mT if transposed else a
        if n == k:
            q = _make_orthogonal(q) if not _is_orthogonal(q) else q.clone()
        else:  # complete the k columns to an orthogonal n x n matrix
            extra = _creation.randn(*q.shape[:-2], n, n - k, dtype=q.dtype)
            q = _make_orthogonal(ops.cat([q, extra], -1))
        self.base = q
        # -I: the matrix_exp and cayley maps send it to I, and so does householder (its diagonal
        # gives the signs), so the parametrized tensor is base (its first k columns)
        neg_id = _creation.zeros(*q_init.shape, dtype=q_init.dtype)
        idx = np.arange(min(q_init.shape[-2:]))
        neg_id._data[..., idx, idx] = -1.0
        return neg_id


def orthogonal(
    module: Module,
    name: str = "weight",
    orthogonal_map: str | None = None,
    *,
    use_trivialization: bool = True,
) -> Module:
    """Constrain ``module.<name>`` (..., n, k) to orthogonal matrices: orthonormal columns
    (n >= k) or rows (n < k).  ``orthogonal_map``: "matrix_exp" or "cayley" (of a skew-symmetric
    matrix) or "householder" (a product of reflectors); by default "matrix_exp" for square
    matrices, "householder" otherwise, as PyTorch.

    >>> m = orthogonal(nn.Linear(5, 3))
    >>> chainrule.allclose(m.weight @ m.weight.T, chainrule.eye(3), atol=1e-6)
    True
    """
    weight: Any = getattr(module, name, None)
    if not isinstance(weight, Tensor):
        raise ValueError(f"Module '{module}' has no parameter or buffer with name '{name}'")
    if weight.dim() < 2:
        raise ValueError(
            f"orthogonal: expected a matrix or batch of matrices, got a tensor of {weight.dim()} "
            f"dimensions (shape {tuple(weight.shape)}) for '{name}'"
        )
    if orthogonal_map is None:
        orthogonal_map = "matrix_exp" if weight.shape[-2] == weight.shape[-1] else "householder"
    if orthogonal_map not in _MAPS:
        raise ValueError(
            f'orthogonal_map has to be one of "matrix_exp", "cayley", "householder". Got: {orthogonal_map}'
        )
    orth = _Orthogonal(weight, orthogonal_map, use_trivialization=use_trivialization)
    parametrize.register_parametrization(module, name, orth, unsafe=True)
    return module
