"""chainrule.distributed on 2 MPI ranks: all-reduce bandwidth vs raw mpi4py, and the DDP step overhead.

    python -m benchmarks.distributed            # starts mpiexec itself, prints markdown tables

All-reduce: ``dist.all_reduce`` (with and without the cross-rank shape check) against
``comm.Allreduce(MPI.IN_PLACE, buf)`` on the same float32 buffers, 1 KB .. 64 MB; the median of
repeated calls.  DDP: one SGD step of a 784-512-512-10 MLP, batch 256 split over 2 ranks, against
one process stepping on its half (128) without DDP; overlap on/off and three bucket sizes.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time

SIZES = [2**k for k in range(10, 27, 2)]  # bytes: 1 KB, 4 KB, ..., 64 MB


def _median_time(fn, reps: int, comm) -> float:
    times = []
    for _ in range(reps):
        comm.Barrier()
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def _allreduce_table() -> None:
    import numpy as np

    import chainrule as torch
    import chainrule.distributed as dist
    from chainrule.distributed import c10d
    from chainrule.distributed._mpi import mpi

    M = mpi()
    comm = M.COMM_WORLD
    rows = []
    for nbytes in SIZES:
        a = np.ones(nbytes // 4, np.float32)
        t = torch.from_numpy(np.ones(nbytes // 4, np.float32))
        reps = max(5, min(2000, int(2e8 // nbytes)))
        raw = _median_time(lambda: comm.Allreduce(M.IN_PLACE, a, M.SUM), reps, comm)
        ours = _median_time(lambda: dist.all_reduce(t), reps, comm)
        c10d._state.checks = False
        unchecked = _median_time(lambda: dist.all_reduce(t), reps, comm)
        c10d._state.checks = True
        rows.append((nbytes, raw, ours, unchecked))
    if comm.Get_rank() == 0:
        print(
            "| size | mpi4py Allreduce | dist.all_reduce | ratio (bandwidth) "
            "| without the shape check | ratio |"
        )
        print("|---:|---:|---:|---:|---:|---:|")
        for nbytes, raw, ours, unchecked in rows:
            size = f"{nbytes // 2**20} MB" if nbytes >= 2**20 else f"{nbytes // 1024} KB"
            print(
                f"| {size} | {raw * 1e6:.1f} µs ({nbytes / raw / 1e9:.2f} GB/s) | {ours * 1e6:.1f} µs | "
                f"{raw / ours:.2f}x | {unchecked * 1e6:.1f} µs | {raw / unchecked:.2f}x |"
            )


def _mlp(torch):
    nn = torch.nn
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(784, 512), nn.ReLU(), nn.Linear(512, 512), nn.ReLU(), nn.Linear(512, 10))


def _step_time(torch, model, x, y, comm, reps: int = 30) -> float:
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    loss_fn = torch.nn.CrossEntropyLoss()

    def step():
        opt.zero_grad()
        loss_fn(model(x), y).backward()
        opt.step()

    for _ in range(3):
        step()
    return _median_time(step, reps, comm)


def _ddp_table() -> None:
    import chainrule as torch
    from chainrule.distributed._mpi import mpi
    from chainrule.nn.parallel import DistributedDataParallel as DDP

    comm = mpi().COMM_WORLD
    r, w = comm.Get_rank(), comm.Get_size()
    torch.manual_seed(1)
    x, y = torch.randn(256, 784), torch.randint(0, 10, (256,))
    half = 256 // w
    xs, ys = x[r * half : (r + 1) * half], y[r * half : (r + 1) * half]
    rows = []
    for cap in (1, 5, 25):
        for overlap in (True, False):
            m = DDP(_mlp(torch), bucket_cap_mb=cap)
            m._overlap = overlap
            rows.append((cap, overlap, len(m._buckets), _step_time(torch, m, xs, ys, comm)))
    if r == 0:
        for cap, overlap, nb, t in rows:
            print(f"DDP {cap} {overlap} {nb} {t}")


def _single() -> None:
    import chainrule as torch
    from chainrule.distributed._mpi import mpi

    torch.manual_seed(1)
    x, y = torch.randn(256, 784), torch.randint(0, 10, (256,))
    print(f"SINGLE {_step_time(torch, _mlp(torch), x[:128], y[:128], mpi().COMM_WORLD)}")


def _mpiexec(n: int, what: str) -> str:
    from chainrule.distributed.launch import find_mpiexec

    cmd = [
        find_mpiexec(),
        "--oversubscribe",
        "-n",
        str(n),
        sys.executable,
        "-m",
        "benchmarks.distributed",
        what,
    ]
    env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1")
    return subprocess.run(cmd, check=True, capture_output=True, text=True, env=env, timeout=1200).stdout


def main() -> None:
    print("## all_reduce, float32, 2 ranks (one machine, shared memory)\n")
    print(_mpiexec(2, "allreduce"))
    single = float(_mpiexec(1, "single").split()[-1])
    print("## DDP step, 784-512-512-10 MLP, batch 256 over 2 ranks (1 BLAS thread per rank)\n")
    print(f"1 process, 128 samples, no DDP: {single * 1e3:.2f} ms\n")
    print("| bucket_cap_mb | overlap | buckets | 2-rank DDP step | vs 1 process on half |")
    print("|---:|:---|---:|---:|---:|")
    for line in _mpiexec(2, "ddp").splitlines():
        if line.startswith("DDP "):
            _, cap, overlap, nb, t = line.split()
            print(
                f"| {cap} | {'on' if overlap == 'True' else 'off'} | {nb} | {float(t) * 1e3:.2f} ms | "
                f"{float(t) / single:.2f}x |"
            )


if __name__ == "__main__":
    what = sys.argv[1] if len(sys.argv) > 1 else "main"
    if what != "main":
        import chainrule.distributed as dist

        dist.init_process_group("mpi")
    {"allreduce": _allreduce_table, "ddp": _ddp_table, "single": _single, "main": main}[what]()
