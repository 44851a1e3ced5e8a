"""The compiled all-horizon gradient sweep (one forward pass, every horizon's backward pass).

The longest horizon is cut into ``K`` blocks of ``b`` steps, every horizon ending on a
block boundary. One forward scan stores the ``K + 1`` block-boundary states; then one
backward loop from the last boundary to 0 applies each block's VJP (recomputing the
block from its stored boundary state) to the cotangents of all horizons at once, each
horizon's ``dL/dy(T_h)`` joining the batch when the loop reaches ``T_h``. Memory is
``K + 1`` states, one block's residuals and ``H`` cotangents, whatever the horizon.

The blocks' length and count are traced values within a static layout
(``_gradients.sweep_blocks``): one compiled program serves every plan that fits it, so ``diagnose``
compiles it while the spectra that decide its default plan are measured.

Simulators whose reverse mode is not reverse mode through their steps (a
:class:`~chaosgrad.SwappableAdjoint` such as diffrax's ``BacksolveAdjoint``) are also
differentiated horizon by horizon through their own adjoint (``_gradients.sweep_adjoint``), so
that adjoint's own numerics (and instabilities) are what is measured.

Besides the norms, every horizon returns a sketch of the gradient and of the forward
state (``_gradients.sketch``), so that two runs can be compared member by member.
"""

from __future__ import annotations

import math

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from chaosgrad._checks import leading_size
from chaosgrad._gradients.horizons import MAX_BLOCKS
from chaosgrad._gradients.sketch import sketch_tree
from chaosgrad._gradients.sweep_blocks import (
    DEFAULT_CAPACITY,
    MIN_HORIZON_LANES,
    StoredSteps,
    SweepLayout,
    WholeBlock,
    horizon_lanes,
    stored_steps,
)
from chaosgrad._gradients.sweep_scaling import retry_scaled, scale_seeds
from chaosgrad._gradients.wrt import Wrt
from chaosgrad._pytree import all_finite, float_leaves, is_float_array, tangent_mask
from chaosgrad._runtime.compilation_cache import BackgroundProgram, tracing
from chaosgrad._runtime.compile_policy import COMPILE_BOUND, policy_jit
from chaosgrad._runtime.schedule import SWEEP, SWEEP_LOWERED, current
from chaosgrad._runtime.sharding import shard_ensemble, to_host
from chaosgrad._simulators.capabilities import reverse_through_steps

# Blocks up to this many steps keep every step's start state for the block's VJP (one
# forward recomputation per block); longer blocks fall back to sqrt(b) checkpointing.
MAX_STORED_STEPS = 4096


def tree_norm(tree):
    leaves = [jnp.sum(jnp.square(x.astype(jnp.float64))) for x in float_leaves(tree)]
    return jnp.sqrt(sum(leaves)) if leaves else jnp.asarray(0.0)


def split_theta(sel: Wrt, args):
    """The differentiable (float array) part of the selection, and a rebuild function."""
    if sel.kind != "args":
        return jnp.zeros(()), lambda theta: args
    dyn, static = eqx.partition(sel.get(args), is_float_array)
    return dyn, lambda theta: sel.set(args, eqx.combine(theta, static))


def wrt_dimension(simulator, sel: Wrt, y_template, args) -> int:
    """The size of the flattened ``wrt``: the state's tangent space, or the parameters'."""
    if sel.kind == "y0":
        return simulator.tangent_space(y_template)[0].dim
    return int(sum(np.size(x) for x in jax.tree_util.tree_leaves(split_theta(sel, args)[0])))


def _block_fn(simulator, loss, rebuild, b):
    """One block of ``b`` steps: ``(t, y, theta) -> (y_end, sum of loss dt)``.

    A plain scan of ``step`` (the same map as ``evolve`` for these simulators): its VJP
    stores the block's residuals, so the sweep's backward pass recomputes each block
    once instead of twice.
    """

    through_steps = reverse_through_steps(simulator)

    def block(t, y, theta):
        a = rebuild(theta)
        if (b > MAX_STORED_STEPS or not through_steps) and not loss.accumulates:
            return simulator.evolve(t, y, a, b), jnp.zeros((), jnp.float64)
        if not through_steps:
            # Adaptive steps are solves that reverse mode enters only through evolve.
            step = lambda t, y, a: simulator.evolve(t, y, a, 1)
        else:
            step = jax.checkpoint(simulator.step) if b > MAX_STORED_STEPS else simulator.step

        def body(carry, _):
            t, y, acc = carry
            if loss.accumulates:
                acc = acc + loss.integrand(t, y, y).astype(jnp.float64) * simulator.dt
            return (t + simulator.dt, step(t, y, a), acc), None

        (_, y, acc), _ = jax.lax.scan(body, (t, y, jnp.zeros((), jnp.float64)), None, length=b)
        return y, acc

    return block


def _forward_boundaries(simulator, y0, args, loss, sel: Wrt, layout: SweepLayout, b, K):
    """The block-boundary states of one member (``layout.max_blocks + 1`` slots, the
    first ``K + 1`` filled), and up to which boundary they stay finite."""
    theta, rebuild = split_theta(sel, args)
    block_time = b * simulator.dt
    slots = layout.max_blocks + 1
    ys = jax.tree_util.tree_map(lambda x: jnp.broadcast_to(x, (slots,) + jnp.shape(x)), y0)

    def forward(k, carry):
        y, ys, block_ok = carry
        y1 = layout.block.advance(simulator, loss, rebuild, k * block_time, y, theta, b)
        ys = jax.tree_util.tree_map(lambda a, v: jax.lax.dynamic_update_index_in_dim(a, v, k + 1, 0), ys, y1)
        return y1, ys, jax.lax.dynamic_update_index_in_dim(block_ok, all_finite(y1), k, 0)

    _, ys, block_ok = jax.lax.fori_loop(0, K, forward, (y0, ys, jnp.zeros(layout.max_blocks, bool)))
    # The state is finite up to block boundary k if every boundary up to it is (and the
    # member itself was finite to begin with).
    ok = jnp.cumprod(block_ok.astype(jnp.int32)).astype(bool) & all_finite(y0)
    return ys, ok


def tangent_part(simulator, g, template):
    """The gradient with respect to the state restricted to its tangent leaves (contract
    rule 10): a passive leaf's gradient (a running return: exactly 1) is not a
    sensitivity of the dynamics. ``template`` has the structure of ``g`` without its
    batch axes."""
    if simulator.tangent_selector is None:
        return g
    return eqx.filter(g, tangent_mask(template, simulator.tangent_selector))


def _masked(mask, tree):
    """Zero the lanes (axis 0) of every leaf where ``mask`` is False (NaN-safe)."""
    return jax.tree_util.tree_map(
        lambda x: jnp.where(mask.reshape(mask.shape + (1,) * (x.ndim - 1)), x, jnp.zeros_like(x)), tree
    )


def _seeds(loss, pick, blocks, block_time, wide: bool):
    """Every horizon's cotangent seeds: ``dL/dy(T_h)`` of the final part at the state stored
    on its boundary (``pick(k)``: the floating leaves and the rest), and the weight of its
    per-step part (0 for a loss without one)."""

    def seed(k_h):
        # Only the floating leaves carry cotangents; integer leaves (counters, layer
        # indices) ride along from the stored states. With loss scaling the seed is taken
        # in float32 at least, so that it is scaled before it can underflow the state's type.
        yf_end, rest_end = pick(k_h)
        if wide:
            yf_end = jax.tree_util.tree_map(lambda x: x.astype(jnp.promote_types(x.dtype, jnp.float32)), yf_end)
        y_end = eqx.combine(yf_end, rest_end)
        return jax.grad(lambda yf: loss.final(eqx.combine(yf, rest_end), y_end))(yf_end)

    seeds = jax.vmap(seed)(blocks)
    if loss.accumulates:
        # Each horizon's weight on the sum of the integrand (loss rule 3).
        cot_s = jnp.where(blocks > 0, loss.weight(jnp.maximum(blocks, 1) * block_time), 0.0).astype(jnp.float64)
    else:
        cot_s = jnp.zeros(blocks.shape[0], jnp.float64)
    return seeds, cot_s


def _backward_all(simulator, ys, args, loss, sel: Wrt, layout: SweepLayout, b, K, blocks, scaling=None):
    """Every horizon's gradient in one backward pass, one member.

    The VJP is linear in the cotangent, so the cotangents of all ``H`` horizons travel
    together as one batch: the pass runs from the last block boundary back to 0, and the
    cotangent of the horizon ending on boundary ``k_h`` is injected when the pass reaches
    it. Each block's forward is recomputed once from its stored boundary state and its
    VJP (``layout.block``) applied to the whole batch; lanes whose horizon has not started yet
    are held at zero with ``where``, so a blow-up beyond a short horizon cannot reach it
    through ``0 * inf``. Returns per horizon the gradient's norm and sketch, and
    ``||dL/dy(t)||`` of the longest horizon at every block boundary. Padding lanes
    (block 0, before the plan's own) stay zero.

    ``scaling = (shift, headroom_log2)`` turns on loss scaling: each lane's seed (and its
    per-step injection for a loss with a per-step part) is multiplied by ``2^e`` with ``e`` from
    :func:`~chaosgrad._gradients.sweep_scaling.scale_exponents`, so its cotangents stay inside a 16-bit type's range; the
    results are unscaled by ``2^-e`` in float64 (exact: a power of two), and ``e`` is
    returned as a fourth output.
    """
    theta, rebuild = split_theta(sel, args)
    block_time = b * simulator.dt
    pick = lambda k: eqx.partition(jax.tree_util.tree_map(lambda a: a[k], ys), is_float_array)

    seeds, cot_s = _seeds(loss, pick, blocks, block_time, wide=scaling is not None)
    H = blocks.shape[0]
    if scaling is not None:
        seeds, cot_s, exponent = scale_seeds(seeds, cot_s, scaling, jnp.dtype(simulator.dtype))
    cot_theta = jax.tree_util.tree_map(lambda x: jnp.zeros((H,) + jnp.shape(x), jnp.result_type(x)), theta)

    yf0, rest0 = pick(0)
    buffers = layout.block.buffers(simulator, loss, rebuild, 0.0 * block_time, yf0, rest0, theta)

    def body(i, carry):
        cot_y, cot_theta, profile, buffers = carry
        k = K - 1 - i
        cot_y = jax.tree_util.tree_map(jnp.add, cot_y, _masked(blocks == k + 1, seeds))
        active = blocks >= k + 1
        yf, rest = pick(k)
        pull, buffers = layout.block.pullback(simulator, loss, rebuild, k * block_time, yf, rest, theta, b, buffers)
        g_y, g_theta = pull(cot_y, jnp.where(active, cot_s, 0.0))
        g_y, g_theta = _masked(active, g_y), _masked(active, g_theta)
        cot_theta = jax.tree_util.tree_map(jnp.add, cot_theta, g_theta)
        longest = jax.tree_util.tree_map(lambda x: x[H - 1], g_y)
        profile = jax.lax.dynamic_update_index_in_dim(profile, tree_norm(longest), k, 0)
        return g_y, cot_theta, profile, buffers

    start = (jax.tree_util.tree_map(jnp.zeros_like, seeds), cot_theta, jnp.zeros(layout.max_blocks), buffers)
    cot_y, cot_theta, profile, _ = jax.lax.fori_loop(0, K, body, start)
    g = tangent_part(simulator, cot_y, pick(0)[0]) if sel.kind == "y0" else cot_theta
    if scaling is None:
        return jax.vmap(tree_norm)(g), profile, jax.vmap(sketch_tree)(g)
    unscale = jnp.exp2(-exponent.astype(jnp.float64))
    return (
        jax.vmap(tree_norm)(g) * unscale,
        profile * unscale[H - 1],
        jax.vmap(sketch_tree)(g) * unscale[:, None],
        exponent,
    )


@policy_jit(COMPILE_BOUND)
def _sweep_ensemble(simulator, y0s, args, loss, sel, layout: SweepLayout, counts, blocks, shifts=None, headroom_log2=0):
    """Forward pass, then one backward pass for every horizon, for every member, in one call
    (with loss scaling when ``shifts``, ``(M, H)`` exponent back-offs, is given).
    ``counts = (b, K)``: steps per block and blocks, traced values within ``layout``
    (block strategy rule 4 decides whether ``b`` is used)."""
    b, K = layout.block.steps(counts[0]), counts[1]

    def member(y0, shift):
        ys, state_ok = _forward_boundaries(simulator, y0, args, loss, sel, layout, b, K)
        scaling = None if shift is None else (shift, headroom_log2)
        out = _backward_all(simulator, ys, args, loss, sel, layout, b, K, blocks, scaling)
        states = jax.vmap(lambda k: sketch_tree(jax.tree_util.tree_map(lambda a: a[k], ys)))(blocks)
        return (*out[:2], state_ok[jnp.maximum(blocks, 1) - 1], out[2], states, *out[3:])

    if shifts is None:
        return jax.vmap(lambda y0: member(y0, None))(y0s)
    return jax.vmap(member)(y0s, shifts)


def sweep_layout(simulator, y0s, args, loss, sel: Wrt, b: int, n_horizons: int) -> SweepLayout:
    """The compiled shape for blocks of ``b`` steps and ``n_horizons`` horizons: stored
    steps (one program for every plan that fits) when reverse mode goes through the steps
    and a block is at most ``MAX_STORED_STEPS``, else the whole block at its own length."""
    block: StoredSteps | WholeBlock
    if not reverse_through_steps(simulator) or b > MAX_STORED_STEPS:
        block = WholeBlock(int(b))
    else:
        block = stored_steps(int(b), _stored_bytes_per_step(simulator, y0s, args, loss, sel), leading_size(y0s, "y0s"))
    return SweepLayout(block, MAX_BLOCKS, horizon_lanes(n_horizons))


def _stored_bytes_per_step(simulator, y0s, args, loss, sel: Wrt) -> int:
    """Bytes :class:`StoredSteps` keeps per step, one member (shapes only, no run)."""
    theta, rebuild = split_theta(sel, args)
    y0 = jax.tree_util.tree_map(lambda x: x[0], y0s)
    yf, rest = eqx.partition(y0, is_float_array)
    bufs = jax.eval_shape(lambda: StoredSteps(1).buffers(simulator, loss, rebuild, 0.0, yf, rest, theta))
    return int(sum(math.prod(x.shape) * x.dtype.itemsize for x in jax.tree_util.tree_leaves(bufs)))


def _padded(blocks, lanes: int):
    """The plan's blocks after ``lanes - H`` padding lanes (block 0: never injected), so
    that the last lane stays the longest horizon."""
    blocks = np.asarray(blocks, np.int32)
    return np.concatenate([np.zeros(lanes - blocks.size, np.int32), blocks])


def _sweep_call(simulator, y0s, args, loss, sel, layout, b, blocks):
    counts = jnp.asarray([b, int(blocks[-1])], jnp.int32)
    return (simulator, y0s, args, loss, sel, layout, counts, jnp.asarray(_padded(blocks, layout.max_horizons)))


def lower_sweep(simulator, y0s, args, loss, sel: Wrt, layout: SweepLayout):
    """The sweep's program for every plan ``layout`` holds, lowered. ``y0s``: arrays of
    the members' shapes and dtypes (the values do not matter)."""
    M = leading_size(y0s, "y0s")
    y_in, a_in = shard_ensemble((y0s, args), (0, None), M)
    return _sweep_ensemble.lower(*_sweep_call(simulator, y_in, a_in, loss, sel, layout, 1, np.ones(1, np.int32)))


class SweepProgram(BackgroundProgram):
    """The sweep's program for ``layout``, compiled before the horizon plan it will run is
    known (``diagnose``'s default plan depends on the measured exponents);
    :func:`sweep_horizons` joins it when its own layout is this one."""

    def __init__(self, simulator, y0s, args, loss, sel: Wrt, layout: SweepLayout):
        super().__init__(lambda: lower_sweep(simulator, y0s, args, loss, sel, layout))
        self.layout = layout


def early_sweep_program(simulator, y0, members: int, args, loss, sel: Wrt, plan) -> SweepProgram | None:
    """The program the sweep of ``members`` members like ``y0`` (prepared) will run on
    ``plan``, or on any default plan when ``plan`` is ``None`` (their blocks are at most
    ``DEFAULT_CAPACITY`` steps, at most ``MIN_HORIZON_LANES`` horizons); ``None`` when it
    cannot be known yet (an adaptive solve's blocks have a static length; stored steps
    too large for the default capacity)."""
    if not reverse_through_steps(simulator):
        return None
    y0s = jax.tree_util.tree_map(lambda x: jnp.zeros((int(members),) + jnp.shape(x), jnp.result_type(x)), y0)
    if plan is not None:
        layout = sweep_layout(simulator, y0s, args, loss, sel, plan.b, len(plan.blocks))
    else:
        layout = sweep_layout(simulator, y0s, args, loss, sel, 1, MIN_HORIZON_LANES)
        if layout.block != StoredSteps(DEFAULT_CAPACITY):
            return None
    return SweepProgram(simulator, y0s, args, loss, sel, layout)


def sweep_horizons(simulator, y0s, args, loss, sel: Wrt, b: int, blocks, loss_scaling=None):
    """All horizons for all members, as NumPy arrays:

    norms ``(M, H)``, the longest horizon's cotangent profile ``(M, K)``, whether the
    state stayed finite ``(M, H)``, gradient sketches ``(M, H, P)`` and state sketches
    ``(M, H, S)``.

    Cost: one forward pass over the longest horizon, then one recomputing backward pass
    over it that carries every horizon's cotangent at once: about one gradient at the
    longest horizon plus, per block, the VJP applied to a batch of ``H`` cotangents.

    The current schedule (``_runtime.schedule``) is asked for the sweep's program compiling
    ahead (joined when its layout is this sweep's), and told when this sweep's program
    is traced and lowered, before it compiles (``SWEEP_LOWERED``): the moment to start
    compiling other programs in the background.
    """
    blocks = np.asarray(blocks, dtype=np.int32)
    H, K = blocks.size, int(blocks[-1])
    layout = sweep_layout(simulator, y0s, args, loss, sel, b, H)
    schedule = current()
    schedule.program(SWEEP, matches=lambda program: program.layout == layout)
    # The members are independent: shard them over every device (and every process).
    M = jax.tree_util.tree_leaves(y0s)[0].shape[0]
    y_in, a_in = shard_ensemble((y0s, args), (0, None), M)
    if loss_scaling is not None:
        schedule.announce(SWEEP_LOWERED)
        return _scaled_sweep(simulator, y_in, a_in, loss, sel, layout, b, blocks, loss_scaling, M)
    sweep_args = _sweep_call(simulator, y_in, a_in, loss, sel, layout, b, blocks)
    with tracing():  # then compiled by the call, while background programs trace
        _sweep_ensemble.lower(*sweep_args)
    schedule.announce(SWEEP_LOWERED)
    out = _sweep_ensemble(*sweep_args)
    norms, profile, state, grads, states = _plan_lanes(out, M, H, K)
    return (
        norms.astype(np.float64),
        profile.astype(np.float64),
        state.astype(bool),
        grads.astype(np.float64),
        states.astype(np.float64),
    )


def _plan_lanes(out, M: int, H: int, K: int) -> list:
    """The members' and the plan's own lanes of the sweep's outputs (norms, profile,
    state, gradient sketches, state sketches, then any exponents): the last ``H`` horizon
    lanes, the first ``K`` profile entries, as NumPy arrays."""
    out = [to_host(x)[:M] for x in out]
    return [x[:, :K] if i == 1 else x[:, x.shape[1] - H :] for i, x in enumerate(out)]


def _scaled_sweep(simulator, y_in, a_in, loss, sel, layout, b, blocks, scaling, M):
    """The sweep with dynamic loss scaling (``chaosgrad.DynamicLossScale``), lanes rerun with
    a back-off by :func:`~chaosgrad._gradients.sweep_scaling.retry_scaled`. Returns the
    usual five arrays and the exponents."""
    H, K = len(blocks), int(blocks[-1])
    call = _sweep_call(simulator, y_in, a_in, loss, sel, layout, b, blocks)

    def run(shifts):
        sh = jnp.asarray(np.pad(shifts, ((0, leading_size(y_in, "y0") - M), (layout.max_horizons - H, 0))))
        out = _sweep_ensemble(*call, shifts=sh, headroom_log2=int(scaling.headroom_log2))
        return _plan_lanes(out, M, H, K)

    return retry_scaled(run, M, H, scaling)
