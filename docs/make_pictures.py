"""Render the graph pictures used in docs/viz.md into docs/images/.

    python docs/make_pictures.py            # needs the viz extra and Graphviz's `dot`

The two textbook chain-rule examples, z = (<x, w> - y)^2 and z = ||Xw - y||^2,
a small MLP (backward graph, forward graph, and coloured by backward step),
a 500-layer MLP folded with collapse=True, and the graph rebased by an
in-place write through a view (docs/views.md).
"""

from __future__ import annotations

import sys
from pathlib import Path

from chainrule.viz import draw, trace_backward

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))  # the examples are the graphs the viz tests check
from viz_dot import mlp, textbook_dot, textbook_least_squares  # noqa: E402

OUT = ROOT / "docs" / "images"
DPI = {"dpi": "130"}


def save(graph, name: str) -> Path:
    path = OUT / f"{name}.png"
    path.write_bytes(graph.pipe(format="png"))
    print(f"wrote {path.relative_to(ROOT)}")
    return path


def textbook_pictures() -> None:
    """The forward computation and the backward graph of both textbook examples."""
    z, names = textbook_dot()
    save(draw(z, params=names, forward=True, graph_attr=DPI), "chain_rule_dot_forward")
    save(draw(z, params=names, show_saved=True, graph_attr=DPI), "chain_rule_dot_backward")
    z, names = textbook_least_squares()
    save(draw(z, params=names, forward=True, graph_attr=DPI), "chain_rule_least_squares_forward")
    save(draw(z, params=names, graph_attr=DPI), "chain_rule_least_squares_backward")


def mlp_pictures() -> None:
    loss, names = mlp(3, width=8, batch=16)
    save(draw(loss, params=names, graph_attr=DPI), "mlp_backward")
    save(draw(loss, params=names, forward=True, graph_attr=DPI), "mlp_forward")
    steps = trace_backward(loss, retain_graph=True)
    save(draw(loss, params=names, steps=steps, graph_attr=DPI), "mlp_steps")
    deep, deep_names = mlp(500, width=8, batch=16)
    save(draw(deep, params=deep_names, collapse=True, graph_attr=DPI), "mlp_500_layers_collapsed")


def view_pictures() -> None:
    """``b = x * 2; v = b[0]; v.mul_(w)``: the base's history becomes CopySlices."""
    import chainrule as cr

    x = cr.ones(2, 3, requires_grad=True)
    w = cr.full((3,), 3.0, requires_grad=True)
    b = x * 2
    v = b[0]
    v.mul_(w)
    loss = (b * b).sum()
    save(draw(loss, params={"x": x, "w": w}, graph_attr=DPI), "view_write_rebased")


if __name__ == "__main__":
    OUT.mkdir(parents=True, exist_ok=True)
    textbook_pictures()
    mlp_pictures()
    view_pictures()
