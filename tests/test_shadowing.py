"""Shadowing sensitivities: exact identities first (a stable map, where the shadowing
derivative is the ordinary derivative of the window average), then Lorenz-63's d<z>/d rho
against the literature and d<z>/d sigma, d<z>/d beta against finite differences of long
averages, and the two methods against each other."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import chaosgrad as cg

M = np.array([[0.5, 0.2], [-0.1, 0.6]])  # float64 (NumPy): the test compares to round-off
B = np.array([1.0, -0.5])
C = np.array([0.3, 1.0])


def _stable_map():
    return cg.MapSimulator(lambda y, a: a["M"] @ y + a["theta"] * B)


def test_stable_map_derivative_is_that_of_the_window_average_exactly():
    """No positive exponent, no neutral direction: NILSS's window derivative equals
    d/d theta of (1/N) sum_{k<N} c.y_k from the window's start state, to round-off, and
    over long windows it approaches c.(I - M)^{-1} b, the derivative of the infinite
    average (error O(1/N))."""
    args = {"M": M, "theta": np.float64(0.7)}
    y0 = np.array([1.0, -1.0])
    N = 400
    r = cg.shadowing_gradient(_stable_map(), y0, args, objective=lambda y: C @ y, wrt="theta", time=float(N), windows=2)
    assert r.unstable == 0 and r.neutral == "none (a map)"

    def window_average(theta, y):
        def body(y, _):
            return M @ y + theta * B, C @ y

        return jnp.mean(jax.lax.scan(body, y, None, length=N)[1])

    with jax.enable_x64(True):
        starts = [jnp.asarray(y0), jax.lax.fori_loop(0, N, lambda i, y: M @ y + 0.7 * B, jnp.asarray(y0))]
        exact = [float(jax.grad(window_average)(jnp.asarray(0.7), s)) for s in starts]
    np.testing.assert_allclose(r.window_derivatives[:, 0], exact, rtol=1e-12)
    infinite = float(C @ np.linalg.solve(np.eye(2) - np.asarray(M), np.asarray(B)))
    assert abs(r.derivative[0] - infinite) < 5.0 / N


@pytest.mark.slow
@pytest.mark.parametrize("method", [cg.NILSS(), cg.LSS()], ids=["NILSS", "LSS"])
def test_lorenz_mean_z_against_rho(method):
    """Lorenz-63 (10, 28, 8/3): d<z>/d rho is about 1 (Wang 2014; Ni & Wang 2017 find 1.0
    to 1.02); within 0.03 of 1.0 here, 4 windows of 50 time units, and the interval is
    narrower than that tolerance. NILSS uses one unstable direction, read from the spectrum."""
    s = cg.zoo.lorenz63()
    r = cg.shadowing_gradient(
        s.simulator, s.y0, s.args, objective=lambda y: y[2], wrt="rho", time=50.0, method=method, windows=4
    )
    assert abs(r.derivative[0] - 1.0) < 0.03, r.derivative
    assert r.high[0] - r.low[0] < 0.06
    if isinstance(method, cg.NILSS):
        assert r.unstable == 1 and r.unstable_source == "spectrum"


@pytest.mark.slow
def test_lorenz_sigma_and_beta_against_finite_differences_of_long_averages():
    """d<z>/d sigma and d<z>/d beta by NILSS against central differences of <z> over long
    runs (step 0.5 in the parameter; 8 runs of 2000 time units each side). Measured here:
    sigma 0.131 ± 0.001 against 0.160 ± 0.013, beta -1.648 ± 0.013 against -1.596 ± 0.012
    (and rho 1.014 against 0.975 ± 0.011). The tolerance is 4 combined standard errors plus
    0.02 for what neither error bar holds: the central difference's O(h^2) term and
    shadowing's bias on an attractor that is not uniformly hyperbolic."""
    s = cg.zoo.lorenz63()
    r = cg.shadowing_gradient(s.simulator, s.y0, s.args, objective=lambda y: y[2], wrt="args", time=50.0, windows=6)
    names = list(r.parameters)
    step = jax.jit(lambda y, a: s.simulator.step(0.0, y, a))

    @jax.jit
    def average(a, y):
        def body(c, _):
            y, acc = c
            return (step(y, a), acc + y[2]), None

        (y, acc), _ = jax.lax.scan(body, (y, 0.0), None, length=200_000)
        return acc / 200_000, y

    for key in ("sigma", "beta"):
        means = []
        for sign in (+1, -1):
            a = dict(s.args, **{key: s.args[key] + sign * 0.5})
            y, vals = s.y0, []
            for _ in range(8):
                v, y = average(a, y)
                vals.append(float(v))
            means.append((np.mean(vals), np.std(vals, ddof=1) / np.sqrt(8)))
        fd = (means[0][0] - means[1][0]) / 1.0
        fd_se = np.hypot(means[0][1], means[1][1]) / 1.0
        i = names.index(f"args['{key}']")
        tol = 4 * np.hypot(fd_se, r.standard_error[i]) + 0.02
        assert abs(r.derivative[i] - fd) < tol, (key, r.derivative[i], fd, tol)


@pytest.mark.slow
def test_nilss_and_lss_agree():
    s = cg.zoo.lorenz63()
    a = cg.shadowing_gradient(s.simulator, s.y0, s.args, objective=lambda y: y[2], wrt="rho", time=50.0, windows=4)
    b = cg.shadowing_gradient(
        s.simulator, s.y0, s.args, objective=lambda y: y[2], wrt="rho", time=50.0, windows=4, method=cg.LSS()
    )
    assert abs(a.derivative[0] - b.derivative[0]) < 3 * np.hypot(a.standard_error[0], b.standard_error[0]) + 0.01


def test_a_window_that_blows_up_is_recorded():
    """Logistic map at r = 5 leaves [0, 1] and diverges: the windows are non-finite and the
    result says so instead of raising."""
    sim = cg.MapSimulator(lambda x, a: a["r"] * x * (1 - x))
    r = cg.shadowing_gradient(
        sim,
        jnp.array([0.3]),
        {"r": jnp.asarray(5.0)},
        objective=lambda y: y[0],
        wrt="r",
        time=200.0,
        windows=2,
        method=cg.NILSS(unstable=0),
    )
    assert r.status == "nonfinite" and len(r.notes) >= 2


@pytest.mark.parametrize(
    "kw,name",
    [
        ({"wrt": "y0"}, "wrt"),
        ({"windows": 0}, "windows"),
        ({"method": "nilss"}, "method"),
        ({"neutral": "flow"}, "neutral"),
        ({"time": -1.0}, "time"),
        ({"objective": 3}, "objective"),
    ],
)
def test_bad_arguments_are_named(kw, name):
    call = dict(objective=lambda y: C @ y, wrt="theta", time=10.0)
    call.update(kw)
    with pytest.raises(cg.ChaosgradInputError, match=name):
        cg.shadowing_gradient(_stable_map(), np.ones(2), {"M": M, "theta": np.float64(0.7)}, **call)


def test_result_round_trips_through_json():
    r = cg.shadowing_gradient(
        _stable_map(),
        np.ones(2),
        {"M": M, "theta": np.float64(0.7)},
        objective=lambda y: C @ y,
        wrt="theta",
        time=50.0,
        windows=2,
    )
    back = cg.Result.from_json(r.to_json())
    np.testing.assert_array_equal(back.derivative, r.derivative)
    assert back.parameters == r.parameters


def test_shadowing_applies_rule():
    from chaosgrad._diagnosis.shadowing import shadowing_applies

    assert shadowing_applies("intrinsic-explosion", "chaotic", True, False) == (True, None)
    assert shadowing_applies("inconclusive", "chaotic", True, False) == (True, None)
    assert shadowing_applies("numerical-explosion", "chaotic", True, False) == (False, None)
    assert shadowing_applies("intrinsic-explosion", "contracting", True, False) == (False, None)
    ok, why = shadowing_applies("intrinsic-explosion", "chaotic", False, False)
    assert not ok and "final state" in why
    ok, why = shadowing_applies("intrinsic-explosion", "chaotic", True, True)
    assert not ok and "initial state" in why


@pytest.mark.slow
def test_diagnose_gives_the_shadowing_derivative_of_a_time_average():
    """Lorenz-63, <z>_T against rho: the verdict is intrinsic-explosion, and the diagnosis
    gives d<z>/d rho by NILSS within 0.03 of 1, first among its recommendations and in its
    explanation; with a final-state loss it says why shadowing does not apply."""
    s = cg.zoo.lorenz63()
    d = cg.diagnose(
        s.simulator, s.y0, s.args, loss=cg.TimeAveragedLoss(lambda y: y[2]), wrt="rho", horizons=[4, 8, 16, 32]
    )
    assert d.verdict == "intrinsic-explosion"
    assert d.shadowing is not None and abs(d.shadowing.derivative[0] - 1.0) < 0.03
    assert d.recommendations[0].topic == "shadowing" and "usable derivative" in d.explanation
    back = cg.Result.from_json(d.to_json())
    assert back.shadowing.derivative[0] == d.shadowing.derivative[0]
    f = cg.diagnose(s.simulator, s.y0, s.args, loss=lambda y: y[2], wrt="rho", horizons=[1, 2, 4, 8], members=4)
    assert f.shadowing is None and "does not apply" in f.shadowing_note
