"""Autocast's global state (``set_autocast_*`` / ``get_autocast_*`` / ``is_autocast_*``) and the
regions that save and restore it, step by step against PyTorch 2.13."""

from __future__ import annotations

import threading
import warnings

import pytest
from reference import need_torch

import chainrule as cr


def _name(x: object) -> str:
    return str(x).split(".")[-1]


def _snap(T) -> tuple:
    a = T.ones(2, 2)
    return (
        T.is_autocast_enabled(),
        T.is_autocast_enabled("cpu"),
        T.is_autocast_enabled("cuda"),
        _name(T.get_autocast_dtype("cpu")),
        _name(T.get_autocast_dtype("cuda")),
        T.is_autocast_cpu_enabled(),
        _name(T.get_autocast_cpu_dtype()),
        T.is_autocast_cache_enabled(),
        _name((a @ a).dtype),
        _name((a + a).dtype),
        _name(T.nn.functional.linear(a, T.ones(3, 2)).dtype),
    )


def _run(T, steps) -> list:
    out = [_snap(T)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            for step in steps:
                step(T)
                out.append(_snap(T))
        finally:  # leave the thread's state as it was found
            T.set_autocast_enabled("cpu", False)
            T.set_autocast_enabled("cuda", False)
            T.set_autocast_dtype("cpu", T.bfloat16)
            T.set_autocast_dtype("cuda", T.float16)
            T.set_autocast_cache_enabled(True)
    return out


SEQUENCES = {
    "setters": [
        lambda T: T.set_autocast_enabled("cpu", True),  # default dtype bfloat16
        lambda T: T.set_autocast_dtype("cpu", T.float16),
        lambda T: T.set_autocast_dtype("cpu", T.float64),  # the setter takes any dtype
        lambda T: T.set_autocast_cpu_dtype(T.float16),
        lambda T: T.set_autocast_cpu_enabled(False),
        lambda T: T.set_autocast_enabled(True),  # one argument: CUDA's record
        lambda T: T.set_autocast_dtype("cuda", T.bfloat16),
        lambda T: T.set_autocast_cache_enabled(False),
        lambda T: T.set_autocast_enabled(False),
    ],
}


def _nested(T) -> list:
    out = []

    def rec():
        out.append(_snap(T))

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            T.set_autocast_dtype("cpu", T.float16)
            with T.autocast("cpu"):  # its default dtype is the state's: float16 here
                rec()
                T.set_autocast_dtype("cpu", T.bfloat16)
                rec()
                T.set_autocast_enabled("cpu", False)
                rec()
                with T.autocast("cpu", dtype=T.float16, cache_enabled=False):
                    rec()
                    with T.autocast("cpu", enabled=False):
                        rec()
                    rec()
                rec()
            rec()
            T.set_autocast_enabled("cpu", True)
            with T.autocast("cpu", dtype=T.float64):  # unsupported: disabled, dtype still set
                rec()
            rec()
            with T.autocast("cuda"):  # no CUDA: warns, is disabled, leaves the CPU alone
                rec()
            rec()
        finally:
            T.set_autocast_enabled("cpu", False)
            T.set_autocast_dtype("cpu", T.bfloat16)
            T.set_autocast_cache_enabled(True)
    return out


def test_sequences_of_setters_and_getters_match_pytorch() -> None:
    torch = need_torch()
    for steps in SEQUENCES.values():
        assert _run(cr, steps) == _run(torch, steps)


def test_nested_regions_with_setters_in_between_match_pytorch() -> None:
    torch = need_torch()
    assert _nested(cr) == _nested(torch)


def test_defaults_and_argument_forms_match_pytorch() -> None:
    torch = need_torch()
    for dev in ("cpu", "cuda", "mps", "xpu", "hpu", "cpu:0"):
        assert _name(cr.get_autocast_dtype(dev)) == _name(torch.get_autocast_dtype(dev)), dev
        assert cr.is_autocast_enabled(dev) is torch.is_autocast_enabled(dev) is False
    assert cr.is_autocast_enabled() is torch.is_autocast_enabled() is False
    assert cr.is_autocast_cache_enabled() is torch.is_autocast_cache_enabled() is True
    with pytest.warns(DeprecationWarning):
        cr.get_autocast_cpu_dtype()


def test_bad_arguments_raise_pytorch_classes() -> None:
    torch = need_torch()
    calls = [
        lambda T: T.get_autocast_dtype("foo"),
        lambda T: T.is_autocast_enabled("foo"),
        lambda T: T.set_autocast_enabled("foo", True),
        lambda T: T.set_autocast_enabled("cpu", 1),
        lambda T: T.set_autocast_enabled(1),
        lambda T: T.set_autocast_enabled(True, True),
        lambda T: T.set_autocast_dtype("cpu", 1),
        lambda T: T.set_autocast_cache_enabled(1),
        lambda T: T.autocast(1),
        lambda T: T.autocast("foo"),
    ]
    for call in calls:
        with pytest.raises(Exception) as ours:
            call(cr)
        with pytest.raises(Exception) as ref:
            call(torch)
        assert ours.type is ref.type, (ours.value, ref.value)
        assert str(ours.value)[:24] == str(ref.value)[:24], (ours.value, ref.value)
    assert not cr.is_autocast_enabled("cpu")


def test_ops_follow_a_state_set_with_the_setters_in_gradients_too() -> None:
    torch = need_torch()

    def run(T):
        x = T.ones(2, 3, dtype=T.float32, requires_grad=True)
        d = T.ones(3, 3, dtype=T.float64)
        T.set_autocast_enabled("cpu", True)
        T.set_autocast_dtype("cpu", T.float16)
        try:
            y = x @ x.t()
            dd = d @ d  # float64 is not eligible
            z = T.nn.functional.linear(x, x)
        finally:
            T.set_autocast_enabled("cpu", False)
            T.set_autocast_dtype("cpu", T.bfloat16)
        (y.float().sum() + z.float().sum()).backward()
        return _name(y.dtype), _name(dd.dtype), _name(z.dtype), _name(x.grad.dtype), x.grad.tolist()

    assert run(cr) == run(torch)


def test_the_state_is_per_thread() -> None:
    seen = []
    cr.set_autocast_enabled("cpu", True)
    cr.set_autocast_dtype("cpu", cr.float16)
    try:
        t = threading.Thread(
            target=lambda: seen.append((cr.is_autocast_enabled("cpu"), (cr.ones(2, 2) @ cr.ones(2, 2)).dtype))
        )
        t.start()
        t.join()
        assert (cr.ones(2, 2) @ cr.ones(2, 2)).dtype == cr.float16
    finally:
        cr.set_autocast_enabled("cpu", False)
        cr.set_autocast_dtype("cpu", cr.bfloat16)
    assert seen == [(False, cr.float32)]
    assert (cr.ones(2, 2) @ cr.ones(2, 2)).dtype == cr.float32


def test_a_decorated_function_restores_the_state_after_recursion_and_in_threads() -> None:
    region = cr.autocast("cpu", dtype=cr.float16)

    @region
    def depth(n: int) -> tuple:
        if n:
            return depth(n - 1)
        return cr.is_autocast_enabled("cpu"), (cr.ones(2, 2) @ cr.ones(2, 2)).dtype

    assert depth(3) == (True, cr.float16)
    assert not cr.is_autocast_enabled("cpu")
    assert (cr.ones(2, 2) @ cr.ones(2, 2)).dtype == cr.float32
    gate, seen = threading.Barrier(2), []

    def worker() -> None:
        gate.wait()
        seen.append(depth(2))
        seen.append(cr.is_autocast_enabled("cpu"))

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert seen.count((True, cr.float16)) == 2 and seen.count(False) == 2
    assert not cr.is_autocast_enabled("cpu")


def test_a_setter_that_cannot_take_effect_leaves_the_state_as_it_was(monkeypatch) -> None:
    """Without ml_dtypes, enabling CPU autocast (bfloat16 by default) raises the ImportError
    naming the extra, and autocast stays off instead of half on (reported on, ops not cast)."""
    from chainrule.amp import autocast_mode

    def missing(d: object) -> object:
        raise ImportError('chainrule.bfloat16 needs the ml_dtypes package: pip install "chainrule[bfloat16]"')

    monkeypatch.setattr(autocast_mode._dt, "to_numpy", missing)
    assert not cr.is_autocast_enabled("cpu")
    with pytest.raises(ImportError, match="ml_dtypes"):
        cr.set_autocast_enabled("cpu", True)
    assert not cr.is_autocast_enabled("cpu")
    monkeypatch.undo()
    x = cr.ones(2, 2)
    assert (x @ x).dtype == cr.float32  # the op wrapper is off as well
