"""Captions of the standard figures: what to see, with the measured numbers."""

from __future__ import annotations

import numpy as np

from chaosgrad._diagnosis import words as words
from chaosgrad.report._numbers import dtype_limits, fmt, is_finite
from chaosgrad.report._plot import BAD, GRAD, GREY, NUM, PHYS, PHYSICS_LINE, REF, STYLE_NAMES, colour_name
from chaosgrad.report._text import horizon_kind


def _line(colour: str, style: str) -> str:
    """``"blue dashed"``: a line's colour and style in words, from the figure's constants."""
    return f"{colour_name(colour)} {STYLE_NAMES[style]}"


def gradient_growth(d) -> str:
    from chaosgrad.report._gradient_figures import gradient_growth_parts

    parts = gradient_growth_parts(d)
    return (_growth_curves(d, parts) + _growth_limits(d, parts)).strip()


def _growth_curves(d, parts) -> str:
    """What the gradient-growth figure's curves are: the members, their median, the fit and
    the slopes expected from the physics."""
    from chaosgrad.report._gradient_figures import MAX_MEMBER_LINES

    g = d.gradient
    M, T, have = parts["M"], parts["T"], parts["have"]
    H = T.size
    n_fit = int(np.asarray(parts["fit"], dtype=bool).sum())
    green = colour_name(GRAD)
    if not have.any():
        s = (
            f"ln‖∂L_T/∂{g.wrt}‖ for {M} ensemble members at {H} horizons: no member's gradient is finite "
            "and positive at any horizon, so there is no curve to draw, and too few horizons were finite to fit γ. "
        )
    else:
        members = (
            f"for {M} ensemble members ({colour_name(GREY)} lines)"
            if parts["members"]
            else f"for {M} ensemble members (too many to draw one by one)"
            if M > MAX_MEMBER_LINES
            else f"for {M} ensemble members (no member is finite at two consecutive horizons, so no "
            "member's line is drawn)"
        )
        circles = (
            [f"filled circles the {n_fit} horizon{'s' if n_fit != 1 else ''} used in the fit"] if n_fit else []
        ) + (
            ["open circles " + ("those left out of it" if n_fit else "horizons not used in any fit")]
            if parts["unfit"]
            else []
        )
        median = f"the {green} line and band are the member median and its 10–90 % spread"
        if not parts["median_line"]:
            median = f"the {green} point is the member median at the one horizon where gradients are finite, " + (
                "filled: it is used in the fit" if n_fit else "open: it is not used in any fit"
            )
            circles = []
        s = f"ln‖∂L_T/∂{g.wrt}‖ {members} at {H} horizons; {median}" + "".join(", " + c for c in circles) + ". "
        if parts["fit_line"] and is_finite(d.gradient_rate):
            band = " (the faint band spans its interval)" if parts["fit_band"] else ""
            s += (
                f"If the gradient grows like exp(γT) the median is a straight line of slope γ: the thin {green} "
                f"line is the fit over {n_fit} horizons, γ = "
                f"{words.rate(d.gradient_rate, *tuple(d.gradient_interval or (None, None))[:2])}{band}. "
            )
        elif parts["fit_line"]:
            s += (
                f"The thin {green} line has the slope of the gradient's own rate "
                f"{words.number(parts['rate'], 3, signed=True)}; the diagnosis reports no rate. "
            )
        else:
            s += "Here too few horizons were finite to fit γ, so no fitted line is drawn. "
        expected = parts["expected"]
        if expected:
            lines = [
                f"the {_line(color, ls)} line has the slope expected from {name} "
                f"({words.number(slope, 3, signed=True)})"
                for slope, color, ls, name in expected
            ]
            s += "Through the fitted points " + " and ".join(lines) + "."
            if any(name == "λ_physical" for *_, name in expected) and parts["fit_line"]:
                phys = _line(*next((c, ls) for _, c, ls, n in expected if n == "λ_physical"))
                s += (
                    f" A fit along the {phys} line means the physics explains the growth; a steeper or "
                    "flatter fit means something else adds to it."
                )
            s += " "
    return s


def _growth_limits(d, parts) -> str:
    """What the gradient-growth figure marks beyond the curves: the non-finite horizons, the
    dtype's largest number, and the horizons of overflow and underflow."""
    from chaosgrad.report._gradient_figures import DTYPE_LINE, OVERFLOW_LINE

    M, T = parts["M"], parts["T"]
    H = T.size
    s = ""
    bad = parts["bad"]
    if bad.any():
        ok = np.isfinite(parts["logn"])
        n_bad = int((~ok).sum())
        s += (
            f"{colour_name(BAD).capitalize()} crosses mark the {int(bad.sum())} horizon(s) where some members' "
            f"gradients were non-finite or zero ({n_bad} of {M * H} evaluations, counts above each cross), first at "
            f"T = {words.number(float(T[np.argmax(bad)]))}. "
        )
    lim = dtype_limits(d.dtype)
    if parts["dtype_line"] and lim is not None:  # the line is drawn only where the limits are known
        s += f"The {_line(*DTYPE_LINE)} line is the logarithm of the largest {d.dtype} ({words.number(lim[0])}). "
    kind = horizon_kind(d)
    drawn = f" ({_line(*OVERFLOW_LINE)} vertical line)" if parts["overflow_line"] else ""
    if kind == "overflow":
        s += (
            f"At the measured rate the gradient reaches the largest {d.dtype}"
            f"{f' ({words.number(lim[0])})' if lim else ''} at T ≈ {words.number(d.overflow_horizon)}{drawn}. "
        )
    elif kind == "non-finite":
        s += (
            f"At least half of the members' gradients are non-finite from T ≈ {words.number(d.overflow_horizon)}"
            f"{drawn} on, observed where no growth rate was measured. "
        )
    if is_finite(d.underflow_horizon) and is_finite(d.gradient_rate):
        s += f"It falls below the smallest normal {d.dtype} at T ≈ {words.number(d.underflow_horizon)}."
    return s


def convergence(d) -> str:
    from chaosgrad.report._lyapunov_figures import CONVERGENCE_LINES, LITERATURE_LINE, NONFINITE_LINE

    p, n = d.lambda_physical, d.lambda_numerical
    k = max(int(min(3, np.asarray(p.exponents).size)), 1)

    def drawn(r, colour, style):
        hist = np.asarray(r.history, dtype=float)
        if hist.ndim == 2 and np.isfinite(hist[:, :k]).any():
            return f"{_line(colour, style)}; "
        return "no finite running estimate; "

    (pc, pl), (nc, nl) = CONVERGENCE_LINES
    s = (
        f"Running estimates of the leading exponents against integration time for the reference "
        f"dynamics ({drawn(p, pc, pl)}{p.dtype}, {p.n_intervals} intervals of τ = {fmt(p.interval, 3)}) and "
        f"for your own numerical step ({drawn(n, nc, nl)}{n.dtype}). A flat curve has converged; the band "
        f"around each curve is its 95% interval ({p.error_method}), shrinking as 1/√n from its final value. "
        f"The two should coincide when the discretisation is sound."
    )
    lit = d.literature.get("exponents") if isinstance(d.literature, dict) else None
    if lit and any(is_finite(x) for x in list(lit)[:k]):
        s += (
            f" {_line(*LITERATURE_LINE).capitalize()} lines: literature "
            f"({d.literature.get('source', 'source not given')})."
        )
    for name, r in (("reference", p), ("numerical", n)):
        hist = np.asarray(r.history, dtype=float)
        if r.first_nonfinite_interval is not None and hist.ndim == 2 and hist.shape[0] and hist.shape[1]:
            s += (
                f" The {name} run's {r.nonfinite_quantity or 'value'} became non-finite in interval "
                f"{int(r.first_nonfinite_interval) + 1} ({_line(*NONFINITE_LINE)} line); estimates use the "
                "intervals before it."
            )
    return s


def ftle(d) -> str:
    f = np.asarray(d.lambda_physical.finite_time_exponents, dtype=float)
    lead = f[:, :, 0] if f.ndim == 3 and f.shape[2] else np.zeros((0, 0))
    v = lead[np.isfinite(lead)]
    if v.size == 0:
        return "No finite-time exponents were recorded."
    frac = float(np.mean(v > 0))
    means = [
        name
        for name, r in (("reference", d.lambda_physical), ("numerical", d.lambda_numerical))
        if np.asarray(r.finite_time_exponents).ndim == 3
        and np.asarray(r.finite_time_exponents).shape[2]
        and np.isfinite(np.asarray(r.finite_time_exponents, dtype=float)[:, :, 0]).any()
        and is_finite(np.asarray(r.exponents, dtype=float)[0])
    ]
    mark = f", and vertical lines mark the {' and '.join(means)} mean{'s' if len(means) > 1 else ''}" if means else ""
    return (
        f"Histogram of the leading exponent measured over single intervals of τ = "
        f"{fmt(d.lambda_physical.interval, 3)}: {100 * frac:.0f} % of the reference intervals stretch "
        f"(λ₁(τ) > 0), the spread (standard deviation {fmt(float(np.std(v)), 3)}) is how much the "
        f"local stretching varies along the attractor{mark}. "
        f"A wide distribution makes finite-horizon gradients heavy-tailed: single long "
        f"windows can be much larger or smaller than exp(λ₁T)."
    )


def cotangent(d) -> str:
    g = d.gradient
    t = np.asarray(g.cotangent_times)
    c = np.asarray(g.cotangent_norms, dtype=float)
    if t.size < 2 or c.ndim != 2 or c.shape[1] != t.size:
        return "The cotangent norms along the trajectory were not recorded for this run."
    if not (np.isfinite(c) & (c > 0)).any(axis=0).any():
        return "Every cotangent norm along the trajectory is non-finite or zero: there is no curve to draw."
    lam = float(np.asarray(d.lambda_physical.exponents, dtype=float)[0])
    line = _line(*PHYSICS_LINE)
    if not np.isfinite(lam):
        return (
            f"Left: the norm of the backward cotangent ∂L/∂y(t) along the longest horizon's trajectory, median "
            f"({colour_name(GRAD)}) and 10–90 % band over members; jumps locate the intervals where the gradient "
            "grows. Right: that growth rate per block of time (at most 25 blocks). λ₁ was not measured, so no "
            "reference slope is drawn."
        )
    return (
        f"Left: the norm of the backward cotangent ∂L/∂y(t) along the longest horizon's "
        f"trajectory, median ({colour_name(GRAD)}) and 10–90 % band over members. Reading right to left "
        f"follows the backward pass: a straight line of slope −λ₁ ({line}) means the gradient gains the "
        f"same factor in every stretch of time, as chaos predicts; jumps locate the intervals where "
        f"it grows. Right: that growth rate per block of time (at most 25 blocks), "
        f"ln(‖∂L/∂y(t_i)‖/‖∂L/∂y(t_i+1)‖)/(t_i+1 − t_i), against λ₁ = "
        f"{words.number(lam, 3, signed=True)} ({line})."
    )


def ablations(d) -> str:
    abl = tuple(d.ablations or ())
    if not abl:
        return "No ablations were run, so no cause is confirmed by a rerun."
    conf = [a.name for a in abl if a.confirmed]
    failed = [a.name for a in abl if a.status != "ok"]
    from chaosgrad.report._ablation_figure import ABLATION_COLOURS, ablation_marks

    marks = ablation_marks(d)
    before, confirmed, other = (colour_name(c) for c in ABLATION_COLOURS)
    after = [
        w
        for w, key in (
            (f"{confirmed} where the change confirmed its cause", "confirmed"),
            (f"{other} where it did not", "other"),
        )
        if marks[key]
    ]
    s = "Each row reruns the measurement with one thing changed"
    if marks["before"] or after:
        s += (
            ": "
            + ", ".join(
                ([f"the {before} square is the gradient rate before"] if marks["before"] else [])
                + ([f"the circle is the rate after ({'; '.join(after)})"] if after else [])
            )
            + ", each with its confidence interval where one was measured. "
        )
    else:
        s += "; no rate before or after was measured. "
    if is_finite(d.expected_rate):
        s += (
            f"The {_line(*PHYSICS_LINE)} line is the rate the physics predicts "
            f"({words.number(d.expected_rate, 3, signed=True)}). "
        )
    s += f"Confirmed: {', '.join(conf)}. " if conf else "No change closed the gap. "
    if failed:
        s += f"Failed to run: {', '.join(failed)} (the error is printed in the row and in the table below)."
    return s.strip()


def spectrum(d) -> str:
    phys = np.asarray(d.lambda_physical.exponents, dtype=float)
    num = np.asarray(d.lambda_numerical.exponents, dtype=float)

    def bars(v, colour):
        return f"{colour_name(colour)} bars" if np.isfinite(v).any() else "no finite exponent"

    s = (
        f"The Lyapunov spectrum of the reference dynamics ({bars(phys, PHYS)}, with 95% intervals) and of "
        f"your numerical map ({bars(num, NUM)}). Equal bars mean the solver reproduces the physics; a "
        "shifted λ₁ is a discretisation artefact."
    )
    if not (np.isfinite(phys).all() and np.isfinite(num).all()):
        s += f" {colour_name(BAD).capitalize()} crosses at zero mark exponents that are not finite."
    if isinstance(d.literature, dict) and d.literature.get("exponents"):
        s += (
            f" {colour_name(REF).capitalize()} ticks: published values "
            f"({d.literature.get('source', 'source not given')})."
        )
    else:
        s += " No published values are known for this system."
    ky = d.lambda_physical.kaplan_yorke
    if is_finite(ky):
        s += f" Kaplan–Yorke dimension {fmt(ky, 4)}."
    return s


def growth_law(d) -> str:
    from chaosgrad.report._law_figure import caption

    return caption(d)


CAPTIONS = {
    "gradient-growth": gradient_growth,
    "growth-law": growth_law,
    "convergence": convergence,
    "ftle": ftle,
    "cotangent": cotangent,
    "ablations": ablations,
    "spectrum": spectrum,
}
