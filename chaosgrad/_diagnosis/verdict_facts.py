"""What the verdict's rules read: the measured numbers and what follows from them.

:class:`Facts` holds the verdict's inputs (:class:`~chaosgrad._diagnosis.verdict.VerdictInputs`)
and derives, once and only where a rule reads it, the gradient's class, the physics' class
and the comparison of the two rates (``_diagnosis.rates``); :class:`Outcome` is what a rule
decides. The rules themselves are in ``_diagnosis.verdict_failures`` and
``_diagnosis.verdict_comparison``, their order in ``_diagnosis.verdict``.
"""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING, NamedTuple

from chaosgrad._diagnosis import words as words
from chaosgrad._diagnosis.rates import RateComparison, change_class, growth_class, members_class, rate_comparison

if TYPE_CHECKING:  # the facts read the inputs' fields only; their module imports this one
    from chaosgrad._diagnosis.verdict import VerdictInputs


class Outcome(NamedTuple):
    """What a rule decides: the verdict, the reasons in words, and what would decide it."""

    verdict: str
    reasons: tuple
    to_decide: tuple = ()


class Facts:
    """The verdict's inputs and what the rules derive from them, each derived once and
    only when a rule first reads it (every derivation is a pure function of ``v``)."""

    def __init__(self, v: VerdictInputs):
        self.v = v
        self.causes = tuple(dict.fromkeys(v.confirmed))

    @cached_property
    def own_class(self) -> str | None:
        """The gradient's class from its rate, else from its members (``_diagnosis.rates``)."""
        v = self.v
        return growth_class(v.rate, v.rate_low, v.rate_high, v.t_max) or members_class(v) or change_class(v)

    @cached_property
    def physics_growth(self) -> str | None:
        """The class of the physics' predicted rate (``None``: its interval leaves it open)."""
        v = self.v
        return growth_class(v.expected, v.expected_low, v.expected_high, v.t_max)

    @cached_property
    def comparison(self) -> RateComparison:
        return rate_comparison(self.v)

    @cached_property
    def gradient_class(self) -> str | None:
        """The gradient's own class; where that is undecided but the gradient follows the
        physics along the same members, whose rate is decided, the physics' class."""
        v = self.v
        if (
            self.own_class is None
            and v.paired
            and self.comparison.outcome == "agree"
            and self.physics_growth is not None
            and v.physics not in ("undetermined", "unbounded")
        ):
            return self.physics_growth
        return self.own_class

    @cached_property
    def rate_words(self) -> str:
        v = self.v
        return f"the gradient rate {words.rate(v.rate, v.rate_low, v.rate_high)}"

    @cached_property
    def expected_words(self) -> str:
        v = self.v
        return f"the physics predicts {words.rate(v.expected, v.expected_low, v.expected_high)}"
