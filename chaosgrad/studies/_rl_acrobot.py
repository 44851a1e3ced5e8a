"""The rl study's acrobot: at Gym's single RK4 step of 0.2 s some closed loops are a
different, strongly expanding system from the reference. The closed-loop exponents of the
Gym step and of the reference for many random policies (the seed scan), and what the
diagnosis of the policy :data:`ACROBOT_SEED` finds.
"""

from __future__ import annotations

import math

import numpy as np

from chaosgrad._results.study import Figure, Section, Series, Table
from chaosgrad._spectra.lyapunov import lyapunov_spectrum
from chaosgrad._spectra.reference import exponent_uncertainty
from chaosgrad.studies._common import lam1
from chaosgrad.zoo import _rl as rl
from chaosgrad.zoo._mechanical_tasks import acrobot

ACROBOT_SEED = 5  # a policy whose closed loop the Gym step changes most (see the seed scan)


def _diverged_members(d) -> tuple[int, int, float | None]:
    """Members whose forward state became non-finite, and the first horizon (steps) where one did."""
    ok = d.gradient.state_finite
    bad = ~ok.all(axis=1)
    first = None
    if bad.any():
        first = float(d.gradient.horizon_steps[int(np.argmax((~ok).any(axis=0)))])
    return int(bad.sum()), int(ok.shape[0]), first


def seed_scan(cfg, progress):
    """lambda_1 (with its uncertainty) of the Gym step's and the reference's closed loops for every
    policy seed of ``cfg["seeds"]``, and the table's rows."""
    base = acrobot()
    rows, user, ref = [], [], []
    for j, seed in enumerate(cfg["seeds"]):
        progress(f"acrobot policy seed {seed}", j, len(cfg["seeds"]))
        args = {"policy": rl.policy_params(6, 1, seed=seed)}
        kw = dict(k=1, transient=100.0, time=cfg["seed_steps"] * base.simulator.dt, interval=2.0)
        a = lyapunov_spectrum(base.simulator, base.y0, args, **kw)
        b = lyapunov_spectrum(base.reference, base.y0, args, **kw)
        ua, ub = exponent_uncertainty(a, 0), exponent_uncertainty(b, 0)
        la = float(a.exponents[0]) if a.status == "ok" else math.nan
        user.append((la, ua))
        ref.append((float(b.exponents[0]), ub))
        differ = a.status != "ok" or abs(la - b.exponents[0]) > math.hypot(ua, ub)
        rows.append(
            (
                str(seed),
                f"{la:+.3f} ± {ua:.3f}" if a.status == "ok" else "diverged",
                f"{b.exponents[0]:+.3f} ± {ub:.3f}",
                "yes" if differ else "no",
            )
        )
    progress("acrobot policy seeds", len(cfg["seeds"]), len(cfg["seeds"]))
    return np.array(user), np.array(ref), rows


def acrobot_findings(d, cfg) -> list[str]:
    """The diagnosis of the acrobot with policy :data:`ACROBOT_SEED`: its exponents, diverged members and
    the reference-step ablation."""
    dt = float(d.config["simulator"]["dt"])
    lp, up = lam1(d)
    ln = float(d.lambda_numerical.exponents[0])
    out = [
        f"Acrobot, policy seed {ACROBOT_SEED}, Gym step (one RK4 step of {dt:g} s): lambda_1 of the user's closed loop is "
        f"{ln:+.3f} per second, of the reference (RK4 at {dt / 20:g} s, same control period) {lp:+.3f} ± {up:.3f}: "
        f"physics {d.physics}, verdict {d.verdict}, causes {', '.join(d.causes) or 'none'}.",
    ]
    n_bad, n_members, first_bad = _diverged_members(d)
    if n_bad:
        out.append(
            f"With the Gym step the acrobot rollout became non-finite in {n_bad} of {n_members} members started on the "
            f"reference trajectory, the first by {first_bad:.0f} steps: the coarse step cannot follow the closed loop "
            "at the velocities it reaches."
        )
    ab = next((a for a in d.ablations if a.name == "reference-step"), None)
    if ab is not None and ab.status == "ok":
        out.append(
            f"Acrobot: rerunning the gradient with the reference step gives a growth rate of {ab.rate_after:+.3f} per "
            f"second [{ab.interval_after[0]:+.3f}, {ab.interval_after[1]:+.3f}] against "
            + (
                f"{ab.rate_before:+.3f} with the Gym step"
                if np.isfinite(ab.rate_before)
                else "a Gym-step gradient too often non-finite to fit"
            )
            + f": the discretisation cause is {'confirmed' if ab.confirmed else 'not confirmed'}."
        )
    return out


def seed_scan_finding(cfg: dict, user: np.ndarray, seed_rows: list) -> str:
    """How many random acrobot policies' closed loops the Gym step changes."""
    finite_user = np.isfinite(user[:, 0])
    differ = [r[3] == "yes" for r in seed_rows]
    return (
        f"Over {len(cfg['seeds'])} random acrobot policies (seeds {cfg['seeds'][0]}-{cfg['seeds'][-1]}) the Gym step's "
        f"closed-loop lambda_1 differs from the reference beyond the two 95% intervals in {sum(differ)} "
        f"({int((~finite_user).sum())} diverged); many random closed loops are nearly neutral in both, and the "
        "intermittent chaotic ones converge slowly, hence the large uncertainties."
    )


def _seed_figure(cfg: dict, user: np.ndarray, ref: np.ndarray) -> Figure:
    adt = acrobot().simulator.dt
    seeds = np.asarray(cfg["seeds"], dtype=float)
    return Figure(
        title="Acrobot: closed-loop lambda_1 of the Gym step against the reference, per policy",
        caption=(
            "Largest Lyapunov exponent (per second; uncertainties in the table below) of the closed loop with random MLP policies "
            f"(seeds on the x axis), for Gym's single RK4 step of {adt:g} s and for the reference (20 RK4 substeps, "
            "same control period). Where the Gym marker is missing its rollout diverged."
        ),
        xlabel="policy seed",
        ylabel="lambda_1 (1/s)",
        series=(
            Series("Gym step", seeds, user[:, 0], style="marker"),
            Series("reference", seeds, ref[:, 0], style="marker"),
            Series("zero", np.zeros(1), np.zeros(1), style="hline"),
        ),
    )


def seed_scan_section(cfg: dict, user: np.ndarray, ref: np.ndarray, seed_rows: list) -> Section:
    """The seed scan's exponents per policy, drawn and tabulated."""
    return Section(
        title="Acrobot: how much the Gym step changes the closed loop",
        text=(
            "The same comparison of exponents for many random policies: the discretisation artefact depends on "
            "the closed loop. Many random closed loops are nearly neutral with either step; in a few the Gym step "
            "is strongly chaotic where the reference is nearly regular."
        ),
        figures=(_seed_figure(cfg, user, ref),),
        tables=(
            Table(
                title="Acrobot closed loops",
                columns=(
                    "policy seed",
                    "lambda_1 Gym step",
                    "lambda_1 reference",
                    "differ beyond the 95% intervals",
                ),
                rows=tuple(seed_rows),
            ),
        ),
    )
