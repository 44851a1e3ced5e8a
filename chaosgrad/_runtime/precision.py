"""float64 inside chaosgrad's own computations, and nowhere else.

Importing chaosgrad does not change the caller's process: ``jax_enable_x64`` keeps the
value the user gave it, so a float32 training script stays float32. Every public entry
point that computes (the engines, ``diagnose``, the zoo's constructors, the studies)
runs inside ``jax.enable_x64(True)``, JAX's scoped switch (a thread-local setting that
is restored on exit, and part of the compilation cache key), because the reference
spectra, the clock and the gradient norms need float64. A user's float32 or float16
simulator keeps its own dtype inside the scope: its states are cast to it at every step.
"""

from __future__ import annotations

import functools

import jax

from chaosgrad._runtime.compilation_cache import cache_scope


def float64_scope(fn):
    """Run ``fn`` with float64 enabled in JAX, restoring the caller's setting after, and
    with chaosgrad's persistent compilation cache (``_runtime.compilation_cache``)."""

    @functools.wraps(fn)
    def scoped(*args, **kwargs):
        with jax.enable_x64(True), cache_scope():
            return fn(*args, **kwargs)

    return scoped
