"""One step's derivative, measured before anything else.

A step that propagates no derivative (``jax.lax.stop_gradient`` inside it, integer or
discrete operations, a parameter that does not enter it) makes every later measurement
degenerate: exponents of ``-inf``, gradients that are exactly zero. Saying so up front,
with the fix, is worth one forward-mode derivative of one step.
"""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp

from ._pytree import FlatState, is_float_array
from ._sketch import flat_floats
from ._sweep import split_theta
from ._wrt import Wrt


@eqx.filter_jit
def _probe(simulator, y0, args, sel: Wrt):
    flat, u, rest = FlatState.from_template(y0)
    key_y, key_t = jax.random.split(jax.random.PRNGKey(0))

    def through_state(u):
        return flat_floats(simulator.step(0.0, flat.combine(u, rest), args))

    v = jax.random.normal(key_y, u.shape, jnp.float64).astype(u.dtype)
    state = jnp.linalg.norm(jax.jvp(through_state, (u,), (v,))[1])
    if sel.kind != "args":
        return state, state
    theta, rebuild = split_theta(sel, args)
    leaves, treedef = jax.tree_util.tree_flatten(theta)
    keys = jax.random.split(key_t, max(len(leaves), 1))
    w = jax.tree_util.tree_unflatten(
        treedef, [jax.random.normal(k, jnp.shape(x), jnp.float64).astype(x.dtype) for k, x in zip(keys, leaves)]
    )
    through_wrt = lambda th: flat_floats(simulator.step(0.0, y0, rebuild(th)))
    return state, jnp.linalg.norm(jax.jvp(through_wrt, (theta,), (w,))[1])


def probe_step(simulator, y0, args, sel: Wrt) -> tuple[dict, list[str]]:
    """``({"state": |D_y step v|, "wrt": |D_wrt step w|}, notes)`` for random ``v, w``."""
    if not jax.tree_util.tree_leaves(eqx.filter(y0, is_float_array)):
        return {"state": float("nan"), "wrt": float("nan")}, []
    state, wrt = (float(x) for x in _probe(simulator, y0, args, sel))
    notes = []
    if state == 0:
        notes.append(
            "one step's derivative with respect to the state is exactly zero at y0: the step propagates no "
            "derivative (a stop_gradient, an integer or discrete operation, or an environment that detaches its "
            "transition); every exponent is -inf and gradients through the state vanish. Fix: make the step "
            "differentiable (e.g. enable the environment's transition gradients)"
        )
    if sel.kind == "args" and wrt == 0:
        notes.append(
            f"one step's derivative with respect to {sel.label} is exactly zero at y0: the parameter does not enter "
            "the step differentiably here"
        )
    return {"state": state, "wrt": wrt}, notes
