"""Compare the user's gradient with an ablated one: by value, member by member, and by rate.

Rates alone miss the plainest numerical failure: an adjoint that is wrong by a factor of
10^11, or in sign, at every horizon while growing at an ordinary rate. So the two runs
(the same members, the same reported horizons) are compared in three ways:

1. **non-finite values**: the user's run has NaN/Inf (state or gradient) and the
   ablation has none; and **lost values** (only where the ablated gradient is the exact
   derivative of the same map): the user's gradient is exactly zero where the exact one
   is finite and non-zero, an underflow in the user's dtype (a zero is never fitted, so
   no rate would show it);
2. **rate**: the rates differ beyond their combined 95% half-widths and materially (a
   factor 2 over the longest horizon), and the ablated rate is closer to the prediction;
   or, member by member at the horizons both runs measured, the slope of the log-ratio
   ``ln ||g_after|| - ln ||g_before||`` (:func:`paired_rate_gap`) is material and its
   95% interval excludes 0: along the same members what the two gradients share (a
   curve's bend, the loss's oscillating projection) cancels, so a change of rate shows
   even where each rate alone has a wide interval;
3. **value** (only where the ablated gradient is the exact derivative of the same map):
   at the longest horizon where the forward states of at least half of the members still
   coincide (within ``STATE_MATCH`` of the state's size), at least a quarter of those
   members (and at least two) have gradients that differ by more than a factor 2 in norm
   or point more than 60 degrees apart (cosine below 1/2). Along coinciding trajectories
   a correct gradient agrees with the exact derivative to far better than that (a
   member only strays when its gradient nearly vanishes, which one member in several
   does not do by chance), so a quarter is already decisive; where chaos has separated
   the trajectories, gradients decorrelate for physical reasons and only the rate can be
   compared.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from chaosgrad._diagnosis.types import GradientGrowthResult
from chaosgrad._gradients.fit import WINDOW_START, fit_growth_rate

LOG2 = math.log(2.0)
# Forward states that differ by less than this fraction of the state's size are the same
# trajectory for comparing gradients: along them the gradient changes by about as much.
STATE_MATCH = 1e-2
# A gradient differs materially when its norm changes by more than a factor 2 or its
# direction by more than 60 degrees.
NORM_FACTOR = 2.0
MIN_COSINE = 0.5
# Fraction (and least number) of the paired members that must differ.
DIFFERING_FRACTION = 0.25
DIFFERING_MIN = 2


@dataclass(frozen=True)
class Comparison:
    confirmed: bool
    reason: str
    numbers: dict


def nonfinite_fraction(g: GradientGrowthResult) -> float:
    """Fraction of (member, horizon) entries whose gradient or forward state is non-finite."""
    bad = ~np.isfinite(g.norms) | ~np.asarray(g.state_finite, bool)
    return float(bad.mean())


def lost_fraction(before: GradientGrowthResult, after: GradientGrowthResult) -> float:
    """Fraction of the (member, horizon) entries, on the horizons the two runs share,
    where ``before``'s gradient is exactly zero and ``after``'s is finite and non-zero."""
    if before.norms.shape != after.norms.shape or not np.allclose(before.horizons, after.horizons, rtol=1e-9, atol=0):
        pairs = _common_horizons(before, after)
        if not pairs:
            return 0.0
        i, j = (np.array(x) for x in zip(*pairs))
        zb = np.asarray(before.zero)[:, before.reported][:, i]
        fa = np.asarray(after.finite)[:, after.reported][:, j]
    else:
        zb, fa = np.asarray(before.zero), np.asarray(after.finite)
    return float((zb & fa).mean()) if zb.size else 0.0


def paired_rate_gap(before: GradientGrowthResult, after: GradientGrowthResult, *, independent: bool = False):
    """``(rate, low, high)`` of the slope of ``ln ||g_after|| - ln ||g_before||`` over the
    horizons both runs measured (at least 3, in the later three quarters of the longest),
    with ``_gradients.fit``'s interval; ``None`` when too few."""
    tb = np.asarray(before.horizons)
    pairs = _matching(tb, after.horizons)
    if len(pairs) < 3:
        return None
    i, j = (np.array(x) for x in zip(*pairs))
    t = tb[i]
    ok = np.asarray(before.finite)[:, i] & np.asarray(after.finite)[:, j]
    with np.errstate(all="ignore"):
        d = np.where(ok, np.log(np.asarray(after.norms)[:, j]) - np.log(np.asarray(before.norms)[:, i]), 0.0)
    fit = fit_growth_rate(t, d, ok, fit_mask=t >= WINDOW_START * t[-1], logs_given=True, independent=independent)
    if fit.status != "ok" or not all(np.isfinite(x) for x in (fit.rate, fit.low, fit.high)):
        return None
    return float(fit.rate), float(fit.low), float(fit.high)


def half_width(g: GradientGrowthResult) -> float:
    return 0.5 * (g.rate_high - g.rate_low)


def _median_longest(g: GradientGrowthResult) -> float:
    """Median over members of ``||grad||`` at the longest reported horizon (NaN if none finite)."""
    last = g.norms[:, g.reported][:, -1]
    return float(np.median(last[np.isfinite(last)])) if np.isfinite(last).any() else float("nan")


def _matching(tb, ta) -> list[tuple[int, int]]:
    """``(i, j)`` for each horizon ``tb[i]`` that ``ta`` also holds, as ``ta[j]``."""
    pairs = []
    for i, t in enumerate(np.asarray(tb)):
        j = np.nonzero(np.isclose(np.asarray(ta), t, rtol=1e-9, atol=0.0))[0]
        if j.size:
            pairs.append((i, int(j[0])))
    return pairs


def _common_horizons(before: GradientGrowthResult, after: GradientGrowthResult):
    """Pairs of the two runs' reported horizons (``_matching``)."""
    return _matching(before.reported_horizons, after.reported_horizons)


def _paired(before, after, i, j):
    """Per-member log-ratio, cosine and whether the pair is comparable at one horizon."""
    nb = before.norms[:, before.reported][:, i]
    na = after.norms[:, after.reported][:, j]
    ok = before.finite[:, before.reported][:, i] & after.finite[:, after.reported][:, j]
    sb, sa = before.state_sketch[:, i], after.state_sketch[:, j]
    with np.errstate(all="ignore"):
        scale = np.nanmedian(np.linalg.norm(sb, axis=1))
        dist = np.linalg.norm(sa - sb, axis=1)
        matched = np.isfinite(dist) & (dist <= STATE_MATCH * max(scale, np.finfo(float).tiny))
        gb, ga = before.gradient_sketch[:, i], after.gradient_sketch[:, j]
        cos = np.sum(ga * gb, axis=1) / (np.linalg.norm(ga, axis=1) * np.linalg.norm(gb, axis=1))
        log_ratio = np.log(na / nb)
    return log_ratio, cos, ok & matched & np.isfinite(cos)


def _value_test(before, after):
    """The value comparison (rule 3 of the module docstring), or ``None`` if no horizon
    has enough members on coinciding trajectories."""
    M = before.norms.shape[0]
    need = max(2, -(-M // 2)) if M > 1 else 1
    for i, j in reversed(_common_horizons(before, after)):
        log_ratio, cos, paired = _paired(before, after, i, j)
        if paired.sum() < need:
            continue
        lr, c = log_ratio[paired], cos[paired]
        differ = (np.abs(lr) > math.log(NORM_FACTOR)) | (c < MIN_COSINE)
        return {
            "horizon": float(before.reported_horizons[i]),
            "paired_members": int(paired.sum()),
            "median_log_ratio": float(np.median(lr)),
            "log_ratio_iqr": [float(np.percentile(lr, 25)), float(np.percentile(lr, 75))],
            "median_cosine": float(np.median(c)),
            "cosine_iqr": [float(np.percentile(c, 25)), float(np.percentile(c, 75))],
            "members_differing": int(differ.sum()),
            "values_differ": bool(differ.sum() >= max(DIFFERING_MIN, DIFFERING_FRACTION * paired.sum())),
        }
    return None


def _first_numbers(before: GradientGrowthResult, after: GradientGrowthResult) -> dict:
    """The two runs' rates, non-finite fractions and median norms at the longest horizon."""
    return {
        "rate_before": float(before.rate),
        "rate_after": float(after.rate),
        "nonfinite_fraction_before": nonfinite_fraction(before),
        "nonfinite_fraction_after": nonfinite_fraction(after),
        "median_norm_longest_before": _median_longest(before),
        "median_norm_longest_after": _median_longest(after),
    }


def _values_lost(before, after, *, exact: bool, numbers: dict) -> Comparison | None:
    """Rule 1 of the module docstring: the change removes the user's non-finite values, or
    the exact derivative holds values the user's dtype lost; ``None`` when neither decides."""
    nf_b, nf_a = numbers["nonfinite_fraction_before"], numbers["nonfinite_fraction_after"]
    if nf_b > 0 and nf_a == 0:
        return Comparison(True, f"the change removes the non-finite values ({nf_b:.0%} of the user's entries)", numbers)
    lost = lost_fraction(before, after) if exact else 0.0
    numbers["lost_fraction"] = lost
    if lost > 0:
        return Comparison(
            True,
            f"the user's gradient is exactly zero at {lost:.0%} of the measured horizons and members where the "
            "exact derivative of the same map is finite and non-zero: it underflows in the user's dtype",
            numbers,
        )
    if exact and nf_a > nf_b:
        return Comparison(False, "the ablated run itself has more non-finite values", numbers)
    return None


def _rate_change(before, after, *, exact: bool, target, t_max: float, numbers: dict) -> tuple[bool, bool, float]:
    """Rule 2 of the module docstring: ``(moved, towards the target, gap)``, the gap from
    the two rates or, where they alone do not show it, from the paired log-ratio."""
    rate_moved = towards = False
    gap = math.nan
    if np.isfinite(before.rate) and np.isfinite(after.rate):
        gap = after.rate - before.rate
        rate_moved = abs(gap) > math.hypot(half_width(before), half_width(after)) and abs(gap) * t_max > LOG2
        paired = paired_rate_gap(before, after)
        if paired is not None:
            numbers["paired_rate_gap"] = list(paired)
            if not rate_moved and abs(paired[0]) * t_max > LOG2 and (paired[1] > 0 or paired[2] < 0):
                rate_moved, gap = True, paired[0]
        moved_to = before.rate + gap
        towards = exact or (
            target is not None and np.isfinite(target) and abs(moved_to - target) < abs(before.rate - target)
        )
        numbers.update(rate_gap=float(gap), rate_moved=bool(rate_moved), towards_target=bool(towards))
    return rate_moved, towards, gap


def _conclusion(before, after, *, exact: bool, moved: tuple[bool, bool, float], values, numbers) -> Comparison:
    """The rate test, then the value test (rule 3), in words."""
    rate_moved, towards, gap = moved
    if rate_moved and towards:
        where = "the exact derivative's" if exact else "the prediction's"
        return Comparison(
            True,
            f"the change moves the rate by {gap:+.4g} (from {before.rate:+.4g} to {after.rate:+.4g}), towards {where}",
            numbers,
        )
    if values is not None and values["values_differ"]:
        return Comparison(
            True,
            f"at T = {values['horizon']:.4g}, along the same forward trajectories, {values['members_differing']} of "
            f"{values['paired_members']} members' gradients differ from the exact derivative by more than a factor "
            f"{NORM_FACTOR:g} or 60 degrees (median norm ratio {math.exp(values['median_log_ratio']):.3g}, median cosine "
            f"{values['median_cosine']:+.2f})",
            numbers,
        )
    if rate_moved and not towards:
        return Comparison(
            False,
            f"the change moves the rate from {before.rate:+.4g} to {after.rate:+.4g}, away from the prediction",
            numbers,
        )
    if values is None and exact:
        return Comparison(
            False,
            "the rates agree, and the forward trajectories separate before any horizon where values could be compared",
            numbers,
        )
    return Comparison(
        False,
        "the change leaves the gradient's rate" + (" and values" if values is not None else "") + " as they were",
        numbers,
    )


def compare(
    before: GradientGrowthResult, after: GradientGrowthResult, *, exact: bool, target: float | None, t_max: float
) -> Comparison:
    """Does the ablation ``after`` change the user's gradient ``before``, towards ``target``?

    ``exact``: the ablated gradient is the exact derivative of the same numerical map, so
    it is itself the target and a value mismatch confirms. ``target``: otherwise, the
    rate the ablated gradient should approach (e.g. the physics' prediction).
    """
    numbers = _first_numbers(before, after)
    lost = _values_lost(before, after, exact=exact, numbers=numbers)
    if lost is not None:
        return lost
    moved = _rate_change(before, after, exact=exact, target=target, t_max=t_max, numbers=numbers)
    values = _value_test(before, after) if exact else None
    if values is not None:
        numbers["values"] = values
    return _conclusion(before, after, exact=exact, moved=moved, values=values, numbers=numbers)
