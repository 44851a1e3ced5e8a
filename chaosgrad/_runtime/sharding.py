"""Spread an ensemble across every visible device with ``jax.sharding``.

The ensemble axis (axis 0 of the batched inputs) is split over a one-dimensional device
mesh; ``jit`` then runs each shard on its own device and the members never communicate.
Ensembles whose size is not a multiple of the device count are padded by repeating the
last member; callers slice the padding off. On a multi-host cluster, call
``jax.distributed.initialize()`` first: ``jax.devices()`` then lists every host's
devices and the same code runs across hosts. Every process passes the same inputs; each
places only its own shards (``jax.make_array_from_callback``), and :func:`to_host`
gathers results whose shards live on other processes (``process_allgather``), so every
process gets the whole result.
"""

from __future__ import annotations

import jax
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec


def _is_array(x) -> bool:
    return isinstance(x, (jax.Array, np.ndarray, np.generic, float, int)) and not isinstance(x, bool)


def to_host(x) -> np.ndarray:
    """``x`` as a NumPy array on this process, gathering shards held by other processes."""
    if isinstance(x, jax.Array) and not x.is_fully_addressable:
        from jax.experimental import multihost_utils

        x = multihost_utils.process_allgather(x, tiled=True)
    return np.asarray(x)


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

    def put(x, sharding):
        host = np.asarray(x)
        return jax.make_array_from_callback(host.shape, sharding, lambda index: host[index])

    def place(tree, axis):
        if axis is None:
            return jax.tree_util.tree_map(lambda x: put(x, replicated) if _is_array(x) else x, tree)

        def pad(x):
            x = np.asarray(x)
            extra = padded - x.shape[0]
            if extra:
                x = np.concatenate([x, np.repeat(x[-1:], extra, axis=0)], axis=0)
            return put(x, sharded)

        return jax.tree_util.tree_map(pad, tree)

    return tuple(place(t, a) for t, a in zip(trees, axes))
