"""The verdict: a pure function of measured numbers.

Inputs are rates with 95% intervals, statuses and which ablations confirmed a cause
(:class:`VerdictInputs`); the output is a :class:`Decision` with the verdict, the reasons
in words, and, when the evidence does not decide, what would. No simulator is touched
here, so every rule is tested on synthetic inputs (``tests/test_verdict_rules.py``).

A rate is classed against the longest horizon ``T`` (``growth_class``): a change of the
gradient by a factor 2 over ``T`` (``|r| T = ln 2``) is the smallest change called
material.

- ``grows``: the interval excludes 0 from below and the rate is material;
- ``shrinks``: the same, downwards;
- ``flat``: the rate is immaterial and the whole interval stays within an order of
  magnitude over ``T`` (``max(|lo|, |hi|) T <= ln 10``): no rate the data allow makes
  the gradient explode or vanish. (A factor 4 would need about 30 members to show for
  a gradient that oscillates by a factor 10 along a limit cycle);
- otherwise undecided by the rate: the interval spans more than one class. The class
  is then taken from the members themselves where they decide it: every member's own
  interval in one class (``members_class``), or every member's gradient changed by more
  than a factor 100 in one direction across the window (``change_class``); or, where the
  gradient follows the physics along the same trajectories, from the physics' class.

The comparison with the physics (``_diagnosis.rates.rate_comparison``) has three outcomes: agree,
disagree (significant at 99% and material, from the mean over members, from every
member on its own, or from the gap along the same trajectories), or undecided (disjoint
95% intervals that are not significantly apart: never called agreement).

Order of the rules (:data:`RULES`):

1. the forward simulation diverged;
2. the gradient is identically zero;
3. the gradient is partly non-finite and an ablation removes the blow-up: growth at the
   ablation's rate that reaches the dtype's range there and agrees with the physics is
   the overflow of a physical explosion (intrinsic); growth that cannot reach it, or
   what stays finite that does not grow, is a numerical explosion;
4. a confirmed non-smooth cause (non-smooth);
5. the gradient is non-finite at too many horizons to fit (otherwise inconclusive);
6. on neutral physics, growth as a power of T (``_gradients.laws``) is stable, and
   growth the horizons cannot tell from an exponential is inconclusive with the horizon
   that would decide;
7. its class is undecided;
8. it disagrees with the physics (numerical when an ablation explains the gap,
   inconclusive when none does);
9. the comparison is undecided (inconclusive, with the members or horizons that would
   decide);
10. the physics is undetermined;
11. otherwise the gradient is what the physics predicts and the verdict names its class
    (intrinsic explosion or vanishing, stable).

Each rule is a small pure function of the numbers and what follows from them
(``_diagnosis.verdict_facts``): rules 1-5, for a gradient that is not a measurable rate,
are in ``_diagnosis.verdict_failures``, rules 6-11, for a rate against the physics, in
``_diagnosis.verdict_comparison``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

from chaosgrad._diagnosis.rates import (  # noqa: F401 - growth_class, disagreement and the levels are part of the verdict's surface
    FLAT_BOUND,
    LOG2,
    disagreement,
    growth_class,
    rate_comparison,
)
from chaosgrad._diagnosis.verdict_comparison import (
    as_the_physics_predicts,
    class_undecided,
    comparison_undecided,
    gap_from_physics,
    neutral_growth_law,
    physics_undetermined,
)
from chaosgrad._diagnosis.verdict_facts import Facts
from chaosgrad._diagnosis.verdict_failures import (
    blowup_beyond_growth,
    blowup_without_growth,
    diverged,
    no_gradient,
    non_smooth,
    nonfinite_unexplained,
    overflow_of_growth,
)

if TYPE_CHECKING:  # the verdict reads a GrowthLaw's fields only; its module imports this one
    from chaosgrad._diagnosis.types import GrowthLaw

PHYSICS = ("chaotic", "neutral", "contracting", "undetermined", "unbounded")
VERDICTS = (
    "stable",
    "intrinsic-explosion",
    "intrinsic-vanishing",
    "numerical-explosion",
    "numerical-vanishing",
    "diverged",
    "no-gradient",
    "non-smooth",
    "inconclusive",
)


@dataclass(frozen=True)
class VerdictInputs:
    """The measured numbers the verdict depends on.

    ``rate``/``rate_low``/``rate_high``: the user's gradient rate and 95% interval;
    ``expected``/``expected_low``/``expected_high``: the physics' prediction for this
    ``wrt`` and its interval (NaN when unknown); ``t_max``: the longest horizon;
    ``gradient_status``: ``"ok"``, ``"partial"``, ``"partial-nonfinite"``, ``"nonfinite"`` or
    ``"zero"``; ``forward_diverged``: the user's forward state became non-finite within
    the horizons; ``reference_diverged``: the reference dynamics blew up too;
    ``confirmed``: causes whose ablation confirmed them; ``failed``: ablations that
    could not run; ``physics``: the class of lambda_1 (``PHYSICS``); ``rate_dof``,
    ``expected_dof``: degrees of freedom behind the two 95% intervals;
    ``nonfinite_fraction``: fraction of (member, horizon) gradients that are NaN or Inf;
    ``nonfinite_fixed_by``: confirmed causes whose ablation removed them, and
    ``nonfinite_fixed_rates`` their ablations' ``(rate, low, high)``, and
    ``nonfinite_overflow`` whether growth at each such rate reaches the user's dtype's
    largest number where the gradient turns non-finite (``_diagnosis.advice.reaches_overflow``);
    ``member_rates``, ``member_rate_se``, ``member_rate_dof``: each member's own rate,
    its curve's uncertainty and degrees of freedom; ``rate_from_spread``: the rate's
    interval comes from the members' spread; ``law``: the gradient's growth law
    (:class:`~chaosgrad.GrowthLaw`, ``None`` when not measured); ``paired``: ``(rate,
    low, high, dof, span)`` of the user's rate minus the physics' along the same members
    over a fit window of ``span`` time units; ``member_changes``: each member's
    ``ln ||g||`` at the end of the fit window minus at its start, ``member_bands``: the
    range (max - min) of its ``ln ||g||`` over the window (NaN where not finite);
    ``step_propagates``: one step at ``y0`` has non-zero derivatives with respect to the
    state and to ``wrt`` (the probe, ``_simulators.probe.probe_step``)
    (``_spectra.finite_time.paired_gap``), empty when the members are not the user's own or the
    prediction is an interval.
    """

    rate: float
    rate_low: float
    rate_high: float
    expected: float
    expected_low: float
    expected_high: float
    t_max: float
    gradient_status: str
    forward_diverged: bool
    reference_diverged: bool
    confirmed: tuple = ()
    failed: tuple = ()
    physics: str = "undetermined"
    rate_dof: int = 1000
    expected_dof: int = 1000
    nonfinite_fraction: float = 0.0
    nonfinite_fixed_by: tuple = ()
    nonfinite_fixed_rates: tuple = ()
    nonfinite_overflow: tuple = ()
    member_rates: tuple = ()
    member_rate_se: tuple = ()
    member_rate_dof: tuple = ()
    rate_from_spread: bool = True
    law: GrowthLaw | None = None
    paired: tuple = ()
    member_changes: tuple = ()
    member_bands: tuple = ()
    step_propagates: bool = False


@dataclass(frozen=True)
class Decision:
    verdict: str
    causes: tuple
    reasons: tuple
    to_decide: tuple


def physics_class(lam: float, half_width: float, t_max: float, *, reference_ok: bool, reference_diverged: bool) -> str:
    """Class of the reference lambda_1 with its 95% half-width."""
    if reference_diverged:
        return "unbounded"
    if lam == -math.inf:
        return "contracting"
    if not reference_ok or not math.isfinite(lam) or math.isnan(half_width):
        return "undetermined"
    lo, hi = lam - half_width, lam + half_width
    if lo > 0:
        return "chaotic"
    if hi < 0:
        return "contracting"
    if max(abs(lo), abs(hi)) * t_max <= FLAT_BOUND:
        return "neutral"
    return "undetermined"


def expected_rate(lam: float, half_width: float, *, wrt_state: bool) -> tuple[float, float, float]:
    """The gradient rate the spectrum predicts, with its interval.

    For the initial state: lambda_1. For parameters: max(lambda_1, 0). Where lambda_1
    may be negative, the parameter gradient converges to its steady-state sensitivity at
    rate lambda_1; that sensitivity is zero when the attractor does not move with the
    parameter (y' = A y decays to 0 whatever A is), and the gradient then decays at
    lambda_1 itself. Both are physical, so the interval spans lambda_1 to 0.
    """
    lo, hi = lam - half_width, lam + half_width
    if wrt_state:
        return lam, lo, hi
    if lo > 0:
        return lam, lo, hi
    return max(lam, 0.0), lo, max(hi, 0.0)


# The rules in the order of the module docstring; the first that applies names the
# verdict, and the last always applies.
RULES = (
    diverged,
    no_gradient,
    overflow_of_growth,
    blowup_beyond_growth,
    blowup_without_growth,
    non_smooth,
    nonfinite_unexplained,
    neutral_growth_law,
    class_undecided,
    gap_from_physics,
    comparison_undecided,
    physics_undetermined,
    as_the_physics_predicts,
)


def decide(v: VerdictInputs) -> Decision:
    """The verdict for measured numbers ``v``: the first of :data:`RULES` that applies."""
    facts = Facts(v)
    outcome = next(o for o in (rule(facts) for rule in RULES) if o is not None)
    return Decision(outcome.verdict, facts.causes, outcome.reasons, outcome.to_decide)
