"""gymnax environments (Lange 2022) closed with a policy.

gymnax's ``env.step(key, state, action, params)`` auto-resets when an episode ends (at
``max_steps_in_episode`` for Pendulum-v1: every 200 steps), which would cut every
trajectory chaosgrad measures; its environments detach their transitions with
``jax.lax.stop_gradient`` unless built with ``env.with_transition_gradients()``, and
some hard-code it. The adapter steps with ``env.step_env`` (no auto-reset: the analysis
follows one trajectory), enables transition gradients where the environment supports them
and refuses, before anything runs, where it does not. The episode is the user's: the
rollout stops at ``env_params.max_steps_in_episode`` steps and at termination
(``episode="stop"``, :class:`~chaosgrad.envs.EnvironmentSimulator`), and every analysis
measures within it; ``episode="continue"`` follows the physics past both, as a named choice.
"""

from __future__ import annotations

from collections.abc import Callable

import jax.numpy as jnp
import numpy as np

from chaosgrad._errors import bad_argument
from chaosgrad.envs._options import check_policy, check_rollout_options, probe_reset
from chaosgrad.envs._rollout import EnvironmentSimulator, float64_probe

GRADIENTS = ("require", "as-shipped")


def _n_discrete(space) -> int | None:
    """The number of actions of a gymnax ``Discrete`` space, ``None`` for a ``Box``."""
    kind = type(space).__name__
    if kind == "Discrete":
        return int(space.n)
    if kind == "Box":
        return None
    raise bad_argument(
        "env", f"its action space is a {kind}, which the adapter does not handle", "use a Box or Discrete action space"
    )


def gymnax(
    env,
    env_params=None,
    policy: Callable | None = None,
    *,
    transition_gradients: str = "require",
    discrete: str = "refuse",
    discount: float = 1.0,
    dtype=None,
    tangent: Callable | None = None,
    episode: str = "stop",
) -> EnvironmentSimulator:
    """A gymnax environment closed with ``policy(params, obs) -> action``.

    Arguments:
        env, env_params: as returned by ``gymnax.make(name)`` (default params:
            ``env.default_params``).
        policy: the user's policy; its parameters are the ``args`` of every analysis.
        transition_gradients: ``"require"`` (default) enables
            ``env.with_transition_gradients()`` and refuses an environment that does not
            support it (its step would propagate no derivative); ``"as-shipped"`` keeps
            the environment as it is (an analysis then reports ``no-gradient``).
        discrete: for discrete action spaces, ``"refuse"`` (default) or ``"expected"``
            (the expected transition under the policy's softmax; see
            :class:`EnvironmentSimulator`).
        discount: ``gamma`` of the return ``sum_k gamma^k r_k`` (:class:`~chaosgrad.ReturnLoss`).
        dtype: the state dtype (default: that of the environment's reset state).
        tangent: the leaves of gymnax's state that carry dynamics, e.g.
            ``lambda s: (s.theta, s.theta_dot)`` for Pendulum-v1 (default: every
            floating leaf; a leaf the step never reads, such as ``last_u``, is then
            reported by name).
        episode: ``"stop"`` (default): the rollout ends (identity step, no reward) at
            termination and after ``env_params.max_steps_in_episode`` steps
            (``simulator.episode_length``), and the analyses refuse transients, measuring
            times and horizons past it; ``"continue"``: one trajectory past the episode's
            end, for questions about the physics rather than the user's episode.

    Returns:
        An :class:`EnvironmentSimulator` with ``dt`` = one environment step; start states
        from ``simulator.initial_state(seed)``.
    """
    if not hasattr(env, "step_env") or not hasattr(env, "reset_env"):
        raise bad_argument(
            "env", f"{type(env).__name__} is not a gymnax environment", "pass env from gymnax.make(name)"
        )
    policy = check_policy(policy)
    if transition_gradients not in GRADIENTS:
        raise bad_argument(
            "transition_gradients", f"{transition_gradients!r} is not one of {GRADIENTS}", "pass 'require'"
        )
    check_rollout_options(discount, dtype, episode)
    params = env.default_params if env_params is None else env_params
    name = getattr(env, "name", type(env).__name__)
    episode_length, episode_note = _episode(episode, params)
    env, gradients_note = _with_gradients(env, name, transition_gradients)
    n_actions = _n_discrete(env.action_space(params))
    transition, observe, reset = _functions(env, params, n_actions)
    x64, probe, floats = probe_reset(reset)
    built = jnp.result_type(floats[0]).name if floats else "float32"
    dtype = built if dtype is None else dtype
    action = np.zeros(env.action_space(params).shape, np.float64) if n_actions is None else np.zeros((), np.int32)
    return EnvironmentSimulator(
        transition,
        observe,
        reset,
        policy,
        n_actions=n_actions,
        discrete=discrete,
        discount=discount,
        dt=1.0,
        dtype=dtype,
        x64=x64 or jnp.dtype(dtype).itemsize == 8,
        tangent_env=tangent,
        name=f"gymnax {name}",
        notes=(episode_note, gradients_note),
        episode_length=episode_length,
        end_on_done=episode == "stop",
        env_dtype=built,
        precision_limit=None if x64 else float64_probe(transition, probe, action),
    )


def _episode(episode: str, params) -> tuple[int | None, str]:
    """``(length, note)``: the rollout's time limit (``params.max_steps_in_episode`` with
    ``episode="stop"``) and what the rollout does at the end of gymnax's episode."""
    limit = getattr(params, "max_steps_in_episode", None)
    episode_length = int(limit) if episode == "stop" and limit is not None else None
    if episode == "stop":
        return episode_length, "auto-reset off: stepped with env.step_env; the rollout stops at termination" + (
            f" and after env_params.max_steps_in_episode = {episode_length} steps"
            if episode_length
            else " (env_params has no max_steps_in_episode: no time limit)"
        )
    return None, "episode='continue': one trajectory followed past termination and the time limit, without reset"


def _with_gradients(env, name: str, transition_gradients: str):
    """``(env, note)``: with ``"require"``, the environment with its transition gradients
    enabled, or a refusal naming the fix where it cannot enable them."""
    if transition_gradients != "require":
        return env, "environment as shipped: its transitions may be detached"
    if not getattr(env, "supports_transition_gradients", False):
        raise bad_argument(
            "env",
            f"{name} detaches its transitions (jax.lax.stop_gradient in its step_env) and does not support "
            "with_transition_gradients(): its step propagates no derivative",
            "use an environment that supports transition gradients (e.g. Pendulum-v1, MountainCarContinuous-v0), "
            "a differentiable re-implementation (chaosgrad.zoo has cartpole and acrobot), or pass "
            "transition_gradients='as-shipped' to analyse it as it is",
        )
    if not env.transition_gradients_enabled:
        env = env.with_transition_gradients()
    return env, "transition gradients enabled (env.with_transition_gradients())"


def _functions(env, params, n_actions: int | None):
    """The adapter's ``transition``, ``observe`` and ``reset`` for a gymnax environment:
    ``env.step_env`` (no auto-reset), ``env.get_obs`` and ``env.reset_env`` at ``params``."""

    def transition(key, state, action):
        if n_actions is None:
            action = jnp.reshape(action, env.action_space(params).shape)
        _, state1, reward, done, _ = env.step_env(key, state, action, params)
        return state1, reward, done

    def observe(state):
        return env.get_obs(state, params)

    def reset(key):
        return env.reset_env(key, params)[1]

    return transition, observe, reset
