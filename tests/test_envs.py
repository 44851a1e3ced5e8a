"""Real third-party simulators plug in: gymnax and Brax through chaosgrad.envs, an
equinox MLP in args, a step returning Python numbers, and a user's float32 process that
chaosgrad leaves alone."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import textwrap

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import chaosgrad as cg

gymnax = pytest.importorskip("gymnax")

# The adapters read the caller's JAX configuration: these tests run as a user's script.
pytestmark = pytest.mark.user_process


def policy(params, obs):
    return 2.0 * jnp.tanh(params["W2"] @ jnp.tanh(params["W1"] @ obs))


def params(seed=0):
    rng = np.random.default_rng(seed)
    return {"W1": jnp.asarray(rng.normal(size=(8, 3)) / np.sqrt(3), jnp.float32),
            "W2": jnp.asarray(rng.normal(size=(1, 8)) / np.sqrt(8), jnp.float32)}


@pytest.fixture(scope="module")
def pendulum():
    return gymnax.make("Pendulum-v1")


def test_gymnax_pendulum_as_shipped_is_detached_and_said_up_front(pendulum):
    env, env_params = pendulum
    sim = cg.envs.gymnax(env, env_params, policy, transition_gradients="as-shipped")
    y0 = sim.initial_state(0)
    res = cg.lyapunov_spectrum(sim, y0, params(), time=100.0)
    # stop_gradient: every direction collapses in one step, which is a result, not a failure.
    assert res.status == "ok" and np.all(res.exponents == -np.inf)
    probe, notes = cg._probe.probe_step(sim, y0, params(), cg._wrt.resolve_wrt("y0", None))
    assert probe["state"] == 0 and any("exactly zero" in n for n in notes)


def test_gymnax_transition_gradients_and_the_passive_leaf(pendulum):
    env, env_params = pendulum
    sim = cg.envs.gymnax(env, env_params, policy)
    y0 = sim.initial_state(0)
    every = cg.lyapunov_spectrum(sim, y0, params(), time=400.0)
    # theta, theta_dot and last_u: last_u is written, never read, so its exponent is -inf.
    # (This policy also spins the pendulum into gymnax's velocity clip, max_speed = 8,
    # whose derivative is zero: theta_dot's direction collapses too.)
    assert every.dimension == 3 and every.exponents[-1] == -np.inf and np.isfinite(every.exponents[0])
    notes = cg._probe.probe_step(sim, y0, params(), cg._wrt.resolve_wrt("y0", None))[1]
    assert any(".last_u" in n and "tangent=" in n for n in notes), notes
    chosen = cg.envs.gymnax(env, env_params, policy, tangent=lambda s: (s.theta, s.theta_dot))
    two = cg.lyapunov_spectrum(chosen, y0, params(), time=400.0)
    assert two.dimension == 2
    # The same dynamics on the same leaves: the finite exponents agree (the same run, the
    # passive direction removed; the QR frames differ, so to the run's own uncertainty).
    assert abs(two.exponents[0] - every.exponents[0]) <= 2 * (two.uncertainty[0] + every.uncertainty[0])


def test_gymnax_auto_reset_is_off_and_the_trajectory_runs_past_the_episode_limit(pendulum):
    env, env_params = pendulum
    sim = cg.envs.gymnax(env, env_params, policy)
    y = sim.evolve(0.0, sim.initial_state(0), params(), 450)
    assert int(y.env.time) == 450  # gymnax's env.step would have reset at 200 and 400
    assert "auto-reset off" in " ".join(sim.describe()["notes"])


def test_gymnax_return_gradient_matches_finite_differences(pendulum):
    env, env_params = pendulum
    sim = cg.envs.gymnax(env, env_params, policy, dtype="float64", discount=0.99)
    with jax.enable_x64(True):
        p = jax.tree_util.tree_map(lambda x: x.astype(jnp.float64), params())
        y0 = sim.initial_state(0)
        R = lambda p: sim.evolve(0.0, y0, p, 60).ret
        g = jax.grad(R)(p)["W2"][0, 3]
        h = 1e-6
        bump = lambda d: jax.tree_util.tree_map(lambda x: x, {**p, "W2": p["W2"].at[0, 3].add(d)})
        fd = (R(bump(h)) - R(bump(-h))) / (2 * h)
    # Central differences in float64 at h = 1e-6: error ~ h^2 |R'''| + eps |R| / h ~ 1e-8 relative.
    np.testing.assert_allclose(float(g), float(fd), rtol=1e-5)


def test_gymnax_refuses_a_detached_environment_with_the_fix():
    env, env_params = gymnax.make("CartPole-v1")
    with pytest.raises(cg.ChaosgradInputError, match="transition_gradients='as-shipped'"):
        cg.envs.gymnax(env, env_params, policy)


def test_gymnax_discrete_actions_are_refused_unless_relaxed():
    env, env_params = gymnax.make("CartPole-v1")
    with pytest.raises(cg.ChaosgradInputError, match="discrete='expected'"):
        cg.envs.gymnax(env, env_params, policy, transition_gradients="as-shipped")
    sim = cg.envs.gymnax(env, env_params, lambda p, obs: p @ obs, transition_gradients="as-shipped", discrete="expected")
    y0 = sim.initial_state(0)
    y1 = sim.step(0.0, y0, jnp.zeros((2, 4), jnp.float32))
    # Equal logits: the expected transition is the mean of the two actions' transitions.
    key = jax.random.split(y0.key)[1]
    outcomes = [env.step_env(key, y0.env, a, env_params)[1] for a in (0, 1)]
    for name in ("x", "x_dot", "theta", "theta_dot"):
        mean = 0.5 * (getattr(outcomes[0], name) + getattr(outcomes[1], name))
        np.testing.assert_allclose(float(getattr(y1.env, name)), float(mean), rtol=1e-6, atol=1e-7)


def test_diagnose_a_gymnax_rollout_with_the_return_as_loss(pendulum):
    env, env_params = pendulum
    sim = cg.envs.gymnax(env, env_params, policy, tangent=lambda s: (s.theta, s.theta_dot))
    d = cg.diagnose(sim, sim.initial_state(0), params(), loss=cg.ReturnLoss(), wrt="args",
                    horizons=(25, 50, 100), members=3, transient=100.0)
    assert d.verdict in cg.VERDICTS and d.status in ("ok", "partial")
    assert d.config["simulator"]["environment"] == "gymnax Pendulum-v1"
    assert np.all(np.isfinite(d.gradient.norms))


def test_return_loss_needs_a_return_in_the_state():
    sim = cg.MapSimulator(lambda y, a: 0.5 * y)
    with pytest.raises(cg.ChaosgradInputError, match="ReturnLoss"):
        cg.gradient_growth(sim, jnp.ones(2), None, loss=cg.ReturnLoss(), horizons=(2, 4, 8))


# ---------------------------------------------------------------------------- Brax


BRAX_SCRIPT = textwrap.dedent("""
    import jax.numpy as jnp, numpy as np
    from brax import envs
    import chaosgrad as cg
    env = envs.get_environment("inverted_pendulum", backend="generalized")
    sim = cg.envs.brax(env, lambda p, obs: jnp.tanh(p @ obs))
    assert sim.dtype == "float32", sim.dtype
    y0 = sim.initial_state(0)
    gain = jnp.asarray([[0.1, 2.0, 0.2, 0.3]], jnp.float32)  # balances the pole
    res = cg.lyapunov_spectrum(sim, y0, gain, time=100 * sim.dt, k=2)
    assert res.status == "ok" and np.all(np.isfinite(res.exponents)), res
    # Brax's reward is the Python float 1.0: normalised into the state's return.
    y = sim.step(0.0, y0, gain)
    assert y.ret.dtype == jnp.float32 and float(y.ret) == 1.0
    print("ok")
""")


@pytest.mark.slow
def test_brax_inverted_pendulum_runs_in_its_own_float32():
    # In a process of its own: Brax imports MuJoCo, whose native libraries are kept out of
    # the test process (they share it with XLA's compiler).
    if importlib.util.find_spec("brax") is None:
        pytest.skip("brax is not installed")
    out = subprocess.run([sys.executable, "-c", BRAX_SCRIPT], capture_output=True, text=True, timeout=900)
    assert out.returncode == 0 and out.stdout.strip().endswith("ok"), out.stderr[-3000:]


# ---------------------------------------------------------------------------- pytrees as people write them


def test_an_equinox_mlp_in_args_with_wrt_on_its_layers():
    mlp = eqx.nn.MLP(2, 2, 8, 2, key=jax.random.PRNGKey(0))
    sim = cg.ODESimulator(lambda t, y, m: m(y) - y, dt=0.05)
    for wrt in ("args", "layers", ("layers", 0, "weight")):
        g = cg.gradient_growth(sim, jnp.array([1.0, 0.5]), mlp, horizons=(1, 2, 4), wrt=wrt, members=2)
        assert np.all(np.isfinite(g.norms)) and np.all(g.norms > 0)
    with pytest.raises(cg.ChaosgradInputError, match="activation"):
        cg.gradient_growth(sim, jnp.array([1.0, 0.5]), mlp, horizons=(1, 2, 4), wrt="activation")


def test_a_step_returning_python_floats_and_ints():
    step = lambda y, r: {"x": r * y["x"] * (1 - y["x"]), "reward": 1.0, "count": y["count"] + 1}
    sim = cg.MapSimulator(step, tangent=lambda s: s["x"])
    res = cg.lyapunov_spectrum(sim, {"x": jnp.array([0.3]), "reward": 0.0, "count": 0}, 4.0, time=2000.0)
    assert res.dimension == 1
    assert abs(res.exponents[0] - np.log(2)) < 3 * res.uncertainty[0] + 1e-3


def _branches_in_python(y, r):
    if y[0] > 0.5:
        return r * y
    return y


def _calls_numpy(y, r):
    return np.sin(y) * r


@pytest.mark.parametrize("step,fix", [(_branches_in_python, "jnp.where"), (_calls_numpy, "jax.numpy")])
def test_errors_inside_the_step_blame_the_step_function(step, fix):
    with pytest.raises(cg.ChaosgradInputError) as info:
        cg.lyapunov_spectrum(cg.MapSimulator(step), jnp.array([0.3, 0.2]), 3.9, time=10.0)
    assert "argument `map_step`" in str(info.value) and fix in str(info.value)


def test_a_shape_error_in_the_step_names_the_step_function_and_the_shapes():
    sim = cg.ODESimulator(lambda t, y, a: y @ jnp.ones((3, 3)), dt=0.1)
    with pytest.raises(cg.ChaosgradInputError) as info:
        cg.lyapunov_spectrum(sim, jnp.ones(2), None, time=1.0)
    text = str(info.value)
    assert "argument `vector_field`" in text and "(2,)" in text and "y0" in text


# ---------------------------------------------------------------------------- the user's process


@pytest.mark.user_process
def test_a_float32_script_stays_float32_after_import_chaosgrad():
    script = textwrap.dedent("""
        import jax, jax.numpy as jnp
        import chaosgrad as cg
        from chaosgrad import zoo
        assert not jax.config.jax_enable_x64
        x = jnp.ones(3) * 2.0
        assert x.dtype == jnp.float32, x.dtype
        sim = cg.ODESimulator(lambda t, y, a: -a * y, dt=0.1, dtype="float32")
        r = cg.lyapunov_spectrum(sim, jnp.ones(2), 0.5, time=50.0)
        g = cg.gradient_growth(sim, jnp.ones(2), 0.5, horizons=(1, 2, 4), members=2)
        s = zoo.lorenz63()
        assert not jax.config.jax_enable_x64
        assert (jnp.ones(2) + 1.0).dtype == jnp.float32
        assert abs(r.exponents[0] + 0.5) < 1e-3, r.exponents
        print("ok", r.dtype, s.y0.dtype)
    """)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    assert out.stdout.strip() == "ok float32 float64"


@pytest.mark.user_process
def test_the_public_api_in_a_default_process_gives_float64_references():
    assert not jax.config.jax_enable_x64
    sim = cg.MapSimulator(lambda x, r: r * x * (1 - x))
    res = cg.lyapunov_spectrum(sim, jnp.array([0.3]), 4.0, time=5000.0)
    assert res.dtype == "float64" and not jax.config.jax_enable_x64
    assert abs(res.exponents[0] - np.log(2)) < 3 * res.uncertainty[0] + 1e-3


@pytest.mark.slow
def test_gymnax_study_says_what_each_way_of_plugging_in_finds():
    from chaosgrad import studies

    study = studies.get("gymnax_pendulum").run(fast=True)
    shipped = study.extra["as shipped (transitions detached)"]
    every = study.extra["transition gradients, every leaf"]
    assert shipped.step_derivatives["state"] == 0
    assert every.step_derivatives["passive"] == [".last_u"]  # named as the user writes tangent=
    assert study.diagnosis.lambda_physical.dimension == 2
    assert study.diagnosis.verdict in cg.VERDICTS
    assert "brax_inverted_pendulum" in studies.names()
