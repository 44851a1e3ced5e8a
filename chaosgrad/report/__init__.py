"""Reports: HTML and PDF from serialised results alone.

A report is rendered from a :class:`chaosgrad.Study` (or a bare
:class:`chaosgrad.Diagnosis`), typically loaded from the ``results.json`` an analysis
wrote, so it can be rebuilt at any time without recomputing::

    from chaosgrad import report
    out = report.render(report.load("reports/lorenz63/results.json"), "reports/lorenz63")
    report.write_index("reports")

The HTML is one self-contained file (inline CSS, figures as base64 PNG, no network
fetches). The PDF is that HTML printed by headless Chromium, so both carry the same
content; without Chromium it is laid out with matplotlib instead, and says so. Every file
is written atomically (temporary file in the same folder, then ``os.replace``).

matplotlib is imported only while figures are drawn (Agg canvas, never pyplot), so
importing chaosgrad or this package does not import it.

Its parts: ``_document`` (the content of a report, whatever its format), ``_tables``,
``_text`` (words) and ``_numbers`` (number formatting); the figures: ``_figures`` (the
standard ones, in order), drawn by ``_gradient_figures``, ``_lyapunov_figures``,
``_ablation_figure`` and ``_law_figure``, with their ``_captions``, on ``_plot``
(matplotlib plumbing, palette and a study's own figures); the formats: ``_html``,
``_pdf`` (printed by Chromium, started early by ``_chromium``) and ``_matplotlib_pdf``
(the PDF without Chromium); and ``_index`` (the folder's index page), ``_atomic`` (files
written whole or not at all) and ``_provenance`` (how the numbers were made).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from chaosgrad._diagnosis.types import Diagnosis
from chaosgrad._errors import bad_argument
from chaosgrad._results.serialize import read_result
from chaosgrad._results.study import Study
from chaosgrad.report._atomic import Staging, write_atomic
from chaosgrad.report._index import write_index
from chaosgrad.report._pdf import PdfError, find_chromium

FORMATS = ("html", "pdf", "json")
PDF_ENGINES = ("auto", "chromium", "matplotlib")

__all__ = [
    "FORMATS",
    "PdfError",
    "RenderResult",
    "as_study",
    "find_chromium",
    "load",
    "parse_formats",
    "render",
    "render_html",
    "write_atomic",
    "write_index",
]


@dataclass(frozen=True)
class RenderResult:
    """What :func:`render` wrote: ``files`` maps each format to its path."""

    files: dict
    pdf_engine: str | None = None
    warnings: tuple = field(default=())


def parse_formats(formats) -> tuple[str, ...]:
    """``"html,pdf"`` or ``["html", "pdf"]`` -> ``("html", "pdf")``, checked."""
    if isinstance(formats, str):
        items = [f.strip().lower() for f in formats.split(",")]
    else:
        try:
            items = [str(f).strip().lower() for f in formats]
        except TypeError:
            raise bad_argument(
                "formats",
                f"{formats!r} is not a list of formats",
                f"pass a comma-separated subset of {','.join(FORMATS)}",
            ) from None
    items = [f for f in items if f]
    unknown = [f for f in items if f not in FORMATS]
    if unknown or not items:
        problem = f"unknown format(s) {', '.join(map(repr, unknown))}" if unknown else "no format given"
        raise bad_argument("formats", problem, f"pass a comma-separated subset of {','.join(FORMATS)}, e.g. html,pdf")
    return tuple(dict.fromkeys(items))


def as_study(result) -> Study:
    """A :class:`Study` to render: a Study as is, a Diagnosis wrapped with no extra sections."""
    if isinstance(result, Study):
        return result
    if isinstance(result, Diagnosis):
        return Study(
            system=result.name,
            title=result.name,
            summary="",
            diagnosis=result,
            sections=(),
            findings=(),
            mode=str((result.config or {}).get("mode", "custom")),
            config={},
            extra={},
        )
    raise bad_argument(
        "result",
        f"is a {type(result).__name__}; reports are made from a Study or a Diagnosis",
        "pass the Study returned by a bundled analysis or the Diagnosis returned by chaosgrad.diagnose",
    )


def load(path) -> Study:
    """Read a ``results.json`` (a Study or a Diagnosis) for rendering.

    Raises ``FileNotFoundError``/``OSError`` when the file cannot be read and
    :class:`chaosgrad.ChaosgradInputError` when it is not a chaosgrad results file (every
    field is checked against the schema before anything renders; see
    :func:`chaosgrad.load_result`).
    """
    return load_with_version(path)[0]


def load_with_version(path) -> tuple[Study, str | None]:
    """:func:`load` and the chaosgrad version that wrote the file (``None`` if unrecorded)."""
    result, version = read_result(Path(path), "results")
    return as_study(result), version


def render_html(result, *, dpi: int = 150, scale: float = 1.0) -> str:
    """The report of a Study or Diagnosis as one self-contained HTML string."""
    from chaosgrad.report import _document, _html

    return _html.render(_document.build(as_study(result), dpi=dpi, scale=scale))


def render(
    result,
    out_dir,
    formats=FORMATS,
    *,
    dpi: int = 150,
    scale: float = 1.0,
    pdf_engine: str = "auto",
    basename: str = "report",
) -> RenderResult:
    """Write ``report.html``, ``report.pdf`` and/or ``results.json`` into ``out_dir``.

    Args:
        result: a :class:`Study` or :class:`Diagnosis` (e.g. from :func:`load`).
        out_dir: folder to write into (created if missing).
        formats: subset of ``("html", "pdf", "json")``, or a comma-separated string.
        dpi: resolution of the figures (PNG).
        scale: width of the figures relative to the default 6.4 inches.
        pdf_engine: ``"auto"`` (Chromium if found, else matplotlib), ``"chromium"`` (fail
            without it) or ``"matplotlib"``.
        basename: file name stem of the report files.

    Every file is staged in ``out_dir`` and moved into place only when all of them have
    been rendered, so a failure leaves no new or half-written file behind.
    """
    from chaosgrad.report import _document, _html, _pdf

    fmts = parse_formats(formats)
    if pdf_engine not in PDF_ENGINES:
        raise bad_argument(
            "pdf_engine", f"{pdf_engine!r} is not one of {PDF_ENGINES}", "pass 'auto', 'chromium' or 'matplotlib'"
        )
    study = as_study(result)
    html_name, pdf_name = f"{basename}.html", f"{basename}.pdf"
    chromium = _pdf.find_chromium() if "pdf" in fmts and pdf_engine != "matplotlib" else None
    if "pdf" in fmts and pdf_engine == "chromium" and chromium is None:  # before any work
        raise PdfError("no Chromium found: install chromium or set CHAOSGRAD_CHROMIUM to its path")
    need_doc = "html" in fmts or "pdf" in fmts
    # Chromium starts before the figures are drawn, so that its start-up (most of its
    # time) runs beside matplotlib rather than after it (report._chromium).
    printer = _pdf.start_printer(chromium) if chromium is not None else None
    try:
        doc = _document.build(study, dpi=dpi, scale=scale) if need_doc else None
        warnings = list(doc.warnings) if doc else []
        engine = None
        with Staging(out_dir) as st:
            if doc is not None:  # built when need_doc
                html_tmp = st.write(html_name, _html.render(doc))
            if "pdf" in fmts:
                engine = _pdf.write_pdf(doc, html_tmp, st.path(pdf_name), chromium, printer, pdf_engine, warnings)
            if "html" not in fmts and need_doc:
                st.discard(html_name)
            if "json" in fmts:
                st.write("results.json", study.to_json() if isinstance(result, Study) else result.to_json())
            written = st.commit()
    finally:
        if printer is not None:
            printer.close()
    files = {}
    for fmt_name, name in (("html", html_name), ("pdf", pdf_name), ("json", "results.json")):
        if fmt_name in fmts:
            files[fmt_name] = written[name]
    return RenderResult(files=files, pdf_engine=engine, warnings=tuple(warnings))
