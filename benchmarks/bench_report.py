"""How long ``chaosgrad report`` takes to re-render a saved analysis, with and without the PDF.

    python benchmarks/bench_report.py                          # writes RESULTS_report.md
    python benchmarks/bench_report.py --baseline /path/to/old  # also times another checkout
    python benchmarks/bench_report.py --results R.json --runs 5 --no-write

Each run is a fresh process, ``python -m chaosgrad report RESULTS --out TMP --format F -q``,
timed by wall clock from start to exit (imports, reading the JSON, drawing the figures,
Chromium's print, writing the files): what a user waits for. Without ``--results`` the
results file is made first by ``chaosgrad analyze lorenz63 --fast --format json``.

With ``--baseline DIR`` (a folder holding another version's ``chaosgrad`` package) the
runs of the two versions alternate, so that a change in the machine's load hits both
alike; the ratio of their medians is the number to read on a shared machine. The load
average before and after is recorded beside the times.

Target (information, not a test): the median with the PDF under 3 s on 2 cores.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
FORMATS = ("html,json", "html,pdf,json")
TARGET_S = 3.0


def _env(root: str) -> dict:
    return {**os.environ, "PYTHONPATH": root}


def make_results(folder: str) -> str:
    """A results file of the Lorenz-63 analysis (--fast), written into ``folder``."""
    subprocess.run(
        [sys.executable, "-m", "chaosgrad", "analyze", "lorenz63", "--fast", "--format", "json", "--out", folder, "-q"],
        cwd=folder,
        env=_env(ROOT),
        check=True,
        stdout=subprocess.DEVNULL,
    )
    return os.path.join(folder, "lorenz63", "results.json")


def time_report(root: str, results: str, formats: str, out: str) -> float:
    """Wall seconds of one ``chaosgrad report`` process of the package under ``root``."""
    start = time.perf_counter()
    # cwd is a scratch folder: `python -m` puts it first on sys.path, PYTHONPATH decides.
    subprocess.run(
        [sys.executable, "-m", "chaosgrad", "report", results, "--out", out, "--format", formats, "-q"],
        cwd=out,
        env=_env(root),
        check=True,
        stdout=subprocess.DEVNULL,
    )
    return time.perf_counter() - start


def machine() -> dict:
    model = (
        next((ln.split(":", 1)[1].strip() for ln in open("/proc/cpuinfo") if ln.startswith("model name")), "unknown")
        if os.path.exists("/proc/cpuinfo")
        else platform.processor()
    )
    chromium = shutil.which("chromium") or shutil.which("google-chrome")
    version = (
        subprocess.run([chromium, "--version"], capture_output=True, text=True).stdout.strip() if chromium else "none"
    )
    return {"cpu": model, "cores": str(os.cpu_count()), "python": platform.python_version(), "chromium": version}


def run(variants: dict, results: str, runs: int) -> dict:
    """``{(variant, formats): [seconds, ...]}``, the variants' runs interleaved."""
    times = {(v, f): [] for v in variants for f in FORMATS}
    with tempfile.TemporaryDirectory(prefix="chaosgrad-bench-report-") as tmp:
        for root in variants.values():  # one unmeasured run each: the page cache, .pyc files
            for f in FORMATS:
                time_report(root, results, f, tmp)
        for _ in range(runs):
            for name, root in variants.items():
                for f in FORMATS:
                    times[(name, f)].append(time_report(root, results, f, tmp))
    return times


def table(times: dict) -> list[str]:
    rows = ["| version | formats | best | median | all runs (s) |", "|---|---|---|---|---|"]
    for (name, f), ts in times.items():
        rows.append(
            f"| {name} | {f} | {min(ts):.2f} s | {statistics.median(ts):.2f} s | "
            f"{' '.join(f'{t:.2f}' for t in sorted(ts))} |"
        )
    return rows


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--results", help="results.json to re-render (default: make one with analyze lorenz63 --fast)")
    p.add_argument("--baseline", help="a folder holding another version's chaosgrad package, timed alternately")
    p.add_argument("--runs", type=int, default=5)
    p.add_argument("--out", default=os.path.join(HERE, "RESULTS_report.md"))
    p.add_argument("--no-write", action="store_true", help="print only")
    a = p.parse_args()
    variants = {"this checkout": ROOT} | ({"baseline": os.path.abspath(a.baseline)} if a.baseline else {})
    with tempfile.TemporaryDirectory(prefix="chaosgrad-bench-results-") as tmp:
        results = a.results or make_results(tmp)
        load_before = os.getloadavg()
        times = run(variants, os.path.abspath(results), a.runs)
        load_after = os.getloadavg()
    lines = table(times)
    med = statistics.median(times[("this checkout", FORMATS[1])])
    lines += [
        "",
        f"with the PDF, median {med:.2f} s against the target {TARGET_S:.0f} s: "
        f"{'MET' if med < TARGET_S else 'MISSED'}",
        f"load average (1, 5, 15 min) before {load_before[0]:.1f} {load_before[1]:.1f} {load_before[2]:.1f}, "
        f"after {load_after[0]:.1f} {load_after[1]:.1f} {load_after[2]:.1f} on {os.cpu_count()} cores",
    ]
    print("\n".join(lines))
    if not a.no_write:
        head = (
            [
                "# Time to re-render a report",
                "",
                "Command: `python benchmarks/bench_report.py"
                + (" --baseline DIR" if a.baseline else "")
                + f" --runs {a.runs}`",
                "",
                "Machine:",
                "",
            ]
            + [f"- {k}: {v}" for k, v in machine().items()]
            + [""]
        )
        with open(a.out, "w") as fh:
            fh.write("\n".join(head + lines + [""]))
        print(f"wrote {a.out}")


if __name__ == "__main__":
    main()
