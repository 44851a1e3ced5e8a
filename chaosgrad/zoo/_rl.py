"""Differentiable control environments closed with an MLP policy.

Each environment is a pure JAX step ``s_next = env_step(s, a)``; closing it with a policy
``a = pi_theta(observe(s))`` gives the autonomous map that analytic policy gradients
differentiate through (Metz, Freeman, Schoenholz & Kachman, "Gradients are not all you
need", 2021; Suh, Simchowitz, Zhang & Tedrake, ICML 2022). The policy parameters are
``args = {"policy": params}``. Torque limits use ``max_u * tanh(a)`` rather than
clipping, so the map stays differentiable; rewards use ``cos`` instead of wrapped angles
for the same reason.

Every factory returns a :class:`System` whose ``simulator`` is the conventional
discretisation (the Gym step size and integrator) and whose ``reference`` uses the same
control period with RK4 substeps ten or more times finer, for lambda_physical.
Environments: :func:`pendulum`, :func:`cartpole`, :func:`acrobot`,
:func:`bouncing_ball` (contact: a discontinuity).
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
from chaosgrad.zoo._networks import check_choice, check_int, check_real, log_abs_det_divergence
from chaosgrad.zoo._system import System, check_numerics

INTEGRATORS = ("semi_implicit", "rk4")

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
    """The closed-loop policy of every environment here: ``mlp_policy(args["policy"], obs)``."""
    return mlp_policy(args["policy"], obs)


# ---------------------------------------------------------------------------- integration


def _mechanical_step(accel: Callable, h: float, integrator: str) -> Callable:
    """One substep of ``q'' = accel(q, q', u)`` on the state ``s = [q, q']``.

    ``"semi_implicit"``: ``v += h accel(q, v, u); q += h v`` (symplectic Euler, Gym's
    ``"semi-implicit euler"``); ``"rk4"``: classical fourth-order Runge-Kutta.
    """

    def step(s, u):
        n = s.shape[0] // 2
        if integrator == "semi_implicit":
            v = s[n:] + h * accel(s[:n], s[n:], u)
            return jnp.concatenate([s[:n] + h * v, v])
        f = lambda y: jnp.concatenate([y[n:], accel(y[:n], y[n:], u)])
        k1 = f(s)
        k2 = f(s + 0.5 * h * k1)
        k3 = f(s + 0.5 * h * k2)
        k4 = f(s + h * k3)
        return s + (h / 6.0) * (k1 + 2.0 * k2 + 2.0 * k3 + k4)

    return step


def _squashed(substep: Callable, max_u: float, repeat: int = 1) -> Callable:
    """``env_step(s, a)``: ``repeat`` substeps with ``u = max_u * tanh(a_0)`` (state dtype).

    Repeats run in a ``lax.fori_loop``, so a fine reference compiles as fast as one step.
    """

    def env_step(s, a):
        u = max_u * jnp.tanh(a[0].astype(s.dtype))
        if repeat == 1:
            return substep(s, u)
        return jax.lax.fori_loop(0, repeat, lambda _, y: substep(y, u), s)

    return env_step


def _mechanical_env(accel: Callable, integrator: str, max_u: float) -> Callable:
    """``env(h, reference, repeat)`` for ``q'' = accel(q, q', u)``: RK4 for the reference."""
    return lambda h, reference, repeat=1: _squashed(
        _mechanical_step(accel, h, "rk4" if reference else integrator), max_u, repeat
    )


def _system(
    name,
    title,
    env,
    *,
    obs,
    obs_dim,
    dt,
    substeps,
    ref_factor,
    hidden,
    seed,
    dtype,
    y0,
    equations,
    parameters,
    source,
) -> System:
    """Assemble the closed loop of ``env(h, reference)`` with the default MLP policy.

    ``env(h, reference, repeat=1)`` returns ``env_step(s, a)`` taking ``repeat`` substeps
    of length ``h``: the user-facing discretisation when ``reference`` is False, the
    converged one otherwise (``ref_factor`` times as many substeps).
    """
    dtype = check_numerics(dtype, dt=dt)
    dt, substeps = float(dt), check_int("substeps", substeps)
    ref_substeps = ref_factor * substeps
    args = {"policy": policy_params(obs_dim, 1, hidden=hidden, seed=seed)}
    sim = RolloutSimulator(env(dt / substeps, False), args_policy, observe=obs, substeps=substeps, dt=dt, dtype=dtype)
    # The reference repeats its substeps inside one env_step (a loop, not an unroll).
    ref = RolloutSimulator(
        env(dt / ref_substeps, True, ref_substeps), args_policy, observe=obs, substeps=1, dt=dt, dtype=dtype
    )
    parameters = {
        **parameters,
        "dt": dt,
        "substeps": substeps,
        "reference_substeps": ref_substeps,
        "hidden": list(hidden),
        "seed": seed,
    }
    return System(
        name=name,
        title=title,
        simulator=sim,
        y0=jnp.asarray(y0, jnp.float64),
        args=args,
        equations=equations,
        parameters=parameters,
        literature={
            "exponents": None,
            "source": source,
            "note": "closed-loop exponents depend on the policy; no published values",
        },
        divergence=log_abs_det_divergence(lambda s, a: sim.step(0.0, s, a)),
        reference=ref,
        notes=f"reward: chaosgrad.zoo._rl.{name}_reward(state, action)",
    )


# ---------------------------------------------------------------------------- pendulum

PENDULUM_MAX_TORQUE = 2.0


def pendulum_energy(state, *, m: float = 1.0, l: float = 1.0, g: float = 10.0):
    """``E = (m l^2 / 6) omega^2 + m g (l / 2) cos(theta)`` (rod about its end, upright = 0)."""
    return m * l**2 / 6.0 * state[1] ** 2 + m * g * l / 2.0 * jnp.cos(state[0])


def pendulum_reward(state, action):
    """Gym Pendulum-v1 cost with a smooth angle: ``-(2(1 - cos th) + 0.1 om^2 + 0.001 u^2)``.

    ``2(1 - cos th)`` equals ``th^2`` to fourth order but has no wrap-around jump;
    ``u = 2 tanh(a)`` is the torque at the default limit.
    """
    u = PENDULUM_MAX_TORQUE * jnp.tanh(action[0])
    return -(2.0 * (1.0 - jnp.cos(state[0])) + 0.1 * state[1] ** 2 + 0.001 * u**2)


def pendulum(
    *,
    dt: float = 0.05,
    substeps: int = 1,
    integrator: str = "semi_implicit",
    g: float = 10.0,
    m: float = 1.0,
    l: float = 1.0,
    friction: float = 0.0,
    max_torque: float = PENDULUM_MAX_TORQUE,
    hidden=(32, 32),
    seed: int = 0,
    dtype="float64",
) -> System:
    """Pendulum swing-up (Gym Pendulum-v1 physics) with an MLP policy.

    State ``[theta, omega]`` (``theta = 0`` upright), observation
    ``[cos theta, sin theta, omega]``, torque ``u = max_torque * tanh(a)``::

        (m l^2 / 3) omega' = m g (l / 2) sin(theta) + u - friction * omega

    Defaults ``g = 10, m = l = 1, max_torque = 2, friction = 0, dt = 0.05``, one
    semi-implicit Euler substep per action (Gym); reference: RK4 at ``dt / 50``.
    Starts hanging: ``[pi, 0]``. With ``u = 0`` and no friction the energy
    :func:`pendulum_energy` is conserved. Reward :func:`pendulum_reward`.
    """
    check_choice("integrator", integrator, INTEGRATORS)
    g, m, l = (check_real(k, v, positive=True) for k, v in (("g", g), ("m", m), ("l", l)))
    friction, max_torque = check_real("friction", friction), check_real("max_torque", max_torque)

    def accel(q, v, u):
        return 3.0 * g / (2.0 * l) * jnp.sin(q) + 3.0 * (u - friction * v) / (m * l**2)

    return _system(
        "pendulum",
        "Pendulum swing-up",
        _mechanical_env(accel, integrator, max_torque),
        obs=lambda s: jnp.stack([jnp.cos(s[0]), jnp.sin(s[0]), s[1]]),
        obs_dim=3,
        dt=dt,
        substeps=substeps,
        ref_factor=50,
        hidden=hidden,
        seed=seed,
        dtype=dtype,
        y0=[math.pi, 0.0],
        equations="(m l^2/3) theta'' = m g (l/2) sin(theta) + u - friction theta'; u = u_max tanh(a)",
        parameters={"g": g, "m": m, "l": l, "friction": friction, "max_torque": max_torque, "integrator": integrator},
        source="OpenAI Gym Pendulum-v1 (Brockman et al. 2016)",
    )


# ---------------------------------------------------------------------------- cart-pole


def cartpole_reward(state, action):
    """``cos(theta) - 0.1 x^2 - 0.01 theta'^2 - 0.001 tanh(a)^2``: upright, centred, calm.

    A smooth stand-in for Gym's +1-per-step-alive reward, which has zero gradient.
    """
    return jnp.cos(state[1]) - 0.1 * state[0] ** 2 - 0.01 * state[3] ** 2 - 0.001 * jnp.tanh(action[0]) ** 2


def cartpole(
    *,
    dt: float = 0.02,
    substeps: int = 1,
    integrator: str = "semi_implicit",
    g: float = 9.8,
    m_cart: float = 1.0,
    m_pole: float = 0.1,
    half_length: float = 0.5,
    max_force: float = 10.0,
    hidden=(32, 32),
    seed: int = 0,
    dtype="float64",
) -> System:
    """Cart-pole balancing (Barto, Sutton & Anderson 1983; Gym CartPole-v1 physics).

    State ``[x, theta, x', theta']`` (``theta = 0`` upright), observed as is; force
    ``F = max_force * tanh(a)``. With ``M = m_cart + m_pole`` and ``l`` the half-length::

        temp    = (F + m_pole l theta'^2 sin theta) / M
        theta'' = (g sin theta - cos theta temp) / (l (4/3 - m_pole cos^2 theta / M))
        x''     = temp - m_pole l theta'' cos theta / M

    Defaults ``g = 9.8, m_cart = 1, m_pole = 0.1, l = 0.5, max_force = 10, dt = 0.02``,
    one semi-implicit Euler substep (Gym); reference RK4 at ``dt / 20``. Starts at
    ``[0, 0.1, 0, 0]``. Reward :func:`cartpole_reward`.
    """
    check_choice("integrator", integrator, INTEGRATORS)
    g, mc, mp, lh = (
        check_real(k, v, positive=True)
        for k, v in (("g", g), ("m_cart", m_cart), ("m_pole", m_pole), ("half_length", half_length))
    )
    max_force = check_real("max_force", max_force)
    total = mc + mp

    def accel(q, v, force):
        sin, cos = jnp.sin(q[1]), jnp.cos(q[1])
        temp = (force + mp * lh * v[1] ** 2 * sin) / total
        th_acc = (g * sin - cos * temp) / (lh * (4.0 / 3.0 - mp * cos**2 / total))
        return jnp.stack([temp - mp * lh * th_acc * cos / total, th_acc])

    return _system(
        "cartpole",
        "Cart-pole",
        _mechanical_env(accel, integrator, max_force),
        obs=None,
        obs_dim=4,
        dt=dt,
        substeps=substeps,
        ref_factor=20,
        hidden=hidden,
        seed=seed,
        dtype=dtype,
        y0=[0.0, 0.1, 0.0, 0.0],
        equations="theta'' = (g sin th - cos th temp) / (l (4/3 - m_p cos^2 th / M)), "
        "x'' = temp - m_p l theta'' cos th / M, temp = (F + m_p l th'^2 sin th) / M",
        parameters={
            "g": g,
            "m_cart": mc,
            "m_pole": mp,
            "half_length": lh,
            "max_force": max_force,
            "integrator": integrator,
        },
        source="Barto, Sutton & Anderson, IEEE SMC 13 (1983); Gym CartPole-v1",
    )


# ---------------------------------------------------------------------------- acrobot


def acrobot_reward(state, action):
    """Tip height ``-cos(th1) - cos(th1 + th2)`` (in link lengths) minus ``0.01 tanh(a)^2``.

    Gym's reward is -1 until this height exceeds 1, which has zero gradient.
    """
    return -jnp.cos(state[0]) - jnp.cos(state[0] + state[1]) - 0.01 * jnp.tanh(action[0]) ** 2


def acrobot(
    *,
    dt: float = 0.2,
    substeps: int = 1,
    integrator: str = "rk4",
    max_torque: float = 1.0,
    hidden=(32, 32),
    seed: int = 0,
    dtype="float64",
) -> System:
    """Acrobot swing-up (Sutton, NIPS 1996; Gym Acrobot-v1 "book" dynamics).

    State ``[th1, th2, th1', th2']`` (``th1 = 0`` hanging down), observation
    ``[cos th1, sin th1, cos th2, sin th2, th1', th2']``, torque on the second joint
    ``u = max_torque * tanh(a)``. With ``m1 = m2 = 1, l1 = 1, lc1 = lc2 = 0.5,
    I1 = I2 = 1, g = 9.8`` (Gym)::

        d1 = m1 lc1^2 + m2 (l1^2 + lc2^2 + 2 l1 lc2 cos th2) + I1 + I2
        d2 = m2 (lc2^2 + l1 lc2 cos th2) + I2
        phi2 = m2 lc2 g cos(th1 + th2 - pi/2)
        phi1 = -m2 l1 lc2 th2'^2 sin th2 - 2 m2 l1 lc2 th2' th1' sin th2
               + (m1 lc1 + m2 l1) g cos(th1 - pi/2) + phi2
        th2'' = (u + d2/d1 phi1 - m2 l1 lc2 th1'^2 sin th2 - phi2) / (m2 lc2^2 + I2 - d2^2/d1)
        th1'' = -(d2 th2'' + phi1) / d1

    Defaults ``dt = 0.2`` with one RK4 step per action (Gym); reference RK4 at
    ``dt / 20``. Starts at ``[0.1, 0.1, 0, 0]``. Reward :func:`acrobot_reward`.
    """
    check_choice("integrator", integrator, INTEGRATORS)
    max_torque = check_real("max_torque", max_torque)
    m1 = m2 = l1 = 1.0
    lc1 = lc2 = 0.5
    i1 = i2 = 1.0
    g = 9.8

    def accel(q, v, u):
        th1, th2 = q[0], q[1]
        d1 = m1 * lc1**2 + m2 * (l1**2 + lc2**2 + 2 * l1 * lc2 * jnp.cos(th2)) + i1 + i2
        d2 = m2 * (lc2**2 + l1 * lc2 * jnp.cos(th2)) + i2
        phi2 = m2 * lc2 * g * jnp.cos(th1 + th2 - jnp.pi / 2)
        phi1 = (
            -m2 * l1 * lc2 * v[1] ** 2 * jnp.sin(th2)
            - 2 * m2 * l1 * lc2 * v[1] * v[0] * jnp.sin(th2)
            + (m1 * lc1 + m2 * l1) * g * jnp.cos(th1 - jnp.pi / 2)
            + phi2
        )
        dd2 = (u + d2 / d1 * phi1 - m2 * l1 * lc2 * v[0] ** 2 * jnp.sin(th2) - phi2) / (m2 * lc2**2 + i2 - d2**2 / d1)
        return jnp.stack([-(d2 * dd2 + phi1) / d1, dd2])

    obs = lambda s: jnp.stack([jnp.cos(s[0]), jnp.sin(s[0]), jnp.cos(s[1]), jnp.sin(s[1]), s[2], s[3]])
    return _system(
        "acrobot",
        "Acrobot",
        _mechanical_env(accel, integrator, max_torque),
        obs=obs,
        obs_dim=6,
        dt=dt,
        substeps=substeps,
        ref_factor=20,
        hidden=hidden,
        seed=seed,
        dtype=dtype,
        y0=[0.1, 0.1, 0.0, 0.0],
        equations="two-link underactuated arm, Spong's equations as in Gym Acrobot-v1 ('book')",
        parameters={
            "m1": m1,
            "m2": m2,
            "l1": l1,
            "lc1": lc1,
            "lc2": lc2,
            "I1": i1,
            "I2": i2,
            "g": g,
            "max_torque": max_torque,
            "integrator": integrator,
        },
        source="Sutton, NIPS 1996; Spong, IEEE Control Syst. 15 (1995); Gym Acrobot-v1",
    )


# ---------------------------------------------------------------------------- bouncing ball

CONTACTS = ("event", "reflect")
BALL_TARGET_HEIGHT = 1.0


def _ball_substep(h: float, e: float, g: float, contact: str) -> Callable:
    """Ballistic flight over ``h`` with constant acceleration ``u - g`` and floor impacts.

    ``"event"``: the impact time ``tau`` solves ``z + v tau + (u - g) tau^2 / 2 = 0``
    (smallest root, ``tau = 2 z / (-v + sqrt(v^2 - 2 (u - g) z))``); the velocity is
    reversed and scaled by ``e`` at ``tau`` and the flight continues for ``h - tau``. A
    second impact in the same substep (only near rest, the Zeno limit) falls back to
    ``"reflect"``. ``"reflect"`` (time stepping): fly the whole substep, and if
    ``z < 0`` mirror it, ``z, v <- -e z, -e v``. Branches are ``jnp.where`` with safe
    denominators, so the map and its derivatives are finite on both sides.
    """

    def fly(z, v, acc, t):
        return z + v * t + 0.5 * acc * t * t, v + acc * t

    def reflect(z, v):
        hit = z < 0.0
        return jnp.where(hit, -e * z, z), jnp.where(hit, -e * v, v)

    def step(s, u):
        z, v = s[0], s[1]
        acc = u - g
        z1, v1 = fly(z, v, acc, h)
        if contact == "reflect":
            return jnp.stack(reflect(z1, v1))
        hit = z1 < 0.0
        disc = v * v - 2.0 * acc * z
        root = jnp.sqrt(jnp.where(hit & (disc > 0.0), disc, 1.0))
        den = -v + jnp.where(hit & (disc > 0.0), root, 0.0)
        ok = hit & (den > 0.0)
        tau = jnp.clip(jnp.where(ok, 2.0 * jnp.maximum(z, 0.0) / jnp.where(ok, den, 1.0), 0.0), 0.0, h)
        _, v_impact = fly(z, v, acc, tau)
        z2, v2 = reflect(*fly(jnp.zeros_like(z), -e * v_impact, acc, h - tau))
        return jnp.stack([jnp.where(hit, z2, z1), jnp.where(hit, v2, v1)])

    return step


def bouncing_ball_reward(state, action):
    """``-(z - 1)^2 - 0.01 tanh(a)^2``: keep the ball near height 1 with little thrust."""
    return -((state[0] - BALL_TARGET_HEIGHT) ** 2) - 0.01 * jnp.tanh(action[0]) ** 2


def bouncing_ball(
    *,
    dt: float = 0.05,
    substeps: int = 1,
    contact: str = "event",
    restitution: float = 0.8,
    g: float = 9.81,
    max_thrust: float = 5.0,
    height: float = 1.5,
    hidden=(32, 32),
    seed: int = 0,
    dtype="float64",
) -> System:
    """A ball bouncing on a floor with restitution, pushed by a vertical thrust.

    State ``[z, v]`` (height, velocity), observed as is; thrust ``u = max_thrust *
    tanh(a)`` (unit mass)::

        z'' = u - g  while z > 0;   at an impact (z = 0, v < 0):  v+ = -e v-

    A hybrid system (Newton's restitution law; see Brogliato, *Nonsmooth Mechanics*,
    2016). With ``contact="event"`` the impact time is solved exactly, so the flow map
    is continuous in the state but its derivative jumps (the saltation matrix) at
    initial conditions where the number of impacts within the horizon changes; with
    ``contact="reflect"`` (time stepping, as in many differentiable simulators) the
    state itself jumps there. Gradients of a return are then discontinuous in the
    initial height (Suh et al., ICML 2022). Defaults ``e = 0.8, g = 9.81,
    max_thrust = 5, dt = 0.05``, event contact, start ``[1.5, 0]``; the reference uses
    ten times more substeps (flight is integrated exactly; only double impacts within
    a substep change). Reward :func:`bouncing_ball_reward`.
    """
    check_choice("contact", contact, CONTACTS)
    e = check_real("restitution", restitution)
    if not 0.0 <= e <= 1.0:
        raise bad_argument("restitution", f"{restitution!r} is outside [0, 1]", "pass e.g. 0.8")
    g = check_real("g", g, positive=True)
    max_thrust, height = check_real("max_thrust", max_thrust), check_real("height", height)
    if height < 0:
        raise bad_argument("height", f"{height!r} is below the floor", "pass a height >= 0")

    def env(h, reference, repeat=1):
        mode = "event" if reference else contact  # the reference resolves every impact
        return _squashed(_ball_substep(h, e, g, mode), max_thrust, repeat)

    return _system(
        "bouncing_ball",
        "Bouncing ball (contact)",
        env,
        obs=None,
        obs_dim=2,
        dt=dt,
        substeps=substeps,
        ref_factor=10,
        hidden=hidden,
        seed=seed,
        dtype=dtype,
        y0=[height, 0.0],
        equations="z'' = u - g for z > 0; v -> -e v at z = 0; u = u_max tanh(a)",
        parameters={
            "restitution": e,
            "g": g,
            "max_thrust": max_thrust,
            "contact": contact,
            "height": height,
            "integrator": "exact",
        },
        source="Newton restitution; Suh, Simchowitz, Zhang & Tedrake, ICML 2022",
    )


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
