"""The measuring stage of :func:`chaosgrad.lyapunov_spectrum`, after the transient: a fixed
number of intervals (that a :class:`~chaosgrad._spectra.strategies.Within` deadline may cut
short), or :class:`~chaosgrad.UntilConverged`'s doubling runs. Either returns the logs and
two words on how it ended: ``convergence`` (a sentence) and ``stop_reason``, one of
``"fixed time"``, ``"converged"``, ``"step budget"``, ``"episode end"``, ``"time budget"``
and ``"non-finite"``. The reasons are pure functions of what was measured
(:func:`fixed_stop`, :func:`until_stop`); an episode's end is a step budget
(:func:`within_episode`).
"""

from __future__ import annotations

import dataclasses
from time import monotonic

import numpy as np

from chaosgrad._errors import bad_argument
from chaosgrad._simulators.episodes import check_spectrum_in_episode
from chaosgrad._spectra.chunks import _Chunks
from chaosgrad._spectra.options import SpectrumOptions
from chaosgrad._spectra.result import LyapunovResult
from chaosgrad._spectra.strategies import UntilConverged


def within_episode(simulator, y0, options: SpectrumOptions) -> tuple[UntilConverged | None, str | None]:
    """The measuring time within the episode of ``y0`` (``_simulators.episodes``): refused
    past its end, and :class:`~chaosgrad.UntilConverged`'s step budget ends there. Returns
    ``(strategy, budget)``, ``budget`` naming the episode's end when it binds."""
    strategy, m = options.strategy, options.m
    left = check_spectrum_in_episode(
        simulator,
        y0,
        transient_steps=options.transient_intervals * m,
        measured_steps=None if strategy is not None else options.fixed_intervals * m,
        argument=options.argument,
    )
    if strategy is None or left is None or left >= strategy.max_steps:
        return strategy, None
    if left < m:
        raise bad_argument(
            "transient",
            f"leaves {left} steps of the episode, less than one renormalisation interval ({m} steps)",
            "pass a shorter transient or interval",
        )
    strategy = dataclasses.replace(strategy, max_steps=left, min_intervals=min(strategy.min_intervals, left // m))
    return strategy, f"the episode's end ({left} steps after the transient)"


def fixed_stop(n_int: int, measured: int, m: int, dt: float) -> tuple[str, str]:
    """``(convergence, stop_reason)`` of a fixed time of ``n_int`` intervals that measured
    ``measured`` (fewer when a deadline passed first)."""
    if measured < n_int:
        how = f"stopped by its wall-clock budget after {measured * m * dt:g} of the fixed time {n_int * m * dt:g}"
        return how, "time budget"
    return f"fixed time {n_int * m * dt:g}", "fixed time"


def run_fixed(chunks: _Chunks, n_int: int, *, transient_ok, deadline=None, report=None):
    """``n_int`` intervals, or fewer when ``deadline`` passes first; ``report(done, total)``.
    Returns ``(logs, ok, convergence, stop_reason)``."""
    logs, ok = chunks.run(
        n_int, report=None if report is None else (lambda done: report(done, n_int)), deadline=deadline
    )
    how, stop = fixed_stop(n_int, logs.shape[1], chunks.m, chunks.simulator.dt)
    return logs, ok & transient_ok[:, None], how, stop


def until_stop(
    strategy: UntilConverged, res: LyapunovResult, *, steps: int, spent: bool, budget: str | None, out_of_time: bool
) -> tuple[str, str] | None:
    """Whether a run until converged stops with the estimate ``res`` after ``steps`` steps, and
    why: ``(convergence, stop_reason)``, or ``None`` to go on. In order: a non-finite run, the
    goal reached, the step budget ``spent`` (``budget`` names it when it is not the
    strategy's own: the end of an episode), the wall clock past its deadline."""
    if res.status != "ok":
        return "stopped where the run became non-finite", "non-finite"
    width = f"lambda_1's 95% half-width {float(res.uncertainty[0]):.2g}"
    goal = f"{strategy.rtol:g} |lambda_1| + {strategy.atol:.2g}"
    if strategy.done(res):
        return f"converged: {width} <= {goal}", "converged"
    if spent:
        spent_how = f"{budget} was reached" if budget else f"the budget of {strategy.max_steps} steps was spent"
        return f"not converged: {spent_how} with {width} > {goal}", "episode end" if budget else "step budget"
    if out_of_time:
        how = (
            f"not converged: the wall-clock budget of {strategy.max_seconds:g} s was spent after "
            f"{steps} steps with {width} > {goal}; pass UntilConverged(max_seconds=...) "
            f"for more, a fixed time=, or a smaller k="
        )
        return how, "time budget"
    return None


def run_until(
    strategy: UntilConverged,
    chunks: _Chunks,
    *,
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
    ``summary(logs, ok, n_int, convergence)`` is the estimate so far.
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
        out_of_time = deadline is not None and monotonic() >= deadline
        stop = until_stop(
            strategy,
            summary(lg_all, ok_all, n, ""),
            steps=n * chunks.m,
            spent=n >= max_intervals,
            budget=budget,
            out_of_time=out_of_time,
        )
        if stop is not None:
            return lg_all, ok_all, *stop
        target = min(2 * target, max_intervals)


def measure(chunks: _Chunks, options: SpectrumOptions, strategy, budget, *, summary, started: float, report=None):
    """The transient, then the measuring time: until converged (``strategy``, its
    wall-clock budget counted from ``started``) or the fixed time; ``report(label, done,
    total)``. Returns ``(logs, ok, convergence, stop_reason)``."""
    # The transient evolves the tangent frame too (whole intervals, logs discarded), so
    # measurement starts from a frame aligned with the leading Lyapunov directions and
    # the 1/T bias of a random initial frame is not in the estimate.
    label, n_tr = "Lyapunov spectrum", options.transient_intervals
    transient_ok = chunks.transient(
        n_tr, report=None if report is None else (lambda done: report(f"{label}: transient", done, n_tr))
    )
    if strategy is not None:
        return run_until(
            strategy,
            chunks,
            transient_ok=transient_ok,
            summary=summary,
            budget=budget,
            deadline=None if strategy.max_seconds is None else started + float(strategy.max_seconds),
            report=None if report is None else (lambda done, total: report(f"{label} until converged", done, total)),
        )
    return run_fixed(
        chunks,
        options.fixed_intervals,
        transient_ok=transient_ok,
        deadline=options.deadline,
        report=None if report is None else (lambda done, total: report(label, done, total)),
    )
