"""How the gradient sweep advances and differentiates one block of steps, and the static
shape of its compiled program.

The sweep (``_gradients.sweep``) stores the state at every block boundary, then walks the blocks
backwards applying each block's VJP. A *block strategy* says how one block runs and how
its VJP is taken. Rules for a strategy (a frozen, hashable dataclass: it is part of the
compiled program's signature, so two equal strategies share one program):

1. ``advance(simulator, loss, rebuild, t, y, theta, n)`` is the state after ``n`` steps
   from ``(t, y)``: the map that ``pullback`` differentiates (the same map as
   ``simulator.evolve(t, y, rebuild(theta), n)``, computed as the pullback computes it).
2. ``buffers(simulator, loss, rebuild, t, yf, rest, theta)`` are the arrays the block's
   VJP writes what it keeps of its steps into (``()`` when it keeps none); they are
   allocated once per sweep and handed from block to block, so a block does not clear
   memory it will overwrite.
3. ``pullback(simulator, loss, rebuild, t, yf, rest, theta, n, buffers)`` returns
   ``(pull, buffers)``: ``pull(cot_y, cot_s)`` maps a batch (axis 0) of cotangents of the
   block's end state's floating leaves ``cot_y`` and of its loss integral
   ``sum loss(y_i) dt`` (``cot_s``, one per lane) to the batch of cotangents of the
   block's start ``yf`` and of ``theta``. It is linear and exact: the derivative of the
   map of rule 1 (with the loss integral), not an approximation of it.
4. ``steps(traced_b)`` is the ``n`` the other methods are given: the strategy's own
   block length (a Python int) when its program is built for one length, or the traced
   int32 scalar ``traced_b`` when it serves every length up to a capacity.

:class:`StoredSteps` keeps every step's start state in buffers of ``capacity`` steps, so
the block length is a traced value and one compiled program serves every horizon plan
whose blocks fit: ``diagnose`` compiles it before the plan, which depends on the
measured exponents, is known.
:class:`WholeBlock` differentiates a block as one function of a static length: for
simulators whose reverse mode enters only through ``evolve`` (an adaptive solve's own
adjoint), and for blocks longer than the buffers should hold (checkpointed steps).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import equinox as eqx
import jax
import jax.numpy as jnp

from chaosgrad._pytree import is_float_array


def _one_step(simulator, loss, rebuild):
    """``(t, yf, rest, theta) -> ((yf_next, loss(y) dt), rest_next)``: one step on the
    floating leaves ``yf`` (the integer leaves ``rest`` ride along)."""

    def step(t, yf, rest, theta):
        y = eqx.combine(yf, rest)
        y1 = simulator.step(t, y, rebuild(theta))
        acc = (
            loss.integrand(t, y, y).astype(jnp.float64) * simulator.dt
            if loss.accumulates
            else jnp.zeros((), jnp.float64)
        )
        y1f, rest1 = eqx.partition(y1, is_float_array)
        return (y1f, acc), rest1

    return step


def _step_pullback(step, t, yf, rest, theta):
    """The VJP of one step at ``(t, yf, rest)``, and the next floating and integer leaves."""
    (yf1, _), pull, rest1 = jax.vjp(lambda yf, th: step(t, yf, rest, th), yf, theta, has_aux=True)
    return pull, yf1, rest1


@dataclass(frozen=True)
class StoredSteps:
    """A block of a traced number of steps, at most ``capacity`` (rules 1-4). Its pullback
    runs the block once storing every step's start state, then walks the steps backwards
    taking each step's VJP at its stored state. A step is evaluated once more than when
    its residuals are stored (as a scan's VJP does), but a step of a small system is a
    few dozen scalar residuals and one buffer write each, and it keeps one state per step
    in memory instead of a step's residuals (timings: ``benchmarks/RESULTS_design.md``)."""

    capacity: int

    def steps(self, traced_b):
        return traced_b

    def advance(self, simulator, loss, rebuild, t, y, theta, n):
        a = rebuild(theta)

        def body(_, carry):
            t, y = carry
            return t + simulator.dt, simulator.step(t, y, a)

        return jax.lax.fori_loop(0, n, body, (t, y))[1]

    def buffers(self, simulator, loss, rebuild, t, yf, rest, theta):
        start = (jnp.asarray(t, jnp.float64), yf, rest)
        return jax.tree_util.tree_map(lambda x: jnp.zeros((self.capacity,) + jnp.shape(x), jnp.result_type(x)), start)

    def pullback(self, simulator, loss, rebuild, t, yf, rest, theta, n, buffers):
        step = _one_step(simulator, loss, rebuild)

        def forward(i, carry):
            t, yf, rest, bufs = carry
            bufs = jax.tree_util.tree_map(
                lambda b, v: jax.lax.dynamic_update_index_in_dim(b, v, i, 0), bufs, (t, yf, rest)
            )
            (yf1, _), rest1 = step(t, yf, rest, theta)
            return t + simulator.dt, yf1, rest1, bufs

        buffers = jax.lax.fori_loop(0, n, forward, (jnp.asarray(t, jnp.float64), yf, rest, buffers))[3]

        def pull(cot_y, cot_s):
            def backward(j, carry):
                g_y, g_theta = carry
                i = n - 1 - j
                t_i, yf_i, rest_i = jax.tree_util.tree_map(
                    lambda b: jax.lax.dynamic_index_in_dim(b, i, 0, keepdims=False), buffers
                )
                step_pull = _step_pullback(step, t_i, yf_i, rest_i, theta)[0]
                d_y, d_theta = jax.vmap(step_pull)((g_y, cot_s))
                return d_y, jax.tree_util.tree_map(jnp.add, g_theta, d_theta)

            zero_theta = jax.tree_util.tree_map(
                lambda x: jnp.zeros((cot_s.shape[0],) + jnp.shape(x), jnp.result_type(x)), theta
            )
            return jax.lax.fori_loop(0, n, backward, (cot_y, zero_theta))

        return pull, buffers


@dataclass(frozen=True)
class WholeBlock:
    """A block of exactly ``b`` steps differentiated as one function (``_gradients.sweep._block_fn``)."""

    b: int

    def steps(self, traced_b):
        return self.b

    def advance(self, simulator, loss, rebuild, t, y, theta, n):
        from chaosgrad._gradients.sweep import _block_fn

        return _block_fn(simulator, loss, rebuild, self.b)(t, y, theta)[0]

    def buffers(self, simulator, loss, rebuild, t, yf, rest, theta):
        return ()

    def pullback(self, simulator, loss, rebuild, t, yf, rest, theta, n, buffers):
        from chaosgrad._gradients.sweep import _block_fn

        block = _block_fn(simulator, loss, rebuild, self.b)

        def float_block(yf, th):
            y1, acc = block(t, eqx.combine(yf, rest), th)
            return eqx.partition(y1, is_float_array)[0], acc

        _, vjp = jax.vjp(float_block, yf, theta)
        return (lambda cot_y, cot_s: jax.vmap(vjp)((cot_y, cot_s))), buffers


@dataclass(frozen=True)
class SweepLayout:
    """The static shape of one compiled sweep: its block strategy, and at most
    ``max_blocks`` blocks and ``max_horizons`` horizons (the plan's own counts are traced
    values, the horizon list padded to ``max_horizons``)."""

    block: StoredSteps | WholeBlock
    max_blocks: int
    max_horizons: int


# Horizon lists are padded to a multiple of this (and to at least MIN_HORIZON_LANES), so
# that plans with a few more or fewer horizons share one program. Every default plan has
# 13-16 horizons (nine reported, eight fitted, some shared).
HORIZON_LANES = 8
MIN_HORIZON_LANES = 16
# Stored-step buffers hold this many steps unless the block is longer: the longest block
# of any default plan is 311 steps (``tests/test_sweep.py`` checks the bound over the
# default horizons' range), so every default diagnosis of a simulator shares one program
# with the plan it will measure before the plan is known.
DEFAULT_CAPACITY = 320
# ... unless the buffers, for every member, would exceed this many bytes: then they hold
# the plan's own block length, rounded up to a power of two.
MAX_BUFFER_BYTES = 256 * 2**20


def horizon_lanes(H: int) -> int:
    return max(MIN_HORIZON_LANES, -(-H // HORIZON_LANES) * HORIZON_LANES)


def stored_steps(b: int, bytes_per_step: int, members: int) -> StoredSteps:
    """The buffers' capacity for blocks of ``b`` steps: ``DEFAULT_CAPACITY`` when that
    covers ``b`` and fits ``MAX_BUFFER_BYTES``, else ``b`` rounded up to a power of two."""
    if b <= DEFAULT_CAPACITY and DEFAULT_CAPACITY * bytes_per_step * members <= MAX_BUFFER_BYTES:
        return StoredSteps(DEFAULT_CAPACITY)
    return StoredSteps(1 << max(0, math.ceil(math.log2(b))))
