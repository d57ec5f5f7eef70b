"""Constraints: the sets that parameters and samples live in, with PyTorch's names.

``constraints.positive.check(x)`` is a bool tensor saying which entries of ``x``
are in the set; constraints with ``event_dim > 0`` (``simplex``,
``lower_cholesky``, ...) reduce over their trailing event dimensions.
Distributions list one per parameter in ``arg_constraints`` and their sample
space as ``support``; with ``validate_args`` they are checked on creation and in
``log_prob``.

>>> constraints.interval(0, 1).check(chainrule.tensor([0.5, 2.0]))
tensor([ True, False])
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._tensor import Tensor, wrap

__all__ = [
    "Constraint", "MixtureSameFamilyConstraint", "boolean", "cat", "corr_cholesky", "dependent",
    "dependent_property",
    "greater_than", "greater_than_eq", "independent", "integer_interval", "interval",
    "half_open_interval", "is_dependent", "less_than", "lower_cholesky", "lower_triangular",
    "multinomial", "nonnegative", "nonnegative_integer", "one_hot", "positive",
    "positive_semidefinite", "positive_definite", "positive_integer", "real", "real_vector",
    "simplex", "square", "stack", "symmetric", "unit_interval",
]  # fmt: skip


def _array(value: Any) -> np.ndarray:
    return value._data if isinstance(value, Tensor) else np.asarray(value)


class Constraint:
    """A region: ``check(value)`` is a bool tensor, ``True`` where ``value`` is inside.

    ``is_discrete`` marks integer-valued sets; ``event_dim`` is how many trailing
    dimensions together make one point (0 for elementwise sets).
    """

    is_discrete = False
    event_dim = 0

    def check(self, value: Any) -> Tensor:
        return wrap(np.asarray(self._check(_array(value))))

    def _check(self, a: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def __repr__(self) -> str:
        return type(self).__name__[1:] + "()"


class _Described(Constraint):
    """A constraint from a ``check(array) -> bool array`` function and a description."""

    def __init__(self, check: Any, description: str) -> None:
        self._fn, self._description = check, description

    def _check(self, a: np.ndarray) -> np.ndarray:
        return np.broadcast_to(np.asarray(self._fn(a)), a.shape)

    def __repr__(self) -> str:
        return self._description


class _Dependent(Constraint):
    """A placeholder for sets that depend on other parameters (not checked)."""

    def __init__(self, *, is_discrete: Any = NotImplemented, event_dim: Any = NotImplemented):
        self._is_discrete, self._event_dim = is_discrete, event_dim

    @property
    def is_discrete(self) -> bool:  # type: ignore[override]
        if self._is_discrete is NotImplemented:
            raise NotImplementedError(".is_discrete cannot be determined statically")
        return self._is_discrete

    @property
    def event_dim(self) -> int:  # type: ignore[override]
        if self._event_dim is NotImplemented:
            raise NotImplementedError(".event_dim cannot be determined statically")
        return self._event_dim

    def __call__(self, *, is_discrete: Any = NotImplemented, event_dim: Any = NotImplemented):
        return _Dependent(is_discrete=is_discrete, event_dim=event_dim)

    def check(self, value: Any) -> Tensor:
        raise ValueError("Cannot determine validity of dependent constraint")


def is_dependent(constraint: Any) -> bool:
    """True for ``dependent`` placeholders (and ``dependent_property``), which are not checked."""
    return isinstance(constraint, _Dependent)


class _DependentProperty(property, _Dependent):
    """A ``@property`` that is also a dependent constraint (e.g. ``Uniform.support``)."""

    def __init__(
        self, fn: Any = None, *, is_discrete: Any = NotImplemented, event_dim: Any = NotImplemented
    ) -> None:
        property.__init__(self, fn)
        _Dependent.__init__(self, is_discrete=is_discrete, event_dim=event_dim)

    def __call__(self, fn: Any) -> _DependentProperty:  # type: ignore[override]
        return _DependentProperty(fn, is_discrete=self._is_discrete, event_dim=self._event_dim)


class _IndependentConstraint(Constraint):
    """``base`` over ``reinterpreted_batch_ndims`` more event dimensions (all must hold)."""

    def __init__(self, base_constraint: Constraint, reinterpreted_batch_ndims: int) -> None:
        self.base_constraint = base_constraint
        self.reinterpreted_batch_ndims = reinterpreted_batch_ndims

    @property
    def is_discrete(self) -> bool:  # type: ignore[override]
        return self.base_constraint.is_discrete

    @property
    def event_dim(self) -> int:  # type: ignore[override]
        return self.base_constraint.event_dim + self.reinterpreted_batch_ndims

    def _check(self, a: np.ndarray) -> np.ndarray:
        ok = np.asarray(self.base_constraint._check(a))
        n = self.reinterpreted_batch_ndims
        return ok.all(tuple(range(-n, 0))) if n else ok

    def __repr__(self) -> str:
        return f"IndependentConstraint({self.base_constraint!r}, {self.reinterpreted_batch_ndims})"


class MixtureSameFamilyConstraint(Constraint):
    """A component's support, checked with the mixture dimension added back (then reduced)."""

    def __init__(self, base_constraint: Constraint) -> None:
        if not isinstance(base_constraint, Constraint):
            raise TypeError(
                f"base_constraint must be a Constraint, got {type(base_constraint).__name__}"
            )
        self.base_constraint = base_constraint

    @property
    def is_discrete(self) -> bool:  # type: ignore[override]
        return self.base_constraint.is_discrete

    @property
    def event_dim(self) -> int:  # type: ignore[override]
        return self.base_constraint.event_dim

    def _check(self, a: np.ndarray) -> np.ndarray:
        if a.ndim < self.event_dim:
            raise ValueError(f"Expected value.dim() >= {self.event_dim} but got {a.ndim}")
        ok = np.asarray(self.base_constraint._check(np.expand_dims(a, -1 - self.event_dim)))
        keep = a.ndim - self.event_dim
        return ok.all(tuple(range(keep, ok.ndim)))

    def __repr__(self) -> str:
        return f"MixtureSameFamilyConstraint({self.base_constraint!r})"


class _Boolean(Constraint):
    is_discrete = True

    def _check(self, a: np.ndarray) -> np.ndarray:
        return (a == 0) | (a == 1)


class _OneHot(Constraint):
    is_discrete = True
    event_dim = 1

    def _check(self, a: np.ndarray) -> np.ndarray:
        return ((a == 0) | (a == 1)).all(-1) & (a.sum(-1) == 1)


class _IntegerInterval(Constraint):
    is_discrete = True

    def __init__(self, lower_bound: Any, upper_bound: Any) -> None:
        self.lower_bound, self.upper_bound = lower_bound, upper_bound

    def _check(self, a: np.ndarray) -> np.ndarray:
        lo, hi = _array(self.lower_bound), _array(self.upper_bound)
        return (a % 1 == 0) & (lo <= a) & (a <= hi)

    def __repr__(self) -> str:
        return f"IntegerInterval(lower_bound={self.lower_bound}, upper_bound={self.upper_bound})"


class _IntegerGreaterThan(Constraint):
    is_discrete = True

    def __init__(self, lower_bound: Any) -> None:
        self.lower_bound = lower_bound

    def _check(self, a: np.ndarray) -> np.ndarray:
        return (a % 1 == 0) & (a >= _array(self.lower_bound))

    def __repr__(self) -> str:
        return f"IntegerGreaterThan(lower_bound={self.lower_bound})"


class _Real(Constraint):
    def _check(self, a: np.ndarray) -> np.ndarray:
        return a == a  # False only for NaN


class _GreaterThan(Constraint):
    def __init__(self, lower_bound: Any) -> None:
        self.lower_bound = lower_bound

    def _check(self, a: np.ndarray) -> np.ndarray:
        return (a > _array(self.lower_bound)) & (a == a)

    def __repr__(self) -> str:
        return f"GreaterThan(lower_bound={self.lower_bound})"


class _GreaterThanEq(_GreaterThan):
    def _check(self, a: np.ndarray) -> np.ndarray:
        return a >= _array(self.lower_bound)

    def __repr__(self) -> str:
        return f"GreaterThanEq(lower_bound={self.lower_bound})"


class _LessThan(Constraint):
    def __init__(self, upper_bound: Any) -> None:
        self.upper_bound = upper_bound

    def _check(self, a: np.ndarray) -> np.ndarray:
        return a < _array(self.upper_bound)

    def __repr__(self) -> str:
        return f"LessThan(upper_bound={self.upper_bound})"


class _Interval(Constraint):
    def __init__(self, lower_bound: Any, upper_bound: Any) -> None:
        self.lower_bound, self.upper_bound = lower_bound, upper_bound

    def _check(self, a: np.ndarray) -> np.ndarray:
        return (_array(self.lower_bound) <= a) & (a <= _array(self.upper_bound))

    def __repr__(self) -> str:
        return f"{type(self).__name__[1:]}(lower_bound={self.lower_bound}, upper_bound={self.upper_bound})"


class _HalfOpenInterval(_Interval):
    def _check(self, a: np.ndarray) -> np.ndarray:
        return (_array(self.lower_bound) <= a) & (a < _array(self.upper_bound))


class _Simplex(Constraint):
    event_dim = 1

    def _check(self, a: np.ndarray) -> np.ndarray:
        return (a >= 0).all(-1) & (np.abs(a.sum(-1) - 1) < 1e-6)


class _Multinomial(Constraint):
    is_discrete = True
    event_dim = 1

    def __init__(self, upper_bound: int) -> None:
        self.upper_bound = upper_bound

    def _check(self, a: np.ndarray) -> np.ndarray:
        return (a >= 0).all(-1) & (a.sum(-1) <= self.upper_bound)


class _LowerTriangular(Constraint):
    event_dim = 2

    def _check(self, a: np.ndarray) -> np.ndarray:
        return (np.tril(a) == a).all((-2, -1))


class _LowerCholesky(Constraint):
    event_dim = 2

    def _check(self, a: np.ndarray) -> np.ndarray:
        tril = (np.tril(a) == a).all((-2, -1))
        return tril & (np.diagonal(a, axis1=-2, axis2=-1) > 0).all(-1)


class _CorrCholesky(Constraint):
    event_dim = 2

    def _check(self, a: np.ndarray) -> np.ndarray:
        tol = np.finfo(a.dtype).eps * a.shape[-1] * 10
        rows = np.linalg.norm(a, axis=-1)
        return _LowerCholesky()._check(a) & (np.abs(rows - 1) <= tol).all(-1)


class _Square(Constraint):
    event_dim = 2

    def _check(self, a: np.ndarray) -> np.ndarray:
        return np.full(a.shape[:-2], a.shape[-1] == a.shape[-2], dtype=bool)


class _Symmetric(_Square):
    def _check(self, a: np.ndarray) -> np.ndarray:
        if a.shape[-1] != a.shape[-2]:
            return super()._check(a)
        return np.isclose(a, np.swapaxes(a, -1, -2), atol=1e-6).all((-2, -1))


class _PositiveSemidefinite(_Symmetric):
    def _check(self, a: np.ndarray) -> np.ndarray:
        sym = super()._check(a)
        if not sym.all():
            return sym
        return np.linalg.eigvalsh(a).min(-1) >= 0


class _PositiveDefinite(_Symmetric):
    def _check(self, a: np.ndarray) -> np.ndarray:
        sym = super()._check(a)
        if not sym.all():
            return sym
        return np.linalg.eigvalsh(a).min(-1) > 0


class _Cat(Constraint):
    """Pieces of ``dim`` (of the given lengths) each in their own constraint."""

    def __init__(self, cseq: list, dim: int = 0, lengths: list | None = None) -> None:
        self.cseq, self.dim = list(cseq), dim
        self.lengths = list(lengths) if lengths is not None else [1] * len(self.cseq)

    @property
    def is_discrete(self) -> bool:  # type: ignore[override]
        return any(c.is_discrete for c in self.cseq)

    @property
    def event_dim(self) -> int:  # type: ignore[override]
        return max(c.event_dim for c in self.cseq)

    def _check(self, a: np.ndarray) -> np.ndarray:
        bounds = np.cumsum([0] + self.lengths)
        parts = [
            c._check(np.take(a, np.arange(s, e), axis=self.dim))
            for c, s, e in zip(self.cseq, bounds[:-1], bounds[1:], strict=True)
        ]
        return np.concatenate(parts, self.dim)


class _Stack(Constraint):
    """Slices along ``dim``, each in its own constraint."""

    def __init__(self, cseq: list, dim: int = 0) -> None:
        self.cseq, self.dim = list(cseq), dim

    @property
    def is_discrete(self) -> bool:  # type: ignore[override]
        return any(c.is_discrete for c in self.cseq)

    @property
    def event_dim(self) -> int:  # type: ignore[override]
        dim = max(c.event_dim for c in self.cseq)
        return dim + 1 if self.dim + dim < 0 else dim  # the stacked dim joins the event

    def _check(self, a: np.ndarray) -> np.ndarray:
        parts = [c._check(np.take(a, i, axis=self.dim)) for i, c in enumerate(self.cseq)]
        return np.stack(parts, self.dim)


dependent = _Dependent()
dependent_property = _DependentProperty
independent = _IndependentConstraint
boolean = _Boolean()
one_hot = _OneHot()
nonnegative_integer = _IntegerGreaterThan(0)
positive_integer = _IntegerGreaterThan(1)
integer_interval = _IntegerInterval
real = _Real()
real_vector = independent(real, 1)
positive = _GreaterThan(0.0)
nonnegative = _GreaterThanEq(0.0)
greater_than = _GreaterThan
greater_than_eq = _GreaterThanEq
less_than = _LessThan
multinomial = _Multinomial
unit_interval = _Interval(0.0, 1.0)
interval = _Interval
half_open_interval = _HalfOpenInterval
simplex = _Simplex()
lower_triangular = _LowerTriangular()
lower_cholesky = _LowerCholesky()
corr_cholesky = _CorrCholesky()
square = _Square()
symmetric = _Symmetric()
positive_semidefinite = _PositiveSemidefinite()
positive_definite = _PositiveDefinite()
cat = _Cat
stack = _Stack
