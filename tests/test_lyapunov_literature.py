"""Lorenz-63 against the literature and against a scipy variational computation (slow tier)."""

import jax.numpy as jnp
import numpy as np
import pytest
from scipy.integrate import solve_ivp

import chaosgrad as cg

LITERATURE = np.array([0.9056, 0.0, -14.5723])  # Sprott, Chaos and Time-Series Analysis (2003)


def lorenz(t, y, a):
    x, yy, z = y
    return jnp.stack([10.0 * (yy - x), x * (28.0 - z) - yy, x * yy - 8.0 / 3.0 * z])


def scipy_variational_spectrum(y0, *, transient, time, interval):
    """Benettin/QR with the 12-dim variational system integrated by DOP853 (rtol 1e-10)."""

    def rhs(t, w):
        x, y, z = w[:3]
        J = np.array([[-10.0, 10.0, 0.0], [28.0 - z, -1.0, -x], [y, x, -8.0 / 3.0]])
        Q = w[3:].reshape(3, 3)
        return np.concatenate([[10 * (y - x), x * (28 - z) - y, x * y - 8 / 3 * z], (J @ Q).ravel()])

    y = solve_ivp(
        lambda t, y: rhs(t, np.concatenate([y, np.eye(3).ravel()]))[:3],
        (0, transient),
        y0,
        method="DOP853",
        rtol=1e-10,
        atol=1e-10,
    ).y[:, -1]
    Q = np.eye(3)
    sums = np.zeros(3)
    n = int(round(time / interval))
    for _ in range(n):
        sol = solve_ivp(rhs, (0, interval), np.concatenate([y, Q.ravel()]), method="DOP853", rtol=1e-10, atol=1e-10)
        w = sol.y[:, -1]
        y = w[:3]
        Q, R = np.linalg.qr(w[3:].reshape(3, 3))
        sums += np.log(np.abs(np.diag(R)))
    return sums / (n * interval)


@pytest.mark.slow
def test_lorenz63_matches_literature():
    sim = cg.ODESimulator(lorenz, solver=cg.RK4(), dt=0.005)
    res = cg.lyapunov_spectrum(sim, jnp.array([1.0, 1.0, 1.0]), None, transient=50.0, interval=0.5, time=5000.0)
    # The estimator's standard error at T = 5000 is ~2e-3 for lambda_1 (batch means);
    # 1.5e-2 is about five standard errors plus the literature's own rounding.
    np.testing.assert_allclose(res.exponents, LITERATURE, atol=1.5e-2)
    assert np.all(res.standard_error < 5e-3)
    # Kaplan–Yorke dimension 2.062 (Sprott 2003); it inherits the exponents' error.
    assert abs(res.kaplan_yorke - 2.062) < 2e-3


@pytest.mark.slow
def test_lorenz63_matches_scipy_variational_computation():
    y0 = np.array([1.0, 1.0, 1.0])
    ours = cg.lyapunov_spectrum(
        cg.ODESimulator(lorenz, dt=0.005), jnp.asarray(y0), None, transient=20.0, interval=0.5, time=300.0
    )
    theirs = scipy_variational_spectrum(y0, transient=20.0, time=300.0, interval=0.5)
    # Two accurate integrations of a chaotic flow decorrelate after ~40 time units, so
    # the two estimates are independent samples over T = 300; each has a standard error
    # ~1.5e-2 on lambda_1 (and less on the others), so they agree within ~4 sigma of the difference.
    np.testing.assert_allclose(ours.exponents, theirs, atol=8e-2)
    # The sum is the divergence in both, an exact check independent of chaos.
    assert abs(theirs.sum() + 41.0 / 3.0) < 1e-6
    assert abs(ours.exponents.sum() + 41.0 / 3.0) < 1e-6
