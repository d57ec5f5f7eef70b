"""``functional_call``: call a Module with other tensors in place of its parameters and buffers.

This is what makes a module a pure function of its weights, so that ``grad``,
``vmap`` and friends can take derivatives with respect to a dict of tensors::

    params = {k: v.detach() for k, v in model.named_parameters()}
    loss = lambda p, x, y: F.cross_entropy(functional_call(model, p, (x,)), y)
    per_sample = vmap(grad(loss), in_dims=(None, 0, 0))(params, xs, ys)

Works with modules that keep parameters in ``_parameters``/``_buffers`` dicts (as
``chainrule.nn.Module`` and PyTorch do) and with plain attributes.  The swap is
undone when the call returns or raises.
"""

from __future__ import annotations

from typing import Any

__all__ = ["functional_call"]

_MISSING = object()


def _owner(module: Any, name: str) -> tuple[Any, str]:
    *path, attr = name.split(".")
    mod = module
    for p in path:
        try:
            mod = getattr(mod, p)
        except AttributeError:
            raise AttributeError(f"functional_call: {type(module).__name__} has no submodule "
                                 f"{'.'.join(path)!r} (from the name {name!r})") from None
    return mod, attr


def _swap(mod: Any, attr: str, value: Any) -> tuple:
    """Put ``value`` where ``mod.attr`` lives; returns what undoes it."""
    d = getattr(mod, "__dict__", {})
    for reg in ("_parameters", "_buffers"):
        store = d.get(reg)
        if isinstance(store, dict) and attr in store:
            old = store[attr]
            store[attr] = value
            return (store, attr, old)
    old = d.get(attr, _MISSING)
    object.__setattr__(mod, attr, value)
    return (mod, attr, old)


def _restore(undo: tuple) -> None:
    where, attr, old = undo
    if isinstance(where, dict):
        where[attr] = old
    elif old is _MISSING:
        object.__delattr__(where, attr)
    else:
        object.__setattr__(where, attr, old)


def _named(module: Any) -> dict:
    """Every parameter/buffer name (tied ones under each of their names) -> the tensor."""
    out: dict = {}
    for what in ("named_parameters", "named_buffers"):
        fn = getattr(module, what, None)
        if fn is None:
            continue
        try:
            items = fn(remove_duplicate=False)
        except TypeError:
            items = fn()
        out.update(dict(items))
    return out


def functional_call(module: Any, parameter_and_buffer_dicts: Any, args: Any = None,
                    kwargs: dict | None = None, *, tie_weights: bool = True,
                    strict: bool = False) -> Any:
    """``module(*args, **kwargs)`` with the tensors in ``parameter_and_buffer_dicts`` (a dict,
    or a tuple of dicts, keyed by ``named_parameters()``/``named_buffers()`` names) in place of
    the module's own; names not given keep the module's tensors.

    ``tie_weights``: a tensor shared under several names (tied weights) is replaced under all
    of them when one is given.  ``strict``: every parameter and buffer must be given.
    """
    dicts = parameter_and_buffer_dicts
    if isinstance(dicts, dict):
        values = dict(dicts)
    else:
        values = {}
        for d in dicts:
            dup = set(values) & set(d)
            if dup:
                raise ValueError(f"functional_call: {sorted(dup)} appear in more than one dict")
            values.update(d)
    named = _named(module)
    if strict:
        missing = sorted(set(named) - set(values))
        unexpected = sorted(set(values) - set(named))
        if missing or unexpected:
            raise RuntimeError(f"functional_call(strict=True): missing keys {missing}, unexpected "
                               f"keys {unexpected}")
    if tie_weights and named:
        by_id: dict = {}
        for n, t in named.items():
            by_id.setdefault(id(t), []).append(n)
        for n in list(values):
            if n in named:
                for other in by_id[id(named[n])]:
                    if other not in values:
                        values[other] = values[n]
                    elif values[other] is not values[n]:
                        raise ValueError(f"functional_call: {n!r} and {other!r} are tied weights "
                                         "but were given different values")
    if args is None:
        args = ()
    elif not isinstance(args, tuple):
        args = (args,)
    undo = []
    try:
        for name, value in values.items():
            mod, attr = _owner(module, name)
            undo.append(_swap(mod, attr, value))
        return module(*args, **(kwargs or {}))
    finally:
        for u in reversed(undo):
            _restore(u)
