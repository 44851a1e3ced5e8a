"""How long a user waits for a diagnosis: first call, warm call, compilations.

    .venv/bin/python benchmarks/bench_diagnose.py            # every row, writes RESULTS_diagnose.md
    .venv/bin/python benchmarks/bench_diagnose.py --quick    # smaller ensemble row, prints only

Every row runs in fresh Python processes (a user runs ``diagnose`` once per set-up, so
the first call is the one that counts), each with its own empty compilation-cache folder
unless the row is about the cache. For every row it prints the trace + compile time, the
run time and the number of compiled programs (JAX's own monitoring events), and PASS or
MISS against the targets:

1. ``diagnose`` on Lorenz-63 (RK4, dt 0.01, defaults), cache off: first call <= 5 x warm.
2. The same in a second fresh process, with the persistent cache the first one filled:
   first call <= 3 x warm.
3. Tsit5 + PID controller + ``BacksolveAdjoint``, 3-D system, 4 horizons, cold cache:
   first call < 20 s (Lorenz-63 and Rössler).
4. ``systems/lorenz63.py`` (the demo: analysis and report) on a second run: < 30 s.
5. 1024 Lorenz-63 members, k = 1, T = 200, repeated call: chaosgrad <= 0.5 x lyapax +
   ``jax.jit`` (same process, same machine), and both against the machine's arithmetic
   limit: flops per step (XLA's cost analysis of one compiled step) times steps, over the
   measured peak of a dense float64 matmul loop on the same cores.
6. Information, not a target: row 5 with one host device per core
   (``XLA_FLAGS=--xla_force_host_platform_device_count=N``), so that chaosgrad shards the
   members over the cores; lyapax + ``jax.jit`` runs on one device either way.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


# ------------------------------------------------------------------ worker (one process)


def _listen():
    """Counters of JAX's compile events in this process."""
    from jax import monitoring

    box = {"programs": 0, "trace": 0.0, "lower": 0.0, "compile": 0.0}

    def on(name, secs, **_):
        if name == "/jax/core/compile/backend_compile_duration":
            box["programs"] += 1
            box["compile"] += secs
        elif name == "/jax/core/compile/jaxpr_trace_duration":
            box["trace"] += secs
        elif name == "/jax/core/compile/jaxpr_to_mlir_module_duration":
            box["lower"] += secs

    monitoring.register_event_duration_secs_listener(on)
    return box


def _timed_call(box, fn):
    before = dict(box)
    t = time.perf_counter()
    out = fn()
    wall = time.perf_counter() - t
    build = sum(box[k] - before[k] for k in ("trace", "lower", "compile"))
    return out, {
        "wall": wall,
        "trace_compile": build,
        "run": max(0.0, wall - build),
        "programs": box["programs"] - before["programs"],
    }


def worker_lorenz():
    box = _listen()
    from chaosgrad import diagnose, zoo

    s = zoo.lorenz63()
    d, first = _timed_call(box, lambda: diagnose(s.simulator, s.y0, s.args))
    d2, warm = _timed_call(box, lambda: diagnose(s.simulator, s.y0, s.args))
    same = d.gradient_rate == d2.gradient_rate
    return {"first": first, "warm": warm, "verdict": d.verdict, "rate": d.gradient_rate, "same_numbers": bool(same)}


def worker_backsolve(system):
    box = _listen()
    import diffrax

    from chaosgrad import ODESimulator, diagnose, zoo

    s = zoo.get(system)
    sim = ODESimulator(
        s.simulator.vector_field,
        solver=diffrax.Tsit5(),
        dt=0.01,
        stepsize_controller=diffrax.PIDController(rtol=1e-6, atol=1e-9),
        adjoint=diffrax.BacksolveAdjoint(),
    )
    wrt, horizons = {"lorenz63": ("rho", (1.0, 2.0, 4.0, 8.0)), "rossler": ("c", (5.0, 10.0, 20.0, 40.0))}[system]
    d, first = _timed_call(box, lambda: diagnose(sim, s.y0, s.args, wrt=wrt, horizons=horizons))
    return {"first": first, "verdict": d.verdict, "causes": list(d.causes), "horizons": list(horizons), "wrt": wrt}


def _cost_flops(compiled) -> float:
    cost = compiled.cost_analysis()
    cost = cost[0] if isinstance(cost, (list, tuple)) else cost
    return float(cost.get("flops", float("nan")))


def worker_peak():
    """Dense float64 matmul loop: the machine's arithmetic peak as XLA reaches it."""
    import jax
    import jax.numpy as jnp

    jax.config.update("jax_enable_x64", True)
    n, reps = 512, 40
    a = jnp.asarray(jax.random.normal(jax.random.PRNGKey(0), (n, n)) / n)

    @jax.jit
    def loop(x):
        return jax.lax.fori_loop(0, reps, lambda i, y: y @ a, x)

    loop(a).block_until_ready()
    best = min(_wall(lambda: loop(a).block_until_ready()) for _ in range(5))
    return {"flops_per_s": 2 * n**3 * reps / best, "n": n}


def _wall(fn):
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def worker_ensemble(members, T):
    import jax
    import jax.numpy as jnp
    import numpy as np

    sys.path.insert(0, HERE)
    import _peers as peers

    import chaosgrad as cg

    jax.config.update("jax_enable_x64", True)
    dt, tau, transient = 0.01, 0.1, 20.0
    m, n = int(round(tau / dt)), int(round(T / dt))
    rng = np.random.default_rng(0)
    Y0 = jnp.asarray(rng.uniform([-20.0, -25.0, 0.0], [20.0, 25.0, 50.0], size=(members, 3)))
    sim = cg.ODESimulator(peers.lorenz63, solver=cg.RK4(), dt=dt)

    def step_p(state, p):
        return peers.lyapax_rk4_step(peers.lorenz63, (p["sigma"], p["rho"], p["beta"]), dt)(state)

    pb = {k: jnp.full((members,), v) for k, v in zip(("sigma", "rho", "beta"), peers.LORENZ63)}
    lx = peers.lyapax_sweep_jit(step_p, dt, n, k=1, renorm_every=m, t_transient=transient, seed=0)

    def run_cg():
        return cg.lyapunov_spectrum(
            sim, Y0, peers.LORENZ63, k=1, transient=transient, interval=tau, time=T, ensemble_axes=(0, None), seed=0
        )

    def run_lx():
        return np.asarray(lx(Y0, pb))

    # The floor of any engine that steps with the user's step: the member tangent step
    # (vmapped, members on the last axis, as chaosgrad runs it) alone in one XLA loop
    # over the same steps, with no renormalisation, logs or summary.
    member_step = jax.vmap(sim.tangent_step, in_axes=(None, -1, -1, None), out_axes=-1)
    n_steps = int(round((transient + T) / dt))

    @jax.jit
    def steps_alone(y, Q):
        def body(_, carry):
            t, y, Q = carry
            y, Q = member_step(t, y, Q, peers.LORENZ63)
            return t + dt, y, Q

        return jax.lax.fori_loop(0, n_steps, body, (jnp.asarray(0.0), y, Q))

    Q0 = jnp.full((3, 1, members), 1.0 / np.sqrt(3.0))

    def run_steps():
        return jax.block_until_ready(steps_alone(Y0.T, Q0))

    box = _listen()
    _, cg_first = _timed_call(box, run_cg)
    _, lx_first = _timed_call(box, run_lx)
    run_steps()
    times = {"chaosgrad": [], "lyapax + jax.jit": [], "tangent steps alone": []}
    for _ in range(3):  # interleaved, best of three
        times["chaosgrad"].append(_wall(run_cg))
        times["lyapax + jax.jit"].append(_wall(run_lx))
        times["tangent steps alone"].append(_wall(run_steps))
    # Flops of one tangent step of one member, as XLA counts them for the compiled step.
    Q = jnp.eye(3)[:, :1]
    step = jax.jit(lambda y, Q: sim.tangent_step(0.0, y, Q, peers.LORENZ63)).lower(Y0[0], Q).compile()
    flops_step = _cost_flops(step)
    steps = members * (transient + T) / dt
    res = run_cg()
    lam = float(res.exponents[0])
    return {
        "best": {k: min(v) for k, v in times.items()},
        "first": {"chaosgrad": cg_first, "lyapax + jax.jit": lx_first},
        "flops": flops_step * steps,
        "flops_per_step": flops_step,
        "lambda_1": lam,
        "members": members,
        "T": T,
    }


WORKERS = {
    "lorenz": lambda a: worker_lorenz(),
    "backsolve": lambda a: worker_backsolve(a[0]),
    "peak": lambda a: worker_peak(),
    "ensemble": lambda a: worker_ensemble(int(a[0]), float(a[1])),
}


NOTES = """Reading the rows:

- Trace + compile is summed over threads: `diagnose` compiles the reference's and the
  user's Lyapunov programs, the user's adjoint program and an anticipated ablation's in
  background threads while the main thread probes, runs and compiles the sweep (XLA
  compiles with the GIL released), so the sum can exceed the wall time; "run" is the
  wall time minus that sum, floored at 0. Tracing holds the GIL, so background programs
  trace one at a time (a lock), and the adjoint programs only once the sweep's program is
  lowered: traced concurrently, each ran at about half speed.
- The warm call compiles nothing (0 programs): every program of a diagnosis is reused.
- Row 1 without a cache: the critical path is the probe and the two Lyapunov programs
  (the reference's and the user's compile concurrently), the reference and user runs
  (also in the warm call), then the gradient sweep. The sweep's program does not depend
  on the horizon plan (block length and count are traced), so it compiles in the
  background during the spectra; it is started after the spectra's two programs, which
  are on the critical path (started first, it delayed them: first call 2.9-3.8 s against
  2.4-3.1 s, 5 runs each, on a machine where the warm call took 0.6-0.9 s).
- Compile policies (`chaosgrad._runtime.compile_policy`): the programs that run a bounded amount
  of work once per call (the sweep, the one-step probe, the adjoint programs) compile
  with XLA's elemental emitters, which compile faster (the Lorenz-63 sweep program
  1.0 s against 1.2 s); the Lyapunov loops keep XLA's defaults, whose loops run 10-45%
  faster on long runs. Same machine, same session, interleaved, against the commit
  before the policies (46f8e1b): row 1 first call 4.1-4.7 s against 4.6-6.0 s (warm
  0.96-1.18 s both), the adaptive Lorenz-63 row 26.9-30.9 s against 35.1-35.2 s.
- Measurements side by side (`chaosgrad._runtime.concurrent`): a Lyapunov run of one trajectory
  is a chain of small kernels on one core, and JAX runs a program on the calling thread
  with the GIL released. Once the transient has run, the reference's run at dt / 2 runs
  beside its run at dt (when the measuring time is fixed), the user's spectrum runs once
  that time is known, and the members run when the caller fixed the horizons. The
  numbers are the sequential ones (`tests/test_diagnose.py`). Nothing starts beside a
  background compilation: with measurements beside the compilations, the first call of
  row 1 took 5.1-5.7 s against 4.7-5.5 s. Same machine, interleaved, against de5a5d6:
  the demo's second run 42.3-44.8 s against 52.9 s (its sweep of 21 diagnoses 23.9-24.5
  s against 33.2 s); row 1 warm 1.33-1.46 s against 1.41-1.67 s, first call 5.7-6.6 s
  against 5.8-6.0 s.
- The machine of the table above (an AMD EPYC VM whose dense matmul peak moved between
  47 and 68 GFLOP/s from run to run within one session) runs about half as fast as the
  Intel Xeon of this file's version at commit 9adbe09 (127.9 GFLOP/s, warm diagnose
  0.52 s; there the adaptive rows took 15.9 and 18.6 s and the demo 19.0 s): the
  absolute rows miss on it while the ratio rows pass, and the same row moved by up to a
  third between two full runs an hour apart (Rössler adaptive 29.1 and 38.6 s); the
  A/B numbers above are interleaved on one machine, so they are the changes' own effect.
- The adaptive rows: a reverse solve of BacksolveAdjoint that does not get back to t = 0
  gives NaN for its member inside the one batched run (`chaosgrad._simulators.bounded_backsolve`);
  before, it raised for the whole batch and every member was rerun alone to the full
  reverse budget (about 16 s of the 33 s on Lorenz-63). What remains is compilation:
  the sweep (a `diffeqsolve` per block and its VJP, about 3 s tracing and 4 s XLA), the
  user's and the ablation's adjoint programs (about 1.5 s tracing and 2 s XLA each), and
  the adaptive probe (about 2 s).
- Ensemble row: the step loop runs outside `vmap` with the members on the last axis (each
  operation is on contiguous vectors of members), and each interval's logs are written in
  place (an `.at[i].set` had rewritten the whole logs buffer every interval). The row's
  breakdown gives the floor of any engine that steps with the user's step through XLA:
  the member tangent step alone, vmapped as chaosgrad runs it, in one XLA loop over the
  same steps with no renormalisation, logs or summary. It takes 0.46-0.53 of lyapax +
  jax.jit's whole run on this machine, so the target of 0.5 sits at that floor.
  chaosgrad's chunk loop adds 10-20% to the floor; a nested loop with only a norm and
  the logs, written by hand, adds 5-15%. The host summary took 0.22 s of a 0.85 s call
  in per-member Python and NaN-aware reductions; written as array operations over all
  members it takes 0.06 s. What is left is XLA's code for the step: about ten fusions
  of 1-4 us for an RK4 step with its tangent, on one core. Fewer fusions were not
  faster: the same step written per component gave 3 fusions and ran 18% slower, and
  its jvp 4 fusions, 14% slower. Layout changes stayed within 5%: the members first, the
  frame flat (n k, M), and k = 1 without the column vmap.
  Unrolling the step loop makes XLA fuse across steps with duplicated work (2x slower at
  unroll 2, 18x at 10). The ratio moves by about 0.05 between runs on this machine.
  Tried, with the 1024-member row: one scalar clock for all members instead of one per
  member (kept, 5-7%); the frame carried as (k, n, M) (5%, not kept); a stacked
  variational step (1.7x slower); `xla_cpu_prefer_vector_width=512` (3%); XLA's
  concurrency-optimised scheduler (no change); fast math (changes the numbers,
  rejected); two halves of the members as two programs on two threads (0.316 s against
  0.358 s); a step written by hand for Lorenz-63 as one fusion reaches 0.30 s, but it
  is not the user's step. Members stepped as independent groups in one loop body
  (kernels XLA's runtime can run side by side): 4 groups of 256 made this row 15-30%
  faster (ratio 0.53-0.59 against 0.67-0.77), but not 2048 Lorenz-63 members
  (1.18-1.36 s against 1.01-1.14 s), Rössler (2048 and 1024 members: no gain beyond
  noise) or Lorenz-96 with N = 40 (512 members: slower), so it is not kept: a rule that
  helps only this row's set-up.
  The information row: with one host device per core the ensemble is sharded over the
  cores (the README's `XLA_FLAGS`), the same exponents, at a fraction of the time; it is
  not the target's measure, which is one core against one core.
"""


# ------------------------------------------------------------------ orchestration


def _spawn(name, *args, cache, env_extra=None):
    """One fresh process for one worker; ``cache``: a folder, or ``"off"``."""
    env = dict(os.environ, CHAOSGRAD_COMPILATION_CACHE=cache, **(env_extra or {}))
    out = subprocess.run(
        [sys.executable, os.path.abspath(__file__), "--worker", name, *map(str, args)],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        check=False,
    )
    if out.returncode != 0:
        raise RuntimeError(f"worker {name} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def _breakdown(b) -> str:
    # Trace and compile times are summed over threads: a background compile overlaps the
    # main thread, so their sum can exceed the wall time (run is then shown as 0).
    return f"{b['wall']:.2f} s (trace + compile {b['trace_compile']:.2f} s summed over threads, run {b['run']:.2f} s, {b['programs']} programs)"


def _verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


def run_rows(quick: bool):
    rows, details = [], {}
    with tempfile.TemporaryDirectory() as tmp:
        # 1. cache off: compilation as it is.
        r = _spawn("lorenz", cache="off")
        ratio = r["first"]["wall"] / r["warm"]["wall"]
        rows.append(
            (
                "diagnose Lorenz-63, fresh process, no cache: first / warm",
                f"{ratio:.1f}",
                "<= 5",
                _verdict(ratio <= 5),
                f"first {_breakdown(r['first'])}; warm {_breakdown(r['warm'])}",
            )
        )
        details["lorenz_nocache"] = r
        # 2. a first process fills the cache, the second one is measured.
        cache = os.path.join(tmp, "cache")
        fill = _spawn("lorenz", cache=cache)
        r2 = _spawn("lorenz", cache=cache)
        ratio2 = r2["first"]["wall"] / r2["warm"]["wall"]
        same = fill["rate"] == r2["rate"] == r["rate"]
        rows.append(
            (
                "the same, second fresh process, persistent cache: first / warm",
                f"{ratio2:.1f}",
                "<= 3",
                _verdict(ratio2 <= 3),
                f"first {_breakdown(r2['first'])}; warm {_breakdown(r2['warm'])}; "
                f"gradient rate identical with and without the cache: {same}",
            )
        )
        details["lorenz_cache"] = {"fill": fill, "second": r2}
        # 3. adaptive + backsolve, cold cache.
        for system in ("lorenz63", "rossler"):
            b = _spawn("backsolve", system, cache=os.path.join(tmp, f"cold-{system}"))
            rows.append(
                (
                    f"Tsit5 + PID + BacksolveAdjoint, {system}, horizons {b['horizons']}: first call",
                    f"{b['first']['wall']:.1f} s",
                    "< 20 s",
                    _verdict(b["first"]["wall"] < 20),
                    f"{_breakdown(b['first'])}; verdict {b['verdict']} {b['causes']}",
                )
            )
            details[f"backsolve_{system}"] = b
        # 4. the demo, twice with one cache folder; the second is measured.
        demo_cache = os.path.join(tmp, "demo-cache")
        walls = []
        for i in range(2):
            env = dict(os.environ, CHAOSGRAD_COMPILATION_CACHE=demo_cache)
            t = time.perf_counter()
            subprocess.run(
                [sys.executable, "systems/lorenz63.py", "--out", os.path.join(tmp, f"demo{i}")],
                cwd=ROOT,
                env=env,
                check=True,
                capture_output=True,
            )
            walls.append(time.perf_counter() - t)
        rows.append(
            (
                "make demo (systems/lorenz63.py), second run",
                f"{walls[1]:.1f} s",
                "< 30 s",
                _verdict(walls[1] < 30),
                f"first run {walls[0]:.1f} s (cold cache); whole process, including imports and the report",
            )
        )
        details["demo"] = walls
    # 5. ensemble against lyapax + jit, and the arithmetic limit.
    peak = _spawn("peak", cache="off")
    M, T = (64, 20.0) if quick else (1024, 200.0)
    e = _spawn("ensemble", M, T, cache="off")
    cg_t, lx_t = e["best"]["chaosgrad"], e["best"]["lyapax + jax.jit"]
    limit = e["flops"] / peak["flops_per_s"]
    rows.append(
        (
            f"Lyapunov ensemble, {M} Lorenz-63 members, k = 1, T = {T:g}, repeated call: chaosgrad / (lyapax + jax.jit)",
            f"{cg_t / lx_t:.2f}",
            "<= 0.5",
            _verdict(cg_t / lx_t <= 0.5),
            f"chaosgrad {cg_t:.3f} s, lyapax + jax.jit {lx_t:.3f} s; the member tangent step alone in one XLA loop "
            f"(no renormalisation) {e['best']['tangent steps alone']:.3f} s = {e['best']['tangent steps alone'] / lx_t:.2f} "
            f"of lyapax; arithmetic limit {limit * 1e3:.2f} ms "
            f"({e['flops_per_step']:.0f} flops/step x {M * (20 + T) / 0.01:.3g} steps at {peak['flops_per_s'] / 1e9:.1f} GFLOP/s): "
            f"chaosgrad at {cg_t / limit:.0f}x, lyapax at {lx_t / limit:.0f}x the limit; "
            f"first calls: chaosgrad {_breakdown(e['first']['chaosgrad'])}, lyapax {_breakdown(e['first']['lyapax + jax.jit'])}",
        )
    )
    details["ensemble"], details["peak"] = e, peak
    # Not a target: the same row with the members sharded over one host device per core
    # (the README's XLA_FLAGS); lyapax + jax.jit runs on the first device either way.
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    e2 = _spawn(
        "ensemble", M, T, cache="off", env_extra={"XLA_FLAGS": f"--xla_force_host_platform_device_count={cores}"}
    )
    cg2, lx2 = e2["best"]["chaosgrad"], e2["best"]["lyapax + jax.jit"]
    rows.append(
        (
            f"(information) the same with XLA_FLAGS=--xla_force_host_platform_device_count={cores}: members sharded "
            "over the cores",
            f"{cg2 / lx2:.2f}",
            "-",
            "info",
            f"chaosgrad {cg2:.3f} s, lyapax + jax.jit {lx2:.3f} s (one device); "
            f"lambda_1 mean {e2['lambda_1']:.10f} (one device: {e['lambda_1']:.10f})",
        )
    )
    details["ensemble_sharded"] = e2
    return rows, details


def write_results(rows, path, command):
    sys.path.insert(0, HERE)
    import _peers as peers

    lines = ["# Time to a diagnosis", "", f"Command: `{command}`", "", "Machine:", ""]
    lines += [f"- {k}: {v}" for k, v in peers.machine_info().items()]
    lines += ["", "| row | measured | target | | breakdown |", "|---|---|---|---|---|"]
    lines += [f"| {a} | {b} | {c} | {d} | {e} |" for a, b, c, d, e in rows]
    lines += ["", NOTES, ""]
    with open(path, "w") as fh:
        fh.write("\n".join(lines))


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--worker", nargs="+")
    p.add_argument("--quick", action="store_true")
    p.add_argument("--out", default=os.path.join(HERE, "RESULTS_diagnose.md"))
    a = p.parse_args()
    if a.worker:
        print(json.dumps(WORKERS[a.worker[0]](a.worker[1:])))
        return
    rows, _ = run_rows(a.quick)
    for row in rows:
        print(f"{row[3]}  {row[0]}: {row[1]} (target {row[2]})\n      {row[4]}")
    if not a.quick:
        write_results(rows, a.out, "python benchmarks/bench_diagnose.py")
        print(f"wrote {a.out}")


if __name__ == "__main__":
    main()
