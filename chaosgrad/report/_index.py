"""``reports/index.html``: every system's report in a folder, with its verdict."""

from __future__ import annotations

import datetime as _dt
import html
from pathlib import Path

from chaosgrad.report._atomic import write_atomic
from chaosgrad.report._html import CSS, _unbreakable
from chaosgrad.report._numbers import fmt_rate
from chaosgrad.report._text import fmt_rate_interval, verdict_label, verdict_words

RESULTS_NAME = "results.json"


def _row(folder: Path, results: Path, load) -> dict:
    row = {"folder": folder.name, "system": folder.name, "title": folder.name, "error": None}
    try:
        study = load(results)
    except Exception as exc:  # an unreadable results file is listed, not fatal
        row["error"] = f"cannot read {results.name}: {exc}"
        return row
    d = study.diagnosis
    exps = list(getattr(d.lambda_physical, "exponents", []))
    ses = list(getattr(d.lambda_physical, "uncertainty", []))
    row.update(
        system=study.system,
        title=study.title or study.system,
        verdict=d.verdict,
        tone=verdict_words(d.verdict)[1],
        physics=d.physics,
        causes=", ".join(d.causes) if d.causes else "none",
        lambda1=fmt_rate(exps[0] if exps else None, ses[0] if ses else None),
        gamma=fmt_rate_interval(d.gradient_rate, d.gradient_interval),
        dtype=d.dtype,
        mode=study.mode,
        status=d.status,
        updated=_dt.datetime.fromtimestamp(results.stat().st_mtime).strftime("%Y-%m-%d %H:%M"),
    )
    return row


def scan(reports_dir) -> list[dict]:
    """One row per ``<reports_dir>/<name>/results.json`` (sorted by folder name)."""
    from chaosgrad.report import load

    root = Path(reports_dir)
    rows = []
    for folder in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith((".", "_"))):
        results = folder / RESULTS_NAME
        if results.is_file():
            row = _row(folder, results, load)
            row["links"] = [
                (n, f"{folder.name}/{n}") for n in ("report.html", "report.pdf", RESULTS_NAME) if (folder / n).is_file()
            ]
            rows.append(row)
    return rows


INDEX_CSS = """
.v { display:inline-block; padding:1px 9px; border-radius:999px; font-size:.82rem; font-weight:650;
  color:#fff; background:var(--tone); white-space:nowrap; }
table.index .sub { color: var(--muted); font-size: .8rem; }
table.index td.rate { font-variant-numeric: tabular-nums; min-width: 9em; }
table.index td.files a { margin-right: 6px; }
@media (min-width: 1001px) { table.index td.num { white-space: nowrap; } }
@media (max-width: 1000px) { main { padding: 16px 14px; } table.index { font-size: .82rem; }
  table.index th, table.index td { padding: 5px 6px; } .v { white-space: normal; } }
"""


def _unbroken(text: str) -> str:
    """A rate with its interval that may break only between the rate and the interval
    (``+0.906`` over ``[+0.854, +0.957]``), never inside a number or the interval."""
    rate, _, interval = text.partition(" ")
    return f"{rate} {interval.replace(' ', '&nbsp;')}" if interval else rate


def render_index(rows: list[dict], title: str = "chaosgrad reports") -> str:
    e = lambda s: html.escape(str(s), quote=True)  # noqa: E731
    out = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; img-src data:; style-src 'unsafe-inline'\">",
        f"<title>{e(title)}</title><style>{CSS}{INDEX_CSS}</style></head><body><main>",
        f"<h1>{e(title)}</h1>",
        f'<div class="meta"><span>{len(rows)} system(s)</span><span>updated '
        f"{e(_dt.datetime.now().astimezone().strftime('%Y-%m-%d %H:%M %Z'))}</span></div>",
        "<p>Each row is one analysis: the verdict says whether its gradients explode or vanish "
        "because of the physics (chaos, contraction) or because of the numerics; open the report "
        "for the rates, figures and advice.</p>",
    ]
    if not rows:
        out.append("<p><i>No results yet. Run <code>chaosgrad analyze SYSTEM</code>.</i></p>")
    else:
        # Seven columns that fit a card from 800 to 1400 px: the run's dtype, mode and
        # status share one, the update time sits under the system's name.
        out.append(
            '<div class="tablewrap"><table class="index"><thead><tr><th>system</th><th>verdict and physics</th>'
            "<th>causes</th><th>λ₁ physical</th><th>gradient rate γ</th><th>run</th>"
            "<th>files</th></tr></thead><tbody>"
        )
        for r in rows:
            links = " ".join(f'<a href="{e(href)}">{e(n.split(".")[-1])}</a>' for n, href in r.get("links", []))
            main_link = next((href for n, href in r.get("links", []) if n == "report.html"), None)
            name = f'<a href="{e(main_link)}"><b>{e(r["title"])}</b></a>' if main_link else f"<b>{e(r['title'])}</b>"
            name += f'<br><span class="sub">{e(r["system"])}</span>'
            if r["error"]:
                out.append(f'<tr class="bad"><td>{name}</td><td colspan="5">{e(r["error"])}</td><td>{links}</td></tr>')
                continue
            name += f'<br><span class="sub">updated {e(r["updated"])}</span>'
            out.append(
                f'<tr><td>{name}</td><td><span class="v tone-{e(r["tone"])}">{e(verdict_label(r["verdict"]))}</span>'
                f'<br><span class="sub">{e(r["physics"])}</span></td>'
                f'<td>{e(r["causes"])}</td><td class="num">{_unbreakable(r["lambda1"])}</td>'
                f'<td class="rate">{_unbroken(e(r["gamma"]))}</td>'
                f'<td>{e(r["dtype"])}<br><span class="sub">{e(r["mode"])} · {e(r["status"])}</span></td>'
                f'<td class="files">{links}</td></tr>'
            )
        out.append("</tbody></table></div>")
    out.append("<footer>chaosgrad · rebuilt from the results.json files in this folder</footer>")
    out.append("</main></body></html>")
    return "\n".join(out)


def write_index(reports_dir, *, title: str = "chaosgrad reports") -> Path:
    """Scan ``reports_dir`` for ``*/results.json`` and (re)write ``reports_dir/index.html``."""
    root = Path(reports_dir)
    if not root.is_dir():
        raise NotADirectoryError(f"{root} is not a folder")
    return write_atomic(root / "index.html", render_index(scan(root), title))
