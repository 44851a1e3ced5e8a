"""The verdict benchmark: set-ups whose right answer follows from theory, not from chaosgrad.

Each case builds a simulator as a user would and states the verdict and the confirmed
causes it must get, and why. ``tests/test_verdict_benchmark.py`` runs them;
``benchmarks/verdict_confusion.py`` prints the confusion table.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import diffrax
import jax
import jax.numpy as jnp
import numpy as np
import optimistix as optx

import chaosgrad as cg
import chaosgrad.zoo  # noqa: F401  (cg.zoo)


@dataclass(frozen=True)
class Case:
    name: str
    build: Callable  # () -> (simulator, y0, args, diagnose keyword arguments)
    verdict: str
    causes: tuple
    why: str
    slow: bool = False
    tags: tuple = field(default_factory=tuple)


# ---------------------------------------------------------------------------- maps


def logistic(r, dtype="float64"):
    return cg.MapSimulator(lambda y, a: a["r"] * y * (1 - y), dtype=dtype)


def henon(y, a):
    return jnp.stack([1 - a["a"] * y[0] ** 2 + y[1], a["b"] * y[0]])


def lozi(y, a):
    return jnp.stack([1 - a["a"] * jnp.abs(y[0]) + y[1], a["b"] * y[0]])


CAT = np.array([[2.0, 1.0], [1.0, 1.0]])  # eigenvalues (3 ± sqrt 5) / 2


def rotation(angle, scale=1.0):
    c, s = math.cos(angle), math.sin(angle)
    return scale * jnp.array([[c, -s], [s, c]])


def tanh_rnn(gain):
    """The zoo's random tanh network, N = 100 (seed 0)."""
    system = cg.zoo.tanh_rnn(n=100, g=gain)
    return system.simulator, system.y0, system.args


class NaNRescaling(cg.AbstractCause):
    """A user's cause whose ablated simulator blows up at once."""

    name = "saturation"
    words = "saturated units scale the gradient down"

    def suspect(self, evidence):
        return "the caller asked for it"

    def ablate(self, evidence):
        return cg.MapSimulator(lambda y, a: y * jnp.nan), evidence.args, "a rescaling that overflows"


# ---------------------------------------------------------------------------- flows


def linear(t, y, A):
    return A @ y


A_DAMPED = np.array([[-0.2, 1.0], [-1.0, -0.2]])  # eigenvalues -0.2 ± i
A_ROT = np.array([[0.0, 1.0], [-1.0, 0.0]])  # eigenvalues ± i


def lorenz(t, y, a):
    x, v, z = y
    return jnp.stack([a["sigma"] * (v - x), x * (a["rho"] - z) - v, x * v - a["beta"] * z])


LORENZ = {"sigma": 10.0, "rho": 28.0, "beta": 8 / 3}


def oscillator(t, y, a):
    return jnp.stack([y[1], -(a["omega"] ** 2) * y[0] - 2 * a["zeta"] * a["omega"] * y[1]])


def pendulum(t, y, a):
    return jnp.stack([y[1], -(9.81 / a["l"]) * jnp.sin(y[0])])


def van_der_pol(t, y, a):
    return jnp.stack([y[1], a["mu"] * (1 - y[0] ** 2) * y[1] - y[0]])


def ball(y, e):
    """A ball against a wall at x = 0 with restitution e: a map with a reflection."""
    x1 = y[0] + y[1]
    hit = x1 < 0
    return jnp.stack([jnp.where(hit, -e * x1, x1), jnp.where(hit, -e * y[1], y[1])])


def relaxation(t, y, a):
    return -a["k"] * (y - a["theta"])


def stiff(t, y, a):
    return jnp.stack([-2 * y[0] + y[1], -500 * y[1]])


def _state(y0):
    """Lists become one array; a dict state keeps its leaves."""
    return jax.tree_util.tree_map(jnp.asarray, y0) if isinstance(y0, dict) else jnp.asarray(y0)


def _map(step, y0, args=None, dtype="float64", **kw):
    return lambda: (cg.MapSimulator(step, dtype=dtype), _state(y0), args, kw)


def _ode(field_, y0, args=None, **sim_kw):
    kw = sim_kw.pop("kw", {})
    return lambda: (cg.ODESimulator(field_, **sim_kw), _state(y0), args, kw)


CASES = [
    # -- chaos, every horizon list (3 to 12 horizons, user-chosen and default)
    Case(
        "logistic r=4, default horizons",
        lambda: (logistic(4.0), jnp.array(0.3), {"r": 4.0}, {}),
        "intrinsic-explosion",
        (),
        "lambda = ln 2 exactly (Ulam & von Neumann); AD of a map is exact",
    ),
    Case(
        "logistic r=4, 3 horizons",
        lambda: (logistic(4.0), jnp.array(0.3), {"r": 4.0}, dict(horizons=(4, 8, 16))),
        "intrinsic-explosion",
        (),
        "the same, with the shortest list the fit accepts",
    ),
    Case(
        "logistic r=4, 12 horizons",
        lambda: (logistic(4.0), jnp.array(0.3), {"r": 4.0}, dict(horizons=np.arange(5, 65, 5))),
        "intrinsic-explosion",
        (),
        "the same, with a long list",
    ),
    Case(
        "Henon, default horizons",
        _map(henon, [0.1, 0.1], {"a": 1.4, "b": 0.3}),
        "intrinsic-explosion",
        (),
        "lambda_1 = 0.419 (Sprott 2003), sum ln 0.3",
    ),
    Case(
        "Lozi, 4 horizons",
        _map(lozi, [0.1, 0.1], {"a": 1.7, "b": 0.5}, horizons=(5, 10, 20, 40)),
        "intrinsic-explosion",
        (),
        "piecewise linear, lambda_1 = 0.470 > 0",
    ),
    Case(
        "cat map, 4 horizons",
        _map(lambda y, a: jnp.mod(CAT @ y, 1.0), [0.1, 0.3], None, horizons=(2, 4, 8, 16)),
        "intrinsic-explosion",
        (),
        "constant Jacobian with eigenvalue (3 + sqrt 5) / 2: lambda = 0.9624 exactly",
    ),
    Case(
        "tanh network g = 3",
        lambda: (*tanh_rnn(3.0), {}),
        "intrinsic-explosion",
        (),
        "a large random tanh network is chaotic above g = 1 (Sompolinsky et al. 1988; "
        "Molgedey et al. 1992 for the map)",
    ),
    # -- contraction and neutrality
    Case(
        "diagonal linear map, 12 horizons",
        _map(lambda y, a: jnp.array([0.5, 0.8]) * y, [1.0, 1.0], None, horizons=np.arange(10, 130, 10)),
        "intrinsic-vanishing",
        (),
        "exponents ln 0.8 and ln 0.5 exactly",
    ),
    Case(
        "logistic r=3.2 (period 2)",
        lambda: (logistic(3.2), jnp.array(0.3), {"r": 3.2}, {}),
        "intrinsic-vanishing",
        (),
        "the stable 2-cycle has lambda = ln(4 + 2r - r^2) / 2 = -0.916",
    ),
    Case(
        "logistic r=3.2 wrt r",
        lambda: (logistic(3.2), jnp.array(0.3), {"r": 3.2}, dict(wrt="r")),
        "stable",
        (),
        "the cycle moves with r: a finite steady-state sensitivity",
    ),
    Case(
        "tanh network g = 0.5",
        lambda: (*tanh_rnn(0.5), {}),
        "intrinsic-vanishing",
        (),
        "below g = 1 the origin attracts: lambda_1 = ln(g rho(W)) exactly",
    ),
    Case(
        "rotation map",
        _map(lambda y, a: rotation(0.3) @ y, [1.0, 0.0], None, horizons=(5, 10, 20, 40)),
        "stable",
        (),
        "an orthogonal map: ||J^T c|| = 1 exactly (dynamical isometry)",
    ),
    Case(
        "damped linear ODE wrt y0",
        _ode(linear, [1.0, 0.0], A_DAMPED, solver=cg.RK4(), dt=0.05, kw=dict(horizons=(2, 4, 8, 16, 32))),
        "intrinsic-vanishing",
        (),
        "Re eig(A) = -0.2",
    ),
    Case(
        "damped linear ODE wrt A",
        _ode(linear, [1.0, 0.0], A_DAMPED, solver=cg.RK4(), dt=0.05, kw=dict(horizons=(2, 4, 8, 16, 32), wrt="args")),
        "intrinsic-vanishing",
        (),
        "y(T) = e^{AT} y0 decays whatever A is: d y(T)/dA ~ T e^{-0.2 T}",
    ),
    Case(
        "relaxation wrt its target",
        _ode(
            relaxation,
            [0.0],
            {"k": 1.0, "theta": 2.0},
            solver=cg.RK4(),
            dt=0.05,
            kw=dict(horizons=(2, 4, 8, 16), wrt="theta", loss=lambda y: y[0]),
        ),
        "stable",
        (),
        "y* = theta: d y(T)/d theta -> 1",
    ),
    Case(
        "rotation ODE",
        _ode(linear, [1.0, 0.0], A_ROT, solver=cg.RK4(), dt=0.05, kw=dict(horizons=(5, 10, 20, 40))),
        "stable",
        (),
        "a centre: RK4 at h = 0.05 damps it by 2e-7 per unit time",
    ),
    Case(
        "rotation ODE, backsolve adjoint",
        _ode(
            linear,
            [1.0, 0.0],
            A_ROT,
            solver=diffrax.Tsit5(),
            dt=0.05,
            adjoint=diffrax.BacksolveAdjoint(),
            kw=dict(horizons=(5, 10, 20, 40)),
        ),
        "stable",
        (),
        "a conservative linear flow re-integrates backwards stably: the adjoint is not the cause",
    ),
    # -- numerical causes
    Case(
        "stiff system, explicit Euler",
        _ode(stiff, [1.0, 1.0], None, solver=diffrax.Euler(), dt=0.02, kw=dict(horizons=(0.2, 0.5, 1, 2))),
        "numerical-explosion",
        ("discretization",),
        "|1 - 500 h| = 9: Euler's map grows at ln 9 / h = 110",
    ),
    Case(
        "centre, implicit Euler h = 0.5",
        _ode(
            linear,
            [1.0, 0.0],
            A_ROT,
            dt=0.5,
            kw=dict(horizons=(5, 10, 20, 40)),
            solver=diffrax.ImplicitEuler(root_finder=optx.Newton(rtol=1e-10, atol=1e-10)),
        ),
        "numerical-vanishing",
        ("discretization",),
        "|1 / (1 - h i)| = 1 / sqrt(1 + h^2): the map contracts at -ln(1.25) / (2 h) = -0.223 while the centre is neutral",
    ),
    Case(
        "damped oscillator, Euler h = 0.25",
        _ode(
            oscillator,
            [1.0, 0.0],
            {"omega": 10.0, "zeta": 0.1},
            solver=diffrax.Euler(),
            dt=0.25,
            kw=dict(lyapunov_time=200.0, members=4),
        ),
        "numerical-explosion",
        ("discretization",),
        "|1 + h(-1 ± 9.95i)| = 2.60 > 1: the map expands",
        slow=True,
    ),
    Case(
        "logistic r=4 in float32, overflowing",
        lambda: (logistic(4.0, "float32"), jnp.array(0.3), {"r": 4.0}, dict(horizons=(25, 50, 100, 150))),
        "intrinsic-explosion",
        ("precision",),
        "the gradient grows at ln 2 and overflows float32 (e^88.7) near n = 128; float64 does not",
    ),
    Case(
        "Lorenz-63, RK4, 4 horizons",
        _ode(lorenz, [1.0, 1.0, 1.0], LORENZ, solver=cg.RK4(), dt=0.01, kw=dict(horizons=(1, 2, 4, 8))),
        "intrinsic-explosion",
        (),
        "lambda_1 = 0.906 (Sprott 2003) and RK4 at 0.01 resolves it",
        slow=True,
    ),
    Case(
        "Lorenz-63 in float32",
        _ode(
            lorenz, [1.0, 1.0, 1.0], LORENZ, solver=cg.RK4(), dt=0.01, dtype="float32", kw=dict(horizons=(2, 4, 8, 16))
        ),
        "intrinsic-explosion",
        (),
        "float32 shadows the float64 trajectory statistically: same rate, nothing overflows",
        slow=True,
    ),
    Case(
        "Lorenz-63 in float16",
        _ode(
            lorenz,
            [1.0, 1.0, 1.0],
            LORENZ,
            solver=cg.RK4(),
            dt=0.01,
            dtype="float16",
            kw=dict(members=cg.OnAttractor(6), lyapunov_time=50.0),
        ),
        "intrinsic-explosion",
        ("precision",),
        "on the attractor (the ergodic question) the gradient grows at lambda_1 = 0.906 and overflows float16 "
        "(65504 = e^11.1) near T = 12, inside the default horizons; float64 removes the overflow",
        slow=True,
    ),
    Case(
        "Lorenz-63 at rho = 10, backsolve",
        _ode(
            lorenz,
            [1.0, 1.0, 1.0],
            dict(LORENZ, rho=10.0),
            solver=cg.RK4(),
            dt=0.01,
            adjoint=diffrax.BacksolveAdjoint(),
            kw=dict(horizons=np.geomspace(1, 20, 7), wrt="rho", members=4, loss=lambda y: y[2], lyapunov_time=50.0),
        ),
        "numerical-explosion",
        ("adjoint",),
        "the reverse-time solve expands at -lambda_3 ~ 12 while the physics contracts (DESIGN.md)",
        slow=True,
    ),
    # -- growth as a power of T on neutral physics (phase drift)
    Case(
        "pendulum in libration wrt its length",
        _ode(
            pendulum,
            [1.0, 0.0],
            {"l": 1.0},
            solver=cg.RK4(),
            dt=0.01,
            kw=dict(horizons=(5, 10, 20, 40, 80, 160), wrt="l", loss=lambda y: y[0]),
        ),
        "stable",
        (),
        "the libration's period depends on l: d theta(T)/dl grows like T (phase drift) while every "
        "exponent is 0; one trajectory (the user's start) shows it over T = 5-160",
        tags=("power-law",),
    ),
    Case(
        "van der Pol limit cycle wrt mu",
        _ode(
            van_der_pol,
            [2.0, 0.0],
            {"mu": 1.0},
            solver=cg.RK4(),
            dt=0.01,
            kw=dict(horizons=(10, 20, 40, 80), wrt="mu", loss=lambda y: y[0], members=cg.OnAttractor(8)),
        ),
        "stable",
        (),
        "the cycle's period depends on mu: the phase drifts linearly, d x(T)/d mu ~ T; lambda_1 = 0 "
        "along the cycle; members at independent phases of the cycle (the ergodic question)",
        tags=("power-law",),
    ),
    Case(
        "free rotation wrt its rate",
        _ode(
            lambda t, y, a: a["w"] * jnp.stack([y[1], -y[0]]),
            [1.0, 0.0],
            {"w": 1.0},
            solver=cg.RK4(),
            dt=0.01,
            kw=dict(horizons=(5, 10, 20, 40, 80, 160), wrt="w"),
        ),
        "stable",
        (),
        "y(T) = R(wT) y0: d y(T)/dw = T J R(wT) y0 grows like T exactly; both exponents are 0 (the "
        "readout's oscillating projection needs T up to 160 to tell T from an exponential)",
        tags=("power-law",),
    ),
    # -- the same gap at every ensemble size: Tsit5 + PID + BacksolveAdjoint on Lorenz-63
    *[
        Case(
            f"Lorenz-63, adaptive backsolve, {m} members",
            _ode(
                lorenz,
                [1.0, 1.0, 1.0],
                LORENZ,
                solver=diffrax.Tsit5(),
                dt=0.01,
                stepsize_controller=diffrax.PIDController(rtol=1e-6, atol=1e-8),
                adjoint=diffrax.BacksolveAdjoint(),
                kw=dict(horizons=(0.5, 1, 2, 4), wrt="args", members=m),
            ),
            "numerical-explosion",
            ("adjoint",),
            "the reverse-time solve expands at -lambda_3 ~ 14.6 and fails (non-finite) from T = 2 while the forward "
            "solve and the checkpointed gradient stay finite",
            slow=True,
            tags=("members-sweep",),
        )
        for m in (4, 8, 16)
    ],
    # -- a piecewise-smooth program: AD's exact derivative is not the smoothed loss's gradient
    Case(
        "ball against a wall, velocity",
        lambda: (
            cg.MapSimulator(ball),
            jnp.array([1.0, -0.25]),
            jnp.asarray(0.8),
            dict(
                loss=lambda y: y[1],
                horizons=(2, 4, 6),
                causes=(*cg.DEFAULT_CAUSES, cg.NonSmooth(loss=lambda y: y[1], sigma=0.1, samples=512)),
            ),
        ),
        "non-smooth",
        ("non-smooth",),
        "the smoothed velocity's gradient includes the bounce's jump (the reflection flips v where x crosses 0): "
        "AD's derivative of the program is the one-branch slope, biased (Suh et al. 2022)",
    ),
    # -- degenerate derivatives and blow-ups
    Case(
        "detached step",
        _map(lambda y, a: jax.lax.stop_gradient(rotation(0.3, 0.9) @ y), [1.0, 0.0], None),
        "no-gradient",
        (),
        "stop_gradient: every derivative is exactly zero",
    ),
    Case(
        "parameter that does not enter",
        _map(lambda y, a: 0.9 * y, [1.0], {"k": 2.0}, wrt="k"),
        "no-gradient",
        (),
        "d y(T)/d k = 0 identically",
    ),
    Case(
        "passive state leaf",
        _map(
            lambda y, a: {"x": rotation(0.3, 0.9) @ y["x"], "last": y["x"][0]},
            {"x": jnp.array([1.0, 0.0]), "last": jnp.array(0.0)},
            None,
        ),
        "intrinsic-vanishing",
        (),
        "ln 0.9 on the active part; 'last' is written, never read: its exponent is -inf",
    ),
    Case(
        "logistic r=5",
        lambda: (logistic(5.0), jnp.array(0.3), {"r": 5.0}, dict(horizons=(2, 4, 8, 16))),
        "diverged",
        (),
        "orbits leave [0, 1] and run to -inf: the physics itself is unbounded",
    ),
    Case(
        "finite-time blow-up",
        _map(lambda y, a: y + 0.05 * y**2, [1.0], None, horizons=(5, 10, 20, 40)),
        "diverged",
        (),
        "y' = y^2 / 20 blows up in the transient; every member diverges",
    ),
    Case(
        "an ablation that blows up",
        lambda: (logistic(4.0), jnp.array(0.3), {"r": 4.0}, dict(causes=cg.DEFAULT_CAUSES + (NaNRescaling(),))),
        "intrinsic-explosion",
        (),
        "a non-finite ablation is a finding about the ablation, not a cause",
    ),
]
