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
from chaosgrad._diagnosis.stages import STEPS
from chaosgrad._diagnosis.types import Diagnosis, Recommendation
from chaosgrad._diagnosis.verdict import decide, physics_class
from chaosgrad._spectra.finite_time import paired_gap

LOG2 = math.log(2.0)


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


def _config(d, sp, lam_phys, grad, chosen) -> dict:
    """Everything needed to reproduce the run."""
    return {
        "horizons": [float(h) for h in grad.reported_horizons],
        "fit_horizons": [float(h) for h in grad.horizons[grad.fit_mask]],
        "members": int(d.source.count),
        "wrt": grad.wrt,
        "loss": grad.loss,
        "seed": int(d.seed),
        "transient": float(d.transient),
        "lyapunov": {
            "k": d.lyap.k,
            "interval": float(d.lyap.interval),
            "time": float(lam_phys.time),
            "convergence": lam_phys.convergence,
        },
        "causes": [c.name for c in d.causes],
        "simulator": d.simulator.describe(),
        "reference": sp.ref_run.simulator.describe(),
        "versions": _versions(),
        "device": _device(),
        "dtype": d.simulator.dtype,
        "command": " ".join(sys.argv) if sys.argv and sys.argv[0] else "python",
        "member_source": d.source.describe(),
        "expected_basis": chosen.expected_basis,
        **(d.config or {}),
    }


def _paired_gap(grad, along, source, is_state):
    """Along the same members the gradient and the physics share their finite-time
    exponents; their difference is the sharper test, where the prediction is a rate
    (the initial state's gradient, or a parameter's on growth) rather than an interval."""
    if along is not None and (is_state or along.low > 0):
        return paired_gap(grad, along, independent=source.independent)
    return None


def _decide(sp, physics, chosen, grad, ablations, gap, dtype):
    """The class of the physics and the verdict (``_diagnosis.verdict``) on the measurements."""
    phys = physics_class(
        physics.lam1,
        physics.half_width,
        physics.t_max,
        reference_ok=physics.lam_phys.status == "ok",
        reference_diverged=sp.reference_diverged,
    )
    inputs = verdict_inputs(
        grad, ablations, chosen.expected, physics.t_max, phys, sp.reference_diverged, chosen.expected_dof, dtype
    )
    propagates = all(
        isinstance(x, float) and math.isfinite(x) and x != 0.0
        for x in (sp.step_derivatives.get("state"), sp.step_derivatives.get("wrt"))
    )
    return phys, decide(dataclasses.replace(inputs, paired=gap or (), step_propagates=propagates))


def _with_shadowing(d, sp, physics, phys, verdict, recommendations, notes):
    """The shadowing derivative where it applies, headed into the advice:
    ``(shadowing, note, recommendations)``."""
    shadow, note = None, None
    if d.shadowing is None:
        return shadow, note, recommendations
    applies, note = shadowing_applies(verdict, phys, d.loss.long_time_average, physics.is_state)
    if applies:
        d.report("shadowing", STEPS, STEPS + 1)
        simulator = d.simulator
        shadow, note = run_shadowing(
            d.shadowing, simulator, simulator.prepare(sp.y_ref), d.args, d.loss, d.wrt, physics.lam1
        )
        if shadow is not None and note is None:
            recommendations = [shadowing_recommendation(shadow), *recommendations]
    if note:
        notes.append(note)
    return shadow, note, recommendations


def _advice_and_words(d, sp, physics, chosen, grad, evidence, tested, notes, phys, decision, horizons, name):
    """The advice (general, each confirmed cause's, the shadowing derivative's first where
    it applies) and the explanation in words: ``(recommendations, shadowing, its note,
    explanation)``."""
    dtype, (overflow, underflow) = d.simulator.dtype, horizons
    recommendations = _recommendations(
        tested,
        evidence,
        notes,
        physics=phys,
        verdict=decision.verdict,
        lam1_phys=physics.lam1,
        grad=grad,
        dtype=dtype,
        overflow=overflow,
        underflow=underflow,
        is_state=physics.is_state,
    )
    shadow, shadow_note, recommendations = _with_shadowing(
        d, sp, physics, phys, decision.verdict, recommendations, notes
    )
    explanation = explain(
        name=name,
        decision=decision,
        physics=phys,
        lam_phys=physics.lam_phys,
        lam_num=sp.lam_num,
        grad=grad,
        expected=chosen.expected[0],
        ablations=tuple(ab for _, (ab, _) in tested),
        overflow=overflow,
        dtype=dtype,
    )
    if shadow is not None and shadow_note is None:
        explanation += " The usable derivative: " + shadowing_words(shadow) + "."
    return recommendations, shadow, shadow_note, explanation


def _status(ablations, lam_phys, sp, grad) -> str:
    """``"partial"`` when an ablation failed, the spectra did not converge or the gradient
    was measured only in part."""
    failed = any(ab.status == "failed" for ab in ablations)
    partial = failed or lam_phys.status != "ok" or not sp.ref_run.converged or grad.status == "partial"
    return "partial" if partial else "ok"


def diagnosis_result(d, sp, physics, chosen, grad, evidence, tested, notes: list, *, name) -> Diagnosis:
    """The verdict on the measurements, its advice and words, as a :class:`Diagnosis`."""
    dtype, lam_phys = d.simulator.dtype, physics.lam_phys
    gap = _paired_gap(grad, chosen.along, d.source, physics.is_state)
    ablations = tuple(ab for _, (ab, _) in tested)
    notes.extend(f"ablation {ab.name} could not run: {ab.error}" for ab in ablations if ab.status == "failed")
    phys, decision = _decide(sp, physics, chosen, grad, ablations, gap, dtype)
    overflow, underflow = overflow_horizons(grad, dtype)
    diag_name = name or "user simulator"
    recommendations, shadow, shadow_note, explanation = _advice_and_words(
        d, sp, physics, chosen, grad, evidence, tested, notes, phys, decision, (overflow, underflow), diag_name
    )
    expected, e_lo, e_hi = chosen.expected
    status = _status(ablations, lam_phys, sp, grad)
    cfg = _config(d, sp, lam_phys, grad, chosen)
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
        dtype=dtype,
        literature=d.literature,
        config=cfg,
        step_derivatives=sp.step_derivatives,
        notes=tuple(notes),
        status=status,
        shadowing=shadow,
        shadowing_note=shadow_note,
        member_source=d.source.describe(),
        expected_basis=chosen.expected_basis,
        paired_gap=gap[:3] if gap else None,
    )
