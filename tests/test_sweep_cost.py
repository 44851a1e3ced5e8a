"""The gradient sweep's cost counts (``chaosgrad._gradients.cost``): pure arithmetic,
checked against the sweep's own layout for one plan."""

import logging

from chaosgrad._gradients.cost import log_sweep_cost, sweep_cost
from chaosgrad._gradients.sweep_blocks import horizon_lanes


def test_the_counts_follow_the_sweep_s_structure():
    # 8 members of a 1,024-dimensional state, 13 horizons (16 lanes), 2,080 steps.
    c = sweep_cost(1024, 8, horizon_lanes(13), 2080)
    assert c.lanes == 16
    assert c.forward_steps == 2 * 8 * 2080  # forward once, recomputed once on the way back
    assert c.vjps == 8 * 16 * 2080  # every lane through every step, every member
    assert c.vjp_flops == 8 * 16 * 2080 * 1024.0
    text = c.describe()
    assert "8 members x 16 horizon lanes over 2080 steps of a 1024-dimensional state" in text
    assert "2.66e+05 vector-Jacobian products" in text


def test_the_cost_is_logged_for_the_caller(caplog):
    with caplog.at_level(logging.INFO, logger="chaosgrad"):
        log_sweep_cost(sweep_cost(3, 8, 16, 2800), caller="diagnose: the gradient sweep")
    assert "diagnose: the gradient sweep: 8 members x 16 horizon lanes over 2800 steps" in caplog.text


def test_a_measurement_logs_the_cost_of_its_own_sweep(caplog):
    import jax.numpy as jnp

    import chaosgrad as cg

    sim = cg.MapSimulator(lambda y, a: a * y)
    with caplog.at_level(logging.INFO, logger="chaosgrad"):
        cg.gradient_growth(sim, jnp.ones(3), 1.1, horizons=[2, 4, 8], members=2)
    # 2 members of a 3-dimensional state, the plan's horizons padded to 16 lanes, 8 steps.
    assert "the gradient sweep: 2 members x 16 horizon lanes over 8 steps of a 3-dimensional state" in caplog.text
