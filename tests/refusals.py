"""PyTorch's refusals and the facts chainrule's must share: one expectation table for the
empty/0-d sweep (tests/test_bad_inputs.py) and the program fuzzer (tests/fuzz.py).

Each entry finds a kind of refusal by PyTorch's message and lists, as regular expressions,
the facts our message must state as well (dims and ranges, sizes, versions, ...), whatever
its wording.
"""

from __future__ import annotations

import re

FACTS = [  # (pattern in PyTorch's message, the facts as regexes over ours)
    (
        r"[Dd]imension out of range \(expected to be in range of \[(-?\d+), (-?\d+)\], but got (-?\d+)\)",
        lambda m: ["dimension out of range", re.escape(f"[{m[1]}, {m[2]}]"), f"got {m[3]}"],
    ),
    (
        r"Dimension specified as (-?\d+) but tensor has no dimensions",
        lambda m: [r"dimension out of range|no dimension|0-d|shape \(\)|\(\)"],
    ),
    (
        r"index (-?\d+ )?is out of bounds for dimension (\d+ )?with size (\d+)",
        lambda m: ["out of bounds|too many indices", f"size {m[3]}|0-dimensional"],
    ),
    (r"too many indices for tensor of dimension (\d+)", lambda m: ["too many indices", f"{m[1]}-dim"]),
    (r"[Tt]arget (-?\d+) is out of bounds", lambda m: ["out of bounds", "classes"]),
    (r"size of tensor a \((\d+)\) must match the size of tensor b \((\d+)\)", lambda m: [m[1], m[2]]),
    (
        r"expanded size of the tensor \((\d+)\) must match the existing size \((\d+)\)",
        lambda m: ["expand", m[1], m[2]],
    ),
    (
        r"Expected reduction dim (-?\d+) to have non-zero size",
        lambda m: ["zero-size|non-zero size|empty", r"dim(ension)? -?\d"],
    ),
    (r"Expected reduction dim to be specified", lambda m: ["zero-size|empty", r"\bdim"]),
    (r"must be non-empty", lambda m: ["non-empty"]),
    (r"at least (\d)[- ]?[dD]", lambda m: [rf"{m[1]}[- ]?(d\b|dim)"]),
    (r"cannot be applied to a 0-dim tensor", lambda m: [r"0-dim|shape \(\)"]),
    (r"kernel size should be greater than zero", lambda m: ["non-zero", "kernel"]),
    (r"Padding length should be less than or equal to two times", lambda m: ["padding length", r"\(\)"]),
    (
        r"Number of indices \((\d+)\) should be equal to source.size\(dim\)",
        lambda m: [re.escape(f"number of indices ({m[1]})"), "source"],
    ),
    (r"selected (index|number) k out of range", lambda m: ["k out of range"]),
    (r"split_sizes to sum exactly to (\d+)", lambda m: [rf"(add up|sum) to {m[1]}"]),
    (
        r"maximum size for tensor at dimension (\d+) is (\d+) but size is (\d+)",
        lambda m: [f"dimension {m[1]}", f"is {m[2]}", f"size is {m[3]}"],
    ),
    (r"shape '\[[-\d, ]*\]' is invalid for input of size (\d+)", lambda m: ["invalid", f"size {m[1]}"]),
    (  # an in-place write into an expanded view
        r"more than one element of the written-to tensor refers to a single memory location",
        lambda m: ["expanded view|single memory location", r"clone\(\)"],
    ),
]
VERSION = (
    r"modified by an inplace operation: \[torch\.(\w+)Tensor \[([\d, ]*)\]\].*is at version (\d+); "
    r"expected version (\d+)"
)
TORCH_DTYPE = {"Double": "float64", "Float": "float32", "Long": "int64", "Bool": "bool"}


def _version_facts(m: re.Match) -> list[str]:
    """The writes since the value was saved must be PyTorch's count; where the value started
    counting may differ (PyTorch's 1-d @ 2-d matmul squeezes its result in place: version 1)."""
    now, saved = int(m[3]), int(m[4])
    writes = now - saved
    starts = "|".join(f"saved at version {v} and is now at version {v + writes}" for v in range(saved + 1))
    return ["modified by an in-place operation", TORCH_DTYPE.get(m[1], m[1]), f"({starts})"]


FACTS.append((VERSION, _version_facts))


def refusal_facts(torch_message: str) -> list[str] | None:
    """The facts (regexes) our message must state for this PyTorch refusal; None if the table
    has no entry for it."""
    for pattern, facts in FACTS:
        m = re.search(pattern, torch_message, re.DOTALL)
        if m:
            return facts(m)
    return None


def same_refusal(ours: BaseException, ref: BaseException) -> str | None:
    """None when ``ours`` refuses as ``ref`` does (class and facts), else what differs."""
    if type(ours) is not type(ref):
        return f"class {type(ours).__name__} vs PyTorch's {type(ref).__name__}"
    facts = refusal_facts(str(ref))
    if facts is None:
        return f"no expectation in tests/refusals.py for PyTorch's message: {ref}"
    missing = [f for f in facts if not re.search(f, str(ours), re.IGNORECASE)]
    return f"our message lacks {missing}" if missing else None
