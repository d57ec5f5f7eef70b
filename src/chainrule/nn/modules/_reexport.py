"""Bind the names of one ``torch.nn.modules.X`` family that ``chainrule.nn`` provides."""

from __future__ import annotations


def export(namespace: dict, names: tuple) -> list[str]:
    """Put each class of ``names`` that ``chainrule.nn`` has into ``namespace``; returns them."""
    from .. import __dict__ as nn_names  # chainrule.nn, loaded before its modules package

    found = [n for n in names if n in nn_names]
    for n in found:
        namespace[n] = nn_names[n]
    return found
