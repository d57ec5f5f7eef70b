"""A PyTorch DDP training script written for torchrun (reads RANK/WORLD_SIZE/LOCAL_RANK)."""

import os
import sys

import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel as DDP
from torch.utils.data import DataLoader, DistributedSampler, TensorDataset

rank, world, local_rank = (
    int(os.environ["RANK"]),
    int(os.environ["WORLD_SIZE"]),
    int(os.environ["LOCAL_RANK"]),
)
dist.init_process_group(backend="gloo")
assert (dist.get_rank(), dist.get_world_size()) == (rank, world)
torch.manual_seed(0)
data = TensorDataset(torch.randn(64, 5), torch.randn(64, 1))
sampler = DistributedSampler(data, shuffle=True, seed=1)
loader = DataLoader(data, batch_size=8, sampler=sampler)
model = DDP(torch.nn.Sequential(torch.nn.Linear(5, 8), torch.nn.Tanh(), torch.nn.Linear(8, 1)))
opt = torch.optim.SGD(model.parameters(), lr=0.1)
for epoch in range(2):
    sampler.set_epoch(epoch)
    for x, y in loader:
        opt.zero_grad()
        torch.nn.functional.mse_loss(model(x), y).backward()
        opt.step()
flat = torch.cat([p.detach().reshape(-1) for p in model.parameters()])
every = [torch.zeros_like(flat) for _ in range(world)]
dist.all_gather(every, flat)
assert all(torch.equal(e, every[0]) for e in every), "replicas diverged"
if rank == 0:
    torch.save(model.state_dict(), sys.argv[1])  # rank 0 writes, the others wait
dist.barrier()
model.load_state_dict(torch.load(sys.argv[1]))
print(
    f"TORCHRUN rank {rank}/{world} local {local_rank} torch={torch.__name__} args={sys.argv[2:]}", flush=True
)
dist.destroy_process_group()
