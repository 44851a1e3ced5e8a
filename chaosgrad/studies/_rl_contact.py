"""The rl study's contact part: the bouncing ball's return against its initial height, with
exact impact times ('event') and time-stepping reflection ('reflect'), and three estimates of
its gradient (autodiff, first- and zeroth-order randomised smoothing) at its largest jump and
farthest from any jump (Suh, Simchowitz, Zhang & Tedrake, ICML 2022).
"""

from __future__ import annotations

import math

import numpy as np

from chaosgrad._results.study import Figure, Section, Series, Table
from chaosgrad.studies import _rl_helpers as helpers
from chaosgrad.zoo._bouncing_ball import bouncing_ball

CONTACT_STEPS = 40
CONTACT_RANGE = (1.0, 2.0)


def measure_contact(cfg, progress) -> dict:
    """Return and gradient estimators of the bouncing ball against its initial height: per
    contact model its return, jumps, largest jump ``big`` (height, size), the height ``away``
    farthest from any jump and the estimators ``at`` both; under ``"curves"`` the returns over
    the whole range and the estimators around the event-contact return's largest jump."""
    out = {}
    for contact in ("event", "reflect"):
        progress(f"bouncing ball, {contact} contact", 0, 1)
        system = bouncing_ball(contact=contact)
        ret = helpers.height_return(system, CONTACT_STEPS)
        jumps = helpers.find_jumps(ret, *CONTACT_RANGE, points=4001, threshold=1e-3)
        big = max(jumps, key=lambda j: abs(j[1]))
        away = helpers.farthest_from(jumps, *CONTACT_RANGE)
        at = helpers.estimators(ret, np.array([big[0], away]), sigma=cfg["sigma"], samples=cfg["contact_samples"])
        out[contact] = dict(ret=ret, jumps=jumps, big=big, away=away, at=at)
    wide = np.linspace(*CONTACT_RANGE, 2001)
    returns = {
        contact: helpers.estimators(o["ret"], wide, sigma=cfg["sigma"], samples=2)["value"]
        for contact, o in out.items()
    }
    h_c, s = out["event"]["big"][0], cfg["sigma"]
    near = np.linspace(h_c - 8 * s, h_c + 8 * s, cfg["contact_points"])
    e = helpers.estimators(out["event"]["ret"], near, sigma=s, samples=cfg["contact_samples"])
    return {"models": out, "curves": dict(wide=wide, returns=returns, near=near, near_estimates=e)}


def _return_figure(curves) -> Figure:
    return Figure(
        title="Return of the bouncing ball against its initial height",
        caption=(
            f"Return over {CONTACT_STEPS} control steps (2 s) with the default policy, for exact impact times "
            "('event') and time-stepping reflection ('reflect'). Both jump where an impact falls on a control step: "
            "even with exact impact times the policy then samples the velocity before or after the impact, and the "
            "two choices send the ball on different paths."
        ),
        xlabel="initial height h0",
        ylabel="return",
        series=tuple(
            Series(f"return, {contact} contact", curves["wide"], value, style="line")
            for contact, value in curves["returns"].items()
        ),
    )


def _gradient_figure(cfg, models, curves) -> Figure:
    ev, s, near, e = models["event"], cfg["sigma"], curves["near"], curves["near_estimates"]
    return Figure(
        title="Autodiff against smoothed gradients at a contact jump",
        caption=(
            f"dR/dh0 around the largest jump of the event-contact return (h0 = {ev['big'][0]:.5f}, jump {ev['big'][1]:+.2f}), "
            f"smoothing scale sigma = {s:g}. Autodiff (blue) sees only the smooth slope; the zeroth-order antithetic "
            "estimate of the smoothed gradient (band: ± 2 standard errors) carries the jump as a bump of height "
            "J / (sigma sqrt(2 pi)); averaging autodiff gradients at perturbed heights (first-order smoothing) "
            "stays near the slope: it is biased at the discontinuity. Away from the jump all three agree."
        ),
        xlabel="initial height h0",
        ylabel="dR / dh0",
        series=(
            Series("autodiff", near, e["ad"], style="line"),
            Series(
                "first-order smoothing (AD at perturbed h0)",
                near,
                e["first"],
                lower=e["first"] - 2 * e["first_se"],
                upper=e["first"] + 2 * e["first_se"],
                style="line",
            ),
            Series(
                "zeroth-order smoothing (antithetic)",
                near,
                e["zeroth"],
                lower=e["zeroth"] - 2 * e["zeroth_se"],
                upper=e["zeroth"] + 2 * e["zeroth_se"],
                style="line",
            ),
        ),
    )


def _table(cfg, models) -> Table:
    s = cfg["sigma"]
    rows = []
    for contact, o in models.items():
        a = o["at"]
        for i, (where, h) in enumerate((("largest jump", o["big"][0]), ("farthest from any jump", o["away"]))):
            predicted = a["first"][i] + (o["big"][1] / (s * math.sqrt(2 * math.pi)) if i == 0 else 0.0)
            rows.append(
                (
                    contact,
                    where,
                    f"{h:.6f}",
                    f"{a['ad'][i]:+.2f}",
                    f"{a['first'][i]:+.2f} ± {2 * a['first_se'][i]:.2f}",
                    f"{a['zeroth'][i]:+.2f} ± {2 * a['zeroth_se'][i]:.2f}",
                    f"{predicted:+.2f}",
                    "agree" if abs(a["ad"][i] - a["zeroth"][i]) <= 3 * a["zeroth_se"][i] else "DISAGREE",
                )
            )
    return Table(
        title="Gradient estimates of the return with respect to the initial height",
        caption=(
            f"sigma = {s:g}, {cfg['contact_samples']} samples; ± 2 standard errors. 'predicted' is the first-order "
            "estimate plus the jump term J / (sigma sqrt(2 pi)) that only the zeroth-order estimator sees. "
            "'agree' means |AD - zeroth-order| <= 3 standard errors."
        ),
        columns=(
            "contact",
            "where",
            "h0",
            "autodiff",
            "first-order smoothed",
            "zeroth-order smoothed",
            "predicted zeroth-order",
            "AD vs smoothed",
        ),
        rows=tuple(rows),
    )


def contact_section(cfg, contact: dict) -> Section:
    return Section(
        title="Contact: autodiff against smoothed gradients (bouncing ball)",
        text=(
            "The gradient of the return with respect to the initial height, by autodiff, by averaging autodiff "
            "gradients at Gaussian-perturbed heights (first-order randomised smoothing) and by an antithetic "
            "zeroth-order estimate of the smoothed return's gradient. Where the return jumps, autodiff and its "
            "average miss the jump (Suh et al. 2022 call this the empirical bias of first-order estimators); "
            "where it is smooth, all agree."
        ),
        figures=(_return_figure(contact["curves"]), _gradient_figure(cfg, contact["models"], contact["curves"])),
        tables=(_table(cfg, contact["models"]),),
    )


def contact_findings(contact: dict) -> list[str]:
    """Each contact model's three estimates at its largest jump and away from the jumps, and why the
    event-contact return jumps at all."""
    models = contact["models"]
    findings = []
    for contact_name, o in models.items():
        a = o["at"]
        findings.append(
            f"Bouncing ball ({contact_name} contact): at the largest jump of the return (h0 = {o['big'][0]:.5f}, "
            f"J = {o['big'][1]:+.2f}) autodiff gives {a['ad'][0]:+.1f}, first-order smoothing {a['first'][0]:+.1f} ± "
            f"{2 * a['first_se'][0]:.1f}, zeroth-order smoothing {a['zeroth'][0]:+.0f} ± {2 * a['zeroth_se'][0]:.0f}; "
            f"farthest from any jump (h0 = {o['away']:.3f}) they give {a['ad'][1]:+.2f}, {a['first'][1]:+.2f} ± "
            f"{2 * a['first_se'][1]:.2f} and {a['zeroth'][1]:+.2f} ± {2 * a['zeroth_se'][1]:.2f}."
        )
    findings.append(
        f"Surprise: with exact impact times the state is continuous but the closed-loop return still jumps "
        f"({len(models['event']['jumps'])} jumps for h0 in [{CONTACT_RANGE[0]:g}, {CONTACT_RANGE[1]:g}]): when an impact "
        "falls on a control step the policy observes either the velocity before or after it."
    )
    return findings
