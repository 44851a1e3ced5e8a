"""Closing a differentiable control environment with the default MLP policy.

Each environment is a pure JAX step ``s_next = env_step(s, a)``; closing it with a policy
``a = pi_theta(observe(s))`` gives the autonomous map that analytic policy gradients
differentiate through (Metz, Freeman, Schoenholz & Kachman, "Gradients are not all you
need", 2021; Suh, Simchowitz, Zhang & Tedrake, ICML 2022). Torque limits use
``max_u * tanh(a)`` rather than clipping, so the map stays differentiable.

:func:`closed_loop_system` assembles the :class:`System`: its ``simulator`` is the
conventional discretisation (the Gym step size and integrator) and its ``reference`` uses
the same control period with RK4 substeps ten or more times finer, for lambda_physical.
"""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp

from chaosgrad._simulators.base import RolloutSimulator
from chaosgrad.zoo._learning_build import check_int, log_abs_det_divergence
from chaosgrad.zoo._rl import args_policy, policy_params
from chaosgrad.zoo._system import System, check_numerics

INTEGRATORS = ("semi_implicit", "rk4")

# ---------------------------------------------------------------------------- integration


def mechanical_step(accel: Callable, h: float, integrator: str) -> Callable:
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


def squashed(substep: Callable, max_u: float, repeat: int = 1) -> Callable:
    """``env_step(s, a)``: ``repeat`` substeps with ``u = max_u * tanh(a_0)`` (state dtype).

    Repeats run in a ``lax.fori_loop``, so a fine reference compiles as fast as one step.
    """

    def env_step(s, a):
        u = max_u * jnp.tanh(a[0].astype(s.dtype))
        if repeat == 1:
            return substep(s, u)
        return jax.lax.fori_loop(0, repeat, lambda _, y: substep(y, u), s)

    return env_step


def mechanical_env(accel: Callable, integrator: str, max_u: float) -> Callable:
    """``env(h, reference, repeat)`` for ``q'' = accel(q, q', u)``: RK4 for the reference."""
    return lambda h, reference, repeat=1: squashed(
        mechanical_step(accel, h, "rk4" if reference else integrator), max_u, repeat
    )


def closed_loop_system(
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
