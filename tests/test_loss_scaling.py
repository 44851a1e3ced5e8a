"""Dynamic loss scaling: exact on maps whose gradients are powers of two, the underflow
horizon it moves (and by how much), the loss-scaling ablation of a float16 diagnosis,
and the training update's rules."""

from __future__ import annotations

import math

import jax.numpy as jnp
import numpy as np

import chaosgrad as cg
from chaosgrad._gradients.growth import measure_growth
from chaosgrad._gradients.loss_scaling import DynamicLossScale
from chaosgrad._gradients.options import prepare_measurement
from chaosgrad._runtime.precision import float64_scope


@float64_scope
def _growth(sim, y0, args, horizons, loss_scaling=None, loss=lambda y: y[0]):
    s, y0s, a, sel, lo, plan = prepare_measurement(
        sim,
        y0,
        args,
        loss=loss,
        horizons=horizons,
        wrt="y0",
        members=2,
        spacing=1.0,
        transient=0.0,
        ensemble=False,
        seed=0,
    )
    return measure_growth(s, y0s, a, loss=lo, sel=sel, plan=plan, loss_scaling=loss_scaling)


def test_halving_map_in_float16_underflows_at_2_to_the_minus_24_and_scaling_moves_it_by_its_exponent():
    """x -> x / 2, L = x_n: dL/dx_0 = 2^-n, exact in float16 down to its smallest subnormal
    2^-24. With the seed 1 and headroom 2^1 the scale is 2^14 (65504 < 2^16), so the
    scaled gradient 2^(14 - n) is exact down to n = 38 and zero beyond: the underflow
    horizon moves by exactly log2 S = 14 steps, no further."""
    sim = cg.MapSimulator(lambda x, a: a * x, dtype="float16")
    horizons = [4, 16, 24, 30, 38, 40, 48]
    plain = _growth(sim, jnp.array([1.0]), jnp.float16(0.5), horizons)
    scaled = _growth(sim, jnp.array([1.0]), jnp.float16(0.5), horizons, DynamicLossScale())
    n = plain.horizon_steps
    assert np.all(scaled.loss_scale_log2 == 14)
    np.testing.assert_allclose(plain.norms[0][n <= 24], 2.0 ** -n[n <= 24], rtol=1e-15)  # sqrt(x^2) in float64
    assert np.all(plain.zero[0][n > 24])
    np.testing.assert_allclose(scaled.norms[0][n <= 38], 2.0 ** -n[n <= 38], rtol=1e-15)
    assert np.all(scaled.zero[0][n > 38])
    assert abs(scaled.rate - math.log(0.5)) < 1e-12


def test_scaling_down_measures_a_gradient_beyond_float16s_largest_number():
    """Logistic map at r = 4 (lambda = ln 2): the float16 gradient passes 65504 near n = 16
    and is infinite beyond; scaled down by the dynamic scheme (exponents below 0) it stays
    finite while the forward state does, and grows at about ln 2 per step."""
    sim = cg.MapSimulator(lambda x, r: r * x * (1 - x), dtype="float16")
    horizons = [6, 12, 20, 24]
    plain = _growth(sim, jnp.array([0.3]), jnp.float16(4.0), horizons)
    scaled = _growth(sim, jnp.array([0.3]), jnp.float16(4.0), horizons, DynamicLossScale())
    long = plain.horizon_steps >= 20
    assert not np.isfinite(plain.norms[:, long]).any()
    assert np.isfinite(scaled.norms[:, long]).all() and (scaled.loss_scale_log2[:, long] < 0).all()


def test_diagnosis_of_a_float16_contraction_runs_the_loss_scaling_ablation():
    """Logistic map at r = 2.8 in float16: the gradient decays like 0.8^n (ln 0.8 = -0.2231)
    until float16's subnormals freeze it. The loss-scaling ablation confirms precision and
    its rate is within 0.02 of ln 0.8; the recommendation gives that rate."""
    d = cg.diagnose(
        cg.MapSimulator(lambda x, r: r * x * (1 - x), dtype="float16"),
        jnp.array([0.3]),
        2.8,
        horizons=[10, 40, 80, 120],
        members=4,
    )
    (ab,) = [a for a in d.ablations if a.name == "loss-scaling"]
    assert ab.confirmed and ab.status == "ok"
    assert abs(ab.rate_after - math.log(0.8)) < 0.02
    assert "precision" in d.causes
    assert any(r.topic == "loss-scaling" and "dynamic loss scaling" in r.text for r in d.recommendations)


def test_loss_scaling_is_not_suspected_in_float32():
    d = cg.diagnose(
        cg.MapSimulator(lambda x, r: r * x * (1 - x), dtype="float32"),
        jnp.array([0.3]),
        2.8,
        horizons=[10, 20, 40],
        members=3,
    )
    assert "loss-scaling" not in [a.name for a in d.ablations]


def test_training_update_rules():
    """Rule 2: a non-finite step lowers the exponent by backoff_log2 and resets the count;
    rule 3: period finite steps raise it by 1; rule 4: it stays within its bounds."""
    ls = DynamicLossScale(period=3, backoff_log2=2, max_log2=16)
    state = ls.init()
    assert float(state["log2"]) == 15
    for _ in range(3):
        state = ls.adjust(state, jnp.asarray(True))
    assert float(state["log2"]) == 16 and int(state["good"]) == 0
    for _ in range(3):
        state = ls.adjust(state, jnp.asarray(True))
    assert float(state["log2"]) == 16  # clipped at max_log2
    state = ls.adjust(state, jnp.asarray(False))
    assert float(state["log2"]) == 14 and int(state["good"]) == 0
    g = DynamicLossScale.unscale(state, {"w": jnp.asarray([2.0**14], jnp.float16)})
    assert g["w"].dtype == jnp.float32 and float(g["w"][0]) == 1.0
