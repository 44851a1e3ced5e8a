"""Soak: many consecutive small analyses in one process, with flat memory and no new
compilations after the first round.

    .venv/bin/python benchmarks/soak.py [--runs 1000] [--out benchmarks/RESULTS_soak.md]

Each run is a Lyapunov spectrum and a gradient-growth measurement of the logistic map at
r = 4 from a new initial state (same shapes, new values: nothing should recompile). The
resident set size is read from /proc/self/status; compilations are counted from JAX's
compile log.
"""

from __future__ import annotations

import argparse
import logging
import platform
import time

import jax
import jax.numpy as jnp
import numpy as np

import chaosgrad as cg


def rss_mib() -> float:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


class CompileCounter(logging.Handler):
    def __init__(self):
        super().__init__()
        self.count = 0

    def emit(self, record):
        if "Compiling" in record.getMessage() or "compiling" in record.getMessage():
            self.count += 1


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=1000)
    parser.add_argument("--out", default=None)
    args = parser.parse_args()
    counter = CompileCounter()
    jax.config.update("jax_log_compiles", True)
    for name in ("jax._src.dispatch", "jax._src.interpreters.pxla", "jax._src.compiler"):
        logging.getLogger(name).addHandler(counter)
        logging.getLogger(name).setLevel(logging.WARNING)
    sim = cg.MapSimulator(lambda x, r: r * x * (1 - x))
    rng = np.random.default_rng(0)
    rows = []
    start = time.perf_counter()
    for i in range(args.runs):
        y0 = jnp.asarray([rng.uniform(0.1, 0.9)])
        res = cg.lyapunov_spectrum(sim, y0, 4.0, time=200.0)
        cg.gradient_growth(sim, y0, 4.0, horizons=(4, 8, 16), members=4)
        assert abs(res.exponents[0] - np.log(2)) < 0.2
        if i in (0, 9, args.runs // 2, args.runs - 1):
            rows.append((i + 1, rss_mib(), counter.count, time.perf_counter() - start))
    lines = [
        "# Soak: consecutive small analyses in one process",
        "",
        f"Command: `python benchmarks/soak.py --runs {args.runs}`  ",
        f"Machine: {platform.machine()}, {jax.device_count()} device(s) ({jax.default_backend()}), "
        f"Python {platform.python_version()}, jax {jax.__version__}",
        "",
        "| runs done | RSS (MiB) | compilations so far | seconds |",
        "|---|---|---|---|",
        *[f"| {n} | {r:.0f} | {c} | {t:.1f} |" for n, r, c, t in rows],
        "",
        f"RSS growth from run 10 to run {args.runs}: {rows[-1][1] - rows[1][1]:+.0f} MiB; compilations after the "
        f"first run: {rows[-1][2] - rows[0][2]}.",
    ]
    text = "\n".join(lines) + "\n"
    print(text)
    if args.out:
        open(args.out, "w").write(text)


if __name__ == "__main__":
    main()
