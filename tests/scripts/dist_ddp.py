"""Run under mpiexec -n 2: DistributedDataParallel against one process on the full batch.

Every rank trains its DDP replica on its half of every batch and, alongside, a plain model on the
whole batch; after 20 steps the parameters must agree to 1e-10 (float64).  Prints ``OK <case>``.
"""

import contextlib

import numpy as np

import chainrule as torch
import chainrule.distributed as dist
from chainrule import nn
from chainrule.demo import make_mlp
from chainrule.nn.parallel import DistributedDataParallel as DDP
from chainrule.utils.data import DistributedSampler

dist.init_process_group("gloo")
R, W = dist.get_rank(), dist.get_world_size()
STEPS, BATCH = 20, 16
rng = np.random.default_rng(0)  # the same data on every rank
X = torch.from_numpy(rng.standard_normal((STEPS, BATCH, 1, 8, 8)))
Y = torch.from_numpy(rng.integers(0, 10, (STEPS, BATCH)))
F = nn.functional


def ok(case):
    if R == 0:
        print(f"OK {case}", flush=True)


def mlp(seed):
    torch.manual_seed(seed)
    m = make_mlp().double()
    for layer in m.modules():
        if isinstance(layer, nn.Dropout):
            layer.p = 0.0  # no randomness: the replicas must stay identical
    return m


def close(a, b, case, tol=1e-10):
    for (n, p), q in zip(a.named_parameters(), b.parameters()):
        err = float(np.max(np.abs(p.detach().numpy() - q.detach().numpy())))
        assert err < tol, f"{case}: {n} differs by {err} on rank {R}"


def train(opt_cls, micro=1, overlap=True, **ddp_kw):
    ref = mlp(0)  # rank 0's initial values, trained on the whole batch in this one process
    local = mlp(R)  # different on each rank: DDP must broadcast rank 0's
    model = DDP(local, **ddp_kw)
    model._overlap = overlap  # False: every bucket starts at the end of backward
    close(model.module, ref, "broadcast at construction")
    opt, ref_opt = opt_cls(model.parameters(), lr=0.05), opt_cls(ref.parameters(), lr=0.05)
    half = BATCH // W
    for s in range(STEPS):
        ref_opt.zero_grad()
        F.cross_entropy(ref(X[s]), Y[s]).backward()
        ref_opt.step()
        opt.zero_grad()
        xs, ys = X[s][R * half : (R + 1) * half], Y[s][R * half : (R + 1) * half]
        m = half // micro
        for k in range(micro):
            ctx = model.no_sync() if k < micro - 1 else contextlib.nullcontext()
            with ctx:  # gradients of all micro-batches but the last stay local
                loss = F.cross_entropy(model(xs[k * m : (k + 1) * m]), ys[k * m : (k + 1) * m])
                (loss / micro).backward()
        opt.step()
    close(model.module, ref, f"{opt_cls.__name__} micro={micro} {ddp_kw}")
    return model


model = train(torch.optim.SGD)
ok("SGD 20 steps")
assert list(model.state_dict()) == ["module." + k for k in model.module.state_dict()]
ok("state_dict keys")
train(torch.optim.Adam)
ok("Adam 20 steps")
train(torch.optim.SGD, micro=2)
ok("no_sync accumulation")
train(torch.optim.SGD, bucket_cap_mb=0.01, gradient_as_bucket_view=True)
ok("small buckets, gradient_as_bucket_view")
m = train(torch.optim.SGD, overlap=False, bucket_cap_mb=0.05)
assert len(m._buckets) > 3
ok("overlap off")

# no_sync: the gradients stay local until the next synced backward
m = DDP(mlp(0))
with m.no_sync():
    F.cross_entropy(m(X[0][R::W]), Y[0][R::W]).backward()
g = m.module[1].weight.grad.numpy().copy()
every = [None] * W
dist.all_gather_object(every, g)
assert not np.allclose(every[0], every[1])
ok("no_sync keeps local gradients")

# BatchNorm: every forward starts from rank 0's buffers when broadcast_buffers=True
for bcast in (True, False):
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(4, 6), nn.BatchNorm1d(6), nn.ReLU(), nn.Linear(6, 2)).double()
    seen = []
    net.register_forward_pre_hook(lambda mod, inp: seen.append(mod[1].running_mean.numpy().copy()))
    bn = DDP(net, broadcast_buffers=bcast)
    opt = torch.optim.SGD(bn.parameters(), lr=0.1)
    for s in range(4):
        x = torch.from_numpy(np.random.default_rng(100 * R + s).standard_normal((8, 4)) + R)
        opt.zero_grad()
        bn(x).sum().backward()
        opt.step()
    every = [None] * W
    dist.all_gather_object(every, seen)
    same = all(np.array_equal(a, b) for a, b in zip(every[0], every[1]))
    assert same == bcast, f"broadcast_buffers={bcast}: buffers equal across ranks = {same}"
    mine = [p.detach().numpy().copy() for p in bn.parameters()]
    every = [None] * W
    dist.all_gather_object(every, mine)
    assert all(np.array_equal(a, b) for a, b in zip(*every)), "parameters diverged"
ok("BatchNorm broadcast_buffers")


# unused parameters
class Branchy(nn.Module):
    def __init__(self):
        super().__init__()
        self.a, self.b = nn.Linear(3, 3), nn.Linear(3, 3)

    def forward(self, x):
        return self.a(x)


for find in (True, False):
    torch.manual_seed(0)
    d = DDP(Branchy(), find_unused_parameters=find)
    try:
        d(torch.ones(2, 3) * (R + 1)).sum().backward()
    except RuntimeError as e:
        assert not find and "find_unused_parameters=True" in str(e) and "b.weight" in str(e), str(e)
    else:
        assert find
        assert d.module.b.weight.grad is None  # d sum(a(x)) / d a.weight = sum_n x = 2(R + 1), averaged: 3
        np.testing.assert_allclose(d.module.a.weight.grad.numpy(), np.full((3, 3), 3.0), rtol=1e-6)
ok("find_unused_parameters")

# a rank whose model differs gets a clear error, on every rank
try:
    DDP(nn.Linear(3, 4 + R))
except RuntimeError as e:
    assert "differs" in str(e) and "weight" in str(e), str(e)
    print(f"RAISED model mismatch rank {R}", flush=True)
else:
    raise AssertionError("no error for different models")

s = DistributedSampler(range(10), shuffle=False)
assert (s.num_replicas, s.rank) == (W, R) and list(s) == list(range(R, 10, W))
ok("DistributedSampler from the process group")
dist.destroy_process_group()
