"""Which law the gradient's growth follows: exponential, a power of T, or levelling off.

Exponential growth ``|g| ~ e^{gamma T}`` is what chaos (or contraction) gives. It is one
law among several: on a neutral direction (the phase of a limit cycle or of a libration,
a conserved quantity, a free rotation) a parameter moves the phase, which drifts linearly
in T, so ``|g| ~ T^p`` (``p = 1`` for phase drift, more for secular terms of higher
order); and a gradient can level off at a steady sensitivity. A power law fitted as an
exponential has a rate that falls like ``p ln(T) / T``, which no horizon list can make
agree with neutral physics.

Method. Over every measured horizon ``T`` in ``[T_lo, T_hi]`` (the whole range the caller
asked for, not only the rate's window: the laws differ in curvature, which a wide range
shows) each member's ``ln |g|`` is fitted with the *joint* model

    ln |g_m(T)| = a_m + gamma T + p ln T,

and with the power law alone (``ln |g_m| = a_m + p ln T``). The coefficients' intervals
follow ``_gradients.fit``'s rules: the mean over members with a Student-t on their spread, or, for
members that are not independent, the member-mean curve's own least-squares error.

Criterion (each law is *adequate* when the joint model does not need the other term):

1. ``saturating``: the exponential fit's rate is flat over the horizons
   (``_diagnosis.verdict.growth_class``): the gradient stays within an order of magnitude;
2. ``exponential`` is adequate when the joint ``p`` interval contains 0, ``power`` when
   the joint ``gamma`` interval contains 0;
3. exactly one adequate: that law; neither: ``exponential`` (with a power-law prefactor,
   ``T^p e^{gamma T}``: the exponential decides the growth at long horizons);
   both: ``either``, the data cannot tell the two apart, and
   :func:`deciding_horizon` computes the longest horizon that would.

The verdict (``_diagnosis.verdict``) decides between the laws the data leave open with the law the
physics predicts: exponential for chaotic or contracting physics, a power for neutral.
"""

from __future__ import annotations

import math

import numpy as np

from chaosgrad._diagnosis.types import GrowthLaw
from chaosgrad._gradients.fit import usable_horizons
from chaosgrad._student_t import t_quantile

LAWS = ("exponential", "power", "saturating", "either", "undetermined")
# The joint model has 3 coefficients; one more point than that leaves too little to
# estimate the scatter: at least 5 points (2 degrees of freedom) per curve.
MIN_POINTS = 5
# Longest extensions of the horizon range searched by deciding_horizon: T_hi times
# 2, 4, ..., 2^10.
DOUBLINGS = 10


def _design(t: np.ndarray, t_hi: float, columns: str) -> np.ndarray:
    """Columns scaled to O(1) over the range, for a well-conditioned least squares."""
    cols = [np.ones_like(t)]
    if "t" in columns:
        cols.append(t / t_hi)
    if "l" in columns:
        cols.append(np.log(t / t_hi))
    return np.stack(cols, axis=1)


def _ols(X: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Coefficients and their ordinary least-squares standard errors (NaN without dof)."""
    coef, *_ = np.linalg.lstsq(X, y, rcond=None)
    n, k = X.shape
    if n <= k:
        return coef, np.full(k, np.nan)
    resid = y - X @ coef
    cov = np.linalg.pinv(X.T @ X) * float(resid @ resid) / (n - k)
    return coef, np.sqrt(np.maximum(np.diag(cov), 0.0))


def _intervals(X: np.ndarray, logs: np.ndarray, ok: np.ndarray, confidence: float, independent: bool = True):
    """Mean coefficients over members, their half-widths and dof (``_gradients.fit`` rules 2-3)."""
    k = X.shape[1]
    fitted = ok.sum(axis=1) >= max(MIN_POINTS, k + 2)
    if not fitted.any():
        return None
    coefs = np.array([_ols(X[ok[m]], logs[m, ok[m]])[0] for m in np.nonzero(fitted)[0]])
    mean = coefs.mean(axis=0)
    n = coefs.shape[0]
    # The member-mean curve over the horizons where every fitted member is usable.
    common = ok[fitted].all(axis=0)
    curve_se = np.full(k, np.nan)
    if common.sum() >= k + 2:
        curve_se = _ols(X[common], logs[fitted][:, common].mean(axis=0))[1]
    spread_se = coefs.std(axis=0, ddof=1) / math.sqrt(n) if n > 1 else np.zeros(k)
    if np.all(np.isfinite(curve_se)) and np.all(spread_se < curve_se / math.sqrt(n)):
        se, dof = curve_se, int(common.sum()) - k
    elif not independent and np.all(np.isfinite(curve_se)) and np.any(curve_se > spread_se):
        # Members that may share their trajectories: at least the mean curve's own error.
        se, dof = np.maximum(spread_se, curve_se), min(n - 1, int(common.sum()) - k)
    else:
        se, dof = spread_se, n - 1
    if dof < 1:
        return mean, np.full(k, np.inf), 0
    return mean, t_quantile(0.5 + confidence / 2, dof) * se, dof


def deciding_horizon(t: np.ndarray, half_widths: tuple[float, float], alternatives: tuple[float, float]) -> float:
    """The shortest ``T_hi' = T_hi 2^j`` at which the joint fit would tell the laws apart.

    ``half_widths``: the joint fit's half-widths of ``gamma`` and ``p`` now;
    ``alternatives``: the exponential law's rate and the power law's exponent. With the
    same number of horizons spread log-uniformly from ``T_lo`` to ``T_hi'`` and the same
    scatter per horizon, each half-width scales as the square root of its entry of
    ``(X^T X)^{-1}``; the laws are told apart when either one, if true, would exclude the
    other: ``gamma``'s half-width below half the exponential rate and ``p``'s below half
    the power exponent (so that an estimate at the true value excludes 0 with a margin of
    a whole half-width: about 97% of the time, not the 50% of a bare threshold). NaN when
    no extension up to ``2^DOUBLINGS T_hi`` does (the scatter is too large: more members,
    not longer horizons).
    """
    t = np.asarray(t, float)
    t_lo, t_hi, n = float(t[0]), float(t[-1]), t.size

    def variances(lo, hi):
        grid = np.geomspace(lo, hi, n)
        X = _design(grid, hi, "tl")
        # Unscaled units (per time unit for gamma): divide the scaled column by hi.
        v = np.diag(np.linalg.pinv(X.T @ X))
        return v[1] / hi**2, v[2]

    v_g, v_p = variances(t_lo, t_hi)
    hw_g, hw_p = half_widths
    rate, power = (abs(a) for a in alternatives)
    if not all(math.isfinite(x) for x in (hw_g, hw_p, rate, power, v_g, v_p)):
        return math.nan
    for j in range(1, DOUBLINGS + 1):
        hi = t_hi * 2.0**j
        w_g, w_p = variances(t_lo, hi)
        if hw_g * math.sqrt(w_g / v_g) < 0.5 * rate and hw_p * math.sqrt(w_p / v_p) < 0.5 * power:
            return hi
    return math.nan


def fit_growth_law(
    times, norms, usable, *, flat: bool, confidence: float = 0.95, independent: bool = True
) -> GrowthLaw:
    """The growth law of ``norms`` ``(M, H)`` over ``times`` ``(H,)`` (module docstring).

    ``flat``: the exponential fit's rate is flat over the horizons (criterion 1);
    ``independent``: as for ``_gradients.fit.fit_growth_rate``.
    """
    times = np.asarray(times, float)
    window = usable_horizons(usable) & (times > 0)
    nan = math.nan
    empty = GrowthLaw(
        law="undetermined",
        exponent=nan,
        exponent_interval=(nan, nan),
        net_rate=nan,
        net_rate_interval=(nan, nan),
        joint_exponent=nan,
        joint_exponent_interval=(nan, nan),
        horizon_range=(nan, nan),
        deciding_horizon=nan,
        points=int(window.sum()),
    )
    if window.sum() < MIN_POINTS:
        return empty
    t = times[window]
    ok = usable[:, window]
    with np.errstate(all="ignore"):
        logs = np.where(ok, np.log(np.where(ok, norms[:, window], 1.0)), np.nan)
    t_hi = float(t[-1])
    power = _intervals(_design(t, t_hi, "l"), logs, ok, confidence, independent)
    joint = _intervals(_design(t, t_hi, "tl"), logs, ok, confidence, independent)
    if power is None or joint is None:
        return empty
    p, hw_p, _ = power
    jc, jhw, _ = joint
    gamma, hw_gamma = jc[1] / t_hi, jhw[1] / t_hi
    jp, hw_jp = jc[2], jhw[2]
    exponential_ok = abs(jp) <= hw_jp
    power_ok = abs(gamma) <= hw_gamma
    decided = nan
    if flat:
        law = "saturating"
    elif exponential_ok and power_ok:
        law = "either"
        # The exponential alternative: the plain slope over the same horizons.
        rate = float(
            np.nanmean([np.polyfit(t[ok[m]], logs[m, ok[m]], 1)[0] for m in range(len(ok)) if ok[m].sum() >= 3])
        )
        decided = deciding_horizon(t, (hw_gamma, hw_jp), (rate, p[1]))
    elif power_ok:
        law = "power"
    else:
        law = "exponential"
    return GrowthLaw(
        law=law,
        exponent=float(p[1]),
        exponent_interval=(float(p[1] - hw_p[1]), float(p[1] + hw_p[1])),
        net_rate=float(gamma),
        net_rate_interval=(float(gamma - hw_gamma), float(gamma + hw_gamma)),
        joint_exponent=float(jp),
        joint_exponent_interval=(float(jp - hw_jp), float(jp + hw_jp)),
        horizon_range=(float(t[0]), t_hi),
        deciding_horizon=float(decided),
        points=int(t.size),
    )
