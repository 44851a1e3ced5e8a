"""One step's derivative, measured before anything else.

A step that propagates no derivative (``jax.lax.stop_gradient`` inside it, integer or
discrete operations, a parameter that does not enter it) makes every later measurement
degenerate: exponents of ``-inf``, gradients that are exactly zero. Saying so up front,
with the fix, is worth one forward-mode derivative of one step.

The same probe, leaf by leaf, finds *passive* leaves of the tangent space: a leaf the
step writes but never reads (a record of the last action, kinematics recomputed from the
coordinates). Its direction collapses exactly in one step (exponent ``-inf``); it is
reported by name with the ``tangent=`` that leaves it out.
"""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from chaosgrad._errors import bad_argument
from chaosgrad._gradients.sketch import flat_floats
from chaosgrad._gradients.sweep import split_theta
from chaosgrad._gradients.wrt import Wrt
from chaosgrad._pytree import is_float_array, leaf_names, tangent_mask
from chaosgrad._runtime.compile_policy import COMPILE_BOUND, policy_jit


@policy_jit(COMPILE_BOUND)
def _probe_norms(simulator, y0, args, sel: Wrt, state_directions, wrt_direction):
    """``|D step . d|`` for a batch of directions, one ``jax.jvp`` vmapped over them (one
    traced step whatever the number of leaves): the tangent part of the output for each
    state direction (what every exponent sees; a passive output such as a running return
    is not dynamics), every floating output for the ``wrt`` direction."""
    flat, u, rest = simulator.tangent_space(y0)
    theta, rebuild = split_theta(sel, args)

    def outputs(u, th):
        y1 = simulator.step(0.0, flat.combine(u, rest), rebuild(th) if sel.kind == "args" else args)
        return flat.split(y1)[0], flat_floats(y1)

    def push(du, dth):
        return jax.jvp(outputs, (u, theta), (du, dth))[1]

    zeros_theta = jax.tree_util.tree_map(jnp.zeros_like, theta)
    state_out, _ = jax.vmap(lambda du: push(du, zeros_theta))(state_directions.astype(u.dtype))
    per_direction = jnp.linalg.norm(state_out.reshape(state_out.shape[0], -1), axis=1)
    if sel.kind != "args":
        return per_direction, per_direction[0]
    _, wrt_out = push(jnp.zeros_like(u), wrt_direction)
    return per_direction, jnp.linalg.norm(wrt_out)


def _probe(simulator, y0, args, sel: Wrt):
    """``(|D_y step v|, |D_wrt step w|, per-leaf |D_y step v_leaf|)`` for random ``v, w``
    drawn on the host (seeded): the same random direction, then restricted to each leaf."""
    flat, u, _ = simulator.tangent_space(y0)
    rng = np.random.default_rng(0)
    v = rng.standard_normal(u.size)
    sizes = [int(np.size(x)) for x in jax.tree_util.tree_leaves(flat.unravel(u))]
    offsets = np.cumsum([0] + sizes)
    windows = [
        np.where((np.arange(u.size) >= lo) & (np.arange(u.size) < hi), v, 0.0)
        for lo, hi in zip(offsets[:-1], offsets[1:])
    ]
    # With one leaf its window is v itself.
    directions = np.stack([v] + (windows if len(windows) > 1 else []))
    theta, _ = split_theta(sel, args)
    # The leaf's own dtype: a weakly typed float32 (jnp.array(8.0) made without float64)
    # would be promoted by jnp.result_type in chaosgrad's float64 scope, unlike the primal.
    w = jax.tree_util.tree_map(lambda x: jnp.asarray(rng.standard_normal(np.shape(x)), jnp.asarray(x).dtype), theta)
    norms, wrt = _probe_norms(simulator, y0, args, sel, directions, w)
    norms = np.asarray(norms, np.float64)
    per_leaf = norms[1:] if len(windows) > 1 else norms[:1]
    return norms[0], float(wrt), per_leaf


def _as_written(simulator, name: str) -> str:
    """A leaf's name relative to where the user's ``tangent=`` starts (an adapter wraps
    the environment's state in its own)."""
    root = simulator.tangent_root
    return name[len(root) :] if root and name.startswith(root) else name


def _outside_mask(simulator, y0):
    """Floating leaves of ``y0`` outside the tangent space (rule 10)."""
    inside = tangent_mask(y0, simulator.tangent_selector)
    return jax.tree_util.tree_map(lambda x, t: is_float_array(x) and not t, y0, inside)


@policy_jit(COMPILE_BOUND)
def _outside_reads(simulator, y0, args):
    """``|D_w tangent(step) v_w|`` for each floating leaf ``w`` outside the tangent space:
    non-zero when the tangent leaves' next values depend on a leaf the tangent map leaves
    out (the policy reading a stored observation, say)."""
    flat, _, _ = simulator.tangent_space(y0)
    outside, others = eqx.partition(y0, _outside_mask(simulator, y0))
    leaves, treedef = jax.tree_util.tree_flatten(outside)
    keys = jax.random.split(jax.random.PRNGKey(1), max(len(leaves), 1))

    def tangent_out(tree):
        return flat.split(simulator.step(0.0, eqx.combine(tree, others), args))[0]

    norms = []
    for i, leaf in enumerate(leaves):
        direction = [jnp.zeros_like(x) for x in leaves]
        direction[i] = jax.random.normal(keys[i], jnp.shape(leaf), jnp.float64).astype(leaf.dtype)
        v = jax.tree_util.tree_unflatten(treedef, direction)
        norms.append(jnp.linalg.norm(jax.jvp(tangent_out, (outside,), (v,))[1]))
    return jnp.stack(norms) if norms else jnp.zeros(0)


def probe_step(simulator, y0, args, sel: Wrt) -> tuple[dict, list[str]]:
    """``({"state": |D_y step v|, "wrt": |D_wrt step w|, "passive": [leaf names]}, notes)``
    for random ``v, w``."""
    if not jax.tree_util.tree_leaves(eqx.filter(y0, is_float_array)):
        return {"state": float("nan"), "wrt": float("nan"), "passive": []}, []
    state, wrt, per_leaf = _probe(simulator, y0, args, sel)
    state, wrt, per_leaf = float(state), float(wrt), [float(x) for x in per_leaf]
    names = leaf_names(y0, tangent_mask(y0, simulator.tangent_selector))
    passive = [name for name, norm in zip(names, per_leaf) if norm == 0] if state != 0 else []
    notes = []
    if passive:
        passive, active = (
            [_as_written(simulator, n) for n in group] for group in (passive, [n for n in names if n not in passive])
        )
        notes.append(
            f"the step never reads the state leaf/leaves {', '.join(passive)}: their directions collapse exactly in one "
            "step (exponent -inf), a passive record rather than dynamics. Fix: pass tangent= to the simulator, a "
            f"function returning only the leaves that carry dynamics ({', '.join('s' + a for a in active)})"
        )
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
    # A tangent space the step reads outside of is refused before anything runs
    # (check_closed_tangent), so none is left here.
    return {"state": state, "wrt": wrt, "passive": passive, "read_outside": []}, notes


def check_closed_tangent(simulator, y0, args) -> None:
    """Refuse a ``tangent=`` that leaves out a floating leaf the step reads: the tangent
    map would leave out that dependence, and every exponent and gradient measured would
    be those of another dynamical system (a velocity-Verlet state whose stored force is
    read by the next step, say). Only a simulator with a ``tangent=`` is checked: by
    default every floating leaf is in the tangent space."""
    if simulator.tangent_selector is None or not jax.tree_util.tree_leaves(eqx.filter(y0, is_float_array)):
        return
    names_out = leaf_names(y0, _outside_mask(simulator, y0))
    read = [n for n, norm in zip(names_out, (float(x) for x in _outside_reads(simulator, y0, args))) if norm != 0]
    if not read:
        return
    shown = [_as_written(simulator, n) for n in read]
    inside = [_as_written(simulator, n) for n in leaf_names(y0, tangent_mask(y0, simulator.tangent_selector))]
    raise bad_argument(
        "tangent",
        f"leaves out the state leaf/leaves {', '.join(shown)}, which the step reads: the tangent map would drop that "
        f"dependence, and the exponents and gradients would not be those of your step (tangent leaves now: "
        f"{', '.join(inside)})",
        "add them to tangent= (e.g. tangent=lambda s: (" + ", ".join("s" + a for a in inside + shown) + ")): a leaf "
        "the step recomputes from the others every step only adds exponents of -inf; or make the step recompute "
        "them from the tangent leaves",
    )
