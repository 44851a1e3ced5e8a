"""Running steps: the step clock, and ``n`` steps as a checkpointed scan (the default
``AbstractSimulator.evolve``)."""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp


def clock(t0):
    """The step clock: float64 where JAX allows it (inside chaosgrad's computations)."""
    x64 = jax.config.jax_enable_x64  # type: ignore[attr-defined]  # jax.config's options are set at run time
    return jnp.asarray(t0, jnp.float64 if x64 else jnp.float32)


def checkpointed_steps(step, t0, y, args, n_steps: int, dt: float):
    """``n_steps`` applications of ``step(t, y, args)`` with sqrt(n) checkpointing."""
    block = max(1, math.isqrt(max(n_steps, 1)))
    n_blocks, remainder = divmod(n_steps, block)

    def run(t, y, length):
        def body(carry, _):
            t, y = carry
            return (t + dt, step(t, y, args)), None

        return jax.lax.scan(body, (t, y), None, length=length)[0]

    run_block = jax.checkpoint(lambda t, y: run(t, y, block))

    def outer(carry, _):
        return run_block(*carry), None

    carry = (clock(t0), y)
    carry, _ = jax.lax.scan(outer, carry, None, length=n_blocks)
    if remainder:
        carry = run(*carry, remainder)
    return carry[1]
