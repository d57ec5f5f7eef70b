"""``chainrule.cpu`` (PyTorch's ``torch.cpu``) and ``get_device_module``, against PyTorch 2.13 on a
CPU-only machine."""

from __future__ import annotations

import warnings

import pytest
from reference import need_torch

import chainrule as cr


def test_queries_match_pytorch() -> None:
    torch = need_torch()
    for name in ("is_available", "device_count", "current_device", "synchronize", "is_initialized"):
        assert getattr(cr.cpu, name)() == getattr(torch.cpu, name)(), name
    assert cr.cpu.set_device(0) is torch.cpu.set_device(0) is None
    assert cr.cpu.set_device("cpu") is None


def test_streams_and_events_select_and_restore() -> None:
    torch = need_torch()

    def run(T):
        m = T.cpu
        s = m.Stream()
        before = m.current_stream()
        seen = []
        with m.stream(s) as r:
            seen.append((r, m.current_stream() is s, before is not s))
            with m.StreamContext(None):
                seen.append(m.current_stream() is s)
        seen.append(m.current_stream() is before)
        e = m.Event()
        seen.append((e.query(), e.record(), e.synchronize(), e.wait(), s.wait_stream(s), s.wait_event(e)))
        return seen

    assert run(cr) == run(torch)


def test_cpu_amp_autocast_is_the_cpu_region() -> None:
    torch = need_torch()

    def run(T):
        a = T.ones(2, 2)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            with T.cpu.amp.autocast(dtype=T.float16):
                inside = (str((a @ a).dtype), T.is_autocast_enabled("cpu"), str(T.get_autocast_dtype("cpu")))
        return [s.split(".")[-1] if isinstance(s, str) else s for s in inside], [c.category for c in caught]

    assert run(cr) == run(torch)
    assert cr.cpu.amp.GradScaler is cr.amp.GradScaler


@pytest.mark.parametrize("dev", ["cpu", "cpu:0", "cuda", "mps", None, "device-cpu", "device-cuda"])
def test_get_device_module_picks_pytorch_s_module(dev) -> None:
    torch = need_torch()

    def arg(T):
        return T.device(dev[7:]) if dev and dev.startswith("device-") else dev

    if dev == "device-cuda":  # chainrule.device("cuda") itself refuses: there is no CUDA
        with pytest.raises(RuntimeError):
            cr.device("cuda")
        return
    ours = cr.get_device_module(arg(cr)) if dev is not None else cr.get_device_module()
    ref = torch.get_device_module(arg(torch)) if dev is not None else torch.get_device_module()
    assert ours.__name__.replace("chainrule", "torch") == ref.__name__


@pytest.mark.parametrize("dev", ["foo", 3, 1.5])
def test_get_device_module_refuses_as_pytorch(dev) -> None:
    torch = need_torch()
    with pytest.raises(RuntimeError) as ours:
        cr.get_device_module(dev)
    with pytest.raises(RuntimeError) as ref:
        torch.get_device_module(dev)
    assert str(ours.value)[:20] == str(ref.value)[:20]
