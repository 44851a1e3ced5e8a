"""Non-chaotic controls: explicit Euler on a damped oscillator and on the van der Pol cycle.

Damped harmonic oscillator ``x'' + 2 zeta omega x' + omega^2 x = 0`` (omega 10, zeta 0.1):
a linear, contracting flow with exponents ``Re mu = -zeta omega = -1``. Explicit Euler's
step is the linear map ``I + h A``, whose exponents are ``ln|1 + h mu| / h``; they turn
positive when ``|1 + h mu| > 1``, i.e. for ``h > 2 zeta / omega = 0.02`` (Hairer & Wanner,
*Solving ODEs II*, Sec. IV.2: the stability region of Euler is the disc
``|1 + z| <= 1``). Past that step the gradient explodes although the physics contracts:
a purely numerical explosion.

Van der Pol oscillator (mu = 1): a limit cycle, exponents ``(0, -1.06)`` (neutral
physics; gradients with respect to the initial state stay bounded). Euler keeps an
invariant closed curve at small steps, locks to periodic orbits in windows, turns the
cycle into a chaotic attractor of the map at larger steps, and finally lets the orbit
escape to infinity.

The step sweeps use the Euler map ``y -> y + h f(y)`` with ``h`` in ``args`` (the same
map as ``ODESimulator(solver=diffrax.Euler(), dt=h)``), so one compiled Benettin run
covers every step at once; the diagnoses at selected steps use the zoo systems.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import diffrax
import numpy as np

from chaosgrad._diagnosis.types import Diagnosis
from chaosgrad._gradients.losses import FinalStateLoss
from chaosgrad._results.study import Figure, Section, Series, Study
from chaosgrad._runtime.precision import float64_scope
from chaosgrad.studies import StudySpec
from chaosgrad.studies._common import (
    diagnose_system,
    fmt,
    lam1,
    make_study,
    no_progress,
    sweep,
    verdict_table,
)
from chaosgrad.studies._euler import euler_exponents, euler_threshold, step_advice
from chaosgrad.studies._euler import euler_map as euler_map  # re-exported: the tests build Euler maps from here
from chaosgrad.zoo import damped_oscillator, van_der_pol
from chaosgrad.zoo._oscillators import (
    damped_oscillator_matrix,
    damped_oscillator_vector_field,
    van_der_pol_vector_field,
)

OMEGA, ZETA = 10.0, 0.1
H_EXACT = 2.0 * ZETA / OMEGA
HEADLINE_DT = 0.25
LOSS = FinalStateLoss(lambda y: y[0], name="final x(T)")  # both systems: the gradient of x(T)


def _settings(fast: bool) -> dict:
    return dict(
        members=8 if fast else 12,
        # A readout of a limit cycle dips towards zero twice a turn, so each member's rate
        # scatters by about (log swing) / T: 16 members narrow the interval enough for the
        # flat class to be decided (with 8 it still spans flat and growing).
        vdp_members=16,
        # The cycle's zero exponent converges like 1/T (its running estimate drifts): to
        # tell it from growth over horizons of 160 (within a factor 10, |lambda| < 0.014)
        # it needs longer than the damped oscillator's exponents.
        vdp_lyapunov_time=1600.0,
        # Long enough for Euler's chaotic van der Pol map to show its gap to the
        # physics beyond the running estimate's drift; both systems are 2-dimensional.
        lyapunov_time=400.0,
        osc_dts=[0.01, 0.03] if fast else [0.005, 0.01, 0.015, 0.025, 0.03, 0.05, 0.1],
        vdp_dts=[0.05, 0.31] if fast else [0.05, 0.2, 0.27, 0.3, 0.32, 0.35],
        osc_dense=np.geomspace(0.002, 0.4, 60 if fast else 200),
        vdp_dense=np.linspace(0.01, 0.4, 79 if fast else 391),
        dense_time=100.0 if fast else 400.0,
        osc_horizons=np.geomspace(1.0, 16.0, 9),
        vdp_horizons=np.geomspace(10.0, 160.0, 9),
    )


def _osc_figure(cfg, lam_num, analytic, dts, points, h_found) -> Figure:
    hs = np.asarray(cfg["osc_dense"])
    ok = np.isfinite(lam_num)
    x = np.asarray([HEADLINE_DT if i == 0 else dts[i - 1] for i in range(len(points))])
    order = np.argsort(x)
    g = np.array([d.gradient_rate for d in points])[order]
    return Figure(
        title="Damped oscillator: explicit Euler's exponent and the gradient rate against the step",
        caption=(
            "lambda_1 of the Euler map (markers, Benettin) lies on ln|1 + h mu| / h (line, exact) and crosses zero at "
            f"h = {h_found:.5f}, against the exact 2 zeta / omega = {H_EXACT:g}; the physical exponent is -1 "
            "(dashed) at every step. The gradient rate of x(T) with respect to the initial state (line with markers, 95% "
            "interval) follows the numerical exponent, not the physical one: past the threshold the gradient "
            "explodes although the oscillator is damped."
        ),
        xlabel="step h",
        ylabel="rate (1 / time unit)",
        xscale="log",
        series=(
            Series("ln|1 + h mu| / h (exact)", hs, analytic, style="line"),
            Series("lambda_1 of the Euler map (measured)", hs[ok], lam_num[ok], style="marker"),
            Series(
                "gradient rate (95% interval)",
                x[order],
                g,
                style="line+marker",
                lower=np.array([d.gradient_interval[0] for d in points])[order],
                upper=np.array([d.gradient_interval[1] for d in points])[order],
            ),
            Series("physical lambda_1 = -1", np.ones(1), np.array([-ZETA * OMEGA]), style="hline"),
            Series("zero", np.zeros(1), np.zeros(1), style="hline"),
        ),
    )


def _vdp_figure(cfg, lam, complete, dts, points, lam_phys) -> Figure:
    hs = np.asarray(cfg["vdp_dense"])
    rates = np.array([d.gradient_rate for d in points])
    fin = np.isfinite(rates)
    escaped = hs[~complete]
    series = [
        Series("lambda_1 of the Euler map", hs[complete], lam[complete, 0], style="line"),
        Series("lambda_2 of the Euler map", hs[complete], lam[complete, 1], style="line"),
        Series(
            "gradient rate (95% interval)",
            np.asarray(dts)[fin],
            rates[fin],
            style="marker",
            lower=np.array([d.gradient_interval[0] for d in points])[fin],
            upper=np.array([d.gradient_interval[1] for d in points])[fin],
        ),
        Series(f"physical lambda_2 = {lam_phys[1]:.3f}", np.ones(1), np.array([lam_phys[1]]), style="hline"),
        Series("zero (physical lambda_1)", np.zeros(1), np.zeros(1), style="hline"),
    ]
    if escaped.size:
        series.insert(
            2, Series("orbit escapes to infinity (no exponent)", escaped, np.zeros(escaped.size), style="marker")
        )
    return Figure(
        title="Van der Pol (mu = 1): explicit Euler's exponents and the gradient rate against the step",
        caption=(
            "The physical cycle is neutral (lambda_1 = 0, dashed). Euler's map keeps lambda_1 near 0 (an invariant "
            "closed curve) with dips into negative values where it locks to a periodic orbit, turns positive where "
            "the map becomes chaotic, and its orbit escapes to infinity at larger steps (markers on the zero line). "
            "The gradient rate (markers with 95% intervals; none where the gradient is non-finite) follows the map. "
            "Euler's lambda_2 departs from the physical one long before lambda_1 does."
        ),
        xlabel="step h",
        ylabel="rate (1 / time unit)",
        series=tuple(series),
    )


@dataclass(frozen=True)
class Damped:
    """The damped oscillator's numbers: diagnoses, Euler's exponents, the threshold bracket."""

    main: Diagnosis  # at HEADLINE_DT, its step advice reconciled with the threshold
    points: list  # one Diagnosis per cfg["osc_dts"]
    lam: np.ndarray  # Euler's exponents on cfg["osc_dense"]
    analytic: np.ndarray  # ln|1 + h mu| / h on cfg["osc_dense"]
    mu: np.ndarray  # eigenvalues of the oscillator
    lo: float
    hi: float


@dataclass(frozen=True)
class VanDerPol:
    """The van der Pol cycle's numbers: Euler's exponents on the dense steps and the sweep."""

    lam: np.ndarray  # Euler's exponents on cfg["vdp_dense"]
    finite: np.ndarray  # whether each dense member stayed finite
    points: list  # one Diagnosis per cfg["vdp_dts"]
    lam_phys: np.ndarray  # the physical spectrum of the cycle


def measure_damped(cfg: dict, progress) -> Damped:
    """Diagnose Euler on the damped oscillator at HEADLINE_DT and along cfg["osc_dts"], and
    bracket the step where Euler's lambda_1 turns positive."""
    osc_kw = dict(
        loss=LOSS, horizons=cfg["osc_horizons"], members=cfg["members"], lyapunov_time=cfg["lyapunov_time"], k=2
    )
    progress(f"damped oscillator, Euler dt = {HEADLINE_DT}", 0, 1)
    main = diagnose_system(damped_oscillator(omega=OMEGA, zeta=ZETA, dt=HEADLINE_DT), **osc_kw)
    osc_dts = cfg["osc_dts"]
    osc_points = sweep(
        osc_dts,
        lambda h: diagnose_system(damped_oscillator(omega=OMEGA, zeta=ZETA, dt=h), **osc_kw),
        progress,
        "damped oscillator dt",
    )

    params = {"omega": OMEGA, "zeta": ZETA}
    progress("Euler step sweep", 0, 2)
    # No transient (a linear map has no attractor to reach); past the threshold the
    # state overflows after some hundred iterations, which still fix the exponent.
    lam_osc, _ = euler_exponents(
        damped_oscillator_vector_field,
        [1.0, 0.0],
        params,
        cfg["osc_dense"],
        transient_time=0.0,
        time=cfg["dense_time"],
        until_escape=True,
    )
    mu = np.linalg.eigvals(damped_oscillator_matrix(OMEGA, ZETA))
    hs = np.asarray(cfg["osc_dense"])
    analytic = np.log(np.abs(1.0 + hs[:, None] * mu[None, :])).max(axis=1) / hs
    up = np.nonzero((lam_osc[:-1, 0] <= 0) & (lam_osc[1:, 0] > 0))[0]
    lo, hi = (float(hs[up[0]]), float(hs[up[0] + 1])) if up.size else (float(hs[0]), float(hs[-1]))
    lo, hi = euler_threshold(
        # Ten times longer runs while refining: the finite-time error of the estimate,
        # O(1 / iterations), sets how finely the sign change can be placed.
        # Near the threshold |1 + h mu| ~ 1 and nothing overflows: a transient aligns the
        # tangent vector first, removing most of the O(1 / iterations) bias.
        lambda h: euler_exponents(
            damped_oscillator_vector_field,
            [1.0, 0.0],
            params,
            h,
            transient_time=1.0,
            time=10 * cfg["dense_time"],
            until_escape=True,
        )[0][:, 0],
        lo,
        hi,
    )
    main = dataclasses.replace(
        main,
        recommendations=step_advice(
            main.recommendations, dt=HEADLINE_DT, threshold=(lo, hi), t_max=float(np.max(main.gradient.horizons))
        ),
    )
    return Damped(main, osc_points, lam_osc, analytic, mu, lo, hi)


def measure_van_der_pol(cfg: dict, progress) -> VanDerPol:
    """Euler's exponents of the van der Pol cycle on the dense steps, and diagnoses along cfg["vdp_dts"]."""
    vdp_kw = dict(
        loss=LOSS,
        horizons=cfg["vdp_horizons"],
        members=cfg["vdp_members"],
        lyapunov_time=cfg["vdp_lyapunov_time"],
        k=2,
    )
    progress("van der Pol step sweep", 1, 2)
    lam_vdp, fin_vdp = euler_exponents(
        van_der_pol_vector_field, [2.0, 0.0], {"mu": 1.0}, cfg["vdp_dense"], transient_time=50.0, time=cfg["dense_time"]
    )
    vdp_dts = cfg["vdp_dts"]
    vdp_points = sweep(
        vdp_dts,
        lambda h: diagnose_system(van_der_pol(mu=1.0, dt=h, solver=diffrax.Euler()), **vdp_kw),
        progress,
        "van der Pol dt",
    )
    lam_phys_vdp = np.asarray(vdp_points[0].lambda_physical.exponents)
    return VanDerPol(lam_vdp, fin_vdp, vdp_points, lam_phys_vdp)


def _findings(cfg: dict, osc: Damped, vdp: VanDerPol) -> list[str]:
    main, lo, hi, mu = osc.main, osc.lo, osc.hi, osc.mu
    osc_dts, osc_points = cfg["osc_dts"], osc.points
    lam_vdp, fin_vdp, vdp_dts, vdp_points, lam_phys_vdp = vdp.lam, vdp.finite, cfg["vdp_dts"], vdp.points, vdp.lam_phys
    lp, up_ = lam1(main)
    ln_main = float(main.lambda_numerical.exponents[0])
    exact_main = float(np.log(np.abs(1.0 + HEADLINE_DT * mu)).max() / HEADLINE_DT)
    findings = [
        f"Damped oscillator, Euler at dt = {HEADLINE_DT:g}: verdict {main.verdict} ({main.physics}), causes "
        f"{', '.join(main.causes) or 'none'}. The physical exponent is {lp:.3f} ± {up_:.3f} (exact -1); Euler's map has "
        f"{ln_main:.3f} (exact ln|1 + h mu| / h = {exact_main:.3f}) and the gradient grows at {main.gradient_rate:.3f} "
        f"[{main.gradient_interval[0]:.3f}, {main.gradient_interval[1]:.3f}] per time unit.",
        f"The step sweep finds Euler's stability threshold between h = {lo:.7f} and {hi:.7f} (sign change of the "
        f"measured lambda_1 of the Euler map), against the exact 2 zeta / omega = {H_EXACT:g}.",
    ]
    for h, d in zip(osc_dts, osc_points):
        findings.append(
            f"Damped oscillator at dt = {h:g}: {d.verdict}, causes {', '.join(d.causes) or 'none'}; gradient rate "
            f"{d.gradient_rate:+.3f} against Euler's {float(d.lambda_numerical.exponents[0]):+.3f} and the physical -1."
        )
    chaos = cfg["vdp_dense"][np.nan_to_num(lam_vdp[:, 0], nan=-1.0) > 0.05]
    escaped = cfg["vdp_dense"][~fin_vdp]
    findings.append(
        f"Van der Pol (mu = 1): the physical spectrum is {lam_phys_vdp[0]:+.4f}, {lam_phys_vdp[1]:+.4f} "
        "(a neutral limit cycle)."
    )
    if chaos.size:
        findings.append(
            f"Surprise: Euler turns the van der Pol cycle into a chaotic attractor of the map: lambda_1 > 0.05 first "
            f"at h = {chaos[0]:.3f} (largest {np.nanmax(lam_vdp[:, 0]):.3f} per time unit) while the physics is neutral."
        )
    if escaped.size:
        findings.append(f"The Euler orbit of van der Pol escapes to infinity from h = {escaped[0]:.3f} on.")
    locked = cfg["vdp_dense"][(np.nan_to_num(lam_vdp[:, 0], nan=0.0) < -0.05)]
    if locked.size:
        findings.append(
            f"Between the invariant curve and the chaos the Euler map locks onto periodic orbits (lambda_1 < -0.05 "
            f"at {locked.size} of {len(cfg['vdp_dense'])} steps, e.g. h = {locked[0]:.3f}): gradients then vanish, "
            "also a numerical artefact of a neutral cycle."
        )
    for h, d in zip(vdp_dts, vdp_points):
        findings.append(
            f"Van der Pol at dt = {h:g}: {d.verdict}, causes {', '.join(d.causes) or 'none'}; Euler's lambda_1 "
            f"{float(d.lambda_numerical.exponents[0]):+.3f}, gradient rate {d.gradient_rate:+.3f}."
        )
    return findings


def _sections(cfg: dict, osc: Damped, vdp: VanDerPol) -> list[Section]:
    main, osc_dts, osc_points, vdp_dts, vdp_points = osc.main, cfg["osc_dts"], osc.points, cfg["vdp_dts"], vdp.points
    hs = np.asarray(cfg["osc_dense"])
    h_found = 0.5 * (osc.lo + osc.hi)
    return [
        Section(
            title="Damped oscillator: where explicit Euler starts to explode",
            text=(
                f"Explicit Euler on x'' + 2 zeta omega x' + omega^2 x = 0 (omega = {OMEGA:g}, zeta = {ZETA:g}). Its step "
                "multiplies the state by I + h A, whose eigenvalues 1 + h mu leave the unit disc for h > 2 zeta / omega. "
                f"lambda_1 of the Euler map on {len(hs)} steps, refined by bracketing the sign change, and full diagnoses "
                f"(gradient of x(T) with respect to the initial state, horizons {cfg['osc_horizons'][0]:g} to "
                f"{cfg['osc_horizons'][-1]:g}) at dt = {', '.join(fmt(h, 3) for h in [*osc_dts, HEADLINE_DT])}."
            ),
            figures=(_osc_figure(cfg, osc.lam[:, 0], osc.analytic, osc_dts, [main, *osc_points], h_found),),
            tables=(
                verdict_table(
                    "Damped oscillator: verdict at each Euler step", "dt", [HEADLINE_DT, *osc_dts], [main, *osc_points]
                ),
            ),
        ),
        Section(
            title="Van der Pol: a neutral cycle under explicit Euler",
            text=(
                "Explicit Euler on the van der Pol oscillator (mu = 1). The physics is a limit cycle: lambda_1 = 0 and "
                "gradients with respect to the initial state neither explode nor vanish. The exponents of the Euler map "
                f"on {len(cfg['vdp_dense'])} steps, and diagnoses (horizons {cfg['vdp_horizons'][0]:g} to "
                f"{cfg['vdp_horizons'][-1]:g}) at dt = {', '.join(fmt(h, 3) for h in vdp_dts)}."
            ),
            figures=(_vdp_figure(cfg, vdp.lam, vdp.finite, vdp_dts, vdp_points, vdp.lam_phys),),
            tables=(verdict_table("Van der Pol: verdict at each Euler step", "dt", vdp_dts, vdp_points),),
        ),
    ]


def narrate(cfg: dict, osc: Damped, vdp: VanDerPol, *, fast: bool) -> Study:
    """The study's sections, summary and findings from the measured numbers."""
    main, lo, hi = osc.main, osc.lo, osc.hi
    osc_dts, osc_points, vdp_dts, vdp_points = cfg["osc_dts"], osc.points, cfg["vdp_dts"], vdp.points
    ln_main = float(main.lambda_numerical.exponents[0])
    h_found = 0.5 * (lo + hi)
    summary = (
        f"A damped oscillator (exponent -1) integrated with explicit Euler at dt = {HEADLINE_DT:g} has a numerical "
        f"exponent {ln_main:.2f} and a gradient that grows at {main.gradient_rate:.2f} per time unit: verdict "
        f"{main.verdict}, cause {', '.join(main.causes) or 'none'}. The step sweep finds the threshold at h = "
        f"{h_found:.4f} (exact {H_EXACT:g}). On the van der Pol cycle (neutral physics) Euler locks, turns chaotic and "
        "finally diverges as the step grows."
    )
    return make_study(
        "oscillators",
        "Damped and van der Pol oscillators: explicit Euler as the only source of explosion",
        summary,
        main,
        _sections(cfg, osc, vdp),
        _findings(cfg, osc, vdp),
        fast=fast,
        config={
            "omega": OMEGA,
            "zeta": ZETA,
            "headline_dt": HEADLINE_DT,
            "oscillator_dts": osc_dts,
            "van_der_pol_dts": vdp_dts,
            "members": cfg["members"],
            "vdp_members": cfg["vdp_members"],
            "vdp_lyapunov_time": cfg["vdp_lyapunov_time"],
            "lyapunov_time": cfg["lyapunov_time"],
            "threshold_bracket": [lo, hi],
        },
        extra={
            **{f"oscillator dt={fmt(h, 3)}": d for h, d in zip(osc_dts, osc_points)},
            **{f"van der Pol dt={fmt(h, 3)}": d for h, d in zip(vdp_dts, vdp_points)},
        },
    )


@float64_scope
def run(*, fast: bool = False, progress=None) -> Study:
    progress = progress or no_progress
    cfg = _settings(fast)
    osc = measure_damped(cfg, progress)
    return narrate(cfg, osc, measure_van_der_pol(cfg, progress), fast=fast)


SPEC = StudySpec(
    name="oscillators",
    title="Damped and van der Pol oscillators",
    description="Non-chaotic controls: Euler step sweeps find where a contracting or neutral system explodes numerically.",
    run=run,
)
