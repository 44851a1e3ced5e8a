"""The content of a report, independent of its format.

:func:`build` turns a :class:`chaosgrad.Study` into a :class:`Document`: the headline,
the table of rates, the figures (as PNG bytes), the study's sections, findings,
recommendations and the reproducibility block. The HTML and the matplotlib PDF are two
renderings of this one object, so they carry the same content.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import math
import platform
from dataclasses import dataclass, field
from importlib import metadata

import numpy as np

from chaosgrad._diagnosis import words as words
from chaosgrad._diagnosis.types import Diagnosis
from chaosgrad._runtime import interrupts as interrupts
from chaosgrad.report import _captions
from chaosgrad.report._text import (
    as_float,
    cause_words,
    dtype_limits,
    evidence_words,
    first_sentence,
    fmt,
    fmt_rate,
    fmt_rate_interval,
    fmt_value,
    headline,
    horizon_kind,
    is_finite,
    notation,
    paragraphs,
    physics_words,
    plain,
    pretty_json,
    spectrum_text,
    unit_words,
    verdict_label,
)


@dataclass
class FigureItem:
    id: str
    title: str
    caption: str
    png: bytes | None = None
    error: str | None = None


@dataclass
class TableItem:
    title: str
    columns: list
    rows: list  # list of lists of str
    caption: str = ""
    row_classes: list = field(default_factory=list)


@dataclass
class SectionItem:
    title: str
    paragraphs: list
    figures: list
    tables: list


@dataclass
class Document:
    title: str
    system: str
    mode: str
    status: str
    rendered: str
    verdict: str
    verdict_label: str
    verdict_text: str
    tone: str
    physics: str
    physics_text: str
    causes: list  # [(key, words)]
    explanation: list
    reasons: list
    to_decide: list
    no_cause_text: str
    summary: list
    key_numbers: list  # [(label, value, detail)]
    rates: TableItem
    figures: list
    ablation_table: TableItem | None
    sections: list
    findings: list
    recommendations: TableItem | None
    notes: list
    extra_table: TableItem | None
    repro: list  # [(key, value)]
    command: str
    configuration: str
    warnings: list = field(default_factory=list)
    what_to_do: list = field(default_factory=list)  # short advice in plain words, for the top
    omitted: list = field(default_factory=list)  # [(figure title, why nothing is drawn)]


# ---------------------------------------------------------------------------- pieces


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


def rates_table(d: Diagnosis) -> TableItem:
    p1, pse = _lambda1(d.lambda_physical)
    n1, nse = _lambda1(d.lambda_numerical)
    g = d.gradient
    n_fit = int(np.asarray(g.fit_mask, dtype=bool).sum())
    M = int(np.asarray(g.norms).shape[0]) if np.asarray(g.norms).ndim == 2 else 0
    H = int(np.asarray(g.horizons).size)
    conf = as_float(g.confidence)
    conf_s = f"{100 * conf:.0f} %" if conf is not None and np.isfinite(conf) else "confidence"
    rows, classes = [], []

    def add(name, value, meaning, cls=""):
        rows.append([name, value, meaning])
        classes.append(cls)

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
        if is_finite(d.overflow_horizon) and float(d.overflow_horizon) <= float(np.max(g.horizons, initial=0))
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
    *prefix, name = name.split() or [""]
    prefix = " ".join(prefix).lower()
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


def _version(cfgs, pkg: str) -> str:
    for cfg in cfgs:
        versions = cfg.get("versions")
        if isinstance(versions, dict) and versions.get(pkg):
            return str(versions[pkg])
        for key in (f"{pkg}_version", pkg):
            if isinstance(cfg.get(key), str):
                return cfg[key]
    try:
        installed = metadata.version(pkg)
    except metadata.PackageNotFoundError:
        installed = "not installed"
    return f"not recorded (installed at render time: {installed})"


def _first(cfgs, *keys):
    for cfg in cfgs:
        for key in keys:
            if cfg.get(key) not in (None, ""):
                return cfg[key]
    return None


def repro_block(study, d: Diagnosis):
    cfgs = [c for c in (study.config, d.config) if isinstance(c, dict)]
    command = _first(cfgs, "command")
    if not command:
        command = f"chaosgrad analyze {study.system}" + (" --fast" if study.mode == "fast" else "")
    device = _first(cfgs, "device", "devices", "platform")
    seed = _first(cfgs, "seed")
    if seed is None:
        seed = d.lambda_physical.seed
    items = [
        ("chaosgrad", _version(cfgs, "chaosgrad")),
        ("JAX", _version(cfgs, "jax")),
        ("diffrax", _version(cfgs, "diffrax")),
        ("device", fmt_value(device) if device is not None else "not recorded"),
        ("dtype", d.dtype),
        ("seed", fmt_value(seed)),
        ("mode", study.mode),
    ]
    config = {"study": plain(study.config or {}), "diagnosis": plain(d.config or {})}
    for part in config.values():  # a cause listed twice is tested once
        if isinstance(part.get("causes"), list) and all(isinstance(c, str) for c in part["causes"]):
            part["causes"] = list(dict.fromkeys(part["causes"]))
    return items, str(command), pretty_json(config)


def _rate_and_interval(d: Diagnosis) -> tuple[str, str]:
    """The gradient rate and its interval in common decimals, or what is missing."""
    if not is_finite(d.gradient_rate):
        return words.MISSING, f"no rate fitted (status {d.gradient.status})"
    text = words.rate(d.gradient_rate, *tuple(d.gradient_interval or (None, None))[:2])
    rate, _, interval = text.partition(" ")
    return rate, interval or "interval " + words.MISSING


def key_numbers(d: Diagnosis) -> list:
    p1, pse = _lambda1(d.lambda_physical)
    n1, nse = _lambda1(d.lambda_numerical)
    out = [
        ("λ₁ physical", words.plus_minus(p1, pse, 4), f"reference, {d.lambda_physical.dtype}"),
        ("λ₁ numerical", words.plus_minus(n1, nse, 4), f"your step, {d.lambda_numerical.dtype}"),
        ("gradient rate γ", *_rate_and_interval(d)),
    ]
    kind = horizon_kind(d)
    if kind == "overflow":
        out.append((f"{d.dtype} overflow", f"T ≈ {fmt(d.overflow_horizon, 3)}", "at the measured rate"))
    elif kind == "non-finite":
        out.append(("gradient non-finite", f"from T ≈ {fmt(d.overflow_horizon, 3)}", "observed, no rate measured"))
    elif d.underflow_horizon is not None and is_finite(d.underflow_horizon):
        out.append((f"{d.dtype} underflow", f"T ≈ {fmt(d.underflow_horizon, 3)}", "at the measured rate"))
    elif d.truncation_horizon is not None:
        out.append(("truncation window", fmt(d.truncation_horizon, 3), "ln 2 / λ₁"))
    sh = getattr(d, "shadowing", None)
    if sh is not None and sh.derivative.size:
        se = float(sh.standard_error[0])
        out.append(
            (
                f"d⟨J⟩/d{sh.parameters[0]}",
                fmt(float(sh.derivative[0]), 4) + (f" ± {fmt(2 * se, 2)}" if is_finite(se) else ""),
                f"shadowing ({sh.method}), the usable derivative",
            )
        )
    return out


# ---------------------------------------------------------------------------- build


def build(study, *, dpi: int = 150, scale: float = 1.0, figures: bool = True) -> Document:
    """Assemble the report content of a study (figures drawn with matplotlib, Agg)."""
    d = study.diagnosis
    verdict_text, tone = headline(d)
    figs = []
    warnings = []
    from chaosgrad.report import _figures, _plot  # matplotlib itself is imported only when drawing

    omitted = []
    for fid, title, draw in _figures.STANDARD:
        caption = _captions.CAPTIONS[fid](d)
        if _figures.nothing_to_draw(fid, d):  # a panel with nothing in it is left out, and said
            omitted.append((title, caption))
            continue
        figs.append(
            _figure(fid, title, caption, draw, d, dpi, scale, warnings) if figures else FigureItem(fid, title, caption)
        )
    sections = []
    for s_i, sec in enumerate(study.sections or ()):
        sfigs = []
        for f_i, spec in enumerate(sec.figures or ()):
            fid = f"s{s_i + 1}-f{f_i + 1}"
            sfigs.append(
                _figure(fid, spec.title, spec.caption, _plot.draw_generic, spec, dpi, scale, warnings)
                if figures
                else FigureItem(fid, spec.title, spec.caption)
            )
        sections.append(SectionItem(sec.title, paragraphs(sec.text), sfigs, [_table(t) for t in sec.tables or ()]))
    repro, command, configuration = repro_block(study, d)
    doc = Document(
        title=study.title or study.system,
        system=study.system,
        mode=study.mode,
        status=d.status,
        rendered=_dt.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z"),
        verdict=d.verdict,
        verdict_label=verdict_label(d.verdict),
        verdict_text=verdict_text,
        tone=tone,
        physics=d.physics,
        physics_text=physics_words(d.physics),
        causes=[(c, cause_words(c, d.cause_words)) for c in (d.causes or ())],
        explanation=paragraphs(d.explanation),
        reasons=[str(r) for r in (d.reasons or ())],
        to_decide=[str(t) for t in (d.to_decide or ())],
        no_cause_text="none confirmed: the numerics are sound"
        if d.verdict in ("stable", "intrinsic-explosion", "intrinsic-vanishing")
        and not words.disjoint(d.gradient_interval, d.expected_interval)
        else "none confirmed",
        summary=[p for p in paragraphs(study.summary) if p not in paragraphs(d.explanation)],
        key_numbers=key_numbers(d),
        rates=rates_table(d),
        figures=figs,
        ablation_table=ablation_table(d),
        sections=sections,
        findings=[str(f) for f in (study.findings or ())],
        recommendations=recommendations_table(d),
        notes=[str(n) for n in (d.notes or ())],
        extra_table=extra_table(study.extra or {}, [t for sec in sections for t in sec.tables]),
        repro=repro + [("Python", platform.python_version()), ("numpy", np.__version__)],
        command=command,
        configuration=configuration,
        warnings=warnings,
        what_to_do=what_to_do(d),
        omitted=omitted,
    )
    return _in_one_notation(doc)


def what_to_do(d: Diagnosis, limit: int = 3) -> list:
    """The diagnosis's advice in a few plain sentences for the top of the report: the
    first sentence of each recommendation, or what would decide an open verdict."""
    out = [first_sentence(paragraphs(r.text)[0]) for r in tuple(d.recommendations or ()) if paragraphs(r.text)]
    if not out:
        out = [str(t) for t in (d.to_decide or ())]
    return list(dict.fromkeys(out))[:limit]


_VERBATIM = {"command", "configuration", "repro", "png", "id", "system", "mode", "status", "verdict", "physics"}


def _in_one_notation(value):
    """``value`` with every piece of prose in the report's one notation (``notation``):
    the analyses write ``lambda_1`` and ``intrinsic-explosion``, the report ``λ₁`` and
    ``intrinsic explosion``. Commands and the configuration stay as they were."""
    if isinstance(value, str):
        return notation(value)
    if isinstance(value, list):
        return [_in_one_notation(v) for v in value]
    if isinstance(value, tuple):
        return tuple(_in_one_notation(v) for v in value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.replace(
            value,
            **{
                f.name: _in_one_notation(getattr(value, f.name))
                for f in dataclasses.fields(value)
                if f.name not in _VERBATIM
            },
        )
    return value


def _figure(fid, title, caption, draw, data, dpi, scale, warnings) -> FigureItem:
    from chaosgrad.report._plot import BASE_SIZE, render_png

    try:
        png = render_png(draw, dpi, data, width=BASE_SIZE[0] * scale)
    except Exception as exc:  # one bad figure must not take the whole report with it
        interrupts.raise_if_interrupted()  # ...but an interrupt ends the whole command
        msg = f"figure could not be drawn ({type(exc).__name__}: {exc})"
        warnings.append(f"{title}: {msg}")
        return FigureItem(fid, title, caption, None, msg)
    return FigureItem(fid, title, caption, png)
