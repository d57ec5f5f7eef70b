"""Images for TensorBoard: a layout string -> an ``(H, W, 3|4)`` uint8 array -> PNG bytes.

TensorBoard stores images PNG-encoded.  The encoder here is the format's minimum (8-bit RGB or
RGBA, filter 0, one zlib stream), written with ``zlib`` so that logging an image needs no
imaging library.  Pixel values follow PyTorch's writer: uint8 arrays are taken as they are, any
other dtype is read as ``[0, 1]`` and scaled by 255 in float32, clipped, then truncated.
"""

from __future__ import annotations

import math
import struct
import zlib

import numpy as np

__all__ = ["to_hwc", "to_uint8", "png", "sprite"]

_LAYOUTS = ({"H", "W"}, {"C", "H", "W"}, {"N", "C", "H", "W"})


def to_hwc(method: str, img: np.ndarray, dataformats: str) -> np.ndarray:
    """``img`` in the layout ``dataformats`` (a permutation of HW, CHW or NCHW) as ``(H, W, C)``
    with C in {3, 4}: one channel is repeated to grey RGB, a batch is tiled 8 images per row."""
    if not isinstance(dataformats, str):
        raise TypeError(f"{method}: dataformats must be a string such as 'CHW', got {dataformats!r}")
    fmt = dataformats.upper()
    if len(set(fmt)) != len(fmt) or set(fmt) not in _LAYOUTS:
        raise ValueError(
            f"{method}: dataformats={dataformats!r} is not an image layout; use a permutation of "
            "'HW', 'CHW' or 'NCHW' (each letter once), e.g. 'CHW', 'HWC' or 'NHWC'"
        )
    if img.ndim != len(fmt):
        raise ValueError(
            f"{method}: img_tensor of shape {tuple(img.shape)} has {img.ndim} dimensions but "
            f"dataformats={dataformats!r} has {len(fmt)}; pass the layout of the data (e.g. "
            f"{_suggest(img.ndim)})"
        )
    if img.dtype.kind not in "biuf":
        raise TypeError(f"{method}: img_tensor must hold real numbers, got dtype {img.dtype}")
    if "C" not in fmt:
        img = img[..., None]
        fmt += "C"
    order = [fmt.index(c) for c in ("NCHW" if "N" in fmt else "CHW")]
    chw = np.transpose(img, order)
    channels = chw.shape[-3]
    if channels not in (1, 3, 4):
        raise ValueError(
            f"{method}: img_tensor of shape {tuple(img.shape)} (dataformats={dataformats!r}) has "
            f"{channels} channels; an image has 1 (grey), 3 (RGB) or 4 (RGBA)"
        )
    if 0 in chw.shape:
        raise ValueError(f"{method}: img_tensor of shape {tuple(img.shape)} is empty")
    if chw.ndim == 4:
        chw = grid(chw, 8)
    if chw.shape[0] == 1:
        chw = np.concatenate([chw] * 3, axis=0)
    return np.transpose(chw, (1, 2, 0))


def _suggest(ndim: int) -> str:
    return {2: "'HW'", 3: "'CHW' or 'HWC'", 4: "'NCHW' or 'NHWC'"}.get(ndim, "'CHW'")


def grid(nchw: np.ndarray, ncols: int) -> np.ndarray:
    """A batch ``(N, C, H, W)`` tiled row-major into ``(C, H * rows, W * cols)``, zeros where no image."""
    n, c, h, w = nchw.shape
    ncols = min(n, ncols)
    nrows = -(-n // ncols)
    padded = np.zeros((nrows * ncols, c, h, w), dtype=nchw.dtype)
    padded[:n] = nchw
    tiles = padded.reshape(nrows, ncols, c, h, w)
    return tiles.transpose(2, 0, 3, 1, 4).reshape(c, nrows * h, ncols * w)


def to_uint8(img: np.ndarray) -> np.ndarray:
    if img.dtype == np.uint8:
        return img
    return (img.astype(np.float32) * np.float32(255)).clip(0, 255).astype(np.uint8)


def png(hwc: np.ndarray) -> bytes:
    """PNG bytes of an ``(H, W, 3|4)`` uint8 array."""
    h, w, c = hwc.shape
    rows = np.zeros((h, 1 + w * c), dtype=np.uint8)  # each row starts with filter type 0 (none)
    rows[:, 1:] = np.ascontiguousarray(hwc).reshape(h, w * c)
    header = struct.pack(">IIBBBBB", w, h, 8, {3: 2, 4: 6}[c], 0, 0, 0)

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    idat = zlib.compress(rows.tobytes(), 6)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def sprite(label_img: np.ndarray) -> np.ndarray:
    """The projector's sprite: ``(N, C, H, W)`` images on a square ``ceil(sqrt(N))``-wide grid, HWC uint8."""
    n = label_img.shape[0]
    tiled = grid(label_img, math.ceil(math.sqrt(n)))
    if tiled.shape[0] == 1:
        tiled = np.concatenate([tiled] * 3, axis=0)
    side = max(tiled.shape[1], tiled.shape[2])
    square = np.zeros((tiled.shape[0], side, side), dtype=tiled.dtype)
    square[:, : tiled.shape[1], : tiled.shape[2]] = tiled
    hwc = np.transpose(square, (1, 2, 0))
    if hwc.dtype == np.uint8:
        return hwc
    return (hwc.astype(np.float64) * 255).clip(0, 255).astype(np.uint8)  # PyTorch scales sprites in float64
