"""A PyTorch script written for torch.multiprocessing.spawn."""

import os
import sys

import torch
import torch.distributed as dist
import torch.multiprocessing as mp


class Config:
    def __init__(self, scale):
        self.scale = scale


def worker(rank, world_size, cfg):
    os.environ.setdefault("MASTER_ADDR", "localhost")
    os.environ.setdefault("MASTER_PORT", "12355")
    dist.init_process_group("gloo", rank=rank, world_size=world_size)
    t = torch.tensor([float(rank + 1)]) * cfg.scale
    dist.all_reduce(t)
    print(f"SPAWN rank {rank}/{world_size} sum={t.item()} torch={torch.__name__}", flush=True)
    if len(sys.argv) > 1 and sys.argv[1] == "fail" and rank == 1:
        raise RuntimeError("worker 1 failed on purpose")
    dist.destroy_process_group()


if __name__ == "__main__":
    mp.spawn(worker, args=(2, Config(10.0)), nprocs=2, join=True)
    print("SPAWN done", flush=True)
