"""Loading a state dict into a module tree (``Module.load_state_dict``), kept apart from ``module.py``.

The walk is PyTorch's: every module loads its own parameters and persistent
buffers from the keys under its prefix (``"encoder.0."``), then hands the rest
down to its children.  Missing and unexpected keys are collected over the whole
tree; shape mismatches are always errors.  Messages are PyTorch's word for word,
so answers found online about them apply.
"""

from __future__ import annotations

from collections import namedtuple
from typing import Any, Mapping

import numpy as np

from .._tensor import Tensor
from ..autograd.grad_mode import no_grad
from .parameter import Parameter, is_lazy

__all__ = ["load_state_dict", "load_own"]

_IncompatibleKeysBase = namedtuple("IncompatibleKeys", ["missing_keys", "unexpected_keys"])


class _IncompatibleKeys(_IncompatibleKeysBase):
    """What ``load_state_dict`` returns: the keys it could not match (a named tuple)."""

    __slots__ = ()

    def __repr__(self) -> str:
        if not self.missing_keys and not self.unexpected_keys:
            return "<All keys matched successfully>"
        return super().__repr__()

    __str__ = __repr__


def load_state_dict(root: Any, state_dict: Mapping[str, Any], strict: bool,
                    assign: bool) -> _IncompatibleKeys:
    if not isinstance(state_dict, Mapping):
        raise TypeError(f"Expected state_dict to be dict-like, got {type(state_dict)}.")
    missing: list[str] = []
    unexpected: list[str] = []
    errors: list[str] = []
    stack: list[tuple[Any, dict, str]] = [(root, dict(state_dict), "")]
    while stack:  # pre-order walk (parents before children, children in order)
        module, local, prefix = stack.pop()
        module._load_from_state_dict(local, prefix, {}, True, missing, unexpected, errors,
                                     assign=assign)
        for name, child in reversed(list(module._modules.items())):
            if child is not None:
                child_prefix = prefix + name + "."
                sub = {k: v for k, v in local.items() if k.startswith(child_prefix)}
                stack.append((child, sub, child_prefix))
    if strict:
        if unexpected:
            keys = ", ".join(f'"{k}"' for k in unexpected)
            errors.insert(0, f"Unexpected key(s) in state_dict: {keys}. ")
        if missing:
            keys = ", ".join(f'"{k}"' for k in missing)
            errors.insert(0, f"Missing key(s) in state_dict: {keys}. ")
    if errors:
        raise RuntimeError("Error(s) in loading state_dict for {}:\n\t{}".format(
            type(root).__name__, "\n\t".join(errors)))
    return _IncompatibleKeys(missing, unexpected)


def load_own(module: Any, state_dict: dict, prefix: str, strict: bool, missing_keys: list,
             unexpected_keys: list, error_msgs: list, assign: bool) -> None:
    """Load ``module``'s own parameters and persistent buffers from ``prefix + name`` keys."""
    persistent = {k: v for k, v in module._buffers.items()
                  if k not in module._non_persistent_buffers_set}
    local = {k: v for k, v in list(module._parameters.items()) + list(persistent.items())
             if v is not None}
    for name, mine in local.items():
        key = prefix + name
        if key not in state_dict:
            if strict:
                missing_keys.append(key)
            continue
        theirs = state_dict[key]
        if not isinstance(theirs, Tensor):
            error_msgs.append(
                f'While copying the parameter named "{key}", expected chainrule.Tensor or '
                f"Tensor-like object from checkpoint but received {type(theirs)}")
            continue
        if is_lazy(theirs):
            continue  # an uninitialised value carries nothing to load
        if is_lazy(mine):
            with no_grad():
                mine.materialize(theirs._data.shape)  # type: ignore[attr-defined]
        if theirs._data.shape != mine._data.shape:
            error_msgs.append(
                f"size mismatch for {key}: copying a param with shape {theirs.shape} from "
                f"checkpoint, the shape in current model is {mine.shape}.")
            continue
        if assign:
            value = theirs
            if isinstance(mine, Parameter) and not isinstance(theirs, Parameter):
                value = Parameter(theirs, requires_grad=mine.requires_grad)
            setattr(module, name, value)
            continue
        try:
            np.copyto(mine._data, theirs._data, casting="unsafe")
            mine._vc[0] += 1
        except Exception as ex:  # noqa: BLE001 - reported with the key, like PyTorch
            error_msgs.append(
                f'While copying the parameter named "{key}", whose dimensions in the model are '
                f"{mine.shape} and whose dimensions in the checkpoint are {theirs.shape}, an "
                f"exception occurred : {ex.args}.")
    if strict:
        for key in state_dict:
            if key.startswith(prefix):
                first = key[len(prefix):].split(".", 1)[0]
                if first not in module._modules and first not in local:
                    unexpected_keys.append(key)
