"""The training monitor (an optax transformation) and the rules of its symptoms: exact
statistics on a quadratic, each rule on a case built to trigger it and on one built not
to, and real runs through an unroll (float32 divergence, float16 overflow, clipping)."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import chaosgrad as cg
from chaosgrad._training import symptoms as rules


def _train(params, loss_fn, tx, steps, clip_norm=None):
    mon = cg.monitor(tx, clip_norm=clip_norm)
    state = mon.init(params)
    rec = cg.TrainingRecorder(params)

    @jax.jit
    def step(params, state):
        value, grads = jax.value_and_grad(loss_fn)(params)
        updates, state = mon.update(grads, state, params, value=value)
        return optax.apply_updates(params, updates), state

    for _ in range(steps):
        params, state = step(params, state)
        rec.record(state)
    return rec.log(), params


def test_statistics_of_sgd_on_a_quadratic_are_exact():
    """L = |w|^2 / 2 + |b - 1|^2 / 2 with SGD(lr): g = (w, b - 1), update = -lr g."""
    params = {"w": jnp.array([3.0, 4.0]), "b": jnp.array([2.0])}
    loss = lambda p: 0.5 * jnp.sum(p["w"] ** 2) + 0.5 * jnp.sum((p["b"] - 1) ** 2)
    log, _ = _train(params, loss, optax.sgd(0.1), 3)
    w, b = np.array([3.0, 4.0]), np.array([2.0])
    for s in range(3):
        g = np.concatenate([b - 1, w])  # leaves in key order: b, w
        np.testing.assert_allclose(log.grad_norm[s], np.linalg.norm(g), rtol=1e-6)
        np.testing.assert_allclose(log.layer_norms[s], [abs(b[0] - 1), np.linalg.norm(w)], rtol=1e-6)
        np.testing.assert_allclose(
            log.update_ratio[s], 0.1 * np.linalg.norm(g) / np.linalg.norm(np.r_[b, w]), rtol=1e-6
        )
        np.testing.assert_allclose(log.loss[s], 0.5 * w @ w + 0.5 * (b[0] - 1) ** 2, rtol=1e-6)
        w, b = w - 0.1 * w, b - 0.1 * (b - 1)
    assert log.layer_names == ("['b']", "['w']") and log.symptoms == ()


def test_each_rule_fires_on_its_case_and_not_on_a_smooth_decrease():
    smooth = 1.0 / (1.0 + np.arange(60.0))
    assert not rules.loss_spike(smooth).any() and not rules.oscillating_loss(smooth).any()
    spiky = smooth.copy()
    spiky[40] = 5.0
    assert np.nonzero(rules.loss_spike(spiky))[0].tolist() == [40]
    bouncing = 1.0 + 0.5 * (-1.0) ** np.arange(30) + 0.01 * np.random.default_rng(1).standard_normal(30)
    assert rules.oscillating_loss(bouncing)[rules.OSC_WINDOW :].all()
    noise = np.random.default_rng(0).standard_normal((50, 200))
    plateau_rate = np.mean([rules.oscillating_loss(1.0 + 0.1 * row).mean() for row in noise])
    assert plateau_rate < 0.01  # minibatch noise on a plateau: flagged on under 1% of steps
    decay_rate = np.mean([rules.oscillating_loss(np.exp(-np.arange(200) / 50) + 0.02 * row).mean() for row in noise])
    assert decay_rate < 0.01
    assert rules.huge_update([0.05, 0.2, np.nan]).tolist() == [False, True, False]
    assert rules.nan_gradient([0, 3]).tolist() == [False, True]
    big = np.finfo(np.float16).max / 8
    assert rules.overflow([0, 0, 1], [1.0, big, 1.0], [0.0, 0.0, 0.0], np.finfo(np.float16).max).tolist() == [
        False,
        True,
        True,
    ]


def _unrolled_logistic_loss(n):
    """Fit r of the logistic map from x_n: the loss of an n-step chaotic unroll."""

    def loss(p):
        def step(x, _):
            return p["r"] * x * (1 - x), None

        x, _ = jax.lax.scan(step, jnp.asarray(0.3, p["r"].dtype), None, length=n)
        return (x - 0.5) ** 2

    return loss


def test_a_long_chaotic_unroll_gives_huge_updates_and_clipping_bounds_them():
    """r = 3.9 (lambda ~ 0.5 per step), 40 steps: |dL/dr| ~ e^20, so plain SGD makes huge
    updates; clipping at 1 with lr 0.01 keeps every update at most 0.01 / 3.9 of |r|."""
    params = {"r": jnp.asarray(3.9, jnp.float64)}
    log, _ = _train(params, _unrolled_logistic_loss(40), optax.sgd(1e-3), 5)
    assert log.symptom("huge-update") is not None
    clipped, _ = _train(
        params,
        _unrolled_logistic_loss(40),
        optax.chain(optax.clip_by_global_norm(1.0), optax.sgd(1e-2)),
        20,
        clip_norm=1.0,
    )
    assert clipped.clipped.mean() > 0.5 and clipped.symptom("huge-update") is None
    assert np.all(clipped.update_norm <= 1e-2 * (1 + 1e-6))


def test_float16_gradients_near_overflow_then_nan_are_named():
    """float16 through a chaotic unroll: at 22 steps |dL/dr| ~ 1.2e4, within 16x of 65504
    (overflow: the next Jacobian factor passes it); at 40 steps the reverse pass has
    overflowed into NaN (inf - inf), and the rule says NaN gradients."""
    near, _ = _train({"r": jnp.asarray(3.9, jnp.float16)}, _unrolled_logistic_loss(22), optax.sgd(1e-9), 2)
    assert near.dtype == "float16" and near.symptom("overflow") is not None
    assert near.symptom("nan-gradient") is None
    far, _ = _train({"r": jnp.asarray(3.9, jnp.float16)}, _unrolled_logistic_loss(40), optax.sgd(1e-9), 2)
    assert far.symptom("nan-gradient").steps.tolist() == [0, 1]
    back = cg.Result.from_json(near.to_json())
    assert back.symptom("overflow").steps.tolist() == near.symptom("overflow").steps.tolist()


def test_bad_arguments_are_named():
    with pytest.raises(cg.ChaosgradInputError, match="inner"):
        cg.monitor(lambda g: g)
    with pytest.raises(cg.ChaosgradInputError, match="clip_norm"):
        cg.monitor(optax.sgd(0.1), clip_norm=-1.0)
    with pytest.raises(cg.ChaosgradInputError, match="record"):
        cg.TrainingRecorder().log()
