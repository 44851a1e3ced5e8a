"""The six standard figures of a diagnosis, drawn from the result data alone.

1. ``gradient_growth``: ln||grad|| against the horizon, ensemble median and spread,
   the fitted rate, reference slopes from lambda_physical and lambda_numerical, and
   non-finite horizons marked.
2. ``convergence``: running Lyapunov estimates with standard-error bands.
3. ``ftle``: distribution of finite-time exponents.
4. ``cotangent``: norm of the backward cotangent dL/dy(t) along the trajectory, and its
   growth rate per interval.
5. ``ablations``: gradient rate before and after each single change, with intervals.
6. ``spectrum``: the spectra as bars, with literature values.

and ``growth-law`` (``_law_figure``), the gradient on the axes where exponential and
power growth are straight lines, drawn when the diagnosis fitted a law.
"""

from __future__ import annotations

import warnings

import numpy as np

from chaosgrad.report._plot import BAD, GRAD, GREY, NUM, PHYS, REF, finite, legend, new_figure, note, thin_index
from chaosgrad.report._text import dtype_limits, fmt, horizon_kind, is_finite


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
# Colours and styles of the other figures, named by their captions.
CONVERGENCE_LINES = ((PHYS, "-"), (NUM, "--"))  # physical, numerical
NONFINITE_LINE = (BAD, "-.")
LITERATURE_LINE = (REF, "--")
PHYSICS_LINE = (PHYS, "--")  # lambda_1 or the expected rate as a reference line
ABLATION_COLOURS = (GREY, GRAD, NUM)  # before; after, confirmed; after, not confirmed


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
    g = d.gradient
    fig, axes = new_figure(width, height)
    ax = axes[0, 0]
    parts = gradient_growth_parts(d)
    T, logn, M, n_ok = parts["T"], parts["logn"], parts["M"], parts["n_ok"]
    med, lo, hi, fit, have = parts["med"], parts["lo"], parts["hi"], parts["fit"], parts["have"]

    if parts["members"]:
        for m in range(M):
            ax.plot(T, logn[m], "-", color=GREY, alpha=0.25, linewidth=0.6)
    if have.any():
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

    ylim = parts["ylim"]
    if parts["fit_block"]:
        tbar = float(T[fit].mean())
        rate = parts["rate"]
        ybar = float(np.mean(med[fit] - rate * (T[fit] - tbar))) if is_finite(rate) else float(med[fit].mean())
        span = np.array([T.min(), T.max()])
        if parts["fit_band"]:
            lo_r, hi_r = parts["interval"]
            tt = np.linspace(span[0], span[1], 50)
            ax.fill_between(
                tt, ybar + lo_r * (tt - tbar), ybar + hi_r * (tt - tbar), color=GRAD, alpha=0.10, linewidth=0
            )
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
    if ylim is not None:
        ax.set_ylim(*ylim)

    # Reference level: the largest finite number of the dtype, when within reach.
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
    # Non-finite horizons are never dropped silently: crosses in a strip at the top.
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
    if not have.any():
        note(ax, f"no finite gradient at any horizon\n({M} members × {T.size} horizons non-finite)", color=BAD)
        ax.set_yticks([])
        if T.size:
            ax.set_xlim(T.min() - 0.05 * np.ptp(T), T.max() + 0.05 * np.ptp(T))
    ax.set_xlabel("horizon T (time units)")
    ax.set_ylabel(f"ln ‖∂L_T / ∂{g.wrt}‖")
    legend(ax, loc="lower right", ncol=2)
    return fig


def convergence(d, width=6.4, height=3.2):
    phys, num = d.lambda_physical, d.lambda_numerical
    k = int(min(3, np.asarray(phys.exponents).size))
    k = max(k, 1)
    fig, axes = new_figure(width, height, ncols=k)
    lit = (d.literature or {}).get("exponents") if isinstance(d.literature, dict) else None
    for i in range(k):
        ax = axes[0, i]
        vals: list[float] = []
        for res, (color, ls), name in zip((phys, num), CONVERGENCE_LINES, ("physical", "numerical")):
            hist = np.asarray(res.history, dtype=float)
            if hist.ndim != 2 or hist.shape[1] <= i or hist.shape[0] == 0:
                continue
            n = np.arange(1, hist.shape[0] + 1)
            t = n * float(res.interval)
            y = hist[:, i]
            se = np.asarray(res.uncertainty, dtype=float)
            band = se[i] * np.sqrt(hist.shape[0] / n) if se.size > i and np.isfinite(se[i]) else None
            shown = thin_index(y)  # thousands of intervals: the points the figure can show
            if band is not None:
                ax.fill_between(t[shown], (y - band)[shown], (y + band)[shown], color=color, alpha=0.15, linewidth=0)
            ax.plot(t[shown], y[shown], ls, color=color, linewidth=1.3, label=f"{name} ({res.dtype})")
            tail = y[n > hist.shape[0] // 3]
            vals.extend(finite(tail))
            if band is not None:
                vals.extend(finite((tail + band[n > hist.shape[0] // 3])[-1:]))
                vals.extend(finite((tail - band[n > hist.shape[0] // 3])[-1:]))
            if res.first_nonfinite_interval is not None:
                tb = (int(res.first_nonfinite_interval) + 1) * float(res.interval)
                ax.axvline(
                    tb,
                    color=NONFINITE_LINE[0],
                    linewidth=0.9,
                    linestyle=NONFINITE_LINE[1],
                    label=f"{name}: {res.nonfinite_quantity or 'value'} non-finite" if i == 0 else None,
                )
        if lit is not None and i < len(lit) and is_finite(lit[i]):
            ax.axhline(
                float(lit[i]), color=LITERATURE_LINE[0], linewidth=0.9, linestyle=LITERATURE_LINE[1], label="literature"
            )
            vals.append(float(lit[i]))
        if vals:
            lo_v, hi_v = min(vals), max(vals)
            pad = max(0.15 * (hi_v - lo_v), 0.02 * max(abs(lo_v), abs(hi_v)), 0.02)
            ax.set_ylim(lo_v - pad, hi_v + pad)
        else:
            note(ax, "no finite estimate")
        ax.set_title(f"λ{_sub(i + 1)}", fontsize=9)
        ax.set_xlabel("time")
        if i == 0:
            ax.set_ylabel("running estimate")
    _figure_legend(fig, axes[0, 0])
    return fig


def _figure_legend(fig, ax, ncol: int = 4) -> None:
    """One legend for the whole figure, below the axes, so it never hides data."""
    handles, labels = ax.get_legend_handles_labels()
    if handles:
        fig.legend(
            handles, labels, loc="outside lower center", ncol=min(ncol, len(handles)), fontsize=7.5, frameon=False
        )


def _sub(n: int) -> str:
    return str(n).translate(str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉"))


def ftle(d, width=6.4, height=3.0):
    fig, axes = new_figure(width, height)
    ax = axes[0, 0]
    drew = False
    samples = {}
    for res, color, name in ((d.lambda_physical, PHYS, "physical"), (d.lambda_numerical, NUM, "numerical")):
        f = np.asarray(res.finite_time_exponents, dtype=float)
        if f.ndim == 3 and f.shape[2] > 0:
            samples[name] = (finite(f[:, :, 0]), color, res)
    allv = np.concatenate([v for v, _, _ in samples.values()]) if samples else np.zeros(0)
    if allv.size:
        bins = np.linspace(allv.min(), allv.max(), min(50, max(10, int(np.sqrt(allv.size)))) + 1)
        for name, (v, color, res) in samples.items():
            if v.size == 0:
                continue
            ax.hist(
                v,
                bins=bins,
                density=True,
                color=color,
                alpha=0.35 if name == "physical" else 1.0,
                histtype="stepfilled" if name == "physical" else "step",
                linewidth=1.3,
                label=f"{name}: {v.size} intervals of τ = {fmt(res.interval, 3)}",
            )
            mean = float(np.asarray(res.exponents, dtype=float)[0])
            if np.isfinite(mean):
                ax.axvline(mean, color=color, linewidth=1.2, linestyle="--" if name == "numerical" else "-")
            drew = True
        ax.axvline(0.0, color=GREY, linewidth=0.8)
    if not drew:
        note(ax, "no finite-time exponents were recorded", blank=True)
    ax.set_xlabel("finite-time exponent λ₁(τ) of one interval")
    ax.set_ylabel("density")
    legend(ax, loc="upper right")
    return fig


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


def ablation_marks(d) -> dict:
    """Which marks :func:`ablations` draws for ``d``: ``{"before", "confirmed", "other"}``
    each ``True`` when some row has a finite rate or interval of that kind."""

    def shown(rate, interval):
        lo, hi = (tuple(interval) + (np.nan, np.nan))[:2] if interval is not None else (np.nan, np.nan)
        return is_finite(rate) or (is_finite(lo) and is_finite(hi))

    abl = tuple(d.ablations or ())
    return {
        "before": any(shown(a.rate_before, a.interval_before) for a in abl),
        "confirmed": any(a.confirmed and shown(a.rate_after, a.interval_after) for a in abl),
        "other": any(not a.confirmed and shown(a.rate_after, a.interval_after) for a in abl),
    }


def ablations(d, width=6.4, height=None):
    abl = tuple(d.ablations or ())
    n = max(len(abl), 1)
    fig, axes = new_figure(width, height or (1.1 + 0.55 * n))
    ax = axes[0, 0]
    if not abl:
        note(ax, "no ablations were run", blank=True)
        return fig
    labels = []
    xs = []
    for row, a in enumerate(abl):
        y = len(abl) - 1 - row
        labels.append(f"{a.name}\n({a.cause})")
        for rate, interval, dy, color, name in (
            (a.rate_before, a.interval_before, 0.14, ABLATION_COLOURS[0], "before"),
            (
                a.rate_after,
                a.interval_after,
                -0.14,
                ABLATION_COLOURS[1] if a.confirmed else ABLATION_COLOURS[2],
                "after",
            ),
        ):
            lo, hi = (tuple(interval) + (np.nan, np.nan))[:2] if interval is not None else (np.nan, np.nan)
            if is_finite(lo) and is_finite(hi):
                ax.plot([lo, hi], [y + dy, y + dy], "-", color=color, linewidth=2.2, alpha=0.7, solid_capstyle="butt")
                xs += [float(lo), float(hi)]
            if is_finite(rate):
                ax.plot([rate], [y + dy], "o" if name == "after" else "s", color=color, markersize=5, label=None)
                xs.append(float(rate))
        if a.status != "ok" or not is_finite(a.rate_after):
            msg = a.error or f"status {a.status}"
            msg = msg if len(msg) <= 70 else msg[:67] + "…"
            ax.text(
                0.02,
                y - 0.14,
                f"after: {'failed' if a.status != 'ok' else 'no rate'} — {msg}",
                transform=_blend_y(ax),
                color=BAD,
                fontsize=7,
                va="center",
            )
        elif a.confirmed:
            ax.text(
                0.99,
                y - 0.14,
                "confirmed",
                transform=_blend_y(ax),
                ha="right",
                va="center",
                fontsize=7,
                color=GRAD,
                fontweight="bold",
            )
    if is_finite(d.expected_rate):
        ax.axvline(
            float(d.expected_rate),
            color=PHYSICS_LINE[0],
            linestyle=PHYSICS_LINE[1],
            linewidth=1.2,
            label=f"expected from physics {fmt(d.expected_rate, 3, signed=True)}",
        )
        xs.append(float(d.expected_rate))
    marks = ablation_marks(d)
    for key, marker, color, label in (
        ("before", "s", ABLATION_COLOURS[0], "before"),
        ("confirmed", "o", ABLATION_COLOURS[1], "after (confirmed)"),
        ("other", "o", ABLATION_COLOURS[2], "after (not confirmed)"),
    ):
        if marks[key]:
            ax.plot([], [], marker, color=color, label=label)
    if xs:
        lo_x, hi_x = min(xs), max(xs)
        pad = max(0.1 * (hi_x - lo_x), 0.05)
        ax.set_xlim(lo_x - pad, hi_x + pad)
    ax.set_yticks(range(len(abl)), labels[::-1], fontsize=7.5)
    ax.set_ylim(-0.6, len(abl) - 0.4)
    ax.set_xlabel("gradient growth rate γ (1 / time), with confidence interval")
    _figure_legend(fig, ax)
    return fig


def _blend_y(ax):
    from matplotlib.transforms import blended_transform_factory

    return blended_transform_factory(ax.transAxes, ax.transData)


def spectrum(d, width=6.4, height=3.2):
    phys = np.asarray(d.lambda_physical.exponents, dtype=float)
    num = np.asarray(d.lambda_numerical.exponents, dtype=float)
    k = max(phys.size, num.size)
    both = finite(np.concatenate([phys, num]))
    scale = float(np.max(np.abs(both))) if both.size else 1.0
    lead = abs(float(phys[0])) if phys.size and np.isfinite(phys[0]) else 0.0
    # A spectrum like Lorenz-63's (0.9, 0, -14.6) hides lambda_1 on one linear axis:
    # then a second panel zooms on the exponents of the size of lambda_1.
    zoom = np.nonzero(np.abs(np.nan_to_num(phys, nan=np.inf)) <= 3 * lead)[0] if lead > 0 else np.zeros(0, int)
    split = k > 1 and lead > 0 and scale > 8 * lead and 0 < zoom.size < k
    fig, axes = new_figure(width, height, ncols=2 if split else 1)
    # Value labels: in the zoom panel for the exponents it shows, in the full panel for the rest.
    _spectrum_bars(
        axes[0, 0],
        d,
        phys,
        num,
        np.arange(k),
        scale,
        labelled=set(range(k)) - set(zoom.tolist()) if split else set(range(k)),
    )
    if split:
        ax = axes[0, 1]
        _spectrum_bars(ax, d, phys, num, zoom, scale, labelled=set(zoom.tolist()))
        ax.set_title("zoom on the leading exponents", fontsize=8.5)
        axes[0, 0].set_title("full spectrum", fontsize=8.5)
    _figure_legend(fig, axes[0, 0])
    return fig


def _spectrum_bars(ax, d, phys, num, which, scale, labelled=frozenset()):
    which = np.asarray(which, dtype=int)
    idx = which + 1
    w = 0.38
    for vals, res, off, color, name in (
        (phys, d.lambda_physical, -w / 2, PHYS, "physical"),
        (num, d.lambda_numerical, w / 2, NUM, "numerical"),
    ):
        sel = which[which < vals.size]
        v = vals[sel]
        err = np.asarray(res.uncertainty, dtype=float)
        e = np.array([err[i] if i < err.size and np.isfinite(err[i]) else 0.0 for i in sel])
        pos = sel + 1 + off
        good = np.isfinite(v)
        ax.bar(
            pos[good],
            v[good],
            width=w,
            color=color,
            alpha=0.85,
            yerr=e[good],
            capsize=2,
            error_kw={"linewidth": 0.8},
            label=f"{name} ({res.dtype})",
        )
        if (~good).any():
            ax.plot(
                pos[~good], np.zeros((~good).sum()), "x", color=BAD, markersize=8, mew=1.6, label=f"{name}: non-finite"
            )
        if which.size <= 6:
            for p, val, err_i, i in zip(pos[good], v[good], e[good], sel[good]):
                if i not in labelled:
                    continue
                tip = val + err_i if val >= 0 else val - err_i  # above the error bar
                ax.annotate(
                    _bar_label(val, scale),
                    (p, tip),
                    xytext=(0, 3 if val >= 0 else -3),
                    textcoords="offset points",
                    ha="center",
                    va="bottom" if val >= 0 else "top",
                    fontsize=6.5,
                    color="#333333",
                )
    lit = (d.literature or {}).get("exponents") if isinstance(d.literature, dict) else None
    if lit:
        lv = np.asarray([np.nan if x is None else x for x in lit], dtype=float)
        sel = which[which < lv.size]
        ax.plot(sel + 1, lv[sel], "_", color=REF, markersize=22, mew=2.0, label="literature")
    ax.axhline(0.0, color=GREY, linewidth=0.8)
    ax.set_xticks(idx, [f"λ{_sub(i)}" for i in idx] if idx.size <= 12 else [str(i) for i in idx])
    ax.set_xlabel("exponent index")
    ax.set_ylabel("exponent (1 / time)")
    lo_y, hi_y = ax.get_ylim()
    ax.set_ylim(lo_y - 0.12 * (hi_y - lo_y), hi_y + 0.12 * (hi_y - lo_y))


def _bar_label(v: float, scale: float) -> str:
    """A bar's value, with exponents below 1e-4 of the largest shown as zero."""
    if abs(v) < 1e-4 * max(scale, 1e-300):
        return "0"
    return fmt(v, 3, signed=True)


def _growth_law(d, width=6.4, height=3.0):
    from chaosgrad.report._law_figure import growth_law

    return growth_law(d, width, height)


def _has_law(d) -> bool:
    from chaosgrad.report._law_figure import growth_law_parts

    return growth_law_parts(d) is not None


def nothing_to_draw(fid: str, d) -> bool:
    """Whether standard figure ``fid`` would be an empty panel for ``d`` (then the report
    leaves it out and says why in words)."""
    if fid == "growth-law":
        return not _has_law(d)
    if fid == "ablations":
        return not tuple(d.ablations or ())
    if fid == "cotangent":
        t, c = np.asarray(d.gradient.cotangent_times), np.asarray(d.gradient.cotangent_norms)
        return t.size < 2 or c.ndim != 2 or c.shape[1] != t.size
    if fid == "ftle":
        return not any(
            np.asarray(r.finite_time_exponents, dtype=float).ndim == 3
            and np.asarray(r.finite_time_exponents).shape[2] > 0
            and np.isfinite(np.asarray(r.finite_time_exponents, dtype=float)[:, :, 0]).any()
            for r in (d.lambda_physical, d.lambda_numerical)
        )
    return False


STANDARD = (
    ("gradient-growth", "Gradient growth with the horizon", gradient_growth),
    ("growth-law", "Which law the growth follows", _growth_law),
    ("convergence", "Convergence of the Lyapunov estimates", convergence),
    ("ftle", "Distribution of finite-time exponents", ftle),
    ("cotangent", "Where along the trajectory the gradient grows", cotangent),
    ("ablations", "Ablations: the rate before and after each fix", ablations),
    ("spectrum", "Lyapunov spectrum", spectrum),
)
