"""A DataLoader epoch with worker processes overlapped with training, chainrule vs PyTorch.

60,000 items, each a 28x28 float32 tensor built in ``__getitem__`` (as the textbook's datasets
do), batch 128, ``num_workers=2``, and one SGD step of a 784-256-10 MLP per batch: the workers
load while the main process trains.
"""

from __future__ import annotations

import numpy as np

from .workload import Workload, chainrule_and_torch, register

N = 60_000


def _epoch(T):
    rng = np.random.default_rng(0)
    images = rng.standard_normal((N, 28, 28), dtype=np.float32)
    labels = rng.integers(0, 10, N)

    class Items(T.utils.data.Dataset):
        def __len__(self):
            return N

        def __getitem__(self, i):
            return T.tensor(images[i]), int(labels[i])

    T.manual_seed(0)
    nn = T.nn
    model = nn.Sequential(nn.Flatten(), nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 10))
    opt = T.optim.SGD(model.parameters(), lr=0.01)
    loss_fn = nn.CrossEntropyLoss()
    loader = T.utils.data.DataLoader(Items(), batch_size=128, shuffle=True, num_workers=2)

    def step():
        for x, y in loader:
            opt.zero_grad()
            loss_fn(model(x), y).backward()
            opt.step()

    return step


register(Workload(
    "data_workers_epoch", "DataLoader epoch, 60,000 per-item 28x28 tensors, num_workers=2, an MLP "
    "SGD step per batch of 128", "s", chainrule_and_torch(_epoch), repeats=2, warmup=0,
    target="chainrule <= torch (total time)",
))
