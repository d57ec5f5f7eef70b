"""``chainrule graph`` and ``chainrule explain``: drawing and explaining typed expressions, safely."""

from __future__ import annotations

import subprocess
import sys
import xml.etree.ElementTree as ET

import pytest

from chainrule.cli import main
from chainrule.viz import expr

TEXTBOOK = ["a = dot(x, w); b = a - y; z = b ** 2", "--var", "x=5:nograd", "--var", "w=5",
            "--var", "y=:nograd"]


def run(capsys, *argv):
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_graph_prints_dot_source(capsys):
    code, out, _ = run(capsys, "graph", *TEXTBOOK)
    assert code == 0
    assert out.startswith("digraph {")
    for piece in ["PowBackward0", "SubBackward0\n(b)", "DotBackward0\n(a)", 'label="w\n(5,) float64"',
                  'label="z\n() float64"']:
        assert piece in out, piece
    assert "x\n(5,)" not in out  # x needs no grad: not part of the backward graph


def test_graph_writes_svg_png_and_dot(capsys, tmp_path):
    svg, png, dot = tmp_path / "g.svg", tmp_path / "g.png", tmp_path / "g.dot"
    assert run(capsys, "graph", "relu(W @ x + b).sum()", "--var", "W=2,3", "--var", "x=3:nograd",
               "--var", "b=2", "-o", str(svg))[0] == 0
    root = ET.parse(svg).getroot()
    assert "MvBackward0" in {(t.text or "").strip() for t in root.iter() if t.tag.endswith("text")}
    assert run(capsys, "graph", "x.exp().sum()", "--var", "x=3", "-o", str(png), "--steps")[0] == 0
    assert png.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    assert run(capsys, "graph", "(x * x)[1:]", "--var", "x=3", "-o", str(dot), "--forward")[0] == 0
    assert "mul" in dot.read_text() and "getitem" in dot.read_text()


def test_explain_prints_the_textbook_table(capsys):
    code, out, _ = run(capsys, "explain", *TEXTBOOK)
    assert code == 0
    for piece in ["a = ⟨x, w⟩", "b = a − y", "z = b²", "da/dw (1, 5) = xᵀ",
                  "shapes (1, 1)(1, 1)(1, 5) → (1, 5)", "= 2(⟨x, w⟩ − y)xᵀ", "✓"]:
        assert piece in out, piece
    code, out, _ = run(capsys, "explain", "a = X @ w - y; b = a ** 2; z = b.sum()",
                       "--var", "X=4,5:nograd", "--var", "w=5", "--var", "y=4:nograd")
    assert code == 0 and "2(Xw − y)ᵀX" in out and "shapes (1, 4)(4, 4)(4, 5) → (1, 5)" in out


@pytest.mark.parametrize("text, why", [
    ("__import__('os')", "'__import__' starts with '_'"),
    ("__import__('os').system('echo hacked')", "'__import__' starts with '_'"),
    ("x.__class__", "attribute access to '__class__' is not allowed"),
    ("x.__class__.__mro__", "attribute access to '__mro__' is not allowed"),
    ("exp.__globals__", "attribute access to '__globals__' is not allowed"),
    ("(lambda: x)()", "lambda functions are not allowed"),
    ("[t for t in x]", "comprehensions are not allowed"),
    ("import os", "imports are not allowed"),
    ("os.system('ls')", "unknown name 'os'"),
    ("open('/etc/passwd')", "unknown name 'open'"),
    ("x.grad", "tensor attribute .grad is not allowed"),
    ("x.backward()", "tensor attribute .backward is not allowed"),
    ("'text'", "str constants are not allowed"),
    ("2 ** 10 ** 10", "larger than"),
    ("cr.Tensor", "chainrule.Tensor is not an allowed chainrule function"),
    ("x(1)", "only chainrule functions and tensor methods can be called"),
    ("y := x", "cannot parse"),
])
def test_unsafe_expressions_are_refused(capsys, text, why):
    code, out, err = run(capsys, "graph", text, "--var", "x=3")
    assert code == 2 and out == ""
    assert "refused" in err or "cannot parse" in err
    assert why in err


def test_refusal_from_explain_and_in_process_api():
    with pytest.raises(expr.UnsafeExpression, match="lambda functions are not allowed"):
        expr.run("(lambda: 0)()", {})
    assert main(["explain", "x.__class__", "--var", "x=3"]) == 2


def test_variable_declarations():
    name, t = expr.parse_var("W=2,3")
    assert name == "W" and tuple(t.shape) == (2, 3) and t.requires_grad
    assert tuple(expr.parse_var("y=")[1].shape) == ()
    assert not expr.parse_var("x=4:nograd")[1].requires_grad
    for bad, why in [("x", "NAME=SHAPE"), ("__x=3", "not a valid variable name"),
                     ("x=a", "integers"), ("x=3:maybe", "unknown flag"),
                     ("x=100000,100000", "more than")]:
        with pytest.raises(ValueError, match=why):
            expr.parse_var(bad)
    value, env = expr.run("a = x * 2; a.sum() + cr.exp(x)[0] + F.relu(x).mean()",
                          {"x": expr.parse_var("x=3")[1]})
    assert set(env) == {"x", "a"} and tuple(value.shape) == ()


def test_python_dash_m_subprocess():
    res = subprocess.run([sys.executable, "-m", "chainrule", "graph", "__import__('os')",
                          "--var", "x=3"], capture_output=True, text=True)
    assert res.returncode == 2 and "__import__" in res.stderr and res.stdout == ""
    res = subprocess.run([sys.executable, "-m", "chainrule", "explain", *TEXTBOOK],
                         capture_output=True, text=True)
    assert res.returncode == 0 and "2(⟨x, w⟩ − y)xᵀ" in res.stdout
