"""The first half of a diagnosis: the probe, the reference's transient, the two spectra
and the members sampled along the reference trajectory.

``lambda_physical`` is the reference dynamics' spectrum (the caller's reference, or the
default one refined until its leading exponents stop moving); ``lambda_numerical`` is
the user's numerical map's, measured over the same time from the same state. Their
programs compile in the background while the one-step probe runs: the reference's also
serves its transient, its step halvings and the members sampled along it. Once the
transient has run, the measurements that depend only on its end state run side by side
(``_concurrent``): the user's spectrum once the measuring time is known, and the
members when the caller fixed the horizons (the default horizons depend on the spectra).
"""

from __future__ import annotations

from typing import Any, NamedTuple

from ._compilation_cache import compile_in_background
from ._concurrent import alongside
from ._members import make_members
from ._lyapunov import lower_spectrum, lyapunov_spectrum, states_in_intervals
from ._lyapunov_result import LyapunovResult
from ._probe import probe_step
from ._reference import (
    ReferenceRun,
    default_reference,
    reference_spectrum,
    run_transient,
)


class Spectra(NamedTuple):
    step_derivatives: dict
    ref_start: Any  # the reference simulator the transient ended with
    y_ref: Any  # the state after the transient (``y0`` when it diverged)
    ref_run: ReferenceRun
    lam_num: LyapunovResult
    reference_diverged: bool
    notes: list
    members: Any  # the members' start states (``MemberPlan`` given), else ``None``


class MemberPlan(NamedTuple):
    """How many members, how far apart (the longest horizon) and the seed."""

    count: int
    spacing: float
    seed: int


def members_along_reference(simulator, ref_start, y_ref, args, plan: MemberPlan, *, lyap: dict, reference_diverged: bool):
    """Independent start states along the reference trajectory from ``y_ref``, one to two
    longest horizons apart, run with the reference's own compiled loop; along the user's
    dynamics in float64 when the reference diverged."""
    member_sim = ref_start if not reference_diverged else simulator.with_dtype("float64")
    along = None if reference_diverged else (lambda gaps: states_in_intervals(
        member_sim, y_ref, args, gaps, k=lyap["k"], interval=lyap["interval"]))
    return make_members(member_sim, member_sim.prepare(y_ref), args, plan.count, plan.spacing, seed=plan.seed, along=along)


def measure_spectra(simulator, reference, y0, args, sel, *, lyap: dict, transient: float, report, steps: int,
                    then_compile=(), members: MemberPlan | None = None) -> Spectra:
    """The probe, the transient with the reference dynamics, and both spectra; what went
    wrong with the spectra is in ``notes``, never raised. ``members``: sample them too, alongside the
    spectra (:func:`members_along_reference`). ``then_compile``: programs (``start()``) of the
    rest of the diagnosis, started after the spectra's two programs, which are on the
    critical path (started first, they delayed the spectra: first call 2.9-3.8 s against
    2.4-3.1 s, Lorenz-63 defaults, 5 runs each, 2 cores)."""
    notes = []
    compiling_reference = compile_in_background(
        lower_spectrum, reference if reference is not None else default_reference(simulator), y0, args,
        k=lyap["k"], interval=lyap["interval"])
    compiling = compile_in_background(
        lower_spectrum, simulator, y0, args, k=lyap["k"], interval=lyap["interval"])
    for program in then_compile:
        program.start()

    # Up front: does one step propagate a derivative at all?
    step_derivatives, probe_notes = probe_step(simulator, y0, args, sel)
    notes += probe_notes

    # The transient with the reference dynamics (the user's step may be what is unstable).
    report("transient", 0, steps)
    compiling_reference.join()
    ref_start, y_ref, problem = run_transient(simulator, reference, y0, args, transient, lyap_kwargs=lyap)
    reference_diverged = problem is not None
    if reference_diverged:
        notes.append(f"{problem}; measurements start from y0 itself")
        y_ref = ref_start.prepare(y0)
    sampling = None
    if members is not None and not reference_diverged:
        sampling = alongside(members_along_reference, simulator, ref_start, y_ref, args, members, lyap=lyap,
                           reference_diverged=False)

    # The two spectra, the user's measured over the same time as the reference, in the
    # background from the moment that time is known (``_concurrent``): its run overlaps
    # the reference's step halvings.
    users = []

    def user_spectrum(time):
        compiling.join()  # its program compiles once (rule 3 of ``_concurrent``)
        return lyapunov_spectrum(simulator, simulator.prepare(y_ref), args, **dict(lyap, time=time))

    report("lambda_physical", 1, steps)
    ref_run = reference_spectrum(simulator, reference, y_ref, args, lyap_kwargs=lyap, start=ref_start,
                                 on_time=lambda time: users.append((time, alongside(user_spectrum, time))))
    lam_phys = ref_run.result
    notes.append(f"reference dynamics: {ref_run.note}")
    notes.append(f"measuring time of the reference spectrum: {lam_phys.convergence}")
    report("lambda_numerical", 2, steps)
    # The user's spectrum is measured over the reference's time; one started over another
    # time (which ``reference_spectrum`` avoids) is measured again.
    if users and users[0][0] == lam_phys.time:
        lam_num = users[0][1].result()
    else:
        for _, started in users:
            started.discard()
        lam_num = user_spectrum(lam_phys.time)
    for whose, res in (("the reference", lam_phys), ("the user's simulator", lam_num)):
        if res.failure:
            notes.append(f"{whose}'s step reported a failure at {res.failure}")
    reference_diverged |= lam_phys.status != "ok" and lam_phys.nonfinite_quantity == "state"
    starts = None
    if sampling is not None and reference_diverged:
        sampling.discard()  # the reference spectrum diverged: along the user's dynamics instead
    elif sampling is not None:
        starts = sampling.result()
    if members is not None and starts is None:
        starts = members_along_reference(simulator, ref_start, y_ref, args, members, lyap=lyap,
                                         reference_diverged=reference_diverged)
    return Spectra(step_derivatives, ref_start, y_ref, ref_run, lam_num, bool(reference_diverged), notes, starts)
