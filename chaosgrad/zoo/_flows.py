"""Bundled flows: Lorenz-63, Rössler, Lorenz-96, the double pendulum, the damped
harmonic oscillator and the van der Pol oscillator.

Every factory returns a :class:`~chaosgrad.zoo._system.System` whose ``args`` is a dict of
named 0-d arrays in the simulator's dtype (so ``wrt="rho"`` addresses one parameter) and
whose ``divergence(y, args)`` is the trace of the Jacobian of the vector field, the
instantaneous rate of phase-space volume change. The time average of the divergence along
a trajectory equals the sum of all Lyapunov exponents.

Numerics are keyword overrides: ``solver`` (a diffrax solver, default ``diffrax.Tsit5()``),
``dt``, ``dtype``, ``stepsize_controller`` and ``adjoint``, passed to
:class:`chaosgrad.ODESimulator`. Dissipative chaotic systems start from a point on their
attractor: the default ``y0`` is the end of a float64 transient integrated with classical
RK4 at step 0.01, whatever numerics are chosen, so that two solvers are compared from the
same state. ``literature`` is set only at the published parameters. The double pendulum's
default integrator, :class:`ImplicitMidpoint`, lives in ``_integrators`` and is importable
from here.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import diffrax
import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from chaosgrad._checks import check_finite_input, check_real, check_state_values
from chaosgrad._errors import bad_argument
from chaosgrad._simulators.base import AbstractSimulator
from chaosgrad._simulators.ode import ODESimulator
from chaosgrad._simulators.rk import RK4
from chaosgrad.zoo._integrators import ImplicitMidpoint  # noqa: F401 (importable from here)
from chaosgrad.zoo._system import System, check_numerics

SPROTT_2003 = "Sprott, Chaos and Time-Series Analysis, Oxford University Press (2003), App. A"

# ---------------------------------------------------------------------------- helpers


def real_parameter(name: str, value, *, positive: bool = False, nonnegative: bool = False) -> float:
    """``value`` as a finite float, or a :class:`ChaosgradInputError` naming ``name``
    (the package's one rule for reals, ``_checks.check_real``)."""
    return check_real(name, value, positive=positive, nonnegative=nonnegative)


def make_args(values: dict, dtype) -> dict:
    """Parameters as a dict of 0-d arrays in ``dtype`` (differentiable leaves)."""
    return {k: jnp.asarray(v, jnp.dtype(dtype)) for k, v in values.items()}


def at_defaults(values: dict, defaults: dict) -> bool:
    return all(math.isclose(values[k], defaults[k], rel_tol=1e-12) for k in defaults)


@eqx.filter_jit
def _run_steps(simulator, y, args, n_steps: int):
    def body(carry, _):
        t, y = carry
        return (t + simulator.dt, simulator.step(t, y, args)), None

    (_, y), _ = jax.lax.scan(body, (jnp.asarray(0.0, jnp.float64), y), None, length=n_steps)
    return y


def settle(simulator, y0, args, time: float) -> np.ndarray:
    """``y0`` advanced by ``time`` with ``simulator``: a transient onto the attractor.

    Compiled once per simulator structure, so building the same system again is cheap.
    If the transient diverges (parameters without a bounded attractor), ``y0`` itself is
    returned, so that the analyses run and record the blow-up as a finding.
    """
    y = np.asarray(_run_steps(simulator, simulator.prepare(jnp.asarray(y0)), args, int(round(time / simulator.dt))))
    return y if np.all(np.isfinite(y)) else np.asarray(y0, np.float64)


def initial_state(y0, shape: tuple, default: Callable[[], Any], dtype):
    """The user's ``y0`` or ``default()``, as an array of ``shape`` in ``dtype``.

    ``y0`` follows the package's rule for states (``_checks.check_state``: real numbers in
    arrays, not complex, not a Python list of scalars, finite once cast to ``dtype``), then
    must be one array of ``shape``. Returns ``(state, is_default)``; ``default`` is called
    only when ``y0`` is None.
    """
    if y0 is None:
        return jnp.asarray(np.asarray(default(), np.float64), jnp.dtype(dtype)), True
    check_state_values("y0", y0)
    leaves = jax.tree_util.tree_leaves(y0)
    if len(leaves) != 1 or leaves[0] is not y0 or np.shape(y0) != tuple(shape):
        found = f"shape {np.shape(y0)}" if len(leaves) == 1 and leaves[0] is y0 else f"a pytree of {len(leaves)} leaves"
        raise bad_argument(
            "y0", f"is {found}, expected one array of shape {tuple(shape)}", f"pass jnp.asarray of {shape[0]} numbers"
        )
    with np.errstate(over="ignore"):  # a value the dtype cannot hold is refused by name next
        state = jnp.asarray(np.asarray(y0, np.float64), jnp.dtype(dtype))
    check_finite_input("y0", state)
    return state, False


def on_attractor(vector_field, start, values: dict, time: float) -> Callable[[], np.ndarray]:
    """Default-state thunk: ``start`` integrated for ``time`` (float64, RK4, step 0.01)."""

    def default():
        sim = ODESimulator(vector_field, solver=RK4(), dt=0.01)
        return settle(sim, np.asarray(start, np.float64), make_args(values, "float64"), time)

    return default


def _flow(name, title, vector_field, values, y0, dtype, numerics, **fields) -> System:
    """Assemble a :class:`System` for a flow solved with :class:`ODESimulator`."""
    return System(
        name=name,
        title=title,
        y0=y0,
        args=make_args(values, dtype),
        simulator=ODESimulator(vector_field, dtype=dtype, **numerics),
        **fields,
    )


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
    dtype = check_numerics(dtype, dt=dt, solver=solver, stepsize_controller=stepsize_controller, adjoint=adjoint)
    values = {
        "sigma": real_parameter("sigma", sigma),
        "rho": real_parameter("rho", rho),
        "beta": real_parameter("beta", beta),
    }
    y0, _ = initial_state(y0, (3,), on_attractor(lorenz63_vector_field, [1.0, 1.0, 1.0], values, 20.0), dtype)
    literature = None
    if at_defaults(values, {"sigma": 10.0, "rho": 28.0, "beta": 8.0 / 3.0}):
        literature = {"exponents": [0.9056, 0.0, -14.5723], "source": SPROTT_2003, "kaplan_yorke": 2.062}
    return _flow(
        "lorenz63",
        "Lorenz-63",
        lorenz63_vector_field,
        values,
        y0,
        dtype,
        dict(solver=solver, dt=dt, stepsize_controller=stepsize_controller, adjoint=adjoint),
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
    dtype = check_numerics(dtype, dt=dt, solver=solver, stepsize_controller=stepsize_controller, adjoint=adjoint)
    values = {"a": real_parameter("a", a), "b": real_parameter("b", b), "c": real_parameter("c", c)}
    y0, _ = initial_state(y0, (3,), on_attractor(rossler_vector_field, [1.0, 1.0, 0.0], values, 200.0), dtype)
    literature = None
    if at_defaults(values, {"a": 0.2, "b": 0.2, "c": 5.7}):
        literature = {"exponents": [0.0714, 0.0, -5.3943], "source": SPROTT_2003, "note": "slow to converge"}
    return _flow(
        "rossler",
        "Rössler",
        rossler_vector_field,
        values,
        y0,
        dtype,
        dict(solver=solver, dt=dt, stepsize_controller=stepsize_controller, adjoint=adjoint),
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
    dtype = check_numerics(dtype, dt=dt, solver=solver, stepsize_controller=stepsize_controller, adjoint=adjoint)
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
    return _flow(
        "lorenz96",
        f"Lorenz-96 (N = {N})",
        lorenz96_vector_field,
        values,
        y0,
        dtype,
        dict(solver=solver, dt=dt, stepsize_controller=stepsize_controller, adjoint=adjoint),
        equations="x_i' = (x_{i+1} - x_{i-2}) x_{i-1} - x_i + F, cyclic indices",
        parameters={"N": N, **values},
        literature=literature,
        divergence=lorenz96_divergence,
        notes="Sum of exponents = -N exactly; one zero exponent. N is the state size.",
    )


# ---------------------------------------------------------------------------- double pendulum


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
    dtype = check_numerics(dtype, dt=dt, solver=solver, stepsize_controller=stepsize_controller, adjoint=adjoint)
    values = {
        k: real_parameter(k, v, positive=True) for k, v in {"g": g, "m1": m1, "m2": m2, "l1": l1, "l2": l2}.items()
    }
    y0, default_y0 = initial_state(y0, (4,), lambda: [math.radians(130.0), math.radians(-10.0), 0.0, 0.0], dtype)
    if solver is None:
        if stepsize_controller is not None or adjoint is not None:
            raise bad_argument(
                "stepsize_controller" if stepsize_controller is not None else "adjoint",
                "applies only to a diffrax solver; the implicit midpoint rule takes constant steps",
                "pass a diffrax solver with it (e.g. solver=diffrax.Tsit5()), or drop it",
            )
        simulator: AbstractSimulator = ImplicitMidpoint(
            double_pendulum_vector_field, dt=dt, dtype=dtype, newton_iterations=newton_iterations
        )
        reference = ODESimulator(double_pendulum_vector_field, solver=diffrax.Dopri8(), dt=simulator.dt / 2)
    else:
        simulator = ODESimulator(
            double_pendulum_vector_field,
            solver=solver,
            dt=dt,
            dtype=dtype,
            stepsize_controller=stepsize_controller,
            adjoint=adjoint,
        )
        reference = None
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


# ---------------------------------------------------------------------------- oscillators


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
    dtype = check_numerics(dtype, dt=dt, solver=solver, stepsize_controller=stepsize_controller, adjoint=adjoint)
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
    return _flow(
        "damped_oscillator",
        "Damped harmonic oscillator",
        damped_oscillator_vector_field,
        values,
        y0,
        dtype,
        dict(
            solver=diffrax.Euler() if solver is None else solver,
            dt=dt,
            stepsize_controller=stepsize_controller,
            adjoint=adjoint,
        ),
        equations="x' = v; v' = -2 zeta omega v - omega^2 x",
        parameters=values,
        literature=literature,
        divergence=damped_oscillator_divergence,
        notes="Explicit Euler's numerical exponents are ln|1 + dt mu_i| / dt for the eigenvalues mu_i.",
    )


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
    dtype = check_numerics(dtype, dt=dt, solver=solver, stepsize_controller=stepsize_controller, adjoint=adjoint)
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
    return _flow(
        "van_der_pol",
        f"Van der Pol (mu = {values['mu']:g})",
        van_der_pol_vector_field,
        values,
        y0,
        dtype,
        dict(solver=solver, dt=dt, stepsize_controller=stepsize_controller, adjoint=adjoint),
        equations="x' = v; v' = mu (1 - x^2) v - x",
        parameters=values,
        literature=None,
        divergence=van_der_pol_divergence,
        reference=reference,
        notes="Limit cycle: exponents (0, time average of mu (1 - x^2) over the cycle).",
    )
