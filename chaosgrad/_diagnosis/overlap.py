"""What a diagnosis runs ahead and beside (the policy of its :class:`~chaosgrad._runtime.schedule.Schedule`).

The spectra's two programs compile first, while the one-step probe runs: they are on
the critical path (started after the sweep's, they delayed the spectra). The gradient
sweep's program, which does not depend on the horizon plan, compiles next, while the
spectra are measured. Once the transient has run, the members along the reference are
sampled beside the spectra (when the caller fixed the horizons, which the default plan
depends on), and the user's spectrum starts as soon as the reference's measuring time
is known, overlapping the reference's step halvings. The ablations the causes
anticipate (cause rule 7) compile from the moment the user's sweep is lowered.
"""

from __future__ import annotations

from chaosgrad._diagnosis.spectra import USER_SPECTRUM_RUN, MemberPlan, members_along_reference, user_spectrum
from chaosgrad._diagnosis.testing import anticipate_ablations
from chaosgrad._gradients.sweep import early_sweep_program
from chaosgrad._runtime.compilation_cache import BackgroundProgram
from chaosgrad._runtime.schedule import (
    GROWTH,
    MEASURING_TIME,
    MEMBERS,
    REFERENCE_SPECTRUM,
    SWEEP,
    SWEEP_LOWERED,
    TRANSIENT_DONE,
    USER_SPECTRUM,
    Schedule,
)
from chaosgrad._spectra.budget import SpectraBudget
from chaosgrad._spectra.lyapunov import lower_spectrum
from chaosgrad._spectra.reference import default_reference


class DiagnosisOverlap:
    """Registers, on ``schedule``, what the diagnosis of the checked inputs ``d``
    (``_diagnosis.inputs``) compiles ahead and runs beside. Members on the attractor are
    sampled beside the spectra when the caller fixed the horizons (their spacing is the
    longest horizon): :attr:`early_members`, else ``None``."""

    def __init__(self, schedule: Schedule, d):
        self.schedule, self.simulator, self.args, self.lyap = schedule, d.simulator, d.args, d.lyap
        simulator, plan, source, lyap = d.simulator, d.plan, d.source, d.lyap
        ref = d.reference if d.reference is not None else default_reference(simulator)
        for role, sim in ((REFERENCE_SPECTRUM, ref), (USER_SPECTRUM, simulator)):
            schedule.compile(
                role,
                BackgroundProgram(lambda sim=sim: lower_spectrum(sim, d.y0, d.args, k=lyap.k, interval=lyap.interval)),
            )
        schedule.compile(
            SWEEP,
            early_sweep_program(simulator, simulator.prepare(d.y0), source.count, d.args, d.loss, d.sel, plan),
        )
        self.early_members = (
            None
            if plan is None or not source.ergodic
            else MemberPlan(source.count, float(plan.times(simulator.dt)[-1]), int(d.seed))
        )
        schedule.on(TRANSIENT_DONE, self._transient_done)

    def _transient_done(self, ref_start, y_ref, diverged: bool, budget: SpectraBudget) -> None:
        if self.early_members is not None and not diverged:
            self.schedule.start(
                MEMBERS,
                members_along_reference,
                self.simulator,
                ref_start,
                y_ref,
                self.args,
                self.early_members,
                lyap=self.lyap,
                reference_diverged=False,
            )
        self.schedule.on(
            MEASURING_TIME,
            lambda time: self.schedule.start(
                (USER_SPECTRUM_RUN, time),
                user_spectrum,
                self.schedule,
                self.simulator,
                y_ref,
                self.args,
                self.lyap,
                time,
                budget,
            ),
        )

    def ablations_ahead(self, causes, y0s, ablated_inputs) -> None:
        """Compile the ablations the causes anticipate once the user's sweep is lowered."""

        def compile_ablations() -> None:
            for program in anticipate_ablations(causes, self.simulator, self.args, y0s, ablated_inputs):
                self.schedule.compile(GROWTH, program)

        self.schedule.on(SWEEP_LOWERED, compile_ablations)
