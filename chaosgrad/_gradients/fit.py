"""Growth rate of ``ln ||grad||`` against the horizon, with a calibrated interval.

Model. For member ``m`` (an independent initial state) and horizon ``T``,

    ln ||g_m(T)|| = a_m + gamma T + e_m(T),

where ``a_m`` is the member's prefactor and ``e_m`` is correlated in ``T`` (finite-time
exponent fluctuations accumulate like a random walk; the projection on the loss adds
bounded noise). Least squares through the points of *one* curve therefore badly
misjudges its own error, and a Student-t on the number of horizons makes the interval
depend on how many horizons were listed. The independent units are the members:

1. each member's slope ``s_m`` is the least-squares slope of its own finite points over
   the fit window (``T >= T_last / 4``, where the asymptotic regime has set in);
2. ``gamma`` is the mean of the ``s_m``; its sampling error is ``sd(s_m) / sqrt(M)``
   with ``M - 1`` degrees of freedom (Student 1908);
3. members can be far from independent (a contracting system whose members all sit on
   one fixed point gives identical curves and zero spread). Independent members scatter
   about as much as one member's own residuals say, so the spread-based error is about
   the least-squares error ``se_curve`` of the member-mean curve's slope; members that
   agree far better than that (``se < se_curve / sqrt(M)``, which independent Gaussian
   members do with probability about 0.5% at M = 8) are treated as one curve. One curve
   has no sampling error, only a systematic one: a transient that has not decayed (two
   leading eigenvalues of nearly equal modulus align slowly) bends the curve, and the
   slope changes between the window's halves by ``d``. The error is then
   ``sqrt(se_curve^2 + (d / 2)^2)``, with ``points - 2`` degrees of freedom;
4. the interval is ``gamma ± t_{0.975, dof} * se``, with a round-off floor so an exact
   line does not get an interval narrower than the arithmetic.

The statistics depend on the window's end points, not on how many horizons a caller
listed: ``fit_grid`` places the fit horizons, ``_gradients.growth`` measures them. Coverage of
the interval is checked by simulation in ``tests/test_calibration.py`` and reported in
``benchmarks/RESULTS_calibration.md``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from chaosgrad._student_t import t_quantile

# Points of the internal fit grid, spread over the fit window: enough that each
# member's slope averages its bounded noise and each half of the window holds four
# points for the bend of a single curve, at a cost of about 5 gradients at the longest
# horizon.
FIT_POINTS = 8
# The window starts at this fraction of the longest horizon: the early horizons carry
# the O(1) transient of the gradient's alignment with the leading Lyapunov vector.
WINDOW_START = 0.25


@dataclass(frozen=True)
class Fit:
    rate: float
    low: float
    high: float
    standard_uncertainty: float
    dof: int
    member_rates: np.ndarray
    mask: np.ndarray
    status: str
    method: str
    # Each member's own standard uncertainty (its curve's least-squares error with the
    # bend of its window, rule 3 applied to one curve) and its degrees of freedom: the
    # evidence for a gap that every member shows (``_diagnosis.verdict.rate_comparison``).
    member_se: np.ndarray | None = None
    member_dof: np.ndarray | None = None
    # Whether the interval comes from the members' spread (``True``) or from one curve
    # (members that are not independent): more members narrow only the former.
    from_spread: bool = True


def fit_grid(t_min: float, t_max: float, n: int = FIT_POINTS) -> np.ndarray:
    """The horizons the fit uses: ``n`` over ``[max(t_min, t_max/4), t_max]``.

    Both ends, and ``n - 2`` interior points one in each of ``n - 2`` equal strata at a
    seeded random place within it (stratified jitter). An evenly spaced grid aliases with
    an oscillation whose period is close to a multiple of the spacing: the sampled
    oscillation then looks like a trend, not like scatter, and no error estimate sees it.
    """
    lo, hi = max(float(t_min), WINDOW_START * float(t_max)), float(t_max)
    u = np.random.default_rng(0).random(n - 2)
    inner = lo + (np.arange(n - 2) + u) / (n - 2) * (hi - lo)
    return np.concatenate([[lo], inner, [hi]])


def usable_horizons(finite: np.ndarray) -> np.ndarray:
    """``(H,)``: the horizons where at least half of the ``M`` members are usable."""
    return finite.sum(axis=0) >= max(1, -(-finite.shape[0] // 2))


def _slopes(t: np.ndarray, logs: np.ndarray, ok: np.ndarray) -> np.ndarray:
    """Least-squares slope of each row's finite points (NaN with fewer than 3)."""
    out = np.full(logs.shape[0], np.nan)
    for m in range(logs.shape[0]):
        sel = ok[m]
        if sel.sum() >= 3 and np.ptp(t[sel]) > 0:
            out[m] = np.polyfit(t[sel], logs[m, sel], 1)[0]
    return out


def member_curve_errors(t: np.ndarray, logs: np.ndarray, ok: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each row's own slope uncertainty ``sqrt(se_curve^2 + (d / 2)^2)`` (rule 3 of the
    module docstring, for one curve) and its ``points - 2`` degrees of freedom; NaN and
    0 for a row with fewer than 4 finite points."""
    se = np.full(logs.shape[0], np.nan)
    dof = np.zeros(logs.shape[0], np.int64)
    for m in range(logs.shape[0]):
        sel = ok[m]
        if sel.sum() >= 4 and np.ptp(t[sel]) > 0:
            se[m] = math.hypot(_ols_slope_se(t[sel], logs[m, sel]), 0.5 * _half_slope_change(t[sel], logs[m, sel]))
            dof[m] = int(sel.sum()) - 2
    return se, dof


def _ols_slope_se(t: np.ndarray, y: np.ndarray) -> float:
    """Ordinary least-squares standard error of the slope of ``y`` on ``t``."""
    if t.size < 3:
        return math.nan
    coef = np.polyfit(t, y, 1)
    resid = y - np.polyval(coef, t)
    return float(np.sqrt(np.sum(resid**2) / (t.size - 2) / np.sum((t - t.mean()) ** 2)))


def _half_slope_change(t: np.ndarray, y: np.ndarray) -> float:
    """Slope over the second half of the points minus that over the first (0 if too few)."""
    half = t.size // 2
    if half < 2 or t.size - half < 2:
        return 0.0
    return float(np.polyfit(t[half:], y[half:], 1)[0] - np.polyfit(t[:half], y[:half], 1)[0])


def _mean_and_se(x: np.ndarray) -> tuple[float, float, int]:
    x = x[np.isfinite(x)]
    if x.size == 0:
        return math.nan, math.nan, 0
    if x.size == 1:
        return float(x[0]), math.nan, 1
    return float(x.mean()), float(x.std(ddof=1) / math.sqrt(x.size)), int(x.size)


def _fit_window(times: np.ndarray, usable: np.ndarray, fit_mask) -> np.ndarray:
    """The horizons the rate is fitted on: ``fit_mask``'s usable ones with ``T >= T_last / 4``
    of what is left, or, when fewer than three survive, the last usable horizons (at most
    ``FIT_POINTS``). Fewer than three when not even those exist."""
    if fit_mask is None:
        fit_mask = np.ones_like(usable)
    window = np.asarray(fit_mask, bool) & usable
    if window.sum() >= 3:
        # A non-finite tail moves the window's end: keep T >= T_last / 4 of what is left.
        t_last = times[window][-1]
        window &= times >= WINDOW_START * t_last
    if window.sum() < 3:
        # Too few fit-grid points survive: fall back to the last usable horizons.
        idx = np.nonzero(usable)[0]
        window = np.zeros_like(usable)
        window[idx[-max(3, min(idx.size, FIT_POINTS)) :]] = True
        window &= usable
    return window


def _rate_error(t, logs, ok, member_rates, se, n_fit: int, independent: bool) -> tuple[float, int, bool]:
    """The rate's standard error, its degrees of freedom and whether it comes from the
    members' spread (rule 3 of the module docstring): the spread's, or the member-mean
    curve's own least-squares error with its bend when the members agree far better than
    independent ones would, or (``independent=False``) when that is the larger."""
    # The member-mean curve over horizons where every fitted member is finite.
    fitted = np.isfinite(member_rates)
    common = ok[fitted].all(axis=0)
    se_curve = _ols_slope_se(t[common], logs[fitted][:, common].mean(axis=0)) if common.sum() >= 3 else math.nan
    se_members = se if np.isfinite(se) else 0.0
    dof = n_fit - 1
    se_total = se_members
    from_spread = True
    if np.isfinite(se_curve) and se_members < se_curve / math.sqrt(n_fit):
        bend = _half_slope_change(t[common], logs[fitted][:, common].mean(axis=0))
        se_total, dof = math.hypot(se_curve, 0.5 * bend), int(common.sum()) - 2
        from_spread = False
    elif not independent and np.isfinite(se_curve):
        one_curve = math.hypot(se_curve, 0.5 * _half_slope_change(t[common], logs[fitted][:, common].mean(axis=0)))
        if one_curve > se_members:
            se_total, dof = one_curve, min(dof, int(common.sum()) - 2)
            from_spread = False
    return se_total, dof, from_spread


def fit_growth_rate(
    times,
    norms,
    finite,
    *,
    fit_mask=None,
    confidence=0.95,
    dtype_eps=np.finfo(np.float64).eps,
    logs_given: bool = False,
    independent: bool = True,
) -> Fit:
    """Fit ``gamma`` over the horizons in ``fit_mask`` (default: ``T >= T_last/4``).

    ``norms`` is ``(M, H)`` (``logs_given``: their logarithms); ``finite`` marks usable
    entries (finite and non-zero). ``independent=False``: the members may share part of
    their trajectories (perturbations of one start, ``_gradients.members.NearStart``), so their
    spread can understate the error of their mean; the error is then at least the
    member-mean curve's own (rule 3's one-curve error), which keeps what they share.
    Horizons where fewer than half of the members are usable are left out, so a
    non-finite tail does not bias the rate; the window then ends at the last usable one.
    """
    times = np.asarray(times, dtype=float)
    M = norms.shape[0]
    usable = usable_horizons(finite)
    method = (
        f"mean over members of each member's least-squares slope of ln||grad|| over T >= T_last/4; "
        f"{int(round(confidence * 100))}% Student-t interval from the member spread (M - 1 degrees of freedom), "
        "or the member-mean curve's own least-squares error when the members are not independent"
    )
    window = _fit_window(times, usable, fit_mask)
    if window.sum() < 3:
        nan = math.nan
        return Fit(nan, nan, nan, nan, 0, np.full(M, nan), window, "nonfinite", method)

    t = times[window]
    ok = finite[:, window]
    with np.errstate(all="ignore"):
        logs = np.where(ok, norms[:, window] if logs_given else np.log(np.where(ok, norms[:, window], 1.0)), np.nan)
    member_rates = _slopes(t, logs, ok)
    rate, se, n_fit = _mean_and_se(member_rates)
    if n_fit == 0:
        nan = math.nan
        return Fit(nan, nan, nan, nan, 0, member_rates, window, "nonfinite", method)
    se_total, dof, from_spread = _rate_error(t, logs, ok, member_rates, se, n_fit, independent)
    # Round-off floor: the logs carry a relative error of a few eps of the user's dtype.
    span = float(t[-1] - t[0])
    floor = 10.0 * dtype_eps * (1.0 + float(np.nanmax(np.abs(logs)))) / span
    member_se, member_dof = member_curve_errors(t, logs, ok)
    member_se = np.hypot(member_se, floor)
    if dof >= 1:
        u = math.hypot(se_total, floor)
        q = t_quantile(0.5 + confidence / 2, dof)
        low, high = rate - q * u, rate + q * u
    else:
        # Nothing measures the sampling error: the interval is unbounded.
        u, low, high, dof = math.inf, -math.inf, math.inf, 0
    return Fit(
        float(rate),
        float(low),
        float(high),
        float(u),
        dof,
        member_rates,
        window,
        "ok",
        method,
        member_se=member_se,
        member_dof=member_dof,
        from_spread=from_spread,
    )
