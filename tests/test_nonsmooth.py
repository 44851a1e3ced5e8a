"""The non-smooth cause (chaosgrad._nonsmooth.cause): confirmed by the first-order against
zeroth-order comparison, with where along the trajectory the program is non-smooth."""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
import pytest

import chaosgrad as cg
from chaosgrad._diagnosis.causes import AbstractCause, CauseEvidence
from chaosgrad._nonsmooth.cause import OUTCOME, evidence_words

E = 0.8
Y0 = jnp.array([1.0, -0.25])


def ball(y, e):
    x1 = y[0] + y[1]
    hit = x1 < 0
    return jnp.stack([jnp.where(hit, -e * x1, x1), jnp.where(hit, -e * y[1], y[1])])


@pytest.fixture(scope="module")
def evidence():
    sim = cg.MapSimulator(ball)
    g = cg.gradient_growth(sim, Y0, jnp.asarray(E), horizons=[2, 4, 6], wrt="y0", loss=lambda y: y[1], members=1)
    # Only the fields a cause may read for this test are real; the spectra are not used.
    return CauseEvidence(
        simulator=sim,
        args=jnp.asarray(E),
        reference=sim,
        reference_differs=False,
        lambda_physical=None,
        lambda_numerical=None,
        gradient=g,
        expected_physical=0.0,
        expected_numerical=0.0,
        t_max=6.0,
        wrt_state=True,
        y_start=Y0,
        lyapunov_options={},
    )


def test_cause_confirmed_on_the_ball_velocity_with_evidence_and_location(evidence):
    cause = cg.NonSmooth(loss=lambda y: y[1], sigma=0.1, samples=512, seed=0)
    assert isinstance(cause, AbstractCause) and cause.name == OUTCOME
    why = cause.suspect(evidence)
    assert why is not None
    assert "lies outside the zeroth-order estimate's 95% interval" in why and "excludes 0" in why
    # The wall is crossed around step 3 (x = 0.25 at step 3, 0 at step 4).
    assert "most at step 3" in why
    confirmed, words, result = cause.confirm(evidence)
    assert confirmed and words == why and result.biased.all()
    advice = cause.recommend(evidence, None)
    assert advice[0].topic == OUTCOME and advice[0].value == 2.0 and advice[0].unit == "time"
    assert {r.topic for r in advice[1:]} == {
        "estimator variance",
        "first-order horizon",
        "alpha-order estimator",
        "smoothing scale",
    }
    with pytest.raises(ValueError, match="first-order against zeroth-order"):
        cause.ablate(evidence)


def test_cause_not_suspected_where_the_program_is_only_kinked(evidence):
    """The ball's position is continuous (a kink at the wall): the steps are flagged as
    non-smooth but the two estimates agree, so the cause is not confirmed."""
    cause = cg.NonSmooth(loss=lambda y: y[0], sigma=0.1, samples=512, seed=0)
    assert cause.suspect(evidence) is None
    words = cause.confirm(evidence)[1]
    assert words.startswith("the first-order and zeroth-order estimates agree")


def test_cause_reads_a_stored_measurement_without_running(evidence):
    res = cg.smoothed_gradients(
        cg.MapSimulator(ball),
        Y0,
        jnp.asarray(E),
        horizons=[4],
        wrt="y0",
        loss=lambda y: y[1],
        sigma=0.1,
        samples=256,
        seed=2,
    )
    cause = cg.NonSmooth(measured=res)  # no loss: the measurement is not repeated
    assert cause.suspect(evidence) == evidence_words(res)
    confirmed, why, got = cause.confirm(None)  # a stored measurement needs no evidence
    assert confirmed and why == evidence_words(res) and got is res
    assert res.confirmed and np.argmax(res.step_flags) == 3


@pytest.mark.slow
def test_contact_study_states_the_closed_form_and_both_estimators():
    """The bundled study (fast mode, about 30 s): the ball's first order is biased at every
    horizon, its zeroth-order intervals cover the closed form, and the clipped pendulum
    (continuous, Lipschitz) shows no bias."""
    pytest.importorskip("gymnax")
    from chaosgrad import studies
    from chaosgrad.studies.contact import ball_smoothed_gradient

    assert "contact" in studies.names()
    study = studies.get("contact").run(fast=True)
    ball_table = study.sections[0].tables[0]
    for row in ball_table.rows:
        exact, _ = ball_smoothed_gradient(int(row[0]))
        for value, cell in ((exact[0], row[3]), (exact[1], row[6])):
            lo, hi = (float(x) for x in cell.split("[")[1].rstrip("]").split(","))
            assert lo <= value <= hi
        assert row[-1] == "yes"
    assert all(row[6] == "no" for row in study.sections[1].tables[0].rows)
    assert "skipped under --fast" in study.sections[2].text  # the Brax part compiles for minutes
    assert "the non-smooth cause is confirmed" in study.summary
    assert study.diagnosis.verdict in cg.VERDICTS


def test_contact_study_names_the_extra_when_brax_is_missing(monkeypatch):
    """Without Brax the Brax part is a note naming the install command, not a crash."""
    from chaosgrad.studies import _contact_brax

    def missing(module, study):
        raise _contact_brax.ChaosgradInputError(f"the {study} study needs {module}. Fix: pip install 'chaosgrad[envs]'")

    monkeypatch.setattr(_contact_brax, "import_optional", missing)
    m = _contact_brax.measure(fast=False)
    assert m.result is None
    section, findings, sentence = _contact_brax.report(m)
    assert "pip install 'chaosgrad[envs]'" in section.text and "pip install 'chaosgrad[envs]'" in sentence
    assert not section.figures and not section.tables


@pytest.mark.slow
def test_contact_study_brax_part_concludes_from_its_numbers():
    """The Brax skid (a few minutes on two cores: compiling Brax's step and its
    derivatives): the horizons are the ones asked for, every pair is finite, each horizon's
    'biased' is the comparison of the first-order estimate with the zeroth-order interval
    and of the paired difference's interval with 0, and the words follow the numbers."""
    pytest.importorskip("brax")
    from chaosgrad._diagnosis.words import number
    from chaosgrad._runtime.precision import float64_scope
    from chaosgrad.studies import _contact_brax

    m = float64_scope(_contact_brax.measure)(fast=False)
    r = m.result
    assert r is not None, m.missing
    cfg = _contact_brax.settings(False)
    np.testing.assert_array_equal(r.horizon_steps, cfg["brax_horizon_steps"])
    assert np.all(r.finite_pairs == cfg["brax_samples"])
    for a in (r.first_order, r.zeroth_order, r.first_order_trace, r.zeroth_order_trace):
        assert np.all(np.isfinite(a))
    n1, n0 = _contact_brax.debiased(r, "first"), _contact_brax.debiased(r, "zeroth")
    assert np.all(np.isfinite(n1)) and np.all(np.isfinite(n0))
    outside = np.any((r.first_order < r.zeroth_low) | (r.first_order > r.zeroth_high), axis=1)
    differ = np.any((r.difference_low > 0) | (r.difference_high < 0), axis=1)
    np.testing.assert_array_equal(r.biased, outside & differ)
    # The paired difference is the difference of the two estimates (same pairs).
    np.testing.assert_allclose(r.difference, r.first_order - r.zeroth_order, rtol=1e-9, atol=1e-12)
    # The contact shows up where it is: some step of the longest horizon is flagged.
    assert r.step_flags.sum() > 0 and r.nonsmooth_steps.size > 0
    section, findings, sentence = _contact_brax.report(m)
    word = "confirmed" if r.confirmed else "not confirmed"
    assert f"non-smooth cause is {word}" in section.text and f"non-smooth cause is {word}" in sentence
    table = section.tables[0]
    assert [row[0] for row in table.rows] == list(cfg["brax_horizon_steps"])
    assert [row[6] for row in table.rows] == ["yes" if b else "no" for b in r.biased]
    norm_caption = section.figures[0].caption
    for n, a, b in zip(r.horizon_steps, n1, n0):
        assert f"{int(n)} steps: first {number(a)}, zeroth {number(b)}" in norm_caption


def test_nonsmooth_without_measurement_or_evidence_names_the_argument():
    with pytest.raises(cg.ChaosgradInputError, match="argument `evidence`: is None"):
        cg.NonSmooth(loss=lambda y: y[0]).confirm(None)
