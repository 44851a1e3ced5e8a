"""Dynamic loss scaling in the all-horizon sweep (``chaosgrad.DynamicLossScale``): each
horizon lane's seed scaled by a power of two that keeps its cotangents inside a 16-bit
type's range, and lanes whose scaled pass is non-finite rerun with a back-off."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np


def scale_exponents(seeds, cot_s, shift, dtype, headroom_log2: int):
    """Per horizon lane, ``log2`` of the loss scale: the largest power of two that keeps the
    lane's seed ``headroom_log2`` binary orders below ``dtype``'s largest number, plus the
    caller's ``shift`` (``<= 0``: the back-off after a non-finite pass)."""
    leaves = [x for x in jax.tree_util.tree_leaves(seeds) if x.size]
    amax = (
        jnp.max(
            jnp.stack([jnp.max(jnp.abs(x.astype(jnp.float32)).reshape(x.shape[0], -1), axis=1) for x in leaves]), axis=0
        )
        if leaves
        else jnp.zeros(cot_s.shape, jnp.float32)
    )
    amax = jnp.maximum(amax, jnp.abs(cot_s).astype(jnp.float32))
    room = jnp.floor(jnp.log2(jnp.finfo(dtype).max.astype(jnp.float32)) - headroom_log2 - jnp.log2(amax))
    return jnp.where(amax > 0, room, 0.0) + shift


def scale_seeds(seeds, cot_s, scaling, state_dtype):
    """The seeds and per-step weights of every horizon lane multiplied by ``2^e``, with ``e``
    from :func:`scale_exponents` for ``scaling = (shift, headroom_log2)``; the seeds are
    cast back to the state's type (a wider seed was taken so that it could not underflow
    before it was scaled). Returns the scaled seeds, the scaled weights and ``e``."""
    shift, headroom_log2 = scaling
    H = cot_s.shape[0]
    exponent = scale_exponents(seeds, cot_s, shift, state_dtype, headroom_log2)
    factor = jnp.exp2(exponent)
    seeds = jax.tree_util.tree_map(
        lambda x: (x * factor.reshape((H,) + (1,) * (x.ndim - 1)).astype(x.dtype)).astype(
            state_dtype if x.dtype != state_dtype and jnp.issubdtype(x.dtype, jnp.floating) else x.dtype
        ),
        seeds,
    )
    return seeds, cot_s * factor.astype(jnp.float64), exponent


def retry_scaled(run, M: int, H: int, scaling):
    """Run the scaled sweep (``run(shifts)``: the plan's lanes of norms, profile, state,
    gradient sketches, state sketches and exponents for ``(M, H)`` exponent back-offs);
    lanes whose scaled backward pass is non-finite while their forward state is finite
    back off (``backoff_log2``, doubling at each rerun) and are run again, at most
    ``scaling.retries`` times; every other lane keeps its first result. Returns the usual
    five arrays and the exponents."""
    shifts = np.zeros((M, H), np.float32)
    best: list[np.ndarray] | None = None
    retry = np.zeros((M, H), bool)
    for attempt in range(scaling.retries + 1):
        norms, profile, state, grads, states, expo = (np.asarray(x, np.float64) for x in run(shifts))
        state = state.astype(bool)
        if best is None:
            best = [norms, profile, state, grads, states, expo]
        else:
            redo = retry[:, :, None]
            best[0] = np.where(retry, norms, best[0])
            best[3] = np.where(redo, grads, best[3])
            best[5] = np.where(retry, expo, best[5])
            longest = retry[:, -1]
            best[1] = np.where(longest[:, None], profile, best[1])
        retry = ~np.isfinite(best[0]) & best[2]
        if not retry.any():
            break
        # Back off by backoff_log2, then twice that, four times...: a cotangent that grows
        # by 2^k inside the pass is found in about log2(k) reruns, not k.
        shifts = np.where(retry, shifts - scaling.backoff_log2 * 2.0**attempt, shifts).astype(np.float32)
    assert best is not None  # the first attempt sets it
    return best[0], best[1], best[2].astype(bool), best[3], best[4], best[5]
