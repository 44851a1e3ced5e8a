"""Lyapunov spectra against exact answers (fast tier)."""

import math

import diffrax
import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import chaosgrad as cg


def lorenz(t, y, a):
    x, yy, z = y
    return jnp.stack([a["sigma"] * (yy - x), x * (a["rho"] - z) - yy, x * yy - a["beta"] * z])


LORENZ_ARGS = {"sigma": 10.0, "rho": 28.0, "beta": 8.0 / 3.0}
LORENZ_Y0 = np.array([-8.0, 7.0, 27.0])


def test_diagonal_linear_map_gives_log_abs_eigenvalues():
    a = jnp.array([2.0, -1.5, 0.9, -0.3])
    sim = cg.MapSimulator(lambda y, a: a * y)
    res = cg.lyapunov_spectrum(sim, jnp.ones(4), a, transient=200, n_intervals=200)
    # After the transient the frame is aligned with the axes to (0.9/1.5)^200 ~ 1e-44, so
    # every interval stretches by exactly |a_i|; only round-off in log and QR remains
    # (1e-12 is ~1e4 ulp).
    expected = np.sort(np.log(np.abs(np.asarray(a))))[::-1]
    np.testing.assert_allclose(res.exponents, expected, atol=1e-12)
    assert res.status == "ok" and res.first_nonfinite_interval is None


def _normal_matrix_with(eig_blocks, seed=0):
    """A = Q D Q^T with D block-diagonal (2x2 rotation-scaling blocks for complex pairs)."""
    n = sum(2 if isinstance(b, tuple) else 1 for b in eig_blocks)
    D = np.zeros((n, n))
    i = 0
    for b in eig_blocks:
        if isinstance(b, tuple):
            re, im = b
            D[i : i + 2, i : i + 2] = [[re, -im], [im, re]]
            i += 2
        else:
            D[i, i] = b
            i += 1
    Q = np.linalg.qr(np.random.default_rng(seed).normal(size=(n, n)))[0]
    return Q @ D @ Q.T


def test_linear_ode_gives_real_parts_of_eigenvalues_including_complex_pairs():
    A = _normal_matrix_with([(0.3, 2.0), -0.5, (-1.0, 5.0), -2.0])
    sim = cg.ODESimulator(lambda t, y, A: A @ y, dt=0.01)
    res = cg.lyapunov_spectrum(sim, jnp.ones(6), jnp.asarray(A), transient=60.0, interval=0.1, time=50.0)
    expected = np.sort(np.linalg.eigvals(A).real)[::-1]
    # A is normal: once the transient has aligned the frame with its invariant subspaces
    # (smallest gap 0.5, so to e^-30), every finite-time exponent equals the asymptotic
    # one, complex pairs included, up to the solver error: Tsit5's stability function differs from exp(h lambda) by
    # O((h |lambda|)^6) ~ 1e-10 per step at h |lambda| = 0.05; 1e-7 leaves ample margin.
    np.testing.assert_allclose(res.exponents, expected, atol=1e-7)


def test_non_normal_linear_ode_converges_like_one_over_t():
    A = np.array([[0.5, 10.0, 0.0], [0.0, -1.0, 3.0], [0.0, 0.0, -2.0]])
    sim = cg.ODESimulator(lambda t, y, A: A @ y, dt=0.01)
    res = cg.lyapunov_spectrum(sim, jnp.ones(3), jnp.asarray(A), interval=0.5, time=400.0)
    # Non-normality adds a bounded transient log-stretch C to each exponent, so the
    # error decays like C / T; with ||A|| ~ 10, C is a few units: 2e-2 at T = 400.
    np.testing.assert_allclose(res.exponents, [0.5, -1.0, -2.0], atol=2e-2)


def test_logistic_map_at_r4_gives_ln2():
    sim = cg.MapSimulator(lambda x, r: r * x * (1 - x))
    res = cg.lyapunov_spectrum(sim, jnp.array([0.3]), 4.0, transient=100, n_intervals=100_000)
    # The exact value is ln 2; the estimator's standard error over 1e5 iterations is
    # ~1e-4 (reported by batch means), so 5e-4 is five standard errors.
    assert abs(res.exponents[0] - math.log(2)) < 5e-4
    assert res.standard_error[0] < 2e-4


def test_lorenz63_sum_rule_and_zero_exponent():
    sim = cg.ODESimulator(lorenz, solver=diffrax.Tsit5(), dt=0.005)
    res = cg.lyapunov_spectrum(sim, LORENZ_Y0, LORENZ_ARGS, transient=5.0, interval=0.1, time=300.0)
    # The divergence is the constant -(sigma + 1 + beta), so the sum of exponents equals
    # it for every interval; the numerical map's det differs from exp(h * div) by the
    # solver's local error O(h^5) relative, about 1e-7 at h = 0.005.
    assert abs(res.exponents.sum() + (10.0 + 1.0 + 8.0 / 3.0)) < 1e-5
    # One exponent is zero (the flow direction). Its finite-time estimate decays like
    # 1/T (bounded stretch along the flow); at T = 300 that is a few 1e-3.
    assert abs(res.exponents[1]) < 1e-2
    assert res.exponents[0] > 0.8 and res.exponents[2] < -14
    assert res.kaplan_yorke is not None and 2.0 < res.kaplan_yorke < 2.1


def froeschle_map(y, K):
    """Two coupled standard maps (Froeschlé 1972): symplectic, so exponents pair as ±."""
    p1, p2, q1, q2 = y
    p1n = p1 + K[0] * jnp.sin(q1) + K[2] * jnp.sin(q1 + q2)
    p2n = p2 + K[1] * jnp.sin(q2) + K[2] * jnp.sin(q1 + q2)
    return jnp.stack([p1n, p2n, q1 + p1n, q2 + p2n])


def test_symplectic_map_gives_plus_minus_pairs():
    sim = cg.MapSimulator(froeschle_map)
    res = cg.lyapunov_spectrum(
        sim, jnp.array([0.1, 0.2, 0.3, 0.4]), jnp.array([3.0, 2.5, 0.5]), transient=100, n_intervals=20_000
    )
    lam = res.exponents
    # det Df = 1 exactly, so the sum vanishes to round-off in every interval.
    assert abs(lam.sum()) < 1e-10
    # Pairing lambda_i = -lambda_{n+1-i} holds in the limit; the finite-time mismatch is
    # within the statistical error (5 standard errors, floor 1e-3 for the near-zero pair).
    tol = 5 * np.maximum(res.standard_error, 2e-4)
    assert abs(lam[0] + lam[3]) < tol[0] + tol[3]
    assert abs(lam[1] + lam[2]) < tol[1] + tol[2]
    assert lam[0] > 0.5


def test_rollout_of_linear_env_and_linear_policy_gives_closed_loop_eigenvalues():
    A = jnp.array([[1.1, 0.2], [0.0, 0.95]])
    B = jnp.array([[0.0], [1.0]])
    sim = cg.RolloutSimulator(lambda s, a: A @ s + B @ a, lambda K, s: -K @ s)
    K = jnp.array([[0.3, 0.4]])
    res = cg.lyapunov_spectrum(sim, jnp.ones(2), K, transient=200, n_intervals=2000)
    expected = np.sort(np.log(np.abs(np.linalg.eigvals(np.asarray(A - B @ K)))))[::-1]
    # The closed-loop map is linear: exponents are ln|eig(A - BK)| up to a bounded
    # stretch from its non-orthogonal eigenvectors, shared out over 2000 steps (< 1e-3).
    np.testing.assert_allclose(res.exponents, expected, atol=1e-3)


def test_pytree_state_gives_same_spectrum_as_flat_state():
    a = jnp.array([1.5, 0.5, 2.5])
    flat = cg.MapSimulator(lambda y, a: a * y)
    tree = cg.MapSimulator(lambda y, a: {"p": a[:2] * y["p"], "q": a[2:] * y["q"], "n": y["n"] + 1})
    r1 = cg.lyapunov_spectrum(flat, jnp.ones(3), a, n_intervals=50)
    y0 = {"p": jnp.ones(2), "q": jnp.ones(1), "n": jnp.array(0)}
    r2 = cg.lyapunov_spectrum(tree, y0, a, n_intervals=50)
    assert r2.dimension == 3  # the integer counter is not part of the tangent space
    np.testing.assert_allclose(r1.exponents, r2.exponents, atol=1e-12)


def test_leading_k_of_a_larger_system():
    a = jnp.linspace(1.0, 0.05, 64)  # |a| <= 1 keeps the state bounded
    sim = cg.MapSimulator(lambda y, a: a * y)
    res = cg.lyapunov_spectrum(sim, jnp.ones(64), a, k=5, transient=3000, n_intervals=300)
    # Same exactness argument as the diagonal test; the frame aligns at the rate of the
    # gap a_6/a_5 ~ 0.985 per step, to ~1e-20 after the 3000-step transient.
    np.testing.assert_allclose(res.exponents, np.log(np.asarray(a[:5])), atol=1e-12)
    assert res.finite_time_exponents.shape == (1, 300, 5)


def test_adaptive_solver_uses_forward_mode():
    A = _normal_matrix_with([-0.2, (-1.0, 3.0)])
    sim = cg.ODESimulator(
        lambda t, y, A: A @ y,
        dt=0.1,
        stepsize_controller=diffrax.PIDController(rtol=1e-9, atol=1e-12),
    )
    res = cg.lyapunov_spectrum(sim, jnp.ones(3), jnp.asarray(A), transient=40.0, time=20.0, interval=0.5)
    # Normal A, frame aligned by the transient (gap 0.8, to e^-32): exact per interval up
    # to the tolerance-controlled error (1e-9 relative per step).
    np.testing.assert_allclose(res.exponents, np.sort(np.linalg.eigvals(A).real)[::-1], atol=1e-6)


def test_unrolled_step_matches_diffrax_solver_step():
    y0 = jnp.array([1.0, 2.0, 20.0])
    for solver in (diffrax.Tsit5(), diffrax.Dopri8(), diffrax.Euler(), diffrax.Heun(), cg.RK4()):
        sim = cg.ODESimulator(lorenz, solver=solver, dt=0.01)
        ours = sim.step(0.0, y0, LORENZ_ARGS)
        state = solver.init(sim.terms, 0.0, 0.01, y0, LORENZ_ARGS)
        theirs = solver.step(sim.terms, 0.0, 0.01, y0, LORENZ_ARGS, state, False)[0]
        # Same tableau, different summation order: equal to a few ulp of |y| ~ 20.
        np.testing.assert_allclose(ours, theirs, rtol=0, atol=1e-13)


def test_evolve_matches_diffeqsolve_and_supports_both_modes():
    sim = cg.ODESimulator(lorenz, dt=0.01)
    y0 = LORENZ_Y0
    ours = sim.evolve(0.0, y0, LORENZ_ARGS, 300)
    reference = sim._diffeqsolve(0.0, y0, LORENZ_ARGS, 300, diffrax.RecursiveCheckpointAdjoint())
    # Identical arithmetic except the clock (t0 + n dt vs repeated sums); Lorenz-63
    # amplifies 1e-16 by e^{0.9 * 3} ~ 15 over T = 3.
    np.testing.assert_allclose(ours, reference, atol=1e-11)
    f = lambda y: sim.evolve(0.0, y, LORENZ_ARGS, 300)[2]
    v = jnp.array([0.3, -0.2, 0.1])
    jvp = jax.jvp(f, (y0,), (v,))[1]
    vjp = jnp.dot(jax.grad(f)(y0), v)
    # Forward and reverse mode differentiate the same program: equal to round-off
    # relative to |grad| (~1e2 here).
    assert abs(jvp - vjp) < 1e-9 * max(1.0, abs(float(jvp)))


def forced_lorenz96(t, x, forcing):
    """Lorenz-96 with a time-dependent forcing, so the stage times c_i h matter too."""
    return (jnp.roll(x, -1) - jnp.roll(x, 2)) * jnp.roll(x, 1) - x + forcing * (1.0 + 0.25 * jnp.sin(3.0 * t))


class JvpTangents(cg.AbstractSimulator):
    """A simulator's own step with the default tangent step (``jax.jvp`` through it)."""

    inner: cg.AbstractSimulator
    dt: float = eqx.field(static=True)
    dtype: str = eqx.field(static=True)

    def __init__(self, inner):
        self.inner, self.dt, self.dtype = inner, float(inner.dt), inner.dtype

    def step(self, t, y, args):
        return self.inner.step(t, y, args)

    def with_dtype(self, dtype):
        return JvpTangents(self.inner.with_dtype(dtype))


def _tangent_run(tangent_step, y0, Q0, dt, n_steps=300, every=10):
    """``n_steps`` tangent steps, re-orthonormalising every ``every``; all states and frames."""

    def interval(carry, _):
        carry, _ = jax.lax.scan(lambda c, _: ((c[0] + dt, *tangent_step(*c)), None), carry, None, length=every)
        t, y, Q = carry
        return (t, y, jnp.linalg.qr(Q)[0]), (y, Q)

    return jax.jit(lambda y, Q: jax.lax.scan(interval, (0.0, y, Q), None, length=n_steps // every)[1])(y0, Q0)


@pytest.mark.parametrize("solver", [cg.RK4(), diffrax.Tsit5(), diffrax.Heun(), diffrax.Euler()])
def test_variational_tangent_step_is_the_jvp_of_the_step(solver):
    sim = cg.ODESimulator(forced_lorenz96, solver=solver, dt=0.01)
    x0 = jnp.full(10, 8.0).at[0].add(0.01)
    Q0 = jnp.asarray(np.linalg.qr(np.random.default_rng(0).standard_normal((10, 10)))[0])
    y_var, Q_var = _tangent_run(lambda t, y, Q: sim._variational_tangent_step(t, y, Q, 8.0), x0, Q0, sim.dt)
    y_jvp, Q_jvp = _tangent_run(lambda t, y, Q: cg.AbstractSimulator.tangent_step(sim, t, y, Q, 8.0), x0, Q0, sim.dt)
    # Same stages, same coefficients, summed in another order: the two differ by
    # round-off (observed <= 2e-14 over these 300 steps, the frame kept orthonormal every
    # 10). A wrong coefficient, stage time or stage state would differ by the method's
    # local error, >= 1e-10 here, so 1e-12 separates the two.
    np.testing.assert_allclose(y_var, y_jvp, rtol=0, atol=1e-12)
    np.testing.assert_allclose(Q_var, Q_jvp, rtol=0, atol=1e-12)
    # The tangent map is really a derivative of the step: a finite difference of one
    # step along the first column agrees to O(eps h^-1 + h) ~ 1e-7 relative.
    y, Q, eps = y_jvp[-1], Q_jvp[-1], 1e-6
    fd = (sim.step(0.0, y + eps * Q[:, 0], 8.0) - sim.step(0.0, y - eps * Q[:, 0], 8.0)) / (2 * eps)
    np.testing.assert_allclose(sim._variational_tangent_step(0.0, y, Q, 8.0)[1][:, 0], fd, atol=1e-7)


def test_both_tangent_paths_give_the_same_spectrum_for_pytree_states_and_ensembles():
    def split_field(t, y, forcing):
        x = jnp.concatenate([y["a"], y["b"]])
        dx = forced_lorenz96(t, x, forcing)
        return {"a": dx[:4], "b": dx[4:]}

    sim = cg.ODESimulator(split_field, solver=cg.RK4(), dt=0.01)
    y0 = {"a": jnp.full(4, 8.0).at[0].add(0.01), "b": jnp.full(6, 8.0)}
    kw = dict(transient=1.0, interval=0.1, time=3.0)
    ours, reference = cg.lyapunov_spectrum(sim, y0, 8.0, **kw), cg.lyapunov_spectrum(JvpTangents(sim), y0, 8.0, **kw)
    # Round-off differences (see above) amplified by at most e^{lambda_1 T} ~ e^{1.5*4}
    # over transient + time, then divided by the interval 0.1: far below 1e-8.
    np.testing.assert_allclose(ours.finite_time_exponents, reference.finite_time_exponents, rtol=0, atol=1e-8)
    members = jax.tree_util.tree_map(lambda x: jnp.stack([x, x + 0.5]), y0)
    ens = cg.lyapunov_spectrum(sim, members, 8.0, k=3, ensemble_axes=(0, None), **kw)
    ens_ref = cg.lyapunov_spectrum(JvpTangents(sim), members, 8.0, k=3, ensemble_axes=(0, None), **kw)
    np.testing.assert_allclose(ens.finite_time_exponents, ens_ref.finite_time_exponents, rtol=0, atol=1e-8)
