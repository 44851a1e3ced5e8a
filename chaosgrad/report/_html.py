"""One self-contained HTML file: inline CSS (screen and print), figures as base64 PNG.

Nothing is fetched from the network: no fonts, scripts, stylesheets or images by URL.
"""

from __future__ import annotations

import base64
import html
import re

from chaosgrad.report._document import Document, FigureItem, TableItem

CSS = """
:root { --ink:#1d2330; --muted:#5b6472; --line:#e2e5ea; --bg:#f4f5f7; --card:#ffffff;
  --good:#1b7f5b; --physics:#1f5fa8; --numerics:#c0392b; --bad:#8e1b10; --neutral:#5b6472;
  --warn-bg:#fff6e5; --bad-bg:#fdecea; --good-bg:#e9f6f0; }
* { box-sizing: border-box; }
html { -webkit-text-size-adjust: 100%; }
body { margin:0; background:var(--bg); color:var(--ink);
  font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", "Helvetica Neue", Arial, sans-serif; }
main { max-width: 1180px; margin: 0 auto; padding: 24px 28px 40px; background: var(--card); }
h1 { font-size: 1.9rem; margin: 0 0 2px; letter-spacing: -0.01em; }
h2 { font-size: 1.25rem; margin: 34px 0 10px; padding-bottom: 4px; border-bottom: 1px solid var(--line); }
h3 { font-size: 1.02rem; margin: 18px 0 6px; }
p { margin: 0 0 10px; max-width: 78ch; }
a { color: var(--physics); }
.meta { color: var(--muted); font-size: .88rem; margin-bottom: 16px; }
.meta span + span::before { content: "·"; margin: 0 .5em; color: #b0b6bf; }
nav { font-size: .86rem; margin: 0 0 18px; color: var(--muted); }
nav a { margin-right: 12px; text-decoration: none; }
.verdict { border-left: 7px solid var(--tone); background: var(--tone-bg); padding: 16px 20px 14px;
  border-radius: 6px; margin: 4px 0 18px; }
.verdict .label { text-transform: uppercase; letter-spacing: .08em; font-size: .78rem; font-weight: 700;
  color: var(--tone); }
.verdict .words { font-size: 1.32rem; line-height: 1.35; font-weight: 600; margin: 4px 0 10px; max-width: 60ch; }
.verdict p { font-size: .98rem; }
.tone-good { --tone: var(--good); --tone-bg: var(--good-bg); }
.tone-physics { --tone: var(--physics); --tone-bg: #eaf1fa; }
.tone-numerics { --tone: var(--numerics); --tone-bg: var(--bad-bg); }
.tone-bad { --tone: var(--bad); --tone-bg: var(--bad-bg); }
.tone-neutral { --tone: var(--neutral); --tone-bg: #eef0f3; }
.chips { margin: 6px 0 12px; }
.chip { display: inline-block; border: 1px solid var(--line); background: #fff; border-radius: 999px;
  padding: 2px 11px; margin: 0 6px 6px 0; font-size: .84rem; }
.chip b { font-weight: 650; }
.chip.cause { border-color: #e6b0aa; background: #fff5f4; }
.chip.none { color: var(--muted); }
.cards { display: grid; grid-template-columns: repeat(auto-fit, minmax(190px, 1fr)); gap: 12px; margin: 0 0 8px; }
.card { border: 1px solid var(--line); border-radius: 6px; padding: 10px 14px; }
.card .k { font-size: .8rem; color: var(--muted); }
.card .v { font-size: 1.32rem; font-weight: 650; font-variant-numeric: tabular-nums; }
.card .d { font-size: .8rem; color: var(--muted); font-variant-numeric: tabular-nums; }
table { border-collapse: collapse; width: 100%; margin: 4px 0 6px; font-size: .9rem; }
th, td { text-align: left; vertical-align: top; padding: 6px 10px; border-bottom: 1px solid var(--line); }
th { font-size: .82rem; color: var(--muted); font-weight: 650; background: #f7f8fa; }
tbody tr:nth-child(even) { background: #fafbfc; }
td.num, td.value { font-variant-numeric: tabular-nums; }
.nw { white-space: nowrap; }
table.rates td:first-child { font-weight: 600; white-space: nowrap; }
table.rates td:nth-child(2) { font-family: ui-monospace, "DejaVu Sans Mono", Menlo, Consolas, monospace; font-size: .86rem; white-space: nowrap; }
table.rates td:nth-child(3) { color: #333a46; }
table.recs td:last-child { white-space: nowrap; font-variant-numeric: tabular-nums; }
tr.warn td { background: var(--warn-bg); }
tr.bad td { background: var(--bad-bg); }
tr.good td { background: var(--good-bg); }
.tcaption { color: var(--muted); font-size: .84rem; margin: 2px 0 14px; }
.figs { display: grid; grid-template-columns: repeat(auto-fill, minmax(460px, 1fr)); gap: 22px 26px; }
figure { margin: 0; break-inside: avoid; page-break-inside: avoid; }
figure img { width: 100%; height: auto; display: block; border: 1px solid var(--line); border-radius: 4px; background: #fff; }
figure h3 { margin: 4px 0 6px; }
figcaption { font-size: .86rem; color: #3d4450; margin-top: 6px; }
.fig-error { border: 1px dashed var(--numerics); color: var(--numerics); padding: 24px; border-radius: 4px; font-size: .9rem; }
ul.findings li, ul.notes li { margin-bottom: 4px; }
dl.repro { display: grid; grid-template-columns: max-content 1fr; gap: 4px 18px; margin: 0 0 12px; font-size: .9rem; }
dl.repro dt { color: var(--muted); }
dl.repro dd { margin: 0; font-variant-numeric: tabular-nums; }
pre { background: #f6f8fa; border: 1px solid var(--line); border-radius: 4px; padding: 10px 12px;
  font: .8rem/1.45 ui-monospace, "DejaVu Sans Mono", Menlo, Consolas, monospace; white-space: pre-wrap; word-break: break-word; }
.warning { background: var(--warn-bg); border: 1px solid #f0d7a8; padding: 8px 12px; border-radius: 4px; font-size: .88rem; margin: 8px 0; }
footer { margin-top: 30px; color: var(--muted); font-size: .8rem; border-top: 1px solid var(--line); padding-top: 8px; }
.tablewrap { overflow-x: auto; max-width: 100%; }
.todo { border: 1px solid var(--line); border-radius: 6px; padding: 4px 18px 6px; margin: 0 0 16px; }
.todo h2 { border: 0; margin: 8px 0 4px; font-size: 1.05rem; }
.todo ul { margin: 0 0 6px; padding-left: 20px; }
.omitted { color: var(--muted); font-size: .86rem; margin-top: 14px; }
@media (max-width: 700px) { main { padding: 14px; } .figs { grid-template-columns: 1fr; } table { font-size: .82rem; }
  table.rates td:first-child, table.rates td:nth-child(2), td.num { white-space: normal; } h1 { font-size: 1.5rem; } }
@media (max-width: 1000px) { main { padding: 18px 14px; } table { font-size: .8rem; } th, td { padding: 4px 5px; }
  table.wide { font-size: .74rem; } .iv { white-space: normal; } }
@page { size: A4; margin: 13mm 12mm 14mm; }
@media print {
  body { background: #fff; font-size: 10pt; }
  main { max-width: none; padding: 0; }
  nav { display: none; }
  * { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
  h2 { break-after: avoid; page-break-after: avoid; margin-top: 18px; }
  h3 { break-after: avoid; }
  .figs { display: block; }
  figure { margin: 0 0 14px; }
  figure img { max-height: 92mm; width: auto; max-width: 100%; margin: 0 auto; }
  tr, .card, .verdict { break-inside: avoid; page-break-inside: avoid; }
  .cards { grid-template-columns: repeat(4, 1fr); gap: 8px; }
  .card { padding: 6px 10px; }
  .card .v { font-size: .9rem; }
  .verdict .words { font-size: 1.15rem; }
  a { color: inherit; text-decoration: none; }
  pre { white-space: pre-wrap; }
  .tablewrap { overflow: visible; }
  table { font-size: 8pt; }
  table.wide { font-size: 7pt; }
  th, td { padding: 3px 5px; }
  .iv { white-space: nowrap; }
}
"""


def e(text) -> str:
    return html.escape(str(text), quote=True)


# A cell that holds only a number, an interval or a number with its error (no words):
# it never wraps, so "-0.490 ± 3.3e-4" is not split across two lines.
_NUMBER_CELL = re.compile(
    r"[-+−]?[\d.]+(?:e[-+]?\d+)?(?:\s*(?:±\s*|\[|,\s*|\]|\s)[-+−]?[\d.]*(?:e[-+]?\d+)?\]?)*"
    r"|T ≈ [\d.e+-]+|[\d.e+-]+ ?%?"
)


def number_cell(text) -> bool:
    return bool(_NUMBER_CELL.fullmatch(str(text).strip())) and any(ch.isdigit() for ch in str(text))


def _unbreakable(text: str) -> str:
    """A number cell as pieces that never break inside a number: a narrow column may
    put ``± error`` or an interval's upper end on the next line, nothing else."""
    text = str(text).strip().replace(" ± ", " ±\u00a0")
    # an interval is one piece that only a narrow screen may break after its comma
    pieces = re.findall(r"\[[^\]]*\]|[^ ]+", text)  # not \\S, which splits at the no-break space
    return " ".join(
        f'<span class="nw iv">{e(p)}</span>' if p.startswith("[") else f'<span class="nw">{e(p)}</span>' for p in pieces
    )


def _td(c) -> str:
    return f'<td class="num">{_unbreakable(c)}</td>' if number_cell(c) else f"<td>{e(c)}</td>"


def _table(t: TableItem, cls: str = "") -> str:
    head = "".join(f"<th>{e(c)}</th>" for c in t.columns)
    body = []
    for i, row in enumerate(t.rows):
        rc = t.row_classes[i] if i < len(t.row_classes) and t.row_classes[i] else ""
        cells = "".join(_td(c) for c in row)
        body.append(f'<tr class="{rc}">{cells}</tr>' if rc else f"<tr>{cells}</tr>")
    cls = f"{cls} wide".strip() if len(t.columns) >= 9 else cls  # many columns: a smaller font on narrow screens
    out = (
        f'<div class="tablewrap"><table class="{cls}"><thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(body)}</tbody></table></div>"
    )
    if t.caption:
        out += f'<p class="tcaption">{e(t.caption)}</p>'
    return out


def _figure(f: FigureItem) -> str:
    if f.png is not None:
        data = base64.b64encode(f.png).decode("ascii")
        body = f'<img src="data:image/png;base64,{data}" alt="{e(f.title)}">'
    else:
        body = f'<div class="fig-error">{e(f.error or "figure not drawn")}</div>'
    return f'<figure id="fig-{e(f.id)}"><h3>{e(f.title)}</h3>{body}<figcaption>{e(f.caption)}</figcaption></figure>'


def render(doc: Document) -> str:
    """The report as one HTML string."""
    parts = _head(doc) + _headline(doc) + _rates_and_figures(doc) + _sections(doc) + _reproducibility(doc)
    return "\n".join(parts)


def _head(doc: Document) -> list[str]:
    """The document head (inline CSS, no fetches allowed), the title and the navigation."""
    parts: list[str] = []
    add = parts.append
    add("<!DOCTYPE html>")
    add('<html lang="en"><head><meta charset="utf-8">')
    add('<meta name="viewport" content="width=device-width, initial-scale=1">')
    # Forbid every network fetch: images may only be inline data, no scripts at all.
    add(
        '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; '
        "img-src data:; style-src 'unsafe-inline'\">"
    )
    add(f"<title>{e(doc.title)}: {e(doc.verdict_label)} (chaosgrad report)</title>")
    add(f"<style>{CSS}</style></head><body><main>")

    add(f"<h1>{e(doc.title)}</h1>")
    add(
        '<div class="meta">'
        f"<span>system <b>{e(doc.system)}</b></span><span>{e(doc.mode)} mode</span>"
        f"<span>status {e(doc.status)}</span><span>rendered {e(doc.rendered)}</span></div>"
    )
    nav = [("headline", "Headline"), ("rates", "Rates"), ("figures", "Figures")]
    if doc.ablation_table:
        nav.append(("ablations", "Ablations"))
    nav += [(f"section-{i + 1}", s.title) for i, s in enumerate(doc.sections)]
    if doc.findings:
        nav.append(("findings", "Findings"))
    if doc.recommendations:
        nav.append(("recommendations", "Recommendations"))
    nav.append(("reproducibility", "Reproducibility"))
    add("<nav>" + "".join(f'<a href="#{a}">{e(t)}</a>' for a, t in nav) + "</nav>")
    return parts


def _headline(doc: Document) -> list[str]:
    """The verdict banner (physics and causes as chips, the explanation, what would decide
    it), what to do, the warnings and the key-number cards."""
    parts: list[str] = []
    add = parts.append
    add(f'<section id="headline" class="verdict tone-{e(doc.tone)}">')
    add(f'<div class="label">Verdict: {e(doc.verdict_label)}</div>')
    add(f'<div class="words" id="verdict-text">{e(doc.verdict_text)}</div>')
    chips = [f'<span class="chip"><b>physics</b> {e(doc.physics_text)}</span>']
    if doc.causes:
        chips += [f'<span class="chip cause" title="{e(w)}"><b>cause</b> {e(w)}</span>' for _, w in doc.causes]
    else:
        chips.append(f'<span class="chip none"><b>causes</b> {e(doc.no_cause_text)}</span>')
    add(f'<div class="chips">{"".join(chips)}</div>')
    for p in doc.explanation or ["No explanation was recorded with this result."]:
        add(f"<p>{e(p)}</p>")
    if doc.to_decide:
        add(
            '<div id="to-decide"><b>What would decide it:</b><ul>'
            + "".join(f"<li>{e(t)}</li>" for t in doc.to_decide)
            + "</ul></div>"
        )
    for p in doc.summary:
        add(f"<p>{e(p)}</p>")
    add("</section>")
    if doc.what_to_do:
        add(
            '<section id="what-to-do" class="todo"><h2>What to do</h2><ul>'
            + "".join(f"<li>{e(t)}</li>" for t in doc.what_to_do)
            + "</ul></section>"
        )
    for w in doc.warnings:
        add(f'<div class="warning">{e(w)}</div>')
    add('<div class="cards">')
    for k, v, dtl in doc.key_numbers:
        add(
            f'<div class="card"><div class="k">{e(k)}</div><div class="v">{_unbreakable(v)}</div>'
            f'<div class="d">{_unbreakable(dtl) if number_cell(dtl) else e(dtl)}</div></div>'
        )
    add("</div>")
    return parts


def _rates_and_figures(doc: Document) -> list[str]:
    """The rates table, the standard figures (and those left out, with why) and the ablations."""
    parts: list[str] = []
    add = parts.append
    add('<h2 id="rates">Rates</h2>')
    add(_table(doc.rates, "rates"))

    add('<h2 id="figures">Figures</h2><div class="figs">')
    for f in doc.figures:
        add(_figure(f))
    add("</div>")
    for title, why in doc.omitted:
        add(f'<p class="omitted"><b>{e(title)}</b>: not drawn. {e(why)}</p>')

    if doc.ablation_table:
        add('<h2 id="ablations">Ablations</h2>')
        add(_table(doc.ablation_table, "ablations"))
    return parts


def _sections(doc: Document) -> list[str]:
    """The study's own sections, then other configurations, findings, recommendations and notes."""
    parts: list[str] = []
    add = parts.append
    for i, s in enumerate(doc.sections):
        add(f'<h2 id="section-{i + 1}">{e(s.title)}</h2>')
        for p in s.paragraphs:
            add(f"<p>{e(p)}</p>")
        if s.figures:
            add('<div class="figs">' + "".join(_figure(f) for f in s.figures) + "</div>")
        for t in s.tables:
            add(f"<h3>{e(t.title)}</h3>")
            add(_table(t))

    if doc.extra_table:
        add(f'<h2 id="other">{e(doc.extra_table.title)}</h2>')
        add(_table(doc.extra_table))
    if doc.findings:
        add('<h2 id="findings">Findings</h2><ul class="findings">')
        add("".join(f"<li>{e(f)}</li>" for f in doc.findings))
        add("</ul>")
    if doc.recommendations:
        add('<h2 id="recommendations">Recommendations</h2>')
        add(_table(doc.recommendations, "recs"))
    if doc.notes:
        add('<h2 id="notes">Notes</h2><ul class="notes">')
        add("".join(f"<li>{e(n)}</li>" for n in doc.notes))
        add("</ul>")
    return parts


def _reproducibility(doc: Document) -> list[str]:
    """What the result was computed with, the command and configuration, and the footer."""
    parts: list[str] = []
    add = parts.append
    add('<h2 id="reproducibility">Reproducibility</h2><dl class="repro">')
    for k, v in doc.repro:
        add(f"<dt>{e(k)}</dt><dd>{e(v)}</dd>")
    add("</dl><h3>Command that regenerates this report</h3>")
    add(f'<pre id="command">{e(doc.command)}</pre>')
    add("<h3>Configuration</h3>")
    add(f'<pre id="configuration">{e(doc.configuration)}</pre>')
    add(
        f"<footer>chaosgrad report · {e(doc.system)} · rendered {e(doc.rendered)} from results.json; "
        "rebuild with <code>chaosgrad report results.json</code></footer>"
    )
    add("</main></body></html>")
    return parts
