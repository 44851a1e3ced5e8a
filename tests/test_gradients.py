"""Gradient growth: exact rates, modes agree, non-finite tails, bad arguments."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import chaosgrad as cg
from chaosgrad import ChaosgradInputError


def lorenz(t, y, a):
    x, yy, z = y
    return jnp.stack([a["sigma"] * (yy - x), x * (a["rho"] - z) - yy, x * yy - a["beta"] * z])


ARGS = {"sigma": 10.0, "rho": 28.0, "beta": 8.0 / 3.0}


def test_linear_system_gradient_rate_equals_max_real_eigenvalue():
    A = jnp.array([[-0.2, 1.0, 0.0], [-1.0, -0.2, 0.0], [0.0, 0.0, -1.5]])  # eig -0.2 ± i, -1.5
    sim = cg.ODESimulator(lambda t, y, A: A @ y, dt=0.01)
    g = cg.gradient_growth(sim, jnp.ones(3), A, horizons=np.geomspace(2, 40, 8), members=4)
    # J(T)^T c decays exactly like e^{-0.2 T} once the -1.5 mode has died out
    # (e^{-1.3 * 10} at the first fitted horizon); the issue asks for 2%.
    assert abs(g.rate - (-0.2)) < 0.02 * 0.2
    assert g.rate_low <= g.rate <= g.rate_high
    assert g.status == "ok" and g.finite.all()


@pytest.mark.slow
def test_all_horizons_match_separate_gradients():
    sim = cg.ODESimulator(lorenz, dt=0.01)
    y0 = jnp.array([-8.0, 7.0, 27.0])
    horizons = [0.5, 1.0, 3.0]
    g = cg.gradient_growth(sim, y0, ARGS, horizons=horizons, wrt="rho", members=2)
    c = jax.random.normal(jax.random.PRNGKey(0), (3,))
    c = c / jnp.linalg.norm(c)
    readout = jax.jit(jax.grad(lambda a, n: jnp.dot(c, sim.evolve(0.0, y0, a, n))), static_argnums=1)
    np.testing.assert_allclose(g.reported_horizons, horizons)
    for h, norm in zip(horizons, g.norms[0, g.reported]):
        direct = readout(ARGS, int(round(h / 0.01)))["rho"]
        # One sweep and a separate jax.grad evaluate the same chain rule in another
        # order; over T <= 3 of Lorenz-63 that is equal to ~1e-12 relative.
        np.testing.assert_allclose(norm, abs(float(direct)), rtol=1e-9)


def test_reverse_forward_and_finite_differences_agree_on_short_horizon():
    sim = cg.ODESimulator(lorenz, dt=0.01)
    y0 = jnp.array([-8.0, 7.0, 27.0])
    f = jax.jit(lambda rho: sim.evolve(0.0, y0, dict(ARGS, rho=rho), 100)[2])
    reverse = jax.grad(f)(28.0)
    forward = jax.jvp(f, (28.0,), (1.0,))[1]
    h = 1e-6
    central = (f(28.0 + h) - f(28.0 - h)) / (2 * h)
    # AD is exact for the program: forward and reverse agree to round-off.
    assert abs(reverse - forward) < 1e-10 * abs(reverse)
    # Central differences have O(h^2) truncation and O(eps/h) ~ 1e-10 * |f| round-off.
    assert abs(central - reverse) < 1e-6 * max(1.0, abs(reverse))


def test_time_averaged_loss_matches_direct_gradient():
    sim = cg.MapSimulator(lambda x, a: a["r"] * x * (1 - x))
    y0 = jnp.array([0.3])
    g = cg.gradient_growth(
        sim, y0, {"r": 3.7}, loss=cg.TimeAveragedLoss(lambda y: y[0]), horizons=[4, 8, 16], wrt="r", members=1
    )

    def avg(r):
        def body(y, _):
            return r * y * (1 - y), y[0]

        _, ys = jax.lax.scan(body, y0, None, length=16)
        return jnp.mean(ys)

    # Same arithmetic in another order: round-off only.
    np.testing.assert_allclose(g.norms[0, -1], abs(float(jax.grad(avg)(3.7))), rtol=1e-10)


def test_overflow_is_recorded_not_raised():
    sim = cg.MapSimulator(lambda y, a: 3.0 * y, dtype="float32")
    # d y_n / d y_0 = 3^n overflows float32 at n = ln(3.4e38) / ln 3 ~ 81.
    g = cg.gradient_growth(sim, jnp.ones(1), None, horizons=[10, 20, 40, 60, 80, 100, 150], members=2)
    assert g.status == "partial-nonfinite"
    # Horizons are the caller's plus the internal fit grid: finite up to n = 80, not beyond 81.
    # (Member 1 starts from the trajectory beyond the overflow: its state is inf, so none of
    # its gradients counts, although this linear map's would be finite.)
    assert g.finite[0, g.horizons <= 80].all() and not g.finite[:, g.horizons >= 82].any()
    assert not g.state_finite[1].any() and not g.finite[1].any()
    assert 80 < g.horizons[g.first_nonfinite_horizon[0]] <= 100
    assert (g.reported_horizons == [10, 20, 40, 60, 80, 100, 150]).all()
    # The finite horizons give ln 3 exactly (float32 log: 1e-6 relative).
    assert abs(g.rate - np.log(3.0)) < 1e-5


def test_cotangent_profile_grows_backwards_through_chaos():
    sim = cg.ODESimulator(lorenz, dt=0.01)
    g = cg.gradient_growth(sim, jnp.array([-8.0, 7.0, 27.0]), ARGS, horizons=np.geomspace(1, 16, 5), members=2)
    prof = np.nanmedian(g.cotangent_norms, axis=0)
    # The cotangent at time t carries J(t -> T)^T c, which grows like e^{lambda_1 (T - t)}:
    # far larger at t = 0 than near T (e^{0.9 * 15} ~ 1e6; a factor 1e3 is a safe floor).
    assert prof[0] > 1e3 * prof[-1]
    assert g.cotangent_times.shape == prof.shape


@pytest.mark.parametrize(
    "kwargs, argument",
    [
        (dict(horizons=[1.0, 0.5, 2.0]), "`horizons`"),
        (dict(horizons=[-1.0, 1.0, 2.0]), "`horizons`"),
        (dict(horizons=[1.0, 2.0]), "`horizons`"),
        (dict(horizons=[1.0, 2.0, 3.0], wrt="kappa"), "`wrt`"),
        (dict(horizons=[1.0, 2.0, 3.0], loss=lambda y: y), "`loss`"),
        (dict(horizons=[1.0, 2.0, 3.0], members=0), "`members`"),
    ],
)
def test_bad_arguments_name_the_argument(kwargs, argument):
    sim = cg.ODESimulator(lorenz, dt=0.01)
    with pytest.raises(ChaosgradInputError, match=argument):
        cg.gradient_growth(sim, jnp.ones(3), ARGS, **kwargs)


def test_long_horizons_run_in_bounded_blocks():
    """A 200k-step sweep is cut into at most 128 blocks (memory: block states + one block)."""
    Q = np.linalg.qr(np.random.default_rng(0).normal(size=(40, 40)))[0]
    sim = cg.MapSimulator(lambda y, a: a @ y)
    g = cg.gradient_growth(sim, jnp.ones(40), jnp.asarray(0.9999 * Q), horizons=[50_000, 100_000, 200_000], members=2)
    assert g.cotangent_times.size <= 128
    # A scaled orthogonal map: ||J^T c|| = 0.9999^n exactly, rate ln 0.9999 per step;
    # 200k multiplications accumulate ~1e-11 relative round-off in the rate.
    assert abs(g.rate - np.log(0.9999)) < 1e-9


def test_state_with_integer_leaves():
    """Integer leaves (a counter choosing the layer) ride along; only floats get cotangents."""
    W = jnp.stack([0.5 * jnp.eye(2), 2.0 * jnp.eye(2), 1.0 * jnp.eye(2)])
    sim = cg.MapSimulator(lambda y, a: {"x": a["W"][y["n"] % 3] @ y["x"], "n": y["n"] + 1})
    g = cg.gradient_growth(sim, {"x": jnp.ones(2), "n": jnp.array(0)}, {"W": W}, horizons=[3, 6, 9, 12], members=2)
    # Every 3-layer cycle multiplies by 0.5 * 2 * 1 = 1, so ||J^T c|| = 1 exactly at the
    # caller's horizons; the internal fit horizons in between see the cycle's 0.5 too.
    np.testing.assert_allclose(g.norms[:, g.reported], 1.0, rtol=1e-12)
    assert g.rate_low <= 0.0 <= g.rate_high
    # The cycle's ln 2 swing over a 9-layer window bounds the fitted slope by ~ln 2 / 9.
    assert abs(g.rate) < np.log(2) / 9


@pytest.mark.slow
def test_adaptive_step_simulator_is_differentiated_through_its_solves():
    import diffrax

    A = jnp.array([[-0.3, 2.0], [-2.0, -0.3]])  # eig -0.3 ± 2i
    sim = cg.ODESimulator(
        lambda t, y, A: A @ y, dt=0.5, stepsize_controller=diffrax.PIDController(rtol=1e-8, atol=1e-10)
    )
    # Members 4 to 8 time units apart: further down the decaying trajectory |y| nears the
    # controller's atol, and the solve (hence its exact derivative) is only 1e-3 accurate.
    g = cg.gradient_growth(sim, jnp.ones(2), A, horizons=[4.0, 8.0, 16.0, 32.0], members=2, spacing=4.0)
    # A is normal: ||J(T)^T c|| = e^{-0.3 T} exactly, up to the solver tolerance.
    assert g.status == "ok" and abs(g.rate + 0.3) < 1e-4
    assert np.isfinite(g.cotangent_norms).all()


@pytest.mark.slow
def test_a_reverse_solve_that_cannot_get_back_is_non_finite_not_a_partial_gradient():
    """Lorenz-63 with BacksolveAdjoint: the reverse-time reconstruction of the state
    diverges (the contracting direction, -14.6, grows backwards) and an adaptive reverse
    solve shrinks its steps without end. diffrax would return the partial, finite and
    wrong, gradient at its max_steps; it must be recorded as non-finite instead, while
    the short horizon, where the reverse solve does get back, matches the exact adjoint."""
    import diffrax

    def lorenz(t, y, rho):
        return jnp.stack([10 * (y[1] - y[0]), y[0] * (rho - y[2]) - y[1], y[0] * y[1] - 8 / 3 * y[2]])

    kw = dict(solver=diffrax.Tsit5(), dt=0.01, stepsize_controller=diffrax.PIDController(rtol=1e-6, atol=1e-9))
    back = cg.ODESimulator(lorenz, adjoint=diffrax.BacksolveAdjoint(), **kw)
    exact = cg.ODESimulator(lorenz, adjoint=diffrax.RecursiveCheckpointAdjoint(), **kw)
    y0 = jnp.array([-8.0, 7.0, 27.0])
    opts = dict(horizons=(0.3, 0.6, 8.0), members=3, wrt="args", loss=lambda y: y[2])
    g_back = cg.gradient_growth(back, y0, 28.0, **opts)
    g_exact = cg.gradient_growth(exact, y0, 28.0, **opts)
    short = np.argmin(g_back.horizons)
    long = np.argmax(g_back.horizons)
    # Continuous and discrete adjoints of the same solve agree to the solver's tolerance.
    np.testing.assert_allclose(g_back.norms[:, short], g_exact.norms[:, short], rtol=1e-3)
    assert np.isfinite(g_exact.norms[:, long]).all()
    assert not np.isfinite(g_back.norms[:, long]).any()
    assert "did not get back to t = 0" in g_back.method


@pytest.mark.slow
def test_a_bounded_backsolve_fails_member_by_member_not_the_batch():
    """Two members of one vmapped gradient through an adaptive BacksolveAdjoint: the
    first one's reverse solve needs about 1000 steps, the second one's (its state and
    its adjoint below atol) about 60. With a budget of 200 reverse steps, diffrax's own
    adjoint raises for the whole batch; the bounded one gives NaN for the first member
    and, for the second, diffrax's gradient with an unlimited budget."""
    import diffrax

    from chaosgrad._simulators.bounded_backsolve import BoundedBacksolveAdjoint

    def field(t, y, w):  # an oscillator, and a constant that weighs the loss
        return jnp.stack([y[1], -(w**2) * y[0], 0.0 * y[2]])

    def gradient(adjoint, y0):
        def objective(w):
            sol = diffrax.diffeqsolve(
                diffrax.ODETerm(field),
                diffrax.Tsit5(),
                0.0,
                5.0,
                0.01,
                y0,
                w,
                stepsize_controller=diffrax.PIDController(rtol=1e-8, atol=1e-8),
                adjoint=adjoint,
                max_steps=4096,
            )
            return sol.ys[-1, 0] * sol.ys[-1, 2]

        return jax.grad(objective)(20.0)

    y0s = jnp.array([[1.0, 0.0, 1.0], [1e-10, 0.0, 1e-10]])
    bounded = np.asarray(jax.jit(jax.vmap(lambda y: gradient(BoundedBacksolveAdjoint(max_steps=200), y)))(y0s))
    unlimited = float(jax.jit(lambda y: gradient(diffrax.BacksolveAdjoint(), y))(y0s[1]))
    assert np.isnan(bounded[0])
    # The same reverse solve, batched or alone: equal up to round-off.
    assert bounded[1] == pytest.approx(unlimited, rel=1e-12)
    with pytest.raises(Exception):  # noqa: B017 - diffrax's run-time error type depends on its version
        np.asarray(jax.jit(jax.vmap(lambda y: gradient(diffrax.BacksolveAdjoint(max_steps=200), y)))(y0s))


def test_a_growing_time_average_is_fitted_without_its_one_over_t():
    """x -> a x, a = 1.5, with L_N = (1/N) sum_{n<N} x_n: dL_N/dx_0 = (a^N - 1) / ((a - 1) N)
    exactly. It grows, so the rate is that of N |dL_N/dx_0|: ln a (the -1 is below 3e-4
    from N = 20 on, so the fitted slope is within 1e-5 of ln a); the 1/N alone would bias
    it by about ln 8 / 140 = 0.015."""
    a = 1.5
    sim = cg.MapSimulator(lambda x, p: p * x)
    g = cg.gradient_growth(
        sim,
        jnp.array([1.0]),
        a,
        loss=cg.TimeAveragedLoss(lambda y: y[0]),
        horizons=[20, 40, 80, 160],
        wrt="y0",
        members=1,
    )
    N = g.horizons
    np.testing.assert_allclose(g.norms[0], np.abs((a**N - 1) / ((a - 1) * N)), rtol=1e-12)
    assert g.rate == pytest.approx(math.log(a), abs=1e-5)
    assert "1/T removed" in g.method and g.rate_of_time_integral


def test_a_settling_time_average_keeps_its_own_rate():
    """x -> a x + p, a = 0.5, wrt p: dx_n/dp = (1 - a^n) / (1 - a) settles at 2, and so does
    the average dL_N/dp = 2 - 2 (1 - a^N) / ((1 - a) N), slowly from below. Its rate is
    tiny (about 7e-4 over N = 20..160) and is kept: fitted on N |dL_N/dp| it would be
    the 1/N's 0.015 instead."""
    from chaosgrad._gradients.growth import algebraic_rate

    sim = cg.MapSimulator(lambda x, p: 0.5 * x + p)
    g = cg.gradient_growth(
        sim,
        jnp.array([1.0]),
        1.0,
        loss=cg.TimeAveragedLoss(lambda y: y[0]),
        horizons=[20, 40, 80, 160],
        wrt="args",
        members=1,
    )
    N = g.horizons
    exact = np.array([np.mean([(1 - 0.5**n) / 0.5 for n in range(int(k))]) for k in N])
    np.testing.assert_allclose(g.norms[0], exact, rtol=1e-12)
    assert "1/T removed" not in g.method and not g.rate_of_time_integral
    assert 0 < g.rate < 0.1 * algebraic_rate(N)


@pytest.mark.slow
@pytest.mark.user_process
def test_a_weakly_typed_float32_parameter_through_a_backsolve_adjoint():
    # jnp.array(0.3) in a default (float32) process is weakly typed; in chaosgrad's
    # float64 scope diffrax's BacksolveAdjoint asserted on its dtype. It now measures the
    # same gradients as the strongly typed jnp.array([0.3]) (same float32 value).
    import diffrax

    def field(t, y, a):
        return -a * y + jnp.sin(y)

    sim = cg.ODESimulator(field, solver=diffrax.Tsit5(), dt=0.05, adjoint=diffrax.BacksolveAdjoint())
    kw = dict(members=2, horizons=[1.0, 2.0, 4.0])
    scalar = cg.gradient_growth(sim, jnp.array([1.0, 0.5]), jnp.array(0.3), **kw)
    vector = cg.gradient_growth(sim, jnp.array([1.0, 0.5]), jnp.array([0.3]), **kw)
    assert np.array_equal(scalar.norms, vector.norms)
