"""DataLoader worker processes: same batches as in-process loading, PyTorch's seeding and worker
info, errors with the worker's traceback, and no process left behind."""

from __future__ import annotations

import gc
import multiprocessing as mp
import os

import numpy as np
import pytest
import torch

import chainrule as cr
from chainrule.utils.data import DataLoader, Dataset, IterableDataset, get_worker_info


class Items(Dataset):
    """A tensor per item, as user datasets build them; records which worker fetched it."""

    def __init__(self, n: int = 50) -> None:
        self.n = n

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, i: int):
        info = get_worker_info()
        return cr.tensor(np.full((2, 3), float(i), dtype=np.float32)), i, -1 if info is None else info.id


def _batches(loader):
    return [(x.numpy().copy(), y.tolist(), w.tolist()) for x, y, w in loader]


def _no_children() -> None:
    gc.collect()
    assert mp.active_children() == []


@pytest.mark.parametrize("shuffle", [False, True])
def test_same_batches_in_the_same_order_for_0_2_4_workers(shuffle: bool) -> None:
    runs = {}
    for nw in (0, 2, 4):
        cr.manual_seed(0)
        runs[nw] = _batches(DataLoader(Items(), batch_size=8, shuffle=shuffle, num_workers=nw))
    for nw in (2, 4):
        assert [b[1] for b in runs[nw]] == [b[1] for b in runs[0]]
        for a, b in zip(runs[nw], runs[0]):
            np.testing.assert_array_equal(a[0], b[0])
        # batch k is loaded by worker k % num_workers, as in PyTorch
        assert [set(b[2]) for b in runs[nw]] == [{k % nw} for k in range(len(runs[nw]))]
    assert {w for b in runs[0] for w in b[2]} == {-1}
    _no_children()


def test_worker_order_matches_pytorch() -> None:
    class TorchItems(torch.utils.data.Dataset):
        def __len__(self):
            return 50

        def __getitem__(self, i):
            return i, torch.utils.data.get_worker_info().id

    ref = [w.tolist() for _, w in torch.utils.data.DataLoader(TorchItems(), batch_size=8, num_workers=3)]
    ours = [w.tolist() for _, _, w in DataLoader(Items(), batch_size=8, num_workers=3)]
    assert ours == ref


def test_worker_init_fn_and_seeds_are_reproducible() -> None:
    class Draws(Dataset):
        def __len__(self):
            return 8

        def __getitem__(self, i):
            info = get_worker_info()
            return cr.rand(1), info.seed, info.num_workers, info.id, os.environ.get("INIT_ID")

    def init(wid: int) -> None:
        os.environ["INIT_ID"] = str(wid)

    out = []
    for _ in range(2):
        g = cr.Generator().manual_seed(7)
        loader = DataLoader(Draws(), batch_size=2, num_workers=2, worker_init_fn=init, generator=g)
        out.append([(x.tolist(), s.tolist(), n.tolist(), i.tolist(), e) for x, s, n, i, e in loader])
    assert out[0] == out[1]  # same generator seed: same worker seeds and draws
    seeds = {s[0] for _, s, _, _, _ in out[0]}
    assert len(seeds) == 2 and max(seeds) - min(seeds) == 1  # base_seed + worker id
    assert all(n == [2, 2] for _, _, n, _, _ in out[0])
    assert [e for *_, e in out[0]] == [["0", "0"], ["1", "1"], ["0", "0"], ["1", "1"]]
    draws = [x for x, *_ in out[0]]
    assert draws[0] != draws[1]  # each worker has its own stream
    _no_children()


def test_an_error_in_a_worker_surfaces_with_its_traceback() -> None:
    class Broken(Dataset):
        def __len__(self):
            return 10

        def __getitem__(self, i):
            if i == 5:
                raise ValueError(f"bad item {i}")
            return i

    with pytest.raises(ValueError) as err:
        list(DataLoader(Broken(), batch_size=2, num_workers=2))
    msg = str(err.value)
    assert "Caught ValueError in DataLoader worker process 0" in msg
    assert "bad item 5" in msg and "Traceback" in msg and "__getitem__" in msg
    _no_children()


def test_no_process_left_after_break_or_abandon() -> None:
    loader = DataLoader(Items(200), batch_size=4, num_workers=2)
    for k, _ in enumerate(loader):
        if k == 3:
            break
    it = iter(loader)
    next(it)
    del it
    _no_children()


def test_iterable_dataset_sharded_with_worker_info() -> None:
    class Stream(IterableDataset):
        def __iter__(self):
            info = get_worker_info()
            wid, n = (0, 1) if info is None else (info.id, info.num_workers)
            return iter(range(wid, 20, n))

    got = sorted(v for b in DataLoader(Stream(), batch_size=3, num_workers=2) for v in b.tolist())
    assert got == list(range(20))
    ref = [b.tolist() for b in torch.utils.data.DataLoader(_TorchStream(), batch_size=3, num_workers=2)]
    ours = [b.tolist() for b in DataLoader(Stream(), batch_size=3, num_workers=2)]
    assert ours == ref
    _no_children()


class _TorchStream(torch.utils.data.IterableDataset):
    def __iter__(self):
        info = torch.utils.data.get_worker_info()
        return iter(range(info.id, 20, info.num_workers))


def test_persistent_workers_serve_every_epoch() -> None:
    class Pid(Dataset):
        def __len__(self):
            return 6

        def __getitem__(self, i):
            return i, os.getpid()

    loader = DataLoader(Pid(), batch_size=2, num_workers=2, persistent_workers=True)
    first = [(i.tolist(), p.tolist()) for i, p in loader]
    for _ in loader:  # an abandoned epoch must not leak into the next
        break
    second = [(i.tolist(), p.tolist()) for i, p in loader]
    assert [i for i, _ in first] == [i for i, _ in second] == [[0, 1], [2, 3], [4, 5]]
    assert {p for _, ps in first for p in ps} == {p for _, ps in second for p in ps}
    assert len(mp.active_children()) == 2
    del loader
    _no_children()


def test_timeout_and_argument_errors_as_pytorch() -> None:
    class Stuck(Dataset):
        def __len__(self):
            return 4

        def __getitem__(self, i):
            import time

            time.sleep(60)

    with pytest.raises(RuntimeError, match="timed out after 1 seconds"):
        next(iter(DataLoader(Stuck(), batch_size=2, num_workers=1, timeout=1)))
    _no_children()
    for kw in ({"prefetch_factor": 2}, {"persistent_workers": True}):
        with pytest.raises(ValueError):
            torch.utils.data.DataLoader(list(range(4)), num_workers=0, **kw)
        with pytest.raises(ValueError):
            DataLoader(list(range(4)), num_workers=0, **kw)


def test_numpy_and_random_seeded_per_worker_as_pytorch() -> None:
    from torch.utils.data._utils.worker import _generate_state

    from chainrule.utils.data._utils.worker import numpy_seed

    for base, wid in [(0, 0), (7, 1), (2**62 + 5, 3), (2**63 - 1, 2)]:
        assert numpy_seed(base, wid) == _generate_state(base, wid)

    class Draws(Dataset):
        def __len__(self):
            return 4

        def __getitem__(self, i):
            import random

            info = get_worker_info()
            np_ref = np.random.RandomState(numpy_seed(info.seed - info.id, info.id)).rand()
            return np.random.rand(), np_ref, random.Random(info.seed).random(), random.random()

    out = [[b.tolist() for b in batch] for batch in DataLoader(Draws(), batch_size=2, num_workers=2)]
    for np_draw, np_ref, py_ref, py_draw in out:
        assert np_draw[0] == np_ref[0] and py_draw[0] == py_ref[0]  # first draw of each worker
    assert out[0][0][0] != out[1][0][0]  # workers draw different NumPy streams
    _no_children()


def test_abandoned_iterator_with_large_batches_shuts_down() -> None:
    class Big(Dataset):
        def __len__(self):
            return 2000

        def __getitem__(self, i):
            return cr.zeros(28, 28)

    it = iter(DataLoader(Big(), batch_size=128, num_workers=2))  # batches larger than a pipe buffer
    next(it)
    pool = it.pool
    del it
    assert all(not p.is_alive() for p in pool.procs) and pool.procs == []
    _no_children()
