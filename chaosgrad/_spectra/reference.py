"""The reference dynamics for lambda_physical.

For a :class:`~chaosgrad.Refinable` simulator (an ``ODESimulator``: the same vector field
in float64 with an eighth-order Runge–Kutta method, Dormand–Prince 8(5,3), diffrax
``Dopri8``) the default reference is its ``accurate_twin()``, at a step no larger than
the user's, halved until the leading exponents stop moving: two
successive estimates agree within their combined 95% intervals. A reference step at
which the reference itself blows up (a stiff system: Dopri8's real stability interval
ends near -6.9 / dt) is halved before anything is measured. For maps and rollouts the
default reference is the same step in float64 (its float64 twin); pass ``reference=`` (for example the same
environment with finer substeps) to do better.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from time import monotonic
from typing import NamedTuple, cast

import equinox as eqx
import jax
import numpy as np

from chaosgrad._errors import bad_argument
from chaosgrad._runtime.concurrent import alongside
from chaosgrad._runtime.schedule import MEASURING_TIME, current
from chaosgrad._simulators.base import AbstractSimulator
from chaosgrad._simulators.capabilities import Refinable, float64_limit, refinable
from chaosgrad._spectra.budget import SpectraBudget
from chaosgrad._spectra.lyapunov import LyapunovResult, evolve_in_intervals, lyapunov_spectrum, measured_time
from chaosgrad._spectra.settings import SpectraSettings
from chaosgrad._spectra.strategies import UntilConverged, Within

MAX_HALVINGS = 4
# Halvings allowed to find a reference step at which the reference stays finite.
MAX_STABILITY_HALVINGS = 8


def _name(simulator) -> str:
    return simulator.describe().get("solver", type(simulator).__name__)


def exponent_uncertainty(res: LyapunovResult, i: int = 0) -> float:
    """The 95% half-width of ``lambda_i`` (``LyapunovResult.uncertainty``)."""
    return float(res.uncertainty[i])


def agree(a: float, ha: float, b: float, hb: float) -> bool:
    """Two estimates agree when their difference is within the combined half-widths."""
    if a == b:
        return True
    return abs(a - b) <= math.hypot(ha, hb)


@dataclass(frozen=True)
class ReferenceRun:
    """``step_error``: how far the leading exponent moved at the last step halving (an
    estimate of the reference's own discretisation error; 0 when not halved).
    ``short_check``: convergence was confirmed by a halving the budget stopped short, so
    the returned run is the coarser one and ``step_error`` belongs in its interval."""

    simulator: AbstractSimulator
    result: LyapunovResult
    converged: bool
    note: str
    step_error: float = 0.0
    short_check: bool = False


def default_reference(simulator: AbstractSimulator) -> AbstractSimulator:
    if isinstance(simulator, Refinable):  # as refinable(), which the type checker cannot see through
        return simulator.accurate_twin()
    return simulator.with_dtype("float64")


def _with_step(reference: AbstractSimulator, dt: float) -> AbstractSimulator:
    """``reference`` at step ``dt``. Only the default reference of a :class:`Refinable`
    simulator is halved, and that is its accurate twin, Refinable too (its rule 2)."""
    return cast(Refinable, reference).with_step(dt)


def check_reference(reference, y0, args) -> AbstractSimulator:
    """The reference must step the caller's state: same structure and shapes."""
    if not isinstance(reference, AbstractSimulator):
        raise bad_argument(
            "reference",
            f"{type(reference).__name__} is not a chaosgrad simulator",
            "pass a simulator of the same physics (e.g. the same vector field with a smaller dt), or None",
        )

    def shapes(tree):
        return jax.tree_util.tree_structure(tree), [np.shape(x) for x in jax.tree_util.tree_leaves(tree)]

    try:
        # As check_step_shapes: non-array leaves of args (an equinox module's functions) are closed over.
        out = eqx.filter_eval_shape(lambda y: reference.step(0.0, y, args), reference.prepare(y0))
    except Exception as exc:
        raise bad_argument(
            "reference",
            f"cannot step the simulator's state ({type(exc).__name__}: {exc})",
            "pass a reference simulator for the same state pytree and args",
        ) from exc
    if shapes(out) != shapes(y0):
        raise bad_argument(
            "reference",
            f"maps the state to {shapes(out)[1]}, not {shapes(y0)[1]}",
            "pass a reference simulator for the same state pytree (same structure and shapes)",
        )
    return reference


def run_transient(
    simulator, reference, y0, args, time: float, *, options: SpectraSettings
) -> tuple[AbstractSimulator, object, str | None]:
    """The reference, and the state after ``time`` with it (rounded up to whole
    renormalisation intervals: the transient is the first intervals of the reference
    spectrum's own compiled loop); halves the default ODE reference's step while the
    transient blows up. Returns ``(reference, y, problem)`` where ``problem`` says what
    failed (``None`` when the transient stayed finite)."""
    ref = reference if reference is not None else default_reference(simulator)
    halvable = reference is None and refinable(simulator)
    for _ in range(MAX_STABILITY_HALVINGS + 1):
        y, finite = evolve_in_intervals(ref, y0, args, time, k=options.k, interval=options.interval)
        if finite:
            return ref, y, None
        if not halvable:
            break
        ref = _with_step(ref, ref.dt / 2)
    what = "the reference dynamics" + (f" (down to dt = {ref.dt:g})" if halvable else "")
    return ref, None, f"the transient of {time:g} time units diverged with {what}"


def _fixed_time(options: SpectraSettings, res: LyapunovResult) -> SpectraSettings:
    """After an adaptive first run, later runs measure the same time (comparable errors)."""
    if isinstance(options.time, UntilConverged):
        return options.replace(time=res.time)
    return options


def _halved(
    reference: AbstractSimulator, options: SpectraSettings, j: int
) -> tuple[AbstractSimulator, SpectraSettings]:
    """The reference at ``dt / 2^j``, with the same number of steps per renormalisation
    interval (the exponents do not depend on it): every halving runs the one compiled
    program of the first."""
    for _ in range(j):
        reference = _with_step(reference, reference.dt / 2)
    return reference, options.replace(interval=options.interval / 2**j)


def _same_time(runs) -> float | None:
    """The time every ``(simulator, options)`` of ``runs`` measures with its fixed
    time, when it is one and the same (``None`` otherwise, or when it cannot be known)."""
    try:
        times = {measured_time(sim, o.time, o.interval) for sim, o in runs}
    except Exception:  # noqa: BLE001 - bad options: the run itself reports them
        return None
    return times.pop() if len(times) == 1 else None


# A check the budget stopped short confirms the run it halves only when its interval is at
# most this many times as wide: a short run's wide interval agrees with anything. In the
# same seconds a check at dt / 2 measures half the time or less (twice as costly per time
# unit, beside the user's spectrum on the same cores): about 1.4 to 2 times as wide; three
# leaves room for a loaded machine.
SHORT_CHECK_WIDTH = 3.0


def why_not_confirmed(check: LyapunovResult, previous: LyapunovResult, longest: LyapunovResult) -> str:
    """Why ``check`` (at half the step of ``previous``) does not confirm the reference has
    converged, in words; ``""`` when it does: the leading exponents (up to two) agree
    within their combined intervals, every interval is finite (an estimate with no error
    bar, one interval as a run stopped by its budget at once may be, confirms nothing),
    and a check the budget stopped short is at most ``SHORT_CHECK_WIDTH`` times as wide
    as the longest run, ``longest``, exponent by exponent."""
    k = min(2, check.k)
    if not all(math.isfinite(float(r.uncertainty[i])) for r in (check, previous) for i in range(k)):
        return "it has no finite interval"
    for i in range(k):
        if not agree(check.exponents[i], check.uncertainty[i], previous.exponents[i], previous.uncertainty[i]):
            moved = float(check.exponents[i]) - float(previous.exponents[i])
            return f"it moved lambda_{i + 1} by {moved:+.2g}, beyond the two runs' combined intervals"
    if check.stop_reason == "time budget":
        for i in range(k):
            if float(check.uncertainty[i]) > SHORT_CHECK_WIDTH * float(longest.uncertainty[i]):
                return (
                    f"its interval of lambda_{i + 1} (+- {float(check.uncertainty[i]):.2g}) is over "
                    f"{SHORT_CHECK_WIDTH:g} times the longest run's, too short to confirm it"
                )
    return ""


def reference_spectrum(
    simulator,
    reference,
    y0,
    args,
    *,
    options: SpectraSettings,
    start: AbstractSimulator | None = None,
    budget: SpectraBudget | None = None,
) -> ReferenceRun:
    """Spectrum of the reference dynamics, with a step-halving convergence check.

    ``reference`` is the caller's (measured as given); otherwise the default reference
    is halved from ``start`` (default: :func:`default_reference`; :func:`run_transient`
    returns a start at which the reference stays finite). The returned result's measuring
    time is announced to the current schedule (``_runtime.schedule.MEASURING_TIME``) as soon as it
    is known: at once for a fixed time that every halving measures alike, after the first
    run for :class:`UntilConverged` (the halvings measure the first run's time), never
    otherwise; so that a measurement over that time can start while the halvings run.
    With a fixed time, the run at ``dt / 2``, which every convergence check needs, is
    started beside the first (``_runtime.concurrent.alongside``). With :class:`UntilConverged`
    and its ``max_seconds``, that budget covers the halvings too (``budget``, default
    from now; ``_spectra.budget`` rules 2, 3 and 5): a halving the budget stops is a check
    over a shorter time, with its own error bar; when it agrees, the longer run at the
    step it checked is returned.
    """
    fixed = not isinstance(options.time, UntilConverged)
    budget = budget if budget is not None else SpectraBudget.starting_now(options.time)

    def notify(time):
        current().announce(MEASURING_TIME, time=time)

    if reference is not None or not refinable(simulator):
        return _as_given(simulator, reference, y0, args, options, budget, notify)
    first = start if start is not None else default_reference(simulator)
    ahead = None
    if fixed:
        if (time := _same_time([_halved(first, options, j) for j in range(MAX_HALVINGS + 1)])) is not None:
            notify(time)
        halved, halved_options = _halved(first, options, 1)
        ahead = halved, alongside(lyapunov_spectrum, halved, y0, args, **halved_options.kwargs())
    run_options, deadline = options.replace(time=budget.first_run(options.time)), budget.until
    previous: LyapunovResult | None = None
    why = ""  # why the last check did not confirm the run it halved
    full: tuple[AbstractSimulator, LyapunovResult] | None = None
    moved = math.inf
    for j in range(MAX_HALVINGS + 1):
        if j == 1 and ahead is not None:
            ref, res = ahead[0], ahead[1].result()
        else:
            ref, halved_options = _halved(first, run_options, j)
            if j > 0 and deadline is not None:
                if monotonic() >= deadline:
                    break
                halved_options = halved_options.replace(time=Within(halved_options.time, deadline))
            res = lyapunov_spectrum(ref, y0, args, **halved_options.kwargs())
        if j == 0:
            run_options = _fixed_time(run_options, res)
            if not fixed:
                notify(res.time)
        if res.status == "ok" and previous is not None and previous.status == "ok":
            moved = abs(float(res.exponents[0]) - float(previous.exponents[0]))
            assert full is not None  # the first run (j = 0) set it
            why = why_not_confirmed(res, previous, full[1])
            if not why:
                return _converged(ref, res, full, moved)
        previous = res
        if j == 0 or res.stop_reason != "time budget":  # the first run sets the time; a check may stop short
            full = ref, res
    assert full is not None and previous is not None  # the first run (j = 0) never breaks the loop
    return _not_converged(full, previous, deadline, moved, why)


def _as_given(simulator, reference, y0, args, options: SpectraSettings, budget: SpectraBudget, notify) -> ReferenceRun:
    """The caller's reference, or the same step in float64 for a simulator without a step
    to halve, measured as it is (its run until converged gets the first run's share)."""
    ref = reference if reference is not None else default_reference(simulator)
    fixed = not isinstance(options.time, UntilConverged)
    if fixed and (time := _same_time([(ref, options)])) is not None:
        notify(time)
    res = lyapunov_spectrum(ref, y0, args, **options.replace(time=budget.first_run(options.time)).kwargs())
    if not fixed:
        notify(res.time)
    limit = float64_limit(ref)
    note = (
        "reference supplied by the caller"
        if reference is not None
        else "the same step in float64"
        if limit is None
        else f"the same step, not in float64: {limit}"
    )
    return ReferenceRun(ref, res, res.status == "ok", note)


def _converged(ref, res: LyapunovResult, full, moved: float) -> ReferenceRun:
    """The reference at ``ref`` confirmed by the halving ``res``; a check the budget
    stopped short confirms the longer run ``full`` it halves, which is returned with the
    check's move to be added to its interval (``short_check``)."""
    if res.stop_reason == "time budget":
        note = (
            f"{_name(full[0])} in float64, converged at dt = {full[0].dt:g} (halving the step, measured "
            f"over {res.time:g} of {full[1].time:g} time units within the halvings' wall-clock budget, "
            f"moved lambda_1 by {moved:.2g}, within the two runs' combined intervals; lambda_physical's "
            "interval includes that move)"
        )
        return ReferenceRun(full[0], full[1], True, note, moved, short_check=True)
    note = (
        f"{_name(ref)} in float64, converged at dt = {ref.dt:g} (halving the step moved the leading exponents "
        "by less than their uncertainty)"
    )
    return ReferenceRun(ref, res, True, note, moved)


def _not_converged(full, last: LyapunovResult, deadline: float | None, moved: float, why: str) -> ReferenceRun:
    """The longest run ``full`` when no halving confirmed it; ``last``: the last run,
    ``why``: why it did not confirm the run it halved."""
    ref, res = full
    spent = " (the halvings' wall-clock budget ran out)" if deadline is not None and monotonic() >= deadline else ""
    if last is not res and last.stop_reason == "time budget":
        spent += (
            f"; the last check measured {last.time:g} time units, lambda_1 {float(last.exponents[0]):+.3g} "
            f"+- {float(last.uncertainty[0]):.2g}: {why or 'it did not confirm it'}"
        )
    note = (
        f"{_name(ref)} in float64 did not converge down to dt = {ref.dt:g}{spent}; lambda_physical is the last estimate"
    )
    return ReferenceRun(ref, res, False, note, moved)


class StepSearch(NamedTuple):
    """What :func:`largest_safe_step` found: ``dt``, or ``None`` and ``why`` (empty for a
    simulator without a step to halve, where nothing was searched)."""

    dt: float | None
    why: str = ""


def largest_safe_step(
    simulator,
    y0,
    args,
    lam1_phys,
    h_phys,
    t_max,
    *,
    time,
    seed=0,
    max_halvings=10,
    max_steps=4_000_000,
    max_seconds: float | None = None,
) -> StepSearch:
    """Largest ``dt / 2^j`` at which the user's solver reproduces the physical lambda_1.

    "Reproduces" means: within the combined 95% intervals, or close enough that the gap
    changes the gradient by less than a factor of 2 over ``t_max``. Each halving measures
    lambda_1 until it is known to that precision, within ``time`` time units
    (:class:`UntilConverged`), so a step that blows up costs one chunk, not the whole
    run. ``max_seconds`` bounds the whole search (``_spectra.budget`` rule 4): a halving
    it stops counts only when its whole interval is within the factor 2 (a short run's
    wide interval agrees with anything), and no halving starts after it. ``dt`` is
    ``None`` when no halving (within the step and time budgets) gets there, or for
    simulators without a step; ``why`` then says which.
    """
    if not refinable(simulator):
        return StepSearch(None)  # nothing to search: no reason to give
    deadline = None if max_seconds is None else monotonic() + float(max_seconds)
    sim = simulator
    # Precision enough for the test below: half the gap that counts (ln 2 over t_max).
    atol = 0.5 * math.log(2.0) / t_max
    for _ in range(max_halvings):
        sim = sim.with_step(sim.dt / 2)
        if time / sim.dt > max_steps:
            return StepSearch(None, f"halving further (dt = {sim.dt:.3g}) would take over {max_steps} steps")
        left = None if deadline is None else deadline - monotonic()
        if left is not None and left <= 0:
            return StepSearch(
                None, f"the search's wall-clock budget of {max_seconds:g} s ran out before dt = {sim.dt:.3g}"
            )
        # A budget below the first length checked runs that length anyway (every interval
        # is a step or more), so it is that length at least.
        strategy = UntilConverged(
            rtol=0.05,
            atol=atol,
            max_steps=max(UntilConverged.min_intervals, int(time / sim.dt)),
            max_seconds=left if left is not None else UntilConverged.max_seconds,
        )
        res = lyapunov_spectrum(sim, y0, args, k=1, time=strategy, seed=seed)
        if res.status != "ok":
            continue
        lam, h = float(res.exponents[0]), float(res.uncertainty[0])
        if res.stop_reason == "time budget":
            if (abs(lam - lam1_phys) + h + h_phys) * t_max <= math.log(2.0):
                return StepSearch(sim.dt)
            decided = (abs(lam - lam1_phys) - h - h_phys) * t_max > math.log(2.0)
            verdict = "which does not reproduce it" if decided else "not yet decided"
            return StepSearch(
                None,
                f"the search's wall-clock budget of {max_seconds:g} s ran out at dt = {sim.dt:.3g} "
                f"(lambda_1 {lam:+.3g} +- {h:.2g} there, {verdict}; no smaller step was tried)",
            )
        if agree(lam, h, lam1_phys, h_phys) or abs(lam - lam1_phys) * t_max <= math.log(2.0):
            return StepSearch(sim.dt)
    return StepSearch(None, f"no step down to dt = {sim.dt:.3g} reproduced the physical lambda_1")
