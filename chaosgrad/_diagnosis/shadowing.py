"""When the verdict is ``intrinsic-explosion``: the usable derivative, by shadowing.

The finite-horizon gradient of a chaotic system really is huge (that is what the verdict
says); for a long-time average, the derivative of the average itself is finite and
:func:`~chaosgrad.shadowing_gradient` computes it. :func:`shadowing_applies` is the pure
rule: it says whether shadowing applies to this diagnosis, and why not when it does not.
"""

from __future__ import annotations

import math

from chaosgrad._diagnosis.types import Recommendation

# A window of this many Lyapunov times, and this many windows: the shadowing error of
# Lorenz-63 is then about 0.005 (tests/test_shadowing.py), a small cost beside the sweep.
WINDOW_LYAPUNOV_TIMES = 20.0
WINDOWS = 4
MAX_WINDOW_STEPS = 20_000


def shadowing_applies(verdict: str, physics: str, time_averaged: bool, wrt_state: bool) -> tuple[bool, str | None]:
    """``(applies, why not)``: for chaotic physics whose gradient explodes intrinsically, or
    whose verdict is inconclusive (a time average's gradient reaches lambda_1 only at long
    horizons: the derivative of the average is the answer either way), when the loss is a
    long-time average and ``wrt`` a parameter. Never after a numerical verdict: the user's
    map is then not the physics, and its shadowing derivative would be that of the wrong
    system."""
    if physics != "chaotic" or verdict not in ("intrinsic-explosion", "inconclusive"):
        return False, None
    if wrt_state:
        return False, (
            "shadowing does not apply: a long-time average does not depend on the initial state, and a "
            "finite-horizon loss's gradient with respect to it grows at lambda_1 by the physics"
        )
    if not time_averaged:
        return False, (
            "shadowing does not apply: the loss is a function of the final state, whose derivative grows "
            "without limit as T grows; a long-time average of it (TimeAveragedLoss) has a finite "
            "derivative that shadowing computes"
        )
    return True, None


def run_shadowing(option, simulator, y_start, args, loss, wrt, lam1: float):
    """``(result, note)``: the shadowing derivative, or why it is missing."""
    from chaosgrad._shadowing.api import shadowing_gradient
    from chaosgrad._shadowing.methods import NILSS

    method = NILSS() if option == "auto" else option
    dt = float(simulator.dt)
    window = min(WINDOW_LYAPUNOV_TIMES / lam1 if math.isfinite(lam1) and lam1 > 0 else 100.0, MAX_WINDOW_STEPS * dt)
    try:
        result = shadowing_gradient(
            simulator, y_start, args, objective=loss, wrt=wrt, time=window, method=method, windows=WINDOWS
        )
    except Exception as exc:  # noqa: BLE001 - a finding, not a failure of the diagnosis
        return None, f"the shadowing derivative could not be computed: {type(exc).__name__}: {exc}"
    if result.status == "nonfinite":
        return result, "the shadowing derivative is non-finite in every window"
    return result, None


def shadowing_words(result) -> str:
    parts = [
        f"{name} = {d:.4g} ± {2 * se:.2g}" if math.isfinite(se) else f"{name} = {d:.4g}"
        for name, d, se in zip(result.parameters, result.derivative, result.standard_error)
    ]
    return (
        f"the derivative of the long-time average is d<J>/d {', '.join(parts)} ({result.method}, "
        f"{result.unstable} unstable direction(s), {len(result.window_derivatives)} windows of "
        f"{result.window_time:.3g} time units; ± two standard errors)"
    )


def shadowing_recommendation(result) -> Recommendation:
    value = float(result.derivative[0]) if result.derivative.size == 1 else None
    return Recommendation(
        "shadowing",
        "Use the shadowing derivative instead of the exploding finite-horizon gradient: "
        + shadowing_words(result)
        + ".",
        value,
        None,
    )
