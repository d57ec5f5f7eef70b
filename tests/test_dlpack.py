"""DLPack: zero-copy both ways with NumPy and PyTorch, proven by writing through one side."""

from __future__ import annotations

import numpy as np
import pytest
from reference import torch

import chainrule as cr
from chainrule.utils import dlpack


def test_numpy_both_ways_share_memory():
    t = cr.arange(6.0).reshape(2, 3)
    a = np.from_dlpack(t)
    a[0, 1] = -5.0
    assert t[0, 1].item() == -5.0
    arr = np.arange(4, dtype=np.int32)
    u = cr.from_dlpack(arr)
    u[2] = 40
    assert arr[2] == 40 and u.dtype == cr.int32
    assert t.__dlpack_device__() == (1, 0)


@pytest.mark.skipif(torch is None, reason="needs the PyTorch reference")
@pytest.mark.parametrize("dtype", ["float32", "float64", "float16", "int64", "uint8", "bool"])
def test_torch_both_ways_share_memory(dtype):
    src = np.arange(12).reshape(3, 4).astype(dtype)
    t = cr.from_numpy(src.copy())
    tt = torch.from_dlpack(t)
    assert str(tt.dtype) == f"torch.{dtype}" and tt.data_ptr() == t.data_ptr()
    tt[1, 2] = 1
    assert t[1, 2].item() == tt[1, 2].item()
    ref = torch.from_numpy(src.copy())
    c = cr.from_dlpack(ref)
    assert c.data_ptr() == ref.data_ptr()
    c[0, 0] = 1
    assert ref[0, 0].item() == c[0, 0].item()


@pytest.mark.skipif(torch is None, reason="needs the PyTorch reference")
def test_strided_views_and_capsules():
    base = cr.arange(12.0).reshape(3, 4)
    view = base.T[1:]
    tt = torch.from_dlpack(view)
    assert tt.stride() == (1, 4) and tt.tolist() == view.tolist()
    tt[0, 0] = 100.0
    assert base[0, 1].item() == 100.0
    capsule = dlpack.to_dlpack(base)
    back = torch.utils.dlpack.from_dlpack(capsule)
    back[2, 3] = -1.0
    assert base[2, 3].item() == -1.0
    ref = torch.zeros(3)
    mine = dlpack.from_dlpack(torch.utils.dlpack.to_dlpack(ref))
    mine[1] = 7.0
    assert ref[1].item() == 7.0


def test_refusals():
    with pytest.raises(RuntimeError, match=r"requires grad.*detach\(\)"):
        np.from_dlpack(cr.ones(2, requires_grad=True))
    with pytest.raises(RuntimeError, match="requires grad"):
        dlpack.to_dlpack(cr.ones(2, requires_grad=True))

    class OnGpu:
        def __dlpack__(self, **kwargs):
            raise AssertionError("not to be called")

        def __dlpack_device__(self):
            return (2, 0)

    with pytest.raises(RuntimeError, match=r"DLPack device \(2, 0\), not the CPU.*cpu\(\)"):
        cr.from_dlpack(OnGpu())
    if torch is not None:
        with pytest.raises(TypeError, match="convert"):
            cr.from_dlpack(torch.ones(2, dtype=torch.bfloat16))
