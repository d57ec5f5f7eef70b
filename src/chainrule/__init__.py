"""chainrule: automatic differentiation you can read, with PyTorch's API, on NumPy.

>>> import chainrule as torch
>>> x = torch.arange(4.0, requires_grad=True)
>>> y = 2 * torch.dot(x, x)
>>> y.backward()
>>> x.grad
tensor([ 0.,  4.,  8., 12.])

This module only re-exports; everything lives in the submodules.
"""
# ruff: noqa: E402, F401, F403, A001, I001  (the core must load before its applications)

from __future__ import annotations

import warnings as _warnings

# NumPy reports overflow/invalid values as RuntimeWarnings; PyTorch propagates inf/nan silently.
# Only warnings raised from chainrule's own modules are silenced.
_warnings.filterwarnings("ignore", category=RuntimeWarning, module=r"chainrule(\.|$)")

# The core: tensors, dtypes, the op table (attached to Tensor as methods), grad modes.
from . import _tensor_methods, _tensor_methods_complex, _tensor_methods_math
from ._counting import *
from ._tensor_functions import *
from ._creation import *
from ._printing import set_printoptions
from ._tensor import Size, Tensor
from .autograd.grad_mode import (
    enable_grad,
    inference_mode,
    is_grad_enabled,
    is_inference_mode_enabled,
    no_grad,
    set_grad_enabled,
)
from .backend import device
from .dtypes import (
    bfloat16,
    bool,
    complex64,
    complex128,
    dtype,
    float16,
    float32,
    float64,
    finfo,
    get_default_dtype,
    int8,
    int16,
    int32,
    int64,
    set_default_dtype,
    uint8,
    uint16,
    uint32,
    uint64,
)
from .ops import *
from .ops import abs, all, any, max, min, pow, round, sum  # names `import *` would skip
from .ops.reduce import return_types
from .ops.complex import (angle, complex, conj, conj_physical, is_complex, polar, real, imag, resolve_conj,
                          resolve_neg, sgn, view_as_complex, view_as_real)
from .random import Generator, get_rng_state, initial_seed, manual_seed, seed, set_rng_state

# The applications of the engine, at PyTorch's module paths.
from . import autograd, cuda, distributions, func, linalg, memory, nn, optim, profiler, random, utils
from .linalg._toplevel import (cholesky, cholesky_inverse, cholesky_solve, cross, det, inverse,  # noqa: E402
                               logdet, matrix_exp, matrix_power, pinverse, qr, slogdet, svd)
from . import accelerator, amp, backends, mps, onnx, serialization, testing, version
from . import special
from . import fft
# More of torch's names, composed from the above (one module per family; see each docstring).
from ._tensor_functions_extra import *
from ._integration import *
from ._tensor_functions_shape import *
from ._torch_nn_functions import *
from ._torch_nn_layers import *
from ._settings import *
from ._creation_extra import *
from ._stft import *
from ._lobpcg import *
from ._tensor_methods_extra import *
from ._hash_tensor import hash_tensor
from .linalg._extra import geqrf, lu_solve_ as lu_solve, lu_unpack, orgqr, ormqr, triangular_solve
from .amp import (autocast, get_autocast_cpu_dtype, get_autocast_dtype, is_autocast_cache_enabled,
                  is_autocast_cpu_enabled, is_autocast_enabled, set_autocast_cache_enabled,
                  set_autocast_cpu_dtype, set_autocast_cpu_enabled, set_autocast_dtype, set_autocast_enabled)
from ._device_module import get_device_module
from . import cpu
from .autograd._inference import is_inference
from . import viz  # graphviz is imported only when a picture is drawn
from .serialization import load, save
from ._numpy_protocol import install as _install_numpy_protocol

_install_numpy_protocol()  # np.exp(t), np.sum(t, axis=0), ... return tensors and record the graph
from .utils import dlpack as _dlpack
from .utils.dlpack import from_dlpack

_dlpack.install()  # Tensor.__dlpack__ / __dlpack_device__
from . import compile  # a callable package: chainrule.compile(fn) is compile.api.compile
from . import compiler, fx, jit

# PyTorch's dtype aliases.
float = float32
double = float64
half = float16
cfloat = complex64
cdouble = complex128
long = int64
int = int32
short = int16

__version__ = "0.1.0"


def typename(t: object) -> str:
    return t.type() if isinstance(t, Tensor) else type(t).__name__  # type: ignore[union-attr]


from ._alias import install as _install_alias

_install_alias()  # `sys.modules['torch'] = chainrule` then finds chainrule's submodules
