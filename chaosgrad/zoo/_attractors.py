"""Dissipative chaotic flows with published spectra: Lorenz-63, Rössler and Lorenz-96.

Every factory returns a :class:`~chaosgrad.zoo._system.System` whose ``args`` is a dict of
named 0-d arrays in the simulator's dtype (so ``wrt="rho"`` addresses one parameter) and
whose ``divergence(y, args)`` is the trace of the Jacobian of the vector field, the
instantaneous rate of phase-space volume change. The time average of the divergence along
a trajectory equals the sum of all Lyapunov exponents.

Numerics are keyword overrides: ``solver`` (a diffrax solver, default ``diffrax.Tsit5()``),
``dt``, ``dtype``, ``stepsize_controller`` and ``adjoint``, passed to
:class:`chaosgrad.ODESimulator`. The default ``y0`` is on the attractor: the end of a
float64 transient integrated with classical RK4 at step 0.01, whatever numerics are chosen
(``_build.on_attractor``). ``literature`` is set only at the published parameters.
"""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np

from chaosgrad._errors import bad_argument
from chaosgrad.zoo._build import (
    SPROTT_2003,
    at_defaults,
    flow_system,
    initial_state,
    on_attractor,
    real_parameter,
)
from chaosgrad.zoo._system import System, check_numerics

# ---------------------------------------------------------------------------- Lorenz-63


def lorenz63_vector_field(t, y, args):
    x, v, z = y[0], y[1], y[2]
    return jnp.stack([args["sigma"] * (v - x), x * (args["rho"] - z) - v, x * v - args["beta"] * z])


def lorenz63_divergence(y, args):
    return -(args["sigma"] + 1.0 + args["beta"]) + 0.0 * y[0]


def lorenz63(
    *,
    sigma=10.0,
    rho=28.0,
    beta=8.0 / 3.0,
    y0=None,
    solver=None,
    dt=0.01,
    dtype="float64",
    stepsize_controller=None,
    adjoint=None,
) -> System:
    """Lorenz-63 (Lorenz, J. Atmos. Sci. 20, 130, 1963).

    Equations::

        x' = sigma (y - x),   y' = x (rho - z) - y,   z' = x y - beta z

    Defaults ``sigma = 10, rho = 28, beta = 8/3`` (Lorenz 1963). Divergence
    ``-(sigma + 1 + beta)`` (constant), so the exponents sum to ``-13.6667``.
    Literature spectrum ``0.9056, 0, -14.5723`` (Kaplan–Yorke dimension 2.062), Sprott
    (2003), App. A. Default ``y0``: on the attractor, 20 time units from (1, 1, 1).
    """
    numerics = dict(dt=dt, solver=solver, stepsize_controller=stepsize_controller, adjoint=adjoint)
    dtype = check_numerics(dtype, **numerics)
    values = {
        "sigma": real_parameter("sigma", sigma),
        "rho": real_parameter("rho", rho),
        "beta": real_parameter("beta", beta),
    }
    y0, _ = initial_state(y0, (3,), on_attractor(lorenz63_vector_field, [1.0, 1.0, 1.0], values, 20.0), dtype)
    literature = None
    if at_defaults(values, {"sigma": 10.0, "rho": 28.0, "beta": 8.0 / 3.0}):
        literature = {"exponents": [0.9056, 0.0, -14.5723], "source": SPROTT_2003, "kaplan_yorke": 2.062}
    return flow_system(
        "lorenz63",
        "Lorenz-63",
        lorenz63_vector_field,
        values,
        y0,
        dtype,
        numerics,
        equations="x' = sigma (y - x); y' = x (rho - z) - y; z' = x y - beta z",
        parameters=values,
        literature=literature,
        divergence=lorenz63_divergence,
        notes="Sum of exponents = -(sigma + 1 + beta) exactly; one zero exponent (autonomous flow).",
    )


# ---------------------------------------------------------------------------- Rössler


def rossler_vector_field(t, y, args):
    x, v, z = y[0], y[1], y[2]
    return jnp.stack([-v - z, x + args["a"] * v, args["b"] + z * (x - args["c"])])


def rossler_divergence(y, args):
    return args["a"] + y[0] - args["c"]


def rossler(
    *,
    a=0.2,
    b=0.2,
    c=5.7,
    y0=None,
    solver=None,
    dt=0.01,
    dtype="float64",
    stepsize_controller=None,
    adjoint=None,
) -> System:
    """Rössler (Rössler, Phys. Lett. A 57, 397, 1976).

    Equations::

        x' = -y - z,   y' = x + a y,   z' = b + z (x - c)

    Defaults ``a = 0.2, b = 0.2, c = 5.7``. Divergence ``a + x - c``. Literature spectrum
    ``0.0714, 0, -5.3943`` (Sprott 2003, App. A); lambda_1 converges slowly (times of
    order 1e4 for two digits). Default ``y0``: on the attractor, 200 time units from
    (1, 1, 0).
    """
    numerics = dict(dt=dt, solver=solver, stepsize_controller=stepsize_controller, adjoint=adjoint)
    dtype = check_numerics(dtype, **numerics)
    values = {"a": real_parameter("a", a), "b": real_parameter("b", b), "c": real_parameter("c", c)}
    y0, _ = initial_state(y0, (3,), on_attractor(rossler_vector_field, [1.0, 1.0, 0.0], values, 200.0), dtype)
    literature = None
    if at_defaults(values, {"a": 0.2, "b": 0.2, "c": 5.7}):
        literature = {"exponents": [0.0714, 0.0, -5.3943], "source": SPROTT_2003, "note": "slow to converge"}
    return flow_system(
        "rossler",
        "Rössler",
        rossler_vector_field,
        values,
        y0,
        dtype,
        numerics,
        equations="x' = -y - z; y' = x + a y; z' = b + z (x - c)",
        parameters=values,
        literature=literature,
        divergence=rossler_divergence,
        notes="Sum of exponents = time average of a + x - c; one zero exponent.",
    )


# ---------------------------------------------------------------------------- Lorenz-96


def lorenz96_vector_field(t, y, args):
    return (jnp.roll(y, -1) - jnp.roll(y, 2)) * jnp.roll(y, 1) - y + args["F"]


def lorenz96_divergence(y, args):
    return -jnp.asarray(y.shape[-1], y.dtype) + 0.0 * args["F"]


def lorenz96(
    *,
    N=40,
    F=8.0,
    y0=None,
    solver=None,
    dt=0.01,
    dtype="float64",
    stepsize_controller=None,
    adjoint=None,
) -> System:
    """Lorenz-96 (Lorenz, ECMWF Seminar on Predictability, 1996; Lorenz & Emanuel,
    J. Atmos. Sci. 55, 399, 1998).

    Equations, cyclic indices ``i = 0 .. N-1``::

        x_i' = (x_{i+1} - x_{i-2}) x_{i-1} - x_i + F

    Defaults ``N = 40, F = 8``. Divergence ``-N`` exactly (the advection term has no
    diagonal Jacobian entry), so the exponents sum to ``-N``. Literature at ``N = 40,
    F = 8``: 13 positive exponents, lambda_1 about 1.66–1.7 (doubling time about 0.4;
    Lorenz & Emanuel 1998; DAPPER's model table). Default ``y0``: on the attractor, 20
    time units from ``x_i = F`` with ``x_0 += 0.01``.
    """
    numerics = dict(dt=dt, solver=solver, stepsize_controller=stepsize_controller, adjoint=adjoint)
    dtype = check_numerics(dtype, **numerics)
    if isinstance(N, bool) or not isinstance(N, (int, np.integer)) or N < 4:
        raise bad_argument("N", f"{N!r} is not an int >= 4", "pass e.g. N=40")
    N = int(N)
    values = {"F": real_parameter("F", F)}
    start = np.full(N, values["F"])
    start[0] += 0.01
    y0, _ = initial_state(y0, (N,), on_attractor(lorenz96_vector_field, start, values, 20.0), dtype)
    literature = None
    if N == 40 and at_defaults(values, {"F": 8.0}):
        literature = {
            "exponents": [1.68],
            "lambda_1_range": [1.66, 1.70],
            "n_positive": 13,
            "source": "Lorenz & Emanuel, J. Atmos. Sci. 55, 399 (1998); DAPPER model table",
            "note": "lambda_1 about 1.66-1.7 (1.68 is the middle of that range); 13 positive exponents",
        }
    return flow_system(
        "lorenz96",
        f"Lorenz-96 (N = {N})",
        lorenz96_vector_field,
        values,
        y0,
        dtype,
        numerics,
        equations="x_i' = (x_{i+1} - x_{i-2}) x_{i-1} - x_i + F, cyclic indices",
        parameters={"N": N, **values},
        literature=literature,
        divergence=lorenz96_divergence,
        notes="Sum of exponents = -N exactly; one zero exponent. N is the state size.",
    )
