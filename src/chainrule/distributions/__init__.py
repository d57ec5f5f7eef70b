"""``chainrule.distributions``: probability distributions with ``sample`` and ``log_prob``.

>>> from chainrule.distributions.multinomial import Multinomial
>>> Multinomial(10, chainrule.ones(6) / 6).sample()
"""

from . import bernoulli, categorical, distribution, multinomial, normal  # noqa: F401
from .bernoulli import Bernoulli
from .categorical import Categorical
from .distribution import Distribution
from .multinomial import Multinomial
from .normal import Normal

__all__ = ["Distribution", "Normal", "Bernoulli", "Categorical", "Multinomial"]
