"""The ``Distribution`` base class: shapes, sampling API, argument validation.

Shapes follow PyTorch: a sample has shape ``sample_shape + batch_shape +
event_shape``.  ``batch_shape`` counts independent distributions (e.g. one
Normal per element of ``loc``); ``event_shape`` is the shape of one draw
(``()`` for scalars, ``(k,)`` for a Multinomial over k categories).

Parameters are chainrule Tensors, so ``log_prob`` (and ``rsample`` where the
distribution is reparameterisable) is differentiable with respect to them.
Random draws come from chainrule's generator: ``chainrule.manual_seed`` makes
them reproducible.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from .. import dtypes as _dt
from .._tensor import Size, Tensor, wrap
from ..autograd.grad_mode import no_grad
from ..ops import broadcast_tensors
from .constraints import Constraint, _Described, is_dependent

__all__ = ["Distribution", "broadcast_all"]

NOT_NAN = (lambda a: ~np.isnan(a), "real numbers (not NaN)")  # the constraint on logits


def _as_tensor(value: Any, like: Tensor | None) -> Tensor:
    if isinstance(value, Tensor):
        return value
    if isinstance(value, (int, float, bool, np.number, np.ndarray, list, tuple)):
        dtype = like._data.dtype if like is not None else _dt.get_default_dtype().np
        return wrap(np.asarray(value, dtype=dtype))
    raise TypeError(
        f"distribution parameters must be tensors or numbers, got {type(value).__name__}"
    )


def broadcast_all(*values: Any) -> tuple[Tensor, ...]:
    """Parameters as tensors of one broadcast shape (numbers take the tensors' float dtype)."""
    like = next((v for v in values if isinstance(v, Tensor) and v.is_floating_point()), None)
    tensors = [_as_tensor(v, like) for v in values]
    if len({t._data.shape for t in tensors}) == 1:
        return tuple(tensors)
    return tuple(broadcast_tensors(*tensors))


class Distribution:
    """Base class: subclasses set shapes in ``__init__`` and implement ``log_prob``, ``sample``..."""

    has_rsample = False
    has_enumerate_support = False
    support: Any = None  # a Constraint: the sample space, checked by log_prob when validating
    # name -> (check(array) -> bool array, description) for each parameter, checked on creation
    arg_constraints: dict[str, tuple[Callable[[np.ndarray], Any], str]] = {}
    _validate_default = True

    def __init__(self, batch_shape: tuple = (), event_shape: tuple = (),
                 validate_args: bool | None = None) -> None:
        self._batch_shape = Size(batch_shape)
        self._event_shape = Size(event_shape)
        self._validate_args = self._validating(validate_args)
        if self._validate_args:
            for name in self.arg_constraints:
                if name in self.__dict__:  # not e.g. probs when the distribution was given logits
                    self._check_arg(name, self.__dict__[name])
                elif isinstance(getattr(type(self), name, None), property):  # e.g. Chi2.df
                    self._check_arg(name, getattr(self, name))

    def __init_subclass__(cls, **kwargs: Any) -> None:
        # (check, description) pairs become Constraint objects, so that every entry of
        # arg_constraints has PyTorch's .check(value)
        super().__init_subclass__(**kwargs)
        table = cls.__dict__.get("arg_constraints")
        if isinstance(table, dict) and any(isinstance(v, tuple) for v in table.values()):
            cls.arg_constraints = {
                k: _Described(*v) if isinstance(v, tuple) else v for k, v in table.items()
            }

    @classmethod
    def _validating(cls, validate_args: bool | None) -> bool:
        return cls._validate_default if validate_args is None else validate_args

    def _check_arg(self, name: str, value: Tensor) -> None:
        """Raise if ``value`` breaks the constraint ``arg_constraints[name]``, showing bad entries."""
        constraint = self.arg_constraints[name]
        if isinstance(constraint, Constraint):
            if is_dependent(constraint):
                return
            ok, what = constraint._check(value._data), repr(constraint)
        else:
            check, what = constraint
            ok = check(value._data)
        if not np.all(ok):
            bad = value._data[~np.broadcast_to(np.asarray(ok), value._data.shape)]
            raise ValueError(
                f"Expected parameter {name} (Tensor of shape {tuple(value.shape)}) of "
                f"distribution {type(self).__name__} to be {what}, but found invalid "
                f"values: {bad.reshape(-1)[:5].tolist()}"
            )

    @classmethod
    def set_default_validate_args(cls, value: bool) -> None:
        Distribution._validate_default = bool(value)

    @property
    def batch_shape(self) -> Size:
        return self._batch_shape

    @property
    def event_shape(self) -> Size:
        return self._event_shape

    def _extended_shape(self, sample_shape: Any = ()) -> Size:
        if isinstance(sample_shape, int):
            sample_shape = (sample_shape,)
        return Size(tuple(sample_shape)) + self._batch_shape + self._event_shape

    # -------------------------------------------------------------- API
    def sample(self, sample_shape: Any = ()) -> Tensor:
        """A draw of shape ``sample_shape + batch_shape + event_shape`` (no gradient)."""
        if self.has_rsample or type(self).rsample is not Distribution.rsample:
            with no_grad():
                return self.rsample(sample_shape).detach()
        raise NotImplementedError(f"{type(self).__name__} does not implement sample()")

    def rsample(self, sample_shape: Any = ()) -> Tensor:
        """A reparameterised draw: differentiable with respect to the parameters."""
        raise NotImplementedError(
            f"{type(self).__name__} cannot be reparameterised, so it has no rsample(); use "
            "sample() (no gradient) or a score-function estimator with log_prob()"
        )

    def sample_n(self, n: int) -> Tensor:
        return self.sample((n,))

    def log_prob(self, value: Tensor) -> Tensor:
        raise NotImplementedError(f"{type(self).__name__} does not implement log_prob()")

    def cdf(self, value: Tensor) -> Tensor:
        raise NotImplementedError(f"{type(self).__name__} does not implement cdf()")

    def icdf(self, value: Tensor) -> Tensor:
        raise NotImplementedError(f"{type(self).__name__} does not implement icdf()")

    def enumerate_support(self, expand: bool = True) -> Tensor:
        raise NotImplementedError(f"{type(self).__name__} does not implement enumerate_support()")

    def expand(self, batch_shape: Any, _instance: Any = None) -> Distribution:
        """The same distribution broadcast to ``batch_shape`` (parameters are expanded views).

        Every tensor attribute whose leading dimensions are the batch shape is
        expanded; subclasses holding other distributions override this.
        """
        batch_shape = Size(tuple(batch_shape))
        old = tuple(self._batch_shape)
        try:
            np.broadcast_shapes(old, tuple(batch_shape))
        except ValueError:
            raise RuntimeError(  # PyTorch's class: its expand fails in Tensor.expand
                f"{type(self).__name__}.expand: batch_shape {tuple(batch_shape)} is not a "
                f"broadcast of the current batch_shape {old}"
            ) from None
        new = type(self).__new__(type(self)) if _instance is None else _instance
        state = dict(self.__dict__)
        for key, value in state.items():
            if isinstance(value, Tensor) and tuple(value.shape[: len(old)]) == old:
                state[key] = value.expand(*batch_shape, *value.shape[len(old) :])
        new.__dict__.update(state)
        new._batch_shape = batch_shape
        return new

    def _validate_sample(self, value: Tensor) -> None:
        """``ValueError`` if ``value`` has the wrong shape or lies outside ``support``."""
        self._value(value)
        support = self.support
        if support is None or is_dependent(support):
            return
        ok = support._check(value._data)
        if not np.all(ok):
            raise ValueError(
                f"Expected value argument ({type(value).__name__} of shape "
                f"{tuple(value.shape)}) to be within the support ({support!r}) of the "
                f"distribution {self!r}, but found invalid values:\n{value}"
            )

    def _checked(self, value: Any) -> Tensor:
        """``value`` as a tensor, validated against shapes and ``support`` if validating."""
        if not isinstance(value, Tensor):
            value = _as_tensor(value, getattr(self, "_param", None))
        if self._validate_args:
            self._validate_sample(value)
        return value

    def entropy(self) -> Tensor:
        raise NotImplementedError(f"{type(self).__name__} does not implement entropy()")

    def perplexity(self) -> Tensor:
        return self.entropy().exp()

    @property
    def mean(self) -> Tensor:
        raise NotImplementedError(f"{type(self).__name__} does not implement mean")

    @property
    def mode(self) -> Tensor:
        raise NotImplementedError(f"{type(self).__name__} does not implement mode")

    @property
    def variance(self) -> Tensor:
        raise NotImplementedError(f"{type(self).__name__} does not implement variance")

    @property
    def stddev(self) -> Tensor:
        return self.variance.sqrt()

    # ---------------------------------------------------------- helpers
    def _value(self, value: Any) -> Tensor:
        """``value`` as a tensor; with validation, check its shape against the batch/event shape."""
        if not isinstance(value, Tensor):
            value = _as_tensor(value, getattr(self, "_param", None))
        if self._validate_args:
            event = len(self._event_shape)
            actual = tuple(value.shape)
            if event and actual[len(actual) - event:] != tuple(self._event_shape):
                raise ValueError(
                    f"{type(self).__name__}.log_prob: the value's trailing dimensions "
                    f"{actual[len(actual) - event:]} must equal the event shape "
                    f"{tuple(self._event_shape)} (value shape {actual})"
                )
            try:
                np.broadcast_shapes(actual, tuple(self._batch_shape + self._event_shape))
            except ValueError:
                raise ValueError(
                    f"{type(self).__name__}.log_prob: value of shape {actual} does not broadcast "
                    f"with batch_shape {tuple(self._batch_shape)} + event_shape "
                    f"{tuple(self._event_shape)}"
                ) from None
        return value

    def _check_support(self, ok: Any, what: str) -> None:
        if self._validate_args and not np.all(ok):
            raise ValueError(
                f"{type(self).__name__}.log_prob: the value must be {what} (the distribution's "
                "support); pass validate_args=False to evaluate it anyway"
            )

    def __repr__(self) -> str:
        parts = []
        for name in self.arg_constraints:
            if name in self.__dict__:
                v = self.__dict__[name]
                parts.append(f"{name}: {v.detach() if v.numel() == 1 else v.shape}")
        return f"{type(self).__name__}({', '.join(parts)})"


class _ProbsOrLogits(Distribution):
    """Given by exactly one of ``probs`` and ``logits``; the other is computed on first use."""

    def _given(self, probs: Any, logits: Any) -> tuple[str, Tensor]:
        """Which parameter was given, and its value as a tensor."""
        if (probs is None) == (logits is None):
            name = type(self).__name__
            raise ValueError(
                f"Either `probs` or `logits` must be specified, but not both "
                f"({name}(probs=p) or {name}(logits=l))"
            )
        if probs is not None:
            return "probs", broadcast_all(probs)[0]
        return "logits", broadcast_all(logits)[0]

    def _probs_from(self, logits: Tensor) -> Tensor:
        raise NotImplementedError

    def _logits_from(self, probs: Tensor) -> Tensor:
        raise NotImplementedError

    def __getattr__(self, name: str) -> Any:
        # only called for attributes not set: the parameter that was not given (then kept)
        if name == "probs":
            self.probs = self._probs_from(self.__dict__["logits"])
            return self.probs
        if name == "logits":
            self.logits = self._logits_from(self.__dict__["probs"])
            return self.logits
        raise AttributeError(name)
