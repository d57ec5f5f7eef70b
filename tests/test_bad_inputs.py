"""Bad and unusual inputs: refused clearly, or handled exactly like PyTorch.

Integer tensors and gradients, empty and 0-d tensors through every op of the
table (generated from ``ops_table``), wrong gradients from ``gradient=`` or hooks,
and what an exception in backward leaves behind.  The dtype grid: ``test_dtype_grid.py``;
NaN and inf: ``test_nan_inf.py``.
"""

from __future__ import annotations

import dataclasses
import re
from typing import Any

import numpy as np
import pytest
from ops_table import CASES, A, Case, D, I, M
from reference import torch
from refusals import refusal_facts

import chainrule as cr

# ------------------------------------------------------------ integer tensors
INT_MSG = "only floating point tensors can require gradients, got dtype"


@pytest.mark.parametrize("make", [
    lambda: cr.tensor([1, 2]).requires_grad_(),
    lambda: cr.tensor([1, 2], requires_grad=True),
    lambda: cr.zeros(3, dtype=cr.int64, requires_grad=True),
    lambda: cr.arange(3, requires_grad=True),
    lambda: setattr(cr.tensor([True, False]), "requires_grad", True),
    lambda: cr.ones(2, dtype=cr.uint8).requires_grad_(),
], ids=["requires_grad_", "tensor", "zeros", "arange", "bool-attribute", "uint8"])
def test_integer_and_bool_tensors_cannot_require_grad(make) -> None:
    with pytest.raises(RuntimeError, match=INT_MSG) as info:
        make()
    assert "convert first, e.g. x = x.float()" in str(info.value)
    assert "shape (" in str(info.value)


# ------------------------------------------------------------ empty and 0-d tensors
# PyTorch oddities we do not copy (each checked by hand):
KNOWN = {
    # conv with 0 input channels: PyTorch returns 0 *output* channels, (1,0,5,5)*(3,0,3,3) ->
    # (1,0,3,3), which is not the sum over no channels; we refuse the input with a clear error
    ("conv2d", "in_channels=0"), ("conv1d", "in_channels=0"),
    # soft-label cross-entropy over 0 classes: PyTorch divides by numel/classes = 0/0 (NaN);
    # each sample's loss is an empty sum, 0, and so is their mean
    ("cross_entropy", "classes=0"),
}


def _variants(case: Case) -> list[tuple[str, Any]]:
    """Each size that appears in the case's shapes set to 0 everywhere, and all shapes 0-d."""
    sizes = sorted({d for s in case.args for d in getattr(s, "shape", ())})
    out: list[tuple[str, Any]] = [(f"{s}->0", lambda shp, s=s: tuple(0 if d == s else d for d in shp))
                                  for s in sizes]
    out.append(("0-d", lambda shp: ()))
    return out


def _make(spec: Any, shape: tuple, rng: np.random.Generator) -> Any:
    if isinstance(spec, I):
        return None if spec.values is not None else rng.integers(0, spec.high, shape)
    if isinstance(spec, M):
        return rng.random(shape) < 0.5
    if isinstance(spec, D):
        n = int(np.prod(shape))
        return (rng.permutation(n) / max(n, 1) - 0.5).reshape(shape)
    return dataclasses.replace(spec, shape=shape).make(rng)


def _run(case: Case, T: Any, arrays: list) -> tuple[list, list]:
    args = []
    for spec, a in zip(case.args, arrays):
        t = cr.tensor(a) if T is cr else torch.from_numpy(np.array(a, copy=True))
        if isinstance(spec, A) and spec.grad and not isinstance(spec, (I, M)):
            t.requires_grad_(True)
        args.append(t)
    out = (case.ref if case.ref is not None and T is not cr else case.fn)(T, *args)
    outs = [o for o in (out if isinstance(out, (tuple, list)) else [out]) if hasattr(o, "shape")]
    live = [o for o in outs if o.requires_grad] if case.grad else []
    if live:
        rng = np.random.default_rng(1)
        total = 0
        for o in live:
            v = rng.standard_normal(tuple(o.shape))
            total = total + (o * (cr.tensor(v) if T is cr else torch.from_numpy(v)).to(o.dtype)).sum()
        total.backward()
    return outs, [a.grad for a in args if a.requires_grad] if live else []


def _np(t: Any) -> Any:
    return None if t is None else t.detach().numpy()


EMPTY = [(c, name, f) for c in CASES if c.torch for name, f in _variants(c)
         # cases with fixed index values (I(values=...)) have no resized counterpart
         if not any(isinstance(s, I) and s.values is not None for s in c.args)]


# Empty and 0-d variants where we deliberately differ from PyTorch, each with why: strict
# xfails, so a change of either side shows up as a failure here.  Keyed "op#k[variant]" (the
# k-th case of that op in the table), so cases added elsewhere in the table do not shift them.
_TRIGAMMA = ("PyTorch's trigamma truncates its asymptotic series (relative error up to ~1e-9 in "
             "float64); ours is SciPy's, exact to a few ulps, so the 1e-10 comparison fails")
KNOWN_GAPS = {
    'digamma#0[0-d]': _TRIGAMMA + " (digamma's gradient)",
    'digamma#1[0-d]': _TRIGAMMA + " (digamma's gradient)",
    'polygamma#1[0-d]': _TRIGAMMA + " (polygamma(1, x) itself)",
    'block_diag#0[3->0]': "PyTorch's backward skips the row of a 1-d empty block (the forward makes "
                            "(0,) a (1, 0) block), so the later blocks' gradients are read one row "
                            "too high (torch.autograd.gradcheck fails on it); ours is the true gradient",
}
# An empty batch of transforms: PyTorch's CPU FFT (MKL) refuses it ("Inconsistent configuration
# parameters"), as does its view_as_complex on an empty (0, 2) tensor (its strides); ours returns
# the empty result with the right shape and dtype, as NumPy does.
_EMPTY_FFT = "PyTorch's CPU FFT refuses an empty batch (an MKL error); ours returns an empty result"
KNOWN_GAPS.update({
    'view_as_complex#0[3->0]': "PyTorch refuses an empty (0, 2) tensor (its stride check); ours views it",
    **{k: _EMPTY_FFT for k in ('fft#0[3->0]', 'fft#1[3->0]', 'rfft#0[2->0]', 'irfft#0[3->0]',
                              'irfft#1[4->0]', 'irfft#2[4->0]', 'hfft#0[4->0]')},
})


def _ordinal(c: Case) -> str:
    same = [d for d in CASES if d.op == c.op]
    return f"{c.op}#{next(k for k, d in enumerate(same) if d is c)}"


def _param(c: Case, n: str, f: Any) -> Any:
    reason = KNOWN_GAPS.get(f"{_ordinal(c)}[{n}]")
    marks = [pytest.mark.xfail(strict=True, reason=reason)] if reason else []
    return pytest.param(c, n, f, marks=marks, id=f"{c.id}[{n}]")


@pytest.mark.parametrize("case,variant,reshape", [_param(c, n, f) for c, n, f in EMPTY])
def test_empty_and_0d_inputs_match_torch(case: Case, variant: str, reshape: Any) -> None:
    """Where PyTorch accepts the empty/0-d version of a case, we must give the same values,
    shapes, dtypes and gradients (and never crash)."""
    rng = np.random.default_rng(0)
    arrays = [_make(s, reshape(tuple(s.shape)), rng) for s in case.args]
    try:
        ref_out, ref_grads = _run(case, torch, arrays)
    except Exception as exc:  # noqa: BLE001 - PyTorch refuses this variant: so must we, clearly
        _same_refusal(case, variant, arrays, exc)
        return
    if _known(case, arrays):  # our documented behaviour where PyTorch's is odd (see KNOWN)
        if case.op == "cross_entropy":
            outs, _ = _run(case, cr, arrays)
            assert all(not np.any(_np(o)) for o in outs)
        else:
            with pytest.raises(RuntimeError, match="non-zero channels"):
                _run(case, cr, arrays)
        return
    outs, grads = _run(case, cr, arrays)
    assert len(outs) == len(ref_out)
    for o, r in zip(outs, ref_out):
        assert tuple(o.shape) == tuple(r.shape), (case.id, variant)
        assert str(o.dtype).split(".")[-1] == str(r.dtype).split(".")[-1]
        np.testing.assert_allclose(_np(o), _np(r), rtol=1e-10, atol=1e-12, equal_nan=True)
    assert len(grads) == len(ref_grads)
    for g, r in zip(grads, ref_grads):
        if r is None:
            assert g is None or not np.any(_np(g))
            continue
        assert g is not None and tuple(g.shape) == tuple(r.shape)
        np.testing.assert_allclose(_np(g), _np(r), rtol=1e-10, atol=1e-12, equal_nan=True)


# Where our message names the op a case reaches through: case op -> the names it may use
OP_NAMES = {
    "max": ("max", "amax"), "min": ("min", "amin"), "setitem": ("setitem", "index_put", "getitem"),
    "view_writes": ("getitem", "index_put", "mul"),  # the case writes through views
    "broadcast_tensors": ("broadcast_shapes",), "addmm": ("addmm", "mm"), "trace": ("trace", "diag"),
    "index_select": ("index_select", "getitem"), "take_along_dim": ("take_along_dim", "gather"),
    "scatter": ("scatter", "index_put"), "index_put": ("index_put", "getitem"),
    "cross_entropy": ("cross_entropy", "softmax", "log_softmax"),  # cases that softmax the target
    "nll_loss": ("nll_loss", "log_softmax"),  # the case takes log_softmax(x, 1) first
    "unsqueeze": ("unsqueeze",), "getitem": ("getitem", "index"), "masked_select": ("broadcast",),
    "lstm_cell": ("lstm_cell", "linear"), "linear": ("linear", "matmul"), "view": ("view", "reshape"),
    "lstm_layer": ("LSTM", "lstm_layer"), "gru_layer": ("GRU", "gru_layer"),  # (through nn.LSTM/GRU)
    "broadcast_to": ("broadcast_to", "expand"), "expand_as": ("expand_as", "expand"),
    "count_nonzero": ("count_nonzero", "sum"),  # composed as sum(x != 0, dim)
    "special_namespace": ("logsumexp", "softmax", "log_softmax"), "xlogy": ("xlogy", "mul"),
    "nan_to_num": ("nan_to_num", "div"),  # a case divides first
    "fft": ("fft", "fft2"), "rfft": ("rfft", "rfftn"),  # ("fft(" is in "ifft(")
    # the one-sided inverses' cases view real pairs as complex first
    "irfft": ("irfft", "irfft2", "view_as_complex"), "hfft": ("hfft", "view_as_complex"),
    # linalg cases that first make their input well conditioned (x @ x.mT + n*I, x * signs, ...)
    **{op: (op, "matmul") for op in ("slogdet", "logdet", "linalg.cholesky", "linalg.cholesky_ex",
                                      "cholesky_solve", "cholesky_inverse")},
    "linalg.det": ("linalg.det", "mul"), "linalg.slogdet": ("linalg.slogdet", "mul"),
    "linalg.solve": ("linalg.solve", "add"), "linalg.lu_solve": ("linalg.lu_solve", "flip"),
    "linalg.matrix_rank": ("linalg.matrix_rank", "getitem"),
    "linalg.diagonal": ("linalg.diagonal", "diagonal"),
}
# Refusals where our class differs from PyTorch's, each with why (op, variant) -> ours
CLASS_DIFFERS = {
    # PyTorch's IndexError comes from reading size(0) of a 0-d tensor before its own checks
    ("mv", "0-d"): RuntimeError, ("avg_pool2d", "0-d"): RuntimeError,
    ("index_add", "0-d"): RuntimeError,
    # PyTorch's RuntimeError for an index into an empty dim is a storage-bounds failure
    # ("setStorage: ... out of bounds for storage of size 0") before its index check; ours is
    # that check's IndexError, which PyTorch raises for the same index into a non-empty dim
    ("index_copy", "4->0"): IndexError, ("index_copy", "3->0"): IndexError,
    ("index_fill", "4->0"): IndexError, ("index_fill", "3->0"): IndexError,
}


def _same_refusal(case: Case, variant: str, arrays: list, ref_exc: Exception) -> None:
    """Ours refuses too, with PyTorch's exception class, naming the op and the key facts of
    PyTorch's message (or, where no fact is listed, a shape or size of the input)."""
    where = f"{case.id}[{variant}]: PyTorch {type(ref_exc).__name__}: {ref_exc}"
    try:
        _run(case, cr, arrays)
    except Exception as exc:  # noqa: BLE001 - compared below
        msg = str(exc)
        if type(exc) is type(ref_exc) and msg == str(ref_exc):
            return  # PyTorch's very refusal (often the case's own Python: n, m = A.shape on 0-d)
        want = CLASS_DIFFERS.get((case.op, variant), type(ref_exc))
        assert type(exc) is want, f"{where}\nours {type(exc).__name__}: {msg}"
        names = OP_NAMES.get(case.op, (case.op,))
        assert any(f"{n}(" in msg or f"{n}:" in msg for n in names), f"{where}\nours: {msg}"
        facts = refusal_facts(str(ref_exc))
        if facts is not None:
            for fact in facts:
                assert re.search(fact, msg, re.IGNORECASE), f"{where}\nours lacks {fact!r}: {msg}"
            return
        shapes = {str(tuple(np.shape(a))) for a in arrays if a is not None}
        assert any(s in msg for s in shapes) or re.search(r"\d+[- ]d\b|\d+ dimensions|size \d+|\d+ classes"
                                                         r"|\d+ elements", msg), f"{where}\nours: {msg}"
        return
    raise AssertionError(f"{where}\nours accepted it")


# Refusals beyond the sweep, met while tightening it: PyTorch's class, a message naming the op
# and the shapes
MORE_REFUSALS = {
    "scatter-src": lambda T: T.zeros(3, 4).scatter(1, T.zeros(3, 3, dtype=T.int64), T.ones(3, 2)),
    "scatter_add-src": lambda T: T.zeros(3, 4).scatter_add(1, T.zeros(3, 3, dtype=T.int64), T.ones(3, 2)),
    "scatter_reduce-src": lambda T: T.zeros(3, 4).scatter_reduce(1, T.zeros(3, 3, dtype=T.int64),
                                                                 T.ones(3, 2), "sum"),
    "gather-index": lambda T: T.zeros(3, 4).gather(1, T.zeros(4, 3, dtype=T.int64)),
    "addmv-input": lambda T: T.addmv(T.zeros(3), T.zeros(2, 3), T.zeros(3)),
    "addmv-vec": lambda T: T.addmv(T.zeros(2), T.zeros(2, 3), T.zeros(4)),
    "addbmm-batches": lambda T: T.addbmm(T.zeros(2, 2), T.zeros(3, 2, 4), T.zeros(2, 4, 2)),
    "addbmm-sizes": lambda T: T.addbmm(T.zeros(2, 2), T.zeros(3, 2, 4), T.zeros(3, 5, 2)),
    "addbmm-2d": lambda T: T.addbmm(T.zeros(2, 2), T.zeros(2, 4), T.zeros(4, 2)),
    "baddbmm-input": lambda T: T.baddbmm(T.zeros(3, 3, 3), T.zeros(3, 2, 4), T.zeros(3, 4, 2)),
    "lerp-shapes": lambda T: T.lerp(T.zeros(2, 4), T.zeros(3, 1), 0.5),
    "addcdiv-shapes": lambda T: T.addcdiv(T.zeros(3, 4), T.ones(3, 1), T.ones(5)),
    "rot90-1d": lambda T: T.rot90(T.zeros(3)),
    "fftshift-no-dims": lambda T: T.fft.fftshift(T.zeros(3), dim=()),
    "irfft-one-bin": lambda T: T.fft.irfft(T.zeros(3, 1, dtype=T.complex128)),
}


@pytest.mark.parametrize("name", sorted(MORE_REFUSALS))
def test_more_refusals_match_torch(name: str) -> None:
    with pytest.raises(Exception) as ref:  # noqa: B017 - the class is PyTorch's, checked below
        MORE_REFUSALS[name](torch)
    with pytest.raises(Exception) as ours:  # noqa: B017
        MORE_REFUSALS[name](cr)
    assert type(ours.value) is type(ref.value), (ours.value, ref.value)
    msg = str(ours.value)
    assert msg.startswith(f"{name.split('-')[0]}(): ") and re.search(r"\(\d+(, \d+)*,?\)", msg), msg


def _known(case: Case, arrays: list) -> bool:
    if case.op in ("conv2d", "conv1d") and arrays[0].shape[1] == 0:
        return (case.op, "in_channels=0") in KNOWN
    if case.op == "cross_entropy" and arrays[0].ndim == 2 and arrays[0].shape[1] == 0:
        return (case.op, "classes=0") in KNOWN
    return False


def test_empty_and_0d_regressions() -> None:
    """Each of these crashed before (found by the generated test above)."""
    s = cr.tensor(1.5, dtype=cr.float64, requires_grad=True)
    assert cr.sum(s, 0).item() == 1.5 and s.sum(-1, keepdim=True).shape == ()
    values, idx = cr.max(s, 0)
    assert values.item() == 1.5 and idx.item() == 0 and cr.argmin(s, 0).item() == 0
    assert s.squeeze(-1).shape == () and cr.movedim(s, 0, -1).shape == () and s.flip(0).shape == ()
    assert cr.hstack([s, s]).shape == (2,) and cr.vstack([s, s]).shape == (2, 1)
    assert cr.softmax(s, 0).item() == 1.0 and s.std(0).isnan().item()
    e = cr.zeros(3, 0, dtype=cr.float64, requires_grad=True)
    assert cr.softmax(e, 1).shape == (3, 0) and cr.log_softmax(e, 1).shape == (3, 0)
    p = e.prod(1)
    p.sum().backward()
    assert p.tolist() == [1.0, 1.0, 1.0] and e.grad.shape == (3, 0)
    assert [c.shape for c in e.chunk(2, 1)] == [(3, 0), (3, 0)]
    x = cr.zeros(0, 2, 4, 5, dtype=cr.float64, requires_grad=True)
    cr.nn.functional.max_pool2d(x, 3, stride=1, padding=1).sum().backward()
    assert x.grad.shape == (0, 2, 4, 5)
    ce = cr.nn.functional.cross_entropy(cr.zeros(0, 4), cr.zeros(0, 4))
    assert ce.isnan().item()  # mean over an empty batch, like PyTorch


# ------------------------------------------------------------ wrong gradients
def test_gradient_argument_with_wrong_shape_or_dtype_names_the_node() -> None:
    x = cr.ones(3, requires_grad=True)
    y = x * 2
    with pytest.raises(RuntimeError, match=r"gradient has shape \(2,\) but the output \(MulBackward0\) "
                                           r"has shape \(3,\)"):
        y.backward(cr.ones(2))
    with pytest.raises(RuntimeError, match=r"gradient has dtype int64 but the output \(MulBackward0\) "
                                           r"is float32; gradients must be floating point"):
        y.backward(cr.ones(3, dtype=cr.int64))
    with pytest.raises(RuntimeError, match=r"grad\(\): gradient has dtype bool"):
        cr.autograd.grad(y, x, cr.ones(3, dtype=cr.bool))
    y.backward(cr.ones(3, dtype=cr.float64))  # float64 for float32: cast, as PyTorch does
    assert x.grad.dtype == cr.float32 and x.grad.tolist() == [2.0, 2.0, 2.0]


@pytest.mark.parametrize("bad,what", [
    (lambda g: g.double(), r"shape \(3,\) and dtype float64, but the gradient must have shape "
                           r"\(3,\) and dtype float32"),
    (lambda g: g[:2], r"shape \(2,\) and dtype float32, but the gradient must have shape \(3,\)"),
])
def test_hook_returning_wrong_shape_or_dtype_names_the_node(bad, what) -> None:
    x = cr.ones(3, requires_grad=True)
    y = cr.exp(x)
    y.register_hook(bad)
    with pytest.raises(RuntimeError, match="a hook on ExpBackward0 returned a gradient of " + what):
        y.sum().backward()
    x.register_hook(bad)
    with pytest.raises(RuntimeError, match="a hook on a leaf tensor returned a gradient of " + what):
        (x * 2).sum().backward()
    z = x * 1
    z.register_hook(lambda g: g.numpy())
    with pytest.raises(TypeError, match="a hook on MulBackward0 returned ndarray; it must return a "
                                        "Tensor or None"):
        z.sum().backward()


# ------------------------------------------------------------ exceptions in backward
class Boom(Exception):
    pass


def _graph():
    """loss = sum(a * h) + sum(c), h = exp(b): a's and c's gradients are complete before h's
    node runs, b's only after it."""
    a, b, c = (cr.tensor([1.0, 2.0], requires_grad=True) for _ in range(3))
    for t in (a, b, c):
        t.grad = cr.tensor([10.0, 10.0])
    h = cr.exp(b * 1.0)
    return a, b, c, h


def _check_after_failure(a, b, c, h) -> None:
    # leaves are written only after every node ran: a failing node leaves all of them untouched
    for t in (a, b, c):
        assert t.grad.tolist() == [10.0, 10.0]


def test_exception_in_a_hook_propagates_and_grads_are_as_documented() -> None:
    a, b, c, h = _graph()

    def hook(g):
        raise Boom("from the hook")

    h.register_hook(hook)
    with pytest.raises(Boom, match="from the hook"):
        ((a * h).sum() + c.sum()).backward()
    _check_after_failure(a, b, c, h)
    assert cr.is_grad_enabled()


def test_exception_in_custom_function_backward_propagates() -> None:
    class Fails(cr.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 1.0

        @staticmethod
        def backward(ctx, g):
            raise Boom("from Function.backward")

    a, b, c, h = _graph()
    h = Fails.apply(h)
    with pytest.raises(Boom, match="from Function.backward"):
        ((a * h).sum() + c.sum()).backward()
    _check_after_failure(a, b, c, h)


def test_none_gradient_from_custom_function_still_releases_the_edge() -> None:
    """A backward returning None for an input that also gets gradient through another path:
    that input's node must still run (it used to wait forever and lose all its gradient)."""
    class Half(cr.autograd.Function):
        @staticmethod
        def forward(ctx, x, y):
            return x * 0.5

        @staticmethod
        def backward(ctx, g):
            return g * 0.5, None

    x = cr.tensor([1.0, 2.0], requires_grad=True)
    w = cr.tensor([3.0, 4.0], requires_grad=True)
    y = x * w  # reaches the loss directly and through Half (which gives it no gradient)
    (Half.apply(x, y).sum() + y.sum()).backward()
    np.testing.assert_allclose(x.grad.numpy(), [0.5 + 3.0, 0.5 + 4.0])
    np.testing.assert_allclose(w.grad.numpy(), [1.0, 2.0])
