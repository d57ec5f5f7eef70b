"""chainrule.viz.draw: golden DOT structure of known graphs, rendering, collapse, errors."""

from __future__ import annotations

import sys
import xml.etree.ElementTree as ET

import pytest
from viz_dot import by_label, mlp, structure, textbook_dot, textbook_least_squares

import chainrule as cr
from chainrule.viz import GraphvizNotFound, draw, trace_backward


def first_lines(nodes):
    return sorted(v.split("\n")[0] for v in nodes.values())


# ------------------------------------------------------------------ golden structure
def test_textbook_dot_backward_graph():
    z, names = textbook_dot()
    nodes, edges = structure(draw(z, params=names))
    assert first_lines(nodes) == ["DotBackward0", "PowBackward0", "SubBackward0", "w", "z"]
    assert len(edges) == 4
    pow_, sub, dot_ = (by_label(nodes, n)[0] for n in ("PowBackward0", "SubBackward0", "DotBackward0"))
    (w,) = by_label(nodes, "w")
    (out,) = by_label(nodes, "z")
    assert set(edges) == {(out, pow_, "()"), (pow_, sub, "()"), (sub, dot_, "()"), (dot_, w, "(5,)")}
    assert nodes[w] == "w\n(5,) float64"
    assert nodes[dot_] == "DotBackward0\n(a)" and nodes[sub] == "SubBackward0\n(b)"
    src = draw(z, params=names).source
    assert f"{w} [label=\"w\n(5,) float64\" fillcolor=lightblue]" in src  # requires grad: highlighted


def test_textbook_dot_forward_graph_shows_constants():
    z, names = textbook_dot()
    nodes, edges = structure(draw(z, params=names, forward=True))
    assert first_lines(nodes) == ["a = dot", "b = sub", "constant", "constant 2", "w", "x", "z",
                                  "z = pow"]
    assert len(edges) == 7
    (x,) = by_label(nodes, "x")
    (dot_,) = by_label(nodes, "a = dot")
    (pow_,) = by_label(nodes, "z = pow")
    (out,) = by_label(nodes, "z")
    assert (x, dot_, "(5,)") in edges and (pow_, out, "()") in edges  # inputs -> ops -> output


def test_textbook_least_squares_graph():
    z, names = textbook_least_squares()
    nodes, edges = structure(draw(z, params=names))
    assert first_lines(nodes) == ["MvBackward0", "PowBackward0", "SubBackward0", "SumBackward0",
                                  "w", "z"]
    labels = sorted(e[2] for e in edges)
    assert labels == ["()", "(4,)", "(4,)", "(4,)", "(5,)"]
    assert nodes[by_label(nodes, "SubBackward0")[0]] == "SubBackward0\n(a)"


def test_mlp_graph():
    loss, params = mlp(depth=2, width=3)
    nodes, edges = structure(draw(loss, params=params))
    ops = [v.split("\n")[0] for v in nodes.values() if "Backward0" in v]
    assert sorted(ops) == sorted(["DivBackward0", "SumBackward0", "PowBackward0", "SubBackward0",
                                  "AddBackward0", "MmBackward0", "PermuteBackward0", "ReluBackward0",
                                  "AddBackward0", "MmBackward0", "PermuteBackward0"])
    assert len(nodes) == 11 + 4 + 1 and len(edges) == 15
    assert nodes[by_label(nodes, "layers.0.weight")[0]] == "layers.0.weight\n(3, 4) float32"
    (w0,) = by_label(nodes, "layers.0.weight")
    (perm,) = [t for t, h, _ in edges if h == w0]
    assert nodes[perm].startswith("PermuteBackward0") and (perm, w0, "(3, 4)") in edges
    assert sum(1 for e in edges if e[2] == "(6, 3)") == 3  # hidden activations, x needs no grad


def test_shared_subexpression_appears_once():
    x = cr.randn(3, requires_grad=True)
    s = cr.sin(x)
    z = (s * s + s).sum()  # s is used three times: a DAG, not a tree
    nodes, edges = structure(draw(z))
    assert len(by_label(nodes, "SinBackward0")) == 1
    assert len(by_label(nodes, "(3,) float32")) == 1  # the leaf once too
    (sin,) = by_label(nodes, "SinBackward0")
    assert sum(1 for _, h, _ in edges if h == sin) == 3
    assert len(nodes) == 6 and len(edges) == 7  # s * s: two edges from the Mul to the same Sin


def test_detached_parts_are_not_drawn():
    x = cr.randn(3, requires_grad=True)
    u = (cr.exp(x) * 2).detach()  # its history is cut off
    w = cr.randn(3, requires_grad=True)
    with cr.no_grad():
        v = w * 3  # computed without grad: no graph either
    z = (u * x + v * w).sum()
    nodes, _ = structure(draw(z))
    assert not by_label(nodes, "ExpBackward0")
    assert sorted(first_lines(nodes)) == ["(3,) float32", "(3,) float32", "AddBackward0",
                                          "MulBackward0", "MulBackward0", "SumBackward0", "output"]


def test_output_without_graph_and_several_outputs():
    a = cr.randn(2, requires_grad=True)
    nodes, edges = structure(draw(a * 2, cr.ones(2)))
    assert sum(1 for v in nodes.values() if v.startswith("output")) == 2
    assert any("no graph" in v for v in nodes.values()) and len(edges) == 2


def test_show_saved_lists_values_and_names():
    z, names = textbook_dot()
    nodes, _ = structure(draw(z, params=names, show_saved=True))
    (pow_,) = by_label(nodes, "PowBackward0")
    assert "x (b): " in nodes[pow_] and "y: 2" in nodes[pow_]
    (dot_,) = by_label(nodes, "DotBackward0")
    # only w requires grad: its rule reads x, and w itself is not kept
    assert "x (x): (5,) float64" in nodes[dot_] and "(w)" not in nodes[dot_]
    z.backward()
    nodes, _ = structure(draw(z, show_saved=True))
    assert "freed" in nodes[by_label(nodes, "PowBackward0")[0]]


def test_steps_colour_nodes_in_backward_order():
    z, names = textbook_dot()
    steps = trace_backward(z)
    nodes, _ = structure(draw(z, params=names, steps=steps))
    assert nodes[by_label(nodes, "PowBackward0")[0]].endswith("step 0")
    assert nodes[by_label(nodes, "DotBackward0")[0]].endswith("step 2")
    assert nodes[by_label(nodes, "w")[0]].endswith("step 2")
    src = draw(z, steps=steps).source
    assert 'fillcolor="#ffffcc"' in src and 'fillcolor="#fc4e2a"' in src  # first and last


# ------------------------------------------------------------------ rendering
def test_svg_is_xml_and_png_pdf_have_signatures():
    z, names = textbook_dot()
    g = draw(z, params=names, show_saved=True)
    root = ET.fromstring(g.pipe(format="svg"))
    assert root.tag.endswith("svg")
    texts = {(t.text or "").strip() for t in root.iter() if t.tag.endswith("text")}
    assert {"DotBackward0", "w", "(5,)"} <= texts
    assert g.pipe(format="png").startswith(b"\x89PNG\r\n\x1a\n")
    assert g.pipe(format="pdf").startswith(b"%PDF")


def test_render_to_file_and_notebook_display(tmp_path):
    z, _ = textbook_dot()
    g = draw(z)
    path = g.render(tmp_path / "graph", format="svg")
    ET.parse(path)
    bundle = g._repr_mimebundle_()
    assert "<svg" in bundle["image/svg+xml"]


def test_large_graph_collapses_and_renders():
    from chainrule.viz._walk import walk

    loss, params = mlp(depth=2500, width=3)
    assert len(walk((loss,)).vertices) > 10_000  # 6 per layer: Mm, Permute, Add, Relu, W, b
    g = draw(loss, params=params, collapse=True)
    svg = g.pipe(format="svg")
    nodes, edges = structure(g)
    assert len(nodes) < 40
    assert "layers.1 … layers.2498: block of 4 ops repeated ×2498" in g.source
    assert any("×2498" in e[2] for e in edges)  # the edge that wraps around the folded block
    ET.fromstring(svg)


def test_collapse_shared_weight_chain():
    W = cr.randn(3, 3, requires_grad=True)
    h = cr.zeros(3)
    for _ in range(50):
        h = cr.tanh(W @ h + 1.0)
    nodes, edges = structure(draw(h.sum(), collapse=True))
    assert len(by_label(nodes, "(3, 3) float32")) == 1  # the shared weight, drawn once
    assert "repeated ×49" in draw(h.sum(), collapse=True).source
    assert len(nodes) <= 12


def test_collapse_leaves_non_repeating_graphs_alone():
    z, names = textbook_dot()
    assert structure(draw(z, params=names, collapse=True)) == structure(draw(z, params=names))


def test_deep_chain_walk_is_iterative():
    x = cr.randn(2, requires_grad=True)
    h = x
    for _ in range(20000):
        h = h * 1.0
    nodes, _ = structure(draw(h.sum(), collapse=True))
    assert len(nodes) < 10
    with pytest.warns(UserWarning, match="collapse=True"):
        src = draw(h.sum()).source
    assert src.count("MulBackward0") == 20000


# ------------------------------------------------------------------ missing dependencies
def test_missing_dot_program_keeps_source_and_explains(monkeypatch, tmp_path):
    z, _ = textbook_dot()
    g = draw(z)
    monkeypatch.setenv("PATH", "/nonexistent")
    assert "DotBackward0" in g.source
    with pytest.raises(GraphvizNotFound, match="apt-get install graphviz") as info:
        g.pipe(format="svg")
    assert "brew install graphviz" in str(info.value)
    with pytest.raises(GraphvizNotFound):
        g.render(str(tmp_path / "never"), format="png")


def test_missing_graphviz_package_names_the_extra(monkeypatch):
    import chainrule.viz.graph as vg

    monkeypatch.setattr(vg, "_DIGRAPH", None)
    monkeypatch.setitem(sys.modules, "graphviz", None)
    z, _ = textbook_dot()
    with pytest.raises(ImportError, match=r'pip install "chainrule\[viz\]"'):
        draw(z)


def test_importing_viz_does_not_import_graphviz():
    import subprocess

    code = "import chainrule.viz, sys; print('graphviz' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
