"""The rest of the surface real code imports, against PyTorch 2.13 on this CPU-only machine:
backends flags, accelerator/cuda/mps queries, version, autocast, GradScaler, testing.assert_close,
safe globals, creation signatures, device/layout properties, DataParallel."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

import chainrule as cr


def test_backends_answer_for_a_cpu_only_library() -> None:
    assert cr.backends.cudnn.is_available() is False and cr.backends.mps.is_available() is False
    assert cr.backends.mps.is_built() is False and cr.backends.mkldnn.is_available() is False
    for flag in ("enabled", "benchmark", "deterministic"):  # same defaults, settable
        assert getattr(cr.backends.cudnn, flag) == getattr(torch.backends.cudnn, flag)
    cr.backends.cudnn.benchmark = True
    assert cr.backends.cudnn.benchmark is True
    cr.backends.cudnn.benchmark = False
    assert isinstance(cr.backends.cpu.get_cpu_capability(), str)


def test_accelerator_cuda_and_mps_queries_match_pytorch_on_cpu() -> None:
    for name in ("is_available", "current_accelerator", "device_count"):
        assert getattr(cr.accelerator, name)() == getattr(torch.accelerator, name)()
    for name in (
        "is_available",
        "device_count",
        "is_initialized",
        "memory_allocated",
        "max_memory_allocated",
        "is_bf16_supported",
    ):
        assert getattr(cr.cuda, name)() == getattr(torch.cuda, name)(), name
    for name in ("current_device", "get_device_name", "get_device_capability"):
        with pytest.raises(AssertionError):
            getattr(torch.cuda, name)()
        with pytest.raises(AssertionError, match="not built with CUDA"):
            getattr(cr.cuda, name)()
    assert cr.mps.device_count() == torch.mps.device_count() == 0
    assert cr.version.cuda is torch.version.cuda is None and cr.version.__version__ == cr.__version__


def test_tensor_device_and_layout_properties() -> None:
    t, r = cr.zeros(2), torch.zeros(2)
    for name in ("is_cuda", "is_xpu", "is_mps", "is_meta", "is_sparse", "is_quantized", "is_mkldnn"):
        assert getattr(t, name) == getattr(r, name), name


def test_creation_signatures_as_pytorch() -> None:
    assert cr.randint(9, size=(1,)).shape == torch.randint(9, size=(1,)).shape
    assert cr.randint(3, 9, (2, 2)).dtype == cr.int64
    assert cr.randint(0, 5, size=(3,), dtype=cr.int32).dtype == cr.int32
    v = cr.randint(2, 4, (1000,)).numpy()
    assert v.min() == 2 and v.max() == 3
    g1, g2 = cr.Generator().manual_seed(3), cr.Generator().manual_seed(3)
    assert cr.rand(4, generator=g1).tolist() == cr.rand(4, generator=g2).tolist()
    assert cr.randn(2, 3, generator=g1).shape == (2, 3)
    assert cr.empty(2, 3, memory_format=cr.contiguous_format).shape == (2, 3)
    assert cr.zeros(2, pin_memory=False, device="cpu").shape == (2,)
    with pytest.raises(TypeError):
        torch.zeros(2, memory_format=torch.contiguous_format)
    with pytest.raises(TypeError, match="memory_format"):
        cr.zeros(2, memory_format=cr.contiguous_format)
    with pytest.raises(TypeError, match="size is required"):
        cr.randint(5)


_FACTORY_CALLS = [
    "randint(2, 9, (3,), dtype=T.int32)",
    "randint(low=2, high=5, size=(2,))",
    "randint(3, (2,), layout=T.strided, pin_memory=False, device='cpu')",
    "rand((2, 3), layout=T.strided, pin_memory=False, out=None)",
    "randn(2, generator=G, dtype=T.float64)",
    "randn(size=(2, 3))",
    "empty((2, 3), pin_memory=False, layout=T.strided)",
    "zeros(2, out=None, dtype=T.float32, layout=T.strided, device='cpu', pin_memory=False)",
    "full((2,), 1.0, layout=T.strided, pin_memory=False, out=None)",
    "arange(3, layout=T.strided, pin_memory=False, out=None)",
    "linspace(0, 1, 3, layout=T.strided, pin_memory=False)",
    "logspace(0, 1, 3, layout=T.strided, pin_memory=False)",
    "eye(2, layout=T.strided, pin_memory=False)",
    "randperm(3, layout=T.strided, pin_memory=False, generator=G)",
    "full_like(T.zeros(2), 1, layout=T.strided, memory_format=T.preserve_format)",
    "zeros_like(T.zeros(2), layout=T.strided, pin_memory=False)",
    "rand_like(T.zeros(2), layout=T.strided, memory_format=T.preserve_format)",
    "randint_like(T.zeros(2), 5, layout=T.strided)",
    "empty_strided((2, 3), (3, 1))",
    "arange(3, out=T.zeros(3))",
    "zeros(2, 3, out=T.ones(2, 3))",
]


@pytest.mark.parametrize("call", _FACTORY_CALLS)
def test_factory_keywords_accepted_as_pytorch(call: str) -> None:
    results = []
    for T in (torch, cr):
        G = T.Generator().manual_seed(0)  # noqa: F841 - used by eval
        r = eval("T." + call)
        results.append((tuple(r.shape), str(r.dtype).split(".")[-1], r.requires_grad))
    assert results[0] == results[1]
    if "zeros(2, 3, out" in call:  # out= is written and returned
        out = cr.ones(2, 3)
        assert cr.zeros(2, 3, out=out) is out and out.tolist() == [[0.0] * 3] * 2


@pytest.mark.parametrize(
    "call",
    ["randint(-1, (2,))", "randint(5, 2, (2,))", "empty_strided((2, 3), (3,))"],
)
def test_factory_errors_as_pytorch(call: str) -> None:
    with pytest.raises(RuntimeError) as ref:
        eval("torch." + call)
    with pytest.raises(RuntimeError) as ours:
        eval("cr." + call)
    assert str(ref.value).split("(")[0].split(",")[0] in str(ours.value)


def test_factory_refusals_name_the_fix() -> None:
    with pytest.raises(TypeError, match="rand\\(\\) got an unexpected keyword argument 'foo'"):
        cr.rand(2, foo=1)
    with pytest.raises(RuntimeError, match="layout=chainrule.strided"):
        cr.zeros(2, layout=cr.sparse_coo)  # chainrule has no sparse tensors
    with pytest.raises(RuntimeError, match="out= must be a tensor of shape"):
        cr.zeros(2, out=cr.zeros(3))


# ------------------------------------------------------------------ autocast
def _product_dtypes(T, **kw):
    a = T.ones(2, 2)
    w = T.ones(3, 2)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with T.autocast("cpu", **kw):
            out = (
                str((a @ a).dtype),
                str((a + a).dtype),
                str(T.nn.functional.linear(a, w).dtype),
                str((a @ a + a).dtype),
            )
    disabled = any("Disabling autocast" in str(c.message) for c in caught)
    return tuple(s.split(".")[-1] for s in out), disabled


def test_autocast_float16_casts_products_only() -> None:
    assert _product_dtypes(cr, dtype=cr.float16) == _product_dtypes(torch, dtype=torch.float16)


def test_autocast_with_an_unsupported_dtype_warns_and_is_disabled() -> None:
    assert _product_dtypes(cr, dtype=cr.float64) == _product_dtypes(torch, dtype=torch.float64)
    dtypes, disabled = _product_dtypes(cr)  # PyTorch's default, bfloat16: chainrule has none
    assert disabled and dtypes == ("float32",) * 4


def test_autocast_gradients_flow_to_float32_leaves() -> None:
    x = cr.ones(2, 3, requires_grad=True)
    with cr.autocast("cpu", dtype=cr.float16):
        y = (x @ x.t()).sum()
    y.backward()
    assert y.dtype == cr.float16 and x.grad.dtype == cr.float32
    np.testing.assert_allclose(x.grad.numpy(), np.full((2, 3), 4.0))
    assert not cr.is_autocast_enabled("cpu")


def test_autocast_as_a_decorator() -> None:
    @cr.autocast("cpu", dtype=cr.float16)
    def f(a):
        return a @ a

    assert f(cr.ones(2, 2)).dtype == cr.float16


# ---------------------------------------------------------------- GradScaler
def _scaler_run(T, grads):
    w = T.nn.Parameter(T.ones(3))
    opt = T.optim.SGD([w], lr=0.1)
    scaler = T.amp.GradScaler("cpu", init_scale=4.0, growth_interval=2)
    out = []
    for g in grads:
        opt.zero_grad()
        loss = (w * T.tensor(g, dtype=T.float32)).sum()
        scaler.scale(loss).backward()
        scaler.step(opt)
        scaler.update()
        out.append((scaler.get_scale(), w.detach().numpy().copy()))
    return out, scaler.state_dict()


def test_grad_scaler_follows_pytorch() -> None:
    grads = [[1.0, 2.0, 3.0], [np.inf, 0.0, 0.0], [1.0, 1.0, 1.0], [0.5, 0.5, 0.5], [1.0, 0.0, 1.0]]
    ours, s1 = _scaler_run(cr, grads)
    ref, s2 = _scaler_run(torch, grads)
    for (a, wa), (b, wb) in zip(ours, ref):
        assert a == b
        np.testing.assert_allclose(wa, wb, rtol=1e-6)
    assert s1 == s2


def test_disabled_grad_scaler_is_a_pass_through() -> None:
    s, r = cr.amp.GradScaler(enabled=False), torch.amp.GradScaler("cpu", enabled=False)
    assert s.is_enabled() == r.is_enabled() and s.get_scale() == r.get_scale()
    assert s.state_dict() == r.state_dict() == {}
    t = cr.tensor(2.0)
    assert s.scale(t) is t


# --------------------------------------------------------------- assert_close
CLOSE = [
    (1.0, 1.5),
    ([1.0, 2.0, 3.0], [1.0, 2.5, 3.0]),
    ([1, 2], [1, 3]),
    ([[0.0, 0.0]], [[1.0, 1.0]]),
    ([1.0, float("nan")], [1.0, float("nan")]),
    ([1.0, 2.0], [1.0, 2.0, 3.0]),
]


def _as(T, v):
    return v if isinstance(v, float) else T.tensor(v)


@pytest.mark.parametrize("a,b", CLOSE)
def test_assert_close_messages_match_pytorch(a, b) -> None:
    with pytest.raises(AssertionError) as ref:
        torch.testing.assert_close(_as(torch, a), _as(torch, b))
    with pytest.raises(AssertionError) as ours:
        cr.testing.assert_close(_as(cr, a), _as(cr, b))
    assert str(ours.value) == str(ref.value).replace("torch.", "chainrule.")


def test_assert_close_accepts_close_values_and_checks_arguments() -> None:
    cr.testing.assert_close(cr.tensor([1.0, 2.0]), cr.tensor([1.0, 2.0 + 1e-7]))
    cr.testing.assert_close(cr.tensor([float("nan")]), cr.tensor([float("nan")]), equal_nan=True)
    cr.testing.assert_close([cr.tensor(1.0)], [cr.tensor(1.0)])
    with pytest.raises(ValueError, match="Both 'rtol' and 'atol'"):
        cr.testing.assert_close(cr.zeros(1), cr.zeros(1), rtol=1e-3)
    with pytest.raises(AssertionError, match=r"item \[0\]"):
        cr.testing.assert_close([cr.tensor(1.0)], [cr.tensor(2.0)])
    with pytest.raises(AssertionError, match="custom"):
        cr.testing.assert_close(cr.tensor(1.0), cr.tensor(2.0), msg="custom")


def test_safe_globals_registry() -> None:
    class Config:
        pass

    cr.serialization.clear_safe_globals()
    with cr.serialization.safe_globals([Config]):
        assert cr.serialization.get_safe_globals() == [Config]
    assert cr.serialization.get_safe_globals() == []
    cr.serialization.add_safe_globals([(Config, "my.Config")])
    assert cr.serialization.get_safe_globals() == [(Config, "my.Config")]
    cr.serialization.clear_safe_globals()
    with pytest.raises(TypeError, match="callables"):
        cr.serialization.add_safe_globals([3])


def test_data_parallel_on_the_one_device_as_pytorch() -> None:
    cr.manual_seed(0)
    lin = cr.nn.Linear(3, 2)
    ref_lin = torch.nn.Linear(3, 2)
    ref_lin.load_state_dict(
        {k: torch.from_numpy(v.detach().numpy().copy()) for k, v in lin.state_dict().items()}
    )
    ours, ref = cr.nn.DataParallel(lin), torch.nn.DataParallel(ref_lin)
    assert list(ours.state_dict()) == list(ref.state_dict()) and repr(ours) == repr(ref)
    x = np.random.default_rng(0).standard_normal((4, 3)).astype(np.float32)
    np.testing.assert_allclose(
        ours(cr.tensor(x)).detach().numpy(), ref(torch.tensor(x)).detach().numpy(), rtol=1e-6
    )
    y = cr.nn.parallel.data_parallel(lin, cr.tensor(x))
    np.testing.assert_allclose(y.detach().numpy(), ours(cr.tensor(x)).detach().numpy())
    with pytest.raises(RuntimeError, match="CPU only"):
        cr.nn.DataParallel(lin, device_ids=[1])
