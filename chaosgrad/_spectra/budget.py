"""One wall-clock budget for a set of spectra: a reference, its step halvings, the
user's spectrum beside them, and a cause's own spectra.

The budget is the ``max_seconds`` of an :class:`~chaosgrad.UntilConverged` measuring
time. Its rules:

1. It starts when the caller creates it: ``diagnose`` creates it after the transient,
   so it bounds the measuring, not the compilation and the transient before it (whose
   cost does not depend on it).
2. The reference's first run until converged stops by ``FIRST_SHARE`` of it.
3. The reference's step halvings stop by the whole budget. The user's spectrum over the
   reference's time, which runs beside them, stops by the whole budget or after the
   halvings' share from its own start, whichever is later: however late its program is
   ready, it measures for as long as the halvings may.
4. A cause's own spectra (the discretisation's search for the largest faithful step)
   get ``CAUSE_SHARE`` of it more, counted from when they start.
5. A run the budget stops keeps the time it measured, with that time's error bar
   (``stop_reason == "time budget"``); nothing measured before is lost.
6. A fixed measuring time, or ``UntilConverged(max_seconds=None)``, has no budget: every
   run measures its full time, as the caller chose.

So with ``S = max_seconds``, the reference and the user's spectrum end by
``max(S, t_ready + (1 - FIRST_SHARE) S)`` after the budget's start (``t_ready``: when the
user's spectrum's program is ready, normally well before ``FIRST_SHARE S``), and the step
search within ``CAUSE_SHARE S`` more; each run may pass its deadline by one check (about a
second, ``_spectra.chunks.PACE``) and by a compilation, which cannot be interrupted.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from time import monotonic

from chaosgrad._spectra.strategies import UntilConverged, Within

# The first run sets the time every later run measures; the halvings measure that time
# at dt / 2, dt / 4, ... (each twice as costly as the one before) in the other half,
# beside the user's spectrum over the same time.
FIRST_SHARE = 0.5
# The step search halves the user's step until lambda_1 matches the physics: each
# halving measures a quarter of the user's spectrum's time at a smaller step, so a
# quarter of the budget covers one or two halvings of a costly map and all of a cheap one.
CAUSE_SHARE = 0.25


@dataclass(frozen=True)
class SpectraBudget:
    """Deadlines (``time.monotonic()`` values) of the rules above; ``seconds is None``
    means no budget (rule 6)."""

    seconds: float | None
    started: float

    @classmethod
    def starting_now(cls, time) -> SpectraBudget:
        """The budget of a measuring time ``time`` (a number or a strategy), from now."""
        seconds = time.max_seconds if isinstance(time, UntilConverged) else None
        return cls(None if seconds is None else float(seconds), monotonic())

    @property
    def first_run_until(self) -> float | None:
        return None if self.seconds is None else self.started + FIRST_SHARE * self.seconds

    @property
    def until(self) -> float | None:
        return None if self.seconds is None else self.started + self.seconds

    @property
    def cause_seconds(self) -> float | None:
        return None if self.seconds is None else CAUSE_SHARE * self.seconds

    def first_run(self, time):
        """``time`` for the reference's first run (rule 2): an :class:`UntilConverged`
        whose own ``max_seconds`` is what is left of its share (at least a millisecond:
        it then measures one check's length, rule 5)."""
        if self.seconds is None or not isinstance(time, UntilConverged):
            return time
        assert self.first_run_until is not None
        left = self.first_run_until - monotonic()  # to a tenth of a second, for the messages that quote it
        return dataclasses.replace(time, max_seconds=max(1e-3, round(left, 1)))

    def beside(self, time):
        """A fixed ``time`` for the user's spectrum beside the halvings, starting now (rule
        3): stopped at the budget's end or after the halvings' share, whichever is later."""
        if self.seconds is None:
            return time
        until = self.started + self.seconds
        return Within(float(time), max(until, monotonic() + (1.0 - FIRST_SHARE) * self.seconds))
