"""The lowering table: one entry per op-table primitive, each an ONNX node builder.

``LOWERINGS[name](b, n)`` emits the ONNX nodes for IR node ``n`` (a call of the primitive
``name``) through the builder ``b`` and returns the name of the value that holds ``n``'s
result, with the shape and dtype of the primitive's forward.  The builders live next door
(``_elementwise.py``, ``_shape.py``); a primitive missing here is an export error naming it.
"""

from __future__ import annotations

from . import _elementwise as E
from . import _rnn as R
from . import _shape as S

__all__ = ["LOWERINGS"]

LOWERINGS: dict[str, E.Lowering] = {
    # elementwise, one ONNX op each
    "Abs": E.unary("Abs"),
    "Neg": E.unary("Neg"),
    "Exp": E.unary("Exp"),
    "Log": E.unary("Log"),
    "Sqrt": E.unary("Sqrt"),
    "Reciprocal": E.unary("Reciprocal"),
    "Sin": E.unary("Sin"),
    "Cos": E.unary("Cos"),
    "Tan": E.unary("Tan"),
    "Asin": E.unary("Asin"),
    "Acos": E.unary("Acos"),
    "Atan": E.unary("Atan"),
    "Sinh": E.unary("Sinh"),
    "Cosh": E.unary("Cosh"),
    "Asinh": E.unary("Asinh"),
    "Acosh": E.unary("Acosh"),
    "Atanh": E.unary("Atanh"),
    "Tanh": E.unary("Tanh"),
    "Sigmoid": E.unary("Sigmoid"),
    "Relu": E.unary("Relu"),
    "Erf": E.unary("Erf"),
    "Floor": E.unary("Floor"),
    "Ceil": E.unary("Ceil"),
    "Round": E.unary("Round"),  # both round half to even
    "Sign": E.unary("Sign"),
    "Clone": E.unary("Identity"),
    "Add": E.binary("Add"),
    "Sub": E.binary("Sub"),
    "Mul": E.binary("Mul"),
    "Div": E.binary("Div"),
    "Pow": E.binary("Pow"),
    "Maximum": E.binary("Max"),
    "Minimum": E.binary("Min"),
    "Eq": E.compare("Equal"),
    "Ne": E.compare("Equal", negate=True),
    "Lt": E.compare("Less"),
    "Le": E.compare("LessOrEqual"),
    "Gt": E.compare("Greater"),
    "Ge": E.compare("GreaterOrEqual"),
    "LogicalAnd": E.logical("And"),
    "LogicalOr": E.logical("Or"),
    "LogicalXor": E.logical("Xor"),
    "LogicalNot": E.logical("Not"),
    "BitwiseAnd": E.bitwise("And"),
    "BitwiseOr": E.bitwise("Or"),
    "BitwiseXor": E.bitwise("Xor"),
    "BitwiseNot": E.bitwise_not,
    "Isnan": E.isnan,
    "Isinf": E.isinf,
    "Isfinite": E.isfinite,
    "Where": E.where,
    "To": E.cast,
    # elementwise, composed
    "Rsqrt": E.rsqrt,
    "Expm1": E.expm1,
    "Log1p": E.log1p,
    "Trunc": E.trunc,
    "Gelu": E.gelu,
    "LeakyRelu": E.leaky_relu,
    "Softplus": E.softplus,
    "Clamp": E.clamp,
    "Remainder": E.remainder,
    "FloorDivide": E.floor_divide,
    "Logaddexp": E.logaddexp,
    "Xlogy": E.xlogy,
    "Hypot": E.hypot,
    # reductions and normalisers
    "Sum": E.reduce("ReduceSum"),
    "Prod": E.reduce("ReduceProd"),
    "Max": E.reduce("ReduceMax"),
    "Amax": E.reduce("ReduceMax"),
    "Min": E.reduce("ReduceMin"),
    "Amin": E.reduce("ReduceMin"),
    "Logsumexp": E.reduce("ReduceLogSumExp"),
    "Norm": E.reduce("ReduceL2"),
    "All": E.all_any("ReduceMin"),
    "Any": E.all_any("ReduceMax"),
    "Argmax": E.arg_reduce("ArgMax"),
    "Argmin": E.arg_reduce("ArgMin"),
    "Cumsum": E.cumsum,
    "Softmax": E.softmax("Softmax"),
    "LogSoftmax": E.softmax("LogSoftmax"),
    # products
    "Mm": E.matmul,
    "Bmm": E.matmul,
    "Mv": E.matmul,
    "Dot": E.matmul,
    "Matmul": E.matmul,
    "Linear": E.linear,
    "LinearNoBias": E.linear,
    "Einsum": E.einsum,
    # shapes
    "View": S.view,
    "Squeeze": S.view,
    "SqueezeDim": S.view,
    "SqueezeDims": S.view,
    "Unsqueeze": S.view,
    "Expand": S.expand,
    "Transpose": S.permute,
    "Permute": S.permute,
    "T": S.permute,
    "Cat": S.cat,
    "Repeat": S.repeat,
    "Flip": S.flip,
    "ConstantPadNd": S.pad,
    # indexing: x[idx] in its forms, and torch.gather
    "Alias": S.getitem,
    "Index": S.getitem,
    "Select": S.getitem,
    "IndexCopy": S.getitem,  # advanced indexing (an embedding's lookup)
    "IndexUnsqueeze": S.getitem,
    "Split": S.getitem,
    "SplitWithSizes": S.getitem,
    "Unbind": S.getitem,
    "Gather": S.gather,
    "IndexBounds": E.unary("Identity"),  # the range check of an index tensor (ONNX has none)
    # neural-network primitives
    "Convolution": S.conv,
    "ConvolutionInputGrad": S.conv_transpose,  # the transposed-convolution layers' forward
    "MaxPoolIndex": S.max_pool_index,
    "Sort": S.sort,
    "LstmCell": S.lstm_cell,
    "LstmLayer": R.lstm_layer,  # whole recurrent layers: the time loop unrolled (onnx/_rnn.py)
    "LstmLayerProj": R.lstm_layer,
    "GruLayer": R.gru_layer,
    "NllLoss": S.cross_entropy,
}
