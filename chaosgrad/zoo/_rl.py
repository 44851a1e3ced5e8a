"""The learning side of the bundled control tasks: the MLP policy that closes each
environment, the environments' rewards and the return summed along a closed-loop rollout.

The policy parameters are ``args = {"policy": params}``. Rewards use ``cos`` instead of
wrapped angles and ``tanh`` of the action, so that their gradients are finite and
informative (Gym's rewards for these tasks are piecewise constant). The environments
themselves are in ``_mechanical_tasks`` (pendulum, cart-pole, acrobot) and
``_bouncing_ball``, closed by ``_closed_loop``.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np

from chaosgrad import _checks
from chaosgrad._errors import bad_argument
from chaosgrad._simulators.base import AbstractSimulator, RolloutSimulator, check_simulator
from chaosgrad.zoo._learning_build import check_int, check_real

# ---------------------------------------------------------------------------- policy


def policy_params(obs_dim: int, act_dim: int, *, hidden=(32, 32), seed: int = 0, gain: float = 1.0):
    """Seeded parameters of :func:`mlp_policy`: a list of ``{"W": (out, in), "b": (out,)}``.

    ``W ~ gain * N(0, 1 / fan_in)`` (LeCun normal), ``b = 0``, drawn with
    ``numpy.random.default_rng(seed)``: the same ``seed`` gives the same parameters on
    every platform.
    """
    obs_dim, act_dim = check_int("obs_dim", obs_dim), check_int("act_dim", act_dim)
    if not isinstance(hidden, (tuple, list)):
        raise bad_argument("hidden", f"{hidden!r} is not a tuple of layer widths", "pass e.g. (32, 32)")
    sizes = [obs_dim, *(check_int("hidden", h) for h in hidden), act_dim]
    gain = check_real("gain", gain, positive=True)
    rng = np.random.default_rng(_checks.check_seed(seed))
    return [
        {"W": jnp.asarray(gain * rng.standard_normal((m, n)) / math.sqrt(n)), "b": jnp.zeros(m, jnp.float64)}
        for n, m in zip(sizes[:-1], sizes[1:])
    ]


def mlp_policy(params, obs):
    """``a = W_L tanh(... tanh(W_1 obs + b_1) ...) + b_L``; computed in ``obs``'s dtype."""
    x = obs
    for i, layer in enumerate(params):
        x = layer["W"].astype(obs.dtype) @ x + layer["b"].astype(obs.dtype)
        if i < len(params) - 1:
            x = jnp.tanh(x)
    return x


def args_policy(args, obs):
    """The closed-loop policy of every bundled environment: ``mlp_policy(args["policy"], obs)``."""
    return mlp_policy(args["policy"], obs)


# ---------------------------------------------------------------------------- rewards

PENDULUM_MAX_TORQUE = 2.0
BALL_TARGET_HEIGHT = 1.0


def pendulum_reward(state, action):
    """Gym Pendulum-v1 cost with a smooth angle: ``-(2(1 - cos th) + 0.1 om^2 + 0.001 u^2)``.

    ``2(1 - cos th)`` equals ``th^2`` to fourth order but has no wrap-around jump;
    ``u = 2 tanh(a)`` is the torque at the default limit.
    """
    u = PENDULUM_MAX_TORQUE * jnp.tanh(action[0])
    return -(2.0 * (1.0 - jnp.cos(state[0])) + 0.1 * state[1] ** 2 + 0.001 * u**2)


def cartpole_reward(state, action):
    """``cos(theta) - 0.1 x^2 - 0.01 theta'^2 - 0.001 tanh(a)^2``: upright, centred, calm.

    A smooth stand-in for Gym's +1-per-step-alive reward, which has zero gradient.
    """
    return jnp.cos(state[1]) - 0.1 * state[0] ** 2 - 0.01 * state[3] ** 2 - 0.001 * jnp.tanh(action[0]) ** 2


def acrobot_reward(state, action):
    """Tip height ``-cos(th1) - cos(th1 + th2)`` (in link lengths) minus ``0.01 tanh(a)^2``.

    Gym's reward is -1 until this height exceeds 1, which has zero gradient.
    """
    return -jnp.cos(state[0]) - jnp.cos(state[0] + state[1]) - 0.01 * jnp.tanh(action[0]) ** 2


def bouncing_ball_reward(state, action):
    """``-(z - 1)^2 - 0.01 tanh(a)^2``: keep the ball near height 1 with little thrust."""
    return -((state[0] - BALL_TARGET_HEIGHT) ** 2) - 0.01 * jnp.tanh(action[0]) ** 2


# ---------------------------------------------------------------------------- returns

ENV_REWARDS: dict[str, Callable] = {
    "pendulum": pendulum_reward,
    "cartpole": cartpole_reward,
    "acrobot": acrobot_reward,
    "bouncing_ball": bouncing_ball_reward,
}
"""The reward ``reward(state, action)`` of each environment, by system name."""


def rollout_return(simulator: AbstractSimulator, reward: Callable, y0, args, n_steps: int, *, discount: float = 1.0):
    """``R = sum_{k=0}^{n-1} discount^k reward(s_k, a_k)`` along the closed loop.

    ``a_k = policy(args, observe(s_k))`` and ``s_{k+1}`` is ``simulator``'s step with that
    action. A ``lax.scan`` with each step rematerialised on the backward pass
    (``jax.checkpoint``), so ``jax.grad`` with respect to ``args`` or ``y0`` gives the
    analytic policy gradient through every step (traceable; returns a JAX scalar).
    """
    simulator = check_simulator(simulator)
    if not isinstance(simulator, RolloutSimulator):
        raise bad_argument(
            "simulator",
            f"{type(simulator).__name__} is not a RolloutSimulator",
            "pass the simulator of an environment system",
        )
    if not callable(reward):
        raise bad_argument("reward", f"{reward!r} is not callable", "pass reward(state, action)")
    n_steps = check_int("n_steps", n_steps)
    y0 = simulator.prepare(y0)

    @jax.checkpoint
    def one(s, theta):
        a = simulator.action(s, theta)
        r = reward(s, a)
        for _ in range(simulator.substeps):
            s = simulator.env_step(s, a)
        return s, r

    def body(carry, _):
        s, total, weight = carry
        s, r = one(s, args)
        return (s, total + weight * r, weight * discount), None

    zero = jnp.zeros((), simulator.dtype)
    (_, total, _), _ = jax.lax.scan(body, (y0, zero, zero + 1.0), None, length=n_steps)
    return total
