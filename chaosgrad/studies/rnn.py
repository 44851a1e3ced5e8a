"""Chaotic recurrent networks: gradients through the onset of chaos, with and without gates.

A random tanh network ``h_{t+1} = tanh(g W h_t)`` (``W_ij ~ N(0, 1/N)``) is an autonomous
map; backpropagation through time multiplies its Jacobians, so the gradient of a readout
of ``h_T`` with respect to ``h_0`` grows like ``exp(lambda_1 T)``. For ``g < 1`` the origin
attracts and ``lambda_1 = ln(g rho(W)) < 0`` exactly: gradients vanish. Above the onset
of chaos (``g = 1`` as ``N -> infinity``: Sompolinsky, Crisanti & Sommers, PRL 61, 259,
1988; Molgedey, Schuchhardt & Schuster, PRL 69, 3717, 1992 for the map) ``lambda_1 > 0``:
they explode. In both regimes the exact gradient really is that small or large; the
diagnosis calls it intrinsic.

Gated networks (GRU: Cho et al. 2014; LSTM: Hochreiter & Schmidhuber 1997) add a memory
path ``z * h`` or ``f * c`` whose Jacobian is a diagonal of gate values in (0, 1): it pulls
every exponent towards 0, so gradients vanish and explode more slowly (longer memory) and
chaos needs a larger gain. The study sweeps the gain for all three at the same horizons.
"""

from __future__ import annotations

from dataclasses import dataclass

import jax.numpy as jnp
import numpy as np

from chaosgrad._diagnosis.types import Diagnosis
from chaosgrad._results.study import Figure, Section, Series, Study, Table
from chaosgrad._runtime.precision import float64_scope
from chaosgrad.studies import StudySpec
from chaosgrad.studies._common import (
    activation_histogram_figure,
    activation_samples,
    diagnose_system,
    fmt,
    lam1,
    layerwise_gradient_figure,
    make_study,
    no_progress,
    rates_figure,
    sweep,
    transitions,
    verdict_table,
)
from chaosgrad.zoo import gru_rnn, lstm_rnn, tanh_rnn

HEADLINE_GAIN = 2.0
NETWORKS = {"tanh": tanh_rnn, "GRU": gru_rnn, "LSTM": lstm_rnn}


def _settings(fast: bool) -> dict:
    return dict(
        n=100,
        members=6 if fast else 12,
        lyapunov_time=800.0 if fast else 4000.0,
        gains={
            "tanh": [0.5, 1.0, 2.0, 3.0] if fast else [0.5, 0.75, 1.0, 1.25, 1.5, 2.0, 2.5, 3.0],
            "GRU": [0.5, 2.0] if fast else [0.5, 1.0, 1.5, 2.0, 2.5, 3.0],
            "LSTM": [0.5, 2.0] if fast else [0.5, 1.0, 1.5, 2.0, 2.5, 3.0],
        },
        # One set of horizons (steps) for every network and gain: comparable rates, and
        # the compiled gradient sweep is reused across the gains of each network.
        horizons=np.geomspace(10.0, 160.0, 5 if fast else 9),
    )


def _rate_figure_gated(points: dict, gains: dict) -> Figure:
    series = []
    for name, ds in points.items():
        x = np.asarray(gains[name], dtype=float)
        series.append(
            Series(
                f"{name} (95% interval)",
                x,
                np.array([d.gradient_rate for d in ds]),
                style="line+marker",
                lower=np.array([d.gradient_interval[0] for d in ds]),
                upper=np.array([d.gradient_interval[1] for d in ds]),
            )
        )
    series.append(Series("zero", np.zeros(1), np.zeros(1), style="hline"))
    return Figure(
        title="Gradient rate against gain: tanh against gated networks",
        caption=(
            "Growth rate per step of d(readout of h_T)/d h_0 (95% bands) for the tanh, GRU and LSTM networks at the "
            "same gains; each lies on its network's lambda_1 (table below). Far from the tanh network's onset the "
            "gated networks stay much closer to zero on both sides, and their onset of chaos moves to larger gains."
        ),
        xlabel="gain g",
        ylabel="rate (1 / step)",
        series=tuple(series),
    )


def _memory_figure(points: dict, gains: dict) -> Figure:
    series = []
    for name, ds in points.items():
        for g_val, d in zip(gains[name], ds):
            if g_val not in (min(gains["tanh"]), HEADLINE_GAIN):
                continue
            grad = d.gradient
            with np.errstate(all="ignore"):
                med = np.nanmedian(grad.norms, axis=0)
                lo, hi = np.nanmin(grad.norms, axis=0), np.nanmax(grad.norms, axis=0)
            series.append(Series(f"{name}, g = {g_val:g}", grad.horizons, med, lower=lo, upper=hi, style="line+marker"))
    return Figure(
        title="How far back the gradient reaches",
        caption=(
            "Median norm of the gradient of a unit readout of h_T with respect to h_0 against the horizon T "
            "(band: smallest to largest member), at the smallest gain and at g = 2. A straight line on this "
            "log scale is exp(rate T). The gated networks' lines are flatter: information from the start "
            "survives longer (below the onset) and sensitivity grows more slowly (above it)."
        ),
        xlabel="horizon T (steps)",
        ylabel="||d readout / d h_0||",
        yscale="log",
        series=tuple(series),
    )


def _exact_table(tanh_points, gains, n: int) -> Table:
    rows = []
    for g_val, d in zip(gains, tanh_points):
        system = tanh_rnn(n=n, g=g_val)
        W = np.asarray(system.args["W"])
        bound = float(np.log(g_val * np.linalg.norm(W, 2)))
        lp, up = lam1(d)
        exact = float(np.log(g_val * np.max(np.abs(np.linalg.eigvals(W))))) if g_val < 1 else None
        rows.append(
            (
                fmt(float(g_val), 3),
                f"{lp:+.4f} ± {up:.4f}",
                f"{exact:+.4f}" if exact is not None else "n/a (chaotic or marginal)",
                f"{bound:+.4f}",
                "yes" if lp <= bound else "NO",
            )
        )
    return Table(
        title="tanh network: lambda_1 against exact values and the Jacobian bound",
        caption=(
            "Below g = 1 the origin attracts and lambda_1 = ln(g rho(W)) exactly (rho: spectral radius). At every gain "
            "||Df|| <= g ||W||_2 because |tanh'| <= 1, so lambda_1 <= ln(g ||W||_2). Sources: Sompolinsky, Crisanti & "
            "Sommers, PRL 61, 259 (1988); Molgedey, Schuchhardt & Schuster, PRL 69, 3717 (1992)."
        ),
        columns=("g", "lambda_1 measured", "ln(g rho(W)) exact", "bound ln(g ||W||_2)", "within bound"),
        rows=tuple(rows),
    )


def _memory_table(points: dict, gains: dict) -> Table:
    """1/|rate| per network at every gain (memory below the onset, predictability above)."""
    all_gains = sorted({g for gs in gains.values() for g in gs})
    rows = []
    for g_val in all_gains:
        row = [fmt(float(g_val), 3)]
        for name in points:
            if g_val in gains[name]:
                d = points[name][gains[name].index(g_val)]
                rate = d.gradient_rate
                row.append(f"{1.0 / abs(rate):.3g} ({d.verdict})" if rate != 0 and np.isfinite(rate) else "n/a")
            else:
                row.append("not run")
        rows.append(tuple(row))
    return Table(
        title="Gradient e-folding time 1/|rate| (steps)",
        caption="How many steps the gradient takes to change by a factor e: a memory time where it vanishes, a "
        "predictability time where it explodes. Longer is better-conditioned backpropagation through time.",
        columns=("g", *points),
        rows=tuple(rows),
    )


@dataclass(frozen=True)
class Measured:
    """What :func:`measure` computes and :func:`narrate` reports."""

    main: Diagnosis  # the tanh network at HEADLINE_GAIN
    points: dict  # network name -> one Diagnosis per gain in cfg["gains"][name]
    samples: dict  # step -> activations of the headline network over 16 random starts


def measure(cfg: dict, fast: bool, progress) -> Measured:
    """Diagnose the headline tanh network, sweep the gain of all three networks, and sample
    the headline network's activations at four steps."""
    n, members, lyap_time, horizons, gains = (
        cfg["n"],
        cfg["members"],
        cfg["lyapunov_time"],
        cfg["horizons"],
        cfg["gains"],
    )
    common = dict(wrt="y0", members=members, lyapunov_time=lyap_time, horizons=horizons)

    progress(f"diagnosis of the tanh network at g = {HEADLINE_GAIN:g}", 0, 1)
    main = diagnose_system(tanh_rnn(n=n, g=HEADLINE_GAIN), k=2 if fast else 4, **common)

    points = {}
    for name, factory in NETWORKS.items():

        def at_gain(g_val, f=factory):
            return diagnose_system(f(n=n, g=float(g_val)), k=1, **common)

        points[name] = sweep(gains[name], at_gain, progress, f"{name} gain g")
    headline = tanh_rnn(n=n, g=HEADLINE_GAIN)
    T = int(horizons[-1])
    keep = sorted({1, max(1, T // 4), max(1, T // 2), T})
    starts = jnp.tanh(jnp.asarray(np.random.default_rng(3).standard_normal((16, n))))
    samples = activation_samples(headline.simulator, starts, headline.args, keep)
    return Measured(main, points, samples)


def _findings(cfg: dict, m: Measured) -> list[str]:
    n, gains, main, points = cfg["n"], cfg["gains"], m.main, m.points
    tanh_gains, tanh_points = gains["tanh"], points["tanh"]
    lp, up = lam1(main)
    findings = [
        f"At g = {HEADLINE_GAIN:g} (N = {n}) the tanh network is {main.physics}: lambda_1 = {lp:.4f} ± {up:.4f} per step, "
        f"and the gradient with respect to h_0 grows at {main.gradient_rate:.4f} per step "
        f"[{main.gradient_interval[0]:.4f}, {main.gradient_interval[1]:.4f}]: verdict {main.verdict}"
        + (f", causes {', '.join(main.causes)}." if main.causes else ", no numerical cause (AD of the map is exact)."),
    ]
    for a, b, va, vb in transitions(tanh_gains, [d.verdict for d in tanh_points]):
        findings.append(f"tanh network: the verdict changes from {va} to {vb} between g = {a:g} and g = {b:g}.")
    for a, b, va, vb in transitions(tanh_gains, [d.physics for d in tanh_points]):
        findings.append(f"tanh network: the physics changes from {va} to {vb} between g = {a:g} and g = {b:g}.")
    at_one = [d for g_val, d in zip(tanh_gains, tanh_points) if g_val == 1.0]
    if at_one:
        findings.append(
            f"The onset of chaos is at g = 1 as N -> infinity; at N = {n} finite size moves it up: lambda_1 = "
            f"{lam1(at_one[0])[0]:+.4f} at g = 1."
        )
    W = np.asarray(tanh_rnn(n=n).args["W"])
    for g_val, d in zip(tanh_gains, tanh_points):
        if g_val < 1:
            exact = float(np.log(g_val * np.max(np.abs(np.linalg.eigvals(W)))))
            findings.append(
                f"tanh network at g = {g_val:g}: lambda_1 = {lam1(d)[0]:.4f} against the exact ln(g rho(W)) = {exact:.4f}; "
                f"the gradient rate is {d.gradient_rate:.4f}."
            )
            break
    for name in ("GRU", "LSTM"):
        for g_val, d in zip(gains[name], points[name]):
            if g_val in tanh_gains:
                t = tanh_points[tanh_gains.index(g_val)]
                findings.append(
                    f"At g = {g_val:g} the {name} gradient rate is {d.gradient_rate:+.4f} per step against "
                    f"{t.gradient_rate:+.4f} for the tanh network ({d.verdict} vs {t.verdict})."
                )
        slower = [
            g_val
            for g_val, d in zip(gains[name], points[name])
            if g_val in tanh_gains and abs(d.gradient_rate) > abs(tanh_points[tanh_gains.index(g_val)].gradient_rate)
        ]
        if slower:
            findings.append(
                f"Surprise: at g = {', '.join(f'{v:g}' for v in slower)} the {name} gradient changes faster than the "
                "tanh network's, because the tanh network sits near its own marginal point there; the gates shrink "
                "|rate| far from it."
            )
        chaotic = [g_val for g_val, d in zip(gains[name], points[name]) if d.physics == "chaotic"]
        tanh_chaotic = [g_val for g_val, d in zip(tanh_gains, tanh_points) if d.physics == "chaotic"]
        findings.append(
            (
                f"The {name} is chaotic from g = {min(chaotic):g} on"
                if chaotic
                else f"The {name} is not chaotic at any gain swept (up to g = {gains[name][-1]:g})"
            )
            + (
                f"; the tanh network from g = {min(tanh_chaotic):g} (same sweep points where both were measured)."
                if tanh_chaotic
                else "."
            )
        )
    if main.truncation_horizon:
        findings.append(
            f"At g = {HEADLINE_GAIN:g} useful backpropagation windows are about ln 2 / lambda_1 = "
            f"{main.truncation_horizon:.1f} steps (truncated BPTT)."
        )
    return findings


def _sections(cfg: dict, m: Measured) -> list[Section]:
    n, members, horizons, gains, main, points = (
        cfg["n"],
        cfg["members"],
        cfg["horizons"],
        cfg["gains"],
        m.main,
        m.points,
    )
    tanh_gains, tanh_points = gains["tanh"], points["tanh"]
    sweep_section = Section(
        title="Gain sweep of the tanh network across the onset of chaos",
        text=(
            f"For each gain g the largest Lyapunov exponent of h -> tanh(g W h) (N = {n}, float64) and the growth rate "
            f"of the gradient of a unit readout of h_T with respect to h_0 ({members} members along the trajectory, "
            f"horizons {horizons[0]:g} to {horizons[-1]:g} steps) are measured. For gradients with respect to the initial "
            "state the expected rate is lambda_1 itself, on both sides of the onset."
        ),
        figures=(
            rates_figure(
                tanh_gains,
                tanh_points,
                xlabel="gain g",
                title="tanh network: lambda_1 and gradient rate against g",
                caption=(
                    "The gradient rate (with its 95% interval) lies on lambda_1 (within their 95% intervals) at every gain: negative "
                    "(vanishing) below the onset, positive (exploding) above it. 'numerical' equals 'physical' here "
                    "because the map is its own reference. The dashed line is zero."
                ),
            ),
        ),
        tables=(
            verdict_table("tanh network: verdict at each gain", "g", tanh_gains, tanh_points),
            _exact_table(tanh_points, tanh_gains, n),
        ),
    )
    gated_section = Section(
        title="Gated networks beside the tanh network",
        text=(
            "A GRU (update-gate bias 0) and an LSTM (forget-gate bias 1) with recurrent weights g N(0, 1/N), no input, "
            "are diagnosed at the same gains and horizons. Their additive memory paths (z * h, f * c) contribute a "
            "diagonal Jacobian of gate values in (0, 1), which pulls the exponents towards zero."
        ),
        figures=(_rate_figure_gated(points, gains), _memory_figure(points, gains)),
        tables=(_memory_table(points, gains),),
    )
    layer_section = Section(
        title="Step-wise gradient scale and activations",
        text=(
            f"The headline network's backpropagated gradient at each step of the diagnosis's longest horizon, and "
            f"the distribution of h_t at four steps over 16 random starts (g = {HEADLINE_GAIN:g})."
        ),
        figures=(
            layerwise_gradient_figure({f"tanh, g = {HEADLINE_GAIN:g}": main.gradient}, unit="step"),
            activation_histogram_figure(
                {f"step {k}": v for k, v in m.samples.items()}, title="Activations of the headline network"
            ),
        ),
    )
    return [sweep_section, gated_section, layer_section]


def narrate(cfg: dict, m: Measured, *, fast: bool) -> Study:
    """The study's sections, summary and findings from the numbers :func:`measure` returned."""
    n, gains, main, points = cfg["n"], cfg["gains"], m.main, m.points
    tanh_gains, tanh_points = gains["tanh"], points["tanh"]
    lp = lam1(main)[0]
    summary = (
        f"A random tanh RNN (N = {n}) at g = {HEADLINE_GAIN:g} is {main.physics} (lambda_1 = {lp:.3f} per step) and "
        f"its gradient with respect to the initial state explodes at {main.gradient_rate:.3f} per step: verdict "
        f"{main.verdict}. Sweeping g from {tanh_gains[0]:g} to {tanh_gains[-1]:g}, the verdict goes from "
        f"{tanh_points[0].verdict} to {tanh_points[-1].verdict} where lambda_1 changes sign; GRU and LSTM networks "
        "at the same gains have gradient rates much closer to zero."
    )
    extra = {}
    for name, ds in points.items():
        for g_val, d in zip(gains[name], ds):
            extra[f"{name} g={fmt(float(g_val), 3)}"] = d
    return make_study(
        "rnn",
        "Chaotic recurrent networks: gradients through the onset of chaos",
        summary,
        main,
        _sections(cfg, m),
        _findings(cfg, m),
        fast=fast,
        config={
            "n": n,
            "members": cfg["members"],
            "lyapunov_time": cfg["lyapunov_time"],
            "horizons": [float(h) for h in cfg["horizons"]],
            "gains": {k: [float(v) for v in vs] for k, vs in gains.items()},
            "headline_gain": HEADLINE_GAIN,
        },
        extra=extra,
    )


@float64_scope
def run(*, fast: bool = False, progress=None) -> Study:
    cfg = _settings(fast)
    return narrate(cfg, measure(cfg, fast, progress or no_progress), fast=fast)


SPEC = StudySpec(
    name="rnn",
    title="Chaotic RNN",
    description="Random tanh RNN across the onset of chaos (g 0.5 to 3), with GRU and LSTM beside it.",
    run=run,
)
