"""Spread an ensemble across every visible device with ``jax.sharding``.

The ensemble axis (axis 0 of the batched inputs) is split over a one-dimensional device
mesh; ``jit`` then runs each shard on its own device and the members never communicate.
Ensembles whose size is not a multiple of the device count are padded by repeating the
last member; callers slice the padding off. On a multi-host cluster, call
``jax.distributed.initialize()`` first: ``jax.devices()`` then lists every host's
devices and the same code runs across hosts.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec


def ensemble_mesh() -> Mesh:
    return Mesh(np.asarray(jax.devices()), ("ensemble",))


def shard_ensemble(trees, axes, members: int, *, enabled: bool = True):
    """Pad the batched trees to a multiple of the device count and shard axis 0.

    ``trees`` and ``axes`` are parallel tuples; a tree with axis ``None`` is replicated.
    """
    n_dev = jax.device_count()
    if not enabled or n_dev == 1:
        return trees
    padded = -(-members // n_dev) * n_dev
    mesh = ensemble_mesh()
    sharded = NamedSharding(mesh, PartitionSpec("ensemble"))
    replicated = NamedSharding(mesh, PartitionSpec())

    def place(tree, axis):
        if axis is None:
            return jax.device_put(tree, replicated)

        def pad(x):
            x = jnp.asarray(x)
            extra = padded - x.shape[0]
            if extra:
                x = jnp.concatenate([x, jnp.repeat(x[-1:], extra, axis=0)], axis=0)
            return jax.device_put(x, sharded)

        return jax.tree_util.tree_map(pad, tree)

    return tuple(place(t, a) for t, a in zip(trees, axes))
