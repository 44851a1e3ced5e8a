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
in the precision the caller built it in: a Brax system built in float32 cannot step
float64 states inside its own scans, so its float64 twin steps it in float32 and says so
(``EnvironmentSimulator.float64_limit``). The episode is the user's: the rollout stops
when Brax's ``done`` is set (termination) and after ``episode_length`` steps (the
argument, or the ``EpisodeWrapper`` of ``brax.envs.create``); ``get_environment`` has no
time limit, and the simulator says so.
"""

from __future__ import annotations

from collections.abc import Callable

import jax.numpy as jnp
import numpy as np

from chaosgrad._errors import bad_argument
from chaosgrad.envs._options import check_policy, check_rollout_options, probe_reset
from chaosgrad.envs._rollout import EnvironmentSimulator, float64_probe


def coordinates(state):
    """``q``, ``qd`` and the observation of a Brax state: a tangent space for pipelines
    whose step recomputes everything else from ``q`` and ``qd`` (the probe says if not)."""
    return (state.pipeline_state.q, state.pipeline_state.qd, state.obs)


def _unwrap_auto_reset(env) -> tuple[object, list[str], int | None]:
    """Brax's ``AutoResetWrapper`` (added by ``envs.create`` and training wrappers) resets
    done episodes inside ``step``; the analysis follows one trajectory, so it is removed.
    An ``EpisodeWrapper``'s ``episode_length`` (environment steps) is returned."""
    notes, length = [], None
    while type(env).__name__ in ("AutoResetWrapper", "EpisodeWrapper", "VmapWrapper") and hasattr(env, "env"):
        notes.append(f"{type(env).__name__} removed: one trajectory is followed, without resets or batching")
        if type(env).__name__ == "EpisodeWrapper" and getattr(env, "episode_length", None) is not None:
            length = int(env.episode_length)
            if getattr(env, "action_repeat", 1) != 1:
                notes.append(f"its action_repeat = {env.action_repeat} is not kept: the policy acts every step")
        env = env.env
    return env, notes, length


def brax(
    env,
    policy: Callable | None = None,
    *,
    discount: float = 1.0,
    dtype=None,
    tangent: Callable | None = None,
    episode_length: int | None = None,
    episode: str = "stop",
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
        episode_length: the episode's time limit in environment steps (default: that of
            an ``EpisodeWrapper`` around ``env``, e.g. ``brax.envs.create(name,
            episode_length=1000)``; ``get_environment`` has none, and the simulator's
            notes say so).
        episode: ``"stop"`` (default): the rollout ends (identity step, no reward) when
            Brax sets ``done`` and after ``episode_length`` steps, and the analyses
            refuse transients, measuring times and horizons past the time limit;
            ``"continue"``: one trajectory past termination and any time limit, for
            questions about the physics rather than the user's episode.

    Returns:
        An :class:`EnvironmentSimulator` with ``dt = env.dt``; start states from
        ``simulator.initial_state(seed)``.
    """
    policy = check_policy(policy)
    check_rollout_options(discount, dtype, episode)
    env, notes, wrapped_length = _unwrap_auto_reset(env)
    if episode_length is not None and (
        isinstance(episode_length, bool) or not isinstance(episode_length, int) or episode_length < 1
    ):
        raise bad_argument("episode_length", f"{episode_length!r} is not a positive int", "pass e.g. 1000, or None")
    length, note = _episode(episode, episode_length, wrapped_length)
    notes.append(note)
    if not all(hasattr(env, name) for name in ("reset", "step", "action_size")):
        raise bad_argument(
            "env", f"{type(env).__name__} is not a Brax environment", "pass brax.envs.get_environment(name)"
        )
    transition, observe, reset = _functions(env)
    x64, state0, floats = probe_reset(reset)
    q = getattr(getattr(state0, "pipeline_state", None), "q", floats[0] if floats else jnp.zeros(()))
    built = jnp.result_type(q).name
    dtype = built if dtype is None else dtype
    dt = float(getattr(env, "dt", 1.0))
    limit = None
    if not x64:
        limit = float64_probe(transition, state0, np.zeros((env.action_size,), np.float64))
    return EnvironmentSimulator(
        transition,
        observe,
        reset,
        policy,
        discount=discount,
        dt=dt,
        dtype=dtype,
        x64=x64 or jnp.dtype(dtype).itemsize == 8,
        tangent_env=tangent,
        name=f"brax {type(env).__name__}",
        notes=tuple(notes),
        episode_length=length,
        end_on_done=episode == "stop",
        env_dtype=built,
        precision_limit=limit,
    )


def _episode(episode: str, episode_length: int | None, wrapped_length: int | None) -> tuple[int | None, str]:
    """``(length, note)``: the rollout's time limit (``episode_length``, else the removed
    ``EpisodeWrapper``'s; none with ``episode="continue"``) and what the rollout does at the
    end of the episode."""
    if episode == "continue":
        return None, "episode='continue': one trajectory followed past termination and any time limit, without reset"
    length = episode_length if episode_length is not None else wrapped_length
    return length, "auto-reset off: the rollout stops when Brax sets done" + (
        f" and after episode_length = {length} steps"
        if length is not None
        else "; no time limit: the environment has no EpisodeWrapper and episode_length was not given "
        "(brax.envs.create uses 1000)"
    )


def _functions(env):
    """The adapter's ``transition``, ``observe`` and ``reset`` for a Brax environment."""

    def reset(key):
        return env.reset(key)

    def transition(key, state, action):
        del key  # Brax steps are deterministic given the state
        state1 = env.step(state, jnp.reshape(action, (env.action_size,)))
        return state1, state1.reward, jnp.asarray(getattr(state1, "done", 0.0)) > 0

    def observe(state):
        return state.obs

    return transition, observe, reset
