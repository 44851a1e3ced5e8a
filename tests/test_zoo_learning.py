"""The bundled learning systems: recurrent networks, deep networks, control environments."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import chaosgrad as cg
from chaosgrad._pytree import all_finite, float_leaves
from chaosgrad.zoo._bouncing_ball import bouncing_ball
from chaosgrad.zoo._deep_diagnostics import (
    dead_relu_fraction,
    jacobian_singular_values,
    layer_jacobian_norms,
    saturation_fraction,
)
from chaosgrad.zoo._deep_network import LAYER_NORM_EPS, deep_network
from chaosgrad.zoo._learning_build import log_abs_det_divergence
from chaosgrad.zoo._learning_registry import LEARNING_SYSTEMS
from chaosgrad.zoo._mechanical_tasks import pendulum, pendulum_energy
from chaosgrad.zoo._recurrent import gru_rnn, lstm_rnn, tanh_rnn
from chaosgrad.zoo._rl import ENV_REWARDS, bouncing_ball_reward, policy_params, rollout_return
from chaosgrad.zoo._system import System

REWARDS = ENV_REWARDS
SMALL = {  # small instances of the network systems, to keep the suite fast
    "tanh_rnn": dict(n=20),
    "gru": dict(n=20),
    "lstm": dict(n=20),
    "deep_network": dict(depth=10, width=16),
}


def _zero_policy(system):
    return {"policy": jax.tree_util.tree_map(jnp.zeros_like, system.args["policy"])}


@pytest.mark.parametrize("name", sorted(LEARNING_SYSTEMS))
def test_registry_defaults_build_and_step(name):
    system = LEARNING_SYSTEMS[name](**SMALL.get(name, {}))
    assert isinstance(system, System) and system.name == name
    y1 = jax.jit(system.simulator.step)(0.0, system.y0, system.args)
    assert jax.tree_util.tree_structure(y1) == jax.tree_util.tree_structure(system.y0)
    for a, b in zip(jax.tree_util.tree_leaves(y1), jax.tree_util.tree_leaves(system.y0)):
        assert a.shape == b.shape and a.dtype == b.dtype
    assert all_finite(y1)
    assert np.isfinite(float(jax.jit(system.divergence)(system.y0, system.args)))


# ---------------------------------------------------------------------------- tanh RNN


@pytest.mark.parametrize("g", [0.5, 2.0])
def test_tanh_rnn_exponent_sign_and_jacobian_bound(g):
    system = tanh_rnn(n=100, g=g)
    res = cg.lyapunov_spectrum(system.simulator, system.y0, system.args, k=1, transient=300, n_intervals=1500)
    W = np.asarray(system.args["W"])
    bound = np.log(g * np.linalg.norm(W, 2))
    assert res.status == "ok"
    # ||Df|| <= g ||W||_2 at every step, so every one-step stretch obeys the bound
    # (1e-12: round-off of a log of a norm in float64).
    assert np.max(res.finite_time_exponents) <= bound + 1e-12
    assert res.leading <= bound
    if g < 1:
        # The origin attracts: lambda_1 is exactly ln(g rho(W)); the transient and the
        # alignment with the leading eigenvector cost O(1/steps) = 1e-3 at most, and in
        # practice the convergence is geometric (measured error ~1e-15).
        assert res.leading < 0
        assert res.leading == pytest.approx(np.log(g * np.max(np.abs(np.linalg.eigvals(W)))), abs=1e-3)
        assert system.literature["exponents"][0] == pytest.approx(res.leading, abs=1e-3)
    else:
        # Chaotic: measured 0.13 with standard error 0.002; require 10 standard errors.
        assert res.leading > 10 * res.standard_error[0] > 0


def test_tanh_rnn_sum_rule_matches_divergence():
    system = tanh_rnn(n=20, g=2.0, seed=3)
    n_transient, n_steps = 50, 300
    res = cg.lyapunov_spectrum(system.simulator, system.y0, system.args, transient=n_transient, n_intervals=n_steps)
    step = lambda y, _: (system.simulator.step(0.0, y, system.args),) * 2
    y, _ = jax.lax.scan(step, system.y0, None, length=n_transient)
    _, ys = jax.lax.scan(lambda y, _: (step(y, None)[0], y), y, None, length=n_steps)
    mean_div = float(jnp.mean(jax.vmap(lambda y: system.divergence(y, system.args))(ys)))
    # sum_i ln R_ii = ln|det(J_N ... J_1)| exactly; the two sides differ only by the
    # round-off of ~6000 float64 logs (1e-9 is 1e5 times that).
    assert np.sum(res.exponents) == pytest.approx(mean_div, abs=1e-9)
    generic = log_abs_det_divergence(lambda y, a: system.simulator.step(0.0, y, a))
    assert float(generic(ys[7], system.args)) == pytest.approx(float(system.divergence(ys[7], system.args)), abs=1e-9)


# ---------------------------------------------------------------------------- gated RNNs


def test_gru_memory_path_keeps_exponents_near_zero():
    kw = dict(k=1, transient=300, n_intervals=1000)
    plain = tanh_rnn(n=100, g=4.0)
    gated = gru_rnn(n=100, g=4.0, gate_bias=5.0)
    lam_plain = cg.lyapunov_spectrum(plain.simulator, plain.y0, plain.args, **kw).leading
    lam_gated = cg.lyapunov_spectrum(gated.simulator, gated.y0, gated.args, **kw).leading
    # With z = sigmoid(5 + ...) ~ 0.99 the step is I + O(1 - z): measured lambda_1 = 0.003,
    # against 0.41 for the tanh RNN at the same gain (and 0.12 for the GRU with b_z = 0).
    assert lam_plain > 0.2
    assert abs(lam_gated) < 0.01


def test_gated_steps_follow_their_equations():
    sig, tanh = jax.nn.sigmoid, jnp.tanh
    gru = gru_rnn(n=6, n_in=3, input_scale=1.0, gate_bias=0.7)
    a, h = gru.args, gru.y0
    pre = lambda k, v: a[f"U_{k}"] @ v + a[f"W_{k}"] @ a["x"] + a[f"b_{k}"]
    z, r = sig(pre("z", h)), sig(pre("r", h))
    expect = z * h + (1 - z) * tanh(pre("h", r * h))
    # Same floating-point operations in the same order: agreement to round-off.
    np.testing.assert_allclose(gru.simulator.step(0.0, h, a), expect, rtol=1e-13, atol=1e-15)
    lstm = lstm_rnn(n=6, n_in=3, input_scale=1.0, forget_bias=2.0)
    a, y = lstm.args, lstm.y0
    i, f, o = (sig(a[f"U_{k}"] @ y["h"] + a[f"W_{k}"] @ a["x"] + a[f"b_{k}"]) for k in "ifo")
    c1 = f * y["c"] + i * tanh(a["U_c"] @ y["h"] + a["W_c"] @ a["x"] + a["b_c"])
    y1 = lstm.simulator.step(0.0, y, a)
    np.testing.assert_allclose(y1["c"], c1, rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(y1["h"], o * tanh(c1), rtol=1e-13, atol=1e-15)
    np.testing.assert_array_equal(a["b_f"], 2.0)


# ---------------------------------------------------------------------------- deep networks


def test_linear_orthogonal_network_is_an_exact_isometry():
    system = deep_network(depth=20, width=16, activation="linear", init="orthogonal")
    sv = jacobian_singular_values(system)
    # A product of 20 orthogonal matrices: singular values 1 up to float64 round-off (~1e-15).
    assert sv.shape == (16,)
    np.testing.assert_allclose(sv, 1.0, atol=1e-10)
    res = cg.lyapunov_spectrum(system.simulator, system.y0, system.args, n_intervals=20)
    np.testing.assert_allclose(res.exponents, 0.0, atol=1e-12)  # ln 1 = 0 per layer, round-off only


def test_layer_index_picks_each_layers_weights():
    system = deep_network(depth=5, width=8, activation="tanh", init="gaussian", sigma_b=0.3)
    W, b, x = system.args["W"], system.args["b"], system.y0["x"]
    y = system.simulator.evolve(0.0, system.y0, system.args, 3)
    expect = x
    for l in range(3):
        expect = jnp.tanh(W[l] @ expect + b[l])
    assert int(y["layer"]) == 3
    np.testing.assert_allclose(y["x"], expect, rtol=1e-13, atol=1e-14)  # same float ops, same order


def test_residual_layer_norm_network():
    system = deep_network(depth=6, width=12, residual=True, layer_norm=True, sigma_b=0.1)
    W, b = system.args["W"][0], system.args["b"][0]
    x = system.y0["x"]
    h = W @ x + b
    h = (h - h.mean()) / jnp.sqrt(h.var() + LAYER_NORM_EPS)
    y1 = system.simulator.step(0.0, system.y0, system.args)
    np.testing.assert_allclose(y1["x"], x + jnp.tanh(h), rtol=1e-13, atol=1e-14)  # same ops
    # Layer normalisation removes the scale of h, so scaling W and b by 3 changes the
    # layer only through eps = 1e-5 in sqrt(var + eps): by about eps / (2 var h) ~ 1e-5
    # relative (var h ~ 1 here), hence 5e-5.
    scaled = {"W": 3.0 * system.args["W"], "b": 3.0 * system.args["b"]}
    y_scaled = system.simulator.step(0.0, system.y0, scaled)
    np.testing.assert_allclose(y_scaled["x"], y1["x"], atol=5e-5)
    plain = system.simulator.step(0.0, system.y0, {"W": system.args["W"], "b": system.args["b"] + 1.0})
    np.testing.assert_allclose(plain["x"], y1["x"], atol=1e-12)  # LN also removes a uniform shift


def test_sigmoid_layer_scales_gradients_by_at_most_a_quarter():
    system = deep_network(depth=12, width=32, activation="sigmoid", init="gaussian", sigma_b=0.5)
    norms = layer_jacobian_norms(system)
    w_norms = np.linalg.norm(np.asarray(system.args["W"]), 2, axis=(1, 2))
    ratio = norms / w_norms
    # sigmoid' <= 1/4, so ||diag(sigmoid') W|| <= ||W||/4; 1e-12 allows float64 round-off.
    assert np.all(ratio <= 0.25 * (1 + 1e-12))
    # ... and the bound is nearly attained (measured 0.22-0.24), so the norms are real.
    assert np.all(ratio > 0.15)
    tanh = deep_network(depth=12, width=32, activation="tanh", init="gaussian", sigma_b=0.5)
    tanh_ratio = layer_jacobian_norms(tanh) / np.linalg.norm(np.asarray(tanh.args["W"]), 2, axis=(1, 2))
    assert np.all(tanh_ratio > 0.5)  # tanh' <= 1: no quarter bound (measured 0.74-0.89)


def test_dead_relu_fraction():
    dead = deep_network(depth=6, width=32, activation="relu", init="he", bias=-10.0)
    # W x ~ N(0, 2) at most, 7 standard deviations short of the bias: every unit is off.
    np.testing.assert_array_equal(dead_relu_fraction(dead), 1.0)
    alive = deep_network(depth=6, width=64, activation="relu", init="he")
    frac = dead_relu_fraction(alive)
    # One input, zero bias: about half the units are inactive (binomial, sd 0.06 at n = 64).
    assert np.all((frac > 0.3) & (frac < 0.7))
    batch = np.random.default_rng(0).normal(size=(32, 64))
    assert np.all(dead_relu_fraction(alive, batch) < frac)  # dead for all 32 inputs is rarer
    with pytest.raises(cg.ChaosgradInputError, match="system"):
        saturation_fraction(alive)


def test_saturation_fraction_tracks_weight_scale():
    big = deep_network(depth=8, width=64, activation="tanh", init="gaussian", sigma_w=4.0)
    small = deep_network(depth=8, width=64, activation="tanh", init="gaussian", sigma_w=0.5)
    # sigma_w = 4 drives |h| ~ 4 (measured 39-50% saturated); sigma_w = 0.5 shrinks h to 0.
    assert np.all(saturation_fraction(big)[1:] > 0.3)
    np.testing.assert_array_equal(saturation_fraction(small), 0.0)
    sig = deep_network(depth=4, width=16, activation="sigmoid", init="gaussian", bias=-20.0)
    np.testing.assert_array_equal(saturation_fraction(sig), 1.0)  # sigmoid'(-20) ~ 2e-9


# ---------------------------------------------------------------------------- environments


@pytest.mark.parametrize("name", sorted(REWARDS))
def test_environment_return_is_differentiable(name):
    system = LEARNING_SYSTEMS[name]()
    reward = REWARDS[name]
    ret = lambda theta: rollout_return(system.simulator, reward, system.y0, {"policy": theta}, 100)
    value, grad = jax.value_and_grad(ret)(system.args["policy"])
    leaves = jax.tree_util.tree_leaves(grad)
    assert np.isfinite(float(value))
    assert all(bool(jnp.all(jnp.isfinite(g))) for g in leaves)
    assert sum(float(jnp.sum(g**2)) for g in leaves) > 0  # the return really depends on theta
    y = system.simulator.evolve(0.0, system.y0, system.args, 100)
    assert bool(jnp.all(jnp.isfinite(y)))
    # Forward-mode AD of one step agrees with a central difference (step 1e-6: truncation
    # ~1e-12, round-off ~1e-10 relative to O(1) states).
    v = jnp.ones_like(system.y0)
    f = jax.jit(lambda y: system.simulator.step(0.0, y, system.args))
    _, tangent = jax.jit(lambda y: jax.jvp(f, (y,), (v,)))(system.y0)
    fd = (f(system.y0 + 1e-6 * v) - f(system.y0 - 1e-6 * v)) / 2e-6
    np.testing.assert_allclose(tangent, fd, rtol=1e-6, atol=1e-6)


def test_reference_is_converged():
    for name in ("pendulum", "acrobot"):
        system = LEARNING_SYSTEMS[name]()
        finer = LEARNING_SYSTEMS[name](substeps=2)  # reference substeps double too
        a = system.reference.evolve(0.0, system.y0, system.args, 20)
        b = finer.reference.evolve(0.0, finer.y0, finer.args, 20)
        # RK4 error ~ h^4: halving h changes a 20-step reference by < 1e-7 (measured ~1e-10).
        np.testing.assert_allclose(a, b, atol=1e-7)


def test_pendulum_conserves_energy_without_torque_or_friction():
    y0 = jnp.array([2.0, 0.5])
    for integrator, tol in (("rk4", 1e-10), ("semi_implicit", 5e-3)):
        system = pendulum(integrator=integrator, dt=1e-3, friction=0.0)
        args = _zero_policy(system)
        step = lambda y, _: (system.simulator.step(0.0, y, args),) * 2
        _, ys = jax.lax.scan(step, y0, None, length=2000)
        drift = float(jnp.max(jnp.abs(jax.vmap(pendulum_energy)(ys) - pendulum_energy(y0))))
        # Relative energy error over 2 s at h = 1e-3. RK4 errs by O(h^4): measured 7.7e-13,
        # tolerance 1e-10. Symplectic Euler keeps a bounded O(h) oscillation: measured
        # 3.2e-3, tolerance 5e-3 (explicit Euler would drift past it).
        assert drift / abs(float(pendulum_energy(y0))) < tol
    damped = pendulum(integrator="rk4", dt=1e-3, friction=0.1)
    y = damped.simulator.evolve(0.0, y0, _zero_policy(damped), 2000)
    assert float(pendulum_energy(y)) < float(pendulum_energy(y0)) - 1e-3  # friction dissipates


def test_bouncing_ball_gradient_jumps_where_the_bounce_count_changes():
    system = bouncing_ball(restitution=0.8)
    args = _zero_policy(system)  # no thrust: free fall, z'' = -g
    ret = jax.jit(lambda h0: rollout_return(system.simulator, bouncing_ball_reward, jnp.stack([h0, 0.0]), args, 20))
    grad = jax.jit(jax.grad(ret))
    g, e, dt, m = 9.81, 0.8, 0.05, 10
    h_star = g * (m * dt) ** 2 / 2  # dropped from here, the ball lands exactly at step m

    step = jax.jit(lambda y: system.simulator.step(0.0, y, args))

    def bounces_by_step_m(h0):
        y, velocities = jnp.stack([h0, 0.0]), [0.0]
        for _ in range(m):
            y = step(y)
            velocities.append(float(y[1]))
        return sum(a < 0 < b for a, b in zip(velocities, velocities[1:]))

    delta, fd_h = 1e-5, 1e-7
    left, right = h_star - delta, h_star + delta
    assert bounces_by_step_m(left) == 1 and bounces_by_step_m(right) == 0
    fd = lambda h0: (float(ret(h0 + fd_h)) - float(ret(h0 - fd_h))) / (2 * fd_h)
    # On each side the return is smooth: AD and central differences agree (FD round-off
    # ~1e-16 * 4 / 1e-7 ~ 1e-8, truncation ~1e-14; 1e-5 leaves room).
    for h0 in (left, right):
        assert float(grad(h0)) == pytest.approx(fd(h0), abs=1e-5)
    # Only the reward at step m has a kink: dr/dz = 2 (z_target - z) = 2 at z = 0, and
    # dz_m/dh0 jumps from -e (bounced) to +1 (not yet): the slope jumps by 2 (1 + e) = 3.6.
    # The 1e-5 offsets from the kink change the slopes by O(1e-4).
    jump = fd(right) - fd(left)
    assert jump == pytest.approx(2 * (1 + e), abs=1e-3)
    # A central difference straddling the kink sees the average, not either side.
    assert fd(h_star) == pytest.approx((fd(left) + fd(right)) / 2, abs=1e-3)
    # Away from any change in the bounce count the slope is continuous.
    assert fd(1.0 + delta) - fd(1.0 - delta) == pytest.approx(0.0, abs=1e-3)
    # Time stepping ("reflect") makes the return itself jump there.
    stepped = bouncing_ball(contact="reflect")
    ret_s = lambda h0: float(rollout_return(stepped.simulator, bouncing_ball_reward, jnp.stack([h0, 0.0]), args, 20))
    assert abs(ret_s(h_star + 1e-9) - ret_s(h_star - 1e-9)) > 0.1  # measured 0.59


def test_policy_params_are_seeded():
    a = policy_params(3, 1, seed=4)
    b = policy_params(3, 1, seed=4)
    c = policy_params(3, 1, seed=5)
    assert [p["W"].shape for p in a] == [(32, 3), (32, 32), (1, 32)]
    assert all(bool(jnp.array_equal(p["W"], q["W"])) for p, q in zip(a, b))
    assert not bool(jnp.array_equal(a[0]["W"], c[0]["W"]))


def test_lower_precision_maps_keep_their_dtype():
    for name in ("tanh_rnn", "deep_network", "pendulum", "bouncing_ball"):
        system = LEARNING_SYSTEMS[name](**SMALL.get(name, {}))
        sim = system.simulator.with_dtype("float32")
        y1 = jax.jit(sim.step)(0.0, sim.prepare(system.y0), system.args)
        assert all(x.dtype == jnp.float32 for x in float_leaves(y1))


@pytest.mark.parametrize(
    "build",
    [
        lambda: tanh_rnn(g=-1.0),
        lambda: tanh_rnn(n=0),
        lambda: gru_rnn(gate_bias=float("nan")),
        lambda: deep_network(activation="gelu"),
        lambda: deep_network(init="kaiming"),
        lambda: deep_network(residual="yes"),
        lambda: deep_network(depth=True),
        lambda: jacobian_singular_values(tanh_rnn(n=4)),
        lambda: jacobian_singular_values(deep_network(depth=2, width=4), np.ones(5)),
        lambda: pendulum(integrator="euler"),
        lambda: bouncing_ball(restitution=1.5),
        lambda: bouncing_ball(contact="penalty"),
        lambda: policy_params(3, 1, hidden=32),
        lambda: rollout_return(pendulum().simulator, "reward", jnp.zeros(2), None, 10),
    ],
)
def test_bad_arguments_raise(build):
    with pytest.raises(cg.ChaosgradInputError):
        build()
