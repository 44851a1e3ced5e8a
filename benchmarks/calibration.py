"""Coverage of chaosgrad's 95% intervals on systems with exact rates, by simulation.

    python benchmarks/calibration.py [--groups 1000] [--out benchmarks/RESULTS_calibration.md]

For each system (tests/calibration_cases.py) and horizon list, ``groups`` independent
groups of 8 members are fitted as ``gradient_growth`` fits its members; the coverage is
the fraction of groups whose interval holds the exact rate. The exponents' error bars
are checked the same way over independent single trajectories, and the power-law
exponent's (``_gradients.laws``) on synthetic curves with an exact law.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))

import jax  # noqa: E402
import numpy as np  # noqa: E402
from calibration_cases import exponent_coverage, law_exponent_coverage, rate_coverage, systems  # noqa: E402

HORIZONS = {
    "3 short (4, 8, 16)": (4, 8, 16),
    "4 (10, 20, 40, 80)": (10, 20, 40, 80),
    "12 (10 ... 120)": tuple(range(10, 130, 10)),
}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--groups", type=int, default=1000)
    p.add_argument("--out", type=Path)
    a = p.parse_args(argv)
    rows, t0 = [], time.perf_counter()
    for s in systems():
        scale = 1.0 if s.simulator.dt >= 1 else 0.5  # horizons in time units for the flow
        for label, hz in HORIZONS.items():
            r = rate_coverage(s, np.asarray(hz, float) * scale, groups=a.groups)
            rows.append((s.name, "gradient rate", label if scale == 1 else f"{label} x 0.5", r, s.why))
            print(rows[-1][:3], {k: round(v, 4) for k, v in r.items()}, flush=True)
        for n in (400, 4000):
            r = exponent_coverage(s, groups=a.groups, intervals=n)
            rows.append((s.name, "lambda_1", f"{n} intervals", r, s.why))
            print(rows[-1][:3], {k: round(v, 5) for k, v in r.items()}, flush=True)
    for noise in ("independent", "random walk"):
        r = law_exponent_coverage(noise, groups=a.groups)
        rows.append(
            (
                f"power law T^1, {noise} scatter",
                "power-law exponent p",
                "12 (5 ... 160)",
                r,
                "p = 1 exactly (synthetic curves, the growth-law fit alone)",
            )
        )
        print(rows[-1][:3], {k: round(v, 4) for k, v in r.items()}, flush=True)
    total = time.perf_counter() - t0
    if a.out:
        machine = f"{platform.machine()}, {os.cpu_count()} cores; jax {jax.__version__}, {jax.devices()[0].platform}"
        se = (0.95 * 0.05 / a.groups) ** 0.5
        lines = [
            "# Calibration of the 95% intervals",
            "",
            f"Command: `python benchmarks/calibration.py --groups {a.groups} --out {a.out}`  ",
            f"Machine: {machine}; {total:.0f} s.  ",
            f"{a.groups} independent groups per row: a true coverage of 95% is observed within ±{2 * se:.3f} "
            "(two binomial standard deviations).",
            "",
            "| system | quantity | horizons / run | coverage | mean width | bias of the estimate | sd of the estimate | exact value |",
            "|---|---|---|---|---|---|---|---|",
        ]
        for name, what, label, r, why in rows:
            lines.append(
                f"| {name} | {what} | {label} | {r['coverage']:.3f} | {r['width']:.4g} | "
                f"{r.get('bias', float('nan')):+.2g} | {r.get('sd', float('nan')):.2g} | {why} |"
            )
        lines += [
            "",
            "Notes:",
            "- The logistic map's finite-time exponent is a coboundary (its sum telescopes through the conjugacy "
            "to the tent map), so its error falls like 1/n while batch means see 1/sqrt(n) scatter: its exponent "
            "intervals over-cover. Its gradient rate is calibrated: there the member-to-member scatter is real.",
            "- The linear flow gives the same curve for every member: there is nothing random to miss at 5%, so "
            "the interval (the curve's lack of fit and bend) covers always; the row checks that it does.",
        ]
        a.out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
