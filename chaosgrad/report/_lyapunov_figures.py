"""The figures of the Lyapunov exponents: convergence of the running estimates
(``convergence``), the finite-time distribution (``ftle``) and the spectrum (``spectrum``).

1. ``convergence``: running Lyapunov estimates with standard-error bands.
2. ``ftle``: distribution of finite-time exponents.
3. ``spectrum``: the spectra as bars, with literature values.
"""

from __future__ import annotations

import numpy as np

from chaosgrad.report._numbers import fmt, is_finite
from chaosgrad.report._plot import (
    BAD,
    GREY,
    NUM,
    PHYS,
    REF,
    figure_legend,
    finite,
    legend,
    new_figure,
    note,
    thin_index,
)

# Colours and styles of these figures, named by their captions.
CONVERGENCE_LINES = ((PHYS, "-"), (NUM, "--"))  # physical, numerical
NONFINITE_LINE = (BAD, "-.")
LITERATURE_LINE = (REF, "--")


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
    figure_legend(fig, axes[0, 0])
    return fig


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
    figure_legend(fig, axes[0, 0])
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
