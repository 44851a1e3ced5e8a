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
from chaosgrad._gradients.wrt import resolve_wrt
from chaosgrad._simulators.probe import probe_step

gymnax = pytest.importorskip("gymnax")

# The adapters read the caller's JAX configuration: these tests run as a user's script.
pytestmark = pytest.mark.user_process


def policy(params, obs):
    return 2.0 * jnp.tanh(params["W2"] @ jnp.tanh(params["W1"] @ obs))


def params(seed=0):
    rng = np.random.default_rng(seed)
    return {
        "W1": jnp.asarray(rng.normal(size=(8, 3)) / np.sqrt(3), jnp.float32),
        "W2": jnp.asarray(rng.normal(size=(1, 8)) / np.sqrt(8), jnp.float32),
    }


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
    probe, notes = probe_step(sim, y0, params(), resolve_wrt("y0", None))
    assert probe["state"] == 0 and any("exactly zero" in n for n in notes)


def test_gymnax_transition_gradients_and_the_passive_leaf(pendulum):
    env, env_params = pendulum
    sim = cg.envs.gymnax(env, env_params, policy)
    y0 = sim.initial_state(0)
    every = cg.lyapunov_spectrum(sim, y0, params(), time=200.0)  # Pendulum-v1's whole episode
    # theta, theta_dot and last_u: last_u is written, never read, so its exponent is -inf.
    # (This policy also spins the pendulum into gymnax's velocity clip, max_speed = 8,
    # whose derivative is zero: theta_dot's direction collapses too.)
    assert every.dimension == 3 and every.exponents[-1] == -np.inf and np.isfinite(every.exponents[0])
    notes = probe_step(sim, y0, params(), resolve_wrt("y0", None))[1]
    assert any(".last_u" in n and "tangent=" in n for n in notes), notes
    chosen = cg.envs.gymnax(env, env_params, policy, tangent=lambda s: (s.theta, s.theta_dot))
    two = cg.lyapunov_spectrum(chosen, y0, params(), time=200.0)
    assert two.dimension == 2
    # The same dynamics on the same leaves: the finite exponents agree (the same run, the
    # passive direction removed; the QR frames differ, so to the run's own uncertainty).
    assert abs(two.exponents[0] - every.exponents[0]) <= 2 * (two.uncertainty[0] + every.uncertainty[0])


def test_gymnax_auto_reset_is_off_and_the_rollout_stops_at_the_episode_limit(pendulum):
    env, env_params = pendulum
    sim = cg.envs.gymnax(env, env_params, policy)
    assert sim.episode_length == env_params.max_steps_in_episode == 200
    y0 = sim.initial_state(0)
    at_end = sim.evolve(0.0, y0, params(), 200)
    y = sim.evolve(0.0, y0, params(), 450)
    # gymnax's env.step would have reset at 200 and 400; the rollout stops at 200 instead:
    # the same state, return and step count 250 steps later (identity step, no reward).
    assert int(at_end.env.time) == int(y.env.time) == int(y.steps) == 200 and bool(y.done)
    for a, b in zip(
        jax.tree_util.tree_leaves((at_end.env, at_end.ret, at_end.total)),
        jax.tree_util.tree_leaves((y.env, y.ret, y.total)),
    ):
        assert np.array_equal(np.asarray(a), np.asarray(b))
    assert float(y.total) == 200.0  # 200 rewards, undiscounted
    assert "auto-reset off" in " ".join(sim.describe()["notes"])
    # The named choice: one trajectory past the episode's end.
    cont = cg.envs.gymnax(env, env_params, policy, episode="continue")
    assert cont.episode_length is None and int(cont.evolve(0.0, y0, params(), 450).env.time) == 450
    with pytest.raises(cg.ChaosgradInputError, match="argument `episode`"):
        cg.envs.gymnax(env, env_params, policy, episode="reset")


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
    sim = cg.envs.gymnax(
        env, env_params, lambda p, obs: p @ obs, transition_gradients="as-shipped", discrete="expected"
    )
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
    d = cg.diagnose(
        sim,
        sim.initial_state(0),
        params(),
        loss=cg.ReturnLoss(),
        wrt="args",
        horizons=(25, 50, 100),
        members=3,
        transient=100.0,
    )
    assert d.verdict in cg.VERDICTS and d.status in ("ok", "partial")
    assert d.config["simulator"]["environment"] == "gymnax Pendulum-v1"
    assert np.all(np.isfinite(d.gradient.norms))
    # Built in a float32 process, gymnax still steps float64 states: the reference and the
    # float64 ablation are float64 (nothing to say about precision).
    assert "reference dynamics: the same step in float64" in d.notes
    assert [ab.status for ab in d.ablations if ab.name == "float64"] == ["ok"]


# ---------------------------------------------------------------------------- episodes


def mlp16(params, obs):
    return jnp.tanh(params["W2"] @ jnp.tanh(params["W1"] @ obs + params["b1"]))


def mlp16_params(seed=0):
    rng = np.random.default_rng(seed)
    return {
        "W1": jnp.asarray(rng.normal(size=(16, 2)) / np.sqrt(2), jnp.float32),
        "b1": jnp.asarray(0.5 * rng.normal(size=16), jnp.float32),
        "W2": jnp.asarray(rng.normal(size=(1, 16)) / 4, jnp.float32),
    }


@pytest.fixture(scope="module")
def mountain_car():
    env, env_params = gymnax.make("MountainCarContinuous-v0")
    sim = cg.envs.gymnax(env, env_params, mlp16, tangent=lambda s: (s.position, s.velocity))
    return env, env_params, sim


def test_mountain_car_spectrum_is_measured_within_its_episode(mountain_car):
    env, env_params, sim = mountain_car
    P, y0 = mlp16_params(), sim.initial_state(0)
    assert sim.episode_length == env_params.max_steps_in_episode == 999
    # This policy does not reach the goal: the episode ends at the time limit.
    assert int(sim.evolve(0.0, y0, P, 999).env.time) == 999
    with pytest.raises(cg.ChaosgradInputError, match=r"argument `time`.*ends after 999 steps.*at most 999"):
        cg.lyapunov_spectrum(sim, y0, P, time=2000.0)
    with pytest.raises(cg.ChaosgradInputError, match=r"argument `transient`.*999 steps"):
        cg.lyapunov_spectrum(sim, y0, P, transient=999.0, time=cg.UntilConverged())
    # UntilConverged stops at the episode's end. Past it the car sits at the clipped
    # bounds, where the Jacobian is exactly 0: the exponents were -inf.
    res = cg.lyapunov_spectrum(sim, y0, P, time=cg.UntilConverged())
    assert res.time <= 999 and np.all(np.isfinite(res.exponents)), res
    assert res.time == 999 or "converged" in res.convergence
    full = cg.lyapunov_spectrum(sim, y0, P, time=999.0)

    # Independently: the sum of the exponents over the episode is the mean ln|det J_k| of
    # the closed-loop step (position, velocity) -> (position, velocity), here with
    # jax.jacfwd on gymnax's own step_env along the same trajectory.
    genv = env.with_transition_gradients()
    key = jax.random.PRNGKey(0)

    def closed(x, state):
        s = state.replace(position=x[0], velocity=x[1])
        a = mlp16(P, genv.get_obs(s, env_params)).reshape(genv.action_space(env_params).shape)
        s1 = genv.step_env(key, s, a, env_params)[1]
        return jnp.stack([s1.position, s1.velocity]).reshape(2), s1

    def one(state, _):
        J, s1 = jax.jacfwd(closed, has_aux=True)(jnp.stack([state.position, state.velocity]).reshape(2), state)
        return s1, jnp.log(jnp.abs(jnp.linalg.det(J)))

    logdet = jax.jit(lambda s: jax.lax.scan(one, s, None, length=999)[1])(y0.env)
    # float32 Jacobians and QR: ~1e-6 relative rounding per step, averaged over 999 steps;
    # 1e-4 is far above that and far below the exponents' spread (1e-3).
    np.testing.assert_allclose(float(np.sum(full.exponents)), float(np.mean(logdet)), atol=1e-4)


def test_mountain_car_gradient_growth_refuses_past_the_episode_and_runs_within(mountain_car):
    env, env_params, sim = mountain_car
    P, y0 = mlp16_params(), sim.initial_state(0)
    kw = dict(loss=cg.ReturnLoss(), wrt="args")
    # Eight members spaced by the longest horizon, along one trajectory: ~1400 steps.
    with pytest.raises(cg.ChaosgradInputError, match=r"argument `members`.*ends after 999 steps.*initial_state"):
        cg.gradient_growth(sim, y0, P, horizons=(25, 50, 100, 200), **kw)
    with pytest.raises(cg.ChaosgradInputError, match=r"argument `horizons`.*at most 999"):
        cg.gradient_growth(sim, y0, P, horizons=(250, 500, 1000), members=1, **kw)
    with pytest.raises(cg.ChaosgradInputError, match=r"argument `transient`.*at most 799"):
        cg.gradient_growth(sim, y0, P, horizons=(50, 100, 200), members=1, transient=850.0, **kw)
    # Members from the episode's reset distribution, each over its own episode, up to its end.
    batch = jax.tree_util.tree_map(lambda *x: jnp.stack(x), *[sim.initial_state(s) for s in range(3)])
    g = cg.gradient_growth(sim, batch, P, horizons=(250, 500, 999), ensemble=True, **kw)
    assert np.all(np.isfinite(g.norms)) and np.all(g.norms > 0), g.norms


def test_diagnose_mountain_car_measures_within_its_episode(mountain_car):
    env, env_params, sim = mountain_car
    P, y0 = mlp16_params(), sim.initial_state(0)
    kw = dict(loss=cg.ReturnLoss(), wrt="args", members=3)
    with pytest.raises(cg.ChaosgradInputError, match=r"argument `lyapunov_time`.*999 steps"):
        cg.diagnose(sim, y0, P, horizons=(25, 50, 100, 200), lyapunov_time=2000.0, **kw)
    # The transient precedes the asymptotic spectra (the members start at y0): it must leave
    # at least one step of the episode to measure.
    with pytest.raises(cg.ChaosgradInputError, match=r"argument `transient`.*999 steps"):
        cg.diagnose(sim, y0, P, horizons=(25, 50, 100, 200), transient=999.0, **kw)
    with pytest.raises(cg.ChaosgradInputError, match=r"argument `lyapunov_time`.*at most 49 after this transient"):
        cg.diagnose(sim, y0, P, horizons=(25, 50, 100, 200), transient=950.0, lyapunov_time=100.0, **kw)
    with pytest.raises(cg.ChaosgradInputError, match=r"argument `members`.*horizons="):
        cg.diagnose(sim, y0, P, **dict(kw, members=cg.OnAttractor(3)))
    # The reproducer: with transient=0 the spectra were [-inf, -inf] ("contracting").
    d = cg.diagnose(sim, y0, P, horizons=(25, 50, 100, 200), transient=0.0, **kw)
    for lam in (d.lambda_physical, d.lambda_numerical):
        assert lam.time <= 999 and np.all(np.isfinite(lam.exponents)), lam
    assert d.physics != "contracting"
    # The defaults stay in the episode: no transient, horizons ending by its end.
    d = cg.diagnose(sim, y0, P, **kw)
    assert d.config["transient"] == 0.0 and d.gradient.horizons[-1] <= 999
    assert np.all(np.isfinite(d.lambda_physical.exponents))


class _BraxState(eqx.Module):
    pipeline_state: dict
    obs: jax.Array
    reward: jax.Array
    done: jax.Array


class _ScanCart:
    """A stand-in written to Brax's API (reset, step, action_size, dt; a State with
    pipeline_state, obs, reward, done): a cart and pole whose arrays are made when it is
    built and whose step is a lax.scan over substeps that carries one of them, as Brax's
    pipeline carries its system's inertia. Built in float32, it cannot step float64 states."""

    action_size = 1
    dt = 0.05

    def __init__(self):
        self.mass = jnp.asarray([1.0, 0.5])

    def _obs(self, q):
        return jnp.concatenate([q["x"], q["v"]])

    def reset(self, key):
        q = {"x": jax.random.uniform(key, (2,), minval=-0.05, maxval=0.05), "v": jnp.zeros(2), "m": self.mass}
        return _BraxState(q, self._obs(q), jnp.zeros(()), jnp.zeros(()))

    def step(self, state, action):
        def sub(q, _):
            acc = (jnp.stack([action[0], 9.8 * jnp.sin(q["x"][1]) - action[0]])) / self.mass
            v = q["v"] + 0.5 * self.dt * acc
            return {"x": q["x"] + 0.5 * self.dt * v, "v": v, "m": self.mass}, None

        q = jax.lax.scan(sub, state.pipeline_state, None, length=2)[0]
        # Reward: upright and centred; done when the pole falls past 0.2 rad (as Brax's).
        return _BraxState(
            q, self._obs(q), 1.0 - q["x"][1] ** 2 - 0.1 * q["x"][0] ** 2, jnp.where(jnp.abs(q["x"][1]) > 0.2, 1.0, 0.0)
        )


BALANCING = {"W": jnp.asarray([[0.5, 30.0, 1.0, 5.0]], jnp.float32)}
FALLING = {"W": jnp.asarray([[0.0, -3.0, 0.0, 0.0]], jnp.float32)}


def test_a_float32_brax_like_environment_runs_in_its_own_precision_and_says_what_it_cannot_measure():
    env = _ScanCart()
    # The policy reads the stored observation: it belongs in the tangent space of the closed
    # loop (a tangent= without it is refused up front).
    sim = cg.envs.brax(
        env,
        lambda p, obs: jnp.tanh(p["W"] @ obs),
        tangent=lambda s: (s.pipeline_state["x"], s.pipeline_state["v"], s.obs),
    )
    assert sim.dtype == "float32" and sim.episode_length is None
    assert "float32" in sim.float64_limit and "jax_enable_x64" in sim.float64_limit
    assert any("no time limit" in n for n in sim.describe()["notes"])
    with pytest.raises(cg.ChaosgradInputError, match=r"argument `dtype`.*jax_enable_x64"):
        cg.envs.brax(env, lambda p, obs: jnp.tanh(p["W"] @ obs), dtype="float64")
    y0 = sim.initial_state(0)
    # The float64 twin (the default reference) steps: the environment in float32 on the
    # float64 states cast down, so it follows the same float32 trajectory.
    twin = sim.with_dtype("float64")
    y32 = sim.evolve(0.0, y0, BALANCING, 40)
    y64 = twin.evolve(0.0, twin.prepare(y0), BALANCING, 40)
    assert y64.env.pipeline_state["x"].dtype == jnp.float64
    # float32 rounding of 40 steps of a stable closed loop (|x| ~ 0.05): well under 1e-6.
    np.testing.assert_allclose(
        np.asarray(y64.env.pipeline_state["x"]), np.asarray(y32.env.pipeline_state["x"]), atol=1e-6
    )

    res = cg.lyapunov_spectrum(sim, y0, BALANCING, time=2.0)
    assert res.status == "ok" and np.all(np.isfinite(res.exponents))
    g = cg.gradient_growth(
        sim, y0, BALANCING, loss=cg.ReturnLoss(), wrt="args", horizons=(0.5, 1.0, 2.0), members=2, spacing=0.05
    )
    assert np.all(np.isfinite(g.norms)) and np.all(g.norms > 0)
    d = cg.diagnose(sim, y0, BALANCING, loss=cg.ReturnLoss(), wrt="args", horizons=(0.5, 1.0, 2.0), members=2, k=2)
    assert np.all(np.isfinite(d.lambda_physical.exponents))
    assert any(n.startswith("reference dynamics: the same step, not in float64") for n in d.notes), d.notes
    (ablation,) = [ab for ab in d.ablations if ab.name == "float64"]
    assert ablation.status == "failed" and "float64 is not measurable" in ablation.error
    assert d.status == "partial"


def test_a_brax_like_rollout_stops_when_the_environment_says_done():
    env = _ScanCart()
    sim = cg.envs.brax(env, lambda p, obs: jnp.tanh(p["W"] @ obs))
    y0 = sim.initial_state(0)
    y = sim.evolve(0.0, y0, FALLING, 200)
    n = int(y.steps)
    assert bool(y.done) and 0 < n < 200 and abs(float(y.env.pipeline_state["x"][1])) > 0.2
    at_end = sim.evolve(0.0, y0, FALLING, n)
    for a, b in zip(jax.tree_util.tree_leaves((at_end.env, at_end.ret)), jax.tree_util.tree_leaves((y.env, y.ret))):
        assert np.array_equal(np.asarray(a), np.asarray(b))
    cont = cg.envs.brax(env, lambda p, obs: jnp.tanh(p["W"] @ obs), episode="continue")
    assert int(cont.evolve(0.0, y0, FALLING, 200).steps) == 200
    timed = cg.envs.brax(env, lambda p, obs: jnp.tanh(p["W"] @ obs), episode_length=20)
    with pytest.raises(cg.ChaosgradInputError, match=r"argument `horizons`.*ends after 20 steps"):
        cg.gradient_growth(timed, timed.initial_state(0), BALANCING, horizons=(0.5, 1.0, 2.0), wrt="args", members=1)


def test_return_loss_needs_a_return_in_the_state():
    sim = cg.MapSimulator(lambda y, a: 0.5 * y)
    with pytest.raises(cg.ChaosgradInputError, match="ReturnLoss"):
        cg.gradient_growth(sim, jnp.ones(2), None, loss=cg.ReturnLoss(), horizons=(2, 4, 8))


# ---------------------------------------------------------------------------- Brax


BRAX_SCRIPT = textwrap.dedent("""
    import jax, jax.numpy as jnp, numpy as np
    from brax import envs
    import chaosgrad as cg
    # As a user's script builds it: a default (float32) process, a float32 linear policy.
    assert not jax.config.jax_enable_x64
    env = envs.get_environment("inverted_pendulum", backend="generalized")
    sim = cg.envs.brax(env, lambda p, obs: jnp.tanh(p["W"] @ obs))
    assert sim.dtype == "float32", sim.dtype
    # Its system's arrays are float32: its own scans cannot carry float64 states.
    assert "float32" in sim.float64_limit and "cinr.mass" in sim.float64_limit, sim.float64_limit
    assert sim.episode_length is None and any("no time limit" in n for n in sim.describe()["notes"])
    y0 = sim.initial_state(seed=0)
    params = {"W": jnp.asarray([[0.1, 2.0, 0.2, 0.3]], jnp.float32)}  # balances the pole
    res = cg.lyapunov_spectrum(sim, y0, params, time=100 * sim.dt, k=2)
    assert res.status == "ok" and np.all(np.isfinite(res.exponents)), res
    # Brax's reward is the Python float 1.0: normalised into the state's return.
    y = sim.step(0.0, y0, params)
    assert y.ret.dtype == jnp.float32 and float(y.ret) == 1.0
    horizons = (5 * sim.dt, 10 * sim.dt, 20 * sim.dt)
    angle = lambda y: y.env.pipeline_state.q[1]
    g = cg.gradient_growth(sim, y0, params, loss=angle, wrt="args", horizons=horizons, members=2, spacing=sim.dt)
    assert np.all(np.isfinite(g.norms)) and np.all(g.norms > 0), g.norms
    # The reproducer (with small horizons): it raised a scan carry TypeError (float64 state
    # against the float32 system) and the interpreter aborted.
    d = cg.diagnose(sim, y0, params, loss=cg.ReturnLoss(), wrt="args", horizons=horizons, members=2, k=2)
    assert np.all(np.isfinite(d.lambda_physical.exponents)), d.lambda_physical
    assert any(n.startswith("reference dynamics: the same step, not in float64") for n in d.notes), d.notes
    (ablation,) = [ab for ab in d.ablations if ab.name == "float64"]
    assert ablation.status == "failed" and "float64 is not measurable" in ablation.error, ablation
    # With a time limit, horizons past it are refused before anything runs.
    timed = cg.envs.brax(envs.create("inverted_pendulum", backend="generalized", episode_length=15),
                         lambda p, obs: jnp.tanh(p["W"] @ obs))
    assert timed.episode_length == 15
    try:
        cg.gradient_growth(timed, timed.initial_state(0), params, loss=angle, wrt="args", horizons=horizons, members=1)
        raise AssertionError("horizons past the episode were measured")
    except cg.ChaosgradInputError as e:
        assert "argument `horizons`" in str(e) and "15 steps" in str(e), e
    print("ok")
""")


@pytest.mark.slow
def test_brax_inverted_pendulum_as_a_user_builds_it_goes_through_every_analysis():
    # In a process of its own: Brax imports MuJoCo, whose native libraries are kept out of
    # the test process (they share it with XLA's compiler), and the process's own (default)
    # float64 setting is what Brax builds its system in.
    if importlib.util.find_spec("brax") is None:
        pytest.skip("brax is not installed")
    out = subprocess.run([sys.executable, "-c", BRAX_SCRIPT], capture_output=True, text=True, timeout=1200)
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
