"""Lyapunov spectra: chaosgrad against lyapax, chaotax, lyapynov and a scipy variational computation.

Three problems, each timed in this one process on this one machine:

1. Lorenz-63 (sigma, rho, beta) = (10, 28, 8/3), full spectrum over T = 2000 after a
   transient: chaosgrad, lyapax, chaotax (jitted), lyapynov (NumPy, once) and scipy
   ``solve_ivp`` (DOP853) on the variational equations with QR every interval; where
   each call's time goes (trace + compile, run, host work). The exponents are checked against the literature
   values (0.9056, 0, -14.5723) (Sprott 2003) with a 5e-3 criterion. Over T = 2000 the
   statistical error of lambda_1 is itself about 5e-3, so a second, ten times longer run
   of both JAX tools shows whether a miss is noise or bias.
2. 1024 Lorenz-63 initial states, leading exponent (k = 1) over T = 200, in one call:
   chaosgrad's ``ensemble_axes=(0, None)`` against ``lyapax.sweep``.
3. Lorenz-96, N = 40, F = 8, full spectrum over T = 100.
4. chaosgrad alone: its two tangent steps (``jax.jvp`` through the step, and the
   variational system integrated with the solver's tableau) on systems of several sizes,
   single runs and ensembles, and which one ``ODESimulator.tangent_step`` picks.

The JAX tools run at identical settings (initial state, transient, RK4 step, QR
interval, seed). Times use ``time.perf_counter`` around calls whose outputs are forced
with ``jax.block_until_ready``. "first call" includes tracing and compilation (a neutral
warm-up of JAX itself runs before anything is timed, and chaosgrad always goes first, so
it never profits from caches filled by a peer); "repeated" is the best of three further
identical calls. lyapax is timed twice: as documented (its engine is eager, so every call
compiles again) and wrapped once in ``jax.jit`` by the caller (compiled once, then
cached), which is the stronger peer for repeated calls.

Usage: ``python benchmarks/bench_lyapunov.py`` (writes benchmarks/RESULTS.md) or
``python benchmarks/bench_lyapunov.py --quick`` (small smoke run, writes nothing unless
``--results PATH`` is given).
"""

from __future__ import annotations

import argparse
import datetime
import gc
import os
import shlex
import sys
import time
from dataclasses import dataclass

# A first call compiles, as the peers' do: chaosgrad's persistent compilation cache (which
# the peers do not have) would load a program an earlier run compiled. Set it to a folder
# to measure a call that loads from it instead.
os.environ.setdefault("CHAOSGRAD_COMPILATION_CACHE", "off")

import jax  # noqa: E402

jax.config.update("jax_enable_x64", True)

import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402

import chaosgrad as cg  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _peers as peers  # noqa: E402

FULL = dict(
    l63=dict(
        y0=(1.0, 1.0, 1.0),
        dt=0.01,
        interval=0.1,
        transient=100.0,
        time=2000.0,
        long_time=20000.0,
        scipy_rtol=1e-9,
        scipy_atol=1e-9,
    ),
    ens=dict(members=1024, dt=0.01, interval=0.1, transient=20.0, time=200.0),
    l96=dict(n=40, forcing=8.0, dt=0.01, interval=0.1, transient=20.0, time=100.0),
)
QUICK = dict(
    l63=dict(
        y0=(1.0, 1.0, 1.0),
        dt=0.01,
        interval=0.1,
        transient=10.0,
        time=100.0,
        long_time=1000.0,
        scipy_rtol=1e-9,
        scipy_atol=1e-9,
    ),
    ens=dict(members=64, dt=0.01, interval=0.1, transient=5.0, time=10.0),
    l96=dict(n=40, forcing=8.0, dt=0.01, interval=0.1, transient=2.0, time=5.0),
)
# Tangent-step comparison: (label, system, N, ensemble members or 0, k or None, T).
TANGENT_CASES_FULL = (
    ("van der Pol, k = 2", "vdp", 2, 0, None, 4000.0),
    ("64 x van der Pol, k = 1", "vdp", 2, 64, 1, 300.0),
    ("Lorenz-63, k = 3", "l63", 3, 0, None, 2000.0),
    ("256 x Lorenz-63, k = 1", "l63", 3, 256, 1, 100.0),
    ("64 x Lorenz-63, k = 3", "l63", 3, 64, None, 100.0),
    ("Lorenz-96 N = 4, k = 4", "l96", 4, 0, None, 1000.0),
    ("64 x Lorenz-96 N = 4, k = 1", "l96", 4, 64, 1, 60.0),
    ("Lorenz-96 N = 10, k = 10", "l96", 10, 0, None, 300.0),
    ("Lorenz-96 N = 40, k = 10", "l96", 40, 0, 10, 150.0),
    ("Lorenz-96 N = 40, k = 40", "l96", 40, 0, None, 40.0),
    ("16 x Lorenz-96 N = 40, k = 40", "l96", 40, 16, None, 2.0),
)
TANGENT_COMPARED = 10  # intervals whose finite-time exponents the two paths are compared on
TANGENT_CASES_QUICK = tuple((c[0], c[1], c[2], c[3], c[4], c[5] / 100) for c in TANGENT_CASES_FULL[::3])
REPEATS = 3
CRITERION = 5e-3  # |lambda_i - literature_i| for every i, per the benchmark's definition
SEED = 0  # the initial tangent frame of both JAX tools (their default); not tuned


# ------------------------------------------------------------------------------ timing


def _ready(out):
    return jax.tree_util.tree_map(lambda x: x.block_until_ready() if hasattr(x, "block_until_ready") else x, out)


@dataclass
class Timing:
    """Wall and process-CPU seconds of the first call and the best repeated call, and the
    seconds of tracing, lowering and compiling within each (JAX's monitoring events)."""

    first: float
    first_cpu: float
    best: float | None = None
    best_cpu: float | None = None
    first_build: float = 0.0
    best_build: float | None = None


# Seconds JAX spent tracing, lowering to MLIR and compiling, summed over threads
# (``jax.monitoring`` duration events), so that a call's time splits into building its
# programs and the rest.
_BUILD_EVENTS = (
    "/jax/core/compile/jaxpr_trace_duration",
    "/jax/core/compile/jaxpr_to_mlir_module_duration",
    "/jax/core/compile/backend_compile_duration",
)
_BUILD = [0.0]


def _on_event(name, secs, **_):
    if name in _BUILD_EVENTS:
        _BUILD[0] += secs


jax.monitoring.register_event_duration_secs_listener(_on_event)


def _timed(fn):
    gc.collect()
    b0, c0, t0 = _BUILD[0], time.process_time(), time.perf_counter()
    out = _ready(fn())
    return time.perf_counter() - t0, time.process_time() - c0, out, _BUILD[0] - b0


def measure(tools, repeats=REPEATS):
    """First call of each tool (compilation included), in the given order; then
    ``repeats`` rounds that call every tool once more, interleaved so that a change in
    the machine's load hits all tools alike. Returns ``{name: (Timing, first output)}``."""
    out = {}
    for name, fn in tools.items():
        wall, cpu, res, build = _timed(fn)
        out[name] = (Timing(wall, cpu, float("inf"), float("inf"), build), res)
    for _ in range(repeats):
        for name, fn in tools.items():
            wall, cpu, _, build = _timed(fn)
            t = out[name][0]
            if wall < t.best:
                t.best_build = build
            t.best, t.best_cpu = min(t.best, wall), min(t.best_cpu, cpu)
    return out


def measure_once(fn):
    wall, cpu, out, build = _timed(fn)
    return Timing(wall, cpu, first_build=build), out


def engine_seconds(sim, y0, args, *, k, interval, n_intervals, repeats=REPEATS):
    """Best wall time of chaosgrad's compiled chunk program alone over ``n_intervals``
    (its calls and the logs' transfer to the host, as ``lyapunov_spectrum`` runs it),
    without the argument checks, the cost estimate, the initial frame and the summary:
    the "run" of a call, the rest of its time after building being host work."""
    from chaosgrad._spectra.lyapunov import _one_trajectory

    best = float("inf")
    for _ in range(repeats + 1):  # the first call may compile
        chunks = _one_trajectory(sim, y0, args, k, interval)
        t0 = time.perf_counter()
        chunks.run(n_intervals)
        best = min(best, time.perf_counter() - t0)
    return best


def breakdown_table(times, runs):
    """Where each call's wall time goes: building (trace, lower, compile), running (for
    chaosgrad its chunk program alone, ``engine_seconds``; for a jitted peer its repeated
    call) and the rest (host work: checks, dispatch, summary)."""
    body = []
    for tool, t in times.items():
        run = runs.get(tool)
        for call, wall, build in (("first", t.first, t.first_build), ("repeated", t.best, t.best_build)):
            if wall is None or build is None or not np.isfinite(wall):
                continue
            rest = "-" if run is None else f"{max(0.0, wall - build - run):.3f}"
            body.append([tool, call, f"{wall:.3f}", f"{build:.3f}", "-" if run is None else f"{run:.3f}", rest])
    return _md_table(
        ["tool", "call", "wall [s]", "trace + lower + compile [s]", "run [s]", "host work and dispatch (the rest) [s]"],
        body,
    )


def warm_up_jax():
    """Pay JAX's one-off process costs (backend start, LAPACK QR, scan and jvp lowering)
    on code that belongs to neither tool, so the first timed call is not charged for them."""

    def body(c, _):
        f = lambda v: jnp.stack([v[1] * v[2], -v[0], v[0] * v[1]])
        _, dq = jax.vmap(lambda col: jax.jvp(f, (c[:, 0],), (col,)), in_axes=1, out_axes=(None, 1))(c)
        return jnp.linalg.qr(dq + c)[0], None

    _ready(jax.jit(lambda a: jax.lax.scan(body, a, None, length=2)[0])(jnp.eye(3) + 0.1))
    _ready(jnp.linalg.qr(jax.random.normal(jax.random.PRNGKey(1), (2, 2))))


# -------------------------------------------------------------------------------- rows


def row_lorenz63(cfg):
    dt, tau = cfg["dt"], cfg["interval"]
    m = int(round(tau / dt))
    y0 = jnp.asarray(cfg["y0"])
    sim = cg.ODESimulator(peers.lorenz63, solver=cg.RK4(), dt=dt)
    step = peers.lyapax_rk4_step(peers.lorenz63, peers.LORENZ63, dt)

    def n_steps(T):
        return int(round(T / dt))

    def run_cg(T):
        return cg.lyapunov_spectrum(
            sim, y0, peers.LORENZ63, transient=cfg["transient"], interval=tau, time=T, seed=SEED
        )

    def run_lx(T):
        return peers.lyapax_spectrum(step, y0, dt, n_steps(T), renorm_every=m, t_transient=cfg["transient"], seed=SEED)

    T = cfg["time"]
    lx_jit = peers.lyapax_spectrum_jit(step, dt, n_steps(T), renorm_every=m, t_transient=cfg["transient"], seed=SEED)
    tools = {"chaosgrad": lambda: run_cg(T), "lyapax": lambda: run_lx(T), "lyapax + jax.jit": lambda: lx_jit(y0)}
    missing = {name: why for name in ("chaotax", "lyapynov") if (why := peers.installed(name))}
    if "chaotax" not in missing:
        cx = peers.chaotax_spectrum(step, dt, n_steps(T), n_transient=n_steps(cfg["transient"]))
        key = jax.random.PRNGKey(SEED)
        tools["chaotax"] = lambda: cx(y0, key)
    m_ = measure(tools)
    times = {name: t for name, (t, _) in m_.items()}
    res = m_["chaosgrad"][1]
    exps = {"chaosgrad": (np.asarray(res.exponents), np.asarray(res.standard_error))}
    exps.update({name: (np.asarray(m_[name][1]), None) for name in tools if name != "chaosgrad"})
    runs = {
        "chaosgrad": engine_seconds(
            sim, y0, peers.LORENZ63, k=3, interval=tau, n_intervals=int(round((cfg["transient"] + T) / tau))
        )
    }
    runs.update({name: times[name].best for name in tools if name.endswith("jax.jit")})
    if "lyapynov" not in missing:
        print("  timing lyapynov (NumPy, a Python loop per step) once ...", flush=True)
        t, e = measure_once(
            lambda: peers.lyapynov_lorenz63_spectrum(
                cfg["y0"], peers.LORENZ63, dt=dt, transient=cfg["transient"], time=T
            )
        )
        times["lyapynov"], exps["lyapynov"] = t, (e, None)
    print("  timing scipy solve_ivp (DOP853) once ...", flush=True)
    s, (e, nfev) = measure_once(
        lambda: peers.scipy_lorenz63_spectrum(
            cfg["y0"],
            peers.LORENZ63,
            transient=cfg["transient"],
            time=T,
            interval=tau,
            rtol=cfg["scipy_rtol"],
            atol=cfg["scipy_atol"],
        )
    )
    times["scipy DOP853"], exps["scipy DOP853"] = s, (e, None)

    # Same settings, ten times longer: separates statistical scatter from bias.
    TL = cfg["long_time"]
    long = {}
    res = run_cg(TL)
    long["chaosgrad"] = (np.asarray(res.exponents), np.asarray(res.standard_error))
    e = _ready(
        peers.lyapax_spectrum_jit(step, dt, n_steps(TL), renorm_every=m, t_transient=cfg["transient"], seed=SEED)(y0)
    )
    long["lyapax + jax.jit"] = (np.asarray(e), None)
    return dict(times=times, exps=exps, long=long, nfev=nfev, T=T, TL=TL, runs=runs, missing=missing)


def row_ensemble(cfg):
    dt, tau, M = cfg["dt"], cfg["interval"], cfg["members"]
    m = int(round(tau / dt))
    n = int(round(cfg["time"] / dt))
    # Initial states drawn once, uniformly in a box around the attractor (seed fixed).
    rng = np.random.default_rng(0)
    Y0 = jnp.asarray(rng.uniform([-20.0, -25.0, 0.0], [20.0, 25.0, 50.0], size=(M, 3)))
    sim = cg.ODESimulator(peers.lorenz63, solver=cg.RK4(), dt=dt)

    def step_p(state, p):
        return peers.lyapax_rk4_step(peers.lorenz63, (p["sigma"], p["rho"], p["beta"]), dt)(state)

    pb = {k: jnp.full((M,), v) for k, v in zip(("sigma", "rho", "beta"), peers.LORENZ63)}

    def run_cg():
        return cg.lyapunov_spectrum(
            sim,
            Y0,
            peers.LORENZ63,
            k=1,
            transient=cfg["transient"],
            interval=tau,
            time=cfg["time"],
            ensemble_axes=(0, None),
            seed=SEED,
        )

    def run_lx():
        return peers.lyapax_sweep(step_p, Y0, pb, dt, n, k=1, renorm_every=m, t_transient=cfg["transient"], seed=SEED)

    lx_jit = peers.lyapax_sweep_jit(step_p, dt, n, k=1, renorm_every=m, t_transient=cfg["transient"], seed=SEED)
    m_ = measure({"chaosgrad": run_cg, "lyapax": run_lx, "lyapax + jax.jit": lambda: lx_jit(Y0, pb)})
    times = {name: t for name, (t, _) in m_.items()}
    members = {"chaosgrad": np.asarray(m_["chaosgrad"][1].member_exponents)[:, 0]}
    members.update({name: np.asarray(m_[name][1])[:, 0] for name in ("lyapax", "lyapax + jax.jit")})
    return dict(times=times, members=members, M=M)


def row_lorenz96(cfg):
    dt, tau, N, F = cfg["dt"], cfg["interval"], cfg["n"], cfg["forcing"]
    m = int(round(tau / dt))
    n = int(round(cfg["time"] / dt))
    x0 = jnp.full((N,), F).at[0].add(0.01)
    sim = cg.ODESimulator(peers.lorenz96, solver=cg.RK4(), dt=dt)
    step = peers.lyapax_rk4_step(peers.lorenz96, F, dt)

    def run_cg():
        return cg.lyapunov_spectrum(sim, x0, F, transient=cfg["transient"], interval=tau, time=cfg["time"], seed=SEED)

    def run_lx():
        return peers.lyapax_spectrum(step, x0, dt, n, renorm_every=m, t_transient=cfg["transient"], seed=SEED)

    lx_jit = peers.lyapax_spectrum_jit(step, dt, n, renorm_every=m, t_transient=cfg["transient"], seed=SEED)
    m_ = measure({"chaosgrad": run_cg, "lyapax": run_lx, "lyapax + jax.jit": lambda: lx_jit(x0)})
    times = {name: t for name, (t, _) in m_.items()}
    exps = {"chaosgrad": np.asarray(m_["chaosgrad"][1].exponents)}
    exps.update({name: np.asarray(m_[name][1]) for name in ("lyapax", "lyapax + jax.jit")})
    return dict(times=times, exps=exps, N=N)


def row_tangent_paths(cases, dt=0.01, interval=0.1):
    """CPU time of both tangent paths per case (best of ``REPEATS``, interleaved)."""
    from chaosgrad._simulators.ode import _VARIATIONAL_MIN_SIZE

    rows = []
    for label, name, N, M, k, T in cases:
        vf, args, y0 = peers.tangent_system(name, N)
        sim = cg.ODESimulator(vf, solver=cg.RK4(), dt=dt)
        kk = N if k is None else k
        kw = dict(k=kk, transient=1.0, interval=interval, time=T, seed=SEED)
        if M:
            y0 = y0 + 0.1 * jax.random.normal(jax.random.PRNGKey(1), (M, N))
            kw["ensemble_axes"] = (0, None)
        tools = {
            path: (lambda path=path: cg.lyapunov_spectrum(peers.ForcedTangents(sim, path), y0, args, **kw))
            for path in ("jvp", "variational")
        }
        m_ = measure(tools)
        t_jvp, t_var = m_["jvp"][0].best_cpu, m_["variational"][0].best_cpu
        # Round-off differences between the paths grow like e^{lambda_1 t}; compare the
        # first intervals, before chaos has made the two trajectories unrelated.
        diff = float(
            np.max(
                np.abs(
                    m_["jvp"][1].finite_time_exponents[:, :TANGENT_COMPARED]
                    - m_["variational"][1].finite_time_exponents[:, :TANGENT_COMPARED]
                )
            )
        )
        size = N * (kk + 1)
        picked = "variational" if size >= _VARIATIONAL_MIN_SIZE else "jvp"
        rows.append(dict(label=label, size=size, jvp=t_jvp, var=t_var, diff=diff, picked=picked))
        print(f"  {label}: jvp {t_jvp:.3f} s, variational {t_var:.3f} s (CPU)", flush=True)
    return rows


def tangent_table(rows):
    body = [
        [
            r["label"],
            r["size"],
            f"{r['jvp']:.3f}",
            f"{r['var']:.3f}",
            f"{r['jvp'] / r['var']:.2f}",
            f"{r['diff']:.1e}",
            r["picked"],
        ]
        for r in rows
    ]
    return _md_table(
        [
            "case (RK4, dt = 0.01, QR every 0.1)",
            "entries of [u; Q^T]",
            f"jvp: CPU [s], best of {REPEATS}",
            "variational: CPU [s]",
            "speed-up of variational",
            f"largest FTLE difference, first {TANGENT_COMPARED} intervals",
            "path taken by chaosgrad",
        ],
        body,
    )


# ------------------------------------------------------------------------------ report


def _md_table(header, rows):
    out = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    out += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(out)


def _load(avg):
    return "/".join(f"{v:.2f}" for v in avg)


def _s(x):
    return "-" if x is None else f"{x:.3f}"


def _ratio(a, b):
    return None if a is None or b is None else a / b


def _wc(wall, cpu):
    return "-" if wall is None else f"{wall:.3f} ({cpu:.3f})"


def timing_table(rows):
    body = []
    for label, times in rows:
        ref = times["chaosgrad"]
        for tool, t in times.items():
            if tool == "chaosgrad":
                rf = rr = "-"
            else:
                rf = f"{ref.first / t.first:.3f}"
                rr = f"{ref.best / t.best:.3f}" if t.best is not None else f"{ref.best / t.first:.4f} (vs its one run)"
            body.append([label, tool, _wc(t.first, t.first_cpu), _wc(t.best, t.best_cpu), rf, rr])
    return _md_table(
        [
            "problem",
            "tool",
            "first call: wall (CPU) [s]",
            f"repeated, best of {REPEATS}: wall (CPU) [s]",
            "chaosgrad / tool, first",
            "chaosgrad / tool, repeated",
        ],
        body,
    )


def targets(l63, ens, l96):
    """(description, measured wall ratio, CPU-time ratio, limit, passed) per speed target."""
    out = []
    for label, times, lim_first, lim_rep in (
        ("Lorenz-63", l63["times"], 0.5, 0.25),
        ("ensemble", ens["times"], 0.5, 0.5),
        ("Lorenz-96", l96["times"], 0.5, 0.5),
    ):
        c = times["chaosgrad"]
        for peer in ("lyapax", "lyapax + jax.jit"):
            p = times[peer]
            r, rc = c.first / p.first, c.first_cpu / p.first_cpu
            out.append((f"{label}, first call: chaosgrad / {peer}", r, rc, f"<= {lim_first}", r <= lim_first))
            r, rc = c.best / p.best, c.best_cpu / p.best_cpu
            out.append((f"{label}, repeated call: chaosgrad / {peer}", r, rc, f"<= {lim_rep}", r <= lim_rep))
    sp, c = l63["times"]["scipy DOP853"], l63["times"]["chaosgrad"]
    r, rc = sp.first / c.first, sp.first_cpu / c.first_cpu
    out.append(("Lorenz-63: scipy / chaosgrad first call (speed-up)", r, rc, ">= 50", r >= 50))
    r, rc = sp.first / c.best, sp.first_cpu / c.best_cpu
    out.append(("Lorenz-63: scipy / chaosgrad repeated call (speed-up)", r, rc, ">= 50", r >= 50))
    return out


def accuracy_table(l63):
    rows = []
    lit = peers.LORENZ63_LITERATURE

    def add(tool, T, e, se):
        err = np.abs(np.asarray(e) - lit)
        ok = bool(np.all(err <= CRITERION))
        rows.append(
            [tool, f"{T:g}"]
            + [f"{v:+.5f}" for v in e]
            + [f"{err.max():.2e}", "-" if se is None else "/".join(f"{v:.1e}" for v in se), "PASS" if ok else "MISS"]
        )
        return ok

    flags = {}
    for tool, (e, se) in l63["exps"].items():
        flags[tool] = add(tool, l63["T"], e, se)
    for tool, (e, se) in l63["long"].items():
        add(tool + " (10x longer run)", l63["TL"], e, se)
    table = _md_table(
        [
            "tool",
            "T",
            "lambda_1",
            "lambda_2",
            "lambda_3",
            "largest error",
            "std. error (batch means)",
            f"all within {CRITERION:g}",
        ],
        rows,
    )
    return table, flags


def ensemble_table(ens):
    rows = []
    for tool, lam in ens["members"].items():
        rows.append(
            [
                tool,
                ens["M"],
                f"{lam.mean():.5f}",
                f"{lam.std(ddof=1) / np.sqrt(lam.size):.1e}",
                f"{lam.std(ddof=1):.4f}",
                f"{lam.min():.4f} .. {lam.max():.4f}",
            ]
        )
    return _md_table(
        ["tool", "members", "mean lambda_1", "std. error of mean", "member spread (sd)", "min .. max"], rows
    )


def l96_table(l96):
    rows = []
    for tool, e in l96["exps"].items():
        ky = cg.kaplan_yorke_dimension(e)
        rows.append([tool, f"{e[0]:.4f}", int(np.sum(e > 0)), f"{e.sum():.5f}", "-" if ky is None else f"{ky:.2f}"])
    return _md_table(
        ["tool", "lambda_1", "positive exponents", f"sum (exact -{l96['N']})", "Kaplan-Yorke dimension"], rows
    )


def settings_text(cfg, quick):
    a, b, c = cfg["l63"], cfg["ens"], cfg["l96"]
    return "\n".join(
        [
            f"- Mode: {'quick smoke run (numbers not meaningful)' if quick else 'full'}.",
            f"- All JAX runs: float64, fixed-step classical RK4, dt = {a['dt']}, QR every "
            f"{a['interval']} time units ({int(round(a['interval'] / a['dt']))} steps), initial tangent frame "
            f"from seed {SEED} (the default of both tools). chaosgrad uses `chaosgrad.RK4()`, lyapax its "
            "own `rk4_step`. Both evolve the tangent frame through the transient.",
            f"- Lorenz-63: y0 = {a['y0']}, transient {a['transient']:g}, T = {a['time']:g}; "
            f"check run T = {a['long_time']:g}. scipy: `solve_ivp(method='DOP853', rtol={a['scipy_rtol']:g}, "
            f"atol={a['scipy_atol']:g})` on the 12-dimensional variational system, same y0 and "
            f"transient (state only), identity initial frame, QR every {a['interval']} time units.",
            f"- Ensemble: {b['members']} initial states uniform in [-20, 20] x [-25, 25] x [0, 50] "
            f"(numpy seed 0), transient {b['transient']:g}, T = {b['time']:g}, k = 1. chaosgrad: "
            "`ensemble_axes=(0, None)`; lyapax: `lyapax.sweep.sweep_lyapunov_spectrum` with "
            "`state0_batch` (its parameter batch repeats (10, 28, 8/3)).",
            f"- Lorenz-96: N = {c['n']}, F = {c['forcing']:g}, x0 = F + 0.01 e_1, transient "
            f"{c['transient']:g}, T = {c['time']:g}, all {c['n']} exponents.",
        ]
    )


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small smoke run")
    parser.add_argument(
        "--results",
        default=None,
        help="Markdown file to write (default: benchmarks/RESULTS.md for a full run, nothing for --quick)",
    )
    opts = parser.parse_args(argv)
    cfg = QUICK if opts.quick else FULL
    results = opts.results or (None if opts.quick else os.path.join(os.path.dirname(__file__), "RESULTS.md"))
    started = time.perf_counter()
    date = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    machine = peers.machine_info()
    load_start = os.getloadavg()

    warm_up_jax()
    print("Lorenz-63 full spectrum ...", flush=True)
    l63 = row_lorenz63(cfg["l63"])
    print(f"Lorenz-63 ensemble of {cfg['ens']['members']} ...", flush=True)
    ens = row_ensemble(cfg["ens"])
    print(f"Lorenz-96 N = {cfg['l96']['n']} ...", flush=True)
    l96 = row_lorenz96(cfg["l96"])
    print("chaosgrad tangent steps: jvp vs variational system ...", flush=True)
    tangents = row_tangent_paths(TANGENT_CASES_QUICK if opts.quick else TANGENT_CASES_FULL)
    total = time.perf_counter() - started
    load_end = os.getloadavg()

    timing = timing_table(
        [
            (f"Lorenz-63, T = {l63['T']:g}", l63["times"]),
            (f"ensemble {ens['M']} x Lorenz-63, k = 1, T = {cfg['ens']['time']:g}", ens["times"]),
            (f"Lorenz-96 N = {l96['N']}, T = {cfg['l96']['time']:g}", l96["times"]),
        ]
    )
    acc, _ = accuracy_table(l63)
    breakdown = breakdown_table(l63["times"], l63["runs"])
    missing = "".join(
        f"\n\n{name}: not measured, it does not import here ({why}); the row keeps the other tools."
        for name, why in l63["missing"].items()
    )
    tg = targets(l63, ens, l96)
    prev_header, prev = peers.previous_targets(results) if results else (None, {})

    def _prev(d):
        if d not in prev:
            return "-"
        wall, cpu = prev[d]
        return f"{wall:.3f}" + ("" if cpu is None else f" ({cpu:.3f})")

    tg_table = _md_table(
        ["target", "measured (wall)", "same by CPU time", "limit", "result (wall)", "previous run: wall (CPU)"],
        [[d, f"{v:.3f}", f"{vc:.3f}", lim, "PASS" if ok else "MISS", _prev(d)] for d, v, vc, lim, ok in tg],
    )
    if prev_header:
        tg_table += (
            f"\n\nThe last column is read from the results file this run replaced "
            f"({prev_header}), for comparison across versions; it was measured in "
            "another process, at another load."
        )
    command = shlex.join(
        [os.path.relpath(sys.executable) if not os.path.isabs(sys.argv[0]) else sys.executable, *sys.argv]
    )
    text = (
        "\n\n".join(
            [
                "# Lyapunov benchmark: chaosgrad vs lyapax, chaotax, lyapynov and scipy",
                f"Command: `{command}`  \nDate: {date}  \nTotal wall time of the script: {total:.0f} s  \n"
                f"Load average (1, 5, 15 min) at start {_load(load_start)}, at end {_load(load_end)} "
                f"(other processes on this machine share its {os.cpu_count()} cores; the interleaved "
                "repeats and best-of-three damp, but do not remove, their effect)",
                "## Machine\n\n" + "\n".join(f"- {k}: {v}" for k, v in machine.items()),
                "## Settings\n\n" + settings_text(cfg, opts.quick),
                "## Wall times\n\nRatios are chaosgrad's wall time divided by the tool's (below 1: "
                "chaosgrad is faster). In brackets: CPU seconds of this process over the same call "
                "(all threads), which other processes on the machine disturb less than wall time. "
                '"lyapax" is its documented eager call, which compiles on every call; '
                '"lyapax + jax.jit" is the same call wrapped once in `jax.jit` by the caller. scipy '
                "runs once, as does lyapynov (NumPy, one Python iteration per step, QR every step); their ratios compare "
                'with that one run. "chaotax": `chaotax.lyapunov_spectrum` (QR after every step, its only '
                "choice), eager as documented: it cannot be wrapped in `jax.jit` (it reshapes with a size computed by `jnp.prod`).\n\n"
                + timing,
                f"## Where the time goes (Lorenz-63, T = {l63['T']:g})\n\nThe same calls as above. Trace + lower + "
                "compile: JAX's monitoring events, summed over threads. Run: chaosgrad's compiled chunk program alone over "
                "the same intervals (its calls and the logs' transfer; best of its own repeats), or a jitted peer's "
                "repeated call. The rest: host work (argument checks, the cost estimate, dispatch, the summary).\n\n"
                + breakdown
                + missing,
                "## Targets\n\n" + tg_table,
                "## Lorenz-63 exponents (literature 0.9056, 0, -14.5723; Sprott 2003)\n\n"
                + acc
                + f"\n\nscipy used {l63['nfev']} evaluations of the 12-dimensional variational system.",
                "## Ensemble: leading exponent\n\n" + ensemble_table(ens),
                "## Lorenz-96 spectrum\n\n" + l96_table(l96),
                "## chaosgrad's two tangent steps\n\nThe same `lyapunov_spectrum` call with the "
                "tangent columns pushed through the RK4 step by `jax.jvp` (the default of the "
                "simulator contract) and with the variational system `u' = f(u), Q' = Df(u) Q` "
                "integrated with the same RK4 tableau on the stacked array `[u; Q^T]` (what "
                "`ODESimulator.tangent_step` does from 8 entries up). Both paths run the same "
                "transient (1 time unit) and seed; CPU time of this process, interleaved repeats. The last "
                "column is the path `ODESimulator.tangent_step` takes for that size.\n\n" + tangent_table(tangents),
            ]
        )
        + "\n"
    )
    print()
    print(text)
    if results:
        with open(results, "w") as fh:
            fh.write(text)
        print(f"wrote {results}")


if __name__ == "__main__":
    main()
