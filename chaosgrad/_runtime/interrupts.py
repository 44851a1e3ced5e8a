"""Interrupts (Ctrl-C, SIGTERM) end a command cleanly: exit 130, no partial report, no
temporary files, never a crash in the runtime's teardown.

:func:`install` makes SIGTERM raise ``KeyboardInterrupt`` like SIGINT, so the staging of
a report (``report._atomic.Staging``) unwinds and deletes what it staged, and records
that an interrupt arrived: code that must survive one failing part (a figure that cannot
be drawn) calls :func:`raise_if_interrupted` in its handler, so an interrupt delivered
inside a C extension and surfacing as another exception still ends the command.
:func:`exit_now` leaves the process without running the interpreter's teardown, where
XLA's threads can crash a process that was interrupted mid-computation.
While the command imports its runtime (NumPy, JAX), :func:`deferred` only records an
interrupt and raises it once the imports are done: raised inside an extension module's
initialisation it leaves a half-built module, an import error that prints its own
traceback, or a crash.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys

_STATE = {"interrupted": False, "deferred": False}


def _on_signal(signum, frame):
    del frame
    _STATE["interrupted"] = True
    if not _STATE["deferred"]:
        raise KeyboardInterrupt(signal.Signals(signum).name)


class _QuietUnraisable:
    """An interrupt raised inside a callback that cannot propagate it (the runtime's
    garbage-collection hook) is remembered already: print nothing for it."""

    def __init__(self, previous):
        self.previous = previous

    def __call__(self, unraisable) -> None:
        if unraisable.exc_type is KeyboardInterrupt and _STATE["interrupted"]:
            return
        self.previous(unraisable)


def install() -> None:
    """SIGINT and SIGTERM raise ``KeyboardInterrupt`` and are remembered (main thread only)."""
    _STATE["interrupted"] = False
    if not isinstance(sys.unraisablehook, _QuietUnraisable):
        sys.unraisablehook = _QuietUnraisable(sys.unraisablehook)
    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            signal.signal(sig, _on_signal)
        except (ValueError, OSError):  # not the main thread, or a platform without it
            pass


@contextlib.contextmanager
def deferred():
    """Inside: an interrupt is recorded, not raised; on leaving, a recorded one raises
    ``KeyboardInterrupt`` (for imports of extension modules, see the module docstring)."""
    outer = _STATE["deferred"]
    _STATE["deferred"] = True
    try:
        yield
    finally:
        _STATE["deferred"] = outer
    if not outer:
        raise_if_interrupted()


def interrupted() -> bool:
    return _STATE["interrupted"]


def raise_if_interrupted() -> None:
    if _STATE["interrupted"]:
        raise KeyboardInterrupt


def exit_now(code: int) -> None:
    """Flush the standard streams and end the process with ``code`` at once."""
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:
            pass
    os._exit(code)
