"""The physics over the user's own horizons: finite-time exponents along the members.

When the members are the user's own start (``_gradients.members``), the gradient's growth over the
horizons ``[T_lo, T_max]`` is set by the finite-time Lyapunov exponent of *those*
trajectories over *those* times, not by the asymptotic lambda_1 of a typical state: a
start off the attractor, a transient, an episode or a horizon short against the Lyapunov
time all make the two differ (Abarbanel, Brown & Kennel 1991 on the distribution of
finite-time exponents).

Method. The reference dynamics (the converged reference of ``_spectra.reference``) carries one
tangent vector along each member by Benettin/QR (``k = 1``); the cumulative sum of its
``ln |R_11|`` is ``ln |Phi(t) v|``, the growth the gradient sees (``|Phi(T)^T c|`` grows by
the same exponents). That growth curve, interpolated at the gradient's own horizons, is
fitted by the gradient's own estimator (``_gradients.fit.fit_growth_rate``: each member's
least-squares slope over the same window, the Student-t on the members' spread, or one
curve's error when the members coincide), so that the two rates differ only where the
gradient does not follow the physics.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import jax
import numpy as np

from chaosgrad._gradients.fit import fit_growth_rate
from chaosgrad._spectra.lyapunov import lyapunov_spectrum


@dataclass(frozen=True)
class FiniteTimePhysics:
    rate: float
    low: float
    high: float
    dof: int
    member_rates: np.ndarray
    status: str
    basis: str
    logs: np.ndarray  # (M, H) ln |Phi(T) v| at the gradient's horizons
    known: np.ndarray  # (M, H) where it is known


def _growth_curves(ftle: np.ndarray, valid: np.ndarray, tau: float, times: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``ln |Phi(t) v|`` of each member at ``times`` (linear between interval ends) and
    where it is known (the member's intervals up to that time were finite)."""
    M, n = ftle.shape
    ends = np.arange(n + 1) * tau
    cum = np.concatenate([np.zeros((M, 1)), np.cumsum(np.where(np.isfinite(ftle), ftle, 0.0) * tau, axis=1)], axis=1)
    logs = np.stack([np.interp(times, ends, cum[m]) for m in range(M)])
    known = times[None, :] <= (np.asarray(valid)[:, None] * tau + 1e-12 * tau)
    return logs, known


def finite_time_physics(
    reference,
    starts,
    args,
    times,
    fit_mask,
    *,
    interval: float,
    seed: int,
    confidence: float = 0.95,
    independent: bool = True,
) -> FiniteTimePhysics:
    """The leading finite-time exponent of ``reference`` along ``starts`` (members on
    axis 0) over the gradient's horizons ``times`` and fit window ``fit_mask``."""
    t_max = float(times[-1])
    steps = max(1, int(round(interval / reference.dt)))
    tau = steps * reference.dt
    n_int = max(1, int(math.ceil(t_max / tau - 1e-9)))
    res = lyapunov_spectrum(
        reference,
        reference.prepare(starts),
        args,
        k=1,
        transient=0.0,
        interval=tau,
        n_intervals=n_int,
        ensemble_axes=(0, None),
        seed=seed,
    )
    logs, known = _growth_curves(np.asarray(res.finite_time_exponents)[:, :, 0], res.valid_intervals, tau, times)
    fit = fit_growth_rate(
        times,
        logs,
        known & np.isfinite(logs),
        fit_mask=fit_mask,
        confidence=confidence,
        logs_given=True,
        independent=independent,
    )
    window = times[fit.mask] if fit.mask.any() else times
    count = int(np.shape(jax.tree_util.tree_leaves(starts)[0])[0])
    basis = (
        f"the reference's finite-time exponent along the {count} members over T = {window[0]:.4g} to {window[-1]:.4g}"
    )
    return FiniteTimePhysics(
        fit.rate,
        fit.low,
        fit.high,
        int(fit.dof),
        fit.member_rates,
        "ok" if fit.status == "ok" and res.status == "ok" else "partial",
        basis,
        logs,
        known,
    )


def paired_gap(grad, ft: FiniteTimePhysics, *, independent: bool, confidence: float = 0.95):
    """The user's gradient rate minus the physics' along the same members: the slope of
    ``D_m(T) = ln ||g_m(T)|| - ln |Phi_m(T) v|`` over the gradient's fit window, with
    ``_gradients.fit``'s interval, or ``None`` when too few points.

    Along one trajectory the gradient and the tangent vector share its finite-time
    exponents: their fluctuations cancel in ``D``, and what is left is the projection of
    the gradient on the loss (bounded, no trend) plus any numerical error, which is what
    the verdict asks about. Returns ``(rate, low, high, dof, span)`` with ``span`` the
    fitted window's length. (For a parameter's gradient on contracting physics the
    gradient settles while ``Phi v`` decays: there the prediction is an interval,
    ``_diagnosis.verdict.expected_rate``, and this difference does not apply.)
    """
    norms = grad.norms * grad.horizons[None, :] if grad.rate_of_time_integral else grad.norms
    with np.errstate(all="ignore"):
        d = np.log(norms) - ft.logs
    ok = grad.finite & ft.known & np.isfinite(d)
    fit = fit_growth_rate(
        grad.horizons,
        np.where(ok, d, 0.0),
        ok,
        fit_mask=grad.fit_mask,
        confidence=confidence,
        logs_given=True,
        independent=independent,
    )
    if fit.status != "ok" or not all(math.isfinite(x) for x in (fit.rate, fit.low, fit.high)):
        return None
    window = grad.horizons[fit.mask]
    return float(fit.rate), float(fit.low), float(fit.high), int(fit.dof), float(window[-1] - window[0])
