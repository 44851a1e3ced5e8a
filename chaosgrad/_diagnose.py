"""The diagnosis: the three rates, the ablations that confirm each cause, a verdict.

1. ``lambda_physical``: spectrum of the converged reference dynamics (``_reference``).
2. ``lambda_numerical``: spectrum of the user's own step and dtype.
3. ``gamma``: growth rate of the user's gradient (``_gradients``).

The expected rate is lambda_1 for gradients with respect to the initial state and
max(lambda_1, 0) for parameters (a contracting system has a finite steady-state
sensitivity). A *suspected* cause is a measured gap: lambda_numerical vs
lambda_physical (discretisation), a non-default adjoint, a low-precision dtype,
non-finite gradients. Each suspicion is tested by an ablation that changes only that
one thing and reruns the gradient measurement; the cause is *confirmed* when the rate
moves by more than both confidence intervals and by a material amount (the change alters
the gradient at the longest horizon by more than a factor of 2), towards the physics.
All thresholds come from the measured intervals, none from tuned constants.
"""

from __future__ import annotations

import math
import sys
from typing import Callable, Sequence

import diffrax
import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from ._advice import explain, recommend
from ._diagnosis_types import Ablation, Diagnosis, GradientGrowthResult
from ._errors import bad_argument
from ._gradients import gradient_growth, horizon_blocks, make_members, reverse_through_steps
from ._losses import as_loss, check_scalar_loss
from ._lyapunov import LyapunovResult, check_finite_input, check_step_shapes, lyapunov_spectrum
from ._pytree import FlatState, all_finite, floats_as_arrays
from ._reference import agree, default_reference, check_reference, exponent_uncertainty, largest_safe_step, reference_spectrum
from ._simulators import AbstractSimulator, ODESimulator, _replace, check_simulator
from ._wrt import resolve_wrt

LOG2 = math.log(2.0)


def _half_width(g: GradientGrowthResult) -> float:
    return 0.5 * (g.rate_high - g.rate_low)


def rates_differ(before: GradientGrowthResult, after: GradientGrowthResult) -> bool:
    """Significant (intervals disjoint) and material (> factor 2 at the longest horizon)."""
    if before.status == "nonfinite" or after.status == "nonfinite":
        return before.status != after.status
    gap = abs(before.rate - after.rate)
    t_max = float(after.horizons[-1])
    return gap > _half_width(before) + _half_width(after) and gap * t_max > LOG2


def _nonfinite_fraction(g: GradientGrowthResult) -> float:
    return float(1.0 - g.finite.mean())


def _sign_class(lo: float, hi: float) -> int:
    return 1 if lo > 0 else (-1 if hi < 0 else 0)


def classify_physics(res: LyapunovResult) -> str:
    if res.status != "ok" and not np.isfinite(res.exponents[0]):
        return "neutral"
    lam, u = float(res.exponents[0]), exponent_uncertainty(res, 0)
    return {1: "chaotic", -1: "contracting", 0: "neutral"}[_sign_class(lam - 2 * u, lam + 2 * u)]


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


def _default_horizons(rate: float, dt: float) -> np.ndarray:
    """Horizons over which ``|rate| T`` reaches 25 (a gradient change of e^25 ~ 1e11),
    long enough to fit a rate, short enough not to overflow float64; log-spaced."""
    scale = max(abs(rate), 1e-3)
    t_max = float(np.clip(25.0 / scale, 50 * dt, 20000 * dt))
    return np.geomspace(t_max / 16, t_max, 9)


def _lyap_defaults(simulator: AbstractSimulator, n: int, lyapunov_time, k) -> dict:
    dt = simulator.dt
    steps_per_interval = 1 if dt >= 1 else 10
    time = lyapunov_time if lyapunov_time is not None else 20000 * dt
    return dict(
        k=min(n, 8) if k is None else k,
        transient=time / 10,
        interval=steps_per_interval * dt,
        time=time,
    )


def _ablation(name, cause, change, before: GradientGrowthResult, run: Callable, expected: float, evidence_fn=None) -> Ablation:
    """Rerun with one thing changed; confirm when the rate moves materially towards ``expected``."""
    try:
        after = run()
    except Exception as exc:  # an ablation that cannot run is reported, not raised
        return Ablation(
            name=name, cause=cause, change=change, rate_before=before.rate, rate_after=math.nan,
            interval_before=(before.rate_low, before.rate_high), interval_after=(math.nan, math.nan),
            confirmed=False, status="failed", error=f"{type(exc).__name__}: {exc}", evidence={},
        )
    moved = rates_differ(before, after)
    if after.status == "nonfinite":
        towards = False
    elif before.status == "nonfinite":
        towards = True
    else:
        towards = abs(after.rate - expected) < abs(before.rate - expected)
    fixes_nonfinite = _nonfinite_fraction(before) > 0 and _nonfinite_fraction(after) == 0
    evidence = {
        "nonfinite_fraction_before": _nonfinite_fraction(before),
        "nonfinite_fraction_after": _nonfinite_fraction(after),
        "median_norm_longest_before": float(np.nanmedian(before.norms[:, -1])) if np.isfinite(before.norms[:, -1]).any() else math.nan,
        "median_norm_longest_after": float(np.nanmedian(after.norms[:, -1])) if np.isfinite(after.norms[:, -1]).any() else math.nan,
    }
    if evidence_fn is not None:
        evidence.update(evidence_fn(after))
    return Ablation(
        name=name, cause=cause, change=change, rate_before=before.rate, rate_after=after.rate,
        interval_before=(before.rate_low, before.rate_high), interval_after=(after.rate_low, after.rate_high),
        confirmed=bool((moved and towards) or fixes_nonfinite), status="ok", error=None, evidence=evidence,
    )


@eqx.filter_jit
def _evolve(simulator, y0, args, n_steps: int):
    return simulator.evolve(0.0, y0, args, n_steps)


def diagnose(
    simulator: AbstractSimulator,
    y0,
    args=None,
    *,
    loss=None,
    horizons=None,
    wrt="y0",
    reference: AbstractSimulator | None = None,
    name: str | None = None,
    members: int = 8,
    transient: float | None = None,
    lyapunov_time: float | None = None,
    k: int | None = None,
    literature: dict | None = None,
    extra_ablations: Sequence = (),
    seed: int = 0,
    config: dict | None = None,
    progress=None,
) -> Diagnosis:
    """Diagnose why ``dL_T/d(wrt)`` through ``simulator`` explodes or vanishes.

    Arguments:
        simulator, y0, args: the user's simulator as they run it.
        loss, horizons, wrt, members: as for :func:`gradient_growth` (default horizons:
            log-spaced up to where the expected rate changes the gradient by e^25).
        reference: simulator for lambda_physical (default: see ``_reference``).
        transient: time run from ``y0`` before measuring (default: a tenth of the
            Lyapunov time), so that the state is on the attractor.
        lyapunov_time, k: measured time and number of exponents of the spectra
            (defaults: 20000 steps, up to 8 exponents).
        literature: ``{"exponents": [...], "source": "..."}`` shown beside the results.
        extra_ablations: ``(name, cause, change, make_simulator_and_args)`` tuples for
            causes chaosgrad cannot rerun by itself (e.g. ``"saturation"``: a
            network with rescaled weights); the callable returns ``(simulator, args)``.
        progress: optional ``progress(label, done, total)`` callback.

    Returns:
        A :class:`Diagnosis`. Parts that could not be measured are reported in
        ``notes`` and ``status == "partial"``, never raised.
    """
    simulator = check_simulator(simulator)
    y0 = simulator.prepare(y0)
    check_finite_input("y0", y0)
    check_finite_input("args", args)
    args = floats_as_arrays(args)
    sel = resolve_wrt(wrt, args)
    loss = as_loss(loss)
    if reference is not None:
        reference = check_reference(reference, y0, args)
    if not isinstance(members, (int, np.integer)) or members < 2:
        raise bad_argument("members", f"{members!r} is not an int >= 2", "pass e.g. 8 (the rate's interval needs an ensemble)")
    # Check every argument before computing anything.
    check_step_shapes(simulator, y0, args)
    check_scalar_loss(loss, y0)
    if horizons is not None:
        horizon_blocks(horizons, simulator.dt)
    report = progress or (lambda *a: None)
    notes: list[str] = []
    n = FlatState.from_template(y0)[0].dim
    lyap = _lyap_defaults(simulator, n, lyapunov_time, k)
    if transient is None:
        transient = lyap["transient"]
    steps = 5
    done = 0

    # Start every measurement from the same state on the attractor, reached with the
    # reference dynamics (the user's step may be the unstable thing under test).
    ref_for_transient = reference or default_reference(simulator)
    n_tr = max(0, int(round(transient / simulator.dt)))
    y_start = y0
    if n_tr:
        y_start = _evolve(ref_for_transient, ref_for_transient.prepare(y0), args, int(round(transient / ref_for_transient.dt)))
        if not bool(all_finite(y_start)):
            notes.append("the transient diverged with the reference dynamics; measurements start from y0 itself")
            y_start = y0
        y_start = simulator.prepare(y_start)
    lyap_run = dict(lyap, transient=0.0)

    report("lambda_numerical", done, steps)
    lam_num = lyapunov_spectrum(simulator, y_start, args, seed=seed, **lyap_run)
    done += 1
    report("lambda_physical", done, steps)
    ref_run = reference_spectrum(simulator, reference, simulator.with_dtype("float64").prepare(y_start), args, lyap_kwargs=dict(lyap_run, seed=seed))
    lam_phys = ref_run.result
    notes.append(f"reference dynamics: {ref_run.note}")
    if not ref_run.converged:
        notes.append("the reference spectrum did not converge; lambda_physical is uncertain")
    done += 1

    lam1_p, u_p = float(lam_phys.exponents[0]), exponent_uncertainty(lam_phys, 0)
    lam1_n, u_n = float(lam_num.exponents[0]), exponent_uncertainty(lam_num, 0)
    is_state = sel.kind == "y0"
    expected = lam1_p if is_state else max(lam1_p, 0.0)
    expected_num = lam1_n if is_state else max(lam1_n, 0.0)
    if horizons is None:
        scale = np.nanmax(np.abs([lam1_p, lam1_n if np.isfinite(lam1_n) else 0.0]))
        horizons = _default_horizons(scale, simulator.dt)

    # Members sampled along the reference trajectory, a quarter of the longest horizon
    # apart; every gradient measurement (and ablation) starts from the same members.
    blocks, b = horizon_blocks(horizons, simulator.dt)
    spacing = float(blocks[-1] * b * simulator.dt) / 4
    y0s_ref = make_members(ref_for_transient, ref_for_transient.prepare(y_start), args, members, spacing)
    y0s = simulator.prepare(y0s_ref)
    grad_kwargs = dict(loss=loss, horizons=horizons, wrt=wrt, seed=seed, ensemble=True)

    report("gradient growth", done, steps)
    grad = gradient_growth(simulator, y0s, args, **grad_kwargs)
    done += 1
    forward_ok = bool(grad.state_finite.all())

    # ---- suspected causes and their ablations
    report("ablations", done, steps)
    ablations: list[Ablation] = []
    gap_num = lam_num.status == "nonfinite" or not agree(lam1_n, u_n, lam1_p, u_p)
    material = not np.isfinite(lam1_n) or abs(lam1_n - lam1_p) * float(grad.horizons[-1]) > LOG2
    if gap_num and material:
        ref_step = ref_run.simulator.with_dtype(simulator.dtype)
        if isinstance(simulator, ODESimulator) and isinstance(ref_step, ODESimulator):
            ref_step = _replace(ref_step, adjoint=simulator.adjoint)
        ab = _ablation(
            "reference-step", "discretization",
            f"the reference step ({ref_run.note.split(',')[0]}) instead of the user's step, same dtype and adjoint",
            grad, lambda: gradient_growth(ref_step, ref_step.prepare(y0s_ref), args, **grad_kwargs), expected,
        )
        ablations.append(ab)
    if isinstance(simulator, ODESimulator) and not reverse_through_steps(simulator):
        dto = _replace(simulator, adjoint=diffrax.RecursiveCheckpointAdjoint())

        def evidence(after):
            return {"median_gradient_longest": float(np.nanmedian(after.norms[:, -1]))}

        ab = _ablation(
            "checkpoint-adjoint", "adjoint",
            f"diffrax.RecursiveCheckpointAdjoint (discretise-then-optimise) instead of {type(simulator.adjoint).__name__}",
            grad, lambda: gradient_growth(dto, y0s, args, **grad_kwargs), expected_num, evidence,
        )
        ablations.append(ab)
    if jnp.dtype(simulator.dtype).itemsize < 8:
        ab = _ablation(
            "float64", "precision", f"float64 instead of {simulator.dtype}",
            grad, lambda: gradient_growth(simulator.with_dtype("float64"), y0s_ref, args, **grad_kwargs), expected_num,
        )
        ablations.append(ab)
    for ab_name, cause, change, make in extra_ablations:
        ab = _ablation(ab_name, cause, change, grad, lambda make=make: _run_extra(make, y0s, grad_kwargs), expected)
        ablations.append(ab)
    done += 1

    causes = [a.cause for a in ablations if a.confirmed and a.status == "ok"]
    unexplained_nonfinite = _nonfinite_fraction(grad) > 0 and not any(
        a.confirmed and a.evidence.get("nonfinite_fraction_after", 1.0) == 0 for a in ablations
    )
    if unexplained_nonfinite or not forward_ok:
        causes.append("nonfinite")
    failed = [a for a in ablations if a.status == "failed"]
    for a in failed:
        notes.append(f"ablation {a.name} could not run: {a.error}")
    causes = tuple(dict.fromkeys(causes))

    # ---- verdict
    physics = classify_physics(lam_phys)
    if not forward_ok:
        verdict = "diverged"
    elif grad.status == "nonfinite":
        verdict = "numerical-explosion" if causes else "diverged"
    else:
        # Direction of the measured gradient: significant (interval excludes 0) and
        # material (a factor above 2 over the horizons studied); a finite fit with an
        # overflowing tail explodes. It is "numerical" only when it differs from what the
        # physics predicts and an ablation confirmed a numerical cause.
        direction = _sign_class(grad.rate_low, grad.rate_high)
        if abs(grad.rate) * float(grad.horizons[-1]) <= LOG2:
            direction = 0
        if direction == 0 and _nonfinite_fraction(grad) > 0:
            direction = 1
        physical_direction = _sign_class(expected - 2 * u_p, expected + 2 * u_p) if expected != 0 else 0
        if direction == 0:
            verdict = "stable"
        elif direction != physical_direction and causes:
            verdict = "numerical-explosion" if direction > 0 else "numerical-vanishing"
        else:
            verdict = "intrinsic-explosion" if direction > 0 else "intrinsic-vanishing"
            if direction != physical_direction:
                notes.append(
                    f"the gradient {'grows' if direction > 0 else 'shrinks'} although the reference exponent "
                    f"predicts {expected:+.3g}, and no numerical cause was confirmed: polynomial growth of a "
                    "neutral system (phase drift), transient non-normal growth or unbounded motion are physical "
                    "explanations to check"
                )

    overflow, underflow = _overflow_horizons(grad, simulator.dtype)
    truncation = LOG2 / lam1_p if physics == "chaotic" else None
    status = "partial" if failed or lam_phys.status != "ok" or not ref_run.converged else "ok"
    cfg = {
        "horizons": [float(h) for h in grad.horizons],
        "members": int(members),
        "wrt": grad.wrt,
        "loss": grad.loss,
        "seed": int(seed),
        "transient": float(transient),
        "lyapunov": {k2: (float(v) if isinstance(v, float) else v) for k2, v in lyap.items()},
        "simulator": simulator.describe(),
        "reference": ref_run.simulator.describe(),
        "versions": _versions(),
        "device": _device(),
        "dtype": simulator.dtype,
        "command": " ".join(sys.argv) if sys.argv and sys.argv[0] else "python",
        **(config or {}),
    }
    diag_name = name or "user simulator"
    safe_step = None
    if "discretization" in causes:
        report("largest safe step", done, steps)
        safe_step = largest_safe_step(
            simulator, y_start, args, lam1_p, u_p, float(grad.horizons[-1]),
            lyap_kwargs=dict(lyap_run, seed=seed, time=lyap_run["time"] / 4),
        )
    recommendations = recommend(
        physics=physics, verdict=verdict, causes=causes, lam1_phys=lam1_p, lam1_num=lam1_n, grad=grad,
        simulator=simulator, ref_simulator=ref_run.simulator, overflow=overflow, underflow=underflow,
        is_state=is_state, safe_step=safe_step,
    )
    explanation = explain(
        name=diag_name, physics=physics, verdict=verdict, causes=causes, lam1_phys=lam1_p, u_phys=u_p,
        lam1_num=lam1_n, grad=grad, expected=expected, ablations=ablations, overflow=overflow,
        dtype=simulator.dtype, forward_ok=forward_ok,
    )
    report("done", steps, steps)
    return Diagnosis(
        name=diag_name,
        lambda_physical=lam_phys,
        lambda_numerical=lam_num,
        gradient=grad,
        gradient_rate=float(grad.rate),
        gradient_interval=(float(grad.rate_low), float(grad.rate_high)),
        expected_rate=float(expected),
        expected_numerical_rate=float(expected_num),
        physics=physics,
        causes=causes,
        verdict=verdict,
        explanation=explanation,
        ablations=tuple(ablations),
        recommendations=tuple(recommendations),
        overflow_horizon=overflow,
        underflow_horizon=underflow,
        truncation_horizon=truncation,
        dtype=simulator.dtype,
        literature=literature,
        config=cfg,
        notes=tuple(notes),
        status=status,
    )


def _run_extra(make, y0s, grad_kwargs):
    sim, args = make()
    return gradient_growth(sim, sim.prepare(y0s), args, **grad_kwargs)


def _overflow_horizons(grad: GradientGrowthResult, dtype: str) -> tuple[float | None, float | None]:
    """Horizon at which ``||grad||`` reaches the largest (smallest normal) number of
    ``dtype``: ``T_last + (ln max - ln ||grad(T_last)||) / gamma`` from the last fitted
    horizon ``T_last``."""
    if grad.status == "nonfinite" or not np.isfinite(grad.rate):
        return None, None
    info = jnp.finfo(jnp.dtype(dtype))
    idx = np.nonzero(grad.fit_mask)[0][-1]
    with np.errstate(all="ignore"):
        log_g = float(np.nanmedian(np.log(grad.norms[:, idx])))
    t0 = float(grad.horizons[idx])
    # The point estimate decides the direction: a non-finite tail leaves few horizons to
    # fit, and the overflow horizon is most needed exactly then.
    overflow = t0 + (math.log(float(info.max)) - log_g) / grad.rate if grad.rate > 0 else None
    underflow = t0 + (math.log(float(info.smallest_normal)) - log_g) / grad.rate if grad.rate < 0 else None
    return overflow, underflow
