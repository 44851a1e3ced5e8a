"""Every loss keeps the numbered rules of :class:`chaosgrad.AbstractLoss`.

Each rule is checked for every loss in ``LOSSES``: the built-in ones and two written here
as a user would (a discounted return with a baseline, a trajectory-matching loss against a
reference path), in about ten lines each. A new loss is checked by adding one line.

The dynamics are one small map whose state carries a running return (``ret``, ``total``)
beside its coordinates, so that every loss, :class:`~chaosgrad.ReturnLoss` included,
reads the same trajectory; the gradient is with respect to a parameter, so that it
covers every floating leaf the loss reads.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import chaosgrad as cg
from chaosgrad._gradients.losses import as_loss, check_scalar_loss
from chaosgrad._gradients.unroll import flat_objective
from chaosgrad._gradients.wrt import resolve_wrt
from chaosgrad._shadowing.api import _objective


class State(NamedTuple):
    x: jax.Array  # the coordinates: the dynamics
    ret: jax.Array  # sum_k gamma^k r_k, a passive record (as in chaosgrad.envs)
    total: jax.Array  # sum_k gamma^k


GAMMA, H = 0.99, 0.01


def reward(x):
    return -jnp.sum(jnp.square(x - jnp.array([0.0, 0.0, 25.0]))) / 100.0


def step(s, a):
    # One explicit Euler step of Lorenz-63 (h = 0.01: short horizons, finite gradients).
    x, y, z = s.x
    f = jnp.stack([10.0 * (y - x), x * (a["rho"] - z) - y, x * y - 8.0 / 3.0 * z])
    return State(s.x + H * f, s.ret + _discount(s) * reward(s.x), s.total + _discount(s))


def _discount(s):
    # gamma^k at step k, from the running total W_k = (1 - gamma^k) / (1 - gamma).
    return 1.0 - (1.0 - GAMMA) * s.total


SIM = cg.MapSimulator(step, tangent=lambda s: s.x)
# NumPy float64 at import (outside the tests' float64 scope), JAX arrays inside it.
Y0 = State(np.array([-8.0, 7.0, 27.0]), np.zeros(()), np.zeros(()))
ARGS = {"rho": 28.0}
HORIZONS = (8, 16, 32)


class DiscountedReturnWithBaseline(cg.AbstractLoss):
    """``sum_k gamma^k (r(y_k) - b) dt``: a discount in the integrand, a sum (weight 1)."""

    baseline: float = -1.0
    gamma: float = 0.95
    name: str = "discounted return minus a baseline"
    accumulates = True

    def integrand(self, t, y, template):
        return self.gamma**t * (reward(y.x) - self.baseline)


class TrajectoryMatching(cg.AbstractLoss):
    """``(1/T) sum_t |x(t) - x_ref(t)|^2 dt`` against a circle of the reference's radius."""

    centre: jax.Array  # an array field: traced (loss rule 8)
    name: str = "mean squared distance from a reference path"
    accumulates = True

    def integrand(self, t, y, template):
        ref = self.centre + 5.0 * jnp.stack([jnp.cos(t / 10), jnp.sin(t / 10), 0.0 * t])
        return jnp.sum(jnp.square(y.x - ref))

    def weight(self, T):
        return 1.0 / T


LOSSES = {
    "FinalStateLoss": cg.FinalStateLoss(lambda s: s.x[2] ** 2, name="final z(T)^2"),
    "TimeAveragedLoss": cg.TimeAveragedLoss(lambda s: s.x[2]),
    "LinearReadout": cg.LinearReadout(seed=3),
    "ReturnLoss": cg.ReturnLoss(),
    "ReturnLoss(per_step=False)": cg.ReturnLoss(per_step=False),
    "plain function": as_loss(lambda s: jnp.sin(s.x[0])),
    "user: discounted return with a baseline": DiscountedReturnWithBaseline(),
    "user: trajectory matching": TrajectoryMatching(np.array([1.0, -1.0, 24.0])),
}
params = pytest.mark.parametrize("loss", list(LOSSES.values()), ids=list(LOSSES))


def _states(n):
    """``n`` states along the trajectory from ``Y0`` (each a different point)."""
    _, ys = jax.lax.scan(lambda s, _: (step(s, ARGS), s), Y0, None, length=n)
    return ys


def _direct(loss, a, n):
    """``L_T`` by rule 2, in a plain loop of ``n`` steps: the definition the engines meet."""

    def body(carry, i):
        y, acc = carry
        part = loss.integrand(i * SIM.dt, y, Y0).astype(jnp.float64) * SIM.dt if loss.accumulates else 0.0
        return (step(y, a), acc + part), None

    (y, acc), _ = jax.lax.scan(body, (Y0, jnp.zeros((), jnp.float64)), jnp.arange(n))
    final = loss.final(y, Y0).astype(jnp.float64)
    return final + loss.weight(n * SIM.dt) * acc if loss.accumulates else final


@params
def test_rule_1_a_name_and_accepted_as_given(loss):
    assert isinstance(loss.name, str) and loss.name
    assert as_loss(loss) is loss


@params
def test_rule_6_scalar_floats_in_every_dtype(loss):
    check_scalar_loss(loss, Y0)
    for dtype in (jnp.float32, jnp.float64):
        y = jax.tree_util.tree_map(lambda v: v.astype(dtype), Y0)
        parts = [loss.final(y, y)] + ([loss.integrand(jnp.asarray(0.5), y, y)] if loss.accumulates else [])
        for out in parts:
            assert jnp.shape(out) == () and jnp.issubdtype(jnp.result_type(out), jnp.floating)
    v = loss.value(jnp.asarray(1.5), Y0, Y0, 4.0)
    assert jnp.shape(v) == () and jnp.result_type(v) == jnp.float64


@params
def test_rule_5_pure_jit_and_vmap_agree_with_eager_and_no_host_callbacks(loss):
    ys = _states(6)
    T = 6.0
    each = [loss.value(jnp.asarray(0.25 * i), jax.tree_util.tree_map(lambda v: v[i], ys), Y0, T) for i in range(6)]
    batched = jax.jit(jax.vmap(lambda acc, y: loss.value(acc, y, Y0, T)))(0.25 * jnp.arange(6.0), ys)
    # The same operations compiled and batched: XLA may fuse them, so round-off only.
    np.testing.assert_allclose(np.asarray(batched), np.asarray(each), rtol=1e-13, atol=0)
    jaxprs = [
        jax.make_jaxpr(lambda y: loss.final(y, Y0))(Y0),
        jax.make_jaxpr(lambda t, y: loss.integrand(t, y, Y0))(0.5, Y0),
        jax.make_jaxpr(loss.weight)(3.0),
    ]
    assert not any("callback" in str(j) for j in jaxprs)


@params
def test_rules_2_to_4_value_is_final_plus_weighted_integral(loss):
    y, integral, T = jax.tree_util.tree_map(lambda v: v[5], _states(6)), jnp.asarray(3.25), 8.0
    final = loss.final(y, Y0).astype(jnp.float64)
    expected = final + loss.weight(T) * integral if loss.accumulates else final
    # Rule 4 allows the same number computed another way (integral / T): round-off only.
    np.testing.assert_allclose(float(loss.value(integral, y, Y0, T)), float(expected), rtol=1e-14)
    # Rule 3: the weight is a function of T alone, traceable.
    assert float(jax.jit(lambda T: loss.weight(T))(T)) == pytest.approx(float(loss.weight(T)), rel=1e-15)


@params
def test_gradient_through_the_sweep_is_jax_grad_of_the_direct_loop(loss):
    g = cg.gradient_growth(SIM, Y0, ARGS, loss=loss, horizons=HORIZONS, wrt="rho", members=1)
    np.testing.assert_array_equal(g.reported_horizons, HORIZONS)
    for n, norm in zip(HORIZONS, g.norms[0, g.reported]):
        direct = jax.jit(jax.grad(lambda a: _direct(loss, a, n)))(ARGS)["rho"]
        # The same chain rule in another order (blocks, batched lanes) over at most 32
        # Euler steps: round-off, ~1e-14 relative; 1e-10 leaves room for cancellation.
        np.testing.assert_allclose(norm, abs(float(direct)), rtol=1e-10)


@params
def test_the_unrolled_objective_is_the_direct_loss(loss):
    # What curvature, gradient noise and smoothing differentiate (chaosgrad._gradients.unroll).
    x0_of, objective = flat_objective(SIM, loss, resolve_wrt("rho", ARGS), ARGS, Y0, 4, 8)
    for nb in (2, 5, 8):
        got = jax.jit(objective)(x0_of(Y0), Y0, nb)
        # Blocks of 4 steps summed in another order than one loop: round-off only.
        np.testing.assert_allclose(float(got), float(_direct(loss, ARGS, 4 * nb)), rtol=1e-12)


@params
def test_rule_7_the_long_time_average_property_is_consistent(loss):
    y, other = jax.tree_util.tree_map(lambda v: v[3], _states(4)), Y0
    if loss.long_time_average:
        assert loss.accumulates and float(loss.final(y, other)) == 0.0
        assert float(loss.weight(4.0)) * 4.0 == pytest.approx(1.0, rel=1e-15)
        # J(y) alone: the same at another time and with another template.
        assert float(loss.integrand(0.0, y, y)) == float(loss.integrand(7.25, y, other))
        J, name = _objective(loss)
        assert float(J(y)) == float(loss.integrand(0.0, y, y)) and name == loss.name
    else:
        with pytest.raises(cg.ChaosgradInputError, match="objective"):
            _objective(loss)


def test_the_user_losses_compute_what_they_say():
    # Independent of the rules: the two user losses against their formulas in NumPy.
    ys = jax.tree_util.tree_map(np.asarray, _states(16))
    t = np.arange(16.0)
    r = np.array([float(reward(jnp.asarray(x))) for x in ys.x])
    ret = float(_direct(LOSSES["user: discounted return with a baseline"], ARGS, 16))
    # float64 sums of 16 terms: round-off only.
    np.testing.assert_allclose(ret, np.sum(0.95**t * (r + 1.0)), rtol=1e-12)
    ref = np.array([1.0, -1.0, 24.0]) + 5.0 * np.stack([np.cos(t / 10), np.sin(t / 10), 0 * t], axis=1)
    match = float(_direct(LOSSES["user: trajectory matching"], ARGS, 16))
    np.testing.assert_allclose(match, np.mean(np.sum((ys.x - ref) ** 2, axis=1)), rtol=1e-12)


@pytest.mark.parametrize("bad,fix", [(3.0, "AbstractLoss"), ("z", "AbstractLoss"), (cg.FinalStateLoss, "instance")])
def test_anything_else_is_refused_naming_loss_and_the_fix(bad, fix):
    with pytest.raises(cg.ChaosgradInputError, match=f"(?s)`loss`.*{fix}"):
        cg.gradient_growth(SIM, Y0, ARGS, loss=bad, horizons=HORIZONS, wrt="rho")


def test_a_loss_without_a_name_is_refused():
    class Nameless(cg.AbstractLoss):
        def final(self, y, template):
            return y.x[0]

    with pytest.raises(cg.ChaosgradInputError, match="(?s)`loss`.*name"):
        cg.gradient_growth(SIM, Y0, ARGS, loss=Nameless(), horizons=HORIZONS, wrt="rho")
