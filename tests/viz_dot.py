"""For the viz tests: the example graphs they draw, and reading back the DOT text of a picture.

``docs/make_pictures.py`` draws the same examples, so the pictures in the docs
show graphs whose structure the tests check.
"""

from __future__ import annotations

import re

import chainrule as cr


def textbook_dot():
    """z = (<x, w> - y)^2 with x, w in R^5; returns z and the names of every value."""
    cr.manual_seed(0)
    x, y = cr.randn(5, dtype=cr.float64), cr.randn((), dtype=cr.float64)
    w = cr.randn(5, dtype=cr.float64, requires_grad=True)
    a = cr.dot(x, w)
    b = a - y
    z = b**2
    return z, dict(x=x, w=w, y=y, a=a, b=b, z=z)


def textbook_least_squares():
    """z = ||Xw - y||^2 with X in R^(4x5); returns z and the names of every value."""
    cr.manual_seed(0)
    X, y = cr.randn(4, 5, dtype=cr.float64), cr.randn(4, dtype=cr.float64)
    w = cr.randn(5, dtype=cr.float64, requires_grad=True)
    a = X @ w - y
    b = a**2
    z = b.sum()
    return z, dict(X=X, w=w, y=y, a=a, b=b, z=z)


def mlp(depth=2, width=3, batch=6):
    """An MLP from raw tensors (x @ W.T + b, relu, ..., mean squared error) on 4 features.

    Returns the loss and names as ``model.named_parameters()`` gives them
    (``layers.0.weight``, ...), plus ``x`` and ``loss``.
    """
    cr.manual_seed(0)
    x, target = cr.randn(batch, 4), cr.randn(batch, 1)
    params = {}
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

_NODE = re.compile(r'^\t(\w+) \[label=(?:"((?:[^"\\]|\\.)*)"|([^\s\]]+))(.*?)\]$', re.M | re.S)
_EDGE = re.compile(r'^\t(\w+) -> (\w+)(?: \[(.*?)\])?$', re.M)
_LABEL = re.compile(r'label="((?:[^"\\]|\\.)*)"|label=(\S+)')


def structure(graph) -> tuple[dict[str, str], list[tuple[str, str, str]]]:
    """``({node_id: label}, [(tail, head, edge_label), ...])`` of a graphviz graph."""
    src = graph.source
    nodes = {m.group(1): (m.group(2) if m.group(2) is not None else m.group(3))
             for m in _NODE.finditer(src)}
    edges = []
    for m in _EDGE.finditer(src):
        attrs = m.group(3) or ""
        lab = _LABEL.search(attrs)
        label = "" if lab is None else (lab.group(1) if lab.group(1) is not None else lab.group(2))
        edges.append((m.group(1), m.group(2), label.strip()))
    return nodes, edges


def by_label(nodes: dict[str, str], first_line: str) -> list[str]:
    """Ids of the nodes whose label starts with ``first_line``."""
    return [k for k, v in nodes.items() if v.split("\n")[0] == first_line]
