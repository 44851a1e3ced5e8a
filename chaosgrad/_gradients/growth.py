"""Gradient growth: how the user's gradient ``dL_T/d(wrt)`` grows with the horizon ``T``.

For every horizon and ensemble member we compute the gradient the user would get (their
step, dtype and adjoint) and fit the growth rate ``gamma`` of ``ln ||dL_T/d wrt||`` in
``T`` (``_gradients.fit``). With chaos ``gamma`` tends to lambda_1 (initial-state gradients) or
max(lambda_1, 0) (parameter gradients); see Metz, Freeman, Schoenholz & Kachman (2021)
and Wang (2014).

The horizons measured are the caller's plus an internal fit grid (``_gradients.horizons``), all in
one compiled sweep (``_gradients.sweep``). A gradient that is exactly zero is recorded as zero, not
as non-finite: it means the step propagates no derivative.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from chaosgrad._diagnosis.types import GradientGrowthResult
from chaosgrad._diagnosis.verdict import growth_class
from chaosgrad._gradients.cost import log_sweep_cost, members_sweep_cost
from chaosgrad._gradients.fit import FIT_POINTS, fit_growth_rate
from chaosgrad._gradients.horizons import HorizonPlan
from chaosgrad._gradients.laws import fit_growth_law
from chaosgrad._gradients.options import HorizonOptions
from chaosgrad._gradients.sketch import describe_sketch
from chaosgrad._gradients.sweep import sweep_horizons, wrt_dimension
from chaosgrad._gradients.sweep_adjoint import AdjointProgram, through_adjoint
from chaosgrad._gradients.sweep_blocks import horizon_lanes
from chaosgrad._gradients.wrt import Wrt
from chaosgrad._runtime.precision import float64_scope
from chaosgrad._runtime.schedule import GROWTH, SWEEP_LOWERED, Schedule, current
from chaosgrad._simulators.base import AbstractSimulator
from chaosgrad._simulators.capabilities import adjoint_name, reverse_through_steps

# A fit through fewer horizons than this (half the internal grid) is reported as partial.
FEW_FIT_POINTS = FIT_POINTS // 2 + 1


def algebraic_rate(times) -> float:
    """The least-squares slope of ``ln T`` against ``T`` over ``times``: the rate that a
    factor ``T`` alone contributes to a fit over those horizons (about
    ``ln(T_max / T_min) / (T_max - T_min)``)."""
    t = np.asarray(times, np.float64)
    return float(np.polyfit(t, np.log(t), 1)[0]) if t.size > 1 and np.ptp(t) > 0 else 0.0


def time_average_grows(fit, times) -> bool:
    """Whether a time average's gradient grows exponentially, so that its rate is to be
    fitted on ``T |dL_T/dtheta|``.

    ``dL_T/dtheta = (1/T) integral_0^T s(t) dt`` with ``s(t)`` the sensitivity of the
    integrand at ``t``. When ``s`` grows like ``e^{lambda t}`` (chaos) the integral grows
    like ``e^{lambda T} / lambda`` and the average carries an algebraic ``1/T``, which
    lowers its fitted rate by :func:`algebraic_rate` ``b`` (0.07 per time unit for
    horizons 4 to 32): the rate of ``T |dL_T/dtheta|`` is ``lambda``. When ``s`` settles
    (a parameter's steady sensitivity in a contracting system) or grows linearly
    (marginal shear), the average settles or grows like ``T`` at most, a fitted rate of
    at most ``b``, and its own rate is reported. Exponential growth is taken as
    established when the lower end of the rate's interval, with the ``1/T`` still in it,
    exceeds ``2 b``: more than any such algebraic growth, with a factor of two to spare.
    """
    return fit.status == "ok" and math.isfinite(fit.low) and fit.low > 2 * algebraic_rate(times)


def precompile_growth(simulator, y0s, args, *, loss, sel: Wrt, plan: HorizonPlan):
    """Start compiling, in the background, the program of a later :func:`measure_growth`
    with the same arguments that no other measurement shares (the simulator's own
    adjoint, horizon by horizon); an object to ``join()`` before that call, or ``None``
    when there is none."""
    if reverse_through_steps(simulator) or loss.accumulates:
        return None
    return AdjointProgram(simulator, y0s, args, loss, sel, plan.b, plan.blocks).start()


def _sweep_method(loss_scaling) -> str:
    """How the all-horizon sweep computed the gradients, for the result's ``method``."""
    method = "one forward pass, then each horizon's backward pass through the steps"
    if loss_scaling is not None:
        method += (
            f"; dynamic loss scaling per horizon (powers of two, headroom 2^{loss_scaling.headroom_log2}, "
            f"back-off 2^{loss_scaling.backoff_log2} on a non-finite pass)"
        )
    return method


def _usable(norms, state_ok):
    """Which gradients are finite, exactly zero and usable for the fit, and the norms with
    the non-finite ones as NaN. A gradient along a forward trajectory that went non-finite
    is no measurement, even when it is finite itself (a NaN branch of ``jnp.where`` has a
    zero derivative)."""
    is_finite = np.isfinite(norms) & state_ok.astype(bool)
    zero = is_finite & (norms == 0)
    return is_finite, zero, is_finite & ~zero, np.where(is_finite, norms, np.nan)


def _growth_status(fit, is_finite, usable) -> tuple[str, tuple[str, ...]]:
    """The result's status and its notes from the fit and which gradients are usable: ``zero``
    when every finite gradient is exactly zero, ``partial-nonfinite`` when a good fit left
    non-finite gradients out, ``partial`` when it went through too few horizons."""
    if is_finite.any() and not usable.any():
        status = "zero"
    elif fit.status == "ok" and not is_finite.all():
        status = "partial-nonfinite"
    else:
        status = fit.status
    fit_notes: tuple[str, ...] = ()
    if status == "ok" and fit.mask.sum() < FEW_FIT_POINTS:
        # A rate through a handful of horizons has no reliable error: not a full result.
        status = "partial"
        fit_notes = (
            f"the rate is fitted on {int(fit.mask.sum())} horizons only (fewer than {FEW_FIT_POINTS}): "
            "longer or more finely resolved horizons give the full fit",
        )
    return status, fit_notes


def _fit_rate(simulator, loss, plan: HorizonPlan, times, norms, usable, confidence, time_integral, independent):
    """The rate fit of ``ln ||dL_T/d wrt||`` (or of ``ln T ||dL_T/d wrt||`` for a growing time
    average, :func:`time_average_grows`), whether it was the latter, and the growth law
    fitted on the same values."""

    def fit_on(values):
        return fit_growth_rate(
            times,
            values,
            usable,
            fit_mask=plan.fit,
            confidence=confidence,
            dtype_eps=float(jnp.finfo(jnp.dtype(simulator.dtype)).eps),
            independent=independent,
        )

    fit = fit_on(norms)
    if time_integral is None:
        time_integral = loss.long_time_average and time_average_grows(fit, times[fit.mask])
    if time_integral:
        fit = fit_on(norms * times[None, :])
    law = fit_growth_law(
        times,
        norms * times[None, :] if time_integral else norms,
        usable,
        flat=growth_class(fit.rate, fit.low, fit.high, float(times[-1])) == "flat",
        confidence=confidence,
        independent=independent,
    )
    return fit, bool(time_integral), law


class _Swept(NamedTuple):
    """The gradients of every member and horizon, and how they were computed."""

    norms: np.ndarray  # (members, horizons)
    profile: np.ndarray  # cotangent norm per block, (members, blocks)
    state_ok: np.ndarray  # the forward trajectory finite up to each horizon
    grads: np.ndarray  # gradient sketches
    states: np.ndarray  # state sketches
    scale_log2: np.ndarray | None  # loss scale exponents, with loss scaling
    method: str


def _swept_gradients(simulator, y0s, args, loss, sel: Wrt, plan: HorizonPlan, loss_scaling, report) -> _Swept:
    """Every horizon's gradient in one sweep, then, for a simulator with its own adjoint, the
    norms and sketches again through that adjoint (the one the user's gradient takes)."""
    schedule = current()
    schedule.program(GROWTH)
    blocks, b = plan.blocks, plan.b
    through_steps = reverse_through_steps(simulator)
    # The all-horizon sweep (cotangent profile, forward states) goes through the exact
    # adjoint of a SwappableAdjoint simulator; the norms below then use the user's.
    sweep_sim = simulator if through_steps else simulator.with_adjoint(simulator.exact_adjoint())
    # The simulator's own adjoint is taken on the final state alone (a per-step part goes
    # through the steps).
    own_adjoint = not through_steps and not loss.accumulates
    if loss_scaling is not None and own_adjoint:
        raise ValueError("loss scaling applies to reverse mode through the steps, not to the simulator's own adjoint")
    # The user's adjoint program traces once the sweep's is lowered, and compiles with it.
    program = AdjointProgram(simulator, y0s, args, loss, sel, b, blocks) if own_adjoint else None
    if program is not None:
        schedule.on(SWEEP_LOWERED, program.start, first=True)

    log_sweep_cost(
        members_sweep_cost(y0s, horizon_lanes(len(blocks)), int(blocks[-1]) * b),
        caller="the gradient sweep",
    )
    report("gradient sweep", 0, 1)
    swept = sweep_horizons(sweep_sim, y0s, args, loss, sel, b, blocks, loss_scaling=loss_scaling)
    norms, profile, state_ok, grads, states = swept[:5]
    scale_log2 = swept[5] if loss_scaling is not None else None
    report("gradient sweep", 1, 1)
    method = _sweep_method(loss_scaling)
    if own_adjoint:
        norms, grads, reverse_note = through_adjoint(
            simulator, y0s, args, loss, sel, b, blocks, report, program, forward_ok=state_ok
        )
        method = (
            f"each horizon through the simulator's own adjoint ({adjoint_name(simulator)}); "
            "cotangent profile through the steps" + (f"; {reverse_note}" if reverse_note else "")
        )
    return _Swept(norms, profile, state_ok, grads, states, scale_log2, method)


def measure_growth(
    simulator,
    y0s,
    args,
    *,
    loss,
    sel: Wrt,
    plan: HorizonPlan,
    confidence=0.95,
    progress=None,
    loss_scaling=None,
    time_integral: bool | None = None,
    independent: bool = True,
) -> GradientGrowthResult:
    """The gradient growth of prepared members ``y0s`` (axis 0) on ``plan``'s horizons.

    No argument checks: callers validate first. Non-finite members and blow-ups are
    recorded in the result. ``loss_scaling`` (a :class:`~chaosgrad.DynamicLossScale`)
    scales each horizon's backward pass (reverse mode through the steps only).
    ``time_integral`` fits the rate on
    ``T |dL_T/dtheta|`` (``True``) or not (``False``); ``None`` decides by
    :func:`time_average_grows` (an ablation takes the user's measurement's decision, so
    that the two rates are compared on one basis). ``independent``: whether the members
    are independent (``_gradients.fit.fit_growth_rate``). Programs compiling ahead for this
    measurement are the current schedule's (``_runtime.schedule.GROWTH``).
    """
    report = progress or (lambda *a: None)
    swept = _swept_gradients(simulator, y0s, args, loss, sel, plan, loss_scaling, report)
    is_finite, zero, usable, norms = _usable(swept.norms, swept.state_ok)
    times = plan.times(simulator.dt)
    fit, time_integral, law = _fit_rate(
        simulator, loss, plan, times, norms, usable, confidence, time_integral, independent
    )
    method = swept.method
    if time_integral:
        method += "; the gradient grows, so its rate is fitted on T |dL_T/dtheta| (the time average's 1/T removed)"
    status, fit_notes = _growth_status(fit, is_finite, usable)
    first_bad = np.where(is_finite.all(axis=1), -1, np.argmin(is_finite, axis=1))
    rep = plan.reported
    template = jax.tree_util.tree_map(lambda x: x[0], y0s)
    dim = wrt_dimension(simulator, sel, template, args)
    return GradientGrowthResult(
        horizons=times,
        horizon_steps=(plan.blocks * plan.b).astype(np.int64),
        norms=norms,
        finite=usable,
        first_nonfinite_horizon=first_bad.astype(np.int64),
        rate=fit.rate,
        rate_low=fit.low,
        rate_high=fit.high,
        confidence=float(confidence),
        fit_mask=fit.mask,
        cotangent_times=(np.arange(int(plan.blocks[-1])) * plan.b * simulator.dt).astype(np.float64),
        cotangent_norms=np.where(np.isfinite(swept.profile), swept.profile, np.nan),
        wrt=sel.label,
        loss=loss.name,
        status=status,
        method=f"{method}; {fit.method}",
        dtype=simulator.dtype,
        adjoint=adjoint_name(simulator),
        state_finite=swept.state_ok.astype(bool),
        zero=zero,
        reported=rep.astype(bool),
        member_rates=fit.member_rates,
        rate_uncertainty=float(fit.standard_uncertainty),
        rate_dof=int(fit.dof),
        gradient_sketch=swept.grads[:, rep],
        state_sketch=swept.states[:, rep],
        sketch=f"gradient: {describe_sketch(dim)}; state: {describe_sketch(simulator.tangent_space(template)[0].dim)}",
        loss_scale_log2=swept.scale_log2,
        rate_of_time_integral=time_integral,
        law=law,
        member_rate_se=fit.member_se,
        member_rate_dof=fit.member_dof,
        rate_from_spread=bool(fit.from_spread),
        notes=tuple(plan.notes) + fit_notes,
    )


@float64_scope
def gradient_growth(
    simulator: AbstractSimulator,
    y0,
    args=None,
    *,
    loss=None,
    horizons,
    wrt="y0",
    members: int = 8,
    spacing: float | None = None,
    transient: float = 0.0,
    ensemble: bool = False,
    confidence: float = 0.95,
    seed: int = 0,
    progress=None,
) -> GradientGrowthResult:
    """Measure ``||dL_T / d wrt||`` over horizons and members, and its growth rate.

    Arguments:
        simulator, y0, args: as for :func:`lyapunov_spectrum`.
        loss: ``None`` (a unit linear readout of ``y(T)``), a function of the final state
            returning a scalar, or any :class:`~chaosgrad.AbstractLoss` (``FinalStateLoss(fn)``,
            ``TimeAveragedLoss(fn)``, ``ReturnLoss()`` or one of your own).
        horizons: positive increasing horizons (time units); they are rounded to whole
            blocks of steps. These are the horizons reported; the rate is fitted on an
            internal grid between their shortest and longest (``result.fit_mask``).
        wrt: what the gradient is taken with respect to: ``"y0"`` (the initial state),
            ``"args"`` (every floating leaf of ``args``) or a path into ``args``. A path
            is a key (``"rho"``), a dotted string whose steps are dict keys, sequence
            indices and attribute names (``"p.HH_gNa"``; ``"layers.0.weight"`` for an
            equinox MLP), or a tuple of the same steps (``("layers", 0, "weight")``). A
            key that itself holds a dot is taken literally when ``args`` has it. A path
            ``args`` lacks is refused with the paths it offers.
        members: ensemble size; after ``transient``, the members are states along the
            trajectory from ``y0``, between one and two ``spacing`` apart (default: the
            longest horizon, so the members' windows do not overlap and their rates are
            independent). With ``ensemble=True``, ``y0`` already holds the members on
            axis 0.
        confidence: level of the interval on the growth rate.
        seed: seed of the random gaps between members.
        progress: optional ``progress(label, done, total)`` callback.

    Returns:
        A :class:`GradientGrowthResult`. Non-finite gradients are recorded with their
        horizon, never raised; the rate is fitted on the finite part.
    """
    options = HorizonOptions(
        horizons=horizons,
        wrt=wrt,
        members=members,
        spacing=spacing,
        transient=transient,
        ensemble=ensemble,
        confidence=confidence,
        seed=seed,
        progress=progress,
    )
    simulator, y0s, args, sel, loss, plan = options.prepare(simulator, y0, args, loss)
    with Schedule():  # the user's own adjoint program compiles beside the sweep's
        return measure_growth(
            simulator,
            y0s,
            args,
            loss=loss,
            sel=sel,
            plan=plan,
            confidence=options.confidence,
            progress=options.progress,
        )
