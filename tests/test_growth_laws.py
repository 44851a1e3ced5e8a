"""Growth laws, the three-way rate comparison and the horizons as given.

Synthetic curves have a known law; the comparison is checked on synthetic verdict
inputs; two real cases (a pendulum in libration, Lorenz-63 through a reverse-time
adjoint) check the verdict where it used to contradict its own numbers.
"""

import math

import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import chaosgrad as cg
from chaosgrad._diagnosis.verdict import VerdictInputs, decide, rate_comparison
from chaosgrad._gradients.horizons import HORIZON_TOLERANCE, plan_horizons
from chaosgrad._gradients.laws import fit_growth_law

LAWS = {
    "exponential": lambda t: np.exp(0.3 * t),
    "power": lambda t: t,
    "power-2": lambda t: t**2,
}


def curves(f, t, noise, seed, members=8):
    rng = np.random.default_rng(seed)
    return f(t)[None, :] * np.exp(noise * rng.normal(size=(members, t.size)))


@pytest.mark.parametrize("name", sorted(LAWS))
@pytest.mark.parametrize("lo, hi", [(5.0, 40.0), (2.0, 4.0)])
def test_law_of_clean_curves(name, lo, hi):
    # 5% scatter per point: every law is decided even over a factor 2 of horizons.
    t = np.geomspace(lo, hi, 8)
    n = curves(LAWS[name], t, 0.05, seed=0)
    law = fit_growth_law(t, n, np.ones_like(n, bool), flat=False)
    assert law.law == name.split("-")[0]
    if law.law == "power":
        p = 2.0 if name == "power-2" else 1.0
        assert law.exponent_interval[0] < p < law.exponent_interval[1]
        assert law.net_rate_interval[0] < 0.0 < law.net_rate_interval[1]


def test_saturating_is_the_flat_class():
    t = np.geomspace(5.0, 40.0, 8)
    n = curves(lambda t: 1 - np.exp(-t), t, 0.05, seed=1)
    assert fit_growth_law(t, n, np.ones_like(n, bool), flat=True).law == "saturating"


@pytest.mark.parametrize("name", ["exponential", "power"])
def test_deciding_horizon_decides(name):
    """Over T = 2-4 with a factor e^0.5 of scatter the laws cannot be told apart; at the
    horizon the fit computes, with the same scatter, they are, in almost every draw (the
    criterion asks for a margin of a whole half-width: about 97%; 34 of 40 leaves room
    for the scatter of the computed horizon itself)."""
    t = np.geomspace(2.0, 4.0, 8)
    laws = [
        fit_growth_law(t, n, np.ones_like(n, bool), flat=False)
        for n in (curves(LAWS[name], t, 0.5, seed=s) for s in range(10))
    ]
    assert sum(law.law == "either" for law in laws) >= 5
    hi = float(np.nanmedian([law.deciding_horizon for law in laws]))
    assert 4.0 < hi < 4.0 * 2**10
    t2 = np.geomspace(2.0, hi, 8)
    found = [
        fit_growth_law(t2, n, np.ones_like(n, bool), flat=False).law
        for n in (curves(LAWS[name], t2, 0.5, seed=100 + s) for s in range(40))
    ]
    assert found.count(name) >= 34, found


def inputs(rate, half, expected, e_half=0.01, **kw):
    base = dict(
        rate=rate,
        rate_low=rate - half,
        rate_high=rate + half,
        expected=expected,
        expected_low=expected - e_half,
        expected_high=expected + e_half,
        t_max=10.0,
        gradient_status="ok",
        forward_diverged=False,
        reference_diverged=False,
        physics="chaotic",
    )
    base.update(kw)
    return VerdictInputs(**base)


def test_disjoint_intervals_are_never_agreement():
    # 1.02 +- 0.1 against 0.9 +- 0.01: disjoint at 95%, not significant at 99%.
    c = rate_comparison(inputs(1.02, 0.1, 0.9))
    assert c.outcome == "undecided"
    d = decide(inputs(1.02, 0.1, 0.9))
    assert d.verdict == "inconclusive"
    assert not any("agrees" in r for r in d.reasons)
    assert any("members" in t for t in d.to_decide)


def test_a_gap_every_member_shows_is_a_gap_with_two_members():
    # Two members at 5 and 7, each known to +-0.3 from its own curve; the mean's
    # Student-t with one degree of freedom is wide ([-6, 18]), the members are not.
    v = inputs(6.0, 12.0, 0.9, rate_dof=1, member_rates=(5.0, 7.0), member_rate_se=(0.3, 0.3), member_rate_dof=(6, 6))
    c = rate_comparison(v)
    assert c.outcome == "disagree" and "each of the 2 members" in c.evidence
    assert decide(v).verdict == "inconclusive"  # a gap that no ablation explains
    assert (
        decide(
            inputs(
                6.0,
                12.0,
                0.9,
                rate_dof=1,
                member_rates=(5.0, 7.0),
                member_rate_se=(0.3, 0.3),
                member_rate_dof=(6, 6),
                confirmed=("adjoint",),
            )
        ).verdict
        == "numerical-explosion"
    )
    # One member inside the prediction: no longer every member.
    v2 = inputs(3.0, 12.0, 0.9, rate_dof=1, member_rates=(0.95, 5.0), member_rate_se=(0.3, 0.3), member_rate_dof=(6, 6))
    assert rate_comparison(v2).outcome != "disagree"


def test_members_needed_is_computed_from_the_spread():
    # dof 7 (8 members), half-width 0.1 at 95%: sd = 0.1 / 2.365 * sqrt(8) = 0.12;
    # a gap of 0.12 needs t_99(n-1) 0.12 / sqrt(n) < ~0.12, i.e. about 10 members.
    c = rate_comparison(inputs(1.02, 0.1, 0.9, rate_dof=7))
    assert c.outcome == "undecided" and 8 < c.members_needed <= 20


def law(kind, p=1.0, net=(-0.01, 0.02), deciding=math.nan):
    return cg.GrowthLaw(
        law=kind,
        exponent=p,
        exponent_interval=(p - 0.2, p + 0.2),
        net_rate=0.005,
        net_rate_interval=net,
        joint_exponent=p,
        joint_exponent_interval=(p - 0.5, p + 0.5),
        horizon_range=(5.0, 40.0),
        deciding_horizon=deciding,
        points=8,
    )


def test_power_law_on_neutral_physics_is_stable():
    v = inputs(0.054, 0.019, 0.001, e_half=0.003, t_max=40.0, physics="neutral", law=law("power"))
    d = decide(v)
    assert d.verdict == "stable"
    assert "T^p with p = +1.0" in d.reasons[0]
    # The same numbers judged only as an exponential were a gap nobody explains.
    assert decide(inputs(0.054, 0.019, 0.001, e_half=0.003, t_max=40.0, physics="neutral")).verdict == "inconclusive"


def test_laws_the_data_cannot_tell_apart_name_the_deciding_horizon():
    v = inputs(0.054, 0.019, 0.001, e_half=0.003, t_max=40.0, physics="neutral", law=law("either", deciding=320.0))
    d = decide(v)
    assert d.verdict == "inconclusive"
    assert "T = 320" in d.to_decide[0]
    v = inputs(0.054, 0.019, 0.001, e_half=0.003, t_max=40.0, physics="neutral", law=law("either"))
    assert "more members" in decide(v).to_decide[0]


finite = st.floats(-20, 20, allow_nan=False)
width = st.floats(1e-4, 20, allow_nan=False)


@given(rate=finite, half=width, expected=finite, e_half=width, dof=st.integers(1, 64), t_max=st.floats(0.1, 1e3))
def test_agreement_words_only_for_overlapping_or_immaterial_gaps(rate, half, expected, e_half, dof, t_max):
    v = inputs(rate, half, expected, e_half=e_half, rate_dof=dof, t_max=t_max)
    d = decide(v)
    if any("agrees" in r for r in d.reasons):
        overlap = v.rate_low <= v.expected_high and v.rate_high >= v.expected_low
        nearest = min(abs(rate - v.expected_low), abs(rate - v.expected_high))
        assert overlap or nearest * t_max <= math.log(2) * (1 + 1e-9)
    assert not any("nan" in r.lower() for r in d.reasons + d.to_decide)


@pytest.mark.parametrize("horizons, dt", [([5, 10, 20, 1e6], 1.0), (np.geomspace(1, 1e4, 8), 1.0)])
def test_horizons_the_grid_cannot_hold_are_refused(horizons, dt):
    with pytest.raises(ValueError, match="horizons") as err:
        plan_horizons(horizons, dt)
    assert "multiples of" in str(err.value) and "separate call" in str(err.value)


def test_horizons_are_measured_as_given_or_noted():
    plan = plan_horizons([1.0, 2.0, 4.0], 0.01)
    assert np.allclose(plan.times(0.01)[plan.reported], [1.0, 2.0, 4.0]) and plan.notes == ()
    # 1000 steps in blocks of 8: 101 steps is measured at 104 (3%): within the tolerance, noted.
    plan = plan_horizons([1.01, 5.0, 10.0], 0.01)
    moved = plan.times(0.01)[plan.reported][0]
    assert moved != 1.01 and abs(moved - 1.01) / 1.01 <= HORIZON_TOLERANCE
    assert plan.notes and "1.01 at" in plan.notes[0]


def test_gradient_growth_reports_the_horizons_and_notes():
    logistic = cg.MapSimulator(lambda y, a: a * y * (1 - y))
    g = cg.gradient_growth(logistic, jnp.array([0.3]), jnp.array([3.2]), horizons=[5, 10, 20, 40], wrt="y0", members=3)
    assert np.allclose(g.reported_horizons, [5, 10, 20, 40])
    with pytest.raises(ValueError, match="horizons"):
        cg.gradient_growth(logistic, jnp.array([0.3]), jnp.array([3.2]), horizons=[5, 10, 20, 1e6], wrt="y0")


def pendulum(t, y, a):
    theta, omega = y
    return jnp.stack([omega, -(9.81 / a["l"]) * jnp.sin(theta)])


@pytest.mark.slow
def test_pendulum_libration_grows_like_t_and_is_stable():
    """theta'' = -(g/l) sin theta from theta0 = 1: the period depends on l, so
    d theta(T)/dl grows like T (phase drift) on neutral physics. From the user's own start
    over T = 5-40 the one trajectory's oscillating |sin| factor leaves the laws open
    (inconclusive, never a gap); the horizon the fit computes decides them."""
    sim = cg.ODESimulator(pendulum, solver=cg.RK4(), dt=0.01)

    def run(horizons, **kw):
        return cg.diagnose(
            sim, jnp.array([1.0, 0.0]), {"l": 1.0}, wrt="l", loss=lambda y: y[0], horizons=horizons, **kw
        )

    d = run((5, 10, 20, 40))
    assert d.physics == "neutral" and d.verdict in ("stable", "inconclusive")
    if d.verdict == "inconclusive":
        assert d.gradient.law.law == "either" and math.isfinite(d.gradient.law.deciding_horizon)
        d = run(tuple(np.geomspace(5.0, d.gradient.law.deciding_horizon, 6)))
    assert d.gradient.law.law == "power" and d.verdict == "stable"
    lo, hi = d.gradient.law.exponent_interval
    assert lo < 1.0 < hi
    # Members at independent phases of the libration (the ergodic question) decide at T = 40.
    d = run((5, 10, 20, 40), members=cg.OnAttractor(8))
    assert (d.gradient.law.law, d.verdict) == ("power", "stable")


def tanh_field(t, y, a):
    return a["W"] @ y + jnp.tanh(y)


@pytest.mark.slow
def test_members_start_from_the_users_state_not_the_fixed_point():
    """y' = W y + tanh y with W = [[-5, 0.3], [-0.3, -5]]: from y0 = (1, -0.5) the
    gradient with respect to W is O(0.1) and decays at Re eig(W + I) = -4. Members on the
    attractor sit on the fixed point 0, where d y/dW vanishes: that is not the user's
    computation, and no-gradient would say the step propagates nothing."""
    import diffrax

    sim = cg.ODESimulator(
        tanh_field, solver=diffrax.Tsit5(), dt=0.01, stepsize_controller=diffrax.PIDController(rtol=1e-6, atol=1e-8)
    )
    args = {"W": jnp.array([[-5.0, 0.3], [-0.3, -5.0]])}
    d = cg.diagnose(sim, jnp.array([1.0, -0.5]), args, wrt="args", horizons=(0.5, 1, 2, 4))
    assert d.verdict == "intrinsic-vanishing", d.summary()
    assert "user's own start" in d.member_source and "finite-time" in d.expected_basis
    assert 0.01 < d.gradient.norms[0, 0] < 10.0  # member 0 is y0 itself: O(0.1) at T = 0.5


def test_member_sources_check_their_arguments():
    with pytest.raises(ValueError, match="members"):
        cg.diagnose(cg.MapSimulator(lambda y, a: 0.5 * y), jnp.array([1.0]), members=1)
    with pytest.raises(ValueError, match="scale"):
        cg.NearStart(8, scale=2.0)
    with pytest.raises(ValueError, match="states"):
        cg.GivenStates({"a": jnp.zeros((3, 2)), "b": jnp.zeros((4, 2))})
    with pytest.raises(ValueError, match="members"):
        cg.diagnose(cg.MapSimulator(lambda y, a: 0.5 * y), jnp.array([1.0]), members=cg.NearStart)


def test_near_start_keeps_y0_as_member_zero_and_perturbs_by_its_scale():
    sim = cg.MapSimulator(lambda y, a: y)
    y0 = jnp.array([1.0, 0.0, -2.0])
    s = np.asarray(cg.NearStart(16, scale=1e-3).starts(sim, sim.prepare(y0), None, seed=0, horizons=[4.0, 8.0]))
    assert np.array_equal(s[0], np.asarray(y0))
    rel = np.abs(s[1:] - np.asarray(y0)) / np.maximum(np.abs(np.asarray(y0)), np.sqrt(np.mean(np.asarray(y0) ** 2)))
    assert 0 < rel.max() < 5e-3  # |z| < 5 for 45 standard normal draws: the scale is 1e-3


def test_given_states_are_the_members():
    logistic = cg.MapSimulator(lambda y, a: 4.0 * y * (1 - y))
    batch = jnp.linspace(0.1, 0.4, 4)[:, None]
    d = cg.diagnose(logistic, jnp.array([0.3]), members=cg.GivenStates(batch), horizons=(4, 8, 16))
    assert d.config["members"] == 4 and "given by the caller" in d.member_source
    assert d.verdict == "intrinsic-explosion"


def test_underflow_to_zero_in_the_users_dtype_confirms_precision_by_value():
    """y' = 0.3 y + 0.01 tanh y in float32: the gradient decays at ln(0.31) = -1.17 and
    is exactly 0 in float32 from n ~ 75 (2^-149 = e^-103), where float64 gives 1e-40 and
    below. A zero is never fitted, so only the values show it: the float64 ablation
    confirms precision, and the decay itself is physical."""
    sim = cg.MapSimulator(lambda y, a: 0.3 * y + 0.01 * jnp.tanh(y), dtype="float32")
    d = cg.diagnose(sim, jnp.array([1.0, 0.5]), horizons=(20, 40, 80, 120))
    assert d.verdict == "intrinsic-vanishing" and d.causes == ("precision",), d.summary()
    ab = next(a for a in d.ablations if a.name == "float64")
    assert ab.evidence["lost_fraction"] > 0 and "underflows" in ab.reason


@pytest.mark.parametrize("noise", ["independent", "random walk"])
def test_power_law_exponent_interval_covers_at_its_stated_level(noise):
    """200 groups of 8 independent members, ln|g| = a_m + 1.0 ln T + e_m(T) over 12
    log-spaced horizons T = 5-160, with e_m independent (sd 0.3) or a random walk (steps
    of sd 0.1): the 95% interval of the power-law exponent covers 1.0 in [0.90, 0.99] of
    the groups (binomial sd 1.5% at 200 groups), as the members' Student-t promises."""
    t = np.geomspace(5.0, 160.0, 12)
    hits = 0
    for g in range(200):
        rng = np.random.default_rng(1000 + g)
        e = (
            0.3 * rng.normal(size=(8, t.size))
            if noise == "independent"
            else np.cumsum(0.1 * rng.normal(size=(8, t.size)), axis=1)
        )
        n = np.exp(rng.normal(size=(8, 1)) + np.log(t)[None, :] + e)
        lo, hi = fit_growth_law(t, n, np.ones_like(n, bool), flat=False).exponent_interval
        hits += lo <= 1.0 <= hi
    assert 0.90 <= hits / 200 <= 0.99, hits


@pytest.mark.parametrize("members", [2, 4, 8])
def test_the_verdict_does_not_depend_on_the_dtype_y0_is_written_in(members):
    """The logistic map at r = 4 (lambda = ln 2): y0 = 0.3 given as float32 or float64
    is the same start for a float64 simulator, and gives the same verdict."""
    logistic = cg.MapSimulator(lambda y, a: a * y * (1 - y))
    verdicts = {
        cg.diagnose(logistic, jnp.asarray([0.3], dtype), 4.0, horizons=(4, 8, 16), members=members).verdict
        for dtype in (np.float32, np.float64)
    }
    assert verdicts == {"intrinsic-explosion"}


any_rate = st.one_of(st.floats(-20, 20, allow_nan=False), st.just(math.nan), st.just(math.inf), st.just(-math.inf))


@given(
    rate=any_rate,
    half=st.one_of(width, st.just(math.nan), st.just(math.inf)),
    expected=any_rate,
    e_half=st.one_of(width, st.just(math.nan)),
    status=st.sampled_from(["ok", "partial", "partial-nonfinite", "nonfinite", "zero"]),
    physics=st.sampled_from(["chaotic", "neutral", "contracting", "undetermined", "unbounded"]),
    confirmed=st.sampled_from([(), ("adjoint",), ("precision",)]),
    diverged=st.booleans(),
    law=st.sampled_from([None, "power", "either", "exponential"]),
    paired=st.one_of(st.just(()), st.tuples(finite, width, st.integers(1, 30), st.floats(0.5, 100))),
)
def test_no_word_of_the_verdict_is_nan_or_inf(
    rate, half, expected, e_half, status, physics, confirmed, diverged, law, paired
):
    v = inputs(
        rate,
        half,
        expected,
        e_half=e_half,
        gradient_status=status,
        physics=physics,
        confirmed=confirmed,
        forward_diverged=diverged,
        law=None if law is None else globals()["law"](law, deciding=math.nan),
        paired=() if not paired else (paired[0], paired[0] - paired[1], paired[0] + paired[1], paired[2], paired[3]),
    )
    d = decide(v)
    text = " ".join(d.reasons + d.to_decide).lower()
    assert d.reasons and d.verdict in cg.VERDICTS
    for token in ("nan", "+inf", "-inf", " inf "):
        assert token not in text, (token, text)


def test_a_zero_gradient_through_a_step_that_propagates_blames_the_loss():
    """A constant reward: the step carries derivatives (the probe at y0 says so), the
    return's gradient is exactly zero. no-gradient, but the words name the loss."""
    base = dict(gradient_status="zero", physics="contracting")
    d = decide(inputs(math.nan, math.nan, -1.0, step_propagates=True, **base))
    assert d.verdict == "no-gradient" and "the loss does not depend" in d.reasons[0]
    d = decide(inputs(math.nan, math.nan, -1.0, **base))
    assert d.verdict == "no-gradient" and "the step propagates no derivative" in d.reasons[0]
