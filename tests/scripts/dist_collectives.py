"""Run under mpiexec: every collective against the NumPy result (tests/test_distributed.py).

Each rank builds every rank's inputs from the same seeds, so it knows the exact expected result.
Prints one ``OK <case>`` line per checked case on rank 0; any mismatch raises (and ends the job).
"""

import numpy as np

import chainrule as torch
import chainrule.distributed as dist

dist.init_process_group("gloo")
R, W = dist.get_rank(), dist.get_world_size()
DTYPES = [np.float32, np.float64, np.int64]
SHAPES = [(), (0,), (3, 4)]
checked = []


def data(rank, shape, dtype, salt=0):
    rng = np.random.default_rng(1000 * salt + rank)
    if np.issubdtype(dtype, np.integer):
        return rng.integers(-5, 6, shape).astype(dtype)
    return rng.uniform(0.5, 1.5, shape).astype(dtype)


def same(t, want, case):
    got = t.numpy() if isinstance(t, torch.Tensor) else t
    assert got.dtype == np.asarray(want).dtype, (case, got.dtype, np.asarray(want).dtype)
    tol = 1e-5 if got.dtype == np.float32 else 1e-12
    np.testing.assert_allclose(got, want, rtol=tol, atol=0, err_msg=case)
    checked.append(case)


def ok(case):
    checked.append(case)


def reduce_np(arrays, op):
    a = np.stack(arrays)
    if op is dist.ReduceOp.SUM:
        return a.sum(0).astype(a.dtype)
    if op is dist.ReduceOp.AVG:
        s = a.sum(0)
        if np.issubdtype(a.dtype, np.integer):
            return (np.sign(s) * (np.abs(s) // len(arrays))).astype(a.dtype)
        return (s / len(arrays)).astype(a.dtype)
    if op is dist.ReduceOp.PRODUCT:
        return a.prod(0).astype(a.dtype)
    return a.min(0) if op is dist.ReduceOp.MIN else a.max(0)


OPS = [dist.ReduceOp.SUM, dist.ReduceOp.AVG, dist.ReduceOp.PRODUCT, dist.ReduceOp.MIN, dist.ReduceOp.MAX]

for dt in DTYPES:
    for shape in SHAPES:
        every = [data(r, shape, dt) for r in range(W)]
        key = f"{np.dtype(dt).name}{shape}"
        for op in OPS:
            for async_op in (False, True):
                t = torch.from_numpy(every[R].copy())
                v0 = t._version
                w = dist.all_reduce(t, op=op, async_op=async_op)
                if async_op:
                    w.wait()
                    assert w.is_completed()
                assert t._version > v0
                same(t, reduce_np(every, op), f"all_reduce {op.name} {key} async={async_op}")
            for dst in {0, W - 1}:
                t = torch.from_numpy(every[R].copy())
                dist.reduce(t, dst=dst, op=op)
                same(t, reduce_np(every, op) if R == dst else every[R], f"reduce {op.name} {key} dst={dst}")
        for src in {0, W - 1}:
            for async_op in (False, True):
                t = torch.from_numpy(every[R].copy())
                w = dist.broadcast(t, src=src, async_op=async_op)
                if w is not None:
                    w.wait()
                same(t, every[src], f"broadcast {key} src={src} async={async_op}")
        outs = [torch.from_numpy(np.zeros(shape, dt)) for _ in range(W)]
        dist.all_gather(outs, torch.from_numpy(every[R]), async_op=True).wait()
        for r in range(W):
            same(outs[r], every[r], f"all_gather {key} [{r}]")
        if shape:
            out = torch.from_numpy(np.zeros((W * shape[0], *shape[1:]), dt))
            dist.all_gather_into_tensor(out, torch.from_numpy(every[R]))
            same(out, np.concatenate(every), f"all_gather_into_tensor {key}")
        out = torch.from_numpy(np.zeros((W, *shape), dt))
        dist.all_gather_into_tensor(out, torch.from_numpy(every[R]))
        same(out, np.stack(every), f"all_gather_into_tensor stacked {key}")
        dst = W - 1
        gl = [torch.from_numpy(np.zeros(shape, dt)) for _ in range(W)] if R == dst else None
        dist.gather(torch.from_numpy(every[R]), gather_list=gl, dst=dst)
        if R == dst:
            for r in range(W):
                same(gl[r], every[r], f"gather {key} [{r}]")
        pieces = [data(r, shape, dt, salt=7) for r in range(W)]  # the source's scatter list
        t = torch.from_numpy(np.zeros(shape, dt))
        dist.scatter(t, [torch.from_numpy(p) for p in pieces] if R == 0 else None, src=0)
        same(t, pieces[R], f"scatter {key}")
        for op in (dist.ReduceOp.SUM, dist.ReduceOp.AVG, dist.ReduceOp.MAX):
            lists = [[data(r, shape, dt, salt=10 + i) for i in range(W)] for r in range(W)]
            out = torch.from_numpy(np.zeros(shape, dt))
            dist.reduce_scatter(out, [torch.from_numpy(x) for x in lists[R]], op=op, async_op=True).wait()
            same(out, reduce_np([lists[r][R] for r in range(W)], op), f"reduce_scatter {op.name} {key}")
            if shape:
                big = [np.concatenate(lists[r]) for r in range(W)]
                out = torch.from_numpy(np.zeros(shape, dt))
                dist.reduce_scatter_tensor(out, torch.from_numpy(big[R]), op=op)
                same(
                    out,
                    reduce_np([b[R * shape[0] : (R + 1) * shape[0]] for b in big], op),
                    f"reduce_scatter_tensor {op.name} {key}",
                )
        # point to point: a ring, blocking and non-blocking
        nxt, prv = (R + 1) % W, (R - 1) % W
        t = torch.from_numpy(np.zeros(shape, dt))
        if R % 2 == 0:
            dist.send(torch.from_numpy(every[R]), dst=nxt)
            src = dist.recv(t, src=prv)
        else:
            src = dist.recv(t)
            dist.send(torch.from_numpy(every[R]), dst=nxt)
        assert src == prv
        same(t, every[prv], f"send/recv {key}")
        t = torch.from_numpy(np.zeros(shape, dt))
        works = [dist.irecv(t, src=prv, tag=3), dist.isend(torch.from_numpy(every[R]), dst=nxt, tag=3)]
        for w in works:
            w.wait()
        same(t, every[prv], f"isend/irecv {key}")

# a non-contiguous tensor (a transposed view) is reduced and written back in place, through its base
base = torch.from_numpy(data(R, (4, 3), np.float64))
view = base.t()
dist.all_reduce(view)
same(base, np.sum([data(r, (4, 3), np.float64) for r in range(W)], 0), "all_reduce non-contiguous view")

# groups: the even ranks, and a group without rank 0
evens = [r for r in range(W) if r % 2 == 0]
g = dist.new_group(evens)
t = torch.tensor([float(R + 1)], dtype=torch.float64)
dist.all_reduce(t, group=g)
if R in evens:
    same(t, np.array([sum(r + 1.0 for r in evens)]), "all_reduce group=evens")
    assert dist.get_world_size(g) == len(evens) and dist.get_rank(g) == evens.index(R)
else:
    same(t, np.array([R + 1.0]), "non-member unchanged")
    assert dist.get_rank(g) == -1
if W > 1:
    tail = dist.new_group(list(range(1, W)))
    t = torch.tensor([float(R)], dtype=torch.float64)
    dist.broadcast(t, src=W - 1, group=tail)  # src is a global rank
    same(t, np.array([float(W - 1 if R > 0 else 0)]), "broadcast group without rank 0")
    assert dist.get_process_group_ranks(tail) == list(range(1, W)) if R > 0 else True

# objects (pickled), tensors inside them included
objs = [{"rank": R}, torch.arange(3) * R, "x" * R] if R == 0 else [None, None, None]
dist.broadcast_object_list(objs, src=0)
assert objs[0] == {"rank": 0} and objs[1].tolist() == [0, 0, 0] and objs[2] == ""
ok("broadcast_object_list")
everyone = [None] * W
dist.all_gather_object(everyone, {"r": R, "t": torch.full((2,), float(R))})
assert [e["r"] for e in everyone] == list(range(W))
assert all(e["t"].tolist() == [float(r)] * 2 for r, e in enumerate(everyone))
ok("all_gather_object")
dist.barrier()
dist.barrier(async_op=True).wait()
ok("barrier")
assert dist.is_initialized() and dist.get_backend() == "gloo"
dist.destroy_process_group()
assert not dist.is_initialized()
if R == 0:
    print("\n".join(f"OK {c}" for c in checked))
    print(f"CHECKED {len(checked)}")
