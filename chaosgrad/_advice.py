"""Plain-words explanation and recommendations, with the measured numbers.

Advice follows the literature: with chaos, truncate gradient windows near ln 2 / lambda_1
(Mikhaeil, Monfared & Durstewitz 2022) and use shadowing (least-squares shadowing, Wang
2014; NILSS, Ni & Wang 2017) for long-time averages, or smoothed / likelihood-ratio
estimators (Metz et al. 2021; Suh et al. 2022) rather than clipping; with a reverse-time
adjoint on a dissipative system use discretise-then-optimise; with overflow use a wider
dtype or loss scaling.
"""

from __future__ import annotations

import math

from ._diagnosis_types import GradientGrowthResult, Recommendation
from ._simulators import ODESimulator

VERDICT_WORDS = {
    "stable": "the gradient neither explodes nor vanishes",
    "intrinsic-explosion": "the gradient explodes because the dynamics are chaotic: the exact derivative really is this large",
    "intrinsic-vanishing": "the gradient vanishes because the dynamics contract: the exact derivative really is this small",
    "numerical-explosion": "the gradient explodes because of the numerics, not the physics",
    "numerical-vanishing": "the gradient vanishes because of the numerics, not the physics",
    "diverged": "the simulation itself diverged",
}

CAUSE_WORDS = {
    "discretization": "the solver's step makes the numerical map a different dynamical system from the physics",
    "adjoint": "the adjoint method is unstable for this system",
    "precision": "the floating-point dtype overflows, underflows or loses the signal",
    "saturation": "saturated units scale the gradient down at every step",
    "nonfinite": "non-finite values appear in the simulation or its gradient",
}


def _fmt(x: float | None, digits: int = 3) -> str:
    if x is None or not math.isfinite(x):
        return "n/a"
    return f"{x:.{digits}g}"


def explain(*, name, physics, verdict, causes, lam1_phys, u_phys, lam1_num, grad: GradientGrowthResult, expected,
            ablations, overflow, dtype, forward_ok) -> str:
    parts = [f"For {name}, {VERDICT_WORDS[verdict]}."]
    parts.append(
        f"The reference dynamics have lambda_1 = {lam1_phys:+.4g} ± {u_phys:.2g} ({physics}); "
        f"the user's numerical map has lambda_1 = {_fmt(lam1_num, 4)}."
    )
    if grad.status == "nonfinite":
        parts.append("The gradient was non-finite at too many horizons to fit a growth rate.")
    else:
        parts.append(
            f"The measured gradient of the {grad.loss} with respect to {grad.wrt} grows at "
            f"{grad.rate:+.4g} per time unit ({int(grad.confidence * 100)}% interval "
            f"[{grad.rate_low:+.4g}, {grad.rate_high:+.4g}]) against an expected {expected:+.4g} from the physics."
        )
    if not forward_ok:
        parts.append("The forward simulation itself became non-finite within the horizons studied.")
    bad = int((~grad.finite).any(axis=0).sum())
    if bad:
        first = grad.horizons[int((~grad.finite).any(axis=0).argmax())]
        parts.append(f"Gradients were non-finite at {bad} of {grad.horizons.size} horizons, from T = {first:.3g}.")
    for a in ablations:
        if a.status != "ok":
            parts.append(f"The {a.name} ablation could not run ({a.error}).")
            continue
        verb = "confirms" if a.confirmed else "does not confirm"
        parts.append(
            f"Ablation '{a.name}' ({a.change}) moves the rate from {_fmt(a.rate_before, 4)} to {_fmt(a.rate_after, 4)} "
            f"and {verb} the {a.cause} cause."
        )
    if causes:
        parts.append("Confirmed causes: " + "; ".join(f"{c} ({CAUSE_WORDS[c]})" for c in causes) + ".")
    elif verdict != "diverged":
        parts.append("No poor-conditioning cause was found: the numerics are sound.")
    if overflow is not None:
        parts.append(f"At this rate the gradient overflows {dtype} at T ≈ {overflow:.3g}.")
    return " ".join(parts)


def recommend(*, physics, verdict, causes, lam1_phys, lam1_num, grad, simulator, ref_simulator, overflow, underflow,
              is_state, safe_step=None) -> list[Recommendation]:
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
    if "discretization" in causes:
        if safe_step is not None:
            recs.append(Recommendation(
                "step size",
                f"Reduce the step from {simulator.dt:g} to at most {safe_step:.3g}: at that step the numerical "
                "map's lambda_1 matches the physics.", safe_step, "time",
            ))
        else:
            recs.append(Recommendation(
                "step size",
                f"The step {simulator.dt:g} changes the dynamics; use the reference discretisation "
                f"({ref_simulator.describe().get('solver', type(ref_simulator).__name__)} at dt = {ref_simulator.dt:g}) "
                "or an implicit / exponential integrator for stiff systems.", ref_simulator.dt, "time",
            ))
    if "adjoint" in causes and isinstance(simulator, ODESimulator):
        recs.append(Recommendation(
            "adjoint",
            f"Replace {type(simulator.adjoint).__name__} with diffrax.RecursiveCheckpointAdjoint "
            "(discretise-then-optimise): it differentiates the forward computation itself instead of "
            "re-integrating the ODE backwards in time, which is unstable when the forward flow contracts.",
            None, None,
        ))
    if "precision" in causes or overflow is not None or underflow is not None:
        if overflow is not None:
            wider = "" if simulator.dtype == "float64" else "compute in float64, "
            recs.append(Recommendation(
                "dtype",
                f"In {simulator.dtype} the gradient overflows at T ≈ {overflow:.3g}: keep horizons below that, "
                f"{wider}or scale the loss by exp(-{max(grad.rate, 0):.3g} T).",
                overflow, "time",
            ))
        if underflow is not None:
            recs.append(Recommendation(
                "dtype",
                f"In {simulator.dtype} the gradient underflows at T ≈ {underflow:.3g}: the signal is lost past "
                "that horizon; use shorter horizons" + ("." if simulator.dtype == "float64" else " or float64."),
                underflow, "time",
            ))
        if "precision" in causes and overflow is None and underflow is None:
            recs.append(Recommendation(
                "dtype", f"Compute in float64 instead of {simulator.dtype}: the ablation shows it fixes the gradient.",
                None, None,
            ))
    if physics == "contracting" and not is_state and lam1_phys < 0:
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
    if "saturation" in causes:
        recs.append(Recommendation(
            "saturation",
            "Saturated units scale gradients down: rescale weights or inputs (e.g. critical initialisation), "
            "or use non-saturating activations.", None, None,
        ))
    if not recs:
        recs.append(Recommendation("none", "The gradient is well conditioned at these horizons; no change needed.", None, None))
    return recs
