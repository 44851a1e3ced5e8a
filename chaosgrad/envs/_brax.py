"""Brax environments (Freeman et al. 2021) closed with a policy.

A Brax ``State`` carries the pipeline state (generalised coordinates ``q``, velocities
``qd`` and fields derived from them: link transforms, inertia, contact and constraint
data), the observation, the reward, ``done`` and metrics. Which of these the next step
reads depends on the pipeline: the generalized pipeline reads the previous step's
composite inertia, motion subspaces and inverse mass matrix, and the policy reads the
stored observation, so ``(q, qd)`` alone would leave feedback paths out of the tangent
map. The adapter's default tangent space is therefore every floating leaf; the probe
of :func:`chaosgrad.diagnose` names the leaves the step never reads (their exponents are
``-inf``) and, for a ``tangent=`` the user passes, any leaf outside it that the step
does read. Brax's ``reward=1.0`` Python floats are made arrays, and the environment runs
in the float64 setting the caller built it in (a Brax system built in float32 cannot
step float64 states inside its own scans).
"""

from __future__ import annotations

from typing import Callable

import jax
import jax.numpy as jnp

from .._errors import bad_argument
from ._rollout import EnvironmentSimulator


def coordinates(state):
    """``q``, ``qd`` and the observation of a Brax state: a tangent space for pipelines
    whose step recomputes everything else from ``q`` and ``qd`` (the probe says if not)."""
    return (state.pipeline_state.q, state.pipeline_state.qd, state.obs)


def _unwrap_auto_reset(env) -> tuple[object, list[str]]:
    """Brax's ``AutoResetWrapper`` (added by ``envs.create`` and training wrappers) resets
    done episodes inside ``step``; the analysis follows one trajectory, so it is removed."""
    notes = []
    while type(env).__name__ in ("AutoResetWrapper", "EpisodeWrapper", "VmapWrapper") and hasattr(env, "env"):
        notes.append(f"{type(env).__name__} removed: one trajectory is followed, without resets or batching")
        env = env.env
    return env, notes


def brax(
    env,
    policy: Callable | None = None,
    *,
    discount: float = 1.0,
    dtype=None,
    tangent: Callable | None = None,
) -> EnvironmentSimulator:
    """A Brax environment closed with ``policy(params, obs) -> action``.

    Arguments:
        env: a Brax ``Env`` (``brax.envs.get_environment(name, backend=...)``); auto-reset,
            episode and vmap wrappers are removed and reported.
        policy: the user's policy; its parameters are the ``args`` of every analysis.
        discount: ``gamma`` of the return (:class:`~chaosgrad.ReturnLoss`).
        dtype: the state dtype (default: that of the environment's ``q``).
        tangent: the leaves of the Brax ``State`` that carry dynamics (default ``None``:
            every floating leaf; :func:`coordinates` for ``q``, ``qd`` and ``obs``).

    Returns:
        An :class:`EnvironmentSimulator` with ``dt = env.dt``; start states from
        ``simulator.initial_state(seed)``.
    """
    if policy is None or not callable(policy):
        raise bad_argument("policy", f"{policy!r} is not callable", "pass policy(params, obs) -> action")
    env, notes = _unwrap_auto_reset(env)
    if not all(hasattr(env, name) for name in ("reset", "step", "action_size")):
        raise bad_argument("env", f"{type(env).__name__} is not a Brax environment", "pass brax.envs.get_environment(name)")
    x64 = bool(jax.config.jax_enable_x64)

    def reset(key):
        return env.reset(key)

    def transition(key, state, action):
        del key  # Brax steps are deterministic given the state
        state1 = env.step(state, jnp.reshape(action, (env.action_size,)))
        return state1, state1.reward

    def observe(state):
        return state.obs

    if dtype is None:
        with jax.enable_x64(x64):
            q = reset(jax.random.PRNGKey(0)).pipeline_state.q
        dtype = jnp.result_type(q).name
    dt = float(getattr(env, "dt", 1.0))
    return EnvironmentSimulator(
        transition, observe, reset, policy, discount=discount, dt=dt, dtype=dtype,
        x64=x64 or jnp.dtype(dtype).itemsize == 8, tangent_env=tangent, name=f"brax {type(env).__name__}",
        notes=tuple(notes) + ("auto-reset off: one trajectory is followed past termination",),
    )
