"""The end of a diagnosis: the verdict, the advice, the words and the result.

The verdict is a pure function of the numbers (``_diagnosis.verdict.decide``); here its inputs
are gathered (``_diagnosis.evidence``), the general and each confirmed cause's advice
worded, the shadowing derivative added where it applies (``_diagnosis.shadowing``), and
everything needed to reproduce the run recorded in the configuration.
"""

from __future__ import annotations

import dataclasses
import math
import sys

import diffrax
import jax
import numpy as np

from chaosgrad._diagnosis.advice import explain, overflow_horizons, recommend
from chaosgrad._diagnosis.evidence import verdict_inputs
from chaosgrad._diagnosis.shadowing import run_shadowing, shadowing_applies, shadowing_recommendation, shadowing_words
from chaosgrad._diagnosis.types import Diagnosis, Recommendation
from chaosgrad._diagnosis.verdict import decide, physics_class
from chaosgrad._spectra.finite_time import paired_gap

LOG2 = math.log(2.0)
STEPS = 5  # the progress steps: transient, lambda_physical, lambda_numerical, gradient growth, ablations


def _versions() -> dict:
    import chaosgrad

    return {
        "chaosgrad": chaosgrad.__version__,
        "jax": jax.__version__,
        "diffrax": getattr(diffrax, "__version__", "unknown"),
        "numpy": np.__version__,
        "python": sys.version.split()[0],
    }


def _device() -> str:
    d = jax.devices()[0]
    return f"{d.platform}:{getattr(d, 'device_kind', '')} x{jax.device_count()}"


def _recommendations(tested, evidence, notes, **general) -> list:
    """The general advice, then each confirmed cause's own; a cause that cannot word its
    advice is noted, not raised."""
    own = []
    for cause, (ab, after) in tested:
        if ab.confirmed:
            try:
                own += cause.recommend(evidence, after)
            except Exception as exc:
                notes.append(f"cause {cause.name} could not word its advice: {type(exc).__name__}: {exc}")
    recs = recommend(**general) + own
    if not recs and general["verdict"] == "stable":
        recs.append(
            Recommendation("none", "The gradient is well conditioned at these horizons; no change needed.", None, None)
        )
    return recs


def _config(grad, simulator, ref_run, lam_phys, lyap, causes, *, members, seed, transient, extra) -> dict:
    """Everything needed to reproduce the run."""
    return {
        "horizons": [float(h) for h in grad.reported_horizons],
        "fit_horizons": [float(h) for h in grad.horizons[grad.fit_mask]],
        "members": int(members),
        "wrt": grad.wrt,
        "loss": grad.loss,
        "seed": int(seed),
        "transient": float(transient),
        "lyapunov": {
            "k": lyap.k,
            "interval": float(lyap.interval),
            "time": float(lam_phys.time),
            "convergence": lam_phys.convergence,
        },
        "causes": [c.name for c in causes],
        "simulator": simulator.describe(),
        "reference": ref_run.simulator.describe(),
        "versions": _versions(),
        "device": _device(),
        "dtype": simulator.dtype,
        "command": " ".join(sys.argv) if sys.argv and sys.argv[0] else "python",
        **(extra or {}),
    }


def diagnosis_result(d, sp, physics, chosen, grad, evidence, tested, notes: list, *, name) -> Diagnosis:
    """The verdict on the measurements, its advice and words, as a :class:`Diagnosis`."""
    simulator, lam_phys, t_max = d.simulator, physics.lam_phys, physics.t_max
    source, is_state = d.source, physics.is_state
    # Along the same members the gradient and the physics share their finite-time
    # exponents; their difference is the sharper test, where the prediction is a rate
    # (the initial state's gradient, or a parameter's on growth) rather than an interval.
    along = chosen.along
    gap = (
        paired_gap(grad, along, independent=source.independent)
        if along is not None and (is_state or along.low > 0)
        else None
    )
    ablations = tuple(ab for _, (ab, _) in tested)
    for ab in ablations:
        if ab.status == "failed":
            notes.append(f"ablation {ab.name} could not run: {ab.error}")
    expected, e_lo, e_hi = chosen.expected
    phys = physics_class(
        physics.lam1,
        physics.half_width,
        t_max,
        reference_ok=lam_phys.status == "ok",
        reference_diverged=sp.reference_diverged,
    )
    inputs = verdict_inputs(
        grad,
        ablations,
        (expected, e_lo, e_hi),
        t_max,
        phys,
        sp.reference_diverged,
        chosen.expected_dof,
        simulator.dtype,
    )
    propagates = all(
        isinstance(x, float) and math.isfinite(x) and x != 0.0
        for x in (sp.step_derivatives.get("state"), sp.step_derivatives.get("wrt"))
    )
    decision = decide(dataclasses.replace(inputs, paired=gap or (), step_propagates=propagates))

    overflow, underflow = overflow_horizons(grad, simulator.dtype)
    recommendations = _recommendations(
        tested,
        evidence,
        notes,
        physics=phys,
        verdict=decision.verdict,
        lam1_phys=physics.lam1,
        grad=grad,
        dtype=simulator.dtype,
        overflow=overflow,
        underflow=underflow,
        is_state=is_state,
    )
    shadow, shadow_note = None, None
    if d.shadowing is not None:
        applies, shadow_note = shadowing_applies(decision.verdict, phys, d.loss.long_time_average, is_state)
        if applies:
            d.report("shadowing", 5, STEPS + 1)
            shadow, shadow_note = run_shadowing(
                d.shadowing, simulator, simulator.prepare(sp.y_ref), d.args, d.loss, d.wrt, physics.lam1
            )
            if shadow is not None and shadow_note is None:
                recommendations = [shadowing_recommendation(shadow), *recommendations]
        if shadow_note:
            notes.append(shadow_note)
    diag_name = name or "user simulator"
    explanation = explain(
        name=diag_name,
        decision=decision,
        physics=phys,
        lam_phys=lam_phys,
        lam_num=sp.lam_num,
        grad=grad,
        expected=expected,
        ablations=ablations,
        overflow=overflow,
        dtype=simulator.dtype,
    )
    if shadow is not None and shadow_note is None:
        explanation += " The usable derivative: " + shadowing_words(shadow) + "."
    failed = any(ab.status == "failed" for ab in ablations)
    status = (
        "partial" if failed or lam_phys.status != "ok" or not sp.ref_run.converged or grad.status == "partial" else "ok"
    )
    cfg = _config(
        grad,
        simulator,
        sp.ref_run,
        lam_phys,
        d.lyap,
        d.causes,
        members=source.count,
        seed=d.seed,
        transient=d.transient,
        extra={"member_source": source.describe(), "expected_basis": chosen.expected_basis, **(d.config or {})},
    )
    d.report("done", STEPS, STEPS)
    return Diagnosis(
        name=diag_name,
        lambda_physical=lam_phys,
        lambda_numerical=sp.lam_num,
        gradient=grad,
        gradient_rate=float(grad.rate),
        gradient_interval=(float(grad.rate_low), float(grad.rate_high)),
        expected_rate=float(expected),
        expected_interval=(float(e_lo), float(e_hi)),
        expected_numerical_rate=float(physics.expected_numerical),
        physics=phys,
        causes=decision.causes,
        # Two ablations may test one cause (precision: float64, loss scaling): its first words stand.
        cause_words={cname: words for cname, words in reversed([(c.name, c.words) for c, _ in tested])},
        verdict=decision.verdict,
        reasons=decision.reasons,
        to_decide=decision.to_decide,
        explanation=explanation,
        ablations=ablations,
        recommendations=tuple(recommendations),
        overflow_horizon=overflow,
        underflow_horizon=underflow,
        truncation_horizon=LOG2 / physics.lam1 if phys == "chaotic" else None,
        dtype=simulator.dtype,
        literature=d.literature,
        config=cfg,
        step_derivatives=sp.step_derivatives,
        notes=tuple(notes),
        status=status,
        shadowing=shadow,
        shadowing_note=shadow_note,
        member_source=source.describe(),
        expected_basis=chosen.expected_basis,
        paired_gap=gap[:3] if gap else None,
    )
