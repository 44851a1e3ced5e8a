"""The figures of the gradient itself: its growth with the horizon (``gradient_growth``)
and the backward cotangent along the trajectory (``cotangent``).

1. ``gradient_growth``: ln||grad|| against the horizon, ensemble median and spread,
   the fitted rate, reference slopes from lambda_physical and lambda_numerical, and
   non-finite horizons marked.
2. ``cotangent``: norm of the backward cotangent dL/dy(t) along the trajectory, and its
   growth rate per interval.
"""

from __future__ import annotations

import warnings

import numpy as np

from chaosgrad.report._numbers import dtype_limits, fmt, is_finite
from chaosgrad.report._plot import BAD, GRAD, GREY, NUM, PHYS, PHYSICS_LINE, legend, new_figure, note
from chaosgrad.report._text import horizon_kind


def _blend(ax):
    from matplotlib.transforms import blended_transform_factory

    return blended_transform_factory(ax.transData, ax.transAxes)


def _robust_band(log_norms):
    """Median and 10-90 % band of ``log_norms`` (M, H) over members, ignoring NaN.

    Columns with no finite member give NaN (numpy's all-NaN warning is expected there).
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        med = np.nanmedian(log_norms, axis=0)
        lo = np.nanpercentile(log_norms, 10, axis=0)
        hi = np.nanpercentile(log_norms, 90, axis=0)
    return med, lo, hi


# Line styles of the gradient-growth figure; its caption names them from here.
EXPECTED_LINES = (("expected_rate", PHYS, "--", "λ_physical"), ("expected_numerical_rate", NUM, ":", "λ_numerical"))
DTYPE_LINE = (BAD, "-.")
OVERFLOW_LINE = (BAD, "--")
MAX_MEMBER_LINES = 64


def gradient_growth_parts(d) -> dict:
    """What :func:`gradient_growth` draws for diagnosis ``d``: the data it plots and which
    elements appear. The caption (``_captions.gradient_growth``) reads the same dict, so
    it names only what is drawn."""
    g = d.gradient
    T = np.asarray(g.horizons, dtype=float)
    norms = np.asarray(g.norms, dtype=float)
    ok = np.asarray(g.finite, dtype=bool) & np.isfinite(norms) & (norms > 0)
    logn = np.where(ok, np.log(np.where(ok, norms, 1.0)), np.nan)
    M = logn.shape[0]
    n_ok = ok.sum(axis=0)
    med, lo, hi = _robust_band(logn)
    fit = np.asarray(g.fit_mask, dtype=bool) & np.isfinite(med)
    have = np.isfinite(med)
    rate = d.gradient_rate if is_finite(d.gradient_rate) else g.rate
    lo_r, hi_r = tuple(d.gradient_interval or (np.nan, np.nan))[:2]
    fit_block = bool(have.any() and (fit.sum() >= 2 or (fit.sum() >= 1 and is_finite(d.gradient_rate))))
    ylim = None
    if have.any():
        ylim = [float(np.nanmin(lo)), float(np.nanmax(hi))]
        pad = 0.08 * max(ylim[1] - ylim[0], 1.0)
        ylim = [ylim[0] - pad, ylim[1] + pad]
    limits = dtype_limits(d.dtype)
    ln_max = float(np.log(limits[0])) if limits is not None else None
    oh = d.overflow_horizon
    return {
        "T": T,
        "logn": logn,
        "M": M,
        "n_ok": n_ok,
        "med": med,
        "lo": lo,
        "hi": hi,
        "fit": fit,
        "have": have,
        "rate": rate,
        "interval": (lo_r, hi_r),
        "ylim": ylim,
        "limits": limits,
        "ln_max": ln_max,
        # A member's line shows where it is finite at two consecutive horizons.
        "members": bool(M <= MAX_MEMBER_LINES and (np.isfinite(logn[:, :-1]) & np.isfinite(logn[:, 1:])).any()),
        "median_line": bool(have.sum() >= 2),
        "unfit": bool((have & ~fit).any()),
        "fit_block": fit_block,
        "fit_line": fit_block and is_finite(rate),
        "fit_band": fit_block and is_finite(rate) and is_finite(lo_r) and is_finite(hi_r),
        "expected": tuple(
            (getattr(d, attr), color, ls, name)
            for attr, color, ls, name in EXPECTED_LINES
            if fit_block and is_finite(getattr(d, attr))
        ),
        "dtype_line": bool(ylim is not None and ln_max is not None and ln_max <= ylim[1] + 0.5 * (ylim[1] - ylim[0])),
        "bad": n_ok < M,
        "overflow_line": bool(is_finite(oh) and T.size and float(oh) <= 1.3 * T.max()),
    }


def gradient_growth(d, width=6.4, height=3.7):
    """ln||dL_T/dp|| against the horizon T: the members, their median and spread, the
    fitted rate with the slopes physics predicts, and the limits of the dtype."""
    fig, axes = new_figure(width, height)
    ax = axes[0, 0]
    parts = gradient_growth_parts(d)
    _draw_members(ax, parts)
    if parts["fit_block"]:
        _draw_fit(ax, parts)
    if parts["ylim"] is not None:
        ax.set_ylim(*parts["ylim"])
    _draw_limits(ax, d, parts)
    T, M, have = parts["T"], parts["M"], parts["have"]
    if not have.any():
        note(ax, f"no finite gradient at any horizon\n({M} members × {T.size} horizons non-finite)", color=BAD)
        ax.set_yticks([])
        if T.size:
            ax.set_xlim(T.min() - 0.05 * np.ptp(T), T.max() + 0.05 * np.ptp(T))
    ax.set_xlabel("horizon T (time units)")
    ax.set_ylabel(f"ln ‖∂L_T / ∂{d.gradient.wrt}‖")
    legend(ax, loc="lower right", ncol=2)
    return fig


def _draw_members(ax, parts) -> None:
    """Each member's line (when few enough), the 10-90 % band, and the median as filled
    circles where it entered the fit and open ones where it did not."""
    T, logn, M = parts["T"], parts["logn"], parts["M"]
    med, lo, hi, fit, have = parts["med"], parts["lo"], parts["hi"], parts["fit"], parts["have"]
    if parts["members"]:
        for m in range(M):
            ax.plot(T, logn[m], "-", color=GREY, alpha=0.25, linewidth=0.6)
    if not have.any():
        return
    ax.fill_between(T, lo, hi, where=have, color=GRAD, alpha=0.16, linewidth=0, label="10–90 % of members")
    ax.plot(T[have], med[have], "-", color=GRAD, linewidth=1.4)
    ax.plot(T[fit], med[fit], "o", color=GRAD, markersize=4, label="median (used in fit)")
    unfit = have & ~fit
    if unfit.any():
        ax.plot(
            T[unfit],
            med[unfit],
            "o",
            markerfacecolor="white",
            markeredgecolor=GRAD,
            markersize=4,
            label="median (not in fit)",
        )


def _draw_fit(ax, parts) -> None:
    """The fitted line and its interval's band, and the slopes expected from the physics,
    all through the fitted points' centre (tbar, ybar): ybar = mean(med - rate (T - tbar))."""
    T, med, fit = parts["T"], parts["med"], parts["fit"]
    tbar = float(T[fit].mean())
    rate = parts["rate"]
    ybar = float(np.mean(med[fit] - rate * (T[fit] - tbar))) if is_finite(rate) else float(med[fit].mean())
    span = np.array([T.min(), T.max()])
    if parts["fit_band"]:
        lo_r, hi_r = parts["interval"]
        tt = np.linspace(span[0], span[1], 50)
        ax.fill_between(tt, ybar + lo_r * (tt - tbar), ybar + hi_r * (tt - tbar), color=GRAD, alpha=0.10, linewidth=0)
    if parts["fit_line"]:
        ax.plot(
            span,
            ybar + rate * (span - tbar),
            "-",
            color=GRAD,
            linewidth=1.0,
            alpha=0.8,
            label=f"fit γ = {fmt(rate, 3, signed=True)}",
        )
    for slope, color, ls, name in parts["expected"]:
        ax.plot(
            span,
            ybar + float(slope) * (span - tbar),
            ls,
            color=color,
            linewidth=1.5,
            label=f"slope from {name}: {fmt(slope, 3, signed=True)}",
        )


def _draw_limits(ax, d, parts) -> None:
    """The largest finite number of the dtype (when within reach), the non-finite
    horizons (never dropped silently: crosses in a strip at the top, with counts) and the
    horizon of overflow; the y range grows to hold them."""
    T, M, n_ok, have = parts["T"], parts["M"], parts["n_ok"], parts["have"]
    limits = parts["limits"]
    lo_y, hi_y = ax.get_ylim()
    if parts["dtype_line"]:
        ln_max = parts["ln_max"]
        ax.axhline(
            ln_max,
            color=DTYPE_LINE[0],
            linestyle=DTYPE_LINE[1],
            linewidth=0.9,
            label=f"largest {d.dtype} ({fmt(limits[0], 3)})",
        )
        hi_y = max(hi_y, ln_max)
    bad = parts["bad"]
    tr = _blend(ax)
    if bad.any():
        hi_y = hi_y + 0.16 * (hi_y - lo_y)
        first = float(T[np.argmax(bad)])
        ax.axvspan(first, T.max(), color=BAD, alpha=0.06, linewidth=0)
        ax.plot(
            T[bad],
            np.full(bad.sum(), 0.955),
            "x",
            color=BAD,
            markersize=7,
            mew=1.6,
            transform=tr,
            clip_on=False,
            label="non-finite gradient (count of members)",
        )
        for t, n in zip(T[bad], n_ok[bad]) if have.any() else ():
            ax.text(t, 0.915, f"{M - n}/{M}", transform=tr, ha="center", va="top", fontsize=6.5, color=BAD)
    if have.any():
        ax.set_ylim(lo_y, hi_y)
    oh = d.overflow_horizon
    if parts["overflow_line"]:
        what = f"{d.dtype} overflow at" if horizon_kind(d) == "overflow" else "gradient non-finite from"
        ax.axvline(
            float(oh),
            color=OVERFLOW_LINE[0],
            linestyle=OVERFLOW_LINE[1],
            linewidth=0.9,
            label=f"{what} T ≈ {fmt(oh, 3)}",
        )


def cotangent(d, width=6.4, height=3.0):
    g = d.gradient
    fig, axes = new_figure(width, height, ncols=2)
    ax, ax2 = axes[0, 0], axes[0, 1]
    t = np.asarray(g.cotangent_times, dtype=float)
    c = np.asarray(g.cotangent_norms, dtype=float)
    if t.size < 2 or c.ndim != 2 or c.shape[1] != t.size:
        note(ax, "cotangent norms were not recorded", blank=True)
        ax2.set_axis_off()
        return fig
    ok = np.isfinite(c) & (c > 0)
    logc = np.where(ok, np.log(np.where(ok, c, 1.0)), np.nan)
    med, lo, hi = _robust_band(logc)
    have = np.isfinite(med)
    if not have.any():
        note(ax, "every cotangent norm is non-finite", color=BAD, blank=True)
        ax2.set_axis_off()
        return fig
    for m in range(min(logc.shape[0], 64)):
        ax.plot(t, logc[m], color=GREY, alpha=0.25, linewidth=0.6)
    ax.fill_between(t, lo, hi, where=have, color=GRAD, alpha=0.16, linewidth=0)
    ax.plot(t, med, color=GRAD, linewidth=1.4, label="median")
    lam = float(np.asarray(d.lambda_physical.exponents, dtype=float)[0])
    last = np.nonzero(have)[0][-1]
    if np.isfinite(lam):
        ax.plot(
            [t[0], t[last]],
            [med[last] + lam * (t[last] - t[0]), med[last]],
            PHYSICS_LINE[1],
            color=PHYSICS_LINE[0],
            linewidth=1.3,
            label=f"slope −λ₁ = {fmt(-lam, 3, signed=True)}",
        )
    bad = ~ok.all(axis=0)
    if bad.any():
        ax.plot(
            t[bad], np.full(bad.sum(), 0.96), "x", color=BAD, transform=_blend(ax), clip_on=False, label="non-finite"
        )
    ax.set_xlabel("time t along the trajectory")
    ax.set_ylabel("ln ‖∂L/∂y(t)‖")
    legend(ax, loc="upper right")

    # Growth per unit time going backwards, over at most 25 blocks of consecutive
    # intervals (single short intervals are dominated by the local stretching noise).
    edges = np.unique(np.linspace(0, t.size - 1, min(t.size, 26)).round().astype(int))
    dt = np.diff(t[edges])
    rate = (logc[:, edges[:-1]] - logc[:, edges[1:]]) / dt
    rmed, rlo, rhi = _robust_band(rate)
    mid = 0.5 * (t[edges[1:]] + t[edges[:-1]])
    have_r = np.isfinite(rmed)
    ax2.fill_between(mid, rlo, rhi, where=have_r, step="mid", color=GRAD, alpha=0.16, linewidth=0)
    ax2.step(mid, rmed, where="mid", color=GRAD, linewidth=1.2, label="median rate per block")
    if np.isfinite(lam):
        ax2.axhline(
            lam,
            color=PHYSICS_LINE[0],
            linestyle=PHYSICS_LINE[1],
            linewidth=1.2,
            label=f"λ₁ physical {fmt(lam, 3, signed=True)}",
        )
    ax2.axhline(0.0, color=GREY, linewidth=0.7)
    ax2.set_xlabel("time t")
    ax2.set_ylabel("backward growth rate")
    legend(ax2, loc="upper right")
    return fig
