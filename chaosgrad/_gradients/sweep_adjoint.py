"""Gradients through a simulator's own adjoint, horizon by horizon.

A :class:`~chaosgrad.SwappableAdjoint` simulator (diffrax's ``BacksolveAdjoint``, say)
has reverse-mode numerics of its own, which are what a diagnosis measures: its gradient
is taken at every horizon through ``evolve_until`` (a traced end time, so one compiled
program serves every horizon), with a bounded reverse solve (capability rules 5-6).
"""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from chaosgrad._gradients.sketch import sketch_tree
from chaosgrad._gradients.sweep import BackgroundProgram, split_theta, tangent_part, tree_norm
from chaosgrad._gradients.wrt import Wrt
from chaosgrad._pytree import is_float_array
from chaosgrad._runtime.compile_policy import COMPILE_BOUND, policy_jit

# A reverse solve may take this many times the forward solve's internal steps (at least
# MIN_REVERSE_STEPS): a reverse-time reconstruction that stays near the forward trajectory
# needs about as many steps as the forward solve; one that diverges (the reverse time of
# a contracting direction grows like e^{|lambda_n| T}) shrinks its steps without end, and
# diffrax would return the partial, finite and wrong, gradient at its max_steps.
REVERSE_STEP_FACTOR = 16
MIN_REVERSE_STEPS = 4096


@policy_jit(COMPILE_BOUND)
def _forward_solver_steps(simulator, y0s, args, n_max, horizon):
    return jax.vmap(lambda y0: simulator.forward_solver_steps(0.0, y0, args, horizon, n_max))(y0s)


@policy_jit(COMPILE_BOUND)
def _gradient_through_adjoint(simulator, y0s, args, loss, sel, n_max, horizon, solver_steps):
    """Per-member gradient norm and sketch at one (traced) horizon, through the
    simulator's own adjoint (``evolve_until``); compiled once for every horizon up to
    ``n_max`` steps."""

    def one(y0):
        theta, rebuild = split_theta(sel, args)
        y0f, rest = eqx.partition(y0, is_float_array)

        def objective(yf, theta):
            y_T = simulator.evolve_until(0.0, eqx.combine(yf, rest), rebuild(theta), horizon, n_max, solver_steps)
            return loss.final(y_T, y0)

        g = jax.grad(objective, argnums=0 if sel.kind == "y0" else 1)(y0f, theta)
        g = tangent_part(simulator, g, y0f) if sel.kind == "y0" else g
        return tree_norm(g), sketch_tree(g)

    return jax.vmap(one)(y0s)


def reverse_step_budget(simulator, y0s, args, n_max: int, t_max: float) -> int | None:
    """``REVERSE_STEP_FACTOR`` times the most internal steps any member's forward solve
    takes to ``t_max`` (capability rule 6), or ``None`` without that information."""
    probe = eqx.filter_eval_shape(
        lambda y: simulator.forward_solver_steps(0.0, y, args, t_max, n_max),
        jax.tree_util.tree_map(lambda x: x[0], y0s),
    )
    if probe is None:
        return None
    # The forward solve does not depend on the adjoint: one program for the user's and the ablation's.
    forward = simulator.with_adjoint(simulator.exact_adjoint())
    steps = np.asarray(_forward_solver_steps(forward, y0s, args, n_max, jnp.asarray(t_max)))
    return max(MIN_REVERSE_STEPS, REVERSE_STEP_FACTOR * int(steps.max()))


def _one_horizon(simulator, y0s, args, loss, sel, n_max, horizon, budget):
    """Norms and sketches at one horizon. A member whose reverse solve does not get back
    is NaN (capability rule 5); a simulator whose adjoint raises instead (for the whole
    batch) is rerun member by member (each replicated over the batch, so the same
    compiled program serves) and the members that raise are NaN."""
    try:
        n, g = _gradient_through_adjoint(simulator, y0s, args, loss, sel, n_max, horizon, budget)
        return np.asarray(n, np.float64), np.asarray(g, np.float64)
    except Exception:  # noqa: BLE001 - the adjoint's own run-time failure, isolated below
        if budget is None:
            raise
    M = jax.tree_util.tree_leaves(y0s)[0].shape[0]
    norms: list[float] = []
    grads: list[np.ndarray | None] = []
    for i in range(M):
        one = jax.tree_util.tree_map(lambda x: jnp.broadcast_to(x[i], x.shape), y0s)
        try:
            n, g = _gradient_through_adjoint(simulator, one, args, loss, sel, n_max, horizon, budget)
            norms.append(float(n[0]))
            grads.append(np.asarray(g[0], np.float64))
        except Exception:  # noqa: BLE001
            norms.append(np.nan)
            grads.append(None)
    width = next((g.shape for g in grads if g is not None), None)
    if width is None:
        width = jax.eval_shape(
            lambda: _gradient_through_adjoint(simulator, y0s, args, loss, sel, n_max, horizon, budget)
        )[1].shape[1:]
    filled = [np.full(width, np.nan) if g is None else g for g in grads]
    return np.asarray(norms), np.stack(filled)


class AdjointProgram(BackgroundProgram):
    """The program of :func:`through_adjoint` for these arguments: its reverse-step
    budget (computed now, on the caller's thread) and its compilation, started in the
    background by :meth:`start` (when the caller's own large program is lowered, so the
    two do not trace at once) and joined by :meth:`join` before it runs."""

    def __init__(self, simulator, y0s, args, loss, sel: Wrt, b: int, blocks):
        self.n_max = int(blocks[-1]) * b
        self.budget = reverse_step_budget(simulator, y0s, args, self.n_max, float(self.n_max * simulator.dt))
        horizon = jnp.asarray(float(self.n_max * simulator.dt))
        super().__init__(
            lambda: _gradient_through_adjoint.lower(simulator, y0s, args, loss, sel, self.n_max, horizon, self.budget)
        )


def through_adjoint(
    simulator,
    y0s,
    args,
    loss,
    sel: Wrt,
    b: int,
    blocks,
    progress,
    program: AdjointProgram | None = None,
    forward_ok=None,
):
    """Norms ``(M, H)``, gradient sketches ``(M, H, P)`` through the user's adjoint, and
    a note on reverse solves that did not get back to the start (``None`` when all did):
    the member-horizons whose gradient is non-finite while their forward state
    (``forward_ok``, ``(M, H)``, default all) is finite."""
    program = program or AdjointProgram(simulator, y0s, args, loss, sel, b, blocks)
    program.join()
    n_max, budget = program.n_max, program.budget
    norm_list, grad_list = [], []
    for i, nb in enumerate(blocks):
        progress("gradient through the adjoint", i, len(blocks))
        horizon = jnp.asarray(float(nb * b * simulator.dt))
        n, g = _one_horizon(simulator, y0s, args, loss, sel, n_max, horizon, budget)
        norm_list.append(n)
        grad_list.append(g)
    norms, grads = np.stack(norm_list, axis=1), np.stack(grad_list, axis=1)
    ok = np.ones(norms.shape, np.bool_) if forward_ok is None else np.asarray(forward_ok, bool)
    failed = int((~np.isfinite(norms) & ok).sum())
    note = None
    if failed and budget is not None:
        note = (
            f"the adjoint's reverse solve did not get back to t = 0 within {budget} solver steps "
            f"({REVERSE_STEP_FACTOR} times the forward solve's), or went non-finite, for {failed} of "
            f"{norms.size} member-horizons: recorded as non-finite gradients (a reverse-time reconstruction "
            "that diverges)"
        )
    return norms, grads, note
