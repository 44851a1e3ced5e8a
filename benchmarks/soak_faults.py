"""Soak under faults: the command line writes a report into one folder again and again
while seeded SIGINT, SIGTERM and SIGKILL arrive at random moments.

    .venv/bin/python benchmarks/soak_faults.py [--rounds 40] [--seed 0] [--out benchmarks/RESULTS_soak_faults.md]

One real analysis (the logistic map at r = 4, `chaosgrad analyze --simulator`) makes the
results file; each round renders it (`chaosgrad report IN --out DIR`) with a summary that
names the round, so a report can be matched with the results file beside it. After every
round the folder is inspected: each final file is absent or complete (results.json loads
with chaosgrad.load_result, report.html and index.html end with </html>), and report.html
belongs to the same round as results.json. A killed writer may leave staged temporaries;
the next clean run must remove them. tests/test_soak_faults.py runs a short campaign of
the same code.
"""

from __future__ import annotations

import argparse
import json
import platform
import signal
import subprocess
import sys
import textwrap
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

FACTORY = textwrap.dedent("""
    import jax.numpy as jnp
    import chaosgrad as cg

    def make():
        sim = cg.MapSimulator(lambda x, r: r * x * (1 - x))
        return {"simulator": sim, "y0": jnp.array([0.3]), "args": 4.0, "horizons": (4, 8, 16), "members": 3,
                "name": "soak map", "lyapunov_time": 200.0, "causes": ()}
""")
SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGKILL)
MARK = "soak round {} of the campaign"  # "of" ends it: round 1 is not a prefix of round 10


def _cli(*argv: str) -> list[str]:
    return [sys.executable, "-m", "chaosgrad", *argv]


def make_results(work: Path) -> Path:
    """One real analysis, written as results.json only: the soak's input."""
    (work / "soak_map.py").write_text(FACTORY)
    out = subprocess.run(
        _cli("analyze", "--simulator", "soak_map:make", "--out", "base", "--format", "json", "-q"),
        cwd=work,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    if out.returncode != 0:
        raise RuntimeError(f"the analysis failed ({out.returncode}): {out.stderr[-2000:]}")
    (path,) = (work / "base").glob("*/results.json")
    return path


def round_input(base: Path, work: Path, i: int) -> Path:
    """The results file with a summary naming round ``i`` (the report prints the summary)."""
    data = json.loads(base.read_text())
    data["result"]["summary"] = MARK.format(i)
    path = work / f"round_{i}.json"
    path.write_text(json.dumps(data))
    return path


def launch(src: Path, out: Path, work: Path) -> subprocess.Popen:
    return subprocess.Popen(
        _cli("report", str(src), "--out", str(out), "--format", "html,json", "--dpi", "30", "-q"),
        cwd=work,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def inspect_folder(out: Path) -> list[str]:
    """What is wrong with the report folder as it stands: a final file that is not whole,
    or a report.html of another round than the results.json beside it."""
    import chaosgrad as cg

    problems = []
    for index in out.glob("index.html"):
        if not index.read_text(errors="replace").rstrip().endswith("</html>"):
            problems.append(f"{index} is cut short")
    for folder in [p for p in out.iterdir() if p.is_dir()] if out.is_dir() else []:
        results, html = folder / "results.json", folder / "report.html"
        summary = None
        if results.exists():
            try:
                summary = cg.load_result(results).summary
            except Exception as exc:  # noqa: BLE001 (any failure to load is the finding)
                problems.append(f"{results} does not load: {type(exc).__name__}: {exc}")
        if html.exists():
            text = html.read_text(errors="replace")
            if not text.rstrip().endswith("</html>"):
                problems.append(f"{html} is cut short")
            elif summary is not None and summary not in text:
                problems.append(f"{html} is not of the round of {results} ({summary!r})")
    return problems


def temporaries(out: Path) -> list[Path]:
    return [p for p in out.rglob("*") if ".tmp" in p.name or p.name.startswith(".chaosgrad-probe-")]


@dataclass
class Campaign:
    """What a soak saw, round by round."""

    rows: list = field(default_factory=list)  # (round, signal name or "none", delay s, exit code, problems)
    problems: list = field(default_factory=list)
    left_after_clean_run: list = field(default_factory=list)


def run(work: Path, rounds: int, seed: int, *, base: Path | None = None, full_s: float | None = None) -> Campaign:
    """``rounds`` runs into ``work/reports``, each hit by a seeded signal at a seeded moment
    of the run (uniform over 2% to 110% of a clean run's time, so some finish first), then
    one clean run."""
    base = base or make_results(work)
    out = work / "reports"
    if full_s is None:
        start = time.monotonic()
        first = launch(round_input(base, work, 0), out, work)
        first.communicate(timeout=600)
        full_s = time.monotonic() - start
    rng = np.random.default_rng(seed)
    camp = Campaign()
    for i in range(1, rounds + 1):
        sig = SIGNALS[int(rng.integers(len(SIGNALS)))]
        delay = float(rng.uniform(0.02, 1.1)) * full_s
        proc = launch(round_input(base, work, i), out, work)
        time.sleep(delay)
        if proc.poll() is None:
            proc.send_signal(sig)
        _, err = proc.communicate(timeout=600)
        found = inspect_folder(out)
        if proc.returncode not in (0, 130, -signal.SIGKILL):
            found.append(f"exit {proc.returncode}: {err[-500:]}")
        if proc.returncode == 130 and ("Traceback" in err or "interrupted" not in err):
            found.append(f"an interrupt printed: {err[-500:]}")
        if sig != signal.SIGKILL and temporaries(out):
            found.append(f"{signal.Signals(sig).name} left {temporaries(out)}")
        camp.rows.append((i, signal.Signals(sig).name, round(delay, 2), proc.returncode, found))
        camp.problems += [f"round {i}: {p}" for p in found]
    last = launch(round_input(base, work, rounds + 1), out, work)
    _, err = last.communicate(timeout=600)
    if last.returncode != 0:
        camp.problems.append(f"the clean run failed ({last.returncode}): {err[-500:]}")
    camp.problems += [f"after the clean run: {p}" for p in inspect_folder(out)]
    camp.left_after_clean_run = temporaries(out)
    return camp


def main() -> None:
    import tempfile

    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=40)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        camp = run(Path(tmp), args.rounds, args.seed)
        took = time.perf_counter() - start
    by_sig = {}
    for _, sig, _, code, _ in camp.rows:
        by_sig.setdefault(sig, []).append(code)
    lines = [
        "# Soak under faults: one report folder, random SIGINT / SIGTERM / SIGKILL",
        "",
        f"Command: `python benchmarks/soak_faults.py --rounds {args.rounds} --seed {args.seed}`  ",
        f"Machine: {platform.machine()}, Python {platform.python_version()}; {took:.0f} s in all",
        "",
        "| signal | rounds | finished first (exit 0) | interrupted (130) | killed |",
        "|---|---|---|---|---|",
        *[f"| {s} | {len(c)} | {c.count(0)} | {c.count(130)} | {c.count(-9)} |" for s, c in sorted(by_sig.items())],
        "",
        f"Half-written or mismatched reports seen: {len(camp.problems)}; temporaries left after the clean run: "
        f"{len(camp.left_after_clean_run)}.",
        *[f"- {p}" for p in camp.problems],
    ]
    text = "\n".join(lines) + "\n"
    print(text)
    if args.out:
        Path(args.out).write_text(text)
    sys.exit(1 if camp.problems or camp.left_after_clean_run else 0)


if __name__ == "__main__":
    main()
