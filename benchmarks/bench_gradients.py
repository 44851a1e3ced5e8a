"""Cost and memory of the gradient-growth measurement.

1. Cost: the whole horizon sweep (all horizons in one checkpointed pass, as
   ``chaosgrad.gradient_growth`` runs it) against one ordinary reverse-mode gradient at
   the longest horizon (``jax.grad`` through the same simulator). Target: ratio <= 3.
2. Memory: one gradient through 1,000,000 steps of Lorenz-96 (N = 40), measured as the
   peak resident memory of a fresh process (``ru_maxrss``), for the single gradient and
   for the horizon sweep. Target: < 1 GB for the whole process.

    python benchmarks/bench_gradients.py [--quick]

Times are compiled run times (best CPU time of 5); compilation is reported separately.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time

MEMORY_CHILD = r"""
import json, resource, sys, time
import jax, jax.numpy as jnp, numpy as np
import chaosgrad as cg
from chaosgrad.zoo import lorenz96
mode, n_steps = sys.argv[1], int(sys.argv[2])
system = lorenz96(N=40, F=8.0, solver=cg.RK4(), dt=0.01)
sim, y0, args = system.simulator, system.y0, system.args
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
t0 = time.perf_counter()
if mode == "single":
    c = jnp.ones(40) / jnp.sqrt(40.0)
    g = jax.jit(jax.grad(lambda y: jnp.dot(c, sim.evolve(0.0, y, args, n_steps))))(y0)
    finite = bool(jnp.all(jnp.isfinite(g)))
else:
    r = cg.gradient_growth(sim, y0, args, horizons=np.geomspace(n_steps * 0.01 / 64, n_steps * 0.01, 7), members=1)
    finite = bool(r.finite.all())
elapsed = time.perf_counter() - t0
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"peak_mb": peak / 1024, "after_import_mb": base / 1024, "seconds": elapsed, "finite": finite}))
"""


def best_of(fn, repeats=5):
    """Best CPU time of ``repeats`` calls (process CPU time is less disturbed than wall
    time by other jobs on a shared machine)."""
    times = []
    for _ in range(repeats):
        t0 = time.process_time()
        fn()
        times.append(time.process_time() - t0)
    return min(times)


def cost_rows(quick: bool):
    import jax
    import numpy as np

    import chaosgrad as cg
    from chaosgrad._gradients.growth import sweep_horizons
    from chaosgrad._gradients.horizons import plan_horizons
    from chaosgrad._gradients.losses import LinearReadout
    from chaosgrad._gradients.wrt import resolve_wrt
    from chaosgrad.zoo import lorenz63, lorenz96

    rows = []
    cases = [
        ("Lorenz-63, RK4 dt 0.01", lorenz63(solver=cg.RK4(), dt=0.01), 5.0 if quick else 100.0),
        ("Lorenz-96 N=40, RK4 dt 0.01", lorenz96(N=40, solver=cg.RK4(), dt=0.01), 5.0 if quick else 20.0),
    ]
    for label, system, t_max in cases:
        sim, y0, args = system.simulator, system.y0, system.args
        horizons = np.geomspace(t_max / 64, t_max, 10)
        plan = plan_horizons(horizons, sim.dt)
        blocks, b = plan.blocks, plan.b
        loss, sel = LinearReadout(), resolve_wrt("y0", args)
        y0s = sim.prepare(y0)[None]
        sweep = lambda: sweep_horizons(sim, y0s, args, loss, sel, b, blocks)
        n = int(blocks[-1] * b)
        single_fn = jax.jit(jax.grad(lambda y: loss.final(sim.evolve(0.0, y, args, n), y)))
        single = lambda: jax.block_until_ready(single_fn(y0))
        t0 = time.perf_counter()
        sweep()
        sweep_compile = time.perf_counter() - t0
        t0 = time.perf_counter()
        single()
        single_compile = time.perf_counter() - t0
        ts, tg = best_of(sweep), best_of(single)
        rows.append(
            {
                "case": label,
                "horizons": len(blocks),
                "longest_steps": n,
                "sweep_s": ts,
                "single_s": tg,
                "ratio": ts / tg,
                "sweep_compile_s": sweep_compile,
                "single_compile_s": single_compile,
            }
        )
    return rows


def memory_rows(quick: bool):
    n_steps = 100_000 if quick else 1_000_000
    rows = []
    for mode in ("single", "sweep"):
        out = subprocess.run(
            [sys.executable, "-c", MEMORY_CHILD, mode, str(n_steps)], capture_output=True, text=True, check=True
        )
        rows.append({"mode": mode, "steps": n_steps, **json.loads(out.stdout.strip().splitlines()[-1])})
    return rows


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="smaller problems, for a smoke run")
    args = ap.parse_args()
    import jax

    print(
        f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, jax {jax.__version__}, {jax.devices()[0].platform}"
    )
    print("\nCost of all horizons in one sweep vs one gradient at the longest horizon (target ratio <= 3)")
    print(
        f"{'case':<30} {'H':>3} {'steps':>7} {'sweep s':>9} {'single s':>9} {'ratio':>6} {'target':>7}   compile sweep / single"
    )
    for r in cost_rows(args.quick):
        ok = "PASS" if r["ratio"] <= 3 else "MISS"
        print(
            f"{r['case']:<30} {r['horizons']:>3} {r['longest_steps']:>7} {r['sweep_s']:>9.4f} {r['single_s']:>9.4f} {r['ratio']:>6.2f} {ok:>7}   {r['sweep_compile_s']:.1f} s / {r['single_compile_s']:.1f} s"
        )
    print("\nPeak memory of a fresh process, gradient through Lorenz-96 N=40 (target < 1024 MB)")
    print(f"{'mode':<8} {'steps':>9} {'peak MB':>9} {'after import MB':>16} {'seconds':>9} {'finite':>7} {'target':>7}")
    for r in memory_rows(args.quick):
        ok = "PASS" if r["peak_mb"] < 1024 else "MISS"
        print(
            f"{r['mode']:<8} {r['steps']:>9} {r['peak_mb']:>9.0f} {r['after_import_mb']:>16.0f} {r['seconds']:>9.1f} {str(r['finite']):>7} {ok:>7}"
        )


if __name__ == "__main__":
    main()
