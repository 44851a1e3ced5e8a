"""Steps with a step size of their own (``MapSimulator.from_step_size``): the
discretisation cause is testable for a user's velocity-Verlet step (issue 24, item 7).

The harmonic oscillator ``x'' = -w^2 x`` is exact here: its flow is a rotation
(exponents 0, 0); velocity Verlet with step ``h`` is the linear map with trace
``2 - (h w)^2``, a rotation (exponents 0) for ``h w < 2`` and, beyond, a saddle with
eigenvalues ``(tr -+ sqrt(tr^2 - 4)) / 2``: at ``h w = 2.5`` they are ``-4`` and
``-1/4``, exponents ``+-ln 4 / 2.5 = +-0.5545`` per time unit.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import chaosgrad as cg
from chaosgrad._simulators.capabilities import refinable

W2 = 1.0  # omega^2
Y0 = jnp.array([1.0, 0.0])
HORIZONS = (10.0, 20.0, 40.0, 80.0)
UNSTABLE_RATE = math.log(4.0) / 2.5


def verlet(h):
    """A velocity-Verlet step of size ``h``, written as a library would (kick, drift, kick)."""

    def step(y, w2):
        x, v = y[0], y[1]
        v = v - 0.5 * h * w2 * x
        x = x + h * v
        v = v - 0.5 * h * w2 * x
        return jnp.stack([x, v])

    return step


def _diagnose(sim):
    return cg.diagnose(sim, Y0, W2, horizons=HORIZONS, members=4, lyapunov_time=200.0, k=2)


def test_from_step_size_is_refinable_and_rebuilds_the_step():
    sim = cg.MapSimulator.from_step_size(verlet, dt=0.1)
    assert refinable(sim) and isinstance(sim, cg.StepSizeMapSimulator)
    assert not refinable(cg.MapSimulator(verlet(0.1), dt=0.1))
    finer = sim.with_step(0.05)
    # The refined simulator steps with the factory's step at the new size, exactly.
    with jax.enable_x64(True):
        y0 = jnp.asarray(Y0, jnp.float64)
        np.testing.assert_array_equal(np.asarray(finer.step(0.0, y0, W2)), np.asarray(verlet(0.05)(y0, W2)))
    twin = sim.with_dtype("float32").accurate_twin()
    assert twin.dtype == "float64" and twin.dt == sim.dt


def test_a_step_factory_that_is_not_callable_is_named():
    with pytest.raises(cg.ChaosgradInputError, match="step_factory"):
        cg.MapSimulator.from_step_size(0.1, dt=0.1)
    with pytest.raises(cg.ChaosgradInputError, match="dt"):
        cg.MapSimulator.from_step_size(verlet, dt=-0.1)


def test_a_verlet_step_too_large_is_confirmed_as_the_discretisation():
    d = _diagnose(cg.MapSimulator.from_step_size(verlet, dt=2.5))
    # The numerical map is the saddle, the reference (the step halved until the exponents
    # stop moving) the rotation. Tolerances: lambda_numerical is a QR estimate over 200
    # time units (80 steps), within 5% of the exact 0.5545; the reference's exponent is 0
    # to its own 95% interval (a rotation: only round-off and the finite time).
    assert d.lambda_numerical.exponents[0] == pytest.approx(UNSTABLE_RATE, rel=0.05)
    assert abs(d.lambda_physical.exponents[0]) < 0.01
    # The user's gradient grows at the saddle's rate (exact for a linear map, up to the
    # fit's intercept over 4 to 32 steps: 2%).
    assert d.gradient.rate == pytest.approx(UNSTABLE_RATE, rel=0.02)
    (ab,) = [a for a in d.ablations if a.cause == "discretization"]
    assert ab.confirmed and "discretization" in d.causes
    # The ablation runs the refined step: a rotation, whose gradient neither grows nor
    # decays (|rate| far below the saddle's 0.55; 0.01 is about ln 2 over 80 time units / 80).
    assert abs(ab.rate_after) < 0.01


def test_a_verlet_step_that_is_fine_is_not_confirmed():
    d = _diagnose(cg.MapSimulator.from_step_size(verlet, dt=0.1))
    # h w = 0.1: the numerical map is a rotation like the physics (exponents 0 to the QR
    # estimate's round-off), so the cause is not suspected and nothing is confirmed.
    assert abs(d.lambda_numerical.exponents[0]) < 0.01
    assert "discretization" not in d.causes
    assert not any(a.cause == "discretization" and a.confirmed for a in d.ablations)


def test_the_same_step_as_a_plain_map_cannot_test_the_discretisation():
    # The contrast that motivates the factory: wrapped as MapSimulator(step, dt=h) the
    # reference is the same step in float64, so the saddle is taken for the physics.
    d = _diagnose(cg.MapSimulator(verlet(2.5), dt=2.5))
    assert d.lambda_physical.exponents[0] == pytest.approx(UNSTABLE_RATE, rel=0.05)
    assert "discretization" not in d.causes
