"""Coverage of the 95% intervals by simulation, on systems with exact rates
(tests/calibration_cases.py; the table with more groups is benchmarks/RESULTS_calibration.md)."""

import numpy as np
import pytest
from calibration_cases import exponent_coverage, rate_coverage, systems

SYSTEMS = {s.name: s for s in systems()}
# 200 independent groups: if the true coverage is 95%, the observed one lies within
# [0.90, 0.99] with probability above 99% (binomial standard deviation 1.5%).
GROUPS = 200
SHORT, LONG = (4, 8, 16), (10, 20, 30, 40, 50, 60, 70, 80, 90, 100, 110, 120)


@pytest.mark.parametrize("name", ["logistic r=4", "random triangular products"])
@pytest.mark.parametrize("horizons", [SHORT, (10, 20, 40, 80), LONG], ids=["3 short", "4 long", "12 long"])
def test_rate_interval_covers_the_exact_rate_at_its_stated_level(name, horizons):
    r = rate_coverage(SYSTEMS[name], horizons, groups=GROUPS)
    assert 0.90 <= r["coverage"] <= 0.99, r
    # and it is no wider than the scatter requires: 2 t_{0.975, 7} sd = 4.7 sd.
    assert r["width"] < 6 * r["sd"], r


@pytest.mark.parametrize("intervals", [400, 4000])
def test_exponent_interval_covers_the_exact_exponent_at_its_stated_level(intervals):
    r = exponent_coverage(SYSTEMS["random triangular products"], groups=GROUPS, intervals=intervals)
    assert 0.90 <= r["coverage"] <= 0.99, r


@pytest.mark.slow
def test_a_coboundary_and_a_deterministic_curve_are_covered_conservatively():
    # The logistic map's sum of ln|f'| telescopes (conjugacy to the tent map): its error is
    # O(1/n) while batch means see O(1/sqrt n) scatter, so its intervals over-cover.
    assert exponent_coverage(SYSTEMS["logistic r=4"], groups=50, intervals=400)["coverage"] == 1.0
    # A linear flow has one curve for every member: the interval is its lack of fit and
    # must cover the exact ln|R(h mu)| / h (no sampling to make it miss at 5%).
    linear = SYSTEMS["non-normal damped linear ODE (RK4, h = 0.05)"]
    for horizons in [(5.0, 10.0, 20.0, 40.0), tuple(np.arange(5.0, 65.0, 5.0))]:
        assert rate_coverage(linear, horizons, groups=10)["coverage"] == 1.0
