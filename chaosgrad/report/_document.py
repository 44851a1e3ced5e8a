"""The content of a report, independent of its format.

:func:`build` turns a :class:`chaosgrad.Study` into a :class:`Document`: the headline,
the table of rates, the figures (as PNG bytes), the study's sections, findings,
recommendations and the reproducibility block. The HTML and the matplotlib PDF are two
renderings of this one object, so they carry the same content.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import platform
from dataclasses import dataclass, field
from importlib import metadata

import numpy as np

from chaosgrad._diagnosis import words as words
from chaosgrad._diagnosis.types import Diagnosis
from chaosgrad._runtime import interrupts as interrupts
from chaosgrad.report import _captions
from chaosgrad.report._numbers import fmt, fmt_value, is_finite, plain, pretty_json
from chaosgrad.report._tables import (  # noqa: F401 (extra_table and _table: part of the document's parts)
    TableItem,
    _lambda1,
    _table,
    ablation_table,
    extra_table,
    rates_table,
    recommendations_table,
)
from chaosgrad.report._text import (
    cause_words,
    first_sentence,
    headline,
    horizon_kind,
    notation,
    paragraphs,
    physics_words,
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
    warnings: list[str] = []
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
