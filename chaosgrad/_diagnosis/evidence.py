"""The numbers a diagnosis's verdict depends on, gathered from its measurements.

``verdict_inputs`` assembles :class:`~chaosgrad._diagnosis.verdict.VerdictInputs` (a pure function
of the results); ``member_evidence`` adds each member's own rate, change and range;
``finite_time_expectation`` measures the physics along the user's own members over the
user's horizons (``_spectra.finite_time``).
"""

from __future__ import annotations

import math

import numpy as np

from chaosgrad._diagnosis.advice import reaches_overflow
from chaosgrad._diagnosis.compare import nonfinite_fraction
from chaosgrad._diagnosis.types import GradientGrowthResult
from chaosgrad._diagnosis.verdict import VerdictInputs, expected_rate
from chaosgrad._spectra.finite_time import finite_time_physics


def verdict_inputs(
    grad, ablations, prediction, t_max, physics, reference_diverged, expected_dof, dtype
) -> VerdictInputs:
    """The numbers the verdict depends on, from the measurements (pure)."""
    expected, e_lo, e_hi = prediction
    fixed = [
        ab
        for ab in ablations
        if ab.confirmed
        and ab.evidence.get("nonfinite_fraction_before", 0) > 0
        and ab.evidence.get("nonfinite_fraction_after") == 0
    ]
    return VerdictInputs(
        rate=grad.rate,
        rate_low=grad.rate_low,
        rate_high=grad.rate_high,
        expected=expected,
        expected_low=e_lo,
        expected_high=e_hi,
        t_max=t_max,
        gradient_status=grad.status,
        forward_diverged=not bool(grad.state_finite.all()),
        reference_diverged=reference_diverged,
        confirmed=tuple(ab.cause for ab in ablations if ab.confirmed),
        failed=tuple(ab.name for ab in ablations if ab.status == "failed"),
        physics=physics,
        rate_dof=grad.rate_dof,
        expected_dof=expected_dof,
        nonfinite_fraction=nonfinite_fraction(grad),
        nonfinite_fixed_by=tuple(ab.cause for ab in fixed),
        nonfinite_fixed_rates=tuple((ab.rate_after, *ab.interval_after) for ab in fixed),
        nonfinite_overflow=tuple(reaches_overflow(grad, dtype, ab.interval_after[1]) for ab in fixed),
        **member_evidence(grad),
    )


def member_evidence(grad: GradientGrowthResult) -> dict:
    """The per-member rates, their own uncertainties and the growth law, as the verdict
    takes them (empty tuples for a result from before they were measured)."""

    def as_tuple(x, kind):
        return () if x is None else tuple(kind(a) for a in np.asarray(x).ravel())

    window = np.nonzero(np.asarray(grad.fit_mask))[0]
    changes: tuple[float, ...] = ()
    bands: tuple[float, ...] = ()
    if window.size >= 2:
        with np.errstate(all="ignore"):
            logs = np.log(grad.norms[:, window])
        ok = np.asarray(grad.finite)[:, window]
        changes = tuple(float(c[-1] - c[0]) if o[0] and o[-1] else math.nan for c, o in zip(logs, ok))
        bands = tuple(float(np.ptp(c)) if o.all() else math.nan for c, o in zip(logs, ok))
    return dict(
        member_rates=as_tuple(grad.member_rates, float),
        member_rate_se=as_tuple(grad.member_rate_se, float),
        member_rate_dof=as_tuple(grad.member_rate_dof, int),
        rate_from_spread=bool(grad.rate_from_spread),
        law=grad.law,
        member_changes=changes,
        member_bands=bands,
    )


def finite_time_expectation(reference, y0s, args, plan, dt, lyap, seed, is_state, notes, independent):
    """The prediction from the reference's finite-time exponent along the members over
    the gradient's own horizons (``_spectra.finite_time``): ``((expected, low, high), dof,
    basis, physics)``, or ``None`` (with a note) when it cannot be measured, and the asymptotic
    prediction stands."""
    try:
        ft = finite_time_physics(
            reference,
            y0s,
            args,
            plan.times(dt),
            plan.fit,
            interval=lyap.interval,
            seed=seed,
            independent=independent,
        )
    except Exception as exc:  # noqa: BLE001 - the asymptotic prediction stands, with a note
        notes.append(
            f"the finite-time physics along the members could not be measured ({type(exc).__name__}: {exc}); "
            "the gradient is compared with the asymptotic lambda_1"
        )
        return None
    if ft.status != "ok" or not all(math.isfinite(x) for x in (ft.rate, ft.low, ft.high)):
        notes.append(
            "the finite-time physics along the members is not finite over the horizons; the gradient is "
            "compared with the asymptotic lambda_1"
        )
        return None
    return expected_rate(ft.rate, 0.5 * (ft.high - ft.low), wrt_state=is_state), ft.dof, ft.basis, ft
