"""How chaosgrad's programs are compiled: for a short run, or for a long one.

XLA's CPU backend has two code generators for fused element-wise loops: the newer
fusion emitters (the default) and the older elemental emitters. The newer ones make
faster loops and take longer to compile. Which is better depends on how long a program
runs against how long it takes to compile, which is known for each of chaosgrad's
programs:

1. ``RUN_BOUND`` (the default, XLA's own choice): programs whose run time grows with a
   length the user chooses, such as the Lyapunov loops (time, members, until converged).
2. ``COMPILE_BOUND``: programs that run a bounded amount of work once per call, such as
   the gradient sweep of ``diagnose``, the one-step probe and the adjoint programs.
   They are compiled with the elemental emitters.
3. A policy only changes code generation, never the arithmetic that is asked for, but
   the two generators may round differently (contraction into fused multiply-adds), so a
   program's numbers belong to its policy: one program is always compiled one way, and
   the persistent cache keys on the options.
4. Options the installed XLA does not know, or a backend that is not the CPU, give XLA's
   defaults (checked once, with a trivial program).

The elemental emitters compile the sweep's program faster and make the first
``diagnose`` call faster, but make long runs slower, which is why the Lyapunov loops
stay run-bound (the measurements: ``benchmarks/RESULTS_design.md``).
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import equinox as eqx
import jax


@dataclass(frozen=True)
class CompilePolicy:
    """XLA options for one kind of program (rules 1-4 of this module); ``options``
    are XLA's debug options by name, given only to the backend named ``backend``."""

    name: str
    options: dict = field(default_factory=dict)
    backend: str = "cpu"

    def resolved(self) -> dict:
        """The options to compile with here: ``{}`` where they do not apply (rule 4)."""
        if not self.options:
            return {}
        return dict(self.options) if _accepted(self.backend, tuple(sorted(self.options.items()))) else {}


RUN_BOUND = CompilePolicy("run-bound")
COMPILE_BOUND = CompilePolicy("compile-bound", {"xla_cpu_use_fusion_emitters": False})


@functools.cache
def _accepted(backend: str, items: tuple) -> bool:
    if jax.default_backend() != backend:
        return False
    try:
        jax.jit(lambda x: x + 1).lower(0.0).compile(compiler_options=dict(items))
    except Exception:  # noqa: BLE001 - an option this XLA does not have: its defaults
        return False
    return True


def policy_jit(policy: CompilePolicy):
    """Decorator: ``eqx.filter_jit(fun)`` compiled under ``policy``; the jit is made at the
    first call or ``lower`` (after the user's JAX configuration, never at import), once."""
    return lambda fun: _PolicyJit(fun, policy)


class _PolicyJit:
    def __init__(self, fun, policy: CompilePolicy):
        self.__wrapped__, self.policy = fun, policy
        self._jit: Callable | None = None
        self._lock = threading.Lock()
        functools.update_wrapper(self, fun)

    def _jitted(self):
        if self._jit is None:
            with self._lock:
                if self._jit is None:
                    options = self.policy.resolved()
                    kwargs: dict[str, Any] = {"compiler_options": options} if options else {}
                    self._jit = eqx.filter_jit(self.__wrapped__, **kwargs)
        return self._jit

    def __call__(self, *args, **kwargs):
        return self._jitted()(*args, **kwargs)

    def lower(self, *args, **kwargs):
        return self._jitted().lower(*args, **kwargs)
