"""The rate the physics predicts for the user's gradient, and along whose members.

From the two spectra (``_diagnosis.spectra``): ``lambda_physical``'s leading exponent and
its interval (widened by the reference's last halving when it did not converge), the
rate it predicts for the gradient (``_diagnosis.verdict.expected_rate``), the numerical map's, and
the horizon plan (the caller's, or nine log-spaced up to where the expected rate changes
the gradient by e^25). Then the members (``_gradients.members``): states on the attractor, compared
with the asymptotic spectrum, or the user's own starts, compared with the reference's
finite-time exponent along those same members over the same horizons
(``_spectra.finite_time``).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np

from chaosgrad._diagnosis.evidence import finite_time_expectation
from chaosgrad._diagnosis.inputs import E_FOLDINGS, MAX_DEFAULT_STEPS, MIN_DEFAULT_STEPS, DiagnosisInputs
from chaosgrad._diagnosis.spectra import MemberPlan, Spectra, members_along_reference
from chaosgrad._diagnosis.verdict import expected_rate
from chaosgrad._gradients.horizons import HorizonPlan, plan_horizons
from chaosgrad._gradients.wrt import resolve_wrt
from chaosgrad._pytree import floats_as_arrays
from chaosgrad._simulators.episodes import episode_horizons
from chaosgrad._spectra.result import LyapunovResult


def default_horizons(rate: float, dt: float) -> np.ndarray:
    """Nine log-spaced horizons up to where ``|rate| T`` reaches ``E_FOLDINGS``."""
    scale = max(abs(rate), 1e-3) if math.isfinite(rate) else 1.0
    t_max = float(np.clip(E_FOLDINGS / scale, MIN_DEFAULT_STEPS * dt, MAX_DEFAULT_STEPS * dt))
    return np.geomspace(t_max / 16, t_max, 9)


class PhysicalExpectation(NamedTuple):
    lam_phys: LyapunovResult
    lam1: float  # lambda_physical's leading exponent
    half_width: float  # its 95% half-width (with the last halving's change when not converged)
    is_state: bool  # the gradient is with respect to the initial state
    expected: tuple  # the predicted rate and its interval, from the asymptotic exponent
    expected_numerical: float  # the rate the numerical map's lambda_1 predicts
    plan: HorizonPlan
    t_max: float


def physical_expectation(sp: Spectra, d: DiagnosisInputs, notes: list) -> PhysicalExpectation:
    """The asymptotic prediction and the horizon plan; notes are appended to ``notes``."""
    simulator = d.simulator
    lam_phys, lam_num = sp.ref_run.result, sp.lam_num
    lam1_p = float(lam_phys.exponents[0])
    h_p = float(lam_phys.uncertainty[0])
    if (not sp.ref_run.converged or sp.ref_run.short_check) and lam_phys.status == "ok":
        # The reference's own discretisation error: the last halving's change (also when a
        # check the budget stopped short confirmed the coarser run, which is the one kept).
        h_p = math.hypot(h_p, sp.ref_run.step_error)
        why = "did not converge" if not sp.ref_run.converged else "was confirmed by a shorter check"
        notes.append(
            f"the reference {why}; lambda_physical's interval includes the last halving's change "
            f"({sp.ref_run.step_error:.2g})"
        )
    is_state = d.sel.kind == "y0"
    expected = expected_rate(lam1_p, h_p, wrt_state=is_state)
    lam1_n = float(lam_num.exponents[0])
    expected_num = expected_rate(lam1_n, float(lam_num.uncertainty[0]), wrt_state=is_state)[0]
    plan = d.plan
    if plan is None:
        finite = [abs(x) for x in (lam1_p, lam1_n) if math.isfinite(x)]
        hs, episode_note = episode_horizons(
            simulator, d.y0, default_horizons(max(finite) if finite else math.nan, simulator.dt)
        )
        notes += [episode_note] if episode_note else []
        plan = plan_horizons(hs, simulator.dt, exact=False)
    t_max = float(plan.times(simulator.dt)[-1])
    return PhysicalExpectation(lam_phys, lam1_p, h_p, is_state, expected, expected_num, plan, t_max)


class ChosenMembers(NamedTuple):
    y0s: Any  # the members' start states, prepared (axis 0)
    expected: tuple  # the predicted rate and its interval, for these members
    expected_dof: float
    expected_basis: str  # what the prediction is (words for the summary)
    along: Any  # the finite-time physics along these members, or None
    ablated_inputs: Callable  # (sim, args, starts) -> measure_growth's inputs for an ablated set-up


def choose_members(sp: Spectra, d: DiagnosisInputs, physics: PhysicalExpectation, notes: list) -> ChosenMembers:
    simulator, plan, source, seed = d.simulator, physics.plan, d.source, int(d.seed)
    expected, expected_dof = physics.expected, physics.lam_phys.dof
    expected_basis = f"the asymptotic lambda_1 of the reference ({physics.lam1:+.4g})"
    along = None
    if source.ergodic:
        y0s_ref = sp.members
        if y0s_ref is None:
            y0s_ref = members_along_reference(
                simulator,
                sp.ref_start,
                sp.y_ref,
                d.args,
                MemberPlan(source.count, physics.t_max, seed),
                lyap=d.lyap,
                reference_diverged=sp.reference_diverged,
            )
        y0s = simulator.prepare(y0s_ref)
    else:
        y0s = source.starts(simulator, d.y0, d.args, seed=seed, horizons=plan.times(simulator.dt)[plan.reported])
        if not sp.reference_diverged:
            ft = finite_time_expectation(
                sp.ref_run.simulator,
                y0s,
                d.args,
                plan,
                simulator.dt,
                d.lyap,
                seed,
                physics.is_state,
                notes,
                source.independent,
            )
            if ft is not None:
                expected, expected_dof, expected_basis, along = ft

    def ablated_inputs(sim, a, starts):
        """The same members and reported horizons for an ablated set-up."""
        a = floats_as_arrays(a)
        grid = (
            plan
            if sim.dt == simulator.dt
            else plan_horizons(plan.times(simulator.dt)[plan.reported], sim.dt, exact=False)
        )
        return dict(y0s=sim.prepare(starts), args=a, loss=d.loss, sel=resolve_wrt(d.wrt, a), plan=grid)

    return ChosenMembers(y0s, tuple(expected), expected_dof, expected_basis, along, ablated_inputs)
