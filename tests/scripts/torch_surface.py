"""Textbook-style PyTorch code, written only with the names in the compatibility contract.

Run by tests/test_torch_surface.py through ``chainrule run``, which makes
``import torch`` mean chainrule; nothing here mentions chainrule.
"""
# ruff: noqa: E721, B007  (textbook style: type(m) == nn.Linear, unused loop variables)

import torch
from torch import nn
from torch.distributions.multinomial import Multinomial
from torch.nn import functional as F
from torch.utils import data

torch.manual_seed(0)


class Synthetic(data.Dataset):
    """A user dataset: __getitem__ builds one (float32 (1, 28, 28) tensor, int) pair per call."""

    def __init__(self, n):
        self.X = torch.randn(n, 1, 28, 28)
        w = torch.randn(28 * 28)
        self.y = ((self.X.reshape(n, -1) @ w) > 0).long()

    def __len__(self):
        return len(self.y)

    def __getitem__(self, i):
        return self.X[i], int(self.y[i])


train = Synthetic(512)
loader = data.DataLoader(train, batch_size=64, shuffle=True, num_workers=4, drop_last=False)
assert len(loader) == 8

net = nn.Sequential(nn.Flatten(), nn.LazyLinear(64), nn.ReLU(), nn.Dropout(0.1), nn.LazyLinear(2))
net(torch.zeros(1, 1, 28, 28))  # lazy layers learn their input sizes
assert type(net[1]) == nn.Linear and net[1].weight.shape == (64, 784)


def init_weights(m):
    if type(m) == nn.Linear:
        nn.init.normal_(m.weight, std=0.01)
        nn.init.zeros_(m.bias)


net.apply(init_weights)
weights = [p for name, p in net.named_parameters() if name.endswith("weight")]
biases = [p for name, p in net.named_parameters() if name.endswith("bias")]
trainer = torch.optim.SGD([{"params": weights, "weight_decay": 1e-3}, {"params": biases}], lr=0.5)
loss = nn.CrossEntropyLoss(reduction="none")

for epoch in range(8):
    net.train()
    for batch in loader:
        X, y = batch[:-1], batch[-1]
        l = loss(net(*X), y)
        trainer.zero_grad()
        l.mean().backward()
        trainer.step()
    net.eval()
    with torch.no_grad():
        acc = (net(train.X).argmax(axis=1) == train.y).float().mean()
print(f"train accuracy {acc:.3f}")
assert acc > 0.9

torch.save(net.state_dict(), "mlp.params")
clone = nn.Sequential(nn.Flatten(), nn.Linear(784, 64), nn.ReLU(), nn.Dropout(0.1), nn.Linear(64, 2))
clone.load_state_dict(torch.load("mlp.params"))
clone.eval()
X = torch.randn(3, 1, 28, 28)
assert (clone(X) == net(X)).all()

x = torch.arange(4.0, requires_grad=True)
y = 2 * torch.dot(x, x)
y.backward()
assert (x.grad == 4 * x).all()
print(F.softmax(torch.tensor([1.0, 2.0]), dim=0))
counts = Multinomial(10, torch.ones(6) / 6).sample((3,))
assert counts.shape == (3, 6) and (counts.sum(dim=1) == 10).all()
print(torch.cuda.is_available(), net[1])
