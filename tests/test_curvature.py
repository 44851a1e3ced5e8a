"""Curvature: top Hessian eigenvalues of the horizon-T loss by Lanczos on Hessian-vector
products, checked against closed forms first (quadratic losses through linear maps, a
scalar recurrence), then against the chaos prediction exp(2 lambda_1 T)."""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
import pytest

import chaosgrad as cg
from chaosgrad._landscape.curvature import curvature_regime
from chaosgrad._landscape.lanczos import lanczos

RNG = np.random.default_rng(7)
_M = RNG.normal(size=(4, 4))
A4 = 1.3 * _M / max(abs(np.linalg.eigvals(_M)))  # spectral radius 1.3: an expanding map
HALF_SQUARE = lambda y: 0.5 * jnp.sum(y**2)


def linear_map():
    return cg.MapSimulator(lambda x, a: a @ x)


def test_quadratic_loss_through_a_linear_map_is_exact():
    """L = |A^n y0|^2 / 2 has Hessian (A^n)^T A^n for every y0: with iterations = dimension
    the Ritz values are its eigenvalues (to round-off: 1e-9 relative covers n <= 16 products
    of 4 x 4 matrices in float64) and the residual bounds are exactly zero."""
    r = cg.curvature(
        linear_map(), jnp.ones(4), jnp.asarray(A4), loss=HALF_SQUARE, horizons=[4, 8, 16], wrt="y0", members=3, k=2
    )
    assert r.iterations == r.dimension == 4 and r.status == "ok"
    for h, n in enumerate(r.horizon_steps):
        An = np.linalg.matrix_power(A4, int(n))
        exact = np.sort(np.linalg.eigvalsh(An.T @ An))[::-1][:2]
        for m in range(3):
            np.testing.assert_allclose(r.eigenvalues[m, h], exact, rtol=1e-9)
    assert np.all(r.residuals == 0)
    # The sharpness grows like sigma_1(A^n)^2: rate 2 ln rho(A) per step asymptotically.
    rho = max(abs(np.linalg.eigvals(A4)))
    assert r.rate_low <= 2 * np.log(rho) <= r.rate_high
    assert r.regime == "growing"


def test_a_parameter_entering_linearly_has_the_gram_hessian():
    """y_{n+1} = A y_n + B theta, L = |y_n|^2 / 2: H = S_n^T S_n with S_n = sum_{j<n} A^j B."""
    B = RNG.normal(size=(4, 2))
    sim = cg.MapSimulator(lambda x, a: a["A"] @ x + a["B"] @ a["theta"])
    args = {"A": jnp.asarray(A4), "B": jnp.asarray(B), "theta": jnp.array([0.3, -0.2])}
    r = cg.curvature(sim, jnp.ones(4), args, loss=HALF_SQUARE, horizons=[3, 6, 12], wrt="theta", members=2, k=2)
    for h, n in enumerate(r.horizon_steps):
        S = sum(np.linalg.matrix_power(A4, j) for j in range(int(n))) @ B
        np.testing.assert_allclose(r.eigenvalues[0, h], np.sort(np.linalg.eigvalsh(S.T @ S))[::-1], rtol=1e-9)


def test_scalar_recurrence_second_derivative_in_its_parameter():
    """x_{n+1} = a x_n, L = x_n: d^2 L / da^2 = n (n - 1) a^(n-2) x0 exactly. Its rate is
    ln a (plus a polynomial prefactor), not 2 ln a: the state is linear in x0, so the
    exp(2 lambda T) of chaos is not a law of every unroll."""
    r = cg.curvature(
        cg.MapSimulator(lambda x, a: a * x),
        jnp.array([0.7]),
        1.1,
        loss=lambda y: y[0],
        horizons=[5, 10, 20],
        wrt="args",
        members=1,
        k=1,
    )
    n = r.horizon_steps
    np.testing.assert_allclose(r.eigenvalues[0, :, 0], n * (n - 1) * 1.1 ** (n - 2) * 0.7, rtol=1e-12)
    np.testing.assert_allclose(r.gradient_norms[0], n * 1.1 ** (n - 1) * 0.7, rtol=1e-12)


def test_lanczos_with_fewer_steps_than_the_dimension_respects_its_residual_bound():
    """A symmetric 60 x 60 operator, 25 steps: each Ritz value lies within its residual of
    an eigenvalue (Parlett thm 11.4.1), and the top one, well separated, has converged."""
    Q, _ = np.linalg.qr(RNG.normal(size=(60, 60)))
    lam = np.concatenate([[50.0, -30.0, 12.0], RNG.uniform(-1, 1, 57)])
    ops = np.stack([Q @ np.diag(lam) @ Q.T, Q @ np.diag(lam * 2) @ Q.T])
    ritz = lanczos(lambda V: np.einsum("mij,mj->mi", ops, V), 2, 60, 25, 3, np.random.default_rng(0))
    for m, scale in enumerate((1.0, 2.0)):
        for value, bound in zip(ritz.values[m], ritz.residuals[m]):
            assert np.min(np.abs(scale * lam - value)) <= bound + 1e-9 * scale * 50
        assert abs(ritz.values[m, 0] - 50 * scale) < 1e-8 * scale * 50


def test_a_contracting_unroll_settles():
    """Logistic map at r = 2.8 (stable fixed point x* = 1 - 1/r, multiplier 2 - r = -0.8):
    d^2 x_n / dr^2 converges to d^2 x* / dr^2 = -2 / r^3; the transient is O(n^2 0.8^n),
    below 1e-10 at n = 160."""
    sim = cg.MapSimulator(lambda x, r: r * x * (1 - x))
    r = cg.curvature(
        sim, jnp.array([0.3]), 2.8, loss=lambda y: y[0], horizons=[20, 40, 160], wrt="args", members=4, k=1
    )
    assert r.regime == "settling", r.regime_reason
    np.testing.assert_allclose(r.eigenvalues[:, -1, 0], -2 / 2.8**3, rtol=1e-8)


def test_regime_rule():
    assert curvature_regime(1.8, 1.6, 2.1, 6.0)[0] == "growing"
    assert curvature_regime(0.0, -0.01, 0.01, 6.0)[0] == "settling"
    assert curvature_regime(-1.0, -1.2, -0.8, 6.0)[0] == "decaying"
    assert curvature_regime(0.1, -0.1, 0.3, 6.0)[0] == "undecided"
    assert curvature_regime(float("nan"), float("nan"), float("nan"), 6.0)[0] == "undecided"


def test_overflow_is_recorded_not_raised():
    """float16: the Hessian of |3^n x0|^2 / 2 overflows past n ~ 10 (3^20 > 65504): those
    horizons are NaN, the short ones exact."""
    sim = cg.MapSimulator(lambda x, a: a * x, dtype="float16")
    r = cg.curvature(
        sim, jnp.array([1.0, 0.5]), jnp.float16(3.0), loss=HALF_SQUARE, horizons=[2, 4, 16], wrt="y0", members=1, k=1
    )
    short = r.horizon_steps <= 4
    np.testing.assert_allclose(r.eigenvalues[0, short, 0], 9.0 ** r.horizon_steps[short], rtol=2e-3)
    assert np.isnan(r.eigenvalues[0, -1, 0]) and r.status == "partial-nonfinite"


@pytest.mark.parametrize(
    "kw,name",
    [({"k": 0}, "k"), ({"iterations": 0}, "iterations"), ({"wrt": "nope"}, "wrt"), ({"horizons": [1, 2]}, "horizons")],
)
def test_bad_arguments_are_named(kw, name):
    call = dict(loss=HALF_SQUARE, horizons=[4, 8, 16], wrt="y0")
    call.update(kw)
    with pytest.raises(cg.ChaosgradInputError, match=name):
        cg.curvature(linear_map(), jnp.ones(4), {"a": jnp.asarray(A4)} if name == "wrt" else jnp.asarray(A4), **call)


def test_result_round_trips_through_json():
    r = cg.curvature(
        linear_map(), jnp.ones(4), jnp.asarray(A4), loss=HALF_SQUARE, horizons=[2, 4, 8], wrt="y0", members=2, k=1
    )
    back = cg.Result.from_json(r.to_json())
    np.testing.assert_array_equal(back.eigenvalues, r.eigenvalues)
    assert back.regime == r.regime


def test_slice_of_a_quadratic_is_the_closed_form():
    """L(x0 + s d) = |A^n (x0 + s d)|^2 / 2: a parabola, at most one turning point."""
    x0 = jnp.array([1.0, -0.5, 0.2, 0.3])
    d = np.array([1.0, 2.0, 0.0, -1.0])
    r = cg.loss_slice(
        linear_map(),
        x0,
        jnp.asarray(A4),
        loss=HALF_SQUARE,
        horizons=[2, 4, 8],
        wrt="y0",
        direction=d,
        radius=0.5,
        points=41,
    )
    u = d / np.linalg.norm(d)
    for h, n in enumerate(r.horizon_steps):
        An = np.linalg.matrix_power(A4, int(n))
        exact = [0.5 * np.sum((An @ (np.asarray(x0) + s * u)) ** 2) for s in r.offsets]
        np.testing.assert_allclose(r.losses[h], exact, rtol=1e-12)
    assert np.all(r.turning_points <= 1) and np.all(r.roughness <= 2.0 + 1e-12)


@pytest.mark.slow
def test_lorenz_sharpness_grows_twice_as_fast_as_the_gradient():
    """Metz et al. 2021 (sec. 3): through a chaotic unroll the Hessian grows like
    exp(2 lambda_1 T). Lorenz-63, z(T) against rho, 8 members on the attractor, horizons
    1..8: the interval holds 2 * 0.9056 (Sprott 2003), the gradient's holds 0.9056."""
    s = cg.zoo.lorenz63()
    r = cg.curvature(s.simulator, s.y0, s.args, loss=lambda y: y[2], horizons=[1, 2, 4, 8], wrt="rho", k=1)
    assert r.rate_low <= 2 * 0.9056 <= r.rate_high, (r.rate, r.rate_low, r.rate_high)
    assert r.gradient_rate_low <= 0.9056 <= r.gradient_rate_high
    assert r.regime == "growing"


@pytest.mark.slow
def test_lorenz_landscape_turns_rough_with_the_horizon():
    """Metz et al. 2021 (fig. 1): the loss of a long chaotic unroll is rough in its
    parameter. Lorenz-63, z(T) along rho in [27, 29]: monotone at T = 1, many turning
    points at T = 16 (finer sampling only adds more)."""
    s = cg.zoo.lorenz63()
    r = cg.loss_slice(
        s.simulator, s.y0, s.args, loss=lambda y: y[2], horizons=[1, 4, 16], wrt="rho", radius=1.0, points=401
    )
    assert r.turning_points[0] <= 1 and r.roughness[0] < 1.5
    assert r.roughness[2] > 20 * r.roughness[0] and r.turning_points[2] > 50
    assert np.all(np.diff(r.roughness) > 0)
