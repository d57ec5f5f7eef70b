"""``chainrule.optim``: optimizers that update parameters in place, and ``lr_scheduler``.

>>> opt = chainrule.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
>>> for X, y in loader:
...     opt.zero_grad(); loss_fn(model(X), y).backward(); opt.step()
"""

from . import lr_scheduler, swa_utils  # noqa: F401
from ._adafactor import Adafactor
from ._stateless import swap_in_optimizer_params_and_state
from .adadelta import Adadelta
from .adagrad import Adagrad
from .adam import Adam, AdamW
from .adamax import Adamax
from .asgd import ASGD
from .lbfgs import LBFGS
from .muon import Muon
from .nadam import NAdam
from .optimizer import Optimizer
from .radam import RAdam
from .rmsprop import RMSprop
from .rprop import Rprop
from .sgd import SGD

__all__ = [
    "Optimizer", "SGD", "Adafactor", "Adam", "AdamW", "RMSprop", "Adagrad", "Adadelta", "Adamax", "ASGD",
    "LBFGS", "Muon", "NAdam", "RAdam", "Rprop", "lr_scheduler", "swa_utils",
    "swap_in_optimizer_params_and_state",
]
