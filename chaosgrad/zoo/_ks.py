"""The Kuramoto–Sivashinsky equation, pseudo-spectral, stepped by ETDRK4 (``_integrators``).

    u_t = -u u_x - u_xx - u_xxxx,   x in [0, L), periodic

(Kuramoto, Prog. Theor. Phys. 55, 356, 1976; Sivashinsky, Acta Astronaut. 4, 1177, 1977).
With ``u(x) = sum_k a_k exp(i q_k x)``, ``q_k = 2 pi k / L``, each Fourier mode obeys

    a_k' = (q_k^2 - q_k^4) a_k - (i q_k / 2) FFT[u^2]_k,

a diagonal linear part, stiff (``q_K^4`` reaches about 1300 at ``L = 22`` with 21 modes),
plus a quadratic nonlinearity evaluated on a grid of ``n_grid`` points. The state is the
real vector ``(Re a_1 .. Re a_K, Im a_1 .. Im a_K)`` with ``K = (n_grid - 1) // 3`` modes:
the 2/3 rule (Orszag, J. Atmos. Sci. 28, 1074, 1971) makes the quadratic term exact for
the kept modes (no aliasing), and the mean ``a_0`` is left out because it is conserved
(and its Galilean shift would add a third, trivial zero exponent). Continuous translations
``a_k -> exp(i q_k c) a_k`` commute with the step, so the translation zero exponent is
exact, beside the time-translation zero of any autonomous flow.
"""

from __future__ import annotations

import dataclasses

import equinox as eqx
import jax.numpy as jnp
import numpy as np

from chaosgrad._errors import bad_argument
from chaosgrad.zoo._build import (
    at_defaults,
    initial_state,
    make_args,
    own_integrator_or_diffrax,
    real_parameter,
    settle,
)
from chaosgrad.zoo._integrators import ETDRK4, etdrk4_coefficients  # noqa: F401 (importable from here)
from chaosgrad.zoo._system import System, check_numerics

# ---------------------------------------------------------------------------- KS model


class KuramotoSivashinskyModel(eqx.Module):
    """The KS right-hand side in the real Fourier state of this module's docstring.

    ``n_grid`` grid points for the nonlinear term and ``n_modes = (n_grid - 1) // 3``
    kept modes ``k = 1 .. n_modes``; ``args = {"L": domain length}``.
    """

    n_grid: int = eqx.field(static=True)

    @property
    def n_modes(self) -> int:
        return (self.n_grid - 1) // 3

    def wavenumbers(self, args):
        return 2.0 * jnp.pi / args["L"] * jnp.arange(1, self.n_modes + 1)

    def linear(self, args):
        """``q^2 - q^4`` for the real and the imaginary part of every mode."""
        q = self.wavenumbers(args)
        lam = q**2 - q**4
        return jnp.concatenate([lam, lam])

    def to_grid(self, y):
        """``u(x_j)`` on the grid ``x_j = j L / n_grid`` from the real Fourier state."""
        K = self.n_modes
        a = y[:K] + 1j * y[K:]
        full = jnp.zeros(self.n_grid // 2 + 1, a.dtype).at[1 : K + 1].set(a)
        return jnp.fft.irfft(full * self.n_grid, n=self.n_grid)

    def nonlinear(self, t, y, args):
        """``-(i q / 2) FFT[u^2]`` for the kept modes (exact by the 2/3 rule)."""
        work = jnp.promote_types(y.dtype, jnp.float32)
        y = y.astype(work)
        K = self.n_modes
        u = self.to_grid(y)
        b = jnp.fft.rfft(u * u)[1 : K + 1] / self.n_grid
        n = -0.5j * self.wavenumbers(args).astype(work) * b
        return jnp.concatenate([jnp.real(n), jnp.imag(n)]).astype(y.dtype)

    def vector_field(self, t, y, args):
        """The full right-hand side, for explicit and implicit diffrax solvers."""
        return self.linear(args).astype(y.dtype) * y + self.nonlinear(t, y, args).astype(y.dtype)

    def divergence(self, y, args):
        """``2 sum_k (q_k^2 - q_k^4)``: the quadratic term is trace-free with zero mean."""
        return jnp.sum(self.linear(args)) + 0.0 * y[0]


_L22 = {
    "source": "Cvitanović, Davidchack & Siminos, SIAM J. Appl. Dyn. Syst. 9, 1 (2010)",
    "exponents": [0.048, 0.0, 0.0],
    "lambda_1_range": [0.043, 0.048],
    "note": "lambda_1 about 0.043-0.048 across independent computations; two zero exponents "
    "(time and space translation)",
}
_L36 = {
    "source": "Edson, Bunder, Mattner & Roberts, ANZIAM J. 61, 270 (2019)",
    "exponents": [0.080, 0.056, 0.014, 0.003, -0.003],
}


def kuramoto_sivashinsky(
    *,
    L=22.0,
    n_grid: int = 64,
    y0=None,
    solver=None,
    dt=0.25,
    dtype="float64",
    contour_points: int = 32,
    stepsize_controller=None,
    adjoint=None,
) -> System:
    """Kuramoto–Sivashinsky ``u_t = -u u_x - u_xx - u_xxxx`` on a periodic domain of length L.

    Pseudo-spectral in the real Fourier state of the module docstring: ``n_grid = 64``
    grid points, ``(n_grid - 1) // 3 = 21`` complex modes, a 42-dimensional state.
    Default ``L = 22`` (Cvitanović, Davidchack & Siminos 2010: lambda_1 about
    0.043–0.048, two zero exponents from time and space translation); ``L = 36`` is
    :func:`kuramoto_sivashinsky_36` (Edson et al. 2019: 0.080, 0.056, 0.014, 0.003,
    -0.003, ...). Divergence ``2 sum_k (q_k^2 - q_k^4)``, a constant.

    Integrators: ``solver=None`` (default) is :class:`ETDRK4` at ``dt = 0.25`` (Kassam &
    Trefethen's choice for KS); a diffrax ``solver`` integrates the full right-hand side
    instead: explicit ones (``chaosgrad.RK4()``, ``diffrax.Tsit5()``) are limited by the
    stiff modes to ``dt`` below about ``2.8 / q_K^4`` (0.002 at L = 22) and blow up at
    larger steps; implicit ones need a root finder with tolerances under a constant
    step, e.g. ``diffrax.Kvaerno5(root_finder=diffrax.VeryChord(rtol=1e-10,
    atol=1e-10))``. ``reference`` is ETDRK4 at ``dt = 0.05`` in float64.

    ETDRK4 integrates the linear part exactly along trajectories, but the tangent map of
    its step damps a stiff mode's perturbation only to ``O(1 / (dt |c_k|))`` (through the
    ``f`` coefficients that feed the nonlinear term back), not to ``exp(dt c_k)``: at
    ``dt = 0.25`` the trailing numerical exponents are about -45 instead of -1260 and
    their sum about -970 instead of the divergence -11664, while the leading exponents
    agree with small steps. Gradients along stiff directions are therefore a property of
    the discretisation, a case for ``lambda_numerical`` against ``lambda_physical``.

    Default ``y0``: on the attractor, 500 time units of ETDRK4 (dt 0.25, float64) from
    small random modes (seed 0).
    """
    numerics = dict(dt=dt, solver=solver, stepsize_controller=stepsize_controller, adjoint=adjoint)
    dtype = check_numerics(dtype, **numerics)
    values = {"L": real_parameter("L", L, positive=True)}
    if isinstance(n_grid, bool) or not isinstance(n_grid, (int, np.integer)) or n_grid < 8 or n_grid % 2:
        raise bad_argument("n_grid", f"{n_grid!r} is not an even int >= 8", "pass e.g. 64")
    model = KuramotoSivashinskyModel(n_grid=int(n_grid))
    # The simulator first: its options are checked before the default state's transient runs.
    simulator = own_integrator_or_diffrax(
        model.vector_field,
        lambda: ETDRK4(model.linear, model.nonlinear, dt=dt, dtype=dtype, contour_points=contour_points),
        integrator="ETDRK4",
        fix="pass a diffrax solver with it, or drop it",
        numerics=numerics,
        dtype=dtype,
    )
    y0, _ = initial_state(y0, (2 * model.n_modes,), _on_attractor(model, values), dtype)
    return System(
        name="kuramoto_sivashinsky",
        title=f"Kuramoto–Sivashinsky (L = {values['L']:g})",
        simulator=simulator,
        y0=y0,
        args=make_args(values, dtype),
        equations="u_t = -u u_x - u_xx - u_xxxx, periodic on [0, L); a_k' = (q^2 - q^4) a_k - (i q/2) FFT[u^2]_k",
        parameters={**values, "n_grid": int(n_grid), "n_modes": model.n_modes},
        literature=_literature(values, n_grid),
        divergence=model.divergence,
        reference=ETDRK4(model.linear, model.nonlinear, dt=0.05, contour_points=contour_points),
        notes=(
            f"State: Re and Im of Fourier modes k = 1..{model.n_modes} (2/3 rule, mean excluded); "
            "u(x) on the grid: KuramotoSivashinskyModel(n_grid).to_grid(y). Two zero exponents "
            "(time, translation). ETDRK4 reproduces the leading exponents at dt = 0.25, but the "
            "stiff modes' exponents of its map are ~ -ln(dt |c_k|) / dt, not c_k = q_k^2 - q_k^4, "
            "until dt |c_K| < ~2 (dt ~ 0.002 at L = 22); only then does the sum approach the divergence."
        ),
    )


def _on_attractor(model: KuramotoSivashinskyModel, values: dict):
    """Default-state thunk: 500 time units of ETDRK4 (dt 0.25, float64) from small random
    modes (seed 0)."""

    def default():
        start = 0.1 * np.random.default_rng(0).standard_normal(2 * model.n_modes)
        settler = ETDRK4(model.linear, model.nonlinear, dt=0.25, contour_points=32)
        return settle(settler, start, make_args(values, "float64"), 500.0)

    return default


def _literature(values: dict, n_grid: int) -> dict | None:
    """The published exponents at ``L = 22`` or ``L = 36`` on a grid of 64 points or more."""
    if n_grid >= 64 and at_defaults(values, {"L": 22.0}):
        return dict(_L22)
    if n_grid >= 64 and at_defaults(values, {"L": 36.0}):
        return dict(_L36)
    return None


def kuramoto_sivashinsky_36(**overrides) -> System:
    """:func:`kuramoto_sivashinsky` at ``L = 36`` (Edson, Bunder, Mattner & Roberts,
    ANZIAM J. 61, 270, 2019: 0.080, 0.056, 0.014, 0.003, -0.003, ...)."""
    if "L" in overrides:
        raise bad_argument("L", "is fixed to 36 here", "call kuramoto_sivashinsky(L=...) instead")
    return dataclasses.replace(kuramoto_sivashinsky(L=36.0, **overrides), name="kuramoto_sivashinsky_36")
