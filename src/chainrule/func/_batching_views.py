"""Batching rules of the strided view ops and of the ops that in-place writes through views record.

``diagonal`` and ``unfold`` name their dimensions, so a batch in front only shifts them by one.
``as_strided``, a regenerated view and ``CopySlices`` address elements by flat position in one
example: example ``b`` of a batch starts ``b * numel`` further on in the batch's C-order layout.
The fused LSTM cell (not a view, but its output stacks (h, c) in front) moves the batch back to 0.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..ops import _core
from .batching import align, all_batched

_P = _core.PRIMITIVES


def _diagonal(lvl: Any, args: list, batched: list, params: dict) -> Any:
    return _core.apply(
        _P["Diagonal"], (args[0],), dict(params, dim1=params["dim1"] + 1, dim2=params["dim2"] + 1)
    )


def _unfold(lvl: Any, args: list, batched: list, params: dict) -> Any:
    return _core.apply(_P["Unfold"], (args[0],), dict(params, dim=params["dim"] + 1))


def _numel(a: Any) -> int:
    return math.prod(_core._shape_of(a)[1:])  # of one example of a batched payload


def _batched_pos(pos: np.ndarray, size: int, numel: int) -> np.ndarray:
    return np.arange(size, dtype=np.int64).reshape((size,) + (1,) * pos.ndim) * numel + pos


def _as_strided(lvl: Any, args: list, batched: list, params: dict) -> Any:
    x = args[0]
    p = dict(
        size=(lvl.size,) + params["size"], stride=(_numel(x),) + params["stride"], offset=params["offset"]
    )
    return _core.apply(_P["AsStrided"], (x,), p)


def _replay(lvl: Any, args: list, batched: list, params: dict) -> Any:
    x = args[0]
    return _core.apply(_P["ViewReplay"], (x,), {"pos": _batched_pos(params["pos"], lvl.size, _numel(x))})


def _copy_slices(lvl: Any, args: list, batched: list, params: dict) -> Any:
    base, src = all_batched(lvl, args, batched)
    pos = _batched_pos(params["pos"], lvl.size, _numel(base))
    return _core.apply(_P["CopySlices"], (base, align(src, params["pos"].ndim)), {"pos": pos})


def _lstm_cell(lvl: Any, args: list, batched: list, params: dict) -> Any:
    from ..ops.shape import movedim

    gates, c = all_batched(lvl, args, batched)
    return movedim(_core.apply(_P["LstmCell"], (gates, c), params), 1, 0)


def register_view_rules() -> None:
    for name, rule in (
        ("Diagonal", _diagonal),
        ("Unfold", _unfold),
        ("AsStrided", _as_strided),
        ("ViewReplay", _replay),
        ("CopySlices", _copy_slices),
        ("LstmCell", _lstm_cell),
    ):
        _P[name].extra["batch"] = rule
