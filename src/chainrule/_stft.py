"""The short-time Fourier transform and its inverse, composed from ``unfold`` (the frames), the
FFTs and ``index_add`` (overlap-add), so both differentiate through the transforms.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from . import ops
from ._tensor import Tensor
from .ops import complex as _cx
from .ops._core import fail, structural

__all__ = ["stft", "istft"]


def _window(window: Any, n_fft: int, win_length: int, dtype: np.dtype, op: str) -> Any:
    """The window zero-padded (centred) to ``n_fft`` points."""
    if win_length <= 0 or win_length > n_fft:
        raise fail(f"{op}(): expected 0 < win_length <= n_fft, but got win_length={win_length}", RuntimeError)
    left = (n_fft - win_length) // 2
    if window is None:
        return structural(np.pad(np.ones(win_length, dtype=dtype), (left, n_fft - win_length - left)))
    if window._data.ndim != 1 or window._data.shape[0] != win_length:
        raise fail(
            f"{op}(): expected a 1D window tensor of size equal to win_length={win_length}, but got "
            f"window with size {list(window._data.shape)} (shape {tuple(window._data.shape)})",
            RuntimeError,
        )
    return ops.pad(window, (left, n_fft - win_length - left)) if win_length < n_fft else window


def _lengths(n_fft: int, hop_length: int | None, win_length: int | None) -> tuple[int, int]:
    """PyTorch's defaults: hop n_fft // 4, window n_fft."""
    hop = n_fft // 4 if hop_length is None else int(hop_length)
    return hop, n_fft if win_length is None else int(win_length)


def stft(
    input: Any,
    n_fft: int,
    hop_length: int | None = None,
    win_length: int | None = None,  # noqa: A002
    window: Any = None,
    center: bool = True,
    pad_mode: str = "reflect",
    normalized: bool = False,
    onesided: bool | None = None,
    return_complex: bool | None = None,
) -> Any:
    """The spectrogram of a 1-D (L) or 2-D (B, L) signal: (B?, n_fft // 2 + 1, frames) complex
    values of the windowed frames' DFTs (all n_fft frequencies with ``onesided=False``)."""
    from . import fft

    x = input
    cplx = x._data.dtype.kind == "c" or (window is not None and window._data.dtype.kind == "c")
    if return_complex is None and not cplx:
        raise fail(
            "stft requires the return_complex parameter be given for real inputs, and will further "
            "require that return_complex=True in a future PyTorch release.",
            RuntimeError,
        )
    if x._data.ndim not in (1, 2):
        raise fail(f"stft(): expected a 1D or 2D tensor, got shape {tuple(x._data.shape)}", RuntimeError)
    hop, wl = _lengths(n_fft, hop_length, win_length)
    if hop <= 0:
        raise fail(f"stft(): expected hop_length > 0, but got hop_length={hop}", RuntimeError)
    if window is None:
        warnings.warn(
            "A window was not provided. A rectangular window will be applied, which is known to "
            "cause spectral leakage; pass e.g. window=torch.hann_window(n_fft)",
            UserWarning,
            stacklevel=2,
        )
    batched = x._data.ndim == 2
    x = x if batched else ops.unsqueeze(x, 0)
    if center:
        p = n_fft // 2
        if pad_mode == "reflect" and x._data.shape[-1] <= p:
            raise fail(
                f"stft(): reflect padding of {p} (n_fft // 2) needs a signal longer than {p} samples, got "
                f"an input of shape {tuple(input._data.shape)}; pass center=False or a longer signal",
                RuntimeError,
            )
        from .nn import functional as F

        x = ops.squeeze(F.pad(ops.unsqueeze(x, 1), (p, p), mode=pad_mode), 1)
    length = x._data.shape[-1]
    if not 0 < n_fft <= length:
        raise fail(
            f"stft(): expected 0 < n_fft <= {length} (the padded signal's length), but got "
            f"n_fft={n_fft} (input shape {tuple(input._data.shape)})",
            RuntimeError,
        )
    frames = ops._unfold(x, -1, n_fft, hop)  # (B, frames, n_fft)
    frames = ops.mul(frames, _window(window, n_fft, wl, x._data.dtype, "stft"))
    one = (not cplx) if onesided is None else onesided
    spec = fft.rfft(frames, dim=-1) if one else fft.fft(frames, dim=-1)
    if normalized:
        spec = ops.mul(spec, n_fft**-0.5)
    spec = ops.transpose(spec, -2, -1)
    spec = spec if batched else ops.squeeze(spec, 0)
    if not return_complex:
        warnings.warn(
            "stft with return_complex=False is deprecated; use return_complex=True (and "
            "torch.view_as_real for the real pairs)",
            UserWarning,
            stacklevel=2,
        )
        return _cx.view_as_real(spec)
    return spec


def istft(
    input: Any,
    n_fft: int,
    hop_length: int | None = None,
    win_length: int | None = None,  # noqa: A002
    window: Any = None,
    center: bool = True,
    normalized: bool = False,
    onesided: bool | None = None,
    length: int | None = None,
    return_complex: bool = False,
) -> Any:
    """The signal whose ``stft`` is ``input``: inverse DFTs of the frames, windowed again and
    overlap-added, divided by the summed squared window."""
    from . import fft

    z = input
    if not isinstance(z, Tensor) or z._data.dtype.kind != "c":
        raise fail(
            "istft(): istft requires a complex-valued input tensor matching the output from stft "
            "with return_complex=True.",
            RuntimeError,
        )
    if z._data.ndim == 0:
        raise fail(
            "istft(): dimension out of range (expected to be in range of [-1, 0], but got -2): the input "
            "has no dimensions (shape ()); pass the (freq, frames) spectrogram stft returns",
            IndexError,
        )
    if z._data.size == 0:
        raise fail(f"istft(): input tensor cannot be empty (shape {tuple(z._data.shape)})", RuntimeError)
    if z._data.ndim not in (2, 3):
        raise fail(
            f"istft(): expected a tensor with 2 or 3 dimensions of complex values, got shape "
            f"{tuple(z._data.shape)}",
            RuntimeError,
        )
    hop, wl = _lengths(n_fft, hop_length, win_length)
    batched = z._data.ndim == 3
    z = z if batched else ops.unsqueeze(z, 0)
    n_freq, n_frames = z._data.shape[-2:]
    one = (n_freq != n_fft) if onesided is None else onesided
    if one and n_freq != n_fft // 2 + 1:
        raise fail(
            f"istft(): expected the frequency dim to be n_fft // 2 + 1 = {n_fft // 2 + 1} for a "
            f"onesided input, got {n_freq}",
            RuntimeError,
        )
    if window is None:
        warnings.warn(
            "A window was not provided. A rectangular window will be applied. Please provide the "
            "same window used by stft to make the inversion lossless.",
            UserWarning,
            stacklevel=2,
        )
    frames = ops.transpose(z, -2, -1)
    if normalized:
        frames = ops.mul(frames, n_fft**0.5)
    if one:
        frames = fft.irfft(frames, n=n_fft, dim=-1)
    else:
        frames = fft.ifft(frames, n=n_fft, dim=-1)
        if not return_complex:
            frames = _cx.real(frames)
    real_dtype = frames._data.real.dtype if frames._data.dtype.kind == "c" else frames._data.dtype
    w = _window(window, n_fft, wl, real_dtype, "istft")
    frames = ops.mul(frames, w)
    total = n_fft + hop * (n_frames - 1)
    pos = structural((np.arange(n_frames)[:, None] * hop + np.arange(n_fft)).reshape(-1))
    b = frames._data.shape[0]
    y = ops.index_add(
        structural(np.zeros((b, total), dtype=frames._data.dtype)), 1, pos, ops.reshape(frames, (b, -1))
    )
    w2 = ops.mul(w, w)
    env = ops.index_add(
        structural(np.zeros(total, dtype=real_dtype)),
        0,
        pos,
        ops.reshape(ops.expand(ops.unsqueeze(w2, 0), n_frames, n_fft), (-1,)),
    )
    start = n_fft // 2 if center else 0
    end = total - n_fft // 2 if center else total
    if length is not None:
        end = start + int(length)
    end_in = min(end, total)
    y, env = y[:, start:end_in], env[start:end_in]
    if env._data.size and np.abs(env._data).min() < 1e-11:
        raise fail(
            "istft(): window overlap add min: the summed squared window is zero somewhere "
            "(the window and hop_length fail the NOLA condition)",
            RuntimeError,
        )
    y = ops.div(y, env)
    if end > total:
        warnings.warn(
            "The length of signal is shorter than the length parameter. Result is being padded "
            "with zeros in the tail. Please check your center and hop_length settings.",
            UserWarning,
            stacklevel=2,
        )
        y = ops.pad(y, (0, end - total))
    return y if batched else ops.squeeze(y, 0)


from ._naming import name_all  # noqa: E402

name_all(globals(), __all__)  # their errors name them (cov(): matmul(): ...)
