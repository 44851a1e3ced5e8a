"""The verdict as a pure function: every verdict and the boundaries between them, on
synthetic numbers (no simulator runs here)."""

import math

import pytest

from chaosgrad._diagnosis.verdict import (
    LOG2,
    VERDICTS,
    VerdictInputs,
    decide,
    disagreement,
    expected_rate,
    growth_class,
    physics_class,
)

T = 10.0  # longest horizon of every synthetic case


def inputs(rate, half, expected, e_half=0.01, **kw):
    """A case with a symmetric rate interval and a symmetric prediction."""
    base = dict(
        rate=rate,
        rate_low=rate - half,
        rate_high=rate + half,
        expected=expected,
        expected_low=expected - e_half,
        expected_high=expected + e_half,
        t_max=T,
        gradient_status="ok",
        forward_diverged=False,
        reference_diverged=False,
        physics="chaotic" if expected > e_half else ("contracting" if expected < -e_half else "neutral"),
    )
    base.update(kw)
    return VerdictInputs(**base)


CASES = [
    # (name, inputs, verdict, causes, why)
    (
        "chaos as predicted",
        inputs(0.9, 0.1, 0.9),
        "intrinsic-explosion",
        (),
        "the rate is significantly positive, material over T and equal to lambda_1",
    ),
    ("contraction as predicted", inputs(-0.5, 0.05, -0.5), "intrinsic-vanishing", (), "the mirror image"),
    ("flat as predicted", inputs(0.0, 0.02, 0.0), "stable", (), "no material change over T"),
    (
        "explosion beyond the physics, explained",
        inputs(4.0, 0.5, 0.9, confirmed=("adjoint",)),
        "numerical-explosion",
        ("adjoint",),
        "backsolve: the rate is far above lambda_1 and the ablation explains it",
    ),
    (
        "vanishing beyond the physics, explained",
        inputs(-2.0, 0.1, 0.9, confirmed=("discretization",)),
        "numerical-vanishing",
        ("discretization",),
        "an overdamping step removes the chaos",
    ),
    (
        "decay softened by the numerics",
        inputs(-0.5, 0.02, -1.0, confirmed=("discretization",)),
        "intrinsic-vanishing",
        ("discretization",),
        "Euler at h = 0.01 damps the oscillator at -0.5 instead of -1",
    ),
    (
        "chaos slowed by the numerics",
        inputs(0.4, 0.05, 0.9, confirmed=("discretization",)),
        "intrinsic-explosion",
        ("discretization",),
        "still exploding, because of the physics, more slowly",
    ),
    (
        "flat although the physics decays",
        inputs(0.0, 0.01, -1.0, confirmed=("discretization",)),
        "stable",
        ("discretization",),
        "the gradient neither explodes nor vanishes, whatever should happen",
    ),
    (
        "a gap nobody explains",
        inputs(4.0, 0.5, 0.9),
        "inconclusive",
        (),
        "a verdict that no ablation supports is a guess",
    ),
    ("the interval spans classes", inputs(0.9, 1.0, 0.9), "inconclusive", (), "[-0.1, 1.9] allows flat and growing"),
    (
        "forward blow-up, the reference stays finite",
        inputs(math.nan, math.nan, -2.0, forward_diverged=True, confirmed=("discretization",)),
        "diverged",
        ("discretization",),
        "an unstable explicit step",
    ),
    (
        "forward blow-up of unbounded physics",
        inputs(math.nan, math.nan, math.nan, forward_diverged=True, reference_diverged=True, physics="unbounded"),
        "diverged",
        (),
        "logistic map at r = 5",
    ),
    (
        "identically zero gradient",
        inputs(math.nan, math.nan, -math.inf, gradient_status="zero"),
        "no-gradient",
        (),
        "a detached step",
    ),
    (
        "non-finite gradient, cured",
        inputs(
            math.nan,
            math.nan,
            0.9,
            gradient_status="nonfinite",
            confirmed=("precision",),
            nonfinite_fixed_by=("precision",),
            nonfinite_fraction=0.9,
        ),
        "numerical-explosion",
        ("precision",),
        "float16 overflow that float64 removes",
    ),
    (
        "non-finite gradient, not cured",
        inputs(math.nan, math.nan, 0.9, gradient_status="nonfinite"),
        "inconclusive",
        (),
        "no rate and no explanation",
    ),
    (
        "mostly non-finite, short fit, cured",
        inputs(
            0.4,
            5.0,
            0.0,
            gradient_status="partial-nonfinite",
            confirmed=("adjoint",),
            nonfinite_fixed_by=("adjoint",),
            nonfinite_fraction=0.8,
        ),
        "numerical-explosion",
        ("adjoint",),
        "backsolve NaN after T = 4, the few finite horizons fit nothing",
    ),
    (
        "some members blow up, the rest stay flat",
        inputs(
            0.0,
            0.001,
            0.0,
            e_half=0.3,
            gradient_status="partial-nonfinite",
            confirmed=("adjoint",),
            nonfinite_fixed_by=("adjoint",),
            nonfinite_fraction=0.23,
            physics="contracting",
        ),
        "numerical-explosion",
        ("adjoint",),
        "backsolve on Lorenz at rho = 10: NaN for some members, 1.0 for the others",
    ),
    (
        "agrees, but the adjoint is wrong in value",
        inputs(0.07, 0.05, 0.11, confirmed=("adjoint",)),
        "intrinsic-explosion",
        ("adjoint",),
        "forced Duffing: right rate, wrong values",
    ),
    (
        "non-smooth program",
        inputs(0.0, 0.01, 0.0, confirmed=("non-smooth",), physics="neutral"),
        "non-smooth",
        ("non-smooth",),
        "a bouncing ball: AD's derivative misses the bounce whatever the rate does",
    ),
    (
        "physics undetermined",
        inputs(0.9, 0.1, 0.5, e_half=1.0, physics="undetermined"),
        "inconclusive",
        (),
        "lambda_1's interval does not decide its sign",
    ),
    (
        "mild decay on a neutral orbit",
        inputs(-0.005, 0.0045, -0.0025, e_half=0.0085, t_max=160.0, physics="neutral"),
        "stable",
        (),
        "Euler's van der Pol: a factor 2 over T = 160, consistent with lambda_1 = 0",
    ),
    (
        "overflow with the physical rate",
        inputs(
            0.9,
            0.1,
            0.9,
            gradient_status="partial-nonfinite",
            confirmed=("precision",),
            nonfinite_fixed_by=("precision",),
            nonfinite_fraction=0.3,
        ),
        "intrinsic-explosion",
        ("precision",),
        "float16 Lorenz: chaos, plus an overflow that float64 removes",
    ),
    (
        "overflow too early to fit, the ablation grows as predicted",
        inputs(
            0.5,
            0.8,
            0.86,
            e_half=0.28,
            gradient_status="partial-nonfinite",
            confirmed=("precision",),
            nonfinite_fixed_by=("precision",),
            nonfinite_fraction=0.48,
            nonfinite_fixed_rates=((0.85, 0.8, 0.9),),
            nonfinite_overflow=(True,),
        ),
        "intrinsic-explosion",
        ("precision",),
        "float16 Lorenz whose members overflow before a rate can be fitted",
    ),
    (
        "non-finite too early to fit, growth cannot reach the dtype's range",
        inputs(
            0.5,
            0.8,
            0.86,
            e_half=0.28,
            gradient_status="partial-nonfinite",
            confirmed=("adjoint",),
            nonfinite_fixed_by=("adjoint",),
            nonfinite_fraction=0.48,
            nonfinite_fixed_rates=((0.85, 0.8, 0.9),),
            nonfinite_overflow=(False,),
        ),
        "numerical-explosion",
        ("adjoint",),
        "a backsolve that fails in float64 far below its largest number",
    ),
    (
        "overflow too early to fit, the ablation undecided",
        inputs(
            0.5,
            0.8,
            0.86,
            e_half=0.28,
            gradient_status="partial-nonfinite",
            confirmed=("precision",),
            nonfinite_fixed_by=("precision",),
            nonfinite_fraction=0.48,
            nonfinite_fixed_rates=((0.3, -0.5, 1.1),),
            nonfinite_overflow=(True,),
        ),
        "inconclusive",
        ("precision",),
        "neither the user's rate nor the ablation's is decided",
    ),
]


@pytest.mark.parametrize("name, v, verdict, causes, why", CASES, ids=[c[0] for c in CASES])
def test_verdict_table(name, v, verdict, causes, why):
    d = decide(v)
    assert (d.verdict, d.causes) == (verdict, causes), f"{name}: {why}; reasons {d.reasons}"
    assert d.reasons, "every verdict says why"
    if d.verdict == "inconclusive":
        assert d.to_decide, "an inconclusive verdict says what would decide it"


def test_every_verdict_is_reachable():
    assert {c[2] for c in CASES} == set(VERDICTS)


def test_growth_class_boundaries():
    # Material means |r| T > ln 2: exactly ln 2 is not yet growth ...
    r = LOG2 / T
    assert growth_class(r, r / 2, 1.5 * r, T) == "flat"
    assert growth_class(1.01 * r, 0.5 * r, 1.5 * r, T) == "grows"
    # ... significance means the interval excludes 0 ...
    assert growth_class(2 * r, 0.0, 4 * r, T) is None
    assert growth_class(2 * r, 1e-9, 4 * r, T) == "grows"
    # ... and flat needs the whole interval within a factor 10 over T.
    b = math.log(10.0) / T
    assert growth_class(0.0, -b, b, T) == "flat"
    assert growth_class(0.0, -1.01 * b, b, T) is None
    assert growth_class(-1.01 * r, -1.5 * r, -1e-9, T) == "shrinks"
    assert growth_class(math.nan, 0.0, 1.0, T) is None


def test_disagreement_needs_significance_at_99_percent_and_materiality():
    # Rate interval half-width 0.1 (large dof), prediction 0.9 +- 0.01: at 95% the gap 0.15
    # would be significant; at 99% (x 2.576 / 1.960) the half-width is 0.131.
    assert disagreement(inputs(1.05, 0.1, 0.9)) is True
    assert disagreement(inputs(1.02, 0.1, 0.9)) is False
    # Material from the interval's nearest end: 0.91 + ln2/T = 0.979.
    assert disagreement(inputs(0.97, 0.001, 0.9)) is False
    assert disagreement(inputs(0.99, 0.001, 0.9)) is True
    # Few degrees of freedom widen more (Student-t with 7: x 3.50 / 2.36 gives 0.149).
    assert disagreement(inputs(1.04, 0.1, 0.9)) is True
    assert disagreement(inputs(1.04, 0.1, 0.9, rate_dof=7)) is False


def test_prediction_for_parameters_spans_lambda_1_to_zero_when_contracting():
    assert expected_rate(-0.5, 0.05, wrt_state=True) == pytest.approx((-0.5, -0.55, -0.45))
    assert expected_rate(-0.5, 0.05, wrt_state=False) == pytest.approx((0.0, -0.55, 0.0))
    assert expected_rate(0.9, 0.05, wrt_state=False) == pytest.approx((0.9, 0.85, 0.95))
    # A parameter gradient that decays at lambda_1 (y' = A y) agrees with the physics.
    lo_mid_hi = expected_rate(-0.5, 0.05, wrt_state=False)
    v = inputs(-0.5, 0.05, 0.0, expected_low=lo_mid_hi[1], expected_high=lo_mid_hi[2], physics="contracting")
    assert decide(v).verdict == "intrinsic-vanishing"


@pytest.mark.parametrize(
    "lam, h, ok, diverged, want",
    [
        (0.9, 0.05, True, False, "chaotic"),
        (-0.5, 0.05, True, False, "contracting"),
        (0.001, 0.01, True, False, "neutral"),  # within a factor 10 over T = 10
        (0.05, 0.2, True, False, "undetermined"),  # could be 0.25: e^2.5 = 12 over T
        (-math.inf, 0.0, True, False, "contracting"),  # every direction collapses
        (0.9, 0.05, False, False, "undetermined"),  # the reference is not finite
        (0.9, 0.05, False, True, "unbounded"),
    ],
)
def test_physics_class(lam, h, ok, diverged, want):
    assert physics_class(lam, h, T, reference_ok=ok, reference_diverged=diverged) == want
