"""``torch.lobpcg``: the k largest (or smallest) eigenpairs of a symmetric positive-definite
generalized problem ``A x = λ B x`` by the locally optimal block preconditioned conjugate
gradient method (Knyazev 2001), with PyTorch's arguments, defaults and results.

Each step searches the span of the current block ``X`` (m, n), the preconditioned residuals
``W = iK (A X - B X diag(E))`` and the previous step's direction ``P``, and keeps the best ``n``
Ritz pairs of that (at most 3n-dimensional) space.  ``method="ortho"`` B-orthonormalizes the basis
first (eigenvalue-based Gram-Schmidt that drops directions that have become dependent, so it
survives converged columns); ``method="basic"`` solves the projected generalized problem on the
raw basis and fails once the basis turns singular.  The iteration runs in NumPy: it is not
differentiated through.

The gradient is that of the exact eigenpairs of ``(A + Aᵀ)/2`` (the symmetrization PyTorch applies
when ``A`` requires grad, so ``A.grad`` is symmetric): ``Ā = X diag(Ē) Xᵀ + Z Xᵀ`` where column
``z_i`` solves ``(A - λ_i I) z_i = -(I - x_i x_iᵀ) X̄_i`` with ``z_i ⟂ x_i`` — one bordered
(m+1, m+1) system per eigenpair, solved with ``linalg.solve`` so the backward is itself
differentiable.  As in PyTorch, ``B`` has no gradient rule.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from ._tensor import Tensor, wrap
from .autograd.function import Function

__all__ = ["lobpcg"]


class LOBPCGState:
    """What a ``tracker`` sees after each step (PyTorch's attribute names): ``ivars["istep"]``,
    ``ivars["converged_count"]``, ``tvars["rerr"]``, ``E``, ``X``, ``R``; setting
    ``bvars["force_stop"] = True`` stops the iteration."""

    def __init__(self, A: Any, B: Any, iK: Any, iparams: dict, fparams: dict, bparams: dict) -> None:
        self.A, self.B, self.iK = A, B, iK
        self.iparams, self.fparams, self.bparams = iparams, fparams, bparams
        self.ivars: dict = {"istep": 0, "converged_count": 0}
        self.fvars: dict = {}
        self.bvars: dict = {}
        self.tvars: dict = {}
        self.E = self.X = self.R = self.S = None


def _b_orthonormal(S: np.ndarray, B: np.ndarray | None, drop: float) -> np.ndarray:
    """Columns spanning S's range (up to directions below ``drop`` relative), B-orthonormal:
    scale to unit B-norm, then rotate by the Gram matrix's eigenvectors (twice, for accuracy)."""
    for _ in range(2):
        BS = S if B is None else B @ S
        gram = S.T @ BS
        scale = np.sqrt(np.abs(np.diag(gram)))
        scale[scale == 0] = 1.0
        w, V = np.linalg.eigh(gram / scale[:, None] / scale[None, :])
        keep = w > drop * max(w.max(), 0.0)
        S = (S / scale) @ (V[:, keep] / np.sqrt(w[keep]))
    return S


def _run(A: np.ndarray, B: np.ndarray | None, X: np.ndarray, iK: np.ndarray | None, state: LOBPCGState,
         tracker: Callable | None) -> tuple[np.ndarray, np.ndarray]:
    """LOBPCG on one (m, m) problem from the initial block X (m, n): (E (k,), X (m, k))."""
    import scipy.linalg

    from .linalg import LinAlgError

    n, k = state.iparams["n"], state.iparams["k"]
    tol, largest = state.fparams["tol"], state.bparams["largest"]
    ortho = state.iparams["method"] == "ortho"
    drop = state.fparams.get("ortho_tol_drop", tol) ** 2 if ortho else 0.0

    def matvec(M: np.ndarray | None, V: np.ndarray) -> np.ndarray:
        return V if M is None else M @ V

    def rayleigh_ritz(S: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        if ortho:
            S = _b_orthonormal(S, B, drop)
            AS = A @ S
            theta, C = np.linalg.eigh((S.T @ AS + AS.T @ S) / 2)
        else:
            AS = A @ S
            try:
                theta, C = scipy.linalg.eigh((S.T @ AS + AS.T @ S) / 2, S.T @ matvec(B, S))
            except np.linalg.LinAlgError as err:
                raise LinAlgError(
                    f"lobpcg(method='basic'): the search basis became linearly dependent at step "
                    f"{state.ivars['istep']} ({err}); use method='ortho', which drops dependent "
                    "directions") from None
        order = np.argsort(-theta if largest else theta, kind="stable")[:n]
        return theta[order], S, C[:, order]

    X = _b_orthonormal(X, B, drop) if ortho else X
    x_norm = np.linalg.norm(X)
    a_norm = np.linalg.norm(A @ X) / x_norm
    b_norm = np.linalg.norm(matvec(B, X)) / x_norm
    state.fvars.update(A_norm=a_norm, B_norm=b_norm)
    E, S, C = rayleigh_ritz(X)
    X = S @ C
    P = None
    for step in range(1, 10**9):
        R = A @ X - matvec(B, X) * E
        rerr = np.linalg.norm(R, axis=0) / (np.linalg.norm(X, axis=0) * (a_norm + np.abs(E) * b_norm))
        ok = rerr < tol
        count = n if ok.all() else int(np.argmin(ok))  # leading converged pairs, in order
        state.ivars.update(istep=step - 1, converged_count=count)
        state.tvars["rerr"], state.E, state.X, state.R = rerr, E, X, R
        if tracker is not None:
            tracker(state)
        left = state.iparams["niter"] - (step - 1)
        if state.bvars.get("force_stop") or count >= k or left == 0:
            break
        W = matvec(iK, R)
        if ortho:  # W and P B-orthogonal to X first, so the basis stays well conditioned
            BX = matvec(B, X)
            W = W - X @ (BX.T @ W)
            W = W - X @ (BX.T @ W)
        blocks = [X, W] if P is None else [X, W, P]
        E, S, C = rayleigh_ritz(np.concatenate(blocks, axis=1))
        X_new = S @ C
        if ortho:  # the direction is the new block's part outside the old X
            P = X_new - X @ (matvec(B, X).T @ X_new)
        else:
            P = S[:, n:] @ C[n:]
        X = X_new
    return E[:k], X[:, :k]


class _LOBPCGFunction(Function):
    """The eigenpairs found by the iteration, with the gradient of the exact partial
    eigendecomposition of the (already symmetrized) A; see the module docstring."""

    @staticmethod
    def forward(ctx: Any, A: Tensor, E: np.ndarray, X: np.ndarray) -> tuple[Tensor, Tensor]:
        e, x = wrap(E), wrap(X)
        ctx.save_for_backward(A, e, x)  # the outputs: under create_graph they carry this node,
        return e, x  # so a second derivative also runs through E(A) and X(A)

    @staticmethod
    def backward(ctx: Any, gE: Tensor | None, gX: Tensor | None) -> tuple:
        from . import linalg
        from ._creation import eye, zeros
        from .ops.shape import cat

        A, E, X = ctx.saved_tensors
        m = X.shape[-2]
        grad = X @ (gE.unsqueeze(-1) * X.mT) if gE is not None else zeros(A.shape, dtype=A.dtype)
        if gX is not None:
            # bordered systems [[A - λ_i I, x_i], [x_iᵀ, 0]] [z_i; μ] = [-(I - x_i x_iᵀ) X̄_i; 0]
            xs = X.mT.unsqueeze(-1)  # (..., k, m, 1)
            shifted = A.unsqueeze(-3) - E[..., :, None, None] * eye(m, dtype=A.dtype)
            top = cat([shifted, xs], dim=-1)
            bottom = cat([xs.mT, zeros(xs.shape[:-2] + (1, 1), dtype=A.dtype)], dim=-1)
            system = cat([top, bottom], dim=-2)
            g = gX.mT.unsqueeze(-1)
            rhs = -(g - xs * (xs.mT @ g))
            rhs = cat([rhs, zeros(rhs.shape[:-2] + (1, 1), dtype=A.dtype)], dim=-2)
            Z = linalg.solve(system, rhs)[..., :m, 0]  # (..., k, m)
            grad = grad + Z.mT @ X.mT
        return grad, None, None


def lobpcg(A: Tensor, k: int | None = None, B: Tensor | None = None, X: Tensor | None = None,
           n: int | None = None, iK: Tensor | None = None, niter: int | None = None,
           tol: float | None = None, largest: bool | None = None, method: str | None = None,
           tracker: Callable | None = None, ortho_iparams: dict | None = None,
           ortho_fparams: dict | None = None, ortho_bparams: dict | None = None) -> tuple[Tensor, Tensor]:
    """The ``k`` largest (``largest=False``: smallest) eigenvalues (..., k) and B-orthonormal
    eigenvectors (..., m, k) of the symmetric (..., m, m) ``A`` (with SPD ``B``, the generalized
    problem), from ``n >= k`` columns (``X``, or that many standard normal ones), at most
    ``niter`` steps (default 1000, -1 without limit) until the relative residuals of the first k
    are below ``tol`` (default sqrt of the dtype's epsilon)."""
    from ._creation import randn
    from .autograd.grad_mode import is_grad_enabled

    if A.shape[-2] != A.shape[-1]:
        raise AssertionError(f"lobpcg(): A must be square, got shape {tuple(A.shape)}")
    if B is not None and tuple(B.shape) != tuple(A.shape):
        raise AssertionError(f"lobpcg(): A and B must have same shape, got {tuple(A.shape)} vs "
                             f"{tuple(B.shape)}")
    if A._data.dtype.kind not in "fc":
        raise RuntimeError(f"lobpcg(): expected a floating-point A, got {A.dtype}; convert it with "
                           "A.double() or A.float()")
    dtype = A._data.dtype
    m = A.shape[-1]
    k = (1 if X is None else X.shape[-1]) if k is None else k
    n = (k if n is None else n) if X is None else X.shape[-1]
    if m < 3 * n:
        raise ValueError(f"LOBPCG algorithm is not applicable when the number of A rows (={m}) is "
                         f"smaller than 3 x the number of requested eigenpairs (={n})")
    method = "ortho" if method is None else method
    if method not in ("ortho", "basic"):
        raise ValueError(f"lobpcg(): method must be 'ortho' or 'basic', got {method!r}")
    tol = float(np.sqrt(1.2e-07 if dtype == np.float32 else 2.23e-16)) if tol is None else tol
    iparams = {"m": m, "n": n, "k": k, "niter": 1000 if niter is None else niter, "method": method}
    fparams, bparams = {"tol": tol}, {"largest": True if largest is None else largest}
    if method == "ortho":
        iparams.update(ortho_iparams or {})
        fparams.update(ortho_fparams or {})
        bparams.update(ortho_bparams or {})

    grad_wanted = is_grad_enabled() and (A.requires_grad or (B is not None and B.requires_grad))
    if grad_wanted:  # PyTorch's map A -> (A + Aᵀ)/2, so A.grad is symmetric
        A = (A + A.mT) / 2
        B = None if B is None else (B + B.mT) / 2
    batch = tuple(A.shape[:-2])
    a = A._data.reshape((-1, m, m))
    b = None if B is None else B._data.reshape((-1, m, m))
    xs = None if X is None else X._data.reshape((-1, m, n))
    ik = None if iK is None else iK._data
    values = np.empty((a.shape[0], k), dtype=dtype)
    vectors = np.empty((a.shape[0], m, k), dtype=dtype)
    for i in range(a.shape[0]):
        x0 = randn((m, n), dtype=dtype)._data if xs is None else xs[i].astype(dtype)
        state = LOBPCGState(a[i], None if b is None else b[i], ik, dict(iparams, batch_index=i), fparams,
                            bparams)
        values[i], vectors[i] = _run(a[i], None if b is None else b[i], x0, ik, state, tracker)
    values, vectors = values.reshape(batch + (k,)), vectors.reshape(batch + (m, k))
    if not grad_wanted:
        return wrap(values), wrap(vectors)
    if B is not None:
        return _LOBPCGWithB.apply(A, B, values, vectors)
    return _LOBPCGFunction.apply(A, values, vectors)


class _LOBPCGWithB(Function):
    """Eigenpairs of a generalized problem that requires grad: like PyTorch, no backward rule."""

    @staticmethod
    def forward(ctx: Any, A: Tensor, B: Tensor, E: np.ndarray, X: np.ndarray) -> tuple[Tensor, Tensor]:
        return wrap(E), wrap(X)

    @staticmethod
    def backward(ctx: Any, gE: Any, gX: Any) -> tuple:
        raise ValueError("lobpcg.backward does not support backward with B != I yet; the "
                         "forward gives the generalized eigenpairs, detach A and B to use them")
