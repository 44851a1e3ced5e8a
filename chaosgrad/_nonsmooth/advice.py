"""The advice of :func:`~chaosgrad.smoothed_advice`, one recommendation per function: each
estimator's variance against the horizon, the horizon beyond which the first-order
estimate stops paying, the alpha-order estimator and the smoothing scale."""

from __future__ import annotations

import math

import numpy as np

from chaosgrad._diagnosis import words as words
from chaosgrad._diagnosis.types import Recommendation


def crossing(times, ratio):
    """The horizon at which ``ratio`` (first-order over zeroth-order variance) first
    exceeds 1: linear interpolation of ``ln ratio`` between the last horizon below 1 and
    the first above; the first horizon if it is above already; ``None`` if none is."""
    above = np.flatnonzero(ratio > 1)
    if above.size == 0:
        return None
    i = int(above[0])
    if i == 0:
        return float(times[0])
    if not ratio[i - 1] > 0 or not math.isfinite(ratio[i]):
        return float(times[i])
    a, b = math.log(ratio[i - 1]), math.log(ratio[i])
    return float(times[i - 1] + (times[i] - times[i - 1]) * (0 - a) / (b - a))


def variance_rate(times, variances) -> float | None:
    """The least-squares slope of ``ln variance`` against ``T`` over the horizons with a
    positive variance (at least two distinct), or ``None``: the exponential rate at which
    an estimator's variance grows (about ``2 lambda_1`` for the first order through chaos,
    Suh et al. 2022 sec. 3.2; near 0 for the zeroth order, whose variance is bounded by
    ``P Var(L) / sigma^2``)."""
    t, v = np.asarray(times, np.float64), np.asarray(variances, np.float64)
    keep = np.isfinite(v) & (v > 0)
    if np.unique(t[keep]).size < 2:
        return None
    return float(np.polyfit(t[keep], np.log(v[keep]), 1)[0])


def variance_advice(T, ok, s1, s0, ratio) -> Recommendation:
    """Both estimators' per-sample variances (traces ``s1``, ``s0``) at the horizons ``T``
    where both are finite (``ok``), and the growth rates of their logarithms."""
    pairs = "; ".join(
        f"T = {words.number(t)}: {words.number(a)} vs {words.number(z)}" for t, a, z in zip(T[ok], s1[ok], s0[ok])
    )
    text = f"Per-sample variance (trace) of the first-order vs the zeroth-order estimate: {pairs}."
    rates = [variance_rate(T[ok], s) for s in (s1[ok], s0[ok])]
    if all(r is not None for r in rates):
        text += (
            f" Least-squares growth rates of ln(variance) in T: {words.number(rates[0], signed=True)} (first "
            f"order) and {words.number(rates[1], signed=True)} (zeroth order) per time unit."
        )
    return Recommendation("estimator variance", text, float(ratio[ok][-1]), "ratio")


def horizon_advice(T, ok, ratio, biased, worst_z) -> Recommendation:
    """Where the first-order estimate stops paying: from the first horizon at which it is
    biased, or beyond which its variance exceeds the zeroth-order's (``ratio > 1``, by
    :func:`crossing`); or that it pays throughout."""
    biased = biased & ok
    cross = crossing(T[ok], ratio[ok])
    if biased.any():
        t_b = float(T[biased][0])
        return Recommendation(
            "first-order horizon",
            f"The first-order (AD) estimate is biased from T = {words.number(t_b)} on (it falls outside the "
            f"zeroth-order interval and their difference excludes 0, largest |difference| = "
            f"{words.number(float(np.nanmax(worst_z[biased])))} standard errors): the program is non-smooth at "
            "the smoothing scale, and AD's exact derivative is not the smoothed loss's gradient there. Use the "
            "zeroth-order estimate (or smooth the contact / clip) at those horizons.",
            t_b,
            "time",
        )
    elif cross is not None and np.all(ratio[ok][T[ok] > cross] > 1):
        return Recommendation(
            "first-order horizon",
            f"The first-order estimate stops paying beyond T ≈ {words.number(cross)}: its variance exceeds the "
            "zeroth-order's from there on (both unbiased within their intervals).",
            cross,
            "time",
        )
    elif cross is not None:
        over = ", ".join(words.number(float(t)) for t in T[ok][ratio[ok] > 1])
        under = ", ".join(words.number(float(t)) for t in T[ok][(ratio[ok] <= 1) & (T[ok] > cross)])
        return Recommendation(
            "first-order horizon",
            f"The first-order estimate's variance first exceeds the zeroth-order's at T ≈ {words.number(cross)} "
            f"(above at T = {over}; below again at T = {under}): from there on neither estimator is reliably the "
            "cheaper, so use the alpha-order combination below, horizon by horizon.",
            cross,
            "time",
        )
    else:
        return Recommendation(
            "first-order horizon",
            f"The first-order estimate pays at every horizon measured (up to T = {words.number(float(T[ok][-1]))}): "
            "its variance stays below the zeroth-order's and it agrees with it.",
            None,
            None,
        )


def alpha_advice(T, ok, alpha) -> Recommendation:
    """The alpha-order estimator's weights per horizon (``interpolation_alpha``)."""
    listed = "; ".join(f"T = {words.number(t)}: {a:.3g}" for t, a in zip(T[ok], alpha[ok]))
    return Recommendation(
        "alpha-order estimator",
        "Interpolate alpha g_first + (1 - alpha) g_zeroth with the alpha that minimises the variance (inverse-"
        f"variance weighting, Parmas et al. 2018; Suh et al. 2022), 0 where the first order is biased: {listed}.",
        float(alpha[ok][-1]),
        None,
    )


def smoothing_advice(result, ok, relative_error: float) -> Recommendation:
    """The smoothing scale, and the pairs the zeroth-order estimate at the longest horizon
    needs for an error of ``relative_error`` of its norm."""
    T, s0 = result.horizons, result.zeroth_order_trace
    g0 = result.zeroth_order[ok][-1]
    norm = float(np.linalg.norm(g0))
    q = float(result.quantile[ok][-1])
    need = math.ceil((q * math.sqrt(s0[ok][-1]) / (relative_error * norm)) ** 2) if norm > 0 else None
    text = (
        f"Smoothing scale sigma = {words.number(result.sigma)} (units of {result.wrt}): the smoothed loss is the "
        "loss averaged over that scale; a smaller sigma tracks the unsmoothed loss more closely, and the "
        "zeroth-order variance grows like 1/sigma^2 (twice smaller, four times the pairs)."
    )
    if need is not None:
        text += (
            f" At T = {words.number(float(T[ok][-1]))} the zeroth-order estimate needs about {need} pairs for "
            f"an error of {relative_error:.0%} of its norm ({words.number(norm)}) at {result.confidence:.0%}."
        )
    return Recommendation("smoothing scale", text, result.sigma, result.wrt)
