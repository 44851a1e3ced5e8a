"""Budgets and cost: UntilConverged stops on its step or wall-clock budget and says so,
reports progress, and a call whose cost estimate is large warns before it compiles."""

import time
import warnings

import jax.numpy as jnp
import pytest

import chaosgrad as cg
import chaosgrad._spectra.cost as cost_module
from chaosgrad import ChaosgradInputError
from chaosgrad._spectra.settings import SpectraSettings

# The logistic map at r = 4: lambda_1 = ln 2, but its finite-time exponents fluctuate by
# O(1) from step to step, so the 95% half-width shrinks like ~1/sqrt(N): reaching 1e-6 of
# ln 2 would take ~1e12 steps. A slowly converging exponent for any budget below that.
LOGISTIC = cg.MapSimulator(lambda x, r: r * x * (1 - x))
Y0 = jnp.array([0.3])
SCALE = cg.MapSimulator(lambda y, a: a * y)


def test_step_budget_stops_the_run_and_says_so():
    calls = []
    res = cg.lyapunov_spectrum(
        LOGISTIC, Y0, 4.0, time=cg.UntilConverged(rtol=1e-6, max_steps=2000), progress=lambda *a: calls.append(a)
    )
    assert res.stop_reason == "step budget"
    assert res.n_intervals == 2000  # one step per interval for a map
    assert "not converged" in res.convergence and "budget of 2000 steps" in res.convergence
    assert res.status == "ok" and abs(res.leading - 0.6931) < 0.1  # the estimate so far is kept
    done = [d for _, d, _ in calls]
    assert done == sorted(done) and done[-1] == 2000
    assert {total for *_, total in calls} == {2000}


def test_wall_clock_budget_stops_a_run_the_step_budget_would_not():
    # 1e9 steps at the ~2.6 million steps/s this map runs on a 2-core machine would be
    # over six minutes; a 0.05 s budget, checked about once a second, ends it within
    # seconds (60 s leaves room for a loaded machine and the compilation).
    started = time.monotonic()
    res = cg.lyapunov_spectrum(LOGISTIC, Y0, 4.0, time=cg.UntilConverged(rtol=1e-6, max_steps=10**9, max_seconds=0.05))
    assert time.monotonic() - started < 60
    assert res.stop_reason == "time budget"
    assert "wall-clock budget of 0.05 s" in res.convergence and "max_seconds" in res.convergence
    assert 1 <= res.n_intervals < 10**9


def test_converged_and_fixed_runs_say_why_they_stopped():
    # a * y has the exact exponent ln a: the first check converges.
    res = cg.lyapunov_spectrum(SCALE, jnp.ones(2), 2.0, time=cg.UntilConverged())
    assert res.stop_reason == "converged" and res.convergence.startswith("converged")
    fixed = cg.lyapunov_spectrum(SCALE, jnp.ones(2), 2.0, time=50)
    assert fixed.stop_reason == "fixed time"
    back = cg.LyapunovResult.from_json(res.to_json())
    assert back.stop_reason == "converged"


def test_progress_of_a_fixed_run_reaches_its_total():
    calls = []
    res = cg.lyapunov_spectrum(LOGISTIC, Y0, 4.0, time=1000, transient=30, progress=lambda *a: calls.append(a))
    measured = [(d, t) for label, d, t in calls if label == "Lyapunov spectrum"]
    transient = [(d, t) for label, d, t in calls if label.endswith("transient")]
    assert measured[-1] == (res.n_intervals, res.n_intervals) == (1000, 1000)
    assert transient[-1] == (30, 30)


@pytest.mark.parametrize(
    "bad, argument",
    [
        (dict(max_seconds=0), "max_seconds"),
        (dict(max_seconds=float("inf")), "max_seconds"),
        (dict(max_seconds=True), "max_seconds"),
    ],
)
def test_bad_budget_names_the_argument(bad, argument):
    with pytest.raises(ChaosgradInputError, match=f"`{argument}`"):
        cg.UntilConverged(**bad)


def test_bad_progress_names_the_argument():
    with pytest.raises(ChaosgradInputError, match="`progress`"):
        cg.lyapunov_spectrum(SCALE, jnp.ones(2), 2.0, time=5, progress="yes")


def test_cost_estimate_by_hand():
    c = cg.spectrum_cost(10, 2, intervals=5, steps_per_interval=3, transient_intervals=1)
    assert c.steps == 18 and c.intervals == 6  # (5 + 1) intervals of 3 steps
    assert c.jvps == 36 and c.jvp_flops == 360  # 2 columns every step; 10 numbers each
    # One QR of a 10 x 2 frame with Q formed: 4 * 10 * 2^2 - 4/3 * 2^3 = 149.33 flops, 6 times.
    assert c.qr_flops == pytest.approx(6 * (160 - 32 / 3))
    assert c.frame_bytes == 10 * 2 * 8 and c.log_bytes == 2 * 8 * 5 * 2
    assert c.budget_steps is None and c.too_costly() == []
    ens = cg.spectrum_cost(10, 2, intervals=5, members=4, itemsize=4, budget_intervals=50)
    assert ens.frame_bytes == 10 * 2 * 4 * 4 and ens.jvps == 5 * 2 * 4 and ens.budget_steps == 50
    # Full spectrum of a 5000-dimensional state: one QR is 4/3 * 5000^3 + ... = 3.3e11
    # flops (over the 1e11 threshold); a 100,000 x 400 float64 frame is 305 MB (over 256 MB).
    assert "floating-point" in cg.spectrum_cost(5000, 5000, intervals=1).too_costly()[0]
    assert "tangent frame" in cg.spectrum_cost(100_000, 400, intervals=1).too_costly()[-1]


def _no_loop(*a, **k):
    raise AssertionError("the loop was built before the cost warning")


def test_large_state_warns_before_the_loop(monkeypatch):
    monkeypatch.setattr("chaosgrad._spectra.lyapunov._Chunks", _no_loop)
    big = cg.MapSimulator(lambda y, a: 0.5 * y)
    with warnings.catch_warnings():
        warnings.simplefilter("error", cg.CostWarning)
        with pytest.raises(cg.CostWarning, match=r"5000-dimensional.*Fix: pass k="):
            cg.lyapunov_spectrum(big, jnp.ones(5000), None, time=1)
        with pytest.raises(cg.CostWarning, match=r"diagnose.*Fix: pass k="):
            cg.diagnose(big, jnp.ones(5000), None, k=5000)
        # A small call does not warn (the error filter would raise).
        monkeypatch.undo()
        cg.lyapunov_spectrum(SCALE, jnp.ones(3), 2.0, time=5)


def test_costly_call_draws_progress_unless_told_not_to(monkeypatch, capsys):
    monkeypatch.setattr(cost_module, "WARN_FLOPS", 1.0)  # every call is "costly"
    with pytest.warns(cg.CostWarning):
        cg.lyapunov_spectrum(SCALE, jnp.ones(3), 2.0, time=5)
    assert "Lyapunov spectrum" in capsys.readouterr().err
    with pytest.warns(cg.CostWarning):
        cg.lyapunov_spectrum(SCALE, jnp.ones(3), 2.0, time=5, progress=False)
    assert capsys.readouterr().err == ""


def test_a_run_until_converged_that_blows_up_says_so():
    # y -> y^2 from 2 overflows float64 after about 10 steps, long before the first check.
    res = cg.lyapunov_spectrum(cg.MapSimulator(lambda y, a: y * y), jnp.array([2.0]), None, time=cg.UntilConverged())
    assert res.status == "nonfinite" and res.stop_reason == "non-finite"


# ---------------------------------------------------------------- the reference's halvings


def test_a_fixed_time_within_a_distant_deadline_is_the_fixed_time_run():
    from chaosgrad._spectra.strategies import Within

    fixed = cg.lyapunov_spectrum(LOGISTIC, Y0, 4.0, time=500)
    within = cg.lyapunov_spectrum(LOGISTIC, Y0, 4.0, time=Within(500.0, time.monotonic() + 600))
    # The same compiled intervals in calls of other sizes: the same numbers, bit for bit.
    assert within.stop_reason == "fixed time"
    assert jnp.array_equal(within.exponents, fixed.exponents) and jnp.array_equal(within.uncertainty, fixed.uncertainty)


def test_a_fixed_time_past_its_deadline_is_a_shorter_run_with_its_own_error_bar():
    from chaosgrad._spectra.strategies import Within

    res = cg.lyapunov_spectrum(LOGISTIC, Y0, 4.0, time=Within(500.0, time.monotonic() - 1))
    # No call starts after the deadline, and at least one runs: the first call of a timed
    # run is one interval.
    assert res.stop_reason == "time budget" and res.n_intervals == 1 and res.time == 1.0
    assert "wall-clock budget after 1 of the fixed time 500" in res.convergence


def test_the_reference_halvings_share_the_budget_of_its_run_until_converged():
    from chaosgrad._spectra.reference import reference_spectrum

    sim = cg.ODESimulator(lambda t, y, a: -a * y, solver=cg.RK4(), dt=0.1)
    lyap = SpectraSettings(k=1, interval=0.1, time=cg.UntilConverged(rtol=1e-9, max_seconds=0.01), seed=0)
    started = time.monotonic()
    run = reference_spectrum(sim, None, jnp.ones(2), jnp.array([1.0, 2.0]), options=lyap)
    # 0.01 s for the first run and its halvings together: the first run stops at its
    # share, no halving starts after the budget (60 s: room for compiling on a loaded
    # machine; without the budget the halvings would measure its time at dt / 2 ... / 16).
    assert time.monotonic() - started < 60
    assert not run.converged and "wall-clock budget ran out" in run.note
    assert run.result.stop_reason == "time budget" and run.simulator.dt == 0.1


def test_a_large_frame_transient_runs_the_state_alone_to_the_same_state():
    from chaosgrad._spectra.chunks import STATE_ONLY_FRAME
    from chaosgrad._spectra.lyapunov import evolve_in_intervals

    sim = cg.MapSimulator(lambda y, a: a * y + 0.1 * jnp.sin(y))
    y0 = jnp.linspace(-1.0, 1.0, STATE_ONLY_FRAME)
    big, ok_big = evolve_in_intervals(sim, y0, 0.5, 30.0, k=1, interval=1.0)  # n k = STATE_ONLY_FRAME
    small, ok_small = evolve_in_intervals(sim, y0[:8], 0.5, 30.0, k=1, interval=1.0)  # the chunk program
    assert ok_big and ok_small
    # The same 30 steps of a contracting map, component by component, by two programs:
    # equal to round-off (1e-14 relative, a few ulps over 30 steps).
    assert jnp.allclose(big[:8], small, rtol=1e-14, atol=0)


# ---------------------------------------------------------------- one budget for a diagnosis's spectra


def test_the_spectra_budget_rules_set_their_deadlines_from_its_start():
    from chaosgrad._spectra.budget import CAUSE_SHARE, FIRST_SHARE, SpectraBudget
    from chaosgrad._spectra.strategies import Within

    fixed = SpectraBudget.starting_now(100.0)  # rule 6: a fixed time has no budget
    assert fixed.until is None and fixed.first_run_until is None and fixed.cause_seconds is None
    assert fixed.first_run(100.0) == 100.0 and fixed.beside(100.0) == 100.0
    b = SpectraBudget(seconds=40.0, started=time.monotonic())
    assert b.first_run_until == pytest.approx(b.started + FIRST_SHARE * 40.0)
    assert b.until == pytest.approx(b.started + 40.0) and b.cause_seconds == CAUSE_SHARE * 40.0
    first = b.first_run(cg.UntilConverged(rtol=0.01))
    # What is left of the first run's share (rule 2), the other settings kept.
    assert first.rtol == 0.01 and 0 < first.max_seconds <= FIRST_SHARE * 40.0
    beside = b.beside(250.0)  # rule 3: a fixed time stopped at the budget's end
    assert isinstance(beside, Within) and beside.time == 250.0 and beside.deadline == b.until
    late = SpectraBudget(seconds=40.0, started=time.monotonic() - 35.0).beside(250.0)
    # Started 5 s before the budget's end: it still gets the halvings' share from now.
    assert late.deadline >= time.monotonic() + (1 - FIRST_SHARE) * 40.0 - 1.0


def test_a_first_run_past_its_share_confirms_nothing():
    from chaosgrad._spectra.budget import SpectraBudget
    from chaosgrad._spectra.reference import reference_spectrum

    sim = cg.ODESimulator(lambda t, y, a: -a * y, solver=cg.RK4(), dt=0.1)
    lyap = SpectraSettings(k=1, interval=0.1, time=cg.UntilConverged(max_seconds=10.0), seed=0)
    spent = SpectraBudget(seconds=10.0, started=time.monotonic() - 100.0)
    run = reference_spectrum(sim, None, jnp.ones(2), jnp.array([1.0, 2.0]), options=lyap, budget=spent)
    # One check's length at most (rule 5), no halving started after the budget: not
    # converged, however well a short run's wide interval would "agree".
    assert run.result.stop_reason == "time budget" and not run.converged
    assert "wall-clock budget ran out" in run.note


def test_the_step_search_stops_at_its_budget_and_says_why():
    from chaosgrad._spectra.reference import largest_safe_step

    sim = cg.ODESimulator(lambda t, y, a: -a * y, solver=cg.RK4(), dt=0.5)
    # lambda_1 = -1 exactly; a physical value the search cannot reach (+5) keeps it halving
    # until the budget, which a zero-second budget ends before the first halving.
    found = largest_safe_step(sim, jnp.ones(2), jnp.array(1.0), 5.0, 0.0, 10.0, time=100.0, max_seconds=1e-9)
    assert found.dt is None and "wall-clock budget of 1e-09 s ran out" in found.why
    free = largest_safe_step(sim, jnp.ones(2), jnp.array(1.0), -1.0, 0.01, 10.0, time=100.0)
    assert free.dt is not None and free.dt < 0.5 and free.why == ""


def test_a_diagnosis_s_spectra_end_within_its_budget_and_say_so():
    # The logistic map at r = 4 fluctuates so much that rtol = 1e-6 would take ~1e12
    # steps, and the step budget (1e9, minutes at this map's pace) is out of reach: every
    # spectrum of the diagnosis ends by its wall-clock budget (0.5 s for the spectra, 60 s
    # in all: room for compiling on a loaded machine).
    started = time.monotonic()
    d = cg.diagnose(
        LOGISTIC,
        Y0,
        4.0,
        horizons=[2, 4, 8],
        lyapunov_time=cg.UntilConverged(rtol=1e-6, max_steps=10**9, max_seconds=0.5),
    )
    assert time.monotonic() - started < 60
    assert d.lambda_physical.stop_reason == "time budget"
    assert any("wall-clock budget" in n for n in d.notes)
    # The interval reached is reported, never a converged claim.
    assert 0 < float(d.lambda_physical.uncertainty[0]) < 1


def _estimate(lam, h, stop, time_=100.0):
    """A real one-exponent spectrum's result with its numbers replaced (what the
    reference's convergence check reads)."""
    import dataclasses

    import numpy as np

    res = cg.lyapunov_spectrum(SCALE, jnp.ones(1), 2.0, time=10)
    return dataclasses.replace(res, exponents=np.array([lam]), uncertainty=np.array([h]), stop_reason=stop, time=time_)


def test_a_short_check_that_confirms_puts_its_move_into_the_interval():
    from chaosgrad._spectra.reference import _converged, why_not_confirmed

    full = _estimate(1.0, 0.01, "converged", 400.0)
    check = _estimate(1.029, 0.029, "time budget", 50.0)
    # Within the combined intervals (0.029 < hypot(0.01, 0.029)) and under three times as
    # wide: a confirmation, but by a check whose move is three of the kept run's widths.
    assert why_not_confirmed(check, full, full) == ""
    sim = cg.MapSimulator(lambda y, a: a * y)
    run = _converged(sim, check, (sim, full), abs(1.029 - 1.0))
    assert run.converged and run.short_check and run.result is full
    assert run.step_error == pytest.approx(0.029) and "interval includes that move" in run.note


def test_a_check_that_disagrees_says_so_rather_than_too_short():
    from chaosgrad._spectra.reference import _not_converged, why_not_confirmed

    full = _estimate(1.0, 0.01, "converged", 400.0)
    far = _estimate(1.5, 0.02, "time budget", 200.0)
    why = why_not_confirmed(far, full, full)
    assert "moved lambda_1 by +0.5" in why and "too short" not in why
    sim = cg.MapSimulator(lambda y, a: a * y)
    note = _not_converged((sim, full), far, None, 0.5, why).note
    assert "moved lambda_1 by +0.5" in note and "did not converge" in note
    wide = _estimate(1.0, 0.05, "time budget", 20.0)  # agrees, but five times as wide
    assert "too short to confirm it" in why_not_confirmed(wide, full, full)
