"""Gradient noise over initial states: exact on a linear system with Gaussian initial
states (the per-example gradients have a closed form), then the chaos statement of
Parmas et al. 2018 and Metz et al. 2021 on Lorenz-63."""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
import pytest

import chaosgrad as cg

RNG = np.random.default_rng(11)
_M = RNG.normal(size=(3, 3))
A = 1.2 * _M / max(abs(np.linalg.eigvals(_M)))
B = RNG.normal(size=(3, 2))
THETA = np.array([0.4, -0.3])
MU = np.array([1.0, 0.0, -0.5])
C_HALF = np.diag([0.5, 1.0, 0.3])  # y0 ~ N(MU, C_HALF C_HALF^T)


def _system():
    sim = cg.MapSimulator(lambda x, a: a["A"] @ x + a["B"] @ a["theta"])
    args = {"A": jnp.asarray(A), "B": jnp.asarray(B), "theta": jnp.asarray(THETA)}
    return sim, args


def _closed_form(n, y0s):
    """y_n = A^n y0 + S_n theta with S_n = sum_{j<n} A^j B; L = |y_n|^2 / 2, so
    g = S_n^T y_n; over y0 ~ N(MU, C): G = S_n^T (A^n MU + S_n theta) and
    Sigma = S_n^T A^n C A^nT S_n."""
    An = np.linalg.matrix_power(A, n)
    S = sum(np.linalg.matrix_power(A, j) for j in range(n)) @ B
    per_example = (y0s @ An.T + S @ THETA) @ S
    G = S.T @ (An @ MU + S @ THETA)
    Sigma = S.T @ An @ (C_HALF @ C_HALF.T) @ An.T @ S
    return per_example, G, Sigma


def test_linear_gaussian_statistics_are_exact_on_the_sample():
    """On the examples drawn, the unbiased |G|^2, tr Sigma, B_simple and the SNR equal those
    of the closed-form per-example gradients to round-off."""
    sim, args = _system()
    y0s = MU + RNG.normal(size=(64, 3)) @ C_HALF.T
    r = cg.gradient_noise(
        sim,
        jnp.asarray(y0s),
        args,
        loss=lambda y: 0.5 * jnp.sum(y**2),
        horizons=[2, 4, 8],
        wrt="theta",
        ensemble=True,
        batch=4,
    )
    for h, n in enumerate(r.horizon_steps):
        g, _, _ = _closed_form(int(n), y0s)
        mean = g.mean(axis=0)
        tr = np.sum((g - mean) ** 2) / (len(g) - 1)
        m2 = mean @ mean - tr / len(g)  # the unbiased |G|^2 (McCandlish et al. 2018, app. A)
        np.testing.assert_allclose([r.mean_norm[h] ** 2, r.noise[h] ** 2], [m2, tr], rtol=1e-10)
        np.testing.assert_allclose(r.noise_scale[h], tr / m2, rtol=1e-10)
        np.testing.assert_allclose(r.snr[h], 4 * m2 / tr, rtol=1e-10)
        assert r.noise_scale_low[h] <= r.noise_scale[h] <= r.noise_scale_high[h]


def test_linear_gaussian_noise_scale_matches_the_population():
    """With 4000 examples the sample trace of Sigma is within 5 standard errors of the
    population's (its relative standard error is sqrt(2 tr Sigma^2) / tr Sigma / sqrt(N)
    for Gaussian gradients), and the noise grows like sigma_1(S_n) sigma_1(A^n), both
    growing like 1.2^n: rate 2 ln 1.2 per step asymptotically, inside the fitted interval."""
    sim, args = _system()
    y0s = MU + np.random.default_rng(5).normal(size=(4000, 3)) @ C_HALF.T
    r = cg.gradient_noise(
        sim,
        jnp.asarray(y0s),
        args,
        loss=lambda y: 0.5 * jnp.sum(y**2),
        horizons=[4, 16, 64],
        wrt="theta",
        ensemble=True,
    )
    for h, n in enumerate(r.horizon_steps):
        _, G, Sigma = _closed_form(int(n), y0s)
        tr = np.trace(Sigma)
        rel_se = np.sqrt(2 * np.trace(Sigma @ Sigma)) / tr / np.sqrt(4000)
        assert abs(r.noise[h] ** 2 / tr - 1) < 5 * rel_se, (n, r.noise[h] ** 2, tr)
    assert r.noise_rate_low <= 2 * np.log(1.2) <= r.noise_rate_high, (r.noise_rate_low, r.noise_rate_high)


def test_bad_arguments_are_named():
    sim, args = _system()
    y0 = jnp.asarray(MU)
    with pytest.raises(cg.ChaosgradInputError, match="wrt"):
        cg.gradient_noise(sim, y0, args, horizons=[2, 4, 8], wrt="y0")
    with pytest.raises(cg.ChaosgradInputError, match="examples"):
        cg.gradient_noise(sim, y0, args, horizons=[2, 4, 8], wrt="theta", examples=4)
    with pytest.raises(cg.ChaosgradInputError, match="batch"):
        cg.gradient_noise(sim, y0, args, horizons=[2, 4, 8], wrt="theta", batch=0)


@pytest.mark.slow
def test_lorenz_noise_of_a_time_average_explodes_while_its_mean_does_not():
    """Parmas et al. 2018 (sec. 3), Metz et al. 2021 (sec. 3): over initial states on the
    attractor, the gradient of the time-averaged z with respect to rho has a mean of order
    one (the slope of <z>(rho) is about 1) but a spread that grows exponentially: the
    noise at T = 16 is over 100 times that at T = 1, its rate is positive, and the noise
    scale exceeds any practical batch (1000)."""
    s = cg.zoo.lorenz63()
    r = cg.gradient_noise(
        s.simulator,
        s.y0,
        s.args,
        loss=cg.TimeAveragedLoss(lambda y: y[2]),
        horizons=[1, 2, 4, 8, 16],
        wrt="rho",
        examples=64,
        spacing=5.0,
    )
    assert r.noise[-1] > 100 * r.noise[0]
    assert r.noise_rate_low > 0.3, (r.noise_rate, r.noise_rate_low)
    assert 0.3 < r.mean_norm[0] < 3.0
    assert r.noise_scale[-1] > 1000 and r.snr[-1] < 1e-2
