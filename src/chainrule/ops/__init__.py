"""The op table: every primitive (forward + derivative rules) and the composite ops built on them.

Families: ``elementwise``, ``reduce``, ``shape``, ``index``, ``linalg``, ``nn``.
``PRIMITIVES`` lists every registered primitive by name.
"""

from __future__ import annotations

from . import linear as _linear  # noqa: F401  (registers the Linear primitives; F.linear uses them)
from . import rnn_layer as _rnn_layer  # noqa: F401  (registers LstmLayer; nn.LSTM runs it)
from ._core import PRIMITIVES, Primitive, apply, fail  # noqa: F401
from ._views import as_strided, diagonal  # noqa: F401  (unfold is a method: F.unfold differs)
from ._views import unfold as _unfold  # noqa: F401
from .compare import (  # noqa: F401
    allclose,
    bitwise_and,
    bitwise_not,
    bitwise_or,
    bitwise_xor,
    eq,
    equal,
    ge,
    greater,
    greater_equal,
    gt,
    isclose,
    isfinite,
    isinf,
    isnan,
    le,
    less,
    less_equal,
    logical_and,
    logical_not,
    logical_or,
    logical_xor,
    lt,
    ne,
    not_equal,
)
from .conv import conv1d, conv2d, conv_transpose2d  # noqa: F401
from .ctc import ctc_loss  # noqa: F401
from .elementwise import (  # noqa: F401
    abs,
    acos,
    add,
    asin,
    atan,
    cast,
    ceil,
    clamp,
    clip,
    cos,
    cosh,
    div,
    elu,
    erf,
    exp,
    exp2,
    expm1,
    floor,
    floor_divide,
    frac,
    gelu,
    hardtanh,
    leaky_relu,
    log,
    log1p,
    log2,
    log10,
    logsigmoid,
    maximum,
    minimum,
    mul,
    neg,
    pow,
    reciprocal,
    relu,
    remainder,
    round,
    rsqrt,
    sigmoid,
    sign,
    silu,
    sin,
    sinh,
    softplus,
    sqrt,
    square,
    sub,
    tan,
    tanh,
    trunc,
    where,
)
from .elementwise_more import (  # noqa: F401
    acosh, arccosh, arcsinh, arctan2, arctanh, asinh, atan2, atanh, copysign, fmod, hypot, logaddexp,
    logaddexp2,
)
from .index import (  # noqa: F401
    argwhere,
    gather,
    getitem,
    index_add,
    index_put,
    index_select,
    masked_fill,
    masked_select,
    nonzero,
    scatter,
    scatter_add,
    select,
    take,
    take_along_dim,
)
from .linalg import addmm, bmm, dot, einsum, ger, inner, matmul, mm, mv, outer, tensordot, vdot  # noqa: F401
from .nn import (  # noqa: F401
    avg_pool2d,
    cross_entropy,
    dropout,
    log_softmax,
    max_pool2d,
    nll_loss,
    softmax,
)
from .reduce import (  # noqa: F401
    all,
    amax,
    amin,
    any,
    argmax,
    argmin,
    count_nonzero,
    cumprod,
    cumsum,
    logsumexp,
    max,
    mean,
    min,
    nansum,
    norm,
    prod,
    return_types,
    std,
    std_mean,
    sum,
    var,
    var_mean,
)
from .rnn_cell import lstm_cell  # noqa: F401
from .sorting import (  # noqa: F401
    argsort, cummax, cummin, kthvalue, logcumsumexp, median, mode, msort, nanmedian, nanquantile,
    quantile, sort, topk,
)
from .special_functions import (  # noqa: F401
    digamma, erfc, erfinv, i0, lgamma, logit, mvlgamma, polygamma, sinc, xlogy,
)
from .shape import (  # noqa: F401
    T,
    atleast_1d,
    atleast_2d,
    broadcast_shapes,
    broadcast_tensors,
    broadcast_to,
    cat,
    chunk,
    clone,
    concat,
    concatenate,
    contiguous,
    expand,
    expand_as,
    flatten,
    flip,
    fliplr,
    flipud,
    hstack,
    meshgrid,
    movedim,
    mT,
    narrow,
    pad,
    permute,
    repeat,
    repeat_interleave,
    reshape,
    reshape_as,
    roll,
    split,
    squeeze,
    stack,
    sum_to,
    swapaxes,
    swapdims,
    t,
    tile,
    transpose,
    unbind,
    unflatten,
    unsqueeze,
    view,
    view_as,
    vstack,
)

# Backward compatible spellings PyTorch also accepts.
absolute = abs
arccos, arcsin, arctan = acos, asin, atan
multiply, subtract, divide, true_divide, negative = mul, sub, div, div, neg

__all__ = sorted(
    name
    for name, value in list(globals().items())
    if not name.startswith("_")
    and not isinstance(value, type(fail.__globals__["np"]))  # no submodules
    and name not in ("annotations", "PRIMITIVES", "Primitive", "apply", "fail")
)
