"""Issue 12's linear-algebra workloads: solve, cholesky, svd and fft2, forward + backward, float64.

Both libraries call LAPACK (NumPy/SciPy's OpenBLAS, PyTorch's own build), so the ratio
measures the work around the factorization: how many factorizations a step does (solve
keeps its LU for the backward, as PyTorch does), the rule's matrix products, and Python.
"""

from __future__ import annotations

import numpy as np

from .workload import Workload, chainrule_and_torch, register

SIZES = {"256": (), "1024": (), "64x32": (64,)}
RHS = 16  # columns of B in solve


def _n(size: str) -> int:
    return 32 if size == "64x32" else int(size)


def _solve(size: str):
    def build(T):
        n, batch = _n(size), SIZES[size]
        rng = np.random.default_rng(0)
        a = T.from_numpy(rng.standard_normal(batch + (n, n)) + n**0.5 * np.eye(n)).requires_grad_()
        b = T.from_numpy(rng.standard_normal(batch + (n, RHS))).requires_grad_()

        def step():
            a.grad = b.grad = None
            T.linalg.solve(a, b).sum().backward()

        return step

    return build


def _cholesky(size: str):
    def build(T):
        n, batch = _n(size), SIZES[size]
        rng = np.random.default_rng(0)
        x = rng.standard_normal(batch + (n, n))
        a = T.from_numpy(x @ np.swapaxes(x, -1, -2) + n * np.eye(n)).requires_grad_()

        def step():
            a.grad = None
            T.linalg.cholesky(a).sum().backward()

        return step

    return build


def _svd(size: str):
    def build(T):
        n, batch = _n(size), SIZES[size]
        rng = np.random.default_rng(0)
        a = T.from_numpy(rng.standard_normal(batch + (n, n))).requires_grad_()

        def step():
            a.grad = None
            u, s, vh = T.linalg.svd(a, full_matrices=False)
            (s.sum() + (u @ vh).sum()).backward()  # every factor gets a cotangent

        return step

    return build


def _fft(size: str):
    def build(T):
        n, batch = _n(size), SIZES[size]
        x = T.from_numpy(np.random.default_rng(0).standard_normal(batch + (n, n))).requires_grad_()

        def step():
            x.grad = None
            T.fft.fft2(x).abs().sum().backward()  # a real loss of the complex spectrum

        return step

    return build


_REPEATS = {"256": (15, 3), "1024": (3, 1), "64x32": (30, 5)}
for _size in SIZES:
    shape = f"{_size}x{_size}" if _size != "64x32" else "64x32x32"
    rep, warm = _REPEATS[_size]
    for _name, _build, _what in (
        ("solve", _solve, f"linalg.solve(A, B).sum().backward(), A {shape}, B with {RHS} columns"),
        ("cholesky", _cholesky, f"linalg.cholesky(A).sum().backward(), A {shape} SPD"),
        ("svd", _svd, f"svd(A) -> (S.sum() + (U @ Vh).sum()).backward(), A {shape}"),
        ("fft", _fft, f"fft.fft2(X).abs().sum().backward(), X {shape}"),
    ):
        register(
            Workload(
                f"linalg_{_name}_{_size}",
                f"{_what}, float64",
                "ms",
                chainrule_and_torch(_build(_size)),
                scale=1e3,
                repeats=rep,
                warmup=warm,
                target="chainrule >= 0.9x torch's speed",
            )
        )
