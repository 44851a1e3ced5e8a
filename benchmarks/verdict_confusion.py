"""Run the verdict benchmark (tests/verdict_cases.py) and print its confusion table.

    python benchmarks/verdict_confusion.py [--fast] [--out benchmarks/RESULTS_verdict.md]

Every case's expected verdict and causes come from theory (see the case's ``why``); the
table counts expected against obtained verdicts, and lists every case with its time.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))

import jax  # noqa: E402
from verdict_cases import CASES  # noqa: E402

import chaosgrad as cg  # noqa: E402


def run(cases):
    rows = []
    for case in cases:
        sim, y0, args, kw = case.build()
        t = time.perf_counter()
        try:
            d = cg.diagnose(sim, y0, args, **kw)
            got, causes, why = d.verdict, tuple(d.causes), "; ".join(d.reasons)
        except Exception as exc:  # a crash is a result of the benchmark too
            got, causes, why = "error", (), f"{type(exc).__name__}: {exc}"
        rows.append((case, got, causes, why, time.perf_counter() - t))
        ok = (got, causes) == (case.verdict, case.causes)
        print(
            f"{'ok  ' if ok else 'MISS'} {case.name:42s} {got:20s} {','.join(causes):16s} {rows[-1][-1]:6.1f} s",
            flush=True,
        )
    return rows


def table(rows) -> str:
    verdicts = list(cg.VERDICTS) + ["error"]
    counts = Counter((c.verdict, got) for c, got, *_ in rows)
    used = [v for v in verdicts if any(v in k for k in counts)]
    head = "| expected \\ obtained | " + " | ".join(used) + " |"
    lines = [head, "|" + "---|" * (len(used) + 1)]
    for e in used:
        if not any(k[0] == e for k in counts):
            continue
        lines.append(f"| {e} | " + " | ".join(str(counts.get((e, g), "")) for g in used) + " |")
    return "\n".join(lines)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--fast", action="store_true", help="skip the cases marked slow")
    p.add_argument("--out", type=Path, help="write the results as Markdown")
    a = p.parse_args(argv)
    cases = [c for c in CASES if not (a.fast and c.slow)]
    t0 = time.perf_counter()
    rows = run(cases)
    total = time.perf_counter() - t0
    right = sum((got, causes) == (c.verdict, c.causes) for c, got, causes, _, _ in rows)
    conf = table(rows)
    print(f"\n{right} of {len(rows)} cases right (verdict and causes) in {total:.0f} s\n\n{conf}")
    if a.out:
        machine = f"{platform.machine()}, {os.cpu_count()} cores, {platform.system()}; jax {jax.__version__}, {jax.devices()[0].platform}"
        lines = [
            "# Verdict benchmark",
            "",
            f"Command: `python benchmarks/verdict_confusion.py{' --fast' if a.fast else ''} --out {a.out}`  ",
            f"Machine: {machine}  ",
            f"Result: **{right} of {len(rows)}** cases with the expected verdict and causes, {total:.0f} s in all.",
            "",
            "Expected answers come from theory (the `why` column), not from running chaosgrad.",
            "",
            conf,
            "",
            "| case | expected | obtained | causes (expected / obtained) | why | time |",
            "|---|---|---|---|---|---|",
        ]
        for c, got, causes, _reasons, dt in rows:
            mark = "" if (got, causes) == (c.verdict, c.causes) else " **(miss)**"
            lines.append(
                f"| {c.name} | {c.verdict} | {got}{mark} | {', '.join(c.causes) or '-'} / {', '.join(causes) or '-'} "
                f"| {c.why} | {dt:.1f} s |"
            )
        a.out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return 0 if right == len(rows) else 1


if __name__ == "__main__":
    sys.exit(main())
