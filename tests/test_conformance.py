"""Every simulator, integrator and adapter against the numbered rules of the simulator
contract (``AbstractSimulator``'s docstring) and of the capabilities it carries.

A new simulator is checked by adding one line to ``CASES``: a name and a function that
returns ``(simulator, y0, args)``.
"""

from __future__ import annotations

import json

import diffrax
import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import chaosgrad as cg
from chaosgrad import zoo
from chaosgrad._checks import check_step_shapes
from chaosgrad._simulators.base import mark_failed
from chaosgrad._simulators.capabilities import Refinable, SwappableAdjoint
from chaosgrad.studies._deep_layers import LayerByLayer


def _lorenz(t, y, a):
    return jnp.stack([a["s"] * (y[1] - y[0]), y[0] * (a["r"] - y[2]) - y[1], y[0] * y[1] - a["b"] * y[2]])


LORENZ = {"s": 10.0, "r": 28.0, "b": 8.0 / 3.0}
LORENZ_Y0 = np.array([-8.0, 7.0, 27.0])


def _system(name, **kw):
    s = zoo.get(name, **kw)
    return s.simulator, s.y0, s.args


def _verlet(h):
    """A velocity-Verlet step of size ``h`` of x'' = -w2 x (a step factory)."""

    def step(y, w2):
        v = y[1] - 0.5 * h * w2 * y[0]
        x = y[0] + h * v
        return jnp.stack([x, v - 0.5 * h * w2 * x])

    return step


def _pytree_map():
    """A map whose state is a dict with a counter and a passive record (rule 3, 10)."""

    def f(y, r):
        return {"x": r * y["x"] * (1 - y["x"]), "last": y["x"], "n": y["n"] + 1}

    return cg.MapSimulator(f, tangent=lambda s: s["x"]), {"x": jnp.array([0.3, 0.6]), "last": jnp.zeros(2), "n": 0}, 3.9


def _deep():
    system = zoo.deep_network(depth=4, width=5)
    return LayerByLayer("tanh", False, False), system.y0["x"], system.args


def _gymnax_pendulum():
    gymnax = pytest.importorskip("gymnax")
    env, params = gymnax.make("Pendulum-v1")
    policy = lambda p, obs: 2.0 * jnp.tanh(p @ obs)
    sim = cg.envs.gymnax(env, params, policy, tangent=lambda s: (s.theta, s.theta_dot))
    return sim, sim.initial_state(0), jnp.asarray([[0.3, -0.2, 0.1]], jnp.float32)


class _TwoWell:
    """A local stand-in written to gymnax's API (step_env, reset_env, get_obs, spaces):
    a damped particle pushed left or right, two discrete actions."""

    name = "TwoWell-stand-in"
    supports_transition_gradients = True
    transition_gradients_enabled = True
    default_params = None

    class _Discrete:
        n = 2

    _Discrete.__name__ = "Discrete"

    def action_space(self, params):
        return self._Discrete()

    def step_env(self, key, state, action, params):
        force = jnp.where(action == 1, 1.0, -1.0)
        x, v = state[0], state[1]
        v1 = 0.95 * v + 0.05 * (force + x - x**3)
        x1 = x + 0.05 * v1
        new = jnp.stack([x1, v1])
        return new, new, -(x1**2), False, {}

    def reset_env(self, key, params):
        s = jax.random.uniform(key, (2,), minval=-0.5, maxval=0.5)
        return s, s

    def get_obs(self, state, params=None):
        return state


def _discrete_stand_in():
    sim = cg.envs.gymnax(_TwoWell(), None, lambda p, obs: p @ obs, discrete="expected", dtype="float64")
    return sim, sim.initial_state(1), jnp.array([[0.5, -1.0], [-0.5, 1.0]])


CASES = {
    "MapSimulator logistic": lambda: _system("logistic"),
    "MapSimulator Henon": lambda: _system("henon"),
    "MapSimulator pytree with tangent=": _pytree_map,
    "MapSimulator tanh RNN": lambda: _system("tanh_rnn", n=6),
    "StepSizeMapSimulator Verlet": lambda: (cg.MapSimulator.from_step_size(_verlet, dt=0.1), np.array([1.0, 0.0]), 1.0),
    "RolloutSimulator pendulum": lambda: _system("pendulum"),
    "ODESimulator RK4": lambda: (cg.ODESimulator(_lorenz, solver=cg.RK4(), dt=0.01), LORENZ_Y0, LORENZ),
    "ODESimulator Tsit5": lambda: (cg.ODESimulator(_lorenz, dt=0.01), LORENZ_Y0, LORENZ),
    "ODESimulator Tsit5 float32": lambda: (cg.ODESimulator(_lorenz, dt=0.01, dtype="float32"), LORENZ_Y0, LORENZ),
    "ODESimulator PID": lambda: (
        cg.ODESimulator(_lorenz, dt=0.05, stepsize_controller=diffrax.PIDController(rtol=1e-6, atol=1e-8)),
        LORENZ_Y0,
        LORENZ,
    ),
    "ODESimulator Backsolve": lambda: (
        cg.ODESimulator(_lorenz, dt=0.01, adjoint=diffrax.BacksolveAdjoint()),
        LORENZ_Y0,
        LORENZ,
    ),
    "ImplicitMidpoint double pendulum": lambda: _system("double_pendulum"),
    "ETDRK4 Kuramoto-Sivashinsky": lambda: _system("kuramoto_sivashinsky"),
    "LayerByLayer deep network": _deep,
    "EnvironmentSimulator gymnax Pendulum-v1": _gymnax_pendulum,
    "EnvironmentSimulator discrete stand-in": _discrete_stand_in,
}


@pytest.fixture(params=sorted(CASES), scope="module")
def case(request):
    with jax.enable_x64(True):
        sim, y0, args = CASES[request.param]()
        return sim, sim.prepare(y0), args


def _rtol(sim) -> float:
    # Agreement expected from the same arithmetic in another order: a few ulps, times the
    # growth over the few steps compared.
    return {8: 1e-9, 4: 1e-4, 2: 2e-2}[jnp.dtype(sim.dtype).itemsize]


def _evolve_rtol(sim) -> float:
    """evolve is one solve where n steps are n solves: for an adaptive controller they agree
    to its tolerance, not to round-off (rule 5)."""
    controller = getattr(sim, "stepsize_controller", None)
    if controller is not None and not isinstance(controller, diffrax.ConstantStepSize):
        return max(10 * _rtol(sim), 10 * float(controller.rtol))
    return 10 * _rtol(sim)


def _floats(tree):
    return np.concatenate(
        [
            np.ravel(np.asarray(x, np.float64))
            for x in jax.tree_util.tree_leaves(tree)
            if jnp.issubdtype(jnp.result_type(x), jnp.inexact)
        ]
    )


def test_rule_1_3_step_keeps_structure_shapes_and_dtypes_and_is_differentiable(case):
    sim, y0, args = case
    check_step_shapes(sim, y0, args)  # raises on a mismatch
    flat, u, rest = sim.tangent_space(y0)
    f = lambda u: flat.split(sim.step(0.0, flat.combine(u, rest), args))[0]
    # Reverse mode goes through evolve (rule 5): for an adaptive solve, one step of it.
    g = lambda u: flat.split(sim.evolve(0.0, flat.combine(u, rest), args, 1))[0]
    v = (jnp.ones_like(u) / np.sqrt(u.size)).astype(u.dtype)
    _, jv = jax.jvp(f, (u,), (v,))
    vj = jax.vjp(g, u)[1](v)[0]
    assert np.all(np.isfinite(jv)) and np.all(np.isfinite(vj))
    # <v, J v> computed both ways (forward and reverse mode agree on the same map).
    np.testing.assert_allclose(float(jnp.dot(v, jv)), float(jnp.dot(vj, v)), rtol=_rtol(sim), atol=_rtol(sim))


def test_rule_2_6_dt_and_dtype(case):
    sim, y0, _ = case
    assert isinstance(sim.dt, float) and sim.dt > 0
    for x in jax.tree_util.tree_leaves(y0):
        if jnp.issubdtype(jnp.result_type(x), jnp.inexact):
            assert jnp.result_type(x) == jnp.dtype(sim.dtype)


def test_rule_5_evolve_is_n_steps(case):
    sim, y0, args = case
    n = 7
    y = y0
    for i in range(n):
        y = sim.step(i * sim.dt, y, args)
    z = sim.evolve(0.0, y0, args, n)
    tol = _evolve_rtol(sim)
    np.testing.assert_allclose(_floats(z), _floats(y), rtol=tol, atol=tol)
    np.testing.assert_allclose(_floats(sim.evolve_forward(0.0, y0, args, n)), _floats(y), rtol=tol, atol=tol)


def test_rule_7_variants_go_through_the_constructor(case):
    sim, y0, args = case
    twin = sim.with_dtype("float64")
    assert type(twin) is type(sim) and twin.dtype == "float64"
    json.dumps(sim.describe())
    with pytest.raises(cg.ChaosgradInputError, match="dt"):
        cg.replace_fields(sim, dt=-1.0)
    with pytest.raises(cg.ChaosgradInputError, match="dtype"):
        cg.replace_fields(sim, dtype="int32")


def test_rule_8_tangent_step_is_the_jvp_of_step(case):
    sim, y0, args = case
    flat, u, rest = sim.tangent_space(y0)
    Q = jnp.linalg.qr(jax.random.normal(jax.random.PRNGKey(0), (u.size, min(3, u.size)), jnp.float64))[0].astype(
        u.dtype
    )
    y1, Q1 = sim.tangent_step(0.0, y0, Q, args)
    f = lambda u: flat.split(sim.step(0.0, flat.combine(u, rest), args))[0]
    expected = jax.vmap(lambda q: jax.jvp(f, (u,), (q,))[1], in_axes=1, out_axes=1)(Q)
    np.testing.assert_allclose(
        np.asarray(Q1, np.float64),
        np.asarray(expected, np.float64),
        rtol=_rtol(sim),
        atol=_rtol(sim) * float(jnp.max(jnp.abs(expected))),
    )
    np.testing.assert_allclose(_floats(y1), _floats(sim.step(0.0, y0, args)), rtol=_rtol(sim), atol=_rtol(sim))


def test_rule_9_advance_returns_the_step_and_a_code(case):
    sim, y0, args = case
    y1, code = sim.advance(0.0, y0, args)
    assert jnp.result_type(code) == jnp.int32 and jnp.shape(code) == ()
    np.testing.assert_allclose(_floats(mark_failed(y1, code)), _floats(sim.step(0.0, y0, args)), rtol=_rtol(sim))
    assert int(code) == cg.SUCCESS


def test_rule_10_tangent_space_is_floating_leaves(case):
    sim, y0, _ = case
    flat, u, rest = sim.tangent_space(y0)
    assert flat.dim == u.size > 0
    assert u.dtype == jnp.dtype(sim.dtype)
    assert flat.dim <= sum(
        np.size(x) for x in jax.tree_util.tree_leaves(y0) if jnp.issubdtype(jnp.result_type(x), jnp.inexact)
    )


def test_capabilities_keep_the_forward_map(case):
    sim, y0, args = case
    if isinstance(sim, SwappableAdjoint):
        exact = sim.with_adjoint(sim.exact_adjoint())
        assert type(exact.adjoint) is type(sim.exact_adjoint())
        np.testing.assert_allclose(
            _floats(exact.evolve(0.0, y0, args, 5)),
            _floats(sim.evolve(0.0, y0, args, 5)),
            rtol=10 * _rtol(sim),
            atol=10 * _rtol(sim),
        )
    if isinstance(sim, Refinable):
        finer = sim.with_step(sim.dt / 2)
        assert type(finer) is type(sim) and finer.dt == sim.dt / 2
        twin = sim.accurate_twin()
        assert twin.dtype == "float64" and twin.dt == sim.dt
        check_step_shapes(twin, twin.prepare(y0), args)


# ---------------------------------------------------------------------------- failure as data


def test_a_failed_adaptive_step_is_nonfinite_with_the_reason():
    with jax.enable_x64(True):
        sim = cg.ODESimulator(
            _lorenz, dt=1.0, stepsize_controller=diffrax.PIDController(rtol=1e-10, atol=1e-12), max_steps=4
        )
        y1, code = sim.advance(0.0, sim.prepare(LORENZ_Y0), LORENZ)
    assert int(code) == 1 and np.all(np.isfinite(y1))
    res = cg.lyapunov_spectrum(sim, LORENZ_Y0, LORENZ, time=50.0, interval=1.0)
    assert res.status == "nonfinite" and res.nonfinite_quantity == "state"
    assert "max_steps" in res.failure and res.failure.startswith("step 0")


def test_evolve_through_a_failing_solve_is_nan_not_a_stall():
    with jax.enable_x64(True):
        sim = cg.ODESimulator(
            _lorenz, dt=0.5, stepsize_controller=diffrax.PIDController(rtol=1e-10, atol=1e-12), max_steps=2
        )
        y = sim.evolve(0.0, sim.prepare(LORENZ_Y0), LORENZ, 4)
    assert np.all(np.isnan(np.asarray(y)))


def test_replace_fields_refuses_unknown_fields():
    sim = cg.MapSimulator(lambda y, a: y)
    with pytest.raises(cg.ChaosgradInputError, match="not fields"):
        cg.replace_fields(sim, step_size=0.1)


def test_a_leaf_read_outside_the_tangent_space_is_refused_up_front():
    # y = (x, o): x' = 0.5 x + o, o' = x'. With tangent = x alone the map leaves out the
    # feedback through o (exponents ln 1 = 0 of the closed loop against ln 0.5 of x alone):
    # every entry point refuses it before anything runs, naming the leaf and the fix.
    def step(y, a):
        return {"x": 0.5 * y["x"] + y["o"], "o": 0.5 * y["x"] + y["o"]}

    sim = cg.MapSimulator(step, tangent=lambda s: s["x"])
    y0 = {"x": jnp.ones(1), "o": jnp.ones(1)}
    calls = [
        lambda: cg.lyapunov_spectrum(sim, y0, None, time=5.0),
        lambda: cg.gradient_growth(sim, y0, None, horizons=(2, 4, 8)),
        lambda: cg.diagnose(sim, y0, None, horizons=(2, 4, 8)),
    ]
    for call in calls:
        with pytest.raises(cg.ChaosgradInputError, match="tangent") as err:
            call()
        assert "['o']" in str(err.value) and "add them to tangent=" in str(err.value)
    # The same state with the read leaf in the tangent space runs.
    cg.lyapunov_spectrum(cg.MapSimulator(step, tangent=lambda s: (s["x"], s["o"])), y0, None, time=5.0)


def test_tangent_must_select_floating_leaves():
    sim = cg.MapSimulator(lambda y, a: y, tangent=lambda s: s["n"])
    with pytest.raises(cg.ChaosgradInputError, match="tangent"):
        cg.lyapunov_spectrum(sim, {"x": jnp.ones(2), "n": jnp.asarray(1)}, None, time=5.0)
    with pytest.raises(cg.ChaosgradInputError, match="tangent"):
        cg.MapSimulator(lambda y, a: y, tangent="x")


def test_equinox_fields_of_an_eqx_module_state_are_selectable():
    class State(eqx.Module):
        q: jax.Array
        record: jax.Array

    sim = cg.MapSimulator(lambda s, a: State(q=0.9 * s.q, record=s.q), tangent=lambda s: s.q)
    res = cg.lyapunov_spectrum(sim, State(q=jnp.ones(2), record=jnp.zeros(2)), None, time=50.0)
    np.testing.assert_allclose(res.exponents, np.log(0.9), rtol=1e-9)
    assert res.dimension == 2


def test_rule_11_restart_keeps_the_dynamics(case):
    sim, y0, args = case
    y = sim.evolve(0.0, y0, args, 3)
    r = sim.restart(y)
    assert jax.tree_util.tree_structure(r) == jax.tree_util.tree_structure(y)
    np.testing.assert_array_equal(np.asarray(sim.tangent_space(r)[1]), np.asarray(sim.tangent_space(y)[1]))
