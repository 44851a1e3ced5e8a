"""The tangent space of a pytree state: its floating-point leaves, flattened.

A state ``y`` may be any pytree. Its inexact (floating) array leaves form the tangent
space; other leaves (integer counters, PRNG keys) are carried along unchanged by the
tangent machinery. :class:`FlatState` turns ``y`` into a flat vector ``u`` plus the
non-floating part so that Jacobian columns can be pushed through with ``jax.jvp``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jax.flatten_util import ravel_pytree

from chaosgrad._errors import bad_argument


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


def tangent_mask(y, tangent: Callable | None = None):
    """A boolean pytree like ``y``: True at the leaves of the tangent space.

    Without ``tangent`` every floating array leaf; with it, the floating leaves of the
    sub-trees ``tangent(y)`` returns (a leaf, or a tuple/list of leaves and sub-trees of
    ``y``, as for ``equinox.tree_at``).
    """
    floats = jax.tree_util.tree_map(is_float_array, y)
    if tangent is None:
        return floats
    none = jax.tree_util.tree_map(lambda _: False, y)
    try:
        chosen = eqx.tree_at(tangent, none, replace_fn=lambda sub: jax.tree_util.tree_map(lambda _: True, sub))
    except Exception as exc:
        raise bad_argument(
            "tangent",
            f"cannot select leaves of the state ({type(exc).__name__}: {exc})",
            "pass a function that returns parts of the state itself, e.g. lambda s: (s.theta, s.theta_dot)",
        ) from exc
    mask = jax.tree_util.tree_map(lambda a, b: bool(a) and bool(b), floats, chosen)
    if not any(jax.tree_util.tree_leaves(mask)):
        raise bad_argument(
            "tangent",
            "selects no floating-point leaf of the state",
            "return the float arrays that carry the dynamics, e.g. lambda s: (s.q, s.qd)",
        )
    return mask


@dataclass(frozen=True)
class FlatState:
    """Split a template state into a flat float vector (its tangent leaves) and the rest.

    ``unravel(u)`` rebuilds the tangent part; ``combine(u, rest)`` the whole state.
    ``tangent`` (optional) selects the tangent leaves (see :func:`tangent_mask`).
    """

    unravel: Callable
    dim: int
    dtype: Any
    tangent: Callable | None = None

    @staticmethod
    def from_template(y, tangent: Callable | None = None) -> tuple[FlatState, jax.Array, Any]:
        floats, rest = eqx.partition(y, tangent_mask(y, tangent))
        u, unravel = ravel_pytree(floats)
        return FlatState(unravel=unravel, dim=int(u.size), dtype=u.dtype, tangent=tangent), u, rest

    def split(self, y):
        floats, rest = eqx.partition(y, tangent_mask(y, self.tangent))
        return ravel_pytree(floats)[0], rest

    def combine(self, u, rest):
        return eqx.combine(self.unravel(u), rest)


def leaf_names(tree, mask=None) -> list[str]:
    """``jax.tree_util.keystr`` names of the (masked) leaves of ``tree``."""
    paths = jax.tree_util.tree_flatten_with_path(tree)[0]
    keep = jax.tree_util.tree_leaves(mask) if mask is not None else [True] * len(paths)
    return [jax.tree_util.keystr(p) or "(the state)" for (p, _), k in zip(paths, keep) if k]


def float_leaves(tree) -> list:
    return [x for x in jax.tree_util.tree_leaves(tree) if is_float_leaf(x)]


def all_finite(tree) -> jax.Array:
    """True when every floating leaf of ``tree`` is finite (traceable)."""
    leaves = [jnp.all(jnp.isfinite(x)) for x in float_leaves(tree)]
    return jnp.all(jnp.stack(leaves)) if leaves else jnp.asarray(True)


def cast_floats(tree, dtype):
    """Cast every floating leaf of ``tree`` to ``dtype``; leave the rest alone."""
    return jax.tree_util.tree_map(lambda x: jnp.asarray(x, dtype) if is_float_leaf(x) else x, tree)


def as_arrays(tree):
    """Python floats and ints (not bools) become JAX arrays of the default dtype, strongly
    typed (a weak int32 would count as int64 in a float64 scope); the rest is kept."""

    def strong(x):
        return jnp.asarray(x, dtype=jnp.asarray(x).dtype)

    return jax.tree_util.tree_map(
        lambda x: strong(x) if isinstance(x, (float, int)) and not isinstance(x, bool) else x, tree
    )


def floats_as_arrays(tree):
    """Python floats become arrays, so that they can be differentiated and traced."""
    return jax.tree_util.tree_map(lambda x: jnp.asarray(x) if isinstance(x, float) else x, tree)
