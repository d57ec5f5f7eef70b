"""The ``Optimizer`` base class: parameter groups, per-parameter state, state dicts.

A subclass only writes ``_update_group(group)``, which changes each parameter's
values in place.  Updates work on the NumPy arrays behind the tensors
(``p._data``) with ``out=`` arguments: an optimizer step is arithmetic on
leaves, never something autograd should record, and avoiding temporaries is
what makes a training step cheap.

State that PyTorch keeps as tensors (momentum buffers, running averages, the
``step`` count) is kept as chainrule Tensors too, so ``state_dict()`` has the
same layout as PyTorch's: ``{'state': {0: {...}, 1: {...}}, 'param_groups':
[{'lr': ..., 'params': [0, 1]}]}``.
"""

from __future__ import annotations

import warnings
from collections import defaultdict
from copy import deepcopy
from typing import Any, Callable, Iterable

import numpy as np

from .._tensor import Tensor, wrap
from ..autograd.grad_mode import enable_grad

__all__ = ["Optimizer", "required"]


class _Required:
    """Marks a hyper-parameter that has no default and must be given per group."""

    def __repr__(self) -> str:
        return "<required parameter>"


required = _Required()


def _describe(obj: Any) -> str:
    if isinstance(obj, Tensor):
        return f"Tensor of shape {tuple(obj.shape)}"
    return type(obj).__name__


class Optimizer:
    """Base class of all optimizers.

    ``params`` is an iterable of tensors, of ``(name, tensor)`` pairs, or of dicts
    (parameter groups) such as ``[{'params': w, 'weight_decay': 1e-4}, {'params': b}]``;
    options missing from a group are taken from ``defaults``.
    """

    # per-parameter state tensors have the parameter's shape (checked on load); LBFGS's do not
    _state_shaped_like_params = True

    def __init__(self, params: Any, defaults: dict[str, Any]) -> None:
        self.defaults = defaults
        self.state: defaultdict[Tensor, dict[str, Any]] = defaultdict(dict)
        self.param_groups: list[dict[str, Any]] = []
        if isinstance(params, Tensor):
            raise TypeError(
                "params argument given to the optimizer should be an iterable of Tensors or "
                f"dicts, but got a single {_describe(params)}; pass [tensor] or "
                "model.parameters()"
            )
        if isinstance(params, (set, frozenset)):
            raise TypeError(_SET_ERROR)
        groups = list(params)
        if not groups:
            raise ValueError(
                f"{type(self).__name__} got an empty parameter list; did the model register its "
                "parameters (nn.Parameter attributes) and is params not an exhausted generator?"
            )
        if not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        for group in groups:
            self.add_param_group(group)

    def __repr__(self) -> str:
        lines = [f"{type(self).__name__} ("]
        for i, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            for key in sorted(group):
                if key not in ("params", "param_names"):
                    lines.append(f"    {key}: {group[key]}")
        lines.append(")")
        return "\n".join(lines)

    def __getstate__(self) -> dict:
        return {"defaults": self.defaults, "state": self.state, "param_groups": self.param_groups}

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)

    # ------------------------------------------------------------ param groups
    def add_param_group(self, param_group: dict[str, Any]) -> None:
        """Add a group of parameters with its own options (e.g. a new layer while fine-tuning)."""
        if not isinstance(param_group, dict):
            raise TypeError(f"param_group must be a dict, but got {type(param_group).__name__}")
        group = dict(param_group)
        params = group.get("params")
        if params is None:
            raise KeyError("param_group needs a 'params' entry (a tensor or a list of tensors)")
        if isinstance(params, Tensor):
            params = [params]
        elif isinstance(params, (set, frozenset)):
            raise TypeError(_SET_ERROR)
        else:
            params = list(params)
        names = []
        tensors = []
        for item in params:
            if isinstance(item, tuple) and len(item) == 2 and isinstance(item[0], str):
                names.append(item[0])
                item = item[1]
            tensors.append(item)
        if names and len(names) != len(tensors):
            raise ValueError(
                "all optimizer params should be with/without names. Some param names are missing"
            )
        if names:
            group["param_names"] = names
        for i, p in enumerate(tensors):
            if not isinstance(p, Tensor):
                raise TypeError(
                    f"optimizer can only optimize Tensors, but params[{i}] of this group is a "
                    f"{type(p).__name__}"
                )
            if p.grad_fn is not None:
                raise ValueError(
                    f"can't optimize a non-leaf Tensor (params[{i}], shape {tuple(p.shape)}, made "
                    f"by {p.grad_fn.name()}); optimize the leaf it was computed from, or "
                    "use x.detach().requires_grad_()"
                )
        group["params"] = tensors
        for name, default in self.defaults.items():
            if default is required and name not in group:
                raise ValueError(
                    f"parameter group didn't specify a value of required optimization parameter "
                    f"{name}; give it in the group or as a keyword to {type(self).__name__}()"
                )
            group.setdefault(name, default)
        if len({id(p) for p in tensors}) != len(tensors):
            warnings.warn(
                "optimizer contains a parameter group with duplicate parameters; each will be "
                "updated more than once per step",
                UserWarning,
                stacklevel=3,
            )
        seen = {id(p) for g in self.param_groups for p in g["params"]}
        for p in tensors:
            if id(p) in seen:
                raise ValueError(
                    f"some parameters appear in more than one parameter group (a tensor of shape "
                    f"{tuple(p.shape)}); each parameter may belong to one group only"
                )
        self.param_groups.append(group)

    # -------------------------------------------------------------- stepping
    def zero_grad(self, set_to_none: bool = True) -> None:
        """Reset the gradients: ``.grad = None`` (default), or fill them with zeros."""
        for group in self.param_groups:
            for p in group["params"]:
                g = p._grad
                if g is None:
                    continue
                if set_to_none:
                    p._grad = None
                else:
                    if g.grad_fn is not None:
                        g.detach_()
                    g._rg = False
                    g._data.fill(0)

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """Update every parameter that has a gradient; returns ``closure()``'s loss if given.

        The closure (for optimizers that re-evaluate the loss) runs with grad mode on.
        """
        loss = None
        if closure is not None:
            with enable_grad():
                loss = closure()
        for group in self.param_groups:
            self._update_group(group)
        return loss

    def _update_group(self, group: dict[str, Any]) -> None:
        raise NotImplementedError(f"{type(self).__name__} must implement _update_group(group)")

    def _params_with_grad(self, group: dict[str, Any]) -> Iterable[tuple[Tensor, np.ndarray]]:
        """``(param, grad array)`` for each parameter of the group that has a gradient.

        Bumps each parameter's version counter: like any in-place change, an
        update invalidates graphs that saved the old values.
        """
        for p in group["params"]:
            g = p._grad
            if g is None:
                continue
            p._vc[0] += 1
            yield p, g._data

    # ------------------------------------------------------------ state dicts
    def state_dict(self) -> dict[str, Any]:
        """``{'state': {index: {...}}, 'param_groups': [{..., 'params': [indices]}]}`` as PyTorch.

        Parameters are numbered in the order they appear across groups; state
        tensors are the live ones (save or copy the dict to keep a snapshot).
        """
        index: dict[int, int] = {}
        groups = []
        start = 0
        for group in self.param_groups:
            for p in group["params"]:
                if id(p) not in index:
                    index[id(p)] = start
                    start += 1
            packed = {k: v for k, v in group.items() if k != "params"}
            packed["params"] = [index[id(p)] for p in group["params"]]
            groups.append(packed)
        state = {index[id(p)]: s for p, s in self.state.items() if id(p) in index}
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore options and state saved by ``state_dict()`` (state tensors are copied)."""
        if not isinstance(state_dict, dict) or not {"state", "param_groups"} <= state_dict.keys():
            raise ValueError(
                f"{type(self).__name__}.load_state_dict() expects a dict with keys 'state' and "
                "'param_groups' (from optimizer.state_dict()); got "
                + (
                    f"keys {sorted(map(str, state_dict))}"
                    if isinstance(state_dict, dict)
                    else type(state_dict).__name__
                )
            )
        saved_groups = deepcopy(state_dict["param_groups"])
        groups = self.param_groups
        if len(groups) != len(saved_groups):
            raise ValueError(
                f"loaded state dict has a different number of parameter groups: it has "
                f"{len(saved_groups)}, this {type(self).__name__} has {len(groups)}"
            )
        for i, (g, s) in enumerate(zip(groups, saved_groups, strict=False)):
            if len(g["params"]) != len(s["params"]):
                raise ValueError(
                    f"loaded state dict contains a parameter group that doesn't match the size "
                    f"of optimizer's group: group {i} has {len(s['params'])} parameters in the "
                    f"state dict but {len(g['params'])} in this optimizer"
                )
        id_map = {}
        for g, s in zip(groups, saved_groups, strict=False):
            for p, k in zip(g["params"], s["params"], strict=False):
                id_map[k] = p
        state: defaultdict[Tensor, dict[str, Any]] = defaultdict(dict)
        for k, v in state_dict["state"].items():
            if k not in id_map:
                continue
            p = id_map[k]
            state[p] = {key: _cast_state(p, key, value) for key, value in v.items()}
            for key, value in state[p].items():
                # 0-d entries are scalars (step counts, NAdam's mu_product, ASGD's eta)
                shaped = self._state_shaped_like_params and isinstance(value, Tensor)
                if shaped and value.ndim and value.shape != p.shape:
                    raise ValueError(
                        f"loaded optimizer state '{key}' for parameter {k} has shape "
                        f"{tuple(value.shape)}, but the parameter has shape {tuple(p.shape)}; "
                        "the state dict belongs to a different model"
                    )
        self.state = state
        new_groups = []
        for g, s in zip(groups, saved_groups, strict=False):
            s["params"] = g["params"]
            if "param_names" in g and "param_names" not in s:
                s["param_names"] = g["param_names"]
            new_groups.append(s)
        self.param_groups = new_groups


_SET_ERROR = (
    "optimizer parameters need to be organized in ordered collections, but the ordering of "
    "tensors in sets will change between runs. Please use a list instead."
)


def _cast_state(param: Tensor, key: str, value: Any) -> Any:
    """A private copy of a loaded state value, cast to the parameter's dtype (not ``step``)."""
    if isinstance(value, Tensor):
        data = value._data
        cast = key != "step" and param._data.dtype.kind == "f" and data.dtype.kind == "f"
        return wrap(np.array(data, dtype=param._data.dtype if cast else data.dtype))  # a copy
    return deepcopy(value)


def _state_tensor(like: np.ndarray, fill: float = 0.0) -> Tensor:
    """A state buffer shaped like a parameter (a chainrule Tensor, as PyTorch keeps them)."""
    return wrap(np.full_like(like, fill))


def _step_tensor() -> Tensor:
    """The per-parameter step count: a 0-d float32 tensor, like PyTorch's ``state['step']``."""
    return wrap(np.zeros((), dtype=np.float32))


def _count_step(state: dict[str, Any]) -> float:
    """Add one to ``state['step']`` (in place, as PyTorch does) and return the new count."""
    step = state["step"]._data
    step += 1
    return float(step)


def _grad_with_decay(g: np.ndarray, d: np.ndarray, maximize: bool, weight_decay: float) -> np.ndarray:
    """``g`` negated if ``maximize``, plus the L2 term ``weight_decay * p``.

    A new array only when it differs from ``g``, so the caller may update it in
    place exactly when ``result is not g``; the gradient itself is never changed.
    """
    if weight_decay == 0:
        return np.negative(g) if maximize else g
    out = np.multiply(d, weight_decay, dtype=np.result_type(g, d))
    if maximize:
        out -= g
    else:
        out += g
    return out


_CHECKED_NAMES = {"lr": "learning rate", "eps": "epsilon value"}


def _check_nonnegative(**values: float) -> None:
    """``ValueError`` naming the first hyper-parameter below 0 (PyTorch's messages)."""
    for name, value in values.items():
        if not value >= 0.0:
            what = _CHECKED_NAMES.get(name, f"{name} value")
            raise ValueError(f"Invalid {what}: {value} (must be >= 0)")


def _check(condition: bool, message: str) -> None:
    if not condition:
        raise ValueError(message)


def _check_betas(betas: tuple[float, float]) -> None:
    """``ValueError`` unless ``betas`` is a pair in ``[0, 1)`` (PyTorch's messages)."""
    _check(len(betas) == 2, f"betas must be a pair (beta1, beta2), got {betas!r}")
    for i, beta in enumerate(betas):
        _check(0.0 <= beta < 1.0, f"Invalid beta parameter at index {i}: {beta} (need 0 <= beta < 1)")
