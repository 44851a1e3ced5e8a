"""Discrete maps: the logistic map through its period-doubling cascade, and the Hénon map.

Logistic map ``x -> r x (1 - x)`` (May, Nature 261, 459, 1976). Its Lyapunov exponent
``lambda(r) = lim (1/n) sum ln|r (1 - 2 x_i)|`` is negative on every periodic orbit and
touches 0 at each period doubling ``r_1 = 3``, ``r_2 = 1 + sqrt 6 = 3.449490``,
``r_3 = 3.544090``, ``r_4 = 3.564407``, ..., which accumulate at
``r_inf = 3.569946`` (Feigenbaum, J. Stat. Phys. 19, 25, 1978). Above ``r_inf`` chaos
(``lambda > 0``) alternates with periodic windows (the period-3 window opens at
``r = 1 + sqrt 8 = 3.828427``); at ``r = 4`` the map is conjugate to the tent map and
``lambda = ln 2`` exactly. The gradient ``d x_n / d x_0 = prod f'(x_i)`` grows or decays
like ``exp(lambda n)``, so its rate should follow ``lambda(r)`` through the cascade.

Hénon map ``(x, y) -> (1 - a x^2 + y, b x)`` (Hénon, Commun. Math. Phys. 50, 69, 1976) at
``a = 1.4, b = 0.3``: spectrum ``0.41922, -1.62319`` (Sprott 2003), sum ``ln b`` exactly.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from chaosgrad._diagnosis.types import Diagnosis
from chaosgrad._gradients.losses import FinalStateLoss
from chaosgrad._results.study import Figure, Section, Series, Study, Table
from chaosgrad._runtime.precision import float64_scope
from chaosgrad._spectra.lyapunov import lyapunov_spectrum
from chaosgrad.studies import StudySpec
from chaosgrad.studies._common import (
    diagnose_system,
    fmt,
    lam1,
    make_study,
    no_progress,
    sweep,
    transitions,
    verdict_table,
)
from chaosgrad.zoo import henon, logistic
from chaosgrad.zoo._maps import logistic_step

# Period-doubling points r_1..r_4 and their accumulation point (Feigenbaum 1978).
DOUBLINGS = (3.0, 1.0 + math.sqrt(6.0), 3.544090, 3.564407)
R_INF = 3.569946
PERIOD3 = 1.0 + math.sqrt(8.0)
HENON_LIT = (0.41922, -1.62319)


def _settings(fast: bool) -> dict:
    if fast:
        r_points = [2.9, 3.2, 3.5, 3.6, 3.7, 3.83, 3.9, 4.0]
    else:
        # Off the doubling points (step 0.025, offset 0.0125), plus r = 3 itself, the
        # period-3 window and r = 4.
        r_points = sorted({*np.round(np.arange(2.8125, 4.0, 0.025), 4).tolist(), 3.0, 3.83, 4.0})
    return dict(
        members=8 if fast else 16,
        lyapunov_time=20_000.0 if fast else 200_000.0,
        r_points=[float(r) for r in r_points],
        # Dense exponent curve (one vectorised Benettin run over all r).
        r_dense=np.linspace(2.8, 4.0, 241 if fast else 1201),
        dense_iterations=4_000 if fast else 40_000,
        r_orbit=np.linspace(2.8, 4.0, 121 if fast else 301),
        orbit_points=32 if fast else 64,
        # One set of horizons (iterations) for every r: comparable rates, one compilation.
        horizons=np.geomspace(5.0, 40.0, 8),
    )


@eqx.filter_jit
def _orbits(r, n_transient: int, n_keep: int):
    """``n_keep`` iterates of the logistic map after ``n_transient``, for every ``r``."""

    def one(r):
        step = lambda x, _: (logistic_step(x, {"r": r}), x)  # noqa: E731
        x, _ = jax.lax.scan(step, jnp.asarray([0.3]), None, length=n_transient)
        return jax.lax.scan(step, x, None, length=n_keep)[1][:, 0]

    return jax.vmap(one)(r)


def _local_maxima_near_zero(r, lam, below: float, tol: float):
    """``r`` where ``lambda(r)`` has a local maximum within ``tol`` of 0 below ``below``:
    the period doublings, where the periodic orbit loses stability (``lambda -> 0``)."""
    out = []
    for i in range(1, len(r) - 1):
        if r[i] < below and lam[i] >= lam[i - 1] and lam[i] >= lam[i + 1] and abs(lam[i]) < tol:
            out.append(float(r[i]))
    return out


def _rates_figure(cfg, lam_dense, points) -> Figure:
    x = np.asarray(cfg["r_points"])
    g = np.array([d.gradient_rate for d in points])
    return Figure(
        title="Logistic map: Lyapunov exponent and gradient growth rate against r",
        caption=(
            "lambda(r) (line, one Benettin run per r) dips at every periodic window and touches 0 at each "
            "period doubling (r = 3, 3.449, 3.544, ...), then turns positive past the accumulation point "
            f"r_inf = {R_INF}; it reaches ln 2 at r = 4 (upper dashed line). The growth rate of d x_n / d x_0 "
            "(markers with 95% intervals) follows it: the gradient vanishes on periodic orbits and explodes in chaos."
        ),
        xlabel="r",
        ylabel="rate (1 / iteration)",
        series=(
            Series("lambda(r)", np.asarray(cfg["r_dense"]), lam_dense, style="line"),
            Series(
                "gradient rate (95% interval)",
                x,
                g,
                style="marker",
                lower=np.array([d.gradient_interval[0] for d in points]),
                upper=np.array([d.gradient_interval[1] for d in points]),
            ),
            Series("ln 2", np.ones(1), np.array([math.log(2.0)]), style="hline"),
            Series("zero", np.zeros(1), np.zeros(1), style="hline"),
        ),
    )


def _orbit_figure(cfg, orbits) -> Figure:
    r = np.repeat(np.asarray(cfg["r_orbit"]), orbits.shape[1])
    return Figure(
        title="Logistic map: orbit diagram",
        caption=(
            f"The last {orbits.shape[1]} of 1000 iterates from x_0 = 0.3 at each r: one branch (fixed point) below "
            "r = 3, then 2, 4, 8, ... branches at each period doubling, a band of chaos past r_inf = 3.5699 with "
            "periodic windows (period 3 near r = 3.83). Compare with the dips of lambda(r) above."
        ),
        xlabel="r",
        ylabel="x",
        series=(Series("x_n", r, orbits.reshape(-1), style="marker"),),
    )


def _henon_table(d) -> Table:
    lam = d.lambda_physical.exponents
    se = d.lambda_physical.uncertainty
    rows = [
        ("lambda_1", f"{lam[0]:+.5f} ± {se[0]:.5f}", f"{HENON_LIT[0]:+.5f}", f"{lam[0] - HENON_LIT[0]:+.5f}"),
        ("lambda_2", f"{lam[1]:+.5f} ± {se[1]:.5f}", f"{HENON_LIT[1]:+.5f}", f"{lam[1] - HENON_LIT[1]:+.5f}"),
        ("sum", f"{lam.sum():+.5f}", f"{math.log(0.3):+.5f} (ln b, exact)", f"{lam.sum() - math.log(0.3):+.5e}"),
        (
            "gradient rate",
            f"{d.gradient_rate:+.4f} [{d.gradient_interval[0]:+.4f}, {d.gradient_interval[1]:+.4f}]",
            f"{HENON_LIT[0]:+.5f} (lambda_1)",
            f"{d.gradient_rate - HENON_LIT[0]:+.4f}",
        ),
    ]
    return Table(
        title="Hénon map (a = 1.4, b = 0.3) against the literature",
        caption="Literature: Sprott, Chaos and Time-Series Analysis (2003), App. A. The sum of the exponents is "
        "ln|det Df| = ln b at every point, so it is exact up to round-off.",
        columns=("quantity", "measured", "literature", "difference"),
        rows=tuple(rows),
    )


@dataclass(frozen=True)
class Measured:
    """What :func:`measure` computes and :func:`narrate` reports."""

    cfg: dict
    main: Diagnosis  # logistic map at r = 4
    r_dense: np.ndarray
    lam_dense: np.ndarray  # lambda(r) on r_dense
    orbits: np.ndarray  # orbit diagram, one row per r in cfg["r_orbit"]
    points: list  # one Diagnosis per r in cfg["r_points"]
    hen: Diagnosis  # Hénon map


def measure(fast: bool, progress) -> Measured:
    """Diagnose the logistic map at r = 4 and along the r sweep, lambda(r) on a dense grid,
    the orbit diagram, and the Hénon map."""
    cfg = _settings(fast)
    loss = FinalStateLoss(lambda y: y[0], name="final x_n")
    common = dict(loss=loss, horizons=cfg["horizons"], members=cfg["members"], lyapunov_time=cfg["lyapunov_time"], k=1)

    progress("logistic map at r = 4", 0, 1)
    main = diagnose_system(logistic(r=4.0), **common)

    progress("lambda(r), dense", 0, 1)
    r_dense = np.asarray(cfg["r_dense"])
    dense = lyapunov_spectrum(
        logistic().simulator,
        jnp.asarray([0.3]),
        {"r": jnp.asarray(r_dense)},
        k=1,
        transient=1000.0,
        n_intervals=cfg["dense_iterations"],
        interval=1.0,
        ensemble_axes=(None, 0),
    )
    lam_dense = np.asarray(dense.member_exponents[:, 0])
    orbits = np.asarray(_orbits(jnp.asarray(cfg["r_orbit"]), 1000, cfg["orbit_points"]))

    r_points = cfg["r_points"]
    points = sweep(r_points, lambda r: diagnose_system(logistic(r=r), **common), progress, "r")

    progress("Hénon map", 0, 1)
    hen = diagnose_system(henon(), **dict(common, k=2))
    return Measured(cfg, main, r_dense, lam_dense, orbits, points, hen)


def _findings(m: Measured) -> list[str]:
    cfg, main, r_dense, lam_dense, points, hen = m.cfg, m.main, m.r_dense, m.lam_dense, m.points, m.hen
    r_points = cfg["r_points"]
    lp, up = lam1(main)
    ln2 = math.log(2.0)
    findings = [
        f"At r = 4 the verdict is {main.verdict} ({main.physics}): lambda = {lp:.5f} ± {up:.5f} against ln 2 = "
        f"{ln2:.6f} (exact); d x_n / d x_0 grows at {main.gradient_rate:.3f} per iteration "
        f"[{main.gradient_interval[0]:.3f}, {main.gradient_interval[1]:.3f}].",
    ]
    peaks = _local_maxima_near_zero(r_dense, lam_dense, below=R_INF, tol=0.05)
    if peaks:
        findings.append(
            "lambda(r) rises to 0 and falls again (a period doubling) at r ≈ "
            + ", ".join(f"{p:.3f}" for p in peaks)
            + f" on a grid of step {r_dense[1] - r_dense[0]:.4f}; the doublings are at "
            + ", ".join(f"{p:.4f}" for p in DOUBLINGS)
            + " (Feigenbaum 1978)."
        )
    chaotic = r_dense[lam_dense > 0.01]
    if chaotic.size:
        findings.append(
            f"The first r on the grid with lambda > 0.01 is {chaotic[0]:.4f} (chaos sets in at r_inf = {R_INF})."
        )
    window = (r_dense > PERIOD3) & (r_dense < 3.84)
    if window.any():
        findings.append(
            f"In the period-3 window (r = {PERIOD3:.4f} to 3.84) lambda is at most {lam_dense[window].max():+.3f}: "
            "the orbit is periodic and gradients vanish, surrounded by chaos on both sides."
        )
    agree_pts = [
        d for d in points if d.gradient_interval[0] - lam1(d)[1] <= lam1(d)[0] <= d.gradient_interval[1] + lam1(d)[1]
    ]
    findings.append(
        f"At {len(agree_pts)} of {len(points)} sweep points the gradient rate's 95% interval contains lambda(r) "
        "(within two standard errors of lambda): the gradient follows the dynamics through the cascade."
    )
    verdicts = [d.verdict for d in points]
    for a, b, va, vb in transitions(r_points, verdicts):
        findings.append(f"The verdict changes from {va} to {vb} between r = {a:g} and r = {b:g}.")
    for r, d in zip(r_points, points):
        if d.physics == "neutral" and d.verdict.startswith("numerical"):
            findings.append(
                f"Surprise at r = {r:g}: lambda = {lam1(d)[0]:+.5f} is zero within its uncertainty (a period doubling), "
                f"but the gradient decays at {d.gradient_rate:+.5f} per iteration with a tiny interval, so the verdict "
                f"is {d.verdict}. At a bifurcation point the approach to the orbit is algebraic, not exponential: "
                "the gradient decays like a power of n, whose log-slope is small but nonzero over finite horizons."
            )
    hl = hen.lambda_physical.exponents
    findings.append(
        f"Hénon (1.4, 0.3): lambda = {hl[0]:.4f}, {hl[1]:.4f} against {HENON_LIT[0]}, {HENON_LIT[1]} (Sprott 2003); "
        f"sum {hl.sum():.5f} against ln 0.3 = {math.log(0.3):.5f}; verdict {hen.verdict} ({hen.physics}), "
        f"gradient rate {hen.gradient_rate:.3f} [{hen.gradient_interval[0]:.3f}, {hen.gradient_interval[1]:.3f}]."
    )
    return findings


def narrate(m: Measured, *, fast: bool) -> Study:
    """The study's sections, summary and findings from the numbers :func:`measure` returned."""
    cfg, main, r_dense, lam_dense, orbits, points, hen = (
        m.cfg,
        m.main,
        m.r_dense,
        m.lam_dense,
        m.orbits,
        m.points,
        m.hen,
    )
    r_points = cfg["r_points"]
    lp = lam1(main)[0]
    ln2 = math.log(2.0)
    hl = hen.lambda_physical.exponents

    sections = [
        Section(
            title="Logistic map: the period-doubling cascade",
            text=(
                f"lambda(r) on {len(r_dense)} values of r between {r_dense[0]:g} and {r_dense[-1]:g} "
                f"({cfg['dense_iterations']} iterations each, after 1000 transient iterations), and a full diagnosis "
                f"of d x_n / d x_0 ({cfg['members']} members, horizons {cfg['horizons'][0]:g} to "
                f"{cfg['horizons'][-1]:g} iterations) at {len(r_points)} values of r. One iteration is one time unit. "
                "For a map the numerical and the physical dynamics are the same float64 map, so any gap between "
                "the gradient rate and lambda would be a differentiation artefact; there is none."
            ),
            figures=(_rates_figure(cfg, lam_dense, points), _orbit_figure(cfg, orbits)),
            tables=(verdict_table("Verdict at each r", "r", r_points, points),),
        ),
        Section(
            title="Hénon map",
            text=(
                "The Hénon map at the classic parameters, diagnosed like the logistic map (same horizons and "
                "ensemble): both exponents against the literature, and the exact sum rule."
            ),
            tables=(_henon_table(hen),),
        ),
    ]
    summary = (
        f"The logistic map at r = 4 is {main.physics} with lambda = {lp:.4f} (ln 2 = {ln2:.4f}); d x_n / d x_0 "
        f"explodes at {main.gradient_rate:.3f} per iteration: verdict {main.verdict}. Sweeping r from "
        f"{r_points[0]:g} to {r_points[-1]:g} the gradient rate follows lambda(r) through the period-doubling "
        f"cascade and the periodic windows. The Hénon map gives lambda_1 = {hl[0]:.4f} against {HENON_LIT[0]}."
    )
    return make_study(
        "maps",
        "Logistic and Hénon maps: gradients through the period-doubling cascade",
        summary,
        main,
        sections,
        _findings(m),
        fast=fast,
        config={
            "r_points": r_points,
            "members": cfg["members"],
            "lyapunov_time": cfg["lyapunov_time"],
            "horizons": [float(h) for h in cfg["horizons"]],
            "dense_r": len(r_dense),
        },
        extra={"henon": hen, **{f"r={fmt(r, 5)}": d for r, d in zip(r_points, points)}},
    )


@float64_scope
def run(*, fast: bool = False, progress=None) -> Study:
    return narrate(measure(fast, progress or no_progress), fast=fast)


SPEC = StudySpec(
    name="maps",
    title="Logistic and Hénon maps",
    description="Logistic map r sweep (2.8 to 4) through the period-doubling cascade; Hénon map against Sprott 2003.",
    run=run,
)
