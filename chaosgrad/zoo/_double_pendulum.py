"""The planar double pendulum, a Hamiltonian flow in canonical coordinates, with its
energy; its default integrator, :class:`ImplicitMidpoint`, lives in ``_integrators`` and is
importable from here."""

from __future__ import annotations

import math

import diffrax
import jax.numpy as jnp

from chaosgrad._simulators.ode import ODESimulator
from chaosgrad.zoo._build import (
    at_defaults,
    initial_state,
    make_args,
    own_integrator_or_diffrax,
    real_parameter,
)
from chaosgrad.zoo._integrators import ImplicitMidpoint
from chaosgrad.zoo._system import System, check_numerics


def double_pendulum_energy(y, args):
    """Hamiltonian ``H(theta1, theta2, p1, p2)`` of the planar double pendulum.

    With ``d = theta1 - theta2``::

        H = (m2 l2^2 p1^2 + (m1 + m2) l1^2 p2^2 - 2 m2 l1 l2 p1 p2 cos d)
            / (2 m2 l1^2 l2^2 (m1 + m2 sin^2 d))
            - (m1 + m2) g l1 cos theta1 - m2 g l2 cos theta2
    """
    th1, th2, p1, p2 = y[0], y[1], y[2], y[3]
    g, m1, m2, l1, l2 = args["g"], args["m1"], args["m2"], args["l1"], args["l2"]
    d = th1 - th2
    kinetic = (m2 * l2**2 * p1**2 + (m1 + m2) * l1**2 * p2**2 - 2 * m2 * l1 * l2 * p1 * p2 * jnp.cos(d)) / (
        2 * m2 * l1**2 * l2**2 * (m1 + m2 * jnp.sin(d) ** 2)
    )
    return kinetic - (m1 + m2) * g * l1 * jnp.cos(th1) - m2 * g * l2 * jnp.cos(th2)


def double_pendulum_vector_field(t, y, args):
    """Hamilton's equations ``theta' = dH/dp, p' = -dH/dtheta``, written out.

    With ``d = theta1 - theta2``, ``D = m1 + m2 sin^2 d``, ``N`` the numerator of the
    kinetic energy, ``C1 = p1 p2 sin d / (l1 l2 D)`` and
    ``C2 = N sin 2d / (2 l1^2 l2^2 D^2)``::

        theta1' = (l2 p1 - l1 p2 cos d) / (l1^2 l2 D)
        theta2' = ((m1 + m2) l1 p2 - m2 l2 p1 cos d) / (m2 l1 l2^2 D)
        p1' = -(m1 + m2) g l1 sin theta1 - C1 + C2
        p2' = -m2 g l2 sin theta2 + C1 - C2
    """
    th1, th2, p1, p2 = y[0], y[1], y[2], y[3]
    g, m1, m2, l1, l2 = args["g"], args["m1"], args["m2"], args["l1"], args["l2"]
    d = th1 - th2
    cos_d, sin_d = jnp.cos(d), jnp.sin(d)
    D = m1 + m2 * sin_d**2
    N = m2 * l2**2 * p1**2 + (m1 + m2) * l1**2 * p2**2 - 2 * m2 * l1 * l2 * p1 * p2 * cos_d
    C1 = p1 * p2 * sin_d / (l1 * l2 * D)
    C2 = N * 2 * sin_d * cos_d / (2 * l1**2 * l2**2 * D**2)
    return jnp.stack(
        [
            (l2 * p1 - l1 * p2 * cos_d) / (l1**2 * l2 * D),
            ((m1 + m2) * l1 * p2 - m2 * l2 * p1 * cos_d) / (m2 * l1 * l2**2 * D),
            -(m1 + m2) * g * l1 * jnp.sin(th1) - C1 + C2,
            -m2 * g * l2 * jnp.sin(th2) + C1 - C2,
        ]
    )


def double_pendulum_divergence(y, args):
    """Zero: a Hamiltonian vector field preserves phase-space volume (Liouville)."""
    return 0.0 * y[0]


def double_pendulum(
    *,
    g=9.8,
    m1=1.0,
    m2=1.0,
    l1=1.0,
    l2=1.0,
    y0=None,
    solver=None,
    dt=0.01,
    dtype="float64",
    newton_iterations: int = 4,
    stepsize_controller=None,
    adjoint=None,
) -> System:
    """Planar double pendulum in canonical coordinates ``(theta1, theta2, p1, p2)``.

    Hamilton's equations ``theta_i' = dH/dp_i, p_i' = -dH/dtheta_i`` for the Hamiltonian
    of :func:`double_pendulum_energy` (angles from the downward vertical, ``p_i`` the
    conjugate momenta). Defaults ``g = 9.8``, unit masses and lengths, released at rest
    from ``theta1 = 130 deg, theta2 = -10 deg`` (DAPPER's double-pendulum model).

    The default integrator (``solver=None``) is the implicit midpoint rule
    (:class:`ImplicitMidpoint`), symplectic for this non-separable Hamiltonian, so its
    numerical exponents come in exact ``+-`` pairs and the energy error stays bounded.
    Pass a diffrax ``solver`` (e.g. ``diffrax.Heun()``) for a non-symplectic comparison.
    With the midpoint rule, ``reference`` is ``diffrax.Dopri8()`` at half the step.
    Divergence 0 (Liouville). Literature: about ``1.05, 0, 0, -1.05`` at this energy
    (rough value from DAPPER's model notes; it depends on the energy).
    """
    numerics = dict(dt=dt, solver=solver, stepsize_controller=stepsize_controller, adjoint=adjoint)
    dtype = check_numerics(dtype, **numerics)
    values = {
        k: real_parameter(k, v, positive=True) for k, v in {"g": g, "m1": m1, "m2": m2, "l1": l1, "l2": l2}.items()
    }
    y0, default_y0 = initial_state(y0, (4,), lambda: [math.radians(130.0), math.radians(-10.0), 0.0, 0.0], dtype)
    simulator = own_integrator_or_diffrax(
        double_pendulum_vector_field,
        lambda: ImplicitMidpoint(double_pendulum_vector_field, dt=dt, dtype=dtype, newton_iterations=newton_iterations),
        integrator="the implicit midpoint rule",
        fix="pass a diffrax solver with it (e.g. solver=diffrax.Tsit5()), or drop it",
        numerics=numerics,
        dtype=dtype,
    )
    reference = None
    if solver is None:  # the midpoint rule's reference: a high-order diffrax solve at half its step
        reference = ODESimulator(double_pendulum_vector_field, solver=diffrax.Dopri8(), dt=simulator.dt / 2)
    literature = None
    if default_y0 and at_defaults(values, {"g": 9.8, "m1": 1.0, "m2": 1.0, "l1": 1.0, "l2": 1.0}):
        literature = {
            "exponents": [1.05, 0.0, 0.0, -1.05],
            "source": "DAPPER double-pendulum model notes (rough value)",
            "note": "depends on the energy; the +- pairing is exact, the value approximate",
        }
    return System(
        name="double_pendulum",
        title="Double pendulum",
        simulator=simulator,
        y0=y0,
        args=make_args(values, dtype),
        equations="theta_i' = dH/dp_i, p_i' = -dH/dtheta_i, H = double_pendulum_energy(y, args)",
        parameters=values,
        literature=literature,
        divergence=double_pendulum_divergence,
        reference=reference,
        notes=(
            "Hamiltonian: exponents in +- pairs, two zero exponents (time and energy). "
            "Energy: chaosgrad.zoo.double_pendulum_energy(y, args)."
        ),
    )
