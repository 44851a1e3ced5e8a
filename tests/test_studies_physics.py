"""Studies of the bundled physical systems, in fast mode: the physics class and verdict of
each headline diagnosis and the key facts of each sweep are asserted, not just that the
study ran."""

import math

import _synthetic as syn
import diffrax
import jax.numpy as jnp
import numpy as np
import pytest

import chaosgrad as cg
from chaosgrad import studies
from chaosgrad._results.serialize import Result
from chaosgrad.studies.oscillators import euler_map, euler_threshold
from chaosgrad.zoo._oscillators import damped_oscillator_vector_field

LN2 = math.log(2.0)


def series(study, title_part: str, label_part: str):
    """The first series whose figure title and label contain the given parts."""
    for section in study.sections:
        for fig in section.figures:
            if title_part in fig.title:
                for s in fig.series:
                    if label_part in s.label:
                        return s
    raise AssertionError(f"no series {label_part!r} in a figure {title_part!r}")


def check_headline(study, physics, verdict, causes):
    d = study.diagnosis
    assert study.mode == "fast"
    assert (d.physics, d.verdict, tuple(d.causes)) == (physics, verdict, tuple(causes)), d.summary()


def test_physical_studies_are_registered():
    for name in ("rossler", "lorenz96", "double_pendulum", "kuramoto_sivashinsky", "oscillators", "maps"):
        spec = studies.get(name)
        assert spec.name == name and spec.title and callable(spec.run)


# ---------------------------------------------------------------------------- helpers (fast)


def test_euler_map_is_the_zoo_euler_step():
    # The step sweeps rely on the map with h in args being diffrax's Euler step.
    sim = cg.ODESimulator(damped_oscillator_vector_field, solver=diffrax.Euler(), dt=0.03)
    args = {"omega": jnp.asarray(10.0), "zeta": jnp.asarray(0.1)}
    y = jnp.asarray([0.3, -1.7])
    got = euler_map(damped_oscillator_vector_field).step(0.0, y, {**args, "h": jnp.asarray(0.03)})
    # Both are one multiply-add of the same vector field: equal to round-off.
    np.testing.assert_allclose(got, sim.step(0.0, y, args), rtol=1e-14, atol=1e-14)


def test_euler_threshold_brackets_the_first_upward_sign_change():
    lo, hi = euler_threshold(lambda h: (h - 0.0123) * (h + 1.0), 0.0, 0.1)
    # Three rounds of 33 points shrink the bracket by 32^3: width 0.1 / 32768 ~ 3e-6.
    assert lo <= 0.0123 <= hi and hi - lo < 4e-6


# ---------------------------------------------------------------------------- maps


@pytest.fixture(scope="module")
def maps_study():
    return studies.get("maps").run(fast=True)


def test_maps_headline_logistic_r4(maps_study):
    check_headline(maps_study, "chaotic", "intrinsic-explosion", ())
    d = maps_study.diagnosis
    # 20000 iterations give a standard error of about 2e-4; 1e-3 is five of them.
    assert abs(d.lambda_physical.exponents[0] - LN2) < 1e-3
    lo, hi = d.gradient_interval
    assert lo < LN2 < hi


def test_maps_results_file_is_small_and_loads_back_bit_for_bit(maps_study):
    text = maps_study.to_json()
    assert len(text.encode()) < 2 * 2**20  # 18 MB when every array was a list of numbers
    syn.assert_same_result(maps_study, Result.from_json(text))


def test_maps_sweep_follows_the_period_doubling_cascade(maps_study):
    extra = maps_study.extra
    for r in ("3.2", "3.5", "3.83"):  # period 2, period 4, period-3 window
        d = extra[f"r={r}"]
        assert (d.physics, d.verdict) == ("contracting", "intrinsic-vanishing"), r
    for r in ("3.7", "3.9", "4"):
        d = extra[f"r={r}"]
        assert (d.physics, d.verdict) == ("chaotic", "intrinsic-explosion"), r
    assert any("between r = 3.5 and r = 3.6" in f for f in maps_study.findings)

    lam = series(maps_study, "Lyapunov exponent and gradient", "lambda(r)")
    r, y = np.asarray(lam.x), np.asarray(lam.y)
    # No chaos before the accumulation point 3.569946; 0.01 allows the finite-time
    # estimate at the doubling points themselves, where lambda touches 0.
    assert np.all(y[r < 3.5699] < 0.01)
    # Chaos (lambda > 0.3) somewhere above 3.6, ln 2 at r = 4 within 0.01 (4000 iterations).
    assert y[r > 3.6].max() > 0.3 and abs(y[-1] - LN2) < 0.01
    # The period-3 window is periodic throughout.
    window = (r > 1 + math.sqrt(8) + 1e-3) & (r < 3.84)
    assert window.any() and np.all(y[window] < 0)


def test_maps_henon_matches_sprott(maps_study):
    d = maps_study.extra["henon"]
    assert (d.physics, d.verdict) == ("chaotic", "intrinsic-explosion")
    lam = d.lambda_physical.exponents
    # Standard error about 2.6e-3 at 20000 iterations: 0.01 is about four of them.
    assert abs(lam[0] - 0.41922) < 0.01 and abs(lam[1] + 1.62319) < 0.01
    # ln|det Df| = ln b at every point: the sum is exact up to round-off.
    assert abs(lam.sum() - math.log(0.3)) < 1e-8


# ---------------------------------------------------------------------------- Rössler


@pytest.fixture(scope="module")
def rossler_study():
    return studies.get("rossler").run(fast=True)


def test_rossler_headline(rossler_study):
    check_headline(rossler_study, "chaotic", "intrinsic-explosion", ())
    lam = rossler_study.diagnosis.lambda_physical.exponents
    # Slow to converge: over 2000 time units the uncertainty is about 0.005.
    assert abs(lam[0] - 0.0714) < 0.012
    assert abs(lam[1]) < 0.005 and abs(lam[2] + 5.3943) < 0.05


def test_rossler_rate_needs_a_long_horizon(rossler_study):
    d = rossler_study.diagnosis
    rows = rossler_study.config["window_rates"]  # (T, rate, low, high) per longest horizon
    lam1 = float(d.lambda_physical.exponents[0])
    shortest, longest = rows[0], rows[-1]
    assert shortest[0] == pytest.approx(10.0, rel=0.05) and longest[0] == pytest.approx(640.0, rel=0.01)
    # With members one window apart (independent), every interval contains lambda_1 to
    # within lambda_1's own 95% half-width: calibrated at every T, short or long ...
    h = float(d.lambda_physical.uncertainty[0])
    assert all(low - h <= lam1 <= high + h for _, _, low, high in rows)
    # ... over T = 640 (about 45 e-foldings) it excludes zero ...
    assert 0 < longest[2]
    # ... and it narrows roughly like 1 / T: measured five times narrower from T = 10 to
    # 640 (the per-member slope error falls like the window's length).
    assert (longest[3] - longest[2]) < (shortest[3] - shortest[2]) / 3
    assert any("The rate is measured" in f for f in rossler_study.findings)


# ---------------------------------------------------------------------------- Lorenz-96


@pytest.fixture(scope="module")
def lorenz96_study():
    return studies.get("lorenz96").run(fast=True)


@pytest.mark.slow
def test_lorenz96_headline_and_spectrum(lorenz96_study):
    check_headline(lorenz96_study, "chaotic", "intrinsic-explosion", ())
    d = lorenz96_study.diagnosis
    # Literature 1.66-1.70; the fast run's uncertainty is about 0.035, so +- 0.12 around it.
    assert 1.54 < d.lambda_physical.exponents[0] < 1.82
    cfg = lorenz96_study.config
    assert cfg["n_positive"] == 13
    # Over the fast run's 200 time units the 13th (about 0.05) is within its interval of 0.
    assert 12 <= cfg["n_significantly_positive"] <= 13
    # The divergence is -N everywhere; Tsit5 at dt = 0.01 reproduces it to ~1e-7.
    assert abs(sum(cfg["full_spectrum"]) + 40.0) < 1e-4
    # Kaplan-Yorke dimension about 27 of 40 (finite-time runs scatter by a few tenths).
    assert 26.0 < cfg["kaplan_yorke"] < 28.5


@pytest.mark.slow
def test_lorenz96_forcing_sweep_changes_with_the_physics(lorenz96_study):
    extra = lorenz96_study.extra
    expected = {
        "F=0.5": ("contracting", "intrinsic-vanishing"),
        "F=3": ("neutral", "stable"),
        "F=8": ("chaotic", "intrinsic-explosion"),
    }
    for key, want in expected.items():
        assert (extra[key].physics, extra[key].verdict) == want, key
    # Below F_c = 0.894 the steady state attracts at the exact rate F / F_c - 1 = -0.441;
    # 0.03 allows the O(1/T) bias of a 100-time-unit run from a random tangent vector.
    assert abs(extra["F=0.5"].lambda_physical.exponents[0] - (0.5 / 0.8944 - 1.0)) < 0.03


# ---------------------------------------------------------------------------- double pendulum


@pytest.fixture(scope="module")
def pendulum_study():
    return studies.get("double_pendulum").run(fast=True)


@pytest.mark.slow
def test_double_pendulum_midpoint_is_chaotic_and_symplectic(pendulum_study):
    check_headline(pendulum_study, "chaotic", "intrinsic-explosion", ())
    num = pendulum_study.diagnosis.lambda_numerical.exponents
    # A symplectic map preserves volume: the exponents sum to 0 up to round-off
    # (four Newton iterations converge to machine precision at dt = 0.02).
    assert abs(num.sum()) < 1e-8
    # +- pairs: lambda_1 + lambda_4 within twice the combined uncertainty (about 0.07).
    assert abs(num[0] + num[3]) < 0.15 and num[0] > 0.7


@pytest.mark.slow
def test_double_pendulum_heun_loses_energy_and_the_chaos(pendulum_study):
    heun = next(iter(pendulum_study.extra.values()))
    main = pendulum_study.diagnosis
    assert heun.physics == "chaotic" and "discretization" in heun.causes
    # Heun's map is much less chaotic than the flow, and its gradient grows more slowly.
    assert heun.lambda_numerical.exponents[0] < main.lambda_physical.exponents[0] - 0.3
    assert heun.gradient_interval[1] < main.gradient_interval[0]
    # Heun contracts volume (a negative sum), the midpoint rule does not.
    assert heun.lambda_numerical.exponents.sum() < -1e-3
    mid_e = series(pendulum_study, "Energy error", "implicit midpoint")
    heun_e = series(pendulum_study, "Energy error", "Heun")
    # Bounded (measured 0.28) against a drift of tens of units over 200 time units.
    assert np.max(np.abs(mid_e.y)) < 1.0 and heun_e.y[-1] < -10.0


# ---------------------------------------------------------------------------- Kuramoto-Sivashinsky


@pytest.fixture(scope="module")
def ks_study():
    return studies.get("kuramoto_sivashinsky").run(fast=True)


@pytest.mark.slow
def test_ks_etdrk4_is_intrinsic_and_matches_literature(ks_study):
    check_headline(ks_study, "chaotic", "intrinsic-explosion", ())
    lam = ks_study.diagnosis.lambda_physical.exponents
    # Literature 0.043-0.048; the fast run's uncertainty is about 0.004.
    assert 0.035 < lam[0] < 0.058
    l36 = ks_study.extra["ETDRK4, L = 36"]
    assert (l36.physics, l36.verdict) == ("chaotic", "intrinsic-explosion")
    # Edson et al. 2019: 0.080; the same +- 0.012 band.
    assert 0.068 < l36.lambda_physical.exponents[0] < 0.092


@pytest.mark.slow
def test_ks_explicit_rk4_diverges_and_the_etdrk4_reference_fixes_it(ks_study):
    d = ks_study.extra["explicit RK4, dt = 0.05"]
    assert d.verdict == "diverged" and "discretization" in d.causes
    assert d.lambda_numerical.status == "nonfinite" and d.lambda_numerical.first_nonfinite_interval == 0
    ab = next(a for a in d.ablations if a.name == "reference-step")
    assert ab.confirmed and ab.evidence["nonfinite_fraction_before"] == 1.0
    assert ab.evidence["nonfinite_fraction_after"] == 0.0


# ---------------------------------------------------------------------------- oscillators


@pytest.fixture(scope="module")
def oscillators_study():
    return studies.get("oscillators").run(fast=True)


@pytest.mark.slow
def test_damped_oscillator_euler_explodes_numerically(oscillators_study):
    check_headline(oscillators_study, "contracting", "numerical-explosion", ("discretization",))
    d = oscillators_study.diagnosis
    exact = math.log(abs(1 + 0.25 * complex(-1.0, 10.0 * math.sqrt(1 - 0.01)))) / 0.25
    # A linear map: Benettin converges like 1/T; 0.05 over 400 time units.
    assert abs(d.lambda_numerical.exponents[0] - exact) < 0.05
    assert abs(d.lambda_physical.exponents[0] + 1.0) < 0.05
    lo, hi = oscillators_study.config["threshold_bracket"]
    # The exact threshold 2 zeta / omega = 0.02; the bracket from the measured exponent
    # carries its finite-time bias, about 1e-6.
    assert hi - lo < 1e-5 and abs(0.5 * (lo + hi) - 0.02) < 1e-5
    below, above = oscillators_study.extra["oscillator dt=0.01"], oscillators_study.extra["oscillator dt=0.03"]
    # Euler at dt = 0.01 decays at -0.50 where the physics decays at -1.0, and the loss
    # x(T) oscillates at omega = 10: from one curve the rate's interval is wide. The verdict
    # may not call that agreement: either the discretisation is found (a decay softened by
    # the numerics) or the evidence is declared undecided.
    assert below.gradient_rate < 0
    assert (
        below.verdict == "intrinsic-vanishing" and "discretization" in below.causes
    ) or below.verdict == "inconclusive"
    assert not any("agrees" in r for r in below.reasons)
    assert above.verdict == "numerical-explosion" and "discretization" in above.causes


@pytest.mark.slow
def test_van_der_pol_euler_turns_the_cycle_chaotic(oscillators_study):
    small, large = oscillators_study.extra["van der Pol dt=0.05"], oscillators_study.extra["van der Pol dt=0.31"]
    assert (small.physics, small.verdict, tuple(small.causes)) == ("neutral", "stable", ())
    assert (large.physics, large.verdict) == ("neutral", "numerical-explosion")
    assert "discretization" in large.causes
    lam = series(oscillators_study, "Van der Pol", "lambda_1 of the Euler map")
    h, y = np.asarray(lam.x), np.asarray(lam.y)
    # Near 0 on the invariant curve (0.01: finite-time bias), chaotic near h = 0.3,
    # escaping from h ~ 0.33 (no exponent).
    assert np.all(np.abs(y[h < 0.2]) < 0.01)
    assert np.nanmax(y[(h > 0.28) & (h < 0.33)]) > 0.2
    escaped = series(oscillators_study, "Van der Pol", "escapes")
    assert 0.32 < np.min(escaped.x) < 0.35 and np.all(np.isnan(y[h >= 0.34]))


@pytest.mark.slow
def test_curvature_study_reproduces_its_three_statements():
    """The study's numbers, not its words: sharpness rate holds 2 lambda_1 of its own
    diagnosis within the two intervals' combined width, the slice's turning points grow
    with the horizon, and the gradient's spread over initial states grows."""
    study = studies.get("curvature").run(fast=True)
    lam = float(study.diagnosis.lambda_physical.exponents[0])
    sharp = study.sections[0].tables[0].rows[0]
    assert sharp[1] == "growing"
    rate, low, high = (float(x) for x in sharp[2].replace("[", " ").replace("]", " ").replace(",", " ").split())
    assert low <= 2 * lam <= high, (rate, low, high, lam)
    turns = [int(row[2]) for row in study.sections[1].tables[0].rows]
    assert turns == sorted(turns) and turns[0] <= 1 < turns[-1]
    noise = [float(row[2]) for row in study.sections[2].tables[0].rows]
    assert noise[-1] > 100 * noise[0]


@pytest.mark.slow
def test_shadowing_study_gives_a_slope_near_one_where_the_gradient_explodes():
    """The study's numbers: NILSS d<z>/d rho within 0.05 of 1 at every rho of the fast sweep,
    the finite-horizon gradient growing (rate above 0.5), Lorenz-96 with 13 unstable
    directions (Lorenz-96 N = 40, F = 8 has 13 positive exponents), and the diagnosis's own
    shadowing derivative."""
    study = studies.get("shadowing").run(fast=True)
    for row in study.sections[0].tables[0].rows:
        assert abs(float(row[1].split()[0]) - 1.0) < 0.05, row
    assert "13 unstable directions" in study.sections[1].tables[0].rows[0][2]
    assert study.diagnosis.shadowing is not None
    rate = float(
        study.findings[[i for i, f in enumerate(study.findings) if "finite-horizon" in f][0]].split("at ")[1].split()[0]
    )
    assert rate > 0.5
