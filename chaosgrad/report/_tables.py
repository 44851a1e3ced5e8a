"""The report's tables as data (:class:`TableItem`): the rates, the ablations, the results
a study keeps beside its headline diagnosis, the recommendations, and a study's own tables."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from chaosgrad._diagnosis.types import Diagnosis
from chaosgrad.report._numbers import as_float, dtype_limits, fmt, fmt_rate, fmt_value, is_finite, spectrum_text
from chaosgrad.report._text import evidence_words, fmt_rate_interval, horizon_kind, unit_words, verdict_label


@dataclass
class TableItem:
    title: str
    columns: list
    rows: list  # list of lists of str
    caption: str = ""
    row_classes: list = field(default_factory=list)


def _lambda1(res):
    """lambda_1 and its 95% half-width: the one uncertainty every part of a report shows."""
    exps = np.asarray(res.exponents, dtype=float).reshape(-1)
    se = np.asarray(res.uncertainty, dtype=float).reshape(-1)
    return (float(exps[0]) if exps.size else None), (float(se[0]) if se.size else None)


def _lyap_status(res) -> str:
    if res.status == "ok":
        return ""
    where = (
        f" in interval {int(res.first_nonfinite_interval) + 1} of {res.n_intervals}"
        if res.first_nonfinite_interval is not None
        else ""
    )
    return (
        f" Not every interval was finite: the {res.nonfinite_quantity or 'value'} became "
        f"non-finite{where}; the estimate uses the intervals before it."
    )


def _spectrum_rows(d: Diagnosis, add) -> None:
    """λ_physical and λ_numerical: the two spectra, each with its leading exponent."""
    p1, pse = _lambda1(d.lambda_physical)
    n1, nse = _lambda1(d.lambda_numerical)
    p = d.lambda_physical
    add(
        "λ_physical (λ₁)",
        fmt_rate(p1, pse, 4),
        f"Leading Lyapunov exponent of the converged reference dynamics ({p.dtype}): how fast "
        f"nearby true trajectories separate; positive means chaos. Full spectrum "
        f"{spectrum_text(p.exponents, p.uncertainty)} (± 95% half-widths); Benettin/QR over "
        f"{p.n_intervals} intervals of τ = {fmt(p.interval, 3)}; {p.error_method}; measuring time: {p.convergence}."
        + _lyap_status(p),
        "" if p.status == "ok" else "warn",
    )
    n = d.lambda_numerical
    add(
        "λ_numerical (λ₁)",
        fmt_rate(n1, nse, 4),
        f"The same for the map your solver actually computes ({n.dtype}, step {fmt(n.dt, 3)}): "
        f"what exact differentiation of your code sees. It differs from λ_physical when the "
        f"step or the precision distorts the dynamics. Spectrum "
        f"{spectrum_text(n.exponents, n.uncertainty)}." + _lyap_status(n),
        "" if n.status == "ok" else "warn",
    )


def _gradient_rows(d: Diagnosis, add) -> None:
    """The measured gradient rate, the two predictions, and the gap the verdict explains."""
    g = d.gradient
    n_fit = int(np.asarray(g.fit_mask, dtype=bool).sum())
    M = int(np.asarray(g.norms).shape[0]) if np.asarray(g.norms).ndim == 2 else 0
    H = int(np.asarray(g.horizons).size)
    conf = as_float(g.confidence)
    conf_s = f"{100 * conf:.0f} %" if conf is not None and np.isfinite(conf) else "confidence"
    fit_note = {
        "ok": "",
        "partial-nonfinite": " Some horizons were non-finite; the fit uses the finite ones.",
        "nonfinite": " Too few finite horizons to fit a rate.",
    }.get(g.status, f" Status: {g.status}.")
    add(
        "gradient rate γ",
        fmt_rate_interval(d.gradient_rate, d.gradient_interval),
        f"Measured growth rate of ‖∂L_T/∂{g.wrt}‖ with the horizon T (loss {g.loss}; "
        f"{g.dtype}, {g.adjoint}): slope of ln‖grad‖ against T over {n_fit} of {H} horizons "
        f"and {M} members, with its {conf_s} interval ({g.method})." + fit_note,
        "" if is_finite(d.gradient_rate) and g.status == "ok" else "warn",
    )
    add(
        "expected rate (physics)",
        fmt_rate_interval(d.expected_rate, d.expected_interval, 4),
        "What exact differentiation of the true dynamics predicts for γ: λ₁ for gradients with "
        "respect to the initial state, max(λ₁, 0) with respect to parameters.",
    )
    add(
        "expected rate (numerics)",
        fmt(d.expected_numerical_rate, 4, signed=True),
        "The same prediction from λ_numerical: what your discretisation alone explains.",
    )
    if is_finite(d.gradient_rate) and is_finite(d.expected_rate):
        gap = float(d.gradient_rate) - float(d.expected_rate)
        numerical = str(d.verdict).startswith("numerical")
        add(
            "gap γ − expected",
            fmt(gap, 3, signed=True),
            "The part of the growth the physics does not explain. The diagnosis decided: "
            + "; ".join(str(r) for r in (d.reasons or ()))
            + ".",
            "warn" if numerical or d.verdict == "inconclusive" else "",
        )


def _horizon_rows(d: Diagnosis, add) -> None:
    """Where the gradient overflows or underflows the dtype, and the truncation horizon."""
    g = d.gradient
    limits = dtype_limits(d.dtype)
    lim_s = f" ({fmt(limits[0], 3)})" if limits else ""
    kind = horizon_kind(d)
    g_lo, g_hi = (tuple(d.gradient_interval or ()) + (None, None))[:2]
    add(
        f"overflow horizon ({d.dtype})" if kind != "non-finite" else "non-finite from (observed)",
        f"T ≈ {fmt(d.overflow_horizon, 3)}" if kind is not None else "not reached",
        f"Horizon at which ‖grad‖ reaches the largest {d.dtype}{lim_s} at the measured rate; "
        "beyond it the gradient is infinite or not a number."
        if kind == "overflow"
        else "The first horizon at which at least half of the members' gradients were non-finite while their "
        "forward states stayed finite: observed, not extrapolated, since no growth rate above zero was measured."
        if kind == "non-finite"
        else "The gradient does not grow significantly, so it never overflows this type."
        if is_finite(d.gradient_rate) and not (is_finite(g_lo) and g_lo > 0)
        else "The gradient grows, but no overflow horizon was extrapolated from its rate."
        if is_finite(d.gradient_rate)
        else "No growth rate was measured, and no horizon was seen where at least half of the gradients turn "
        "non-finite with a finite forward state.",
        "warn"
        if is_finite(d.overflow_horizon) and float(d.overflow_horizon) <= float(np.max(g.horizons, initial=0))  # type: ignore[arg-type]  # finite: not None
        else "",
    )
    tiny_s = f" ({fmt(limits[1], 3)})" if limits else ""
    add(
        f"underflow horizon ({d.dtype})",
        f"T ≈ {fmt(d.underflow_horizon, 3)}" if d.underflow_horizon is not None else "not reached",
        f"Horizon at which ‖grad‖ falls below the smallest normal {d.dtype}{tiny_s}; beyond it "
        "the gradient loses precision and then becomes exactly zero."
        if d.underflow_horizon is not None
        else "The gradient does not decay significantly, so it never underflows this type."
        if is_finite(d.gradient_rate) and not (is_finite(g_hi) and g_hi < 0)
        else "The gradient decays, but no underflow horizon was extrapolated from its rate."
        if is_finite(d.gradient_rate)
        else "No growth rate was measured, so no underflow horizon is predicted.",
    )
    add(
        "truncation horizon",
        fmt(d.truncation_horizon, 3) if d.truncation_horizon is not None else "not applicable",
        "ln 2 / λ₁: the time over which errors double. Backpropagation windows of this order keep "
        "gradients informative (Mikhaeil, Monfared & Durstewitz, NeurIPS 2022)."
        if d.truncation_horizon is not None
        else "Only defined for chaotic dynamics (λ₁ > 0).",
    )


def rates_table(d: Diagnosis) -> TableItem:
    """The report's table of rates: spectra, gradient rate and predictions, horizons."""
    rows, classes = [], []

    def add(name, value, meaning, cls=""):
        rows.append([name, value, meaning])
        classes.append(cls)

    _spectrum_rows(d, add)
    _gradient_rows(d, add)
    _horizon_rows(d, add)
    ky = d.lambda_physical.kaplan_yorke
    if ky is not None:
        add(
            "Kaplan–Yorke dimension",
            fmt(ky, 4),
            "j + (λ₁ + … + λ_j) / |λ_{j+1}| (Kaplan & Yorke 1979): the attractor's information dimension.",
        )
    return TableItem(
        "Rates",
        ["quantity", "value", "what it means"],
        rows,
        caption="Rates are per unit of the simulator's time (per step for maps).",
        row_classes=classes,
    )


def ablation_table(d: Diagnosis) -> TableItem | None:
    abl = tuple(d.ablations or ())
    if not abl:
        return None
    rows, classes = [], []
    for a in abl:
        result = "confirmed" if a.confirmed else ("failed" if a.status != "ok" else "not confirmed")
        if a.status != "ok":
            result += f": {a.error or 'no error message recorded'}"
        else:
            result += f": {a.reason}"
        evidence = evidence_words(a.evidence, a.reason)
        rows.append(
            [
                f"{a.name} ({a.cause})",
                a.change,
                fmt_rate_interval(a.rate_before, a.interval_before),
                fmt_rate_interval(a.rate_after, a.interval_after),
                result,
                evidence or "—",
            ]
        )
        classes.append("good" if a.confirmed else ("bad" if a.status != "ok" else ""))
    return TableItem(
        "Ablations",
        ["ablation (cause tested)", "change", "γ before", "γ after", "result", "evidence"],
        rows,
        caption="A cause is confirmed when changing only that one thing removes non-finite values, "
        "moves the rate towards the prediction, or (where the ablation is the exact derivative of the "
        "same map) changes the gradient member by member by more than a factor 2 or 60 degrees.",
        row_classes=classes,
    )


def _shown_in(label: str, tables) -> bool:
    """Whether a section table already has a row for configuration ``label``: a row
    whose first cell is the label, or, for ``"name=value"``, a column ``name`` holding
    ``value``."""
    label = str(label)
    name, _, value = label.partition("=")
    # "van der Pol dt=0.05": the column "dt" of a table whose title names "van der Pol"
    *words, name = name.split() or [""]
    prefix = " ".join(words).lower()
    for t in tables:
        columns = [str(c).strip() for c in (t.columns or ())]
        for_this = not prefix or prefix in str(t.title).lower()
        for row in t.rows or ():
            cells = [fmt_value(c).strip() for c in row]
            if cells and cells[0] == label:
                return True
            if value and for_this and name in columns:
                i = columns.index(name)
                if i < len(cells) and _same_value(cells[i], value.strip()):
                    return True
    return False


def _same_value(a: str, b: str) -> bool:
    if a == b:
        return True
    try:
        return math.isclose(float(a), float(b), rel_tol=1e-9)
    except ValueError:
        return False


def extra_table(extra: dict, tables=()) -> TableItem | None:
    """The other configurations a study ran, less those a section's table already
    shows (a sweep's table of verdicts), so no table appears twice."""
    extra = {k: v for k, v in (extra or {}).items() if not _shown_in(k, tables)}
    if not extra:
        return None
    rows, classes = [], []
    for label, r in extra.items():
        if isinstance(r, Diagnosis):
            p1, pse = _lambda1(r.lambda_physical)
            n1, nse = _lambda1(r.lambda_numerical)
            rows.append(
                [
                    str(label),
                    f"{verdict_label(r.verdict)} ({r.physics})",
                    ", ".join(dict.fromkeys(r.causes)) if r.causes else "none",
                    fmt_rate(p1, pse),
                    fmt_rate(n1, nse),
                    fmt_rate_interval(r.gradient_rate, r.gradient_interval),
                    f"{r.dtype}, {r.status}",
                ]
            )
            classes.append("" if r.status == "ok" else "warn")
        else:
            rows.append([str(label), type(r).__name__] + ["—"] * 4 + [str(getattr(r, "status", "—"))])
            classes.append("")
    return TableItem(
        "Other configurations",
        ["configuration", "verdict (physics)", "causes", "λ₁ physical", "λ₁ numerical", "γ", "dtype, status"],
        rows,
        caption="Diagnoses of the other configurations this study ran.",
        row_classes=classes,
    )


def recommendations_table(d: Diagnosis) -> TableItem | None:
    recs = tuple(d.recommendations or ())
    if not recs:
        return None
    rows = []
    for r in recs:
        value = "—" if r.value is None else f"{fmt(r.value, 3)} {unit_words(r.unit)}".strip()
        rows.append([r.topic, r.text, value])
    return TableItem("Recommendations", ["topic", "advice", "number"], rows)


def _table(t) -> TableItem:
    rows = [[fmt_value(v) for v in row] for row in (t.rows or ())]
    return TableItem(t.title, [str(c) for c in (t.columns or ())], rows, caption=t.caption or "")
