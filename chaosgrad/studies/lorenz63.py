"""Lorenz-63: gradients through the onset of chaos.

The gradient of z(T) with respect to rho is diagnosed at the classic parameters
(sigma 10, rho 28, beta 8/3), then rho is swept across the onset of chaos. Below the
subcritical Hopf bifurcation at rho_H = sigma (sigma + beta + 3) / (sigma - beta - 1)
= 24.74 the fixed points C± attract (lambda_1 < 0) and d z(T)/d rho converges (to 1 at
the fixed point z* = rho - 1); above it the attractor is chaotic and the gradient grows
like exp(lambda_1 T) (Sparrow 1982; Wang 2014 for the sensitivity).
"""

from __future__ import annotations

import numpy as np

from chaosgrad._diagnosis.types import Diagnosis
from chaosgrad._gradients.losses import FinalStateLoss
from chaosgrad._results.study import Study
from chaosgrad._runtime.precision import float64_scope
from chaosgrad.studies import StudySpec
from chaosgrad.studies._common import (
    Section,
    diagnose_system,
    fmt,
    lam1,
    make_study,
    no_progress,
    rates_colours,
    rates_figure,
    sweep,
    transitions,
    verdict_table,
)
from chaosgrad.zoo import lorenz63

RHO_HOPF = 10.0 * (10.0 + 8.0 / 3.0 + 3.0) / (10.0 - 8.0 / 3.0 - 1.0)
# The chaotic attractor exists from rho ~ 24.06 (Kaplan & Yorke 1979; Sparrow 1982),
# coexisting with the stable fixed points up to rho_H: which one a trajectory finds
# depends on where it starts.
RHO_ATTRACTOR = 24.06


def _z(y):
    return y[2]


def _settings(fast: bool) -> dict:
    return dict(
        members=6 if fast else 16,
        lyapunov_time=100.0 if fast else 1000.0,
        rhos=[10.0, 20.0, 24.0, 26.0, 28.0] if fast else list(np.round(np.linspace(10.0, 30.0, 21), 3)),
    )


def measure(cfg: dict, progress) -> tuple[Diagnosis, list[Diagnosis]]:
    """The diagnosis at rho = 28 (three exponents) and one at every rho of the sweep."""
    members, lyap_time, rhos = cfg["members"], cfg["lyapunov_time"], cfg["rhos"]
    loss = FinalStateLoss(_z, name="final z(T)")

    # One set of horizons everywhere: the rates are comparable, and the compiled
    # gradient sweep is reused from point to point.
    horizons = np.geomspace(25.0 / 16, 25.0, 9)
    system = lorenz63()
    progress("diagnosis at rho = 28", 0, 1)
    main = diagnose_system(
        system, wrt="rho", loss=loss, members=members, lyapunov_time=lyap_time, k=3, horizons=horizons
    )

    def at(rho):
        s = lorenz63(rho=float(rho))
        return diagnose_system(
            s, wrt="rho", loss=loss, members=members, lyapunov_time=lyap_time, k=1, horizons=horizons
        )

    return main, sweep(rhos, at, progress, "rho")


def _findings(rhos, main: Diagnosis, points: list[Diagnosis]) -> list[str]:
    verdicts = [d.verdict for d in points]
    physics = [d.physics for d in points]
    changes = transitions(rhos, verdicts)
    phys_changes = transitions(rhos, physics)
    lp, up = lam1(main)
    lit = main.literature["exponents"] if main.literature else None

    findings = [
        f"At rho = 28 the verdict is {main.verdict} ({main.physics}): lambda_1 = {lp:.4f} ± {up:.4f}"
        + (f" against {lit[0]} in the literature" if lit else "")
        + f"; d z(T)/d rho grows at {main.gradient_rate:.3f} per time unit "
        f"[{main.gradient_interval[0]:.3f}, {main.gradient_interval[1]:.3f}].",
    ]
    for a, b, va, vb in changes:
        findings.append(f"The verdict changes from {va} to {vb} between rho = {a:g} and rho = {b:g}.")
    for a, b, va, vb in phys_changes:
        findings.append(
            f"The physics changes from {va} to {vb} between rho = {a:g} and rho = {b:g}: the chaotic "
            f"attractor appears at rho ≈ {RHO_ATTRACTOR} and coexists with the stable fixed points up to "
            f"rho_H = {RHO_HOPF:.2f}, so in between the answer depends on the initial state."
        )
    if changes and phys_changes and [c[:2] for c in changes] == [c[:2] for c in phys_changes]:
        findings.append("The verdict changes exactly where the physics changes: the gradient follows the dynamics.")
    if main.truncation_horizon:
        findings.append(
            f"Useful gradient windows at rho = 28 are about ln 2 / lambda_1 = {main.truncation_horizon:.2f} time units."
        )
    return findings


def narrate(cfg: dict, main: Diagnosis, points: list[Diagnosis], *, fast: bool) -> Study:
    """The study's section, summary and findings from the numbers :func:`measure` returned."""
    members, lyap_time, rhos = cfg["members"], cfg["lyapunov_time"], cfg["rhos"]
    lp = lam1(main)[0]
    sweep_section = Section(
        title="Sweep of rho across the onset of chaos",
        text=(
            f"For each rho, lambda_1 of the reference dynamics and the growth rate of d z(T)/d rho "
            f"({members} members on the attractor) are measured. For a parameter gradient the expected rate is "
            "max(lambda_1, 0): below the onset the sensitivity converges (rate 0), above it grows like "
            "exp(lambda_1 T). Between rho ≈ 13.9 and 24.06 trajectories wander chaotically for a while "
            "before settling on C± (transient chaos); between 24.06 and 24.74 a chaotic attractor coexists "
            "with the stable fixed points. Each point starts from the state reached from (1, 1, 1)."
        ),
        figures=(
            rates_figure(
                rhos,
                points,
                xlabel="rho",
                title="lambda_1 and gradient growth rate against rho",
                caption=(
                    f"Where lambda_1 ({rates_colours()['physical']} band) crosses zero the gradient rate "
                    f"({rates_colours()['gradient']}, with its 95% interval) "
                    f"leaves zero and follows lambda_1: the chaos is physical. The dashed line is zero; rho_H = {RHO_HOPF:.2f}."
                ),
            ),
        ),
        tables=(verdict_table("Verdict at each rho", "rho", rhos, points),),
    )
    summary = (
        f"Lorenz-63 at the classic parameters is {main.physics} (lambda_1 = {lp:.3f}); the gradient of z(T) "
        f"with respect to rho explodes at {main.gradient_rate:.3f} per time unit, which matches lambda_1: "
        f"verdict {main.verdict}. Sweeping rho from {rhos[0]:g} to {rhos[-1]:g} shows the verdict switching "
        f"where lambda_1 changes sign."
    )
    return make_study(
        "lorenz63",
        "Lorenz-63: gradients through the onset of chaos",
        summary,
        main,
        [sweep_section],
        _findings(rhos, main, points),
        fast=fast,
        config={"rho_values": [float(r) for r in rhos], "members": members, "lyapunov_time": lyap_time},
        extra={f"rho={fmt(float(r), 4)}": d for r, d in zip(rhos, points)},
    )


@float64_scope
def run(*, fast: bool = False, progress=None) -> Study:
    cfg = _settings(fast)
    return narrate(cfg, *measure(cfg, progress or no_progress), fast=fast)


SPEC = StudySpec(
    name="lorenz63",
    title="Lorenz-63",
    description="Classic chaos; rho sweep across the onset of chaos (10 to 30).",
    run=run,
)
