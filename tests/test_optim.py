"""Optimizers against PyTorch 2.13: same start, same 20 gradients, same parameters at each step."""

from __future__ import annotations

import numpy as np
import pytest
from reference import HAVE_TORCH, REQUIRE_TORCH, torch

import chainrule
import chainrule.optim as optim

SHAPES = [(3, 4), (4,), ()]
STEPS = 20


@pytest.fixture
def need_torch():
    """For the comparisons with PyTorch; the other tests run without it."""
    if not HAVE_TORCH:
        assert not REQUIRE_TORCH, "PyTorch 2.13 must be installed in CI (extra 'reference')"
        pytest.skip("PyTorch not installed")


def _initial(seed=0, dtype=np.float32):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(s).astype(dtype) for s in SHAPES]


def _grads(seed=1, dtype=np.float32):
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(STEPS):
        step = []
        for s in SHAPES:
            g = rng.standard_normal(s) * rng.choice([1.0, 1e-3, 10.0])
            step.append(g.astype(dtype))
        out.append(step)
    return out


def _pair(values):
    ours = [chainrule.tensor(v.copy(), requires_grad=True) for v in values]
    theirs = [torch.tensor(v.copy(), requires_grad=True) for v in values]
    return ours, theirs


def _set_grads(ours, theirs, grads):
    for p, q, g in zip(ours, theirs, grads, strict=True):
        p.grad = chainrule.tensor(g.copy())
        q.grad = torch.tensor(g.copy())


def _step(params, grads, *opts):
    """Give each parameter its gradient (the same for each optimizer's copy) and step them all."""
    for g in grads:
        for ps in params:
            for p, gi in zip(ps, g, strict=True):
                p.grad = chainrule.tensor(gi)
        for opt in opts:
            opt.step()


def _assert_close(ours, theirs, step, atol=1e-6):
    for i, (p, q) in enumerate(zip(ours, theirs, strict=False)):
        np.testing.assert_allclose(
            p.detach().numpy(),
            q.detach().numpy(),
            rtol=1e-6,
            atol=atol,
            err_msg=f"parameter {i} differs from PyTorch after step {step}",
        )


CASES = [
    ("SGD", dict(lr=0.1)),
    ("SGD", dict(lr=0.05, momentum=0.9)),
    ("SGD", dict(lr=0.05, momentum=0.9, dampening=0.3)),
    ("SGD", dict(lr=0.05, momentum=0.9, nesterov=True)),
    ("SGD", dict(lr=0.1, weight_decay=0.1)),
    ("SGD", dict(lr=0.05, momentum=0.8, weight_decay=0.01, nesterov=True)),
    ("SGD", dict(lr=0.05, momentum=0.5, weight_decay=0.05, maximize=True)),
    ("Adam", dict()),
    ("Adam", dict(lr=0.01, betas=(0.8, 0.99))),
    ("Adam", dict(lr=0.01, amsgrad=True)),
    ("Adam", dict(lr=0.01, weight_decay=0.1)),
    ("Adam", dict(lr=0.01, weight_decay=0.1, amsgrad=True, maximize=True)),
    ("AdamW", dict(lr=0.01)),
    ("AdamW", dict(lr=0.01, weight_decay=0.1, amsgrad=True)),
    ("RMSprop", dict()),
    ("RMSprop", dict(lr=0.01, alpha=0.9, momentum=0.9)),
    ("RMSprop", dict(lr=0.01, centered=True)),
    ("RMSprop", dict(lr=0.01, centered=True, momentum=0.5, weight_decay=0.1)),
    ("RMSprop", dict(lr=0.01, weight_decay=0.1, maximize=True)),
    ("Adagrad", dict()),
    ("Adagrad", dict(lr=0.1, lr_decay=0.05)),
    ("Adagrad", dict(lr=0.1, initial_accumulator_value=0.5, weight_decay=0.1)),
    ("Adagrad", dict(lr=0.1, eps=1e-6, maximize=True)),
]


@pytest.mark.usefixtures("need_torch")
@pytest.mark.parametrize("name,kwargs", CASES, ids=[f"{n}-{k}" for n, k in CASES])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_matches_pytorch_over_20_steps(name, kwargs, dtype):
    ours, theirs = _pair(_initial(dtype=dtype))
    opt = getattr(optim, name)(ours, **kwargs)
    ref = getattr(torch.optim, name)(theirs, **kwargs)
    want = chainrule.float64 if dtype == np.float64 else chainrule.float32
    for step, grads in enumerate(_grads(dtype=dtype)):
        _set_grads(ours, theirs, grads)
        opt.step()
        ref.step()
        _assert_close(ours, theirs, step)
        assert all(p.dtype == want for p in ours)


@pytest.mark.usefixtures("need_torch")
@pytest.mark.parametrize("name,kwargs", [c for c in CASES if c[0] != "SGD" or c[1].get("momentum")])
def test_state_matches_pytorch_layout(name, kwargs):
    ours, theirs = _pair(_initial())
    opt = getattr(optim, name)(ours, **kwargs)
    ref = getattr(torch.optim, name)(theirs, **kwargs)
    for grads in _grads()[:3]:
        _set_grads(ours, theirs, grads)
        opt.step()
        ref.step()
    a, b = opt.state_dict(), ref.state_dict()
    assert a["state"].keys() == b["state"].keys()
    for k in b["state"]:
        assert a["state"][k].keys() == b["state"][k].keys()
        for key, value in b["state"][k].items():
            mine = a["state"][k][key]
            assert isinstance(mine, chainrule.Tensor)
            np.testing.assert_allclose(mine.numpy(), value.numpy(), rtol=1e-5, atol=1e-7)
    assert [g["params"] for g in a["param_groups"]] == [g["params"] for g in b["param_groups"]]
    for ga, gb in zip(a["param_groups"], b["param_groups"], strict=True):
        assert ga.keys() == gb.keys()
        for key in ("lr", "weight_decay"):
            assert ga[key] == gb[key]


@pytest.mark.usefixtures("need_torch")
def test_param_groups_with_different_options_match_pytorch():
    init = _initial()
    ours, theirs = _pair(init)

    def groups(ps):
        return [
            {"params": ps[0], "weight_decay": 0.1, "momentum": 0.9, "nesterov": True},
            {"params": [ps[1], ps[2]], "lr": 0.01},
        ]

    opt = optim.SGD(groups(ours), lr=0.1, momentum=0.5)
    ref = torch.optim.SGD(groups(theirs), lr=0.1, momentum=0.5)
    assert opt.param_groups[0]["lr"] == 0.1 and opt.param_groups[1]["momentum"] == 0.5
    (first,) = opt.param_groups[0]["params"]
    assert first is ours[0]
    for step, grads in enumerate(_grads()):
        _set_grads(ours, theirs, grads)
        opt.step()
        ref.step()
        _assert_close(ours, theirs, step)

    ours, theirs = _pair(init)
    opt = optim.Adam(
        [{"params": ours[:1], "lr": 0.1, "amsgrad": True}, {"params": ours[1:]}], lr=0.01
    )
    ref = torch.optim.Adam(
        [{"params": theirs[:1], "lr": 0.1, "amsgrad": True}, {"params": theirs[1:]}], lr=0.01
    )
    for step, grads in enumerate(_grads()):
        _set_grads(ours, theirs, grads)
        opt.step()
        ref.step()
        _assert_close(ours, theirs, step)


@pytest.mark.parametrize(
    "name,kwargs",
    [
        ("SGD", dict(lr=0.05, momentum=0.9, nesterov=True)),
        ("Adam", dict(lr=0.01, amsgrad=True)),
        ("AdamW", dict(lr=0.01)),
        ("RMSprop", dict(lr=0.01, centered=True, momentum=0.5)),
        ("Adagrad", dict(lr=0.1, lr_decay=0.01)),
    ],
)
def test_state_dict_round_trip_continues_identically(name, kwargs):
    init = _initial()
    grads = _grads()
    a = [chainrule.tensor(v.copy(), requires_grad=True) for v in init]
    opt_a = getattr(optim, name)(a, **kwargs)
    _step([a], grads[:10], opt_a)
    saved = opt_a.state_dict()

    b = [chainrule.tensor(p.detach().numpy().copy(), requires_grad=True) for p in a]
    opt_b = getattr(optim, name)(b, lr=123.0)  # options come from the state dict
    opt_b.load_state_dict(saved)
    assert opt_b.param_groups[0]["lr"] == kwargs["lr"]
    assert opt_b.param_groups[0]["params"][0] is b[0]
    for g in grads[10:]:
        _step([a, b], [g], opt_a, opt_b)
        for p, q in zip(a, b, strict=True):
            np.testing.assert_array_equal(p.detach().numpy(), q.detach().numpy())
    # the loaded state is a copy: stepping b did not move a's buffers twice
    sa, sb = opt_a.state_dict()["state"][0], opt_b.state_dict()["state"][0]
    for key in sa:
        assert sa[key] is not sb[key]


@pytest.mark.usefixtures("need_torch")
def test_training_through_autograd_matches_pytorch():
    rng = np.random.default_rng(3)
    X = rng.standard_normal((16, 5)).astype(np.float32)
    y = rng.standard_normal((16, 1)).astype(np.float32)
    W0 = rng.standard_normal((5, 1)).astype(np.float32)
    w, wt = (
        chainrule.tensor(W0.copy(), requires_grad=True),
        torch.tensor(W0.copy(), requires_grad=True),
    )
    b, bt = chainrule.zeros(1, requires_grad=True), torch.zeros(1, requires_grad=True)
    opt = optim.SGD([w, b], lr=0.05, momentum=0.9)
    ref = torch.optim.SGD([wt, bt], lr=0.05, momentum=0.9)
    Xc, yc, Xt, yt = chainrule.tensor(X), chainrule.tensor(y), torch.tensor(X), torch.tensor(y)
    losses = []
    for _ in range(20):
        opt.zero_grad()
        ref.zero_grad()

        def closure():
            loss = ((Xc @ w + b - yc) ** 2).mean()
            loss.backward()
            return loss

        loss = opt.step(closure)
        ((Xt @ wt + bt - yt) ** 2).mean().backward()
        ref.step()
        losses.append(float(loss))
        np.testing.assert_allclose(w.detach().numpy(), wt.detach().numpy(), rtol=1e-5, atol=1e-6)
        assert w.grad_fn is None and w.requires_grad and w.is_leaf
    assert losses[-1] < losses[0]


def test_closure_runs_with_grad_enabled_and_returns_loss():
    w = chainrule.tensor([1.0, 2.0], requires_grad=True)
    opt = optim.SGD([w], lr=0.1)
    seen = []

    def closure():
        seen.append(chainrule.is_grad_enabled())
        opt.zero_grad()
        loss = (w * w).sum()
        loss.backward()
        return loss

    with chainrule.no_grad():
        loss = opt.step(closure)
    assert seen == [True] and float(loss) == 5.0
    np.testing.assert_allclose(w.detach().numpy(), [0.8, 1.6], rtol=1e-6)


def test_zero_grad_and_params_without_grad():
    w = chainrule.tensor([1.0, 2.0], requires_grad=True)
    v = chainrule.tensor([3.0], requires_grad=True)
    opt = optim.Adam([w, v], lr=0.1)
    w.grad = chainrule.tensor([1.0, 1.0])
    opt.step()
    assert v.tolist() == [3.0] and 1 not in opt.state_dict()["state"]  # no grad: untouched
    g = w.grad
    opt.zero_grad(set_to_none=False)
    assert w.grad is g and w.grad.tolist() == [0.0, 0.0]
    opt.zero_grad()
    assert w.grad is None


def test_step_bumps_version_so_stale_graphs_fail():
    w = chainrule.tensor([1.0, 2.0], requires_grad=True)
    y = (w * w).sum()  # saves w for backward
    opt = optim.SGD([w], lr=0.1)
    w.grad = chainrule.tensor([1.0, 1.0])
    opt.step()
    with pytest.raises(RuntimeError, match="modified by an in-place operation"):
        y.backward()


def test_isinstance_and_add_param_group_and_repr():
    w = chainrule.tensor([1.0], requires_grad=True)
    v = chainrule.tensor([1.0], requires_grad=True)
    opt = optim.SGD([w], lr=0.1, momentum=0.9)
    assert isinstance(opt, optim.Optimizer)
    opt.add_param_group({"params": v, "lr": 0.5})
    assert opt.param_groups[1]["momentum"] == 0.9 and opt.param_groups[1]["lr"] == 0.5
    assert "Parameter Group 1" in repr(opt)
    named = optim.SGD([("w", w)], lr=0.1)
    assert named.param_groups[0]["param_names"] == ["w"]


def test_errors_are_clear():
    w = chainrule.tensor([1.0], requires_grad=True)
    with pytest.raises(ValueError, match="empty parameter list"):
        optim.SGD([], lr=0.1)
    with pytest.raises(TypeError, match="single Tensor"):
        optim.SGD(w, lr=0.1)
    with pytest.raises(TypeError, match="sets"):
        optim.SGD({w}, lr=0.1)
    with pytest.raises(TypeError, match=r"params\[1\].*list"):
        optim.SGD([w, [1.0]], lr=0.1)
    with pytest.raises(ValueError, match="more than one parameter group"):
        optim.SGD([{"params": [w]}, {"params": [w]}], lr=0.1)
    with pytest.raises(ValueError, match="non-leaf"):
        optim.SGD([w * 2], lr=0.1)
    with pytest.raises(ValueError, match="Nesterov"):
        optim.SGD([w], lr=0.1, nesterov=True)
    with pytest.raises(ValueError, match="learning rate"):
        optim.Adam([w], lr=-1)
    with pytest.raises(ValueError, match="beta parameter at index 1"):
        optim.Adam([w], betas=(0.9, 1.0))
    with pytest.warns(UserWarning, match="duplicate"):
        optim.SGD([w, w], lr=0.1)
    opt = optim.SGD([w], lr=0.1)
    with pytest.raises(ValueError, match="different number of parameter groups: it has 2"):
        opt.load_state_dict({"state": {}, "param_groups": [{"params": [0]}, {"params": [1]}]})
    with pytest.raises(ValueError, match="group 0 has 2 parameters in the state dict but 1"):
        opt.load_state_dict({"state": {}, "param_groups": [{"lr": 1, "params": [0, 1]}]})
    with pytest.raises(ValueError, match="'state' and 'param_groups'"):
        opt.load_state_dict({"lr": 0.1})
    opt2 = optim.SGD([chainrule.tensor([1.0, 2.0], requires_grad=True)], lr=0.1, momentum=0.9)
    bad = {
        "state": {0: {"momentum_buffer": chainrule.zeros(3)}},
        "param_groups": opt.state_dict()["param_groups"],
    }
    with pytest.raises(ValueError, match=r"shape \(3,\).*shape \(2,\)"):
        opt2.load_state_dict(bad)
