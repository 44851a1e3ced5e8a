"""Growth-rate fit of ``ln ||grad||`` against the horizon, with a confidence interval.

The rate is the least-squares slope of the ensemble median of ``ln ||grad_T||`` against
``T`` over the later horizons (``T >= T_last / 4``, where the asymptotic exponential
regime has set in; the early horizons carry the O(1) transient of the Lyapunov vectors).
Its uncertainty combines two independent sources: the scatter of the points about the
line (ordinary least-squares standard error) and the sampling of ensemble members (a
bootstrap over members, Efron 1979). The interval is ``rate ± t_{q, n-2} * sqrt(se_ols^2
+ se_boot^2)``. Horizons where fewer than half of the members are finite are left out,
so a non-finite tail does not bias the rate, and are reported.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats

N_BOOTSTRAP = 400


@dataclass(frozen=True)
class Fit:
    rate: float
    low: float
    high: float
    intercept: float
    mask: np.ndarray
    status: str
    method: str


def _median_log(norms, finite):
    logs = np.where(finite, np.log(np.where(finite, norms, 1.0)), np.nan)
    with np.errstate(all="ignore"):
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            return np.nanmedian(logs, axis=0)


def _slope(t, y):
    A = np.stack([t, np.ones_like(t)], axis=1)
    coef, *_ = np.linalg.lstsq(A, y, rcond=None)
    return coef[0], coef[1]


def fit_growth_rate(times, norms, finite, *, confidence=0.95, seed=0) -> Fit:
    times = np.asarray(times, dtype=float)
    M = norms.shape[0]
    usable = finite.sum(axis=0) >= max(1, -(-M // 2))
    method = (
        f"least-squares slope of the median ln||grad|| over horizons T >= T_last/4; "
        f"{int(confidence * 100)}% interval from fit residuals and a {N_BOOTSTRAP}-sample bootstrap over members"
    )
    if usable.sum() < 3:
        return Fit(np.nan, np.nan, np.nan, np.nan, usable & False, "nonfinite", method)
    t_last = times[usable][-1]
    mask = usable & (times >= t_last / 4)
    if mask.sum() < 3:
        idx = np.nonzero(usable)[0][-3:]
        mask = np.zeros_like(usable)
        mask[idx] = True
    t = times[mask]
    y = _median_log(norms[:, mask], finite[:, mask])
    rate, intercept = _slope(t, y)
    dof = t.size - 2
    if dof > 0:
        resid = y - (rate * t + intercept)
        se_ols = np.sqrt(np.sum(resid**2) / dof / np.sum((t - t.mean()) ** 2))
    else:
        se_ols = 0.0
    se_boot = 0.0
    if M > 1:
        rng = np.random.default_rng(seed)
        slopes = []
        for _ in range(N_BOOTSTRAP):
            pick = rng.integers(0, M, M)
            yb = _median_log(norms[pick][:, mask], finite[pick][:, mask])
            if np.all(np.isfinite(yb)):
                slopes.append(_slope(t, yb)[0])
        if len(slopes) > 1:
            se_boot = float(np.std(slopes, ddof=1))
    q = stats.t.ppf(0.5 + confidence / 2, max(dof, 1))
    half = q * np.sqrt(se_ols**2 + se_boot**2)
    return Fit(float(rate), float(rate - half), float(rate + half), float(intercept), mask, "ok", method)
