"""The statistics of the antithetic pairs at each horizon: both estimators' means,
variances and simultaneous intervals, and the paired interval on their difference."""

from __future__ import annotations

import math

import numpy as np

from chaosgrad._student_t import t_quantile


def pair_statistics(lp, lm, gp, gm, eps, sigma, confidence):
    """The estimates, variances and intervals of one horizon from its pairs (float64, on
    the host). Pairs with a non-finite loss or gradient are left out; returns a dict and
    the number of pairs used."""
    lp, lm = np.asarray(lp, np.float64), np.asarray(lm, np.float64)
    gp, gm, eps = (np.asarray(a, np.float64) for a in (gp, gm, eps))
    ok = np.isfinite(lp) & np.isfinite(lm) & np.isfinite(gp).all(axis=1) & np.isfinite(gm).all(axis=1)
    n, P = int(ok.sum()), gp.shape[1]
    g1 = (gp[ok] + gm[ok]) / 2
    g0 = ((lp[ok] - lm[ok]) / (2 * sigma))[:, None] * eps[ok]
    nan = np.full(P, np.nan)
    if n < 2:
        return dict(
            first=nan,
            zeroth=nan,
            v1=nan,
            v0=nan,
            cov=math.nan,
            zlo=nan,
            zhi=nan,
            diff=nan,
            dlo=nan,
            dhi=nan,
            q=math.nan,
            outside=False,
            differ=False,
            worst=math.nan,
            smoothed=float(np.mean((lp[ok] + lm[ok]) / 2)) if n else math.nan,
        ), n
    d = g1 - g0
    m1, m0, md = g1.mean(0), g0.mean(0), d.mean(0)
    v1, v0, vd = g1.var(0, ddof=1), g0.var(0, ddof=1), d.var(0, ddof=1)
    cov = float(np.sum((g1 - m1) * (g0 - m0)) / (n - 1))
    q = t_quantile(1 - (1 - confidence) / (2 * P), n - 1)
    s0, sd = np.sqrt(v0 / n), np.sqrt(vd / n)
    zlo, zhi, dlo, dhi = m0 - q * s0, m0 + q * s0, md - q * sd, md + q * sd
    outside = bool(np.any((m1 < zlo) | (m1 > zhi)))
    differ = bool(np.any((dlo > 0) | (dhi < 0)))
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(sd > 0, np.abs(md) / sd, np.where(md != 0, np.inf, 0.0))
    return dict(
        first=m1,
        zeroth=m0,
        v1=v1,
        v0=v0,
        cov=cov,
        zlo=zlo,
        zhi=zhi,
        diff=md,
        dlo=dlo,
        dhi=dhi,
        q=q,
        outside=outside,
        differ=differ,
        worst=float(np.max(z)),
        smoothed=float(np.mean((lp[ok] + lm[ok]) / 2)),
    ), n


# The fields of a SmoothedGradientResult that pair_statistics fills, horizon by horizon:
# per component, stacked as (H, P) arrays, and scalars, stacked as (H,) arrays.
COMPONENT_FIELDS = {
    "first_order": "first",
    "zeroth_order": "zeroth",
    "first_order_var": "v1",
    "zeroth_order_var": "v0",
    "zeroth_low": "zlo",
    "zeroth_high": "zhi",
    "difference": "diff",
    "difference_low": "dlo",
    "difference_high": "dhi",
}
SCALAR_FIELDS = {"covariance_trace": "cov", "quantile": "q", "worst_z": "worst", "smoothed_loss": "smoothed"}


def horizon_statistics(lp, lm, gp, gm, eps, sigma, confidence):
    """:func:`pair_statistics` at every horizon (axis 0 of ``lp, lm, gp, gm``), keyed by
    the result's fields (``COMPONENT_FIELDS``, ``SCALAR_FIELDS``); whether the first-order
    mean falls outside the zeroth-order interval, whether the difference's interval
    excludes 0, and the number of finite pairs, per horizon."""
    H, P = len(lp), np.shape(eps)[1]
    stacked = {field: np.full((H, P), np.nan) for field in COMPONENT_FIELDS}
    stacked.update({field: np.full(H, np.nan) for field in SCALAR_FIELDS})
    outside, differ, finite = np.zeros(H, bool), np.zeros(H, bool), np.zeros(H, np.int64)
    eps_host = np.asarray(eps)
    for h in range(H):
        stats, n = pair_statistics(lp[h], lm[h], gp[h], gm[h], eps_host, sigma, confidence)
        finite[h] = n
        for field, key in (COMPONENT_FIELDS | SCALAR_FIELDS).items():
            stacked[field][h] = stats[key]
        outside[h], differ[h] = stats["outside"], stats["differ"]
    return stacked, outside, differ, finite
