"""``chainrule.multiprocessing``: the standard library's multiprocessing, plus PyTorch's ``spawn``.

``spawn(fn, args=(), nprocs=N)`` calls ``fn(i, *args)`` for ``i`` in ``0..N-1``, each in its own
process, as ``torch.multiprocessing.spawn``.  The processes are MPI ranks, so the ``fn`` can
``init_process_group`` and use the collectives:
  * under ``chainrule launch -n N`` (or ``mpiexec``) the job's ranks already exist: each calls
    ``fn(rank, *args)`` itself;
  * in a plain process, ``spawn`` starts ``mpiexec -n N`` on this Python; each rank re-imports the
    main script as ``__mp_main__`` (as the standard library's spawn does), finds ``fn`` by name
    and runs it.  ``fn`` must therefore be a module-level function, and the ``spawn`` call sits
    under ``if __name__ == "__main__":``.
"""

from __future__ import annotations

import importlib
import os
import pickle
import runpy
import subprocess
import sys
import tempfile
import traceback
import types
from multiprocessing import (  # noqa: F401  (re-exported with the standard library's meaning)
    Array,
    Event,
    Lock,
    Manager,
    Pipe,
    Pool,
    Process,
    Queue,
    SimpleQueue,
    Value,
    active_children,
    cpu_count,
    current_process,
    get_all_start_methods,
    get_context,
    get_start_method,
    set_start_method,
)
from typing import Any, Callable

__all__ = [
    "spawn",
    "start_processes",
    "ProcessRaisedException",
    "ProcessExitedException",
    "Process",
    "set_start_method",
    "get_start_method",
    "get_context",
    "get_all_start_methods",
    "Queue",
    "Pool",
    "cpu_count",
    "current_process",
    "SimpleQueue",
    "Pipe",
    "Lock",
    "Event",
    "Value",
    "Array",
    "Manager",
    "active_children",
]


class ProcessRaisedException(Exception):
    """A spawned process raised; its traceback was printed on stderr by that rank."""


class ProcessExitedException(ProcessRaisedException):
    def __init__(self, msg: str, exit_code: int) -> None:
        super().__init__(msg)
        self.exit_code = exit_code


def _launched_size() -> int | None:
    if os.environ.get("CHAINRULE_SPAWNED"):
        return None  # a rank started by spawn() below: a nested spawn is a new job
    for name in ("OMPI_COMM_WORLD_SIZE", "PMI_SIZE"):
        if name in os.environ:
            return int(os.environ[name])
    return None


def spawn(
    fn: Callable,
    args: tuple = (),
    nprocs: int = 1,
    join: bool = True,
    daemon: bool = False,
    start_method: str = "spawn",
) -> None:
    """Run ``fn(i, *args)`` on ``nprocs`` processes (MPI ranks); returns when all have finished."""
    size = _launched_size()
    if size is not None:
        from .distributed.launch import set_torchrun_env

        if size != nprocs:
            raise ValueError(
                f"spawn(nprocs={nprocs}) inside a job of {size} ranks: start the job with "
                f"`chainrule launch -n {nprocs}` or pass nprocs={size}"
            )
        set_torchrun_env()
        fn(int(os.environ["RANK"]), *args)
        return None
    if not join:
        raise NotImplementedError("spawn(join=False) is not supported: the ranks run as one MPI job")
    from .distributed.collectives import _dumps
    from .distributed.launch import find_mpiexec

    main = sys.modules.get("__main__")
    module = fn.__module__
    path = getattr(main, "__file__", None) if module in ("__main__", "__mp_main__") else None
    alias = sys.modules.get("torch") is sys.modules.get("chainrule")  # under chainrule run
    payload = pickle.dumps(
        {
            "module": module,
            "name": fn.__qualname__,
            "path": path,
            "alias": alias,
            "argv": list(sys.argv),
            "args": _dumps(tuple(args)),
        }
    )
    with tempfile.NamedTemporaryFile("wb", suffix=".spawn", delete=False) as f:
        f.write(payload)
    try:
        env = dict(os.environ, CHAINRULE_SPAWNED="1")
        cmd = [
            find_mpiexec(),
            "--oversubscribe",
            "-n",
            str(nprocs),
            sys.executable,
            "-m",
            "chainrule.multiprocessing",
            f.name,
        ]
        code = subprocess.call(cmd, env=env)
    finally:
        os.unlink(f.name)
    if code != 0:
        raise ProcessExitedException(
            f"a spawned process failed (exit code {code}); its traceback is above", code
        )
    return None


start_processes = spawn


def _child(payload_path: str) -> None:
    """One spawned rank: load the main script as ``__mp_main__``, find ``fn``, run it."""
    import chainrule
    from chainrule.distributed.launch import set_torchrun_env

    with open(payload_path, "rb") as f:
        job = pickle.load(f)
    set_torchrun_env()
    sys.argv = job["argv"]
    if job["alias"]:
        sys.modules["torch"] = chainrule
    if job["path"] is not None:  # fn lives in the main script: run it, not as __main__
        mod = types.ModuleType("__mp_main__")
        mod.__dict__.update(runpy.run_path(job["path"], run_name="__mp_main__"))
        sys.modules["__mp_main__"] = sys.modules["__main__"] = mod
        fn: Any = mod
    else:
        fn = importlib.import_module(job["module"])
    for part in job["name"].split("."):
        fn = getattr(fn, part)
    args = pickle.loads(job["args"])  # after the main script: its classes may be in there
    try:
        fn(int(os.environ["RANK"]), *args)
    except BaseException:
        sys.stderr.write(f"[rank {os.environ['RANK']}] " + traceback.format_exc())
        sys.stderr.flush()
        if "mpi4py.MPI" in sys.modules:
            sys.modules["mpi4py.MPI"].COMM_WORLD.Abort(1)
        os._exit(1)


if __name__ == "__main__":
    _child(sys.argv[1])
