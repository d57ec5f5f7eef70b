"""Datasets, samplers, DataLoader and default_collate."""

from __future__ import annotations

import collections

import numpy as np
import pytest
from reference import HAVE_TORCH, REQUIRE_TORCH, torch

import chainrule
from chainrule.utils import data
from chainrule.utils.data import (
    BatchSampler,
    ConcatDataset,
    DataLoader,
    Dataset,
    IterableDataset,
    RandomSampler,
    SequentialSampler,
    Subset,
    TensorDataset,
    default_collate,
    random_split,
)


class Images(Dataset):
    """What textbook code writes: a float32 (1, 28, 28) image tensor and a Python int label."""

    def __init__(self, n=50):
        self.n = n
        self.calls = 0

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        self.calls += 1
        return chainrule.full((1, 28, 28), float(i)), i % 10


class Endless(IterableDataset):
    """A stream without a length."""

    def __init__(self, n):
        self.n = n

    def __iter__(self):
        return iter(range(self.n))


class Stream(Endless):
    def __len__(self):
        return self.n


def _xy(n=10):
    X = chainrule.arange(n * 3, dtype=chainrule.float32).reshape(n, 3)
    y = chainrule.arange(n)
    return X, y


def test_module_path_is_a_real_module():
    import importlib

    mod = importlib.import_module("chainrule.utils.data")
    assert mod.__file__.endswith("data/__init__.py") and mod is data
    # laid out as torch.utils.data: the submodules hold the same objects
    for sub, name in [
        ("dataset", "TensorDataset"),
        ("sampler", "RandomSampler"),
        ("dataloader", "DataLoader"),
        ("_utils.collate", "default_collate"),
        ("_utils.worker", "get_worker_info"),
    ]:
        assert getattr(importlib.import_module(f"chainrule.utils.data.{sub}"), name) is getattr(data, name)


@pytest.mark.parametrize(
    "n,bs,drop_last,expected",
    [
        (10, 3, False, 4),
        (10, 3, True, 3),
        (9, 3, False, 3),
        (9, 3, True, 3),
        (2, 5, True, 0),
        (2, 5, False, 1),
    ],
)
def test_batch_counts(n, bs, drop_last, expected):
    loader = DataLoader(TensorDataset(*_xy(n)), batch_size=bs, drop_last=drop_last)
    batches = list(loader)
    assert len(loader) == expected == len(batches)
    sizes = [len(b[1]) for b in batches]
    assert sum(sizes) == (n - n % bs if drop_last else n)
    slow = DataLoader(Images(n), batch_size=bs, drop_last=drop_last)
    assert len(slow) == expected == len(list(slow))


def test_tensor_dataset_batches_are_lists_that_slice():
    X, y = _xy(10)
    loader = DataLoader(TensorDataset(X, y), batch_size=4)
    batch = next(iter(loader))
    assert isinstance(batch, list) and len(batch) == 2
    assert batch[:-1][0].tolist() == X[:4].tolist()
    assert batch[1].dtype == chainrule.int64 and batch[1].tolist() == [0, 1, 2, 3]
    Xb, yb = list(loader)[-1]
    assert Xb.shape == (2, 3) and yb.tolist() == [8, 9]
    Xb[:] = -1  # a batch is a copy, not a view into the dataset
    assert X.min().item() == 0
    assert TensorDataset(X, y)[3][0].tolist() == [9.0, 10.0, 11.0]


def test_tensor_dataset_size_mismatch():
    with pytest.raises(ValueError, match=r"Size mismatch.*\(10, 3\), \(9,\)"):
        TensorDataset(chainrule.zeros(10, 3), chainrule.zeros(9))
    with pytest.raises(TypeError, match="argument 1 is a list"):
        TensorDataset(chainrule.zeros(2), [1, 2])


def test_shuffle_is_reproducible_with_a_seeded_generator():
    ds = TensorDataset(*_xy(20))

    def epochs(gen_seed, slow=False):
        g = chainrule.Generator().manual_seed(gen_seed)
        src = Subset(ds, list(range(20))) if slow else ds
        loader = DataLoader(
            src,
            batch_size=6,
            shuffle=True,
            generator=g,
            collate_fn=(lambda b: default_collate(b)) if slow else None,
        )
        return [[yb.tolist() for _, yb in loader] for _ in range(2)]

    a, b, c = epochs(0), epochs(0), epochs(1)
    assert a == b and a != c
    assert a[0] != a[1]  # a new order every epoch
    assert sorted(sum(a[0], [])) == list(range(20))
    assert epochs(0, slow=True) == a  # the fast TensorDataset path draws the same order


def test_shuffle_follows_manual_seed():
    ds = TensorDataset(*_xy(30))

    def order():
        return [y.tolist() for _, y in DataLoader(ds, batch_size=30, shuffle=True)]

    chainrule.manual_seed(7)
    first = order()
    chainrule.manual_seed(7)
    assert order() == first and first != [list(range(30))]


def test_image_dataset_subclass():
    ds = Images(50)
    loader = DataLoader(ds, batch_size=16, shuffle=True, num_workers=4, pin_memory=True)
    X, y = next(iter(loader))
    assert X.shape == (16, 1, 28, 28) and X.dtype == chainrule.float32
    assert y.shape == (16,) and y.dtype == chainrule.int64
    np.testing.assert_array_equal(X.numpy()[:, 0, 0, 0].astype(int) % 10, y.numpy())
    assert ds.calls == 0  # the items were fetched in the 4 worker processes, not here


def test_default_collate_types():
    batch = default_collate(
        [
            {
                "x": np.ones(2, dtype=np.float64),
                "n": 1,
                "f": 0.5,
                "s": "a",
                "b": True,
                "g": np.float32(2),
            },
            {
                "x": np.zeros(2, dtype=np.float64),
                "n": 2,
                "f": 1.5,
                "s": "b",
                "b": False,
                "g": np.float32(3),
            },
        ]
    )
    assert batch["x"].dtype == chainrule.float64 and batch["x"].shape == (2, 2)
    assert batch["n"].dtype == chainrule.int64 and batch["n"].tolist() == [1, 2]
    assert batch["f"].dtype == chainrule.float64 and batch["s"] == ["a", "b"]
    assert batch["b"].dtype == chainrule.bool and batch["g"].dtype == chainrule.float32
    tup = default_collate([(np.uint8(1), [1, 2]), (np.uint8(2), [3, 4])])
    assert isinstance(tup, list) and tup[0].dtype == chainrule.uint8
    assert [t.tolist() for t in tup[1]] == [[1, 3], [2, 4]]
    Point = collections.namedtuple("Point", "x y")
    p = default_collate([Point(1, 2.0), Point(3, 4.0)])
    assert isinstance(p, Point) and p.x.tolist() == [1, 3]
    od = default_collate([collections.OrderedDict(a=chainrule.ones(2))] * 3)
    assert isinstance(od, collections.OrderedDict) and od["a"].shape == (3, 2)


def test_default_collate_errors():
    with pytest.raises(RuntimeError, match=r"equal size, but got \[2\] at entry 0 and \[3\] at entry 1"):
        default_collate([chainrule.zeros(2), chainrule.zeros(3)])
    with pytest.raises(TypeError, match="found NoneType"):
        default_collate([None, None])


def test_collate_keeps_the_graph_when_samples_require_grad():
    w = chainrule.ones(2, requires_grad=True)
    out = default_collate([w * 2, w * 3])
    out.sum().backward()
    assert w.grad.tolist() == [5.0, 5.0]


def test_custom_collate_and_no_batching():
    ds = Images(5)
    loader = DataLoader(ds, batch_size=2, collate_fn=lambda b: [y for _, y in b])
    assert list(loader) == [[0, 1], [2, 3], [4]]
    single = DataLoader(TensorDataset(*_xy(4)), batch_size=None)
    assert len(single) == 4 and next(iter(single))[0].shape == (3,)
    arrays = DataLoader([np.ones(2)] * 3, batch_size=None)
    assert isinstance(next(iter(arrays)), chainrule.Tensor)


def test_samplers():
    seq = SequentialSampler(range(5))
    assert list(seq) == [0, 1, 2, 3, 4] and len(seq) == 5
    g = chainrule.Generator().manual_seed(0)
    rs = RandomSampler(range(10), generator=g)
    assert sorted(rs) == list(range(10)) and len(rs) == 10
    draws = list(RandomSampler(range(3), replacement=True, num_samples=50, generator=g))
    assert len(draws) == 50 and set(draws) <= {0, 1, 2}
    bs = BatchSampler(seq, 2, drop_last=False)
    assert list(bs) == [[0, 1], [2, 3], [4]] and len(bs) == 3
    custom = DataLoader(TensorDataset(*_xy(6)), batch_sampler=[[5, 0], [1]])
    assert [y.tolist() for _, y in custom] == [[5, 0], [1]]
    listed = DataLoader(TensorDataset(*_xy(6)), sampler=[4, 2, 0], batch_size=2)
    assert [y.tolist() for _, y in listed] == [[4, 2], [0]]


def test_dataloader_option_errors():
    ds = TensorDataset(*_xy(4))
    with pytest.raises(ValueError, match="mutually exclusive with shuffle"):
        DataLoader(ds, sampler=[0, 1], shuffle=True)
    with pytest.raises(ValueError, match="batch_sampler option is mutually exclusive"):
        DataLoader(ds, batch_sampler=[[0]], batch_size=2)
    with pytest.raises(ValueError, match="drop_last"):
        DataLoader(ds, batch_size=None, drop_last=True)
    with pytest.raises(ValueError, match="num_workers"):
        DataLoader(ds, num_workers=-1)
    with pytest.raises(ValueError, match="batch_size should be a positive integer"):
        DataLoader(ds, batch_size=0)
    with pytest.raises(ValueError, match="shuffle=True"):
        DataLoader(Stream(4), shuffle=True)


def test_iterable_dataset():
    loader = DataLoader(Stream(7), batch_size=3)
    assert [b.tolist() for b in loader] == [[0, 1, 2], [3, 4, 5], [6]] and len(loader) == 3
    assert len(DataLoader(Stream(7), batch_size=3, drop_last=True)) == 2
    assert [b.tolist() for b in DataLoader(Stream(7), batch_size=3, drop_last=True)] == [
        [0, 1, 2],
        [3, 4, 5],
    ]
    chained = Stream(2) + Stream(3)
    assert list(chained) == [0, 1, 0, 1, 2]
    with pytest.raises(TypeError):
        len(DataLoader(Endless(3), batch_size=2))


def test_concat_subset_and_add():
    a, b = TensorDataset(*_xy(3)), TensorDataset(*_xy(4))
    cat = a + b
    assert isinstance(cat, ConcatDataset) and len(cat) == 7
    assert cat[3][1].item() == 0 and cat[-1][1].item() == 3
    with pytest.raises(IndexError, match="out of range"):
        cat[7]
    sub = Subset(b, [3, 1])
    assert len(sub) == 2 and sub[0][1].item() == 3
    assert [y.tolist() for _, y in DataLoader(cat, batch_size=4)] == [[0, 1, 2, 0], [1, 2, 3]]


def test_random_split_lengths_and_fractions():
    ds = TensorDataset(*_xy(10))
    g = chainrule.Generator().manual_seed(42)
    train, val = random_split(ds, [7, 3], generator=g)
    idx = sorted(train.indices + val.indices)
    assert len(train) == 7 and len(val) == 3 and idx == list(range(10))
    again = random_split(ds, [7, 3], generator=chainrule.Generator().manual_seed(42))
    assert again[0].indices == train.indices
    parts = random_split(ds, [0.5, 0.3, 0.2], generator=g)
    assert [len(p) for p in parts] == [5, 3, 2]
    uneven = random_split(TensorDataset(*_xy(11)), [0.34, 0.33, 0.33], generator=g)
    assert [len(p) for p in uneven] == [4, 4, 3]  # remainder handed out round-robin like PyTorch
    with pytest.raises(ValueError, match="summing to the dataset's length 10"):
        random_split(ds, [5, 4])
    # the fast path through Subset(TensorDataset) gives the subset's own samples
    ys = [y.tolist() for _, y in DataLoader(train, batch_size=3)]
    assert sum(ys, []) == train.indices


def test_random_split_fractions_match_pytorch_lengths():
    if not HAVE_TORCH:
        assert not REQUIRE_TORCH, "PyTorch 2.13 must be installed in CI (extra 'reference')"
        pytest.skip("PyTorch not installed")
    torch_data = torch.utils.data
    for n, fr in [(11, [0.34, 0.33, 0.33]), (7, [0.5, 0.5]), (100, [0.8, 0.1, 0.1])]:
        theirs = torch_data.random_split(range(n), fr, generator=torch.Generator().manual_seed(0))
        ours = random_split(list(range(n)), fr)
        assert [len(p) for p in ours] == [len(p) for p in theirs]


def test_tensor_dataset_batches_are_fetched_whole(monkeypatch):
    """A TensorDataset is indexed once per batch, never once per sample (why loading is fast:
    counted here, timed in benchmarks/)."""
    calls = collections.Counter()
    orig = TensorDataset.__getitem__
    monkeypatch.setattr(
        TensorDataset, "__getitem__", lambda self, i: (calls.update(["sample"]), orig(self, i))[1]
    )
    x, y = chainrule.randn(2000, 7), chainrule.arange(2000)
    batches = list(DataLoader(TensorDataset(x, y), batch_size=128, shuffle=True))
    assert calls["sample"] == 0 and len(batches) == 16 and len(batches[-1][0]) == 2000 - 15 * 128
    seen = np.concatenate([b[1].numpy() for b in batches])
    assert sorted(seen.tolist()) == list(range(2000))
    np.testing.assert_array_equal(np.concatenate([b[0].numpy() for b in batches]), x.numpy()[seen])
