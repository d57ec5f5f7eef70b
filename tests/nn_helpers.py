"""Shared helpers for the ``chainrule.nn`` tests: run the same module in chainrule and PyTorch.

A layer case is written once against a module ``T`` (``chainrule`` or ``torch``);
``run_pair`` builds both, copies PyTorch's weights into chainrule through
``load_state_dict`` (which also proves the parameter names match), feeds both
the same inputs and returns outputs and gradients (inputs and parameters by
name) for comparison.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np
import pytest
from reference import HAVE_TORCH, REQUIRE_TORCH, torch

import chainrule as cr


def need_torch() -> None:
    if not HAVE_TORCH:
        assert not REQUIRE_TORCH, "PyTorch 2.13 must be installed in CI (extra 'reference')"
        pytest.skip("PyTorch not installed")


def np_of(t: Any) -> np.ndarray:
    if HAVE_TORCH and isinstance(t, torch.Tensor):
        return t.detach().numpy()
    if isinstance(t, cr.Tensor):
        return t.detach().numpy()
    return np.asarray(t)


def flat(out: Any) -> list:
    if isinstance(out, (tuple, list)):
        res: list = []
        for o in out:
            res.extend(flat(o))
        return res
    return [out]


def make(T: Any, arr: np.ndarray, grad: bool) -> Any:
    t = cr.tensor(arr.copy()) if T is cr else torch.from_numpy(arr.copy())
    if grad and arr.dtype.kind == "f":
        t.requires_grad_(True)
    return t


def copy_weights(src: Any, dst: Any) -> None:
    """PyTorch module -> chainrule module, by state_dict name (strict: names must agree)."""
    state = {k: cr.tensor(v.detach().numpy().copy()) for k, v in src.state_dict().items()}
    dst.load_state_dict(state)


@dataclass
class Ints:
    """Integer inputs in [0, high) (class ids, token ids)."""

    high: int
    shape: tuple

    def make(self, rng: np.random.Generator) -> np.ndarray:
        return rng.integers(0, self.high, self.shape).astype(np.int64)


@dataclass
class Normal:
    """Normal inputs times ``scale`` (wide enough to reach every piece of a clamped activation)."""

    shape: tuple
    scale: float

    def make(self, rng: np.random.Generator) -> np.ndarray:
        return rng.standard_normal(self.shape) * self.scale


@dataclass
class Case:
    id: str
    make: Callable[[Any], Any]  # T -> module
    inputs: tuple  # shapes (float64 normal inputs) or objects with .make(rng)
    call: Callable | None = None  # (module, *inputs) -> output; default module(*inputs)
    train: bool = True
    steps: int = 1  # forward/backward rounds (running statistics evolve)
    rtol: float = 1e-7
    atol: float = 1e-9
    input_grad: bool = True
    extra: dict = field(default_factory=dict)


def inputs_for(case: Case, seed: int) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    out = []
    for spec in case.inputs:
        out.append(spec.make(rng) if hasattr(spec, "make") else rng.standard_normal(spec))
    return out


def run(case: Case, T: Any, arrays: list[np.ndarray], dtype: str, src: Any = None) -> dict:
    """Build, (copy weights), run ``steps`` forward/backward rounds; return what to compare."""
    if T is torch:
        torch.manual_seed(0)
    m = case.make(T)
    if src is not None:
        copy_weights(src, m)
    m = m.double() if dtype == "float64" else m.float()
    m.train(case.train)
    res: dict = {"module": m, "outs": [], "grads": []}
    for step in range(case.steps):
        xs = [make(T, a.astype(dtype) if a.dtype.kind == "f" else a, case.input_grad) for a in arrays]
        out = case.call(m, *xs) if case.call else m(*xs)
        outs = flat(out)
        res["outs"].extend(np_of(o) for o in outs)
        rng = np.random.default_rng(100 + step)
        total = None
        for o in outs:
            if o.requires_grad:
                v = rng.standard_normal(tuple(o.shape)).astype(dtype)
                term = (o * (cr.tensor(v) if T is cr else torch.from_numpy(v))).sum()
                total = term if total is None else total + term
        if total is not None:
            total.backward()
        res["grads"].extend(np_of(x.grad) if x.grad is not None else None for x in xs
                            if x.requires_grad)
    res["param_grads"] = {n: (None if p.grad is None else np_of(p.grad))
                          for n, p in m.named_parameters()}
    res["state"] = {k: np_of(v) for k, v in m.state_dict().items()}
    return res


def compare(case: Case, dtype: str = "float64", seed: int = 0) -> tuple[dict, dict]:
    need_torch()
    arrays = inputs_for(case, seed)
    ref = run(case, torch, arrays, dtype)
    torch.manual_seed(0)
    ours = run(case, cr, arrays, dtype, src=case.make(torch))
    tol = dict(rtol=case.rtol, atol=case.atol) if dtype == "float64" else dict(rtol=2e-4, atol=2e-5)
    assert len(ours["outs"]) == len(ref["outs"]), case.id
    for o, r in zip(ours["outs"], ref["outs"]):
        assert o.shape == r.shape, (case.id, o.shape, r.shape)
        assert o.dtype == r.dtype, (case.id, o.dtype, r.dtype)
        np.testing.assert_allclose(o, r, err_msg=f"{case.id}: output", **tol)
    for o, r in zip(ours["grads"], ref["grads"]):
        assert (o is None) == (r is None), case.id
        if r is not None:
            np.testing.assert_allclose(o, r, err_msg=f"{case.id}: input gradient", **tol)
    assert ours["param_grads"].keys() == ref["param_grads"].keys(), case.id
    for name, r in ref["param_grads"].items():
        o = ours["param_grads"][name]
        assert (o is None) == (r is None), (case.id, name)
        if r is not None:
            np.testing.assert_allclose(o, r, err_msg=f"{case.id}: grad of {name}", **tol)
    assert ours["state"].keys() == ref["state"].keys(), case.id
    for name, r in ref["state"].items():
        np.testing.assert_allclose(ours["state"][name], r, err_msg=f"{case.id}: state {name}", **tol)
    return ours, ref
