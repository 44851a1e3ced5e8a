"""Plain-words explanation and the recommendations that do not belong to one cause.

Advice follows the literature: with chaos, truncate gradient windows near ln 2 / lambda_1
(Mikhaeil, Monfared & Durstewitz 2022) and use shadowing (least-squares shadowing, Wang
2014; NILSS, Ni & Wang 2017) for long-time averages, or smoothed / likelihood-ratio
estimators (Metz et al. 2021; Suh et al. 2022) rather than clipping; with overflow use a
wider dtype or loss scaling. Each cause adds its own advice (``AbstractCause.recommend``).
"""

from __future__ import annotations

import math

from chaosgrad._diagnosis import words as words
from chaosgrad._diagnosis.types import GradientGrowthResult, Recommendation

VERDICT_WORDS = {
    "stable": "the gradient neither explodes nor vanishes",
    "intrinsic-explosion": "the gradient explodes because the dynamics are chaotic: the exact derivative really is this large",
    "intrinsic-vanishing": "the gradient vanishes because the dynamics contract: the exact derivative really is this small",
    "numerical-explosion": "the gradient explodes because of the numerics, not the physics",
    "numerical-vanishing": "the gradient vanishes because of the numerics, not the physics",
    "diverged": "the simulation itself diverged",
    "no-gradient": "the gradient is exactly zero: the step propagates no derivative",
    "non-smooth": (
        "the gradient AD computes is the exact derivative of a piecewise-smooth program, not the gradient "
        "of the smoothed loss an optimiser needs"
    ),
    "inconclusive": "the evidence does not decide why the gradient behaves as it does",
}


def _lambda_words(value, half_width) -> str:
    """``lambda_1 = -0.5984 ± 0.01``, or what is missing."""
    if not words.finite(value):
        return f"lambda_1 {words.number(value)}"
    s = f"lambda_1 = {words.number(value, 4, signed=True)}"
    return s + (f" ± {words.number(half_width, 2)}" if words.finite(half_width) else " (its interval not measured)")


def _observed_nonfinite_words(horizon: float, dtype: str) -> str:
    return (
        f"In {dtype} at least half of the members' gradients are non-finite from T ≈ {words.number(horizon)} "
        "on while their forward states stay finite (observed; no growth rate predicts it)"
    )


def explain(
    *, name, decision, physics, lam_phys, lam_num, grad: GradientGrowthResult, expected, ablations, overflow, dtype
) -> str:
    """One paragraph: the verdict, the three rates, the ablations, the reasons."""
    lp, hp = float(lam_phys.exponents[0]), float(lam_phys.uncertainty[0])
    ln, hn = float(lam_num.exponents[0]), float(lam_num.uncertainty[0])
    verdict_words = VERDICT_WORDS[decision.verdict]
    if decision.verdict.startswith("intrinsic") and not (
        words.finite(expected)
        and words.finite(grad.rate_low)
        and words.finite(grad.rate_high)
        and grad.rate_low <= expected <= grad.rate_high
    ):
        # "really is this large" only where the gradient's interval contains the physics' rate
        verdict_words = verdict_words.split(":")[0]
    parts = [f"For {name}, {verdict_words}."]
    parts.append(
        f"The reference dynamics have {_lambda_words(lp, hp)} ({physics}); "
        f"the user's numerical map has {_lambda_words(ln, hn)} (95% intervals)."
    )
    against = (
        f" against {words.number(expected, 4, signed=True)} predicted by the physics"
        if words.finite(expected)
        else "; the physics' prediction was not measured"
    )
    if words.finite(grad.rate) and words.finite(grad.rate_low) and words.finite(grad.rate_high):
        parts.append(
            f"The measured gradient of the {grad.loss} with respect to {grad.wrt} grows at "
            f"{words.rate(grad.rate, grad.rate_low, grad.rate_high)} per time unit (rate [95% interval])"
            f"{against}."
        )
    else:
        parts.append(
            f"No growth rate of the gradient of the {grad.loss} with respect to {grad.wrt} could be fitted "
            f"(fit status {grad.status})."
        )
    bad = int((~grad.finite & ~grad.zero).any(axis=0).sum())
    if bad:
        first = grad.horizons[int((~grad.finite & ~grad.zero).any(axis=0).argmax())]
        parts.append(
            f"Gradients were non-finite at {bad} of {grad.horizons.size} horizons, from T = {words.number(first)}."
        )
    for a in ablations:
        if a.status != "ok":
            parts.append(f"The {a.name} ablation could not run ({a.error}).")
            continue
        verb = "confirms" if a.confirmed else "does not confirm"
        parts.append(f"Ablation '{a.name}' ({a.change}) {verb} the {a.cause} cause: {a.reason}.")
    parts.append("Because " + "; ".join(decision.reasons) + ".")
    if decision.to_decide:
        parts.append("To decide: " + "; or ".join(decision.to_decide) + ".")
    if words.finite(overflow):
        parts.append(
            f"At this rate the gradient overflows {dtype} at T ≈ {words.number(overflow)}."
            if overflow_extrapolated(grad)
            else _observed_nonfinite_words(overflow, dtype) + "."
        )
    return " ".join(parts)


def _chaos_advice(lam1_phys) -> list[Recommendation]:
    """Chaotic dynamics: truncated windows near ln 2 / lambda_1, and estimators that do not
    differentiate through the chaos."""
    window = math.log(2.0) / lam1_phys
    return [
        Recommendation(
            "truncation",
            f"The dynamics are chaotic (lambda_1 = {words.number(lam1_phys)}): differentiate over windows of about "
            f"ln 2 / lambda_1 = {words.number(window)} time units (truncated backpropagation), not the full horizon.",
            window,
            "time",
        ),
        Recommendation(
            "estimator",
            "For gradients of long-time averages use shadowing (least-squares shadowing or NILSS); for noisy "
            "objectives use randomised smoothing or likelihood-ratio estimators. Gradient clipping hides the "
            "explosion but does not remove the variance.",
            None,
            None,
        ),
    ]


def _dtype_advice(grad, dtype, overflow, underflow) -> list[Recommendation]:
    """Where the gradient leaves the dtype's range: the overflow horizon (extrapolated from
    the rate, or observed) and the underflow horizon."""
    recs = []
    if words.finite(overflow) and overflow_extrapolated(grad):
        wider = "" if dtype == "float64" else "compute in float64, "
        recs.append(
            Recommendation(
                "dtype",
                f"In {dtype} the gradient overflows at T ≈ {words.number(overflow)}: keep horizons below that, "
                f"{wider}or scale the loss by exp(-{words.number(grad.rate)} T).",
                overflow,
                "time",
            )
        )
    elif words.finite(overflow):
        wider = "." if dtype == "float64" else ", or compute in float64."
        recs.append(
            Recommendation(
                "dtype",
                _observed_nonfinite_words(overflow, dtype) + ": keep horizons below that" + wider,
                overflow,
                "time",
            )
        )
    if words.finite(underflow):
        recs.append(
            Recommendation(
                "dtype",
                f"In {dtype} the gradient underflows at T ≈ {words.number(underflow)}: the signal is lost past "
                "that horizon; use shorter horizons" + ("." if dtype == "float64" else " or float64."),
                underflow,
                "time",
            )
        )
    return recs


def _memory_advice(lam1_phys) -> Recommendation:
    """Contracting dynamics: a parameter gradient converges, so long horizons add nothing."""
    memory = 5.0 / abs(lam1_phys)
    return Recommendation(
        "horizon",
        f"The dynamics contract (lambda_1 = {words.number(lam1_phys)}): the parameter gradient converges to a steady "
        f"value; horizons beyond about 5 / |lambda_1| = {words.number(memory)} add cost but no information.",
        memory,
        "time",
    )


def _vanishing_advice(lam1_phys) -> Recommendation:
    """An initial-state gradient that vanishes physically: what is forgotten stays forgotten."""
    shrink = (
        f"shrink like exp({words.number(lam1_phys)} T)"
        if words.finite(lam1_phys)
        else "shrink as the dynamics contract"
    )
    return Recommendation(
        "vanishing",
        f"Initial-state gradients {shrink}: information from the start is "
        "forgotten physically. Use shorter horizons, or for networks orthogonal initialisation, gating or "
        "residual connections to keep the Jacobian near an isometry.",
        None,
        None,
    )


def recommend(*, physics, verdict, lam1_phys, grad, dtype, overflow, underflow, is_state) -> list[Recommendation]:
    """Advice that follows from the physics and the measured rate (not from one cause)."""
    recs: list[Recommendation] = []
    if physics == "chaotic" and words.finite(lam1_phys) and lam1_phys > 0:
        recs += _chaos_advice(lam1_phys)
    recs += _dtype_advice(grad, dtype, overflow, underflow)
    if physics == "contracting" and not is_state and lam1_phys < 0 and math.isfinite(lam1_phys):
        recs.append(_memory_advice(lam1_phys))
    if verdict == "intrinsic-vanishing" and is_state:
        recs.append(_vanishing_advice(lam1_phys))
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


def _extrapolation_start(grad: GradientGrowthResult) -> tuple[float, float] | None:
    """``(T_last, ln ||grad(T_last)||)`` at the last fitted horizon, from which a finite
    rate extrapolates; ``None`` without a finite rate and lower end or a finite median there."""
    import numpy as np

    if not (np.isfinite(grad.rate) and np.isfinite(grad.rate_low) and np.asarray(grad.fit_mask).any()):
        return None
    idx = np.nonzero(grad.fit_mask)[0][-1]
    with np.errstate(all="ignore"):
        log_g = float(np.nanmedian(np.log(np.asarray(grad.norms)[:, idx])))
    if not math.isfinite(log_g):
        return None
    return float(grad.horizons[idx]), log_g


def overflow_extrapolated(grad: GradientGrowthResult) -> bool:
    """Whether :func:`overflow_horizons` extrapolates the overflow horizon from a rate
    (finite, its interval above zero) rather than reporting the horizon observed."""
    return _extrapolation_start(grad) is not None and grad.rate_low > 0


def overflow_horizons(grad: GradientGrowthResult, dtype: str) -> tuple[float | None, float | None]:
    """Horizon at which ``||grad||`` reaches the largest (smallest normal) number of
    ``dtype``: ``T_last + (ln max - ln ||grad(T_last)||) / gamma`` from the last fitted
    horizon ``T_last``. Only for a rate whose 95% interval excludes zero: a rate that is
    zero within its interval predicts neither; without a measurable rate the overflow
    horizon is the one observed (:func:`_observed_overflow`)."""
    import jax.numpy as jnp

    start = _extrapolation_start(grad)
    if start is None:
        return _observed_overflow(grad), None
    info = jnp.finfo(jnp.dtype(dtype))
    t0, log_g = start
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
