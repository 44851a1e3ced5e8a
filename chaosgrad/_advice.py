"""Plain-words explanation and the recommendations that do not belong to one cause.

Advice follows the literature: with chaos, truncate gradient windows near ln 2 / lambda_1
(Mikhaeil, Monfared & Durstewitz 2022) and use shadowing (least-squares shadowing, Wang
2014; NILSS, Ni & Wang 2017) for long-time averages, or smoothed / likelihood-ratio
estimators (Metz et al. 2021; Suh et al. 2022) rather than clipping; with overflow use a
wider dtype or loss scaling. Each cause adds its own advice (``AbstractCause.recommend``).
"""

from __future__ import annotations

import math

from ._diagnosis_types import GradientGrowthResult, Recommendation

VERDICT_WORDS = {
    "stable": "the gradient neither explodes nor vanishes",
    "intrinsic-explosion": "the gradient explodes because the dynamics are chaotic: the exact derivative really is this large",
    "intrinsic-vanishing": "the gradient vanishes because the dynamics contract: the exact derivative really is this small",
    "numerical-explosion": "the gradient explodes because of the numerics, not the physics",
    "numerical-vanishing": "the gradient vanishes because of the numerics, not the physics",
    "diverged": "the simulation itself diverged",
    "no-gradient": "the gradient is exactly zero: the step propagates no derivative",
    "inconclusive": "the evidence does not decide why the gradient behaves as it does",
}


def _fmt(x: float | None, digits: int = 3) -> str:
    if x is None or not math.isfinite(x):
        return "n/a" if x is None or math.isnan(x) else ("+inf" if x > 0 else "-inf")
    return f"{x:.{digits}g}"


def explain(*, name, decision, physics, lam_phys, lam_num, grad: GradientGrowthResult, expected, ablations,
            overflow, dtype) -> str:
    """One paragraph: the verdict, the three rates, the ablations, the reasons."""
    lp, hp = float(lam_phys.exponents[0]), float(lam_phys.uncertainty[0])
    ln, hn = float(lam_num.exponents[0]), float(lam_num.uncertainty[0])
    parts = [f"For {name}, {VERDICT_WORDS[decision.verdict]}."]
    parts.append(
        f"The reference dynamics have lambda_1 = {_fmt(lp, 4)} ± {_fmt(hp, 2)} ({physics}); "
        f"the user's numerical map has lambda_1 = {_fmt(ln, 4)} ± {_fmt(hn, 2)} (95% intervals)."
    )
    if math.isfinite(grad.rate):
        parts.append(
            f"The measured gradient of the {grad.loss} with respect to {grad.wrt} grows at "
            f"{grad.rate:+.4g} per time unit (95% interval [{grad.rate_low:+.4g}, {grad.rate_high:+.4g}]) "
            f"against {_fmt(expected, 4)} predicted by the physics."
        )
    bad = int((~grad.finite & ~grad.zero).any(axis=0).sum())
    if bad:
        first = grad.horizons[int((~grad.finite & ~grad.zero).any(axis=0).argmax())]
        parts.append(f"Gradients were non-finite at {bad} of {grad.horizons.size} horizons, from T = {first:.3g}.")
    for a in ablations:
        if a.status != "ok":
            parts.append(f"The {a.name} ablation could not run ({a.error}).")
            continue
        verb = "confirms" if a.confirmed else "does not confirm"
        parts.append(f"Ablation '{a.name}' ({a.change}) {verb} the {a.cause} cause: {a.reason}.")
    parts.append("Because " + "; ".join(decision.reasons) + ".")
    if decision.to_decide:
        parts.append("To decide: " + "; or ".join(decision.to_decide) + ".")
    if overflow is not None:
        parts.append(f"At this rate the gradient overflows {dtype} at T ≈ {overflow:.3g}.")
    return " ".join(parts)


def recommend(*, physics, verdict, lam1_phys, grad, dtype, overflow, underflow, is_state) -> list[Recommendation]:
    """Advice that follows from the physics and the measured rate (not from one cause)."""
    recs: list[Recommendation] = []
    if physics == "chaotic" and lam1_phys > 0:
        window = math.log(2.0) / lam1_phys
        recs.append(Recommendation(
            "truncation",
            f"The dynamics are chaotic (lambda_1 = {lam1_phys:.3g}): differentiate over windows of about "
            f"ln 2 / lambda_1 = {window:.3g} time units (truncated backpropagation), not the full horizon.",
            window, "time",
        ))
        recs.append(Recommendation(
            "estimator",
            "For gradients of long-time averages use shadowing (least-squares shadowing or NILSS); for noisy "
            "objectives use randomised smoothing or likelihood-ratio estimators. Gradient clipping hides the "
            "explosion but does not remove the variance.",
            None, None,
        ))
    if overflow is not None:
        wider = "" if dtype == "float64" else "compute in float64, "
        recs.append(Recommendation(
            "dtype",
            f"In {dtype} the gradient overflows at T ≈ {overflow:.3g}: keep horizons below that, "
            f"{wider}or scale the loss by exp(-{max(grad.rate, 0):.3g} T).",
            overflow, "time",
        ))
    if underflow is not None:
        recs.append(Recommendation(
            "dtype",
            f"In {dtype} the gradient underflows at T ≈ {underflow:.3g}: the signal is lost past "
            "that horizon; use shorter horizons" + ("." if dtype == "float64" else " or float64."),
            underflow, "time",
        ))
    if physics == "contracting" and not is_state and lam1_phys < 0 and math.isfinite(lam1_phys):
        memory = 5.0 / abs(lam1_phys)
        recs.append(Recommendation(
            "horizon",
            f"The dynamics contract (lambda_1 = {lam1_phys:.3g}): the parameter gradient converges to a steady "
            f"value; horizons beyond about 5 / |lambda_1| = {memory:.3g} add cost but no information.",
            memory, "time",
        ))
    if verdict == "intrinsic-vanishing" and is_state:
        recs.append(Recommendation(
            "vanishing",
            f"Initial-state gradients shrink like exp({lam1_phys:.3g} T): information from the start is "
            "forgotten physically. Use shorter horizons, or for networks orthogonal initialisation, gating or "
            "residual connections to keep the Jacobian near an isometry.",
            None, None,
        ))
    return recs


def _observed_overflow(grad: GradientGrowthResult) -> float | None:
    """Without a measurable rate: the first horizon at which at least half of the members'
    gradients are non-finite while their forward states are finite (observed, not
    extrapolated), or ``None``."""
    import numpy as np

    with np.errstate(all="ignore"):
        bad = (~np.isfinite(grad.norms) & grad.state_finite).mean(axis=0) >= 0.5
    first = np.nonzero(bad)[0]
    return float(grad.horizons[first[0]]) if first.size else None


def reaches_overflow(grad: GradientGrowthResult, dtype: str, rate_high: float) -> bool:
    """Whether growth at ``rate_high`` (the upper end of a rate measured where the gradient
    stays finite) carries the median gradient from the last horizon where at least half of
    the members are finite to ``dtype``'s largest number by the first horizon where they
    are not, within a factor 10 (values inside the backward pass exceed the gradient's
    norm). Non-finite values that growth cannot reach are not an overflow."""
    import jax.numpy as jnp
    import numpy as np

    order = np.argsort(grad.horizons)
    norms, times = grad.norms[:, order], np.asarray(grad.horizons)[order]
    bad = np.nonzero(np.isfinite(norms).mean(axis=0) < 0.5)[0]
    if not bad.size or bad[0] == 0 or not np.isfinite(rate_high):
        return False
    i = int(bad[0])
    with np.errstate(all="ignore"):
        log_g = float(np.nanmedian(np.log(norms[:, i - 1])))
    if not math.isfinite(log_g):
        return False
    reach = log_g + max(rate_high, 0.0) * float(times[i] - times[i - 1]) + math.log(10.0)
    return reach >= math.log(float(jnp.finfo(jnp.dtype(dtype)).max))


def overflow_horizons(grad: GradientGrowthResult, dtype: str) -> tuple[float | None, float | None]:
    """Horizon at which ``||grad||`` reaches the largest (smallest normal) number of
    ``dtype``: ``T_last + (ln max - ln ||grad(T_last)||) / gamma`` from the last fitted
    horizon ``T_last``. Only for a rate whose 95% interval excludes zero: a rate that is
    zero within its interval predicts neither; without a measurable rate the overflow
    horizon is the one observed (:func:`_observed_overflow`)."""
    import jax.numpy as jnp
    import numpy as np

    if not (np.isfinite(grad.rate) and np.isfinite(grad.rate_low) and grad.fit_mask.any()):
        return _observed_overflow(grad), None
    info = jnp.finfo(jnp.dtype(dtype))
    idx = np.nonzero(grad.fit_mask)[0][-1]
    with np.errstate(all="ignore"):
        log_g = float(np.nanmedian(np.log(grad.norms[:, idx])))
    if not math.isfinite(log_g):
        return _observed_overflow(grad), None
    t0 = float(grad.horizons[idx])
    overflow = t0 + (math.log(float(info.max)) - log_g) / grad.rate if grad.rate_low > 0 else _observed_overflow(grad)
    underflow = t0 + (math.log(float(info.smallest_normal)) - log_g) / grad.rate if grad.rate_high < 0 else None
    return overflow, underflow


def underflow_with_scaling(plain: GradientGrowthResult, scaled: GradientGrowthResult, dtype: str):
    """The underflow horizon of ``dtype`` without loss scaling (as reported) and with it:
    where the scaled gradient ``S ||g||`` reaches the smallest normal number, ``S`` the
    scale the last fitted horizon used (``scaled.loss_scale_log2``), at the scaled run's
    rate: ``T_u + ln S / |rate|`` when the rates agree. ``None`` where a horizon does not
    apply (no vanishing rate)."""
    import jax.numpy as jnp
    import numpy as np

    _, before = overflow_horizons(plain, dtype)
    if scaled.loss_scale_log2 is None or not (np.isfinite(scaled.rate_high) and scaled.rate_high < 0):
        return before, None
    idx = np.nonzero(scaled.fit_mask)[0]
    if not idx.size:
        return before, None
    i = int(idx[-1])
    with np.errstate(all="ignore"):
        log_g = float(np.nanmedian(np.log(scaled.norms[:, i])))
        log_s = float(np.nanmedian(scaled.loss_scale_log2[:, i])) * math.log(2.0)
    if not (math.isfinite(log_g) and math.isfinite(log_s)):
        return before, None
    tiny = math.log(float(jnp.finfo(jnp.dtype(dtype)).smallest_normal))
    return before, float(scaled.horizons[i]) + (tiny - log_g - log_s) / scaled.rate
