"""Which horizons a gradient-growth measurement computes, and on which block grid.

The caller's horizons are the ones measured and reported: each ends on a block boundary,
and a caller's horizon that the grid cannot hold within ``HORIZON_TOLERANCE`` is refused
before anything runs, with the reason and the horizons that would fit; a smaller change
(a horizon that is not a whole number of steps or blocks) is a note in the plan. The rate is fitted on an internal grid of
``FIT_POINTS`` horizons evenly spaced over the fit window (``_gradients.fit.fit_grid``), decided
only by the caller's shortest and longest horizon, so the statistics do not depend on
how many horizons were listed. Every horizon ends on a boundary of a grid of ``K`` blocks
of ``b`` steps (``K <= MAX_BLOCKS``): the sweep stores one state per block boundary.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from chaosgrad._checks import MAX_COUNT
from chaosgrad._errors import bad_argument
from chaosgrad._gradients.fit import FIT_POINTS, fit_grid

# At most this many blocks: fewer, longer blocks mean fewer iterations of the backward
# loops (benchmarks/bench_gradients.py: 256 blocks cost ~25% more than 64) while 128
# still place the horizons finely enough to sample an oscillating gradient.
MAX_BLOCKS = 128
# Prefer at least this many blocks, so the internal fit grid has room between the
# caller's horizons (4 blocks per fit point).
MIN_BLOCKS = 4 * FIT_POINTS
# A caller's horizon may move by at most this fraction to end on a block boundary; a
# larger change would report the gradient at a horizon the caller did not ask for.
HORIZON_TOLERANCE = 0.1


@dataclass(frozen=True)
class HorizonPlan:
    """``blocks``: ``(H,)`` increasing block counts of every measured horizon; ``b``: steps
    per block; ``reported``/``fit``: ``(H,)`` which horizons are the caller's and which the
    fit uses."""

    blocks: np.ndarray
    b: int
    reported: np.ndarray
    fit: np.ndarray
    notes: tuple = ()

    def times(self, dt: float) -> np.ndarray:
        return (self.blocks * self.b * dt).astype(np.float64)


def check_horizons(horizons, dt: float, least: int = 3) -> np.ndarray:
    """Validate ``horizons`` and return them as step counts (raises before any work).
    A growth rate needs ``least = 3``; a measurement at each horizon alone needs 1."""
    try:
        h = np.asarray(horizons, dtype=float).reshape(-1)
    except (TypeError, ValueError):
        raise bad_argument("horizons", f"{horizons!r} is not a sequence of numbers", "pass e.g. [1, 2, 4, 8]") from None
    if h.size < least:
        need = "a growth rate needs at least 3" if least == 3 else f"at least {least} needed"
        raise bad_argument("horizons", f"has {h.size} value(s); {need}", f"pass {least} or more horizons")
    if not np.all(np.isfinite(h)) or np.any(h <= 0) or np.any(np.diff(h) <= 0):
        raise bad_argument(
            "horizons", f"{h.tolist()} are not positive and increasing", "pass e.g. np.geomspace(1, 20, 8)"
        )
    if np.any(h / dt > MAX_COUNT):
        raise bad_argument(
            "horizons",
            f"{h.max():.3g} is {h.max() / dt:.3g} steps, more than the {MAX_COUNT} a compiled loop counts",
            f"pass horizons of at most {MAX_COUNT * dt:.3g}",
        )
    steps = np.maximum(1, np.round(h / dt)).astype(np.int64)
    distinct = np.unique(steps)
    if distinct.size < least or (least == 3 and distinct[-1] < 3):
        raise bad_argument(
            "horizons",
            f"{h.tolist()} round to {distinct.size} distinct step count(s) {distinct.tolist()} at dt = {dt:g}",
            f"pass horizons at least 3 steps ({3 * dt:g} time units) long and at least one step apart",
        )
    return steps


def _divisors(n: int) -> list[int]:
    small = [d for d in range(1, math.isqrt(n) + 1) if n % d == 0]
    return sorted(set(small + [n // d for d in small]))


def _block_length(steps: np.ndarray) -> int:
    """Steps per block: a divisor of every caller horizon when one gives between
    ``MIN_BLOCKS`` and ``MAX_BLOCKS`` blocks (the caller's horizons stay exact), else the
    smallest length within ``MAX_BLOCKS`` that divides the longest horizon."""
    n_max = int(steps[-1])
    smallest = -(-n_max // MAX_BLOCKS)
    g = math.gcd(*[int(s) for s in steps])
    exact = [d for d in _divisors(g) if d >= smallest and n_max // d >= min(MIN_BLOCKS, n_max)]
    if exact:
        return max(exact)
    if g >= smallest:
        return g
    return next((d for d in range(smallest, 2 * smallest + 1) if n_max % d == 0), smallest)


def _measured_as_given(h: np.ndarray, steps: np.ndarray, b: int, dt: float, exact: bool) -> tuple:
    """Refuse caller horizons that whole blocks of ``b`` steps cannot hold within
    ``HORIZON_TOLERANCE`` (or that collapse onto one block); the notes for smaller
    changes. ``exact=False``: horizons chaosgrad chose itself, rounded without a note."""
    measured = np.maximum(1, np.round(steps / b)).astype(np.int64) * b * dt
    change = np.abs(measured - h) / h
    if exact and (np.any(change > HORIZON_TOLERANCE) or np.unique(measured).size < h.size):
        worst = int(np.argmax(change))
        shortest = b * dt * math.ceil(1.0 / HORIZON_TOLERANCE / 2)
        raise bad_argument(
            "horizons",
            f"horizon {h[worst]:.6g} would be measured at {measured[worst]:.6g}: every horizon is measured on one grid "
            f"of at most {MAX_BLOCKS} equal blocks, here of {b} step(s) ({b * dt:.6g} time units), set by the longest "
            f"horizon {h[-1]:.6g}",
            f"pass horizons that are multiples of {b * dt:.6g}, or no shorter than about {shortest:.6g} (within "
            f"{HORIZON_TOLERANCE:.0%} of a block boundary), or measure the short horizons in a separate call",
        )
    if not exact:
        return ()
    moved = [(g, m) for g, m in zip(h, measured) if not math.isclose(g, m, rel_tol=1e-9, abs_tol=1e-12 * dt)]
    if not moved:
        return ()
    listed = ", ".join(f"{g:.6g} at {m:.6g}" for g, m in moved[:6]) + (", ..." if len(moved) > 6 else "")
    return (f"horizons measured on whole blocks of {b} step(s) of dt = {dt:g}: {listed}",)


def plan_horizons(horizons, dt: float, *, exact: bool = True) -> HorizonPlan:
    """The caller's horizons and the internal fit grid on one block grid (``exact``: the
    horizons are the caller's, held as given or refused; see the module docstring)."""
    steps = check_horizons(horizons, dt)
    b = _block_length(steps)
    notes = _measured_as_given(np.asarray(horizons, dtype=float).reshape(-1), steps, b, dt, exact)
    user = np.unique(np.maximum(1, np.round(steps / b)).astype(np.int64))
    grid_steps = fit_grid(steps[0], steps[-1])
    grid = np.unique(np.clip(np.round(grid_steps / b), 1, user[-1]).astype(np.int64))
    blocks = np.union1d(user, grid)
    return HorizonPlan(blocks=blocks, b=b, reported=np.isin(blocks, user), fit=np.isin(blocks, grid), notes=notes)
