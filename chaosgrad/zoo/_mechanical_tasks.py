"""Mechanical control tasks closed with an MLP policy: pendulum swing-up, cart-pole and
acrobot (Gym's physics), each a second-order system ``q'' = accel(q, q', u)`` stepped by
``_closed_loop``. Their rewards are in ``_rl``.
"""

from __future__ import annotations

import math

import jax.numpy as jnp

from chaosgrad.zoo._closed_loop import INTEGRATORS, closed_loop_system, mechanical_env
from chaosgrad.zoo._learning_build import check_choice, check_real
from chaosgrad.zoo._rl import PENDULUM_MAX_TORQUE
from chaosgrad.zoo._system import System

# ---------------------------------------------------------------------------- pendulum


def pendulum_energy(state, *, m: float = 1.0, l: float = 1.0, g: float = 10.0):
    """``E = (m l^2 / 6) omega^2 + m g (l / 2) cos(theta)`` (rod about its end, upright = 0)."""
    return m * l**2 / 6.0 * state[1] ** 2 + m * g * l / 2.0 * jnp.cos(state[0])


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

    return closed_loop_system(
        "pendulum",
        "Pendulum swing-up",
        mechanical_env(accel, integrator, max_torque),
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

    return closed_loop_system(
        "cartpole",
        "Cart-pole",
        mechanical_env(accel, integrator, max_force),
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
    return closed_loop_system(
        "acrobot",
        "Acrobot",
        mechanical_env(accel, integrator, max_torque),
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
