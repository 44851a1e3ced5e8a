"""Classing a rate and comparing it with the physics' prediction (pure functions).

``growth_class`` names what a rate with its interval does over the longest horizon;
``members_class`` and ``change_class`` decide it from the members themselves where the
mean's interval leaves it open; ``rate_comparison`` says whether the user's rate agrees
with the prediction, disagrees, or cannot be told, from all the evidence (the mean over
members, each member on its own, the gap along the same trajectories). The verdict
(``_diagnosis.verdict``) is built on them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

from chaosgrad._diagnosis import words as words
from chaosgrad._student_t import t_quantile

if TYPE_CHECKING:
    from chaosgrad._diagnosis.verdict import VerdictInputs

LOG2 = math.log(2.0)
# The largest change over the longest horizon that the flat (and neutral) class allows
# for every rate in the interval: an order of magnitude.
FLAT_BOUND = math.log(10.0)


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


def _own_rates(v: VerdictInputs) -> list[tuple[float, float, int]]:
    """``(rate, se, dof)`` of every fitted member, when each has its own curve's
    uncertainty and there are at least two; empty otherwise (the member evidence is then
    not used)."""
    rates = [
        (r, se, d)
        for r, se, d in zip(v.member_rates, v.member_rate_se, v.member_rate_dof)
        if math.isfinite(r) and math.isfinite(se) and d >= 1
    ]
    if len(rates) < 2 or len(rates) < len([r for r in v.member_rates if math.isfinite(r)]):
        return []
    return rates


def members_class(v: VerdictInputs) -> str | None:
    """The class every member shows on its own (each member's 95% interval from its own
    curve), when the mean's interval leaves it open: with few members the Student-t on
    their spread is wide although each member's growth is plain. ``None`` unless every
    fitted member (at least two) is in one class."""
    classes = {
        growth_class(r, r - t_quantile(0.975, d) * se, r + t_quantile(0.975, d) * se, v.t_max)
        for r, se, d in _own_rates(v)
    }
    return classes.pop() if len(classes) == 1 else None


# A change of the gradient by more than this factor between the fit window's ends, in
# every member and the same direction, decides its class without a rate: a factor 100,
# twice the order of magnitude that a bounded factor (the loss's alignment with the
# growing direction, a transient bend) moves it along one trajectory.
DECISIVE_CHANGE = 2 * FLAT_BOUND


def change_class(v: VerdictInputs) -> str | None:
    """The class the values show where a curve that bends (a transient onto a cycle, a
    period-2 alternation) has no straight-line rate with a narrow interval: ``"grows"``
    or ``"shrinks"`` when every member's gradient changed by more than a factor 100
    between the window's ends in one direction; ``"flat"`` when every member's gradient
    stayed within a factor 10 over the whole window (it neither exploded nor vanished
    over the horizons measured, the flat class's own bound). ``None`` otherwise."""
    changes = list(v.member_changes)
    if len(changes) < 2 or not all(math.isfinite(c) for c in changes):
        return None
    if all(c > DECISIVE_CHANGE for c in changes):
        return "grows"
    if all(c < -DECISIVE_CHANGE for c in changes):
        return "shrinks"
    bands = list(v.member_bands)
    if len(bands) == len(changes) and all(math.isfinite(b) and b <= FLAT_BOUND for b in bands):
        return "flat"
    return None


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
    rates = _own_rates(v)
    if not rates:
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
    return RateComparison(
        "undecided", text + f": 0 is outside its 95% interval but not at the {DISAGREEMENT_LEVEL:.0%} level"
    )


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
        return RateComparison(
            "disagree",
            f"each of the {n} members differs on its own, at the {level} level against its own curve's uncertainty",
        )
    if v.rate_low <= v.expected_high and v.rate_high >= v.expected_low:
        return RateComparison("agree", "the 95% intervals overlap")
    return RateComparison(
        "undecided",
        f"the 95% intervals are disjoint, but the gap is not significant at the {level} level",
        _members_needed(v, abs(v.rate - centre), h_expected),
    )


def disagreement(v: VerdictInputs) -> bool:
    """Whether the user's rate disagrees with the prediction (:func:`rate_comparison`)."""
    return rate_comparison(v).outcome == "disagree"
