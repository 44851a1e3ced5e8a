"""Lyapunov API: errors for bad input, non-finite runs, ensembles, sharding, JSON."""

import json
import os
import subprocess
import sys
import textwrap

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import chaosgrad as cg
from chaosgrad import ChaosgradInputError

SCALE = cg.MapSimulator(lambda y, a: a * y)


def logistic(x, r):
    return r * x * (1 - x)


@pytest.mark.parametrize(
    "kwargs, argument",
    [
        (dict(k=4, n_intervals=5), "`k`"),
        (dict(k=0, n_intervals=5), "`k`"),
        (dict(time=-1.0), "`time`"),
        (dict(time=0.0), "`time`"),
        (dict(time=10.0, n_intervals=5), "`time`"),
        (dict(time=10.0, transient=-1.0), "`transient`"),
        (dict(time=10.0, interval=0.0), "`interval`"),
        (dict(n_intervals=0), "`n_intervals`"),
    ],
)
def test_bad_options_name_the_argument(kwargs, argument):
    with pytest.raises(ChaosgradInputError, match=argument):
        cg.lyapunov_spectrum(SCALE, jnp.ones(3), 2.0, **kwargs)


def test_non_finite_initial_state_or_args_is_a_clear_error():
    with pytest.raises(ChaosgradInputError, match="`y0`.*non-finite"):
        cg.lyapunov_spectrum(SCALE, jnp.array([1.0, jnp.nan]), 2.0, n_intervals=5)
    with pytest.raises(ChaosgradInputError, match="`args`.*non-finite"):
        cg.lyapunov_spectrum(SCALE, jnp.ones(2), jnp.inf, n_intervals=5)


def test_step_that_changes_shape_is_a_clear_error():
    bad = cg.MapSimulator(lambda y, a: jnp.concatenate([y, y]))
    with pytest.raises(ChaosgradInputError, match="`y0`.*shape"):
        cg.lyapunov_spectrum(bad, jnp.ones(2), None, n_intervals=5)


def test_shape_check_traces_the_step_once_per_kind_of_input():
    traces = []

    def scale(y, a):
        traces.append(y.shape)  # runs only while JAX traces the step
        return a * y

    sim = cg.MapSimulator(scale)
    cg.lyapunov_spectrum(sim, jnp.ones(2), 2.0, n_intervals=5)
    first = len(traces)
    assert first >= 2  # the shape check and the compiled run
    cg.lyapunov_spectrum(sim, jnp.full(2, 3.0), 2.0, n_intervals=5, seed=7)
    assert len(traces) == first  # same shapes, new values and seed: nothing re-traced
    cg.lyapunov_spectrum(sim, jnp.ones(3), 2.0, n_intervals=5)
    assert (3,) in traces[first:]  # a new shape is checked (and compiled) again
    # A failed check is not remembered: the error comes on every call.
    bad = cg.MapSimulator(lambda y, a: jnp.concatenate([y, y]))
    for _ in range(2):
        with pytest.raises(ChaosgradInputError, match="`y0`.*shape"):
            cg.lyapunov_spectrum(bad, jnp.ones(2), None, n_intervals=5)


def test_initial_frame_is_an_orthonormal_host_draw_from_the_seed():
    from chaosgrad._spectra.chunks import _initial_frame

    for n, k, dtype in ((3, 3, "float64"), (40, 7, "float64"), (5, 2, "float32"), (4, 4, "float16")):
        for seed in (0, 1, -5, 2**40):
            Q = _initial_frame(seed, n, k, dtype)
            assert isinstance(Q, np.ndarray) and Q.dtype == np.dtype(dtype)  # no device program
            exact = _initial_frame(seed, n, k, "float64")
            np.testing.assert_allclose(exact.T @ exact, np.eye(k), atol=1e-12)
            np.testing.assert_array_equal(Q, exact.astype(dtype))  # same draw, cast once
        assert not np.array_equal(_initial_frame(0, n, k, "float64"), _initial_frame(1, n, k, "float64"))
    with pytest.raises(ChaosgradInputError, match="`seed`"):
        cg.lyapunov_spectrum(SCALE, jnp.ones(3), 2.0, n_intervals=5, seed=2**64)


def test_wrong_simulator_type_is_a_clear_error():
    with pytest.raises(ChaosgradInputError, match="`simulator`"):
        cg.lyapunov_spectrum(lambda y: y, jnp.ones(2), None, n_intervals=5)


def test_simulator_constructors_validate():
    with pytest.raises(ChaosgradInputError, match="`dt`"):
        cg.ODESimulator(lambda t, y, a: y, dt=-0.1)
    with pytest.raises(ChaosgradInputError, match="`dtype`"):
        cg.MapSimulator(logistic, dtype="int32")
    with pytest.raises(ChaosgradInputError, match="`solver`"):
        cg.ODESimulator(lambda t, y, a: y, solver="rk4")
    with pytest.raises(ChaosgradInputError, match="`substeps`"):
        cg.RolloutSimulator(lambda s, a: s, lambda p, s: s, substeps=0)


def test_blow_up_part_way_is_a_status_and_keeps_the_estimate():
    # x -> 2x overflows float32 (max ~3.4e38 = 2^128) after 128 doublings from x = 1.
    sim = cg.MapSimulator(lambda y, a: 2.0 * y, dtype="float32")
    res = cg.lyapunov_spectrum(sim, jnp.ones(1), None, n_intervals=200)
    assert res.status == "nonfinite"
    assert res.nonfinite_quantity == "state"
    assert res.first_nonfinite_interval == 127  # interval index 127 produces 2^128 = inf
    assert res.valid_intervals[0] == 127
    # The 127 valid intervals each stretch by exactly 2 (float32 log: 1e-6 relative).
    assert abs(res.exponents[0] - np.log(2)) < 1e-6
    assert np.all(np.isfinite(res.exponents))
    assert np.isnan(res.history[-1, 0]) and np.isfinite(res.history[126, 0])


def test_ensemble_equals_separate_runs():
    y0s = jnp.array([[0.1], [0.2], [0.3], [0.4], [0.45]])
    sim = cg.MapSimulator(logistic)
    ens = cg.lyapunov_spectrum(sim, y0s, 3.9, n_intervals=500, ensemble_axes=(0, None), shard=False)
    singles = [cg.lyapunov_spectrum(sim, y, 3.9, n_intervals=500).exponents[0] for y in y0s]
    # vmap runs the same arithmetic per member: identical to round-off.
    np.testing.assert_allclose(ens.member_exponents[:, 0], singles, atol=1e-12)
    assert ens.error_method.startswith("ensemble spread")
    np.testing.assert_allclose(ens.exponents[0], np.mean(singles), atol=1e-12)


def test_parameter_ensemble():
    rs = jnp.array([2.8, 3.2, 4.0])
    sim = cg.MapSimulator(logistic)
    ens = cg.lyapunov_spectrum(sim, jnp.array([0.3]), rs, transient=200, n_intervals=20_000, ensemble_axes=(None, 0))
    # r = 2.8: stable fixed point x* = 1 - 1/r, lambda = ln|2 - r| = ln 0.8 exactly;
    # r = 3.2: stable 2-cycle, negative; r = 4: ln 2 (statistical error ~3e-4 here).
    assert abs(ens.member_exponents[0, 0] - np.log(0.8)) < 1e-6
    assert ens.member_exponents[1, 0] < -0.1
    assert abs(ens.member_exponents[2, 0] - np.log(2)) < 2e-3


def _summary_by_definition(ftle, state_ok):
    """Per member, written out: the valid prefix ends at the first interval with a NaN or
    +inf exponent or a non-finite state; a member's exponent is its prefix's mean; the
    history at interval j is the mean, over the members still valid there, of their
    running means."""
    M, n_int, k = ftle.shape
    valid = np.zeros(M, int)
    for i in range(M):
        while (
            valid[i] < n_int
            and state_ok[i, valid[i]]
            and not np.any(np.isnan(ftle[i, valid[i]]) | (ftle[i, valid[i]] == np.inf))
        ):
            valid[i] += 1
    members = np.array([ftle[i, : valid[i]].mean(axis=0) if valid[i] else np.full(k, np.nan) for i in range(M)])
    history = np.full((n_int, k), np.nan)
    for j in range(n_int):
        running = [ftle[i, : j + 1].mean(axis=0) for i in range(M) if valid[i] > j]
        if running:
            history[j] = np.mean(running, axis=0)
    return valid, members, history


@pytest.mark.parametrize("members", [1, 6])
def test_summary_matches_its_definition_with_blow_ups(members):
    from chaosgrad._spectra.result import summarise

    rng = np.random.default_rng(members)
    n_int, k, m = 40, 2, 5
    logs = rng.normal(0.05, 0.2, (members, n_int, k))
    ok = np.ones((members, n_int), bool)
    if members == 1:
        ok[0, 25] = False  # the state blows up part-way
    else:
        logs[1, 17:, 0] = np.nan  # the tangent frame breaks down
        ok[2, 3] = False  # the state blows up
        logs[3, 30, 1] = np.inf
        logs[4, 8:, 1] = -np.inf  # a direction collapses exactly: valid, exponent -inf
        logs[5, 0] = np.nan  # nothing valid
    sim = cg.MapSimulator(lambda y, a: a * y)
    res = summarise(
        logs,
        ok,
        simulator=sim,
        n=k,
        k=k,
        m=m,
        n_int=n_int,
        transient_steps=0,
        n_batches=8,
        seed=0,
        ensemble=members > 1,
        convergence="fixed",
    )
    valid, member_exp, history = _summary_by_definition(logs / (sim.dt * m), ok)
    np.testing.assert_array_equal(res.valid_intervals, valid)
    # Sums in another order: equal to round-off (1e-12 relative on 40 terms of size 1).
    np.testing.assert_allclose(res.member_exponents, member_exp, rtol=1e-12, atol=0)
    np.testing.assert_allclose(res.history, history, rtol=1e-12, atol=0)
    assert res.status == "nonfinite"
    if members == 1:
        assert res.valid_intervals[0] == 25 and res.nonfinite_quantity == "state"
    else:
        assert res.first_nonfinite_interval == 0
        assert res.nonfinite_quantity == "tangent"
        assert res.member_exponents[4, 1] == -np.inf and np.isnan(res.member_exponents[5]).all()


def test_ensemble_size_mismatch_is_a_clear_error():
    with pytest.raises(ChaosgradInputError, match="`args`"):
        cg.lyapunov_spectrum(
            cg.MapSimulator(logistic),
            jnp.ones((3, 1)) * 0.3,
            jnp.ones(4) * 3.9,
            n_intervals=5,
            ensemble_axes=(0, 0),
        )


def test_result_round_trips_through_json(tmp_path):
    res = cg.lyapunov_spectrum(
        cg.MapSimulator(lambda y, a: 2.0 * y, dtype="float32"), jnp.ones(1), None, n_intervals=200
    )
    path = tmp_path / "r.json"
    path.write_text(res.to_json())
    json.loads(path.read_text())  # strict JSON: NaN is encoded, not written bare
    back = cg.load_result(path)
    assert isinstance(back, cg.LyapunovResult)
    for name in ("exponents", "standard_error", "history", "finite_time_exponents", "valid_intervals"):
        a, b = getattr(res, name), getattr(back, name)
        assert a.dtype == b.dtype and a.shape == b.shape
        np.testing.assert_array_equal(a, b)
    assert back.status == res.status and back.simulator == res.simulator


SHARDED_SCRIPT = textwrap.dedent(
    """
    import jax, jax.numpy as jnp, numpy as np, chaosgrad as cg
    assert jax.device_count() == 4, jax.devices()
    def lorenz(t, y, a):
        x, yy, z = y
        return jnp.stack([10 * (yy - x), x * (a - z) - yy, x * yy - 8 / 3 * z])
    sim = cg.ODESimulator(lorenz, dt=0.01)
    y0 = jnp.array([[1.0, 1.0, 1.0 + 0.1 * i] for i in range(6)])  # 6: not a multiple of 4
    kw = dict(k=2, transient=1.0, interval=0.1, time=5.0, ensemble_axes=(0, None))
    a = cg.lyapunov_spectrum(sim, y0, 28.0, shard=True, **kw)
    b = cg.lyapunov_spectrum(sim, y0, 28.0, shard=False, **kw)
    print(np.max(np.abs(a.member_exponents - b.member_exponents)))
    """
)


@pytest.mark.slow
def test_sharded_ensemble_matches_unsharded():
    env = dict(os.environ, XLA_FLAGS="--xla_force_host_platform_device_count=4", JAX_PLATFORMS="cpu")
    out = subprocess.run([sys.executable, "-c", SHARDED_SCRIPT], env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    # Each member runs the same compiled arithmetic on whichever device holds it.
    assert float(out.stdout.strip().splitlines()[-1]) < 1e-12


@pytest.mark.user_process
def test_a_float64_simulator_computes_in_float64_in_a_default_process():
    """x -> (1 + 1e-9) x has exponent ln(1 + 1e-9) = 1e-9 - 5e-19: visible in float64, exactly
    zero in float32 (1 + 1e-9 rounds to 1). The test process runs with JAX's default
    configuration (x64 off): lyapunov_spectrum must enable float64 in its own scope."""

    assert not jax.config.jax_enable_x64
    sim = cg.MapSimulator(lambda x, a: x * (1.0 + 1e-9))
    res = cg.lyapunov_spectrum(sim, np.ones(1), None, time=100.0)
    assert abs(res.exponents[0] - 1e-9) < 1e-12, res.exponents
