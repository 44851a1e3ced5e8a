"""Measuring-time strategies of :func:`chaosgrad.lyapunov_spectrum` besides a fixed time:
:class:`UntilConverged` (extend the run until lambda_1's 95% interval is small against its
size, or a budget is spent) and :class:`Within` (a fixed time, unless a wall-clock deadline
passes first). The loop that runs them is :mod:`chaosgrad._spectra.measuring`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from chaosgrad._checks import check_count
from chaosgrad._errors import bad_argument
from chaosgrad._spectra.result import LyapunovResult

__all__ = ["UntilConverged", "Within"]


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
            In ``diagnose`` it is one budget for all the spectra (``chaosgrad._spectra.budget``):
            the reference's first run gets half of it, its step halvings and the user's
            spectrum the rest, the step search a quarter more; ``diagnose``'s default is 30 s.
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
