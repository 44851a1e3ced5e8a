"""The studies of the learning systems: chaotic RNNs, deep networks, RL rollouts.

Each study runs once in fast mode (module fixtures); the tests assert the physics class
and verdict of its headline diagnosis and the key facts of its sweeps. The helpers the
studies are built on are tested on exact answers first.
"""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import chaosgrad as cg
from chaosgrad import studies
from chaosgrad.studies import _deep_layers as deep_layers
from chaosgrad.studies import _rl_helpers as helpers
from chaosgrad.zoo import deep_network, tanh_rnn

# ---------------------------------------------------------------------------- helpers (fast)


def test_estimators_on_a_known_jump():
    J, h_jump, sigma, samples = 2.0, 0.3, 0.01, 4096
    ret = lambda h: h**2 + J * (h > h_jump).astype(h.dtype)
    jumps = helpers.find_jumps(ret, 0.0, 1.0, points=1001, threshold=1e-6)
    assert len(jumps) == 1
    # Bisection to round-off: the location to ~1e-12, the height J exactly plus the
    # smooth change over that interval (~1e-12).
    assert jumps[0][0] == pytest.approx(h_jump, abs=1e-9)
    assert jumps[0][1] == pytest.approx(J, abs=1e-9)
    est = helpers.estimators(ret, np.array([h_jump, 0.8]), sigma=sigma, samples=samples)
    # Autodiff sees only the smooth slope 2h, exactly.
    np.testing.assert_allclose(est["ad"], [2 * h_jump, 1.6], rtol=1e-12)
    # First-order smoothing averages 2(h + sigma eps): mean 2h, error 2 sigma / sqrt(M)
    # per sample mean; 4 standard errors.
    assert abs(est["first"][0] - 2 * h_jump) < 4 * est["first_se"][0]
    # Zeroth order carries the jump: E = 2h + J phi(0) / sigma = 0.6 + 79.8. Its standard
    # error (~0.3 J / sigma / sqrt(M) = 0.9) sets the tolerance: 4 standard errors.
    expected = 2 * h_jump + J / (sigma * math.sqrt(2 * math.pi))
    assert abs(est["zeroth"][0] - expected) < 4 * est["zeroth_se"][0]
    # Far from the jump (50 sigma) all estimators agree with the slope; zeroth order's
    # antithetic variance is 2 (2h)^2 / M, first order's (2 sigma)^2 / M.
    assert abs(est["zeroth"][1] - 1.6) < 4 * est["zeroth_se"][1]
    assert abs(est["first"][1] - 1.6) < 4 * est["first_se"][1]
    assert helpers.farthest_from(jumps, 0.0, 1.0) == pytest.approx(1.0)


def test_layer_by_layer_map_is_the_zoo_network():
    system = deep_network(depth=6, width=12, activation="tanh", init="gaussian", sigma_b=0.2, residual=True)
    sim = deep_layers.layer_by_layer(system)
    x = sim.evolve(0.0, system.y0["x"], system.args, 6)
    y = system.simulator.evolve(0.0, system.y0, system.args, 6)
    np.testing.assert_allclose(x, y["x"], rtol=1e-13, atol=1e-14)  # same float ops in the same order
    linear = deep_network(depth=20, width=16, activation="linear", init="orthogonal")
    lam, _ = deep_layers.per_layer_rate(linear)
    assert abs(lam) < 1e-12  # ln 1 per layer, round-off only


def test_layer_by_layer_gradient_matches_the_jacobian():
    # The gradient sweep through the clock-indexed map reproduces J^T c with J the exact
    # input-output Jacobian of the zoo network.
    system = deep_network(depth=8, width=10, activation="sigmoid", init="gaussian")
    sim = deep_layers.layer_by_layer(system)
    res = cg.gradient_growth(sim, system.y0["x"][None], system.args, horizons=[2, 4, 8], ensemble=True)
    c = jax.random.normal(jax.random.PRNGKey(0), (10,), jnp.float64)
    c = c / jnp.linalg.norm(c)
    J = jax.jacfwd(lambda v: system.simulator.evolve(0.0, {"x": v, "layer": system.y0["layer"]}, system.args, 8)["x"])(
        system.y0["x"]
    )
    # Same products in another order: agreement to round-off of 8 layers of float64.
    assert res.norms[0, -1] == pytest.approx(float(jnp.linalg.norm(J.T @ c)), rel=1e-10)


# ---------------------------------------------------------------------------- RNN study


@pytest.fixture(scope="module")
def rnn():
    return studies.get("rnn").run(fast=True)


@pytest.mark.slow
def test_rnn_headline_is_intrinsic_explosion(rnn):
    d = rnn.diagnosis
    assert d.physics == "chaotic" and d.verdict == "intrinsic-explosion" and d.causes == ()
    assert d.config["wrt"] == "y0"
    # The map is its own reference; lambda_1 = 0.13 at g = 2 (N = 100, seed 0). The
    # gradient rate's 95% interval must contain lambda_1.
    lam = float(d.lambda_physical.exponents[0])
    assert 0.1 < lam < 0.16
    assert d.gradient_interval[0] <= lam <= d.gradient_interval[1]
    assert d.truncation_horizon == pytest.approx(math.log(2) / lam)


@pytest.mark.slow
def test_rnn_verdict_switches_across_the_onset(rnn):
    assert rnn.extra["tanh g=0.5"].verdict == "intrinsic-vanishing"
    assert rnn.extra["tanh g=0.5"].physics == "contracting"
    for g in ("2", "3"):
        assert rnn.extra[f"tanh g={g}"].verdict == "intrinsic-explosion"
        assert rnn.extra[f"tanh g={g}"].physics == "chaotic"
    assert any("changes from intrinsic-vanishing to intrinsic-explosion" in f for f in rnn.findings)


@pytest.mark.slow
def test_rnn_exact_exponent_below_onset_and_bound(rnn):
    W = np.asarray(tanh_rnn(n=100).args["W"])
    d = rnn.extra["tanh g=0.5"]
    exact = math.log(0.5 * np.max(np.abs(np.linalg.eigvals(W))))
    # The origin attracts: lambda_1 = ln(g rho(W)) exactly; the finite run (800 steps)
    # carries an O(1/T) alignment bias of a few 1e-3 (measured 1.1e-3).
    assert float(d.lambda_physical.exponents[0]) == pytest.approx(exact, abs=5e-3)
    assert d.gradient_interval[0] <= exact <= d.gradient_interval[1]
    for g in (0.5, 1.0, 2.0, 3.0):
        lam = float(rnn.extra[f"tanh g={g:g}"].lambda_physical.exponents[0])
        assert lam <= math.log(g * np.linalg.norm(W, 2))  # |tanh'| <= 1


@pytest.mark.slow
def test_rnn_gates_shrink_the_gradient_rate(rnn):
    for g in ("0.5", "2"):
        tanh_rate = abs(rnn.extra[f"tanh g={g}"].gradient_rate)
        for name in ("GRU", "LSTM"):
            # Measured: |rate| 0.45 and 0.16 against 0.66 at g = 0.5; 0.06 and 0.01
            # against 0.13 at g = 2.
            assert abs(rnn.extra[f"{name} g={g}"].gradient_rate) < 0.75 * tanh_rate
    assert rnn.extra["GRU g=2"].physics != "chaotic"  # tanh is chaotic at the same gain


# ---------------------------------------------------------------------------- deep networks


@pytest.fixture(scope="module")
def deep():
    return studies.get("deep_network").run(fast=True)


def _figure(study, title_start):
    return next(f for s in study.sections for f in s.figures if f.title.startswith(title_start))


def _series(figure, label):
    return next(s for s in figure.series if s.label == label)


@pytest.mark.slow
def test_deep_headline_is_intrinsic_vanishing_not_saturation(deep):
    d = deep.diagnosis
    assert d.physics == "contracting" and d.verdict == "intrinsic-vanishing"
    assert "saturation" not in d.causes
    lam = float(d.lambda_physical.exponents[0])
    # sigmoid' <= 1/4 with ||W|| ~ 2: measured -1.44 per layer.
    assert -1.7 < lam < -1.2
    assert d.gradient_interval[0] <= lam <= d.gradient_interval[1]
    ab = {a.name: a for a in d.ablations}
    assert ab["weights-halved"].cause == ab["tanh-critical-orthogonal"].cause == "saturation"
    # Halving W moves the rate by about ln(1/2) = -0.69 per layer (measured -0.65):
    # further from saturation, more vanishing.
    assert ab["weights-halved"].rate_after < ab["weights-halved"].rate_before - 0.4
    # tanh at the critical orthogonal initialisation: near-neutral (measured -0.05).
    assert abs(ab["tanh-critical-orthogonal"].rate_after) < 0.3


@pytest.mark.slow
def test_deep_sigmoid_quarter_bound_and_isometry(deep):
    bound = _figure(deep, "The quarter bound")
    for sw in ("1", "4"):
        gain = _series(bound, f"||D_l||_2, sigma_w = {sw}").y
        limit = _series(bound, f"0.25 ||W_l||_2, sigma_w = {sw}").y
        assert np.all(gain <= limit * (1 + 1e-12))  # sigmoid' <= 1/4; float64 round-off
    # Nearly attained at sigma_w = 1 (pre-activations near 0): measured ratio 0.93-0.97.
    assert np.all(_series(bound, "||D_l||_2, sigma_w = 1").y > 0.8 * _series(bound, "0.25 ||W_l||_2, sigma_w = 1").y)
    sv = _series(_figure(deep, "Singular values"), "linear, orthogonal").y
    np.testing.assert_allclose(sv, 1.0, atol=1e-10)  # product of orthogonal matrices; round-off ~1e-15


@pytest.mark.slow
def test_deep_weight_scale_sweep(deep):
    rates, fracs = _figure(deep, "Per-layer gradient growth"), _figure(deep, "Saturated and dead")
    sw = _series(rates, "tanh").x
    tanh = _series(rates, "tanh").y
    sig = _series(rates, "sigmoid").y
    # tanh crosses the order-chaos edge between sigma_w = 1 and 2 (Poole et al. 2016).
    assert tanh[list(sw).index(1.0)] < 0 < tanh[list(sw).index(2.0)]
    # Sigmoid never reaches zero over the sweep but rises with sigma_w even as it saturates.
    assert np.all(sig < 0) and sig[-1] > sig[0] + 1.0
    sat = _series(fracs, "sigmoid (saturated)").y
    assert sat[0] == 0.0 and sat[-1] > 0.2
    dead = _series(fracs, "relu (dead)").y
    np.testing.assert_array_equal(dead, dead[0])  # ReLU is positively homogeneous


# ---------------------------------------------------------------------------- RL rollouts


@pytest.fixture(scope="module")
def rl():
    return studies.get("rl").run(fast=True)


@pytest.mark.slow
def test_rl_headline_is_a_chaotic_closed_loop(rl):
    d = rl.diagnosis
    assert d.physics == "chaotic" and d.verdict == "intrinsic-explosion" and d.causes == ()
    assert d.config["wrt"] == "args['policy']"
    assert int(d.gradient.horizon_steps[-1]) == 1000
    # The flight is integrated exactly, so the user's map and the reference agree to
    # within their combined uncertainty (measured 0.3105 against 0.3106).
    ln, lp = float(d.lambda_numerical.exponents[0]), float(d.lambda_physical.exponents[0])
    assert abs(ln - lp) < 0.01
    assert d.gradient_interval[0] <= lp <= d.gradient_interval[1]
    assert d.truncation_horizon == pytest.approx(math.log(2) / lp)


@pytest.mark.slow
def test_rl_contact_gradients(rl):
    table = next(t for s in rl.sections for t in s.tables if t.title.startswith("Gradient estimates"))
    rows = {(r[0], r[1]): r for r in table.rows}
    for contact in ("event", "reflect"):
        jump = rows[(contact, "largest jump")]
        away = rows[(contact, "farthest from any jump")]
        assert jump[-1] == "DISAGREE" and away[-1] == "agree"
        zeroth, zeroth_err = (float(v) for v in jump[5].split(" ± "))
        predicted = float(jump[6])
        # The zeroth-order estimate carries the jump term J / (sigma sqrt(2 pi)): it
        # matches the prediction within 3 standard errors (the table shows 2).
        assert abs(zeroth - predicted) < 1.5 * zeroth_err
        first, first_err = (float(v) for v in jump[4].split(" ± "))
        assert abs(first - zeroth) > 1.5 * (first_err + zeroth_err)  # first order is biased at the jump
    assert rl.extra["pendulum, policy seed 0"].physics == "contracting"
    pend = rl.extra["pendulum, policy seed 0"]
    # The sensitivity converges: the gradient changes by less than a factor 2 over the
    # longest horizon (measured: a factor 1.003).
    assert abs(pend.gradient_rate) * pend.gradient.horizons[-1] < math.log(2)


@pytest.mark.slow
def test_training_study_truncation_trains_and_clipping_keeps_the_variance():
    """Fitting rho of Lorenz-63 from 25: windows of ln 2 / lambda_1 (random or averaged)
    end within 0.3 of 28; backpropagation through the 20-unit record does not (error
    over 1); clipping is active on every step and leaves rho wandering at least 10 times
    more than the averaged windows do over the last 20% of steps."""
    study = studies.get("training").run(fast=True)
    rows = {r[0]: r for r in study.sections[0].tables[0].rows}
    assert float(rows["truncated"][2]) < 0.3 and float(rows["averaged windows"][2]) < 0.3
    assert float(rows["full"][2]) > 1.0
    assert rows["full, clipped"][5] == "100%"
    assert float(rows["full, clipped"][3]) > 10 * float(rows["averaged windows"][3])
    full, truncated = study.extra["log: full"], study.extra["log: truncated"]
    assert isinstance(full, cg.TrainingLog)
    # Adam hides the explosion from the updates; the monitor's gradient norm shows it.
    assert np.median(full.grad_norm) > 1e4 * np.median(truncated.grad_norm)
    assert full.symptom("huge-update") is None


@pytest.mark.slow
def test_attention_study_recurrence_follows_lambda_1_and_attention_a_power_law():
    """tanh RNNs: the rate of ln||d h_L / d x_1|| in L and the driven network's lambda_1
    (measured independently by the Lyapunov engine) agree within their combined 95%
    intervals; the LSTM decays; causal self-attention decays like L^-1 (the weight of a
    uniform softmax on the first of L positions): log-log slope in [-1.3, -0.7]."""
    study = studies.get("attention").run(fast=True)
    for name, rate, lyap in study.sections[0].tables[0].rows:
        r, lo, hi = (float(x) for x in rate.replace("[", " ").replace("]", " ").replace(",", " ").split())
        if name.startswith("tanh RNN"):
            lam, u = (float(x) for x in lyap.split("±"))
            assert lo - u <= lam <= hi + u, (name, rate, lyap)
        if name == "LSTM":
            assert hi < 0
    slope = float(study.findings[-1].split("L^")[1].split(":")[0])
    assert -1.3 <= slope <= -0.7


@pytest.mark.slow
def test_batch_norm_study_reproduces_yang_et_al():
    """Yang et al., ICLR 2019: with batch norm at initialisation the gradient explodes with
    depth for tanh, ReLU and linear (rate intervals above 0); the weight scale leaves the
    rate unchanged (within 1e-3 per layer: only BN's epsilon differs); the rate falls
    monotonically towards the linear regime; residual connections cut it by at least 3x."""
    study = studies.get("batch_norm").run(fast=True)
    rows = {r[0]: r[1] for r in study.sections[0].tables[0].rows}
    parse = lambda t: [float(x) for x in t.replace("[", " ").replace("]", " ").replace(",", " ").split()]
    for act in ("tanh", "relu", "linear"):
        assert parse(rows[f"{act}, batch norm"])[1] > 0, act
    rates = [parse(rows[f"tanh, batch norm{s}"])[0] for s in (", weight scale 0.25", "", ", weight scale 4")]
    assert max(rates) - min(rates) < 1e-3
    towards_linear = [
        parse(rows[f"{a}, batch norm"])[0] for a in ("tanh(2h)/2", "tanh", "2 tanh(h/2)", "4 tanh(h/4)", "linear")
    ]
    assert towards_linear == sorted(towards_linear, reverse=True)
    assert parse(rows["tanh, batch norm, residual"])[0] < parse(rows["tanh, batch norm"])[0] / 3
    assert parse(rows["relu, batch norm, residual"])[0] < parse(rows["relu, batch norm"])[0] / 3


@pytest.mark.slow
def test_mixed_precision_study_loss_scaling_moves_the_underflow_horizon():
    """Loss scaling with S = 2^14 moves the float16 underflow of a 0.8^n gradient by about
    14 ln 2 / 0.2231 = 43.5 steps (at least 30 here), its rate is within 0.02 of ln 0.8, and
    in training every layer gets a nonzero gradient where plain float16 gives several zeros."""
    study = studies.get("mixed_precision").run(fast=True)
    moved = study.findings[1]
    plain, scaled = (float(x) for x in moved.split("moves from ")[1].split(" steps")[0].split(" to "))
    assert scaled > plain + 30
    rates = {r[0]: float(r[1].split()[0]) for r in study.sections[0].tables[0].rows}
    assert abs(rates["float16, dynamic loss scaling"] - math.log(0.8)) < 0.02
    zeros = {r[0]: int(r[1].split()[0]) for r in study.sections[1].tables[0].rows}
    assert zeros["float16"] > 0 and zeros["float16, dynamic loss scaling"] == 0
