"""The schedule: the work that runs beside a measurement, owned by its caller.

A measuring function takes what it measures and nothing about when anything compiles.
Where the timing of other work could matter, it says so to the *current schedule*
(:func:`current`), by role or by event:

- ``program(role)`` before it runs a compiled program that may be compiling
  elsewhere: the schedule joins that compilation, so that no program compiles twice;
- ``announce(event, ...)`` when something others could start from becomes known
  (a state, a measuring time, a program lowered);
- ``take(role, compute, ...)``: the value of ``compute(...)``, from a measurement the
  schedule already started beside it under that role, or computed now.

The caller that owns the schedule (``diagnose``, ``gradient_growth``) opens one
(``with Schedule():``) and says up front what to compile ahead and what to start at
which event (``compile``, ``on``, ``start``); the policies live beside their callers
(``_diagnosis.overlap``). Outside a schedule, :data:`SEQUENTIAL` answers: no program is
compiling elsewhere, events reach nobody, nothing was started beside, so every
measuring function runs as plain sequential code.

Rules:

1. Nothing a schedule does changes what a measurement computes: it only decides when
   programs compile and which independent measurements run side by side
   (``_runtime.concurrent`` rule 1), so the numbers are those of the sequential code.
2. ``program(role)`` joins the compilation registered under ``role`` (all of them, for
   a role that holds several) and returns the program, or ``None``.
3. A handler runs once, at the next announcement of its event, on the announcing
   thread, in the order the handlers were added (``first=True``: before the others);
   it only starts background work, and when it raises that is the caller's error.
4. ``take(role, ...)`` hands out a started measurement once; measurements never taken
   are discarded when the schedule closes (``_runtime.concurrent`` rule 6).
5. A schedule is context-local: a schedule opened inside another (``gradient_growth``
   called from a study inside ``diagnose``'s) is the current one until it closes.
"""

from __future__ import annotations

import contextvars
from collections import defaultdict

from chaosgrad._runtime.concurrent import alongside

# Roles and events shared by the measuring functions and the policies.
REFERENCE_SPECTRUM = "reference spectrum program"
USER_SPECTRUM = "user's spectrum program"
SWEEP = "gradient sweep program"
GROWTH = "gradient growth programs"  # several: the ablations anticipated (cause rule 7)
MEMBERS = "members sampled along the reference"
TRANSIENT_DONE = "transient done"  # values: ref_start, y_ref, diverged, budget (the spectra's)
MEASURING_TIME = "measuring time known"  # value: time
SWEEP_LOWERED = "sweep lowered"


class Schedule:
    """Compilations ahead, handlers of events and measurements side by side (rules 1-5)."""

    def __init__(self):
        self._programs = defaultdict(list)
        self._handlers = defaultdict(list)
        self._started = {}
        self._token: contextvars.Token[Schedule] | None = None

    # --- what the owner says up front

    def compile(self, role: str, program) -> None:
        """Start compiling ``program`` (``start()``/``join()``, e.g. a ``BackgroundProgram``)
        under ``role``."""
        if program is not None:
            self._programs[role].append(program.start())

    def on(self, event: str, handler, *, first: bool = False) -> None:
        """Call ``handler(**values)`` at the next ``announce(event, **values)`` (rule 3)."""
        if first:
            self._handlers[event].insert(0, handler)
        else:
            self._handlers[event].append(handler)

    def start(self, role, fn, *args, **kwargs) -> None:
        """Run ``fn(*args, **kwargs)`` beside the caller (``_runtime.concurrent.alongside``) until
        ``take(role, ...)`` asks for it."""
        self._started[role] = alongside(fn, *args, **kwargs)

    # --- what measuring functions ask

    def program(self, role: str, matches=None):
        """Rule 2. ``matches(program)``: only a program it accepts is joined."""
        found = None
        for program in self._programs.get(role, ()):
            if matches is None or matches(program):
                program.join()
                found = program
        return found

    def announce(self, event: str, **values) -> None:
        for handler in self._handlers.pop(event, ()):
            handler(**values)

    def take(self, role, compute, *args, **kwargs):
        started = self._started.pop(role, None)
        if started is not None:
            return started.result()
        return compute(*args, **kwargs)

    def discard(self, role) -> None:
        started = self._started.pop(role, None)
        if started is not None:
            started.discard()

    # --- ownership

    def __enter__(self) -> Schedule:
        self._token = _CURRENT.set(self)
        return self

    def __exit__(self, *exc) -> None:
        assert self._token is not None  # set by __enter__
        _CURRENT.reset(self._token)
        for started in self._started.values():
            started.discard()  # rule 4
        self._started.clear()


class _Sequential(Schedule):
    """The schedule outside any other: nothing compiles ahead, nothing starts beside."""

    def compile(self, role, program):
        raise RuntimeError("open a Schedule to compile ahead")

    def on(self, event, handler, *, first=False):
        pass  # nothing runs ahead: what the handler would start runs when it is needed

    def start(self, role, fn, *args, **kwargs):
        raise RuntimeError("open a Schedule to start measurements beside")


SEQUENTIAL = _Sequential()
_CURRENT: contextvars.ContextVar[Schedule] = contextvars.ContextVar("chaosgrad_schedule", default=SEQUENTIAL)


def current() -> Schedule:
    """The schedule of the innermost open ``with Schedule():`` (rule 5), else
    :data:`SEQUENTIAL`."""
    return _CURRENT.get()
