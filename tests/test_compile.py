"""chainrule.compile: the API forms, guards and retracing, graph breaks, effects, training.

Every check compares the compiled call with the eager one on the same inputs, and the
trace counts say when the compiler traced (a guard failed) and when it reused code.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn
from chainrule.compile.tracer import GraphBreak


def _d(t: cr.Tensor) -> np.ndarray:
    return t.detach().numpy()


def _traces(c: object) -> int:
    inner = c.__dict__.get("_compiled") or c.__dict__.get("_compiled_call") or c
    return inner.traces


def _entry_reasons(c: object) -> list:
    inner = c.__dict__.get("_compiled") or c.__dict__.get("_compiled_call") or c
    return [e.eager_reason for e in inner.cache.values() if e.eager_reason]


def test_function_decorator_and_module_forms() -> None:
    def f(x: cr.Tensor) -> cr.Tensor:
        return cr.tanh(x) * 2 + 1

    @cr.compile
    def g(x: cr.Tensor) -> cr.Tensor:
        return cr.tanh(x) * 2 + 1

    @cr.compile(fullgraph=True)
    def h(x: cr.Tensor) -> cr.Tensor:
        return cr.tanh(x) * 2 + 1

    x = cr.randn(3, 4, dtype=cr.float64)
    for c in (cr.compile(f), g, h):
        for _ in range(3):
            np.testing.assert_array_equal(_d(c(x)), _d(f(x)))
        assert c.traces == 1
    cr.manual_seed(0)
    m = nn.Sequential(nn.Linear(4, 5), nn.ReLU(), nn.Linear(5, 2))
    m.tag = "mlp"
    om = cr.compile(m)
    assert om._orig_mod is m and om.tag == "mlp"  # attributes fall through to the module
    assert list(om.state_dict()) == [f"_orig_mod.{k}" for k in m.state_dict()]
    want = _d(m(x.float()))
    for _ in range(3):
        np.testing.assert_array_equal(_d(om(x.float())), want)
    m.compile()
    for _ in range(3):
        np.testing.assert_array_equal(_d(m(x.float())), want)
    assert _traces(m) == 1 and _traces(om) == 1
    with pytest.raises(ValueError, match="unknown backend"):
        cr.compile(f, backend="tensorrt")


def test_guards_retrace_on_shape_dtype_flags_and_requires_grad_only() -> None:
    cr.manual_seed(0)
    m = nn.Sequential(nn.Linear(4, 3), nn.Dropout(0.5))
    c = cr.compile(m)
    x = cr.randn(8, 4)
    m.eval()
    c(x), c(x), c(cr.randn(8, 4))
    assert _traces(c) == 1  # new values, same guards: reused
    c(cr.randn(5, 4))
    assert _traces(c) == 2  # batch size
    c(cr.randn(5, 4, dtype=cr.float64).float())
    assert _traces(c) == 2
    m.train()
    c(x)
    assert _traces(c) == 3  # train/eval switch
    m.eval()
    c(x)
    assert _traces(c) == 3  # back to a known key
    c(x.detach().requires_grad_())
    assert _traces(c) == 4  # requires_grad
    with cr.no_grad():
        c(x)
    assert _traces(c) == 5  # grad mode
    m[0].weight = nn.Parameter(cr.randn(3, 4))
    np.testing.assert_allclose(_d(c(x)), _d(m(x)), rtol=1e-6)
    assert _traces(c) == 6  # a replaced parameter is a new guard value

    def scaled(x: cr.Tensor, k: float) -> cr.Tensor:
        return x * k

    s = cr.compile(scaled)
    assert _d(s(x, 2.0)).tolist() == _d(x * 2.0).tolist()
    assert _d(s(x, 3.0)).tolist() == _d(x * 3.0).tolist()  # a Python scalar is guarded
    assert s.traces == 2


def test_graph_break_at_item_and_branch_gives_eager_results_on_both_branches() -> None:
    def f(x: cr.Tensor) -> cr.Tensor:
        if x.sum() > 0:
            return x * 2
        return x - 1

    def g(x: cr.Tensor) -> cr.Tensor:
        return x * x.mean().item()

    cf, cg = cr.compile(f), cr.compile(g)
    for sign in (1, -1, 1, -1, 1):
        x = cr.tensor(np.abs(np.random.default_rng(sign + 5).standard_normal(4)) * sign)
        np.testing.assert_array_equal(_d(cf(x)), _d(f(x)))
        np.testing.assert_array_equal(_d(cg(x)), _d(g(x)))
    assert cf.traces == 2  # one artefact per branch, then reused
    out = cr.compiler.explain(f, cr.ones(4))
    assert out.graph_break_count == 1 and "__bool__" in out.break_reasons[0]
    assert "x.sum() > 0" in out.break_reasons[0]


def test_fullgraph_names_the_source_line() -> None:
    def f(x: cr.Tensor) -> cr.Tensor:
        y = x * 2
        if y.sum() > 0:  # the line the error must name
            return y
        return -y

    with pytest.raises(GraphBreak, match=r"test_compile.py:\d+: if y.sum\(\) > 0"):
        cr.compile(f, fullgraph=True)(cr.ones(3))

    def g(x: cr.Tensor) -> cr.Tensor:
        return x * float(np.asarray(x.detach().numpy()).sum())

    with pytest.raises(GraphBreak, match=r"\.numpy\(\)"):
        cr.compile(g, fullgraph=True)(cr.ones(3))


def test_untraceable_code_runs_eagerly_with_the_reason() -> None:
    def f(x: cr.Tensor) -> cr.Tensor:
        return x + cr.tensor(x.detach().numpy() ** 2)

    c = cr.compile(f)
    for k in range(3):
        x = cr.randn(3) + k
        np.testing.assert_array_equal(_d(c(x)), _d(f(x)))
    assert any(".numpy()" in r for r in _entry_reasons(c))
    assert c.traces == 1  # the key is marked eager: no retrace per call


def test_gradients_and_input_grad_match_eager() -> None:
    w = cr.randn(4, 3, dtype=cr.float64, requires_grad=True)

    def f(x: cr.Tensor) -> cr.Tensor:
        return (cr.sigmoid(x @ w) ** 2).sum()

    c = cr.compile(f)
    for seed in range(3):
        x = cr.tensor(np.random.default_rng(seed).standard_normal((5, 4)), requires_grad=True)
        w.grad = None
        f(x).backward()
        gx, gw = _d(x.grad), _d(w.grad)
        x.grad, w.grad = None, None
        loss = c(x)
        loss.backward()
        np.testing.assert_allclose(_d(x.grad), gx, rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(_d(w.grad), gw, rtol=1e-12, atol=1e-14)
    assert type(loss.grad_fn).__name__ == "CompiledFunctionBackward"
    loss = c(x)
    g = cr.autograd.grad(loss, x, create_graph=False)[0]
    np.testing.assert_allclose(_d(g), gx, rtol=1e-12)
    with pytest.raises(RuntimeError, match="double backward"):
        loss = c(x)
        (gx2,) = cr.autograd.grad(loss, x, create_graph=True)
        gx2.sum().backward()


def test_in_place_writes_to_inputs_buffers_and_through_views() -> None:
    buf = cr.zeros(3)

    def f(x: cr.Tensor) -> cr.Tensor:
        x.mul_(2)  # an input written in place
        buf.add_(x[:3])  # an outside tensor written in place
        y = x * 1
        y[0] = y[0] * 3  # a write into a tensor an earlier op read
        y[1:].clamp_(max=0.5)  # through a view
        return y

    c = cr.compile(f)
    eager_buf = cr.zeros(3)
    for seed in range(4):
        a = cr.tensor(np.random.default_rng(seed).standard_normal(4))
        b = a.clone()
        out = c(a)
        buf, saved = eager_buf, buf  # the same function, eagerly, on the eager buffer
        want = f(b)
        buf, eager_buf = saved, buf
        np.testing.assert_array_equal(_d(out), _d(want))
        np.testing.assert_array_equal(_d(a), _d(b))
        np.testing.assert_array_equal(_d(buf), _d(eager_buf))
    assert c.traces == 1


def test_function_local_buffers_start_fresh_on_every_call() -> None:
    def f(x: cr.Tensor) -> cr.Tensor:
        acc = cr.zeros(2)
        acc += x.sum()
        acc[1] = acc[1] * 2
        return acc

    c = cr.compile(f)
    for k in range(3):
        x = cr.ones(3) * (k + 1)
        np.testing.assert_array_equal(_d(c(x)), _d(f(x)))
    assert c.traces == 1


def test_cache_limit_falls_back_to_eager_with_one_warning() -> None:
    def f(x: cr.Tensor) -> cr.Tensor:
        return x * 2

    c = cr.compile(f)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for n in range(1, cr.compiler.config.cache_size_limit + 4):
            np.testing.assert_array_equal(_d(c(cr.ones(n))), np.full(n, 2.0, np.float32))
    msgs = [str(w.message) for w in caught if "cache size limit" in str(w.message)]
    assert len(msgs) == 1 and "runs eagerly" in msgs[0]
    assert c.traces == cr.compiler.config.cache_size_limit


def _mlp() -> nn.Module:
    return nn.Sequential(nn.Flatten(), nn.Linear(784, 64), nn.ReLU(), nn.Linear(64, 10))


def _cnn() -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(1, 6, 5, padding=2),
        nn.Sigmoid(),
        nn.AvgPool2d(2, 2),
        nn.Conv2d(6, 16, 5),
        nn.Sigmoid(),
        nn.MaxPool2d(2, 2),
        nn.Flatten(),
        nn.Linear(400, 32),
        nn.ReLU(),
        nn.Linear(32, 10),
    )


def _bn_dropout() -> nn.Module:
    return nn.Sequential(
        nn.Flatten(), nn.Linear(784, 32), nn.BatchNorm1d(32), nn.ReLU(), nn.Dropout(0.3), nn.Linear(32, 10)
    )


def _train(make: object, compiled: bool, dtype: object, steps: int, adam: bool = False) -> tuple:
    cr.manual_seed(0)
    m = make().to(dtype)
    net = cr.compile(m) if compiled else m
    opt = cr.optim.Adam(m.parameters(), 1e-3) if adam else cr.optim.SGD(m.parameters(), 0.1, momentum=0.9)
    rng = np.random.default_rng(0)
    losses = []
    for _ in range(steps):
        x = cr.tensor(rng.standard_normal((16, 1, 28, 28))).to(dtype)
        y = cr.tensor(rng.integers(0, 10, 16))
        opt.zero_grad()
        loss = nn.functional.cross_entropy(net(x), y)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return m, losses, net


@pytest.mark.parametrize("make", [_mlp, _cnn, _bn_dropout], ids=["mlp", "cnn", "batchnorm-dropout"])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_fifty_training_steps_give_eager_parameters(make: object, dtype: str) -> None:
    dt, tol = (cr.float64, 1e-10) if dtype == "float64" else (cr.float32, 1e-5)
    steps = 50 if make is not _cnn else 20
    eager, le, _ = _train(make, False, dt, steps, adam=make is _bn_dropout)
    comp, lc, net = _train(make, True, dt, steps, adam=make is _bn_dropout)
    assert _traces(net) == 1 and not _entry_reasons(net)
    np.testing.assert_allclose(lc, le, rtol=tol, atol=tol)
    for (k, a), b in zip(eager.state_dict().items(), comp.state_dict().values()):
        np.testing.assert_allclose(_d(b), _d(a), rtol=tol, atol=tol, err_msg=k)  # buffers included


def test_dropout_draws_the_eager_stream() -> None:
    m = nn.Dropout(0.5)
    c = cr.compile(m)
    x = cr.ones(1000)
    cr.manual_seed(3)
    eager = [_d(m(x)) for _ in range(3)]
    cr.manual_seed(3)
    comp = [_d(c(x)) for _ in range(3)]
    for a, b in zip(eager, comp):
        np.testing.assert_array_equal(a, b)
    assert _traces(c) == 1
    after_compiled = float(cr.rand(1))  # the generator is where eager leaves it, too
    cr.manual_seed(3)
    for _ in range(3):
        m(x)
    assert after_compiled == float(cr.rand(1))


def test_code_and_graph_are_inspectable() -> None:
    def f(x: cr.Tensor) -> cr.Tensor:
        return (x * 1 + 0).exp().sum()

    c = cr.compile(f)
    c(cr.ones(3, requires_grad=True))
    assert "def forward(" in c.code and "def backward(" in c.code and "Exp(" in c.code
    assert "Mul(" not in c.code.split("def backward")[0]  # x*1 and +0 simplified away
    table = str(c.graph)
    assert "Exp" in table and "bwd" in table and "gradients:" in table


def _traced_peak(compiled: bool) -> tuple[float, float]:
    """Peak and retained bytes (tracemalloc sees NumPy's buffers) over 4 steady-state steps."""
    import tracemalloc

    cr.manual_seed(0)
    m = nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 256), nn.ReLU(), nn.Linear(256, 10))
    net = cr.compile(m) if compiled else m
    opt = cr.optim.SGD(m.parameters(), 0.01)
    x, y = cr.randn(128, 784), cr.randint(0, 10, (128,))

    def step() -> None:
        opt.zero_grad()
        nn.functional.cross_entropy(net(x), y).backward()
        opt.step()

    for _ in range(3):
        step()
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    for _ in range(4):
        step()
    cur, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak - base, cur - base


def test_compiled_training_step_memory_is_eagers() -> None:
    """The generated code frees every value after its last use (saved activations included,
    during backward): its peak stays within 5 % of eager's, and nothing accumulates."""
    eager_peak, eager_left = _traced_peak(False)
    comp_peak, comp_left = _traced_peak(True)
    assert comp_peak <= 1.05 * eager_peak, (comp_peak, eager_peak)
    assert comp_left <= eager_left + 64 * 1024, (comp_left, eager_left)


def test_writes_into_an_array_shared_with_the_caller_are_replayed() -> None:
    """``from_numpy`` shares the caller's array: an in-place write inside the function is an
    effect on that array on every call, as eagerly."""
    eager_arr, comp_arr = np.zeros(3), np.zeros(3)

    def make(arr: np.ndarray) -> object:
        def f(x: cr.Tensor) -> cr.Tensor:
            t = cr.from_numpy(arr)
            t.add_(x)
            return t * 2

        return f

    c = cr.compile(make(comp_arr))
    for k in range(3):
        x = cr.tensor(np.arange(3.0) + k)
        np.testing.assert_array_equal(_d(c(x)), _d(make(eager_arr)(x)))
        np.testing.assert_array_equal(comp_arr, eager_arr)
    assert c.traces == 1 and not _entry_reasons(c)


def test_print_of_shapes_and_scalars_replays_as_eager(capsys: pytest.CaptureFixture) -> None:
    """A ``Size`` (a tuple subclass) is a constant of the code, not a literal to re-parse; a
    0-d value prints as a tensor on every call."""

    def f(x: cr.Tensor) -> cr.Tensor:
        print("shape", x.shape, x.sum())
        return x * 2

    c = cr.compile(f)
    x = cr.randn(3, dtype=cr.float64)
    f(x)
    want = capsys.readouterr().out
    for _ in range(3):
        c(x)
        assert capsys.readouterr().out == want
    assert c.traces == 1


def test_explain_of_an_already_compiled_function() -> None:
    m = nn.Linear(3, 2)

    @cr.compile
    def f(x: cr.Tensor) -> cr.Tensor:
        return m(x).relu()

    out = cr.compiler.explain(f, cr.randn(4, 3))
    assert out.graph_count == 1 and not out.eager_reasons  # m is found through f's globals


def test_saved_argument_written_through_a_detached_alias_keeps_its_old_value() -> None:
    """``x1.detach().mul_(x0)`` writes the argument x1 (an effect after the forward); the
    product's backward needs x1's value from before the write (found by the fuzzer)."""

    def f(x0: cr.Tensor, x1: cr.Tensor) -> list:
        v = x1.detach()
        v.mul_(x0)
        return [x0, x1, v]

    c = cr.compile(f)
    for shift in (0.0, 0.37, -0.61):
        got = []
        for fn in (f, c):
            x0 = cr.tensor(0.5 + shift, dtype=cr.float64, requires_grad=True)
            x1 = cr.tensor(1.5, dtype=cr.float64, requires_grad=True)
            out = fn(x0, x1)
            (out[0] * 2 + out[1] * 3 + out[2] * 5).backward()
            got.append([*map(_d, out), _d(x0.grad), _d(x1.grad)])
        for a, b in zip(*got):
            np.testing.assert_allclose(b, a, rtol=1e-12)
    assert c.traces == 1


def test_stale_view_read_under_no_grad_is_regenerated_once() -> None:
    """A view of a view whose base was written, read under no_grad: the hook rebinding the
    view while it is regenerated must not regenerate it again (a recursion, found by the fuzzer)."""

    def f(x0: cr.Tensor) -> list:
        v1 = cr.where(x0 > 0, x0, x0)
        v3 = v1.unsqueeze(0).squeeze(0)
        v1.add_(x0)
        with cr.no_grad():
            a = cr.abs(v3)
        return [v1, v3, a, v3 * 2]

    c = cr.compile(f)
    rng = np.random.default_rng(0)
    for _ in range(3):
        start = rng.standard_normal((2, 3))
        got = []
        for fn in (f, c):
            x0 = cr.tensor(start, requires_grad=True)
            out = fn(x0)
            sum((o * (k + 1)).sum() for k, o in enumerate(out) if o.requires_grad).backward()
            got.append([*map(_d, out), _d(x0.grad)])
        for a, b in zip(*got):
            np.testing.assert_array_equal(b, a)
    assert c.traces == 1


def test_function_transforms_inside_a_compiled_function() -> None:
    """vmap(grad(...)) (per-sample gradients) and grad(grad(...)) traced into one program:
    the transforms run while tracing, so the code holds the batched primitives."""
    cr.manual_seed(0)
    model = nn.Sequential(nn.Linear(5, 8), nn.Tanh(), nn.Linear(8, 3)).double()
    params = {k: v.detach() for k, v in model.named_parameters()}

    def loss(p: dict, x: cr.Tensor, y: cr.Tensor) -> cr.Tensor:
        out = cr.func.functional_call(model, p, (x.unsqueeze(0),))
        return nn.functional.cross_entropy(out, y.unsqueeze(0))

    per_sample = cr.func.vmap(cr.func.grad(loss), in_dims=(None, 0, 0))
    second = cr.func.grad(cr.func.grad(lambda x: (x.sin() * x).sum() * 1.0 if x.ndim else x.sin() * x))
    c_ps, c_2 = cr.compile(per_sample), cr.compile(second)
    for k in range(3):
        xs, ys = cr.randn(6, 5, dtype=cr.float64), cr.randint(0, 3, (6,))
        want, got = per_sample(params, xs, ys), c_ps(params, xs, ys)
        for name in want:
            np.testing.assert_allclose(_d(got[name]), _d(want[name]), rtol=1e-12, atol=1e-14)
        x = cr.tensor(0.3 + k, dtype=cr.float64)
        np.testing.assert_allclose(_d(c_2(x)), _d(second(x)), rtol=1e-12)
    assert c_ps.traces == 1 and c_2.traces == 1
    assert not _entry_reasons(c_ps) and not _entry_reasons(c_2)


@pytest.mark.parametrize(
    "name",
    [
        "index_select",
        "index_select_int32",
        "getitem",
        "index_add",
        "index_copy",
        "index_fill",
        "take",
        "scatter",
        "embedding",
        "embedding_int32_padding",
    ],
)
def test_index_tensors_are_inputs_of_the_code_not_constants(name: str) -> None:
    """An index tensor that changes between calls (token ids, sampled rows) is read by the
    generated code on every call: one trace, eager's values and gradients each time."""
    fns = {
        "index_select": lambda x, i: x.index_select(1, i),
        "index_select_int32": lambda x, i: x.index_select(1, i.int()),
        "getitem": lambda x, i: x[:, i] * 2,
        "index_add": lambda x, i: x.index_add(1, i, cr.ones(3, 2, dtype=cr.float64)),
        "index_copy": lambda x, i: x.index_copy(1, i, cr.ones(3, 2, dtype=cr.float64)),
        "index_fill": lambda x, i: x.index_fill(1, i, 2.0),
        "take": lambda x, i: cr.take(x, i),
        "scatter": lambda x, i: x.scatter(1, i.expand(3, 2), 1.0),
        "embedding": lambda x, i: nn.functional.embedding(i, x.t()),
        "embedding_int32_padding": lambda x, i: nn.functional.embedding(i.int(), x.t(), padding_idx=1),
    }
    fn = fns[name]
    c = cr.compile(fn)
    x = cr.randn(3, 5, dtype=cr.float64, requires_grad=True)
    for k in range(4):
        # (embedding, scatter, index_select, index_add and index_copy refuse negative indices)
        negative = k % 2 and name in ("getitem", "index_fill", "take")
        i = cr.tensor([k, (k + 2) % 5 - (5 if negative else 0)])
        want, got = fn(x, i), c(x, i)
        np.testing.assert_array_equal(_d(got), _d(want))
        (gw,), (gg,) = cr.autograd.grad(want.sum(), x), cr.autograd.grad(got.sum(), x)
        np.testing.assert_array_equal(_d(gg), _d(gw))
    assert c.traces == 1 and not _entry_reasons(c)


@pytest.mark.parametrize("backend", ["numpy", "numba"])
def test_expanded_scalar_operands_are_read_as_scalars(backend: str) -> None:
    """sum's backward expands the 0-d gradient; an elementwise op whose other operand has the
    full shape reads the 0-d value instead (passes/simplify.py): no Expand is left in the
    backward, and values and gradients are eager's (bit for bit with NumPy).  Where nothing else gives the
    shape (``2 * g`` alone, or the gradient returned as is), the expand stays."""
    if backend == "numba":
        pytest.importorskip("numba")

    def f(x: cr.Tensor, w: cr.Tensor) -> cr.Tensor:
        return cr.tanh(x * w).sum() + (w * 3.0).sum()

    rng = np.random.default_rng(0)
    xs = [cr.from_numpy(rng.standard_normal(16)) for _ in range(2)]
    c = cr.compile(f, backend=backend)
    for x in xs:
        w1, w2 = (cr.from_numpy(np.linspace(-1, 1, 16)).requires_grad_() for _ in range(2))
        want, got = f(x, w1), c(x, w2)
        want.backward()
        got.backward()
        tol = 0 if backend == "numpy" else 1e-14  # Numba's tanh may differ in the last bit
        np.testing.assert_allclose(got.item(), want.item(), rtol=tol, atol=0)
        np.testing.assert_allclose(w2.grad.numpy(), w1.grad.numpy(), rtol=tol, atol=0)
    backward = c.code.split("def backward")[1].split("\n# ")[0]
    assert backward.count("Expand(") == 1, backward  # (w * 3).sum()'s: 3 * g has no full-shape operand


def test_a_permutation_undone_by_the_next_is_dropped_and_one_not_undone_is_kept() -> None:
    """passes/simplify.py: ``t().t()``, ``transpose`` twice and ``permute(p).permute(q)`` with
    ``q`` the inverse of ``p`` leave no permutation in the program; ``permute(p)`` twice (``p``
    a 3-cycle, not its own inverse) keeps both.  Values and gradients are eager's."""

    def undone(x: cr.Tensor, m: cr.Tensor) -> cr.Tensor:
        a = m.t().t().tanh() + m.transpose(0, 1).transpose(1, 0)
        return a.sum() + x.permute(1, 2, 0).permute(2, 0, 1).sin().sum()

    def kept(x: cr.Tensor, m: cr.Tensor) -> cr.Tensor:
        return x.permute(1, 2, 0).permute(1, 2, 0).sin().sum() + m.sum()

    rng = np.random.default_rng(0)
    for fn, left in ((undone, 0), (kept, 2)):
        c = cr.compile(fn)
        for _ in range(2):
            x0, m0 = rng.standard_normal((2, 3, 4)), rng.standard_normal((3, 5))
            want = [cr.from_numpy(v).requires_grad_() for v in (x0, m0)]
            got = [cr.from_numpy(v).requires_grad_() for v in (x0, m0)]
            w, g = fn(*want), c(*got)
            w.backward()
            g.backward()
            np.testing.assert_array_equal(_d(g), _d(w))
            for a, b in zip(got, want):
                np.testing.assert_array_equal(_d(a.grad), _d(b.grad))
        forward = c.code.split("def backward")[0]
        assert sum(forward.count(f"{p}(") for p in ("Permute", "T", "Transpose")) == left, forward
