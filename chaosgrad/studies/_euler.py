"""Explicit Euler as a map ``y -> y + h f(y)`` with its step ``h`` in ``args``: its
exponents over a whole step sweep in one vectorised Benettin run, the step where its
lambda_1 changes sign, and step advice reconciled with that threshold.

Euler's step on a linear flow ``y' = A y`` is the map ``I + h A``, whose exponents are
``ln|1 + h mu| / h`` for the eigenvalues ``mu`` of ``A``; it is stable while every
``|1 + h mu| <= 1`` (Hairer & Wanner, *Solving ODEs II*, Sec. IV.2).
"""

from __future__ import annotations

import dataclasses

import jax.numpy as jnp
import numpy as np

from chaosgrad._diagnosis.words import number
from chaosgrad._simulators.base import MapSimulator
from chaosgrad._spectra.lyapunov import lyapunov_spectrum


def euler_map(vector_field) -> MapSimulator:
    """Explicit Euler as a map with its step in ``args["h"]``: ``y -> y + h f(0, y, args)``."""
    return MapSimulator(lambda y, a: y + a["h"] * vector_field(0.0, y, a))


def euler_exponents(
    vector_field, y0, params: dict, hs, *, transient_time: float, time: float, k: int = 2, until_escape: bool = False
):
    """Exponents per unit time of the Euler map at every step in ``hs`` (one vectorised run).

    Every member runs the same number of iterations, ``time / min(hs)``, after
    ``transient_time / min(hs)``. Returns ``(exponents, complete)``: ``complete[i]`` says
    whether member ``i`` stayed finite to the end. Members that did not are NaN, unless
    ``until_escape``: then their estimate from the intervals before the state overflowed
    is kept (right for a linear map, whose exponent is the same at every state).
    """
    hs = np.asarray(hs, dtype=float)
    args = {**{k2: jnp.full(hs.size, v) for k2, v in params.items()}, "h": jnp.asarray(hs)}
    # A common iteration count, sized by the smallest step; exponents are per iteration / h.
    n_iter = int(round(time / hs.min()))
    res = lyapunov_spectrum(
        euler_map(vector_field),
        jnp.asarray(y0),
        args,
        k=k,
        transient=float(round(transient_time / hs.min())),
        n_intervals=n_iter,
        interval=1.0,
        ensemble_axes=(None, 0),
    )
    per_time = np.asarray(res.member_exponents) / hs[:, None]
    valid = np.asarray(res.valid_intervals)
    complete = valid == res.n_intervals
    keep = valid > 0 if until_escape else complete
    return np.where(keep[:, None], per_time, np.nan), complete


def euler_threshold(lam_of_h, lo: float, hi: float, rounds: int = 3, n: int = 33) -> tuple[float, float]:
    """Bracket the step where ``lam_of_h`` changes sign from negative to positive.

    ``lam_of_h(hs) -> lambda_1`` per time. Each round evaluates ``n`` steps in the current
    bracket and keeps the pair around the first sign change: ``rounds`` rounds shrink it by
    ``(n - 1) ** rounds``.
    """
    for _ in range(rounds):
        hs = np.linspace(lo, hi, n)
        lam = lam_of_h(hs)
        up = np.nonzero((lam[:-1] <= 0) & (lam[1:] > 0))[0]
        if up.size == 0:
            break
        lo, hi = float(hs[up[0]]), float(hs[up[0] + 1])
    return lo, hi


def step_advice(recommendations, *, dt: float, threshold: tuple[float, float], t_max: float) -> tuple:
    """The diagnosis' recommendations with its step-size advice reconciled with Euler's
    stability threshold ``threshold = (lo, hi)`` (the bracket the step sweep measured).

    The two steps answer different questions: below the threshold the Euler map contracts,
    so the gradient no longer explodes; the diagnosis' step (``largest_safe_step``) is the
    one at which the map's lambda_1 matches the physics within a factor 2 of the gradient
    over ``t_max``, which Euler's error ``ln|1 + h mu| / h - Re mu ~ h ((Im mu)^2 - (Re mu)^2) / 2``
    makes much smaller (``mu`` an eigenvalue of the oscillator). The advice says which binds for what; a matching step above the
    threshold (impossible for an unstable map) is replaced by the threshold's lower end.
    Other advice is returned unchanged.
    """
    lo, hi = float(threshold[0]), float(threshold[1])
    out = []
    for rec in recommendations:
        if rec.topic != "step size" or rec.value is None:
            out.append(rec)
            continue
        step = float(rec.value)
        below = f"Below Euler's stability threshold h = {number(lo, 5)} to {number(hi, 5)} (measured by the step sweep)"
        if step < lo:
            text = (
                f"Reduce the step from {dt:g}. {below} the Euler map contracts, so the gradient stops "
                f"exploding: that threshold binds if the aim is a finite gradient. To also reproduce the physical "
                f"rate within a factor 2 of the gradient over T = {t_max:g}, the step must be at most "
                f"{number(step)}: Euler's exponent differs from the physics by about h ((Im mu)^2 - (Re mu)^2) / 2 "
                "even where it is stable, so this smaller step binds for the gradient's value."
            )
        else:
            step = lo
            text = (
                f"Reduce the step from {dt:g} to at most {number(lo, 5)}. {below} the Euler map contracts; "
                "above it the gradient explodes whatever else matches, so the threshold binds."
            )
        out.append(dataclasses.replace(rec, text=text, value=step))
    return tuple(out)
