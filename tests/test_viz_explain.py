"""chainrule.viz.explain: the textbook chain-rule examples, exactly, and wrong backwards flagged."""

from __future__ import annotations

import sys

import numpy as np
import pytest

import chainrule as cr
from chainrule.ops._core import PRIMITIVES, Primitive, apply
from chainrule.viz import explain


@pytest.fixture(scope="module")
def squares():
    """User ops built with the op-table API: d(x²)/dx is 2x; the wrong one says 3x.

    They are taken out of the op table afterwards (the op tests require every
    registered primitive to have a test case).  The same check with a custom
    ``chainrule.autograd.Function`` is further below.
    """
    wrong = Primitive("VizTestWrongSquare", lambda x: x * x, public="wrong_square")
    wrong.defvjp(lambda g, x: 3 * g * x)
    right = Primitive("VizTestRightSquare", lambda x: x * x, public="right_square")
    right.defvjp(lambda g, x: 2 * g * x)
    yield wrong, right
    for op in (wrong, right):
        PRIMITIVES.pop(op.name, None)


def data(n=5, m=4):
    cr.manual_seed(0)
    return dict(x=cr.randn(n, dtype=cr.float64), y=cr.randn((), dtype=cr.float64),
                w=cr.randn(n, dtype=cr.float64, requires_grad=True),
                X=cr.randn(m, n, dtype=cr.float64), yv=cr.randn(m, dtype=cr.float64))


def dot_example(x, w, y):
    a = cr.dot(x, w)
    b = a - y
    z = b**2
    return z


def least_squares(X, w, y):
    a = X @ w - y
    b = a**2
    z = b.sum()
    return z


def table(ex):
    """(name, expression, shape, [(label, shape, formula)], upstream formula) per row."""
    return [(r.name, r.expression, r.shape, [(f.label, f.shape, f.text) for f in r.jacobians],
             r.upstream_formula) for r in ex.rows]


def test_textbook_dot_product_example():
    d = data()
    ex = explain(dot_example, d["x"], d["w"], d["y"])
    assert table(ex) == [
        ("a", "⟨x, w⟩", (), [("da/dw", (1, 5), "xᵀ")], "2b"),
        ("b", "a − y", (), [("db/da", (1, 1), "1")], "2b"),
        ("z", "b²", (), [("dz/db", (1, 1), "2b")], "1"),
    ]
    (g,) = ex.gradients
    assert g.name == "w" and g.shape == (5,)
    assert [[f.label for f in p] for p in g.paths] == [["dz/db", "db/da", "da/dw"]]
    assert [f.shape for f in g.paths[0]] == [(1, 1), (1, 1), (1, 5)]
    assert g.formula == "2bxᵀ"
    assert g.closed_form == "2(⟨x, w⟩ − y)xᵀ"
    x, w, y = (d[k]._data for k in "xwy")
    np.testing.assert_allclose(g.autograd, 2 * (x @ w - y) * x, rtol=1e-12)
    np.testing.assert_allclose(g.numeric, g.autograd, rtol=1e-6)
    np.testing.assert_allclose(ex.rows[0].upstream, 2 * (x @ w - y), rtol=1e-12)
    assert ex.ok and g.ok and all(r.ok for r in ex.rows) and not ex.mismatches


def test_textbook_least_squares_example():
    d = data()
    ex = explain(least_squares, d["X"], d["w"], d["yv"])
    assert table(ex) == [
        ("a", "Xw − y", (4,), [("da/dw", (4, 5), "X")], "2aᵀ"),
        ("b", "a²", (4,), [("db/da", (4, 4), "diag(2a)")], "1ᵀ"),
        ("z", "sum(b)", (), [("dz/db", (1, 4), "1ᵀ")], "1"),
    ]
    (g,) = ex.gradients
    assert [f.shape for f in g.paths[0]] == [(1, 4), (4, 4), (4, 5)]
    assert g.formula == "2aᵀX" and g.closed_form == "2(Xw − y)ᵀX"
    X, w, y = d["X"]._data, d["w"]._data, d["yv"]._data
    np.testing.assert_allclose(g.autograd, 2 * (X @ w - y) @ X, rtol=1e-12)
    assert ex.ok


def test_printed_table_and_html():
    d = data()
    text = str(explain(dot_example, d["x"], d["w"], d["y"]))
    for piece in ["a = ⟨x, w⟩", "da/dw (1, 5) = xᵀ", "dz/da (1, 1) = 2b", "(2b)(1)(xᵀ)",
                  "shapes (1, 1)(1, 1)(1, 5) → (1, 5)", "= 2(⟨x, w⟩ − y)xᵀ", "finite differences"]:
        assert piece in text, piece
    html = explain(least_squares, d["X"], d["w"], d["yv"])._repr_html_()
    assert "<table>" in html and "2(Xw − y)ᵀX" in html and "diag(2a)" in html


def test_unnamed_lambda_makes_every_op_a_node():
    d = data()
    ex = explain(lambda X, w, y: ((X @ w - y) ** 2).sum(), d["X"], d["w"], d["yv"])
    assert [(r.name, r.expression) for r in ex.rows] == [
        ("a", "Xw"), ("b", "a − y"), ("c", "b²"), ("z", "sum(c)")]
    assert [f.shape for f in ex.gradients[0].paths[0]] == [(1, 4), (4, 4), (4, 4), (4, 5)]
    assert ex.gradients[0].closed_form == "2(Xw − y)ᵀX"


def test_several_paths_and_all_inputs():
    x = cr.tensor([0.5, -1.0, 2.0], dtype=cr.float64)
    w = cr.tensor([1.5, 0.3, -0.7], dtype=cr.float64)
    ex = explain(lambda x, w: (cr.tanh(x * w) * 3).sum() + cr.exp(cr.dot(x, w)), x, w)
    assert [g.name for g in ex.gradients] == ["x", "w"]  # nothing required grad: all inputs
    assert all(len(g.paths) == 2 for g in ex.gradients) and ex.ok
    assert ex.gradients[1].closed_form == "exp(⟨x, w⟩)xᵀ + 3(1 − tanh(x ⊙ w)²)ᵀdiag(x)"
    assert x.grad is None and not x.requires_grad  # the caller's tensors are untouched


def test_wrt_selects_inputs():
    d = data()
    ex = explain(dot_example, d["x"], d["w"], d["y"], wrt=["x", "y"])
    assert [g.name for g in ex.gradients] == ["x", "y"]
    assert ex.gradients[1].closed_form == "−2(⟨x, w⟩ − y)" and ex.ok


def test_wrong_backward_is_flagged(squares):
    d = data()

    def f(x, w):
        a = x * w
        b = apply(squares[0], (a,))
        z = b.sum()
        return z

    ex = explain(f, d["x"], d["w"])
    assert not ex.ok
    assert [r.ok for r in ex.rows] == [True, False, True]
    assert not ex.gradients[0].ok and ex.gradients[0].max_error > 1e-3
    assert any("backward of wrong_square" in m for m in ex.mismatches)
    assert "✗ MISMATCH" in str(ex) and ex.gradients[0].closed_form is None


def test_correct_custom_backward_passes(squares):
    d = data()
    ex = explain(lambda x, w: apply(squares[1], (x * w,)).sum(), d["x"], d["w"])
    assert ex.ok and [r.ok for r in ex.rows] == [True, True, True]
    assert [f.known for f in ex.rows[1].jacobians] == [False]  # no textbook formula for it


def test_custom_function_with_wrong_backward_is_flagged():
    from chainrule.autograd import function

    class WrongSquare(function.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x * x

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return 3 * g * x

    d = data()
    ex = explain(lambda x, w: WrongSquare.apply(x * w).sum(), d["x"], d["w"])
    assert not ex.ok and ex.mismatches


def test_errors_and_profile_restored():
    d = data()
    with pytest.raises(ValueError, match="scalar"):
        explain(lambda x, w: x * w, d["x"], d["w"])
    with pytest.raises(ValueError, match="does not depend"):
        explain(lambda x, w: (x * 2).sum(), d["x"], d["w"], wrt="w")

    def boom(x):
        raise KeyError("inside f")

    with pytest.raises(KeyError):
        explain(boom, d["x"])
    assert sys.getprofile() is None
