"""chainrule: automatic differentiation you can read, with PyTorch's API, on NumPy.

>>> import chainrule as torch
>>> x = torch.arange(4.0, requires_grad=True)
>>> y = 2 * torch.dot(x, x)
>>> y.backward()
>>> x.grad
tensor([ 0.,  4.,  8., 12.])
"""

from __future__ import annotations

import warnings as _warnings

# NumPy reports overflow/invalid values as RuntimeWarnings; PyTorch propagates inf/nan silently.
# Only warnings raised from chainrule's own modules are silenced.
_warnings.filterwarnings("ignore", category=RuntimeWarning, module=r"chainrule(\.|$)")

from . import dtypes as _dtypes_module  # noqa: E402
from ._tensor import Size, Tensor  # noqa: E402
from . import _tensor_methods as _tensor_methods  # noqa: E402,F401  (attaches the ops)
from ._creation import *  # noqa: E402,F401,F403
from ._printing import set_printoptions  # noqa: E402,F401
from .autograd.grad_mode import (  # noqa: E402,F401
    enable_grad,
    inference_mode,
    is_grad_enabled,
    is_inference_mode_enabled,
    no_grad,
    set_grad_enabled,
)
from .backend import device  # noqa: E402,F401
from .dtypes import (  # noqa: E402,F401
    bool,
    dtype,
    float16,
    float32,
    float64,
    get_default_dtype,
    int8,
    int16,
    int32,
    int64,
    set_default_dtype,
    uint8,
)
from .ops import *  # noqa: E402,F401,F403
from .ops import (  # noqa: E402,F401
    abs,
    all,
    any,
    max,
    min,
    pow,
    round,
    sum,
)
from .ops.reduce import return_types  # noqa: E402,F401
from .random import Generator, get_rng_state, initial_seed, manual_seed, seed, set_rng_state  # noqa: E402,F401
from . import autograd  # noqa: E402,F401
from . import linalg  # noqa: E402,F401
from . import random  # noqa: E402,F401
from . import nn  # noqa: E402,F401
from . import distributions, optim, utils  # noqa: E402,F401
from .serialization import load, save  # noqa: E402,F401
from . import memory, profiler  # noqa: E402,F401
from . import viz  # noqa: E402,F401  (graphviz is imported only when draw() runs)
from . import func  # noqa: E402,F401

float = float32  # noqa: A001 - PyTorch's aliases
double = float64
half = float16
long = int64
int = int32  # noqa: A001
short = int16
uint8 = uint8

__version__ = "0.1.0"

from ._alias import install as _install_alias  # noqa: E402

_install_alias()


class _Cuda:
    """``chainrule.cuda``: there is no GPU backend; these report that honestly."""

    @staticmethod
    def is_available() -> bool:
        return False

    @staticmethod
    def device_count() -> int:
        return 0

    @staticmethod
    def manual_seed(seed: object) -> None:
        return None

    manual_seed_all = manual_seed

    @staticmethod
    def synchronize(device: object = None) -> None:
        return None


cuda = _Cuda()


def typename(t: object) -> str:
    return t.type() if isinstance(t, Tensor) else type(t).__name__  # type: ignore[union-attr]
