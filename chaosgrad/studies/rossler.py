"""Rössler: slow chaos, and how long a horizon the gradient rate needs to be measurable.

The Rössler attractor (a 0.2, b 0.2, c 5.7; Rössler, Phys. Lett. A 57, 397, 1976) is
chaotic with lambda_1 = 0.0714 (Sprott 2003), thirteen times slower than Lorenz-63: a
perturbation grows by a factor e only every 14 time units, about 2.4 turns around the
attractor. Over short horizons the growth of ``d x(T) / d y0`` is hidden by the O(1)
oscillation of the gradient norm along the orbit, so its fitted rate is either
consistent with zero or biased. This study measures the gradient growth rate with the
longest horizon ``T`` ranging from 10 to 640 (or 1280), each time over nine log-spaced
horizons from ``T / 16`` to ``T`` from the same ensemble members, showing from which
``T`` (equivalently, which number of e-foldings ``lambda_1 T``) the 95% interval
excludes 0 and brackets lambda_1.
"""

from __future__ import annotations

import numpy as np

from chaosgrad._diagnosis.types import Diagnosis
from chaosgrad._gradients.growth import gradient_growth
from chaosgrad._gradients.losses import FinalStateLoss
from chaosgrad._results.study import Figure, Section, Series, Study, Table
from chaosgrad._runtime.precision import float64_scope
from chaosgrad.studies import StudySpec
from chaosgrad.studies._common import diagnose_system, lam1, make_study, no_progress
from chaosgrad.zoo import rossler

LITERATURE_LAMBDA1 = 0.0714


def _settings(fast: bool) -> dict:
    # Fast mode steps Tsit5 at dt = 0.05 instead of the zoo's 0.01 (five times fewer
    # steps; lambda_1 of that map agrees with the reference within its uncertainty) and
    # still reaches T = 640, long enough for the interval to settle.
    t_max = 640.0 if fast else 1280.0
    return dict(
        dt=0.05 if fast else 0.01,
        members=12 if fast else 16,
        lyapunov_time=2000.0 if fast else 10000.0,
        horizons=np.geomspace(t_max / 16, t_max, 9),
        windows=[10.0, 20.0, 40.0, 80.0, 160.0, 320.0, 640.0] + ([] if fast else [1280.0]),
    )


def horizon_sweep(system, loss, windows, *, members: int, progress=None):
    """The gradient growth rate measured up to each longest horizon ``T`` in ``windows``.

    For each ``T``, :func:`chaosgrad.gradient_growth` over nine log-spaced horizons from
    ``T / 16`` to ``T`` (the shape ``diagnose`` uses), from ``members`` states one
    window ``T`` apart along the orbit, so that the members' windows do not overlap and
    the interval, built from their spread, is honest. Returns ``[(T, rate, low, high), ...]``.
    """
    out = []
    for i, T in enumerate(windows):
        if progress is not None:
            progress(f"horizon T = {T:g}", i, len(windows))
        g = gradient_growth(
            system.simulator,
            system.y0,
            system.args,
            loss=loss,
            horizons=np.geomspace(T / 16, T, 9),
            members=members,
        )
        out.append((float(g.horizons[-1]), float(g.rate), float(g.rate_low), float(g.rate_high)))
    return out


def _first_from_which(rows, ok) -> float | None:
    """Smallest T from which ``ok(row)`` holds for every longer T as well."""
    first = None
    for row in reversed(rows):
        if not ok(row):
            break
        first = row[0]
    return first


def measure(cfg: dict, progress) -> tuple[Diagnosis, list]:
    """The diagnosis over cfg["horizons"], and the rate against the longest horizon
    (:func:`horizon_sweep` over cfg["windows"])."""
    loss = FinalStateLoss(lambda y: y[0], name="final x(T)")
    system = rossler(dt=cfg["dt"])
    progress("diagnosis", 0, 1)
    main = diagnose_system(
        system,
        loss=loss,
        horizons=cfg["horizons"],
        members=cfg["members"],
        lyapunov_time=cfg["lyapunov_time"],
        k=3,
    )
    return main, horizon_sweep(system, loss, cfg["windows"], members=cfg["members"], progress=progress)


def _onsets(main: Diagnosis, rows) -> tuple[float | None, float | None]:
    """The T from which the interval excludes 0, and from which the rate is "measured": the
    interval excludes 0 and contains lambda_1 (to within its own 95% interval), for this T
    and every longer one."""
    lp, up = lam1(main)
    excl0 = _first_from_which(rows, lambda r: r[2] > 0)
    measured = _first_from_which(rows, lambda r: r[2] > 0 and r[2] - up <= lp <= r[3] + up)
    return excl0, measured


def _columns(rows) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(T, rate, low, high) of :func:`horizon_sweep`'s rows as arrays."""
    t, rate, low, high = (np.array([r[i] for r in rows]) for i in range(4))
    return t, rate, low, high


def _findings(main: Diagnosis, rows, *, fast: bool) -> list[str]:
    lp, up = lam1(main)
    T, _, lo, hi = _columns(rows)
    excl0, measured = _onsets(main, rows)
    findings = [
        f"Verdict {main.verdict} ({main.physics}): lambda_1 = {lp:.4f} ± {up:.4f} (literature {LITERATURE_LAMBDA1}, "
        f"Sprott 2003); over horizons up to T = {T[-1]:g} the gradient grows at {main.gradient_rate:.4f} "
        f"[{main.gradient_interval[0]:.4f}, {main.gradient_interval[1]:.4f}] per time unit.",
        "Spectrum "
        + ", ".join(f"{v:+.4f}" for v in main.lambda_physical.exponents)
        + " against 0.0714, 0, -5.3943 (Sprott 2003).",
    ]
    if excl0 is not None:
        findings.append(
            f"The interval excludes 0 from T = {excl0:g} on (lambda_1 T = {lp * excl0:.1f} e-foldings) and stays so "
            "for every longer horizon."
        )
    if measured is not None:
        findings.append(
            f"The rate is measured (interval above 0 and containing lambda_1) from T = {measured:g} on "
            f"(lambda_1 T = {lp * measured:.1f} e-foldings)."
        )
    short = [r for r in rows if r[0] < (measured or np.inf)]
    if short:
        findings.append(
            "Shorter horizons: "
            + "; ".join(f"T = {r[0]:.3g}: {r[1]:+.3f} [{r[2]:+.3f}, {r[3]:+.3f}]" for r in short)
            + ". Over a few turns of the attractor the norm of the gradient oscillates along the orbit by more "
            "than the exponential growth, and finite-time exponents fluctuate strongly from turn to turn."
        )
    findings.append(
        f"Width of the 95% interval: {hi[0] - lo[0]:.3f} at T = {T[0]:g}, {hi[-1] - lo[-1]:.4f} at T = {T[-1]:g}."
    )
    if fast:
        findings.append("Fast mode: Tsit5 at dt = 0.05 (the zoo default is 0.01), horizons up to T = 640.")
    return findings


def _section(cfg: dict, main: Diagnosis, rows) -> Section:
    lp = lam1(main)[0]
    T, rate, lo, hi = _columns(rows)
    excl0, measured = _onsets(main, rows)
    table = Table(
        title="Gradient rate against the longest horizon",
        caption=(
            "Each row is a gradient measurement over nine horizons from T/16 to T, from the same members. lambda_1 T "
            "is the number of e-foldings the physics predicts over the longest horizon."
        ),
        columns=("T", "lambda_1 T", "gradient rate", "95% interval", "excludes 0", "contains lambda_1"),
        rows=tuple(
            (
                f"{t:.4g}",
                f"{lp * t:.1f}",
                f"{r:+.4f}",
                f"[{a:+.4f}, {b:+.4f}]",
                "yes" if a > 0 else "no",
                "yes" if a <= lp <= b else "no",
            )
            for t, r, a, b in zip(T, rate, lo, hi)
        ),
    )
    figure = Figure(
        title="Gradient rate against the longest horizon",
        caption=(
            f"The growth rate of d x(T) / d y0 (markers, shaded 95% interval) measured over horizons up to T. At short T the "
            f"interval is wide or misses lambda_1 = {lp:.4f} (dashed); it excludes 0 (dashed) "
            + (f"from T = {excl0:g}" if excl0 is not None else "at no T measured")
            + " and contains lambda_1 "
            + (f"from T = {measured:g}" if measured is not None else "at no T measured")
            + ". The table below gives the number of e-foldings lambda_1 T for each T."
        ),
        xlabel="longest horizon T",
        ylabel="rate (1 / time unit)",
        xscale="log",
        series=(
            Series("gradient rate (95% interval)", T, rate, lower=lo, upper=hi, style="line+marker"),
            Series(f"lambda_1 = {lp:.4f}", np.ones(1), np.array([lp]), style="hline"),
            Series("zero", np.zeros(1), np.zeros(1), style="hline"),
        ),
    )
    return Section(
        title="How long a horizon the rate needs",
        text=(
            f"For each longest horizon T, the growth rate of the gradient over nine horizons from T/16 to T "
            f"({cfg['members']} members one window T apart on the attractor, so their windows do not overlap; "
            f"Tsit5 at dt = {cfg['dt']:g}). The gradient is with respect to the initial state, whose growth rate is "
            "lambda_1 itself (a parameter gradient would add the polynomial growth of the phase drift)."
        ),
        figures=(figure,),
        tables=(table,),
    )


def narrate(cfg: dict, main: Diagnosis, rows, *, fast: bool) -> Study:
    """The study's section, summary and findings from the numbers :func:`measure` returned."""
    lp = lam1(main)[0]
    T, _, lo, hi = _columns(rows)
    measured = _onsets(main, rows)[1]
    summary = (
        f"The Rössler attractor is {main.physics} with lambda_1 = {lp:.4f} (literature {LITERATURE_LAMBDA1}): verdict "
        f"{main.verdict}. Because lambda_1 is small, a short horizon holds few e-foldings and the rate's interval is "
        f"wide: {hi[0] - lo[0]:.3f} at T = {T[0]:g} ({lp * T[0]:.1f} e-foldings) against {hi[-1] - lo[-1]:.4f} at "
        f"T = {T[-1]:g}. "
        + (
            f"The interval excludes 0 and contains lambda_1 from T = {measured:g} on."
            if measured is not None
            else "At no T measured does the interval both exclude 0 and contain lambda_1."
        )
    )
    return make_study(
        "rossler",
        "Rössler: how long a horizon slow chaos needs",
        summary,
        main,
        [_section(cfg, main, rows)],
        _findings(main, rows, fast=fast),
        fast=fast,
        config={
            "dt": cfg["dt"],
            "members": cfg["members"],
            "lyapunov_time": cfg["lyapunov_time"],
            "windows": [float(t) for t in T],
            "window_rates": [[float(v) for v in row] for row in rows],
        },
    )


@float64_scope
def run(*, fast: bool = False, progress=None) -> Study:
    cfg = _settings(fast)
    return narrate(cfg, *measure(cfg, progress or no_progress), fast=fast)


SPEC = StudySpec(
    name="rossler",
    title="Rössler",
    description="Slow chaos (lambda_1 = 0.071): the gradient rate and its interval against the longest horizon.",
    run=run,
)
