"""Every ablation is the configuration it names (issue 24, item 3).

For every simulator kind and step-size controller in ``CASES``, each ablation that
applies (the adjoint, the reference step, float64, a user's own cause) is built by its
cause's ``ablate``, measured by ``gradient_growth`` as ``diagnose`` measures it, and
compared at one horizon with the configuration the ablation names, computed directly
(``diffrax.diffeqsolve`` and ``jax.grad``, or ``jax.grad`` through a loop of the user's
step) from that configuration's description, never from the ablated simulator. An
ablation that does not apply says so (its cause is not suspected). Every comparison is
also shown able to fail: the named configuration's gradient differs from the user's by
more than the tolerance.

A new simulator or controller is checked by adding one line to ``CASES``: a name and a
function returning a :class:`Case`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any, ClassVar

import diffrax
import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from test_conformance import _verlet  # the velocity-Verlet step factory of the simulator suite

import chaosgrad as cg
from chaosgrad._pytree import floats_as_arrays
from chaosgrad._simulators.capabilities import refinable
from chaosgrad._spectra.reference import default_reference

LORENZ = {"s": 10.0, "r": 28.0, "b": 8.0 / 3.0}


def _lorenz(t, y, a):
    return jnp.stack([a["s"] * (y[1] - y[0]), y[0] * (a["r"] - y[2]) - y[1], y[0] * y[1] - a["b"] * y[2]])


def loss(y):
    return jnp.sum(jnp.sin(y))


@dataclass(frozen=True)
class Config:
    """A configuration in words that the direct computation reads: an ODE (``field``,
    ``solver``, ``controller``, ``adjoint``) or a map (``step``), its step ``dt``,
    ``dtype`` and ``args``."""

    dt: float
    dtype: str
    args: Any
    field: Callable | None = None
    solver: Any = None
    controller: Any = None
    adjoint: Any = None
    step: Callable | None = None  # a map's step, or a factory h -> step when factory=True
    factory: bool = False


def direct_gradient(c: Config, y0, T: float):
    """``d loss(y(T)) / d y0`` of configuration ``c``, without chaosgrad."""
    with jax.enable_x64(True):
        y0 = jnp.asarray(y0, c.dtype)
        # chaosgrad receives Python floats in args as arrays (so that they can be
        # differentiated). It matters for BacksolveAdjoint: its reverse solve carries the
        # adjoint of every floating array in args, which enters its error control and so
        # its adaptive steps (1e-4 relative on the PID cases here, at the controller's
        # tolerance). The configuration computed directly is the one chaosgrad receives.
        args = floats_as_arrays(c.args)
        controller = c.controller
        if isinstance(controller, diffrax.ClipStepSizeController):
            # A clipping controller's times are in the clock's dtype, as the user's would be.
            controller = eqx.tree_at(lambda k: k.step_ts, controller, jnp.asarray(controller.step_ts, c.dtype))
        if c.field is not None:

            def objective(y):
                sol = diffrax.diffeqsolve(
                    diffrax.ODETerm(c.field),
                    c.solver,
                    jnp.asarray(0.0, c.dtype),
                    jnp.asarray(T, c.dtype),
                    jnp.asarray(c.dt, c.dtype),
                    y,
                    args,
                    stepsize_controller=controller,
                    adjoint=c.adjoint,
                    max_steps=100_000,
                )
                return loss(sol.ys[-1])
        else:
            step = c.step(jnp.asarray(c.dt, c.dtype)) if c.factory else c.step
            n = int(round(T / c.dt))

            def objective(y):
                return loss(jax.lax.fori_loop(0, n, lambda _, y: step(y, args).astype(c.dtype), y))

        return np.asarray(jax.grad(objective)(y0), np.float64)


@dataclass(frozen=True)
class Case:
    simulator: Any
    y0: Any
    config: Config  # the user's configuration, as the direct computation reads it
    T: float


def _ode(controller, adjoint, dt, T=1.0):
    sim = cg.ODESimulator(_lorenz, solver=diffrax.Tsit5(), dt=dt, stepsize_controller=controller, adjoint=adjoint)
    cfg = Config(
        dt=dt,
        dtype="float64",
        args=LORENZ,
        field=_lorenz,
        solver=diffrax.Tsit5(),
        controller=controller,
        adjoint=adjoint,
    )
    return Case(sim, np.array([-8.0, 7.0, 27.0]), cfg, T)


def _pid():
    return diffrax.PIDController(rtol=1e-6, atol=1e-8)


def _henon(y, a):
    return jnp.stack([1.0 - a * y[0] ** 2 + y[1], 0.3 * y[0]])


def _map():
    return Case(
        cg.MapSimulator(_henon), np.array([0.1, 0.2]), Config(dt=1.0, dtype="float64", args=1.4, step=_henon), 12.0
    )


def _step_size_map():
    return Case(
        cg.MapSimulator.from_step_size(_verlet, dt=0.1),
        np.array([1.0, 0.0]),
        Config(dt=0.1, dtype="float64", args=1.0, step=_verlet, factory=True),
        2.0,
    )


def _pendulum_env(s, a):
    w = s[1] + 0.05 * (-jnp.sin(s[0]) + a - 0.1 * s[1])
    return jnp.stack([s[0] + 0.05 * w, w])


def _policy(p, obs):
    return jnp.tanh(p @ obs)


def _rollout():
    p = jnp.array([-0.8, -0.3])
    closed = lambda s, p: _pendulum_env(s, _policy(p, s))  # the closed loop, written out
    return Case(
        cg.RolloutSimulator(_pendulum_env, _policy),
        np.array([1.0, 0.0]),
        Config(dt=1.0, dtype="float64", args=p, step=closed),
        20.0,
    )


CASES = {
    "ODESimulator constant, checkpointed": lambda: _ode(
        diffrax.ConstantStepSize(), diffrax.RecursiveCheckpointAdjoint(), 0.02
    ),
    "ODESimulator constant, backsolve": lambda: _ode(diffrax.ConstantStepSize(), diffrax.BacksolveAdjoint(), 0.02),
    "ODESimulator PID, checkpointed": lambda: _ode(_pid(), diffrax.RecursiveCheckpointAdjoint(), 0.05),
    "ODESimulator PID, backsolve": lambda: _ode(_pid(), diffrax.BacksolveAdjoint(), 0.05),
    "ODESimulator clipped PID, backsolve": lambda: _ode(
        diffrax.ClipStepSizeController(_pid(), step_ts=np.linspace(0.0, 1.0, 11)), diffrax.BacksolveAdjoint(), 0.05
    ),
    "MapSimulator Henon": _map,
    "StepSizeMapSimulator Verlet": _step_size_map,
    "RolloutSimulator pendulum": _rollout,
}


def _scaled(args, factor):
    return jax.tree_util.tree_map(lambda x: x * factor, args)


class Stiffer(cg.AbstractCause):
    """A user's own cause: every float parameter scaled by 0.9."""

    name: ClassVar[str] = "parameters"
    words: ClassVar[str] = "the parameters are too large"

    def suspect(self, evidence):
        return "always, for the test"

    def ablate(self, evidence):
        return evidence.simulator, _scaled(evidence.args, 0.9), "every parameter times 0.9"


def _evidence(sim, args, reference=None):
    """What ``ablate`` reads; the measured spectra and rates are not needed to build an ablation."""
    return cg.CauseEvidence(
        simulator=sim,
        args=args,
        reference=reference if reference is not None else sim.with_dtype("float64"),
        reference_differs=refinable(sim),
        lambda_physical=None,
        lambda_numerical=None,
        gradient=None,
        expected_physical=0.0,
        expected_numerical=0.0,
        t_max=0.0,
        wrt_state=True,
        y_start=None,
        lyapunov_options={},
    )


def _measured(sim, args, y0, T):
    """The ablated configuration's gradient at ``T`` as a diagnosis measures it, for the
    user's ``y0`` (member 0 of two; the second, 0.1% away, gives the fit its ensemble)."""
    with jax.enable_x64(True):
        y0s = np.stack([y0, y0 * 1.001])
        res = cg.gradient_growth(sim, y0s, args, loss=loss, wrt="y0", horizons=(T / 4, T / 2, T), ensemble=True)
    assert res.horizons[res.reported][-1] == pytest.approx(T)
    # Sketches of gradients of at most 256 entries are the gradients themselves (_sketch).
    return res.norms[0, -1], res.gradient_sketch[0, -1]


def _tolerance(cfg: Config) -> float:
    # The ablation and the direct computation do the same float64 arithmetic in another
    # order (an unrolled Runge-Kutta step against diffrax's stage loop; a block-wise VJP
    # against one VJP; the same adaptive solve compiled twice): a few ulps, amplified by
    # the growth of perturbations over T (e^{0.9} for Lorenz over T = 1, e^{4} for Henon
    # over 12 steps; a backsolve re-integrates the contracting direction, e^{14.6 T}
    # times an ulp = 5e-10). 1e-8 leaves a factor 20 over the largest of these and is
    # below every difference between the configurations (checked by _can_fail).
    return 1e-8


def _check(case: Case, ablated_sim, ablated_args, named: Config):
    norm, g = _measured(ablated_sim, ablated_args, case.y0, case.T)
    want = direct_gradient(named, case.y0, case.T)
    tol = _tolerance(named)
    np.testing.assert_allclose(g, want, rtol=tol, atol=tol * np.abs(want).max())
    assert norm == pytest.approx(np.linalg.norm(want), rel=tol)
    _can_fail(case, named, want, tol)


def _can_fail(case: Case, named: Config, want, tol):
    """The named configuration's gradient differs from the user's by more than ``tol``,
    so a wrong ablation (one that left the configuration as it was) fails the check."""
    user = direct_gradient(case.config, case.y0, case.T)
    assert np.abs(user - want).max() > 10 * tol * np.abs(want).max()


@pytest.fixture(params=sorted(CASES), scope="module")
def case(request):
    with jax.enable_x64(True):
        return CASES[request.param]()


def test_the_adjoint_ablation_is_the_checkpointed_gradient(case):
    sim = case.simulator
    evidence = _evidence(sim, case.config.args)
    cause = cg.Adjoint()
    if cause.suspect(evidence) is None:
        # Reverse mode already gives the exact derivative of the forward computation:
        # through the steps, or (an adaptive solve) with diffrax's checkpointed adjoint.
        assert not isinstance(sim, cg.SwappableAdjoint) or isinstance(sim.adjoint, diffrax.RecursiveCheckpointAdjoint)
        return
    ablated, args, *_ = cause.ablate(evidence)
    _check(case, ablated, args, replace(case.config, adjoint=diffrax.RecursiveCheckpointAdjoint()))


def test_the_step_ablation_is_the_reference_step(case):
    sim = case.simulator
    if not refinable(sim):
        # A map or a rollout without a step of its own is its own physics: the reference
        # is its float64 twin and the discretisation is not a suspect.
        assert not _evidence(sim, case.config.args).reference_differs
        return
    # The reference as the diagnosis finds it: the accurate twin, halved once.
    reference = default_reference(sim).with_step(sim.dt / 2)
    ablated, args, *_ = cg.Discretization().ablate(_evidence(sim, case.config.args, reference))
    c = case.config
    if c.field is not None:
        # Dopri8 at a constant half step, in the user's dtype, through the user's adjoint.
        named = replace(c, solver=diffrax.Dopri8(), controller=diffrax.ConstantStepSize(), dt=c.dt / 2)
    else:
        named = replace(c, dt=c.dt / 2)  # the user's own step, refined
    _check(case, ablated, args, named)


def test_the_precision_ablation_is_float64(case):
    # The user computes in float32; the ablation is the same configuration in float64.
    sim32 = case.simulator.with_dtype("float32")
    evidence = _evidence(sim32, case.config.args)
    cause = cg.Precision()
    assert cause.suspect(evidence) is not None
    ablated, args, *_ = cause.ablate(evidence)
    _check(replace(case, simulator=sim32, config=replace(case.config, dtype="float32")), ablated, args, case.config)


def test_a_users_own_ablation_is_the_set_up_it_returns(case):
    evidence = _evidence(case.simulator, case.config.args)
    ablated, args, _ = Stiffer().ablate(evidence)
    _check(case, ablated, args, replace(case.config, args=_scaled(case.config.args, 0.9)))


# ---------------------------------------------------------------------------- issue 24's neural ODE


def _neural_ode():
    """Issue 24's reproducer: an equinox MLP vector field ``m(y) - 5 y``, Tsit5 with a PID
    controller and BacksolveAdjoint, the gradient with respect to the MLP's layers."""
    eqx_nn = pytest.importorskip("equinox").nn
    m = eqx_nn.MLP(2, 2, 16, 2, key=jax.random.PRNGKey(0))
    field = lambda t, y, mlp: mlp(y) - 5.0 * y
    pid = diffrax.PIDController(rtol=1e-6, atol=1e-8)
    sim = cg.ODESimulator(
        field, solver=diffrax.Tsit5(), dt=0.01, stepsize_controller=pid, adjoint=diffrax.BacksolveAdjoint()
    )
    return sim, m, field, pid


def _layers_gradient(field, pid, m, y0, T, adjoint):
    """``d y_0(T) / d layers`` computed with diffrax alone, and its norm."""
    params, static = eqx.partition(m, eqx.is_inexact_array)

    def objective(p):
        sol = diffrax.diffeqsolve(
            diffrax.ODETerm(field),
            diffrax.Tsit5(),
            0.0,
            T,
            0.01,
            y0,
            eqx.combine(p, static),
            stepsize_controller=pid,
            adjoint=adjoint,
            max_steps=100_000,
        )
        return sol.ys[-1][0]

    g = jax.grad(objective)(params).layers
    return float(np.sqrt(sum(float(jnp.sum(x**2)) for x in jax.tree_util.tree_leaves(g))))


@pytest.mark.slow
def test_the_adjoint_ablation_of_an_adaptive_neural_ode_is_diffrax_checkpointed_gradient():
    with jax.enable_x64(True):
        sim, m, field, pid = _neural_ode()
        y0 = jnp.array([1.0, -0.5])
        # The equilibrium y* (m(y*) = 5 y*), where issue 24's attractor members sat: Newton.
        y_star = jnp.zeros(2)
        for _ in range(20):
            y_star = y_star - jnp.linalg.solve(jax.jacfwd(lambda y: field(0.0, y, m))(y_star), field(0.0, y_star, m))
        starts = jnp.stack([y0, y_star])
        ablated, args, *_ = cg.Adjoint().ablate(_evidence(sim, m))
        res = cg.gradient_growth(
            ablated, starts, args, loss=lambda y: y[0], wrt="layers", horizons=(2.0, 4.0, 8.0), ensemble=True
        )
        checkpointed = [_layers_gradient(field, pid, m, y, 8.0, diffrax.RecursiveCheckpointAdjoint()) for y in starts]
        backsolve = [_layers_gradient(field, pid, m, y, 8.0, diffrax.BacksolveAdjoint()) for y in starts]
    # The ablation is diffrax's checkpointed gradient of the same adaptive solve, member
    # by member: the same diffeqsolve compiled twice (1e-8: see _tolerance).
    np.testing.assert_allclose(res.norms[:, -1], checkpointed, rtol=1e-8)
    # From the user's y0 the two adjoints agree to the controller's tolerance (issue 24:
    # 3e-9; 1e-6 is rtol of the PID controller, which bounds the backsolve's error).
    assert checkpointed[0] == pytest.approx(backsolve[0], rel=1e-6)
    # At the equilibrium they do not, and the checkpointed gradient is diffrax's own, not
    # an artefact of the ablation: the error estimate vanishes there, the controller grows
    # the step tenfold per step (0.01, 0.1, 1, then the rest to T = 8), and Tsit5's last
    # step, at h lambda ~ -35, lies far outside its stability region. The derivative of
    # that computation (what RecursiveCheckpointAdjoint differentiates) is ~1e6 larger
    # than the continuous adjoint's (the backsolve). More than a factor 1e4 either way.
    assert checkpointed[1] > 1e4 * backsolve[1]


@pytest.mark.slow
def test_the_neural_ode_from_the_users_start_confirms_no_adjoint_cause():
    with jax.enable_x64(True):
        sim, m, _, _ = _neural_ode()
        d = cg.diagnose(
            sim,
            jnp.array([1.0, -0.5]),
            m,
            loss=lambda y: y[0],
            wrt="layers",
            horizons=(1, 2, 4, 8),
            members=4,
            lyapunov_time=20.0,
        )
    (ab,) = [a for a in d.ablations if a.cause == "adjoint"]
    assert ab.status == "ok" and not ab.confirmed and "adjoint" not in d.causes
    # Member by member, the checkpointed and the backsolve gradients coincide (log-ratio
    # within 1e-6, the controller's rtol; issue 24 measured 3e-9).
    assert abs(ab.evidence["values"]["median_log_ratio"]) < 1e-6
