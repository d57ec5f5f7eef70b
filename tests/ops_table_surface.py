"""Op-table cases for the rest of PyTorch's public names (appended at the end of
``ops_table.CASES``): the compositions in ``_tensor_functions_extra``/``_shape``,
``_torch_nn_functions``, ``linalg._extra``, ``_fft_hermitian`` and ``_stft``, and the primitives
of ``ops/elementwise_extra.py``.  Their predicates, integer results and factories are compared
with PyTorch in ``tests/test_public_names_values.py``.
"""

from __future__ import annotations

from typing import Any

from ops_table import A, C, D, I, K, P
from ops_table_linalg import tall, wc


def _ints(T: Any, x: Any, scale: int = 10) -> Any:
    return (x * scale).round().long()


def _frames(T: Any, x: Any, w: Any, **kw: Any) -> Any:
    return T.view_as_real(T.stft(x, 8, hop_length=2, window=w, return_complex=True, **kw))


def _istft(T: Any, x: Any, y: Any, w: Any, **kw: Any) -> Any:
    return T.istft(T.complex(x, y), 8, hop_length=2, window=w, **kw)


def WIN() -> A:
    """A window (positive: istft divides by its overlap-added square); a constant, as usual."""
    return A((8,), 0.2, 1.0, grad=False)


def _vander(T: Any, x: Any, n: Any, increasing: bool) -> Any:
    """PyTorch's vander values through pow (its own vander's backward fails); other ranks go to
    its vander, so that refusals are its own."""
    if x.dim() != 1:
        return T.vander(x, n, increasing)
    powers = T.arange(x.shape[0] if n is None else n, dtype=x.dtype)
    return x.unsqueeze(-1) ** (powers if increasing else powers.flip(0))


def _rnn_weights(h: int, i: int, gates: int) -> tuple:
    return A((gates * h, i)), A((gates * h, h)), A((gates * h,)), A((gates * h,))


CASES = [
    # ------------------------------------------------------ elementwise (primitives)
    C("nextafter", lambda T, x, y: T.nextafter(x, y), A((3, 4)), A((4,))),
    C("frexp", lambda T, x: T.frexp(x * 5).mantissa, A((2, 5), -1, 1, away=0.05)),
    C(
        "gcd",
        lambda T, x, y: T.gcd(_ints(T, x), _ints(T, y)),
        A((3, 4), grad=False),
        A((4,), grad=False),
        grad=False,
    ),
    C(
        "lcm",
        lambda T, x, y: T.lcm(_ints(T, x), _ints(T, y)),
        A((2, 3), grad=False),
        A((2, 3), grad=False),
        grad=False,
    ),
    C(
        "bitwise_left_shift",
        lambda T, x, n: T.bitwise_left_shift(_ints(T, x), n),
        A((3, 4), grad=False),
        I(5, (4,)),
        grad=False,
    ),
    C(
        "bitwise_right_shift",
        lambda T, x, n: _ints(T, x, 100) >> n,
        A((2, 3), grad=False),
        I(4, (3,)),
        grad=False,
    ),
    # ------------------------------------------------------ elementwise (compositions)
    C("fmax", lambda T, x, y: T.fmax(x, y), D((3, 4)), D((4,))),
    C("fmin", lambda T, x, y: T.fmin(x, y), D((2, 3)), D((2, 3))),
    C("float_power", lambda T, x, y: T.float_power(x, y), P(3, 2), A((2,))),
    C("float_power", lambda T, x: T.float_power(x, 3), A((4,))),
    C("ldexp", lambda T, x, n: T.ldexp(x, n), A((3, 4)), I(4, (4,))),
    C("hardshrink", lambda T, x: T.hardshrink(x, 0.3), A((3, 4), away=0.35)),
    C("igamma", lambda T, a, x: T.igamma(a, x), A((3, 4), 0.5, 2.0, grad=False), P(3, 4)),
    C("igammac", lambda T, a, x: T.igammac(a, x), A((4,), 0.5, 2.0, grad=False), P(2, 4)),
    C("deg2rad", lambda T, x: T.deg2rad(x) * T.rad2deg(x), A((3, 4))),
    C("positive", lambda T, x: T.positive(x) * x.fix(), A((5,), -2, 2, away=0.05)),
    C("clamp_min", lambda T, x: T.clamp_min(x, 0.2) + T.clamp_max(x, -0.1), A((6,), away=0.25)),
    C("rsub", lambda T, x, y: T.rsub(x, y, alpha=2), A((3, 4)), A((4,))),
    # ---------------------------------------------------------- reductions, statistics
    C("nanmean", lambda T, x: T.nanmean(x.log(), 1), A((3, 5), -0.5, 1.0, away=0.05)),
    C("nanmean", lambda T, x: T.nanmean(x, keepdim=True), A((2, 3))),
    C("aminmax", lambda T, x: T.aminmax(x, dim=1), D((3, 4))),
    C("aminmax", lambda T, x: T.aminmax(x), D((2, 3))),
    C("cov", lambda T, x: T.cov(x), A((3, 6))),
    C(
        "cov",
        lambda T, x, f, w: T.cov(x, correction=0, fweights=f.long() + 1, aweights=w),
        A((2, 5)),
        I(3, (5,)),
        P(5),
    ),
    C("corrcoef", lambda T, x: T.corrcoef(x), A((3, 6))),
    C("dist", lambda T, x, y: T.dist(x, y), A((3, 4)), A((4,))),
    C("dist", lambda T, x, y: T.dist(x, y, 3), A((2, 3)), A((2, 3))),
    C("renorm", lambda T, x: T.renorm(x, 2, 0, 1.0), A((3, 4), -2, 2)),
    C("frobenius_norm", lambda T, x: T.frobenius_norm(x, (0, 1)), A((3, 4))),
    C("nuclear_norm", lambda T, x: T.nuclear_norm(tall(T, x)), A((4, 3))),
    # ------------------------------------------------------------------ matrices
    C("addr", lambda T, x, u, v: T.addr(x, u, v, beta=0.5, alpha=2), A((3, 4)), A((3,)), A((4,))),
    C("adjoint", lambda T, x: T.adjoint(x) * x.mH, A((2, 3, 3))),
    # (PyTorch's own vander backward fails, "modified by an inplace operation": compared with linalg.vander)
    C("vander", lambda T, x: T.vander(x, 4), A((3,)), ref=lambda T, x: _vander(T, x, 4, False)),
    C(
        "vander",
        lambda T, x: T.vander(x, increasing=True),
        A((4,)),
        ref=lambda T, x: _vander(T, x, None, True),
    ),
    C("trapezoid", lambda T, y: T.trapezoid(y), A((3, 5))),
    C("trapezoid", lambda T, y, x: T.trapezoid(y, x, dim=0), A((4, 2)), A((4,))),
    C("trapz", lambda T, y: T.trapz(y, dx=0.5), A((5,))),
    C("cumulative_trapezoid", lambda T, y, x: T.cumulative_trapezoid(y, x), A((2, 5)), A((2, 5))),
    C("gradient", lambda T, y: T.gradient(y), A((3, 5))),
    C("gradient", lambda T, y: T.gradient(y, spacing=[0.5, 2.0], edge_order=2), A((4, 5))),
    C("gradient", lambda T, y, c: T.gradient(y, spacing=(c.cumsum(0),), dim=1), A((2, 5)), P(5)),
    C(
        "gradient",
        lambda T, y, c: T.gradient(y, spacing=(c.cumsum(0),), dim=0, edge_order=2),
        A((4, 2)),
        P(4),
    ),
    # ---------------------------------------------------------------------- shapes
    C("moveaxis", lambda T, x: T.moveaxis(x, 0, -1).ravel(), A((2, 3, 4))),
    C("column_stack", lambda T, x, y, z: T.column_stack([x, y, z]), A((3,)), A((3, 2)), A((3,))),
    C("dstack", lambda T, x, y: T.dstack([x, y]), A((2, 3)), A((2, 3, 2))),
    C("row_stack", lambda T, x, y: T.row_stack([x, y]), A((3,)), A((2, 3))),
    C("atleast_3d", lambda T, x, y: T.atleast_3d(x, y), A(()), A((3,))),
    C("tensor_split", lambda T, x: T.tensor_split(x, 3, dim=1), A((2, 7))),
    C("tensor_split", lambda T, x: T.tensor_split(x, [1, -2, 9]), A((6, 2))),
    C("hsplit", lambda T, x: T.hsplit(x, 2) + T.vsplit(x, [1]), A((2, 4))),
    C("dsplit", lambda T, x: x.dsplit([1, 3]), A((2, 2, 4))),
    C("split_with_sizes", lambda T, x: x.split_with_sizes([1, 3], 1), A((2, 4))),
    C("unsafe_split", lambda T, x: T.unsafe_split(x, 2) + T.unsafe_chunk(x, 2, 1), A((5, 4))),
    C("slice_scatter", lambda T, x, s: T.slice_scatter(x, s, 1, 1, 5, 2), A((3, 6)), A((3, 2))),
    C("select_scatter", lambda T, x, s: T.select_scatter(x, s, 0, -1), A((3, 4)), A((4,))),
    C("diagonal_scatter", lambda T, x, s: T.diagonal_scatter(x, s, 1), A((3, 4)), A((3,))),
    C("diagonal_scatter", lambda T, x, s: T.diagonal_scatter(x, s, -1, 0, 2), A((3, 2, 3)), A((2, 2))),
    # (PyTorch 2.13's as_strided_scatter gives x the gradient of the overwritten elements, the
    # complement of the true one: compared with the same write made by index_put)
    C(
        "as_strided_scatter",
        lambda T, x, s: T.as_strided_scatter(x, s, (2, 2), (1, 3), 1),
        A((3, 4)),
        A((2, 2)),
        ref=lambda T, x, s: x.flatten().index_put((T.tensor([1, 4, 2, 5]),), s.flatten()).reshape(3, 4),
    ),
    C("put", lambda T, x, s: x.put(T.tensor([0, -1, 5]), s), A((3, 4)), A((3,))),
    C("put", lambda T, x, s: T.put(x, T.tensor([[1, 1], [2, 7]]), s, accumulate=True), A((2, 4)), A((2, 2))),
    C(
        "index_reduce",
        lambda T, x, s: x.index_reduce(0, T.tensor([0, 2, 0]), s, "prod"),
        A((3, 2)),
        A((3, 2)),
    ),
    C(
        "index_reduce",
        lambda T, x, s: x.index_reduce(1, T.tensor([1, 0, 1]), s, "mean", include_self=False),
        A((2, 3)),
        A((2, 3)),
    ),
    C("fill", lambda T, x, v: T.fill(x, v) * x, A((2, 3)), A(())),
    C("view_copy", lambda T, x: T.view_copy(x, (3, 4)) + T.t_copy(x).T.reshape(3, 4), A((4, 3))),
    C("diagonal_copy", lambda T, x: T.diagonal_copy(x, 1), A((3, 4))),
    C("select_copy", lambda T, x: T.select_copy(x, 0, 1), A((3, 4))),
    C("split_copy", lambda T, x: T.split_copy(x, 2) + T.unbind_copy(x, 1), A((3, 2))),
    C(
        "unfold_copy",
        lambda T, x: (T.unfold_copy(x, 0, 2, 1), T.expand_copy(x[:1, None], (2, 2, 3))),
        A((3, 3)),
    ),
    C("slice_copy", lambda T, x: T.slice_copy(x, 1, 1, None, 2), A((2, 4))),
    C("narrow_copy", lambda T, x: T.narrow_copy(x, 1, 1, 2), A((2, 4))),
    C("permute_copy", lambda T, x: T.permute_copy(x, (2, 0, 1)) + T.transpose_copy(x, 0, 2).mT, A((2, 3, 3))),
    # ------------------------------------------------------------- linear algebra
    C("householder_product", lambda T, x, t: T.linalg.householder_product(x, t), A((4, 3)), A((2,))),
    C("householder_product", lambda T, x, t: T.orgqr(x, t), A((2, 3, 3)), A((2, 3))),
    C("ormqr", lambda T, x, t, c: T.ormqr(x, t, c), A((3, 2)), A((2,)), A((3, 2))),
    C(
        "ormqr",
        lambda T, x, t, c: T.ormqr(x, t, c, left=False, transpose=True),
        A((3, 3)),
        A((3,)),
        A((2, 3)),
    ),
    C("tensorinv", lambda T, x: T.linalg.tensorinv(x, 2), A((2, 2, 4))),
    C("tensorsolve", lambda T, x, b: T.linalg.tensorsolve(x, b), A((2, 3, 6)), A((2, 3))),
    C("lu_unpack", lambda T, x, p: T.lu_unpack(x, p.int()), A((3, 3)), I(3, (3,), values=[2, 3, 3])),
    C(
        "lu_unpack",
        lambda T, x, p: T.lu_unpack(x, p.int())[1:],
        A((2, 3, 4)),
        I(3, (2, 3), values=[[1, 2, 3], [3, 3, 3]]),
    ),
    C("lu_solve", lambda T, x, b: T.lu_solve(b, *T.linalg.lu_factor(wc(T, x))), A((3, 3)), A((3, 2))),
    C("triangular_solve", lambda T, b, x: T.triangular_solve(b, wc(T, x).triu()), A((3, 2)), A((3, 3))),
    C(
        "triangular_solve",
        lambda T, b, x: T.triangular_solve(
            b, wc(T, x).tril(), upper=False, transpose=True, unitriangular=True
        ),
        A((3, 2)),
        A((3, 3)),
    ),
    # ------------------------------------------------------------------ transforms
    # (no batch dims: PyTorch's CPU FFT refuses an empty batch, which the empty-input sweep makes)
    C("hfftn", lambda T, x, y: T.fft.hfftn(T.complex(x, y)), A((3, 4)), A((3, 4))),
    C("hfft2", lambda T, x, y: T.fft.hfft2(T.complex(x, y), s=(3, 4), norm="ortho"), A((3, 3)), A((3, 3))),
    C("ihfftn", lambda T, x: T.view_as_real(T.fft.ihfftn(x, dim=(0, 1), norm="forward")), A((3, 4))),
    C("ihfft2", lambda T, x: T.view_as_real(T.fft.ihfft2(x)), A((3, 4))),
    C("stft", lambda T, x, w: _frames(T, x, w), A((16,)), WIN()),
    C("stft", lambda T, x, w: _frames(T, x, w, center=False, normalized=True), A((12,)), WIN()),
    C("istft", lambda T, x, y, w: _istft(T, x, y, w), A((5, 9)), A((5, 9)), WIN()),
    C("istft", lambda T, x, y, w: _istft(T, x, y, w, length=14), A((5, 6)), A((5, 6)), WIN()),
    # ---------------------------------------------------------------- torch.<nn name>
    # (the names that only forward to nn.functional -- batch_norm, embedding, conv3d, the pools, ...
    # -- are compared with PyTorch in test_public_names_values.py: the empty-input sweep here would
    # test nn.functional's own handling of empty shapes, which differs from PyTorch's in places)
    C("layer_norm", lambda T, x, w, b: T.layer_norm(x, (4,), w, b), A((3, 4)), A((4,)), A((4,))),
    C("rms_norm", lambda T, x, w: T.rms_norm(x, [3, 4], w), A((2, 3, 4)), A((3, 4))),
    C("rms_norm", lambda T, x: T.rms_norm(x, [4], eps=1e-3), A((3, 4))),
    C(
        "binary_cross_entropy_with_logits",
        lambda T, x, t: T.binary_cross_entropy_with_logits(x, t, None, None, 2),
        A((3, 4)),
        A((3, 4), 0, 1, grad=False),
    ),
    C(
        "cosine_embedding_loss",
        lambda T, x, y, t: T.cosine_embedding_loss(x, y, t.double() * 2 - 1, 0.1),
        A((4, 3)),
        A((4, 3)),
        I(2, (4,)),
    ),
    C(
        "hinge_embedding_loss",
        lambda T, x, t: T.hinge_embedding_loss(x, t.double() * 2 - 1, 0.5, 0),
        A((3, 4), away=0.05),
        I(2, (3, 4)),
    ),
    C("kl_div", lambda T, x, t: T.kl_div(x, t, 2), A((3, 4)), P(3, 4)),
    C("kl_div", lambda T, x, t: T.kl_div(x, t, log_target=True), A((3, 4)), A((3, 4))),
    C(
        "margin_ranking_loss",
        lambda T, x, y, t: T.margin_ranking_loss(x, y, t.double() * 2 - 1, 0.2, 1),
        A((6,)),
        A((6,)),
        I(2, (6,)),
    ),
    C("poisson_nll_loss", lambda T, x, t: T.poisson_nll_loss(x, t, True, True, 1e-8, 1), A((3, 4)), P(3, 4)),
    C("cosine_similarity", lambda T, x, y: T.cosine_similarity(x, y, 0), A((3, 4)), A((3, 1))),
    C("pairwise_distance", lambda T, x, y: T.pairwise_distance(x, y), A((3, 4)), A((3, 4))),
    # (PyTorch 2.13's pdist crashes the process on an empty batch of rows, the empty-input sweep's
    # variant: compared with PyTorch, values and gradients, in test_public_names_values.py instead)
    C("pdist", lambda T, x: T.pdist(x), A((4, 3)), torch=False),
    C("pdist", lambda T, x: T.pdist(x, 1.5), A((3, 2)), torch=False),
    C("prelu", lambda T, x, w: T.prelu(x, w), K(2, 3, 4), A((3,))),
    C("celu", lambda T, x: T.celu(x, 0.7) + T.selu(x), K(3, 4)),
    C("rrelu", lambda T, x: T.rrelu(x), K(3, 4)),
    C("threshold", lambda T, x: T.threshold(x, 0.1, -2.0), A((3, 4), away=0.15)),
    C(
        "conv_transpose3d",
        lambda T, x, w, b: T.conv_transpose3d(
            x, w, b, stride=(2, 1, 1), padding=(1, 0, 1), output_padding=(1, 0, 0)
        ),
        A((1, 2, 2, 3, 2)),
        A((2, 3, 3, 2, 2)),
        A((3,)),
    ),
    C("constant_pad_nd", lambda T, x: T.constant_pad_nd(x, (1, 2, 0, 1), 0.5), A((2, 3))),
    C("max_pool3d", lambda T, x: T.max_pool3d(x, 2), D((1, 1, 4, 4, 2))),
    C("gru_cell", lambda T, x, h, *w: T.gru_cell(x, h, *w), A((2, 3)), A((2, 4)), *_rnn_weights(4, 3, 3)),
    C(
        "rnn_tanh_cell",
        lambda T, x, h, *w: T.rnn_tanh_cell(x, h, *w),
        A((2, 3)),
        A((2, 4)),
        *_rnn_weights(4, 3, 1),
    ),
    C(
        "rnn_relu_cell",
        lambda T, x, h, wi, wh: T.rnn_relu_cell(x, h, wi, wh),
        A((2, 3)),
        A((2, 4)),
        A((4, 3)),
        A((4, 4)),
    ),
    # (sizes all distinct, so that each of the empty-input sweep's variants empties one of them)
    C(
        "lstm",
        lambda T, x, h, c, *w: T.lstm(x, [h, c], list(w), True, 1, 0.0, False, False, False),
        A((4, 2, 3)),
        A((1, 2, 5)),
        A((1, 2, 5)),
        *_rnn_weights(5, 3, 4),
    ),
    C(
        "gru",
        lambda T, x, h, *w: T.gru(x, h, list(w), False, 1, 0.0, False, True, True),
        A((6, 4, 3)),
        A((2, 6, 5)),
        A((15, 3)),
        A((15, 5)),
        A((15, 3)),
        A((15, 5)),
    ),
    C(
        "rnn_tanh",
        lambda T, x, h, *w: T.rnn_tanh(x, h, list(w), True, 1, 0.0, False, False, False),
        A((4, 2, 3)),
        A((1, 2, 5)),
        *_rnn_weights(5, 3, 1),
    ),
]
