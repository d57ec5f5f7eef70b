"""The array module, looked up in one place.

Everything in chainrule that computes on arrays goes through ``xp`` (NumPy
today).  A CuPy-backed build would swap it here; nothing else names the module
that does the arithmetic.
"""

from __future__ import annotations

import numpy as np

xp = np
ndarray = np.ndarray

__all__ = ["xp", "ndarray", "device"]


class device:
    """``chainrule.device('cpu')``: the only device of the NumPy backend."""

    __slots__ = ("type", "index")

    def __init__(self, type: str | device = "cpu", index: int | None = None) -> None:  # noqa: A002
        if isinstance(type, device):
            type, index = type.type, type.index
        name = str(type)
        if ":" in name:
            name, idx = name.split(":", 1)
            index = int(idx)
        if name != "cpu":
            raise RuntimeError(
                f"device {str(type)!r} is not available: chainrule runs on the CPU with NumPy; "
                "use device='cpu'"
            )
        self.type = name
        self.index = index

    def __repr__(self) -> str:
        return f"device(type='{self.type}')" if self.index is None else (
            f"device(type='{self.type}', index={self.index})"
        )

    def __str__(self) -> str:
        return self.type if self.index is None else f"{self.type}:{self.index}"

    def __eq__(self, other: object) -> bool:
        if isinstance(other, str):
            other = device(other)
        return isinstance(other, device) and other.type == self.type

    def __hash__(self) -> int:
        return hash(self.type)


CPU = device("cpu")
