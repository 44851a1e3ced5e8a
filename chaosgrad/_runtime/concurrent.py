"""Independent measurements of a diagnosis, run side by side in threads.

A Lyapunov run of one trajectory is latency-bound: a chain of small XLA kernels, one
after another, on one core. JAX runs a compiled program on the thread that calls it,
with the GIL released, so two such runs started from two threads overlap on two cores,
with the same numbers (``benchmarks/RESULTS_design.md``).

Rules:

1. Only a measurement whose inputs are all known is started in the background: what it
   computes is what the sequential code would compute, and each run's arithmetic is its
   own, so the numbers do not depend on the threads.
2. :meth:`Pending.result` returns the value, or raises the measurement's exception, in
   the caller's thread, where the sequential code would have raised it.
3. A background measurement that needs a program compiling elsewhere joins that
   compilation first (:func:`~chaosgrad._runtime.compilation_cache.compile_in_background`), so
   a program is never compiled twice.
4. A background measurement runs inside chaosgrad's scopes (float64, the compilation
   cache; :func:`~chaosgrad._runtime.precision.float64_scope`) and inside the caller's JAX
   contexts that change what a computation does (:data:`CALLER_CONTEXTS`: the default
   device, matmul precision, ``disable_jit``, NaN/inf checks, promotion rules). JAX's
   configuration contexts are thread-local: outside them a state prepared in the thread
   would be float32, and ``with jax.default_device(cpu)`` would not reach the thread.
5. :func:`alongside` starts nothing on a single core, or beside a background compilation in flight
   (:func:`~chaosgrad._runtime.compilation_cache.compiling_in_background`): on a first call the
   compilations are the critical path, and measurements beside them slowed them
   (``benchmarks/RESULTS_design.md``); the measurement then runs when its result is
   asked for, as in sequential code.
6. When the caller raises (an error, an interrupt) while a measurement runs, the
   measurement finishes in its daemon thread and its result is dropped, as a background
   compilation's is (``compile_in_background``); ``diagnose`` waits for it before its
   error reaches the caller, and the interpreter's exit waits for it
   (``_runtime.compilation_cache.start_background``); the command-line tool leaves the process
   without waiting for it (``_runtime.interrupts.exit_now``).
"""

from __future__ import annotations

import contextlib
import os

import jax

from chaosgrad._runtime.compilation_cache import compiling_in_background, start_background
from chaosgrad._runtime.precision import float64_scope

# Rule 4: (JAX context manager, configuration name) of the caller's settings that a
# background measurement enters too.
CALLER_CONTEXTS = (
    (jax.default_device, "jax_default_device"),
    (jax.default_matmul_precision, "jax_default_matmul_precision"),
    (jax.disable_jit, "jax_disable_jit"),
    (jax.debug_nans, "jax_debug_nans"),
    (jax.debug_infs, "jax_debug_infs"),
    (jax.numpy_rank_promotion, "jax_numpy_rank_promotion"),
    (jax.numpy_dtype_promotion, "jax_numpy_dtype_promotion"),
)


def _caller_settings() -> list:
    settings = []
    for context, name in CALLER_CONTEXTS:
        value = getattr(jax.config, name)
        settings.append((context, getattr(value, "value", value)))  # an enum's own value
    return settings


class Pending:
    """``fn(*args, **kwargs)`` running in a daemon thread; :meth:`result` joins it."""

    def __init__(self, fn, *args, **kwargs):
        self._value = self._error = None

        scoped = float64_scope(fn)
        settings = _caller_settings()

        def run():
            try:
                with contextlib.ExitStack() as stack:
                    for context, value in settings:
                        stack.enter_context(context(value))
                    self._value = scoped(*args, **kwargs)
            except BaseException as exc:  # noqa: BLE001 - re-raised by result() (rule 2)
                self._error = exc

        self._thread = start_background(run, "chaosgrad-measure")

    def result(self):
        self._thread.join()
        if self._error is not None:
            raise self._error
        return self._value

    def discard(self) -> None:
        """The result is not needed; the run still finishes here (it holds a core)."""
        self._thread.join()


def _cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


class Deferred:
    """``fn(*args, **kwargs)`` run by :meth:`result`, on the caller's thread."""

    def __init__(self, fn, *args, **kwargs):
        self._call = lambda: fn(*args, **kwargs)

    def result(self):
        return self._call()

    def discard(self) -> None:
        """The result is not needed: it is never computed."""


def alongside(fn, *args, **kwargs) -> Pending | Deferred:
    """``fn(*args, **kwargs)`` started now in the background, or, while a background
    compilation is in flight, run when its result is asked for (rule 5)."""
    if _cores() < 2 or compiling_in_background():
        return Deferred(fn, *args, **kwargs)
    return Pending(fn, *args, **kwargs)
