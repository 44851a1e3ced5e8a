"""Lorenz-96: extensive chaos, and the forcing sweep across the transition to chaos.

``x_i' = (x_{i+1} - x_{i-2}) x_{i-1} - x_i + F`` on a ring of N = 40 sites (Lorenz 1996;
Lorenz & Emanuel, J. Atmos. Sci. 55, 399, 1998). At F = 8 the attractor is chaotic with
13 positive exponents, lambda_1 about 1.66–1.70 (doubling time about 0.4), and the
exponents sum to -N exactly (the divergence is -N everywhere). For small forcing the
steady state ``x_i = F`` attracts: a Fourier perturbation ``exp(i j theta_k)``,
``theta_k = 2 pi k / N``, grows at ``F (cos theta_k - cos 2 theta_k) - 1``, so the state
loses stability at ``F_c = 1 / max_k (cos theta_k - cos 2 theta_k)`` (0.894 for N = 40,
8/9 as N grows). Above it travelling waves give periodic or quasi-periodic motion
(lambda_1 = 0) until chaos sets in.

The gradient of ``x_0(T)`` with respect to the initial state grows like
``exp(lambda_1 T)``: it vanishes at the steady state, stays bounded on the waves, and
explodes in chaos. The study diagnoses F = 8 with the leading exponents, measures the
full spectrum (positive count, Kaplan–Yorke dimension, sum rule), and sweeps F.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from chaosgrad._diagnosis.types import Diagnosis
from chaosgrad._gradients.losses import FinalStateLoss
from chaosgrad._results.study import Figure, Section, Series, Study, Table
from chaosgrad._runtime.precision import float64_scope
from chaosgrad._spectra.lyapunov import lyapunov_spectrum
from chaosgrad._spectra.reference import exponent_uncertainty
from chaosgrad._spectra.result import LyapunovResult
from chaosgrad.studies import StudySpec
from chaosgrad.studies._common import (
    diagnose_system,
    fmt,
    lam1,
    make_study,
    no_progress,
    rates_figure,
    sweep,
    transitions,
    verdict_table,
)
from chaosgrad.zoo import lorenz96

N = 40
LIT_LAMBDA1 = (1.66, 1.70)
LIT_POSITIVE = 13
THETA = 2 * np.pi * np.arange(1, N) / N
F_STEADY = float(1.0 / np.max(np.cos(THETA) - np.cos(2 * THETA)))


def _settings(fast: bool) -> dict:
    return dict(
        members=8 if fast else 16,
        sweep_members=6 if fast else 12,
        lyapunov_time=300.0 if fast else 1000.0,
        sweep_lyapunov_time=100.0 if fast else 400.0,
        k=8 if fast else 14,
        forcings=[0.5, 3.0, 8.0] if fast else [0.5, 1.0, 2.0, 3.0, 4.0, 4.5, 5.0, 5.5, 6.0, 7.0, 8.0, 9.0, 10.0],
        spectrum_time=200.0 if fast else 1000.0,
        # One set of horizons for the headline and every forcing: comparable rates, and
        # the compiled gradient sweep is reused from point to point.
        # lambda_1 T reaches about 54 at F = 8 and 73 at F = 10: far from overflow, and
        # long enough that weak chaos near the onset (lambda_1 ~ 0.4) grows measurably.
        horizons=np.geomspace(2.0, 32.0, 9),
    )


def _spectrum_figure(full, main) -> Figure:
    i_full = np.arange(1, full.exponents.size + 1, dtype=float)
    lp = np.asarray(main.lambda_physical.exponents)
    up = np.array([exponent_uncertainty(main.lambda_physical, i) for i in range(lp.size)])
    i_lead = np.arange(1, lp.size + 1, dtype=float)
    return Figure(
        title=f"Lyapunov spectrum of Lorenz-96 (N = {N}, F = 8)",
        caption=(
            f"All {full.exponents.size} exponents of the user's map (Tsit5, dt = 0.01; line) and the leading "
            f"{lp.size} of the converged reference (markers, 95% intervals). {int((full.exponents > 0).sum())} "
            f"are positive ({int((full.exponents - full.uncertainty > 0).sum())} beyond their 95% interval); the next is the zero exponent of the autonomous flow, the rest "
            "contract, and all of them sum to -N."
        ),
        xlabel="index i",
        ylabel="lambda_i (1 / time unit)",
        series=(
            Series("user's map, full spectrum", i_full, np.asarray(full.exponents), style="line+marker"),
            Series(
                "reference, leading exponents (95% interval)", i_lead, lp, lower=lp - up, upper=lp + up, style="marker"
            ),
            Series("zero", np.zeros(1), np.zeros(1), style="hline"),
        ),
    )


def _leading_table(full, main) -> Table:
    lp = main.lambda_physical.exponents
    rows = []
    for i in range(lp.size):
        rows.append(
            (
                str(i + 1),
                f"{lp[i]:+.4f} ± {exponent_uncertainty(main.lambda_physical, i):.4f}",
                f"{main.lambda_numerical.exponents[i]:+.4f}",
                f"{full.exponents[i]:+.4f}",
            )
        )
    return Table(
        title="Leading exponents at F = 8",
        caption=(
            "Reference (Dopri8, step halved until converged) and the user's map (Tsit5, dt = 0.01) from the "
            "diagnosis, and the user's map again from the separate full-spectrum run. Literature: lambda_1 about "
            "1.66–1.70, 13 positive exponents (Lorenz & Emanuel 1998; DAPPER model table)."
        ),
        columns=("i", "lambda_i reference", "lambda_i user's map", "lambda_i full-spectrum run"),
        rows=tuple(rows),
    )


@dataclass(frozen=True)
class Measured:
    """What :func:`measure` computes and :func:`narrate` reports."""

    main: Diagnosis  # at F = 8
    full: LyapunovResult  # the user's map's full spectrum at F = 8
    points: list  # one Diagnosis per forcing in cfg["forcings"]

    def counts(self) -> tuple[float | None, int, int]:
        """Kaplan–Yorke dimension, positive exponents, and those positive beyond their 95%
        interval (the flow's zero exponent may come out slightly above zero; the smallest
        positive one, about 0.05, needs a long run to be told from it)."""
        ky = self.full.kaplan_yorke  # None when the spectrum is not finite
        n_pos = int((self.full.exponents > 0).sum())
        n_sig = int((self.full.exponents - self.full.uncertainty > 0).sum())
        return ky, n_pos, n_sig


def measure(cfg: dict, progress) -> Measured:
    """Diagnose F = 8, measure its full spectrum, and diagnose every forcing of the sweep."""
    loss = FinalStateLoss(lambda y: y[0], name="final x_0(T)")
    progress("diagnosis at F = 8", 0, 1)
    main = diagnose_system(
        lorenz96(N=N, F=8.0),
        loss=loss,
        horizons=cfg["horizons"],
        members=cfg["members"],
        lyapunov_time=cfg["lyapunov_time"],
        k=cfg["k"],
    )
    progress("full spectrum at F = 8", 0, 1)
    system = lorenz96(N=N, F=8.0)
    full = lyapunov_spectrum(system.simulator, system.y0, system.args, k=N, time=cfg["spectrum_time"], transient=20.0)
    forcings = cfg["forcings"]

    def at(F):
        return diagnose_system(
            lorenz96(N=N, F=float(F)),
            loss=loss,
            horizons=cfg["horizons"],
            members=cfg["sweep_members"],
            lyapunov_time=cfg["sweep_lyapunov_time"],
            k=1,
        )

    return Measured(main, full, sweep(forcings, at, progress, "F"))


def _findings(cfg: dict, m: Measured, *, fast: bool) -> list[str]:
    main, full, points, forcings = m.main, m.full, m.points, cfg["forcings"]
    ky, n_pos, n_sig = m.counts()
    lp, up = lam1(main)
    lit = main.literature or {}
    findings = [
        f"At F = 8 the verdict is {main.verdict} ({main.physics}): lambda_1 = {lp:.4f} ± {up:.4f} against "
        f"{LIT_LAMBDA1[0]}–{LIT_LAMBDA1[1]} ({lit.get('source', 'Lorenz & Emanuel 1998')}); the gradient of x_0(T) "
        f"grows at {main.gradient_rate:.3f} [{main.gradient_interval[0]:.3f}, {main.gradient_interval[1]:.3f}].",
        f"Full spectrum of the user's map (T = {cfg['spectrum_time']:g}): {n_pos} positive exponents, {n_sig} of "
        f"them beyond their 95% interval (literature "
        f"{LIT_POSITIVE}), Kaplan–Yorke dimension {fmt(ky, 4)} of {N}, sum {full.exponents.sum():.6f} against -N = {-N} "
        "(exact).",
        f"Useful gradient windows at F = 8 are about ln 2 / lambda_1 = {main.truncation_horizon:.2f} time units, "
        "the doubling time of errors (about 0.4 in Lorenz & Emanuel 1998)."
        if main.truncation_horizon
        else "No truncation window: the dynamics are not chaotic.",
    ]
    physics = [d.physics for d in points]
    verdicts = [d.verdict for d in points]
    for a, b, va, vb in transitions(forcings, physics):
        note = f" (the steady state loses stability at F_c = {F_STEADY:.3f})" if a < F_STEADY < b else ""
        findings.append(f"The physics changes from {va} to {vb} between F = {a:g} and F = {b:g}{note}.")
    for a, b, va, vb in transitions(forcings, verdicts):
        findings.append(f"The verdict changes from {va} to {vb} between F = {a:g} and F = {b:g}.")
    for F, d in zip(forcings, points):
        if F < F_STEADY:
            exact = F / F_STEADY - 1.0
            findings.append(
                f"At F = {F:g} (steady state) lambda_1 = {lam1(d)[0]:+.4f} ± {lam1(d)[1]:.4f} against the exact "
                f"F max_k (cos theta_k - cos 2 theta_k) - 1 = {exact:+.4f}; the gradient decays at {d.gradient_rate:+.4f}."
            )
    mism = [(F, d) for F, d in zip(forcings, points) if d.physics == "chaotic" and d.verdict != "intrinsic-explosion"]
    for F, d in mism:
        findings.append(
            f"At F = {F:g} lambda_1 = {lam1(d)[0]:.3f} is positive but the gradient rate {d.gradient_rate:+.3f} "
            f"[{d.gradient_interval[0]:+.3f}, {d.gradient_interval[1]:+.3f}] is not distinguishable from 0 over "
            f"horizons up to {cfg['horizons'][-1]:g} (lambda_1 T = {lam1(d)[0] * cfg['horizons'][-1]:.1f}): "
            f"verdict {d.verdict}."
        )
    if fast:
        findings.append(
            f"Fast mode: {cfg['k']} leading exponents, Lyapunov time {cfg['lyapunov_time']:g}, "
            f"{len(forcings)} forcings; the full mode measures 14 exponents and 13 forcings."
        )
    return findings


def _sections(cfg: dict, m: Measured) -> list[Section]:
    main, full, points, forcings = m.main, m.full, m.points, cfg["forcings"]
    return [
        Section(
            title="Spectrum at F = 8",
            text=(
                f"The leading {cfg['k']} exponents of the reference dynamics (diagnosis) and all {N} exponents of the "
                f"user's map (Tsit5, dt = 0.01, time {cfg['spectrum_time']:g}). The number of positive exponents grows "
                "with N (extensive chaos); the Kaplan–Yorke dimension j + (lambda_1 + ... + lambda_j) / |lambda_{j+1}| "
                "is the attractor's information dimension estimate (Kaplan & Yorke 1979)."
            ),
            figures=(_spectrum_figure(full, main),),
            tables=(_leading_table(full, main),),
        ),
        Section(
            title="Forcing sweep across the transition to chaos",
            text=(
                f"For each F, lambda_1 of the reference dynamics and the growth rate of d x_0(T) / d y0 "
                f"({cfg['sweep_members']} members, horizons {cfg['horizons'][0]:g} to {cfg['horizons'][-1]:g}). "
                "For an initial-state gradient the expected rate is lambda_1 itself: negative at the steady state, "
                "zero on the travelling waves, positive in chaos."
            ),
            figures=(
                rates_figure(
                    forcings,
                    points,
                    xlabel="forcing F",
                    title="lambda_1 and gradient growth rate against F",
                    caption=(
                        "lambda_1 (with its 95% band) is negative where the steady state x_i = F attracts, zero on the "
                        "travelling waves and grows with F in chaos; the gradient rate (with its 95% interval) follows it."
                    ),
                ),
            ),
            tables=(verdict_table("Verdict at each F", "F", forcings, points),),
        ),
    ]


def narrate(cfg: dict, m: Measured, *, fast: bool) -> Study:
    """The study's sections, summary and findings from the numbers :func:`measure` returned."""
    main, full, points, forcings = m.main, m.full, m.points, cfg["forcings"]
    ky, n_pos, n_sig = m.counts()
    lp = lam1(main)[0]
    summary = (
        f"Lorenz-96 (N = {N}, F = 8) is {main.physics} with lambda_1 = {lp:.3f} (literature {LIT_LAMBDA1[0]}–"
        f"{LIT_LAMBDA1[1]}), {n_pos} positive exponents and Kaplan–Yorke dimension {fmt(ky, 3)}; the gradient explodes "
        f"at {main.gradient_rate:.2f} per time unit: verdict {main.verdict}. Sweeping F from {forcings[0]:g} to "
        f"{forcings[-1]:g} the verdict goes from vanishing (steady state) to stable (waves) to explosion (chaos), with "
        "the physics."
    )
    return make_study(
        "lorenz96",
        f"Lorenz-96 (N = {N}): extensive chaos and the forcing sweep",
        summary,
        main,
        _sections(cfg, m),
        _findings(cfg, m, fast=fast),
        fast=fast,
        config={
            "N": N,
            "forcings": [float(F) for F in forcings],
            "members": cfg["members"],
            "k": cfg["k"],
            "lyapunov_time": cfg["lyapunov_time"],
            "spectrum_time": cfg["spectrum_time"],
            "full_spectrum": [float(v) for v in full.exponents],
            "kaplan_yorke": ky,
            "n_positive": n_pos,
            "n_significantly_positive": n_sig,
        },
        extra={f"F={fmt(float(F), 3)}": d for F, d in zip(forcings, points)},
    )


@float64_scope
def run(*, fast: bool = False, progress=None) -> Study:
    cfg = _settings(fast)
    return narrate(cfg, measure(cfg, progress or no_progress), fast=fast)


SPEC = StudySpec(
    name="lorenz96",
    title="Lorenz-96",
    description="N = 40, F = 8: leading exponents, positive count, Kaplan–Yorke dimension; F sweep from 0.5 to 10.",
    run=run,
)
