"""The diagnosis: the three rates, the ablations that test each cause, a verdict.

1. ``lambda_physical``: spectrum of the converged reference dynamics (``_reference``).
2. ``lambda_numerical``: spectrum of the user's own step and dtype.
3. ``gamma``: growth rate of the user's gradient (``_gradients``).

Each cause in ``causes=`` (``_causes``) looks at these measurements and says whether it
is suspect; a suspect cause builds its ablation (the user's set-up with one thing
changed), whose gradient is measured on the same members and horizons and compared with
the user's by value and by rate (``_compare``). The verdict is a pure function of the
numbers (``_verdict``). Everything is checked before anything is computed; after that,
nothing raises: a blow-up anywhere (transient, members, an ablation) is recorded.

Its parts: ``_diagnose_spectra`` (the probe, the transient, the two spectra),
``_members`` (whose members), ``_diagnose_causes`` (testing each cause),
``_diagnose_evidence`` (the numbers the verdict takes), ``_diagnose_shadowing``.
"""

from __future__ import annotations

import dataclasses
import math
import sys
from typing import Sequence

import diffrax
import jax
import numpy as np

from ._advice import explain, overflow_horizons, recommend
from ._capabilities import refinable
from ._causes import DEFAULT_CAUSES, AbstractCause, CauseEvidence
from ._checks import (
    check_callable,
    check_mapping,
    check_step_shapes,
    check_strategy,
)
from ._compilation_cache import waits_for_background_on_error
from ._diagnose_causes import ablation_name, anticipate_ablations, try_cause
from ._diagnose_evidence import finite_time_expectation, verdict_inputs
from ._diagnose_shadowing import (
    run_shadowing,
    shadowing_applies,
    shadowing_recommendation,
    shadowing_words,
)
from ._diagnose_spectra import MemberPlan, measure_spectra, members_along_reference
from ._diagnosis_types import Diagnosis, Recommendation
from ._episodes import check_diagnosis_in_episode, episode_horizons, steps_left
from ._errors import bad_argument
from ._finite_time import paired_gap
from ._gradients import checked_inputs, measure_growth
from ._horizons import plan_horizons
from ._losses import as_loss, check_scalar_loss
from ._members import as_members
from ._lyapunov import (
    UntilConverged,
    default_interval_steps,
    fixed_time_intervals,
    warn_spectrum_cost,
)
from ._precision import float64_scope
from ._pytree import floats_as_arrays
from ._probe import check_closed_tangent
from ._reference import check_reference
from ._simulators import AbstractSimulator
from ._sweep import early_sweep_program
from ._verdict import decide, expected_rate, physics_class
from ._wrt import resolve_wrt

LOG2 = math.log(2.0)
# Default horizons: the longest is where the expected rate changes the gradient by e^25
# (~1e11): long enough to fit a rate, short enough not to overflow float64; within
# [50, 20000] steps.
E_FOLDINGS = 25.0
MIN_DEFAULT_STEPS, MAX_DEFAULT_STEPS = 50, 20000


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


def default_horizons(rate: float, dt: float) -> np.ndarray:
    """Nine log-spaced horizons up to where ``|rate| T`` reaches ``E_FOLDINGS``."""
    scale = max(abs(rate), 1e-3) if math.isfinite(rate) else 1.0
    t_max = float(np.clip(E_FOLDINGS / scale, MIN_DEFAULT_STEPS * dt, MAX_DEFAULT_STEPS * dt))
    return np.geomspace(t_max / 16, t_max, 9)


def check_causes(causes) -> tuple[AbstractCause, ...]:
    try:
        causes = tuple(causes)
    except TypeError:
        raise bad_argument("causes", f"{causes!r} is not a sequence of causes", "pass e.g. chaosgrad.DEFAULT_CAUSES") from None
    for c in causes:
        if isinstance(c, type) and issubclass(c, AbstractCause):
            raise bad_argument("causes", f"{c.__name__} is a class, not an instance", f"pass {c.__name__}()")
        if not isinstance(c, AbstractCause):
            raise bad_argument("causes", f"{c!r} is not a chaosgrad cause", "subclass chaosgrad.AbstractCause")
    # One cause may be tested by several ablations; each ablation needs its own name.
    names = [ablation_name(c) for c in causes]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise bad_argument("causes", f"ablation names {dup} appear more than once", "give every ablation a distinct ablation_name")
    return causes


def _lyapunov_options(simulator, n, lyapunov_time, k, t_max_hint, seed) -> dict:
    dt = simulator.dt
    if lyapunov_time is None:
        # An error of a tenth of ln 2 over the longest horizon changes the predicted
        # gradient there by under 7%; without horizons, the longest default one.
        atol = 0.1 * LOG2 / t_max_hint
        time = UntilConverged(atol=atol)
    else:
        time = lyapunov_time
    return dict(k=min(n, 8) if k is None else k, transient=0.0, interval=default_interval_steps(dt) * dt, time=time, seed=seed)


def _numbers(values) -> bool:
    if isinstance(values, (str, bytes)):
        return False
    return all(isinstance(v, (int, float, np.floating, np.integer)) and not isinstance(v, bool)
               for v in np.ravel(np.asarray(values, dtype=object)))


def check_literature(literature) -> None:
    """``literature``: ``None`` or a dict whose ``"exponents"`` (if given and not ``None``)
    are numbers and whose ``"source"`` (if given) is a string; other keys are notes."""
    if literature is None:
        return
    fix = 'pass {"exponents": [0.9056, 0.0, -14.5723], "source": "Sprott 2003"} or None'
    if not isinstance(literature, dict):
        raise bad_argument("literature", f"{literature!r} is not a dict", fix)
    values = literature.get("exponents")
    if values is not None and not _numbers(values):
        raise bad_argument("literature", f"exponents {values!r} are not a list of numbers", fix)
    if "source" in literature and not isinstance(literature["source"], str):
        raise bad_argument("literature", f"source {literature['source']!r} is not a string", fix)


def _checked(simulator, y0, args, *, loss, horizons, wrt, reference, members, transient, lyapunov_time, k, causes, seed, literature=None):
    """Every argument of :func:`diagnose`, checked before anything is computed."""
    simulator, y0, args, seed = checked_inputs(simulator, y0, args, seed)
    sel = resolve_wrt(wrt, args)
    loss = as_loss(loss)
    if reference is not None:
        reference = check_reference(reference, y0, args)
    members = as_members(members)
    if transient is not None and (not isinstance(transient, (int, float)) or not 0 <= transient < math.inf):
        raise bad_argument("transient", f"{transient!r} is not a non-negative time", "pass e.g. 10.0 or None")
    if lyapunov_time is not None and not isinstance(lyapunov_time, UntilConverged) and (
        not isinstance(lyapunov_time, (int, float)) or not 0 < lyapunov_time < math.inf
    ):
        raise bad_argument("lyapunov_time", f"{lyapunov_time!r} is not a positive time", "pass e.g. 100.0, or UntilConverged()")
    if isinstance(lyapunov_time, (int, float)):
        fixed_time_intervals("lyapunov_time", lyapunov_time, simulator.dt, default_interval_steps(simulator.dt))
    check_literature(literature)
    causes = check_causes(causes)
    check_step_shapes(simulator, y0, args)
    check_closed_tangent(simulator, y0, args)
    check_scalar_loss(loss, y0)
    plan = plan_horizons(horizons, simulator.dt) if horizons is not None else None
    check_diagnosis_in_episode(simulator, y0, plan=plan, transient=transient, lyapunov_time=lyapunov_time,
                               source=members, seed=seed)
    n = simulator.tangent_space(y0)[0].dim
    if k is not None and (not isinstance(k, (int, np.integer)) or not 1 <= k <= n):
        raise bad_argument("k", f"{k!r} is not between 1 and the state dimension {n}", f"pass 1 <= k <= {n}")
    return simulator, y0, args, sel, loss, reference, causes, plan, n, members


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
        recs.append(Recommendation("none", "The gradient is well conditioned at these horizons; no change needed.", None, None))
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
            "k": lyap["k"], "interval": float(lyap["interval"]), "time": float(lam_phys.time),
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


@waits_for_background_on_error
@float64_scope
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
    lyapunov_time: float | UntilConverged | None = None,
    k: int | None = None,
    literature: dict | None = None,
    causes: Sequence[AbstractCause] = DEFAULT_CAUSES,
    seed: int = 0,
    config: dict | None = None,
    shadowing="auto",
    progress=None,
) -> Diagnosis:
    """Diagnose why ``dL_T/d(wrt)`` through ``simulator`` explodes or vanishes.

    Arguments:
        simulator, y0, args: the user's simulator as they run it.
        loss: as for :func:`gradient_growth`.
        wrt: ``"y0"`` (the default), ``"args"`` or a path into ``args``, as for
            :func:`gradient_growth`: a key (``"rho"``), a dotted path of dict keys,
            sequence indices and attribute names (``"p.HH_gNa"``, ``"layers.0.weight"``)
            or a tuple of them (``("p", "HH_gNa")``).
        horizons: the horizons to report (default: nine log-spaced up to where the
            expected rate changes the gradient by e^25). The rate is fitted on an
            internal grid between the shortest and the longest, so its interval does not
            depend on how many are listed.
        members: the ensemble (``_members``): an int ``n`` is :class:`NearStart` ``(n)``,
            the user's ``y0`` and ``n - 1`` perturbations of it by 0.1%, compared with
            the reference's finite-time exponent along those members over these
            horizons; :class:`OnAttractor` ``(n)`` samples the attractor after the
            transient (an ergodic question) and compares with the asymptotic spectrum;
            :class:`GivenStates` ``(batch)`` takes the caller's own start states.
        reference: simulator for lambda_physical (default: see ``_reference``).
        transient: time run from ``y0`` with the reference dynamics before measuring the
            asymptotic spectra (default: a tenth of ``lyapunov_time``, or 2000 steps), so
            that the state is on the attractor; the members of :class:`OnAttractor`
            start after it, the others do not.
        lyapunov_time, k: measured time and number of exponents of the spectra. The
            default time is :class:`UntilConverged`: until lambda_1's 95% half-width is
            2% of its size (or a tenth of ln 2 over the longest horizon), within 500,000
            steps. Default ``k``: up to 8 exponents.
        literature: ``{"exponents": [...], "source": "..."}`` shown beside the results.
        causes: the causes to test (default ``DEFAULT_CAUSES``: discretisation, adjoint,
            precision); add your own :class:`AbstractCause` subclasses.
        shadowing: when the physics is chaotic, the verdict ``intrinsic-explosion`` or
            ``inconclusive`` and the loss a long-time average (``wrt`` a parameter), the
            derivative of the average by shadowing (``_diagnose_shadowing``)
            (``"auto"``: :class:`~chaosgrad.NILSS`; a method object; ``None``: never).
        progress: optional ``progress(label, done, total)`` callback.

    Returns:
        A :class:`Diagnosis`. Parts that could not be measured are reported in
        ``notes`` and ``status == "partial"``, never raised.
    """
    from ._shadowing import LSS, NILSS

    check_mapping("config", config, example="{'experiment': 'baseline'}")
    check_callable("progress", progress, signature="progress(label, done, total)")
    check_strategy("shadowing", shadowing, (NILSS, LSS), words=("auto", None), example="'auto', NILSS(), LSS() or None")
    simulator, y0, args, sel, loss, reference, causes, plan, n, source = _checked(
        simulator, y0, args, loss=loss, horizons=horizons, wrt=wrt, reference=reference, members=members,
        transient=transient, lyapunov_time=lyapunov_time, k=k, causes=causes, seed=seed, literature=literature,
    )
    report = progress or (lambda *a: None)
    steps, notes = 5, []
    t_hint = float(plan.times(simulator.dt)[-1]) if plan is not None else MAX_DEFAULT_STEPS * simulator.dt
    lyap = _lyapunov_options(simulator, n, lyapunov_time, k, t_hint, int(seed))
    if transient is None and steps_left(simulator, y0) is not None:
        transient = 0.0  # the user's episode from its start (``_episodes``)
    warn_spectrum_cost(simulator, n, lyap, caller=f"diagnose: each of its spectra (k={lyap['k']})")
    if transient is None:
        transient = 0.1 * (lyapunov_time if isinstance(lyapunov_time, (int, float)) else 20000 * simulator.dt)

    # The gradient sweep's program does not depend on the horizon plan (which, by default,
    # depends on the spectra): it compiles while they are measured.
    sweep_program = early_sweep_program(simulator, simulator.prepare(y0), source.count, args, loss, sel, plan)

    # ---- the probe, the transient with the reference dynamics, and the two spectra
    early_members = (None if plan is None or not source.ergodic
                     else MemberPlan(source.count, float(plan.times(simulator.dt)[-1]), int(seed)))
    sp = measure_spectra(simulator, reference, y0, args, sel, lyap=lyap, transient=float(transient),
                         report=report, steps=steps, then_compile=[sweep_program] if sweep_program else [],
                         members=early_members)
    notes += sp.notes
    step_derivatives, ref_start, y_ref, ref_run = sp.step_derivatives, sp.ref_start, sp.y_ref, sp.ref_run
    lam_phys, lam_num, reference_diverged = sp.ref_run.result, sp.lam_num, sp.reference_diverged

    lam1_p = float(lam_phys.exponents[0])
    h_p = float(lam_phys.uncertainty[0])
    if not ref_run.converged and lam_phys.status == "ok":
        # The reference's own discretisation error: the last halving's change.
        h_p = math.hypot(h_p, ref_run.step_error)
        notes.append(f"the reference did not converge; lambda_physical's interval includes the last halving's change ({ref_run.step_error:.2g})")
    is_state = sel.kind == "y0"
    expected, e_lo, e_hi = expected_rate(lam1_p, h_p, wrt_state=is_state)
    lam1_n = float(lam_num.exponents[0])
    expected_num = expected_rate(lam1_n, float(lam_num.uncertainty[0]), wrt_state=is_state)[0]
    if plan is None:
        finite = [abs(x) for x in (lam1_p, lam1_n) if math.isfinite(x)]
        hs, episode_note = episode_horizons(simulator, y0, default_horizons(max(finite) if finite else math.nan, simulator.dt))
        notes += [episode_note] if episode_note else []
        plan = plan_horizons(hs, simulator.dt, exact=False)
    t_max = float(plan.times(simulator.dt)[-1])

    # ---- members: the user's own start (and the physics along it, over the user's
    # horizons), or states on the attractor (sampled alongside the spectra when the
    # caller fixed the horizons) compared with the asymptotic spectrum
    report("gradient growth", 3, steps)
    expected_basis = f"the asymptotic lambda_1 of the reference ({lam1_p:+.4g})"
    expected_dof = lam_phys.dof
    along = None  # the finite-time physics along the user's own members
    if source.ergodic:
        y0s_ref = sp.members
        if y0s_ref is None:
            y0s_ref = members_along_reference(simulator, ref_start, y_ref, args, MemberPlan(source.count, t_max, int(seed)),
                                              lyap=lyap, reference_diverged=reference_diverged)
        y0s = simulator.prepare(y0s_ref)
    else:
        y0s = source.starts(simulator, y0, args, seed=int(seed), horizons=plan.times(simulator.dt)[plan.reported])
        if not reference_diverged:
            ft = finite_time_expectation(ref_run.simulator, y0s, args, plan, simulator.dt, lyap, int(seed), is_state, notes,
                                          source.independent)
            if ft is not None:
                (expected, e_lo, e_hi), expected_dof, expected_basis, along = ft

    def ablated_inputs(sim, a, starts):
        """The same members and reported horizons for an ablated set-up."""
        a = floats_as_arrays(a)
        grid = plan if sim.dt == simulator.dt else plan_horizons(plan.times(simulator.dt)[plan.reported], sim.dt, exact=False)
        return dict(y0s=sim.prepare(starts), args=a, loss=loss, sel=resolve_wrt(wrt, a), plan=grid)

    # Ablations the set-up already decides (cause rule 7) compile while the user's
    # gradient is measured, from the moment its sweep is lowered.
    compiling_ablations = []

    def anticipate():
        compiling_ablations.extend(anticipate_ablations(causes, simulator, args, y0s, ablated_inputs))

    def measure(sim, a, starts, loss_scaling=None):
        for program in compiling_ablations:
            program.join()
        return measure_growth(sim, **ablated_inputs(sim, a, starts), loss_scaling=loss_scaling,
                              time_integral=grad.rate_of_time_integral, independent=source.independent)

    grad = measure_growth(simulator, y0s, args, loss=loss, sel=sel, plan=plan, on_lowered=anticipate,
                          sweep_program=sweep_program, independent=source.independent)
    notes += list(grad.notes)
    # Along the same members the gradient and the physics share their finite-time
    # exponents; their difference is the sharper test, where the prediction is a rate
    # (the initial state's gradient, or a parameter's on growth) rather than an interval.
    gap = (paired_gap(grad, along, independent=source.independent)
           if along is not None and (is_state or along.low > 0) else None)

    # ---- causes
    report("ablations", 4, steps)
    evidence = CauseEvidence(
        simulator=simulator, args=args, reference=ref_run.simulator,
        reference_differs=reference is not None or refinable(simulator),
        lambda_physical=lam_phys, lambda_numerical=lam_num, gradient=grad,
        expected_physical=expected, expected_numerical=expected_num, t_max=t_max, wrt_state=is_state,
        y_start=simulator.prepare(y_ref), lyapunov_options=dict(lyap, time=lam_phys.time), y0=y0,
    )
    tested = [(c, try_cause(c, evidence, y0s, measure)) for c in causes]
    tested = [(c, r) for c, r in tested if r is not None]
    ablations = tuple(ab for _, (ab, _) in tested)
    for ab in ablations:
        if ab.status == "failed":
            notes.append(f"ablation {ab.name} could not run: {ab.error}")

    physics = physics_class(lam1_p, h_p, t_max, reference_ok=lam_phys.status == "ok", reference_diverged=reference_diverged)
    inputs = verdict_inputs(grad, ablations, (expected, e_lo, e_hi), t_max, physics, reference_diverged, expected_dof,
                             simulator.dtype)
    propagates = all(isinstance(x, float) and math.isfinite(x) and x != 0.0
                     for x in (step_derivatives.get("state"), step_derivatives.get("wrt")))
    decision = decide(dataclasses.replace(inputs, paired=gap or (), step_propagates=propagates))

    overflow, underflow = overflow_horizons(grad, simulator.dtype)
    recommendations = _recommendations(
        tested, evidence, notes, physics=physics, verdict=decision.verdict, lam1_phys=lam1_p, grad=grad,
        dtype=simulator.dtype, overflow=overflow, underflow=underflow, is_state=is_state,
    )
    shadow, shadow_note = None, None
    if shadowing is not None:
        applies, shadow_note = shadowing_applies(decision.verdict, physics, loss.long_time_average, is_state)
        if applies:
            report("shadowing", 5, steps + 1)
            shadow, shadow_note = run_shadowing(shadowing, simulator, simulator.prepare(y_ref), args, loss, wrt, lam1_p)
            if shadow is not None and shadow_note is None:
                recommendations = [shadowing_recommendation(shadow), *recommendations]
        if shadow_note:
            notes.append(shadow_note)
    diag_name = name or "user simulator"
    explanation = explain(
        name=diag_name, decision=decision, physics=physics, lam_phys=lam_phys, lam_num=lam_num, grad=grad,
        expected=expected, ablations=ablations, overflow=overflow, dtype=simulator.dtype,
    )
    if shadow is not None and shadow_note is None:
        explanation += " The usable derivative: " + shadowing_words(shadow) + "."
    failed = any(ab.status == "failed" for ab in ablations)
    status = "partial" if failed or lam_phys.status != "ok" or not ref_run.converged or grad.status == "partial" else "ok"
    cfg = _config(grad, simulator, ref_run, lam_phys, lyap, causes, members=source.count, seed=seed, transient=transient,
                  extra={"member_source": source.describe(), "expected_basis": expected_basis, **(config or {})})
    report("done", steps, steps)
    return Diagnosis(
        name=diag_name,
        lambda_physical=lam_phys,
        lambda_numerical=lam_num,
        gradient=grad,
        gradient_rate=float(grad.rate),
        gradient_interval=(float(grad.rate_low), float(grad.rate_high)),
        expected_rate=float(expected),
        expected_interval=(float(e_lo), float(e_hi)),
        expected_numerical_rate=float(expected_num),
        physics=physics,
        causes=decision.causes,
        # Two ablations may test one cause (precision: float64, loss scaling): its first words stand.
        cause_words={name: words for name, words in reversed([(c.name, c.words) for c, _ in tested])},
        verdict=decision.verdict,
        reasons=decision.reasons,
        to_decide=decision.to_decide,
        explanation=explanation,
        ablations=ablations,
        recommendations=tuple(recommendations),
        overflow_horizon=overflow,
        underflow_horizon=underflow,
        truncation_horizon=LOG2 / lam1_p if physics == "chaotic" else None,
        dtype=simulator.dtype,
        literature=literature,
        config=cfg,
        step_derivatives=step_derivatives,
        notes=tuple(notes),
        status=status,
        shadowing=shadow,
        shadowing_note=shadow_note,
        member_source=source.describe(),
        expected_basis=expected_basis,
        paired_gap=gap[:3] if gap else None,
    )
