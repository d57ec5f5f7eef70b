"""NAdam, RAdam, Adamax, Adadelta, Rprop, ASGD, LBFGS and swa_utils against PyTorch 2.13."""

from __future__ import annotations

import numpy as np
import pytest
from reference import torch
from test_optim import _assert_close, _grads, _initial, _pair, _set_grads, _step

import chainrule
import chainrule.nn as nn
import chainrule.optim as optim
from chainrule.optim import swa_utils

pytestmark = pytest.mark.usefixtures("need_torch")


@pytest.fixture
def need_torch():
    if torch is None:
        pytest.skip("PyTorch not installed")


CASES = [
    ("NAdam", dict()),
    ("NAdam", dict(lr=0.01, betas=(0.8, 0.99), momentum_decay=0.01)),
    ("NAdam", dict(lr=0.01, weight_decay=0.1)),
    ("NAdam", dict(lr=0.01, weight_decay=0.1, decoupled_weight_decay=True, maximize=True)),
    ("RAdam", dict()),
    ("RAdam", dict(lr=0.01, betas=(0.8, 0.9))),  # rho_t > 5 from step 6: both branches run
    ("RAdam", dict(lr=0.01, weight_decay=0.1, eps=1e-6)),
    ("RAdam", dict(lr=0.01, weight_decay=0.1, decoupled_weight_decay=True, maximize=True)),
    ("Adamax", dict()),
    ("Adamax", dict(lr=0.01, betas=(0.8, 0.99), eps=1e-4)),
    ("Adamax", dict(lr=0.01, weight_decay=0.1, maximize=True)),
    ("Adadelta", dict()),
    ("Adadelta", dict(lr=0.5, rho=0.8, eps=1e-4)),
    ("Adadelta", dict(lr=0.5, weight_decay=0.1, maximize=True)),
    ("Rprop", dict()),
    ("Rprop", dict(lr=0.05, etas=(0.3, 1.5), step_sizes=(1e-3, 0.2))),
    ("Rprop", dict(lr=0.05, maximize=True)),
    ("ASGD", dict()),
    ("ASGD", dict(lr=0.05, lambd=1e-2, alpha=0.5, t0=5)),  # mu < 1 after step 6: averaging
    ("ASGD", dict(lr=0.05, weight_decay=0.1, t0=2, maximize=True)),
    ("Adafactor", dict()),
    ("Adafactor", dict(lr=0.05, beta2_decay=-0.5, eps=(1e-20, 1e-2), d=2.0)),
    ("Adafactor", dict(lr=0.05, weight_decay=0.1, maximize=True)),
]
IDS = [f"{n}-{k}" for n, k in CASES]


@pytest.mark.parametrize("name,kwargs", CASES, ids=IDS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_matches_pytorch_over_20_steps(name, kwargs, dtype):
    ours, theirs = _pair(_initial(dtype=dtype))
    opt = getattr(optim, name)(ours, **kwargs)
    ref = getattr(torch.optim, name)(theirs, **kwargs)
    assert opt.defaults == ref.defaults
    for step, grads in enumerate(_grads(dtype=dtype)):
        _set_grads(ours, theirs, grads)
        opt.step()
        ref.step()
        _assert_close(ours, theirs, step)
        assert all(p._data.dtype == dtype for p in ours)
    if name == "ASGD":  # the running average too
        _assert_close([opt.state[p]["ax"] for p in ours], [ref.state[q]["ax"] for q in theirs], 0)


@pytest.mark.parametrize("name,kwargs", CASES, ids=IDS)
def test_state_matches_pytorch_layout(name, kwargs):
    ours, theirs = _pair(_initial())
    opt = getattr(optim, name)(ours, **kwargs)
    ref = getattr(torch.optim, name)(theirs, **kwargs)
    for grads in _grads()[:8]:
        _set_grads(ours, theirs, grads)
        opt.step()
        ref.step()
    a, b = opt.state_dict(), ref.state_dict()
    assert a["state"].keys() == b["state"].keys()
    for k in b["state"]:
        assert a["state"][k].keys() == b["state"][k].keys()
        for key, value in b["state"][k].items():
            mine = a["state"][k][key]
            assert isinstance(mine, chainrule.Tensor) and mine._data.dtype.name == str(
                value.dtype
            ).removeprefix("torch.")
            np.testing.assert_allclose(mine.numpy(), value.numpy(), rtol=1e-5, atol=1e-7)
    assert a["param_groups"] == b["param_groups"]


@pytest.mark.parametrize("name,kwargs", CASES[::3], ids=IDS[::3])
def test_state_dict_round_trip_continues_identically(name, kwargs):
    init, grads = _initial(), _grads()
    a = [chainrule.tensor(v.copy(), requires_grad=True) for v in init]
    opt_a = getattr(optim, name)(a, **kwargs)
    _step([a], grads[:10], opt_a)
    saved = opt_a.state_dict()
    b = [chainrule.tensor(p.detach().numpy().copy(), requires_grad=True) for p in a]
    opt_b = getattr(optim, name)(b, lr=123.0)
    opt_b.load_state_dict(saved)
    assert opt_b.param_groups[0]["lr"] == opt_a.param_groups[0]["lr"]
    for g in grads[10:]:
        _step([a, b], [g], opt_a, opt_b)
        for p, q in zip(a, b, strict=True):
            np.testing.assert_array_equal(p.detach().numpy(), q.detach().numpy())
    sa, sb = opt_a.state_dict()["state"][0], opt_b.state_dict()["state"][0]
    assert all(sa[key] is not sb[key] for key in sa)


@pytest.mark.parametrize("name", sorted({n for n, _ in CASES}))
def test_param_groups_with_different_options_match_pytorch(name):
    ours, theirs = _pair(_initial())
    extra = {"Rprop": {"etas": (0.4, 1.3)}, "ASGD": {"t0": 3}}.get(name, {"weight_decay": 0.1})

    def groups(ps):
        return [{"params": ps[:1], "lr": 0.03, **extra}, {"params": ps[1:]}]

    opt = getattr(optim, name)(groups(ours), lr=0.01)
    ref = getattr(torch.optim, name)(groups(theirs), lr=0.01)
    assert opt.param_groups[1]["lr"] == 0.01 and opt.param_groups[0]["lr"] == 0.03
    for step, grads in enumerate(_grads()):
        _set_grads(ours, theirs, grads)
        opt.step()
        ref.step()
        _assert_close(ours, theirs, step)


@pytest.mark.parametrize(
    "name,kwargs,match",
    [
        ("NAdam", dict(lr=-1), "learning rate"),
        ("NAdam", dict(momentum_decay=-1), "momentum_decay"),
        ("RAdam", dict(betas=(1.0, 0.9)), "beta parameter at index 0"),
        ("Adamax", dict(betas=(0.9, -0.1)), "beta parameter at index 1"),
        ("Adadelta", dict(rho=1.5), "rho"),
        ("Rprop", dict(etas=(1.5, 1.2)), "eta values"),
        ("ASGD", dict(weight_decay=-1), "weight_decay"),
        ("LBFGS", dict(lr=-1), "learning rate"),
    ],
)
def test_bad_options_raise_as_pytorch(name, kwargs, match):
    p = chainrule.zeros(2, requires_grad=True)
    with pytest.raises(ValueError, match=match):
        getattr(optim, name)([p], **kwargs)
    with pytest.raises(ValueError):
        getattr(torch.optim, name)([torch.zeros(2, requires_grad=True)], **kwargs)


# ---------------------------------------------------------------------------------- LBFGS
def _rosenbrock(lib, x):
    return (1 - x[0]) ** 2 + 100 * (x[1] - x[0] ** 2) ** 2


def _closure(lib, opt, x):
    def closure():
        opt.zero_grad()
        loss = _rosenbrock(lib, x)
        loss.backward()
        return loss

    return closure


# PyTorch's add(alpha=) and dot use fused multiply-adds, NumPy's do not: iterates differ in the
# last bits, and Rosenbrock's curved valley amplifies that along a long run without a line
# search.  The branch taken at every test (evaluation and iteration counts) must still agree.
@pytest.mark.parametrize(
    "kwargs,steps,atol",
    [
        (dict(line_search_fn="strong_wolfe"), 8, 1e-10),
        (dict(), 2, 1e-9),
        (dict(lr=0.1, max_iter=5), 8, 1e-10),
        (dict(line_search_fn="strong_wolfe", history_size=3, max_iter=7), 8, 1e-6),
        (dict(line_search_fn="strong_wolfe", max_eval=4), 8, 1e-10),
    ],
    ids=str,
)
def test_lbfgs_follows_pytorch_iterates_on_rosenbrock(kwargs, steps, atol):
    start = np.array([-1.5, 2.0])
    x = chainrule.tensor(start.copy(), requires_grad=True)
    xt = torch.tensor(start.copy(), requires_grad=True)
    opt, ref = optim.LBFGS([x], **kwargs), torch.optim.LBFGS([xt], **kwargs)
    assert opt.defaults == ref.defaults
    for step in range(steps):
        loss = opt.step(_closure(chainrule, opt, x))
        ref_loss = ref.step(_closure(torch, ref, xt))
        np.testing.assert_allclose(float(loss), ref_loss.item(), rtol=1e-6, atol=atol)
        np.testing.assert_allclose(
            x.detach().numpy(),
            xt.detach().numpy(),
            rtol=0,
            atol=atol,
            err_msg=f"LBFGS iterate differs from PyTorch's after step {step}",
        )
        s, r = opt.state[x], ref.state[xt]
        assert (s["func_evals"], s["n_iter"]) == (r["func_evals"], r["n_iter"])
        assert len(s["old_dirs"]) == len(r["old_dirs"])
    if kwargs == dict(line_search_fn="strong_wolfe"):
        np.testing.assert_allclose(x.detach().numpy(), [1.0, 1.0], atol=1e-5)  # converged


def test_lbfgs_over_several_parameters_and_state_dict():
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((20, 3)), rng.standard_normal((20, 1))
    w0, b0 = rng.standard_normal((3, 1)), rng.standard_normal(1)

    def run(lib, params, opt, steps):
        Xl, yl = lib.tensor(X), lib.tensor(y)

        def closure():
            opt.zero_grad()
            loss = ((Xl @ params[0] + params[1] - yl) ** 2).mean() + (params[0] ** 4).sum()
            loss.backward()
            return loss

        for _ in range(steps):
            opt.step(closure)

    ours = [chainrule.tensor(w0.copy(), requires_grad=True), chainrule.tensor(b0.copy(), requires_grad=True)]
    theirs = [torch.tensor(w0.copy(), requires_grad=True), torch.tensor(b0.copy(), requires_grad=True)]
    opt = optim.LBFGS(ours, lr=0.5, max_iter=4, line_search_fn="strong_wolfe")
    ref = torch.optim.LBFGS(theirs, lr=0.5, max_iter=4, line_search_fn="strong_wolfe")
    run(chainrule, ours, opt, 2)
    run(torch, theirs, ref, 2)
    _assert_close(ours, theirs, 2, atol=1e-9)
    assert opt.state_dict()["state"][0].keys() == ref.state_dict()["state"][0].keys()
    # resuming from a state dict continues exactly where the original would go
    copy = [chainrule.tensor(p.detach().numpy().copy(), requires_grad=True) for p in ours]
    opt2 = optim.LBFGS(copy, lr=0.5, max_iter=4, line_search_fn="strong_wolfe")
    opt2.load_state_dict(opt.state_dict())
    run(chainrule, ours, opt, 2)
    run(chainrule, copy, opt2, 2)
    run(torch, theirs, ref, 2)
    _assert_close(copy, ours, 4, atol=0)
    _assert_close(ours, theirs, 4, atol=1e-9)


def test_lbfgs_needs_one_group_and_a_closure():
    a, b = chainrule.zeros(2, requires_grad=True), chainrule.zeros(2, requires_grad=True)
    with pytest.raises(ValueError, match="parameter groups"):
        optim.LBFGS([{"params": [a]}, {"params": [b]}])
    with pytest.raises(RuntimeError, match="strong_wolfe"):
        optim.LBFGS([a], line_search_fn="backtracking")
    with pytest.raises(RuntimeError, match="closure"):
        optim.LBFGS([a]).step(None)


# ------------------------------------------------------------------------------ swa_utils
def _models(seed=0):
    ours = nn.Sequential(nn.Linear(4, 3), nn.BatchNorm1d(3), nn.Linear(3, 2)).double()
    theirs = torch.nn.Sequential(
        torch.nn.Linear(4, 3), torch.nn.BatchNorm1d(3), torch.nn.Linear(3, 2)
    ).double()
    _copy_weights(ours, theirs, seed)
    return ours, theirs


def _copy_weights(ours, theirs, seed):
    rng = np.random.default_rng(seed)
    for (_, p), (_, q) in zip(ours.named_parameters(), theirs.named_parameters(), strict=True):
        v = rng.standard_normal(tuple(q.shape))
        p._data[...] = v
        with torch.no_grad():
            q.copy_(torch.tensor(v))


def _assert_modules_close(ours, theirs):
    a, b = ours.state_dict(), theirs.state_dict()
    assert list(a) == list(b)
    for k in b:
        np.testing.assert_allclose(a[k].numpy(), b[k].numpy(), rtol=1e-12, atol=1e-12, err_msg=k)


@pytest.mark.parametrize(
    "make",
    [
        lambda lib: {},
        lambda lib: {"multi_avg_fn": lib.optim.swa_utils.get_ema_multi_avg_fn(0.9)},
        lambda lib: {"avg_fn": lib.optim.swa_utils.get_ema_avg_fn(0.7)},
        lambda lib: {"avg_fn": lib.optim.swa_utils.get_swa_avg_fn()},
        lambda lib: {"multi_avg_fn": lib.optim.swa_utils.get_ema_multi_avg_fn(0.5), "use_buffers": True},
    ],
    ids=["swa", "ema-multi", "ema-avg_fn", "swa-avg_fn", "ema-buffers"],
)
def test_averaged_model_matches_pytorch(make):
    ours, theirs = _models()
    avg = swa_utils.AveragedModel(ours, **make(chainrule))
    ref = torch.optim.swa_utils.AveragedModel(theirs, **make(torch))
    x = np.random.default_rng(5).standard_normal((8, 4))
    for i in range(5):
        _copy_weights(ours, theirs, seed=10 + i)
        ours(chainrule.tensor(x * i))  # training-mode passes move the BatchNorm buffers
        theirs(torch.tensor(x * i))
        avg.update_parameters(ours)
        ref.update_parameters(theirs)
        _assert_modules_close(avg, ref)
    assert avg.n_averaged.dtype == chainrule.int64 and int(avg.n_averaged) == 5
    avg.eval()
    ref.eval()
    out = avg(chainrule.tensor(x)).detach().numpy()
    np.testing.assert_allclose(out, ref(torch.tensor(x)).detach().numpy(), rtol=1e-12)
    with pytest.raises(AssertionError):
        swa_utils.AveragedModel(ours, avg_fn=lambda *a: a[0], multi_avg_fn=lambda *a: None)
    with pytest.raises(ValueError, match="decay"):
        swa_utils.get_ema_avg_fn(1.5)


def test_update_bn_matches_pytorch():
    ours, theirs = _models()
    ours.eval()
    theirs.eval()
    rng = np.random.default_rng(2)
    batches = [rng.standard_normal((6, 4)) + i for i in range(4)]
    swa_utils.update_bn([(chainrule.tensor(b), 0) for b in batches], ours)
    torch.optim.swa_utils.update_bn([(torch.tensor(b), 0) for b in batches], theirs)
    _assert_modules_close(ours, theirs)
    assert not ours.training and ours[1].momentum == 0.1  # restored
    swa_utils.update_bn([chainrule.tensor(b) for b in batches[::-1]], ours)  # plain tensors
    torch.optim.swa_utils.update_bn([torch.tensor(b) for b in batches[::-1]], theirs)
    _assert_modules_close(ours, theirs)


@pytest.mark.parametrize(
    "kwargs",
    [
        dict(swa_lr=0.05),
        dict(swa_lr=0.05, anneal_epochs=3, anneal_strategy="linear"),
        dict(swa_lr=[0.01, 0.2], anneal_epochs=4),
        dict(swa_lr=0.02, anneal_epochs=0),
    ],
    ids=str,
)
def test_swalr_matches_pytorch(kwargs):
    ours, theirs = _pair(_initial())
    opt = optim.SGD([{"params": ours[:1]}, {"params": ours[1:], "lr": 0.3}], lr=0.5)
    ref = torch.optim.SGD([{"params": theirs[:1]}, {"params": theirs[1:], "lr": 0.3}], lr=0.5)
    sched = swa_utils.SWALR(opt, **kwargs)
    ref_sched = torch.optim.swa_utils.SWALR(ref, **kwargs)
    for _ in range(14):
        np.testing.assert_allclose(sched.get_last_lr(), ref_sched.get_last_lr(), rtol=1e-12)
        opt.step()
        ref.step()
        sched.step()
        ref_sched.step()
    saved = sched.state_dict()
    assert "anneal_func" not in saved and saved["anneal_epochs"] == ref_sched.anneal_epochs
    sched.load_state_dict(saved)
    assert sched.anneal_func is not None
    with pytest.raises(ValueError, match="anneal_strategy"):
        swa_utils.SWALR(opt, 0.1, anneal_strategy="exp")
    with pytest.raises(ValueError, match="anneal_epochs"):
        swa_utils.SWALR(opt, 0.1, anneal_epochs=-1)


@pytest.mark.parametrize("name", ["Adam", "NAdam", "Rprop"])
def test_swap_in_params_and_state_matches_pytorch(name):
    results = []
    for lib in (chainrule, torch):
        params = [lib.tensor(v, requires_grad=True) for v in _initial(dtype=np.float64)]
        opt = getattr(lib.optim, name)(params, lr=0.01)
        grads = _grads(dtype=np.float64)
        for p, g in zip(params, grads[0], strict=True):
            p.grad = lib.tensor(g.copy())
        opt.step()
        live_before = [p.detach().numpy().copy() for p in params]
        copies = {str(i): lib.tensor(p.detach().numpy().copy()) for i, p in enumerate(params)}
        for i, g in enumerate(grads[1]):
            copies[str(i)].grad = lib.tensor(g.copy())
        saved = opt.state_dict()
        osd = {
            "state": {k: {n: v.clone() for n, v in s.items()} for k, s in saved["state"].items()},
            "param_groups": [dict(g, lr=0.05) for g in saved["param_groups"]],
        }
        with lib.optim.swap_in_optimizer_params_and_state(opt, copies, osd):
            assert opt.param_groups[0]["params"][0] is copies["0"]
            opt.step()
        assert opt.param_groups[0]["lr"] == 0.01 and opt.param_groups[0]["params"][0] is params[0]
        for p, before in zip(params, live_before, strict=True):
            np.testing.assert_array_equal(p.detach().numpy(), before)  # live ones untouched
        results.append(
            (
                [c.detach().numpy() for c in copies.values()],
                {k: {n: v.numpy() for n, v in s.items()} for k, s in osd["state"].items()},
            )
        )
    (ours, ours_state), (ref, ref_state) = results
    for a, b in zip(ours, ref, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-12)
    for k in ref_state:
        for n in ref_state[k]:
            np.testing.assert_allclose(ours_state[k][n], ref_state[k][n], rtol=1e-12, err_msg=n)
    with pytest.raises(RuntimeError, match="initialized"):
        p = chainrule.zeros(2, requires_grad=True)
        with optim.swap_in_optimizer_params_and_state(
            optim.Adam([p]), {"0": p}, {"state": {}, "param_groups": []}
        ):
            pass


# deliberate omissions, each with its reason
OPTIM_OMITTED = {
    "SparseAdam": "sparse gradients: chainrule has no sparse layouts",
}


def test_every_public_torch_optim_name_is_provided():
    missing = [n for n in torch.optim.__all__ if not hasattr(optim, n) and n not in OPTIM_OMITTED]
    assert not missing, f"torch.optim names neither provided nor deliberately omitted: {missing}"
    assert all(not hasattr(optim, n) for n in OPTIM_OMITTED), "provided now: drop it from the list"
    missing = [n for n in torch.optim.swa_utils.__all__ if not hasattr(swa_utils, n)]
    assert not missing, f"torch.optim.swa_utils names not provided: {missing}"
