"""``chaosgrad.shadowing_gradient``: checks, the unstable dimension from chaosgrad's own
spectrum, independent windows and their statistics (the numerics are in ``_shadowing.methods``)."""

from __future__ import annotations

import math

import jax
import numpy as np

from chaosgrad._checks import as_count, check_callable, check_probability
from chaosgrad._errors import bad_argument
from chaosgrad._gradients.losses import AbstractLoss
from chaosgrad._gradients.options import checked_inputs
from chaosgrad._gradients.sweep import split_theta
from chaosgrad._gradients.wrt import resolve_wrt
from chaosgrad._pytree import leaf_names
from chaosgrad._runtime.precision import float64_scope
from chaosgrad._shadowing.methods import (
    LSS,
    NILSS,
    default_segment_steps,
    lss_window,
    make_problem,
    nilss_window,
)
from chaosgrad._shadowing.types import ShadowingResult
from chaosgrad._spectra.lyapunov import check_step_shapes, lyapunov_spectrum
from chaosgrad._student_t import t_quantile

# Spectra longer than this many exponents are not needed to count the unstable ones in
# the systems shadowing is used on; a system with more is told to pass ``unstable=``.
MAX_SPECTRUM = 32
SPECTRUM_STEPS = 10_000


def _neutral(simulator, neutral):
    """The flow direction ``f(t, y, args)``: ``"auto"`` takes an ODE simulator's vector
    field (an autonomous flow's neutral direction) and none for a map."""
    if neutral is None:
        return None, "none"
    if callable(neutral):
        return neutral, "given"
    if neutral == "auto":
        field = getattr(simulator, "vector_field", None)
        return (field, "the simulator's vector field") if callable(field) else (None, "none (a map)")
    raise bad_argument(
        "neutral",
        f"{neutral!r} is not 'auto', None or a function f(t, y, args)",
        "pass 'auto' (an ODE's vector field), None for a non-autonomous system, or your own f",
    )


def _objective(objective):
    if isinstance(objective, AbstractLoss):
        if not objective.long_time_average:
            raise bad_argument(
                "objective",
                f"{objective.name!r} is not a long-time average of a function of the state",
                "pass J(y) -> scalar, TimeAveragedLoss(J), or a loss whose long_time_average is True",
            )
        # Loss rule 7: the integrand of a long-time average is J(y) alone.
        return (lambda y: objective.integrand(0.0, y, y)), objective.name
    if callable(objective):
        return objective, getattr(objective, "__name__", "objective")
    raise bad_argument(
        "objective",
        f"{objective!r} is not a function of the state",
        "pass J(y) -> scalar (its long-time average is differentiated), or TimeAveragedLoss(J)",
    )


def _unstable(method, simulator, y0, args, time, n):
    """``(u, source, exponents, lambda_1)``."""
    if isinstance(method, LSS):
        return 0, "not used (LSS)", np.zeros(0), math.nan
    k = min(n, MAX_SPECTRUM)
    spec = lyapunov_spectrum(simulator, y0, args, k=k, time=float(time))
    ex, unc = np.asarray(spec.exponents, float), np.asarray(spec.uncertainty, float)
    lam1 = float(ex[0]) if ex.size else math.nan
    if method.unstable is not None:
        return int(method.unstable), "given", ex, lam1
    u = int(np.sum(ex - unc > 0))
    if u == k and k < n:
        raise bad_argument(
            "method",
            f"all {k} exponents measured are positive, so the unstable dimension is unknown",
            "pass NILSS(unstable=...) with the number of positive exponents",
        )
    return u, "spectrum", ex, lam1


def _statistics(values, confidence):
    W = values.shape[0]
    mean = values.mean(axis=0) if W else np.full(values.shape[1], np.nan)
    if W < 2:
        nan, inf = np.full(values.shape[1], np.nan), np.full(values.shape[1], np.inf)
        return mean, nan, -inf, inf
    se = values.std(axis=0, ddof=1) / math.sqrt(W)
    q = t_quantile(0.5 + confidence / 2, W - 1)
    return mean, se, mean - q * se, mean + q * se


def _check(method, windows, confidence, time, dt, wrt):
    if method is None:
        method = NILSS()
    if not isinstance(method, (NILSS, LSS)):
        raise bad_argument(
            "method", f"{method!r} is not a shadowing method", "pass chaosgrad.NILSS() or chaosgrad.LSS()"
        )
    if isinstance(windows, bool) or not isinstance(windows, (int, np.integer)) or windows < 1:
        raise bad_argument(
            "windows", f"{windows!r} is not a positive int", "pass e.g. 4 (the error bar needs 2 or more)"
        )
    confidence = check_probability("confidence", confidence)
    steps = as_count("time", time, dt, allow_zero=False)
    if (
        isinstance(method, NILSS)
        and method.unstable is not None
        and (isinstance(method.unstable, bool) or not isinstance(method.unstable, int) or method.unstable < 0)
    ):
        raise bad_argument(
            "method", f"unstable={method.unstable!r} is not a non-negative int", "pass e.g. NILSS(unstable=1)"
        )
    if wrt == "y0":
        raise bad_argument(
            "wrt", "a long-time average does not depend on the initial state", "pass a parameter in args, e.g. 'rho'"
        )
    return method, steps


def _segments(method, lam1, steps: int, dt: float) -> tuple[int, int]:
    """The steps ``m`` of one segment and the segments ``K`` of one window: NILSS splits a
    window into segments (``default_segment_steps``); LSS solves a window as one."""
    if isinstance(method, NILSS):
        m = default_segment_steps(method, lam1, steps, dt)
        return m, max(1, steps // m)
    return steps, 1


def _run_windows(problem, y0, theta, u, method, m, K, steps, dt, windows: int, t0: float, seed, progress):
    """The consecutive windows' derivatives and averages from ``y0`` at ``t0``, the windows
    whose tangents became non-finite left out with a note (and a note when the windows'
    length differs from the one asked)."""
    report = progress or (lambda *a: None)
    rng = np.random.default_rng(seed)
    values, averages, notes = [], [], []
    y = y0
    for w in range(windows):
        report("shadowing windows", w, windows)
        if isinstance(method, NILSS):
            d, avg, y, ok = nilss_window(problem, y, theta, u, m, K, dt, rng, t0)
        else:
            d, avg, y, ok = lss_window(problem, y, theta, steps, dt, float(method.alpha), t0)
        t0 += K * m * dt
        if ok and np.isfinite(d).all():
            values.append(d)
            averages.append(avg)
        else:
            notes.append(f"window {w} (from t = {t0 - K * m * dt:g}) became non-finite and is left out")
    report("shadowing windows", windows, windows)
    if abs(K * m - steps) > 0:
        notes.append(f"each window is {K} segments of {m} steps = {K * m * dt:g} time units (asked: {steps * dt:g})")
    return values, averages, notes


@float64_scope
def shadowing_gradient(
    simulator,
    y0,
    args=None,
    *,
    objective,
    wrt,
    time,
    method=None,
    windows: int = 4,
    transient: float = 0.0,
    neutral="auto",
    confidence: float = 0.95,
    seed: int = 0,
    progress=None,
) -> ShadowingResult:
    """The derivative of the long-time average of ``objective(y)`` with respect to ``wrt``.

    Arguments:
        simulator, y0, args: as for :func:`~chaosgrad.lyapunov_spectrum`.
        objective: ``J(y) -> scalar`` (or ``TimeAveragedLoss(J)``).
        wrt: a path into ``args`` (``"rho"``, ``"args"`` for every floating leaf).
        time: length of one window (time units); ``windows`` consecutive windows after
            ``transient`` give the estimate and its error bar.
        method: :class:`~chaosgrad.NILSS` (default; the number of unstable directions
            from chaosgrad's spectrum of the user's step) or :class:`~chaosgrad.LSS`.
        neutral: the flow direction: ``"auto"`` (an ODE simulator's vector field; none
            for a map), ``None`` (a non-autonomous system), or ``f(t, y, args)``.

    Returns a :class:`ShadowingResult`. A window whose tangents become non-finite is left
    out and recorded (``status``), never raised.
    """
    check_callable("progress", progress, signature="progress(label, done, total)")
    simulator, y0, args, seed = checked_inputs(simulator, y0, args, seed)
    method, steps = _check(method, windows, confidence, time, simulator.dt, wrt)
    sel = resolve_wrt(wrt, args)
    J, objective_name = _objective(objective)
    check_step_shapes(simulator, y0, args)
    field, neutral_words = _neutral(simulator, neutral)
    dt = float(simulator.dt)
    if transient:
        y0 = simulator.evolve(0.0, y0, args, as_count("transient", transient, dt, allow_zero=True))
    n = int(simulator.tangent_space(y0)[0].dim)
    # The spectrum over every window, and at least SPECTRUM_STEPS steps: a short run
    # miscounts exponents near zero.
    spectrum_time = max(steps * dt * int(windows), SPECTRUM_STEPS * dt)
    u, source, exponents, lam1 = _unstable(method, simulator, y0, args, spectrum_time, n)
    problem, theta = make_problem(simulator, J, sel, args, field)
    m, K = _segments(method, lam1, steps, dt)
    values, averages, notes = _run_windows(
        problem, y0, theta, u, method, m, K, steps, dt, int(windows), float(transient), seed, progress
    )
    window_values = np.asarray(values, np.float64).reshape(-1, theta.shape[0])
    mean, se, low, high = _statistics(window_values, confidence)
    status = "ok" if len(window_values) == windows else ("partial-nonfinite" if len(window_values) else "nonfinite")
    if u == 0 and isinstance(method, NILSS):
        notes.append("no positive exponent: the derivative is that of the window average itself")
    return ShadowingResult(
        derivative=mean,
        standard_error=se,
        low=low,
        high=high,
        confidence=float(confidence),
        window_derivatives=window_values,
        window_averages=np.asarray(averages, np.float64),
        average=float(np.mean(averages)) if averages else float("nan"),
        unstable=int(u),
        unstable_source=source,
        exponents=exponents,
        neutral=neutral_words,
        method=method.name,
        segments=int(K),
        segment_steps=int(m),
        window_time=K * m * dt,
        parameters=tuple(_parameter_names(split_theta(sel, args)[0], sel.label)),
        wrt=sel.label,
        objective=objective_name,
        status=status,
        notes=tuple(notes),
    )


def _parameter_names(tree, label):
    leaves = jax.tree_util.tree_leaves(tree)
    names = leaf_names(tree)
    out: list[str] = []
    for name, leaf in zip(names, leaves):
        size = int(np.size(leaf))
        base = label if name == "(the state)" else f"{label}{name}"
        out.extend([base] if size == 1 else [f"{base}[{i}]" for i in range(size)])
    return out


__all__ = ["LSS", "NILSS", "shadowing_gradient"]
