"""The growth-law figure: the gradient on the two axes where each law is a straight line.

``ln ||g||`` against ``T`` is straight for exponential growth ``e^{gamma T}``; against
``ln T`` it is straight for a power ``T^p`` (``chaosgrad._gradients.laws``). The figure draws
the member median over the horizons the law was fitted on, on both axes, with each
law's fitted line, and names the law the diagnosis chose; its caption reads the same
parts (:func:`growth_law_parts`), so it names only what is drawn, in the colours drawn.
"""

from __future__ import annotations

import numpy as np

from chaosgrad._diagnosis import words as words
from chaosgrad.report._numbers import is_finite
from chaosgrad.report._plot import GRAD, GREY, NUM, colour_name, new_figure

# The chosen law's line is solid, the other one dashed.
CHOSEN, OTHER = "-", "--"
LAW_COLOURS = {"exponential": GRAD, "power": NUM}
NAMES = {"exponential": "exponential, e^(γT)", "power": "power, T^p"}


def growth_law_parts(d) -> dict | None:
    """The data and elements of the figure, or ``None`` when the diagnosis has no law
    (older results, or too few finite horizons): then there is no figure."""
    law = getattr(d.gradient, "law", None)
    if law is None or law.law == "undetermined" or not all(is_finite(x) for x in law.horizon_range):
        return None
    g = d.gradient
    T = np.asarray(g.horizons, float)
    norms = np.asarray(g.norms, float)
    ok = np.asarray(g.finite, bool) & np.isfinite(norms) & (norms > 0)
    if getattr(g, "rate_of_time_integral", False):
        norms = norms * T[None, :]  # the law was fitted on T |dL_T/dtheta|, as the rate
    logs = np.where(ok, np.log(np.where(ok, norms, 1.0)), np.nan)
    lo, hi = law.horizon_range
    inside = (T >= lo * (1 - 1e-9)) & (T <= hi * (1 + 1e-9)) & (ok.sum(axis=0) > 0)
    if inside.sum() < 3:
        return None
    T, med = T[inside], np.nanmedian(logs[:, inside], axis=0)
    lines = {}
    for name, x in (("exponential", T), ("power", np.log(T))):
        slope = float(np.polyfit(x, med, 1)[0]) if name == "exponential" else float(law.exponent)
        if not is_finite(slope):
            continue
        intercept = float(np.mean(med - slope * x))
        lines[name] = (slope, intercept)
    chosen = law.law if law.law in ("exponential", "power") else None
    return {"T": T, "med": med, "lines": lines, "chosen": chosen, "law": law}


def growth_law(d, width=6.4, height=3.0):
    parts = growth_law_parts(d)
    if parts is None:  # the report asks figures.nothing_to_draw first and leaves the figure out
        raise ValueError("the diagnosis has no growth law to draw (none fitted, or fewer than 3 finite horizons)")
    fig, axes = new_figure(width, height, ncols=2)
    for ax, name, x, label in (
        (axes[0, 0], "exponential", parts["T"], "horizon T (time units)"),
        (axes[0, 1], "power", np.log(parts["T"]), "ln T"),
    ):
        ax.plot(x, parts["med"], "o", color=GREY, markersize=4, label="member median")
        if name in parts["lines"]:
            slope, intercept = parts["lines"][name]
            xx = np.array([x.min(), x.max()])
            style = CHOSEN if parts["chosen"] == name else OTHER
            what = "γ" if name == "exponential" else "p"
            ax.plot(
                xx,
                intercept + slope * xx,
                style,
                color=LAW_COLOURS[name],
                linewidth=1.4,
                label=f"{NAMES[name]}: {what} = {words.number(slope, 3, signed=True)}",
            )
        ax.set_title(f"{'chosen: ' if parts['chosen'] == name else ''}{NAMES[name]} is straight here")
        ax.set_xlabel(label)
        ax.set_ylabel(f"ln ‖∂L_T / ∂{d.gradient.wrt}‖")
        ax.legend(loc="best", fontsize=7)
    return fig


def caption(d) -> str:
    parts = growth_law_parts(d)
    if parts is None:  # no figure (``_figures.nothing_to_draw``): say why
        if getattr(d.gradient, "law", None) is None:
            return "No growth law is recorded in these results (they were written before growth laws were fitted)."
        return (
            "No growth law was fitted: fewer than 5 horizons have a finite gradient for at least half of the members."
        )
    law = parts["law"]
    lo, hi = law.horizon_range
    median = (
        f"the member median of ln‖∂L_T/∂{d.gradient.wrt}‖ ({colour_name(GREY)} circles) over T = "
        f"{words.number(lo)} to {words.number(hi)}"
    )
    pieces = [
        f"Left: {median} against T, where exponential growth e^(γT) is a straight line; right: the same "
        "against ln T, where a power T^p is."
    ]
    for name in ("exponential", "power"):
        if name not in parts["lines"]:
            continue
        style = "solid" if parts["chosen"] == name else "dashed"
        slope = parts["lines"][name][0]
        what = (
            f"slope γ = {words.number(slope, 3, signed=True)}"
            if name == "exponential"
            else f"slope p = {words.rate(law.exponent, *law.exponent_interval)}"
        )
        pieces.append(f"The {colour_name(LAW_COLOURS[name])} {style} line is the {name} law ({what}).")
    net_lo, net_hi = law.net_rate_interval
    joint = (
        f"Fitted with both terms, ln‖g‖ = a + γT + p ln T gives γ = {words.rate(law.net_rate, net_lo, net_hi)} "
        f"and p = {words.rate(law.joint_exponent, *law.joint_exponent_interval)}."
    )
    if law.law == "power":
        pieces.append(f"{joint} γ's interval contains 0 and p's does not: the growth is a power of T.")
    elif law.law == "exponential":
        pieces.append(f"{joint} The exponential term is needed: the growth is exponential.")
    elif law.law == "saturating":
        pieces.append(
            "The gradient stays within an order of magnitude over the horizons: it levels off, and "
            "neither line is the chosen law."
        )
    elif law.law == "either":
        decide = (
            f" Horizons up to T ≈ {words.number(law.deciding_horizon)} would tell them apart at the scatter measured."
            if is_finite(law.deciding_horizon)
            else " More members would be needed to tell them "
            "apart: no horizon up to 1024 times the longest would at the scatter measured."
        )
        pieces.append(
            f"{joint} Both intervals contain 0: these horizons cannot tell the two laws apart, so "
            "neither line is the chosen law." + decide
        )
    return " ".join(pieces)
