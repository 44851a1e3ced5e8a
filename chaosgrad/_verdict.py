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
- otherwise undecided: the interval spans more than one class.

Order of the rules: the forward simulation diverged; the gradient is identically zero;
the gradient is partly non-finite, what stays finite does not grow, and an ablation
removes the blow-up (numerical explosion); the gradient is non-finite at too many horizons to fit (otherwise
inconclusive); its rate is undecided; it
disagrees with the physics (numerical when an ablation explains the gap, inconclusive
when none does); the physics is undetermined; otherwise the gradient is what the physics
predicts and the verdict names its class (intrinsic explosion or vanishing, stable).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the verdict reads a GrowthLaw's fields only; its module imports this one
    from ._diagnosis_types import GrowthLaw
from . import _words as words
from ._student_t import t_quantile

LOG2 = math.log(2.0)
# The largest change over the longest horizon that the flat (and neutral) class allows
# for every rate in the interval: an order of magnitude.
FLAT_BOUND = math.log(10.0)

PHYSICS = ("chaotic", "neutral", "contracting", "undetermined", "unbounded")
VERDICTS = (
    "stable",
    "intrinsic-explosion",
    "intrinsic-vanishing",
    "numerical-explosion",
    "numerical-vanishing",
    "diverged",
    "no-gradient",
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
    largest number where the gradient turns non-finite (``_advice.reaches_overflow``);
    ``member_rates``, ``member_rate_se``, ``member_rate_dof``: each member's own rate,
    its curve's uncertainty and degrees of freedom; ``rate_from_spread``: the rate's
    interval comes from the members' spread; ``law``: the gradient's growth law
    (:class:`~chaosgrad.GrowthLaw`, ``None`` when not measured); ``paired``: ``(rate,
    low, high, dof, span)`` of the user's rate minus the physics' along the same members
    over a fit window of ``span`` time units; ``member_changes``: each member's
    ``ln ||g||`` at the end of the fit window minus at its start (NaN where not finite)
    (``_finite_time.paired_gap``), empty when the members are not the user's own or the
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


@dataclass(frozen=True)
class Decision:
    verdict: str
    causes: tuple
    reasons: tuple
    to_decide: tuple


def growth_class(rate: float, low: float, high: float, t_max: float) -> str | None:
    """``"grows"``, ``"shrinks"``, ``"flat"`` or ``None`` (undecided); see the module."""
    if any(math.isnan(x) for x in (rate, low, high)) or not t_max > 0:
        return None
    if low > 0 and rate * t_max > LOG2:
        return "grows"
    if high < 0 and rate * t_max < -LOG2:
        return "shrinks"
    if abs(rate) * t_max <= LOG2 and max(abs(low), abs(high)) * t_max <= FLAT_BOUND:
        return "flat"
    return None


def members_class(v: VerdictInputs) -> str | None:
    """The class every member shows on its own (each member's 95% interval from its own
    curve), when the mean's interval leaves it open: with few members the Student-t on
    their spread is wide although each member's growth is plain. ``None`` unless every
    fitted member (at least two) is in one class."""
    classes = set()
    fitted = [r for r in v.member_rates if math.isfinite(r)]
    for r, se, d in zip(v.member_rates, v.member_rate_se, v.member_rate_dof):
        if not (math.isfinite(r) and math.isfinite(se) and d >= 1):
            continue
        h = t_quantile(0.975, d) * se
        classes.add(growth_class(r, r - h, r + h, v.t_max))
    counted = len([1 for r, se, d in zip(v.member_rates, v.member_rate_se, v.member_rate_dof)
                   if math.isfinite(r) and math.isfinite(se) and d >= 1])
    if counted < 2 or counted < len(fitted) or len(classes) != 1:
        return None
    return classes.pop()


# A change of the gradient by more than this factor between the fit window's ends, in
# every member and the same direction, decides its class without a rate: a factor 100,
# twice the order of magnitude that a bounded factor (the loss's alignment with the
# growing direction, a transient bend) moves it along one trajectory.
DECISIVE_CHANGE = 2 * FLAT_BOUND


def change_class(v: VerdictInputs) -> str | None:
    """``"grows"`` or ``"shrinks"`` when every member's gradient changed by more than a
    factor 100 between the window's ends in one direction: a curve that bends (a
    transient onto a cycle) has no straight-line rate with a narrow interval, but its
    class is plain. ``None`` otherwise."""
    changes = list(v.member_changes)
    if len(changes) < 2 or not all(math.isfinite(c) for c in changes):
        return None
    if all(c > DECISIVE_CHANGE for c in changes):
        return "grows"
    if all(c < -DECISIVE_CHANGE for c in changes):
        return "shrinks"
    return None


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


def _interval(lo: float, hi: float) -> str:
    return words.interval(lo, hi)


# Disagreement with the physics is the claim that makes a verdict numerical or
# inconclusive, so it is tested at this level rather than 95%: a false alarm in 1% of
# diagnoses instead of 5%. The numerical causes met in practice move the rate far more.
DISAGREEMENT_LEVEL = 0.99


def _widen(half_width_95: float, dof: int) -> float:
    """A 95% half-width rescaled to ``DISAGREEMENT_LEVEL`` with the same Student-t."""
    dof = max(int(dof), 1)
    return half_width_95 * t_quantile(0.5 + DISAGREEMENT_LEVEL / 2, dof) / t_quantile(0.975, dof)


@dataclass(frozen=True)
class RateComparison:
    """How the user's rate compares with the physics' prediction.

    ``outcome``: ``"agree"`` (the intervals overlap, or the gap is immaterial: within a
    factor 2 over the longest horizon), ``"disagree"`` (significant and material, see
    :func:`rate_comparison`), ``"undecided"`` (the 95% intervals are disjoint, but the gap
    is not significant at ``DISAGREEMENT_LEVEL``) or ``"unknown"`` (a NaN rate).
    ``evidence``: which test decided, in words. ``members_needed``: for ``"undecided"``,
    the ensemble size at which the same spread would decide (``None`` when more members
    cannot: one curve, or the physics' own interval is the wider).
    """

    outcome: str
    evidence: str = ""
    members_needed: int | None = None


def _every_member_beyond(v: VerdictInputs, centre: float, e_se: float) -> int:
    """How many members each show the gap on their own (0 unless all of them do): the
    member's rate lies beyond the prediction's interval on the same side as the others,
    materially (a factor 2 over T from the interval's nearest end) and significantly
    against its own curve's uncertainty and the prediction's, at ``DISAGREEMENT_LEVEL``
    with the member's own degrees of freedom. Each member is an independent trajectory,
    so a gap every member shows is a gap whatever their number."""
    rates = [(r, se, d) for r, se, d in zip(v.member_rates, v.member_rate_se, v.member_rate_dof)
             if math.isfinite(r) and math.isfinite(se) and d >= 1]
    if len(rates) < 2 or len(rates) < len([r for r in v.member_rates if math.isfinite(r)]):
        return 0
    sides = set()
    for r, se, d in rates:
        nearest = v.expected_low if r < v.expected_low else v.expected_high
        if v.expected_low <= r <= v.expected_high or abs(r - nearest) * v.t_max <= LOG2:
            return 0
        if abs(r - centre) <= t_quantile(0.5 + DISAGREEMENT_LEVEL / 2, d) * math.hypot(se, e_se):
            return 0
        sides.add(r > centre)
    return len(rates) if len(sides) == 1 else 0


def _members_needed(v: VerdictInputs, gap: float, h_expected: float) -> int | None:
    """The smallest ensemble whose interval, at the spread measured, would make ``gap``
    significant at ``DISAGREEMENT_LEVEL`` (``None`` when the prediction's own interval is
    already as wide as the gap, or the interval does not come from a spread)."""
    if not v.rate_from_spread or v.rate_dof < 1 or not math.isfinite(v.rate_high - v.rate_low) or h_expected >= gap:
        return None
    n_now = v.rate_dof + 1
    sd = 0.5 * (v.rate_high - v.rate_low) / t_quantile(0.975, v.rate_dof) * math.sqrt(n_now)

    def decides(n):
        return math.hypot(t_quantile(0.5 + DISAGREEMENT_LEVEL / 2, n - 1) * sd / math.sqrt(n), h_expected) < gap

    hi = n_now + 1
    while not decides(hi):  # terminates: the member term falls like 1 / sqrt(n) below gap - h_expected
        hi *= 2
    lo = max(n_now, hi // 2)
    while hi - lo > 1:  # the smallest deciding n, by bisection (decides is monotone in n)
        mid = (lo + hi) // 2
        lo, hi = (lo, mid) if decides(mid) else (mid, hi)
    return hi


def _paired_comparison(v: VerdictInputs) -> RateComparison:
    """The comparison along the same members: the gap's own interval (rules 1, 2, 4 of
    :func:`rate_comparison` applied to the difference, whose prediction is 0), material
    beyond a factor 10 over the fitted window (the loss's alignment, below)."""
    gap, lo, hi, dof, span = v.paired
    text = f"along the same trajectories the gradient's rate exceeds the physics' by {words.rate(gap, lo, hi)}"
    if abs(gap) * span <= FLAT_BOUND:
        # The gradient is the growth of the tangent dynamics times its alignment with the
        # loss's direction, a factor that changes along one trajectory by an order of
        # magnitude without any trend: a gap smaller than that over the window is none.
        return RateComparison("agree", text + f", within a factor 10 over the {span:.4g} time units fitted")
    if abs(gap) > _widen(0.5 * (hi - lo), dof):
        return RateComparison("disagree", text + f", significant at the {DISAGREEMENT_LEVEL:.0%} level")
    if lo <= 0.0 <= hi:
        return RateComparison("agree", text + ", an interval that contains 0")
    return RateComparison("undecided", text + f": 0 is outside its 95% interval but not at the {DISAGREEMENT_LEVEL:.0%} level")


def rate_comparison(v: VerdictInputs) -> RateComparison:
    """Compare the user's rate with the prediction using all the evidence.

    With ``v.paired`` (the members are the user's own start, compared along the same
    trajectories) the gap's own interval decides (:func:`_paired_comparison`); otherwise:

    1. immaterial: the rate lies inside the prediction's interval or within a factor 2
       over ``T`` of its nearest end: ``agree``;
    2. the mean over members: the two intervals, widened to ``DISAGREEMENT_LEVEL``
       (Student-t on each one's degrees of freedom), do not reach each other's centres:
       ``disagree``;
    3. every member on its own (:func:`_every_member_beyond`): ``disagree``;
    4. the 95% intervals overlap: ``agree``; otherwise ``undecided``, never agreement.
    """
    if v.paired and all(math.isfinite(x) for x in v.paired[:3]) and math.isfinite(v.rate):
        return _paired_comparison(v)
    if any(math.isnan(x) for x in (v.rate, v.expected, v.expected_low, v.expected_high)):
        return RateComparison("unknown")
    if v.expected_low <= v.rate <= v.expected_high:
        return RateComparison("agree", "inside the prediction's interval")
    nearest = v.expected_low if v.rate < v.expected_low else v.expected_high
    if math.isinf(nearest) or math.isinf(v.rate):
        return RateComparison("disagree" if v.rate != nearest else "agree", "an infinite rate")
    if abs(v.rate - nearest) * v.t_max <= LOG2:
        return RateComparison("agree", f"within a factor 2 over T = {v.t_max:.4g} of the prediction's interval")
    # Against the middle of the prediction's interval (not its point): for a contracting
    # system's parameter gradient the interval runs from lambda_1 to 0.
    centre = 0.5 * (v.expected_low + v.expected_high)
    h_expected = _widen(0.5 * (v.expected_high - v.expected_low), v.expected_dof)
    h = math.hypot(_widen(0.5 * (v.rate_high - v.rate_low), v.rate_dof), h_expected)
    level = f"{DISAGREEMENT_LEVEL:.0%}"
    if abs(v.rate - centre) > h:
        return RateComparison("disagree", f"the mean over members differs at the {level} level")
    e_se = 0.5 * (v.expected_high - v.expected_low) / t_quantile(0.975, max(int(v.expected_dof), 1))
    n = _every_member_beyond(v, centre, e_se)
    if n:
        return RateComparison("disagree", f"each of the {n} members differs on its own, at the {level} level "
                                          "against its own curve's uncertainty")
    if v.rate_low <= v.expected_high and v.rate_high >= v.expected_low:
        return RateComparison("agree", "the 95% intervals overlap")
    return RateComparison("undecided", f"the 95% intervals are disjoint, but the gap is not significant at the {level} level",
                          _members_needed(v, abs(v.rate - centre), h_expected))


def disagreement(v: VerdictInputs) -> bool:
    """Whether the user's rate disagrees with the prediction (:func:`rate_comparison`)."""
    return rate_comparison(v).outcome == "disagree"


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
                "inconclusive", tuple(dict.fromkeys(v.confirmed)),
                (f"the gradient is non-finite at {v.nonfinite_fraction:.0%} of the measured horizons and members, too "
                 f"early to fit its rate, and the ablation of {cause} that keeps it finite does not decide its growth "
                 f"either ({words.rate(rate, low, high)})",),
                ("more members", "horizons below where the gradient overflows", "a wider dtype"),
            )
        if after == "grows" and not disagreement(dataclasses.replace(v, rate=rate, rate_low=low, rate_high=high)):
            return Decision(
                "intrinsic-explosion", tuple(dict.fromkeys(v.confirmed)),
                (f"the gradient is non-finite at {v.nonfinite_fraction:.0%} of the measured horizons and members, too "
                 f"early to fit its own rate; the ablation of {cause} keeps it finite and it grows at "
                 f"{words.rate(rate, low, high)}, as the physics predicts ({words.rate(v.expected, v.expected_low, v.expected_high)}): "
                 "the non-finite values are the overflow of a physical explosion",), (),
            )
    return None


def _law_words(law: GrowthLaw) -> str:
    lo, hi = law.exponent_interval
    return f"|grad| grows like T^p with p = {words.rate(law.exponent, lo, hi)} over T = {law.horizon_range[0]:.4g} to {law.horizon_range[1]:.4g}"


def _neutral_growth_law(v: VerdictInputs, user, comparison: RateComparison, rate_words, expected_words, causes):
    """Growth on neutral physics that an exponential fit calls a gap: a power of T is what a
    neutral direction gives (phase drift along a limit cycle or libration, a secular
    term, a free rotation), so a power law is ``stable``; growth the horizons cannot
    tell from an exponential is ``inconclusive`` with the horizon that would decide.
    ``None`` when the law does not change the verdict."""
    law = v.law
    if law is None or v.physics != "neutral":
        return None
    if user == "grows" and comparison.outcome == "agree":
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
            "stable", causes,
            (f"{_law_words(law)}: polynomial, not exponential (the exponential rate net of the power is "
             f"{words.rate(law.net_rate, net_lo, net_hi)}, which contains 0)",
             f"{expected_words}: a neutral direction, along which a parameter moves the phase or a secular term, "
             "so the gradient grows like a power of T without exploding",
             f"fitted as an exponential the same data give {rate_words[4:]}, a rate that falls like p ln(T) / T "
             "as the horizons grow"),
            (),
        )
    if law.law == "either":
        lo, hi = law.horizon_range
        decide_at = (f"horizons from T = {lo:.4g} up to T = {law.deciding_horizon:.4g} (at the scatter measured)"
                     if math.isfinite(law.deciding_horizon) else
                     "more members: at the scatter measured no horizon up to 1024 times the longest tells the laws apart")
        return Decision(
            "inconclusive", causes,
            (f"{rate_words}; {expected_words}: the gradient grows, but over T = {lo:.4g} to {hi:.4g} its growth "
             f"fits both an exponential and a power of T ({_law_words(law)[len('|grad| grows like '):]}); "
             "a power is what neutral physics allows, an exponential is not",),
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
            reasons.append("the reference dynamics blow up as well: the motion itself is unbounded, not a numerical artefact")
        elif causes:
            reasons.append("the ablation of " + ", ".join(causes) + " stays finite")
        return Decision("diverged", causes, tuple(reasons), ())
    if v.gradient_status == "zero":
        return Decision(
            "no-gradient", causes,
            ("the gradient is exactly zero at every horizon and member: the step propagates no derivative "
             "(a stop_gradient, an integer or discrete operation, or a state that does not enter the loss)",),
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
            "numerical-explosion", causes,
            (f"the gradient is non-finite at {v.nonfinite_fraction:.0%} of the measured horizons and members while "
             "the forward simulation stays finite, and growth at the rate that the ablation measures cannot reach the "
             "dtype's largest number there: the blow-up is not an overflow of growth",
             "the ablation of " + ", ".join(v.nonfinite_fixed_by) + " makes it finite"), (),
        )
    if v.nonfinite_fixed_by and user != "grows":
        # Non-finite values are the overflow of a physical explosion only when what stays
        # finite grows; otherwise a blow-up that one change removes is numerical.
        rest = ("no rate can be measured on the rest" if user is None or v.gradient_status == "nonfinite"
                else f"what stays finite does not grow ({v.rate:+.3g} per time unit), so the blow-up is not an overflow "
                     "of growth")
        return Decision(
            "numerical-explosion", causes,
            (f"the gradient is non-finite at {v.nonfinite_fraction:.0%} of the measured horizons and members while "
             f"the forward simulation stays finite, and {rest}",
             "the ablation of " + ", ".join(v.nonfinite_fixed_by) + " makes it finite"), (),
        )
    if v.gradient_status == "nonfinite":
        return Decision(
            "inconclusive", causes,
            ("the gradient is non-finite at too many horizons to fit a rate, and no ablation made it finite",),
            ("shorter horizons, below where the gradient overflows", "a wider dtype if the simulator is in 16 or 32 bits"),
        )

    rate_words = f"the gradient rate {words.rate(v.rate, v.rate_low, v.rate_high)}"
    expected_words = f"the physics predicts {words.rate(v.expected, v.expected_low, v.expected_high)}"
    comparison = rate_comparison(v)
    law = _neutral_growth_law(v, user, comparison, rate_words, expected_words, causes)
    if law is not None:
        return law
    physics_growth = growth_class(v.expected, v.expected_low, v.expected_high, v.t_max)
    if user is None and v.paired and comparison.outcome == "agree" and physics_growth is not None and v.physics not in (
            "undetermined", "unbounded"):
        # One trajectory's gradient has a wide interval of its own, but it follows the
        # physics along the same members, whose rate is decided.
        user = physics_growth
    if user is None:
        return Decision(
            "inconclusive", causes,
            (f"{rate_words} spans more than one class over T = {v.t_max:.4g} (growth, decay or flat)",),
            ("longer horizons (the interval narrows like 1 / T)",
             "more members (the interval narrows like 1 / sqrt(members))" if v.rate_from_spread else
             "independent members (members=GivenStates(...) or OnAttractor(...)): these members' curves coincide, "
             "so more of them add nothing"),
        )
    if comparison.outcome == "disagree":
        gap_words = f"{rate_words} while {expected_words} ({comparison.evidence})"
        if causes:
            return Decision(
                _explained_gap(user, v.rate > v.expected), causes,
                (gap_words, "the ablation of " + ", ".join(causes) + " explains the gap"),
                (),
            )
        reasons = [gap_words, "no ablation explains the gap"]
        if failed:
            reasons.append("the ablation(s) " + ", ".join(failed) + " could not run")
        to_decide = ["an ablation of the cause you suspect (diagnose(..., causes=[...]))",
                     "a reference= simulator that is known to resolve the physics"]
        return Decision("inconclusive", causes, tuple(reasons), tuple(to_decide))
    if comparison.outcome == "undecided":
        more = (f"about {comparison.members_needed} members (members=), at the spread measured"
                if comparison.members_needed else
                "a narrower physics interval (a longer lyapunov_time=)" if v.rate_from_spread else
                "independent members (the members' curves coincide, so more of them add nothing): longer horizons")
        return Decision(
            "inconclusive", causes,
            (f"{rate_words} and {expected_words[4:]}: {comparison.evidence}, so the rates neither agree nor "
             "are shown to differ",),
            (more, "longer horizons (the rate's interval narrows like 1 / T)"),
        )
    if v.physics in ("undetermined", "unbounded"):
        return Decision(
            "inconclusive", causes,
            (f"{rate_words} agrees with the physics, but {expected_words}, which does not decide its class",),
            ("a longer Lyapunov time (lyapunov_time= or a larger UntilConverged budget)",
             "a reference= simulator if the default reference did not converge"),
        )
    # The rates agree. The physics' class names the verdict when it is decided (the
    # spectrum is the longer, better-resolved measurement); the gradient's own class only
    # when the physics' interval leaves the class open.
    physics = growth_class(v.expected, v.expected_low, v.expected_high, v.t_max)
    names = {"grows": "intrinsic-explosion", "shrinks": "intrinsic-vanishing", "flat": "stable"}
    verdict = names[physics or user]
    reasons = [f"{rate_words} agrees with what {expected_words[4:]} ({comparison.evidence})"]
    if physics is not None and physics != user:
        reasons.append(f"on its own the gradient's rate looks {'flat' if user == 'flat' else 'like ' + ('growth' if user == 'grows' else 'decay')}"
                       f" over T = {v.t_max:.4g}, but it is consistent with the physics, whose class is decided")
    if causes:
        reasons.append("the ablation of " + ", ".join(causes) + " shows the user's gradient is wrong in value, "
                       "although its rate is the physical one")
    return Decision(verdict, causes, tuple(reasons), ())
