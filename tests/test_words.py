"""Every sentence from the numbers beside it.

A property test over synthetic diagnoses (no simulation): NaN and infinite rates, zero and
non-finite gradients, disjoint and overlapping intervals, every verdict and physics class.
For all the words produced about a diagnosis (the explanation and advice of ``_diagnosis.advice``,
the report's headline, key numbers and terminal summary, the figure captions) it checks
that no NaN or infinity is written as a number, that nothing claims agreement with the
physics where the stated intervals are disjoint, that no overflow horizon is stated
without a finite rate above zero, and that each caption names only the coloured and
styled elements its figure draws. ``Diagnosis.summary`` is not covered here: its
formatting belongs to ``_diagnosis.types``.
"""

from __future__ import annotations

import dataclasses
import math
import os
import re

import numpy as np
import pytest
from _synthetic import make_gradient, make_lyapunov
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chaosgrad import Ablation, Diagnosis, Recommendation, Study
from chaosgrad._diagnosis import words as words
from chaosgrad._diagnosis.advice import explain, overflow_extrapolated, overflow_horizons, recommend
from chaosgrad._diagnosis.types import CAUSES
from chaosgrad._diagnosis.verdict import PHYSICS, VERDICTS, Decision
from chaosgrad.report import _ablation_figure, _captions, _document, _figures, _gradient_figures, _lyapunov_figures
from chaosgrad.report._plot import COLOUR_NAMES, STYLE_NAMES, draw_generic
from chaosgrad.report._text import headline, summary_table

settings.register_profile("fast", max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("long", max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "fast"))

# A NaN or an infinity written where a number goes ("+nan", "exp(-nan T)", "[-inf, 0.3]");
# "infinite" and "infinity" are words, not numbers.
NONFINITE_TOKEN = re.compile(r"(?i)(?<![A-Za-z_])[+-]?(nan|inf)(?![A-Za-z_])")
# Claims that the gradient's rate is the physics' rate.
AGREEMENT = (
    "agree",
    "really is this large",
    "really is this small",
    "as the physics predicts",
    "not to blame",
    "numerics are sound",
)
# An overflow horizon stated as a number.
OVERFLOW_AT = re.compile(r"overflow[^.;:]*?T [≈~] ")
COLOUR_WORD = re.compile(r"(?i)\b(" + "|".join(sorted(set(COLOUR_NAMES.values()))) + r")\b")
STYLED = re.compile(
    r"(?i)\b("
    + "|".join(sorted(set(COLOUR_NAMES.values())))
    + r") ("
    + "|".join(sorted(set(STYLE_NAMES.values()) - {"solid"}, key=len, reverse=True))
    + r")\b"
)

rates = st.one_of(st.floats(-3.0, 3.0), st.sampled_from([math.nan, math.inf, -math.inf]))
widths = st.one_of(st.floats(0.0, 1.5), st.just(math.nan))


@st.composite
def diagnoses(draw):
    verdict = draw(st.sampled_from(VERDICTS))
    physics = draw(st.sampled_from(PHYSICS))
    dtype = draw(st.sampled_from(["float16", "float32", "float64"]))
    rate = draw(rates)
    w = draw(widths)
    lo, hi = (rate - w, rate + w) if math.isfinite(rate) else (draw(st.sampled_from([math.nan, rate])),) * 2
    # The synthetic norms grow at a finite rate (0.5 stands in where the stated rate is not finite).
    fill = draw(st.sampled_from(["finite", "overflow", "all-nonfinite", "zero"]))
    if not math.isfinite(rate):  # no rate: nothing finite, or finite early horizons none of them fitted
        fill = draw(st.sampled_from(["all-nonfinite", "overflow"]))
    grad = make_gradient(
        rate if math.isfinite(rate) else 0.5,
        (lo, hi),
        dtype=dtype,
        overflow=float(draw(st.sampled_from([10.0, 1e3, 1e6]))) if fill == "overflow" else None,
        all_nonfinite=fill == "all-nonfinite",
        seed=draw(st.integers(0, 3)),
    )
    if fill == "zero":  # some members' gradients exactly zero (the step propagates nothing)
        zero = np.zeros_like(grad.finite)
        zero[: draw(st.integers(1, grad.norms.shape[0])), draw(st.integers(0, grad.horizons.size - 1)) :] = True
        grad = dataclasses.replace(grad, norms=np.where(zero, 0.0, grad.norms), zero=zero, finite=grad.finite & ~zero)
    if draw(st.booleans()):  # a forward state that blew up at the longest horizons
        state = np.ones_like(grad.finite)
        state[:, -draw(st.integers(1, 3)) :] = False
        grad = dataclasses.replace(grad, state_finite=state)
    if not math.isfinite(rate):
        grad = dataclasses.replace(grad, rate=rate, status="nonfinite", fit_mask=np.zeros_like(grad.fit_mask))
    # The physics' prediction: overlapping the gradient's interval, disjoint from it, or missing.
    e_rate = draw(st.one_of(st.floats(-3.0, 3.0), st.just(math.nan)))
    e_w = draw(st.floats(0.0, 0.5))
    e_lo, e_hi = e_rate - e_w, e_rate + e_w
    lam1 = draw(st.one_of(st.floats(-3.0, 3.0), st.just(math.nan)))
    phys = dataclasses.replace(make_lyapunov([0.9, 0.0, -14.5], seed=0), exponents=np.array([lam1, 0.0, -14.5]))
    num = make_lyapunov([0.9, 0.0, -14.5], seed=1, nonfinite_at=(0, 50) if draw(st.booleans()) else None)
    causes = tuple(draw(st.lists(st.sampled_from(CAUSES), unique=True, max_size=2)))
    ablations = tuple(
        Ablation(
            name=f"ablation-{i}",
            cause=c,
            change="one thing changed",
            suspected="suspected",
            rate_before=rate,
            rate_after=draw(rates),
            interval_before=(lo, hi),
            interval_after=(draw(rates), draw(rates)),
            confirmed=c in causes,
            reason="the change moves the rate",
            status=draw(st.sampled_from(["ok", "failed"])),
            error="it could not run",
            evidence={},
        )
        for i, c in enumerate(draw(st.lists(st.sampled_from(CAUSES), max_size=2)))
    )
    overflow, underflow = overflow_horizons(grad, dtype)
    if draw(st.booleans()):  # a stored horizon that does not follow the rule (an older file)
        overflow = draw(st.sampled_from([None, 3.5, math.nan, math.inf]))
    is_state = draw(st.booleans())
    decision = Decision(verdict, causes, ("the reason the verdict gives",), ("what would decide it",))
    recs = recommend(
        physics=physics,
        verdict=verdict,
        lam1_phys=lam1,
        grad=grad,
        dtype=dtype,
        overflow=overflow,
        underflow=underflow,
        is_state=is_state,
    )
    explanation = explain(
        name="synthetic",
        decision=decision,
        physics=physics,
        lam_phys=phys,
        lam_num=num,
        grad=grad,
        expected=e_rate,
        ablations=ablations,
        overflow=overflow,
        dtype=dtype,
    )
    return Diagnosis(
        name="synthetic",
        lambda_physical=phys,
        lambda_numerical=num,
        gradient=grad,
        gradient_rate=rate,
        gradient_interval=(lo, hi),
        expected_rate=e_rate,
        expected_interval=(e_lo, e_hi),
        expected_numerical_rate=draw(st.one_of(st.floats(-3.0, 3.0), st.just(math.nan))),
        physics=physics,
        causes=causes,
        cause_words={},
        verdict=verdict,
        reasons=decision.reasons,
        to_decide=decision.to_decide,
        explanation=explanation,
        ablations=ablations,
        recommendations=tuple(recs),
        overflow_horizon=overflow,
        underflow_horizon=underflow,
        truncation_horizon=None,
        dtype=dtype,
        literature={"exponents": [0.9056, 0.0, -14.5723], "source": "Sprott 2003"} if draw(st.booleans()) else None,
        config={},
        step_derivatives={},
        notes=(),
        status="ok",
    )


def _texts(d) -> dict:
    """Every piece of words produced about ``d``, by where it comes from."""
    study = Study(
        system="synthetic",
        title="synthetic",
        summary="",
        diagnosis=d,
        sections=(),
        findings=(),
        mode="fast",
        config={},
        extra={},
    )
    doc = _document.build(study, figures=False)
    out = {
        "explanation": d.explanation,
        "headline": doc.verdict_text,
        "summary table": summary_table(study),
        "no cause": doc.no_cause_text,
        "key numbers": " | ".join(" ".join(row) for row in _document.key_numbers(d)),
    }
    # The rates table's values may show NaN (a table never drops a value); its explanations are words.
    out["rates table words"] = " | ".join(row[2] for row in _document.rates_table(d).rows)
    out.update({f"advice {i}": r.text for i, r in enumerate(d.recommendations)})
    out.update({f"caption {k}": f(d) for k, f in _captions.CAPTIONS.items()})
    return out


def _drawn(fig):
    """The (colour word, style word) of every line and the colour words of every artist
    drawn in ``fig`` (palette colours only)."""
    from matplotlib.colors import to_hex

    def name(c):
        try:
            return COLOUR_NAMES.get(to_hex(c, keep_alpha=False))
        except (ValueError, TypeError):
            return None

    lines, colours = set(), set()
    for ax in fig.axes:
        for ln in ax.get_lines():
            c = name(ln.get_color())
            ls = ln.get_linestyle()
            y = np.asarray(ln.get_ydata(), dtype=float)
            shown = bool(np.isfinite(y).any())  # a line of NaN draws nothing
            has_line = shown and ls not in ("None", "", " ")
            if c and has_line and ls in STYLE_NAMES:
                lines.add((c, STYLE_NAMES[ls]))
            if c and shown:
                colours.add(c)
            mc = name(ln.get_markeredgecolor())
            if mc and ln.get_marker() not in ("None", "", " ", None) and shown:
                colours.add(mc)
        for coll in ax.collections:
            for fc in np.atleast_2d(coll.get_facecolor()):
                if fc.size and name(fc[:3]):
                    colours.add(name(fc[:3]))
        for patch in ax.patches:
            if name(patch.get_facecolor()[:3]):
                colours.add(name(patch.get_facecolor()[:3]))
    return lines, colours


def _check_caption(caption: str, fig, where: str) -> None:
    lines, colours = _drawn(fig)
    said = {(c.lower(), s.lower()) for c, s in STYLED.findall(caption)}
    for c, s in said:
        assert (c, s) in lines, f"{where}: the caption names a {c} {s} line the figure does not draw: {caption}"
    for c, s in lines:
        if s != "solid":
            assert (c, s) in said, f"{where}: the figure draws a {c} {s} line the caption does not name: {caption}"
    for c in {m.lower() for m in COLOUR_WORD.findall(caption)}:
        assert c in colours, f"{where}: the caption names {c}, which the figure does not draw: {caption}"


@pytest.mark.slow
@given(d=diagnoses())
def test_every_sentence_follows_the_numbers(d):
    texts = _texts(d)
    g_lo, g_hi = d.gradient_interval
    e_lo, e_hi = d.expected_interval
    disjoint = words.disjoint((g_lo, g_hi), (e_lo, e_hi))
    measured = words.finite(d.gradient_rate) and words.finite(g_lo) and g_lo > 0 and overflow_extrapolated(d.gradient)
    for where, text in texts.items():
        bad = NONFINITE_TOKEN.search(text)
        assert bad is None, f"{where} writes a non-finite number ({bad.group(0)!r}): {text}"
        if disjoint:
            claims = [a for a in AGREEMENT if a in text.lower()]
            assert not claims, f"{where} claims agreement {claims} with disjoint intervals: {text}"
        for part in re.split(r"(?<=[.;|])\s+|\n", text):
            if (
                OVERFLOW_AT.search(part)
                or ("overflow" in part and "at the measured rate" in part)
                or "scale the loss by exp(" in part
            ):
                assert measured, f"{where} states an overflow horizon without a finite rate above zero: {part}"
    head = texts["headline"]
    if "faster than the true dynamics allow" in head:
        assert words.finite(g_lo) and words.finite(e_hi) and g_lo > e_hi, head
    if "faster than the true dynamics demand" in head:
        assert words.finite(g_hi) and words.finite(e_lo) and g_hi < e_lo, head
    if "not to blame" in head:
        assert not d.causes, head
    for fid, draw in (
        ("gradient-growth", _gradient_figures.gradient_growth),
        ("cotangent", _gradient_figures.cotangent),
        ("ablations", _ablation_figure.ablations),
        ("convergence", _lyapunov_figures.convergence),
        ("spectrum", _lyapunov_figures.spectrum),
    ):
        _check_caption(texts[f"caption {fid}"], draw(d), fid)


def test_readme_backsolve_case_words():
    """The README's example (Lorenz-63 at rho = 10, BacksolveAdjoint) in numbers: the
    gradient non-finite from T = 3.63 with a finite forward state, no rate fitted, the
    adjoint ablation confirmed. Its words name what is missing instead of a NaN."""
    grad = make_gradient(0.5, (math.nan, math.nan), overflow=10.0, seed=2)
    grad = dataclasses.replace(grad, rate=math.nan, status="nonfinite", fit_mask=np.zeros_like(grad.fit_mask))
    overflow, underflow = overflow_horizons(grad, "float64")
    assert overflow is not None and not overflow_extrapolated(grad)
    recs = recommend(
        physics="contracting",
        verdict="numerical-explosion",
        lam1_phys=-0.598,
        grad=grad,
        dtype="float64",
        overflow=overflow,
        underflow=underflow,
        is_state=False,
    )
    text = " ".join(r.text for r in recs)
    assert "exp(-" not in text and "nan" not in text.lower()
    assert f"non-finite from T ≈ {words.number(overflow)}" in text and "observed" in text
    phys = make_lyapunov([-0.598, -1.0, -13.0], seed=0)
    d = Diagnosis(
        name="readme",
        lambda_physical=phys,
        lambda_numerical=phys,
        gradient=grad,
        gradient_rate=math.nan,
        gradient_interval=(math.nan, math.nan),
        expected_rate=0.0,
        expected_interval=(-0.61, 0.0),
        expected_numerical_rate=0.0,
        physics="contracting",
        causes=("adjoint",),
        cause_words={},
        verdict="numerical-explosion",
        reasons=("r",),
        to_decide=(),
        explanation="",
        ablations=(),
        recommendations=tuple(recs),
        overflow_horizon=overflow,
        underflow_horizon=underflow,
        truncation_horizon=None,
        dtype="float64",
        literature=None,
        config={},
        step_derivatives={},
        notes=(),
        status="ok",
    )
    head = headline(d)[0]
    assert "faster than the true dynamics" not in head
    assert "turns non-finite" in head and "forward simulation stays finite" in head
    caption = _captions.gradient_growth(d)
    assert "dashed line has the slope" not in caption and "no fitted line is drawn" in caption
    assert "at the measured rate" not in " ".join(" ".join(r) for r in _document.key_numbers(d))


def test_headline_states_faster_only_above_the_physics():
    """A numerical explosion whose interval lies above the physics' says so with both
    intervals; one that overlaps it does not claim it."""
    from _synthetic import lorenz_diagnosis

    base = lorenz_diagnosis()
    above = dataclasses.replace(base, verdict="numerical-explosion", gradient_rate=2.0, gradient_interval=(1.9, 2.1))
    head = headline(above)[0]
    assert "grows faster than the true dynamics allow" in head and "[+1.90, +2.10]" in head
    overlapping = dataclasses.replace(above, gradient_rate=0.95, gradient_interval=(0.9, 1.0))
    assert "faster than the true dynamics" not in headline(overlapping)[0]


def test_one_formatter_for_rates_and_intervals():
    # Common decimals for a rate and its interval: 3 significant digits of the largest.
    assert words.rate(0.85374, 0.8537, 0.9504) == "+0.854 [+0.854, +0.950]"
    assert words.rate(-14.5723, -14.6, -14.5, 4) == "-14.57 [-14.60, -14.50]"
    assert words.rate(math.nan, 0.1, 0.2) == "not measured"
    assert words.interval(math.inf, 1.0) == "(interval not measured)"
    assert words.number(-math.inf) == "minus infinity" and words.number(None) == "not measured"
    assert words.number(2.5e-5, 3, signed=True) == "+2.50e-5"
    assert words.numbers([-0.0001, 0.5]) == ["+0.000", "+0.500"]  # no "-0.000"
    assert words.disjoint((0.1, 0.2), (0.3, 0.4)) and not words.disjoint((0.1, 0.35), (0.3, 0.4))
    assert not words.disjoint((math.nan, 0.2), (0.3, 0.4))
    # Tables: the same common decimals; a missing value is shown, not dropped.
    from chaosgrad.report._text import fmt_rate_interval

    assert fmt_rate_interval(0.9, (0.8537, 0.9504)) == "+0.900 [+0.854, +0.950]"
    assert fmt_rate_interval(math.nan, (math.nan, math.nan)) == "NaN [NaN, NaN]"


def test_oscillator_step_advice_names_which_step_binds():
    """At dt = 0.25 the diagnosis' step (0.25 / 2^8, where Euler's lambda_1 matches -1
    within a factor 2 over T = 16) is far below Euler's stability threshold 2 zeta / omega
    = 0.02; the advice states both and which binds for what, never one without the other."""
    from chaosgrad.studies.oscillators import H_EXACT, step_advice

    recs = (
        Recommendation("step size", "Reduce the step from 0.25 to at most 0.000977.", 0.25 / 256, "time"),
        Recommendation("horizon", "unchanged", 3.0, "time"),
    )
    out = step_advice(recs, dt=0.25, threshold=(0.019995, 0.020005), t_max=16.0)
    assert out[1] == recs[1]
    text = out[0].text
    assert out[0].value == 0.25 / 256
    assert "stability threshold h = 0.019995 to 0.020005" in text and "9.77e-4" in text
    assert "binds if the aim is a finite gradient" in text and "binds for the gradient's value" in text
    # A matching step above the threshold would contradict it: the threshold is given instead.
    out = step_advice((dataclasses.replace(recs[0], value=0.05),), dt=0.25, threshold=(0.0199, 0.0201), t_max=16.0)
    assert out[0].value == 0.0199 < H_EXACT and "to at most 0.019900" in out[0].text


def test_sweep_caption_colours_are_the_drawn_ones():
    """rates_figure's series are drawn in the colours rates_colours names (the Lorenz-63
    sweep's caption calls the gradient rate by that name)."""
    from types import SimpleNamespace

    from chaosgrad.studies._common import rates_colours, rates_figure

    phys = make_lyapunov([0.9, 0.0, -14.5], seed=0)
    pts = [
        SimpleNamespace(
            lambda_physical=phys, lambda_numerical=phys, gradient_rate=r, gradient_interval=(r - 0.1, r + 0.1)
        )
        for r in (0.1, 0.5, 0.9)
    ]
    fig = draw_generic(rates_figure([10.0, 20.0, 28.0], pts, xlabel="rho", title="t", caption="c"))
    from matplotlib.colors import to_hex

    by_label = {ln.get_label(): COLOUR_NAMES[to_hex(ln.get_color())] for ln in fig.axes[0].get_lines()}
    names = rates_colours()
    assert by_label["gradient rate (95% interval)"] == names["gradient"] == "green"
    # The exponents' labels follow the report's notation (lambda_1 or its symbol).
    assert next(v for k, v in by_label.items() if "physical" in k) == names["physical"]
    assert next(v for k, v in by_label.items() if "numerical" in k) == names["numerical"]


@pytest.mark.parametrize("fid", ["gradient-growth", "growth-law", "cotangent", "ablations", "convergence", "spectrum"])
def test_captions_of_the_bundled_synthetic_diagnoses_match_their_figures(fid):
    from _synthetic import degenerate_diagnosis, float16_diagnosis, lorenz_diagnosis

    draw = dict((k, f) for k, _, f in _figures.STANDARD)[fid]
    for d in (lorenz_diagnosis(), float16_diagnosis(), degenerate_diagnosis()):
        if _figures.nothing_to_draw(fid, d):
            continue  # the report leaves the figure out (and says why in its caption's words)
        _check_caption(_captions.CAPTIONS[fid](d), draw(d), f"{d.name} {fid}")


def test_sweep_verdict_table_rates_in_one_format():
    """A sweep's table writes a rate and its interval as the report does: common decimals,
    and a rate that was not measured as NaN (a table shows it), never Python's '+nan'."""
    from types import SimpleNamespace

    from chaosgrad.studies._common import verdict_table

    phys = make_lyapunov([0.9, 0.0, -14.5], seed=0)
    pts = [
        SimpleNamespace(
            lambda_physical=phys, physics="chaotic", verdict=v, causes=(), gradient_rate=r, gradient_interval=i
        )
        for v, r, i in (
            ("intrinsic-explosion", 0.9, (0.8537, 0.9504)),
            ("inconclusive", math.nan, (math.nan, math.nan)),
        )
    ]
    rows = verdict_table("t", "rho", [28.0, 10.0], pts).rows
    assert rows[0][-1] == "+0.900 [+0.854, +0.950]"
    assert rows[1][-1] == "NaN [NaN, NaN]"
