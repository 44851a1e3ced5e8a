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

Order of the rules: the forward simulation diverged; the gradient is identically zero;
the gradient is partly non-finite, an ablation removes the blow-up, and growth cannot
reach the dtype's range there or what stays finite does not grow (numerical explosion);
the gradient is non-finite at too many horizons to fit (otherwise inconclusive); on
neutral physics, growth as a power of T (``_gradients.laws``) is stable, and growth the
horizons cannot tell from an exponential is inconclusive with the horizon that would
decide; its class is undecided; it disagrees with the physics (numerical when an
ablation explains the gap, inconclusive when none does); the comparison is undecided
(inconclusive, with the members or horizons that would decide); the physics is
undetermined; otherwise the gradient is what the physics predicts and the verdict names
its class (intrinsic explosion or vanishing, stable).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

from chaosgrad._diagnosis import words as words
from chaosgrad._diagnosis.rates import (  # noqa: F401 - growth_class, disagreement and the levels are part of the verdict's surface
    FLAT_BOUND,
    LOG2,
    RateComparison,
    change_class,
    disagreement,
    growth_class,
    members_class,
    rate_comparison,
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


def _explained_gap(user: str, above: bool) -> str:
    """The verdict for a gap from the physics that a confirmed cause explains.

    Numerical when the numerics push the gradient beyond the physics in the direction it
    moves (it grows faster, or shrinks faster, than the physics allows); when they only
    soften what the physics does (a chaotic gradient that grows more slowly, a decaying
    one that decays more slowly) the physics still names the class, and the cause is
    reported beside it. A flat gradient is stable whatever the physics predicts.
    """
    if user == "grows":
        return "numerical-explosion" if above else "intrinsic-explosion"
    if user == "shrinks":
        return "intrinsic-vanishing" if above else "numerical-vanishing"
    return "stable"


def _overflow_of_growth(v: VerdictInputs) -> Decision | None:
    """A gradient that turns non-finite too early to fit its own rate, where the ablation
    that keeps it finite measures the rate instead, and growth at that rate reaches the
    dtype's largest number there: growth at the physics' rate is the overflow of a
    physical explosion (intrinsic, the cause beside it); growth that
    disagrees with the physics is numerical; an undecided ablation decides nothing."""
    for (rate, low, high), cause, overflow in zip(v.nonfinite_fixed_rates, v.nonfinite_fixed_by, v.nonfinite_overflow):
        if not overflow:
            continue  # a blow-up growth cannot reach (a failing adjoint) is no overflow
        after = growth_class(rate, low, high, v.t_max)
        if after is None:
            return Decision(
                "inconclusive",
                tuple(dict.fromkeys(v.confirmed)),
                (
                    f"the gradient is non-finite at {v.nonfinite_fraction:.0%} of the measured horizons and members, too "
                    f"early to fit its rate, and the ablation of {cause} that keeps it finite does not decide its growth "
                    f"either ({words.rate(rate, low, high)})",
                ),
                ("more members", "horizons below where the gradient overflows", "a wider dtype"),
            )
        if after == "grows" and not disagreement(dataclasses.replace(v, rate=rate, rate_low=low, rate_high=high)):
            return Decision(
                "intrinsic-explosion",
                tuple(dict.fromkeys(v.confirmed)),
                (
                    f"the gradient is non-finite at {v.nonfinite_fraction:.0%} of the measured horizons and members, too "
                    f"early to fit its own rate; the ablation of {cause} keeps it finite and it grows at "
                    f"{words.rate(rate, low, high)}, as the physics predicts ({words.rate(v.expected, v.expected_low, v.expected_high)}): "
                    "the non-finite values are the overflow of a physical explosion",
                ),
                (),
            )
    return None


def _law_words(law: GrowthLaw) -> str:
    lo, hi = law.exponent_interval
    return f"|grad| grows like T^p with p = {words.rate(law.exponent, lo, hi)} over T = {law.horizon_range[0]:.4g} to {law.horizon_range[1]:.4g}"


def _neutral_growth_law(v: VerdictInputs, user, comparison: RateComparison, rate_words, expected_words, causes):
    """Growth on neutral physics: a power of T is what a neutral direction gives (phase
    drift along a limit cycle or libration, a secular term, a free rotation), so a power
    law is ``stable`` whether or not an exponential fit would call the rate a gap (over
    finite horizons a finite-time exponent's interval can hold the rate a power law
    mimics); growth the horizons cannot tell from an exponential is ``inconclusive`` with
    the horizon that would decide. ``None`` when the law does not change the verdict
    (exponential growth is judged by the comparison)."""
    law = v.law
    if law is None or v.physics != "neutral":
        return None
    if user is None:
        # The exponential's interval spans classes; growth as a power is plain when its
        # exponent's interval excludes 0 and the growth over the horizons is material.
        lo, hi = law.exponent_interval
        t_lo, t_hi = law.horizon_range
        if not (lo > 0 and law.exponent * math.log(t_hi / t_lo) > LOG2):
            return None
    elif user != "grows":
        return None
    if law.law == "power":
        net_lo, net_hi = law.net_rate_interval
        return Decision(
            "stable",
            causes,
            (
                f"{_law_words(law)}: polynomial, not exponential (the exponential rate net of the power is "
                f"{words.rate(law.net_rate, net_lo, net_hi)}, which contains 0)",
                f"{expected_words}: a neutral direction, along which a parameter moves the phase or a secular term, "
                "so the gradient grows like a power of T without exploding",
                f"fitted as an exponential the same data give {rate_words[4:]}, a rate that falls like p ln(T) / T "
                "as the horizons grow",
            ),
            (),
        )
    if law.law == "either":
        lo, hi = law.horizon_range
        decide_at = (
            f"horizons from T = {lo:.4g} up to T = {law.deciding_horizon:.4g} (at the scatter measured)"
            if math.isfinite(law.deciding_horizon)
            else "more members: at the scatter measured no horizon up to 1024 times the longest tells the laws apart"
        )
        return Decision(
            "inconclusive",
            causes,
            (
                f"{rate_words}; {expected_words}: the gradient grows, but over T = {lo:.4g} to {hi:.4g} its growth "
                f"fits both an exponential and a power of T ({_law_words(law)[len('|grad| grows like ') :]}); "
                "a power is what neutral physics allows, an exponential is not",
            ),
            (decide_at,),
        )
    return None


def decide(v: VerdictInputs) -> Decision:
    """The verdict for measured numbers ``v`` (see the module docstring for the rules)."""
    causes = tuple(dict.fromkeys(v.confirmed))
    failed = tuple(v.failed)
    if v.forward_diverged:
        reasons = ["the forward simulation became non-finite within the horizons studied"]
        if v.reference_diverged:
            reasons.append(
                "the reference dynamics blow up as well: the motion itself is unbounded, not a numerical artefact"
            )
        elif causes:
            reasons.append("the ablation of " + ", ".join(causes) + " stays finite")
        return Decision("diverged", causes, tuple(reasons), ())
    if v.gradient_status == "zero":
        if v.step_propagates:
            # The probe at y0 saw the step carry derivatives with respect to the state and
            # to wrt: the zero is the loss's, not the step's.
            return Decision(
                "no-gradient",
                causes,
                (
                    "the gradient is exactly zero at every horizon and member, although one step at y0 propagates "
                    "derivatives with respect to the state and to what is differentiated: the loss does not depend on "
                    "what the step changes (a constant reward, a loss that reads a leaf the step never writes)",
                ),
                (
                    "a loss that reads the state the dynamics change (for a return, a reward that depends on the state "
                    "or the action)",
                ),
            )
        return Decision(
            "no-gradient",
            causes,
            (
                "the gradient is exactly zero at every horizon and member: the step propagates no derivative "
                "(a stop_gradient, an integer or discrete operation, or a state that does not enter the loss)",
            ),
            ("make the step differentiable, e.g. a transition with gradients enabled or a relaxed discrete action",),
        )
    user = growth_class(v.rate, v.rate_low, v.rate_high, v.t_max) or members_class(v) or change_class(v)
    overflow = _overflow_of_growth(v) if v.nonfinite_fixed_by and user is None else None
    if overflow is not None:
        return overflow
    no_overflow = len(v.nonfinite_overflow) == len(v.nonfinite_fixed_by) and not any(v.nonfinite_overflow)
    if v.nonfinite_fixed_by and user == "grows" and no_overflow:
        # Growth that stays finite elsewhere, but the blow-up is out of its reach: the
        # ablation that removes it names a numerical failure (a reverse solve that fails).
        return Decision(
            "numerical-explosion",
            causes,
            (
                f"the gradient is non-finite at {v.nonfinite_fraction:.0%} of the measured horizons and members while "
                "the forward simulation stays finite, and growth at the rate that the ablation measures cannot reach the "
                "dtype's largest number there: the blow-up is not an overflow of growth",
                "the ablation of " + ", ".join(v.nonfinite_fixed_by) + " makes it finite",
            ),
            (),
        )
    if v.nonfinite_fixed_by and user != "grows":
        # Non-finite values are the overflow of a physical explosion only when what stays
        # finite grows; otherwise a blow-up that one change removes is numerical.
        rest = (
            "no rate can be measured on the rest"
            if user is None or v.gradient_status == "nonfinite"
            else f"what stays finite does not grow ({v.rate:+.3g} per time unit), so the blow-up is not an overflow "
            "of growth"
        )
        return Decision(
            "numerical-explosion",
            causes,
            (
                f"the gradient is non-finite at {v.nonfinite_fraction:.0%} of the measured horizons and members while "
                f"the forward simulation stays finite, and {rest}",
                "the ablation of " + ", ".join(v.nonfinite_fixed_by) + " makes it finite",
            ),
            (),
        )
    if "non-smooth" in causes:
        # Whatever the rate does, the derivative AD computes is not the gradient of the
        # loss an optimiser sees (Suh, Simchowitz, Zhang & Tedrake 2022).
        return Decision(
            "non-smooth",
            causes,
            (
                "the first-order (AD) estimate of the smoothed loss's gradient lies outside the zeroth-order estimate's "
                "interval: the program is piecewise smooth, and its exact derivative misses the jumps, so it is not the "
                "gradient of the loss an optimiser sees (the non-smooth ablation gives the evidence and where it sits)",
            ),
            (),
        )
    if v.gradient_status == "nonfinite":
        return Decision(
            "inconclusive",
            causes,
            ("the gradient is non-finite at too many horizons to fit a rate, and no ablation made it finite",),
            (
                "shorter horizons, below where the gradient overflows",
                "a wider dtype if the simulator is in 16 or 32 bits",
            ),
        )

    rate_words = f"the gradient rate {words.rate(v.rate, v.rate_low, v.rate_high)}"
    expected_words = f"the physics predicts {words.rate(v.expected, v.expected_low, v.expected_high)}"
    comparison = rate_comparison(v)
    law = _neutral_growth_law(v, user, comparison, rate_words, expected_words, causes)
    if law is not None:
        return law
    physics_growth = growth_class(v.expected, v.expected_low, v.expected_high, v.t_max)
    if (
        user is None
        and v.paired
        and comparison.outcome == "agree"
        and physics_growth is not None
        and v.physics not in ("undetermined", "unbounded")
    ):
        # One trajectory's gradient has a wide interval of its own, but it follows the
        # physics along the same members, whose rate is decided.
        user = physics_growth
    if user is None:
        return Decision(
            "inconclusive",
            causes,
            (f"{rate_words} spans more than one class over T = {v.t_max:.4g} (growth, decay or flat)",),
            (
                "longer horizons (the interval narrows like 1 / T)",
                "more members (the interval narrows like 1 / sqrt(members))"
                if v.rate_from_spread
                else "independent members (members=GivenStates(...) or OnAttractor(...)): these members' curves coincide, "
                "so more of them add nothing",
            ),
        )
    if comparison.outcome == "disagree":
        gap_words = f"{rate_words} while {expected_words} ({comparison.evidence})"
        if causes:
            return Decision(
                _explained_gap(user, v.rate > v.expected),
                causes,
                (gap_words, "the ablation of " + ", ".join(causes) + " explains the gap"),
                (),
            )
        reasons = [gap_words, "no ablation explains the gap"]
        if failed:
            reasons.append("the ablation(s) " + ", ".join(failed) + " could not run")
        to_decide = [
            "an ablation of the cause you suspect (diagnose(..., causes=[...]))",
            "a reference= simulator that is known to resolve the physics",
        ]
        return Decision("inconclusive", causes, tuple(reasons), tuple(to_decide))
    if comparison.outcome == "undecided":
        more = (
            f"about {comparison.members_needed} members (members=), at the spread measured"
            if comparison.members_needed
            else "a narrower physics interval (a longer lyapunov_time=)"
            if v.rate_from_spread
            else "independent members (the members' curves coincide, so more of them add nothing): longer horizons"
        )
        return Decision(
            "inconclusive",
            causes,
            (
                f"{rate_words} and {expected_words[4:]}: {comparison.evidence}, so the rates neither agree nor "
                "are shown to differ",
            ),
            (more, "longer horizons (the rate's interval narrows like 1 / T)"),
        )
    if v.physics in ("undetermined", "unbounded"):
        return Decision(
            "inconclusive",
            causes,
            (f"{rate_words} agrees with the physics, but {expected_words}, which does not decide its class",),
            (
                "a longer Lyapunov time (lyapunov_time= or a larger UntilConverged budget)",
                "a reference= simulator if the default reference did not converge",
            ),
        )
    # The rates agree. The physics' class names the verdict when it is decided (the
    # spectrum is the longer, better-resolved measurement); the gradient's own class only
    # when the physics' interval leaves the class open.
    physics = growth_class(v.expected, v.expected_low, v.expected_high, v.t_max)
    names = {"grows": "intrinsic-explosion", "shrinks": "intrinsic-vanishing", "flat": "stable"}
    verdict = names[physics or user]
    reasons = [f"{rate_words} agrees with what {expected_words[4:]} ({comparison.evidence})"]
    if physics is not None and physics != user:
        reasons.append(
            f"on its own the gradient's rate looks {'flat' if user == 'flat' else 'like ' + ('growth' if user == 'grows' else 'decay')}"
            f" over T = {v.t_max:.4g}, but it is consistent with the physics, whose class is decided"
        )
    if causes:
        reasons.append(
            "the ablation of " + ", ".join(causes) + " shows the user's gradient is wrong in value, "
            "although its rate is the physical one"
        )
    return Decision(verdict, causes, tuple(reasons), ())
