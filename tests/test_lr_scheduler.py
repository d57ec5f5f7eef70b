"""Each scheduler's learning-rate sequence against PyTorch 2.13's."""

from __future__ import annotations

import math

import numpy as np
import pytest
from reference import HAVE_TORCH, REQUIRE_TORCH, torch

import chainrule
import chainrule.optim as optim
from chainrule.optim import lr_scheduler


@pytest.fixture(autouse=True)
def _need_torch():
    if not HAVE_TORCH:
        assert not REQUIRE_TORCH, "PyTorch 2.13 must be installed in CI (extra 'reference')"
        pytest.skip("PyTorch not installed")


def _optimizers(opt_name="SGD", **kw):
    """Two-group optimizers (different base lrs) for chainrule and PyTorch."""
    a = [chainrule.zeros(2, requires_grad=True), chainrule.zeros(3, requires_grad=True)]
    b = [torch.zeros(2, requires_grad=True), torch.zeros(3, requires_grad=True)]
    kw.setdefault("lr", 0.1)
    ours = getattr(optim, opt_name)([{"params": a[:1]}, {"params": a[1:], "lr": 0.03}], **kw)
    theirs = getattr(torch.optim, opt_name)(
        [{"params": b[:1]}, {"params": b[1:], "lr": 0.03}], **kw
    )
    return ours, theirs


def _run(make, steps=40, opt_name="SGD", opt_kw=None, metrics=None, momentum_key=None):
    ours_opt, ref_opt = _optimizers(opt_name, **(opt_kw or {}))
    ours, ref = make(lr_scheduler, ours_opt), make(torch.optim.lr_scheduler, ref_opt)
    np.testing.assert_allclose(ours.get_last_lr(), ref.get_last_lr(), rtol=1e-12, atol=1e-15)
    seq = []
    for i in range(steps):
        ours_opt.step()
        ref_opt.step()
        if metrics is None:
            ours.step()
            ref.step()
        else:
            ours.step(metrics[i])
            ref.step(metrics[i])
        a, b = ours.get_last_lr(), ref.get_last_lr()
        np.testing.assert_allclose(
            a, b, rtol=1e-12, atol=1e-15, err_msg=f"lr differs at step {i + 1}"
        )
        assert [g["lr"] for g in ours_opt.param_groups] == a
        if momentum_key is not None:
            ma = [g[momentum_key] for g in ours_opt.param_groups]
            mb = [g[momentum_key] for g in ref_opt.param_groups]
            np.testing.assert_allclose(
                np.array(ma, dtype=float),
                np.array(mb, dtype=float),
                rtol=1e-12,
                err_msg=f"{momentum_key} differs at step {i + 1}",
            )
        seq.append(a[0])
    return seq


def test_step_lr():
    seq = _run(lambda m, o: m.StepLR(o, step_size=7, gamma=0.5))
    assert len(set(seq)) > 3


def test_multistep_lr_with_repeated_milestone():
    seq = _run(lambda m, o: m.MultiStepLR(o, milestones=[5, 12, 12, 30], gamma=0.3))
    assert seq[4] < seq[3] and seq[11] == pytest.approx(seq[10] * 0.09)


def test_exponential_lr():
    _run(lambda m, o: m.ExponentialLR(o, gamma=0.9))


@pytest.mark.parametrize("eta_min", [0.0, 0.005])
def test_cosine_annealing_lr_past_t_max(eta_min):
    seq = _run(lambda m, o: m.CosineAnnealingLR(o, T_max=10, eta_min=eta_min), steps=45)
    assert min(seq) == pytest.approx(eta_min, abs=1e-12) and seq[9] == pytest.approx(
        eta_min, abs=1e-12
    )


def test_cosine_annealing_is_recursive_like_pytorch():
    """A hand-set lr keeps influencing the schedule (PyTorch's recursive form)."""
    ours_opt, ref_opt = _optimizers()
    ours = lr_scheduler.CosineAnnealingLR(ours_opt, T_max=8)
    ref = torch.optim.lr_scheduler.CosineAnnealingLR(ref_opt, T_max=8)
    for i in range(12):
        if i == 3:
            ours_opt.param_groups[0]["lr"] = ref_opt.param_groups[0]["lr"] = 0.05
        ours_opt.step()
        ref_opt.step()
        ours.step()
        ref.step()
        np.testing.assert_allclose(ours.get_last_lr(), ref.get_last_lr(), rtol=1e-12)


def test_closed_form_when_epoch_is_given():
    ours_opt, ref_opt = _optimizers()
    ours = lr_scheduler.CosineAnnealingLR(ours_opt, T_max=10)
    ref = torch.optim.lr_scheduler.CosineAnnealingLR(ref_opt, T_max=10)
    for epoch in (3, 7, 15):
        with pytest.warns(UserWarning):
            ours.step(epoch)
        with pytest.warns(UserWarning):
            ref.step(epoch)
        np.testing.assert_allclose(ours.get_last_lr(), ref.get_last_lr(), rtol=1e-12)


def test_lambda_lr_one_function_per_group():
    seq = _run(lambda m, o: m.LambdaLR(o, [lambda e: 0.95**e, lambda e: 1 / (1 + e)]))
    assert seq[0] == pytest.approx(0.1 * 0.95)


@pytest.mark.parametrize(
    "kw",
    [
        dict(),
        dict(mode="max", factor=0.5, patience=2, threshold=0.1, threshold_mode="abs", cooldown=2),
        dict(factor=0.5, patience=1, cooldown=1, min_lr=[0.02, 0.001]),
        dict(patience=0, threshold_mode="abs", min_lr=0.01, eps=1e-3),
    ],
)
def test_reduce_lr_on_plateau(kw):
    rng = np.random.default_rng(0)
    metrics = list(np.concatenate([np.linspace(1, 0.5, 8), 0.5 + 0.01 * rng.standard_normal(40)]))
    seq = _run(lambda m, o: m.ReduceLROnPlateau(o, **kw), steps=48, metrics=metrics)
    if kw.get("mode") != "max":
        assert seq[-1] < seq[0]


@pytest.mark.parametrize(
    "kw",
    [
        dict(max_lr=1.0, total_steps=50),
        dict(max_lr=[1.0, 0.5], epochs=5, steps_per_epoch=10, anneal_strategy="linear"),
        dict(max_lr=0.8, total_steps=50, three_phase=True, div_factor=10.0, final_div_factor=100.0),
        dict(max_lr=0.8, total_steps=50, pct_start=0.25, base_momentum=0.8, max_momentum=0.9),
    ],
)
def test_one_cycle_lr_with_momentum(kw):
    seq = _run(
        lambda m, o: m.OneCycleLR(o, **kw),
        steps=49,
        opt_kw=dict(momentum=0.9),
        momentum_key="momentum",
    )
    assert max(seq) == pytest.approx(
        kw["max_lr"] if isinstance(kw["max_lr"], float) else 1.0, rel=0.05
    )


def test_one_cycle_lr_cycles_adam_beta1():
    _run(
        lambda m, o: m.OneCycleLR(o, max_lr=0.01, total_steps=30),
        steps=29,
        opt_name="Adam",
        momentum_key="betas",
    )


def test_one_cycle_lr_errors():
    opt, _ = _optimizers()
    with pytest.raises(ValueError, match="total_steps"):
        lr_scheduler.OneCycleLR(opt, max_lr=1.0)
    with pytest.raises(ValueError, match="expected 2 values for max_lr"):
        lr_scheduler.OneCycleLR(opt, max_lr=[1.0], total_steps=5)
    s = lr_scheduler.OneCycleLR(opt, max_lr=1.0, total_steps=3, cycle_momentum=False)
    for _ in range(3):
        s.step()
    with pytest.raises(ValueError, match="Tried to step 4 times"):
        s.step()
    plain = optim.Adagrad([chainrule.zeros(1, requires_grad=True)])
    with pytest.raises(ValueError, match="momentum or betas"):
        lr_scheduler.OneCycleLR(plain, max_lr=1.0, total_steps=5)


def test_state_dict_resumes_schedule():
    opt, _ = _optimizers()
    s = lr_scheduler.StepLR(opt, step_size=3, gamma=0.5)
    for _ in range(4):
        s.step()
    state = s.state_dict()
    assert "optimizer" not in state and state["last_epoch"] == 4
    opt2, _ = _optimizers()
    s2 = lr_scheduler.StepLR(opt2, step_size=100)
    s2.load_state_dict(state)
    opt2.param_groups[0]["lr"] = opt.param_groups[0]["lr"]
    opt2.param_groups[1]["lr"] = opt.param_groups[1]["lr"]
    for _ in range(5):
        s.step()
        s2.step()
        assert s.get_last_lr() == s2.get_last_lr()
    lam = lr_scheduler.LambdaLR(opt, lambda e: 1.0)
    assert lam.state_dict()["lr_lambdas"] == [None, None]


def test_scheduler_errors():
    with pytest.raises(TypeError, match="is not an Optimizer"):
        lr_scheduler.StepLR(object(), step_size=1)
    opt, _ = _optimizers()
    with pytest.raises(KeyError, match="initial_lr"):
        lr_scheduler.StepLR(opt, step_size=2, last_epoch=3)
    with pytest.raises(ValueError, match="factor should be < 1.0"):
        lr_scheduler.ReduceLROnPlateau(opt, factor=2.0)
    with pytest.raises(ValueError, match="mode must be"):
        lr_scheduler.ReduceLROnPlateau(opt, mode="lowest")
    assert math.isinf(lr_scheduler.ReduceLROnPlateau(opt).best)


def test_scheduler_state_survives_save_and_load(tmp_path):
    opt, _ = _optimizers()
    s = lr_scheduler.MultiStepLR(opt, milestones=[2, 4, 4], gamma=0.5)
    for _ in range(3):
        s.step()
    chainrule.save(s.state_dict(), tmp_path / "sched.pt")
    opt2, _ = _optimizers()
    s2 = lr_scheduler.MultiStepLR(opt2, milestones=[100])
    s2.load_state_dict(chainrule.load(tmp_path / "sched.pt"))
    for g1, g2 in zip(opt.param_groups, opt2.param_groups, strict=True):
        g2["lr"] = g1["lr"]
    for _ in range(3):
        s.step()
        s2.step()
        assert s.get_last_lr() == s2.get_last_lr()
    with pytest.warns(UserWarning):
        s2.step(10)
    assert s2.get_last_lr()[0] == pytest.approx(0.1 * 0.5**3)
