"""Shadowing cost: NILSS on Lorenz-63 and Lorenz-96 (N = 40) at SciMLSensitivity's
settings (T = 20, 50 segments of 2001 steps: dt = 2e-4), and LSS for comparison.

    .venv/bin/python benchmarks/bench_shadowing.py     # writes RESULTS_shadowing.md

Each row runs in a fresh Python process with an empty compilation cache: first call
(trace, compile and run), a repeated call, peak resident memory of the process, and the
derivative. The peer (SciMLSensitivity.jl's NILSS) is Julia, which this machine does not
have: its published settings are reproduced, its timings are not.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))

ROWS = {
    "NILSS Lorenz-63, d<z>/d rho, T = 20, 50 x 2001 steps": ("lorenz63", "nilss"),
    "NILSS Lorenz-96 N = 40, d<mean x>/dF, T = 20, 50 x 2001 steps": ("lorenz96", "nilss"),
    "LSS Lorenz-63, d<z>/d rho, T = 20, dt = 0.01": ("lorenz63", "lss"),
}


def worker(system: str, method: str) -> dict:
    import resource
    import time

    import jax.numpy as jnp
    import numpy as np

    import chaosgrad as cg

    if system == "lorenz63":
        s = cg.zoo.lorenz63(solver=cg.RK4(), dt=2e-4 if method == "nilss" else 0.01)
        objective, wrt = (lambda y: y[2]), "rho"
    else:
        s = cg.zoo.lorenz96(solver=cg.RK4(), dt=2e-4)
        objective, wrt = (lambda y: jnp.mean(y)), "F"
    m = cg.NILSS(segment_time=0.4) if method == "nilss" else cg.LSS()
    call = lambda: cg.shadowing_gradient(
        s.simulator, s.y0, s.args, objective=objective, wrt=wrt, time=20.0, method=m, windows=1
    )
    t0 = time.perf_counter()
    r = call()
    first = time.perf_counter() - t0
    t0 = time.perf_counter()
    call()
    warm = time.perf_counter() - t0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    return {
        "first_s": first,
        "warm_s": warm,
        "peak_mib": peak,
        "derivative": float(np.asarray(r.derivative)[0]),
        "unstable": int(r.unstable),
        "segments": int(r.segments),
        "segment_steps": int(r.segment_steps),
    }


def main() -> None:
    if len(sys.argv) == 4 and sys.argv[1] == "--worker":
        print(json.dumps(worker(sys.argv[2], sys.argv[3])))
        return
    lines = [
        "# Shadowing cost",
        "",
        "Command: `python benchmarks/bench_shadowing.py`",
        "",
        f"Machine: {platform.processor() or platform.machine()}, {os.cpu_count()} logical cores, {platform.platform()}",
        "",
        "| row | first call (s) | repeated call (s) | peak memory (MiB) | derivative | unstable | segments x steps |",
        "|---|---|---|---|---|---|---|",
    ]
    for label, (system, method) in ROWS.items():
        with tempfile.TemporaryDirectory() as cache:
            env = dict(os.environ, CHAOSGRAD_COMPILATION_CACHE=cache)
            out = subprocess.run(
                [sys.executable, __file__, "--worker", system, method],
                capture_output=True,
                text=True,
                env=env,
                check=True,
            )
        r = json.loads(out.stdout.strip().splitlines()[-1])
        row = (
            f"| {label} | {r['first_s']:.2f} | {r['warm_s']:.2f} | {r['peak_mib']:.0f} | {r['derivative']:.4f} | "
            f"{r['unstable'] if method == 'nilss' else 'n/a'} | {r['segments']} x {r['segment_steps']} |"
        )
        print(row, flush=True)
        lines.append(row)
    lines += [
        "",
        "Reading the rows:",
        "",
        "- Peak memory is the whole process's (Python, JAX, XLA's compiled programs); NILSS itself keeps a few "
        "u x u and u x P matrices per segment, whatever the steps per segment.",
        "- LSS stores every step's Jacobian (n x n) and solves a sparse system over the window: its memory grows "
        "with the steps.",
        "- SciMLSensitivity.jl's NILSS at its published settings (the first two rows) could not be run here "
        "(no Julia on this machine): the rows give chaosgrad's cost at those settings, not a ratio.",
    ]
    with open(os.path.join(HERE, "RESULTS_shadowing.md"), "w") as fh:
        fh.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
