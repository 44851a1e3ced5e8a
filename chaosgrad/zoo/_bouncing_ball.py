"""A ball bouncing on a floor under a vertical thrust: a hybrid system with contact,
closed with an MLP policy (reward ``_rl.bouncing_ball_reward``)."""

from __future__ import annotations

from collections.abc import Callable

import jax.numpy as jnp

from chaosgrad._errors import bad_argument
from chaosgrad.zoo._closed_loop import closed_loop_system, squashed
from chaosgrad.zoo._learning_build import check_choice, check_real
from chaosgrad.zoo._system import System

CONTACTS = ("event", "reflect")


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
        return squashed(_ball_substep(h, e, g, mode), max_thrust, repeat)

    return closed_loop_system(
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
