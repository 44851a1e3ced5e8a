"""Two-dimensional oscillators: the damped harmonic oscillator (linear, exact exponents)
and the van der Pol oscillator (a limit cycle, stiff at large ``mu``).

Both return a :class:`~chaosgrad.zoo._system.System` solved with
:class:`chaosgrad.ODESimulator` (numerics as in ``_attractors``), ``args`` a dict of named
0-d arrays and ``divergence(y, args)`` the trace of the Jacobian of the vector field.
"""

from __future__ import annotations

import diffrax
import jax.numpy as jnp
import numpy as np

from chaosgrad._simulators.ode import ODESimulator
from chaosgrad.zoo._build import flow_system, initial_state, real_parameter
from chaosgrad.zoo._system import System, check_numerics

# ---------------------------------------------------------------------------- damped harmonic oscillator


def damped_oscillator_vector_field(t, y, args):
    x, v, w = y[0], y[1], args["omega"]
    return jnp.stack([v, -2.0 * args["zeta"] * w * v - w**2 * x])


def damped_oscillator_divergence(y, args):
    return -2.0 * args["zeta"] * args["omega"] + 0.0 * y[0]


def damped_oscillator_matrix(omega: float, zeta: float) -> np.ndarray:  # (x, v)' = A (x, v)
    return np.array([[0.0, 1.0], [-(omega**2), -2.0 * zeta * omega]])


def damped_oscillator(
    *,
    omega=10.0,
    zeta=0.1,
    y0=None,
    solver=None,
    dt=0.01,
    dtype="float64",
    stepsize_controller=None,
    adjoint=None,
) -> System:
    """Damped harmonic oscillator ``x'' + 2 zeta omega x' + omega^2 x = 0``.

    First-order form ``x' = v, v' = -2 zeta omega v - omega^2 x``; defaults
    ``omega = 10, zeta = 0.1`` from ``(x, v) = (1, 0)``. The exact exponents are the real
    parts of the eigenvalues ``mu = -zeta omega +- omega sqrt(zeta^2 - 1)`` (both
    ``-zeta omega = -1`` when underdamped). The default solver is explicit Euler
    (``diffrax.Euler()``): its step is the linear map ``I + dt A``, whose numerical
    exponents are ``ln|1 + dt mu| / dt``, positive (a numerical explosion of a stable
    system) once ``dt > 2 zeta / omega`` (0.02 at the defaults).
    """
    numerics = dict(dt=dt, solver=solver, stepsize_controller=stepsize_controller, adjoint=adjoint)
    dtype = check_numerics(dtype, **numerics)
    values = {
        "omega": real_parameter("omega", omega, positive=True),
        "zeta": real_parameter("zeta", zeta, nonnegative=True),
    }
    y0, _ = initial_state(y0, (2,), lambda: [1.0, 0.0], dtype)
    eig = np.linalg.eigvals(damped_oscillator_matrix(values["omega"], values["zeta"]))
    literature = {
        "exponents": sorted(np.real(eig).tolist(), reverse=True),
        "source": "exact: linear ODE y' = A y, exponents Re eig(A)",
    }
    return flow_system(
        "damped_oscillator",
        "Damped harmonic oscillator",
        damped_oscillator_vector_field,
        values,
        y0,
        dtype,
        {**numerics, "solver": diffrax.Euler() if solver is None else solver},
        equations="x' = v; v' = -2 zeta omega v - omega^2 x",
        parameters=values,
        literature=literature,
        divergence=damped_oscillator_divergence,
        notes="Explicit Euler's numerical exponents are ln|1 + dt mu_i| / dt for the eigenvalues mu_i.",
    )


# ---------------------------------------------------------------------------- van der Pol


def van_der_pol_vector_field(t, y, args):
    x, v = y[0], y[1]
    return jnp.stack([v, args["mu"] * (1.0 - x**2) * v - x])


def van_der_pol_divergence(y, args):
    return args["mu"] * (1.0 - y[0] ** 2)


def van_der_pol(
    *,
    mu=1.0,
    y0=None,
    solver=None,
    dt=0.01,
    dtype="float64",
    stepsize_controller=None,
    adjoint=None,
) -> System:
    """Van der Pol oscillator (van der Pol, Phil. Mag. 2, 978, 1926).

    ``x'' - mu (1 - x^2) x' + x = 0``, first-order form ``x' = v, v' = mu (1 - x^2) v - x``;
    default ``mu = 1`` from ``(2, 0)``, near the limit cycle (amplitude about 2 for every
    ``mu``). The attractor is a limit cycle: lambda_1 = 0 and lambda_2 = the average of the
    divergence ``mu (1 - x^2)`` over the cycle. Large ``mu`` (e.g. 1000) makes the system
    stiff (a relaxation oscillation: jumps of duration ``~1 / mu`` between slow phases of
    duration ``~mu``): explicit solvers then need ``dt`` of order ``1 / mu``, so when
    ``mu >= 10`` and ``mu dt > 0.1`` the ``reference`` is diffrax's L-stable ``Kvaerno5``
    with adaptive steps (rtol = atol = 1e-9). Otherwise the default reference rule
    applies (Dopri8, step halved until converged): for ``mu < 10`` the fastest rate on the
    cycle, ``mu (x^2 - 1) <= 3 mu``, is resolved by it at any step an explicit user solver
    survives, and a constant-step reference can be differentiated in reverse mode (the
    reference-step ablation of ``diagnose`` needs that; an adaptive solve is
    differentiated in forward mode only).
    """
    numerics = dict(dt=dt, solver=solver, stepsize_controller=stepsize_controller, adjoint=adjoint)
    dtype = check_numerics(dtype, **numerics)
    values = {"mu": real_parameter("mu", mu, nonnegative=True)}
    y0, _ = initial_state(y0, (2,), lambda: [2.0, 0.0], dtype)
    reference = None  # explicit high-order steps converge: the default reference rule applies
    if values["mu"] >= 10.0 and values["mu"] * float(dt) > 0.1:
        reference = ODESimulator(
            van_der_pol_vector_field,
            solver=diffrax.Kvaerno5(),
            dt=dt,
            stepsize_controller=diffrax.PIDController(rtol=1e-9, atol=1e-9),
            max_steps=100_000,
        )
    return flow_system(
        "van_der_pol",
        f"Van der Pol (mu = {values['mu']:g})",
        van_der_pol_vector_field,
        values,
        y0,
        dtype,
        numerics,
        equations="x' = v; v' = mu (1 - x^2) v - x",
        parameters=values,
        literature=None,
        divergence=van_der_pol_divergence,
        reference=reference,
        notes="Limit cycle: exponents (0, time average of mu (1 - x^2) over the cycle).",
    )
