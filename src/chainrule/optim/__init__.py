"""``chainrule.optim``: optimizers that update parameters in place, and ``lr_scheduler``.

>>> opt = chainrule.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
>>> for X, y in loader:
...     opt.zero_grad(); loss_fn(model(X), y).backward(); opt.step()
"""

from . import lr_scheduler  # noqa: F401
from .adagrad import Adagrad
from .adam import Adam, AdamW
from .optimizer import Optimizer
from .rmsprop import RMSprop
from .sgd import SGD

__all__ = ["Optimizer", "SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "lr_scheduler"]
