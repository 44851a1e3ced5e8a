"""The diagnosis on the cases where the right answer is known."""

import json
import types

import diffrax
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import chaosgrad as cg
from chaosgrad import ChaosgradInputError


def lorenz(t, y, a):
    x, yy, z = y
    return jnp.stack([a["sigma"] * (yy - x), x * (a["rho"] - z) - yy, x * yy - a["beta"] * z])


def oscillator(t, y, a):
    return jnp.stack([y[1], -(a["omega"] ** 2) * y[0] - 2 * a["zeta"] * a["omega"] * y[1]])


LORENZ = {"sigma": 10.0, "rho": 28.0, "beta": 8.0 / 3.0}
LAMBDA1 = 0.9056  # Sprott (2003)


@pytest.mark.parametrize("wrt", ["y0", "rho"])
def test_lorenz63_is_intrinsic_explosion(wrt):
    sim = cg.ODESimulator(lorenz, solver=cg.RK4(), dt=0.01)
    # The bound is about the attractor (lambda_1 is an ergodic average): members on it.
    d = cg.diagnose(sim, jnp.array([1.0, 1.0, 1.0]), LORENZ, wrt=wrt, members=cg.OnAttractor(12), lyapunov_time=100.0)
    assert d.physics == "chaotic"
    assert d.verdict == "intrinsic-explosion"
    assert d.causes == ()
    # The bound: the gradient rate within 15% of lambda_1.
    assert abs(d.gradient_rate - LAMBDA1) < 0.15 * LAMBDA1
    assert d.truncation_horizon == pytest.approx(np.log(2) / d.lambda_physical.exponents[0])
    assert any(r.topic == "truncation" for r in d.recommendations)


@pytest.mark.slow
def test_backsolve_adjoint_on_contracting_lorenz_is_the_cause():
    sim = cg.ODESimulator(lorenz, solver=cg.RK4(), dt=0.01, adjoint=diffrax.BacksolveAdjoint())
    d = cg.diagnose(
        sim,
        jnp.array([1.0, 1.0, 1.0]),
        dict(LORENZ, rho=10.0),
        wrt="rho",
        loss=lambda y: y[2],
        horizons=np.geomspace(1.0, 20.0, 7),
        members=4,
        lyapunov_time=50.0,
    )
    assert d.physics == "contracting"
    assert "adjoint" in d.causes
    (ablation,) = [a for a in d.ablations if a.name == "checkpoint-adjoint"]
    assert ablation.confirmed
    assert d.verdict == "numerical-explosion"
    # The ablated gradient is exact: at the stable fixed point z* = rho - 1, so
    # d z(T) / d rho -> 1 (REFERENCE.md); by T = 20 the transient e^{-0.6 T} has decayed
    # to 1e-5. The member-by-member comparison is made along the same trajectories.
    # Backsolve re-integrates the contracting flow backwards (expanding at -lambda_3 ~ 12):
    # its gradient is NaN by T ~ 4 while the forward run stays finite.
    assert ablation.evidence["nonfinite_fraction_before"] > 0.5
    assert ablation.evidence["nonfinite_fraction_after"] == 0.0
    assert d.gradient.state_finite.all()
    # From the user's start (1, 1, 1) the exact gradient approaches 1 like 1 - c e^{-0.6 T}:
    # over the fit window T = 5-20 that transient leaves a slope of order 0.6 c e^{-3} ~ 0.01 c.
    assert ablation.rate_after == pytest.approx(0.0, abs=1e-2)
    # The exact gradient: at the stable fixed point z* = rho - 1, so d z(T) / d rho -> 1
    # (REFERENCE.md); by T = 20 the transient e^{-0.6 T} has decayed to 1e-5.
    assert ablation.evidence["median_norm_longest_after"] == pytest.approx(1.0, abs=1e-3)


def test_the_adjoint_cause_anticipates_its_own_ablation():
    """Cause rule 7: what ``anticipate`` returns from the set-up alone is what ``ablate``
    returns, so the program compiled ahead is the one measured."""
    back = cg.ODESimulator(
        lorenz,
        solver=diffrax.Tsit5(),
        dt=0.01,
        adjoint=diffrax.BacksolveAdjoint(),
        stepsize_controller=diffrax.PIDController(rtol=1e-6, atol=1e-9),
    )
    cause = cg.Adjoint()
    sim, args = cause.anticipate(back, LORENZ)
    evidence = types.SimpleNamespace(simulator=back, args=LORENZ)
    ablated_sim, ablated_args, *_ = cause.ablate(evidence)
    assert args is ablated_args
    assert jax.tree_util.tree_structure(sim) == jax.tree_util.tree_structure(ablated_sim)
    assert isinstance(sim.adjoint, diffrax.RecursiveCheckpointAdjoint)
    # Reverse mode through the steps has no ablation to anticipate.
    assert cause.anticipate(cg.ODESimulator(lorenz, solver=cg.RK4(), dt=0.01), LORENZ) is None


@pytest.mark.slow
def test_explicit_euler_at_large_step_explodes_numerically():
    sim = cg.ODESimulator(oscillator, solver=diffrax.Euler(), dt=0.25)
    d = cg.diagnose(sim, jnp.array([1.0, 0.0]), {"omega": 10.0, "zeta": 0.1}, members=4, lyapunov_time=200.0)
    assert d.physics == "contracting"
    assert d.causes == ("discretization",)
    assert d.verdict == "numerical-explosion"
    # Euler's amplification |1 + h lambda| for lambda = -1 ± 9.95i at h = 0.25 is 2.60:
    # both exponents are ln(2.60) / 0.25 = 3.82 per time unit. Their sum is exact in
    # every interval (ln|det|); each one alone oscillates by ~ln(cond)/T about it.
    lam = -1.0 + 1j * np.sqrt(99.0)
    exact = np.log(abs(1 + 0.25 * lam)) / 0.25
    assert d.lambda_numerical.exponents.sum() == pytest.approx(2 * exact, abs=1e-9)
    assert d.lambda_numerical.exponents[0] == pytest.approx(exact, abs=1e-2)
    assert abs(d.gradient_rate - exact) < 0.05 * exact
    step = [r for r in d.recommendations if r.topic == "step size"]
    # Euler's rate error is ~ h |lambda|^2 / 2: it is within a factor 2 of the gradient
    # over the horizon only for h below ~1e-3; the search halves from 0.25.
    assert step and step[0].value is not None and step[0].value < 2e-3


def test_explicit_euler_at_small_step_is_not_an_explosion():
    sim = cg.ODESimulator(oscillator, solver=diffrax.Euler(), dt=0.001)
    d = cg.diagnose(sim, jnp.array([1.0, 0.0]), {"omega": 10.0, "zeta": 0.1}, members=4, lyapunov_time=20.0)
    assert d.physics == "contracting"
    assert "explosion" not in d.verdict
    assert d.gradient_rate < 0


@pytest.mark.slow
def test_float16_lorenz_overflows_from_precision():
    sim = cg.ODESimulator(lorenz, solver=cg.RK4(), dt=0.01, dtype="float16")
    d = cg.diagnose(sim, jnp.array([1.0, 1.0, 1.0]), LORENZ, members=6, lyapunov_time=50.0)
    assert "precision" in d.causes
    assert d.physics == "chaotic"
    # float16 max is 65504 = e^11.1; at lambda_1 ~ 0.9 that is T ~ 12 plus the O(1)
    # start-up of ||grad||; anything between 5 and 25 is consistent.
    assert d.overflow_horizon is not None and 5.0 < d.overflow_horizon < 25.0
    assert (~d.gradient.finite).any()  # the overflow was observed, not only predicted


def _rnn(gain, n=100, seed=0):
    W = jax.random.normal(jax.random.PRNGKey(seed), (n, n)) / np.sqrt(n)
    sim = cg.MapSimulator(lambda h, a: jnp.tanh(a["gain"] * a["W"] @ h))
    h0 = jax.random.normal(jax.random.PRNGKey(seed + 1), (n,))
    return sim, h0, {"gain": gain, "W": W}


def test_tanh_rnn_gain_decides_vanishing_or_explosion():
    sim, h0, args = _rnn(0.5)
    low = cg.diagnose(sim, h0, args, members=4, k=2, lyapunov_time=400.0)
    sim, h0, args = _rnn(2.0)
    high = cg.diagnose(sim, h0, args, members=4, k=2, lyapunov_time=400.0)
    assert (low.physics, low.verdict) == ("contracting", "intrinsic-vanishing")
    assert (high.physics, high.verdict) == ("chaotic", "intrinsic-explosion")
    assert low.causes == () and high.causes == ()


def test_diagnosis_round_trips_through_json(tmp_path):
    sim = cg.ODESimulator(oscillator, solver=cg.RK4(), dt=0.01)
    d = cg.diagnose(
        sim, jnp.array([1.0, 0.0]), {"omega": 2.0, "zeta": 0.3}, members=3, lyapunov_time=30.0, name="oscillator"
    )
    text = d.to_json()
    json.loads(text)
    back = cg.Diagnosis.from_json(text)
    assert back.verdict == d.verdict and back.causes == d.causes
    np.testing.assert_array_equal(back.gradient.norms, d.gradient.norms)
    assert back.recommendations == d.recommendations
    assert back.config["versions"]["jax"] == jax.__version__


@pytest.mark.parametrize(
    "kwargs, argument",
    [
        (dict(loss=lambda y: y), "`loss`"),
        (dict(horizons=[2.0, 1.0, 3.0]), "`horizons`"),
        (dict(wrt="omega_squared"), "`wrt`"),
        (dict(reference=cg.ODESimulator(lambda t, y, a: jnp.zeros(3))), "`reference`"),
        (dict(members=1), "`members`"),
    ],
)
def test_bad_arguments_are_named(kwargs, argument):
    sim = cg.ODESimulator(oscillator, dt=0.01)
    with pytest.raises(ChaosgradInputError, match=argument):
        cg.diagnose(sim, jnp.array([1.0, 0.0]), {"omega": 2.0, "zeta": 0.3}, lyapunov_time=1.0, **kwargs)


class BrokenRescaling(cg.AbstractCause):
    """A user's cause whose ablation cannot be built."""

    name = "saturation"
    words = "saturated units scale the gradient down"

    def suspect(self, evidence):
        return "the caller asked for it"

    def ablate(self, evidence):
        raise RuntimeError("this network cannot be rescaled")

    def anticipate(self, simulator, args):  # cause rule 7: a failing anticipation costs nothing
        raise RuntimeError("this network cannot be rescaled")


def test_failed_ablation_is_reported_not_raised():
    sim = cg.ODESimulator(oscillator, solver=cg.RK4(), dt=0.01)
    d = cg.diagnose(
        sim,
        jnp.array([1.0, 0.0]),
        {"omega": 2.0, "zeta": 0.3},
        members=3,
        lyapunov_time=30.0,
        causes=cg.DEFAULT_CAUSES + (BrokenRescaling(),),
    )
    (ab,) = d.ablations
    assert ab.status == "failed" and "cannot be rescaled" in ab.error
    assert d.status == "partial"
    assert any("saturation" in n for n in d.notes)
    assert d.verdict == "intrinsic-vanishing"  # everything else was still measured
    assert d.cause_words["saturation"] == BrokenRescaling.words


@pytest.mark.parametrize(
    "causes, match",
    [
        ([BrokenRescaling], "an instance"),
        ([BrokenRescaling(), BrokenRescaling()], "more than once"),
        (["adjoint"], "not a chaosgrad cause"),
    ],
)
def test_bad_causes_are_refused_before_running(causes, match):
    sim = cg.ODESimulator(oscillator, dt=0.01)
    with pytest.raises(ChaosgradInputError, match=f"`causes`.*{match}"):
        cg.diagnose(sim, jnp.array([1.0, 0.0]), {"omega": 2.0, "zeta": 0.3}, causes=causes)


def test_the_name_given_is_the_name_reported():
    import jax.numpy as jnp

    import chaosgrad as cg

    d = cg.diagnose(
        cg.MapSimulator(lambda x, r: r * x * (1 - x)),
        jnp.array([0.3]),
        4.0,
        horizons=(4, 8, 16),
        members=2,
        name="my logistic map",
    )
    assert d.name == "my logistic map" and d.summary().startswith("chaosgrad diagnosis: my logistic map")


@pytest.mark.parametrize("t_fault", [0.7, 3.3])
def test_nan_at_a_random_time_is_a_finding_and_keeps_what_came_before(t_fault):
    import jax.numpy as jnp

    import chaosgrad as cg

    def field(t, y, a):
        return jnp.where(t < t_fault, -0.5 * y, jnp.nan)

    sim = cg.ODESimulator(field, solver=cg.RK4(), dt=0.05)
    d = cg.diagnose(sim, jnp.ones(2), None, horizons=(0.5, 1.0, 2.0, 4.0), members=2, transient=0.0, lyapunov_time=2.0)
    assert d.verdict in cg.VERDICTS
    g = d.gradient
    early = g.horizons < t_fault - 0.1
    # Member 0 starts at y0 (t = 0): its horizons before the fault are measured; after it,
    # and for members sampled from the trajectory beyond it, nothing is (a gradient along
    # a NaN trajectory is finite here, a NaN branch of jnp.where has a zero derivative,
    # and it must not count).
    assert np.all(np.isfinite(g.norms[0, early]))
    assert not np.all(np.isfinite(g.norms)) and not g.finite[:, ~early].any()


def _numbers(d):
    return (
        np.asarray(d.lambda_physical.exponents),
        np.asarray(d.lambda_numerical.exponents),
        np.asarray(d.gradient.norms),
        d.verdict,
        d.notes,
    )


@pytest.mark.parametrize("lyapunov_time, in_background", [(40.0, 3), (40.03, 2)])
def test_measurements_side_by_side_give_the_sequential_numbers(monkeypatch, lyapunov_time, in_background):
    # A fixed measuring time and the caller's horizons: the reference's run at dt / 2,
    # the user's spectrum and the members run in the background beside the reference's
    # run at dt (``_runtime.concurrent``). Rule 5 of ``_runtime.concurrent`` decides by the compilations
    # in flight; here it is forced each way, and the numbers must not move. 40.03 is not
    # a whole number of intervals: the halvings round it to 40.0 and 40.05, so the user's
    # spectrum waits for the returned reference's own time, as the sequential code does.
    import chaosgrad._runtime.concurrent as concurrent

    started = []
    background = concurrent.Pending
    monkeypatch.setattr(concurrent, "Pending", lambda *a, **kw: started.append(a[0]) or background(*a, **kw))
    sim = cg.ODESimulator(lorenz, solver=cg.RK4(), dt=0.01)
    # Members on the attractor are sampled beside the reference's run (the user's own start needs no sampling).
    kwargs = dict(wrt="rho", members=cg.OnAttractor(4), lyapunov_time=lyapunov_time, k=2, horizons=[1.0, 2.0, 4.0])
    monkeypatch.setattr(concurrent, "compiling_in_background", lambda: True)
    sequential = cg.diagnose(sim, jnp.array([1.0, 1.0, 1.0]), LORENZ, **kwargs)
    assert started == []
    monkeypatch.setattr(concurrent, "compiling_in_background", lambda: False)
    side = cg.diagnose(sim, jnp.array([1.0, 1.0, 1.0]), LORENZ, **kwargs)
    assert len(started) == in_background  # the reference at dt / 2, the members (, the user's spectrum)
    for a, b in zip(_numbers(sequential), _numbers(side)):
        if isinstance(a, np.ndarray):
            np.testing.assert_array_equal(a, b)
        else:
            assert a == b


def test_a_float64_map_is_its_own_reference():
    # The default reference of a map is the same step in float64: for a float64 map the
    # two spectra are one computation, bit for bit, wherever each one runs.
    sim = cg.MapSimulator(lambda y, a: jnp.stack([1.0 - a * y[0] ** 2 + y[1], 0.3 * y[0]]))
    d = cg.diagnose(sim, jnp.array([0.1, 0.1]), 1.4, members=4, horizons=[4, 8, 16])
    np.testing.assert_array_equal(d.lambda_physical.exponents, d.lambda_numerical.exponents)
    assert abs(d.lambda_physical.exponents[0] - 0.419) < 0.02  # Henon map (Sprott 2003: 0.41922)
