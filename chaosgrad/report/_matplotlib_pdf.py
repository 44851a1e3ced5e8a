"""The PDF without Chromium: the report's :class:`Document` laid out on A4 pages with
matplotlib's ``PdfPages`` (headline, tables, figures and the reproducibility block), with
a note on every page that says it was used.

:class:`_Flow` is the layout engine (text wrapped by its measured width, tables, images,
page breaks); :func:`matplotlib_pdf` walks the document through it in the HTML's order.
"""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # matplotlib is imported when a PDF is drawn
    from matplotlib.figure import Figure

A4 = (8.27, 11.69)
MARGIN = 0.6
SPACING = 1.25  # matplotlib's linespacing: baseline distance in units of the text's line height
LINE = 1.2 * SPACING  # the resulting baseline distance in units of the font size (approximately)


class _Flow:
    """A very small top-to-bottom layout engine on A4 matplotlib figures."""

    def __init__(self, pdf, footer: str):
        self.pdf = pdf
        self.footer = footer
        self.page = 0
        self.fig: Figure | None = None
        self.y = 0.0
        self.width = A4[0] - 2 * MARGIN

    def new_page(self) -> Figure:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure

        self.finish_page()
        self.fig = fig = Figure(figsize=A4)
        FigureCanvasAgg(fig)
        self.page += 1
        self.y = MARGIN
        return fig

    def finish_page(self):
        if self.fig is not None:
            self.fig.text(
                0.5,
                0.25 / A4[1],
                f"{self.footer} · page {self.page}",
                ha="center",
                va="bottom",
                fontsize=7,
                color="#666666",
            )
            self.pdf.savefig(self.fig)
            self.fig = None

    def need(self, height: float) -> Figure:
        """The page to draw on, a new one when ``height`` inches do not fit on this one."""
        if self.fig is None or self.y + height > A4[1] - MARGIN:
            return self.new_page()
        return self.fig

    def _fx(self, x):
        return x / A4[0]

    def _fy(self, y):
        return 1 - y / A4[1]

    def text_width(self, s: str, size: float, weight: str = "normal") -> float:
        """The width in inches that ``s`` takes in the page's sans-serif font."""
        from matplotlib.font_manager import FontProperties

        fig = self.fig if self.fig is not None else self.new_page()
        renderer = fig.canvas.get_renderer()  # type: ignore[attr-defined]  # the Agg canvas of new_page
        w, _, _ = renderer.get_text_width_height_descent(
            s, FontProperties(family="sans-serif", size=size, weight=weight), ismath=False
        )
        return w / fig.dpi

    def wrap(self, para, size: float, weight: str, width: float) -> list:
        """``para`` (a string, or its words as a list) broken into lines that fit
        ``width`` inches, measured in the font (a bold title is wider than a count of
        characters suggests); never inside a word."""
        lines, line = [], ""
        for word in para.split() if isinstance(para, str) else para:
            candidate = f"{line} {word}" if line else word
            if line and self.text_width(candidate, size, weight) > width:
                lines.append(line)
                line = word
            else:
                line = candidate
        return lines + [line] if line else lines

    def text(
        self,
        s: str,
        size: float = 9,
        weight: str = "normal",
        color: str = "#1d2330",
        indent: float = 0.0,
        gap: float = 0.06,
        mono: bool = False,
        width: float | None = None,
    ):
        chars = int((width or self.width - indent) * 72 / (size * 0.60))
        lines = []
        chars = max(chars, 10)
        for para in str(s).split("\n"):
            if mono:  # keep indentation; cut long lines
                lines.extend([para[i : i + chars] for i in range(0, len(para), chars)] or [""])
            else:
                lines.extend(self.wrap(para, size, weight, width or self.width - indent) or [""])
        lh = size * LINE / 72
        while lines:  # one text artist per page-chunk of the paragraph (drawing is per artist)
            fig = self.need(lh)
            room = max(int((A4[1] - MARGIN - self.y) / lh), 1)
            chunk, lines = lines[:room], lines[room:]
            fig.text(
                self._fx(MARGIN + indent),
                self._fy(self.y),
                "\n".join(chunk),
                fontsize=size,
                va="top",
                ha="left",
                weight=weight,
                color=color,
                linespacing=SPACING,
                family="monospace" if mono else "sans-serif",
            )
            self.y += lh * len(chunk)
        self.y += gap

    def heading(self, s: str, size: float = 13):
        self.need(1.6)  # a heading is never the last line of a page
        self.y += 0.12
        self.text(s, size=size, weight="bold", gap=0.08)

    def table(self, columns, rows, widths=None, size: float = 7.5):
        from chaosgrad.report._html import number_cell

        def units(cell: str) -> list:
            """What a cell may break between: words, or a number's pieces (the value,
            ``± error``, an interval), never a number itself."""
            if number_cell(cell):
                return re.findall(r"\[[^\]]*\]|± \S+|[^ ]+", cell.strip())
            return cell.split()

        n = max(len(columns), 1)
        pad = 0.14  # inches between columns
        if widths is None:
            # Each column gets room for its longest number piece or word, which never
            # wraps (no "-0.490 ± 3.3e-" over "4"); the rest of the page is shared by
            # text length. Headers are measured in bold, as they are drawn.
            cells = [[str(c)] + [str(r[i]) for r in rows if i < len(r)] for i, c in enumerate(columns)]
            need = [
                max(
                    self.text_width(u, size, "bold" if j == 0 else "normal")
                    for j, c in enumerate(col)
                    for u in (units(c) or [""])
                )
                + pad
                for col in cells
            ]
            if sum(need) > self.width:  # too many columns for the page: a smaller font
                size = max(size * self.width / sum(need), 5.0)
                need = [w * self.width / sum(need) for w in need]
            lens = [min(max(max(len(c) for c in col), 6), 60) for col in cells]
            spare = self.width - sum(need)
            widths = [w + spare * v / sum(lens) for w, v in zip(need, lens)]
        lh = size * LINE / 72

        def draw_row(cells, weight, color):
            wrapped = []
            for i in range(n):
                cell = str(cells[i]) if i < len(cells) else ""
                wrapped.append(self.wrap(units(cell), size, weight, widths[i] - pad) or [""])
            h = max(len(w) for w in wrapped) * lh + 0.05
            fig = self.need(h)
            x = MARGIN
            for i, w in enumerate(wrapped):
                fig.text(
                    self._fx(x),
                    self._fy(self.y),
                    "\n".join(w),
                    fontsize=size,
                    va="top",
                    weight=weight,
                    color=color,
                    linespacing=SPACING,
                )
                x += widths[i]
            self.y += h
            from matplotlib.lines import Line2D

            fig.add_artist(
                Line2D(
                    [self._fx(MARGIN), self._fx(MARGIN + self.width)],
                    [self._fy(self.y - 0.02)] * 2,
                    color="#dddddd",
                    linewidth=0.5,
                )
            )

        draw_row(columns, "bold", "#555555")
        for r in rows:
            draw_row(r, "normal", "#1d2330")
        self.y += 0.08

    def image_size(self, img, max_height: float = 4.2) -> tuple[float, float]:
        h_px, w_px = img.shape[:2]
        w = self.width
        h = w * h_px / w_px
        if h > max_height:
            h, w = max_height, max_height * w_px / h_px
        return w, h

    def image(self, img):
        w, h = self.image_size(img)
        fig = self.need(h + 0.05)
        left = MARGIN + (self.width - w) / 2
        ax = fig.add_axes((self._fx(left), self._fy(self.y + h), w / A4[0], h / A4[1]))
        ax.imshow(img, interpolation="none")  # embedded as is, pixel for pixel
        ax.set_axis_off()
        self.y += h + 0.06


def matplotlib_pdf(doc, pdf_path: Path, reason: str) -> None:
    """Lay out ``doc`` on A4 pages with matplotlib's PdfPages (the no-Chromium fallback)."""
    import matplotlib
    from matplotlib.backends.backend_pdf import PdfPages

    with matplotlib.rc_context({"pdf.fonttype": 3, "font.family": "sans-serif"}):
        with PdfPages(pdf_path, metadata={"Title": f"{doc.title}: {doc.verdict_label}", "Creator": "chaosgrad"}) as pdf:
            flow = _Flow(pdf, f"chaosgrad report · {doc.system} · PDF drawn with matplotlib ({reason})")
            flow.new_page()
            _headline(flow, doc)
            _rates_and_figures(flow, doc)
            _sections(flow, doc)
            _reproducibility(flow, doc)
            flow.finish_page()


def _headline(flow: _Flow, doc) -> None:
    """Title, verdict, physics and causes, the explanation, what to do, and the key numbers."""
    flow.text(doc.title, size=20, weight="bold", gap=0.02)
    flow.text(
        f"system {doc.system} · {doc.mode} mode · status {doc.status} · rendered {doc.rendered}",
        size=8,
        color="#5b6472",
        gap=0.15,
    )
    tone = {"good": "#1b7f5b", "physics": "#1f5fa8", "numerics": "#c0392b", "bad": "#8e1b10"}.get(doc.tone, "#5b6472")
    flow.text(f"VERDICT: {doc.verdict_label.upper()}", size=8.5, weight="bold", color=tone, gap=0.02)
    flow.text(doc.verdict_text, size=12.5, weight="bold", gap=0.1)
    flow.text(f"physics: {doc.physics_text}", size=8.5)
    if doc.causes:
        for _, w in doc.causes:
            flow.text(f"cause: {w}", size=8.5, color="#8e1b10")
    else:
        flow.text(f"causes: {doc.no_cause_text}", size=8.5, color="#5b6472")
    for p in (doc.explanation or ["No explanation was recorded with this result."]) + doc.summary:
        flow.text(p, size=9.5, gap=0.08)
    if doc.what_to_do:
        flow.text("What to do", size=10.5, weight="bold", gap=0.04)
        for t in doc.what_to_do:
            flow.text(f"• {t}", size=9.5, gap=0.04)
        flow.y += 0.06
    for t in doc.to_decide:
        flow.text(f"To decide: {t}", size=9, color="#8a5a00")
    for w in doc.warnings:
        flow.text(w, size=8.5, color="#8a5a00")
    flow.table(
        ["", *(k for k, _, _ in doc.key_numbers)],
        [["", *(v for _, v, _ in doc.key_numbers)], ["", *(dd for _, _, dd in doc.key_numbers)]],
        widths=[0.01] + [(flow.width - 0.01) / max(len(doc.key_numbers), 1)] * len(doc.key_numbers),
        size=9,
    )


def _rates_and_figures(flow: _Flow, doc) -> None:
    """The rates table, the standard figures (and those left out, with why) and the ablations."""
    flow.heading("Rates")
    flow.table(doc.rates.columns, doc.rates.rows, widths=[1.45, 1.45, flow.width - 2.9])
    flow.text(doc.rates.caption, size=7.5, color="#5b6472")
    flow.heading("Figures")
    for f in doc.figures:
        _figure(flow, f)
    for title, why in doc.omitted:
        flow.text(f"{title}: not drawn. {why}", size=8.5, color="#5b6472")
    if doc.ablation_table:
        flow.heading("Ablations")
        flow.table(doc.ablation_table.columns, doc.ablation_table.rows)
        flow.text(doc.ablation_table.caption, size=7.5, color="#5b6472")


def _sections(flow: _Flow, doc) -> None:
    """The study's own sections, then other configurations, findings, recommendations and notes."""
    for s in doc.sections:
        flow.heading(s.title)
        for p in s.paragraphs:
            flow.text(p, size=9.5)
        for f in s.figures:
            _figure(flow, f)
        for t in s.tables:
            flow.text(t.title, size=10, weight="bold")
            flow.table(t.columns, t.rows)
            if t.caption:
                flow.text(t.caption, size=7.5, color="#5b6472")
    if doc.extra_table:
        flow.heading(doc.extra_table.title)
        flow.table(doc.extra_table.columns, doc.extra_table.rows)
    if doc.findings:
        flow.heading("Findings")
        for f in doc.findings:
            flow.text(f"• {f}", size=9.5)
    if doc.recommendations:
        flow.heading("Recommendations")
        flow.table(doc.recommendations.columns, doc.recommendations.rows)
    if doc.notes:
        flow.heading("Notes")
        for n in doc.notes:
            flow.text(f"• {n}", size=9.5)


def _reproducibility(flow: _Flow, doc) -> None:
    """What the result was computed with, the command that regenerates it, and its configuration."""
    flow.heading("Reproducibility")
    flow.table(["item", "value"], [[k, v] for k, v in doc.repro], widths=[1.5, flow.width - 1.5])
    flow.text("Command that regenerates this report:", size=9, weight="bold")
    flow.text(doc.command, size=8, mono=True)
    flow.text("Configuration:", size=9, weight="bold")
    flow.text(doc.configuration, size=7, mono=True, gap=0.0)


def _figure(flow: _Flow, f) -> None:
    img = None
    if f.png is not None:
        import matplotlib.image as mpimg

        img = mpimg.imread(io.BytesIO(f.png), format="png")
    # Keep the title, the image and the start of the caption on one page.
    flow.need(0.3 + (flow.image_size(img)[1] if img is not None else 0.4) + 0.4)
    flow.text(f.title, size=10.5, weight="bold", gap=0.04)
    if img is not None:
        flow.image(img)
    else:
        flow.text(f.error or "figure not drawn", size=9, color="#c0392b")
    flow.text(f.caption, size=8, color="#3d4450", gap=0.18)
