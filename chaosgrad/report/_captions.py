"""Captions of the standard figures: what to see, with the measured numbers."""

from __future__ import annotations

import numpy as np

from ._text import dtype_limits, fmt, fmt_interval, is_finite


def gradient_growth(d) -> str:
    g = d.gradient
    norms = np.asarray(g.norms, dtype=float)
    ok = np.asarray(g.finite, dtype=bool) & np.isfinite(norms)
    M, H = ok.shape if ok.ndim == 2 else (0, 0)
    n_fit = int(np.asarray(g.fit_mask, dtype=bool).sum())
    s = (
        f"ln‖∂L_T/∂{g.wrt}‖ for {M} ensemble members (grey) at {H} horizons; the green line and "
        f"band are the member median and its 10–90 % spread. If the gradient grows like "
        + (f"exp(γT) the median is a straight line of slope γ: the fit over {n_fit} horizons gives "
           f"γ = {fmt(d.gradient_rate, 3, signed=True)} {fmt_interval(d.gradient_interval)}. "
           if is_finite(d.gradient_rate) else
           "exp(γT) the median is a straight line of slope γ; here too few horizons were finite "
           "to fit γ. ")
        + f"Dashed and dotted lines have the slopes expected from λ_physical "
        f"({fmt(d.expected_rate, 3, signed=True)}) and λ_numerical "
        f"({fmt(d.expected_numerical_rate, 3, signed=True)}): the fit along the dashed line "
        f"means the physics explains the growth; a steeper or flatter fit means the numerics "
        f"add to it."
    )
    n_bad = int((~ok).sum())
    if n_bad:
        bad_h = np.nonzero((~ok).any(axis=0))[0]
        s += (
            f" Red crosses mark the {bad_h.size} horizon(s) where some members' gradients were "
            f"non-finite ({n_bad} of {M * H} evaluations, counts above each cross), first at "
            f"T = {fmt(float(np.asarray(g.horizons)[bad_h[0]]), 3)}."
        )
    if is_finite(d.overflow_horizon):
        lim = dtype_limits(d.dtype)
        s += (
            f" At the measured rate the gradient reaches the largest {d.dtype}"
            f"{f' ({fmt(lim[0], 3)})' if lim else ''} at T ≈ {fmt(d.overflow_horizon, 3)}."
        )
    if is_finite(d.underflow_horizon):
        s += f" It falls below the smallest normal {d.dtype} at T ≈ {fmt(d.underflow_horizon, 3)}."
    return s


def convergence(d) -> str:
    p, n = d.lambda_physical, d.lambda_numerical
    s = (
        f"Running estimates of the leading exponents against integration time for the reference "
        f"dynamics ({p.dtype}, {p.n_intervals} intervals of τ = {fmt(p.interval, 3)}) and for your "
        f"own numerical step ({n.dtype}). A flat curve has converged; the band is the 95% "
        f"interval ({p.error_method}), shrinking as 1/√n from its final value. The two should "
        f"agree when the discretisation is sound."
    )
    if isinstance(d.literature, dict) and d.literature.get("exponents"):
        s += f" Black dashes: literature ({d.literature.get('source', 'source not given')})."
    for name, r in (("reference", p), ("numerical", n)):
        if r.first_nonfinite_interval is not None:
            s += (
                f" The {name} run's {r.nonfinite_quantity or 'value'} became non-finite in interval "
                f"{int(r.first_nonfinite_interval) + 1} (red line); estimates use the intervals before it."
            )
    return s


def ftle(d) -> str:
    f = np.asarray(d.lambda_physical.finite_time_exponents, dtype=float)
    lead = f[:, :, 0] if f.ndim == 3 and f.shape[2] else np.zeros((0, 0))
    v = lead[np.isfinite(lead)]
    if v.size == 0:
        return "No finite-time exponents were recorded."
    frac = float(np.mean(v > 0))
    return (
        f"Histogram of the leading exponent measured over single intervals of τ = "
        f"{fmt(d.lambda_physical.interval, 3)}: {100 * frac:.0f} % of the reference intervals stretch "
        f"(λ₁(τ) > 0), the spread (standard deviation {fmt(float(np.std(v)), 3)}) is how much the "
        f"local stretching varies along the attractor, and vertical lines mark the means. "
        f"A wide distribution makes finite-horizon gradients heavy-tailed: single long "
        f"windows can be much larger or smaller than exp(λ₁T)."
    )


def cotangent(d) -> str:
    g = d.gradient
    if np.asarray(g.cotangent_times).size < 2:
        return "The cotangent norms along the trajectory were not recorded for this run."
    return (
        f"Left: the norm of the backward cotangent ∂L/∂y(t) along the longest horizon's "
        f"trajectory, median and 10–90 % band over members. Reading right to left follows the "
        f"backward pass: a straight line of slope −λ₁ (dashed) means the gradient gains the same "
        f"factor in every stretch of time, as chaos predicts; jumps locate the intervals where "
        f"it grows. Right: that growth rate per block of time (at most 25 blocks), "
        f"ln(‖∂L/∂y(t_i)‖/‖∂L/∂y(t_i+1)‖)/(t_i+1 − t_i), against λ₁ = "
        f"{fmt(float(np.asarray(d.lambda_physical.exponents, dtype=float)[0]), 3, signed=True)}."
    )


def ablations(d) -> str:
    abl = tuple(d.ablations or ())
    if not abl:
        return "No ablations were run, so no cause is confirmed by a rerun."
    conf = [a.name for a in abl if a.confirmed]
    failed = [a.name for a in abl if a.status != "ok"]
    s = (
        "Each row reruns the measurement with one thing changed: the grey square is the "
        "gradient rate before, the circle after, with their confidence intervals. A change that "
        "moves the rate to the physics (dashed line) confirms its cause. "
    )
    s += f"Confirmed: {', '.join(conf)}. " if conf else "No change closed the gap. "
    if failed:
        s += f"Failed to run: {', '.join(failed)} (the error is printed in the row and in the table below)."
    return s.strip()


def spectrum(d) -> str:
    s = (
        "The Lyapunov spectrum of the reference dynamics (blue, with 95% intervals) and of "
        "your numerical map (orange). Equal bars mean the solver reproduces the physics; a "
        "shifted λ₁ is a discretisation artefact."
    )
    if isinstance(d.literature, dict) and d.literature.get("exponents"):
        s += f" Black ticks: published values ({d.literature.get('source', 'source not given')})."
    else:
        s += " No published values are known for this system."
    ky = d.lambda_physical.kaplan_yorke
    if is_finite(ky):
        s += f" Kaplan–Yorke dimension {fmt(ky, 4)}."
    return s


CAPTIONS = {
    "gradient-growth": gradient_growth,
    "convergence": convergence,
    "ftle": ftle,
    "cotangent": cotangent,
    "ablations": ablations,
    "spectrum": spectrum,
}
