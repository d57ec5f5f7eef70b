"""Run under mpiexec: ``raise`` (one rank fails while the others wait in a collective) or
``mismatch`` (ranks pass different shapes/dtypes; every rank must get the error, then go on)."""

import sys

import chainrule as torch
import chainrule.distributed as dist

dist.init_process_group("mpi")
R, W = dist.get_rank(), dist.get_world_size()

if sys.argv[1] == "raise":
    if R == W - 1:
        raise ValueError(f"rank {R} failed on purpose")
    dist.all_reduce(torch.ones(4))  # waits for the failed rank: the job must end anyway
    dist.barrier()
    print("UNREACHABLE")
else:
    cases = {
        "shape": lambda: dist.all_reduce(torch.ones(R + 1)),
        "dtype": lambda: dist.all_reduce(torch.ones(3, dtype=torch.float64 if R else torch.float32)),
        "broadcast": lambda: dist.broadcast(torch.ones(2, R + 1), src=0),
        "all_gather": lambda: dist.all_gather([torch.ones(R + 1) for _ in range(W)], torch.ones(R + 1)),
        "op": lambda: dist.all_reduce(torch.ones(3), op=dist.ReduceOp.MAX if R else dist.ReduceOp.SUM),
    }
    for name, call in cases.items():
        try:
            call()
        except RuntimeError as e:
            assert "rank 0" in str(e) and "rank 1" in str(e), str(e)
            print(f"RAISED {name} rank {R}: {e}", flush=True)
        else:
            raise AssertionError(f"{name}: no error on rank {R}")
    t = torch.ones(3)
    dist.all_reduce(t)  # the group still works after the errors
    assert t.tolist() == [float(W)] * 3
    print(f"RECOVERED rank {R}", flush=True)
