"""Fixed-size sketches of gradients and states, for member-by-member comparisons.

Two runs of the same members (the user's numerics and an ablation) are compared by the
cosine and the norm ratio of their gradients and by the distance of their forward
states. Vectors of up to ``SKETCH_SIZE`` entries are kept exactly. Longer ones are
compressed by a CountSketch (Charikar, Chen & Farach-Colton 2002): entry ``i`` is added,
with a random sign ``s_i``, to bucket ``h_i``. Inner products are preserved in
expectation with a relative error of about ``1 / sqrt(SKETCH_SIZE)`` (6%), enough to
tell a cosine of 1 from one below 1/2, at O(n) cost and memory. The hash depends only on
the vector's length, so every run of the same problem uses the same sketch.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from chaosgrad._pytree import float_leaves

SKETCH_SIZE = 256


def sketch_size(n: int) -> int:
    return min(int(n), SKETCH_SIZE)


def describe_sketch(n: int) -> str:
    if n <= SKETCH_SIZE:
        return f"exact ({n} entries)"
    return f"CountSketch of {n} entries into {SKETCH_SIZE} buckets (relative error ~ {SKETCH_SIZE**-0.5:.0%})"


def flat_floats(tree) -> jax.Array:
    """The floating leaves of ``tree``, flattened and promoted to float64."""
    leaves = [jnp.ravel(x).astype(jnp.float64) for x in float_leaves(tree)]
    return jnp.concatenate(leaves) if leaves else jnp.zeros((0,), jnp.float64)


def sketch(vector: jax.Array) -> jax.Array:
    """``vector`` itself when short, else its CountSketch (traceable, fixed hash)."""
    n = vector.shape[0]
    if n <= SKETCH_SIZE:
        return vector
    key_h, key_s = jax.random.split(jax.random.PRNGKey(n))
    buckets = jax.random.randint(key_h, (n,), 0, SKETCH_SIZE)
    signs = jax.random.rademacher(key_s, (n,), dtype=vector.dtype)
    return jax.ops.segment_sum(signs * vector, buckets, num_segments=SKETCH_SIZE)


def sketch_tree(tree) -> jax.Array:
    return sketch(flat_floats(tree))
