"""``biject_to`` and ``transform_to``: from a constraint to a transform onto it.

``transform_to(c)(x)`` maps any unconstrained tensor into the set ``c`` (useful to
optimise constrained parameters); ``biject_to(c)`` is a bijection, so it also has an
inverse and a log-Jacobian (as ``TransformedDistribution`` needs).  Register more with
``biject_to.register(MyConstraintClass)`` used as a decorator on a factory.

>>> transform_to(constraints.positive)(chainrule.tensor([-1.0, 0.0]))   # exp
"""

from __future__ import annotations

from typing import Any, Callable

from . import constraints
from . import transforms as T

__all__ = ["ConstraintRegistry", "biject_to", "transform_to"]


class ConstraintRegistry:
    """A table from constraint classes to factories ``constraint -> Transform``."""

    def __init__(self) -> None:
        self._registry: dict[type, Callable] = {}

    def register(self, constraint: Any, factory: Callable | None = None) -> Any:
        """Register ``factory`` for a constraint (class or instance); usable as a decorator."""
        if factory is None:
            return lambda factory: self.register(constraint, factory)
        if isinstance(constraint, constraints.Constraint):
            constraint = type(constraint)
        if not (isinstance(constraint, type) and issubclass(constraint, constraints.Constraint)):
            raise TypeError(
                f"Expected constraint to be either a Constraint subclass or instance, but got {constraint}"
            )
        self._registry[constraint] = factory
        return factory

    def __call__(self, constraint: Any) -> T.Transform:
        try:
            factory = self._registry[type(constraint)]
        except KeyError:
            raise NotImplementedError(f"Cannot transform {type(constraint).__name__} constraints") from None
        return factory(constraint)


biject_to = ConstraintRegistry()
transform_to = ConstraintRegistry()


def _real(c: Any) -> T.Transform:
    return T.identity_transform


def _independent(registry: ConstraintRegistry) -> Callable:
    def factory(c: Any) -> T.Transform:
        return T.IndependentTransform(registry(c.base_constraint), c.reinterpreted_batch_ndims)

    return factory


def _positive(c: Any) -> T.Transform:
    return T.ExpTransform()


def _greater_than(c: Any) -> T.Transform:
    return T.ComposeTransform([T.ExpTransform(), T.AffineTransform(c.lower_bound, 1)])


def _less_than(c: Any) -> T.Transform:
    return T.ComposeTransform([T.ExpTransform(), T.AffineTransform(c.upper_bound, -1)])


def _interval(c: Any) -> T.Transform:
    lower_is_0 = isinstance(c.lower_bound, (int, float)) and c.lower_bound == 0
    upper_is_1 = isinstance(c.upper_bound, (int, float)) and c.upper_bound == 1
    if lower_is_0 and upper_is_1:
        return T.SigmoidTransform()
    loc, scale = c.lower_bound, c.upper_bound - c.lower_bound
    return T.ComposeTransform([T.SigmoidTransform(), T.AffineTransform(loc, scale)])


def _cat(registry: ConstraintRegistry) -> Callable:
    def factory(c: Any) -> T.Transform:
        return T.CatTransform([registry(p) for p in c.cseq], c.dim, c.lengths)

    return factory


def _stack(registry: ConstraintRegistry) -> Callable:
    def factory(c: Any) -> T.Transform:
        return T.StackTransform([registry(p) for p in c.cseq], c.dim)

    return factory


for _registry in (biject_to, transform_to):
    _registry.register(constraints.real, _real)
    _registry.register(constraints.independent, _independent(_registry))
    _registry.register(constraints.positive, _positive)
    _registry.register(constraints.nonnegative, _positive)
    _registry.register(constraints.greater_than, _greater_than)
    _registry.register(constraints.greater_than_eq, _greater_than)
    _registry.register(constraints.less_than, _less_than)
    _registry.register(constraints.interval, _interval)
    _registry.register(constraints.half_open_interval, _interval)
    _registry.register(constraints.cat, _cat(_registry))
    _registry.register(constraints.stack, _stack(_registry))

biject_to.register(constraints.simplex, lambda c: T.StickBreakingTransform())
transform_to.register(constraints.simplex, lambda c: T.SoftmaxTransform())
transform_to.register(constraints.lower_cholesky, lambda c: T.LowerCholeskyTransform())
transform_to.register(constraints.positive_definite, lambda c: T.PositiveDefiniteTransform())
transform_to.register(constraints.positive_semidefinite, lambda c: T.PositiveDefiniteTransform())
