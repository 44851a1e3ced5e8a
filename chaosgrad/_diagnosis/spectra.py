"""The first half of a diagnosis: the probe, the reference's transient, the two spectra
and the members sampled along the reference trajectory.

``lambda_physical`` is the reference dynamics' spectrum (the caller's reference, or the
default one refined until its leading exponents stop moving); ``lambda_numerical`` is
the user's numerical map's, measured over the same time from the same state. The
reference's program also serves its transient, its step halvings and the members
sampled along it. What compiles ahead and runs beside is the diagnosis's schedule
(``_diagnosis.overlap``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, NamedTuple

from chaosgrad._diagnosis.stages import stage
from chaosgrad._gradients.members import make_members
from chaosgrad._runtime.schedule import MEMBERS, REFERENCE_SPECTRUM, TRANSIENT_DONE, USER_SPECTRUM, Schedule, current
from chaosgrad._simulators.probe import probe_step
from chaosgrad._spectra.budget import SpectraBudget
from chaosgrad._spectra.lyapunov import lyapunov_spectrum, states_in_intervals
from chaosgrad._spectra.reference import ReferenceRun, reference_spectrum, run_transient
from chaosgrad._spectra.result import LyapunovResult
from chaosgrad._spectra.settings import SpectraSettings


class Spectra(NamedTuple):
    step_derivatives: dict
    ref_start: Any  # the reference simulator the transient ended with
    y_ref: Any  # the state after the transient (``y0`` when it diverged)
    ref_run: ReferenceRun
    lam_num: LyapunovResult
    reference_diverged: bool
    notes: list
    members: Any  # the members' start states (``MemberPlan`` given), else ``None``
    budget: SpectraBudget  # the spectra's wall-clock budget (``_spectra.budget``)


@dataclass(frozen=True)
class MemberPlan:
    """How many members, how far apart (the longest horizon) and the seed."""

    count: int
    spacing: float
    seed: int


def members_along_reference(
    simulator, ref_start, y_ref, args, plan: MemberPlan, *, lyap: SpectraSettings, reference_diverged: bool
):
    """Independent start states along the reference trajectory from ``y_ref``, one to two
    longest horizons apart, run with the reference's own compiled loop; along the user's
    dynamics in float64 when the reference diverged."""
    member_sim = ref_start if not reference_diverged else simulator.with_dtype("float64")
    along = (
        None
        if reference_diverged
        else (lambda gaps: states_in_intervals(member_sim, y_ref, args, gaps, k=lyap.k, interval=lyap.interval))
    )
    return make_members(
        member_sim, member_sim.prepare(y_ref), args, plan.count, plan.spacing, seed=plan.seed, along=along
    )


USER_SPECTRUM_RUN = "user's spectrum"  # with its measuring time: (USER_SPECTRUM_RUN, time)


def user_spectrum(schedule: Schedule, simulator, y_ref, args, lyap: SpectraSettings, time, budget: SpectraBudget):
    """The user's spectrum from the reference's state over ``time``, once its program has
    compiled (``_runtime.concurrent`` rule 3), stopped at the end of the spectra's budget
    (``_spectra.budget`` rule 3)."""
    schedule.program(USER_SPECTRUM)
    return lyapunov_spectrum(
        simulator, simulator.prepare(y_ref), args, **lyap.replace(time=budget.beside(time)).kwargs()
    )


def measure_spectra(
    simulator,
    reference,
    y0,
    args,
    sel,
    *,
    lyap: SpectraSettings,
    transient: float,
    report,
    members: MemberPlan | None = None,
) -> Spectra:
    """The probe, the transient with the reference dynamics, and both spectra within one
    budget (``_spectra.budget``) that starts after the transient; what went wrong with the spectra is in ``notes``,
    never raised. ``members``: sample them too (:func:`members_along_reference`). What
    runs ahead and beside is the current schedule's (``_diagnosis.overlap``)."""
    schedule = current()
    notes = []
    # Up front: does one step propagate a derivative at all?
    step_derivatives, probe_notes = probe_step(simulator, y0, args, sel)
    notes += probe_notes

    # The transient with the reference dynamics (the user's step may be what is unstable).
    stage(report, "transient")
    schedule.program(REFERENCE_SPECTRUM)
    ref_start, y_ref, problem = run_transient(simulator, reference, y0, args, transient, options=lyap)
    reference_diverged = problem is not None
    if reference_diverged:
        notes.append(f"{problem}; measurements start from y0 itself")
        y_ref = ref_start.prepare(y0)
    budget = SpectraBudget.starting_now(lyap.time)
    schedule.announce(TRANSIENT_DONE, ref_start=ref_start, y_ref=y_ref, diverged=reference_diverged, budget=budget)

    # The two spectra, the user's measured over the same time as the reference.
    stage(report, "lambda_physical")
    ref_run = reference_spectrum(simulator, reference, y_ref, args, options=lyap, start=ref_start, budget=budget)
    lam_phys = ref_run.result
    notes.append(f"reference dynamics: {ref_run.note}")
    notes.append(f"measuring time of the reference spectrum: {lam_phys.convergence}")
    stage(report, "lambda_numerical")
    lam_num = schedule.take(
        (USER_SPECTRUM_RUN, lam_phys.time),
        user_spectrum,
        schedule,
        simulator,
        y_ref,
        args,
        lyap,
        lam_phys.time,
        budget,
    )
    if lam_num.stop_reason == "time budget":
        notes.append(
            f"the user's spectrum measured {lam_num.time:g} of the reference's {lam_phys.time:g} time units "
            "within the spectra's wall-clock budget (lyapunov_time=UntilConverged(max_seconds=...))"
        )
    for whose, res in (("the reference", lam_phys), ("the user's simulator", lam_num)):
        if res.failure:
            notes.append(f"{whose}'s step reported a failure at {res.failure}")
    reference_diverged |= lam_phys.status != "ok" and lam_phys.nonfinite_quantity == "state"
    starts = None
    if members is not None:
        along = lambda: members_along_reference(
            simulator, ref_start, y_ref, args, members, lyap=lyap, reference_diverged=reference_diverged
        )
        if reference_diverged:
            schedule.discard(MEMBERS)  # the reference spectrum diverged: along the user's dynamics instead
            starts = along()
        else:
            starts = schedule.take(MEMBERS, along)
    return Spectra(
        step_derivatives, ref_start, y_ref, ref_run, lam_num, bool(reference_diverged), notes, starts, budget
    )
