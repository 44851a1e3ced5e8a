"""The diagnosis: the three rates, the ablations that test each cause, a verdict.

1. ``lambda_physical``: spectrum of the converged reference dynamics (``_spectra.reference``).
2. ``lambda_numerical``: spectrum of the user's own step and dtype.
3. ``gamma``: growth rate of the user's gradient (``_gradients.growth``).

Each cause in ``causes=`` (``_diagnosis.causes``) looks at these measurements and says whether it
is suspect; a suspect cause builds its ablation (the user's set-up with one thing
changed), whose gradient is measured on the same members and horizons and compared with
the user's by value and by rate (``_diagnosis.compare``). The verdict is a pure function of the
numbers (``_diagnosis.verdict``). Everything is checked before anything is computed; after that,
nothing raises: a blow-up anywhere (transient, members, an ablation) is recorded.

Its parts: ``_diagnosis.inputs`` (the checks), ``_diagnosis.spectra`` (the probe, the
transient, the two spectra), ``_diagnosis.expectation`` (the rate the physics predicts,
and along whose members), ``_diagnosis.testing`` (testing each cause),
``_diagnosis.evidence`` (the numbers the verdict takes), ``_diagnosis.shadowing``,
``_diagnosis.result`` (advice, words and the result). What compiles ahead and runs
beside is the schedule's (``_diagnosis.overlap``), not this function's.
"""

from __future__ import annotations

from collections.abc import Sequence

from chaosgrad._diagnosis.causes import DEFAULT_CAUSES, AbstractCause, CauseEvidence
from chaosgrad._diagnosis.expectation import choose_members, physical_expectation
from chaosgrad._diagnosis.inputs import DiagnosisInputs, check_diagnosis
from chaosgrad._diagnosis.overlap import DiagnosisOverlap
from chaosgrad._diagnosis.result import diagnosis_result
from chaosgrad._diagnosis.spectra import measure_spectra
from chaosgrad._diagnosis.stages import stage
from chaosgrad._diagnosis.testing import try_cause
from chaosgrad._diagnosis.types import Diagnosis
from chaosgrad._gradients.growth import measure_growth
from chaosgrad._runtime.compilation_cache import waits_for_background_on_error
from chaosgrad._runtime.precision import float64_scope
from chaosgrad._runtime.schedule import Schedule
from chaosgrad._simulators.base import AbstractSimulator
from chaosgrad._simulators.capabilities import refinable
from chaosgrad._spectra.strategies import UntilConverged


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
        members: the ensemble (``_gradients.members``): an int ``n`` is :class:`NearStart` ``(n)``,
            the user's ``y0`` and ``n - 1`` perturbations of it by 0.1%, compared with
            the reference's finite-time exponent along those members over these
            horizons; :class:`OnAttractor` ``(n)`` samples the attractor after the
            transient (an ergodic question) and compares with the asymptotic spectrum;
            :class:`GivenStates` ``(batch)`` takes the caller's own start states.
        reference: simulator for lambda_physical (default: see ``_spectra.reference``).
        transient: time run from ``y0`` with the reference dynamics before measuring the
            asymptotic spectra (default: a tenth of ``lyapunov_time``, or 2000 steps), so
            that the state is on the attractor; the members of :class:`OnAttractor`
            start after it, the others do not.
        lyapunov_time, k: measured time and number of exponents of the spectra. The
            default time is :class:`UntilConverged`: until lambda_1's 95% half-width is
            2% of its size (or a tenth of ln 2 over the longest horizon), within 500,000
            steps and 30 s of wall clock (``max_seconds``, counted from the end of the
            transient) shared by the reference, its step halvings and the user's spectrum,
            and a quarter more for the search for a faithful step (``_spectra.budget``,
            with its exact bound): a spectrum the budget stops keeps the interval of the
            time it measured, and the notes say so. Default ``k``: up to 8 exponents.
        literature: ``{"exponents": [...], "source": "..."}`` shown beside the results.
        causes: the causes to test (default ``DEFAULT_CAUSES``: discretisation, adjoint,
            precision); add your own :class:`AbstractCause` subclasses.
        shadowing: when the physics is chaotic, the verdict ``intrinsic-explosion`` or
            ``inconclusive`` and the loss a long-time average (``wrt`` a parameter), the
            derivative of the average by shadowing (``_diagnosis.shadowing``)
            (``"auto"``: :class:`~chaosgrad.NILSS`; a method object; ``None``: never).
        progress: optional ``progress(label, done, total)`` callback.

    Returns:
        A :class:`Diagnosis`. Parts that could not be measured are reported in
        ``notes`` and ``status == "partial"``, never raised.
    """
    # Every argument by name: all of them are checked before anything runs.
    return run_diagnosis(check_diagnosis(**locals()), name=name)


def run_diagnosis(d: DiagnosisInputs, *, name: str | None) -> Diagnosis:
    """The diagnosis of the checked inputs ``d`` (:func:`diagnose`'s steps)."""
    simulator, y0, args, sel, loss, source = d.simulator, d.y0, d.args, d.sel, d.loss, d.source
    with Schedule() as schedule:
        overlap = DiagnosisOverlap(schedule, d)

        # ---- the probe, the transient with the reference dynamics, and the two spectra
        sp = measure_spectra(
            simulator,
            d.reference,
            y0,
            args,
            sel,
            lyap=d.lyap,
            transient=d.transient,
            report=d.report,
            members=overlap.early_members,
        )
        notes = list(sp.notes)
        physics = physical_expectation(sp, d, notes)

        # ---- members: the user's own start (and the physics along it, over the user's
        # horizons), or states on the attractor compared with the asymptotic spectrum
        stage(d.report, "gradient growth")
        chosen = choose_members(sp, d, physics, notes)
        overlap.ablations_ahead(d.causes, chosen.y0s, chosen.ablated_inputs)
        grad = measure_growth(
            simulator, chosen.y0s, args, loss=loss, sel=sel, plan=physics.plan, independent=source.independent
        )
        notes += list(grad.notes)

        # ---- causes: each suspect one ablated on the same members and horizons
        stage(d.report, "ablations")
        evidence = cause_evidence(d, sp, physics, chosen, grad)

        def measure(sim, a, starts, loss_scaling=None):
            return measure_growth(
                sim,
                **chosen.ablated_inputs(sim, a, starts),
                loss_scaling=loss_scaling,
                time_integral=grad.rate_of_time_integral,
                independent=source.independent,
            )

        tested = [(c, r) for c in d.causes if (r := try_cause(c, evidence, chosen.y0s, measure)) is not None]
        return diagnosis_result(d, sp, physics, chosen, grad, evidence, tested, notes, name=name)


def cause_evidence(d: DiagnosisInputs, sp, physics, chosen, grad) -> CauseEvidence:
    """What the causes may look at: the measurements made before any ablation."""
    simulator = d.simulator
    return CauseEvidence(
        simulator=simulator,
        args=d.args,
        reference=sp.ref_run.simulator,
        reference_differs=d.reference is not None or refinable(simulator),
        lambda_physical=physics.lam_phys,
        lambda_numerical=sp.lam_num,
        gradient=grad,
        expected_physical=chosen.expected[0],
        expected_numerical=physics.expected_numerical,
        t_max=physics.t_max,
        wrt_state=physics.is_state,
        y_start=simulator.prepare(sp.y_ref),
        lyapunov_options=d.lyap.replace(time=physics.lam_phys.time).kwargs(),
        y0=d.y0,
        search_seconds=sp.budget.cause_seconds,
    )
