"""Fixed-step integrators the bundled systems need beyond diffrax's: the implicit
midpoint rule (symplectic, for the double pendulum) and ETDRK4 (exponential, for the
stiff Kuramoto–Sivashinsky equation).

Both are :class:`~chaosgrad.AbstractSimulator` implementations with a constant step and
a fixed amount of work per step (no data-dependent stopping), so forward and reverse
mode differentiate the map that is actually iterated.
"""

from __future__ import annotations

from collections.abc import Callable

import diffrax
import equinox as eqx
import jax
import jax.numpy as jnp
from jax.flatten_util import ravel_pytree

from chaosgrad._checks import check_count
from chaosgrad._errors import bad_argument
from chaosgrad._simulators.arguments import _check_dt, _check_dtype
from chaosgrad._simulators.base import AbstractSimulator, replace_fields
from chaosgrad._simulators.capabilities import Refinable
from chaosgrad._simulators.ode import ODESimulator

# ---------------------------------------------------------------------------- implicit midpoint


class ImplicitMidpoint(AbstractSimulator, Refinable):
    """The implicit midpoint rule ``y1 = y0 + dt f(t + dt/2, (y0 + y1) / 2)``.

    The one-stage Gauss–Legendre method: symplectic, symmetric, second order (Hairer,
    Lubich & Wanner, *Geometric Numerical Integration*, 2nd ed., Springer 2006, Thm.
    VI.3.5). On any Hamiltonian system, separable or not, its step is a symplectic map,
    so its Lyapunov exponents come in exact ``+-`` pairs and its energy error stays
    bounded instead of drifting.

    The implicit equation is solved by ``newton_iterations`` full Newton steps from the
    explicit Euler predictor, a fixed count (no data-dependent stopping, rule 4 of the
    simulator contract), so ``jax.jvp`` and reverse mode differentiate the converged
    map. The predictor error is ``O(dt^2)`` and each Newton step squares it, so four
    iterations reach round-off when ``dt ||Df|| << 1``. States may be any pytree of
    floats; 16-bit states are solved in float32 and rounded back after each step.
    """

    vector_field: Callable
    dt: float = eqx.field(static=True)
    dtype: str = eqx.field(static=True)
    newton_iterations: int = eqx.field(static=True)

    def __init__(self, vector_field: Callable, *, dt: float = 0.01, dtype="float64", newton_iterations: int = 4):
        self.vector_field = vector_field
        self.dt = _check_dt(dt)
        self.dtype = _check_dtype(dtype)
        self.newton_iterations = newton_iterations

    def __check_init__(self):
        if not callable(self.vector_field):
            raise bad_argument("vector_field", "is not callable", "pass a function f(t, y, args) -> dy/dt")
        check_count("newton_iterations", self.newton_iterations, example=4)

    def step(self, t, y, args):
        work = jnp.promote_types(self.dtype, jnp.float32)
        u0, unravel = ravel_pytree(y)
        u0 = u0.astype(work)
        h = jnp.asarray(self.dt, work)
        tm = jnp.asarray(t, work) + h / 2

        def residual(u1):
            mid = unravel((u0 + u1) / 2)
            return u1 - u0 - h * ravel_pytree(self.vector_field(tm, mid, args))[0].astype(work)

        def newton(_, u1):
            return u1 - jnp.linalg.solve(jax.jacfwd(residual)(u1), residual(u1))

        u1 = u0 - residual(u0)  # explicit Euler predictor
        u1 = jax.lax.fori_loop(0, self.newton_iterations, newton, u1)
        return self.prepare(unravel(u1))

    def with_dtype(self, dtype):
        return replace_fields(self, dtype=dtype)

    def describe(self) -> dict:
        return {**super().describe(), "solver": "ImplicitMidpoint", "newton_iterations": self.newton_iterations}

    def with_step(self, dt):
        return replace_fields(self, dt=dt)

    def accurate_twin(self):
        """Dopri8 on the same vector field, float64 (capability rule 2 of Refinable)."""
        return ODESimulator(self.vector_field, solver=diffrax.Dopri8(), dt=self.dt, dtype="float64")


# ---------------------------------------------------------------------------- ETDRK4


def etdrk4_coefficients(c, h, contour_points: int = 32):
    """ETDRK4 coefficients for the diagonal linear part ``c`` and step ``h``.

    Returns ``(E, E2, Q, f1, f2, f3)`` with ``z = h c``::

        E = e^z,  E2 = e^{z/2},  Q = h (e^{z/2} - 1) / z,
        f1 = h (-4 - z + e^z (4 - 3z + z^2)) / z^3,
        f2 = h (2 + z + e^z (z - 2)) / z^3,
        f3 = h (-4 - 3z - z^2 + e^z (4 - z)) / z^3.

    The phi-function quotients cancel catastrophically for small ``|z|``; following
    Kassam & Trefethen (SIAM J. Sci. Comput. 26, 1214, 2005) each is evaluated as the
    mean over ``contour_points`` points ``z + exp(i theta_j)`` on the upper half of the
    unit circle around ``z`` (real part; the lower half is its complex conjugate).
    """
    work = jnp.promote_types(jnp.result_type(c), jnp.float32)
    c = jnp.asarray(c, work)
    h = jnp.asarray(h, work)
    ctype = jnp.promote_types(work, jnp.complex64)
    theta = jnp.pi * (jnp.arange(1, contour_points + 1, dtype=work) - 0.5) / contour_points
    z = (h * c)[..., None] + jnp.exp(1j * theta).astype(ctype)
    ez, ez2 = jnp.exp(z), jnp.exp(z / 2)
    iz = 1.0 / z
    iz3, z2 = iz * iz * iz, z * z

    def mean(x):
        return jnp.real(jnp.mean(x, axis=-1))

    Q = h * mean((ez2 - 1.0) * iz)
    f1 = h * mean((-4.0 - z + ez * (4.0 - 3.0 * z + z2)) * iz3)
    f2 = h * mean((2.0 + z + ez * (z - 2.0)) * iz3)
    f3 = h * mean((-4.0 - 3.0 * z - z2 + ez * (4.0 - z)) * iz3)
    return jnp.exp(h * c), jnp.exp(h * c / 2), Q, f1, f2, f3


class ETDRK4(AbstractSimulator, Refinable):
    """Exponential time differencing fourth-order Runge–Kutta for ``y' = c y + N(t, y)``.

    Cox & Matthews (J. Comput. Phys. 176, 430, 2002), with the coefficients of
    :func:`etdrk4_coefficients` computed by Kassam & Trefethen's contour integrals. The
    linear part is diagonal, ``c = linear(args)`` with the shape of ``y``, and is
    integrated exactly, so stiff decaying modes impose no step limit; the step is::

        a = E2 y + Q N(t, y)                   N_a = N(t + h/2, a)
        b = E2 y + Q N_a                       N_b = N(t + h/2, b)
        d = E2 a + Q (2 N_b - N(t, y))         N_d = N(t + h, d)
        y1 = E y + f1 N(t, y) + 2 f2 (N_a + N_b) + f3 N_d

    Arguments:
        linear: ``linear(args) -> c``, real, the diagonal of the linear operator.
        nonlinear: ``nonlinear(t, y, args) -> N``, the rest of the vector field.
        dt: the step; dtype: the state dtype; contour_points: points on the contour.

    The coefficients are recomputed from ``args`` in every step, so gradients with
    respect to parameters of the linear part (e.g. the domain length) are exact. States
    are flat real arrays; 16-bit states are stepped in float32 and rounded back.
    """

    linear: Callable
    nonlinear: Callable
    dt: float = eqx.field(static=True)
    dtype: str = eqx.field(static=True)
    contour_points: int = eqx.field(static=True)

    def __init__(
        self, linear: Callable, nonlinear: Callable, *, dt: float = 0.25, dtype="float64", contour_points: int = 32
    ):
        self.linear = linear
        self.nonlinear = nonlinear
        self.dt = _check_dt(dt)
        self.dtype = _check_dtype(dtype)
        self.contour_points = contour_points

    def __check_init__(self):
        for name in ("linear", "nonlinear"):
            if not callable(getattr(self, name)):
                raise bad_argument(name, "is not callable", f"pass a function for {name}")
        check_count("contour_points", self.contour_points, minimum=4, example=32)

    def step(self, t, y, args):
        work = jnp.promote_types(self.dtype, jnp.float32)
        y = jnp.asarray(y, work)
        E, E2, Q, f1, f2, f3 = etdrk4_coefficients(self.linear(args), self.dt, self.contour_points)
        h = jnp.asarray(self.dt, work)
        t = jnp.asarray(t, work)

        def N(s, v):
            return jnp.asarray(self.nonlinear(s, v, args), work)

        Ny = N(t, y)
        a = E2 * y + Q * Ny
        Na = N(t + h / 2, a)
        b = E2 * y + Q * Na
        Nb = N(t + h / 2, b)
        d = E2 * a + Q * (2.0 * Nb - Ny)
        Nd = N(t + h, d)
        return self.prepare(E * y + f1 * Ny + 2.0 * f2 * (Na + Nb) + f3 * Nd)

    def with_dtype(self, dtype):
        return replace_fields(self, dtype=dtype)

    def describe(self) -> dict:
        return {**super().describe(), "solver": "ETDRK4", "contour_points": self.contour_points}

    def with_step(self, dt):
        return replace_fields(self, dt=dt)

    def accurate_twin(self):
        """ETDRK4 itself in float64: its linear part is exact, so halving its step
        converges on a stiff system where an explicit method at the same step cannot
        even stay finite (capability rule 2 of Refinable)."""
        return self.with_dtype("float64")
