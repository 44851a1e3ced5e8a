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

:func:`lyapunov_spectrum` runs in stages: its options and inputs checked
(:mod:`chaosgrad._spectra.options`), the cost estimated, the transient and the measuring
time run (:mod:`chaosgrad._spectra.measuring`, with the strategies of
:mod:`chaosgrad._spectra.strategies`), the result summarised
(:func:`chaosgrad._spectra.result.summarise`).
"""

from __future__ import annotations

import dataclasses
from time import monotonic

import jax
import jax.numpy as jnp
import numpy as np

from chaosgrad._checks import as_count, check_finite_input, check_step_shapes, leading_size
from chaosgrad._runtime.precision import float64_scope
from chaosgrad._runtime.sharding import shard_ensemble
from chaosgrad._simulators.base import AbstractSimulator, check_simulator, first_failure
from chaosgrad._spectra.chunks import STATE_ONLY_FRAME, _Chunks, _initial_frame, evolve_state
from chaosgrad._spectra.cost import spectrum_cost, until_converged_intervals, warn_if_costly
from chaosgrad._spectra.measuring import measure, within_episode
from chaosgrad._spectra.options import (
    SpectrumInputs,
    SpectrumOptions,
    check_inputs,
    check_options,
    fixed_time_intervals,
    interval_steps,
)
from chaosgrad._spectra.result import LyapunovResult, kaplan_yorke_dimension, summarise
from chaosgrad._spectra.strategies import UntilConverged

__all__ = [
    "LyapunovResult",
    "UntilConverged",
    "check_finite_input",
    "check_step_shapes",
    "kaplan_yorke_dimension",
    "lyapunov_spectrum",
]


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
    options = check_options(simulator, transient, interval, time, n_intervals, seed, shard, n_batches, unroll, progress)
    started = monotonic()
    inputs = check_inputs(simulator, y0, args, ensemble_axes, k)
    report, close = _cost_and_progress(options, inputs)
    strategy, budget = within_episode(simulator, inputs.y0, options)
    summary = _summary(simulator, options, inputs)
    chunks = _chunks(simulator, inputs, options)
    logs, ok, how, stop = measure(chunks, options, strategy, budget, summary=summary, started=started, report=report)
    if close is not None:
        close.close()
    return _result(summary, simulator, inputs, options, logs, ok, how, stop)


def _cost_and_progress(options: SpectrumOptions, inputs: SpectrumInputs):
    """The call's cost, logged and warned about before anything compiles (for a run until
    converged, up to its first check), and ``(report, close)``: the progress callback
    (``None`` for none) and the stderr progress drawn for a costly call, to close."""
    m, k, strategy = options.m, inputs.k, options.strategy
    first, budget_intervals = (
        until_converged_intervals(strategy, m) if strategy is not None else (options.fixed_intervals, None)
    )
    cost = spectrum_cost(
        inputs.n,
        k,
        intervals=first,
        steps_per_interval=m,
        transient_intervals=options.transient_intervals,
        members=1 if inputs.members is None else inputs.members,
        itemsize=jnp.dtype(inputs.dtype).itemsize,
        budget_intervals=budget_intervals,
    )
    costly = warn_if_costly(cost, caller=f"lyapunov_spectrum(k={k})", fix_k=k > 1)
    progress, close = options.progress, None
    if progress is None and costly:
        from chaosgrad._runtime.progress import StderrProgress

        progress = close = StderrProgress()
    return (None if progress in (None, False) else progress), close


def _chunks(simulator, inputs: SpectrumInputs, options: SpectrumOptions) -> _Chunks:
    """The chunk runner from ``y0`` and a random orthonormal frame; an ensemble is sharded
    across the devices (padded to a multiple of their number), every member of a parameter
    ensemble starting from the same state."""
    Q0 = _initial_frame(options.seed, inputs.n, inputs.k, jnp.dtype(inputs.dtype).name)
    y_axis, a_axis = inputs.axes
    if inputs.members is None:
        y_in, a_in, padded = inputs.y0, inputs.args, None
    else:
        y_in, a_in = shard_ensemble((inputs.y0, inputs.args), inputs.axes, inputs.members, enabled=options.shard)
        padded = leading_size(a_in if y_axis is None else y_in, "y0")
        if y_axis is None:  # every member starts from the same state
            y_in = jax.tree_util.tree_map(lambda x: jnp.broadcast_to(x, (padded,) + jnp.shape(x)), y_in)
    return _Chunks(simulator, y_in, a_in, Q0, m=options.m, unroll=options.unroll, members=padded, a_axis=a_axis)


def _summary(simulator, options: SpectrumOptions, inputs: SpectrumInputs):
    """``summary(logs, ok, n_int, convergence)``: the :class:`LyapunovResult` of the
    intervals measured so far."""

    def summary(logs, ok, n_int, convergence):
        return summarise(
            logs.astype(np.float64),
            ok,
            simulator=simulator,
            n=inputs.n,
            k=inputs.k,
            m=options.m,
            n_int=n_int,
            transient_steps=options.transient_steps,
            n_batches=options.n_batches,
            seed=int(options.seed),
            ensemble=inputs.members is not None,
            convergence=convergence,
        )

    return summary


def _result(
    summary, simulator, inputs: SpectrumInputs, options: SpectrumOptions, logs, ok, how, stop
) -> LyapunovResult:
    """The result of the measured intervals (the ensemble's padding dropped), with the
    step's own reason where the state became non-finite and the stop reason."""
    if inputs.members is not None:
        logs, ok = logs[: inputs.members], ok[: inputs.members]
    res = summary(logs, ok, logs.shape[1], how)
    res = _with_failure(
        res,
        simulator,
        inputs.y0,
        inputs.args,
        ok,
        members=inputs.members,
        axes=inputs.axes,
        m=options.m,
        transient_steps=options.transient_steps,
    )
    return dataclasses.replace(res, stop_reason=stop)


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
