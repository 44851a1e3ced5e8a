"""Reports as a reader sees them: the HTML opened in headless Chromium, the PDF rendered
to pixels and text with poppler, and the pieces (figures, captions, tables) checked
against the numbers of the synthetic results they were drawn from."""

from __future__ import annotations

import base64
import dataclasses
import io
import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
import time
from html.parser import HTMLParser
from pathlib import Path

import _synthetic as syn
import numpy as np
import pytest
from _browser import Browser

from chaosgrad import ChaosgradInputError, report
from chaosgrad.report import (
    _ablation_figure,
    _document,
    _figures,
    _gradient_figures,
    _html,
    _lyapunov_figures,
    _matplotlib_pdf,
    _pdf,
    _plot,
)
from chaosgrad.report._numbers import fmt, spectrum_text
from chaosgrad.report._text import headline, notation

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
POPPLER = all(shutil.which(t) for t in ("pdftoppm", "pdftotext", "pdfimages"))
needs_chromium = pytest.mark.skipif(
    CHROMIUM is None, reason="headless Chromium is not installed (apt-get install chromium)"
)
needs_poppler = pytest.mark.skipif(not POPPLER, reason="poppler-utils is not installed (apt-get install poppler-utils)")

DPI = 60  # small figures keep the suite fast; the layout does not depend on the resolution
N_STANDARD = len(_figures.STANDARD)
STUDIES = {"lorenz": syn.lorenz_study, "float16": syn.float16_study, "degenerate": syn.degenerate_study}
SCRATCH = Path(__file__).resolve().parent.parent / "reports" / "_scratch"


def _squash(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


# ------------------------------------------------------------------ rendered reports


@pytest.fixture(scope="module")
def out(tmp_path_factory):
    """The three synthetic studies rendered once for the whole module."""
    root = tmp_path_factory.mktemp("reports")
    engine = "auto" if CHROMIUM else "matplotlib"
    results = {
        "lorenz": report.render(STUDIES["lorenz"](), root / "lorenz63", dpi=DPI, pdf_engine=engine),
        "float16": report.render(STUDIES["float16"](), root / "lorenz63-float16", dpi=DPI, pdf_engine=engine),
        "degenerate": report.render(STUDIES["degenerate"](), root / "degenerate", dpi=DPI, pdf_engine="matplotlib"),
    }
    return root, results


class _Scan(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))


def _tags(html_text):
    p = _Scan()
    p.feed(html_text)
    return p.tags


def test_import_does_not_load_matplotlib():
    code = "import sys, chaosgrad, chaosgrad.report; print('matplotlib' in sys.modules)"
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert res.stdout.strip() == "False"


def test_html_is_self_contained(out):
    root, results = out
    text = results["lorenz"].files["html"].read_text(encoding="utf-8")
    tags = _tags(text)
    imgs = [a for t, a in tags if t == "img"]
    # 6 standard figures + 4 figures in the sweep section of the synthetic study.
    assert len(imgs) == N_STANDARD + 4
    for a in imgs:
        assert a["src"].startswith("data:image/png;base64,")
        png = base64.b64decode(a["src"].split(",", 1)[1])
        assert png[:8] == b"\x89PNG\r\n\x1a\n"
    assert not [t for t, _ in tags if t in ("script", "link", "iframe", "object", "embed")]
    for t, a in tags:
        for key in ("src", "href"):
            v = a.get(key)
            if v is not None:
                assert v.startswith(("#", "data:")), f"<{t} {key}={v[:60]!r}> points outside the file"
    assert "@media print" in text and "@page" in text


def test_report_has_every_part(out):
    _, results = out
    text = _squash(results["lorenz"].files["html"].read_text(encoding="utf-8"))
    text = (
        re.sub(r'<span class="nw[^"]*">', "", text).replace("</span>", "").replace("\u00a0", " ")
    )  # unbreakable pieces
    d = syn.lorenz_diagnosis()
    # headline: plain-words verdict, physics class, explanation with its numbers
    assert "The gradient explodes because the dynamics are chaotic" in text
    assert "chaotic (λ₁ &gt; 0" in text  # one notation: the analyses' lambda_1 is written λ₁
    assert _squash(notation(d.explanation)).replace("'", "&#x27;") in text
    assert "lambda_1" not in text.split('id="configuration"')[0] and "intrinsic-explosion" not in text
    # rates table: each quantity with its value
    for quantity, value in (
        ("λ_physical (λ₁)", f"+0.9056 ± {fmt(d.lambda_physical.uncertainty[0], 2)}"),
        ("gradient rate γ", "+0.890 [+0.850, +0.930]"),
        ("expected rate (physics)", "+0.9056 [+0.8966, +0.9146]"),  # one formatter: common decimals
        ("overflow horizon (float64)", "T ≈ 798"),
        ("truncation horizon", "0.765"),
    ):
        assert re.search(re.escape(quantity) + r"</td><td[^>]*>" + re.escape(value), text), quantity
    # the study's section, its table, findings, recommendations, reproducibility
    for piece in (
        "Sweep over rho",
        "Sweep points",
        "24.74",
        "Findings",
        "contains λ₁ = 0.906",
        "Truncate backpropagation",
        "0.765 time units",
        "Reproducibility",
        "cpu (2 cores)",
        "chaosgrad analyze lorenz63 --fast",
        "Other configurations",
        "float16",
    ):
        assert piece in text, piece


def test_missing_pieces_are_said_not_dropped(out):
    _, results = out
    f16 = _squash(results["float16"].files["html"].read_text(encoding="utf-8"))
    assert "RESOURCE_EXHAUSTED: out of memory" in f16  # the failed ablation's error
    assert "float16 overflow" in f16 and "T ≈ 12.2" in f16
    n_bad = int((~syn.float16_diagnosis().gradient.finite).sum())
    assert f"({n_bad} of 96 evaluations" in f16  # non-finite horizons counted in the caption
    assert "became non-finite in interval 38" in f16  # the float16 spectrum's failure
    deg = _squash(results["degenerate"].files["html"].read_text(encoding="utf-8"))
    assert "No explanation was recorded" in deg
    assert "too few horizons were finite to fit γ" in deg
    assert "not recorded (installed at render time" in deg  # versions filled at render time
    # a figure with nothing to draw is left out, and the report says which and why
    empty = [fid for fid, _, _ in _figures.STANDARD if _figures.nothing_to_draw(fid, syn.degenerate_diagnosis())]
    assert "ablations" in empty and deg.count("<img ") == N_STANDARD - len(empty)
    assert "<b>Ablations: the rate before and after each fix</b>: not drawn. No ablations were run" in deg


# ------------------------------------------------------------------ the figures themselves


def _lines(fig):
    return {ln.get_label(): ln for ax in fig.axes for ln in ax.get_lines()}


def test_gradient_figure_reference_slopes_and_nonfinite_marks():
    d = syn.float16_diagnosis()
    fig = _gradient_figures.gradient_growth(d)
    lines = _lines(fig)
    for key, slope in (("λ_physical", d.expected_rate), ("λ_numerical", d.expected_numerical_rate)):
        (ln,) = [v for k, v in lines.items() if key in k]
        x, y = ln.get_xdata(), ln.get_ydata()
        # two points of a straight line: the slope is exact up to float round-off
        assert (y[-1] - y[0]) / (x[-1] - x[0]) == pytest.approx(slope, rel=1e-12)
    (marks,) = [v for k, v in lines.items() if k.startswith("non-finite gradient")]
    bad = ~d.gradient.finite.all(axis=0)
    np.testing.assert_array_equal(marks.get_xdata(), d.gradient.horizons[bad])
    (over,) = [v for k, v in lines.items() if "overflow at T" in k]
    assert over.get_xdata()[0] == pytest.approx(d.overflow_horizon)


def test_spectrum_and_ablation_figures_show_the_data():
    d = syn.lorenz_diagnosis()
    fig = _lyapunov_figures.spectrum(d)
    from matplotlib.container import BarContainer

    bars = [c for c in fig.axes[0].containers if isinstance(c, BarContainer)][0]  # physical, full panel
    np.testing.assert_allclose([b.get_height() for b in bars], d.lambda_physical.exponents, rtol=0, atol=0)
    (lit,) = [ln for ln in fig.axes[0].get_lines() if ln.get_label() == "literature"]
    np.testing.assert_allclose(lit.get_ydata(), d.literature["exponents"])
    assert len(fig.axes) == 2  # lambda_3 = -14.6 hides lambda_1 = 0.9: a zoom panel is added
    fig = _ablation_figure.ablations(syn.float16_diagnosis())
    texts = " ".join(t.get_text() for t in fig.axes[0].texts)
    assert "failed" in texts and "RESOURCE_EXHAUSTED" in texts and "confirmed" in texts


def test_generic_figure_styles():
    sec = syn.sweep_section()
    lam_fig, norm_fig, bar_fig, hist_fig = sec.figures
    fig = _plot.draw_generic(bar_fig)
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["stable", "intrinsic-explosion", "diverged"]
    heights = [b.get_height() for c in ax.containers for b in c]
    assert heights == [3.0, 5.0, 0.0, 3.0, 4.0, 1.0]
    assert _plot.draw_generic(norm_fig).axes[0].get_yscale() == "log"
    fig = _plot.draw_generic(lam_fig)
    (zero,) = [ln for ln in fig.axes[0].get_lines() if ln.get_label() == "zero"]
    assert list(zero.get_ydata()) == [0.0, 0.0]
    assert len(fig.axes[0].collections) == 1  # the band of lambda_1 between lower and upper
    fig = _plot.draw_generic(hist_fig)
    assert sum(p.get_height() for p in fig.axes[0].patches) == 400  # every sample counted


def test_long_lines_are_thinned_to_what_a_figure_shows_and_keep_their_spikes():
    y = np.sin(np.linspace(0, 30, 20000))
    y[12345], y[777] = 9.0, -9.0
    y[5000:5100] = np.nan
    idx = _plot.thin_index(y)
    assert idx.size <= _plot.MAX_LINE_POINTS + 2 and np.all(np.diff(idx) > 0)
    assert {0, 19999, 12345, 777} <= set(idx.tolist())
    assert np.array_equal(_plot.thin_index(y[:900]), np.arange(900))
    # the history of 20 000 intervals draws a line of at most that many points
    hist = syn.make_lyapunov([0.9, 0.0, -14.5], n_intervals=20000)
    d = dataclasses.replace(syn.lorenz_diagnosis(), lambda_physical=hist)
    fig = _lyapunov_figures.convergence(d)
    assert max(np.size(line.get_xdata()) for ax in fig.axes for line in ax.get_lines()) <= _plot.MAX_LINE_POINTS + 2


def test_text_formatting_of_missing_and_tiny_values():
    assert fmt(None) == "—" and fmt(float("nan")) == "NaN" and fmt(float("inf")) == "+inf"
    assert fmt(-float("inf")) == "-inf" and fmt(65504.0) == "65504" and fmt(0.9056, 3, signed=True) == "+0.906"
    assert fmt(1.7976931348623157e308) == "1.80e308" and fmt(6.103515625e-05) == "6.10e-5"
    assert spectrum_text([0.9056, 1e-17, -14.5723]) == "(+0.906, +0.000, -14.572)"


# ------------------------------------------------------------------ round trip, atomicity


def _strip_time(text):
    return re.sub(r"rendered \d{4}-\d\d-\d\d \d\d:\d\d[^<;]*", "rendered T", text)


def test_report_renders_from_json_alone(out, tmp_path):
    root, results = out
    path = results["lorenz"].files["json"]
    loaded = report.load(path)
    a = results["lorenz"].files["html"].read_text(encoding="utf-8")  # rendered from the study in memory
    b = report.render_html(loaded, dpi=DPI)
    assert _strip_time(a) == _strip_time(b)  # identical, figures included
    # a bare Diagnosis file renders too (wrapped in a study with no sections)
    p = tmp_path / "diagnosis.json"
    p.write_text(syn.float16_diagnosis().to_json())
    study = report.load(p)
    assert study.diagnosis.verdict == "numerical-explosion" and study.sections == ()


def test_load_rejects_what_is_not_a_results_file(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(ChaosgradInputError, match="not valid JSON"):
        report.load(bad)
    bad.write_text(json.dumps({"schema": 99, "result": {}}))
    with pytest.raises(ChaosgradInputError, match="schema 99"):
        report.load(bad)
    bad.write_text(syn.make_lyapunov([0.5, -1.0], spread=(0.5, 0.5)).to_json())
    with pytest.raises(ChaosgradInputError, match="LyapunovResult"):
        report.load(bad)
    with pytest.raises(FileNotFoundError):
        report.load(tmp_path / "missing.json")
    with pytest.raises(ChaosgradInputError, match="docx"):
        report.parse_formats("html,docx")
    assert report.parse_formats(" PDF, html ,pdf") == ("pdf", "html")


def test_failed_render_leaves_nothing(tmp_path, monkeypatch):
    def broken(doc, path, reason):
        Path(path).write_bytes(b"%PDF-1.4 half a page")
        raise RuntimeError("disk full in the middle of the PDF")

    monkeypatch.setattr(_matplotlib_pdf, "matplotlib_pdf", broken)
    build = _document.build  # figures are not what this test is about: skip drawing them
    monkeypatch.setattr(_document, "build", lambda study, **kw: build(study, figures=False))
    target = tmp_path / "new" / "lorenz63"
    with pytest.raises(RuntimeError, match="disk full"):
        report.render(syn.lorenz_study(), target, dpi=DPI, pdf_engine="matplotlib")
    assert not (tmp_path / "new").exists()  # the folders it created are gone too
    # An existing report is kept untouched when its re-render fails.
    old = tmp_path / "old"
    old.mkdir()
    (old / "report.html").write_text("previous report")
    with pytest.raises(RuntimeError):
        report.render(syn.lorenz_study(), old, dpi=DPI, pdf_engine="matplotlib")
    assert sorted(p.name for p in old.iterdir()) == ["report.html"]
    assert (old / "report.html").read_text() == "previous report"


def test_written_files_are_complete_and_readable(out):
    _, results = out
    for r in results.values():
        mode = r.files["html"].stat().st_mode & 0o777
        assert mode & 0o044, "reports must be readable by others, not 0600 temporaries"
        assert r.files["html"].read_text(encoding="utf-8").rstrip().endswith("</html>")
        assert r.files["pdf"].read_bytes()[:5] == b"%PDF-"
        assert not [p for p in r.files["html"].parent.iterdir() if p.name.startswith(".")]


def test_index_lists_every_report(out, tmp_path):
    root, _ = out
    broken = root / "zz-broken"
    broken.mkdir(exist_ok=True)
    (broken / "results.json").write_text("{")
    try:
        index = report.write_index(root)
        text = index.read_text(encoding="utf-8")
        for href in re.findall(r'href="([^"#]+)"', text):
            assert (root / href).is_file(), href
    finally:
        shutil.rmtree(broken)
    rows = re.findall(r"<tr[^>]*>(.*?)</tr>", text, flags=re.S)[1:]
    assert len(rows) == 4
    assert "inconclusive" in rows[0] and 'href="degenerate/report.html"' in rows[0]
    assert "intrinsic explosion" in rows[1] and 'href="lorenz63/report.html"' in rows[1]
    assert "numerical explosion" in rows[2] and 'href="lorenz63-float16/report.pdf"' in rows[2]
    assert "cannot read results.json" in rows[3]


# ------------------------------------------------------------------ PDF, as pixels and text


def _pdf_text(path, page=None):
    args = ["pdftotext", "-layout"] + (["-f", str(page), "-l", str(page)] if page else []) + [str(path), "-"]
    return subprocess.run(args, capture_output=True, text=True, check=True).stdout


def _pdf_images(path):
    res = subprocess.run(["pdfimages", "-list", str(path)], capture_output=True, text=True, check=True)
    rows = [ln.split() for ln in res.stdout.splitlines()[2:] if ln.strip()]
    return [(int(r[0]), int(r[3]), int(r[4])) for r in rows if r[2] == "image"]  # page, width, height


def _pages(path, tmp_path, dpi=40):
    from PIL import Image

    prefix = tmp_path / f"{Path(path).parent.name}-page"
    subprocess.run(["pdftoppm", "-r", str(dpi), "-png", str(path), str(prefix)], check=True)
    return [np.asarray(Image.open(p).convert("RGB")) for p in sorted(tmp_path.glob(prefix.name + "-*.png"))]


def _colourful(page):
    """Fraction of tinted pixels: plot lines, bands and bars (text is black or grey)."""
    rgb = page.astype(int)
    return float(np.mean(rgb.max(axis=2) - rgb.min(axis=2) > 12))


def _html_pngs(html_path):
    """The figures embedded in a report's HTML, as RGB arrays, in page order."""
    from PIL import Image

    text = Path(html_path).read_text(encoding="utf-8")
    return [
        np.asarray(Image.open(io.BytesIO(base64.b64decode(b))).convert("RGB"))
        for b in re.findall(r'src="data:image/png;base64,([^"]+)"', text)
    ]


def _check_pdf(path, tmp_path, want, verdict):
    """The PDF holds the verdict as text, each figure pixel for pixel, and no blank page."""
    from PIL import Image

    text = _squash(_pdf_text(path))
    assert _squash(verdict) in text
    out = tmp_path / f"{Path(path).parent.name}-img"
    out.mkdir()
    subprocess.run(["pdfimages", "-png", str(path), str(out / "i")], check=True)
    found = [np.asarray(Image.open(p).convert("RGB")) for p in sorted(out.glob("i-*.png"))]
    assert len(found) == len(want)
    for i, (a, b) in enumerate(zip(found, want)):
        # Chromium stores images top-down, matplotlib bottom-up; the pixels are the same.
        assert np.array_equal(a, b) or np.array_equal(a[::-1], b), f"figure {i + 1} differs in the PDF"
    pages = _pages(path, tmp_path)
    assert len(pages) >= 2
    for i, page in enumerate(pages):
        assert np.mean(page < 250) > 0.002, f"page {i + 1} is blank"
    for p, _, _ in _pdf_images(path):
        # The threshold is 5x the tinted fraction of a page of plain text (0.1 %).
        assert _colourful(pages[p - 1]) > 0.005, f"page {p} holds a figure but shows no plot"
    return text


@needs_poppler
@needs_chromium
def test_chromium_pdf_matches_the_html(out, tmp_path):
    _, results = out
    r = results["lorenz"]
    assert r.pdf_engine == "chromium"
    # the PDF's figures are the HTML's figures, pixel for pixel
    want = _html_pngs(r.files["html"])
    assert len(want) == N_STANDARD + 4
    text = _check_pdf(r.files["pdf"], tmp_path, want, "The gradient explodes because the dynamics are chaotic")
    doc = _document.build(syn.lorenz_study(), figures=False)
    for f in doc.figures + [f for s in doc.sections for f in s.figures]:
        assert f.title in text, f.title  # every figure, with its title
    for row in doc.rates.rows:
        assert row[0] in text


@needs_poppler
def test_matplotlib_pdf_fallback(out, tmp_path):
    _, results = out
    r = results["degenerate"]
    assert r.pdf_engine == "matplotlib"
    text = _check_pdf(r.files["pdf"], tmp_path, _html_pngs(r.files["html"]), "The evidence does not decide")
    assert "To decide: shorter horizons" in text
    assert "PDF drawn with matplotlib" in text
    assert "Reproducibility" in text and "Rates" in text


@needs_poppler
def test_matplotlib_pdf_when_chromium_is_absent(out, tmp_path, monkeypatch):
    monkeypatch.setenv("CHAOSGRAD_CHROMIUM", "none")
    r = report.render(syn.float16_study(), tmp_path / "f16", ("pdf",), dpi=DPI)
    assert r.pdf_engine == "matplotlib"
    assert any("no Chromium was found" in w for w in r.warnings)
    assert sorted(p.name for p in (tmp_path / "f16").iterdir()) == ["report.pdf"]
    same_figures = _html_pngs(out[1]["float16"].files["html"])  # drawing is deterministic
    text = _check_pdf(r.files["pdf"], tmp_path, same_figures, "The gradient explodes because of the numerics")
    assert "Chromium was not found" in text and "RESOURCE_EXHAUSTED" in text
    with pytest.raises(report.PdfError, match="no Chromium found"):
        report.render(syn.float16_study(), tmp_path / "x", ("pdf",), dpi=DPI, pdf_engine="chromium")
    assert not (tmp_path / "x").exists()


# ------------------------------------------------------------------ the HTML in a browser


@pytest.fixture(scope="module")
def browser():
    if CHROMIUM is None:
        pytest.skip("headless Chromium is not installed (apt-get install chromium)")
    b = Browser(CHROMIUM)
    yield b
    b.close()


IMAGES_JS = (
    "[...document.images].map(i => [i.complete, i.naturalWidth, i.naturalHeight, i.getBoundingClientRect().width])"
)
VERDICT_JS = """(() => { const e = document.getElementById('verdict-text'); const r = e.getBoundingClientRect();
  const s = getComputedStyle(e); return [e.innerText, r.top, r.height, s.visibility, s.display, innerHeight]; })()"""


@pytest.mark.parametrize("name", ["lorenz", "float16", "degenerate"])
def test_html_in_the_browser(out, browser, name, tmp_path):
    _, results = out
    path = results[name].files["html"]
    browser.open(path.resolve().as_uri())
    images = browser.eval(IMAGES_JS)
    d = STUDIES[name]().diagnosis
    n_expected = (
        N_STANDARD
        + (4 if name == "lorenz" else 0)
        - sum(_figures.nothing_to_draw(f, d) for f, _, _ in _figures.STANDARD)
    )
    assert len(images) == n_expected
    for complete, nw, nh, shown in images:
        assert complete and nw > 0 and nh > 0 and shown > 200  # loaded, and laid out at a readable width
    urls = browser.requests()
    assert urls and all(u.startswith(("file:", "data:")) for u in urls), [
        u for u in urls if not u.startswith(("file:", "data:"))
    ]
    assert browser.errors() == []
    words, top, height, visibility, display, view_h = browser.eval(VERDICT_JS)
    assert _squash(words) == _squash(headline(STUDIES[name]().diagnosis)[0])
    assert 0 <= top and top + height <= view_h and visibility == "visible" and display != "none"  # above the fold
    shot = (SCRATCH if SCRATCH.parent.is_dir() else tmp_path) / f"report-{name}.png"
    shot.parent.mkdir(exist_ok=True)
    browser.screenshot(shot)
    from PIL import Image

    img = np.asarray(Image.open(shot).convert("RGB"))
    assert img.shape[1] == 1280 and img.shape[0] > 2000
    assert _colourful(img) > 0.01  # the figures and the verdict banner are painted


def test_html_on_a_narrow_screen_and_in_print(out, browser):
    _, results = out
    url = results["lorenz"].files["html"].resolve().as_uri()
    browser.open(url, width=420, height=800)
    assert browser.eval("document.documentElement.scrollWidth") <= 440  # no sideways scrolling
    widths = [w for _, _, _, w in browser.eval(IMAGES_JS)]
    assert min(widths) > 300  # figures shrink to the screen, one per row
    browser.open(url, media="print")
    assert browser.eval("getComputedStyle(document.querySelector('nav')).display") == "none"
    assert all(c and w > 0 for c, w, _, _ in browser.eval(IMAGES_JS))


def test_index_in_the_browser(out, browser):
    root, _ = out
    index = report.write_index(root)
    browser.open(index.resolve().as_uri())
    rows = browser.eval("[...document.querySelectorAll('tbody tr')].map(r => r.innerText)")
    assert len(rows) == 3
    assert any("intrinsic explosion" in r for r in rows) and any("numerical explosion" in r for r in rows)
    assert browser.errors() == []
    assert all(u.startswith("file:") for u in browser.requests())


def _gutted():
    """A diagnosis with every optional or numeric field missing, NaN or empty."""
    import dataclasses as dc

    d = syn.lorenz_diagnosis()
    nan3 = np.full(3, np.nan)
    num = dc.replace(
        d.lambda_numerical,
        exponents=nan3,
        standard_error=nan3,
        uncertainty=nan3,
        history=np.zeros((0, 3)),
        finite_time_exponents=np.zeros((4, 0, 3)),
        kaplan_yorke=None,
        status="nonfinite",
        first_nonfinite_interval=0,
        nonfinite_quantity=None,
    )
    abl = dc.replace(d.ablations[0], interval_after=None, rate_after=None, evidence={}, status="failed", error=None)
    return dc.replace(
        d,
        lambda_numerical=num,
        ablations=(abl,),
        gradient_interval=(),
        expected_numerical_rate=None,
        literature={"exponents": [0.9056, None, -14.5723]},
        overflow_horizon=float("inf"),
        truncation_horizon=float("nan"),
        explanation="   ",
        notes=("a note",),
        config={"seed": None},
        recommendations=(syn.Recommendation("x", "do y", float("nan"), None),),
    )


def test_missing_and_nonfinite_fields_render():
    d = _gutted()
    doc = _document.build(report.as_study(d), dpi=DPI)
    assert doc.warnings == []  # every figure was drawn
    assert all(f.png for f in doc.figures)
    html = _html.render(doc)
    assert "NaN" in html and "failed: no error message recorded" in html
    assert "The diagnosis decided: the gradient rate" in html  # the report shows diagnose's decision
    assert "source not given" in html  # literature without its source says so


def test_a_figure_that_cannot_be_drawn_is_reported_in_place(monkeypatch):
    def broken(d, width=6.4):
        raise ValueError("bad axis limits")

    standard = list(_figures.STANDARD)
    standard[2] = (standard[2][0], standard[2][1], broken)
    monkeypatch.setattr(_figures, "STANDARD", tuple(standard))
    doc = _document.build(syn.float16_study(), dpi=DPI)
    assert [f.png is None for f in doc.figures] == [False, False, True, False, False, False, False]
    assert doc.figures[2].error == "figure could not be drawn (ValueError: bad axis limits)"
    html = _html.render(doc)
    assert "figure could not be drawn (ValueError: bad axis limits)" in html
    assert html.count('class="warning"') == 1


@pytest.mark.skipif(sys.platform == "win32", reason="process groups are POSIX")
def test_a_chromium_that_hangs_is_killed_with_its_helpers(tmp_path):
    """Chromium's helper processes outlive a killed parent and keep writing to the
    profile folder; a timeout (as an interrupt) kills the whole group, so the folder is
    removed and nothing is left running."""
    fake = tmp_path / "fake-chromium"
    pidfile, profile_file = tmp_path / "helper.pid", tmp_path / "profile"
    fake.write_text(
        textwrap.dedent(f"""\
        #!/bin/sh
        profile=""
        for a in "$@"; do case "$a" in --user-data-dir=*) profile="${{a#--user-data-dir=}}";; esac; done
        echo "$profile" > {profile_file}
        ( while true; do touch "$profile/f-$(date +%s%N)"; sleep 0.01; done ) &
        echo $! > {pidfile}
        sleep 60
    """)
    )
    fake.chmod(0o755)
    html = tmp_path / "r.html"
    html.write_text("<html></html>")
    with pytest.raises(_pdf.PdfError, match="did not finish printing within 1 s"):
        _pdf.print_with_chromium(html, tmp_path / "r.pdf", str(fake), timeout=1.0)
    helper = int(pidfile.read_text())
    time.sleep(0.2)
    assert not _running(helper)
    assert not Path(profile_file.read_text().strip()).exists()


def _fake_chromium(tmp_path, body: str, helper_output: str = "") -> tuple[Path, Path, Path]:
    """A stand-in Chromium that records its profile folder, starts a helper writing into it
    (as Chromium's zygote does; ``helper_output`` redirects the helper's stdout and
    stderr), then runs ``body``; its path, the helper's pid file and the file naming its
    profile."""
    fake = tmp_path / "fake-chromium"
    pidfile, profile_file = tmp_path / "helper.pid", tmp_path / "profile"
    fake.write_text(
        textwrap.dedent(f"""\
        #!/bin/sh
        profile=""
        for a in "$@"; do case "$a" in --user-data-dir=*) profile="${{a#--user-data-dir=}}";; esac; done
        echo "$profile" > {profile_file}
        ( while true; do touch "$profile/f-$(date +%s%N)"; sleep 0.01; done ) {helper_output} &
        echo $! > {pidfile}
    """)
        + body
        + "\n"
    )
    fake.chmod(0o755)
    return fake, pidfile, profile_file


def _left_nothing(pidfile: Path, profile_file: Path) -> None:
    time.sleep(0.2)
    assert not _running(int(pidfile.read_text()))
    assert not Path(profile_file.read_text().strip()).exists()


@pytest.mark.skipif(sys.platform == "win32", reason="process groups are POSIX")
def test_an_early_started_chromium_that_hangs_is_killed_with_its_helpers(tmp_path):
    """The printer started before the figures: a Chromium that never answers on the
    DevTools pipe times out, and closing the printer ends its whole group and profile."""
    fake, pidfile, profile_file = _fake_chromium(tmp_path, "sleep 60")
    html = tmp_path / "r.html"
    html.write_text("<html></html>")
    from chaosgrad.report._chromium import ChromiumPrinter

    with ChromiumPrinter(str(fake)) as printer:
        with pytest.raises(_pdf.PrintTimeout, match="did not finish printing within 1 s"):
            printer.print(html, tmp_path / "r.pdf", timeout=1.0)
    _left_nothing(pidfile, profile_file)
    assert not (tmp_path / "r.pdf").exists()


@pytest.mark.slow
@pytest.mark.skipif(sys.platform == "win32", reason="process groups are POSIX")
def test_a_chromium_that_exits_at_once_falls_back_to_matplotlib(tmp_path, monkeypatch):
    """A browser that exits without printing (here before reading a command) while a
    helper holds the DevTools pipe open fails the early-started printer at once, then the
    one-shot print: the PDF is drawn with matplotlib, with a warning that says why, and
    nothing is left running."""
    fake, pidfile, profile_file = _fake_chromium(tmp_path, "exit 3", helper_output=">/dev/null 2>&1")
    monkeypatch.setenv("CHAOSGRAD_CHROMIUM", str(fake))
    start = time.monotonic()
    r = report.render(syn.float16_study(), tmp_path / "f16", ("pdf",), dpi=DPI)
    assert time.monotonic() - start < 60  # no print timeout (120 s) was waited for
    assert r.pdf_engine == "matplotlib"
    assert any("because Chromium failed" in w and "exited with 3" in w for w in r.warnings), r.warnings
    assert (tmp_path / "f16/report.pdf").read_bytes()[:5] == b"%PDF-"
    _left_nothing(pidfile, profile_file)
    with pytest.raises(report.PdfError, match="exited with 3"):
        report.render(syn.float16_study(), tmp_path / "x", ("pdf",), dpi=DPI, pdf_engine="chromium")


@pytest.mark.slow
@needs_poppler
@needs_chromium
def test_the_early_printer_prints_what_the_one_shot_print_prints(out, tmp_path):
    """The print over the DevTools pipe is the print of ``--print-to-pdf``: the same A4
    pages, the same text, the same figures."""
    from chaosgrad.report._chromium import ChromiumPrinter

    html = out[1]["lorenz"].files["html"]
    with ChromiumPrinter(CHROMIUM) as printer:
        printer.print(html, tmp_path / "pipe.pdf")
    _pdf.print_with_chromium(html, tmp_path / "shot.pdf", CHROMIUM)

    def pages(pdf):
        info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True).stdout
        return re.findall(r"^(Pages|Page size):\s+(.*)$", info, re.M)

    def text(pdf):
        return subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True).stdout

    assert pages(tmp_path / "pipe.pdf") == pages(tmp_path / "shot.pdf")
    assert ("Page size", "594.96 x 841.92 pts (A4)") in pages(tmp_path / "pipe.pdf")
    assert text(tmp_path / "pipe.pdf") == text(tmp_path / "shot.pdf")
    _check_pdf(
        tmp_path / "pipe.pdf", tmp_path, _html_pngs(html), "The gradient explodes because the dynamics are chaotic"
    )


def _running(pid: int) -> bool:
    """Whether ``pid`` is a live process (a zombie awaiting its reaper is not)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    status = Path(f"/proc/{pid}/status")
    return not (status.exists() and "\nState:\tZ" in status.read_text())


# ------------------------------------------------------------------ words a reader can use


def test_ablation_evidence_is_written_in_words():
    from chaosgrad.report._text import evidence_words

    ev = {
        "rate_before": 1.9,
        "rate_after": 0.91,
        "nonfinite_fraction_before": 0.25,
        "nonfinite_fraction_after": 0.0,
        "rate_gap": -0.99,
        "rate_moved": True,
        "towards_target": True,
        "values": {
            "horizon": 12.0,
            "paired_members": 16,
            "members_differing": 14,
            "median_log_ratio": 2.3,
            "median_cosine": 0.12,
            "values_differ": True,
        },
    }
    text = evidence_words(ev, "the change moves the rate towards the exact derivative's")
    assert "the rate moved by -0.99, towards the exact derivative's" in text
    assert "Non-finite entries 25% before, 0% after" in text
    assert "at T = 12.0, 14 of 16 members' gradients differ from the exact derivative (median norm ratio 9.97" in text
    assert "=" not in text.replace("T = ", "") and "yes" not in text and "_" not in text
    still = evidence_words({"rate_moved": False, "towards_target": False, "rate_gap": 0.001})
    assert still == "The rate did not move beyond its uncertainty (change by +0.0010)."
    assert evidence_words({"lambda1_gap": 0.0026}) == "Lambda1 gap 0.00260."  # an unknown number, named in words


def test_a_sweep_table_is_not_repeated_as_other_configurations():
    from chaosgrad import Table

    d = syn.lorenz_diagnosis()
    sweep = Table("Verdict at each rho", ("rho", "verdict"), ((10.0, "stable"), (28.0, "intrinsic-explosion")))
    extra = {"rho=10": d, "rho=28": d, "float16": d}
    table = _document.extra_table(extra, [_document._table(sweep)])
    assert [r[0] for r in table.rows] == ["float16"]
    assert _document.extra_table({"rho=10": d}, [_document._table(sweep)]) is None
    named = Table("Van der Pol: verdict at each step", ("dt", "verdict"), ((0.05, "stable"),))
    table = _document.extra_table({"van der Pol dt=0.05": d, "oscillator dt=0.05": d}, [_document._table(named)])
    assert [r[0] for r in table.rows] == ["oscillator dt=0.05"]


def test_configuration_causes_once_and_numbers_without_float_noise():
    d = dataclasses.replace(
        syn.lorenz_diagnosis(),
        config={"causes": ["adjoint", "precision", "precision"], "fit_horizons": [8.2, 10.200000000000001]},
    )
    doc = _document.build(report.as_study(d), figures=False)
    config = json.loads(doc.configuration)["diagnosis"]
    assert config["causes"] == ["adjoint", "precision"] and config["fit_horizons"] == [8.2, 10.2]


def test_what_to_do_comes_first_in_plain_words_with_units():
    doc = _document.build(syn.lorenz_study(), figures=False)
    assert doc.what_to_do and doc.what_to_do[0].startswith("Truncate backpropagation to windows of about ln 2 / λ₁")
    rec = syn.Recommendation("horizon", "Keep windows short. More words follow here.", 787.0, "time")
    d = dataclasses.replace(syn.lorenz_diagnosis(), recommendations=(rec,))
    doc = _document.build(report.as_study(d), figures=False)
    assert doc.what_to_do == ["Keep windows short."] and doc.recommendations.rows[0][2] == "787 time units"
    html_text = _html.render(doc)
    assert html_text.index('id="what-to-do"') < html_text.index('id="rates"')


FIT_JS = """(() => { const d = document.documentElement, main = document.querySelector('main');
  const right = main.getBoundingClientRect().right + 0.5, out = [];
  if (d.scrollWidth > d.clientWidth) out.push(`page ${d.scrollWidth} > ${d.clientWidth}`);
  document.querySelectorAll('.tablewrap').forEach(w => {
    if (w.scrollWidth > w.clientWidth + 1) out.push(`table scrolls ${w.scrollWidth} > ${w.clientWidth}: ${w.querySelector('th').innerText}`); });
  document.querySelectorAll('main th, main td, main figure, main pre, main p').forEach(el => {
    const r = el.getBoundingClientRect();
    if (r.width && r.right > right && !el.closest('.tablewrap')) out.push(`${el.tagName} ends at ${Math.round(r.right)} > ${Math.round(right)}`); });
  return out; })()"""


@pytest.mark.parametrize("width", [800, 1400])
def test_index_and_a_report_fit_the_window_without_hidden_columns(out, browser, width, tmp_path):
    from chaosgrad.report import _index

    root, results = out
    rows = _index.scan(root)
    long = dict(
        rows[0],
        title="Kuramoto–Sivashinsky: stiff chaos with a long title",
        causes="discretization, adjoint, precision",
        lambda1="+0.04836 ± 0.0036",
        gamma="+0.0003 [-0.0126, +0.0132]",
        status="partial",
        mode="full",
    )
    page = tmp_path / "index.html"
    page.write_text(_index.render_index(rows + [long] * 18), encoding="utf-8")
    for url in (page.resolve().as_uri(), results["lorenz"].files["html"].resolve().as_uri()):
        browser.open(url, width=width, height=900)
        assert browser.eval(FIT_JS) == [], (width, url)
    # every column of the index is on screen, its headers side by side
    browser.open(page.resolve().as_uri(), width=width, height=900)
    heads = browser.eval("[...document.querySelectorAll('thead th')].map(t => t.getBoundingClientRect().right)")
    assert len(heads) == 7 and max(heads) <= width


def test_matplotlib_pdf_wraps_by_measured_width_and_never_splits_a_number():
    flow = _matplotlib_pdf._Flow(None, "footer")
    flow.new_page()
    title = "Logistic and Hénon maps: gradients through the period-doubling cascade"
    lines = flow.wrap(title, 20, "bold", flow.width)
    assert len(lines) == 2 and all(flow.text_width(line, 20, "bold") <= flow.width for line in lines)
    cells = ["-0.490 ± 3.3e-4", "+0.00026 [-0.00193, +0.00245]"]
    flow.table(
        ["c", "verdict", "λ₁ physical", "γ"] + [f"column {i}" for i in range(6)],
        [["10", "intrinsic explosion", *cells] + ["words that may wrap"] * 6],
    )
    drawn = " | ".join(t.get_text() for t in flow.fig.texts)
    for piece in ("-0.490", "± 3.3e-4", "[-0.00193, +0.00245]"):
        assert piece in drawn, piece  # whole: a line may break between the pieces only
