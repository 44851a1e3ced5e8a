"""The tangent space of a pytree state: its floating-point leaves, flattened.

A state ``y`` may be any pytree. Its inexact (floating) array leaves form the tangent
space; other leaves (integer counters, PRNG keys) are carried along unchanged by the
tangent machinery. :class:`FlatState` turns ``y`` into a flat vector ``u`` plus the
non-floating part so that Jacobian columns can be pushed through with ``jax.jvp``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jax.flatten_util import ravel_pytree


def is_float_leaf(x) -> bool:
    """A floating-point array or Python float (tracers included)."""
    if isinstance(x, bool):
        return False
    if isinstance(x, float):
        return True
    dtype = getattr(x, "dtype", None)
    return dtype is not None and jnp.issubdtype(dtype, jnp.inexact)


def is_float_array(x) -> bool:
    return isinstance(x, (jax.Array, np.ndarray)) and jnp.issubdtype(x.dtype, jnp.inexact)


@dataclass(frozen=True)
class FlatState:
    """Split a template state into a flat float vector and the rest.

    ``unravel(u)`` rebuilds the float part; ``combine(u, rest)`` the whole state.
    """

    unravel: Callable
    dim: int
    dtype: Any

    @staticmethod
    def from_template(y) -> tuple["FlatState", jax.Array, Any]:
        floats, rest = eqx.partition(y, is_float_array)
        u, unravel = ravel_pytree(floats)
        return FlatState(unravel=unravel, dim=int(u.size), dtype=u.dtype), u, rest

    def split(self, y):
        floats, rest = eqx.partition(y, is_float_array)
        return ravel_pytree(floats)[0], rest

    def combine(self, u, rest):
        return eqx.combine(self.unravel(u), rest)


def float_leaves(tree) -> list:
    return [x for x in jax.tree_util.tree_leaves(tree) if is_float_leaf(x)]


def all_finite(tree) -> jax.Array:
    """True when every floating leaf of ``tree`` is finite (traceable)."""
    leaves = [jnp.all(jnp.isfinite(x)) for x in float_leaves(tree)]
    return jnp.all(jnp.stack(leaves)) if leaves else jnp.asarray(True)


def cast_floats(tree, dtype):
    """Cast every floating leaf of ``tree`` to ``dtype``; leave the rest alone."""
    return jax.tree_util.tree_map(
        lambda x: jnp.asarray(x, dtype) if is_float_leaf(x) else x, tree
    )


def floats_as_arrays(tree):
    """Python floats become arrays, so that they can be differentiated and traced."""
    return jax.tree_util.tree_map(lambda x: jnp.asarray(x) if isinstance(x, float) else x, tree)
