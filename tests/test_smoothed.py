"""Exact checks of the first-order against zeroth-order estimates of a smoothed loss's
gradient (chaosgrad._nonsmooth.estimators), on programs whose smoothed gradient is known in closed
form.

Tolerances. Every estimate is checked against its closed form through the result's own
interval: a simultaneous (Bonferroni over the components) 95% Student-t interval, so a
correct estimator misses with probability at most 5% per horizon; the seeds are fixed, so
the tests are deterministic, and the seeds were not chosen to pass. So that a wrong
estimator (a factor of 2, a sign, a missing term) cannot pass by a wide interval, every
check also bounds the interval's half-width by a quarter of the closed form's size: the
interval is then informative, and a wrong estimate falls outside it.
"""

from __future__ import annotations

import math

import jax.numpy as jnp
import numpy as np
import pytest
from scipy.special import ndtr

import chaosgrad as cg
from chaosgrad._nonsmooth.estimators import interpolation_alpha, smoothed_advice


def phi(z):
    return math.exp(-z * z / 2) / math.sqrt(2 * math.pi)


def Phi(z):
    return float(ndtr(z))


def covers(result, h, exact):
    """The zeroth-order interval at horizon ``h`` covers ``exact`` and is narrower than a
    quarter of it (see the module docstring)."""
    lo, hi = result.zeroth_low[h], result.zeroth_high[h]
    exact = np.atleast_1d(np.asarray(exact, np.float64))
    assert np.all((lo <= exact) & (exact <= hi)), (lo, exact, hi)
    assert np.all((hi - lo) / 2 < 0.25 * np.max(np.abs(exact))), (hi - lo, exact)


# --- a step function: L_T = H(y_T - c) through y_{n+1} = a y_n ---------------------------

A, C, Y0, SIGMA = 1.1, 0.5, 0.4, 0.2


def test_step_function_loss_first_order_zero_zeroth_order_exact():
    """``F_T(y0) = P(a^n (y0 + sigma eps) > c) = Phi(z)``, ``z = (a^n y0 - c) / (a^n sigma)``,
    so ``dF_T/dy0 = phi(z) / sigma``. AD differentiates ``where(y > c, 1, 0)`` to exactly
    0 at every sample: the first-order estimate is 0, biased."""
    sim = cg.MapSimulator(lambda y, p: p["a"] * y)
    res = cg.smoothed_gradients(
        sim,
        jnp.array([Y0]),
        {"a": jnp.asarray(A)},
        horizons=[1, 2, 4],
        wrt="y0",
        loss=lambda y: jnp.where(y[0] > C, 1.0, 0.0),
        sigma=SIGMA,
        samples=2048,
        seed=3,
    )
    for h, n in enumerate(res.horizon_steps):
        z = (A**n * Y0 - C) / (A**n * SIGMA)
        exact = phi(z) / SIGMA
        covers(res, h, exact)
        assert res.first_order[h, 0] == 0.0  # AD of a step function: exactly zero
        assert res.biased[h]
    # The non-smoothness is in the loss, not in the (linear) steps.
    assert res.nonsmooth_steps.size == 0 and res.loss_flags > 0
    assert res.confirmed


def test_floor_loss_biased_and_clip_loss_unbiased():
    """Through ``y_n = a^n y0`` with noise ``sigma`` on ``y0`` (``u = y0 + sigma eps``):

    - ``L = floor(y_n / w)`` jumps by 1 wherever ``u = k w / a^n``, so
      ``dF/dy0 = sum_k phi((y0 - k w / a^n) / sigma) / sigma``; AD gives 0;
    - ``L = clip(y_n, lo, hi)`` is continuous with derivative ``a^n 1[lo < a^n u < hi]``,
      so ``dF/dy0 = a^n (Phi((hi / a^n - y0) / sigma) - Phi((lo / a^n - y0) / sigma))``, which
      AD's mean also is: the first order is unbiased, and the cause must not fire.
    """
    a, y0, sigma, w, lo, hi = 1.1, 0.4, 0.2, 0.25, 0.2, 0.6
    sim = cg.MapSimulator(lambda y, p: p * y)
    floor = cg.smoothed_gradients(
        sim,
        jnp.array([y0]),
        jnp.asarray(a),
        horizons=[1, 3],
        wrt="y0",
        loss=lambda y: jnp.floor(y[0] / w),
        sigma=sigma,
        samples=2048,
        seed=4,
    )
    clip = cg.smoothed_gradients(
        sim,
        jnp.array([y0]),
        jnp.asarray(a),
        horizons=[1, 3],
        wrt="y0",
        loss=lambda y: jnp.clip(y[0], lo, hi),
        sigma=sigma,
        samples=2048,
        seed=4,
    )
    for h, n in enumerate(floor.horizon_steps):
        s = a ** int(n)
        # Terms beyond |k| = 40 are below phi(15) ~ 1e-49.
        exact_floor = sum(phi((y0 - k * w / s) / sigma) for k in range(-40, 41)) / sigma
        covers(floor, h, exact_floor)
        assert floor.first_order[h, 0] == 0.0 and floor.biased[h]
        exact_clip = s * (Phi((hi / s - y0) / sigma) - Phi((lo / s - y0) / sigma))
        covers(clip, h, exact_clip)
        assert not clip.biased[h]
    assert floor.confirmed and not clip.confirmed


# --- a bouncing ball against a wall at x = 0 ---------------------------------------------

E = 0.8  # coefficient of restitution
X0, V0, BALL_SIGMA = 1.0, -0.25, 0.1


def ball(y, e):
    """One step (dt = 1) of a ball moving towards a wall at x = 0: a reflection with
    restitution ``e`` when the step would cross it."""
    x1 = y[0] + y[1]
    hit = x1 < 0
    return jnp.stack([jnp.where(hit, -e * x1, x1), jnp.where(hit, -e * y[1], y[1])])


def ball_velocity_gradient(n):
    """``d/d(x0, v0) E[v_n]`` with noise ``sigma`` on both. The ball bounces (once: it then
    moves away) iff ``m = x0 + n v0 < 0``, so ``v_n = v (1 - (1 + e) 1[m < 0])``. With
    ``s = sigma sqrt(1 + n^2)``, ``c = -E[m] / s``, ``rho = corr(v, m) = n / sqrt(1 + n^2)``:
    ``E[v 1[m < 0]] = v0 Phi(c) - sigma rho phi(c)``, whose derivatives give the closed form
    below. AD sees ``(0, 1 - (1 + e) 1[m < 0])``: it misses the jump's term."""
    s = BALL_SIGMA * math.sqrt(1 + n * n)
    rho = n / math.sqrt(1 + n * n)
    c = -(X0 + n * V0) / s
    k = phi(c) * (V0 + BALL_SIGMA * rho * c) / s
    smoothed = np.array([(1 + E) * k, 1 - (1 + E) * (Phi(c) - n * k)])
    first_order = np.array([0.0, 1 - (1 + E) * Phi(c)])
    return smoothed, first_order


def test_bouncing_ball_velocity_first_order_biased_zeroth_order_exact():
    sim = cg.MapSimulator(ball)
    res = cg.smoothed_gradients(
        sim,
        jnp.array([X0, V0]),
        jnp.asarray(E),
        horizons=[2, 4, 6],
        wrt="y0",
        loss=lambda y: y[1],
        sigma=BALL_SIGMA,
        samples=4000,
        seed=1,
    )
    for h, n in enumerate(res.horizon_steps):
        smoothed, first = ball_velocity_gradient(int(n))
        covers(res, h, smoothed)
        assert res.first_order[h, 0] == 0.0
        # The first-order mean is the fraction of bounces; its own sampling error is that
        # of a proportion, (1 + e) sqrt(p (1 - p) / (2 N)) <= 0.9 / sqrt(8000) = 0.01.
        assert abs(res.first_order[h, 1] - first[1]) < 0.03
        assert res.biased[h]
    # Where: the pair's trajectories cross the wall around step 3 (x: 1, 0.75, 0.5, 0.25,
    # 0 at step 4); far from the wall (step 0) the step is linear and never flagged.
    assert res.step_flags[0] == 0
    assert int(np.argmax(res.step_flags)) == 3
    assert res.step_disagreement[0] < 1e-10  # a linear step: round-off only


def test_bouncing_ball_position_kink_first_order_unbiased():
    """The position is continuous (a kink at the wall): ``x_n = m`` or ``-e m``, so
    ``d/dx0 E[x_n] = Phi(-c) - e Phi(c)`` and ``d/dv0 = n`` times it; AD's mean is the same.
    The steps are still flagged (a kink is non-smooth) but the estimates agree."""
    sim = cg.MapSimulator(ball)
    res = cg.smoothed_gradients(
        sim,
        jnp.array([X0, V0]),
        jnp.asarray(E),
        horizons=[2, 4, 6],
        wrt="y0",
        loss=lambda y: y[0],
        sigma=BALL_SIGMA,
        samples=4000,
        seed=1,
    )
    for h, n in enumerate(res.horizon_steps):
        c = -(X0 + n * V0) / (BALL_SIGMA * math.sqrt(1 + n * n))
        gx = Phi(-c) - E * Phi(c)
        covers(res, h, [gx, n * gx])
        assert not res.biased[h]
    assert not res.confirmed
    assert res.step_flags[3] > 0


# --- a smooth system: the two agree --------------------------------------------------------


def test_smooth_linear_map_estimators_agree_with_closed_form():
    """``y_n = a^n y0`` with noise on ``a``, ``L = y_n``: ``F = y0 E[(a + sigma eps)^n]``, so
    ``dF/da = n y0 E[(a + sigma eps)^(n - 1)]`` = ``y0``, ``2 a y0``, ``3 (a^2 + sigma^2) y0``
    for ``n = 1, 2, 3``. Both estimators are unbiased; neither differs from the other."""
    a, y0, sigma = 0.9, 1.5, 0.05
    sim = cg.MapSimulator(lambda y, p: p["a"] * y)
    res = cg.smoothed_gradients(
        sim,
        jnp.array([y0]),
        {"a": jnp.asarray(a)},
        horizons=[1, 2, 3],
        wrt="a",
        loss=lambda y: y[0],
        sigma=sigma,
        samples=2048,
        seed=5,
    )
    exact = [y0, 2 * a * y0, 3 * (a * a + sigma * sigma) * y0]
    for h in range(3):
        covers(res, h, exact[h])
        # The first-order estimate of a polynomial in a: unbiased, and its own error is
        # sigma n(n-1)|a|^(n-2)|y0| / sqrt(2N) at most 0.01 here (2 x that is the bound).
        assert abs(res.first_order[h, 0] - exact[h]) < 0.02
        assert res.difference_low[h, 0] <= 0 <= res.difference_high[h, 0]
    assert not res.biased.any()
    assert res.nonsmooth_steps.size == 0 and res.loss_flags == 0
    # n = 1: the loss is linear in a, so the first-order estimate has no variance at all
    # and pays: the advice says so at every horizon measured.
    assert res.first_order_trace[0] < 1e-20
    advice = {r.topic: r for r in smoothed_advice(res)}
    assert "pays at every horizon" in advice["first-order horizon"].text
    assert np.all(interpolation_alpha(res) > 0.9)


def test_quadratic_loss_two_dimensional_initial_state():
    """``L = |y_n|^2 / 2`` through ``y_{k+1} = M y_k``: ``grad F = (M^n)^T M^n y0`` exactly
    (the noise's mean is zero), a smooth case with a non-zero first-order variance."""
    M = np.array([[0.9, 0.3], [-0.2, 1.05]])
    y0 = np.array([1.0, -0.5])
    sim = cg.MapSimulator(lambda y, p: p @ y)
    res = cg.smoothed_gradients(
        sim,
        jnp.asarray(y0),
        jnp.asarray(M),
        horizons=[2, 5],
        wrt="y0",
        loss=lambda y: 0.5 * jnp.sum(y * y),
        sigma=0.1,
        samples=2048,
        seed=2,
    )
    for h, n in enumerate(res.horizon_steps):
        Mn = np.linalg.matrix_power(M, int(n))
        covers(res, h, Mn.T @ Mn @ y0)
        assert np.all(res.difference_low[h] <= 0) and np.all(res.difference_high[h] >= 0)
    assert not res.confirmed


# --- advice, serialisation, argument checks -------------------------------------------------


def test_advice_crossover_horizon_from_measured_variances():
    """Variance growth: ``y_{n+1} = 2 y_n`` and ``L = sin(y_n)`` wrt y0. A pair's
    first-order estimate is ``2^n cos(2^n y0) cos(2^n sigma eps)``, whose variance grows like
    ``4^n`` (times a bounded factor, see the next test), while the zeroth-order's is bounded
    by ``E[(L_+ - L_-)^2 eps^2] / (4 sigma^2) <= 1 / sigma^2`` (as ``|sin| <= 1``): the first
    order stops paying between the
    horizons where the measured ratio crosses 1, which the advice must state inside that
    bracket."""
    sim = cg.MapSimulator(lambda y, p: 2.0 * y)
    res = cg.smoothed_gradients(
        sim,
        jnp.array([0.3]),
        None,
        horizons=[1, 2, 4, 6, 8],
        wrt="y0",
        loss=lambda y: jnp.sin(y[0]),
        sigma=0.3,
        samples=1024,
        seed=0,
    )
    ratio = res.first_order_trace / res.zeroth_order_trace
    assert ratio[0] < 1 < ratio[-1]
    advice = {r.topic: r for r in smoothed_advice(res)}
    cross = advice["first-order horizon"].value
    i = int(np.flatnonzero(ratio > 1)[0])
    assert res.horizons[i - 1] <= cross <= res.horizons[i]
    alpha = interpolation_alpha(res)
    assert alpha[0] > 0.5 > alpha[-1]


def test_result_round_trips_through_json():
    sim = cg.MapSimulator(ball)
    res = cg.smoothed_gradients(
        sim,
        jnp.array([X0, V0]),
        jnp.asarray(E),
        horizons=[4],
        wrt="y0",
        loss=lambda y: y[1],
        sigma=BALL_SIGMA,
        samples=16,
        seed=0,
    )
    back = cg.Result.from_json(res.to_json())
    assert isinstance(back, cg.SmoothedGradientResult)
    for name in ("first_order", "zeroth_order", "difference_low", "step_flags", "biased", "nonsmooth_steps"):
        assert np.array_equal(getattr(back, name), getattr(res, name))
    assert back.method == res.method and back.loss_flags == res.loss_flags


@pytest.mark.parametrize(
    "change, argument",
    [
        ({"sigma": 0.0}, "sigma"),
        ({"sigma": math.inf}, "sigma"),
        ({"sigma": True}, "sigma"),
        ({"samples": 1}, "samples"),
        ({"samples": 2.5}, "samples"),
        ({"horizons": []}, "horizons"),
        ({"horizons": [3, 2]}, "horizons"),
        ({"wrt": "b"}, "wrt"),
        ({"confidence": 1.0}, "confidence"),
        ({"tolerance": 0.0}, "tolerance"),
        ({"seed": -1}, "seed"),
        ({"loss": 3}, "loss"),
    ],
)
def test_arguments_checked_before_anything_runs(change, argument):
    calls = []

    def step(y, p):
        calls.append(1)
        return p["a"] * y

    kwargs = dict(horizons=[1, 2], wrt="a", loss=lambda y: y[0], sigma=0.1, samples=8, seed=0)
    kwargs.update(change)
    with pytest.raises(cg.ChaosgradInputError, match=argument):
        cg.smoothed_gradients(cg.MapSimulator(step), jnp.array([1.0]), {"a": jnp.asarray(0.5)}, **kwargs)
    assert not calls  # nothing traced, let alone run


def test_first_order_variance_of_a_doubling_map_matches_its_closed_form():
    """Through ``y_{n+1} = 2 y_n`` with ``L = sin(y_n)``, a pair's first-order estimate is
    ``(g(x + sigma eps) + g(x - sigma eps)) / 2 = 2^n cos(2^n x) cos(k eps)``, ``k = 2^n
    sigma``, whose variance is ``4^n cos^2(2^n x) ((1 + e^{-2 k^2}) / 2 - e^{-k^2})``. The
    sample variance of ``N = 1024`` pairs has a relative standard error of about
    ``sqrt((kurtosis - 1) / N)``, with the kurtosis of ``cos(k eps)`` at most 1.5 once
    ``k >> 1`` (a cosine of a uniform phase) and 3 at most otherwise: at most 4.4%; 15% is
    more than three of those. The fitted growth rate of the variance (advice) then matches
    the closed form's rate to 0.05 per step (each log-variance is good to 0.05, and the
    slope over n = 4..8 divides that by sqrt(sum (n - 6)^2) = 3.2)."""
    from chaosgrad._nonsmooth.advice import variance_rate

    x, sigma = 0.3, 0.3
    sim = cg.MapSimulator(lambda y, p: 2.0 * y)
    res = cg.smoothed_gradients(
        sim,
        jnp.array([x]),
        None,
        horizons=[4, 5, 6, 7, 8],
        wrt="y0",
        loss=lambda y: jnp.sin(y[0]),
        sigma=sigma,
        samples=1024,
        seed=0,
    )
    n = res.horizon_steps.astype(float)
    k = 2**n * sigma
    exact = 4**n * np.cos(2**n * x) ** 2 * ((1 + np.exp(-2 * k * k)) / 2 - np.exp(-k * k))
    assert np.all(np.abs(res.first_order_trace / exact - 1) < 0.15), res.first_order_trace / exact
    assert abs(variance_rate(res.horizons, res.first_order_trace) - variance_rate(res.horizons, exact)) < 0.05
    assert "Least-squares growth rates" in smoothed_advice(res)[0].text


def test_a_loss_that_reads_a_passive_leaf_is_not_flagged():
    """A running sum carried outside the tangent space (rule 10), read by a smooth loss:
    the loss's check differentiates along every floating leaf, so nothing is flagged and
    the two estimates agree."""
    sim = cg.MapSimulator(lambda y, a: {"x": a * y["x"], "acc": y["acc"] + y["x"]}, tangent=lambda y: y["x"])
    y0 = {"x": jnp.asarray(1.0), "acc": jnp.asarray(0.0)}
    res = cg.smoothed_gradients(
        sim,
        y0,
        jnp.asarray(0.9),
        horizons=[3, 6],
        wrt="y0",
        loss=lambda y: y["acc"] ** 2,
        sigma=0.1,
        samples=256,
        seed=0,
    )
    assert res.loss_flags == 0 and res.nonsmooth_steps.size == 0
    assert not res.biased.any()


def test_advice_on_a_ratio_that_crosses_and_comes_back():
    """The advice's logic on given variances (no sampling): ratio 0.5, 2, 0.5 at T = 1, 2, 4
    first crosses 1 at ln-interpolated T = 1.5 and is below again at T = 4, which the
    advice says; 0.5, 2, 8 stops paying from T = 1.5 on."""
    import dataclasses

    sim = cg.MapSimulator(lambda y, p: p * y)
    res = cg.smoothed_gradients(
        sim,
        jnp.array([1.0]),
        jnp.asarray(0.9),
        horizons=[1, 2, 4],
        wrt="y0",
        loss=lambda y: y[0] ** 2,
        sigma=0.1,
        samples=8,
        seed=0,
    )
    zeroth = np.ones(3)
    back = dataclasses.replace(
        res,
        first_order_trace=np.array([0.5, 2.0, 0.5]),
        zeroth_order_trace=zeroth,
        covariance_trace=np.zeros(3),
        biased=np.zeros(3, bool),
    )
    advice = {r.topic: r for r in smoothed_advice(back)}["first-order horizon"]
    assert advice.value == pytest.approx(1.5) and "below again at T = 4" in advice.text
    back = dataclasses.replace(back, first_order_trace=np.array([0.5, 2.0, 8.0]))
    advice = {r.topic: r for r in smoothed_advice(back)}["first-order horizon"]
    assert advice.value == pytest.approx(1.5) and "stops paying beyond" in advice.text
    # Inverse-variance weights with independent samples: alpha = tr S0 / (tr S1 + tr S0).
    assert np.allclose(interpolation_alpha(back), 1 / (1 + np.array([0.5, 2.0, 8.0])))
