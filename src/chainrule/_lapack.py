"""Array-level LAPACK/BLAS (and pocketfft) kernels for the fast paths of decompositions and FFTs.

The op table (``ops/decompositions.py``, ``ops/spectral.py``) keeps the rules written with ops,
which differentiate again; these are the same formulas on plain arrays, used when no graph of
the derivative is wanted.  They call SciPy's LAPACK directly, in place where it is safe, so a
step allocates as few large temporaries as possible: for matrices of a few hundred KiB, every
fresh array costs page faults that are worth as much as the arithmetic around the LAPACK call.
"""

from __future__ import annotations

import itertools

import numpy as np
import scipy.linalg as sla

LU_MIN = 64  # from this size on, a 2-d solve keeps its LU factors for the backward


def solve_keep_lu(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, int]:
    """(X, info) for ``AX = B``: X is a view at the start of one buffer that also holds LU
    (column-major, factored in place) and the pivots, for ``kept_lu``; one large allocation."""
    n, k = b.shape
    getrf, getrs = sla.get_lapack_funcs(("getrf", "getrs"), (a, b))
    buf = np.empty(n * k + n * n + n, a.dtype)
    lu = buf[n * k : n * k + n * n].reshape(n, n).T
    lu[...] = a
    lu, piv, info = getrf(lu, overwrite_a=1)
    buf[n * k + n * n :] = piv
    x = buf[: n * k].reshape(n, k)
    if info == 0:
        x[...] = getrs(lu, piv, b)[0]
    return x, info


def kept_lu(x: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """The LU factors and pivots ``solve_keep_lu`` left behind X, else None."""
    buf = x.base
    n, k = x.shape
    if not isinstance(buf, np.ndarray) or buf.shape != (n * k + n * n + n,) or buf.dtype != x.dtype:
        return None
    if n < LU_MIN or x.ctypes.data != buf.ctypes.data or not x.flags.c_contiguous:
        return None
    return buf[n * k : n * k + n * n].reshape(n, n).T, buf[n * k + n * n :].real.astype(np.int32)


def solve_vjp(g: np.ndarray, a: np.ndarray, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(Ā, B̄) of ``X = A⁻¹B``: ``B̄ = A⁻ᵀX̄`` by getrs (trans=1; complex: A⁻ᴴ, trans=2) on the LU
    factors the forward kept behind X, else by a solve with Aᵀ (Aᴴ); ``Ā = -B̄Xᵀ`` (Xᴴ), negated
    in place (one n×n array)."""
    c = x.dtype.kind == "c"  # (complex: Aᴴ and Xᴴ, PyTorch's convention)
    lu = kept_lu(x) if x.ndim == 2 else None
    if lu is None:
        at = np.swapaxes(a, -1, -2)
        gb = np.linalg.solve(np.conj(at) if c else at, g)
    else:
        gb = sla.get_lapack_funcs("getrs", (lu[0],))(lu[0], lu[1], g, trans=2 if c else 1)[0]
    xt = np.swapaxes(x, -1, -2)
    ga = np.matmul(gb, np.conj(xt) if c else xt)
    return np.negative(ga, out=ga), gb


def cholesky(x: np.ndarray) -> tuple[np.ndarray, int]:
    """(L, info) for one matrix, reading its lower triangle: that is the upper triangle of
    ``xᵀ`` (column-major x), factored as U = Lᵀ without NumPy's extra copies."""
    c, info = sla.get_lapack_funcs("potrf", (x,))(x.T, lower=0, clean=1)
    return c.T, info


def matrices(a: np.ndarray) -> np.ndarray:
    """``a (*batch, m, n)`` as ``(prod(batch), m, n)``, also when a size is 0."""
    return a.reshape((int(np.prod(a.shape[:-2])),) + a.shape[-2:])


def cholesky_vjp(g: np.ndarray, lower: np.ndarray) -> np.ndarray:
    """``Ā = sym(L⁻ᵀ Φ(Lᵀ L̄) L⁻¹)`` in place: Lᵀ L̄ by trmm for one matrix, Φ by masks, both
    triangular solves by trsm, the ½ of sym as trsm's alpha (exact): two n×n temporaries."""
    n = lower.shape[-1]
    trsm, trmm = sla.get_blas_funcs(("trsm", "trmm"), (lower, g))
    if lower.ndim == 2:
        y = np.array(g, dtype=trmm.dtype)  # Yᵀ ← L̄ᵀ L in y's column-major view
        r = trmm(1.0, lower.T, y.T, side=1, lower=0, trans_a=1, overwrite_b=1)
        y = y if r.base is y else r.T
    else:
        y = np.matmul(np.swapaxes(lower, -1, -2), g)  # Lᵀ L̄, C-contiguous
    y *= np.tri(n, n, dtype=bool)  # Φ: the lower triangle...
    y.reshape(y.shape[:-2] + (n * n,))[..., :: n + 1] *= 0.5  # ...with half its diagonal
    for u, yt in zip(matrices(np.swapaxes(lower, -1, -2)), matrices(np.swapaxes(y, -1, -2))):
        r = trsm(0.5, u, yt, lower=0, overwrite_b=1)  # column-major views: U = Lᵀ, Yᵀ
        r = trsm(1.0, u, r, side=1, lower=0, trans_a=1, overwrite_b=1)
        if r is not yt:  # (trsm worked on a copy)
            yt[...] = r  # Yᵀ ← ½ U⁻¹ Yᵀ U⁻ᵀ, i.e. Y ← ½ L⁻ᵀ Y L⁻¹
    return y + np.swapaxes(y, -1, -2)


def _view(a: np.ndarray, shape: tuple) -> np.ndarray:
    v = a.view()
    v.shape = shape  # (raises rather than copying: the factors must land in the buffer)
    return v


def svd_packed(x: np.ndarray, full_matrices: bool) -> tuple[np.ndarray, int]:
    """(U, S, Vh packed as ``decompositions.pack`` does, info): one matrix by gesdd (as NumPy's,
    without its extra copies), a float64 batch by NumPy's gesdd loop writing straight into the
    packed buffer (its ``out=``); each factor is written once, into its place."""
    if x.ndim == 2:
        u, s, vh, info = sla.get_lapack_funcs("gesdd", (x,))(x, full_matrices=int(full_matrices))
        out = np.empty(u.size + s.size + vh.size, x.dtype)
        out[: u.size].reshape(u.shape)[...] = u
        out[u.size : u.size + s.size] = s
        out[u.size + s.size :].reshape(vh.shape)[...] = vh
        return out, info
    batch, (m, n) = x.shape[:-2], x.shape[-2:]
    k = min(m, n)
    shapes = [(m, m if full_matrices else k), (k,), (n if full_matrices else k, n)]
    sizes = [int(np.prod(sh)) for sh in shapes]
    out = np.empty(batch + (sum(sizes),), x.dtype)
    ends = np.cumsum([0] + sizes)
    parts = [_view(out[..., i:j], batch + sh) for i, j, sh in zip(ends, ends[1:], shapes)]
    failed = []
    with np.errstate(
        call=lambda *_: failed.append(1), invalid="call", over="ignore", divide="ignore", under="ignore"
    ):
        gufunc = getattr(np.linalg, "_umath_linalg", None)
        gufunc = getattr(gufunc, "svd_f" if full_matrices else "svd_s", None)
        if gufunc is not None and x.dtype == np.float64:
            gufunc(x, out=tuple(parts), signature="d->ddd")
        else:  # (float32 is computed in float64 by NumPy and rounded, as before)
            try:
                for p, r in zip(parts, np.linalg.svd(x, full_matrices=full_matrices)):
                    p[...] = r
            except np.linalg.LinAlgError:
                failed.append(1)
    return out, int(bool(failed))


def svd_vjp_square(*usv_and_grads: np.ndarray) -> np.ndarray:
    """The svd rule (``ops/spectral.py``) on arrays for square matrices,
    ``U (F∘(UᵀŪ − ŪᵀU) S + S F∘(VᵀV̄ − V̄ᵀV) + diag(S̄)) Vh``, regrouped so that it needs four
    n×n arrays (the result among them) instead of seven: with A = UᵀŪ and B = VᵀV̄, the inner
    matrix is F∘((AS + SB) − (SA + BS)ᵀ) + diag(S̄) (a diagonal scaling commutes with ∘ F).
    Arguments: U, S, Vh, Ū, S̄, V̄h."""
    u, s, vh, gu, gs, gvh = usv_and_grads
    k = s.shape[-1]
    rows, cols = s[..., :, None], s[..., None, :]  # S·X scales rows, X·S columns
    a = np.matmul(np.swapaxes(u, -1, -2), gu)
    b = np.matmul(vh, np.swapaxes(gvh, -1, -2))  # Vᵀ V̄
    x = np.multiply(a, cols)
    out = np.multiply(b, rows)  # (scratch until the last product)
    x += out  # AS + SB
    a *= rows
    b *= cols
    a += b  # SA + BS
    x -= np.swapaxes(a, -1, -2)
    w = s * s
    f = np.subtract(w[..., None, :], w[..., :, None], out=b)  # F_ij = 1/(w_j − w_i), 0 on i = j
    fd = f.reshape(f.shape[:-2] + (k * k,))[..., :: k + 1]
    fd += 1.0
    with np.errstate(divide="ignore", invalid="ignore"):
        np.reciprocal(f, out=f)
        fd *= 0.0
        x *= f
    x.reshape(x.shape[:-2] + (k * k,))[..., :: k + 1] += gs
    return np.matmul(u, np.matmul(x, vh, out=a), out=out)


def real_c2c(g: np.ndarray, dims: tuple, norm: str, forward: bool) -> np.ndarray:
    """``re(c2c(g))`` (the cotangent of a real input of a complex FFT) as a c2r of half the
    bins of g's Hermitian part ``h_k = (g_k + conj(g_-k)) / 2``: a real output's transform is
    the transform of the Hermitian part alone, and c2r reads only the last dim's first half."""
    import scipy.fft as sf

    full = [g.shape[d] for d in dims]
    if full[-1] < 128:  # short rows: NumPy's per-row overhead in the mirroring outweighs the gain
        with np.errstate(all="ignore"):
            return np.ascontiguousarray((sf.fftn if forward else sf.ifftn)(g, axes=dims, norm=norm).real)
    lens = full[:-1] + [full[-1] // 2 + 1]
    shape = list(g.shape)
    shape[dims[-1]] = lens[-1]
    h = np.empty(shape, g.dtype)
    for parts in itertools.product((0, 1), repeat=len(dims)):  # bin 0 or bins 1.. of each dim
        at, mirror = [slice(None)] * g.ndim, [slice(None)] * g.ndim
        for d, rest, n, m in zip(dims, parts, full, lens):
            at[d] = slice(1, m) if rest else slice(0, 1)
            mirror[d] = slice(n - 1, n - m, -1) if rest else slice(0, 1)  # bin -k of bin k
        out = h[tuple(at)]
        if out.size:
            np.conjugate(g[tuple(mirror)], out=out)
            out += g[tuple(at)]
    if forward:  # re(fft(g)) = re(ifft(conj g)) with the dual scaling
        np.conjugate(h, out=h)
        norm = {"backward": "forward", "forward": "backward"}.get(norm, norm)
    h *= 0.5
    with np.errstate(all="ignore"):
        return sf.irfftn(h, s=full, axes=dims, norm=norm)
