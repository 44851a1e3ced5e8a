"""Long-horizon RL rollouts: analytic policy gradients through control environments.

Each differentiable environment (pendulum swing-up, cart-pole, acrobot, and a bouncing
ball with contact) is closed with an MLP policy, ``a = pi_theta(observe(s))``, giving the
autonomous map that analytic policy gradients differentiate through (Metz, Freeman,
Schoenholz & Kachman 2021; Suh, Simchowitz, Zhang & Tedrake, ICML 2022). The gradient of
the mean cost (minus the state part of the reward) over up to 1,000 control steps with
respect to every policy parameter is measured, beside the closed-loop Lyapunov exponents
of the user's discretisation (the Gym step) and of a reference with ten to fifty times
finer RK4 substeps at the same control period.

The headline is the bouncing ball pushed by its policy: a chaotic closed loop whose
exact flight map is its own reference, so the gradient explodes for physical reasons and
the diagnosis recommends truncated windows; its contact section compares autodiff with
smoothed gradient estimates where the return jumps. The acrobot shows the other story:
at Gym's single RK4 step of 0.2 s some closed loops are a different, strongly expanding
system from the reference, and the diagnosis blames the discretisation.

The acrobot's seed scan lives in :mod:`chaosgrad.studies._rl_acrobot`, the contact part in
:mod:`chaosgrad.studies._rl_contact`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import jax.numpy as jnp
import numpy as np

from chaosgrad._diagnosis.types import Diagnosis
from chaosgrad._gradients.losses import TimeAveragedLoss
from chaosgrad._results.study import Figure, Section, Series, Study, Table
from chaosgrad._runtime.precision import float64_scope
from chaosgrad._spectra.reference import exponent_uncertainty
from chaosgrad.studies import StudySpec
from chaosgrad.studies._common import diagnose_system, fmt, lam1, make_study, no_progress
from chaosgrad.studies._rl_acrobot import (
    ACROBOT_SEED,
    acrobot_findings,
    seed_scan,
    seed_scan_finding,
    seed_scan_section,
)
from chaosgrad.studies._rl_contact import CONTACT_STEPS, contact_findings, contact_section, measure_contact
from chaosgrad.zoo import _rl as rl
from chaosgrad.zoo import get as zoo_get
from chaosgrad.zoo._system import System

HEADLINE = "bouncing_ball"
ENVIRONMENTS = ("pendulum", "cartpole", "acrobot", "bouncing_ball")


def mean_cost(name: str) -> TimeAveragedLoss:
    """``(1/T) sum_t -reward(s_t, 0) dt``: the state part of the environment's cost."""
    reward = rl.ENV_REWARDS[name]
    return TimeAveragedLoss(lambda s: -reward(s, jnp.zeros(1, s.dtype)), name=f"mean {name} cost (state part)")


def _settings(fast: bool) -> dict:
    return dict(
        steps=1000,
        members=4 if fast else 8,
        lyapunov_steps=2000 if fast else 5000,
        horizons=6 if fast else 10,
        seeds=list(range(6)) if fast else list(range(12)),
        seed_steps=1500 if fast else 3000,
        contact_points=121 if fast else 401,
        contact_samples=256 if fast else 1024,
        sigma=0.002,
    )


def _horizons(system, cfg) -> np.ndarray:
    t_max = cfg["steps"] * system.simulator.dt
    return np.geomspace(t_max / 8, t_max, cfg["horizons"])


def _diagnose_env(system, cfg, k):
    dt = system.simulator.dt
    return diagnose_system(
        system,
        wrt="policy",
        loss=mean_cost(system.name),
        horizons=_horizons(system, cfg),
        members=cfg["members"],
        lyapunov_time=cfg["lyapunov_steps"] * dt,
        k=k,
    )


def _env_row(label, d, dt):
    lp, up = lam1(d)
    ln = float(d.lambda_numerical.exponents[0])
    un = exponent_uncertainty(d.lambda_numerical, 0) if np.isfinite(ln) else math.nan
    rate = d.gradient_rate
    trunc = f"{d.truncation_horizon / dt:.0f}" if d.truncation_horizon else "none (not chaotic)"
    return (
        label,
        fmt(dt, 3),
        d.physics,
        d.verdict,
        ", ".join(d.causes) or "none",
        f"{ln:+.3f} ± {un:.3f}" if np.isfinite(ln) else "diverged",
        f"{lp:+.3f} ± {up:.3f}",
        f"{rate:+.3f} [{d.gradient_interval[0]:+.3f}, {d.gradient_interval[1]:+.3f}]" if np.isfinite(rate) else "n/a",
        fmt(rate * dt, 3) if np.isfinite(rate) else "n/a",
        trunc,
    )


ENV_COLUMNS = (
    "environment",
    "dt",
    "physics",
    "verdict",
    "causes",
    "lambda_1 user map",
    "lambda_1 reference",
    "gradient rate [95%] (1/s)",
    "rate per step",
    "truncation (steps)",
)


def _growth_figure(diags: dict) -> Figure:
    series = []
    for label, d in diags.items():
        g = d.gradient
        # Non-finite members count as infinite: the median is non-finite when most are.
        med = np.median(np.where(g.finite, g.norms, np.inf), axis=0)
        med = np.where(np.isfinite(med), med, np.nan)
        series.append(Series(label, g.horizon_steps.astype(float), med, style="line+marker"))
    return Figure(
        title="Policy gradient norm against the horizon",
        caption=(
            "Median over members of ||d(mean cost over T)/d theta|| (all policy parameters) against the horizon in "
            "control steps, through the user's discretisation. Flat lines: the closed loop contracts and the "
            "sensitivity converges; rising lines: it expands. Points marked non-finite: the gradient (or the rollout) was "
            "non-finite for most members at that horizon."
        ),
        xlabel="horizon (control steps)",
        ylabel="||dL/d theta||",
        xscale="log",
        yscale="log",
        series=tuple(series),
    )


def _environment_notes(diags: dict) -> list[str]:
    """What the diagnoses of the random-policy environments mean, beyond their labels."""
    out = []
    pend = diags["pendulum, policy seed 0"]
    t_max = float(pend.gradient.horizons[-1])
    factor = math.exp(pend.gradient_rate * t_max)
    if pend.verdict != "stable" and abs(pend.gradient_rate) * t_max < math.log(2.0):
        out.append(
            f"Surprise: the pendulum is labelled {pend.verdict} although its policy gradient has converged: the rate "
            f"{pend.gradient_rate:.2e} per second [{pend.gradient_interval[0]:.2e}, {pend.gradient_interval[1]:.2e}] is "
            f"significant but immaterial (a factor {factor:.4f} over {t_max:g} s), and the label compares only its "
            "sign with the contracting physics."
        )
    cart = diags["cartpole, policy seed 0"]
    out.append(
        f"Cart-pole ({cart.physics}, {cart.verdict}): the random policy pushes the cart away without bound, so the "
        f"cost grows with x^2 and its gradient grows polynomially, fitted as {cart.gradient_rate:+.3f} per second, "
        f"while the closed-loop exponent is {lam1(cart)[0]:+.3f} ± {lam1(cart)[1]:.3f}: the growth is drift, not "
        "chaos and not numerics."
    )
    a0 = diags["acrobot, policy seed 0"]
    if not any(a.name == "reference-step" for a in a0.ablations):
        out.append(
            f"Acrobot with the default policy: the Gym step's exponent ({float(a0.lambda_numerical.exponents[0]):+.3f}) "
            f"and the reference's ({lam1(a0)[0]:+.3f} ± {lam1(a0)[1]:.3f}) agree within their uncertainties, which are "
            "large because this intermittent closed loop converges slowly; no discretisation ablation is triggered."
        )
    return out


@dataclass(frozen=True)
class RLMeasured:
    """What :func:`measure` returns: the diagnosis of every closed loop (the headline first),
    the acrobot seed scan's exponents (user's map, reference) and rows, and the contact part
    (:func:`chaosgrad.studies._rl_contact.measure_contact`)."""

    headline: System
    diags: dict
    user: np.ndarray
    ref: np.ndarray
    seed_rows: list
    contact: dict

    @property
    def main(self) -> Diagnosis:
        return self.diags["bouncing ball, policy seed 0 (headline)"]


def measure(cfg: dict, progress) -> RLMeasured:
    """The headline's and the other environments' diagnoses, the acrobot seed scan and the contact part."""
    headline = zoo_get(HEADLINE)
    progress("diagnosis of the bouncing ball", 0, 1)
    main = _diagnose_env(headline, cfg, k=2)

    diags = {"bouncing ball, policy seed 0 (headline)": main}
    others = [("pendulum", 0), ("cartpole", 0), ("acrobot", 0), ("acrobot", ACROBOT_SEED)]
    for j, (name, seed) in enumerate(others):
        progress(f"{name} (policy seed {seed})", j, len(others))
        diags[f"{name}, policy seed {seed}"] = _diagnose_env(zoo_get(name, seed=seed), cfg, k=1)
    progress("environments", len(others), len(others))
    user, ref, seed_rows = seed_scan(cfg, progress)
    return RLMeasured(headline, diags, user, ref, seed_rows, measure_contact(cfg, progress))


def _findings(cfg: dict, m: RLMeasured) -> list[str]:
    main, diags = m.main, m.diags
    dt = m.headline.simulator.dt
    lp, up = lam1(main)
    ln = float(main.lambda_numerical.exponents[0])
    findings = [
        f"Bouncing ball with its default policy: the closed loop is {main.physics} (lambda_1 = {lp:+.3f} ± {up:.3f} per "
        f"second in the reference, {ln:+.3f} in the user's map: the flight is integrated exactly, so the two agree) and "
        f"the policy gradient of the mean cost grows at {main.gradient_rate:+.3f} per second "
        f"[{main.gradient_interval[0]:+.3f}, {main.gradient_interval[1]:+.3f}] over horizons up to {cfg['steps']} steps: "
        f"verdict {main.verdict}, causes {', '.join(main.causes) or 'none'}.",
    ]
    if main.truncation_horizon:
        findings.append(
            f"The diagnosis recommends truncated windows of ln 2 / lambda_1 = {main.truncation_horizon:.2f} s = "
            f"{main.truncation_horizon / dt:.0f} control steps for the bouncing ball."
        )
    findings += acrobot_findings(diags[f"acrobot, policy seed {ACROBOT_SEED}"], cfg)
    findings.append(seed_scan_finding(cfg, m.user, m.seed_rows))
    findings += _environment_notes(diags)
    for label, d in diags.items():
        if label.startswith("bouncing") or label == f"acrobot, policy seed {ACROBOT_SEED}":
            continue
        envdt = float(d.config["simulator"]["dt"])
        t = f"; truncate at ~{d.truncation_horizon / envdt:.0f} steps" if d.truncation_horizon else ""
        findings.append(
            f"{label}: {d.physics}, verdict {d.verdict}; lambda_1 {float(d.lambda_numerical.exponents[0]):+.3f} (user) vs "
            f"{lam1(d)[0]:+.3f} (reference) per second; gradient rate {d.gradient_rate:+.3f} per second{t}."
        )
    return findings + contact_findings(m.contact)


def _sections(cfg: dict, m: RLMeasured) -> list[Section]:
    return [
        Section(
            title="Environments with random policies",
            text=(
                "Every environment with an MLP policy at initialisation (where training starts), including the "
                f"acrobot with policy seed {ACROBOT_SEED}. Horizons up to {cfg['steps']} control steps; lambda_1 and "
                "rates per second; 'rate per step' multiplies by the control period. The truncation window is "
                "ln 2 / lambda_1 of the reference when it is chaotic. With the random cart-pole policy the cart "
                "drifts away without bound, so its closed loop is not stationary and its exponents are uncertain."
            ),
            figures=(_growth_figure(m.diags),),
            tables=(
                Table(
                    title="Diagnosis of each closed loop",
                    columns=ENV_COLUMNS,
                    rows=tuple(_env_row(k, d, float(d.config["simulator"]["dt"])) for k, d in m.diags.items()),
                ),
            ),
        ),
        seed_scan_section(cfg, m.user, m.ref, m.seed_rows),
        contact_section(cfg, m.contact),
    ]


def narrate(cfg: dict, m: RLMeasured, *, fast: bool) -> Study:
    """The study's sections, summary and findings from the numbers :func:`measure` returned."""
    main, diags = m.main, m.diags
    lp = lam1(main)[0]
    acro = diags[f"acrobot, policy seed {ACROBOT_SEED}"]
    summary = (
        f"Analytic policy gradients over up to {cfg['steps']} control steps. The bouncing ball's closed loop is "
        f"{main.physics} (lambda_1 = {lp:.3f} per second) and its policy gradient explodes at {main.gradient_rate:.3f} "
        f"per second: verdict {main.verdict}; at its contact jumps autodiff and first-order smoothing miss the jump "
        f"that a zeroth-order estimate sees, while away from them all estimators agree. The acrobot with policy seed "
        f"{ACROBOT_SEED} at Gym's step gets verdict {acro.verdict} (causes {', '.join(acro.causes) or 'none'}): its "
        f"reference closed loop is nearly regular (lambda_1 = {lam1(acro)[0]:.3f}) but the Gym map expands at "
        f"{float(acro.lambda_numerical.exponents[0]):.3f} per second."
    )
    return make_study(
        "rl",
        "Long-horizon RL rollouts: policy gradients through control environments",
        summary,
        main,
        _sections(cfg, m),
        _findings(cfg, m),
        fast=fast,
        config={**cfg, "headline": HEADLINE, "acrobot_policy_seed": ACROBOT_SEED, "contact_steps": CONTACT_STEPS},
        extra={k: d for k, d in diags.items() if not k.startswith("bouncing")},
    )


@float64_scope
def run(*, fast: bool = False, progress=None) -> Study:
    cfg = _settings(fast)
    return narrate(cfg, measure(cfg, progress or no_progress), fast=fast)


SPEC = StudySpec(
    name="rl",
    title="RL rollouts",
    description="Policy gradients through pendulum, cart-pole, acrobot and a bouncing ball over 1,000 steps.",
    run=run,
)
