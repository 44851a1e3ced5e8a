"""Large states: what a Lyapunov spectrum and a diagnosis cost on a 1,024-dimensional map.

    .venv/bin/python benchmarks/bench_large_state.py            # every row, writes RESULTS_large_state.md
    .venv/bin/python benchmarks/bench_large_state.py --quick    # shorter spectra, prints only

The map: the Kuramoto-Sivashinsky equation of ``chaosgrad.zoo`` (L = 22, ETDRK4 at
dt = 0.25) on ``n_grid = 1538`` points, so ``(1538 - 1) // 3 = 512`` complex modes, a
1,024-dimensional real state. Every row runs in a fresh Python process with its own empty
compilation-cache folder (``CHAOSGRAD_COMPILATION_CACHE``), so "first call" includes
tracing and compiling as a user's first call does; the building of the system (its
on-attractor start, 500 time units) is timed apart. For every row it records the wall
time, the trace + compile time (JAX's monitoring events, summed over threads), the
process's peak resident memory (``resource.getrusage(...).ru_maxrss``), and the cost
estimate ``chaosgrad.spectrum_cost`` printed before the call.

Rows:

1. ``lyapunov_spectrum(k=4, time=1000)``: first call and a repeated call.
2. ``lyapunov_spectrum(k=4, time=UntilConverged(max_seconds=UNTIL_BUDGET))``: a run until
   converged, stopped by its wall-clock budget (such a run went on for over ten minutes on
   a vorticity field of this size before it had one).
3. ``diagnose(sim, y0, args)`` with its defaults (its spectra share a 30 s budget), and
   with ``lyapunov_time=UntilConverged(max_seconds=DIAGNOSE_BUDGET)``: first call (target:
   under 20 s on two cores), with the stages it went through and when.
4. The full spectrum (k = 1024): the cost estimate and the warning only; it is not run
   (the estimate says why).
5. Information: row 1 on 1536 grid points (1,022 dimensions), an FFT-friendly size.
6. ``lyapunov_spectrum(k=4, time=250)`` on 6146 grid points (a 4,096-dimensional state).

``diagnose`` is stopped after ``DIAGNOSE_TIMEOUT`` seconds; its row then lists the stages
it had reached (its ``progress`` callback, written to stderr as they come).

Not part of the test suite.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
N_GRID = 1538  # 512 modes: a 1,024-dimensional state
# The diagnose row is stopped after this long (and says where it was): the benchmark as a
# whole should fit in about ten minutes.
DIAGNOSE_TIMEOUT = 600
# The second diagnose row's budget for its spectra (``UntilConverged(max_seconds=...)``).
DIAGNOSE_BUDGET = 10.0
# The wall-clock budget of row 2 (the benchmark as a whole should fit in about ten minutes).
UNTIL_BUDGET = 60.0
# The 4,096-dimensional row: (6146 - 1) // 3 = 2048 complex modes (n_grid must be even), over a shorter time.
LARGE_GRID, LARGE_TIME = 6146, 250.0
# The information row's grid: 1536 = 2^9 x 3 points, 511 modes (a 1,022-dimensional state).
FFT_FRIENDLY = 1536


def _listen():
    from jax import monitoring

    box = {"programs": 0, "build": 0.0}

    def on(name, secs, **_):
        if name == "/jax/core/compile/backend_compile_duration":
            box["programs"] += 1
        if name in (
            "/jax/core/compile/backend_compile_duration",
            "/jax/core/compile/jaxpr_trace_duration",
            "/jax/core/compile/jaxpr_to_mlir_module_duration",
        ):
            box["build"] += secs

    monitoring.register_event_duration_secs_listener(on)
    return box


def _timed(box, fn):
    before = dict(box)
    t = time.perf_counter()
    out = fn()
    wall = time.perf_counter() - t
    return out, {
        "wall": wall,
        "trace_compile": box["build"] - before["build"],
        "programs": box["programs"] - before["programs"],
    }


def _maxrss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kB on Linux


def _system(n_grid=N_GRID):
    from chaosgrad import zoo

    t = time.perf_counter()
    s = zoo.kuramoto_sivashinsky(n_grid=int(n_grid))
    return s, time.perf_counter() - t


def _estimate(s, k, time_):
    """The cost estimate ``lyapunov_spectrum`` logs before it starts, and the warning it
    raises (``""`` when none)."""
    import warnings

    from chaosgrad._spectra.lyapunov import options_cost, warn_spectrum_cost

    options = dict(k=k, time=time_)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        warn_spectrum_cost(s.simulator, int(s.y0.size), options, caller="lyapunov_spectrum")
    return (
        options_cost(s.simulator, int(s.y0.size), options).describe(),
        bool(caught),
        (str(caught[0].message) if caught else ""),
    )


def worker_spectrum(args):
    k, what = int(args[0]), args[1]
    box = _listen()
    import chaosgrad as cg

    s, build = _system(*args[2:])
    time_ = cg.UntilConverged(max_seconds=UNTIL_BUDGET) if what == "until" else float(what)
    estimate, warned, _ = _estimate(s, k, time_)
    run = lambda: cg.lyapunov_spectrum(s.simulator, s.y0, s.args, k=k, time=time_)
    r, first = _timed(box, run)
    out = {
        "dimension": int(s.y0.size),
        "build_system": build,
        "first": first,
        "estimate": estimate,
        "warned": warned,
        "exponents": [float(x) for x in r.exponents],
        "uncertainty": [float(x) for x in r.uncertainty],
        "time": r.time,
        "stop_reason": r.stop_reason,
        "convergence": r.convergence,
    }
    if what != "until":
        _, out["repeated"] = _timed(box, run)
    out["maxrss_mb"] = _maxrss_mb()
    return out


def worker_diagnose(args):
    box = _listen()
    import chaosgrad as cg

    s, build = _system()
    started = time.perf_counter()
    stages = []

    def stage(label, done, total):  # on stderr as it happens, so a run stopped by the timeout still says where it was
        stages.append(f"{time.perf_counter() - started:.1f} s: {label}")
        print(f"STAGE {stages[-1]} ({done}/{total})", file=sys.stderr, flush=True)

    options = {} if not args else {"lyapunov_time": cg.UntilConverged(max_seconds=float(args[0]))}
    d, first = _timed(box, lambda: cg.diagnose(s.simulator, s.y0, s.args, progress=stage, **options))
    lam = d.lambda_physical
    return {
        "build_system": build,
        "first": first,
        "verdict": d.verdict,
        "physics": d.physics,
        "status": d.status,
        "lambda_1": float(lam.exponents[0]),
        "k": lam.k,
        "spectrum_time": lam.time,
        "convergence": lam.convergence,
        "maxrss_mb": _maxrss_mb(),
        "stages": stages,
        "reference": next((n for n in d.notes if n.startswith("reference dynamics")), ""),
    }


def worker_full(args):
    import chaosgrad as cg

    s, _ = _system()
    estimate, warned, text = _estimate(s, int(s.y0.size), cg.UntilConverged())
    return {"estimate": estimate, "warned": warned, "warning": text}


WORKERS = {"spectrum": worker_spectrum, "diagnose": worker_diagnose, "full": worker_full}


# ------------------------------------------------------------------ orchestration


def _spawn(name, *args, cache, timeout=None):
    """One fresh process for one worker; on ``timeout`` (seconds), ``{"timed_out": ...,
    "stages": [...]}`` with the stages it had reached."""
    env = dict(os.environ, CHAOSGRAD_COMPILATION_CACHE=cache)
    t = time.perf_counter()
    try:
        out = subprocess.run(
            [sys.executable, os.path.abspath(__file__), "--worker", name, *map(str, args)],
            capture_output=True,
            text=True,
            env=env,
            cwd=ROOT,
            check=False,
            timeout=timeout,
        )
    except subprocess.TimeoutExpired as exc:
        err = exc.stderr.decode() if isinstance(exc.stderr, bytes) else (exc.stderr or "")
        return {"timed_out": timeout, "stages": [line[6:] for line in err.splitlines() if line.startswith("STAGE ")]}
    if out.returncode != 0:
        raise RuntimeError(f"worker {name} failed:\n{out.stderr[-3000:]}")
    res = json.loads(out.stdout.strip().splitlines()[-1])
    res["process_wall"] = time.perf_counter() - t
    return res


def _b(b) -> str:
    return (
        f"{b['wall']:.2f} s (trace + compile {b['trace_compile']:.2f} s summed over threads, {b['programs']} programs)"
    )


def run_rows(quick: bool):
    rows = []
    T = 200.0 if quick else 1000.0
    with tempfile.TemporaryDirectory() as tmp:
        r = _spawn("spectrum", 4, T, cache=os.path.join(tmp, "c1"))
        rows.append(
            (
                f"lyapunov_spectrum k = 4, time = {T:g}: first call (cold cache)",
                f"{r['first']['wall']:.1f} s",
                f"{r['maxrss_mb']:.0f} MB",
                f"first {_b(r['first'])}; repeated {_b(r['repeated'])}; lambda_1..4 "
                f"{', '.join(f'{x:+.3f}' for x in r['exponents'])} (± {r['uncertainty'][0]:.3f}); "
                f"estimate: {r['estimate']}; warned: {r['warned']}; system built in {r['build_system']:.1f} s",
            )
        )
        g = _spawn("spectrum", 4, T, FFT_FRIENDLY, cache=os.path.join(tmp, "c5"))
        rows.append(
            (
                f"(information) the same with n_grid = {FFT_FRIENDLY} (a {g['dimension']}-dimensional state)",
                f"{g['first']['wall']:.1f} s",
                f"{g['maxrss_mb']:.0f} MB",
                f"first {_b(g['first'])}; repeated {_b(g['repeated'])}: the grid of 1538 points has the prime "
                f"factor 769, a slow FFT size; {FFT_FRIENDLY} = 2^9 x 3 is not",
            )
        )
        u = _spawn("spectrum", 4, "until", cache=os.path.join(tmp, "c2"))
        rows.append(
            (
                f"lyapunov_spectrum k = 4, time = UntilConverged(max_seconds={UNTIL_BUDGET:g}): first call (cold cache)",
                f"{u['first']['wall']:.1f} s",
                f"{u['maxrss_mb']:.0f} MB",
                f"{_b(u['first'])}; stop reason {u['stop_reason']} after T = {u['time']:g} ({u['convergence']}); "
                f"lambda_1 {u['exponents'][0]:+.4f} ± {u['uncertainty'][0]:.4f}; estimate: {u['estimate']}",
            )
        )
        for budget in [] if quick else [None, DIAGNOSE_BUDGET]:
            what = "defaults" if budget is None else f"lyapunov_time=UntilConverged(max_seconds={budget:g})"
            d = _spawn(
                "diagnose",
                *([] if budget is None else [budget]),
                cache=os.path.join(tmp, f"c3{budget}"),
                timeout=DIAGNOSE_TIMEOUT,
            )
            if "timed_out" in d:
                rows.append(
                    (
                        f"diagnose ({what}): first call (cold cache); target < 20 s",
                        f"> {DIAGNOSE_TIMEOUT} s",
                        "-",
                        f"MISS: stopped after {DIAGNOSE_TIMEOUT} s; stages reached (time since the call): "
                        + "; ".join(d["stages"]),
                    )
                )
                continue
            rows.append(
                (
                    f"diagnose ({what}): first call (cold cache); target < 20 s",
                    f"{d['first']['wall']:.1f} s",
                    f"{d['maxrss_mb']:.0f} MB",
                    f"{_b(d['first'])} ({'PASS' if d['first']['wall'] < 20 else 'MISS'}); stages (time since the "
                    f"call): {'; '.join(d['stages'])}; verdict {d['verdict']}, physics {d['physics']}, status "
                    f"{d['status']}, lambda_1 {d['lambda_1']:+.4f} (k = {d['k']}, T = {d['spectrum_time']:g}: "
                    f"{d['convergence']}); {d['reference']}; system built in {d['build_system']:.1f} s",
                )
            )
        if not quick:
            w = _spawn("spectrum", 4, LARGE_TIME, LARGE_GRID, cache=os.path.join(tmp, "c6"))
            rows.append(
                (
                    f"lyapunov_spectrum k = 4, time = {LARGE_TIME:g}, n_grid = {LARGE_GRID} (a {w['dimension']}-"
                    "dimensional state): first call (cold cache)",
                    f"{w['first']['wall']:.1f} s",
                    f"{w['maxrss_mb']:.0f} MB",
                    f"first {_b(w['first'])}; repeated {_b(w['repeated'])}; lambda_1..4 "
                    f"{', '.join(f'{x:+.3f}' for x in w['exponents'])} (± {w['uncertainty'][0]:.3f}); "
                    f"estimate: {w['estimate']}; warned: {w['warned']}; system built in {w['build_system']:.1f} s",
                )
            )
        f = _spawn("full", cache=os.path.join(tmp, "c4"))
        rows.append(
            (
                "lyapunov_spectrum full (k = 1024), UntilConverged(): estimate only, not run",
                "-",
                "-",
                f"estimate: {f['estimate']}; CostWarning raised: {f['warned']}",
            )
        )
    return rows


def write_results(rows, path, command, load):
    sys.path.insert(0, HERE)
    import _peers as peers

    lines = [
        "# Large states: a 1,024-dimensional map",
        "",
        f"Command: `{command}`",
        "",
        f"Kuramoto-Sivashinsky, L = 22, ETDRK4 dt = 0.25, n_grid = {N_GRID} (1,024-dimensional state); each row "
        "in a fresh process with an empty compilation-cache folder.",
        "",
        "Machine:",
        "",
    ]
    lines += [f"- {k}: {v}" for k, v in peers.machine_info().items()]
    lines += [f"- {load} (other processes share the cores: wall times rise with it)"]
    try:
        lscpu = subprocess.run(["lscpu"], capture_output=True, text=True, check=False).stdout.splitlines()[:10]
    except OSError:
        lscpu = ["(lscpu not available)"]
    lines += ["", "`lscpu | head`:", "", "```", *lscpu, "```"]
    lines += ["", "| row | wall | peak memory (maxrss) | details |", "|---|---|---|---|"]
    lines += [f"| {a} | {b} | {c} | {d} |" for a, b, c, d in rows]
    lines += [""]
    with open(path, "w") as fh:
        fh.write("\n".join(lines))


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--worker", nargs="+")
    p.add_argument("--quick", action="store_true")
    p.add_argument("--out", default=os.path.join(HERE, "RESULTS_large_state.md"))
    a = p.parse_args()
    if a.worker:
        print(json.dumps(WORKERS[a.worker[0]](a.worker[1:])))
        return
    load_start = os.getloadavg()
    rows = run_rows(a.quick)
    load = f"load average (1, 5, 15 min) at start {'/'.join(f'{x:.2f}' for x in load_start)}, at end " + "/".join(
        f"{x:.2f}" for x in os.getloadavg()
    )
    print(load)
    for row in rows:
        print(f"{row[0]}: {row[1]}, {row[2]}\n      {row[3]}")
    if not a.quick:
        write_results(rows, a.out, "python benchmarks/bench_large_state.py", load)
        print(f"wrote {a.out}")


if __name__ == "__main__":
    main()
