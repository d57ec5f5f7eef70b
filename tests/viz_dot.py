"""Read back the DOT text that chainrule.viz.draw writes (for the viz tests)."""

from __future__ import annotations

import re

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
