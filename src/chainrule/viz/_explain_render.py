"""Printing an ``Explanation``: a plain-text table for the terminal, an HTML one for notebooks."""

from __future__ import annotations

from math import prod
from typing import Any, Callable

import numpy as np

OK, BAD, UNCHECKED = "✓", "✗", "–"


def values(a: np.ndarray, width: int = 48) -> str:
    """A few numbers of an array on one line."""
    a = np.asarray(a)
    if a.size == 1:
        return f"{a.item():.6g}"
    text = np.array2string(a.ravel(), precision=4, separator=", ", threshold=6, edgeitems=3,
                           max_line_width=10**6, suppress_small=True)
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


def shape1(shape: tuple) -> str:
    """The shape of a gradient with respect to something of ``shape``: a row."""
    return f"(1, {prod(shape)})"


def _cells(ex: Any) -> list[list[list[str]]]:
    out = []
    z = ex.output
    for r in ex.rows:
        jac = [f"{f.label} {f.shape} = {f.text}" if f.known else f"{f.label} {f.shape}"
               for f in r.jacobians] or ["(no differentiable input)"]
        up = f"d{z}/d{r.name} {shape1(r.shape)}"
        if r.upstream_formula:
            up += f" = {r.upstream_formula}"
        check = {True: OK, False: f"{BAD} backward ≠ finite diff.", None: UNCHECKED}[r.ok]
        out.append([[f"{r.name} = {r.expression}"], [str(r.shape)], jac,
                    [up, f"  = {values(r.upstream)}"], [check]])
    return out


def _chain(g: Any, z: str) -> list[str]:
    """The products of local Jacobians, then the formulas that were checked against autograd."""
    lines = []
    for k, path in enumerate(g.paths):
        head = f"d{z}/d{g.name} = " if k == 0 else "   + "
        labels = " · ".join(f.label for f in path)
        shapes = "".join(str(f.shape) for f in path)
        formulas = "".join(f"({f.text})" if f.known else f"[{f.label}]" for f in path)
        lines.append(f"{head}{labels}")
        lines.append(f"      = {formulas}      shapes {shapes} → {shape1(g.shape)}")
    if not lines:
        lines.append(f"d{z}/d{g.name}: {g.name} does not reach {z} through a recorded op")
    lines += [f"      = {form}" for form in dict.fromkeys(f for f in (g.formula, g.closed_form) if f)]
    return lines


def _mark(g: Any) -> str:
    return OK if g.ok else f"{BAD} MISMATCH"


def text(ex: Any) -> str:
    z = ex.output
    wrt = ", ".join(g.name for g in ex.gradients)
    lines = [f"chain rule of {z} = f({', '.join(ex.inputs)}), gradient with respect to {wrt}",
             "(float64; every backward checked against central finite differences)", ""]
    header = [["node"], ["shape"], ["local Jacobian"], [f"upstream d{z}/d(node)"], ["check"]]
    table = [header] + _cells(ex)
    widths = [max(len(line) for row in table for line in row[c]) for c in range(len(header))]
    for row in table:
        for i in range(max(len(c) for c in row)):
            parts = [(c[i] if i < len(c) else "").ljust(w) for c, w in zip(row, widths)]
            lines.append("  " + "  ".join(parts).rstrip())
    for g in ex.gradients:
        lines.append("")
        lines += ["  " + s for s in _chain(g, z)]
        lines.append(f"    autograd            {values(g.autograd, 70)}")
        lines.append(f"    finite differences  {values(g.numeric, 70)}")
        lines.append(f"    max |difference|    {g.max_error:.2g}  {_mark(g)}")
    problems = ex.mismatches
    if problems:
        lines.append("")
        lines.append("mismatches (a backward that disagrees with its forward):")
        lines += [f"  {BAD} {p}" for p in problems]
    return "\n".join(lines)


def html_table(ex: Any, esc: Callable[[str], str]) -> str:
    z = ex.output
    th = "".join(f"<th>{esc(h)}</th>" for h in
                 ["node", "shape", "local Jacobian", f"upstream d{z}/d(node)", "check"])
    body = []
    for row in _cells(ex):
        tds = "".join("<td>" + "<br>".join(esc(s) for s in cell) + "</td>" for cell in row)
        body.append(f"<tr>{tds}</tr>")
    parts = [f"<div><p><b>chain rule of {esc(z)}</b> (float64, checked against central "
             "finite differences)</p>",
             f"<table><thead><tr>{th}</tr></thead><tbody>{''.join(body)}</tbody></table>"]
    for g in ex.gradients:
        chain = _chain(g, z) + [f"autograd:           {values(g.autograd, 70)}",
                                f"finite differences: {values(g.numeric, 70)}",
                                f"max |difference|:   {g.max_error:.2g} {_mark(g)}"]
        parts.append("<pre>" + esc("\n".join(chain)) + "</pre>")
    if ex.mismatches:
        items = "".join(f"<li>{esc(p)}</li>" for p in ex.mismatches)
        parts.append(f"<p><b>mismatches</b></p><ul>{items}</ul>")
    parts.append("</div>")
    return "".join(parts)
