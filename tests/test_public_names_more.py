"""More of the public names added for tests/test_public_names.py, against PyTorch 2.13: the in-place
forms, shapes and tensor queries, the ATen-signature nn functions (values and gradients), linear
algebra (geqrf, LDL), factories over memory, samplers, settings, Muon."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from reference import need_torch
from test_public_names_values import _both, _same

import chainrule as cr

torch = need_torch()
RNG = np.random.default_rng(7)


# ----------------------------------------------------------------- in-place forms
# (name, args) for x.<name>_(*args) and torch.<name>_(x, *args): the in-place form equals the
# out-of-place one, returns x itself and bumps its version
INPLACE = [
    ("acos", ()),
    ("asin", ()),
    ("atan", ()),
    ("arccos", ()),
    ("arcsin", ()),
    ("arctan", ()),
    ("cosh", ()),
    ("sinh", ()),
    ("tan", ()),
    ("log2", ()),
    ("log10", ()),
    ("absolute", ()),
    ("negative", ()),
    ("sgn", ()),
    ("fix", ()),
    ("deg2rad", ()),
    ("rad2deg", ()),
    ("cumsum", (1,)),
    ("true_divide", (2.0,)),
    ("clamp_min", (0.0,)),
    ("clamp_max", (0.5,)),
    ("eq", (0.5,)),
    ("ne", (0.5,)),
    ("lt", (0.5,)),
    ("le", (0.5,)),
    ("gt", (0.5,)),
    ("ge", (0.5,)),
    ("greater", (0.5,)),
    ("greater_equal", (0.5,)),
    ("less", (0.5,)),
    ("less_equal", (0.5,)),
    ("not_equal", (0.5,)),
    ("logical_not", ()),
    ("heaviside", ("T",)),
    ("nextafter", ("T",)),
    ("igamma", ("T",)),
    ("igammac", ("T",)),
    ("renorm", (2, 0, 1.0)),
    ("ldexp", ("I",)),
    ("conj_physical", ()),
    ("hypot", ("T",)),
]
TOP_INPLACE = [
    "abs",
    "acos",
    "acosh",
    "asin",
    "asinh",
    "atan",
    "atanh",
    "arccos",
    "arccosh",
    "arcsin",
    "arcsinh",
    "arctan",
    "arctanh",
    "ceil",
    "cos",
    "cosh",
    "deg2rad",
    "rad2deg",
    "erf",
    "erfc",
    "exp",
    "exp2",
    "expm1",
    "fix",
    "floor",
    "frac",
    "i0",
    "log",
    "log10",
    "log1p",
    "log2",
    "neg",
    "negative",
    "reciprocal",
    "round",
    "rsqrt",
    "sigmoid",
    "sin",
    "sinc",
    "sinh",
    "sqrt",
    "square",
    "tan",
    "tanh",
    "trunc",
    "zero",
    "relu",
    "selu",
    "celu",
    "nan_to_num",
    "logit",
    "detach",
]


def _arg(a, like):
    if a == "T":
        v = RNG.uniform(0.5, 1.5, like.shape)
        return cr.tensor(v), torch.tensor(v)
    if a == "I":
        v = RNG.integers(-2, 3, like.shape)
        return cr.tensor(v), torch.tensor(v)
    return a, a


@pytest.mark.parametrize("name,args", INPLACE, ids=[n for n, _ in INPLACE])
def test_inplace_methods(name, args) -> None:
    x = RNG.uniform(0.1, 0.9, (3, 4))
    c, t = _both(x)
    pairs = [_arg(a, x) for a in args]
    cargs, targs = [p[0] for p in pairs], [p[1] for p in pairs]
    out = getattr(c, name + "_")(*cargs)
    assert out is c and c._version == 1
    _same(c, getattr(t, name + "_")(*targs))


def test_inplace_method_records_gradients_of_both_operands() -> None:
    x, y = RNG.uniform(0.5, 1.5, (2, 3)), RNG.uniform(0.5, 1.5, (2, 3))
    for lib in (cr, torch):
        a, b = lib.tensor(x, requires_grad=True), lib.tensor(y, requires_grad=True)
        z = a * 1.0
        z.hypot_(b)
        (z * z).sum().backward()
        if lib is cr:
            ours = (a.grad.numpy(), b.grad.numpy())
        else:
            np.testing.assert_allclose(ours[0], a.grad.numpy())
            np.testing.assert_allclose(ours[1], b.grad.numpy())


# x.<name>_(*args) with tensor arguments: (name, argument shapes)
INPLACE_GRAD = [
    ("clamp_min", [(2, 3)]),
    ("clamp_max", [(3,)]),
    ("ldexp", [(2, 3)]),
    ("float_power", [(2, 3)]),
    ("addr", [(2,), (3,)]),
    ("renorm", []),
    ("arctan", []),
]


@pytest.mark.parametrize("self_grad", [True, False], ids=["self-grad", "args-only"])
@pytest.mark.parametrize("name,shapes", INPLACE_GRAD, ids=[n for n, _ in INPLACE_GRAD])
def test_inplace_method_gradients(name, shapes, self_grad) -> None:
    """Gradients through the in-place form to self and to tensor arguments (also when only an
    argument requires grad), against PyTorch at random points."""
    x = RNG.uniform(0.5, 1.5, (2, 3))
    vals = [RNG.uniform(0.5, 1.5, s) for s in shapes]
    extra = (2, 0, 1.0) if name == "renorm" else ()
    got = []
    for lib in (cr, torch):
        a = lib.tensor(x, requires_grad=self_grad)
        args = [lib.tensor(v, requires_grad=True) for v in vals]
        z = a * 1.0
        getattr(z, name + "_")(*args, *extra)
        if not z.requires_grad:
            got.append([z.detach().numpy()])
            continue
        (z * z).sum().backward()
        grads = [t.grad.numpy() for t in ([a] if self_grad else []) + args]
        got.append([z.detach().numpy(), *grads])
    assert len(got[0]) == len(got[1])
    for ours, ref in zip(*got):
        np.testing.assert_allclose(ours, ref, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("name", TOP_INPLACE)
def test_top_level_inplace_functions(name) -> None:
    x = RNG.uniform(0.1, 0.9, (2, 3))
    c, t = _both(x)
    assert getattr(cr, name + "_")(c) is c
    _same(c, getattr(torch, name + "_")(t))


def test_inplace_refuses_a_result_its_dtype_cannot_hold() -> None:
    with pytest.raises(RuntimeError):
        torch.tensor([1, 2]).deg2rad_()
    with pytest.raises(RuntimeError, match="deg2rad_"):
        cr.tensor([1, 2]).deg2rad_()
    with pytest.raises(RuntimeError):
        torch.tensor([1.0]).float_power_(2)
    with pytest.raises(RuntimeError, match="Double"):
        cr.tensor([1.0]).float_power_(2)
    c, t = _both(np.array([1.5, 2.0]))
    _same(c.float_power_(2), t.float_power_(2))


def test_fill_diagonal_and_random_fills() -> None:
    for shape, wrap in (
        ((3, 3), False),
        ((7, 3), True),
        ((7, 3), False),
        ((2, 5), False),
        ((3, 3, 3), False),
    ):
        c, t = _both(np.zeros(shape))
        _same(c.fill_diagonal_(2.5, wrap), t.fill_diagonal_(2.5, wrap))
    cr.manual_seed(0)
    x = cr.empty(20000, dtype=cr.float64)
    assert abs(float(x.cauchy_(1.0, 2.0).median()) - 1.0) < 0.1
    g = x.geometric_(0.25)
    assert float(g.min()) >= 1 and abs(float(g.mean()) - 4.0) < 0.15
    ln = x.log_normal_(0.5, 0.3)
    assert abs(float(ln.log().mean()) - 0.5) < 0.02 and abs(float(ln.log().std()) - 0.3) < 0.02


def test_map_and_map2() -> None:
    got = []
    for lib in (cr, torch):
        a = lib.tensor([1.0, 2.0, 3.0])
        a.map_(lib.tensor([10.0]), lambda u, v: u * v + 1)
        b2 = lib.zeros(2, 3)
        b2.map2_(lib.tensor([[1.0], [2.0]]), lib.tensor([1.0, 2.0, 3.0]), lambda s, u, v: s + u - v)
        got.append((a.numpy(), b2.numpy()))
    np.testing.assert_array_equal(got[0][0], got[1][0])
    np.testing.assert_array_equal(got[0][1], got[1][1])


# ----------------------------------------------------------------------- shapes
def test_splits_and_stacks() -> None:
    x = RNG.standard_normal((4, 6, 2))
    c, t = _both(x)
    for spec in (3, [1, 4], [-2], [0, 0, 9], torch.tensor(2), torch.tensor([1, 3])):
        cspec = cr.tensor(spec.numpy()) if isinstance(spec, torch.Tensor) else spec
        _same(cr.tensor_split(c, cspec, 1), torch.tensor_split(t, spec, 1))
    for name, spec in (("hsplit", 2), ("hsplit", [1, 5]), ("vsplit", 4), ("dsplit", [1])):
        _same(getattr(cr, name)(c, spec), getattr(torch, name)(t, spec))
    with pytest.raises(RuntimeError):
        torch.hsplit(t, 4)
    with pytest.raises(RuntimeError, match="divisible"):
        cr.hsplit(c, 4)
    with pytest.raises(RuntimeError):
        torch.dsplit(torch.zeros(2, 2), 1)
    with pytest.raises(RuntimeError, match="dsplit"):
        cr.dsplit(cr.zeros(2, 2), 1)
    a, b = RNG.standard_normal(3), RNG.standard_normal((3, 2))
    _same(
        cr.column_stack([cr.tensor(a), cr.tensor(b)]), torch.column_stack([torch.tensor(a), torch.tensor(b)])
    )
    _same(cr.dstack([cr.tensor(a), cr.tensor(a)]), torch.dstack([torch.tensor(a), torch.tensor(a)]))
    _same(cr.atleast_3d(cr.tensor(1.0)), torch.atleast_3d(torch.tensor(1.0)))
    _same(cr.atleast_3d([cr.tensor(a), cr.tensor(b)]), torch.atleast_3d([torch.tensor(a), torch.tensor(b)]))
    _same(cr.unsafe_chunk(c, 4, 2), torch.unsafe_chunk(t, 4, 2))
    _same(cr.unsafe_split_with_sizes(c, [1, 5], 1), torch.unsafe_split_with_sizes(t, [1, 5], 1))


def test_unsafe_split_pieces_take_inplace_writes() -> None:
    """split's pieces refuse an in-place write while autograd records; the unsafe_* pieces take it,
    write through to the input's memory, and the gradient flows through the written piece."""
    x, w = RNG.standard_normal((5, 4)), RNG.standard_normal((5, 4))
    for chop in (
        lambda T, y: T.unsafe_split(y, 2),
        lambda T, y: T.unsafe_chunk(y, 3),
        lambda T, y: T.unsafe_split_with_sizes(y, [3, 2]),
    ):
        got = []
        for T in (cr, torch):
            leaf = T.tensor(x, requires_grad=True)
            y = leaf * 1
            with pytest.raises(RuntimeError):
                T.split(y, 2)[0].mul_(2)
            y = leaf * 1
            first = chop(T, y)[0]
            first.mul_(3)
            n = first.shape[0]
            (first * T.tensor(w[:n])).sum().backward()
            got.append((y.detach().numpy().copy(), leaf.grad.numpy().copy()))
        for a, b in zip(*got):
            np.testing.assert_allclose(a, b, rtol=1e-12)


def test_copies_own_their_memory() -> None:
    x = RNG.standard_normal((3, 4))
    c, t = _both(x)
    for name, args in (
        ("alias_copy", ()),
        ("t_copy", ()),
        ("transpose_copy", (0, 1)),
        ("view_copy", ((4, 3),)),
        ("squeeze_copy", ()),
        ("unsqueeze_copy", (1,)),
        ("diagonal_copy", (0,)),
        ("detach_copy", ()),
        ("as_strided_copy", ((2, 2), (1, 2), 1)),
        ("select_copy", (1, 2)),
        ("expand_copy", ((2, 3, 4),)),
        ("split_with_sizes_copy", ([1, 2],)),
        ("unbind_copy", (1,)),
    ):
        ours = getattr(cr, name)(c, *args)
        _same(ours, getattr(torch, name)(t, *args))
        for o in ours if isinstance(ours, tuple) else (ours,):
            assert not np.shares_memory(o.numpy(), c.numpy()), name
    z = RNG.standard_normal((3, 2))
    _same(
        cr.view_as_real_copy(cr.view_as_complex_copy(cr.tensor(z))),
        torch.view_as_real_copy(torch.view_as_complex_copy(torch.tensor(z))),
    )


def test_tensor_queries() -> None:
    base = np.arange(24.0).reshape(2, 3, 4)
    c, t = _both(base)
    for f in (
        lambda x: x,
        lambda x: x.transpose(0, 2),
        lambda x: x[:, 1:, ::2],
        lambda x: x.expand(5, 2, 3, 4),
        lambda x: x[1],
        lambda x: x.permute(1, 2, 0),
        lambda x: x.unsqueeze(1),
    ):
        co, to = f(c), f(t)
        assert co.stride() == to.stride() and co.storage_offset() == to.storage_offset()
        assert co.dim_order() == to.dim_order() and co.ndimension() == to.ndimension()
        assert co.stride(-1) == to.stride(-1)
    e = cr.empty_permuted((2, 3, 5, 7), (0, 2, 3, 1))
    assert e.stride() == torch.empty_permuted((2, 3, 5, 7), (0, 2, 3, 1)).stride() and e.dim_order() == (
        0,
        2,
        3,
        1,
    )
    s = c.new_empty_strided((2, 3), (1, 2))
    assert s.stride() == (1, 2) and s.dtype == cr.float64
    assert c.new(2, 3).shape == (2, 3) and c.new().shape == (0,) and c.new([1, 2]).dtype == cr.float64
    _same(c.sum_to_size(1, 3, 1), t.sum_to_size(1, 3, 1))
    with pytest.raises(RuntimeError, match="expandable"):
        c.sum_to_size(4, 1)
    assert c.to_dense() is c
    m = RNG.standard_normal((3, 3)) + 1j * RNG.standard_normal((3, 3))
    _same(cr.tensor(m).mH, torch.tensor(m).mH)
    _same(cr.tensor(m).H, torch.tensor(m).H)
    _same(cr.adjoint(cr.tensor(m)), torch.adjoint(torch.tensor(m)))
    with pytest.raises(RuntimeError, match="matrices"):
        _ = cr.zeros(3).H


def test_resize_and_module_load() -> None:
    for lib in (cr, torch):
        a = lib.arange(6.0)
        a.resize_(2, 2)
        b = lib.arange(6.0)
        b.resize_as_(lib.zeros(3, 2))
        big = lib.arange(3.0).resize_(5)
        got = (a.numpy(), b.numpy(), big[:3].numpy(), tuple(big.shape))
        if lib is cr:
            ours = got
    for o, r in zip(ours, got):
        np.testing.assert_array_equal(o, r)
    with pytest.raises(RuntimeError, match="require grad"):
        cr.zeros(2, requires_grad=True).resize_(3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        _same(cr.arange(6.0).resize(2, 3), torch.arange(6.0).resize(2, 3))
    p, v = cr.zeros(3), cr.ones(3)
    out = p.module_load(v)
    assert out is not p and out is not v and float(p.sum()) == 3.0
    assert p.module_load(v, assign=True).data_ptr() == v.data_ptr()


# ------------------------------------------------------- scatters, put, index_reduce
def test_scatters_put_index_reduce_fill() -> None:
    x = RNG.standard_normal((3, 5))
    c, t = _both(x)
    s = RNG.standard_normal((3, 2))
    _same(cr.slice_scatter(c, cr.tensor(s), 1, 0, 4, 2), torch.slice_scatter(t, torch.tensor(s), 1, 0, 4, 2))
    _same(
        cr.as_strided_scatter(c, cr.tensor(s), (3, 2), (5, 2), 1),
        torch.as_strided_scatter(t, torch.tensor(s), (3, 2), (5, 2), 1),
    )
    idx, src = np.array([0, -1, 7, 7]), RNG.standard_normal(4)
    for acc in (False, True):
        _same(
            cr.put(c, cr.tensor(idx[:3]), cr.tensor(src[:3]), acc),
            torch.put(t, torch.tensor(idx[:3]), torch.tensor(src[:3]), acc),
        )
        cc, tt = c.clone(), t.clone()
        _same(
            cc.put_(cr.tensor(idx), cr.tensor(src), accumulate=True),
            tt.put_(torch.tensor(idx), torch.tensor(src), accumulate=True),
        )
    with pytest.raises(IndexError):
        torch.put(t, torch.tensor([15]), torch.tensor([1.0], dtype=torch.float64))
    with pytest.raises(IndexError, match="put"):
        cr.put(c, cr.tensor([15]), cr.tensor([1.0], dtype=cr.float64))
    with pytest.raises(RuntimeError, match="same dtype"):
        torch.put(t, torch.tensor([1]), torch.tensor([1.0]))
    with pytest.raises(RuntimeError, match="same dtype"):
        cr.put(c, cr.tensor([1]), cr.tensor([1.0]))
    src = RNG.standard_normal((4, 5))
    for red in ("prod", "mean", "amax", "amin"):
        for inc in (True, False):
            _same(
                c.index_reduce(0, cr.tensor([0, 2, 0, 1]), cr.tensor(src), red, include_self=inc),
                t.index_reduce(0, torch.tensor([0, 2, 0, 1]), torch.tensor(src), red, include_self=inc),
            )
    _same(cr.fill(c, 2.5), torch.fill(t, 2.5))
    _same(cr.fill_(c.clone(), cr.tensor(1.5)), torch.fill_(t.clone(), torch.tensor(1.5)))


# ------------------------------------------------------- the ATen-signature nn names
def _grads(fn, *arrays, grads=None):
    """fn's values and the gradients of sum(fn) for both libraries (inputs that are floats require grad)."""
    out = []
    for lib in (cr, torch):
        ins = [
            lib.tensor(a, requires_grad=a.dtype.kind == "f" and (grads is None or i in grads))
            for i, a in enumerate(arrays)
        ]
        res = fn(lib, *ins)
        res = res if isinstance(res, (tuple, list)) else (res,)
        total = sum(
            (r * lib.tensor(np.linspace(-1, 1, r.numel()).reshape(tuple(r.shape)))).sum()
            for r in res
            if r.requires_grad
        )
        if not isinstance(total, int):
            total.backward()
        out.append((res, [i.grad for i in ins if i.requires_grad]))
    return out


def _compare(fn, *arrays, grads=None, tol=1e-9):
    (ours, og), (ref, rg) = _grads(fn, *arrays, grads=grads)
    _same(list(ours), list(ref), rtol=tol, atol=tol)
    _same(og, rg, rtol=tol, atol=tol)


def _a(*shape, low=-1.0, high=1.0):
    return RNG.uniform(low, high, shape)


NN = {
    "group_norm": (lambda T, x, w, b: T.group_norm(x, 2, w, b, 1e-5, True), (_a(2, 4, 3), _a(4), _a(4))),
    "batch_norm": (
        lambda T, x, w, b, m, v: T.batch_norm(x, w, b, m, v, False, 0.1, 1e-5, True),
        (_a(4, 3, 2), _a(3), _a(3), _a(3), _a(3, low=0.5, high=1.5)),
        [0, 1, 2],
    ),
    "instance_norm": (
        lambda T, x, w, b: T.instance_norm(x, w, b, None, None, True, 0.1, 1e-5, True),
        (_a(2, 3, 5), _a(3), _a(3)),
    ),
    "embedding": (lambda T, w, i: T.embedding(w, i, 1), (_a(5, 3), np.array([[0, 1, 4], [1, 1, 2]]))),
    "bilinear": (lambda T, x, y, w, b: T.bilinear(x, y, w, b), (_a(2, 3), _a(2, 4), _a(5, 3, 4), _a(5))),
    "triplet_margin_loss": (
        lambda T, a, p, n: T.triplet_margin_loss(a, p, n, 1.0, 2.0, 1e-6, False, 1),
        (_a(3, 4), _a(3, 4), _a(3, 4)),
    ),
    "pixel_shuffle": (lambda T, x: T.pixel_unshuffle(T.pixel_shuffle(x, 2), 2) * 2, (_a(1, 4, 2, 3),)),
    "channel_shuffle": (lambda T, x: T.channel_shuffle(x, 3), (_a(2, 6, 2),)),
    "conv3d": (lambda T, x, w: T.conv3d(x, w, None, 1, 1, 1, 1), (_a(1, 2, 3, 3, 3), _a(2, 2, 2, 2, 2))),
    "conv_transpose1d": (lambda T, x, w: T.conv_transpose1d(x, w, None, 2, 1, 1), (_a(2, 3, 4), _a(3, 2, 3))),
    "convolution": (
        lambda T, x, w, b: T.convolution(x, w, b, [1, 2], [1, 0], [1, 1], False, [0, 0], 1),
        (_a(1, 2, 4, 5), _a(3, 2, 2, 2), _a(3)),
    ),
    "convolution_t": (
        lambda T, x, w: T.convolution(x, w, None, [2, 1, 1], [0, 1, 0], [1, 1, 1], True, [1, 0, 0], 1),
        (_a(1, 2, 2, 3, 2), _a(2, 3, 2, 2, 2)),
    ),
    "max_pool1d_with_indices": (lambda T, x: T.max_pool1d_with_indices(x, 3, 2, 1), (_a(1, 2, 7),)),
    "max_pool3d": (lambda T, x: T.max_pool3d(x, 2, 1), (_a(1, 1, 3, 4, 3),)),
    "avg_pool1d": (lambda T, x: T.avg_pool1d(x, 3, 2, 1, True, False), (_a(2, 3, 7),)),
    "adaptive_pool1d": (
        lambda T, x: T.adaptive_avg_pool1d(x, 4) + T.adaptive_max_pool1d(x, 4)[0],
        (_a(2, 2, 9),),
    ),
    "pdist": (lambda T, x: T.pdist(x) + T.pdist(x, 1.5).sum(), (_a(5, 3),)),
    "alpha_dropout_eval": (
        lambda T, x: (
            T.alpha_dropout(x, 0.3, False)
            + T.feature_dropout(x, 0.3, False)
            + T.feature_alpha_dropout(x, 0.3, False)
        ),
        (_a(2, 3, 4),),
    ),
}


@pytest.mark.parametrize("name", sorted(NN))
def test_nn_names_match_pytorch(name) -> None:
    fn, arrays, *grads = NN[name]
    _compare(fn, *arrays, grads=grads[0] if grads else None)


def test_rnn_layers_match_pytorch() -> None:
    for kind, kw in (
        ("LSTM", dict(num_layers=2, bidirectional=True)),
        ("LSTM", dict(proj_size=2)),
        ("GRU", dict(num_layers=2, batch_first=True, bias=False)),
        ("RNN", dict(nonlinearity="relu")),
    ):
        m = getattr(torch.nn, kind)(3, 4, **kw).double()
        layers = kw.get("num_layers", 1) * (2 if kw.get("bidirectional") else 1)
        x = _a(2, 5, 3) if kw.get("batch_first") else _a(5, 2, 3)
        h0, c0 = _a(layers, 2, kw.get("proj_size", 4)), _a(layers, 2, 4)
        ws = [p.detach().numpy() for p in m._flat_weights]
        fname = {"LSTM": "lstm", "GRU": "gru", "RNN": "rnn_" + kw.get("nonlinearity", "tanh")}[kind]
        flags = (
            kw.get("bias", True),
            kw.get("num_layers", 1),
            0.0,
            False,
            kw.get("bidirectional", False),
            kw.get("batch_first", False),
        )

        def fn(T, x, h, c, *w, fname=fname, flags=flags):
            return getattr(T, fname)(x, [h, c] if fname == "lstm" else h, list(w), *flags)

        _compare(fn, x, h0, c0, *ws, grads=None)


def test_int_reductions_and_their_default() -> None:
    x, t = _a(3, 4), _a(3, 4, low=0.1, high=1.0)
    for r in (0, 1, 2):
        _compare(
            lambda T, x, t, r=r: (
                T.kl_div(x, t, r) + T.hinge_embedding_loss(x, (t > 0.5).double() * 2 - 1, 1.0, r)
            ),
            x,
            t,
        )
    _compare(lambda T, x, t: T.kl_div(x, t), x, t)  # PyTorch 2.13's default: reduction none


def test_rrelu_training_slopes_lie_in_range() -> None:
    cr.manual_seed(1)
    x = -cr.rand(1000, dtype=cr.float64) - 0.1
    y = cr.rrelu(x, 0.1, 0.3, training=True)
    ratio = (y / x).numpy()
    assert ratio.min() >= 0.1 and ratio.max() <= 0.3 and ratio.std() > 0.03
    _same(cr.rrelu(x), torch.rrelu(torch.tensor(x.numpy())))
    z = x.clone()
    assert cr.rrelu_(z) is z


def test_gru_and_rnn_cells_match_pytorch_modules() -> None:
    x, h = _a(3, 2), _a(3, 4)
    for cell, fn in (
        (torch.nn.GRUCell(2, 4), "gru_cell"),
        (torch.nn.RNNCell(2, 4), "rnn_tanh_cell"),
        (torch.nn.RNNCell(2, 4, nonlinearity="relu"), "rnn_relu_cell"),
    ):
        cell = cell.double()
        ws = [p.detach().numpy() for p in (cell.weight_ih, cell.weight_hh, cell.bias_ih, cell.bias_hh)]
        _compare(lambda T, *a, fn=fn: getattr(T, fn)(*a), x, h, *ws)
