"""Render the graph pictures used in docs/viz.md into docs/images/.

    python docs/make_pictures.py            # needs the viz extra and Graphviz's `dot`

The two textbook chain-rule examples, z = (<x, w> - y)^2 and z = ||Xw - y||^2,
a small MLP (backward graph, forward graph, and coloured by backward step),
and a 500-layer MLP folded with collapse=True.
"""

from __future__ import annotations

from pathlib import Path

import chainrule as cr
from chainrule.viz import draw, trace_backward

OUT = Path(__file__).resolve().parent / "images"
DPI = {"dpi": "130"}


def save(graph, name: str) -> Path:
    path = OUT / f"{name}.png"
    path.write_bytes(graph.pipe(format="png"))
    print(f"wrote {path.relative_to(OUT.parent.parent)}")
    return path


def textbook_dot() -> None:
    """z = (<x, w> - y)^2 with x, w in R^5: the forward computation and the backward graph."""
    cr.manual_seed(0)
    x, y = cr.randn(5, dtype=cr.float64), cr.randn((), dtype=cr.float64)
    w = cr.randn(5, dtype=cr.float64, requires_grad=True)
    a = cr.dot(x, w)
    b = a - y
    z = b**2
    names = dict(x=x, w=w, y=y, a=a, b=b, z=z)
    save(draw(z, params=names, forward=True, graph_attr=DPI), "chain_rule_dot_forward")
    save(draw(z, params=names, show_saved=True, graph_attr=DPI), "chain_rule_dot_backward")


def textbook_least_squares() -> None:
    """z = ||Xw - y||^2 with X in R^(4x5): the forward computation and the backward graph."""
    cr.manual_seed(0)
    X, y = cr.randn(4, 5, dtype=cr.float64), cr.randn(4, dtype=cr.float64)
    w = cr.randn(5, dtype=cr.float64, requires_grad=True)
    a = X @ w - y
    b = a**2
    z = b.sum()
    names = dict(X=X, w=w, y=y, a=a, b=b, z=z)
    save(draw(z, params=names, forward=True, graph_attr=DPI), "chain_rule_least_squares_forward")
    save(draw(z, params=names, graph_attr=DPI), "chain_rule_least_squares_backward")


def mlp(depth: int, width: int = 8) -> tuple[cr.Tensor, dict[str, cr.Tensor]]:
    """An MLP from raw tensors, with parameter names like model.named_parameters() gives."""
    cr.manual_seed(0)
    x = cr.randn(16, 4)
    target = cr.randn(16, 1)
    params: dict[str, cr.Tensor] = {}
    h, fan_in = x, 4
    for i in range(depth):
        fan_out = 1 if i == depth - 1 else width
        W = (cr.randn(fan_out, fan_in) * fan_in**-0.5).requires_grad_()
        b = cr.zeros(fan_out, requires_grad=True)
        params[f"layers.{i}.weight"], params[f"layers.{i}.bias"] = W, b
        h = h @ W.T + b
        if i < depth - 1:
            h = cr.relu(h)
        fan_in = fan_out
    loss = ((h - target) ** 2).mean()
    return loss, {"x": x, **params, "loss": loss}


def mlp_pictures() -> None:
    loss, names = mlp(3)
    save(draw(loss, params=names, graph_attr=DPI), "mlp_backward")
    save(draw(loss, params=names, forward=True, graph_attr=DPI), "mlp_forward")
    steps = trace_backward(loss, retain_graph=True)
    save(draw(loss, params=names, steps=steps, graph_attr=DPI), "mlp_steps")
    deep, deep_names = mlp(500)
    save(draw(deep, params=deep_names, collapse=True, graph_attr=DPI), "mlp_500_layers_collapsed")


if __name__ == "__main__":
    OUT.mkdir(parents=True, exist_ok=True)
    textbook_dot()
    textbook_least_squares()
    mlp_pictures()
