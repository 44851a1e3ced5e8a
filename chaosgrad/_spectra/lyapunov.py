"""Lyapunov spectra of a simulator's own numerical step (Benettin/QR).

For the map ``y_{n+1} = F(y_n)`` with Jacobian ``J_n = DF(y_n)``, the Lyapunov exponents
are the growth rates of the QR factors of the tangent propagator:

    J_{N-1} ... J_1 J_0 Q_0 = Q_N R_N ... R_1,   lambda_i = lim (1 / (N dt)) sum_j ln |R_j[i, i]|

(Benettin, Galgani, Giorgilli & Strelcyn, Meccanica 15, 1980; Shimada & Nagashima,
Prog. Theor. Phys. 61, 1979). Each step advances the state and the tangent columns with
``simulator.tangent_step`` (by default ``jax.jvp`` through ``simulator.step``, ``vmap``-ed
over columns so the primal step is computed once; ``ODESimulator`` with an explicit
Runge–Kutta solver at a constant step integrates the variational equations with the same
tableau instead, see its ``tangent_step``), inside a ``lax.scan`` over the ``m`` steps of
a renormalisation interval, inside one compiled *chunk* (:mod:`chaosgrad._spectra.chunks`):
a loop over a traced number of intervals (at most ``CHUNK``). Every run is a sequence of
calls of that one program, continuing from the last state and frame: the transient (logs
discarded), a fixed ``time`` (or ``n_intervals``), or :class:`UntilConverged`, which
extends the run until the leading exponent's 95% interval is small against its size or
the step budget is spent.
The program depends on the simulator's static part, the shapes, ``m`` and ``k`` only: the
step size of an ``ODESimulator``, the parameters, the state and the count are values, so
a reference and its step halvings (at the same steps per interval), a transient and the
members sampled along a trajectory compile nothing new. The random initial frame is drawn
on the host (NumPy), so no device program is compiled for it either.
Because the tangent map is that of the user's *own* step (their solver, step size and
dtype), the result is lambda_numerical; with a converged reference step it is
lambda_physical.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from time import monotonic

import jax
import jax.numpy as jnp
import numpy as np

from chaosgrad._checks import (
    as_count,
    check_callable,
    check_count,
    check_finite_input,
    check_flag,
    check_seed,
    check_state,
    check_step_shapes,
    leading_size,
)
from chaosgrad._errors import bad_argument
from chaosgrad._runtime.precision import float64_scope
from chaosgrad._runtime.sharding import shard_ensemble
from chaosgrad._simulators.base import AbstractSimulator, check_simulator, first_failure
from chaosgrad._simulators.episodes import check_spectrum_in_episode
from chaosgrad._simulators.probe import check_closed_tangent
from chaosgrad._spectra.chunks import MAX_INTERVALS, STATE_ONLY_FRAME, _Chunks, _initial_frame, evolve_state
from chaosgrad._spectra.cost import spectrum_cost, until_converged_intervals, warn_if_costly
from chaosgrad._spectra.result import LyapunovResult, kaplan_yorke_dimension, summarise

__all__ = [
    "LyapunovResult",
    "UntilConverged",
    "check_finite_input",
    "check_step_shapes",
    "kaplan_yorke_dimension",
    "lyapunov_spectrum",
]


# ---------------------------------------------------------------------------- until converged


@dataclass(frozen=True)
class UntilConverged:
    """Measuring-time strategy: run until the leading exponent is known well enough.

    The run is extended (doubling, from ``min_intervals`` renormalisation intervals)
    until the 95% half-width of lambda_1 is at most ``rtol * |lambda_1| + atol``, or
    until a budget is spent: ``max_steps`` steps, or ``max_seconds`` of wall-clock time;
    ``result.stop_reason`` (``"converged"``, ``"step budget"``, ``"time budget"``) and
    ``result.convergence`` say which. The time is then set by the system's own
    fluctuations and time scale (a slow or strongly fluctuating exponent takes longer),
    not by a step count.

    Arguments:
        rtol: relative half-width to reach (default 2%: well inside the typical
            gradient-rate interval, so lambda_1 does not dominate the comparison).
        atol: absolute half-width that is also good enough (1 / time unit), for
            exponents near zero; ``diagnose`` sets it to a tenth of ln 2 over the longest
            horizon (an error that changes the gradient there by under 7%).
        max_steps: the step budget, in steps of the simulator (the transient not included).
        max_seconds: the wall-clock budget of the whole call (compilation and transient
            included), or ``None`` for none. The run is checked about once a second
            (``_spectra.chunks.PACE``) and stops at the first check past it, with the
            estimate so far; at least one interval is measured. Default five minutes:
            the runs until converged of ``diagnose`` on the bundled systems take seconds
            on a 2-core machine, so it only stops a run that would otherwise go on for
            many minutes with no answer (a 1,024-dimensional vorticity field ran over ten).
            A run stopped by it depends on the machine's speed; ``stop_reason`` says so.
            For the reference spectrum of ``diagnose`` it covers the step halvings that
            check the reference's convergence too (``chaosgrad._spectra.reference``): the first
            run gets half of it.
        min_intervals: the first length checked (20 batches of 20 intervals).
    """

    rtol: float = 0.02
    atol: float = 0.0
    max_steps: int = 500_000
    min_intervals: int = 400
    max_seconds: float | None = 300.0

    def __post_init__(self):
        for name in ("rtol", "atol"):
            v = getattr(self, name)
            if not isinstance(v, (int, float)) or not math.isfinite(v) or v < 0:
                raise bad_argument(name, f"{v!r} is not a non-negative number", "pass e.g. 0.02")
        if self.rtol == 0 and self.atol == 0:
            raise bad_argument("rtol", "rtol and atol are both 0, so the run could never stop early", "pass rtol=0.02")
        for name in ("max_steps", "min_intervals"):
            v = getattr(self, name)
            check_count(name, v, example=500_000 if name == "max_steps" else 400)
        if self.max_steps < self.min_intervals:  # every interval is one step or more
            raise bad_argument(
                "max_steps",
                f"{self.max_steps} is below min_intervals = {self.min_intervals}, the "
                "first length checked, so the budget could only be overspent",
                f"pass max_steps >= {self.min_intervals}, or a smaller min_intervals",
            )
        v = self.max_seconds
        if v is not None and (isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or v <= 0):
            raise bad_argument(
                "max_seconds",
                f"{v!r} is not a positive number of seconds",
                "pass e.g. 300.0, or None for no wall-clock budget",
            )

    def done(self, res: LyapunovResult) -> bool:
        lam, h = float(res.exponents[0]), float(res.uncertainty[0])
        return lam == -math.inf or (math.isfinite(h) and h <= self.rtol * abs(lam) + self.atol)


@dataclass(frozen=True)
class Within:
    """Measuring-time strategy of a check (``chaosgrad._spectra.reference``'s step halvings): the
    fixed ``time``, unless the wall clock passes ``deadline`` (a ``time.monotonic()``
    value) first; the run then stops at the first check past it (about once a second,
    ``_spectra.chunks.PACE``), with at least one interval measured, and its result
    (``stop_reason == "time budget"``) has the error bar of the time it measured. A run
    that ends before the deadline is the fixed-time run, number for number."""

    time: float
    deadline: float


def _run_until(
    strategy: UntilConverged,
    chunks: _Chunks,
    *,
    n_transient_intervals,
    transient_ok,
    summary,
    budget: str | None = None,
    deadline=None,
    report=None,
):
    """Chunks of ``strategy.min_intervals`` intervals, doubling the measured length until
    ``strategy.done`` or a budget (``max_steps``; ``deadline``, a ``time.monotonic()``
    value); ``report(done, total)`` in intervals, against the step budget. ``budget``
    names the step budget when it is not the strategy's own (the end of an episode).
    Returns ``(logs, ok, convergence, stop_reason)``."""
    chunk = int(strategy.min_intervals)
    max_intervals = max(chunk, strategy.max_steps // chunks.m)
    logs, oks, target, n = [], [], chunk, 0
    while True:
        lg, ok = chunks.run(
            target - n,
            deadline=deadline,
            report=None if report is None else (lambda done, n=n: report(n + done, max_intervals)),
        )
        logs.append(lg)
        oks.append(ok & transient_ok[:, None])
        n += lg.shape[1]
        lg_all, ok_all = np.concatenate(logs, axis=1), np.concatenate(oks, axis=1)
        res = summary(lg_all, ok_all, n, "")
        if res.status != "ok":
            return lg_all, ok_all, "stopped where the run became non-finite", "non-finite"
        width = f"lambda_1's 95% half-width {float(res.uncertainty[0]):.2g}"
        goal = f"{strategy.rtol:g} |lambda_1| + {strategy.atol:.2g}"
        if strategy.done(res):
            return lg_all, ok_all, f"converged: {width} <= {goal}", "converged"
        if n >= max_intervals:
            spent = f"{budget} was reached" if budget else f"the budget of {strategy.max_steps} steps was spent"
            how = f"not converged: {spent} with {width} > {goal}"
            return lg_all, ok_all, how, "episode end" if budget else "step budget"
        if deadline is not None and monotonic() >= deadline:
            how = (
                f"not converged: the wall-clock budget of {strategy.max_seconds:g} s was spent after "
                f"{n * chunks.m} steps with {width} > {goal}; pass UntilConverged(max_seconds=...) "
                f"for more, a fixed time=, or a smaller k="
            )
            return lg_all, ok_all, how, "time budget"
        target = min(2 * target, max_intervals)


def _with_failure(res: LyapunovResult, simulator, y0, args, ok, *, members, axes, m, transient_steps) -> LyapunovResult:
    """When the state became non-finite, replay the first member that did with
    ``advance`` (contract rule 9) and record the step's own reason, if it reported one."""
    if res.status == "ok" or res.nonfinite_quantity != "state":
        return res
    ok = np.asarray(ok)
    bad_at = np.where(ok.all(axis=1), ok.shape[1], np.argmin(ok, axis=1))
    i = int(np.argmin(bad_at))
    y_axis, a_axis = axes
    take = lambda tree, axis: tree if members is None or axis is None else jax.tree_util.tree_map(lambda x: x[i], tree)
    n_steps = -(-transient_steps // m) * m + (int(bad_at[i]) + 1) * m
    found = first_failure(simulator, take(y0, y_axis), take(args, a_axis), n_steps)
    if found is None:
        return res
    step, why = found
    return dataclasses.replace(res, failure=f"step {step} (t = {step * simulator.dt:g}): {why}")


def default_interval_steps(dt: float) -> int:
    """Steps per renormalisation interval by default: one for a map or rollout counted in
    steps (``dt >= 1``), else ten."""
    return 1 if dt >= 1 else 10


def interval_steps(dt: float, interval: float | None) -> int:
    """Steps per renormalisation interval: ``interval`` as a whole number of steps, or
    :func:`default_interval_steps` when it is ``None``."""
    return default_interval_steps(dt) if interval is None else as_count("interval", interval, dt, allow_zero=False)


def check_interval_count(name: str, n_int: int) -> None:
    """Every interval's logs come back to the host (k floats each): at most ``MAX_INTERVALS``."""
    if n_int > MAX_INTERVALS:
        raise bad_argument(
            name,
            f"asks for {n_int} renormalisation intervals, more than {MAX_INTERVALS}",
            "pass a shorter time, a longer interval, or time=UntilConverged()",
        )


def fixed_time_intervals(name: str, time, dt: float, m: int) -> int:
    """A fixed measuring ``time`` as a number of intervals of ``m`` steps, checked."""
    n_int = as_count(name, time, dt * m, allow_zero=False, unit="one renormalisation interval ({dt:g})")
    check_interval_count(name, n_int)
    return n_int


@float64_scope
def lyapunov_spectrum(
    simulator: AbstractSimulator,
    y0,
    args=None,
    *,
    k: int | None = None,
    transient: float = 0.0,
    interval: float | None = None,
    time: float | UntilConverged | None = None,
    n_intervals: int | None = None,
    ensemble_axes: tuple[int | None, int | None] | None = None,
    n_batches: int = 20,
    seed: int = 0,
    unroll: int = 1,
    shard: bool = True,
    progress=None,
) -> LyapunovResult:
    """Lyapunov spectrum of ``simulator``'s numerical step by Benettin/QR.

    Arguments:
        simulator: any :class:`AbstractSimulator`.
        y0: initial state (any pytree), cast to the simulator's dtype.
        args: parameters passed to every step.
        k: number of leading exponents (default: all, the state dimension).
        transient: time to integrate before measuring (discarded).
        interval: renormalisation interval tau (default: one step for maps and rollouts
            with ``dt = 1``, else about 10 steps). Rounded to whole steps.
        time: the measured time, or :class:`UntilConverged` to measure until the
            leading exponent's interval is small against its size; alternatively
            ``n_intervals``.
        ensemble_axes: ``(axis_of_y0, axis_of_args)`` as for ``jax.vmap`` (``0`` or
            ``None``), to run many initial states and/or parameter sets in one call. The
            ensemble is sharded across all visible devices (``shard=False`` to keep it on
            one device).
        n_batches: batches for the batch-means standard error of a single trajectory.
        seed: seed of the random orthonormal initial tangent frame.
        unroll: ``lax.scan`` unroll of the inner step loop (speed only).
        progress: ``progress(label, done, total)`` callback (as for ``diagnose``), called
            about once a second with the intervals done; ``None``: none, except for a
            call whose cost estimate passed the threshold of its :class:`CostWarning`,
            which draws its progress on stderr (``chaosgrad._runtime.progress.StderrProgress``);
            ``False``: never.

    Before anything compiles, the call's cost (steps, tangent columns, floating-point
    work of the tangent steps and the QR, bytes of the frame and of the logs;
    ``chaosgrad._spectra.cost.spectrum_cost``) is logged on the ``chaosgrad`` logger (INFO), and
    a :class:`chaosgrad.CostWarning` names it and the fix (``k=``) when it is large.

    Returns:
        A :class:`LyapunovResult`; ``status == "nonfinite"`` if the state or the tangent
        frame became non-finite, with the estimate from the intervals before it kept.
        A direction that collapses exactly has exponent ``-inf`` and is not a failure.
    """
    simulator = check_simulator(simulator)
    dt = simulator.dt
    transient_steps = as_count("transient", transient, dt, allow_zero=True)
    m = interval_steps(dt, interval)
    if (time is None) == (n_intervals is None):
        raise bad_argument("time", "give exactly one of `time` and `n_intervals`", "pass e.g. time=1000.0")
    within = time if isinstance(time, Within) else None
    if within is not None:
        time = within.time
    strategy = time if isinstance(time, UntilConverged) else None
    if strategy is None and time is not None:
        n_int = fixed_time_intervals("time", time, dt, m)
    elif strategy is None:
        if not isinstance(n_intervals, (int, np.integer)) or n_intervals < 1:
            raise bad_argument("n_intervals", f"{n_intervals!r} is not a positive int", "pass e.g. 1000")
        n_int = int(n_intervals)
        check_interval_count("n_intervals", n_int)
    seed = check_seed(seed)
    shard = check_flag("shard", shard)
    n_batches = check_count("n_batches", n_batches, minimum=2, example=20)  # batch means need two batches
    unroll = check_count("unroll", unroll, example=1)
    if progress is not False:
        check_callable("progress", progress, signature="progress(label, done, total), or False")
    started = monotonic()

    axes = (None, None) if ensemble_axes is None else ensemble_axes
    if not isinstance(axes, (tuple, list)) or len(axes) != 2:
        raise bad_argument(
            "ensemble_axes",
            f"{ensemble_axes!r} is not a pair of 0/None with at least one 0",
            "pass (0, None) for many initial states, (None, 0) for many parameter sets",
        )
    y_axis, a_axis = axes
    if ensemble_axes is not None and (
        y_axis not in (0, None) or a_axis not in (0, None) or (y_axis is None and a_axis is None)
    ):
        raise bad_argument(
            "ensemble_axes",
            f"{ensemble_axes!r} is not a pair of 0/None with at least one 0",
            "pass (0, None) for many initial states, (None, 0) for many parameter sets",
        )
    y0 = check_state("y0", y0, prepare=simulator.prepare)
    check_finite_input("args", args)

    members = None
    if y_axis == 0:
        members = leading_size(y0, "y0")
    if a_axis == 0:
        m_args = leading_size(args, "args")
        if members is not None and m_args != members:
            raise bad_argument("args", f"has {m_args} members but y0 has {members}", "use equal ensemble sizes")
        members = m_args
    one_y = jax.tree_util.tree_map(lambda x: x[0], y0) if y_axis == 0 else y0
    one_a = jax.tree_util.tree_map(lambda x: x[0], args) if a_axis == 0 else args
    check_step_shapes(simulator, one_y, one_a)
    check_closed_tangent(simulator, one_y, one_a)

    flat, u_template, _ = simulator.tangent_space(one_y)
    n = flat.dim
    if n == 0:
        raise bad_argument("y0", "has no floating-point leaves", "pass a state with float arrays")
    k = n if k is None else k
    if isinstance(k, (bool, np.bool_)) or not isinstance(k, (int, np.integer)) or not 1 <= k <= n:
        raise bad_argument("k", f"{k!r} is not between 1 and the state dimension {n}", f"pass 1 <= k <= {n}")
    k = int(k)

    # The cost, before anything compiles: for a run until converged, up to its first check.
    n_tr = -(-transient_steps // m)
    first, budget_intervals = until_converged_intervals(strategy, m) if strategy is not None else (n_int, None)
    cost = spectrum_cost(
        n,
        k,
        intervals=first,
        steps_per_interval=m,
        transient_intervals=n_tr,
        members=1 if members is None else members,
        itemsize=jnp.dtype(flat.dtype).itemsize,
        budget_intervals=budget_intervals,
    )
    costly = warn_if_costly(cost, caller=f"lyapunov_spectrum(k={k})", fix_k=k > 1)
    close = None
    if progress is None and costly:
        from chaosgrad._runtime.progress import StderrProgress

        progress = close = StderrProgress()
    report = None if progress in (None, False) else progress

    def summary(logs, ok, n_int, convergence):
        return summarise(
            logs.astype(np.float64),
            ok,
            simulator=simulator,
            n=n,
            k=k,
            m=m,
            n_int=n_int,
            transient_steps=transient_steps,
            n_batches=n_batches,
            seed=int(seed),
            ensemble=members is not None,
            convergence=convergence,
        )

    def finish(logs, ok, n_int, convergence):
        res = summary(logs, ok, n_int, convergence)
        return _with_failure(
            res, simulator, y0, args, ok, members=members, axes=(y_axis, a_axis), m=m, transient_steps=transient_steps
        )

    # Within the episode of y0 (``_simulators.episodes``): refused past its end, UntilConverged's
    # budget ends there.
    budget: str | None = None
    left = check_spectrum_in_episode(
        simulator,
        y0,
        transient_steps=-(-transient_steps // m) * m,
        measured_steps=None if strategy is not None else n_int * m,
        argument="time" if time is not None else "n_intervals",
    )
    if strategy is not None and left is not None and left < strategy.max_steps:
        if left < m:
            raise bad_argument(
                "transient",
                f"leaves {left} steps of the episode, less than one renormalisation interval ({m} steps)",
                "pass a shorter transient or interval",
            )
        strategy = dataclasses.replace(strategy, max_steps=left, min_intervals=min(strategy.min_intervals, left // m))
        budget = f"the episode's end ({left} steps after the transient)"
    dtype = jnp.dtype(flat.dtype).name
    Q0 = _initial_frame(seed, n, k, dtype)
    if members is None:
        y_in, a_in, padded = y0, args, None
    else:
        y_in, a_in = shard_ensemble((y0, args), (y_axis, a_axis), members, enabled=shard)
        padded = leading_size(a_in if y_axis is None else y_in, "y0")
        if y_axis is None:  # every member starts from the same state
            y_in = jax.tree_util.tree_map(lambda x: jnp.broadcast_to(x, (padded,) + jnp.shape(x)), y_in)
    chunks = _Chunks(simulator, y_in, a_in, Q0, m=m, unroll=unroll, members=padded, a_axis=a_axis)
    # The transient evolves the tangent frame too (whole intervals, logs discarded), so
    # measurement starts from a frame aligned with the leading Lyapunov directions and
    # the 1/T bias of a random initial frame is not in the estimate.
    label = "Lyapunov spectrum"
    transient_ok = chunks.transient(
        n_tr, report=None if report is None else (lambda done: report(f"{label}: transient", done, n_tr))
    )
    if strategy is not None:
        deadline = None if strategy.max_seconds is None else started + float(strategy.max_seconds)
        logs, ok, how, stop = _run_until(
            strategy,
            chunks,
            n_transient_intervals=n_tr,
            transient_ok=transient_ok,
            summary=summary,
            budget=budget,
            deadline=deadline,
            report=None if report is None else (lambda done, total: report(f"{label} until converged", done, total)),
        )
    else:
        logs, ok = chunks.run(
            n_int,
            report=None if report is None else (lambda done: report(label, done, n_int)),
            deadline=None if within is None else within.deadline,
        )
        ok = ok & transient_ok[:, None]
        how, stop = f"fixed time {n_int * m * dt:g}", "fixed time"
        if logs.shape[1] < n_int:
            how, stop = (
                (
                    f"stopped by its wall-clock budget after {logs.shape[1] * m * dt:g} of the fixed time "
                    f"{n_int * m * dt:g}"
                ),
                "time budget",
            )
    if close is not None:
        close.close()
    if members is not None:
        logs, ok = logs[:members], ok[:members]
    return dataclasses.replace(finish(logs, ok, logs.shape[1], how), stop_reason=stop)


def _one_trajectory(simulator, y0, args, k: int, interval: float) -> _Chunks:
    """The chunk runner of one trajectory, as :func:`lyapunov_spectrum` builds it for these
    ``k`` and ``interval`` (so its compiled program is that one)."""
    simulator = check_simulator(simulator)
    m = as_count("interval", interval, simulator.dt, allow_zero=False)
    y0 = simulator.prepare(y0)
    flat = simulator.tangent_space(y0)[0]
    return _Chunks(
        simulator,
        y0,
        args,
        _initial_frame(0, flat.dim, k, jnp.dtype(flat.dtype).name),
        m=m,
        unroll=1,
        members=None,
        a_axis=None,
    )


def evolve_in_intervals(simulator, y0, args, time: float, *, k: int, interval: float):
    """The state after ``time`` (rounded up to whole renormalisation intervals), run with
    the same compiled chunk program as :func:`lyapunov_spectrum` with these ``k`` and
    ``interval``, so that a transient before a spectrum compiles nothing of its own; for a
    large frame (``n k >= STATE_ONLY_FRAME``) the state alone, whose steps then cost a
    fraction of the frame's (:func:`chaosgrad._spectra.chunks.evolve_state`).
    Returns ``(y, finite)``."""
    chunks = _one_trajectory(simulator, y0, args, k, interval)
    steps = max(0, int(round(time / chunks.simulator.dt)))
    n_int = -(-steps // chunks.m)
    if chunks.carry[2].size >= STATE_ONLY_FRAME:
        return evolve_state(chunks.simulator, chunks.state, args, n_int, chunks.m)
    ok = chunks.transient(n_int)
    return chunks.state, bool(ok.all())


def states_in_intervals(simulator, y0, args, gaps, *, k: int, interval: float):
    """The states after each cumulative gap (in steps, each rounded up to whole
    renormalisation intervals) along one trajectory from ``y0``, stacked along a new
    leading axis, run with the chunk program of :func:`evolve_in_intervals` (the
    reference's own: members sampled along the reference trajectory compile nothing)."""
    chunks = _one_trajectory(simulator, y0, args, k, interval)
    states = []
    for gap in gaps:
        chunks.run(-(-int(gap) // chunks.m))
        states.append(jax.tree_util.tree_map(np.asarray, chunks.state))
    return jax.tree_util.tree_map(lambda *xs: np.stack(xs), *states)


def measured_time(simulator, time: float, interval: float | None) -> float:
    """The time a :func:`lyapunov_spectrum` of ``simulator`` with this fixed ``time`` and
    ``interval`` measures (its result's ``time``): a whole number of intervals."""
    dt = simulator.dt
    m = interval_steps(dt, interval)
    return float(fixed_time_intervals("time", time, dt, m) * (dt * m))


def options_cost(simulator, n: int, options: dict):
    """:func:`chaosgrad._spectra.cost.spectrum_cost` of one spectrum of an ``n``-dimensional
    state with the options ``options`` of :func:`lyapunov_spectrum` (``k``, ``interval``,
    ``time``; float64, as the reference runs); ``None`` for options that cannot be costed
    (the run itself refuses them, naming the argument)."""
    try:
        dt = simulator.dt
        m = interval_steps(dt, options.get("interval"))
        k = int(options.get("k") or n)
        time = options.get("time")
        if isinstance(time, UntilConverged):
            first, budget = until_converged_intervals(time, m)
        else:
            first, budget = fixed_time_intervals("time", time, dt, m), None
    except Exception:  # noqa: BLE001 - the run itself names a bad option
        return None
    return spectrum_cost(n, k, intervals=first, steps_per_interval=m, budget_intervals=budget)


def warn_spectrum_cost(simulator, n: int, options: dict, *, caller: str) -> bool:
    """:func:`chaosgrad._spectra.cost.warn_if_costly` for :func:`options_cost`, before anything
    compiles (``diagnose`` calls it for its spectra)."""
    cost = options_cost(simulator, n, options)
    return cost is not None and warn_if_costly(cost, caller=caller, fix_k=cost.k > 1)


def lower_spectrum(simulator, y0, args, *, k: int, interval: float):
    """The program :func:`lyapunov_spectrum` will run for one trajectory with these ``k``
    and ``interval``, lowered (``diagnose`` compiles it in the background for the user's
    spectrum while the reference's runs)."""
    return _one_trajectory(simulator, y0, args, k, interval).lower()
