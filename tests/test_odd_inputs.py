"""Inputs no other test uses: odd dtypes, empty leaves, odd horizons, member batches of the
wrong shape, budgets that could only be overspent, odd command-line values and results
files with numbers out of a float's range. Each is either measured right or refused by
name before anything runs."""

from __future__ import annotations

import json
from pathlib import Path

import jax.numpy as jnp
import numpy as np
import pytest

import chaosgrad as cg
from chaosgrad import cli

HALF = cg.MapSimulator(lambda x, a: 0.5 * x)
Y0 = jnp.array([0.3, 0.2])
RESULTS = Path(__file__).parent / "data" / "soak_results.json"


def test_given_states_shaped_unlike_y0_are_refused_by_diagnose_before_anything_runs():
    calls = []
    counted = cg.MapSimulator(lambda x, a: calls.append(1) or 0.5 * x)
    with pytest.raises(
        cg.ChaosgradInputError, match=r"argument `members`: GivenStates holds states shaped \(3,\).*\(2,\)"
    ):
        cg.diagnose(counted, Y0, None, members=cg.GivenStates(jnp.ones((3, 3))), horizons=(2, 4, 8), causes=())
    assert len(calls) <= 1  # at most the one abstract trace of the step's shape check


def test_a_step_budget_below_the_first_check_is_refused():
    # The first check measures min_intervals intervals of one step or more: a smaller
    # budget could only be overspent (it was, 400 times over, for max_steps=1).
    with pytest.raises(cg.ChaosgradInputError, match=r"argument `max_steps`: 1 is below min_intervals = 400"):
        cg.UntilConverged(max_steps=1)
    assert cg.UntilConverged(max_steps=40, min_intervals=40).max_steps == 40


@pytest.mark.parametrize("transient", [True, "1.0", float("nan")])
def test_diagnose_transient_follows_the_time_rule(transient):
    with pytest.raises(cg.ChaosgradInputError, match="argument `transient`"):
        cg.diagnose(HALF, Y0, None, horizons=(2, 4, 8), transient=transient, causes=())


def test_an_empty_leaf_in_the_state_is_carried_and_the_rate_is_exact():
    sim = cg.MapSimulator(lambda y, a: {"x": 0.5 * y["x"], "e": y["e"]})
    res = cg.lyapunov_spectrum(sim, {"x": Y0, "e": jnp.zeros((0,))}, None, time=20.0)
    # y -> y / 2 has both exponents ln(1/2) exactly; 1e-9 covers float64 round-off of the QR.
    np.testing.assert_allclose(res.exponents, [np.log(0.5)] * 2, atol=1e-9)


def test_a_float16_state_is_measured_in_its_own_dtype():
    res = cg.lyapunov_spectrum(HALF, jnp.array([0.3, 0.2], jnp.float16), None, time=20.0)
    # ln(1/2) is exact in any dtype for this map up to the dtype's round-off in the
    # renormalisation: 1e-3 is float16's relative precision.
    np.testing.assert_allclose(res.exponents, [np.log(0.5)] * 2, atol=1e-3)


@pytest.mark.parametrize(
    "horizons, words",
    [
        ((h for h in (2, 4, 8)), "not a sequence of numbers"),
        (np.array(8.0), "has 1 value"),
        ([2, 4, 4, 8], "not positive and increasing"),
    ],
)
def test_odd_horizons_are_refused_by_name(horizons, words):
    with pytest.raises(cg.ChaosgradInputError, match=f"argument `horizons`.*{words}"):
        cg.gradient_growth(HALF, Y0, None, horizons=horizons)


def test_a_results_file_with_a_number_beyond_a_float_is_not_a_results_file(tmp_path):
    data = json.loads(RESULTS.read_text())
    data["result"]["diagnosis"]["gradient_rate"] = 10**400
    path = tmp_path / "huge.json"
    path.write_text(json.dumps(data))
    with pytest.raises(cg.ChaosgradInputError, match=r"not a chaosgrad results file \(field Diagnosis.gradient_rate"):
        cg.load_result(path)
    assert cli.main(["report", str(path), "--out", str(tmp_path / "out"), "--format", "json", "-q"]) == cli.EXIT_IO


def test_an_empty_out_folder_is_a_usage_error_not_the_current_folder(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert cli.main(["report", str(RESULTS), "--out", "", "--format", "json", "-q"]) == cli.EXIT_USAGE
    assert "--out ''" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []
